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

/// A long-term access key id of `account_id`: `AKIA` + 16 base32 characters that carry the account
/// (see [`account_of_access_key_id`]).
pub fn new_access_key_id(account_id: &str) -> String {
    key_id("AKIA", account_id)
}

/// A temporary (STS) access key id of `account_id`: `ASIA` + 16 base32 characters that carry the account.
pub fn new_temp_access_key_id(account_id: &str) -> String {
    key_id("ASIA", account_id)
}

/// Bits 7..47 of the first six decoded bytes of an access key id hold the account id, as in AWS's key ids
/// (so GetAccessKeyInfo answers from the id alone, on any gateway, for keys it has never stored).
const ACCOUNT_MASK: u64 = 0x7fff_ffff_ff80;

fn key_id(prefix: &str, account_id: &str) -> String {
    let Some(account) = account_id
        .parse::<u64>()
        .ok()
        .filter(|a| account_id.len() == 12 && *a < (1 << 40))
    else {
        return random_id(prefix, 16);
    };
    let mut raw: [u8; 10] = rand::thread_rng().r#gen();
    let low = u64::from(raw[5]) & 0x7f;
    let head = ((account << 7) & ACCOUNT_MASK) | low;
    raw[..6].copy_from_slice(&head.to_be_bytes()[2..]);
    let mut s = String::with_capacity(prefix.len() + 16);
    s.push_str(prefix);
    // 80 bits -> 16 base32 characters, most significant first.
    let bits = raw.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    for i in (0..16).rev() {
        s.push(char::from(KEY_ALPHABET[((bits >> (i * 5)) & 31) as usize]));
    }
    s
}

/// The account an access key id names (AWS's encoding; a 12-digit id), or `None` when the id is not
/// 4 letters + 16 base32 characters.
pub fn account_of_access_key_id(id: &str) -> Option<String> {
    let body = id.get(4..).filter(|b| b.len() == 16)?;
    let mut bits = 0u128;
    for c in body.bytes() {
        let v = KEY_ALPHABET.iter().position(|a| *a == c)?;
        bits = (bits << 5) | v as u128;
    }
    let head = (bits >> 32) as u64;
    Some(format!("{:012}", (head & ACCOUNT_MASK) >> 7))
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
        let k = new_access_key_id(&a);
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert!(k[4..].bytes().all(|b| KEY_ALPHABET.contains(&b)), "{k}");
        assert_eq!(new_secret_key().len(), 40);
        assert_eq!(new_canonical_id().len(), 64);
        assert_ne!(new_access_key_id(&a), new_access_key_id(&a));
        assert_eq!(account_of_access_key_id(&k).as_deref(), Some(a.as_str()));
        let t = new_temp_access_key_id("000000000042");
        assert!(t.starts_with("ASIA") && t.len() == 20);
        assert_eq!(
            account_of_access_key_id(&t).as_deref(),
            Some("000000000042")
        );
        assert_eq!(
            account_of_access_key_id(&new_temp_access_key_id("999999999999")).as_deref(),
            Some("999999999999")
        );
    }

    #[test]
    fn account_ids_decode_as_aws_encodes_them() {
        // AWS's published example pair (ASIAY34FZKBOKMUTVV7A belongs to 609629065308).
        assert_eq!(
            account_of_access_key_id("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        assert_eq!(account_of_access_key_id("AKIA1234"), None);
        assert_eq!(account_of_access_key_id("AKIAaaaaaaaaaaaaaaaa"), None);
    }
}
