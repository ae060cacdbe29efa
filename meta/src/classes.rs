//! Storage classes in the index: a lifecycle transition switches a version's class and blobs in one
//! transaction, only if the version is still the one the worker listed; RestoreObject's state of versions in
//! archive classes (table `object_restores`, migration 0013).
//!
//! Crash safety of a transition: the new blobs are written (durable) before `transition_version` commits, and
//! the old ones are freed only after it did. A crash before the commit leaves the new blobs unreferenced, a
//! crash after it the old ones: orphans either way, which the orphan sweep deletes; the row always names
//! blobs that exist.

use crate::objects::commit;
use crate::*;

/// What a RestoreObject request found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// A restore was started (none was in progress or current).
    Started,
    /// The version was already restored: its restored copy's expiry was set again.
    Extended,
    /// A restore is in progress: nothing changed.
    InProgress,
    /// No such version (or a delete marker).
    Missing,
}

impl Meta {
    /// Switches `listed` (a version as the lifecycle worker listed it) to storage class `class` with `segments`
    /// (blobs already written in that class; the inline bytes, if any, go), if the row still holds exactly
    /// that version: same ETag, modification time, class and blobs, and not a delete marker. `false`, with
    /// nothing changed, otherwise. The caller frees the old blobs after `true`, the new ones after `false`.
    pub async fn transition_version(
        &self,
        listed: &ObjectRecord,
        class: &str,
        segments: &[Segment],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some((cur, _)) = self
            .select_version(&mut tx, &listed.bucket, &listed.key, &listed.version_id)
            .await?
        else {
            return Ok(false);
        };
        let same = !cur.delete_marker
            && cur.etag == listed.etag
            && cur.last_modified_ms == listed.last_modified_ms
            && cur.storage_class == listed.storage_class
            && cur.segments == listed.segments;
        if !same {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE objects SET storage_class = $4, segments = $5, inline_data = NULL \
             WHERE bucket = $1 AND key = $2 AND version_id = $3",
        )
        .bind(&cur.bucket)
        .bind(&cur.key)
        .bind(&cur.version_id)
        .bind(class)
        .bind(crate::store::to_json(&segments)?)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM object_blobs WHERE bucket = $1 AND key = $2 AND version_id = $3")
            .bind(&cur.bucket)
            .bind(&cur.key)
            .bind(&cur.version_id)
            .execute(&mut *tx)
            .await?;
        for seg in segments {
            sqlx::query(
                "INSERT INTO object_blobs (bucket, key, version_id, locator) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&cur.bucket)
            .bind(&cur.key)
            .bind(&cur.version_id)
            .bind(&seg.locator)
            .execute(&mut *tx)
            .await?;
        }
        commit(tx).await?;
        Ok(true)
    }

    /// The restore of a version: (readable from, readable until), in ms.
    pub async fn get_restore(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT ready_ms, expiry_ms FROM object_restores \
             WHERE bucket = $1 AND key = $2 AND version_id = $3",
        )
        .bind(bucket)
        .bind(key)
        .bind(version_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                crate::store::get(&r, "ready_ms")?,
                crate::store::get(&r, "expiry_ms")?,
            ))
        })
        .transpose()
    }

    /// RestoreObject at `now_ms`, in one transaction: a restore in progress (`now_ms` before its ready time) is
    /// left alone; a current restored copy gets the expiry `expiry_of(now_ms)`; otherwise (none, or an expired
    /// one) a restore starts, ready at `ready_ms` and expiring at `expiry_of(ready_ms)`.
    pub async fn request_restore(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        now_ms: i64,
        ready_ms: i64,
        expiry_of: &(dyn Fn(i64) -> i64 + Send + Sync),
    ) -> Result<RestoreOutcome> {
        let mut tx = self.begin_write().await?;
        match self
            .select_version(&mut tx, bucket, key, version_id)
            .await?
        {
            Some((v, _)) if !v.delete_marker => {}
            _ => return Ok(RestoreOutcome::Missing),
        }
        let sql = format!(
            "SELECT ready_ms, expiry_ms FROM object_restores \
             WHERE bucket = $1 AND key = $2 AND version_id = $3{}",
            self.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bucket)
            .bind(key)
            .bind(version_id)
            .fetch_optional(&mut *tx)
            .await?;
        let existing: Option<(i64, i64)> = row
            .map(|r| {
                Ok::<_, MetaError>((
                    crate::store::get(&r, "ready_ms")?,
                    crate::store::get(&r, "expiry_ms")?,
                ))
            })
            .transpose()?;
        let (outcome, ready, expiry) = match existing {
            Some((ready, _)) if now_ms < ready => return Ok(RestoreOutcome::InProgress),
            Some((ready, expiry)) if now_ms < expiry => {
                (RestoreOutcome::Extended, ready, expiry_of(now_ms))
            }
            _ => (RestoreOutcome::Started, ready_ms, expiry_of(ready_ms)),
        };
        sqlx::query(
            "INSERT INTO object_restores (bucket, key, version_id, ready_ms, expiry_ms) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (bucket, key, version_id) DO UPDATE SET ready_ms = excluded.ready_ms, \
             expiry_ms = excluded.expiry_ms",
        )
        .bind(bucket)
        .bind(key)
        .bind(version_id)
        .bind(ready)
        .bind(expiry)
        .execute(&mut *tx)
        .await?;
        commit(tx).await?;
        Ok(outcome)
    }
}
