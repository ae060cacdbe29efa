//! The deployment's server key at start-up: where it comes from (`GATEHOUSE_SERVER_KEY`, `server_key_file`,
//! else the data directory's `master.key`), when one may be generated (only by the first process of a fresh
//! database, and never by an admin command pointed at a shared database), and the key check against the
//! fingerprint the database records. A process whose keyring does not hold the deployment's current key
//! refuses to start: it could open none of the secrets the others sealed, and the others could open none of
//! its own.
//!
//! At run time (`Keys`) a value sealed by a key this process does not hold makes a ring read from a file
//! re-read it (at most once a second), so a rotation done by `admin server-key rotate` reaches running
//! gateways whose key file was updated, without a restart.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gatehouse_kms::server_key::KeyEntry;
use gatehouse_kms::{KeySource, KmsError, ServerKeyring};
use gatehouse_meta::Meta;

use crate::config::Config;

/// The environment variable holding the server key(s) in base64, comma separated, the sealing key first.
pub const SERVER_KEY_ENV: &str = "GATEHOUSE_SERVER_KEY";

/// Which command opens the store: only `serve` may generate the first key of a shared (Postgres) database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Serve,
    Admin,
}

/// The key file a configuration names, or the data directory's default.
pub fn key_file_path(config: &Config) -> PathBuf {
    config
        .server_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("master.key"))
}

fn env_value() -> Option<String> {
    std::env::var(SERVER_KEY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

const HOW_TO_GIVE: &str = "give every gateway and admin command of the deployment the same key: \
     --server-key-file FILE (or GATEHOUSE_SERVER_KEY_FILE, or server_key_file in the config file), or the key \
     itself in GATEHOUSE_SERVER_KEY";

/// The encryption context binding a Vault-wrapped server key to its use.
fn wrap_context() -> gatehouse_kms::provider::EncryptionContext {
    [("gatehouse".to_owned(), "server-key".to_owned())]
        .into_iter()
        .collect()
}

/// A fresh server key wrapped by the Vault transit key `key_name` (for a key file that holds no key in the
/// clear: `vault:BASE64` lines).
pub async fn vault_wrapped_key(config: &Config, key_name: &str) -> anyhow::Result<KeyEntry> {
    use gatehouse_kms::provider::{KeyRef, Kms as _};
    let vault = vault_client(config)?;
    let key = KeyRef::parse(key_name)?;
    let dk = vault.generate_data_key(&key, "", &wrap_context()).await?;
    Ok(KeyEntry::Wrapped(dk.wrapped))
}

fn vault_client(config: &Config) -> anyhow::Result<gatehouse_kms::vault::VaultKms> {
    let Some(v) = &config.vault else {
        anyhow::bail!(
            "the server key is held in Vault transit: set vault_addr (GATEHOUSE_VAULT_ADDR), vault_token \
             (GATEHOUSE_VAULT_TOKEN) or AppRole ids, and vault_ca for https"
        )
    };
    Ok(gatehouse_kms::vault::VaultKms::new(v.client_config()?)?)
}

/// Opens a key file whose keys may be wrapped by Vault transit (each is unwrapped once, at start).
async fn open_key_file(config: &Config, path: &std::path::Path) -> anyhow::Result<ServerKeyring> {
    use gatehouse_kms::provider::Kms as _;
    let entries = gatehouse_kms::server_key::read_key_file(path)?;
    if entries.iter().all(|e| matches!(e, KeyEntry::Plain(_))) {
        return Ok(ServerKeyring::open_file(path)?);
    }
    let vault = vault_client(config)?;
    let mut keys = Vec::with_capacity(entries.len());
    for e in entries {
        match e {
            KeyEntry::Plain(k) => keys.push(k),
            KeyEntry::Wrapped(w) => {
                let plain = vault.decrypt(&w, &wrap_context()).await.map_err(|e| {
                    anyhow::anyhow!(
                        "cannot unwrap the server key in {} through Vault: {e}",
                        path.display()
                    )
                })?;
                keys.push(plain.plaintext.to_vec());
            }
        }
    }
    Ok(ServerKeyring::from_keys(
        &keys,
        KeySource::File(path.to_path_buf()),
    )?)
}

/// Reads the configured keyring; generates the default key file when `may_generate` and it does not exist.
async fn load_ring(config: &Config, may_generate: bool) -> anyhow::Result<ServerKeyring> {
    if let Some(v) = env_value() {
        anyhow::ensure!(
            config.server_key_file.is_none(),
            "both {SERVER_KEY_ENV} and server_key_file are set: give the server key one way"
        );
        return Ok(ServerKeyring::from_env_value(&v)?);
    }
    let path = key_file_path(config);
    let err = match open_key_file(config, &path).await {
        Ok(r) => return Ok(r),
        Err(e) => e.downcast::<KmsError>()?,
    };
    match err {
        KmsError::KeyFile { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound
                && may_generate
                && config.server_key_file.is_none() =>
        {
            let ring = ServerKeyring::create_file(&path)?;
            eprintln!(
                "Generated the server key {} in {} (it seals the secrets kept in the database); {HOW_TO_GIVE}.",
                ring.primary(),
                path.display()
            );
            Ok(ring)
        }
        KmsError::KeyFile { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "no server key: {} does not exist; {HOW_TO_GIVE} (`gatehouse admin server-key generate FILE` \
                 makes a new one; the first gateway of a deployment writes one to its data directory)",
                path.display()
            )
        }
        e => Err(e.into()),
    }
}

/// How many existing access keys a first key check tries to open (a database from before key checks).
const LEGACY_CHECK_KEYS: usize = 100;

/// Checks `ring` against the database's current key and registers a new sealing key (first start, or a
/// rotation: a new key put first in a ring that holds the current one).
pub async fn check_and_register(meta: &Meta, ring: &ServerKeyring) -> anyhow::Result<()> {
    let primary = ring.primary().to_hex();
    let held = ring
        .fingerprints()
        .iter()
        .map(|f| f.to_hex())
        .collect::<Vec<_>>()
        .join(", ");
    for _ in 0..16 {
        let current = meta.current_server_key().await?;
        let Some(current) = current else {
            // First key check of this database: a database from before key checks may hold secrets already;
            // this key must open them.
            for k in meta.all_access_keys().await?.iter().take(LEGACY_CHECK_KEYS) {
                if let Err(e) = ring.unseal(
                    &k.secret_sealed,
                    &crate::state::secret_context(&k.access_key_id),
                ) {
                    anyhow::bail!(
                        "server key mismatch: the {} (fingerprint {held}) cannot open the secret of access key \
                         {} already in this database ({e}); {HOW_TO_GIVE}",
                        ring.source(),
                        k.access_key_id
                    );
                }
            }
            if meta.register_server_key(&primary, 0).await? {
                tracing::info!(fingerprint = %primary, "registered the server key in the database");
                return Ok(());
            }
            continue;
        };
        if !ring.holds(&current.fingerprint) {
            anyhow::bail!(
                "server key mismatch: this database's secrets are sealed under server key {} and this \
                 process's {} holds only {held}; {HOW_TO_GIVE}",
                current.fingerprint,
                ring.source()
            );
        }
        if current.fingerprint == primary {
            return Ok(());
        }
        if meta.server_key_known(&primary).await? {
            anyhow::bail!(
                "server key {primary}, the first (sealing) key of the {}, is older than the deployment's current \
                 key {}: put {} first",
                ring.source(),
                current.fingerprint,
                current.fingerprint
            );
        }
        if meta.register_server_key(&primary, current.seq).await? {
            tracing::info!(from = %current.fingerprint, to = %primary, "server key rotated");
            return Ok(());
        }
    }
    anyhow::bail!("server key check: the database's current key kept changing; try again")
}

/// Opens the metadata store and the server keyring of a configuration, with the key check. `serve` creates
/// the data directory; an admin command creates it only for the data directory's own SQLite database.
pub async fn open_store(
    config: &Config,
    purpose: Purpose,
) -> anyhow::Result<(Meta, ServerKeyring)> {
    let embedded = config.database_url.is_none();
    if embedded || purpose == Purpose::Serve {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let meta = match &config.database_url {
        Some(url) => Meta::open(url).await?,
        None => Meta::open_sqlite(&config.data_dir.join("meta.db")).await?,
    };
    let fresh = meta.current_server_key().await?.is_none() && meta.account_count().await? == 0;
    let may_generate = fresh && (purpose == Purpose::Serve || embedded);
    let ring = load_ring(config, may_generate).await?;
    check_and_register(&meta, &ring).await?;
    Ok((meta, ring))
}

/// Opens only the keyring (no key check): for `admin server-key show`.
pub async fn configured_ring(config: &Config) -> anyhow::Result<ServerKeyring> {
    load_ring(config, false).await
}

/// The server keyring of a running process. A value sealed by a key it does not hold makes a ring read from
/// a file re-read that file (at most once a second).
pub struct Keys {
    ring: RwLock<Arc<ServerKeyring>>,
    last_reload: Mutex<Option<Instant>>,
}

const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

impl Keys {
    /// Wraps a checked keyring.
    pub fn new(ring: ServerKeyring) -> Keys {
        Keys {
            ring: RwLock::new(Arc::new(ring)),
            last_reload: Mutex::new(None),
        }
    }

    /// The current ring.
    pub fn ring(&self) -> Arc<ServerKeyring> {
        match self.ring.read() {
            Ok(r) => Arc::clone(&r),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Seals under the current sealing key.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        self.ring().seal(plaintext, context)
    }

    /// Opens a sealed value; a value sealed by an unknown key re-reads the key file first.
    pub fn unseal(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        let ring = self.ring();
        match ring.unseal(sealed, context) {
            Err(KmsError::UnknownServerKey(fp)) => match self.reload(&ring, &fp) {
                Some(newer) => newer.unseal(sealed, context),
                None => Err(KmsError::UnknownServerKey(fp)),
            },
            other => other,
        }
    }

    fn reload(&self, ring: &ServerKeyring, wanted: &str) -> Option<Arc<ServerKeyring>> {
        let KeySource::File(path) = ring.source() else {
            return None;
        };
        {
            let mut last = self.last_reload.lock().ok()?;
            if last.is_some_and(|t| t.elapsed() < RELOAD_INTERVAL) {
                // Another request may have reloaded meanwhile.
                let now = self.ring();
                return now.holds(wanted).then_some(now);
            }
            *last = Some(Instant::now());
        }
        let fresh = match ServerKeyring::open_file(path) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "re-reading the server key file failed");
                return None;
            }
        };
        // Only a ring that still holds every key of the old one replaces it (a half-edited file must not
        // make secrets unreadable).
        let keeps_all = ring.fingerprints().iter().all(|f| fresh.holds(&f.to_hex()));
        if !fresh.holds(wanted) || !keeps_all {
            return None;
        }
        tracing::info!(primary = %fresh.primary(), "re-read the rotated server key file");
        let fresh = Arc::new(fresh);
        if let Ok(mut w) = self.ring.write() {
            *w = Arc::clone(&fresh);
        }
        Some(fresh)
    }
}
