//! What access control reads and writes: a bucket with all its settings in one read (the authoriser's bucket
//! context), object and upload ACLs, account-level settings, and the bucket generation counter that lets a
//! cache above `meta` know its entries are older than a change made through this process.

use std::sync::atomic::Ordering;

use crate::store::{get, is_fk_violation};
use crate::*;

/// A bucket with every setting it has and its owner's identity, as one read returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRecord {
    pub bucket: Bucket,
    /// The owner account's canonical id (empty if the account row is gone).
    pub owner_canonical_id: String,
    /// The owner account's display name.
    pub owner_display_name: String,
    /// Bucket settings by name (`versioning`, `policy`, `acl`, `ownership`, `public-access-block`, ...).
    pub settings: BTreeMap<String, String>,
    /// The owner account's settings by name (`public-access-block`).
    pub account_settings: BTreeMap<String, String>,
}

impl BucketRecord {
    /// A bucket setting.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }
}

impl Meta {
    /// A counter bumped before and after every change of buckets or bucket settings made through this
    /// process: a cache entry read while it had another value may predate such a change.
    pub fn bucket_generation(&self) -> u64 {
        self.bucket_generation.load(Ordering::SeqCst)
    }

    /// The bucket `name` with all its settings, its owner's identity and its owner account's settings, in one
    /// query (never cached here: the caller caches what it derives from it).
    pub async fn bucket_record(&self, name: &str) -> Result<Option<BucketRecord>> {
        let rows = sqlx::query(
            "SELECT b.name AS name, b.owner_account_id AS owner_account_id, b.region AS region, \
             b.created_ms AS created_ms, a.canonical_id AS canonical_id, a.display_name AS display_name, \
             s.scope AS scope, s.sname AS sname, s.svalue AS svalue \
             FROM buckets b LEFT JOIN accounts a ON a.id = b.owner_account_id \
             LEFT JOIN (SELECT 'b' AS scope, bucket AS sbucket, name AS sname, value AS svalue \
                        FROM bucket_settings WHERE bucket = $1 \
                        UNION ALL SELECT 'a', CAST($1 AS TEXT), x.name, x.value FROM account_settings x \
                        JOIN buckets ob ON ob.owner_account_id = x.account_id WHERE ob.name = $1) s \
               ON s.sbucket = b.name \
             WHERE b.name = $1",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut rec = BucketRecord {
            bucket: crate::buckets::bucket_from_row(first)?,
            owner_canonical_id: get::<Option<String>>(first, "canonical_id")?.unwrap_or_default(),
            owner_display_name: get::<Option<String>>(first, "display_name")?.unwrap_or_default(),
            settings: BTreeMap::new(),
            account_settings: BTreeMap::new(),
        };
        for row in &rows {
            let (Some(scope), Some(n), Some(v)) = (
                get::<Option<String>>(row, "scope")?,
                get::<Option<String>>(row, "sname")?,
                get::<Option<String>>(row, "svalue")?,
            ) else {
                continue;
            };
            if scope == "a" {
                rec.account_settings.insert(n, v);
            } else {
                rec.settings.insert(n, v);
            }
        }
        Ok(Some(rec))
    }

    /// Creates a bucket together with its initial settings (ownership, ACL, Block Public Access), in one
    /// transaction; `BucketExists { owner }` if the name is taken.
    pub async fn create_bucket_with_settings(
        &self,
        bucket: &Bucket,
        settings: &[(String, String)],
    ) -> Result<()> {
        let (bucket, settings) = (bucket.clone(), settings.to_vec());
        self.bucket_write(move |m| async move {
            let mut tx = m.writer.begin().await?;
            let res = sqlx::query(
                "INSERT INTO buckets (name, owner_account_id, region, created_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(&bucket.name)
            .bind(&bucket.owner_account_id)
            .bind(&bucket.region)
            .bind(bucket.created_ms)
            .execute(&mut *tx)
            .await;
            match res {
                Ok(_) => {}
                Err(e) if crate::store::is_unique_violation(&e) => {
                    drop(tx);
                    let owner = m
                        .get_bucket(&bucket.name)
                        .await?
                        .map(|b| b.owner_account_id)
                        .unwrap_or_default();
                    return Err(MetaError::BucketExists {
                        owner_account_id: owner,
                    });
                }
                Err(e) => return Err(e.into()),
            }
            for (n, v) in &settings {
                sqlx::query("INSERT INTO bucket_settings (bucket, name, value) VALUES ($1, $2, $3)")
                    .bind(&bucket.name)
                    .bind(n)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    /// The ACL (JSON, the caller's format) of one object version, if it has one.
    pub async fn object_acl(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT acl FROM object_acls WHERE bucket = $1 AND key = $2 AND version_id = $3",
        )
        .bind(bucket)
        .bind(key)
        .bind(version_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| get(r, "acl")).transpose()
    }

    /// Sets (or with `None` removes) the ACL of one object version; `NoSuchKey` if the version is gone.
    pub async fn put_object_acl(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        acl: Option<&str>,
    ) -> Result<()> {
        let res = match acl {
            Some(acl) => sqlx::query(
                "INSERT INTO object_acls (bucket, key, version_id, acl) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (bucket, key, version_id) DO UPDATE SET acl = excluded.acl",
            )
            .bind(bucket)
            .bind(key)
            .bind(version_id)
            .bind(acl)
            .execute(&self.writer)
            .await,
            None => {
                sqlx::query(
                    "DELETE FROM object_acls WHERE bucket = $1 AND key = $2 AND version_id = $3",
                )
                .bind(bucket)
                .bind(key)
                .bind(version_id)
                .execute(&self.writer)
                .await
            }
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchKey),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the ACL a multipart upload was created with (applied by CompleteMultipartUpload).
    pub async fn set_upload_acl(&self, upload_id: &str, acl: &str) -> Result<()> {
        sqlx::query("UPDATE uploads SET acl = $2 WHERE upload_id = $1")
            .bind(upload_id)
            .bind(acl)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The ACL a multipart upload was created with, if any.
    pub async fn upload_acl(&self, upload_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT acl FROM uploads WHERE upload_id = $1")
            .bind(upload_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .as_ref()
            .map(|r| get::<Option<String>>(r, "acl"))
            .transpose()?
            .flatten())
    }

    /// Whether the IAM user or role named by an ARN's resource part (`user/PATH/NAME`, `role/NAME`) exists
    /// in `account_id` (names compare case-insensitively, as IAM's do; the path must match).
    pub async fn iam_principal_exists(&self, account_id: &str, resource: &str) -> Result<bool> {
        let (table, rest) = match resource.split_once('/') {
            Some(("user", rest)) => ("iam_users", rest),
            Some(("role", rest)) => ("iam_roles", rest),
            _ => return Ok(false),
        };
        let (path, name) = match rest.rsplit_once('/') {
            Some((p, n)) => (format!("/{p}/"), n),
            None => ("/".to_owned(), rest),
        };
        let sql = format!(
            "SELECT 1 AS one FROM {table} WHERE account_id = $1 AND name_lower = $2 AND path = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(name.to_lowercase())
            .bind(path)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// An account-level setting.
    pub async fn account_setting(&self, account_id: &str, name: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT value FROM account_settings WHERE account_id = $1 AND name = $2")
                .bind(account_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(|r| get(r, "value")).transpose()
    }

    /// Sets (or with `None` removes) an account-level setting; `NoSuchAccount` if the account does not exist.
    pub async fn put_account_setting(
        &self,
        account_id: &str,
        name: &str,
        value: Option<&str>,
    ) -> Result<()> {
        let res =
            match value {
                Some(v) => sqlx::query(
                    "INSERT INTO account_settings (account_id, name, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id, name) DO UPDATE SET value = excluded.value",
                )
                .bind(account_id)
                .bind(name)
                .bind(v)
                .execute(&self.writer)
                .await,
                None => {
                    sqlx::query("DELETE FROM account_settings WHERE account_id = $1 AND name = $2")
                        .bind(account_id)
                        .bind(name)
                        .execute(&self.writer)
                        .await
                }
            };
        self.bucket_generation.fetch_add(1, Ordering::SeqCst);
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchAccount),
            Err(e) => Err(e.into()),
        }
    }
}
