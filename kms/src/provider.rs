//! The `Kms` trait that SSE-KMS (and the admin commands) call, its types and its error table.
//!
//! A key is named by a [`KeyRef`]: a key id, `alias/NAME`, or an ARN `arn:aws:kms:REGION:ACCOUNT:key/ID` /
//! `arn:aws:kms:REGION:ACCOUNT:alias/NAME`, as in AWS. Keys are global to the deployment (a key id is
//! unique); aliases belong to an account, so an alias resolves in the account the ARN names or else in the
//! caller's. Data keys are 256-bit and wrapped under the key's current version with the encryption context
//! bound (AAD / transit `associated_data`); the wrapped blob names its backend, key and version, so a blob
//! stays decryptable after rotation and always says which key it needs.

use std::collections::BTreeMap;

use async_trait::async_trait;
use zeroize::Zeroizing;

/// Errors of a `Kms` backend. Each variant names the AWS KMS error code the gateway sends (S3 prefixes it
/// with `KMS.`, e.g. `KMS.NotFoundException`) and its HTTP status ([`KmsError::aws_code`],
/// [`KmsError::http_status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// `NotFoundException` (400): no such key, alias or key version.
    #[error("key not found: {0}")]
    NotFound(String),
    /// `DisabledException` (400): the key exists but is disabled.
    #[error("key is disabled: {0}")]
    Disabled(String),
    /// `InvalidCiphertextException` (400): a wrapped key is corrupt, tampered, was wrapped under another key
    /// or under another encryption context.
    #[error("invalid ciphertext")]
    InvalidCiphertext,
    /// `KMSInvalidStateException` (400): the key cannot be used for this (e.g. a transit key of the wrong
    /// type, or one that cannot make data keys).
    #[error("key is in an invalid state: {0}")]
    InvalidState(String),
    /// `AlreadyExistsException` (400): the key id or alias is taken.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// `ValidationException` (400; S3 answers `InvalidArgument`): a malformed key id, alias or ARN.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `UnsupportedOperationException` (400): the backend cannot do this (aliases on Vault transit).
    #[error("unsupported by this KMS backend: {0}")]
    Unsupported(String),
    /// `DependencyTimeoutException` (503): the backend (Vault/OpenBao, the database) is unreachable or
    /// timed out; retrying later may succeed.
    #[error("KMS unavailable: {0}")]
    Unavailable(String),
    /// `KMSInternalException` (500): anything else (corrupt key material, unexpected backend answers).
    #[error("KMS internal error: {0}")]
    Internal(String),
}

impl KmsError {
    /// The AWS KMS error code for this error.
    pub fn aws_code(&self) -> &'static str {
        match self {
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidCiphertext => "InvalidCiphertextException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::InvalidArgument(_) => "ValidationException",
            KmsError::Unsupported(_) => "UnsupportedOperationException",
            KmsError::Unavailable(_) => "DependencyTimeoutException",
            KmsError::Internal(_) => "KMSInternalException",
        }
    }

    /// The HTTP status AWS answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            KmsError::Unavailable(_) => 503,
            KmsError::Internal(_) => 500,
            _ => 400,
        }
    }
}

/// The server keyring's errors (a `KeySealer` that cannot unseal key material): internal, never a client's fault.
impl From<crate::KmsError> for KmsError {
    fn from(e: crate::KmsError) -> Self {
        KmsError::Internal(e.to_string())
    }
}

impl From<crate::envelope::EnvelopeError> for KmsError {
    fn from(e: crate::envelope::EnvelopeError) -> Self {
        KmsError::Internal(e.to_string())
    }
}

/// A reference to a key as a client gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyRef {
    /// A key id (from a bare id or a `key/ID` ARN).
    Id(String),
    /// An alias name without the `alias/` prefix; `account` when an ARN named it.
    Alias {
        name: String,
        account: Option<String>,
    },
}

/// Longest accepted key id or alias name.
const MAX_NAME: usize = 256;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
}

impl KeyRef {
    /// Parses a key id, `alias/NAME` or a KMS key/alias ARN.
    pub fn parse(s: &str) -> Result<KeyRef, KmsError> {
        let bad = || KmsError::InvalidArgument(format!("invalid KMS key id, alias or ARN: {s}"));
        if let Some(rest) = s.strip_prefix("arn:") {
            // arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_partition, service, _region, account, resource] = parts[..] else {
                return Err(bad());
            };
            if service != "kms"
                || account.len() != 12
                || !account.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            return if let Some(id) = resource.strip_prefix("key/") {
                valid_id(id)
                    .then(|| KeyRef::Id(id.to_owned()))
                    .ok_or_else(bad)
            } else if let Some(name) = resource.strip_prefix("alias/") {
                valid_alias(name)
                    .then(|| KeyRef::Alias {
                        name: name.to_owned(),
                        account: Some(account.to_owned()),
                    })
                    .ok_or_else(bad)
            } else {
                Err(bad())
            };
        }
        if let Some(name) = s.strip_prefix("alias/") {
            return valid_alias(name)
                .then(|| KeyRef::Alias {
                    name: name.to_owned(),
                    account: None,
                })
                .ok_or_else(bad);
        }
        valid_id(s)
            .then(|| KeyRef::Id(s.to_owned()))
            .ok_or_else(bad)
    }
}

impl std::fmt::Display for KeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Id(id) => f.write_str(id),
            KeyRef::Alias { name, .. } => write!(f, "alias/{name}"),
        }
    }
}

/// Whether `id` is acceptable as a key id: letters, digits, `-` and `_` (UUIDs, or names an operator
/// chose, such as `testkey-1`).
pub fn valid_id(id: &str) -> bool {
    valid_name(id) && !id.contains('/')
}

/// Whether `name` (without `alias/`) is acceptable as an alias: letters, digits, `-`, `_` and `/`; names
/// starting with `aws/` are AWS's own and refused.
pub fn valid_alias(name: &str) -> bool {
    valid_name(name) && !name.starts_with("aws/")
}

/// An encryption context: string pairs bound to a wrapped data key. Sorted, so its serialisation is
/// canonical whatever order the client sent.
pub type EncryptionContext = BTreeMap<String, String>;

/// The canonical bytes of a context (used as AAD): for each pair in key order, the key's and the value's
/// lengths (u32 BE) and bytes.
pub fn context_bytes(context: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Whether a key can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Enabled,
    Disabled,
}

impl KeyState {
    /// The name AWS shows (`Enabled`, `Disabled`).
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
        }
    }

    /// Parses `as_str`'s names.
    pub fn parse(s: &str) -> Option<KeyState> {
        match s {
            "Enabled" => Some(KeyState::Enabled),
            "Disabled" => Some(KeyState::Disabled),
            _ => None,
        }
    }
}

/// What DescribeKey / ListKeys show of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMetadata {
    /// The key id.
    pub key_id: String,
    /// The owning account (None for Vault keys, which record none).
    pub account_id: Option<String>,
    pub description: String,
    pub state: KeyState,
    /// Creation time, ms since the epoch (0 when the backend does not say).
    pub created_ms: i64,
    /// The newest key version (data keys are wrapped under it).
    pub current_version: u32,
}

impl KeyMetadata {
    /// The key's ARN in `region`, owned by its account (or `default_account` when it records none).
    pub fn arn(&self, region: &str, default_account: &str) -> String {
        let account = self.account_id.as_deref().unwrap_or(default_account);
        format!("arn:aws:kms:{region}:{account}:key/{}", self.key_id)
    }
}

/// An alias and the key it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// Alias name without `alias/`.
    pub name: String,
    pub account_id: String,
    pub key_id: String,
}

/// What to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateKeyRequest {
    /// The owning account (12 digits).
    pub account_id: String,
    pub description: String,
    /// An alias to create with the key (without `alias/`), in the owning account.
    pub alias: Option<String>,
    /// A key id chosen by the operator (admin command, e.g. `testkey-1`); a random UUID otherwise.
    pub key_id: Option<String>,
}

/// A fresh data key: the plaintext for the envelope (wiped on drop) and its wrapped form for the index.
pub struct DataKey {
    /// The key that wrapped it.
    pub key_id: String,
    /// 32 bytes.
    pub plaintext: Zeroizing<[u8; 32]>,
    /// The wrapped key (self-describing blob; store it with the object).
    pub wrapped: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("key_id", &self.key_id)
            .field("wrapped_len", &self.wrapped.len())
            .finish_non_exhaustive()
    }
}

/// An unwrapped data key.
pub struct PlainDataKey {
    /// The key that had wrapped it.
    pub key_id: String,
    /// 32 bytes.
    pub plaintext: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PlainDataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainDataKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Turns an unwrapped value into a 32-byte key, refusing any other length (never an empty or short key).
pub(crate) fn key32(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, KmsError> {
    let mut k = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(KmsError::InvalidCiphertext);
    }
    k.copy_from_slice(bytes);
    Ok(k)
}

/// A key-management backend. `account_id` is the caller's account: aliases resolve in it unless an ARN
/// names another, and keys are created in it. Object-safe: hold it as `Arc<dyn Kms>`.
#[async_trait]
pub trait Kms: Send + Sync {
    /// Creates a key (and its alias, if asked).
    async fn create_key(&self, req: &CreateKeyRequest) -> Result<KeyMetadata, KmsError>;

    /// Describes a key.
    async fn describe_key(&self, key: &KeyRef, account_id: &str) -> Result<KeyMetadata, KmsError>;

    /// Lists keys owned by `account_id` (all keys when `None`: admin).
    async fn list_keys(&self, account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError>;

    /// Creates alias `name` (without `alias/`) in `account_id` for `key`.
    async fn create_alias(
        &self,
        name: &str,
        key: &KeyRef,
        account_id: &str,
    ) -> Result<(), KmsError>;

    /// The key id `key` names (resolving an alias).
    async fn resolve(&self, key: &KeyRef, account_id: &str) -> Result<String, KmsError>;

    /// Lists the aliases of `account_id`.
    async fn list_aliases(&self, account_id: &str) -> Result<Vec<AliasEntry>, KmsError>;

    /// Enables or disables a key (a disabled key neither makes nor unwraps data keys).
    async fn set_key_enabled(
        &self,
        key: &KeyRef,
        account_id: &str,
        enabled: bool,
    ) -> Result<(), KmsError>;

    /// A fresh 256-bit data key wrapped under `key`'s newest version with `context` bound.
    async fn generate_data_key(
        &self,
        key: &KeyRef,
        account_id: &str,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError>;

    /// Unwraps a data key made by `generate_data_key` with the same context. Wrong context, wrong key or a
    /// damaged blob: `InvalidCiphertext` (or `NotFound`/`Disabled` for the key the blob names).
    async fn decrypt(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<PlainDataKey, KmsError>;

    /// Adds a key version; new data keys are wrapped under it, old blobs stay decryptable. Returns it.
    async fn rotate_key(&self, key: &KeyRef, account_id: &str) -> Result<u32, KmsError>;

    /// Re-wraps a wrapped data key under the newest version of the same key (same context).
    async fn rewrap(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_refs() {
        assert_eq!(
            KeyRef::parse("abc-1").expect("id"),
            KeyRef::Id("abc-1".into())
        );
        assert_eq!(
            KeyRef::parse("alias/my/key").expect("alias"),
            KeyRef::Alias {
                name: "my/key".into(),
                account: None
            }
        );
        assert_eq!(
            KeyRef::parse("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab").expect("arn"),
            KeyRef::Id("1234abcd-12ab".into())
        );
        assert_eq!(
            KeyRef::parse("arn:aws:kms:us-east-1:123456789012:alias/x").expect("alias arn"),
            KeyRef::Alias {
                name: "x".into(),
                account: Some("123456789012".into())
            }
        );
        for bad in [
            "",
            "alias/",
            "alias/aws/s3",
            "a b",
            "a/b",
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-east-1:12:key/x",
            "arn:aws:kms:us-east-1:123456789012:thing/x",
            "arn:aws:kms:us-east-1:123456789012:key/",
        ] {
            assert!(KeyRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn context_is_canonical() {
        let mut a = EncryptionContext::new();
        a.insert("b".into(), "2".into());
        a.insert("a".into(), "1".into());
        let mut b = EncryptionContext::new();
        b.insert("a".into(), "1".into());
        b.insert("b".into(), "2".into());
        assert_eq!(context_bytes(&a), context_bytes(&b));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        let one: EncryptionContext = [("ab".to_string(), "c".to_string())].into();
        let two: EncryptionContext = [("a".to_string(), "bc".to_string())].into();
        assert_ne!(context_bytes(&one), context_bytes(&two));
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            KmsError::NotFound("k".into()).aws_code(),
            "NotFoundException"
        );
        assert_eq!(KmsError::Unavailable("x".into()).http_status(), 503);
        assert_eq!(KmsError::InvalidCiphertext.http_status(), 400);
    }
}
