//! The io_uring local backend (DESIGN §7): a dedicated ring thread does the I/O; tokio tasks hand it batches.
//!
//! Puts: one round trip opens the new file and its directory (preceded, in the same linked batch, by
//! `mkdirat` of the fan-out directories when they are not known durable); then write→fdatasync (linked) runs
//! concurrently with the fsync of the blob's directory and, for new fan-out directories, of their parents,
//! so all of them wait on one journal commit. Directory fsyncs go through [`group::GroupSync`]: concurrent
//! puts into one directory share one fsync that started after all their entries existed. New blobs are
//! placed `PUTS_PER_LEAF` at a time in one fan-out leaf (rotating over all 65536), so concurrent puts do
//! share a directory, and the next leaf is made durable in the background before it is needed. Larger puts
//! keep up to four 1 MiB writes in flight (optionally `O_DIRECT` with a padded last block truncated back).
//! Gets open in one trip (fstat locally), then keep `READ_AHEAD` reads in flight; large reads go straight to
//! io-wq workers so several gets copy on several CPUs.
//!
//! Durability is unchanged: `put` returns only after the data is fdatasynced and every directory entry the
//! blob depends on (its own, and a fan-out directory's if that may be new) was synced after it was created.

mod buf;
mod group;
mod ring;

use std::collections::VecDeque;
use std::ffi::CString;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::oneshot;

use self::buf::{ALIGN, AlignedBuf};
use self::group::GroupSync;
use self::ring::{Chain, Done, Features, Op, Ring};
use crate::locator::{self, check, ensure_dirs, new_locator_in, resolve_range};
use crate::std_backend::{READ_CHUNK, WRITE_CHUNK, blocking, fill};
use crate::{Backend, BlobEntry, BlobInfo, ByteStream};

/// Write buffers one large put may hold (in flight plus the one being filled).
const MAX_WRITE_BUFS: usize = 4;
/// Consecutive puts placed in the same fan-out leaf directory before moving to the next one.
const PUTS_PER_LEAF: u64 = 64;
/// Step through the 65536 leaves (odd, so every leaf is visited once per cycle).
const LEAF_STEP: u64 = 40_503;

/// Reads one get keeps in flight ahead of its consumer.
const READ_AHEAD: usize = 4;
/// Submission queue size of the ring.
const RING_ENTRIES: u32 = 512;

/// Whether io_uring is usable in this process (kernel support, sysctl, seccomp, needed opcodes).
pub fn io_uring_available() -> io::Result<()> {
    ring::probe().map(|_| ())
}

/// Blob store on a local directory, doing its I/O through io_uring.
#[derive(Debug, Clone)]
pub struct UringBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    ring: Ring,
    /// Large puts use `O_DIRECT` (needs `IORING_OP_FTRUNCATE` for unaligned tails).
    direct: bool,
    features: Features,
    /// Fan-out directories known to exist with a durable entry in their parent (one bit per `ab/cd` leaf
    /// and per `ab` top directory). Only set after the parent was synced in this process.
    durable: DurableDirs,
    /// Concurrent fsyncs of the same directory share one.
    group: GroupSync,
    /// Placement of new blobs: puts `n*PUTS_PER_LEAF ..` go to leaf `start + n*LEAF_STEP`, so concurrent
    /// puts usually share one leaf (one group directory fsync, no per-put `mkdir`), while over time every
    /// leaf gets the same share.
    next_put: AtomicU64,
    leaf_start: u64,
}

/// Bitmaps of fan-out directories whose entries are known durable.
#[derive(Debug)]
struct DurableDirs {
    top: [AtomicU64; 4],
    leaf: Box<[AtomicU64]>,
}

impl DurableDirs {
    fn new() -> Self {
        Self {
            top: Default::default(),
            leaf: (0..1024).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn get(words: &[AtomicU64], i: usize) -> bool {
        words
            .get(i / 64)
            .is_some_and(|w| w.load(Ordering::Acquire) & (1 << (i % 64)) != 0)
    }

    fn set(words: &[AtomicU64], i: usize, on: bool) {
        if let Some(w) = words.get(i / 64) {
            if on {
                w.fetch_or(1 << (i % 64), Ordering::Release);
            } else {
                w.fetch_and(!(1 << (i % 64)), Ordering::Release);
            }
        }
    }
}

/// The fan-out indexes of a (checked) locator: top directory `ab` and leaf directory `ab/cd`.
fn dir_indexes(locator: &str) -> (usize, usize) {
    let hex = |s: &str| usize::from_str_radix(s, 16).unwrap_or(0);
    let top = hex(&locator[..2]);
    (top, (top << 8) | hex(&locator[3..5]))
}

/// Which directory entries a new blob's durability depends on besides its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NewDirs {
    /// The leaf directory may be new: its entry in the top directory must be synced.
    leaf: bool,
    /// The top directory may be new too: its entry in the root must be synced.
    top: bool,
}

impl UringBackend {
    /// Opens (creating if needed) a blob store rooted at `root`; fails if io_uring is unavailable.
    pub async fn open(root: &Path) -> io::Result<Self> {
        Self::open_with(root, false).await
    }

    /// Like [`open`](Self::open); `direct: true` writes large blobs with `O_DIRECT` instead of through the
    /// page cache (slower in this project's bench, which reads blobs back right after writing them).
    pub async fn open_with(root: &Path, direct: bool) -> io::Result<Self> {
        let features = ring::probe()?;
        let root = root.to_path_buf();
        let root = blocking(move || {
            std::fs::create_dir_all(&root)?;
            Ok(root)
        })
        .await?;
        let ring = Ring::start(RING_ENTRIES)?;
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                ring,
                direct: direct && features.ftruncate,
                features,
                durable: DurableDirs::new(),
                group: GroupSync::default(),
                next_put: AtomicU64::new(0),
                leaf_start: u64::from(uuid::Uuid::new_v4().as_u128() as u16),
            }),
        })
    }

    /// The directory blobs live under.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

fn no_mem() -> io::Error {
    io::Error::new(io::ErrorKind::OutOfMemory, "cannot allocate I/O buffer")
}

/// Removes a partly written blob if the put is abandoned (its future dropped) before it finished.
struct Cleanup {
    inner: Arc<Inner>,
    path: Option<CString>,
}

impl Cleanup {
    /// Removes the file now and waits for it (error paths, so the caller sees nothing left behind).
    async fn now(mut self) {
        if let Some(path) = self.path.take() {
            let _ = self.inner.ring.run1(Op::Unlink { path }).await;
        }
    }

    fn disarm(mut self) {
        self.path = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            self.inner.ring.detach(vec![Op::Unlink { path }]);
        }
    }
}

/// A freshly created blob file, its open directory, whether it was opened with `O_DIRECT`, and which
/// parent directories must be synced besides its own.
struct Created {
    fd: Arc<OwnedFd>,
    dir: Arc<OwnedFd>,
    cleanup: Cleanup,
    direct: bool,
    new_dirs: NewDirs,
}

type IoFuture<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;

fn take_fd(d: &mut Done) -> io::Result<OwnedFd> {
    d.result()?;
    d.fd.take()
        .ok_or_else(|| io::Error::other("open returned no descriptor"))
}

impl Inner {
    /// The placement leaf of the `n`-th group of puts.
    fn leaf_of(&self, n: u64) -> u16 {
        self.leaf_start.wrapping_add(n.wrapping_mul(LEAF_STEP)) as u16
    }

    /// A locator for a new blob in the current placement leaf. The first put into a leaf also starts making
    /// the next leaf (and its durable entry) in the background, so puts rarely wait for a `mkdir`.
    fn new_locator(self: &Arc<Self>) -> String {
        let k = self.next_put.fetch_add(1, Ordering::Relaxed);
        let n = k / PUTS_PER_LEAF;
        if k.is_multiple_of(PUTS_PER_LEAF)
            && self.features.mkdir
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (me, next) = (self.clone(), self.leaf_of(n + 1));
            rt.spawn(async move {
                if let Err(e) = me.prepare_leaf(next).await {
                    tracing::debug!(error = %e, "cannot prepare fan-out directory");
                }
            });
        }
        new_locator_in(self.leaf_of(n))
    }

    /// Creates leaf directory `leaf` (and its top directory) if needed and makes their entries durable.
    async fn prepare_leaf(&self, leaf: u16) -> io::Result<()> {
        let locator = new_locator_in(leaf);
        let new_dirs = self.new_dirs(&locator);
        if !new_dirs.leaf {
            return Ok(());
        }
        let ops = vec![
            Op::Mkdir {
                path: cpath(&self.root.join(&locator[..2]))?,
            },
            Op::Mkdir {
                path: cpath(&self.root.join(&locator[..5]))?,
            },
        ];
        let done = self
            .ring
            .run_chain(
                ops,
                Chain {
                    hard: 1,
                    ..Chain::default()
                },
            )
            .await?;
        for d in &done {
            match d.result() {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                _ => {}
            }
        }
        let mut all: Vec<IoFuture<'_>> = vec![Box::pin(self.sync_dir(&locator[..2], None))];
        if new_dirs.top {
            all.push(Box::pin(self.sync_dir("", None)));
        }
        futures::future::try_join_all(all).await?;
        let (top, leaf) = dir_indexes(&locator);
        DurableDirs::set(&self.durable.top, top, true);
        DurableDirs::set(&self.durable.leaf, leaf, true);
        Ok(())
    }

    /// Which parent directories a put into `locator`'s leaf must create and sync.
    fn new_dirs(&self, locator: &str) -> NewDirs {
        let (top, leaf) = dir_indexes(locator);
        if DurableDirs::get(&self.durable.leaf, leaf) {
            return NewDirs {
                leaf: false,
                top: false,
            };
        }
        NewDirs {
            leaf: true,
            top: !DurableDirs::get(&self.durable.top, top),
        }
    }

    /// Opens the new blob file and its directory in one round trip. If the fan-out directories are not known
    /// durable, the same linked batch first makes them (`mkdirat`, an existing one is fine); their parents
    /// are then synced together with the blob (see [`Inner::sync_all`]).
    async fn create(self: &Arc<Self>, locator: &str, direct: bool) -> io::Result<Created> {
        let path = cpath(&self.root.join(locator))?;
        let dir = cpath(&self.root.join(&locator[..5]))?;
        let base = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let mut direct = direct;
        let mut new_dirs = self.new_dirs(locator);
        let mut made_dirs = false;
        loop {
            let flags = if direct { base | libc::O_DIRECT } else { base };
            let mut ops = Vec::with_capacity(4);
            let mut chain = Chain::default();
            if new_dirs.leaf && !made_dirs {
                if self.features.mkdir {
                    // mkdir top -> mkdir leaf -> open file, each running whatever the previous returned
                    // (EEXIST is the common case); the directory open follows the file's.
                    ops.push(Op::Mkdir {
                        path: cpath(&self.root.join(&locator[..2]))?,
                    });
                    ops.push(Op::Mkdir { path: dir.clone() });
                    chain.hard = 0b011;
                    chain.link = 0b100;
                } else {
                    let (root, loc) = (self.root.clone(), locator.to_owned());
                    blocking(move || ensure_dirs(&root, &loc)).await?;
                }
                made_dirs = true;
            }
            let skip = ops.len();
            ops.push(Op::Open {
                path: path.clone(),
                flags,
                mode: 0o644,
            });
            ops.push(Op::Open {
                path: dir.clone(),
                flags: libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                mode: 0,
            });
            let mut done = self.ring.run_chain(ops, chain).await?;
            let [file, dirfd] = done.get_mut(skip..).unwrap_or_default() else {
                return Err(io::Error::other("short batch"));
            };
            match (take_fd(file), take_fd(dirfd)) {
                (Ok(f), Ok(d)) => {
                    let cleanup = Cleanup {
                        inner: self.clone(),
                        path: Some(path),
                    };
                    return Ok(Created {
                        fd: Arc::new(f),
                        dir: Arc::new(d),
                        cleanup,
                        direct,
                        new_dirs,
                    });
                }
                (Ok(f), Err(e)) => {
                    drop(f);
                    Cleanup {
                        inner: self.clone(),
                        path: Some(path),
                    }
                    .now()
                    .await;
                    return Err(e);
                }
                (Err(e), _) if e.raw_os_error() == Some(libc::ENOENT) && !made_dirs => {
                    // A directory we believed durable is gone (removed behind our back): make it again.
                    let (top, leaf) = dir_indexes(locator);
                    DurableDirs::set(&self.durable.leaf, leaf, false);
                    DurableDirs::set(&self.durable.top, top, false);
                    new_dirs = NewDirs {
                        leaf: true,
                        top: true,
                    };
                }
                (Err(e), _) if e.raw_os_error() == Some(libc::EINVAL) && direct => direct = false,
                (Err(e), _) => {
                    // Report a failed mkdir (other than EEXIST) rather than the open's ENOENT it caused.
                    let mkdir_err = done[..skip]
                        .iter()
                        .filter_map(|d| d.result().err())
                        .find(|e| e.raw_os_error() != Some(libc::EEXIST));
                    return Err(mkdir_err.unwrap_or(e));
                }
            }
        }
    }

    /// fsync of a directory (`rel` to the root; `""` is the root), shared with concurrent callers. `fd` is
    /// an open descriptor of it if the caller has one.
    async fn sync_dir(&self, rel: &str, fd: Option<Arc<OwnedFd>>) -> io::Result<()> {
        self.group
            .sync(rel, || async move {
                let fd = match fd {
                    Some(fd) => fd,
                    None => {
                        let mut open = self
                            .ring
                            .run1(Op::Open {
                                path: cpath(&self.root.join(rel))?,
                                flags: libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                                mode: 0,
                            })
                            .await?;
                        Arc::new(take_fd(&mut open)?)
                    }
                };
                self.ring
                    .run1(Op::Fsync {
                        fd,
                        datasync: false,
                    })
                    .await?
                    .result()
                    .map(|_| ())
            })
            .await
    }

    /// Makes a written blob durable: `file_sync` (its fdatasync) runs concurrently with the group fsyncs of
    /// its directory and of any parent whose new entry is not known durable yet, so they all share one
    /// journal commit. Records the fan-out directories as durable on success.
    async fn sync_all(
        &self,
        locator: &str,
        dir: Arc<OwnedFd>,
        new_dirs: NewDirs,
        file_sync: IoFuture<'_>,
    ) -> io::Result<()> {
        let mut all: Vec<IoFuture<'_>> =
            vec![file_sync, Box::pin(self.sync_dir(&locator[..5], Some(dir)))];
        if new_dirs.leaf {
            all.push(Box::pin(self.sync_dir(&locator[..2], None)));
        }
        if new_dirs.top {
            all.push(Box::pin(self.sync_dir("", None)));
        }
        futures::future::try_join_all(all).await?;
        if new_dirs.leaf {
            let (top, leaf) = dir_indexes(locator);
            DurableDirs::set(&self.durable.top, top, true);
            DurableDirs::set(&self.durable.leaf, leaf, true);
        }
        Ok(())
    }

    /// fdatasync of a file through the ring.
    async fn datasync(&self, fd: &Arc<OwnedFd>) -> io::Result<()> {
        self.ring
            .run1(Op::Fsync {
                fd: fd.clone(),
                datasync: true,
            })
            .await?
            .result()
            .map(|_| ())
    }

    /// Writes `buf[start..]` at `offset` until all of it is written.
    async fn write_all(
        &self,
        fd: &Arc<OwnedFd>,
        mut buf: AlignedBuf,
        mut start: usize,
        mut offset: u64,
    ) -> io::Result<AlignedBuf> {
        while start < buf.len() {
            let d = self
                .ring
                .run1(Op::Write {
                    fd: fd.clone(),
                    buf,
                    start,
                    offset,
                })
                .await?;
            let n = d.result()? as usize;
            let Op::Write { buf: b, .. } = d.op else {
                return Err(io::Error::other("op mismatch"));
            };
            buf = b;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
            }
            start += n;
            offset += n as u64;
        }
        Ok(buf)
    }

    /// Checks a finished pipelined write and finishes it if it was short; returns its buffer.
    async fn settle(
        &self,
        fd: &Arc<OwnedFd>,
        rx: oneshot::Receiver<Vec<Done>>,
    ) -> io::Result<AlignedBuf> {
        let mut done = rx
            .await
            .map_err(|_| io::Error::other("io_uring thread stopped"))?;
        let d = done.pop().ok_or_else(|| io::Error::other("short batch"))?;
        let n = d.result()? as usize;
        let Op::Write {
            buf, start, offset, ..
        } = d.op
        else {
            return Err(io::Error::other("op mismatch"));
        };
        let buf = self
            .write_all(fd, buf, start + n, offset + n as u64)
            .await?;
        Ok(buf)
    }

    /// A body that fit in one buffer: write→fdatasync linked, alongside the (group) directory syncs.
    async fn put_small(self: &Arc<Self>, locator: &str, buf: AlignedBuf) -> io::Result<()> {
        let Created {
            fd,
            dir,
            cleanup,
            new_dirs,
            ..
        } = self.create(locator, false).await?;
        let len = buf.len();
        let file_sync: IoFuture<'_> = if len == 0 {
            Box::pin(self.datasync(&fd))
        } else {
            Box::pin(self.write_sync(&fd, buf))
        };
        match self.sync_all(locator, dir, new_dirs, file_sync).await {
            Ok(()) => {
                cleanup.disarm();
                Ok(())
            }
            Err(e) => {
                cleanup.now().await;
                Err(e)
            }
        }
    }

    /// Writes a whole buffer at offset 0 and fdatasyncs it, linked in one submission.
    async fn write_sync(&self, fd: &Arc<OwnedFd>, buf: AlignedBuf) -> io::Result<()> {
        let len = buf.len();
        let ops = vec![
            Op::Write {
                fd: fd.clone(),
                buf,
                start: 0,
                offset: 0,
            },
            Op::Fsync {
                fd: fd.clone(),
                datasync: true,
            },
        ];
        let done = self.ring.run(ops, 0b01).await?;
        let [w, fsync] = done.as_slice() else {
            return Err(io::Error::other("short batch"));
        };
        let n = w.result()? as usize;
        if n < len {
            // Short write broke the link: finish the write, then sync again.
            let Some(Done {
                op: Op::Write { buf, .. },
                ..
            }) = done.into_iter().next()
            else {
                return Err(io::Error::other("op mismatch"));
            };
            self.write_all(fd, buf, n, n as u64).await?;
            self.datasync(fd).await
        } else {
            fsync.result().map(|_| ())
        }
    }

    /// A body larger than one buffer: pipelined (O_DIRECT when possible) writes.
    async fn put_large(
        self: &Arc<Self>,
        locator: &str,
        body: &mut ByteStream,
        mut rest: Bytes,
        mut buf: AlignedBuf,
    ) -> io::Result<u64> {
        let Created {
            fd,
            dir,
            cleanup,
            direct,
            new_dirs,
        } = self.create(locator, self.direct).await?;
        let mut inflight: VecDeque<oneshot::Receiver<Vec<Done>>> = VecDeque::new();
        let mut allocated = 1;
        let res: io::Result<u64> = async {
            let mut offset = 0u64;
            loop {
                // `buf` is full here.
                let len = buf.len() as u64;
                inflight.push_back(self.ring.start1(Op::Write {
                    fd: fd.clone(),
                    buf,
                    start: 0,
                    offset,
                })?);
                offset += len;
                buf = if allocated < MAX_WRITE_BUFS {
                    allocated += 1;
                    AlignedBuf::new(WRITE_CHUNK).ok_or_else(no_mem)?
                } else {
                    let rx = inflight
                        .pop_front()
                        .ok_or_else(|| io::Error::other("no write in flight"))?;
                    let mut b = self.settle(&fd, rx).await?;
                    b.clear();
                    b
                };
                let cap = buf.capacity();
                let (_, done) = fill(body, &mut rest, cap, |d| _ = buf.extend(d), 0).await?;
                if done {
                    break;
                }
            }
            let size = offset + buf.len() as u64;
            let mut truncate = false;
            if buf.len() > 0 {
                if direct && size % ALIGN as u64 != 0 {
                    buf.pad_to_align();
                    truncate = true;
                }
                inflight.push_back(self.ring.start1(Op::Write {
                    fd: fd.clone(),
                    buf,
                    start: 0,
                    offset,
                })?);
            }
            while let Some(rx) = inflight.pop_front() {
                self.settle(&fd, rx).await?;
            }
            if truncate {
                self.ring
                    .run1(Op::Ftruncate {
                        fd: fd.clone(),
                        len: size,
                    })
                    .await?
                    .result()?;
            }
            Ok(size)
        }
        .await;
        let res = match res {
            Ok(size) => self
                .sync_all(locator, dir, new_dirs, Box::pin(self.datasync(&fd)))
                .await
                .map(|()| size),
            Err(e) => Err(e),
        };
        match res {
            Ok(size) => {
                cleanup.disarm();
                Ok(size)
            }
            Err(e) => {
                // Let queued writes land first so none re-extends the file after it is gone (harmless, but
                // tidier); their buffers are owned by the ring thread either way.
                for rx in inflight {
                    let _ = rx.await;
                }
                cleanup.now().await;
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl Backend for UringBackend {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    async fn put(&self, mut body: ByteStream) -> io::Result<BlobInfo> {
        let locator = self.inner.new_locator();
        let mut buf = AlignedBuf::new(WRITE_CHUNK).ok_or_else(no_mem)?;
        let mut rest = Bytes::new();
        let cap = buf.capacity();
        let (len, done) = fill(&mut body, &mut rest, cap, |d| _ = buf.extend(d), 0).await?;
        let size = if done {
            self.inner.put_small(&locator, buf).await?;
            len as u64
        } else {
            self.inner.put_large(&locator, &mut body, rest, buf).await?
        };
        Ok(BlobInfo { locator, size })
    }

    async fn get(&self, locator: &str, range: Option<(u64, u64)>) -> io::Result<ByteStream> {
        check(locator)?;
        let path = cpath(&self.inner.root.join(locator))?;
        // Opening an existing file completes inline in the ring; an io_uring statx would always go through
        // an io-wq thread, whereas fstat of the open inode is a cheap non-blocking syscall.
        let mut open = self
            .inner
            .ring
            .run1(Op::Open {
                path,
                flags: libc::O_RDONLY | libc::O_CLOEXEC,
                mode: 0,
            })
            .await?;
        let file = std::fs::File::from(take_fd(&mut open)?);
        let size = file.metadata()?.len();
        let fd = Arc::new(OwnedFd::from(file));
        let (start, end) = resolve_range(range, size)?;
        Ok(read_stream(self.inner.clone(), fd, start, end))
    }

    async fn delete(&self, locator: &str) -> io::Result<()> {
        check(locator)?;
        let path = cpath(&self.inner.root.join(locator))?;
        match self.inner.ring.run1(Op::Unlink { path }).await?.result() {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let root = self.inner.root.clone();
        blocking(move || locator::list_blocking(&root)).await
    }
}

/// Reads at least this long are handed straight to io-wq workers (`IOSQE_ASYNC`): the page-cache copies of
/// several large gets then run on several CPUs instead of all inline on the one ring thread. Shorter reads
/// stay inline (no worker hop).
const ASYNC_READ_MIN: usize = 256 * 1024;

/// Streams `[start, end)` in `READ_CHUNK` pieces with up to `READ_AHEAD` reads in flight ahead of the consumer.
fn read_stream(inner: Arc<Inner>, fd: Arc<OwnedFd>, start: u64, end: u64) -> ByteStream {
    struct St {
        inner: Arc<Inner>,
        fd: Arc<OwnedFd>,
        /// Where the next chunk handed out starts.
        pos: u64,
        /// Where the next read to issue starts.
        issued: u64,
        end: u64,
        inflight: VecDeque<oneshot::Receiver<Vec<Done>>>,
    }
    fn fill_ahead(st: &mut St) -> io::Result<()> {
        while st.issued < st.end && st.inflight.len() < READ_AHEAD {
            let len = (st.end - st.issued).min(READ_CHUNK as u64) as usize;
            let rx = st.inner.ring.start1_with(
                Op::Read {
                    fd: st.fd.clone(),
                    buf: Vec::with_capacity(len),
                    offset: st.issued,
                },
                len >= ASYNC_READ_MIN,
            )?;
            st.inflight.push_back(rx);
            st.issued += len as u64;
        }
        Ok(())
    }
    async fn step(st: &mut St) -> io::Result<Bytes> {
        fill_ahead(st)?;
        let rx = st
            .inflight
            .pop_front()
            .ok_or_else(|| io::Error::other("no read in flight"))?;
        let mut done = rx
            .await
            .map_err(|_| io::Error::other("io_uring thread stopped"))?;
        let d = done.pop().ok_or_else(|| io::Error::other("short batch"))?;
        let n = d.result()? as u64;
        let Op::Read { buf, offset, .. } = d.op else {
            return Err(io::Error::other("op mismatch"));
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob shorter than expected",
            ));
        }
        let want = (st.end - offset).min(READ_CHUNK as u64);
        if n < want {
            // Short read (rare): drop the read-ahead and continue right after what we got.
            st.inflight.clear();
            st.issued = offset + n;
        }
        st.pos = offset + n;
        if st.pos < st.end {
            fill_ahead(st)?;
        }
        Ok(Bytes::from(buf))
    }
    let st = St {
        inner,
        fd,
        pos: start,
        issued: start,
        end,
        inflight: VecDeque::new(),
    };
    Box::pin(futures::stream::unfold(st, |mut st| async move {
        if st.pos >= st.end {
            return None;
        }
        let item = step(&mut st).await;
        if item.is_err() {
            st.pos = st.end;
        }
        Some((item, st))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;

    /// Concurrent small puts land in one or two leaves, share directory fsyncs (group sync), mark their
    /// directories durable, and read back intact.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_puts_share_leaf_and_dir_sync() {
        if io_uring_available().is_err() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let b = UringBackend::open(dir.path()).await.expect("open");
        let puts: Vec<_> = (0..32u8)
            .map(|i| {
                let b = b.clone();
                tokio::spawn(async move {
                    let body: ByteStream =
                        Box::pin(futures::stream::iter([Ok(Bytes::from(vec![i; 4096]))]));
                    (i, b.put(body).await)
                })
            })
            .collect();
        let mut locs = Vec::new();
        for p in puts {
            let (i, info) = p.await.expect("task");
            locs.push((i, info.expect("put").locator));
        }
        let leaves: std::collections::HashSet<&str> = locs.iter().map(|(_, l)| &l[..5]).collect();
        assert!(leaves.len() <= 2, "{leaves:?}");
        for leaf in &leaves {
            let (top, idx) = dir_indexes(leaf);
            assert!(DurableDirs::get(&b.inner.durable.leaf, idx));
            assert!(DurableDirs::get(&b.inner.durable.top, top));
        }
        let issued = b.inner.group.issued();
        // Without grouping: 32 leaf fsyncs plus top and root syncs for the new directories.
        assert!(issued < 32, "{issued} directory syncs for 32 puts");
        for (i, l) in &locs {
            let mut s = b.get(l, None).await.expect("get");
            let mut got = Vec::new();
            while let Some(c) = s.next().await {
                got.extend_from_slice(&c.expect("chunk"));
            }
            assert_eq!(got, vec![*i; 4096]);
        }
    }
}
