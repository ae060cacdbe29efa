//! Reads whose every byte goes through CPU work (decryption) on its way out (`Backend::get_processed`).
//!
//! `Backend::get` keeps megabytes of reads in flight ahead of its consumer, so by the time a buffer is
//! decrypted it has left the CPU's cache, and again by the time the socket copies it out. Here a piece is read only when
//! the consumer asks for it, on the consumer's own thread while the bytes are in the page cache
//! (`preadv2(RWF_NOWAIT)`, which never waits for the disk), then processed and handed over at once: the
//! page-cache copy, the decryption and the socket copy touch the same cached bytes. A piece not in the page
//! cache is read and processed on the blocking pool instead.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd as _;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tokio::task::JoinHandle;

use crate::ByteStream;

/// Work on the bytes of a read, in order (see [`crate::Backend::get_processed`]).
pub trait Process: Send + 'static {
    /// The next bytes of the range; returns what the stream yields for them (possibly nothing yet).
    fn piece(&mut self, data: BytesMut) -> io::Result<Vec<Bytes>>;
    /// After the last piece: what is still to yield, or an error if the bytes ended where they must not.
    fn finish(self: Box<Self>) -> io::Result<Vec<Bytes>>;
}

/// How a processed read is cut: the first piece's length, then every other's (the last may be shorter).
/// Local backends cut exactly so; other backends may cut anywhere, so a processor must take any split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pieces {
    /// Bytes of the first piece.
    pub first: usize,
    /// Bytes of each later piece.
    pub rest: usize,
}

/// The default `get_processed`: the backend's own stream, processed as it is consumed.
pub(crate) fn process_stream(body: ByteStream, process: Box<dyn Process>) -> ByteStream {
    let batches = futures::stream::unfold((body, Some(process)), |(mut body, p)| async move {
        let mut p = p?;
        let (out, p) = match body.next().await {
            Some(Ok(chunk)) => match p.piece(BytesMut::from(chunk)) {
                Ok(v) => (Ok(v), Some(p)),
                Err(e) => (Err(e), None),
            },
            Some(Err(e)) => (Err(e), None),
            None => (p.finish(), None),
        };
        Some((out, (body, p)))
    });
    flatten_batches(batches)
}

/// The bytes of each batch in turn (the batch streams here end after their first error).
fn flatten_batches(
    batches: impl futures::Stream<Item = io::Result<Vec<Bytes>>> + Send + 'static,
) -> ByteStream {
    Box::pin(batches.flat_map(|b| match b {
        Ok(v) => futures::stream::iter(v.into_iter().map(Ok)).left_stream(),
        Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
    }))
}

/// `get_processed` of a local backend, whose blobs are files under `root`.
pub(crate) async fn get_local(
    root: &std::path::Path,
    locator: &str,
    range: (u64, u64),
    pieces: Pieces,
    process: Box<dyn Process>,
) -> io::Result<ByteStream> {
    let (file, start, end) = crate::std_backend::open_range(root, locator, Some(range)).await?;
    Ok(read_processed(file, start, end, pieces, process))
}

/// Result of processing one piece: the output, and the processor for the next piece (`None` after the last
/// piece or an error).
type Step = (io::Result<Vec<Bytes>>, Option<Box<dyn Process>>);

/// Processes `data`, and after the last piece finishes the processor.
fn step(data: io::Result<BytesMut>, last: bool, mut p: Box<dyn Process>) -> Step {
    match data.and_then(|d| p.piece(d)) {
        Ok(mut v) if last => (
            p.finish().map(|t| {
                v.extend(t);
                v
            }),
            None,
        ),
        Ok(v) => (Ok(v), Some(p)),
        Err(e) => (Err(e), None),
    }
}

/// One positioned read into a fresh buffer, without zeroing it first. `nowait`: only from the page cache
/// (`RWF_NOWAIT`); `Ok(None)` if any of it would have to wait for the disk.
fn read_at(file: &File, pos: u64, len: usize, nowait: bool) -> io::Result<Option<BytesMut>> {
    let mut buf = BytesMut::with_capacity(len);
    while buf.len() < len {
        let at = libc::off_t::try_from(pos + buf.len() as u64)
            .map_err(|_| io::Error::other("offset too large"))?;
        let want = len - buf.len();
        let iov = libc::iovec {
            // SAFETY: the buffer's spare capacity, at least `want` bytes.
            iov_base: unsafe { buf.as_mut_ptr().add(buf.len()) }.cast(),
            iov_len: want,
        };
        // SAFETY: one iovec over spare capacity; the kernel writes at most `want` bytes there, and only the
        // bytes it reports are then marked initialised.
        let n = unsafe {
            if nowait {
                libc::preadv2(file.as_raw_fd(), &iov, 1, at, libc::RWF_NOWAIT)
            } else {
                libc::pread(file.as_raw_fd(), iov.iov_base, want, at)
            }
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                // Would wait; or a kernel or filesystem without non-waiting reads: read on the blocking pool.
                Some(libc::EAGAIN | libc::EOPNOTSUPP | libc::EINVAL | libc::ENOSYS) if nowait => {
                    return Ok(None);
                }
                _ => return Err(e),
            }
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob shorter than expected",
            ));
        }
        // SAFETY: the kernel initialised `n` (≤ `want`) more bytes right after the initialised ones.
        unsafe { buf.set_len(buf.len() + n as usize) };
        if nowait && buf.len() < len {
            // A short non-waiting read: the rest is not cached. Read it all on the blocking pool.
            return Ok(None);
        }
    }
    Ok(Some(buf))
}

/// Bytes the kernel is asked to read ahead when a piece is not in the page cache (like the ring's read-ahead).
const READ_AHEAD_ON_MISS: u64 = 4 << 20;

fn advise_willneed(file: &File, pos: u64, len: u64) {
    let (Ok(at), Ok(n)) = (libc::off_t::try_from(pos), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: an advisory call on an open descriptor; a failure only loses the hint.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), at, n, libc::POSIX_FADV_WILLNEED) };
}

/// The processor that changes nothing: a plain read, cut and read just in time like a processed one.
pub struct Unchanged;

impl Process for Unchanged {
    fn piece(&mut self, data: BytesMut) -> io::Result<Vec<Bytes>> {
        Ok(vec![data.freeze()])
    }
    fn finish(self: Box<Self>) -> io::Result<Vec<Bytes>> {
        Ok(Vec::new())
    }
}

/// Streams `[start, end)` of `file` cut as `pieces`, each read when the consumer asks for it and processed
/// right away: inline when the piece is in the page cache, else on the blocking pool.
pub(crate) fn read_processed(
    file: Arc<File>,
    start: u64,
    end: u64,
    pieces: Pieces,
    process: Box<dyn Process>,
) -> ByteStream {
    struct St {
        file: Arc<File>,
        /// Where the next piece starts.
        pos: u64,
        end: u64,
        /// Length of the next piece.
        next_len: usize,
        rest: usize,
        /// `None` after the last piece or an error.
        process: Option<Box<dyn Process>>,
    }
    if start >= end {
        // An empty range: nothing to read, the processor still decides whether that is whole.
        return flatten_batches(futures::stream::once(async move { process.finish() }));
    }
    let st = St {
        file,
        pos: start,
        end,
        next_len: pieces.first.max(1),
        rest: pieces.rest.max(1),
        process: Some(process),
    };
    let batches = futures::stream::unfold(st, |mut st| async move {
        let p = st.process.take()?;
        let len = (st.end - st.pos).min(st.next_len as u64) as usize;
        let (pos, last) = (st.pos, st.pos + len as u64 >= st.end);
        st.pos += len as u64;
        st.next_len = st.rest;
        let (out, p) = match read_at(&st.file, pos, len, true) {
            Ok(Some(data)) => step(Ok(data), last, p),
            Ok(None) => {
                let file = Arc::clone(&st.file);
                let ahead = (st.end - pos).min(READ_AHEAD_ON_MISS);
                let job: JoinHandle<Step> = tokio::task::spawn_blocking(move || {
                    // Not cached: ask the kernel to read the next few megabytes in the background, so the
                    // following pieces are found in the page cache again.
                    advise_willneed(&file, pos, ahead);
                    let data = read_at(&file, pos, len, false).and_then(|d| {
                        d.ok_or_else(|| io::Error::other("waiting read did not read"))
                    });
                    step(data, last, p)
                });
                match job.await {
                    Ok(r) => r,
                    Err(e) => (
                        Err(io::Error::other(format!("blocking task failed: {e}"))),
                        None,
                    ),
                }
            }
            Err(e) => (Err(e), None),
        };
        st.process = p;
        Some((out, st))
    });
    flatten_batches(batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt as _;

    /// Records the lengths it was given and passes the bytes on; `finish` fails unless `total` bytes came.
    struct Recorder {
        seen: Arc<std::sync::Mutex<Vec<usize>>>,
        got: usize,
        total: usize,
    }
    impl Process for Recorder {
        fn piece(&mut self, data: BytesMut) -> io::Result<Vec<Bytes>> {
            self.seen.lock().expect("lock").push(data.len());
            self.got += data.len();
            Ok(vec![data.freeze()])
        }
        fn finish(self: Box<Self>) -> io::Result<Vec<Bytes>> {
            if self.got != self.total {
                return Err(io::Error::other("short"));
            }
            Ok(vec![Bytes::from_static(b"!")])
        }
    }

    fn recorder(total: usize) -> (Box<Recorder>, Arc<std::sync::Mutex<Vec<usize>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let r = Recorder {
            seen: seen.clone(),
            got: 0,
            total,
        };
        (Box::new(r), seen)
    }

    fn file_of(data: &[u8]) -> (tempfile::TempDir, Arc<File>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("blob");
        std::fs::write(&path, data).expect("write");
        let f = File::open(&path).expect("open");
        (dir, Arc::new(f))
    }

    #[tokio::test]
    async fn pieces_are_cut_as_asked_and_finish_runs_after_the_last() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, file) = file_of(&data);
        let (p, seen) = recorder(9_000);
        let pieces = Pieces {
            first: 1_000,
            rest: 3_000,
        };
        let out: Vec<Bytes> = read_processed(file, 500, 9_500, pieces, p)
            .try_collect()
            .await
            .expect("read");
        let all: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(&all[..9_000], &data[500..9_500]);
        assert_eq!(&all[9_000..], b"!");
        assert_eq!(
            *seen.lock().expect("lock"),
            vec![1_000, 3_000, 3_000, 2_000]
        );
    }

    #[tokio::test]
    async fn a_blob_shorter_than_the_range_is_an_error() {
        let (_dir, file) = file_of(&[7u8; 100]);
        let (p, _) = recorder(200);
        let pieces = Pieces {
            first: 64,
            rest: 64,
        };
        let r: io::Result<Vec<Bytes>> = read_processed(file, 0, 200, pieces, p).try_collect().await;
        assert_eq!(r.expect_err("short").kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_waiting_read_reads_what_a_non_waiting_one_may_refuse() {
        let data: Vec<u8> = (0..5_000u32).map(|i| (i % 13) as u8).collect();
        let (_dir, file) = file_of(&data);
        let got = read_at(&file, 100, 4_000, false)
            .expect("read")
            .expect("bytes");
        assert_eq!(&got[..], &data[100..4_100]);
        // Just written, so cached: a non-waiting read gets it too (or declines; never wrong bytes).
        if let Some(got) = read_at(&file, 100, 4_000, true).expect("nowait read") {
            assert_eq!(&got[..], &data[100..4_100]);
        }
    }

    /// A blob out of the page cache: the non-waiting read declines, the piece is read on the blocking pool
    /// (with the read-ahead hint), and the bytes are the same.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pieces_not_in_the_page_cache_are_read_on_the_blocking_pool() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
        let (_dir, file) = file_of(&data);
        file.sync_all().expect("sync");
        // SAFETY: advisory; drops the file's clean pages from the page cache.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let evicted = read_at(&file, 1_000_000, 4096, true)
            .expect("nowait")
            .is_none();
        // SAFETY: as above (the probe may have pulled nothing in, but be sure).
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let (p, seen) = recorder(3_000_000 - 10);
        let pieces = Pieces {
            first: 100_000,
            rest: 256 * 1024,
        };
        let out: Vec<Bytes> = read_processed(Arc::clone(&file), 10, 3_000_000, pieces, p)
            .try_collect()
            .await
            .expect("read");
        let all: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(all.len(), 3_000_000 - 10 + 1);
        assert!(all[..all.len() - 1] == data[10..], "same bytes");
        assert_eq!(seen.lock().expect("lock")[0], 100_000);
        if evicted {
            // The read-ahead hint was given on the first miss: later pieces are found cached again.
            assert!(
                read_at(&file, 2_000_000, 4096, true)
                    .expect("nowait")
                    .is_some()
            );
        }
    }

    #[tokio::test]
    async fn the_default_path_processes_any_split_and_reports_finish_errors() {
        let body: ByteStream = Box::pin(futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"de")),
        ]));
        let (p, _) = recorder(6);
        let r: io::Result<Vec<Bytes>> = process_stream(body, p).try_collect().await;
        assert!(r.is_err(), "finish saw 5 of 6 bytes");
    }
}
