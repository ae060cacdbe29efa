//! IAM OpenID Connect providers: per account, keyed by the issuer URL without its scheme.

use super::*;
use crate::store::is_unique_violation;

/// An OIDC provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub account_id: String,
    /// Host and path of the issuer URL, without `https://` (what the ARN names).
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created_ms: i64,
}

impl OidcProvider {
    /// `arn:aws:iam::ACCOUNT:oidc-provider/URL`
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account_id, self.url
        )
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<OidcProvider, MetaError> {
    let list = |col: &str| -> Result<Vec<String>, MetaError> {
        let s: String = get(row, col)?;
        serde_json::from_str(&s).map_err(|e| MetaError::Corrupt(format!("column {col}: {e}")))
    };
    Ok(OidcProvider {
        account_id: get(row, "account_id")?,
        url: get(row, "url")?,
        client_ids: list("client_ids")?,
        thumbprints: list("thumbprints")?,
        created_ms: get(row, "created_ms")?,
    })
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
}

fn no_such(url: &str) -> IamDbError {
    IamDbError::NoSuchEntity(format!("OpenIDConnect provider not found for url {url}"))
}

impl Meta {
    /// Registers a provider (`EntityAlreadyExists` if the account has one for the URL).
    pub async fn create_oidc_provider(&self, p: &OidcProvider) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query(
            "INSERT INTO iam_oidc_providers (account_id, url, client_ids, thumbprints, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&p.account_id)
        .bind(&p.url)
        .bind(json(&p.client_ids))
        .bind(json(&p.thumbprints))
        .bind(p.created_ms)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(IamDbError::AlreadyExists(format!(
                    "Provider with url https://{} already exists.",
                    p.url
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.iam_commit(tx, &p.account_id).await
    }

    /// The account's provider for `url` (no scheme).
    pub async fn get_oidc_provider(
        &self,
        account_id: &str,
        url: &str,
    ) -> IamResult<Option<OidcProvider>> {
        let row = sqlx::query(
            "SELECT account_id, url, client_ids, thumbprints, created_ms FROM iam_oidc_providers \
             WHERE account_id = $1 AND url = $2",
        )
        .bind(account_id)
        .bind(url)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The account's providers, by URL.
    pub async fn list_oidc_providers(&self, account_id: &str) -> IamResult<Vec<OidcProvider>> {
        let rows = sqlx::query(
            "SELECT account_id, url, client_ids, thumbprints, created_ms FROM iam_oidc_providers \
             WHERE account_id = $1 ORDER BY url",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes a provider (`NoSuchEntity` if absent).
    pub async fn delete_oidc_provider(&self, account_id: &str, url: &str) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query("DELETE FROM iam_oidc_providers WHERE account_id = $1 AND url = $2")
            .bind(account_id)
            .bind(url)
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 0 {
            return Err(no_such(url));
        }
        self.iam_commit(tx, account_id).await
    }

    /// Replaces a provider's client ids and thumbprints (`NoSuchEntity` if absent).
    pub async fn update_oidc_provider(
        &self,
        account_id: &str,
        url: &str,
        client_ids: &[String],
        thumbprints: &[String],
    ) -> IamResult<()> {
        let mut tx = self.iam_begin().await?;
        let res = sqlx::query(
            "UPDATE iam_oidc_providers SET client_ids = $3, thumbprints = $4 WHERE account_id = $1 AND url = $2",
        )
        .bind(account_id)
        .bind(url)
        .bind(json(client_ids))
        .bind(json(thumbprints))
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() == 0 {
            return Err(no_such(url));
        }
        self.iam_commit(tx, account_id).await
    }
}
