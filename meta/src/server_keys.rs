//! The registry of server-key fingerprints (the key check of every gateway and admin command at start), and
//! the access-key rows a key check or a re-seal walks.

use crate::store::{get, is_unique_violation};
use crate::*;

/// The deployment's current server key as the database records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyRecord {
    /// 16 hex digits: the key's fingerprint, never the key.
    pub fingerprint: String,
    /// Registration order: the highest is current.
    pub seq: i64,
    pub registered_ms: i64,
}

impl Meta {
    /// The current server key (the latest registered), if any key was ever registered.
    pub async fn current_server_key(&self) -> Result<Option<ServerKeyRecord>> {
        let row = sqlx::query(
            "SELECT fingerprint, seq, registered_ms FROM server_keys ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.writer)
        .await?;
        row.map(|r| {
            Ok(ServerKeyRecord {
                fingerprint: get(&r, "fingerprint")?,
                seq: get(&r, "seq")?,
                registered_ms: get(&r, "registered_ms")?,
            })
        })
        .transpose()
    }

    /// Whether this fingerprint was ever registered.
    pub async fn server_key_known(&self, fingerprint: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM server_keys WHERE fingerprint = $1")
            .bind(fingerprint)
            .fetch_one(&self.writer)
            .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    /// Registers `fingerprint` as the new current key, provided the current one is still the one whose seq
    /// the caller saw (`after_seq`, 0 when none was registered): a compare-and-set through the unique seq, so
    /// two processes registering at once cannot both win. False when someone else registered first (or the
    /// fingerprint is already registered): the caller reads the current key again.
    pub async fn register_server_key(&self, fingerprint: &str, after_seq: i64) -> Result<bool> {
        let res = sqlx::query(
            "INSERT INTO server_keys (fingerprint, seq, registered_ms) VALUES ($1, $2, $3)",
        )
        .bind(fingerprint)
        .bind(after_seq + 1)
        .bind(gatehouse_core::now_ms())
        .execute(&self.writer)
        .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every access key (ordered by id), for key checks and re-sealing.
    pub async fn all_access_keys(&self) -> Result<Vec<AccessKey>> {
        let rows = sqlx::query(
            "SELECT access_key_id, secret_sealed, account_id, user_name, status, created_ms \
             FROM access_keys ORDER BY access_key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::accounts::key_from_row).collect()
    }

    /// Replaces an access key's sealed secret if it is still `old` (false otherwise).
    pub async fn reseal_access_key(
        &self,
        access_key_id: &str,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE access_keys SET secret_sealed = $1 WHERE access_key_id = $2 AND secret_sealed = $3",
        )
        .bind(new)
        .bind(access_key_id)
        .bind(old)
        .execute(&self.writer)
        .await?;
        Ok(res.rows_affected() == 1)
    }
}
