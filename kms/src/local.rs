//! The embedded KMS backend: keys live in the metadata database, each version's 256-bit material sealed by
//! a [`KeySealer`] (the server keyring) before it is stored, through a [`KeyStore`] (`gatehouse_meta::Meta`
//! on SQLite or Postgres, or [`MemoryKeyStore`] in tests).
//!
//! Wrapped data key (all lengths fixed but the key id's):
//! `"GHK" | 1 | id length u8 | key id | key version u32 BE | nonce (12) | AES-256-GCM(data key) (32) | tag (16)`,
//! sealed under the version's material with AAD = everything before the nonce followed by the canonical
//! encryption context, so the blob names its key and version (rotation keeps old blobs readable) and any
//! change to the blob or the context fails.
//!
//! Caching: several gateways share one database, so only what cannot change is cached: a key version's
//! material, by (key id, version). A key's state, newest version and aliases are read from the store on
//! every call, so a disable, rotation or alias change elsewhere is seen by the next call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::provider::*;

/// Seals key material at rest (implemented by the server keyring). `context` binds the sealed value to
/// the key id and version it belongs to.
pub trait KeySealer: Send + Sync {
    /// Seals `plaintext` bound to `context`.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError>;
    /// Opens a value `seal` made with the same context; any mismatch is an error.
    fn unseal(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError>;
}

/// Persistence of local keys (`gatehouse_meta::Meta` implements it below).
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key with its version 1 and an optional alias in its account; `AlreadyExists` if the id
    /// or the alias is taken.
    async fn create_key(
        &self,
        key: &KeyMetadata,
        material_sealed: &[u8],
        alias: Option<&str>,
    ) -> Result<(), KmsError>;
    /// Adds a version; `AlreadyExists` if it exists, `NotFound` if the key does not.
    async fn add_version(
        &self,
        key_id: &str,
        version: u32,
        material_sealed: &[u8],
        created_ms: i64,
    ) -> Result<(), KmsError>;
    /// The key with this id (with its newest version).
    async fn get_key(&self, key_id: &str) -> Result<Option<KeyMetadata>, KmsError>;
    /// The key an alias of an account names.
    async fn get_key_by_alias(
        &self,
        account_id: &str,
        alias: &str,
    ) -> Result<Option<KeyMetadata>, KmsError>;
    /// The sealed material of one version.
    async fn get_version(&self, key_id: &str, version: u32) -> Result<Option<Vec<u8>>, KmsError>;
    /// Keys of an account (all when `None`).
    async fn list_keys(&self, account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError>;
    /// Creates an alias; `AlreadyExists` if taken, `NotFound` if the key does not exist.
    async fn create_alias(
        &self,
        account_id: &str,
        alias: &str,
        key_id: &str,
        created_ms: i64,
    ) -> Result<(), KmsError>;
    /// Aliases of an account.
    async fn list_aliases(&self, account_id: &str) -> Result<Vec<AliasEntry>, KmsError>;
    /// Sets a key's state; `NotFound` if there is no such key.
    async fn set_state(&self, key_id: &str, state: KeyState) -> Result<(), KmsError>;
}

const BLOB_MAGIC: &[u8; 3] = b"GHK";
const BLOB_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Cached key versions before the cache is emptied (material is immutable; the bound only limits memory).
const CACHE_MAX: usize = 4096;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The sealing context of a key version's material.
fn material_context(key_id: &str, version: u32) -> Vec<u8> {
    let mut c = b"gatehouse-kms-key-material\0".to_vec();
    c.extend_from_slice(key_id.as_bytes());
    c.push(0);
    c.extend_from_slice(&version.to_be_bytes());
    c
}

/// The embedded KMS backend.
pub struct LocalKms {
    store: Arc<dyn KeyStore>,
    sealer: Arc<dyn KeySealer>,
    cache: Mutex<HashMap<(String, u32), Arc<LessSafeKey>>>,
}

impl std::fmt::Debug for LocalKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("local::LocalKms")
    }
}

impl LocalKms {
    /// A backend over `store`, sealing key material with `sealer`.
    pub fn new(store: Arc<dyn KeyStore>, sealer: Arc<dyn KeySealer>) -> LocalKms {
        LocalKms {
            store,
            sealer,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn find(&self, key: &KeyRef, account_id: &str) -> Result<KeyMetadata, KmsError> {
        let found = match key {
            KeyRef::Id(id) => self.store.get_key(id).await?,
            KeyRef::Alias { name, account } => {
                self.store
                    .get_key_by_alias(account.as_deref().unwrap_or(account_id), name)
                    .await?
            }
        };
        found.ok_or_else(|| KmsError::NotFound(key.to_string()))
    }

    fn usable(meta: &KeyMetadata) -> Result<(), KmsError> {
        match meta.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(KmsError::Disabled(meta.key_id.clone())),
        }
    }

    fn seal_material(&self, key_id: &str, version: u32) -> Result<Vec<u8>, KmsError> {
        let mut material = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(&mut material[..]);
        self.sealer
            .seal(&material[..], &material_context(key_id, version))
    }

    /// The AEAD key of one version (cached: a version's material never changes).
    async fn version_key(&self, key_id: &str, version: u32) -> Result<Arc<LessSafeKey>, KmsError> {
        let cache_key = (key_id.to_owned(), version);
        if let Some(k) = self.lock_cache().get(&cache_key) {
            return Ok(k.clone());
        }
        let sealed = self
            .store
            .get_version(key_id, version)
            .await?
            .ok_or_else(|| KmsError::NotFound(format!("{key_id} version {version}")))?;
        let material = Zeroizing::new(
            self.sealer
                .unseal(&sealed, &material_context(key_id, version))
                .map_err(|e| KmsError::Internal(format!("key {key_id} version {version}: {e}")))?,
        );
        let unbound = UnboundKey::new(&AES_256_GCM, &material)
            .map_err(|_| KmsError::Internal(format!("key {key_id} material is not 32 bytes")))?;
        let key = Arc::new(LessSafeKey::new(unbound));
        let mut cache = self.lock_cache();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(cache_key, key.clone());
        Ok(key)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), Arc<LessSafeKey>>> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts and clears only).
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wraps `plaintext` under version `version` of `key_id`.
    async fn wrap(
        &self,
        key_id: &str,
        version: u32,
        plaintext: &[u8; 32],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let key = self.version_key(key_id, version).await?;
        let id_len = u8::try_from(key_id.len())
            .map_err(|_| KmsError::Internal(format!("key id too long: {key_id}")))?;
        let mut blob = Vec::with_capacity(5 + key_id.len() + 4 + NONCE_LEN + 32 + TAG_LEN);
        blob.extend_from_slice(BLOB_MAGIC);
        blob.push(BLOB_VERSION);
        blob.push(id_len);
        blob.extend_from_slice(key_id.as_bytes());
        blob.extend_from_slice(&version.to_be_bytes());
        let mut aad = blob.clone();
        aad.extend_from_slice(&context_bytes(context));
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        blob.extend_from_slice(&nonce);
        let start = blob.len();
        blob.extend_from_slice(plaintext);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut blob[start..],
            )
            .map_err(|_| KmsError::Internal("wrapping failed".into()))?;
        blob.extend_from_slice(tag.as_ref());
        Ok(blob)
    }

    /// Unwraps a blob: (key id, version, data key).
    async fn unwrap(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<(KeyMetadata, u32, Zeroizing<[u8; 32]>), KmsError> {
        let parsed = parse_blob(wrapped).ok_or(KmsError::InvalidCiphertext)?;
        let meta = self
            .store
            .get_key(parsed.key_id)
            .await?
            .ok_or_else(|| KmsError::NotFound(parsed.key_id.to_owned()))?;
        Self::usable(&meta)?;
        let key = match self.version_key(parsed.key_id, parsed.version).await {
            Ok(k) => k,
            // A version the key never had: the blob is not ours.
            Err(KmsError::NotFound(_)) => return Err(KmsError::InvalidCiphertext),
            Err(e) => return Err(e),
        };
        let mut aad = parsed.header.to_vec();
        aad.extend_from_slice(&context_bytes(context));
        let mut out = Zeroizing::new([0u8; 32]);
        key.open_separate_gather(
            Nonce::try_assume_unique_for_key(parsed.nonce)
                .map_err(|_| KmsError::InvalidCiphertext)?,
            Aad::from(&aad[..]),
            parsed.ciphertext,
            parsed.tag,
            &mut out[..],
        )
        .map_err(|_| KmsError::InvalidCiphertext)?;
        Ok((meta, parsed.version, out))
    }
}

struct ParsedBlob<'a> {
    header: &'a [u8],
    key_id: &'a str,
    version: u32,
    nonce: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

fn parse_blob(b: &[u8]) -> Option<ParsedBlob<'_>> {
    if b.len() < 5 || &b[..3] != BLOB_MAGIC || b[3] != BLOB_VERSION {
        return None;
    }
    let id_len = usize::from(b[4]);
    let header_len = 5 + id_len + 4;
    if b.len() != header_len + NONCE_LEN + 32 + TAG_LEN {
        return None;
    }
    let key_id = std::str::from_utf8(&b[5..5 + id_len]).ok()?;
    let v = &b[5 + id_len..header_len];
    let version = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
    let rest = &b[header_len..];
    Some(ParsedBlob {
        header: &b[..header_len],
        key_id,
        version,
        nonce: &rest[..NONCE_LEN],
        ciphertext: &rest[NONCE_LEN..NONCE_LEN + 32],
        tag: &rest[NONCE_LEN + 32..],
    })
}

#[async_trait]
impl Kms for LocalKms {
    async fn create_key(&self, req: &CreateKeyRequest) -> Result<KeyMetadata, KmsError> {
        let key_id = match &req.key_id {
            Some(id) if valid_id(id) && id.len() <= 255 => id.clone(),
            Some(id) => return Err(KmsError::InvalidArgument(format!("invalid key id: {id}"))),
            None => uuid::Uuid::new_v4().to_string(),
        };
        if let Some(alias) = &req.alias
            && !valid_alias(alias)
        {
            return Err(KmsError::InvalidArgument(format!("invalid alias: {alias}")));
        }
        let meta = KeyMetadata {
            key_id: key_id.clone(),
            account_id: Some(req.account_id.clone()),
            description: req.description.clone(),
            state: KeyState::Enabled,
            created_ms: now_ms(),
            current_version: 1,
        };
        let sealed = self.seal_material(&key_id, 1)?;
        self.store
            .create_key(&meta, &sealed, req.alias.as_deref())
            .await?;
        Ok(meta)
    }

    async fn describe_key(&self, key: &KeyRef, account_id: &str) -> Result<KeyMetadata, KmsError> {
        self.find(key, account_id).await
    }

    async fn list_keys(&self, account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError> {
        self.store.list_keys(account_id).await
    }

    async fn create_alias(
        &self,
        name: &str,
        key: &KeyRef,
        account_id: &str,
    ) -> Result<(), KmsError> {
        if !valid_alias(name) {
            return Err(KmsError::InvalidArgument(format!("invalid alias: {name}")));
        }
        let target = self.find(key, account_id).await?;
        self.store
            .create_alias(account_id, name, &target.key_id, now_ms())
            .await
    }

    async fn resolve(&self, key: &KeyRef, account_id: &str) -> Result<String, KmsError> {
        Ok(self.find(key, account_id).await?.key_id)
    }

    async fn list_aliases(&self, account_id: &str) -> Result<Vec<AliasEntry>, KmsError> {
        self.store.list_aliases(account_id).await
    }

    async fn set_key_enabled(
        &self,
        key: &KeyRef,
        account_id: &str,
        enabled: bool,
    ) -> Result<(), KmsError> {
        let meta = self.find(key, account_id).await?;
        let state = if enabled {
            KeyState::Enabled
        } else {
            KeyState::Disabled
        };
        self.store.set_state(&meta.key_id, state).await
    }

    async fn generate_data_key(
        &self,
        key: &KeyRef,
        account_id: &str,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        let meta = self.find(key, account_id).await?;
        Self::usable(&meta)?;
        let mut plaintext = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(&mut plaintext[..]);
        let wrapped = self
            .wrap(&meta.key_id, meta.current_version, &plaintext, context)
            .await?;
        Ok(DataKey {
            key_id: meta.key_id,
            plaintext,
            wrapped,
        })
    }

    async fn decrypt(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<PlainDataKey, KmsError> {
        let (meta, _, plaintext) = self.unwrap(wrapped, context).await?;
        Ok(PlainDataKey {
            key_id: meta.key_id,
            plaintext,
        })
    }

    async fn rotate_key(&self, key: &KeyRef, account_id: &str) -> Result<u32, KmsError> {
        // Two gateways rotating at once race for the same version number; the loser re-reads and retries.
        for _ in 0..5 {
            let meta = self.find(key, account_id).await?;
            Self::usable(&meta)?;
            let next = meta.current_version + 1;
            let sealed = self.seal_material(&meta.key_id, next)?;
            match self
                .store
                .add_version(&meta.key_id, next, &sealed, now_ms())
                .await
            {
                Ok(()) => return Ok(next),
                Err(KmsError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(KmsError::Unavailable(format!(
            "could not rotate {key}: concurrent rotations"
        )))
    }

    async fn rewrap(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let (meta, version, plaintext) = self.unwrap(wrapped, context).await?;
        if version == meta.current_version {
            return Ok(wrapped.to_vec());
        }
        self.wrap(&meta.key_id, meta.current_version, &plaintext, context)
            .await
    }
}

/// Maps meta's errors: taken names to `AlreadyExists`, database trouble to `Unavailable` (retryable),
/// corrupt rows to `Internal`.
fn meta_err(e: gatehouse_meta::MetaError) -> KmsError {
    use gatehouse_meta::MetaError;
    match e {
        MetaError::AlreadyExists(what) => KmsError::AlreadyExists(what),
        MetaError::Corrupt(what) => KmsError::Internal(what),
        other => KmsError::Unavailable(other.to_string()),
    }
}

fn key_from_row(row: gatehouse_meta::KmsKeyRow) -> Result<KeyMetadata, KmsError> {
    Ok(KeyMetadata {
        state: KeyState::parse(&row.state).ok_or_else(|| {
            KmsError::Internal(format!("key {}: bad state {}", row.key_id, row.state))
        })?,
        current_version: u32::try_from(row.current_version)
            .map_err(|_| KmsError::Internal(format!("key {}: bad version", row.key_id)))?,
        key_id: row.key_id,
        account_id: Some(row.account_id),
        description: row.description,
        created_ms: row.created_ms,
    })
}

#[async_trait]
impl KeyStore for gatehouse_meta::Meta {
    async fn create_key(
        &self,
        key: &KeyMetadata,
        material_sealed: &[u8],
        alias: Option<&str>,
    ) -> Result<(), KmsError> {
        let row = gatehouse_meta::KmsKeyRow {
            key_id: key.key_id.clone(),
            account_id: key.account_id.clone().unwrap_or_default(),
            description: key.description.clone(),
            state: key.state.as_str().to_owned(),
            created_ms: key.created_ms,
            current_version: 1,
        };
        self.kms_create_key(&row, material_sealed, alias)
            .await
            .map_err(meta_err)
    }

    async fn add_version(
        &self,
        key_id: &str,
        version: u32,
        material_sealed: &[u8],
        created_ms: i64,
    ) -> Result<(), KmsError> {
        match self
            .kms_add_key_version(key_id, i64::from(version), material_sealed, created_ms)
            .await
            .map_err(meta_err)?
        {
            true => Ok(()),
            false => Err(KmsError::NotFound(key_id.to_owned())),
        }
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<KeyMetadata>, KmsError> {
        self.kms_get_key(key_id)
            .await
            .map_err(meta_err)?
            .map(key_from_row)
            .transpose()
    }

    async fn get_key_by_alias(
        &self,
        account_id: &str,
        alias: &str,
    ) -> Result<Option<KeyMetadata>, KmsError> {
        self.kms_get_key_by_alias(account_id, alias)
            .await
            .map_err(meta_err)?
            .map(key_from_row)
            .transpose()
    }

    async fn get_version(&self, key_id: &str, version: u32) -> Result<Option<Vec<u8>>, KmsError> {
        self.kms_get_key_version(key_id, i64::from(version))
            .await
            .map_err(meta_err)
    }

    async fn list_keys(&self, account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError> {
        self.kms_list_keys(account_id)
            .await
            .map_err(meta_err)?
            .into_iter()
            .map(key_from_row)
            .collect()
    }

    async fn create_alias(
        &self,
        account_id: &str,
        alias: &str,
        key_id: &str,
        created_ms: i64,
    ) -> Result<(), KmsError> {
        match self
            .kms_create_alias(account_id, alias, key_id, created_ms)
            .await
            .map_err(meta_err)?
        {
            true => Ok(()),
            false => Err(KmsError::NotFound(key_id.to_owned())),
        }
    }

    async fn list_aliases(&self, account_id: &str) -> Result<Vec<AliasEntry>, KmsError> {
        Ok(self
            .kms_list_aliases(account_id)
            .await
            .map_err(meta_err)?
            .into_iter()
            .map(|a| AliasEntry {
                name: a.alias,
                account_id: a.account_id,
                key_id: a.key_id,
            })
            .collect())
    }

    async fn set_state(&self, key_id: &str, state: KeyState) -> Result<(), KmsError> {
        match self
            .kms_set_key_state(key_id, state.as_str())
            .await
            .map_err(meta_err)?
        {
            true => Ok(()),
            false => Err(KmsError::NotFound(key_id.to_owned())),
        }
    }
}

/// An in-memory `KeyStore` (tests, and a gateway running without a database).
#[derive(Default)]
pub struct MemoryKeyStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    keys: HashMap<String, KeyMetadata>,
    versions: HashMap<(String, u32), Vec<u8>>,
    aliases: HashMap<(String, String), String>,
}

impl MemoryKeyStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn create_key(
        &self,
        key: &KeyMetadata,
        material_sealed: &[u8],
        alias: Option<&str>,
    ) -> Result<(), KmsError> {
        let mut m = self.lock();
        let account = key.account_id.clone().unwrap_or_default();
        if m.keys.contains_key(&key.key_id) {
            return Err(KmsError::AlreadyExists(key.key_id.clone()));
        }
        if let Some(a) = alias {
            if m.aliases.contains_key(&(account.clone(), a.to_owned())) {
                return Err(KmsError::AlreadyExists(format!("alias/{a}")));
            }
            m.aliases
                .insert((account, a.to_owned()), key.key_id.clone());
        }
        let mut k = key.clone();
        k.current_version = 1;
        m.keys.insert(key.key_id.clone(), k);
        m.versions
            .insert((key.key_id.clone(), 1), material_sealed.to_vec());
        Ok(())
    }

    async fn add_version(
        &self,
        key_id: &str,
        version: u32,
        material_sealed: &[u8],
        _created_ms: i64,
    ) -> Result<(), KmsError> {
        let mut m = self.lock();
        if m.versions.contains_key(&(key_id.to_owned(), version)) {
            return Err(KmsError::AlreadyExists(format!("{key_id} v{version}")));
        }
        let Some(k) = m.keys.get_mut(key_id) else {
            return Err(KmsError::NotFound(key_id.to_owned()));
        };
        k.current_version = k.current_version.max(version);
        m.versions
            .insert((key_id.to_owned(), version), material_sealed.to_vec());
        Ok(())
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<KeyMetadata>, KmsError> {
        Ok(self.lock().keys.get(key_id).cloned())
    }

    async fn get_key_by_alias(
        &self,
        account_id: &str,
        alias: &str,
    ) -> Result<Option<KeyMetadata>, KmsError> {
        let m = self.lock();
        Ok(m.aliases
            .get(&(account_id.to_owned(), alias.to_owned()))
            .and_then(|id| m.keys.get(id))
            .cloned())
    }

    async fn get_version(&self, key_id: &str, version: u32) -> Result<Option<Vec<u8>>, KmsError> {
        Ok(self
            .lock()
            .versions
            .get(&(key_id.to_owned(), version))
            .cloned())
    }

    async fn list_keys(&self, account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError> {
        let mut keys: Vec<KeyMetadata> = self
            .lock()
            .keys
            .values()
            .filter(|k| account_id.is_none() || k.account_id.as_deref() == account_id)
            .cloned()
            .collect();
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Ok(keys)
    }

    async fn create_alias(
        &self,
        account_id: &str,
        alias: &str,
        key_id: &str,
        _created_ms: i64,
    ) -> Result<(), KmsError> {
        let mut m = self.lock();
        if !m.keys.contains_key(key_id) {
            return Err(KmsError::NotFound(key_id.to_owned()));
        }
        let k = (account_id.to_owned(), alias.to_owned());
        if m.aliases.contains_key(&k) {
            return Err(KmsError::AlreadyExists(format!("alias/{alias}")));
        }
        m.aliases.insert(k, key_id.to_owned());
        Ok(())
    }

    async fn list_aliases(&self, account_id: &str) -> Result<Vec<AliasEntry>, KmsError> {
        let mut out: Vec<AliasEntry> = self
            .lock()
            .aliases
            .iter()
            .filter(|((a, _), _)| a == account_id)
            .map(|((a, n), k)| AliasEntry {
                name: n.clone(),
                account_id: a.clone(),
                key_id: k.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn set_state(&self, key_id: &str, state: KeyState) -> Result<(), KmsError> {
        match self.lock().keys.get_mut(key_id) {
            Some(k) => {
                k.state = state;
                Ok(())
            }
            None => Err(KmsError::NotFound(key_id.to_owned())),
        }
    }
}
