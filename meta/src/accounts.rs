//! Accounts (tenants) and access keys.

use sqlx::any::AnyRow;

use crate::store::{get, is_unique_violation};
use crate::*;

const ACCOUNT_COLS: &str = "id, name, canonical_id, display_name, email, created_ms";
const KEY_COLS: &str = "access_key_id, secret_sealed, account_id, user_name, status, created_ms";

fn account_from_row(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: get(row, "id")?,
        name: get(row, "name")?,
        canonical_id: get(row, "canonical_id")?,
        display_name: get(row, "display_name")?,
        email: get(row, "email")?,
        created_ms: get(row, "created_ms")?,
    })
}

pub(crate) fn key_from_row(row: &AnyRow) -> Result<AccessKey> {
    Ok(AccessKey {
        access_key_id: get(row, "access_key_id")?,
        secret_sealed: get(row, "secret_sealed")?,
        account_id: get(row, "account_id")?,
        user_name: get(row, "user_name")?,
        status: get(row, "status")?,
        created_ms: get(row, "created_ms")?,
    })
}

impl Meta {
    /// Inserts an account; `AlreadyExists` on a duplicate id, name, canonical id or e-mail.
    pub async fn create_account(&self, account: &Account) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO accounts (id, name, canonical_id, display_name, email, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(&account.canonical_id)
        .bind(&account.display_name)
        .bind(account.email.as_deref())
        .bind(account.created_ms)
        .execute(&self.writer)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(MetaError::AlreadyExists(format!(
                "account {} ({})",
                account.id, account.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// All accounts ordered by name.
    pub async fn list_accounts(&self) -> Result<Vec<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Number of accounts.
    pub async fn account_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        get(&row, "n")
    }

    /// The account with this 12-digit id.
    pub async fn get_account(&self, id: &str) -> Result<Option<Account>> {
        self.account_where("id", id).await
    }

    /// The account with this canonical user id.
    pub async fn get_account_by_canonical_id(&self, canonical_id: &str) -> Result<Option<Account>> {
        self.account_where("canonical_id", canonical_id).await
    }

    /// The account with this e-mail address.
    pub async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>> {
        self.account_where("email", email).await
    }

    async fn account_where(&self, col: &'static str, value: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE {col} = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Inserts an access key; `AlreadyExists` on a duplicate id.
    pub async fn create_access_key(&self, key: &AccessKey) -> Result<()> {
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
        .execute(&self.writer)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(MetaError::AlreadyExists(format!(
                "access key {}",
                key.access_key_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The access key with this id.
    pub async fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM access_keys WHERE access_key_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(access_key_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }
}
