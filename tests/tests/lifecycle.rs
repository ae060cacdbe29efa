//! Bucket lifecycle configuration through the Rust AWS SDK against the real binary, on every configuration:
//! Put / Get / DeleteBucketLifecycleConfiguration, the rule forms (legacy Prefix, Filter with Prefix / Tag /
//! sizes / And, empty Filter), AWS's validation errors, transitions refused while no storage class to
//! transition to is configured (`storage_class.rs` has them with classes), the worker (`x-amz-expiration` in `expiration.rs`).
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, Tag, Transition, TransitionStorageClass,
};
use common::{code, status};

fn days(n: i32) -> LifecycleExpiration {
    LifecycleExpiration::builder().days(n).build()
}

fn rule(id: &str) -> aws_sdk_s3::types::builders::LifecycleRuleBuilder {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
}

async fn put_rules(
    c: &aws_sdk_s3::Client,
    b: &str,
    rules: Vec<LifecycleRule>,
) -> Result<(), (String, u16)> {
    c.put_bucket_lifecycle_configuration()
        .bucket(b)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (code(&e), status(&e)))
}

async fn configuration(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("lcfg").send().await.unwrap();
    let e = c
        .get_bucket_lifecycle_configuration()
        .bucket("lcfg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("NoSuchLifecycleConfiguration", 404)
    );
    // Delete answers 204 with or without a configuration.
    c.delete_bucket_lifecycle()
        .bucket("lcfg")
        .send()
        .await
        .unwrap();

    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    #[allow(deprecated)]
    let legacy = rule("legacy")
        .prefix("logs/")
        .expiration(days(30))
        .build()
        .unwrap();
    let and = rule("and")
        .filter(
            LifecycleRuleFilter::builder()
                .and(
                    LifecycleRuleAndOperator::builder()
                        .prefix("p/")
                        .tags(tag("a", "1"))
                        .tags(tag("b", "2"))
                        .object_size_greater_than(10)
                        .object_size_less_than(1000)
                        .build(),
                )
                .build(),
        )
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(3)
                .newer_noncurrent_versions(2)
                .build(),
        )
        .build()
        .unwrap();
    let empty = LifecycleRule::builder()
        .id("empty")
        .status(ExpirationStatus::Disabled)
        .filter(LifecycleRuleFilter::builder().build())
        .expiration(
            LifecycleExpiration::builder()
                .expired_object_delete_marker(true)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(2)
                .build(),
        )
        .build()
        .unwrap();
    let date = rule("date")
        .filter(LifecycleRuleFilter::builder().tag(tag("t", "v")).build())
        .expiration(
            LifecycleExpiration::builder()
                .date(aws_sdk_s3::primitives::DateTime::from_secs(1_893_456_000))
                .build(),
        )
        .build()
        .unwrap();
    let rules = vec![legacy, and, empty, date];
    put_rules(&c, "lcfg", rules.clone()).await.unwrap();
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("lcfg")
        .send()
        .await
        .unwrap();
    assert_eq!(got.rules(), rules.as_slice());

    // Refusals leave the stored configuration as it was.
    let refusals: Vec<(Vec<LifecycleRule>, &str)> = vec![
        (
            vec![
                rule(&"x".repeat(256))
                    .filter(LifecycleRuleFilter::builder().build())
                    .expiration(days(1))
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                rule("same")
                    .filter(LifecycleRuleFilter::builder().prefix("a").build())
                    .expiration(days(1))
                    .build()
                    .unwrap(),
                rule("same")
                    .filter(LifecycleRuleFilter::builder().prefix("b").build())
                    .expiration(days(2))
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                LifecycleRule::builder()
                    .id("s")
                    .status(ExpirationStatus::from("enabled"))
                    .filter(LifecycleRuleFilter::builder().build())
                    .expiration(days(1))
                    .build()
                    .unwrap(),
            ],
            "MalformedXML",
        ),
        (
            vec![
                rule("d0")
                    .filter(LifecycleRuleFilter::builder().build())
                    .expiration(days(0))
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                rule("noaction")
                    .filter(LifecycleRuleFilter::builder().build())
                    .build()
                    .unwrap(),
            ],
            "InvalidRequest",
        ),
        (
            vec![
                rule("mid")
                    .filter(LifecycleRuleFilter::builder().build())
                    .expiration(
                        LifecycleExpiration::builder()
                            .date(aws_sdk_s3::primitives::DateTime::from_secs(1_893_456_001))
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                rule("abort-tag")
                    .filter(LifecycleRuleFilter::builder().tag(tag("k", "v")).build())
                    .abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(1)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ],
            "InvalidRequest",
        ),
        (
            vec![
                rule("dup-tags")
                    .filter(
                        LifecycleRuleFilter::builder()
                            .and(
                                LifecycleRuleAndOperator::builder()
                                    .tags(tag("k", "1"))
                                    .tags(tag("k", "2"))
                                    .build(),
                            )
                            .build(),
                    )
                    .expiration(days(1))
                    .build()
                    .unwrap(),
            ],
            "InvalidArgument",
        ),
        (
            vec![
                rule("glacier")
                    .filter(LifecycleRuleFilter::builder().build())
                    .transitions(
                        Transition::builder()
                            .days(30)
                            .storage_class(TransitionStorageClass::Glacier)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            ],
            "InvalidStorageClass",
        ),
    ];
    for (rules, want) in refusals {
        let id = rules[0].id().unwrap_or_default().to_owned();
        assert_eq!(
            put_rules(&c, "lcfg", rules).await,
            Err((want.to_owned(), 400)),
            "{id}"
        );
        let got = c
            .get_bucket_lifecycle_configuration()
            .bucket("lcfg")
            .send()
            .await
            .unwrap();
        assert_eq!(got.rules().len(), 4, "{id}");
    }
    // A rule without id gets one.
    put_rules(
        &c,
        "lcfg",
        vec![
            LifecycleRule::builder()
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("x/").build())
                .expiration(days(1))
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("lcfg")
        .send()
        .await
        .unwrap();
    assert!(!got.rules()[0].id().unwrap_or_default().is_empty());
    c.delete_bucket_lifecycle()
        .bucket("lcfg")
        .send()
        .await
        .unwrap();
    let e = c
        .get_bucket_lifecycle_configuration()
        .bucket("lcfg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchLifecycleConfiguration");
}
matrix!(configuration);

/// Ids of the versions (and delete markers) of `key`.
async fn versions_of(c: &aws_sdk_s3::Client, b: &str, key: &str) -> (Vec<String>, Vec<String>) {
    let r = c
        .list_object_versions()
        .bucket(b)
        .prefix(key)
        .send()
        .await
        .unwrap();
    (
        r.versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .map(|v| v.version_id().unwrap().to_owned())
            .collect(),
        r.delete_markers()
            .iter()
            .filter(|v| v.key() == Some(key))
            .map(|v| v.version_id().unwrap().to_owned())
            .collect(),
    )
}

async fn put_v(
    c: &aws_sdk_s3::Client,
    b: &str,
    k: &str,
    lock: Option<aws_sdk_s3::types::ObjectLockMode>,
    hold: bool,
) -> String {
    let mut r = c
        .put_object()
        .bucket(b)
        .key(k)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"data"));
    if let Some(m) = lock {
        let until = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 3600;
        r = r
            .object_lock_mode(m)
            .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(until));
    }
    if hold {
        r = r.object_lock_legal_hold_status(aws_sdk_s3::types::ObjectLockLegalHoldStatus::On);
    }
    r.send()
        .await
        .unwrap()
        .version_id()
        .unwrap_or("null")
        .to_owned()
}

/// The worker with one-second days: current versions expire (a delete marker in a versioned bucket, removal in
/// an unversioned one), noncurrent versions and then the lone delete marker go, incomplete uploads are aborted
/// with their parts; locked and legal-held versions stay, and keys outside the filter are untouched.
async fn worker(s: &common::Server) {
    let c = s.client();
    c.create_bucket()
        .bucket("lcw")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    put_v(&c, "lcw", "exp/a", None, false).await;
    put_v(&c, "lcw", "exp/a", None, false).await;
    let locked = put_v(
        &c,
        "lcw",
        "exp/locked",
        Some(aws_sdk_s3::types::ObjectLockMode::Compliance),
        false,
    )
    .await;
    put_v(&c, "lcw", "exp/locked", None, false).await;
    let held = put_v(&c, "lcw", "exp/held", None, true).await;
    put_v(&c, "lcw", "exp/held", None, false).await;
    let kept = put_v(&c, "lcw", "keep/x", None, false).await;
    put_rules(
        &c,
        "lcw",
        vec![
            rule("exp")
                .filter(LifecycleRuleFilter::builder().prefix("exp/").build())
                .expiration(days(2))
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(1)
                        .build(),
                )
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();

    c.create_bucket().bucket("lcplain").send().await.unwrap();
    put_v(&c, "lcplain", "old", None, false).await;
    let up = c
        .create_multipart_upload()
        .bucket("lcplain")
        .key("mp")
        .send()
        .await
        .unwrap();
    let upload_id = up.upload_id().unwrap().to_owned();
    c.upload_part()
        .bucket("lcplain")
        .key("mp")
        .upload_id(&upload_id)
        .part_number(1)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"part"))
        .send()
        .await
        .unwrap();
    put_rules(
        &c,
        "lcplain",
        vec![
            rule("all")
                .filter(LifecycleRuleFilter::builder().build())
                .expiration(days(1))
                .abort_incomplete_multipart_upload(
                    AbortIncompleteMultipartUpload::builder()
                        .days_after_initiation(1)
                        .build(),
                )
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let a = versions_of(&c, "lcw", "exp/a").await;
        let l = versions_of(&c, "lcw", "exp/locked").await;
        let h = versions_of(&c, "lcw", "exp/held").await;
        let plain = c.list_objects_v2().bucket("lcplain").send().await.unwrap();
        let uploads = c
            .list_multipart_uploads()
            .bucket("lcplain")
            .send()
            .await
            .unwrap();
        let done = a.0.is_empty()
            && a.1.is_empty()
            && l.0 == vec![locked.clone()]
            && h.0 == vec![held.clone()]
            && plain.contents().is_empty()
            && uploads.uploads().is_empty();
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lifecycle did not converge: a={a:?} locked={l:?} held={h:?} plain={:?} uploads={}",
            plain.contents().len(),
            uploads.uploads().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // The locked and the held versions are still readable; the key outside the filter is untouched.
    for (k, v) in [
        ("exp/locked", &locked),
        ("exp/held", &held),
        ("keep/x", &kept),
    ] {
        let o = c
            .get_object()
            .bucket("lcw")
            .key(k)
            .version_id(v)
            .send()
            .await
            .unwrap();
        assert_eq!(
            o.body.collect().await.unwrap().into_bytes().as_ref(),
            b"data"
        );
    }
    assert_eq!(
        versions_of(&c, "lcw", "keep/x").await,
        (vec![kept.clone()], vec![])
    );
    let e = c
        .list_parts()
        .bucket("lcplain")
        .key("mp")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");
}

fn start_fast(db: common::Db) -> Option<common::Server> {
    let mut o = common::Opts::new(db, common::Store::IoUring);
    o.extra = vec!["--lifecycle-day-seconds".into(), "1".into()];
    common::Server::start(o)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_sqlite() {
    if let Some(s) = start_fast(common::Db::Sqlite) {
        worker(&s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_postgres() {
    if let Some(s) = start_fast(common::Db::Postgres) {
        worker(&s).await;
    }
}

/// Two gateways on one Postgres, both running the worker: the bucket's lease lets one at a time expire its
/// keys (and an expiry is conditional on the version listed), so each key gets exactly one delete marker, and
/// the cursor carries the pass through all keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_expire_each_key_once() {
    let Some(db) = common::fresh_pg_url() else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("server.key");
    let out = std::process::Command::new(common::bin())
        .args([
            "admin",
            "server-key",
            "generate",
            key_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut opts = common::Opts::new(common::Db::Postgres, common::Store::Std);
    opts.extra = vec![
        "--server-key-file".into(),
        key_file.display().to_string(),
        "--lifecycle-day-seconds".into(),
        "1".into(),
    ];
    let a = common::Server::start_on_db(opts.clone(), &db);
    let b = common::Server::start_on_db(opts, &db);
    let c = a.client();
    c.create_bucket().bucket("twogw").send().await.unwrap();
    c.put_bucket_versioning()
        .bucket("twogw")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    const N: usize = 1000;
    for i in 0..N {
        put_v(&c, "twogw", &format!("k{i:04}"), None, false).await;
    }
    put_rules(
        &c,
        "twogw",
        vec![
            rule("all")
                .filter(LifecycleRuleFilter::builder().build())
                .expiration(days(1))
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    let _ = b.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut markers = 0;
        let mut versions = 0;
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let r = c
                .list_object_versions()
                .bucket("twogw")
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .unwrap();
            markers += r.delete_markers().len();
            versions += r.versions().len();
            if r.is_truncated() != Some(true) {
                break;
            }
            key_marker = r.next_key_marker().map(str::to_owned);
            version_marker = r.next_version_id_marker().map(str::to_owned);
        }
        assert_eq!(versions, N);
        assert!(markers <= N, "{markers} delete markers for {N} keys");
        if markers == N {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{markers} of {N} expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Some passes later still one marker per key.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let r = c
        .list_object_versions()
        .bucket("twogw")
        .send()
        .await
        .unwrap();
    let first: std::collections::BTreeSet<_> = r
        .delete_markers()
        .iter()
        .map(|m| m.key().unwrap().to_owned())
        .collect();
    assert_eq!(first.len(), r.delete_markers().len());
}
