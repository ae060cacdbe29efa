//! Orphan sweep: blobs that no index row references (a crash between `put` and the index commit, an
//! abandoned upload) are deleted once they are old enough that no in-progress write can still commit them.

use std::future::Future;
use std::io;
use std::time::{Duration, SystemTime};

use crate::Backend;

/// Deletes every blob last modified more than `older_than` ago for which `is_referenced(locator)` answers
/// `false`; returns how many were deleted. Young blobs are never asked about: they may belong to a put whose
/// index row is not committed yet. An error from `is_referenced` or a delete stops the sweep.
pub async fn sweep_orphans<F, Fut>(
    backend: &dyn Backend,
    older_than: Duration,
    is_referenced: F,
) -> io::Result<usize>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = io::Result<bool>>,
{
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut deleted = 0;
    for entry in backend.list().await? {
        if entry.modified >= cutoff {
            continue;
        }
        if !is_referenced(entry.locator.clone()).await? {
            backend.delete(&entry.locator).await?;
            tracing::info!(backend = backend.name(), locator = %entry.locator, "deleted orphan blob");
            deleted += 1;
        }
    }
    Ok(deleted)
}
