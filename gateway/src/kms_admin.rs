//! `gatehouse admin kms key create|list|rotate`: the operator's commands on the SSE KMS configured with
//! `kms = "local" | "vault"` (usable beside a running server, on SQLite and Postgres).

use std::sync::Arc;

use gatehouse_kms::provider::{CreateKeyRequest, KeyRef, Kms};

use crate::config::{Config, KmsKind};
use crate::server_key::{Purpose, open_store};

/// The configured KMS, and the metadata store (to name a default account).
pub async fn open_kms(cfg: &Config) -> anyhow::Result<(Arc<dyn Kms>, gatehouse_meta::Meta)> {
    let (meta, ring) = open_store(cfg, Purpose::Admin).await?;
    let kms = build_kms(cfg, &meta, Arc::new(ring))?;
    Ok((kms, meta))
}

/// The KMS `kms = "local" | "vault"` names, over an opened store and keyring (the server's and the admin
/// commands' one way to open it).
pub fn build_kms(
    cfg: &Config,
    meta: &gatehouse_meta::Meta,
    ring: Arc<gatehouse_kms::ServerKeyring>,
) -> anyhow::Result<Arc<dyn Kms>> {
    let kms: Arc<dyn Kms> = match cfg.kms {
        KmsKind::Local => Arc::new(gatehouse_kms::local::LocalKms::new(
            Arc::new(meta.clone()),
            ring,
        )),
        KmsKind::Vault => {
            let Some(v) = &cfg.vault else {
                anyhow::bail!(
                    "kms = \"vault\" needs vault_addr (GATEHOUSE_VAULT_ADDR) and a login"
                );
            };
            Arc::new(gatehouse_kms::vault::VaultKms::new(v.client_config()?)?)
        }
    };
    Ok(kms)
}

/// The account a key belongs to: the one named, else the store's only account.
pub async fn key_account(
    meta: &gatehouse_meta::Meta,
    account: Option<String>,
) -> anyhow::Result<String> {
    if let Some(a) = account {
        anyhow::ensure!(
            meta.get_account(&a).await?.is_some(),
            "no account {a} in this store"
        );
        return Ok(a);
    }
    let accounts = meta.list_accounts().await?;
    match accounts.as_slice() {
        [one] => Ok(one.id.clone()),
        _ => anyhow::bail!(
            "this store has {} accounts: name the key's owner with --account",
            accounts.len()
        ),
    }
}

/// Creates a key with `alias` (and the key id the operator chose, if any).
pub async fn create(
    cfg: &Config,
    alias: &str,
    key_id: Option<String>,
    account: Option<String>,
    description: Option<String>,
) -> anyhow::Result<String> {
    let (kms, meta) = open_kms(cfg).await?;
    let account_id = key_account(&meta, account).await?;
    let alias = alias.trim_start_matches("alias/");
    // Transit has no aliases: there the alias is the transit key's name.
    let (alias_arg, key_id) = match cfg.kms {
        KmsKind::Local => (Some(alias.to_owned()), key_id),
        KmsKind::Vault => {
            anyhow::ensure!(
                key_id.as_deref().is_none_or(|k| k == alias),
                "with kms = \"vault\" the alias is the transit key's name: give no other --key-id"
            );
            (None, Some(alias.to_owned()))
        }
    };
    let key = kms
        .create_key(&CreateKeyRequest {
            account_id: account_id.clone(),
            description: description.unwrap_or_default(),
            alias: alias_arg,
            key_id,
        })
        .await?;
    Ok(format!(
        "key_id={}\narn={}\nalias=alias/{alias}",
        key.key_id,
        key.arn(&cfg.region, &account_id),
    ))
}

/// Lists keys (all accounts).
pub async fn list(cfg: &Config) -> anyhow::Result<String> {
    let (kms, _) = open_kms(cfg).await?;
    let mut out = format!(
        "{:<40}  {:<12}  {:<8}  {:>7}  DESCRIPTION\n",
        "KEY ID", "ACCOUNT", "STATE", "VERSION"
    );
    for k in kms.list_keys(None).await? {
        out.push_str(&format!(
            "{:<40}  {:<12}  {:<8}  {:>7}  {}\n",
            k.key_id,
            k.account_id.as_deref().unwrap_or("-"),
            k.state.as_str(),
            k.current_version,
            k.description
        ));
    }
    Ok(out)
}

/// Rotates a key (new data keys are wrapped under the new version; old ones still open).
pub async fn rotate(cfg: &Config, key: &str, account: Option<String>) -> anyhow::Result<String> {
    let (kms, meta) = open_kms(cfg).await?;
    let account_id = key_account(&meta, account).await?;
    if key.starts_with("alias/") || key.starts_with("arn:") {
        let version = kms.rotate_key(&KeyRef::parse(key)?, &account_id).await?;
        return Ok(format!("version={version}"));
    }
    // A bare name: the alias of that name, else the key of that id.
    let version = match kms
        .rotate_key(&KeyRef::parse(&format!("alias/{key}"))?, &account_id)
        .await
    {
        Ok(v) => v,
        Err(_) => kms.rotate_key(&KeyRef::parse(key)?, &account_id).await?,
    };
    Ok(format!("version={version}"))
}

/// Enables or disables a key (by alias, key id or ARN, like `rotate`): a disabled key neither makes nor
/// unwraps data keys; gateways holding its keys in their caches stop using them within the cache bounds.
pub async fn set_enabled(
    cfg: &Config,
    key: &str,
    account: Option<String>,
    enabled: bool,
) -> anyhow::Result<String> {
    let (kms, meta) = open_kms(cfg).await?;
    let account_id = key_account(&meta, account).await?;
    let key_ref = if key.starts_with("alias/") || key.starts_with("arn:") {
        KeyRef::parse(key)?
    } else {
        match kms
            .resolve(&KeyRef::parse(&format!("alias/{key}"))?, &account_id)
            .await
        {
            Ok(id) => KeyRef::Id(id),
            Err(_) => KeyRef::parse(key)?,
        }
    };
    kms.set_key_enabled(&key_ref, &account_id, enabled).await?;
    let state = if enabled { "Enabled" } else { "Disabled" };
    Ok(format!("key={key_ref}\nstate={state}"))
}
