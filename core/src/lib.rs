//! Shared vocabulary of Gatehouse: account and key identifiers, ARNs, clocks.

use rand::Rng;

/// A 12-digit AWS account id.
pub fn new_account_id() -> String {
    let mut rng = rand::thread_rng();
    // First digit non-zero so the id never looks like a shorter number.
    let first = rng.gen_range(1..=9u8);
    let rest: String = (0..11)
        .map(|_| char::from(b'0' + rng.gen_range(0..=9u8)))
        .collect();
    format!("{first}{rest}")
}

/// A 64-hex-digit canonical user id (as S3 ACLs show owners).
pub fn new_canonical_id() -> String {
    let bytes: [u8; 32] = rand::thread_rng().r#gen();
    hex::encode(bytes)
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A long-term access key id: `AKIA` + 16 base32 characters.
pub fn new_access_key_id() -> String {
    random_id("AKIA", 16)
}

/// A temporary (STS) access key id: `ASIA` + 16 base32 characters.
pub fn new_temp_access_key_id() -> String {
    random_id("ASIA", 16)
}

/// An IAM unique id with the given prefix (`AIDA` users, `AROA` roles, ...).
pub fn new_unique_id(prefix: &str) -> String {
    random_id(prefix, 17)
}

fn random_id(prefix: &str, n: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(prefix.len() + n);
    s.push_str(prefix);
    for _ in 0..n {
        s.push(char::from(
            KEY_ALPHABET[rng.gen_range(0..KEY_ALPHABET.len())],
        ));
    }
    s
}

/// A 40-character secret access key.
pub fn new_secret_key() -> String {
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from(SECRET_ALPHABET[rng.gen_range(0..SECRET_ALPHABET.len())]))
        .collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A request id as S3 shows it (16 upper-case hex characters).
pub fn new_request_id() -> String {
    let bytes: [u8; 8] = rand::thread_rng().r#gen();
    hex::encode_upper(bytes)
}

/// `arn:aws:iam::ACCOUNT:root`
pub fn root_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

/// `arn:aws:iam::ACCOUNT:user/PATHNAME`
pub fn user_arn(account_id: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:user{path}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shapes() {
        let a = new_account_id();
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(a.as_bytes()[0], b'0');
        let k = new_access_key_id();
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert_eq!(new_secret_key().len(), 40);
        assert_eq!(new_canonical_id().len(), 64);
        assert_ne!(new_access_key_id(), new_access_key_id());
    }
}
