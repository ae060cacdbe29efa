//! The put path: create the blob file (and any missing fan-out directory) in one round trip, write it (one
//! linked write→fdatasync for a body that fits one buffer; pipelined writes otherwise), then make it durable
//! together with the directory entries it depends on.

use std::collections::VecDeque;
use std::ffi::CString;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::dirs::{DurableDirs, NewDirs, dir_indexes};
use super::ring::{Chain, Done, Op};
use super::{Inner, cpath, take_fd};
use crate::ByteStream;
use crate::buf::{ALIGN, AlignedBuf};
use crate::direct::{aligned, is_refusal, set_direct};
use crate::locator::ensure_dirs;
use crate::std_backend::{WRITE_CHUNK, blocking, fill, no_mem};

/// Write buffers one large put may hold (in flight plus the one being filled).
const MAX_WRITE_BUFS: usize = 4;

type IoFuture<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;

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

impl Inner {
    /// Opens the new blob file and its directory in one round trip. If the fan-out directories are not known
    /// durable, the same linked batch first makes them (`mkdirat`, an existing one is fine); their parents
    /// are then synced together with the blob (see [`Inner::sync_all`]). `direct`: switch the file to
    /// `O_DIRECT` if the filesystem takes it (`Created::direct` says whether it did).
    async fn create(self: &Arc<Self>, locator: &str, direct: bool) -> io::Result<Created> {
        let path = cpath(&self.root.join(locator))?;
        let dir = cpath(&self.root.join(&locator[..5]))?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let mut new_dirs = self.new_dirs(locator);
        let mut made_dirs = false;
        loop {
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
                    // Switched on after the open (see `crate::direct` for why): a cheap, non-blocking fcntl.
                    let direct = direct
                        && match set_direct(&f, true) {
                            Ok(()) => true,
                            Err(e) if is_refusal(&e) => {
                                self.direct.refused("io_uring", &e);
                                false
                            }
                            Err(e) => {
                                drop(f);
                                cleanup.now().await;
                                return Err(e);
                            }
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

    /// Writes `buf[start..]` at `offset` until all of it is written. `direct`: the file may still be in
    /// `O_DIRECT` mode, so a refusal turns that off and the write is retried through the page cache (a short
    /// direct write leaves an unaligned remainder, which takes this path too).
    async fn write_all(
        &self,
        fd: &Arc<OwnedFd>,
        mut buf: AlignedBuf,
        mut start: usize,
        mut offset: u64,
        mut direct: bool,
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
            let res = d.result();
            let Op::Write { buf: b, .. } = d.op else {
                return Err(io::Error::other("op mismatch"));
            };
            buf = b;
            let n = match res {
                Ok(n) => n as usize,
                Err(e) if direct && is_refusal(&e) => {
                    self.refuse_direct(fd, &e, aligned(start, offset, buf.len() - start))?;
                    direct = false;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
            }
            start += n;
            offset += n as u64;
        }
        Ok(buf)
    }

    /// Checks a finished pipelined write and finishes it if it was short (or, on a file opened with
    /// `direct`, refused); returns its buffer.
    async fn settle(
        &self,
        fd: &Arc<OwnedFd>,
        rx: oneshot::Receiver<Vec<Done>>,
        direct: bool,
    ) -> io::Result<AlignedBuf> {
        let mut done = rx
            .await
            .map_err(|_| io::Error::other("io_uring thread stopped"))?;
        let d = done.pop().ok_or_else(|| io::Error::other("short batch"))?;
        let res = d.result();
        let Op::Write {
            buf, start, offset, ..
        } = d.op
        else {
            return Err(io::Error::other("op mismatch"));
        };
        let (n, direct) = match res {
            Ok(n) => (n as usize, direct),
            Err(e) if direct && is_refusal(&e) => {
                // Written before O_DIRECT was turned off (by this or an earlier refusal): write it again
                // through the page cache.
                self.refuse_direct(fd, &e, aligned(start, offset, buf.len() - start))?;
                (0, false)
            }
            Err(e) => return Err(e),
        };
        self.write_all(fd, buf, start + n, offset + n as u64, direct)
            .await
    }

    /// An `O_DIRECT` write was refused: no more `O_DIRECT` for this file, nor for later puts if the write
    /// was `aligned` (then it is the filesystem that refuses).
    fn refuse_direct(&self, fd: &OwnedFd, e: &io::Error, aligned: bool) -> io::Result<()> {
        if aligned {
            self.direct.refused("io_uring", e);
        }
        set_direct(fd, false)
    }

    /// `ftruncate` through the ring, or on the blocking pool where the kernel lacks `IORING_OP_FTRUNCATE`
    /// (before 6.9).
    async fn truncate(&self, fd: &Arc<OwnedFd>, len: u64) -> io::Result<()> {
        if self.features.ftruncate {
            self.ring
                .run1(Op::Ftruncate {
                    fd: fd.clone(),
                    len,
                })
                .await?
                .result()
                .map(|_| ())
        } else {
            let file = std::fs::File::from(fd.try_clone()?);
            blocking(move || file.set_len(len)).await
        }
    }

    /// A body that fit in one buffer: write→fdatasync linked, alongside the (group) directory syncs.
    pub(super) async fn put_small(
        self: &Arc<Self>,
        locator: &str,
        buf: AlignedBuf,
    ) -> io::Result<()> {
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
            self.write_all(fd, buf, n, n as u64, false).await?;
            self.datasync(fd).await
        } else {
            fsync.result().map(|_| ())
        }
    }

    /// A body larger than one buffer: up to `MAX_WRITE_BUFS` pipelined writes, with `O_DIRECT` unless it is
    /// off or refused (then the last block is zero-padded to `ALIGN` and the file truncated back).
    pub(super) async fn put_large(
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
        } = self.create(locator, self.direct.enabled()).await?;
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
                    let mut b = self.settle(&fd, rx, direct).await?;
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
                if direct && !size.is_multiple_of(ALIGN as u64) {
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
                self.settle(&fd, rx, direct).await?;
            }
            if truncate {
                self.truncate(&fd, size).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend as _;
    use crate::uring::{UringBackend, io_uring_available};

    fn buf_of(data: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::new(data.len()).expect("alloc");
        assert_eq!(b.extend(data), data.len());
        b
    }

    /// A direct write that is not aligned (what a short write leaves), whether pipelined (`settle`) or not
    /// (`write_all`), is finished through the page cache on this file only: the backend keeps O_DIRECT.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unaligned_direct_write_falls_back_for_this_file_only() {
        if io_uring_available().is_err() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let b = UringBackend::open(dir.path()).await.expect("open");
        let inner = &b.inner;
        let locator = inner.new_locator();
        let created = inner.create(&locator, true).await.expect("create");
        if !created.direct {
            return; // this filesystem has no O_DIRECT: nothing to test here
        }
        let a: Vec<u8> = (0..ALIGN * 2).map(|i| (i % 251) as u8).collect();
        let fd = created.fd.clone();
        // Aligned, pipelined: stays direct.
        let rx = inner
            .ring
            .start1(Op::Write {
                fd: fd.clone(),
                buf: buf_of(&a),
                start: 0,
                offset: 0,
            })
            .expect("start");
        inner.settle(&fd, rx, true).await.expect("aligned write");
        // Unaligned offset, pipelined: refused, rewritten through the page cache.
        let rx = inner
            .ring
            .start1(Op::Write {
                fd: fd.clone(),
                buf: buf_of(&a),
                start: 0,
                offset: 1,
            })
            .expect("start");
        inner.settle(&fd, rx, true).await.expect("unaligned write");
        // Unaligned start in the buffer, not pipelined: the same (O_DIRECT is already off for this file).
        inner
            .write_all(&fd, buf_of(&a), 3, 1 + a.len() as u64, true)
            .await
            .expect("unaligned write_all");
        assert!(b.direct_io(), "the backend keeps O_DIRECT");
        inner.datasync(&fd).await.expect("sync");
        let got = std::fs::read(dir.path().join(&locator)).expect("read");
        let mut want = vec![a[0]];
        want.extend_from_slice(&a);
        want.extend_from_slice(&a[3..]);
        assert_eq!(got, want);
        created.cleanup.now().await;
        assert!(!dir.path().join(&locator).exists());
    }

    /// `write_all` on a file still in O_DIRECT mode with an unaligned start also falls back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unaligned_write_all_on_direct_file() {
        if io_uring_available().is_err() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let b = UringBackend::open(dir.path()).await.expect("open");
        let locator = b.inner.new_locator();
        let created = b.inner.create(&locator, true).await.expect("create");
        let a: Vec<u8> = (0..ALIGN + 100).map(|i| (i % 7) as u8).collect();
        b.inner
            .write_all(&created.fd, buf_of(&a), 5, 0, created.direct)
            .await
            .expect("write_all");
        b.inner.datasync(&created.fd).await.expect("sync");
        let got = std::fs::read(dir.path().join(&locator)).expect("read");
        assert_eq!(got, a[5..]);
        assert!(b.direct_io());
        created.cleanup.disarm();
    }
}
