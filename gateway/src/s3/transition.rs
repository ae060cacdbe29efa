//! Lifecycle transitions: the bytes of a version move to another storage class's backend.
//!
//! Order (crash-safe at every step): copy each blob as it is stored (ciphertext of SSE objects unchanged: the
//! envelope does not depend on where its bytes live) into new blobs of the target class, durable on return;
//! switch the row in one transaction, only if the version is still the one listed
//! (`Meta::transition_version`); then free the old blobs. A crash before the switch leaves the new blobs as
//! orphans, after it the old ones; the orphan sweep deletes those. The row never names a missing blob.

use std::sync::Arc;

use gatehouse_meta::{ObjectRecord, Segment};

use super::delete_blobs;
use crate::state::AppState;

/// Moves `listed` (a version as the worker listed it) to `class`; `true` if it moved, `false` if the version
/// changed or went meanwhile (nothing moved, the copies freed).
pub(crate) async fn transition(
    state: &Arc<AppState>,
    listed: &ObjectRecord,
    class: &str,
) -> anyhow::Result<bool> {
    let mut written: Vec<Segment> = Vec::new();
    let copied = copy_blobs(state, listed, class, &mut written).await;
    if let Err(e) = copied {
        delete_blobs(state, written.into_iter().map(|s| s.locator).collect());
        return Err(e);
    }
    match state.meta.transition_version(listed, class, &written).await {
        Ok(true) => {
            delete_blobs(
                state,
                listed.segments.iter().map(|s| s.locator.clone()).collect(),
            );
            tracing::debug!(bucket = %listed.bucket, key = %listed.key, version = %listed.version_id,
                class, "lifecycle transition");
            Ok(true)
        }
        Ok(false) => {
            delete_blobs(state, written.into_iter().map(|s| s.locator).collect());
            Ok(false)
        }
        // Whether the switch committed is unknown: the new blobs stay (the sweep frees them if unreferenced).
        Err(e) => Err(e.into()),
    }
}

/// Copies the version's blobs (or its inline bytes) into `class`, pushing each new segment to `out`.
async fn copy_blobs(
    state: &Arc<AppState>,
    listed: &ObjectRecord,
    class: &str,
    out: &mut Vec<Segment>,
) -> anyhow::Result<()> {
    if listed.segments.is_empty() {
        // Kept inline in the index: its bytes (sealed, for SSE) become the class's blob.
        let inline = state
            .meta
            .get_version(&listed.bucket, &listed.key, &listed.version_id)
            .await?
            .and_then(|r| r.inline_data)
            .unwrap_or_default();
        let body: gatehouse_storage::ByteStream = Box::pin(futures::stream::once(async move {
            Ok(bytes::Bytes::from(inline))
        }));
        let b = state.storage.put_in(class, body).await?;
        out.push(Segment {
            locator: b.locator,
            size: listed.size,
            etag: None,
            checksums: None,
        });
        return Ok(());
    }
    for s in &listed.segments {
        let stream = state.storage.get(&s.locator, None).await?;
        let b = state.storage.put_in(class, stream).await?;
        out.push(Segment {
            locator: b.locator,
            ..s.clone()
        });
    }
    Ok(())
}
