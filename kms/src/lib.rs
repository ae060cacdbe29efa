//! Key management. `server_key`: the deployment's server keyring, which seals the server's own secrets
//! (access-key secrets in `meta`; STS session keys and SSE-S3 data keys later). The SSE `Kms` backends (local
//! and Vault/OpenBao transit) and the object envelope live in their own modules.

pub mod cache;
pub mod counted;
pub mod envelope;
pub mod local;
pub mod provider;
pub mod vault;

use std::io;

pub mod server_key;
pub use server_key::{Fingerprint, KeySource, ServerKeyring};

/// Errors of the server keyring.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    #[error("key file {path}: {source}")]
    KeyFile { path: String, source: io::Error },
    #[error("bad server key: {0}")]
    BadServerKey(String),
    #[error("key file {0} is readable by group or others (mode must be 0600)")]
    InsecureKeyFile(String),
    #[error("sealing failed")]
    Seal,
    #[error("sealed value is corrupt or was sealed under another key or context")]
    Unseal,
    /// The value was sealed by a server key this process does not hold (fingerprint).
    #[error("sealed by server key {0}, which this process does not hold")]
    UnknownServerKey(String),
}
