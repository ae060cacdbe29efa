//! `AppState`: everything a request needs, passed down explicitly (no globals).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_kms::LocalKms;
use gatehouse_meta::{Account, Meta};
use gatehouse_storage::Backend;

use crate::config::Config;

/// How long a resolved access key is trusted before it is read again (deactivation latency).
const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

/// Who is making a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub canonical_id: String,
    pub display_name: String,
    pub access_key_id: String,
    /// `None` for the account root.
    pub user_name: Option<String>,
    pub arn: String,
}

/// An access key with its secret opened and its account resolved.
#[derive(Clone)]
pub struct ResolvedKey {
    pub secret: String,
    pub principal: Principal,
}

/// Shared state of the server.
pub struct AppState {
    pub config: Config,
    pub meta: Meta,
    pub storage: Arc<dyn Backend>,
    pub kms: LocalKms,
    keys: RwLock<HashMap<String, (Instant, Option<ResolvedKey>)>>,
    /// The data directory's lock, held while the state lives.
    _data_dir_lock: std::fs::File,
}

/// The AEAD context binding a sealed secret to its access key id.
pub fn secret_context(access_key_id: &str) -> Vec<u8> {
    format!("gatehouse:access-key:{access_key_id}").into_bytes()
}

impl AppState {
    /// Bundles the parts.
    pub fn new(
        config: Config,
        meta: Meta,
        storage: Arc<dyn Backend>,
        kms: LocalKms,
        data_dir_lock: std::fs::File,
    ) -> AppState {
        AppState {
            config,
            meta,
            storage,
            kms,
            keys: RwLock::new(HashMap::new()),
            _data_dir_lock: data_dir_lock,
        }
    }

    /// Resolves an access key (cached for a few seconds; unknown keys are cached too, so a flood of bad keys
    /// does not reach the database every time). Inactive keys resolve to `None`.
    pub async fn resolve_key(&self, access_key_id: &str) -> anyhow::Result<Option<ResolvedKey>> {
        if let Ok(map) = self.keys.read()
            && let Some((at, v)) = map.get(access_key_id)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(v.clone());
        }
        let resolved = self.load_key(access_key_id).await?;
        if let Ok(mut map) = self.keys.write() {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(access_key_id.to_owned(), (Instant::now(), resolved.clone()));
        }
        Ok(resolved)
    }

    async fn load_key(&self, access_key_id: &str) -> anyhow::Result<Option<ResolvedKey>> {
        let Some(key) = self.meta.get_access_key(access_key_id).await? else {
            return Ok(None);
        };
        if key.status != "Active" {
            return Ok(None);
        }
        let Some(account) = self.meta.get_account(&key.account_id).await? else {
            return Ok(None);
        };
        let secret = self
            .kms
            .unseal(&key.secret_sealed, &secret_context(access_key_id))?;
        let secret = String::from_utf8(secret)?;
        let arn = match &key.user_name {
            None => gatehouse_core::root_arn(&account.id),
            Some(u) => gatehouse_core::user_arn(&account.id, "/", u),
        };
        Ok(Some(ResolvedKey {
            secret,
            principal: principal_of(&account, access_key_id, key.user_name.clone(), arn),
        }))
    }
}

fn principal_of(
    account: &Account,
    access_key_id: &str,
    user_name: Option<String>,
    arn: String,
) -> Principal {
    Principal {
        account_id: account.id.clone(),
        canonical_id: account.canonical_id.clone(),
        display_name: account.display_name.clone(),
        access_key_id: access_key_id.to_owned(),
        user_name,
        arn,
    }
}
