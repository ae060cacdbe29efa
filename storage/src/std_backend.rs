//! The portable local backend: `std::fs` calls grouped into as few `spawn_blocking` hops as possible.
//!
//! `tokio::fs` would do the same work with one blocking-pool hop per call (open, write, sync, close...), so
//! grouping the calls ourselves is never slower; small bodies are written, synced and closed in a single hop.
//! Larger bodies go to one blocking writer per put through a short queue of write buffers, written with
//! `O_DIRECT` by default (see [`crate::direct`]), one positioned write at a time.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::buf::{ALIGN, AlignedBuf};
use crate::direct::{DirectIo, aligned, is_refusal, set_direct};
use crate::locator::{
    self, check, ensure_dirs, fsync_dir, new_locator, remove_quietly, resolve_range,
};
use crate::{Backend, BlobEntry, BlobInfo, ByteStream};

/// Size of the write buffers (and of the first, possibly whole-body, buffer).
pub(crate) const WRITE_CHUNK: usize = 1 << 20;
/// Size of the chunks `get` yields.
pub(crate) const READ_CHUNK: usize = 1 << 20;
/// Filled write buffers that may wait for the blocking writer: bounds a put to ~(2 + this) MiB.
const WRITE_QUEUE: usize = 2;

/// Blob store on a local directory using blocking `std::fs` calls on tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct StdBackend {
    root: Arc<PathBuf>,
    /// Whether large puts use `O_DIRECT`.
    direct: Arc<DirectIo>,
}

impl StdBackend {
    /// Opens (creating if needed) a blob store rooted at `root`, writing large blobs with `O_DIRECT` where
    /// the filesystem allows it.
    pub async fn open(root: &Path) -> io::Result<Self> {
        Self::open_with(root, true).await
    }

    /// Like [`open`](Self::open); `direct: false` writes every blob through the page cache.
    pub async fn open_with(root: &Path, direct: bool) -> io::Result<Self> {
        let root = root.to_path_buf();
        let root = blocking(move || {
            std::fs::create_dir_all(&root)?;
            Ok(root)
        })
        .await?;
        Ok(Self {
            root: Arc::new(root),
            direct: Arc::new(DirectIo::new(direct)),
        })
    }

    /// The directory blobs live under.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// A write buffer could not be allocated.
pub(crate) fn no_mem() -> io::Error {
    io::Error::new(io::ErrorKind::OutOfMemory, "cannot allocate I/O buffer")
}

/// Runs blocking work on tokio's blocking pool, mapping a panic or cancellation to an io error.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    join(tokio::task::spawn_blocking(f)).await
}

async fn join<T>(h: JoinHandle<io::Result<T>>) -> io::Result<T> {
    h.await
        .map_err(|e| io::Error::other(format!("blocking task failed: {e}")))?
}

/// Reads from the stream into `buf` until it holds `cap` bytes or the stream ends; returns `true` at the end.
/// Whatever does not fit is left in `rest` for the next buffer.
pub(crate) async fn fill(
    body: &mut ByteStream,
    rest: &mut Bytes,
    cap: usize,
    mut push: impl FnMut(&[u8]),
    mut len: usize,
) -> io::Result<(usize, bool)> {
    loop {
        if !rest.is_empty() {
            let n = rest.len().min(cap - len);
            push(&rest[..n]);
            len += n;
            let _ = rest.split_to(n);
        }
        if len == cap {
            return Ok((len, false));
        }
        match body.next().await {
            Some(chunk) => *rest = chunk?,
            None => return Ok((len, true)),
        }
    }
}

/// Creates the blob file with `O_EXCL`, creating the fan-out directories first if they are missing.
pub(crate) fn create_blob(root: &Path, locator: &str, extra_flags: i32) -> io::Result<File> {
    let path = root.join(locator);
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(extra_flags)
            .open(&path)
    };
    match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            ensure_dirs(root, locator)?;
            open()
        }
        other => other,
    }
}

/// Durability after the data is written: file data, then the directory entry.
fn finish_file(file: File, root: &Path, locator: &str) -> io::Result<()> {
    file.sync_data()?;
    drop(file);
    fsync_dir(&root.join(&locator[..5]))
}

/// Writes a whole (small) body in one blocking hop; removes the file on failure.
pub(crate) fn write_small(root: &Path, locator: &str, data: &[u8]) -> io::Result<()> {
    let mut file = create_blob(root, locator, 0)?;
    let res = file
        .write_all(data)
        .and_then(|()| finish_file(file, root, locator));
    if res.is_err() {
        let _ = remove_quietly(&root.join(locator));
    }
    res
}

enum WriterMsg {
    Data(AlignedBuf),
    Finish,
}

/// The file of a large put and where its next byte goes.
struct BigFile {
    file: File,
    /// Opened with `O_DIRECT` (and not turned off since).
    direct: bool,
    /// Bytes of the blob written so far (without padding).
    size: u64,
    /// The last write was padded past `size`: truncate back before syncing.
    padded: bool,
}

impl BigFile {
    /// Creates the blob, with `O_DIRECT` if `direct` says so and the filesystem takes it.
    fn create(root: &Path, locator: &str, direct: &DirectIo) -> io::Result<Self> {
        let file = create_blob(root, locator, 0)?;
        let on = direct.enabled()
            && match set_direct(file.as_fd(), true) {
                Ok(()) => true,
                Err(e) if is_refusal(&e) => {
                    direct.refused("std", &e);
                    false
                }
                Err(e) => return Err(e),
            };
        Ok(Self {
            file,
            direct: on,
            size: 0,
            padded: false,
        })
    }

    /// Appends one buffer. With `O_DIRECT`, a buffer whose length is not a multiple of `ALIGN` (only the
    /// last one) is zero-padded and the padding truncated away in [`finish`](Self::finish).
    fn write(&mut self, mut buf: AlignedBuf, direct: &DirectIo) -> io::Result<()> {
        let len = buf.len() as u64;
        if self.direct && !len.is_multiple_of(ALIGN as u64) {
            buf.pad_to_align();
            self.padded = true;
        }
        let data = buf.as_slice();
        let mut done = 0;
        while done < data.len() {
            let pos = self.size + done as u64;
            match self.file.write_at(&data[done..], pos) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.direct && is_refusal(&e) => {
                    // The filesystem took O_DIRECT at open but refuses the I/O (or a short write left an
                    // unaligned remainder): write the rest of this file through the page cache.
                    if aligned(done, pos, data.len() - done) {
                        direct.refused("std", &e);
                    }
                    set_direct(self.file.as_fd(), false)?;
                    self.direct = false;
                }
                Err(e) => return Err(e),
            }
        }
        self.size += len;
        Ok(())
    }

    /// Truncates away any padding and makes the blob durable.
    fn finish(self, root: &Path, locator: &str) -> io::Result<()> {
        if self.padded {
            self.file.set_len(self.size)?;
        }
        finish_file(self.file, root, locator)
    }
}

/// The blocking side of a large put: writes buffers as they come; a closed channel without `Finish` means the
/// put failed or was cancelled, and the file is removed.
fn writer(
    root: &Path,
    locator: &str,
    direct: &DirectIo,
    mut rx: mpsc::Receiver<WriterMsg>,
) -> io::Result<()> {
    let path = root.join(locator);
    let run = |rx: &mut mpsc::Receiver<WriterMsg>| -> io::Result<()> {
        let mut file = BigFile::create(root, locator, direct)?;
        loop {
            match rx.blocking_recv() {
                Some(WriterMsg::Data(buf)) => file.write(buf, direct)?,
                Some(WriterMsg::Finish) => return file.finish(root, locator),
                None => return Err(io::Error::new(io::ErrorKind::Interrupted, "put abandoned")),
            }
        }
    };
    let res = run(&mut rx);
    if res.is_err() {
        let _ = remove_quietly(&path);
    }
    res
}

#[async_trait::async_trait]
impl Backend for StdBackend {
    fn name(&self) -> &'static str {
        "std"
    }

    fn direct_io(&self) -> bool {
        self.direct.enabled()
    }

    async fn put(&self, mut body: ByteStream) -> io::Result<BlobInfo> {
        let locator = new_locator();
        let mut rest = Bytes::new();
        let mut buf = AlignedBuf::new(WRITE_CHUNK).ok_or_else(no_mem)?;
        let (len, done) = fill(&mut body, &mut rest, WRITE_CHUNK, |b| _ = buf.extend(b), 0).await?;
        if done {
            let (root, loc) = (self.root.clone(), locator.clone());
            blocking(move || write_small(&root, &loc, buf.as_slice())).await?;
            return Ok(BlobInfo {
                locator,
                size: len as u64,
            });
        }
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let (root, loc, direct) = (self.root.clone(), locator.clone(), self.direct.clone());
        let task = tokio::task::spawn_blocking(move || writer(&root, &loc, &direct, rx));
        let mut size = len as u64;
        let fed: io::Result<()> = async {
            loop {
                if tx.send(WriterMsg::Data(buf)).await.is_err() {
                    return Ok(()); // the writer stopped on an error; it reports it below
                }
                buf = AlignedBuf::new(WRITE_CHUNK).ok_or_else(no_mem)?;
                let (n, done) =
                    fill(&mut body, &mut rest, WRITE_CHUNK, |b| _ = buf.extend(b), 0).await?;
                size += n as u64;
                if done {
                    if n > 0 {
                        let _ = tx.send(WriterMsg::Data(buf)).await;
                    }
                    let _ = tx.send(WriterMsg::Finish).await;
                    return Ok(());
                }
            }
        }
        .await;
        drop(tx); // without Finish, this makes the writer delete the file
        let written = join(task).await;
        fed?;
        written?;
        Ok(BlobInfo { locator, size })
    }

    async fn get(&self, locator: &str, range: Option<(u64, u64)>) -> io::Result<ByteStream> {
        let (file, start, end) = open_range(&self.root, locator, range).await?;
        Ok(read_stream(file, start, end))
    }

    async fn get_processed(
        &self,
        locator: &str,
        range: (u64, u64),
        pieces: crate::Pieces,
        process: Box<dyn crate::Process>,
    ) -> io::Result<ByteStream> {
        crate::processed::get_local(&self.root, locator, range, pieces, process).await
    }

    async fn delete(&self, locator: &str) -> io::Result<()> {
        check(locator)?;
        let path = self.root.join(locator);
        blocking(move || remove_quietly(&path)).await
    }

    async fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let root = self.root.clone();
        blocking(move || locator::list_blocking(&root)).await
    }
}

/// Opens a blob on the blocking pool and resolves `range` against its size.
pub(crate) async fn open_range(
    root: &Path,
    locator: &str,
    range: Option<(u64, u64)>,
) -> io::Result<(Arc<File>, u64, u64)> {
    check(locator)?;
    let path = root.join(locator);
    blocking(move || {
        let file = File::open(&path)?;
        let size = file.metadata()?.len();
        let (start, end) = resolve_range(range, size)?;
        Ok((Arc::new(file), start, end))
    })
    .await
}

/// One positioned read on the blocking pool.
fn spawn_read(file: Arc<File>, pos: u64, len: usize) -> JoinHandle<io::Result<Bytes>> {
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; len];
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob shorter than expected",
            ));
        }
        buf.truncate(n);
        Ok(Bytes::from(buf))
    })
}

/// Streams `[start, end)` in `READ_CHUNK` pieces, keeping the next read in flight while a chunk is consumed.
fn read_stream(file: Arc<File>, start: u64, end: u64) -> ByteStream {
    struct St {
        file: Arc<File>,
        pos: u64,
        end: u64,
        next: Option<JoinHandle<io::Result<Bytes>>>,
    }
    let chunk = |st: &St| (st.end - st.pos).min(READ_CHUNK as u64) as usize;
    let st = St {
        file,
        pos: start,
        end,
        next: None,
    };
    Box::pin(futures::stream::unfold(st, move |mut st| async move {
        if st.pos >= st.end {
            return None;
        }
        let h = match st.next.take() {
            Some(h) => h,
            None => spawn_read(st.file.clone(), st.pos, chunk(&st)),
        };
        match join(h).await {
            Ok(bytes) => {
                st.pos += bytes.len() as u64;
                if st.pos < st.end {
                    st.next = Some(spawn_read(st.file.clone(), st.pos, chunk(&st)));
                }
                Some((Ok(bytes), st))
            }
            Err(e) => {
                st.pos = st.end; // end the stream after reporting the error
                Some((Err(e), st))
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf_of(data: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::new(data.len()).expect("alloc");
        assert_eq!(b.extend(data), data.len());
        b
    }

    /// A direct write that is not aligned (what a short write leaves) is finished through the page cache on
    /// this file only: the backend keeps using O_DIRECT for later puts.
    #[test]
    fn unaligned_direct_write_falls_back_for_this_file_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let locator = new_locator();
        let direct = DirectIo::new(true);
        let mut f = BigFile::create(dir.path(), &locator, &direct).expect("create");
        if !f.direct {
            return; // this filesystem has no O_DIRECT: nothing to test here
        }
        let a: Vec<u8> = (0..ALIGN * 2).map(|i| (i % 251) as u8).collect();
        f.write(buf_of(&a), &direct).expect("aligned write");
        assert!(f.direct);
        // Pretend a short write left the file at an unaligned size.
        f.size -= 1;
        f.write(buf_of(&a), &direct).expect("unaligned write");
        assert!(!f.direct, "O_DIRECT is off for this file");
        assert!(direct.enabled(), "but not for the backend");
        let size = f.size;
        f.finish(dir.path(), &locator).expect("finish");
        let got = std::fs::read(dir.path().join(&locator)).expect("read");
        assert_eq!(got.len() as u64, size);
        assert_eq!(&got[..a.len() - 1], &a[..a.len() - 1]);
        assert_eq!(&got[a.len() - 1..], &a[..]);
    }

    /// The padded last block of a direct put is truncated away.
    #[test]
    fn padded_tail_is_truncated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let locator = new_locator();
        let direct = DirectIo::new(true);
        let mut f = BigFile::create(dir.path(), &locator, &direct).expect("create");
        let a: Vec<u8> = (0..ALIGN + 7).map(|i| (i % 13) as u8).collect();
        f.write(buf_of(&a), &direct).expect("write");
        assert_eq!(f.padded, f.direct);
        f.finish(dir.path(), &locator).expect("finish");
        assert_eq!(std::fs::read(dir.path().join(&locator)).expect("read"), a);
    }
}
