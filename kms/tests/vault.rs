//! The Vault/OpenBao transit backend against a real OpenBao (`scripts/openbao.sh start`: dev mode over HTTPS
//! with a generated CA). Reads `GATEHOUSE_VAULT_ADDR`, `GATEHOUSE_VAULT_TOKEN` and `GATEHOUSE_VAULT_CACERT`;
//! unset, the tests print a skip note and pass, unless `GATEHOUSE_REQUIRE_VAULT=1`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use gatehouse_kms::provider::*;
use gatehouse_kms::vault::{VaultAuth, VaultConfig, VaultKms};
use rand::Rng;

struct Env {
    addr: String,
    token: String,
    ca: PathBuf,
}

fn env(test: &str) -> Option<Env> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("GATEHOUSE_VAULT_ADDR"),
        get("GATEHOUSE_VAULT_TOKEN"),
        get("GATEHOUSE_VAULT_CACERT"),
    ) {
        (Some(addr), Some(token), Some(ca)) => Some(Env {
            addr,
            token,
            ca: PathBuf::from(ca),
        }),
        _ => {
            if std::env::var("GATEHOUSE_REQUIRE_VAULT").as_deref() == Ok("1") {
                panic!(
                    "GATEHOUSE_REQUIRE_VAULT=1 but GATEHOUSE_VAULT_ADDR/_TOKEN/_CACERT are not set \
                     (run scripts/openbao.sh start)"
                );
            }
            eprintln!("skipping Vault test {test}: GATEHOUSE_VAULT_ADDR is not set");
            None
        }
    }
}

/// A prefix of our own, so runs against one server do not meet each other's keys.
fn prefix() -> String {
    format!("gh{:08x}-", rand::thread_rng().r#gen::<u32>())
}

fn config(e: &Env, prefix: &str) -> VaultConfig {
    VaultConfig {
        ca_file: Some(e.ca.clone()),
        key_prefix: prefix.to_owned(),
        ..VaultConfig::with_token(&e.addr, &e.token)
    }
}

/// Raw Vault API call with the root token (test set-up), through curl.
fn vault_api(e: &Env, method: &str, path: &str, body: &str) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&e.ca)
        .args(["-H", &format!("X-Vault-Token: {}", e.token), "-X", method])
        .args(["-d", body])
        .arg(format!("{}/v1/{path}", e.addr))
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl {path}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const ACCOUNT: &str = "111122223333";

#[tokio::test]
async fn transit_data_keys() {
    let Some(e) = env("transit_data_keys") else {
        return;
    };
    let p = prefix();
    let kms = VaultKms::new(config(&e, &p)).expect("client");
    let created = kms
        .create_key(&CreateKeyRequest {
            account_id: ACCOUNT.into(),
            key_id: Some("testkey-1".into()),
            ..Default::default()
        })
        .await
        .expect("create");
    assert_eq!(created.key_id, "testkey-1");
    assert_eq!(created.current_version, 1);
    let dup = kms
        .create_key(&CreateKeyRequest {
            account_id: ACCOUNT.into(),
            key_id: Some("testkey-1".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(dup, Err(KmsError::AlreadyExists(_))), "{dup:?}");
    let key = KeyRef::parse("testkey-1").expect("ref");
    let arn = KeyRef::parse("arn:aws:kms:us-east-1:111122223333:key/testkey-1").expect("arn");
    assert_eq!(kms.resolve(&arn, ACCOUNT).await.expect("arn"), "testkey-1");
    let listed = kms.list_keys(None).await.expect("list");
    assert_eq!(
        listed.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(),
        ["testkey-1"]
    );

    // Round trip; wrong context, tampering and truncation fail; never bytes.
    let c = ctx(&[("aws:s3:arn", "arn:aws:s3:::b/k")]);
    let dk = kms
        .generate_data_key(&key, ACCOUNT, &c)
        .await
        .expect("datakey");
    assert_eq!(dk.key_id, "testkey-1");
    let back = kms.decrypt(&dk.wrapped, &c).await.expect("decrypt");
    assert_eq!(*back.plaintext, *dk.plaintext);
    for wrong in [ctx(&[]), ctx(&[("aws:s3:arn", "arn:aws:s3:::b/other")])] {
        let r = kms.decrypt(&dk.wrapped, &wrong).await;
        assert!(matches!(r, Err(KmsError::InvalidCiphertext)), "{r:?}");
    }
    let mut tampered = dk.wrapped.clone();
    let n = tampered.len();
    tampered[n - 3] = if tampered[n - 3] == b'A' { b'B' } else { b'A' };
    assert!(kms.decrypt(&tampered, &c).await.is_err());
    assert!(kms.decrypt(&dk.wrapped[..n - 4], &c).await.is_err());
    assert!(kms.decrypt(b"GHV", &c).await.is_err());

    // Missing keys are NotFound, and asking for a data key does not create them.
    let missing = KeyRef::parse("no-such-key").expect("ref");
    let r = kms.generate_data_key(&missing, ACCOUNT, &c).await;
    assert!(matches!(r, Err(KmsError::NotFound(_))), "{r:?}");
    let r = kms.describe_key(&missing, ACCOUNT).await;
    assert!(matches!(r, Err(KmsError::NotFound(_))), "{r:?}");
    let read = vault_api(&e, "GET", &format!("transit/keys/{p}no-such-key"), "");
    assert!(read.get("data").is_none(), "key was created: {read}");
    // A blob naming a key that does not exist.
    let mut other = b"GHV\x01\x0bno-such-key".to_vec();
    other.extend_from_slice(&dk.wrapped[5 + "testkey-1".len()..]);
    let r = kms.decrypt(&other, &c).await;
    assert!(matches!(r, Err(KmsError::NotFound(_))), "{r:?}");

    // Rotation: old blobs open, rewrap moves them to the new version.
    assert_eq!(kms.rotate_key(&key, ACCOUNT).await.expect("rotate"), 2);
    let again = kms.decrypt(&dk.wrapped, &c).await.expect("old blob");
    assert_eq!(*again.plaintext, *dk.plaintext);
    let rewrapped = kms.rewrap(&dk.wrapped, &c).await.expect("rewrap");
    assert!(
        String::from_utf8_lossy(&rewrapped).contains("vault:v2:"),
        "not rewrapped to v2"
    );
    assert_eq!(
        *kms.decrypt(&rewrapped, &c)
            .await
            .expect("rewrapped")
            .plaintext,
        *dk.plaintext
    );
    assert!(kms.rewrap(&dk.wrapped, &ctx(&[])).await.is_err());
    let dk2 = kms.generate_data_key(&key, ACCOUNT, &c).await.expect("v2");
    assert!(String::from_utf8_lossy(&dk2.wrapped).contains("vault:v2:"));

    // What transit cannot do is said, not faked.
    assert!(matches!(
        kms.create_alias("a", &key, ACCOUNT).await,
        Err(KmsError::Unsupported(_))
    ));
    assert!(matches!(
        kms.set_key_enabled(&key, ACCOUNT, false).await,
        Err(KmsError::Unsupported(_))
    ));
}

#[tokio::test]
async fn approle_login() {
    let Some(e) = env("approle_login") else {
        return;
    };
    let p = prefix();
    // Enable AppRole (already enabled by an earlier run on this server is fine), a policy on our keys only.
    vault_api(&e, "POST", "sys/auth/approle", r#"{"type":"approle"}"#);
    let policy = format!(
        r#"path "transit/keys/{p}*" {{ capabilities = ["create", "read", "update", "list"] }}
path "transit/keys" {{ capabilities = ["list"] }}
path "transit/datakey/plaintext/{p}*" {{ capabilities = ["update"] }}
path "transit/decrypt/{p}*" {{ capabilities = ["update"] }}
path "transit/encrypt/{p}*" {{ capabilities = ["update"] }}"#
    );
    let role = p.trim_end_matches('-');
    vault_api(
        &e,
        "PUT",
        &format!("sys/policies/acl/{role}"),
        &serde_json::json!({ "policy": policy }).to_string(),
    );
    vault_api(
        &e,
        "POST",
        &format!("auth/approle/role/{role}"),
        &serde_json::json!({"token_policies": role, "token_ttl": "1h"}).to_string(),
    );
    let role_id = vault_api(&e, "GET", &format!("auth/approle/role/{role}/role-id"), "")
        .pointer("/data/role_id")
        .and_then(|v| v.as_str())
        .expect("role id")
        .to_owned();
    let secret_id = vault_api(
        &e,
        "POST",
        &format!("auth/approle/role/{role}/secret-id"),
        "{}",
    )
    .pointer("/data/secret_id")
    .and_then(|v| v.as_str())
    .expect("secret id")
    .to_owned();
    let cfg = VaultConfig {
        auth: VaultAuth::AppRole {
            role_id: role_id.clone(),
            secret_id,
            mount: "approle".into(),
        },
        ..config(&e, &p)
    };
    let kms = VaultKms::new(cfg.clone()).expect("client");
    kms.create_key(&CreateKeyRequest {
        account_id: ACCOUNT.into(),
        key_id: Some("k".into()),
        ..Default::default()
    })
    .await
    .expect("create with AppRole token");
    let c = ctx(&[("a", "b")]);
    let dk = kms
        .generate_data_key(&KeyRef::Id("k".into()), ACCOUNT, &c)
        .await
        .expect("datakey");
    assert_eq!(
        *kms.decrypt(&dk.wrapped, &c)
            .await
            .expect("decrypt")
            .plaintext,
        *dk.plaintext
    );
    // A wrong secret id cannot log in: an error, not a silent fallback.
    let bad = VaultKms::new(VaultConfig {
        auth: VaultAuth::AppRole {
            role_id,
            secret_id: "wrong".into(),
            mount: "approle".into(),
        },
        ..cfg
    })
    .expect("client");
    assert!(
        bad.describe_key(&KeyRef::Id("k".into()), ACCOUNT)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unreachable_or_untrusted_vault_is_unavailable() {
    let Some(e) = env("unreachable_vault") else {
        return;
    };
    // Nothing listens on this port (bound, then closed).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let kms = VaultKms::new(VaultConfig {
        timeout: Duration::from_secs(2),
        ..config(&e, "x-")
    })
    .expect("client");
    let down = VaultKms::new(VaultConfig {
        addr: format!("https://127.0.0.1:{port}"),
        timeout: Duration::from_secs(2),
        ..config(&e, "x-")
    })
    .expect("client");
    let r = down
        .generate_data_key(&KeyRef::Id("k".into()), ACCOUNT, &ctx(&[]))
        .await;
    assert!(matches!(r, Err(KmsError::Unavailable(_))), "{r:?}");
    assert_eq!(r.err().map(|e| e.http_status()), Some(503));
    let r = down.decrypt(b"GHV\x01\x01kvault:v1:AAAA", &ctx(&[])).await;
    assert!(matches!(r, Err(KmsError::Unavailable(_))), "{r:?}");
    // The real server with a CA it was not issued by: refused at the TLS handshake.
    let dir = tempfile::tempdir().expect("tempdir");
    let other_ca = dir.path().join("ca.pem");
    std::fs::copy("/etc/ssl/certs/ca-certificates.crt", &other_ca).ok();
    if other_ca.exists() {
        let untrusted = VaultKms::new(VaultConfig {
            ca_file: Some(other_ca),
            ..config(&e, "x-")
        })
        .expect("client");
        let r = untrusted.list_keys(None).await;
        assert!(matches!(r, Err(KmsError::Unavailable(_))), "{r:?}");
    }
    // Sanity: the same configuration against the real server works.
    kms.list_keys(None).await.expect("list on the real server");
    // A CA file that does not exist is a configuration error at start.
    assert!(
        VaultKms::new(VaultConfig {
            ca_file: Some(dir.path().join("missing.pem")),
            ..config(&e, "x-")
        })
        .is_err()
    );
}
