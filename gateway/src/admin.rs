//! Operator commands on the store: accounts and their root credentials.

use gatehouse_meta::{AccessKey, Account, Meta};

use crate::server_key::Keys;
use crate::state::secret_context;

/// What `account create` takes.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub name: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub canonical_id: Option<String>,
    pub account_id: Option<String>,
}

/// Creates an account with root credentials; returns the account and the (access key, secret).
pub async fn create_account(
    meta: &Meta,
    keys: &Keys,
    new: NewAccount,
) -> anyhow::Result<(Account, String, String)> {
    anyhow::ensure!(
        !new.name.is_empty() && new.name.len() <= 64,
        "account name must be 1-64 characters"
    );
    let account_id = new
        .account_id
        .unwrap_or_else(gatehouse_core::new_account_id);
    anyhow::ensure!(
        account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()),
        "account id must be 12 digits"
    );
    let ak = new
        .access_key
        .unwrap_or_else(|| gatehouse_core::new_access_key_id(&account_id));
    let sk = new
        .secret_key
        .unwrap_or_else(gatehouse_core::new_secret_key);
    anyhow::ensure!(
        (3..=128).contains(&ak.len()),
        "access key must be 3-128 characters"
    );
    anyhow::ensure!(
        ak.bytes().all(|b| b.is_ascii_alphanumeric()),
        "access key must be alphanumeric"
    );
    anyhow::ensure!(sk.len() >= 8, "secret key must be at least 8 characters");
    let account = Account {
        id: account_id,
        display_name: new.display_name.unwrap_or_else(|| new.name.clone()),
        name: new.name,
        canonical_id: new
            .canonical_id
            .unwrap_or_else(gatehouse_core::new_canonical_id),
        email: new.email,
        created_ms: gatehouse_core::now_ms(),
    };
    let secret_sealed = keys.seal(sk.as_bytes(), &secret_context(&ak))?;
    meta.create_account(&account).await?;
    let key = AccessKey {
        access_key_id: ak.clone(),
        secret_sealed,
        account_id: account.id.clone(),
        user_name: None,
        status: "Active".to_owned(),
        created_ms: gatehouse_core::now_ms(),
    };
    meta.create_access_key(&key).await?;
    Ok((account, ak, sk))
}

/// Denies a role's sessions issued before now (AWS's "Revoke active sessions"): puts the role's inline policy
/// `AWSRevokeOlderSessions`. Returns the cut-off time (RFC 3339).
///
/// The running gateways see it within their role-policy cache bound (1 s).
pub async fn revoke_role_sessions(
    meta: &gatehouse_meta::Meta,
    account_id: &str,
    role: &str,
) -> anyhow::Result<String> {
    // Token issue times count in whole seconds: the cut-off is the next full second, so a session issued in
    // this second is revoked too (one issued within the next second is refused as well).
    let now = (time::OffsetDateTime::now_utc().replace_nanosecond(0)? + time::Duration::seconds(1))
        .format(&time::format_description::well_known::Rfc3339)?;
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{now}"}}}}}}]}}"#
    );
    meta.put_inline_policy(
        gatehouse_meta::EntityKind::Role,
        account_id,
        role,
        "AWSRevokeOlderSessions",
        &doc,
        None,
    )
    .await
    .map_err(|e| anyhow::anyhow!("role {role}: {e}"))?;
    Ok(now)
}
