//! The io_uring thread: owns the ring, receives batches of operations over a channel, submits everything
//! that arrived since its last wake-up in one `io_uring_enter`, and answers each batch on a oneshot channel.
//!
//! Every buffer, path and file descriptor an operation refers to is moved into the ring thread with the
//! operation and stays there until the kernel has posted the completion; only then is it handed back (or,
//! if the waiting future was dropped, freed). That is what makes the `unsafe` pushes below sound.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use io_uring::{IoUring, opcode, squeue, types};
use tokio::sync::oneshot;

use crate::buf::AlignedBuf;

/// One operation, owning everything the kernel will touch.
pub(crate) enum Op {
    /// `openat(AT_FDCWD, path, flags, mode)`; the new descriptor comes back in [`Done::fd`].
    Open {
        path: CString,
        flags: i32,
        mode: u32,
    },
    /// `pwrite(fd, buf[start..], offset)`.
    Write {
        fd: Arc<OwnedFd>,
        buf: AlignedBuf,
        start: usize,
        offset: u64,
    },
    /// `pread(fd, buf.spare_capacity, offset)`; on success `buf.len()` is the byte count.
    Read {
        fd: Arc<OwnedFd>,
        buf: Vec<u8>,
        offset: u64,
    },
    /// `fdatasync(fd)` or `fsync(fd)`.
    Fsync { fd: Arc<OwnedFd>, datasync: bool },
    /// `ftruncate(fd, len)`.
    Ftruncate { fd: Arc<OwnedFd>, len: u64 },
    /// `unlink(path)`.
    Unlink { path: CString },
    /// `mkdir(path, 0o755)`.
    Mkdir { path: CString },
}

/// A completed operation: the kernel's result (`-errno` on failure) and the operation's resources back.
pub(crate) struct Done {
    pub(crate) res: i32,
    pub(crate) op: Op,
    /// The descriptor an `Open` produced.
    pub(crate) fd: Option<OwnedFd>,
}

impl Done {
    /// The result as an `io::Result` of the non-negative value.
    pub(crate) fn result(&self) -> io::Result<u32> {
        u32::try_from(self.res).map_err(|_| io::Error::from_raw_os_error(-self.res))
    }
}

struct Request {
    ops: Vec<Op>,
    /// How the ops are chained and issued.
    chain: Chain,
    reply: Option<oneshot::Sender<Vec<Done>>>,
}

struct Shared {
    /// Set by the ring thread before it blocks in the kernel; senders that clear it must wake it.
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

impl Shared {
    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to a descriptor we own. A failed write can only mean the
        // counter is saturated, i.e. a wake-up is already pending.
        unsafe { libc::write(self.eventfd.as_raw_fd(), (&raw const one).cast(), 8) };
    }
}

/// Handle to a ring thread; dropping it lets the thread finish in-flight work and exit.
pub(crate) struct Ring {
    tx: Option<mpsc::Sender<Request>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ring")
    }
}

/// Per-op submission flags of a batch, as bit masks over the op index.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Chain {
    /// Bit `i` set: op `i` is linked to op `i + 1` (runs after it, cancelled if it fails).
    pub(crate) link: u64,
    /// Bit `i` set: op `i + 1` runs after op `i` even if op `i` fails (takes precedence over `link`).
    pub(crate) hard: u64,
    /// Bit `i` set: op `i` goes straight to an io-wq worker instead of being tried inline first.
    pub(crate) force_async: u64,
}

impl Chain {
    /// Linked where `link` says so; nothing else.
    pub(crate) fn linked(link: u64) -> Self {
        Self {
            link,
            ..Self::default()
        }
    }
}

const EVENT: u64 = u64::MAX;
const MAX_OPS: usize = 64;

impl Ring {
    /// Creates a ring with `entries` submission slots and starts its thread.
    pub(crate) fn start(entries: u32) -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked before use.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `efd` is a fresh descriptor nobody else owns.
        let eventfd = unsafe { OwnedFd::from_raw_fd(efd) };
        let shared = Arc::new(Shared {
            sleeping: AtomicBool::new(false),
            eventfd,
        });
        let (tx, rx) = mpsc::channel();
        let sh = shared.clone();
        // With SINGLE_ISSUER the ring must be created by the thread that submits to it.
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("gatehouse-uring".into())
            .spawn(move || match build(entries) {
                Ok(ring) => {
                    let _ = ready_tx.send(Ok(()));
                    RingThread::new(ring, rx, sh).run();
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })?;
        ready_rx.recv().map_err(|_| stopped())??;
        Ok(Self {
            tx: Some(tx),
            shared,
            thread: Some(thread),
        })
    }

    fn send(&self, req: Request) -> io::Result<()> {
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        tx.send(req).map_err(|_| stopped())?;
        if self.shared.sleeping.swap(false, Ordering::SeqCst) {
            self.shared.wake();
        }
        Ok(())
    }

    /// Submits `ops` (linked where `links` says so) and waits for all of them to complete.
    pub(crate) async fn run(&self, ops: Vec<Op>, links: u64) -> io::Result<Vec<Done>> {
        self.run_chain(ops, Chain::linked(links)).await
    }

    /// Submits `ops` with the given chaining and waits for all of them to complete.
    pub(crate) async fn run_chain(&self, ops: Vec<Op>, chain: Chain) -> io::Result<Vec<Done>> {
        let (tx, rx) = oneshot::channel();
        self.send(Request {
            ops,
            chain,
            reply: Some(tx),
        })?;
        rx.await.map_err(|_| stopped())
    }

    /// Submits one operation and waits for it.
    pub(crate) async fn run1(&self, op: Op) -> io::Result<Done> {
        self.run(vec![op], 0).await?.pop().ok_or_else(stopped)
    }

    /// Submits one operation and returns a receiver for its completion (for pipelining).
    pub(crate) fn start1(&self, op: Op) -> io::Result<oneshot::Receiver<Vec<Done>>> {
        self.start1_with(op, false)
    }

    /// Like [`start1`](Self::start1); `force_async` hands the op straight to an io-wq worker (so that, e.g.,
    /// page-cache copies of large reads run on several CPUs instead of all on the ring thread).
    pub(crate) fn start1_with(
        &self,
        op: Op,
        force_async: bool,
    ) -> io::Result<oneshot::Receiver<Vec<Done>>> {
        let (tx, rx) = oneshot::channel();
        self.send(Request {
            ops: vec![op],
            chain: Chain {
                force_async: u64::from(force_async),
                ..Chain::default()
            },
            reply: Some(tx),
        })?;
        Ok(rx)
    }

    /// Submits operations nobody waits for (cleanup from `Drop`).
    pub(crate) fn detach(&self, ops: Vec<Op>) {
        let _ = self.send(Request {
            ops,
            chain: Chain::default(),
            reply: None,
        });
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        drop(self.tx.take());
        self.shared.wake();
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("io_uring thread stopped")
}

fn build(entries: u32) -> io::Result<IoUring> {
    // Single issuer + cooperative task running cut kernel overhead; fall back for kernels without them.
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_coop_taskrun()
        .build(entries)
        .or_else(|_| IoUring::new(entries))?;
    // Opens, fsyncs and extending writes run on the kernel's io-wq workers, by default at most 4 per CPU;
    // that serialises concurrent puts behind each other's journal flushes. Allow as many as we submit.
    let mut max = [IOWQ_WORKERS, IOWQ_WORKERS];
    if let Err(e) = ring.submitter().register_iowq_max_workers(&mut max) {
        tracing::debug!(error = %e, "cannot raise io_uring worker limit");
    }
    Ok(ring)
}

/// Upper bound on the kernel worker threads of the ring (bounded and unbounded pools).
const IOWQ_WORKERS: u32 = 128;

struct InFlight {
    ops: Vec<Option<Op>>,
    results: Vec<i32>,
    pending: usize,
    reply: Option<oneshot::Sender<Vec<Done>>>,
}

struct RingThread {
    ring: IoUring,
    rx: mpsc::Receiver<Request>,
    shared: Arc<Shared>,
    slab: Vec<Option<InFlight>>,
    free: Vec<usize>,
    inflight: usize,
    /// Target of the pending eventfd read; boxed so its address is stable.
    event_buf: Box<u64>,
    event_armed: bool,
    disconnected: bool,
}

impl RingThread {
    fn new(ring: IoUring, rx: mpsc::Receiver<Request>, shared: Arc<Shared>) -> Self {
        Self {
            ring,
            rx,
            shared,
            slab: Vec::new(),
            free: Vec::new(),
            inflight: 0,
            event_buf: Box::new(0),
            event_armed: false,
            disconnected: false,
        }
    }

    fn run(mut self) {
        self.arm_event();
        loop {
            let mut progressed = self.drain();
            self.submit();
            progressed |= self.reap();
            if self.disconnected && self.inflight == 0 {
                break;
            }
            if progressed {
                continue;
            }
            self.shared.sleeping.store(true, Ordering::SeqCst);
            match self.rx.try_recv() {
                Ok(req) => {
                    self.shared.sleeping.store(false, Ordering::SeqCst);
                    self.push(req);
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => self.disconnected = true,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            if !(self.disconnected && self.inflight == 0)
                && let Err(e) = self.ring.submit_and_wait(1)
            {
                self.submit_error(e);
            }
            self.shared.sleeping.store(false, Ordering::SeqCst);
        }
        // Nothing may be left in the kernel that points at our memory: complete the eventfd read ourselves.
        while self.event_armed {
            self.shared.wake();
            if let Err(e) = self.ring.submit_and_wait(1) {
                self.submit_error(e);
            }
            self.reap();
        }
    }

    fn submit_error(&self, e: io::Error) {
        match e.raw_os_error() {
            Some(libc::EINTR | libc::EAGAIN | libc::EBUSY) => {}
            _ => {
                tracing::error!(error = %e, "io_uring_enter failed");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }

    fn submit(&mut self) {
        if !self.ring.submission().is_empty()
            && let Err(e) = self.ring.submit()
        {
            self.submit_error(e);
        }
    }

    /// Takes every queued request; `true` if there were any.
    fn drain(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.rx.try_recv() {
                Ok(req) => {
                    any = true;
                    self.push(req);
                }
                Err(mpsc::TryRecvError::Empty) => return any,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.disconnected = true;
                    return any;
                }
            }
        }
    }

    fn arm_event(&mut self) {
        let entry = opcode::Read::new(
            types::Fd(self.shared.eventfd.as_raw_fd()),
            (&raw mut *self.event_buf).cast::<u8>(),
            8,
        )
        .build()
        .user_data(EVENT);
        // SAFETY: `event_buf` is a heap allocation owned by this thread that is not freed before the read
        // completes (`run` waits for `event_armed` to clear before returning).
        if self.push_entries(&[entry]).is_ok() {
            self.event_armed = true;
        }
    }

    /// Makes room for `entries` and pushes them contiguously (so a linked chain is never split).
    fn push_entries(&mut self, entries: &[squeue::Entry]) -> io::Result<()> {
        let free = {
            let sq = self.ring.submission();
            sq.capacity() - sq.len()
        };
        if free < entries.len() {
            self.ring.submit()?;
        }
        // SAFETY: guaranteed by the callers: every pointer in `entries` targets memory the ring thread owns
        // until the matching completion is reaped.
        unsafe { self.ring.submission().push_multiple(entries) }
            .map_err(|_| io::Error::other("io_uring submission queue full"))
    }

    fn push(&mut self, req: Request) {
        let Request { ops, chain, reply } = req;
        if ops.is_empty() || ops.len() > MAX_OPS {
            if let Some(r) = reply {
                let _ = r.send(Vec::new());
            }
            return;
        }
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slab.push(None);
            self.slab.len() - 1
        });
        let entries: Vec<squeue::Entry> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let mut e = entry(op).user_data(((slot as u64) << 8) | i as u64);
                let mut flags = squeue::Flags::empty();
                if i + 1 < ops.len() {
                    if chain.hard & (1 << i) != 0 {
                        flags |= squeue::Flags::IO_HARDLINK;
                    } else if chain.link & (1 << i) != 0 {
                        flags |= squeue::Flags::IO_LINK;
                    }
                }
                if chain.force_async & (1 << i) != 0 {
                    flags |= squeue::Flags::ASYNC;
                }
                if !flags.is_empty() {
                    e = e.flags(flags);
                }
                e
            })
            .collect();
        // SAFETY: the entries point into heap memory owned by `ops` (CString bytes, aligned and
        // Vec buffers) and at descriptors kept open by `ops`; `ops` moves into the slab right below and is
        // only released after every completion of this slot has been reaped. Moving `ops` does not move
        // that heap memory.
        match self.push_entries(&entries) {
            Ok(()) => {
                let n = ops.len();
                self.inflight += n;
                self.slab[slot] = Some(InFlight {
                    ops: ops.into_iter().map(Some).collect(),
                    results: vec![0; n],
                    pending: n,
                    reply,
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "io_uring push failed");
                self.free.push(slot);
                if let Some(r) = reply {
                    // Not submitted: report every op as failed with EAGAIN.
                    let done = ops
                        .into_iter()
                        .map(|op| Done {
                            res: -libc::EAGAIN,
                            op,
                            fd: None,
                        })
                        .collect();
                    let _ = r.send(done);
                }
            }
        }
    }

    /// Handles every available completion; `true` if there were any.
    fn reap(&mut self) -> bool {
        let cqes: Vec<(u64, i32)> = self
            .ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        for &(ud, res) in &cqes {
            self.complete(ud, res);
        }
        !cqes.is_empty()
    }

    fn complete(&mut self, ud: u64, res: i32) {
        if ud == EVENT {
            self.event_armed = false;
            if !self.disconnected {
                self.arm_event();
            }
            return;
        }
        let (slot, idx) = ((ud >> 8) as usize, (ud & 0xff) as usize);
        let Some(Some(f)) = self.slab.get_mut(slot) else {
            return;
        };
        let Some(r) = f.results.get_mut(idx) else {
            return;
        };
        *r = res;
        f.pending -= 1;
        self.inflight -= 1;
        if f.pending > 0 {
            return;
        }
        let Some(f) = self.slab[slot].take() else {
            return;
        };
        self.free.push(slot);
        let done: Vec<Done> = f
            .ops
            .into_iter()
            .zip(f.results)
            .filter_map(|(op, res)| op.map(|op| finish(op, res)))
            .collect();
        if let Some(reply) = f.reply {
            // A dropped receiver just frees the resources (and closes any descriptor opened for it).
            let _ = reply.send(done);
        }
    }
}

fn fd(f: &OwnedFd) -> types::Fd {
    types::Fd(f.as_raw_fd())
}

/// The submission entry for `op`. Pointers in it refer to memory owned by `op`.
fn entry(op: &Op) -> squeue::Entry {
    let cwd = types::Fd(libc::AT_FDCWD);
    match op {
        Op::Open { path, flags, mode } => opcode::OpenAt::new(cwd, path.as_ptr())
            .flags(*flags)
            .mode(*mode)
            .build(),
        Op::Write {
            fd: f,
            buf,
            start,
            offset,
        } => {
            let start = (*start).min(buf.len());
            // SAFETY: `start <= len <= capacity`, so the pointer stays inside the allocation.
            let ptr = unsafe { buf.as_ptr().add(start) };
            let len = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
            opcode::Write::new(fd(f), ptr, len).offset(*offset).build()
        }
        Op::Read { fd: f, buf, offset } => {
            let len = u32::try_from(buf.capacity() - buf.len()).unwrap_or(u32::MAX);
            // The spare capacity of a Vec we own; its address is stable while the Vec is not grown.
            let ptr = buf.as_ptr().cast_mut().wrapping_add(buf.len());
            opcode::Read::new(fd(f), ptr, len).offset(*offset).build()
        }
        Op::Fsync { fd: f, datasync } => {
            let flags = if *datasync {
                types::FsyncFlags::DATASYNC
            } else {
                types::FsyncFlags::empty()
            };
            opcode::Fsync::new(fd(f)).flags(flags).build()
        }
        Op::Ftruncate { fd: f, len } => opcode::Ftruncate::new(fd(f), *len).build(),
        Op::Unlink { path } => opcode::UnlinkAt::new(cwd, path.as_ptr()).build(),
        Op::Mkdir { path } => opcode::MkDirAt::new(cwd, path.as_ptr()).mode(0o755).build(),
    }
}

/// Turns a raw completion into a [`Done`], taking ownership of what the kernel produced.
fn finish(mut op: Op, res: i32) -> Done {
    let mut new_fd = None;
    match &mut op {
        Op::Open { .. } if res >= 0 => {
            // SAFETY: the kernel just returned this descriptor for our open; nobody else owns it.
            new_fd = Some(unsafe { OwnedFd::from_raw_fd(res as RawFd) });
        }
        Op::Read { buf, .. } if res > 0 => {
            let n = (res as usize).min(buf.capacity() - buf.len());
            // SAFETY: the kernel initialised `n` bytes of the spare capacity, and `len + n <= capacity`.
            unsafe { buf.set_len(buf.len() + n) };
        }
        _ => {}
    }
    Done {
        res,
        op,
        fd: new_fd,
    }
}

/// Optional opcodes the kernel supports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Features {
    /// `IORING_OP_FTRUNCATE` (for `O_DIRECT` tails; else `ftruncate` runs on the blocking pool).
    pub(crate) ftruncate: bool,
    /// `IORING_OP_MKDIRAT` (else fan-out directories are made on the blocking pool).
    pub(crate) mkdir: bool,
}

/// Checks that io_uring can be used here (not disabled by sysctl or seccomp) with the opcodes we need, and
/// which optional ones it has.
pub(crate) fn probe() -> io::Result<Features> {
    let ring = IoUring::new(4)?;
    let mut p = io_uring::Probe::new();
    ring.submitter().register_probe(&mut p)?;
    let needed = [
        opcode::OpenAt::CODE,
        opcode::Read::CODE,
        opcode::Write::CODE,
        opcode::Fsync::CODE,
        opcode::UnlinkAt::CODE,
    ];
    if let Some(missing) = needed.iter().find(|c| !p.is_supported(**c)) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("io_uring opcode {missing} unsupported"),
        ));
    }
    Ok(Features {
        ftruncate: p.is_supported(opcode::Ftruncate::CODE),
        mkdir: p.is_supported(opcode::MkDirAt::CODE),
    })
}
