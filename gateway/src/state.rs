//! `AppState`: everything a request needs, passed down explicitly (no globals).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gatehouse_meta::{Account, Meta};
use gatehouse_storage::Backend;

use crate::config::Config;
use crate::server_key::Keys;

/// How long a resolved access key is trusted before it is read again: the bound within which a key
/// deactivated or deleted through another gateway sharing the database stops working here (a change made
/// through this server empties the account's entries at once: `AppState::iam_changed`).
const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

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
    /// The IAM user's path (`/` or `/a/b/`), for IAM users.
    pub user_path: Option<String>,
    /// What GetCallerIdentity reports as UserId: the account id for the root, the user's unique id (AIDA...)
    /// for IAM users, `AROA...:session` for role sessions.
    pub user_id: String,
    /// The session, for temporary credentials.
    pub session: Option<Arc<crate::session::Session>>,
}

impl Principal {
    /// Whether this is the account root itself (long-term keys, or a root GetSessionToken session).
    pub fn is_root(&self) -> bool {
        self.user_name.is_none()
            && self
                .session
                .as_ref()
                .is_none_or(|s| s.kind == crate::session::SessionKind::Root)
    }
}

/// An access key with its secret opened and its account resolved.
#[derive(Clone)]
pub struct ResolvedKey {
    pub secret: String,
    pub principal: Principal,
}

/// Why an access key could not be resolved (an unknown or inactive key is `Ok(None)`, not an error).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("metadata: {0}")]
    Meta(#[from] gatehouse_meta::MetaError),
    #[error("IAM metadata: {0}")]
    Iam(String),
    /// The secret is sealed under a server key this process does not hold, or is corrupt (logged once).
    #[error("the access key's secret cannot be opened")]
    Unopenable,
}

/// Shared state of the server.
pub struct AppState {
    pub config: Config,
    pub meta: Meta,
    pub storage: Arc<dyn Backend>,
    /// The server keyring (seals access-key secrets).
    pub keys: Keys,
    /// The KMS of SSE-KMS keys (`kms = "local" | "vault"`), through `kms_calls`.
    pub kms: Arc<dyn gatehouse_kms::provider::Kms>,
    /// The calls made to the KMS, by operation (`/metrics`).
    pub kms_calls: Arc<gatehouse_kms::counted::Counted>,
    /// SSE-KMS bucket keys and unwrapped data keys, bounded in time and count.
    pub(crate) sse_keys: crate::s3::sse_kms::KeyCaches,
    /// IAM users' compiled policies.
    pub iam: crate::identity::IamCache,
    /// Web identity token verification (OIDC providers' keys).
    pub oidc: crate::oidc::Verifier,
    /// Temporary credentials seen recently (STS sessions), by access key.
    pub sessions: crate::session::Sessions,
    /// Bucket contexts (policy, ACL, ownership, Block Public Access), read once and cached.
    pub buckets: crate::access::bucket::BucketCtxCache,
    /// The audit trail and decision counters.
    pub audit: crate::access::audit::Audit,
    /// Access keys whose secret could not be opened, logged once each.
    unopenable: Mutex<HashSet<String>>,
    key_cache: RwLock<HashMap<String, (Instant, Option<ResolvedKey>)>>,
    /// Bumped by every IAM change made here: a key read that started before it is not cached.
    key_generation: std::sync::atomic::AtomicU64,
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
        keys: Keys,
        kms: Arc<dyn gatehouse_kms::provider::Kms>,
        data_dir_lock: std::fs::File,
    ) -> anyhow::Result<AppState> {
        let audit = crate::access::audit::Audit::open(config.audit_log.as_deref())?;
        let kms_calls = Arc::new(gatehouse_kms::counted::Counted::new(kms));
        Ok(AppState {
            kms: kms_calls.clone(),
            kms_calls,
            sse_keys: crate::s3::sse_kms::KeyCaches::new(&config),
            buckets: Default::default(),
            sessions: Default::default(),
            oidc: crate::oidc::Verifier::new(config.oidc_ca_file.as_ref()),
            audit,
            config,
            meta,
            storage,
            keys,
            iam: crate::identity::IamCache::default(),
            unopenable: Mutex::new(HashSet::new()),
            key_cache: RwLock::new(HashMap::new()),
            key_generation: std::sync::atomic::AtomicU64::new(0),
            _data_dir_lock: data_dir_lock,
        })
    }

    /// Resolves an access key (cached for a few seconds; unknown keys are cached too, so a flood of bad keys
    /// does not reach the database every time). Inactive keys resolve to `None`.
    pub async fn resolve_key(&self, access_key_id: &str) -> Result<Option<ResolvedKey>, KeyError> {
        if crate::session::is_temporary(access_key_id) {
            // Temporary keys live only in their tokens, checked by the front (`Sessions::check`).
            return Ok(self.sessions.resolved(access_key_id));
        }
        if let Ok(map) = self.key_cache.read()
            && let Some((at, v)) = map.get(access_key_id)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(v.clone());
        }
        let generation = self
            .key_generation
            .load(std::sync::atomic::Ordering::SeqCst);
        let resolved = self.load_key(access_key_id).await?;
        if let Ok(mut map) = self.key_cache.write()
            && self
                .key_generation
                .load(std::sync::atomic::Ordering::SeqCst)
                == generation
        {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(access_key_id.to_owned(), (Instant::now(), resolved.clone()));
        }
        Ok(resolved)
    }

    /// Forgets what this server cached of the account's IAM state (keys, users' policies): called after
    /// every IAM change made through it, so it never answers from a state older than its own last change.
    pub fn iam_changed(&self, account_id: &str) {
        self.iam.account_changed(account_id);
        self.key_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut m) = self.key_cache.write() {
            // The account's keys, and every unknown key (one may just have been created here).
            m.retain(|_, (_, v)| {
                v.as_ref()
                    .is_some_and(|k| k.principal.account_id != account_id)
            });
        }
    }

    /// Logs an access key whose secret cannot be opened, once per key id (it is answered as an internal error
    /// each time, saying nothing of why).
    fn log_unopenable(&self, access_key_id: &str, sealed: &[u8]) {
        let first = self
            .unopenable
            .lock()
            .map(|mut s| s.len() < 10_000 && s.insert(access_key_id.to_owned()))
            .unwrap_or(true);
        if first {
            let sealed_by = gatehouse_kms::ServerKeyring::sealed_by(sealed)
                .map(|f| f.to_hex())
                .unwrap_or_else(|| "unknown (earlier format)".to_owned());
            tracing::error!(
                access_key_id,
                sealed_by = %sealed_by,
                held = ?self.keys.ring().fingerprints().iter().map(|f| f.to_hex()).collect::<Vec<_>>(),
                "the secret of this access key cannot be opened with this server's key: its requests fail"
            );
        }
    }

    async fn load_key(&self, access_key_id: &str) -> Result<Option<ResolvedKey>, KeyError> {
        let Some(key) = self.meta.get_access_key(access_key_id).await? else {
            return Ok(None);
        };
        if key.status != "Active" {
            return Ok(None);
        }
        let Some(account) = self.meta.get_account(&key.account_id).await? else {
            return Ok(None);
        };
        let secret = match self
            .keys
            .unseal(&key.secret_sealed, &secret_context(access_key_id))
            .ok()
            .and_then(|s| String::from_utf8(s).ok())
        {
            Some(s) => s,
            None => {
                self.log_unopenable(access_key_id, &key.secret_sealed);
                return Err(KeyError::Unopenable);
            }
        };
        let mut principal = root_principal(&account, access_key_id);
        if let Some(u) = &key.user_name {
            // A user's key: the user must still exist; its path and unique id come from its record.
            let user = self
                .meta
                .get_iam_user(&account.id, u)
                .await
                .map_err(|e| KeyError::Iam(e.to_string()))?;
            let Some(user) = user else {
                return Ok(None);
            };
            principal.arn = user.arn();
            principal.user_id = user.user_id.clone();
            principal.user_name = Some(user.name.clone());
            principal.user_path = Some(user.path.clone());
        }
        Ok(Some(ResolvedKey { secret, principal }))
    }
}

/// The account root's principal (an IAM user's fields are filled in from its record).
pub(crate) fn root_principal(account: &Account, access_key_id: &str) -> Principal {
    Principal {
        account_id: account.id.clone(),
        canonical_id: account.canonical_id.clone(),
        display_name: account.display_name.clone(),
        access_key_id: access_key_id.to_owned(),
        user_id: account.id.clone(),
        user_path: None,
        user_name: None,
        arn: gatehouse_core::root_arn(&account.id),
        session: None,
    }
}
