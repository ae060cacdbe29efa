//! Keys of the local KMS backend (`gatehouse_kms::local`): key rows, key versions (material sealed by the
//! server keyring: meta never sees it in clear) and per-account aliases.
//!
//! Nothing here is cached: several gateways share one Postgres, and a key's state, newest version and aliases
//! change under them. Only a version's material is immutable (the caller may cache that).

use sqlx::any::AnyRow;

use crate::store::{get, is_fk_violation, is_unique_violation};
use crate::*;

/// A local KMS key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyRow {
    pub key_id: String,
    /// The owning account.
    pub account_id: String,
    pub description: String,
    /// "Enabled" or "Disabled".
    pub state: String,
    pub created_ms: i64,
    /// The newest version (highest number); 0 only for a key written without versions.
    pub current_version: i64,
}

/// An alias of a local KMS key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsAliasRow {
    pub account_id: String,
    /// Without the `alias/` prefix.
    pub alias: String,
    pub key_id: String,
    pub created_ms: i64,
}

const KEY_SELECT: &str = "SELECT k.key_id AS key_id, k.account_id AS account_id, \
     k.description AS description, k.state AS state, k.created_ms AS created_ms, \
     COALESCE((SELECT MAX(v.version) FROM kms_key_versions v WHERE v.key_id = k.key_id), 0) \
     AS current_version FROM kms_keys k";

fn key_from_row(row: &AnyRow) -> Result<KmsKeyRow> {
    Ok(KmsKeyRow {
        key_id: get(row, "key_id")?,
        account_id: get(row, "account_id")?,
        description: get(row, "description")?,
        state: get(row, "state")?,
        created_ms: get(row, "created_ms")?,
        current_version: get(row, "current_version")?,
    })
}

impl Meta {
    /// Inserts a key with its version 1 (and an alias in the key's account, if given) in one transaction;
    /// `AlreadyExists` if the key id or the alias is taken. `key.current_version` is ignored.
    pub async fn kms_create_key(
        &self,
        key: &KmsKeyRow,
        material_sealed: &[u8],
        alias: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let res = sqlx::query(
            "INSERT INTO kms_keys (key_id, account_id, description, state, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.key_id)
        .bind(&key.account_id)
        .bind(&key.description)
        .bind(&key.state)
        .bind(key.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(MetaError::AlreadyExists(format!("KMS key {}", key.key_id)));
            }
            Err(e) => return Err(e.into()),
        }
        sqlx::query(
            "INSERT INTO kms_key_versions (key_id, version, material_sealed, created_ms) \
             VALUES ($1, 1, $2, $3)",
        )
        .bind(&key.key_id)
        .bind(material_sealed)
        .bind(key.created_ms)
        .execute(&mut *tx)
        .await?;
        if let Some(alias) = alias {
            let res = sqlx::query(
                "INSERT INTO kms_aliases (account_id, alias, key_id, created_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(&key.account_id)
            .bind(alias)
            .bind(&key.key_id)
            .bind(key.created_ms)
            .execute(&mut *tx)
            .await;
            match res {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(MetaError::AlreadyExists(format!("KMS alias alias/{alias}")));
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds version `version` of a key. `AlreadyExists` if that version exists (another gateway rotated
    /// at the same time); `Ok(false)` if the key does not exist.
    pub async fn kms_add_key_version(
        &self,
        key_id: &str,
        version: i64,
        material_sealed: &[u8],
        created_ms: i64,
    ) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO kms_key_versions (key_id, version, material_sealed, created_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key_id)
        .bind(version)
        .bind(material_sealed)
        .bind(created_ms)
        .execute(&self.writer)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Err(MetaError::AlreadyExists(format!(
                "KMS key {key_id} version {version}"
            ))),
            Err(e) if is_fk_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The key with this id.
    pub async fn kms_get_key(&self, key_id: &str) -> Result<Option<KmsKeyRow>> {
        let sql = format!("{KEY_SELECT} WHERE k.key_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// The key that alias `alias` of `account_id` names.
    pub async fn kms_get_key_by_alias(
        &self,
        account_id: &str,
        alias: &str,
    ) -> Result<Option<KmsKeyRow>> {
        let sql = format!(
            "{KEY_SELECT} JOIN kms_aliases a ON a.key_id = k.key_id \
             WHERE a.account_id = $1 AND a.alias = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(alias)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// The sealed material of version `version` of a key.
    pub async fn kms_get_key_version(&self, key_id: &str, version: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT material_sealed FROM kms_key_versions WHERE key_id = $1 AND version = $2",
        )
        .bind(key_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| get(r, "material_sealed")).transpose()
    }

    /// Keys of `account_id` (every key when `None`), by id.
    pub async fn kms_list_keys(&self, account_id: Option<&str>) -> Result<Vec<KmsKeyRow>> {
        let rows = match account_id {
            Some(a) => {
                let sql = format!("{KEY_SELECT} WHERE k.account_id = $1 ORDER BY k.key_id");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(a)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("{KEY_SELECT} ORDER BY k.key_id");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(key_from_row).collect()
    }

    /// Creates alias `alias` of `account_id` for `key_id`: `AlreadyExists` if the alias is taken,
    /// `Ok(false)` if the key does not exist.
    pub async fn kms_create_alias(
        &self,
        account_id: &str,
        alias: &str,
        key_id: &str,
        created_ms: i64,
    ) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO kms_aliases (account_id, alias, key_id, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(alias)
        .bind(key_id)
        .bind(created_ms)
        .execute(&self.writer)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => {
                Err(MetaError::AlreadyExists(format!("KMS alias alias/{alias}")))
            }
            Err(e) if is_fk_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Aliases of `account_id`, by name.
    pub async fn kms_list_aliases(&self, account_id: &str) -> Result<Vec<KmsAliasRow>> {
        let rows = sqlx::query(
            "SELECT account_id, alias, key_id, created_ms FROM kms_aliases WHERE account_id = $1 \
             ORDER BY alias",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KmsAliasRow {
                    account_id: get(r, "account_id")?,
                    alias: get(r, "alias")?,
                    key_id: get(r, "key_id")?,
                    created_ms: get(r, "created_ms")?,
                })
            })
            .collect()
    }

    /// Sets a key's state ("Enabled" / "Disabled"); `Ok(false)` if there is no such key.
    pub async fn kms_set_key_state(&self, key_id: &str, state: &str) -> Result<bool> {
        let res = sqlx::query("UPDATE kms_keys SET state = $1 WHERE key_id = $2")
            .bind(state)
            .bind(key_id)
            .execute(&self.writer)
            .await?;
        Ok(res.rows_affected() > 0)
    }
}
