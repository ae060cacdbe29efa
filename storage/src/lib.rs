//! Blob storage: bytes only, addressed by opaque locators (DESIGN §3, §7).
//!
//! A blob is written once (`put`), read any number of times (`get`, optionally a byte range) and deleted.
//! `put` returns only after the bytes are durable (written, large blobs with `O_DIRECT` by default, then
//! fdatasynced) and the blob's directory entry is synced, so the caller may commit an index row that points
//! at it.

mod buf;
mod classes;
mod direct;
mod locator;
mod memory;
mod processed;
mod std_backend;
mod sweep;
mod uring;

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::Stream;

pub use classes::{ClassedBackend, STANDARD, class_of, valid_class_name};
pub use memory::MemoryBackend;
pub use processed::{Pieces, Process, Unchanged};
pub use std_backend::StdBackend;
pub use sweep::sweep_orphans;
pub use uring::{UringBackend, io_uring_available};

/// A stream of body chunks, in and out of the backend.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// What `put` reports about the blob it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Opaque locator to store in the index; only this backend interprets it.
    pub locator: String,
    /// Bytes written.
    pub size: u64,
}

/// A blob found by `list` (for the orphan sweep).
#[derive(Debug, Clone)]
pub struct BlobEntry {
    /// The blob's locator.
    pub locator: String,
    /// Last modification (for a local blob: when its write finished).
    pub modified: SystemTime,
}

/// Which local backend to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// io_uring if the kernel allows it, else std.
    Auto,
    /// io_uring, failing if the kernel refuses it.
    IoUring,
    /// Blocking `std::fs` calls on tokio's blocking pool.
    Std,
}

/// The blob backend every handler writes through.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Short name for logs and metrics ("io_uring", "std", "memory").
    fn name(&self) -> &'static str;
    /// Whether large puts are written with `O_DIRECT` (asked for, and not refused by the filesystem so far).
    fn direct_io(&self) -> bool {
        false
    }
    /// Writes the stream to a new blob; durable on return. On any error (including an error item from the
    /// stream, e.g. a client disconnect or a checksum failure) nothing is left behind.
    async fn put(&self, body: ByteStream) -> io::Result<BlobInfo>;
    /// `put` into the backend of a storage class (a backend without classes has only STANDARD).
    async fn put_in(&self, class: &str, body: ByteStream) -> io::Result<BlobInfo> {
        if class == classes::STANDARD {
            return self.put(body).await;
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("storage class {class} is not configured"),
        ))
    }
    /// Reads `range` (start inclusive, end exclusive) or the whole blob. `NotFound` if the locator is unknown.
    async fn get(&self, locator: &str, range: Option<(u64, u64)>) -> io::Result<ByteStream>;
    /// Reads `[range.0, range.1)` and runs `process` over it, in order; the stream yields what `process`
    /// returns. Local backends read the range cut as `pieces`, each when the consumer asks for it, and
    /// process it at once, so the bytes are still in the CPU's cache for the work (decryption) and for the
    /// socket after it (see the `processed` module); the default processes `get`'s stream as it comes.
    async fn get_processed(
        &self,
        locator: &str,
        range: (u64, u64),
        pieces: Pieces,
        process: Box<dyn Process>,
    ) -> io::Result<ByteStream> {
        let _ = pieces;
        let body = self.get(locator, Some(range)).await?;
        Ok(processed::process_stream(body, process))
    }
    /// Deletes a blob; deleting a missing blob is not an error.
    async fn delete(&self, locator: &str) -> io::Result<()>;
    /// Every blob with its modification time (for sweeping orphans).
    async fn list(&self) -> io::Result<Vec<BlobEntry>>;
}

/// Opens the local blob store at `root` (created if missing) with the requested implementation. `Auto` probes
/// io_uring (it may be disabled by `kernel.io_uring_disabled` or a seccomp filter) and falls back to std.
/// `direct_io`: write blobs larger than one write buffer (1 MiB) with `O_DIRECT` where the filesystem takes
/// it (see the `direct` module); `false` sends every write through the page cache.
pub async fn open_local(
    root: &Path,
    kind: LocalKind,
    direct_io: bool,
) -> io::Result<Arc<dyn Backend>> {
    match kind {
        LocalKind::Std => Ok(Arc::new(StdBackend::open_with(root, direct_io).await?)),
        LocalKind::IoUring => Ok(Arc::new(UringBackend::open_with(root, direct_io).await?)),
        LocalKind::Auto => match io_uring_available() {
            Ok(()) => Ok(Arc::new(UringBackend::open_with(root, direct_io).await?)),
            Err(e) => {
                tracing::warn!(error = %e, "io_uring unavailable, using the std blob backend");
                Ok(Arc::new(StdBackend::open_with(root, direct_io).await?))
            }
        },
    }
}
