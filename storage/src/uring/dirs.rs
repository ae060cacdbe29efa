//! Placement of new blobs in the fan-out directories, and making those directories' entries durable: which
//! leaf a new blob goes to, which directories are known durable, creating the next leaf ahead of time, and
//! (group) directory fsyncs.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ring::{Chain, Op};
use super::{Inner, cpath, take_fd};
use crate::locator::new_locator_in;

/// Consecutive puts placed in the same fan-out leaf directory before moving to the next one.
const PUTS_PER_LEAF: u64 = 64;
/// Step through the 65536 leaves (odd, so every leaf is visited once per cycle).
pub(super) const LEAF_STEP: u64 = 40_503;

type IoFuture<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;

/// Bitmaps of fan-out directories whose entries are known durable.
#[derive(Debug)]
pub(super) struct DurableDirs {
    pub(super) top: [AtomicU64; 4],
    pub(super) leaf: Box<[AtomicU64]>,
}

impl DurableDirs {
    pub(super) fn new() -> Self {
        Self {
            top: Default::default(),
            leaf: (0..1024).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(super) fn get(words: &[AtomicU64], i: usize) -> bool {
        words
            .get(i / 64)
            .is_some_and(|w| w.load(Ordering::Acquire) & (1 << (i % 64)) != 0)
    }

    pub(super) fn set(words: &[AtomicU64], i: usize, on: bool) {
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
pub(super) fn dir_indexes(locator: &str) -> (usize, usize) {
    let hex = |s: &str| usize::from_str_radix(s, 16).unwrap_or(0);
    let top = hex(&locator[..2]);
    (top, (top << 8) | hex(&locator[3..5]))
}

/// Which directory entries a new blob's durability depends on besides its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NewDirs {
    /// The leaf directory may be new: its entry in the top directory must be synced.
    pub(super) leaf: bool,
    /// The top directory may be new too: its entry in the root must be synced.
    pub(super) top: bool,
}

impl Inner {
    /// The placement leaf of the `n`-th group of puts.
    pub(super) fn leaf_of(&self, n: u64) -> u16 {
        self.leaf_start.wrapping_add(n.wrapping_mul(LEAF_STEP)) as u16
    }

    /// A locator for a new blob in the current placement leaf. The first put into a leaf also starts making
    /// the next leaf (and its durable entry) in the background, so puts rarely wait for a `mkdir`.
    pub(super) fn new_locator(self: &Arc<Self>) -> String {
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
    pub(super) fn new_dirs(&self, locator: &str) -> NewDirs {
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

    /// fsync of a directory (`rel` to the root; `""` is the root), shared with concurrent callers. `fd` is
    /// an open descriptor of it if the caller has one.
    pub(super) async fn sync_dir(&self, rel: &str, fd: Option<Arc<OwnedFd>>) -> io::Result<()> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uring::{UringBackend, io_uring_available};
    use crate::{Backend as _, ByteStream};
    use bytes::Bytes;
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
