//! Access keys of IAM users (and of the account root) as the IAM API manages them.

use sqlx::any::AnyRow;

use super::*;
use crate::AccessKey;
use crate::store::is_unique_violation;

const KEY_COLS: &str = "access_key_id, secret_sealed, account_id, user_name, status, created_ms";

fn key_row(row: &AnyRow) -> Result<AccessKey, MetaError> {
    Ok(AccessKey {
        access_key_id: get(row, "access_key_id")?,
        secret_sealed: get(row, "secret_sealed")?,
        account_id: get(row, "account_id")?,
        user_name: get(row, "user_name")?,
        status: get(row, "status")?,
        created_ms: get(row, "created_ms")?,
    })
}

/// What GetAccessKeyLastUsed reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyLastUsed {
    /// The key's user; `None` for a root key.
    pub user_name: Option<String>,
    pub last_used_ms: Option<i64>,
    pub service: Option<String>,
    pub region: Option<String>,
}

fn no_such_key(id: &str) -> IamDbError {
    IamDbError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))
}

impl Meta {
    /// Stores a new access key of user `user_name` (its stored spelling is used), or of the account root
    /// (`None`): `NoSuchEntity` without the user, `LimitExceeded` when it already has two keys (counted
    /// inside the transaction, under the user's row lock). Returns the stored key.
    pub async fn create_iam_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        secret_sealed: &[u8],
        created_ms: i64,
    ) -> IamResult<AccessKey> {
        let mut tx = self.iam_begin().await?;
        let stored = match user_name {
            Some(n) => Some(
                self.entity_in(&mut tx, EntityKind::User, account_id, n, true)
                    .await?
                    .1,
            ),
            None => {
                // Root keys: serialise on the account row.
                let sql = format!("SELECT id FROM accounts WHERE id = $1{}", self.for_update());
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                None
            }
        };
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_keys WHERE account_id = $1 \
             AND ((user_name IS NULL AND $2 IS NULL) OR user_name = $2)",
        )
        .bind(account_id)
        .bind(stored.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        if count(&row)? >= MAX_ACCESS_KEYS {
            return Err(IamDbError::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}"
            )));
        }
        let key = AccessKey {
            access_key_id: access_key_id.to_string(),
            secret_sealed: secret_sealed.to_vec(),
            account_id: account_id.to_string(),
            user_name: stored,
            status: "Active".into(),
            created_ms,
        };
        let res = sqlx::query(
            "INSERT INTO access_keys (access_key_id, secret_sealed, account_id, user_name, status, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.access_key_id)
        .bind(key.secret_sealed.as_slice())
        .bind(&key.account_id)
        .bind(key.user_name.as_deref())
        .bind(&key.status)
        .bind(key.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(IamDbError::AlreadyExists(format!(
                    "Access key {access_key_id} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.iam_commit(tx, account_id).await?;
        Ok(key)
    }

    /// The access keys of a user (`NoSuchEntity` without it) or of the root (`None`), oldest first.
    pub async fn list_iam_access_keys(
        &self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> IamResult<Vec<AccessKey>> {
        let stored = match user_name {
            Some(n) => Some(
                self.get_iam_user(account_id, n)
                    .await?
                    .ok_or_else(|| no_such(EntityKind::User, n))?
                    .name,
            ),
            None => None,
        };
        let sql = format!(
            "SELECT {KEY_COLS} FROM access_keys WHERE account_id = $1 \
             AND ((user_name IS NULL AND $2 IS NULL) OR user_name = $2) ORDER BY created_ms, access_key_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(stored.as_deref())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(key_row).collect::<Result<Vec<_>, _>>()?)
    }

    /// The key `access_key_id` of this user (or root), or `NoSuchEntity`, inside `tx`.
    async fn owned_key_in(
        &self,
        tx: &mut Tx,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> IamResult<AccessKey> {
        let stored = match user_name {
            Some(n) => Some(
                self.entity_in(tx, EntityKind::User, account_id, n, true)
                    .await?
                    .1,
            ),
            None => None,
        };
        let sql = format!(
            "SELECT {KEY_COLS} FROM access_keys WHERE access_key_id = $1 AND account_id = $2 \
             AND ((user_name IS NULL AND $3 IS NULL) OR user_name = $3){}",
            self.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(access_key_id)
            .bind(account_id)
            .bind(stored.as_deref())
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(r) => Ok(key_row(&r)?),
            None => Err(no_such_key(access_key_id)),
        }
    }

    /// Sets a key's status ("Active" / "Inactive").
    pub async fn update_iam_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        status: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        self.owned_key_in(&mut tx, account_id, user_name, access_key_id)
            .await?;
        sqlx::query("UPDATE access_keys SET status = $1 WHERE access_key_id = $2")
            .bind(status)
            .bind(access_key_id)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// Deletes a key of this user (or root).
    pub async fn delete_iam_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        self.owned_key_in(&mut tx, account_id, user_name, access_key_id)
            .await?;
        sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1")
            .bind(access_key_id)
            .execute(&mut *tx)
            .await?;
        self.iam_commit(tx, account_id).await
    }

    /// GetAccessKeyLastUsed for a key of `account_id` (`None` when the account has no such key).
    pub async fn iam_access_key_last_used(
        &self,
        account_id: &str,
        access_key_id: &str,
    ) -> IamResult<Option<AccessKeyLastUsed>> {
        let row = sqlx::query(
            "SELECT user_name, last_used_ms, last_used_service, last_used_region FROM access_keys \
             WHERE access_key_id = $1 AND account_id = $2",
        )
        .bind(access_key_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(AccessKeyLastUsed {
            user_name: get(&r, "user_name")?,
            last_used_ms: get(&r, "last_used_ms")?,
            service: get(&r, "last_used_service")?,
            region: get(&r, "last_used_region")?,
        }))
    }

    /// Records a use of a key (service as IAM names it, e.g. "s3"; region). Not an IAM change: no
    /// version bump. Callers rate-limit it (AWS's last-used data is itself approximate).
    pub async fn record_access_key_use(
        &self,
        access_key_id: &str,
        at_ms: i64,
        service: &str,
        region: &str,
    ) -> Result<(), MetaError> {
        sqlx::query(
            "UPDATE access_keys SET last_used_ms = $1, last_used_service = $2, last_used_region = $3 \
             WHERE access_key_id = $4",
        )
        .bind(at_ms)
        .bind(service)
        .bind(region)
        .bind(access_key_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
