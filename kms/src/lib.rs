//! Key management: the server's local master key (a key file created 0600 on first start) used to seal
//! secrets at rest (access-key secrets in `meta`) and, later, to wrap SSE data keys. A Vault/OpenBao transit
//! backend joins it with the SSE issue.

pub mod envelope;
pub mod local;
pub mod provider;
pub mod vault;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rand::RngCore;

/// Errors of the key manager.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    #[error("key file {path}: {source}")]
    KeyFile { path: String, source: io::Error },
    #[error("key file {0} is not 32 bytes")]
    BadKeyFile(String),
    #[error("key file {0} is readable by group or others (mode must be 0600)")]
    InsecureKeyFile(String),
    #[error("sealed value is corrupt or was sealed under another key or context")]
    Unseal,
}

const VERSION: u8 = 1;

/// The local master key.
pub struct LocalKms {
    key: LessSafeKey,
}

impl std::fmt::Debug for LocalKms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKms")
    }
}

impl LocalKms {
    /// Opens the key file, creating it with 32 random bytes and mode 0600 if it does not exist.
    pub fn open_or_create(path: &Path) -> Result<LocalKms, KmsError> {
        let err = |source| KmsError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        let bytes = match fs::read(path) {
            Ok(b) => {
                let mode = fs::metadata(path).map_err(err)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(KmsError::InsecureKeyFile(path.display().to_string()));
                }
                b
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(err)?;
                f.write_all(&key).map_err(err)?;
                f.sync_all().map_err(err)?;
                key.to_vec()
            }
            Err(e) => return Err(err(e)),
        };
        Self::from_bytes(&bytes).ok_or_else(|| KmsError::BadKeyFile(path.display().to_string()))
    }

    /// A key from raw bytes (32).
    pub fn from_bytes(bytes: &[u8]) -> Option<LocalKms> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).ok()?;
        Some(LocalKms {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plaintext` bound to `context` (AAD): version byte, random nonce, ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut buf = plaintext.to_vec();
        // Sealing with a valid key and in-memory buffer cannot fail.
        if self
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buf,
            )
            .is_err()
        {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out
    }

    /// Opens a value made by `seal` with the same context.
    pub fn unseal(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        if sealed.len() < 1 + NONCE_LEN + AES_256_GCM.tag_len() || sealed[0] != VERSION {
            return Err(KmsError::Unseal);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN])
            .map_err(|_| KmsError::Unseal)?;
        let mut buf = sealed[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| KmsError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let a = LocalKms::open_or_create(&path).expect("create");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = a.seal(b"secret", b"ctx");
        let b = LocalKms::open_or_create(&path).expect("reopen");
        assert_eq!(b.unseal(&sealed, b"ctx").expect("unseal"), b"secret");
        assert!(b.unseal(&sealed, b"other").is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(b.unseal(&tampered, b"ctx").is_err());
        assert!(b.unseal(&[], b"ctx").is_err());
    }

    #[test]
    fn insecure_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        LocalKms::open_or_create(&path).expect("create");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            LocalKms::open_or_create(&path),
            Err(KmsError::InsecureKeyFile(_))
        ));
    }
}
