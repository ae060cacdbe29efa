//! Per-bucket settings (tagging now; CORS, policy and the like later): one row per (bucket, name), the value
//! an opaque string (usually JSON) owned by the caller. Rows go with their bucket (`ON DELETE CASCADE`).

use crate::store::is_fk_violation;
use crate::*;

impl Meta {
    /// The value of setting `name` of `bucket`, if set.
    pub async fn get_bucket_setting(&self, bucket: &str, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM bucket_settings WHERE bucket = $1 AND name = $2")
            .bind(bucket)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| crate::store::get(r, "value"))
            .transpose()
    }

    /// The bucket named `name` together with its setting `setting`, in one read (the request path loads the
    /// bucket and its versioning state this way).
    pub async fn get_bucket_with_setting(
        &self,
        name: &str,
        setting: &str,
    ) -> Result<Option<(Bucket, Option<String>)>> {
        let Some(cache) = &self.bucket_cache else {
            return self.read_bucket_with_setting(name, setting).await;
        };
        let generation = match cache.get(name, setting) {
            Ok(hit) => return Ok(hit),
            Err(generation) => generation,
        };
        let found = self.read_bucket_with_setting(name, setting).await?;
        cache.store(generation, name, setting, &found);
        Ok(found)
    }

    /// `get_bucket_with_setting` from the database.
    async fn read_bucket_with_setting(
        &self,
        name: &str,
        setting: &str,
    ) -> Result<Option<(Bucket, Option<String>)>> {
        let row = sqlx::query(
            "SELECT b.name AS name, b.owner_account_id AS owner_account_id, b.region AS region, \
             b.created_ms AS created_ms, s.value AS value FROM buckets b \
             LEFT JOIN bucket_settings s ON s.bucket = b.name AND s.name = $2 WHERE b.name = $1",
        )
        .bind(name)
        .bind(setting)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((
            crate::buckets::bucket_from_row(&row)?,
            crate::store::get(&row, "value")?,
        )))
    }

    /// Sets (creates or replaces) setting `name` of `bucket`; `NoSuchBucket` if the bucket is gone.
    pub async fn put_bucket_setting(&self, bucket: &str, name: &str, value: &str) -> Result<()> {
        let (bucket, name, value) = (bucket.to_owned(), name.to_owned(), value.to_owned());
        self.bucket_write(move |m| async move { m.put_setting_now(&bucket, &name, &value).await })
            .await
    }

    async fn put_setting_now(&self, bucket: &str, name: &str, value: &str) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO bucket_settings (bucket, name, value) VALUES ($1, $2, $3) \
             ON CONFLICT (bucket, name) DO UPDATE SET value = excluded.value",
        )
        .bind(bucket)
        .bind(name)
        .bind(value)
        .execute(&self.writer)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchBucket),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes setting `name` of `bucket`; `true` if it was set.
    pub async fn delete_bucket_setting(&self, bucket: &str, name: &str) -> Result<bool> {
        let (bucket, name) = (bucket.to_owned(), name.to_owned());
        self.bucket_write(move |m| async move { m.delete_setting_now(&bucket, &name).await })
            .await
    }

    async fn delete_setting_now(&self, bucket: &str, name: &str) -> Result<bool> {
        let res = sqlx::query("DELETE FROM bucket_settings WHERE bucket = $1 AND name = $2")
            .bind(bucket)
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(res.rows_affected() > 0)
    }
}
