//! The global bucket registry.

use sqlx::any::AnyRow;

use crate::store::{get, is_fk_violation, is_unique_violation};
use crate::*;

const BUCKET_COLS: &str = "name, owner_account_id, region, created_ms";

pub(crate) fn bucket_from_row(row: &AnyRow) -> Result<Bucket> {
    Ok(Bucket {
        name: get(row, "name")?,
        owner_account_id: get(row, "owner_account_id")?,
        region: get(row, "region")?,
        created_ms: get(row, "created_ms")?,
    })
}

impl Meta {
    /// Registers a bucket; `BucketExists { owner }` if the name is taken (by anyone).
    pub async fn create_bucket(&self, bucket: &Bucket) -> Result<()> {
        let bucket = bucket.clone();
        self.bucket_write(move |m| async move { m.create_bucket_now(&bucket).await })
            .await
    }

    async fn create_bucket_now(&self, bucket: &Bucket) -> Result<()> {
        // The owner lookup after a unique violation can race with a delete; retry a few times.
        for _ in 0..5 {
            let res = sqlx::query(
                "INSERT INTO buckets (name, owner_account_id, region, created_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(&bucket.name)
            .bind(&bucket.owner_account_id)
            .bind(&bucket.region)
            .bind(bucket.created_ms)
            .execute(&self.writer)
            .await;
            match res {
                Ok(_) => return Ok(()),
                Err(e) if is_unique_violation(&e) => {
                    if let Some(b) = self.get_bucket(&bucket.name).await? {
                        return Err(MetaError::BucketExists {
                            owner_account_id: b.owner_account_id,
                        });
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(MetaError::Corrupt(format!(
            "bucket {} flapping between created and deleted",
            bucket.name
        )))
    }

    /// The bucket named `name`.
    pub async fn get_bucket(&self, name: &str) -> Result<Option<Bucket>> {
        let sql = format!("SELECT {BUCKET_COLS} FROM buckets WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(bucket_from_row).transpose()
    }

    /// Buckets owned by the account, ordered by name.
    pub async fn list_buckets(&self, owner_account_id: &str) -> Result<Vec<Bucket>> {
        let sql =
            format!("SELECT {BUCKET_COLS} FROM buckets WHERE owner_account_id = $1 ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner_account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(bucket_from_row).collect()
    }

    /// Deletes an empty bucket: `BucketNotEmpty` if it holds any object or in-progress upload,
    /// `NoSuchBucket` if absent. Atomic with respect to concurrent writes into the bucket.
    pub async fn delete_bucket(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.bucket_write(move |m| async move { m.delete_bucket_now(&name).await })
            .await
    }

    async fn delete_bucket_now(&self, name: &str) -> Result<()> {
        // Objects and uploads reference buckets(name): on Postgres a concurrent insert holds a key-share
        // lock on the bucket row, so our DELETE waits for it and then fails the foreign-key check (mapped to
        // BucketNotEmpty); an insert after our commit fails its own check (NoSuchBucket). On SQLite the
        // write transaction excludes every other writer.
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT name FROM buckets WHERE name = $1{}",
            self.for_update()
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(MetaError::NoSuchBucket);
        }
        let busy = sqlx::query(
            "SELECT 1 AS x FROM objects WHERE bucket = $1 \
             UNION ALL SELECT 1 AS x FROM uploads WHERE bucket = $1 LIMIT 1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        if busy.is_some() {
            return Err(MetaError::BucketNotEmpty);
        }
        match sqlx::query("DELETE FROM buckets WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
        {
            Ok(r) if r.rows_affected() == 0 => return Err(MetaError::NoSuchBucket),
            Ok(_) => {}
            Err(e) if is_fk_violation(&e) => return Err(MetaError::BucketNotEmpty),
            Err(e) => return Err(e.into()),
        }
        match tx.commit().await {
            Ok(()) => Ok(()),
            Err(e) if is_fk_violation(&e) => Err(MetaError::BucketNotEmpty),
            Err(e) => Err(e.into()),
        }
    }
}
