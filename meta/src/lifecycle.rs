//! Lifecycle worker support: which buckets have a lifecycle configuration, and per-bucket leases so that one
//! gateway at a time (of several sharing a Postgres) applies a bucket's rules, resuming where the last pass
//! stopped. A lease is held until `expires_ms`; its holder renews it, anyone may take it once expired, so a
//! gateway that dies mid-pass delays its buckets by at most one lease period and another resumes at the cursor.

use crate::store::{get, is_fk_violation};
use crate::*;

impl Meta {
    /// Every bucket with the bucket setting `name` (the lifecycle configuration), with its value.
    pub async fn buckets_with_setting(&self, name: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT bucket, value FROM bucket_settings WHERE name = $1 ORDER BY bucket",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((get(r, "bucket")?, get(r, "value")?)))
            .collect()
    }

    /// Takes (or, if `owner` holds it, renews) the lifecycle lease of `bucket` until `until_ms`, if it is free
    /// or expired at `now_ms`. `None` if another holds it (or the bucket is gone); else the cursor: the last
    /// key the previous pass finished (`None`: start from the beginning).
    pub async fn take_lifecycle_lease(
        &self,
        bucket: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<Option<String>>> {
        let res = sqlx::query(
            "INSERT INTO lifecycle_leases (bucket, owner, expires_ms, cursor) VALUES ($1, $2, $3, NULL) \
             ON CONFLICT (bucket) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms \
             WHERE lifecycle_leases.owner = $2 OR lifecycle_leases.expires_ms <= $4",
        )
        .bind(bucket)
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms)
        .execute(&self.writer)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => return Ok(None),
            Ok(_) => {}
            Err(e) if is_fk_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let row =
            sqlx::query("SELECT cursor FROM lifecycle_leases WHERE bucket = $1 AND owner = $2")
                .bind(bucket)
                .bind(owner)
                .fetch_optional(&self.writer)
                .await?;
        match row {
            Some(r) => Ok(Some(get(&r, "cursor")?)),
            None => Ok(None),
        }
    }

    /// Records how far `owner`'s pass over `bucket` got (`None`: the bucket is done, start over next time), if
    /// `owner` still holds the lease; `false` if it lost it.
    pub async fn set_lifecycle_cursor(
        &self,
        bucket: &str,
        owner: &str,
        cursor: Option<&str>,
    ) -> Result<bool> {
        let res =
            sqlx::query("UPDATE lifecycle_leases SET cursor = $3 WHERE bucket = $1 AND owner = $2")
                .bind(bucket)
                .bind(owner)
                .bind(cursor)
                .execute(&self.writer)
                .await?;
        Ok(res.rows_affected() > 0)
    }
}
