//! The local KMS backend over every key store: in memory, SQLite and Postgres (`gatehouse_meta::Meta`).
//!
//! Postgres runs when `GATEHOUSE_TEST_PG_URL` is set (`scripts/pg.sh start`), each test in a fresh schema;
//! unset, the Postgres test prints a skip note and passes, unless `GATEHOUSE_REQUIRE_PG=1`.

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use gatehouse_kms::local::{KeySealer, KeyStore, LocalKms, MemoryKeyStore};
use gatehouse_kms::provider::*;
use rand::{Rng, RngCore};

/// A minimal AES-256-GCM sealer standing in for the server keyring.
struct TestSealer(LessSafeKey);

impl TestSealer {
    fn new() -> TestSealer {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        TestSealer(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &k).expect("key"),
        ))
    }
}

impl KeySealer for TestSealer {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut buf = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buf,
            )
            .map_err(|_| KmsError::Internal("seal".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn unseal(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        if sealed.len() < NONCE_LEN {
            return Err(KmsError::Internal("short".into()));
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN])
            .map_err(|_| KmsError::Internal("nonce".into()))?;
        let mut buf = sealed[NONCE_LEN..].to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| KmsError::Internal("unseal".into()))?;
        Ok(plain.to_vec())
    }
}

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The behaviour every store must give.
async fn scenario(store: Arc<dyn KeyStore>) {
    let kms = LocalKms::new(store.clone(), Arc::new(TestSealer::new()));
    let created = kms
        .create_key(&CreateKeyRequest {
            account_id: ACCOUNT.into(),
            description: "test key".into(),
            alias: Some("app/one".into()),
            key_id: None,
        })
        .await
        .expect("create");
    assert_eq!(created.current_version, 1);
    assert_eq!(created.state, KeyState::Enabled);
    let id = KeyRef::Id(created.key_id.clone());

    // Every way of naming the key resolves to it; the alias only in its account (or via its ARN).
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{}", created.key_id);
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/app/one");
    for r in [created.key_id.as_str(), "alias/app/one", &arn, &alias_arn] {
        let r = KeyRef::parse(r).expect("parse");
        assert_eq!(
            kms.resolve(&r, ACCOUNT).await.expect("resolve"),
            created.key_id
        );
    }
    let alias = KeyRef::parse("alias/app/one").expect("parse");
    assert!(matches!(
        kms.resolve(&alias, OTHER).await,
        Err(KmsError::NotFound(_))
    ));
    assert_eq!(
        kms.resolve(&KeyRef::parse(&alias_arn).expect("arn"), OTHER)
            .await
            .expect("by arn"),
        created.key_id
    );
    assert!(matches!(
        kms.describe_key(&KeyRef::Id("nope".into()), ACCOUNT).await,
        Err(KmsError::NotFound(_))
    ));

    // Operator-chosen ids; duplicates and taken aliases.
    let named = kms
        .create_key(&CreateKeyRequest {
            account_id: OTHER.into(),
            key_id: Some("testkey-1".into()),
            ..Default::default()
        })
        .await
        .expect("named");
    assert_eq!(named.key_id, "testkey-1");
    let dup = kms
        .create_key(&CreateKeyRequest {
            account_id: OTHER.into(),
            key_id: Some("testkey-1".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(dup, Err(KmsError::AlreadyExists(_))), "{dup:?}");
    let taken = kms
        .create_alias("app/one", &KeyRef::Id("testkey-1".into()), ACCOUNT)
        .await;
    assert!(
        matches!(taken, Err(KmsError::AlreadyExists(_))),
        "{taken:?}"
    );
    // The same alias name in another account is another alias.
    kms.create_alias("app/one", &KeyRef::Id("testkey-1".into()), OTHER)
        .await
        .expect("alias in other account");
    assert_eq!(
        kms.resolve(&alias, OTHER)
            .await
            .expect("other account alias"),
        "testkey-1"
    );
    assert_eq!(kms.list_keys(Some(ACCOUNT)).await.expect("list").len(), 1);
    assert_eq!(kms.list_keys(None).await.expect("list all").len(), 2);
    let aliases = kms.list_aliases(ACCOUNT).await.expect("aliases");
    assert_eq!(aliases.len(), 1);
    assert_eq!(aliases[0].key_id, created.key_id);

    // Data keys: round trip; any other context or any changed byte fails.
    let c = ctx(&[("aws:s3:arn", "arn:aws:s3:::b/k"), ("x", "1")]);
    let dk = kms
        .generate_data_key(&alias, ACCOUNT, &c)
        .await
        .expect("datakey");
    assert_eq!(dk.key_id, created.key_id);
    assert_ne!(*dk.plaintext, [0u8; 32]);
    let back = kms.decrypt(&dk.wrapped, &c).await.expect("decrypt");
    assert_eq!(*back.plaintext, *dk.plaintext);
    assert_eq!(back.key_id, created.key_id);
    for wrong in [
        ctx(&[]),
        ctx(&[("aws:s3:arn", "arn:aws:s3:::b/k")]),
        ctx(&[("aws:s3:arn", "arn:aws:s3:::b/k"), ("x", "2")]),
    ] {
        assert!(matches!(
            kms.decrypt(&dk.wrapped, &wrong).await,
            Err(KmsError::InvalidCiphertext)
        ));
    }
    for i in 0..dk.wrapped.len() {
        let mut t = dk.wrapped.clone();
        t[i] ^= 0x01;
        let r = kms.decrypt(&t, &c).await;
        assert!(r.is_err(), "flipped byte {i} decrypted");
    }
    assert!(
        kms.decrypt(&dk.wrapped[..dk.wrapped.len() - 1], &c)
            .await
            .is_err()
    );
    assert!(kms.decrypt(b"", &c).await.is_err());
    // The other key's blob with this key's id spliced in fails.
    let other = kms
        .generate_data_key(&KeyRef::Id("testkey-1".into()), OTHER, &c)
        .await
        .expect("other datakey");
    assert_ne!(*other.plaintext, *dk.plaintext);
    let mut spliced = dk.wrapped[..5 + dk.key_id.len() + 4].to_vec();
    spliced.extend_from_slice(&other.wrapped[5 + other.key_id.len() + 4..]);
    assert!(matches!(
        kms.decrypt(&spliced, &c).await,
        Err(KmsError::InvalidCiphertext)
    ));

    // Rotation: new data keys use version 2, old blobs still open, rewrap moves them to version 2.
    assert_eq!(kms.rotate_key(&id, ACCOUNT).await.expect("rotate"), 2);
    assert_eq!(
        kms.describe_key(&id, ACCOUNT)
            .await
            .expect("describe")
            .current_version,
        2
    );
    let again = kms
        .decrypt(&dk.wrapped, &c)
        .await
        .expect("old blob after rotation");
    assert_eq!(*again.plaintext, *dk.plaintext);
    let rewrapped = kms.rewrap(&dk.wrapped, &c).await.expect("rewrap");
    assert_ne!(rewrapped, dk.wrapped);
    assert_eq!(
        *kms.decrypt(&rewrapped, &c)
            .await
            .expect("rewrapped")
            .plaintext,
        *dk.plaintext
    );
    assert!(kms.rewrap(&dk.wrapped, &ctx(&[])).await.is_err());
    let dk2 = kms
        .generate_data_key(&id, ACCOUNT, &c)
        .await
        .expect("datakey v2");
    assert_eq!(
        kms.rewrap(&dk2.wrapped, &c).await.expect("noop rewrap"),
        dk2.wrapped
    );

    // A disabled key neither makes nor opens data keys, seen at once (state is never cached).
    kms.set_key_enabled(&id, ACCOUNT, false)
        .await
        .expect("disable");
    assert!(matches!(
        kms.generate_data_key(&id, ACCOUNT, &c).await,
        Err(KmsError::Disabled(_))
    ));
    assert!(matches!(
        kms.decrypt(&dk.wrapped, &c).await,
        Err(KmsError::Disabled(_))
    ));
    kms.set_key_enabled(&id, ACCOUNT, true)
        .await
        .expect("enable");
    kms.decrypt(&dk.wrapped, &c).await.expect("enabled again");

    // Another gateway on the same store with the same server key sees the rotation and the keys; one with
    // another server key cannot unseal the material: an internal error, never bytes.
    let stranger = LocalKms::new(store.clone(), Arc::new(TestSealer::new()));
    assert_eq!(
        stranger
            .describe_key(&id, ACCOUNT)
            .await
            .expect("describe")
            .current_version,
        2
    );
    assert!(matches!(
        stranger.decrypt(&dk.wrapped, &c).await,
        Err(KmsError::Internal(_))
    ));
}

/// Gateways rotating one key at the same time each get a version of their own, and every data key made
/// meanwhile opens.
async fn concurrent_rotation(store: Arc<dyn KeyStore>) {
    let sealer: Arc<dyn KeySealer> = Arc::new(TestSealer::new());
    let kms = Arc::new(LocalKms::new(store.clone(), sealer.clone()));
    let key = kms
        .create_key(&CreateKeyRequest {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .expect("create");
    let id = KeyRef::Id(key.key_id.clone());
    let c = ctx(&[("k", "v")]);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        // Each task is another gateway: its own backend (and cache) over the same store and server key.
        let gw = Arc::new(LocalKms::new(store.clone(), sealer.clone()));
        let (id, c) = (id.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let v = gw.rotate_key(&id, ACCOUNT).await.expect("rotate");
            let dk = gw
                .generate_data_key(&id, ACCOUNT, &c)
                .await
                .expect("datakey");
            (v, dk)
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        let (v, dk) = t.await.expect("task");
        versions.push(v);
        let back = kms.decrypt(&dk.wrapped, &c).await.expect("decrypt");
        assert_eq!(*back.plaintext, *dk.plaintext);
    }
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4, 5]);
    assert_eq!(
        kms.describe_key(&id, ACCOUNT)
            .await
            .expect("describe")
            .current_version,
        5
    );
}

#[tokio::test]
async fn memory_store() {
    scenario(Arc::new(MemoryKeyStore::default())).await;
    concurrent_rotation(Arc::new(MemoryKeyStore::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = gatehouse_meta::Meta::open_sqlite(&dir.path().join("meta.db"))
        .await
        .expect("open sqlite");
    scenario(Arc::new(meta.clone())).await;
    concurrent_rotation(Arc::new(meta)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store() {
    let url = match std::env::var("GATEHOUSE_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("GATEHOUSE_REQUIRE_PG").as_deref() == Ok("1") {
                panic!(
                    "GATEHOUSE_REQUIRE_PG=1 but GATEHOUSE_TEST_PG_URL is not set (run scripts/pg.sh start)"
                );
            }
            eprintln!("skipping Postgres test: GATEHOUSE_TEST_PG_URL is not set");
            return;
        }
    };
    sqlx::any::install_default_drivers();
    let schema = format!("t_{:016x}", rand::thread_rng().r#gen::<u64>());
    let admin = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let meta =
        gatehouse_meta::Meta::open(&format!("{url}{sep}options=-c%20search_path%3D{schema}"))
            .await
            .expect("open postgres");
    scenario(Arc::new(meta.clone())).await;
    concurrent_rotation(Arc::new(meta)).await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&admin)
    .await;
}
