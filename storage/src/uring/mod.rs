//! The io_uring local backend (DESIGN §7): a dedicated ring thread does the I/O; tokio tasks hand it batches.
//!
//! Puts up to 256 KiB take one blocking-pool hop (see `SMALL_PUT_BLOCKING`); up to 1 MiB, two ring round
//! trips: open the file and its directory together, then write→fdatasync (linked) alongside the directory
//! fsync so both journal flushes overlap. Larger puts keep up to four 1 MiB writes in flight (optionally
//! `O_DIRECT` with a padded last block truncated back). Gets open in one trip (fstat locally), then keep one
//! read ahead of the consumer.

mod buf;
mod ring;

use std::collections::VecDeque;
use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use self::buf::{ALIGN, AlignedBuf};
use self::ring::{Done, Op, Ring};
use crate::locator::{self, check, ensure_dirs, new_locator, resolve_range};
use crate::std_backend::{self, READ_CHUNK, WRITE_CHUNK, blocking, fill};
use crate::{Backend, BlobEntry, BlobInfo, ByteStream};

/// Write buffers one large put may hold (in flight plus the one being filled).
const MAX_WRITE_BUFS: usize = 4;
/// Bodies up to this size are written by one blocking-pool hop instead of through the ring.
const SMALL_PUT_BLOCKING: usize = 256 * 1024;
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
}

impl UringBackend {
    /// Opens (creating if needed) a blob store rooted at `root`; fails if io_uring is unavailable.
    pub async fn open(root: &Path) -> io::Result<Self> {
        Self::open_with(root, false).await
    }

    /// Like [`open`](Self::open); `direct: true` writes large blobs with `O_DIRECT` instead of through the
    /// page cache (slower in this project's bench, which reads blobs back right after writing them).
    pub async fn open_with(root: &Path, direct: bool) -> io::Result<Self> {
        let has_ftruncate = ring::probe()?;
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
                direct: direct && has_ftruncate,
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

/// A freshly created blob file, its open directory, and whether it was opened with `O_DIRECT`.
struct Created {
    fd: Arc<OwnedFd>,
    dir: OwnedFd,
    cleanup: Cleanup,
    direct: bool,
}

fn take_fd(d: &mut Done) -> io::Result<OwnedFd> {
    d.result()?;
    d.fd.take()
        .ok_or_else(|| io::Error::other("open returned no descriptor"))
}

impl Inner {
    /// Opens the new blob file and its directory in one round trip; creates fan-out directories if needed.
    async fn create(self: &Arc<Self>, locator: &str, direct: bool) -> io::Result<Created> {
        let path = cpath(&self.root.join(locator))?;
        let dir = cpath(&self.root.join(&locator[..5]))?;
        let base = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let mut direct = direct;
        let mut made_dirs = false;
        loop {
            let flags = if direct { base | libc::O_DIRECT } else { base };
            let ops = vec![
                Op::Open {
                    path: path.clone(),
                    flags,
                    mode: 0o644,
                },
                Op::Open {
                    path: dir.clone(),
                    flags: libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    mode: 0,
                },
            ];
            let mut done = self.ring.run(ops, 0).await?;
            let [file, dirfd] = done.as_mut_slice() else {
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
                        dir: d,
                        cleanup,
                        direct,
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
                    made_dirs = true;
                    let (root, loc) = (self.root.clone(), locator.to_owned());
                    blocking(move || ensure_dirs(&root, &loc)).await?;
                }
                (Err(e), _) if e.raw_os_error() == Some(libc::EINVAL) && direct => direct = false,
                (Err(e), _) => return Err(e),
            }
        }
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

    /// fdatasync of the file and fsync of its directory, submitted together.
    async fn sync(&self, fd: &Arc<OwnedFd>, dir: OwnedFd) -> io::Result<()> {
        let ops = vec![
            Op::Fsync {
                fd: fd.clone(),
                datasync: true,
            },
            Op::Fsync {
                fd: Arc::new(dir),
                datasync: false,
            },
        ];
        for d in self.ring.run(ops, 0).await? {
            d.result()?;
        }
        Ok(())
    }

    /// A body that fit in one buffer: write→fdatasync linked, directory fsync alongside, one round trip.
    async fn put_small(self: &Arc<Self>, locator: &str, buf: AlignedBuf) -> io::Result<()> {
        let Created {
            fd, dir, cleanup, ..
        } = self.create(locator, false).await?;
        let len = buf.len();
        let res: io::Result<()> = async {
            if len == 0 {
                return self.sync(&fd, dir).await;
            }
            let dirfd = Arc::new(dir);
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
                Op::Fsync {
                    fd: dirfd.clone(),
                    datasync: false,
                },
            ];
            let done = self.ring.run(ops, 0b01).await?;
            let [w, fsync, dsync] = done.as_slice() else {
                return Err(io::Error::other("short batch"));
            };
            let n = w.result()? as usize;
            dsync.result()?;
            if n < len {
                // Short write broke the link: finish the write, then sync again.
                let Some(Done {
                    op: Op::Write { buf, .. },
                    ..
                }) = done.into_iter().next()
                else {
                    return Err(io::Error::other("op mismatch"));
                };
                self.write_all(&fd, buf, n, n as u64).await?;
                self.ring
                    .run1(Op::Fsync {
                        fd: fd.clone(),
                        datasync: true,
                    })
                    .await?
                    .result()?;
            } else {
                fsync.result()?;
            }
            Ok(())
        }
        .await;
        match res {
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
            Ok(size) => self.sync(&fd, dir).await.map(|()| size),
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
        let locator = new_locator();
        let mut buf = AlignedBuf::new(WRITE_CHUNK).ok_or_else(no_mem)?;
        let mut rest = Bytes::new();
        let cap = buf.capacity();
        let (len, done) = fill(&mut body, &mut rest, cap, |d| _ = buf.extend(d), 0).await?;
        let size = if done && len <= SMALL_PUT_BLOCKING {
            // Every step of a small put (create, fdatasync, directory fsync) is punted to the kernel's io-wq
            // threads anyway; measured here, one blocking-pool hop is several times faster at concurrency 32.
            let (root, loc) = (self.inner.root.clone(), locator.clone());
            blocking(move || std_backend::write_small(&root, &loc, buf.as_slice())).await?;
            len as u64
        } else if done {
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

/// Streams `[start, end)` in `READ_CHUNK` pieces with one read kept in flight ahead of the consumer.
fn read_stream(inner: Arc<Inner>, fd: Arc<OwnedFd>, start: u64, end: u64) -> ByteStream {
    struct St {
        inner: Arc<Inner>,
        fd: Arc<OwnedFd>,
        pos: u64,
        end: u64,
        next: Option<oneshot::Receiver<Vec<Done>>>,
    }
    fn issue(st: &St) -> io::Result<oneshot::Receiver<Vec<Done>>> {
        let len = (st.end - st.pos).min(READ_CHUNK as u64) as usize;
        st.inner.ring.start1(Op::Read {
            fd: st.fd.clone(),
            buf: Vec::with_capacity(len),
            offset: st.pos,
        })
    }
    async fn step(st: &mut St) -> io::Result<Bytes> {
        let rx = match st.next.take() {
            Some(rx) => rx,
            None => issue(st)?,
        };
        let mut done = rx
            .await
            .map_err(|_| io::Error::other("io_uring thread stopped"))?;
        let d = done.pop().ok_or_else(|| io::Error::other("short batch"))?;
        if d.result()? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob shorter than expected",
            ));
        }
        let Op::Read { buf, .. } = d.op else {
            return Err(io::Error::other("op mismatch"));
        };
        st.pos += buf.len() as u64;
        if st.pos < st.end {
            st.next = Some(issue(st)?);
        }
        Ok(Bytes::from(buf))
    }
    let st = St {
        inner,
        fd,
        pos: start,
        end,
        next: None,
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
