//! Vault / OpenBao transit backend, speaking transit's HTTP API directly (hyper + rustls on aws-lc-rs; see
//! kms/README.md for why not `vaultrs`).
//!
//! A Gatehouse key id `ID` is the transit key `PREFIX + ID` under the configured mount. Data keys come from
//! `datakey/plaintext/NAME` with the canonical encryption context as `associated_data` (so transit itself
//! refuses a wrong context); the wrapped blob is `"GHV" | 1 | id length u8 | key id | transit ciphertext`
//! (`vault:vN:...`, which names the key version, so rotation keeps old blobs readable). Transit's `encrypt`
//! creates missing keys silently; we never call it, and we read the key before every data key so a missing
//! key is `NotFound`, never a new key. Transit has neither aliases nor a disabled state: those operations are
//! `Unsupported`. Nothing is cached: several gateways share the Vault.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::provider::*;

/// How the backend authenticates to Vault.
#[derive(Clone)]
pub enum VaultAuth {
    /// A fixed token (`X-Vault-Token`).
    Token(String),
    /// AppRole login at `auth/MOUNT/login`; the token is renewed by logging in again before it expires.
    AppRole {
        role_id: String,
        secret_id: String,
        /// The AppRole auth mount (usually `approle`).
        mount: String,
    },
}

impl std::fmt::Debug for VaultAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultAuth::Token(_) => f.write_str("Token(..)"),
            VaultAuth::AppRole { role_id, mount, .. } => f
                .debug_struct("AppRole")
                .field("role_id", role_id)
                .field("mount", mount)
                .finish_non_exhaustive(),
        }
    }
}

/// Configuration of the transit backend.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// `http://HOST:PORT` or `https://HOST:PORT`.
    pub addr: String,
    pub auth: VaultAuth,
    /// PEM CA bundle to trust for `https` (the system bundle when `None`).
    pub ca_file: Option<PathBuf>,
    /// Transit mount path (`transit`).
    pub mount: String,
    /// Prefix of the transit key names Gatehouse manages (may be empty).
    pub key_prefix: String,
    /// Per-request timeout (connect and answer); past it the call is `Unavailable`.
    pub timeout: Duration,
}

impl VaultConfig {
    /// A token-authenticated configuration with the defaults (mount `transit`, no prefix, 10 s timeout).
    pub fn with_token(addr: &str, token: &str) -> VaultConfig {
        VaultConfig {
            addr: addr.trim_end_matches('/').to_owned(),
            auth: VaultAuth::Token(token.to_owned()),
            ca_file: None,
            mount: "transit".to_owned(),
            key_prefix: String::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

const BLOB_MAGIC: &[u8; 3] = b"GHV";
const BLOB_VERSION: u8 = 1;
/// System CA bundle used for `https` when no CA file is configured (Debian's path).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Renew an AppRole token this long before its lease ends.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Token {
    value: Zeroizing<String>,
    /// When to log in again (AppRole); `None` for a fixed token.
    renew_at: Option<Instant>,
}

/// The transit backend.
pub struct VaultKms {
    cfg: VaultConfig,
    client: HttpClient,
    token: tokio::sync::Mutex<Option<Arc<Token>>>,
}

impl std::fmt::Debug for VaultKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultKms")
            .field("addr", &self.cfg.addr)
            .field("mount", &self.cfg.mount)
            .finish_non_exhaustive()
    }
}

/// One transit answer: status and JSON body (`Null` when empty).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn errors(&self) -> String {
        match self.body.get("errors") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; "),
            _ => format!("HTTP {}", self.status),
        }
    }
}

fn tls_config(ca_file: Option<&PathBuf>) -> Result<rustls::ClientConfig, KmsError> {
    let path = ca_file
        .cloned()
        .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
    let bad = |e: String| KmsError::Internal(format!("Vault CA file {}: {e}", path.display()));
    let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificates".into()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl VaultKms {
    /// A backend for `cfg`. Reads the CA file (for `https`); does not contact Vault.
    pub fn new(cfg: VaultConfig) -> Result<VaultKms, KmsError> {
        let https = cfg.addr.starts_with("https://");
        if !https && !cfg.addr.starts_with("http://") {
            return Err(KmsError::InvalidArgument(format!(
                "Vault address must be http:// or https://: {}",
                cfg.addr
            )));
        }
        if cfg.mount.is_empty() || cfg.mount.contains("..") {
            return Err(KmsError::InvalidArgument(format!(
                "bad transit mount: {}",
                cfg.mount
            )));
        }
        let tls = if https {
            tls_config(cfg.ca_file.as_ref())?
        } else {
            // Never used for http:// (the connector only wraps https), but the builder wants one.
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| KmsError::Internal(e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(cfg.timeout));
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let connector = if https {
            builder.https_only().enable_http1().wrap_connector(http)
        } else {
            builder.https_or_http().enable_http1().wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(VaultKms {
            cfg,
            client,
            token: tokio::sync::Mutex::new(None),
        })
    }

    fn transit_name(&self, key_id: &str) -> Result<String, KmsError> {
        if !valid_id(key_id) {
            return Err(KmsError::InvalidArgument(format!(
                "invalid key id: {key_id}"
            )));
        }
        Ok(format!("{}{key_id}", self.cfg.key_prefix))
    }

    fn key_id<'a>(&self, key: &'a KeyRef) -> Result<&'a str, KmsError> {
        match key {
            KeyRef::Id(id) => Ok(id),
            KeyRef::Alias { .. } => Err(KmsError::NotFound(format!(
                "{key} (the Vault backend has no aliases)"
            ))),
        }
    }

    /// Sends one request; transport failures and timeouts are `Unavailable`.
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<Answer, KmsError> {
        let uri = format!("{}/v1/{path}", self.cfg.addr);
        let mut req = http::Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("x-vault-token", t);
        }
        let bytes = match body {
            Some(b) => {
                Bytes::from(serde_json::to_vec(b).map_err(|e| KmsError::Internal(e.to_string()))?)
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(bytes))
            .map_err(|e| KmsError::Internal(format!("request {uri}: {e}")))?;
        let fut = async {
            let resp =
                self.client.request(req).await.map_err(|e| {
                    KmsError::Unavailable(format!("Vault at {}: {e}", self.cfg.addr))
                })?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| KmsError::Unavailable(format!("Vault answer: {e}")))?
                .to_bytes();
            let body = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body).unwrap_or(Value::Null)
            };
            Ok::<_, KmsError>(Answer { status, body })
        };
        tokio::time::timeout(self.cfg.timeout, fut)
            .await
            .map_err(|_| {
                KmsError::Unavailable(format!(
                    "Vault at {} did not answer in {:?}",
                    self.cfg.addr, self.cfg.timeout
                ))
            })?
    }

    /// The token to send, logging in (AppRole) when there is none or it is about to expire.
    async fn token(&self, force_login: bool) -> Result<Arc<Token>, KmsError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && !force_login
            && t.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(t.clone());
        }
        let token = match &self.cfg.auth {
            VaultAuth::Token(t) => Token {
                value: Zeroizing::new(t.clone()),
                renew_at: None,
            },
            VaultAuth::AppRole {
                role_id,
                secret_id,
                mount,
            } => {
                let a = self
                    .send(
                        "POST",
                        &format!("auth/{mount}/login"),
                        Some(&json!({"role_id": role_id, "secret_id": secret_id})),
                        None,
                    )
                    .await?;
                if a.status >= 500 {
                    return Err(KmsError::Unavailable(format!(
                        "AppRole login: {}",
                        a.errors()
                    )));
                }
                let auth = a.body.get("auth");
                let Some(value) = auth
                    .and_then(|x| x.get("client_token"))
                    .and_then(Value::as_str)
                else {
                    return Err(KmsError::Internal(format!(
                        "AppRole login failed: {}",
                        a.errors()
                    )));
                };
                let lease = auth
                    .and_then(|x| x.get("lease_duration"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                Token {
                    value: Zeroizing::new(value.to_owned()),
                    renew_at: (lease > 0).then(|| {
                        let lease = Duration::from_secs(lease);
                        Instant::now() + lease.saturating_sub(TOKEN_MARGIN.min(lease / 2))
                    }),
                }
            }
        };
        let token = Arc::new(token);
        *slot = Some(token.clone());
        Ok(token)
    }

    /// An authenticated call; a 403 with AppRole logs in again once (the token may have been revoked).
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, KmsError> {
        let token = self.token(false).await?;
        let a = self.send(method, path, body, Some(&token.value)).await?;
        if a.status == 403 && matches!(self.cfg.auth, VaultAuth::AppRole { .. }) {
            let token = self.token(true).await?;
            return self.send(method, path, body, Some(&token.value)).await;
        }
        Ok(a)
    }

    /// Maps a non-2xx answer. `bad_request` is what a 400 means for this call.
    fn fail(&self, a: &Answer, what: &str, bad_request: KmsError) -> KmsError {
        match a.status {
            404 => KmsError::NotFound(what.to_owned()),
            400 => bad_request,
            403 => KmsError::Internal(format!("Vault denied {what}: {}", a.errors())),
            429 | 500..=599 => KmsError::Unavailable(format!("Vault: {what}: {}", a.errors())),
            _ => KmsError::Internal(format!("Vault: {what}: {}", a.errors())),
        }
    }

    /// Reads a transit key; `NotFound` if it does not exist.
    async fn read_key(&self, key_id: &str) -> Result<KeyMetadata, KmsError> {
        let name = self.transit_name(key_id)?;
        let a = self
            .call("GET", &format!("{}/keys/{name}", self.cfg.mount), None)
            .await?;
        if a.status != 200 {
            let msg = a.errors();
            return Err(self.fail(&a, key_id, KmsError::InvalidArgument(msg)));
        }
        let data = a.body.get("data").cloned().unwrap_or(Value::Null);
        if data.get("soft_deleted").and_then(Value::as_bool) == Some(true) {
            return Err(KmsError::InvalidState(format!(
                "transit key {name} is deleted"
            )));
        }
        if data.get("supports_encryption").and_then(Value::as_bool) == Some(false) {
            return Err(KmsError::InvalidState(format!(
                "transit key {name} cannot encrypt"
            )));
        }
        let version = data
            .get("latest_version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| KmsError::Internal(format!("transit key {name}: no latest_version")))?;
        let created_ms = data
            .get("keys")
            .and_then(|k| k.get("1"))
            .and_then(Value::as_i64)
            .map_or(0, |s| s * 1000);
        Ok(KeyMetadata {
            key_id: key_id.to_owned(),
            account_id: None,
            description: String::new(),
            state: KeyState::Enabled,
            created_ms,
            current_version: version,
        })
    }

    fn blob(key_id: &str, ciphertext: &str) -> Result<Vec<u8>, KmsError> {
        let id_len = u8::try_from(key_id.len())
            .map_err(|_| KmsError::Internal(format!("key id too long: {key_id}")))?;
        let mut b = Vec::with_capacity(5 + key_id.len() + ciphertext.len());
        b.extend_from_slice(BLOB_MAGIC);
        b.push(BLOB_VERSION);
        b.push(id_len);
        b.extend_from_slice(key_id.as_bytes());
        b.extend_from_slice(ciphertext.as_bytes());
        Ok(b)
    }

    fn parse_blob(b: &[u8]) -> Result<(&str, &str), KmsError> {
        let bad = || KmsError::InvalidCiphertext;
        if b.len() < 5 || &b[..3] != BLOB_MAGIC || b[3] != BLOB_VERSION {
            return Err(bad());
        }
        let id_end = 5 + usize::from(b[4]);
        let key_id = std::str::from_utf8(b.get(5..id_end).ok_or_else(bad)?).map_err(|_| bad())?;
        let ct = std::str::from_utf8(&b[id_end..]).map_err(|_| bad())?;
        if !valid_id(key_id) || !ct.starts_with("vault:v") {
            return Err(bad());
        }
        Ok((key_id, ct))
    }

    /// Transit decrypt of a blob: (key id, plaintext).
    async fn unwrap(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<(String, Zeroizing<[u8; 32]>), KmsError> {
        let (key_id, ct) = Self::parse_blob(wrapped)?;
        let name = self.transit_name(key_id)?;
        let a = self
            .call(
                "POST",
                &format!("{}/decrypt/{name}", self.cfg.mount),
                Some(&json!({"ciphertext": ct, "associated_data": B64.encode(context_bytes(context))})),
            )
            .await?;
        if a.status == 400 {
            // Transit answers 400 both for a bad ciphertext and for a missing key; only the failure path
            // pays for telling them apart.
            return Err(match self.read_key(key_id).await {
                Err(e @ (KmsError::NotFound(_) | KmsError::Unavailable(_))) => e,
                _ => KmsError::InvalidCiphertext,
            });
        }
        if a.status != 200 {
            return Err(self.fail(&a, key_id, KmsError::InvalidCiphertext));
        }
        let plain = a
            .body
            .pointer("/data/plaintext")
            .and_then(Value::as_str)
            .ok_or(KmsError::InvalidCiphertext)?;
        let bytes = Zeroizing::new(B64.decode(plain).map_err(|_| KmsError::InvalidCiphertext)?);
        Ok((key_id.to_owned(), key32(&bytes)?))
    }
}

#[async_trait]
impl Kms for VaultKms {
    async fn create_key(&self, req: &CreateKeyRequest) -> Result<KeyMetadata, KmsError> {
        if req.alias.is_some() {
            return Err(KmsError::Unsupported("aliases".into()));
        }
        let key_id = req
            .key_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let name = self.transit_name(&key_id)?;
        // Transit's create is idempotent; refuse an existing key the way AWS refuses a taken id.
        match self.read_key(&key_id).await {
            Ok(_) => return Err(KmsError::AlreadyExists(key_id)),
            Err(KmsError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let a = self
            .call(
                "POST",
                &format!("{}/keys/{name}", self.cfg.mount),
                Some(&json!({"type": "aes256-gcm96"})),
            )
            .await?;
        if !(200..300).contains(&a.status) {
            let msg = a.errors();
            return Err(self.fail(&a, &key_id, KmsError::InvalidArgument(msg)));
        }
        self.read_key(&key_id).await
    }

    async fn describe_key(&self, key: &KeyRef, _account_id: &str) -> Result<KeyMetadata, KmsError> {
        self.read_key(self.key_id(key)?).await
    }

    async fn list_keys(&self, _account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError> {
        let a = self
            .call("LIST", &format!("{}/keys", self.cfg.mount), None)
            .await?;
        if a.status == 404 {
            return Ok(Vec::new());
        }
        if a.status != 200 {
            let msg = a.errors();
            return Err(self.fail(&a, "key list", KmsError::Internal(msg)));
        }
        let mut out = Vec::new();
        let names = a
            .body
            .pointer("/data/keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for name in names.iter().filter_map(Value::as_str) {
            if let Some(id) = name.strip_prefix(self.cfg.key_prefix.as_str())
                && valid_id(id)
            {
                match self.read_key(id).await {
                    Ok(m) => out.push(m),
                    Err(KmsError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        out.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        Ok(out)
    }

    async fn create_alias(
        &self,
        _name: &str,
        _key: &KeyRef,
        _account_id: &str,
    ) -> Result<(), KmsError> {
        Err(KmsError::Unsupported("aliases".into()))
    }

    async fn resolve(&self, key: &KeyRef, _account_id: &str) -> Result<String, KmsError> {
        Ok(self.read_key(self.key_id(key)?).await?.key_id)
    }

    async fn list_aliases(&self, _account_id: &str) -> Result<Vec<AliasEntry>, KmsError> {
        Ok(Vec::new())
    }

    async fn set_key_enabled(
        &self,
        _key: &KeyRef,
        _account_id: &str,
        _enabled: bool,
    ) -> Result<(), KmsError> {
        Err(KmsError::Unsupported(
            "enabling/disabling transit keys".into(),
        ))
    }

    async fn generate_data_key(
        &self,
        key: &KeyRef,
        _account_id: &str,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        let key_id = self.key_id(key)?;
        // Existence first: never let transit create a key on our behalf.
        self.read_key(key_id).await?;
        let name = self.transit_name(key_id)?;
        let a = self
            .call(
                "POST",
                &format!("{}/datakey/plaintext/{name}", self.cfg.mount),
                Some(&json!({"bits": 256, "associated_data": B64.encode(context_bytes(context))})),
            )
            .await?;
        if a.status != 200 {
            let msg = a.errors();
            return Err(self.fail(&a, key_id, KmsError::InvalidState(msg)));
        }
        let plain = a.body.pointer("/data/plaintext").and_then(Value::as_str);
        let ct = a.body.pointer("/data/ciphertext").and_then(Value::as_str);
        let (Some(plain), Some(ct)) = (plain, ct) else {
            return Err(KmsError::Internal(
                "transit datakey: no plaintext/ciphertext".into(),
            ));
        };
        let bytes = Zeroizing::new(
            B64.decode(plain)
                .map_err(|_| KmsError::Internal("transit datakey: bad base64".into()))?,
        );
        let plaintext = key32(&bytes)
            .map_err(|_| KmsError::Internal("transit datakey is not 256 bits".into()))?;
        Ok(DataKey {
            key_id: key_id.to_owned(),
            plaintext,
            wrapped: Self::blob(key_id, ct)?,
        })
    }

    async fn decrypt(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<PlainDataKey, KmsError> {
        let (key_id, plaintext) = self.unwrap(wrapped, context).await?;
        Ok(PlainDataKey { key_id, plaintext })
    }

    async fn rotate_key(&self, key: &KeyRef, _account_id: &str) -> Result<u32, KmsError> {
        let key_id = self.key_id(key)?;
        self.read_key(key_id).await?;
        let name = self.transit_name(key_id)?;
        let a = self
            .call(
                "POST",
                &format!("{}/keys/{name}/rotate", self.cfg.mount),
                None,
            )
            .await?;
        if !(200..300).contains(&a.status) {
            let msg = a.errors();
            return Err(self.fail(&a, key_id, KmsError::InvalidState(msg)));
        }
        Ok(self.read_key(key_id).await?.current_version)
    }

    /// Transit's `rewrap` does not take `associated_data` (OpenBao 2.7 fails every AD-bound ciphertext with
    /// "message authentication failed"), so this is decrypt + encrypt under the newest version, both with
    /// the context bound. The key is read first: `encrypt` would create a missing key.
    async fn rewrap(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let (key_id, ct) = Self::parse_blob(wrapped)?;
        let (key_id, ct) = (key_id.to_owned(), ct.to_owned());
        let (_, plaintext) = self.unwrap(wrapped, context).await?;
        let meta = self.read_key(&key_id).await?;
        if ct.starts_with(&format!("vault:v{}:", meta.current_version)) {
            return Ok(wrapped.to_vec());
        }
        let name = self.transit_name(&key_id)?;
        let a = self
            .call(
                "POST",
                &format!("{}/encrypt/{name}", self.cfg.mount),
                Some(&json!({
                    "plaintext": B64.encode(&plaintext[..]),
                    "associated_data": B64.encode(context_bytes(context)),
                })),
            )
            .await?;
        if a.status != 200 {
            let msg = a.errors();
            return Err(self.fail(&a, &key_id, KmsError::InvalidState(msg)));
        }
        let new = a
            .body
            .pointer("/data/ciphertext")
            .and_then(Value::as_str)
            .ok_or_else(|| KmsError::Internal("transit encrypt: no ciphertext".into()))?;
        Self::blob(&key_id, new)
    }
}
