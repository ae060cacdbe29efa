//! The server key: the AES-256-GCM key(s) that seal the server's own secrets (access-key secrets now, STS
//! session keys and SSE-S3 data keys later). One piece of configuration shared by every gateway and admin
//! command of a deployment: a key file or the `GATEHOUSE_SERVER_KEY` environment variable.
//!
//! A keyring holds one or more keys. The first seals; every key opens. Rotation puts a new key first and keeps
//! the old ones, so values sealed before still open. Each sealed value names the key that sealed it by its
//! fingerprint, so opening never guesses. The fingerprint is HMAC-SHA256(key, label), cut to 8 bytes: it
//! identifies a key and reveals nothing of it, so it can be stored in the database and printed in messages.
//!
//! Key file format (text, mode 0600): one key per line, each 32 bytes in standard base64 (`openssl rand
//! -base64 32` makes one); blank lines and `#` comments are ignored; the first key seals. A 32-byte binary
//! file (the data directory's `master.key` of earlier versions) is read as a one-key ring.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;

use crate::KmsError;

/// Sealed values of earlier versions: no key fingerprint; every key of the ring is tried.
const V1: u8 = 1;
/// Sealed values naming their key: `[2][fingerprint 8][nonce 12][ciphertext + tag]`.
const V2: u8 = 2;
const FP_LEN: usize = 8;
const KEY_LEN: usize = 32;
const FINGERPRINT_LABEL: &[u8] = b"gatehouse:server-key-fingerprint:v1";

/// A key's fingerprint (its key check value): names the key, reveals nothing of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; FP_LEN]);

impl Fingerprint {
    /// The fingerprint as 16 lower-case hex digits (the form stored in the database and shown to operators).
    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

struct RingKey {
    fingerprint: Fingerprint,
    aead: LessSafeKey,
}

/// Where a keyring came from (for messages, and for re-reading a rotated key file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file.
    File(PathBuf),
    /// The `GATEHOUSE_SERVER_KEY` environment variable.
    Env,
    /// Built in memory (tests).
    Memory,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "key file {}", p.display()),
            KeySource::Env => f.write_str("GATEHOUSE_SERVER_KEY"),
            KeySource::Memory => f.write_str("in-memory key"),
        }
    }
}

/// The server keyring: the first key seals, every key opens.
pub struct ServerKeyring {
    keys: Vec<RingKey>,
    source: KeySource,
}

impl std::fmt::Debug for ServerKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeyring")
            .field("fingerprints", &self.fingerprints())
            .field("source", &self.source)
            .finish()
    }
}

/// 32 fresh random key bytes.
pub fn generate_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

/// The text form of one key (a key file line, or the environment variable's value).
pub fn encode_key(key: &[u8; KEY_LEN]) -> String {
    B64.encode(key)
}

fn fingerprint_of(key: &[u8]) -> Fingerprint {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), FINGERPRINT_LABEL);
    let mut fp = [0u8; FP_LEN];
    fp.copy_from_slice(&tag.as_ref()[..FP_LEN]);
    Fingerprint(fp)
}

/// One key of a key file: the key itself, or the key wrapped by a KMS (Vault transit): a line
/// `vault:BASE64` that only a process with the Vault configuration can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEntry {
    Plain(Vec<u8>),
    Wrapped(Vec<u8>),
}

/// The prefix of a key-file line holding a key wrapped by Vault transit.
pub const WRAPPED_PREFIX: &str = "vault:";

/// Parses key text into entries: keys separated by newlines or commas, `#` comments, blank entries ignored.
fn parse_entries(text: &str, what: &str) -> Result<Vec<KeyEntry>, KmsError> {
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for item in line.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            if let Some(w) = item.strip_prefix(WRAPPED_PREFIX) {
                let bytes = B64.decode(w).map_err(|_| {
                    KmsError::BadServerKey(format!("{what}: a wrapped key is not base64"))
                })?;
                keys.push(KeyEntry::Wrapped(bytes));
                continue;
            }
            let bytes = B64.decode(item).map_err(|_| {
                KmsError::BadServerKey(format!(
                    "{what}: an entry is not base64 (expected 32 bytes in base64)"
                ))
            })?;
            if bytes.len() != KEY_LEN {
                return Err(KmsError::BadServerKey(format!(
                    "{what}: a key is {} bytes, expected {KEY_LEN}",
                    bytes.len()
                )));
            }
            keys.push(KeyEntry::Plain(bytes));
        }
    }
    if keys.is_empty() {
        return Err(KmsError::BadServerKey(format!("{what}: no key in it")));
    }
    Ok(keys)
}

/// Parses key text whose keys must all be plain.
fn parse_keys(text: &str, what: &str) -> Result<Vec<Vec<u8>>, KmsError> {
    parse_entries(text, what)?
        .into_iter()
        .map(|e| match e {
            KeyEntry::Plain(k) => Ok(k),
            KeyEntry::Wrapped(_) => Err(KmsError::BadServerKey(format!(
                "{what} holds Vault-wrapped keys: this process needs the Vault configuration (vault_addr, \
                 vault_token or AppRole ids, vault_ca) to open them"
            ))),
        })
        .collect()
}

/// Reads a key file's entries (refusing one readable by group or others), plain or wrapped.
pub fn read_key_file(path: &Path) -> Result<Vec<KeyEntry>, KmsError> {
    let err = key_file_error(path);
    let bytes = fs::read(path).map_err(&err)?;
    let mode = fs::metadata(path).map_err(&err)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KmsError::InsecureKeyFile(path.display().to_string()));
    }
    // The binary key file of earlier versions is 32 raw bytes; a text key file holding a key is at least
    // 44 bytes (one key in base64), so the length tells them apart.
    if bytes.len() == KEY_LEN {
        return Ok(vec![KeyEntry::Plain(bytes)]);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        KmsError::BadServerKey(format!(
            "key file {}: neither base64 text nor a 32-byte binary key",
            path.display()
        ))
    })?;
    parse_entries(text, &format!("key file {}", path.display()))
}

/// Writes a new key file (mode 0600; never over an existing file) holding these entries, the first sealing.
pub fn create_key_file(path: &Path, entries: &[KeyEntry]) -> Result<(), KmsError> {
    write_key_file(path, &key_file_text(entries, ""), false)
}

/// Writes the key file anew with `first` before its current entries (rotation).
pub fn prepend_to_key_file(path: &Path, first: &KeyEntry) -> Result<(), KmsError> {
    let mut entries = vec![first.clone()];
    entries.extend(read_key_file(path)?);
    write_key_file(path, &key_file_text(&entries, " Rotated."), true)
}

fn key_file_text(entries: &[KeyEntry], note: &str) -> String {
    let mut text = format!(
        "# Gatehouse server key: the first key seals, every key opens. Keep this file 0600 and identical\n\
         # on every gateway and admin command of the deployment.{note}\n"
    );
    for e in entries {
        match e {
            KeyEntry::Plain(k) => text.push_str(&B64.encode(k)),
            KeyEntry::Wrapped(w) => {
                text.push_str(WRAPPED_PREFIX);
                text.push_str(&B64.encode(w));
            }
        }
        text.push('\n');
    }
    text
}

fn key_file_error(path: &Path) -> impl Fn(io::Error) -> KmsError + '_ {
    move |source| KmsError::KeyFile {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `text` to a new file at `path` (mode 0600) atomically: a temporary file in the same directory,
/// fsynced, renamed over `path`, directory fsynced. With `replace` false an existing file is an error.
fn write_key_file(path: &Path, text: &str, replace: bool) -> Result<(), KmsError> {
    let err = key_file_error(path);
    if !replace && path.exists() {
        return Err(err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "file exists",
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("server.key"),
        hex_random()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if replace {
            fs::rename(&tmp, path)?;
        } else {
            // hard_link fails if `path` appeared meanwhile: never overwrite a key someone else just wrote.
            fs::hard_link(&tmp, path)?;
            fs::remove_file(&tmp)?;
        }
        fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

fn hex_random() -> String {
    let mut b = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ServerKeyring {
    /// A keyring from raw keys (the first seals). Every key must be 32 bytes.
    pub fn from_keys(keys: &[Vec<u8>], source: KeySource) -> Result<ServerKeyring, KmsError> {
        if keys.is_empty() {
            return Err(KmsError::BadServerKey(format!("{source}: no key")));
        }
        let mut ring = Vec::with_capacity(keys.len());
        for k in keys {
            let unbound = UnboundKey::new(&AES_256_GCM, k).map_err(|_| {
                KmsError::BadServerKey(format!("{source}: a key is not {KEY_LEN} bytes"))
            })?;
            let fingerprint = fingerprint_of(k);
            if ring.iter().any(|r: &RingKey| r.fingerprint == fingerprint) {
                continue;
            }
            ring.push(RingKey {
                fingerprint,
                aead: LessSafeKey::new(unbound),
            });
        }
        Ok(ServerKeyring { keys: ring, source })
    }

    /// Parses the value of `GATEHOUSE_SERVER_KEY`: base64 keys separated by commas, the first seals.
    pub fn from_env_value(value: &str) -> Result<ServerKeyring, KmsError> {
        let keys = parse_keys(value, "GATEHOUSE_SERVER_KEY")?;
        ServerKeyring::from_keys(&keys, KeySource::Env)
    }

    /// Reads a key file of plain keys (refusing one readable by group or others).
    pub fn open_file(path: &Path) -> Result<ServerKeyring, KmsError> {
        let source = KeySource::File(path.to_path_buf());
        let keys = read_key_file(path)?
            .into_iter()
            .map(|e| match e {
                KeyEntry::Plain(k) => Ok(k),
                KeyEntry::Wrapped(_) => Err(KmsError::BadServerKey(format!(
                    "{source} holds Vault-wrapped keys: this process needs the Vault configuration \
                     (vault_addr, vault_token or AppRole ids, vault_ca) to open them"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        ServerKeyring::from_keys(&keys, source)
    }

    /// Creates a new key file holding one fresh key (mode 0600); fails if the file exists.
    pub fn create_file(path: &Path) -> Result<ServerKeyring, KmsError> {
        create_key_file(path, &[KeyEntry::Plain(generate_key().to_vec())])?;
        ServerKeyring::open_file(path)
    }

    /// Rotation: writes the key file anew with a fresh plain key first and every key it held after it;
    /// returns the new ring. Only for a ring read from a file of plain keys.
    pub fn rotate_file(&self) -> Result<ServerKeyring, KmsError> {
        let KeySource::File(path) = &self.source else {
            return Err(KmsError::BadServerKey(format!(
                "{} cannot be rotated in place: put a new key first in its value",
                self.source
            )));
        };
        prepend_to_key_file(path, &KeyEntry::Plain(generate_key().to_vec()))?;
        ServerKeyring::open_file(path)
    }

    /// Where the keys came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The sealing key's fingerprint.
    pub fn primary(&self) -> Fingerprint {
        self.keys[0].fingerprint
    }

    /// Every key's fingerprint, the sealing key first.
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        self.keys.iter().map(|k| k.fingerprint).collect()
    }

    /// Whether the ring holds the key with this fingerprint (hex form).
    pub fn holds(&self, fingerprint_hex: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.fingerprint.to_hex() == fingerprint_hex)
    }

    /// The fingerprint of the key that sealed `sealed`, when the value names it.
    pub fn sealed_by(sealed: &[u8]) -> Option<Fingerprint> {
        if sealed.len() > 1 + FP_LEN && sealed[0] == V2 {
            let mut fp = [0u8; FP_LEN];
            fp.copy_from_slice(&sealed[1..1 + FP_LEN]);
            Some(Fingerprint(fp))
        } else {
            None
        }
    }

    /// Seals `plaintext` bound to `context` (AAD) under the first key. A failure is an error, never an
    /// empty value.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut buf = plaintext.to_vec();
        key.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| KmsError::Seal)?;
        let mut out = Vec::with_capacity(1 + FP_LEN + NONCE_LEN + buf.len());
        out.push(V2);
        out.extend_from_slice(&key.fingerprint.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens a value made by `seal` (by this ring's keys, or by an earlier version's single key) with the
    /// same context. A value sealed by a key this ring does not hold is `UnknownServerKey`.
    pub fn unseal(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        let tag = AES_256_GCM.tag_len();
        match sealed.first() {
            Some(&V2) if sealed.len() >= 1 + FP_LEN + NONCE_LEN + tag => {
                let fp = Self::sealed_by(sealed).ok_or(KmsError::Unseal)?;
                let key = self
                    .keys
                    .iter()
                    .find(|k| k.fingerprint == fp)
                    .ok_or(KmsError::UnknownServerKey(fp.to_hex()))?;
                open(&key.aead, &sealed[1 + FP_LEN..], context)
            }
            Some(&V1) if sealed.len() >= 1 + NONCE_LEN + tag => self
                .keys
                .iter()
                .find_map(|k| open(&k.aead, &sealed[1..], context).ok())
                .ok_or(KmsError::Unseal),
            _ => Err(KmsError::Unseal),
        }
    }
}

/// The local SSE KMS seals its key material under the server keyring.
impl crate::local::KeySealer for ServerKeyring {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, crate::provider::KmsError> {
        ServerKeyring::seal(self, plaintext, context).map_err(Into::into)
    }

    fn unseal(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, crate::provider::KmsError> {
        ServerKeyring::unseal(self, sealed, context).map_err(Into::into)
    }
}

fn open(key: &LessSafeKey, nonce_and_ct: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
    let nonce = Nonce::try_assume_unique_for_key(&nonce_and_ct[..NONCE_LEN])
        .map_err(|_| KmsError::Unseal)?;
    let mut buf = nonce_and_ct[NONCE_LEN..].to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(context), &mut buf)
        .map_err(|_| KmsError::Unseal)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[[u8; 32]]) -> ServerKeyring {
        let v: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        ServerKeyring::from_keys(&v, KeySource::Memory).expect("ring")
    }

    #[test]
    fn seal_names_its_key_and_opens_only_with_the_same_context() {
        let r = ring(&[[7; 32]]);
        let s = r.seal(b"secret", b"ctx").expect("seal");
        assert_eq!(ServerKeyring::sealed_by(&s), Some(r.primary()));
        assert_eq!(r.unseal(&s, b"ctx").expect("open"), b"secret");
        assert!(matches!(r.unseal(&s, b"other"), Err(KmsError::Unseal)));
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(r.unseal(&t, b"ctx").is_err());
        assert!(r.unseal(&[], b"ctx").is_err());
        assert!(r.unseal(&s[..10], b"ctx").is_err());
    }

    #[test]
    fn rotation_keeps_old_values_open_and_seals_with_the_new_key() {
        let old = ring(&[[1; 32]]);
        let sealed_old = old.seal(b"a", b"c").expect("seal");
        let rotated = ring(&[[2; 32], [1; 32]]);
        assert_eq!(rotated.unseal(&sealed_old, b"c").expect("old opens"), b"a");
        let sealed_new = rotated.seal(b"b", b"c").expect("seal");
        assert_eq!(
            ServerKeyring::sealed_by(&sealed_new),
            Some(rotated.primary())
        );
        assert_ne!(rotated.primary(), old.primary());
        // The old ring cannot open what the new key sealed, and says which key it lacks.
        match old.unseal(&sealed_new, b"c") {
            Err(KmsError::UnknownServerKey(fp)) => assert_eq!(fp, rotated.primary().to_hex()),
            other => panic!("expected UnknownServerKey, got {other:?}"),
        }
    }

    #[test]
    fn values_of_the_earlier_format_still_open() {
        // Version 1: [1][nonce][ct+tag], no fingerprint.
        let key = [9u8; 32];
        let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("key"));
        let nonce = [3u8; NONCE_LEN];
        let mut buf = b"legacy".to_vec();
        aead.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&b"c"[..]),
            &mut buf,
        )
        .expect("seal");
        let mut v1 = vec![V1];
        v1.extend_from_slice(&nonce);
        v1.extend_from_slice(&buf);
        let r = ring(&[[8; 32], key]);
        assert_eq!(r.unseal(&v1, b"c").expect("open"), b"legacy");
        assert!(ring(&[[8; 32]]).unseal(&v1, b"c").is_err());
    }

    #[test]
    fn key_file_text_binary_env_and_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.key");
        let created = ServerKeyring::create_file(&path).expect("create");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            ServerKeyring::create_file(&path).is_err(),
            "never overwrites a key file"
        );
        let reopened = ServerKeyring::open_file(&path).expect("reopen");
        assert_eq!(reopened.fingerprints(), created.fingerprints());

        let rotated = reopened.rotate_file().expect("rotate");
        assert_eq!(rotated.fingerprints().len(), 2);
        assert_eq!(rotated.fingerprints()[1], created.primary());
        assert_eq!(
            ServerKeyring::open_file(&path)
                .expect("read")
                .fingerprints(),
            rotated.fingerprints()
        );

        let bin = dir.path().join("master.key");
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&bin)
            .expect("f");
        f.write_all(&[5u8; 32]).expect("write");
        drop(f);
        let legacy = ServerKeyring::open_file(&bin).expect("binary key");
        assert_eq!(legacy.primary(), ring(&[[5; 32]]).primary());
        let rotated_bin = legacy.rotate_file().expect("rotate binary");
        assert_eq!(rotated_bin.fingerprints()[1], legacy.primary());

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            ServerKeyring::open_file(&path),
            Err(KmsError::InsecureKeyFile(_))
        ));

        let env = format!("{}, {}", encode_key(&[1; 32]), encode_key(&[2; 32]));
        let r = ServerKeyring::from_env_value(&env).expect("env");
        assert_eq!(r.fingerprints(), ring(&[[1; 32], [2; 32]]).fingerprints());
        assert!(ServerKeyring::from_env_value("").is_err());
        assert!(ServerKeyring::from_env_value("not base64!").is_err());
        assert!(ServerKeyring::from_env_value(&B64.encode([1u8; 16])).is_err());
    }

    #[test]
    fn fingerprints_differ_per_key_and_hide_it() {
        let a = ring(&[[1; 32]]).primary();
        let b = ring(&[[2; 32]]).primary();
        assert_ne!(a, b);
        assert_eq!(a.to_hex().len(), 16);
        assert!(!a.to_hex().contains(&hex_of(&[1u8; 8])));
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
