//! The io_uring local backend (DESIGN §7): a dedicated ring thread does the I/O; tokio tasks hand it batches.
//!
//! Puts: one round trip opens the new file and its directory (preceded, in the same linked batch, by
//! `mkdirat` of the fan-out directories when they are not known durable); then write→fdatasync (linked) runs
//! concurrently with the fsync of the blob's directory and, for new fan-out directories, of their parents,
//! so all of them wait on one journal commit. Directory fsyncs go through [`group::GroupSync`]: concurrent
//! puts into one directory share one fsync that started after all their entries existed. New blobs are
//! placed `PUTS_PER_LEAF` at a time in one fan-out leaf (rotating over all 65536), so concurrent puts do
//! share a directory, and the next leaf is made durable in the background before it is needed. Larger puts
//! keep up to four 1 MiB writes in flight, with `O_DIRECT` by default (see [`crate::direct`]).
//! Gets open in one trip (fstat locally), then keep `READ_AHEAD` reads in flight; large reads go straight to
//! io-wq workers so several gets copy on several CPUs.
//!
//! Files: `dirs.rs` (placement, durable directories, group fsync), `put.rs`, `get.rs`, `ring.rs` (the ring
//! thread), `group.rs` (shared fsyncs).
//!
//! Durability: `put` returns only after the data is fdatasynced and every directory entry the
//! blob depends on (its own, and a fan-out directory's if that may be new) was synced after it was created.

mod dirs;
mod get;
mod group;
mod put;
mod ring;

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;

use self::dirs::DurableDirs;
use self::get::read_stream;
use self::group::GroupSync;
use self::ring::{Done, Features, Op, Ring};
use crate::buf::AlignedBuf;
use crate::direct::DirectIo;
use crate::locator::{self, check, resolve_range};
use crate::std_backend::{WRITE_CHUNK, blocking, fill, no_mem};
use crate::{Backend, BlobEntry, BlobInfo, ByteStream};

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
    /// Whether large puts use `O_DIRECT` (see [`crate::direct`]).
    direct: DirectIo,
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

impl UringBackend {
    /// Opens (creating if needed) a blob store rooted at `root`, writing large blobs with `O_DIRECT` where
    /// the filesystem allows it; fails if io_uring is unavailable.
    pub async fn open(root: &Path) -> io::Result<Self> {
        Self::open_with(root, true).await
    }

    /// Like [`open`](Self::open); `direct: false` writes every blob through the page cache.
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
                direct: DirectIo::new(direct),
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

fn take_fd(d: &mut Done) -> io::Result<OwnedFd> {
    d.result()?;
    d.fd.take()
        .ok_or_else(|| io::Error::other("open returned no descriptor"))
}

#[async_trait::async_trait]
impl Backend for UringBackend {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn direct_io(&self) -> bool {
        self.inner.direct.enabled()
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

    /// Read with `preadv2` rather than through the ring: the processing (decryption) should run on the
    /// thread that just read the bytes, right before they are sent, and the ring's reads complete on io-wq
    /// workers, ahead of the consumer.
    async fn get_processed(
        &self,
        locator: &str,
        range: (u64, u64),
        pieces: crate::Pieces,
        process: Box<dyn crate::Process>,
    ) -> io::Result<ByteStream> {
        crate::processed::get_local(&self.inner.root, locator, range, pieces, process).await
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
