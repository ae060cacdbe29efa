//! Object Lock (WORM) through the Rust AWS SDK against the real binary, on every configuration (SQLite/Postgres,
//! io_uring/std): buckets created with Object Lock, the lock configuration and its validation, retention and legal
//! hold, the lock headers of PUT / copy / multipart, and the refusals: a COMPLIANCE-locked version cannot be
//! deleted or its retention shortened even by the account root; GOVERNANCE needs the bypass header (and, for an
//! IAM user, s3:BypassGovernanceRetention); a legal hold blocks deletes until released. After each refusal the
//! stored version is read back.
#![allow(clippy::unwrap_used)]

mod common;

use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, DefaultRetention, Delete,
    ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};
use common::{code, status};

type Client = aws_sdk_s3::Client;

/// Seconds since the epoch `secs` from now, as an SDK date (whole seconds, as S3 keeps them).
fn in_secs(secs: i64) -> DateTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    DateTime::from_secs(now + secs)
}

async fn lock_bucket(c: &Client, b: &str) {
    c.create_bucket()
        .bucket(b)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
}

async fn put(c: &Client, b: &str, k: &str, body: &'static [u8]) -> String {
    c.put_object()
        .bucket(b)
        .key(k)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned()
}

/// The body of version `v`, or the error code reading it.
async fn read(c: &Client, b: &str, k: &str, v: &str) -> Result<Vec<u8>, String> {
    match c.get_object().bucket(b).key(k).version_id(v).send().await {
        Ok(o) => Ok(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(e) => Err(code(&e)),
    }
}

/// (mode, retain-until seconds) of version `v`'s retention, or the error code.
async fn retention(c: &Client, b: &str, k: &str, v: &str) -> Result<(String, i64), String> {
    match c
        .get_object_retention()
        .bucket(b)
        .key(k)
        .version_id(v)
        .send()
        .await
    {
        Ok(r) => {
            let r = r.retention().unwrap();
            Ok((
                r.mode().unwrap().as_str().to_owned(),
                r.retain_until_date().unwrap().secs(),
            ))
        }
        Err(e) => Err(code(&e)),
    }
}

fn retention_of(mode: ObjectLockRetentionMode, until: DateTime) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(mode)
        .retain_until_date(until)
        .build()
}

async fn delete_version(c: &Client, b: &str, k: &str, v: &str, bypass: bool) -> Result<(), String> {
    let mut r = c.delete_object().bucket(b).key(k).version_id(v);
    if bypass {
        r = r.bypass_governance_retention(true);
    }
    r.send().await.map(|_| ()).map_err(|e| code(&e))
}

async fn compliance(s: &common::Server) {
    let c = s.client();
    lock_bucket(&c, "worm").await;
    // Object Lock comes with versioning, which cannot be suspended.
    let v = c
        .get_bucket_versioning()
        .bucket("worm")
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let e = c
        .put_bucket_versioning()
        .bucket("worm")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e).as_str(), status(&e)), ("InvalidBucketState", 409));
    let cfg = c
        .get_object_lock_configuration()
        .bucket("worm")
        .send()
        .await
        .unwrap();
    let cfg = cfg.object_lock_configuration().unwrap();
    assert_eq!(cfg.object_lock_enabled(), Some(&ObjectLockEnabled::Enabled));
    assert!(cfg.rule().is_none());

    let until = in_secs(3600);
    let written = c
        .put_object()
        .bucket("worm")
        .key("k")
        .body(ByteStream::from_static(b"kept"))
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(until)
        .send()
        .await
        .unwrap();
    let v1 = written.version_id().unwrap().to_owned();
    let head = c
        .head_object()
        .bucket("worm")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(
        head.object_lock_retain_until_date().unwrap().secs(),
        until.secs()
    );
    assert_eq!(head.object_lock_legal_hold_status(), None);
    let stored = Ok(("COMPLIANCE".to_owned(), until.secs()));

    // Not even the account root deletes it, with or without the bypass header.
    for bypass in [false, true] {
        let e = delete_version(&c, "worm", "k", &v1, bypass).await;
        assert_eq!(e, Err("AccessDenied".into()));
        assert_eq!(read(&c, "worm", "k", &v1).await.unwrap(), b"kept");
    }
    // Nor shortens, removes or downgrades its retention.
    let attempts = [
        retention_of(ObjectLockRetentionMode::Compliance, in_secs(60)),
        ObjectLockRetention::builder().build(),
        retention_of(ObjectLockRetentionMode::Governance, in_secs(7200)),
    ];
    for r in attempts {
        for bypass in [false, true] {
            let e = c
                .put_object_retention()
                .bucket("worm")
                .key("k")
                .version_id(&v1)
                .retention(r.clone())
                .bypass_governance_retention(bypass)
                .send()
                .await
                .unwrap_err();
            assert_eq!((code(&e).as_str(), status(&e)), ("AccessDenied", 403));
            assert_eq!(retention(&c, "worm", "k", &v1).await, stored);
        }
    }
    // Extending is allowed.
    let later = in_secs(7200);
    c.put_object_retention()
        .bucket("worm")
        .key("k")
        .retention(retention_of(ObjectLockRetentionMode::Compliance, later))
        .send()
        .await
        .unwrap();
    assert_eq!(
        retention(&c, "worm", "k", &v1).await,
        Ok(("COMPLIANCE".to_owned(), later.secs()))
    );
    // A delete without version id only adds a delete marker.
    let d = c
        .delete_object()
        .bucket("worm")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(d.delete_marker(), Some(true));
    assert_eq!(read(&c, "worm", "k", &v1).await.unwrap(), b"kept");
    // DeleteObjects refuses the locked version per key and deletes the rest.
    let free = put(&c, "worm", "free", b"f").await;
    let r = c
        .delete_objects()
        .bucket("worm")
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("k")
                        .version_id(&v1)
                        .build()
                        .unwrap(),
                )
                .objects(
                    ObjectIdentifier::builder()
                        .key("free")
                        .version_id(&free)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.errors().len(), 1);
    assert_eq!(r.errors()[0].key(), Some("k"));
    assert_eq!(r.errors()[0].code(), Some("AccessDenied"));
    assert_eq!(r.errors()[0].version_id(), Some(v1.as_str()));
    assert_eq!(r.deleted().len(), 1);
    assert_eq!(r.deleted()[0].key(), Some("free"));
    assert_eq!(read(&c, "worm", "k", &v1).await.unwrap(), b"kept");
    assert_eq!(
        read(&c, "worm", "free", &free).await,
        Err("NoSuchVersion".into())
    );
    // Nor the bucket.
    let e = c.delete_bucket().bucket("worm").send().await.unwrap_err();
    assert_eq!(code(&e), "BucketNotEmpty");
    assert_eq!(read(&c, "worm", "k", &v1).await.unwrap(), b"kept");
}
matrix!(compliance);

async fn governance(s: &common::Server) {
    let c = s.client();
    lock_bucket(&c, "gov").await;
    let v1 = put(&c, "gov", "k", b"g").await;
    assert_eq!(
        retention(&c, "gov", "k", &v1).await,
        Err("NoSuchObjectLockConfiguration".into())
    );
    let until = in_secs(3600);
    c.put_object_retention()
        .bucket("gov")
        .key("k")
        .version_id(&v1)
        .retention(retention_of(ObjectLockRetentionMode::Governance, until))
        .send()
        .await
        .unwrap();
    let stored = Ok(("GOVERNANCE".to_owned(), until.secs()));
    assert_eq!(retention(&c, "gov", "k", &v1).await, stored);
    // Without the bypass header: no removal, no shortening, no delete.
    for r in [
        ObjectLockRetention::builder().build(),
        retention_of(ObjectLockRetentionMode::Governance, in_secs(60)),
    ] {
        let e = c
            .put_object_retention()
            .bucket("gov")
            .key("k")
            .version_id(&v1)
            .retention(r)
            .send()
            .await
            .unwrap_err();
        assert_eq!((code(&e).as_str(), status(&e)), ("AccessDenied", 403));
        assert_eq!(retention(&c, "gov", "k", &v1).await, stored);
    }
    assert_eq!(
        delete_version(&c, "gov", "k", &v1, false).await,
        Err("AccessDenied".into())
    );
    assert_eq!(read(&c, "gov", "k", &v1).await.unwrap(), b"g");
    // With it, the root may remove the retention.
    c.put_object_retention()
        .bucket("gov")
        .key("k")
        .version_id(&v1)
        .retention(ObjectLockRetention::builder().build())
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        retention(&c, "gov", "k", &v1).await,
        Err("NoSuchObjectLockConfiguration".into())
    );
    // And delete a GOVERNANCE-locked version.
    let v2 = c
        .put_object()
        .bucket("gov")
        .key("k2")
        .body(ByteStream::from_static(b"g2"))
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(in_secs(3600))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    assert_eq!(
        delete_version(&c, "gov", "k2", &v2, false).await,
        Err("AccessDenied".into())
    );
    assert_eq!(read(&c, "gov", "k2", &v2).await.unwrap(), b"g2");
    delete_version(&c, "gov", "k2", &v2, true).await.unwrap();
    assert_eq!(
        read(&c, "gov", "k2", &v2).await,
        Err("NoSuchVersion".into())
    );
}
matrix!(governance);

async fn legal_hold(s: &common::Server) {
    let c = s.client();
    lock_bucket(&c, "hold").await;
    let v1 = put(&c, "hold", "k", b"h").await;
    let hold = |on: bool| {
        ObjectLockLegalHold::builder()
            .status(if on {
                ObjectLockLegalHoldStatus::On
            } else {
                ObjectLockLegalHoldStatus::Off
            })
            .build()
    };
    let e = c
        .get_object_legal_hold()
        .bucket("hold")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchObjectLockConfiguration");
    c.put_object_legal_hold()
        .bucket("hold")
        .key("k")
        .version_id(&v1)
        .legal_hold(hold(true))
        .send()
        .await
        .unwrap();
    for bypass in [false, true] {
        assert_eq!(
            delete_version(&c, "hold", "k", &v1, bypass).await,
            Err("AccessDenied".into())
        );
        assert_eq!(read(&c, "hold", "k", &v1).await.unwrap(), b"h");
    }
    let got = c
        .get_object_legal_hold()
        .bucket("hold")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.legal_hold().unwrap().status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    let head = c
        .head_object()
        .bucket("hold")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );
    // Released: the delete goes through.
    c.put_object_legal_hold()
        .bucket("hold")
        .key("k")
        .legal_hold(hold(false))
        .send()
        .await
        .unwrap();
    delete_version(&c, "hold", "k", &v1, false).await.unwrap();
    assert_eq!(
        read(&c, "hold", "k", &v1).await,
        Err("NoSuchVersion".into())
    );
    // The header on PUT sets it too; a multipart upload keeps it for the completed object.
    let mp = c
        .create_multipart_upload()
        .bucket("hold")
        .key("mp")
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap();
    let upload_id = mp.upload_id().unwrap();
    let part = c
        .upload_part()
        .bucket("hold")
        .key("mp")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"part"))
        .send()
        .await
        .unwrap();
    let done = c
        .complete_multipart_upload()
        .bucket("hold")
        .key("mp")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mv = done.version_id().unwrap().to_owned();
    assert_eq!(
        delete_version(&c, "hold", "mp", &mv, true).await,
        Err("AccessDenied".into())
    );
    assert_eq!(read(&c, "hold", "mp", &mv).await.unwrap(), b"part");
}
matrix!(legal_hold);

async fn configuration(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("plain").send().await.unwrap();
    let e = c
        .get_object_lock_configuration()
        .bucket("plain")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("ObjectLockConfigurationNotFoundError", 404)
    );
    let v1 = c
        .put_object()
        .bucket("plain")
        .key("k")
        .body(ByteStream::from_static(b"p"))
        .send()
        .await
        .unwrap();
    assert!(v1.version_id().is_none());
    // Object-level lock requests and headers on a bucket without Object Lock.
    let e = c
        .put_object_retention()
        .bucket("plain")
        .key("k")
        .retention(retention_of(
            ObjectLockRetentionMode::Governance,
            in_secs(60),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e).as_str(), status(&e)), ("InvalidRequest", 400));
    let e = c
        .put_object()
        .bucket("plain")
        .key("k2")
        .body(ByteStream::from_static(b"p"))
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequest");
    let rule = |mode: ObjectLockRetentionMode, days: Option<i32>, years: Option<i32>| {
        ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(
                        DefaultRetention::builder()
                            .mode(mode)
                            .set_days(days)
                            .set_years(years)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let put_cfg = |cfg: ObjectLockConfiguration| {
        c.put_object_lock_configuration()
            .bucket("plain")
            .object_lock_configuration(cfg)
            .send()
    };
    // Not on an unversioned bucket.
    let e = put_cfg(rule(ObjectLockRetentionMode::Governance, Some(1), None))
        .await
        .unwrap_err();
    assert_eq!((code(&e).as_str(), status(&e)), ("InvalidBucketState", 409));
    c.put_bucket_versioning()
        .bucket("plain")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Validation.
    let e = put_cfg(rule(ObjectLockRetentionMode::Governance, Some(1), Some(1)))
        .await
        .unwrap_err();
    assert_eq!((code(&e).as_str(), status(&e)), ("MalformedXML", 400));
    let e = put_cfg(rule(ObjectLockRetentionMode::Governance, Some(0), None))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("InvalidRetentionPeriod", 400)
    );
    let e = put_cfg(rule(
        ObjectLockRetentionMode::from("governance"),
        Some(1),
        None,
    ))
    .await
    .unwrap_err();
    assert_eq!(code(&e), "MalformedXML");
    let e = c
        .get_object_lock_configuration()
        .bucket("plain")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ObjectLockConfigurationNotFoundError");
    // On a versioning-enabled bucket it is accepted (as AWS now allows); the default applies to new versions.
    put_cfg(rule(ObjectLockRetentionMode::Governance, Some(1), None))
        .await
        .unwrap();
    let got = c
        .get_object_lock_configuration()
        .bucket("plain")
        .send()
        .await
        .unwrap();
    let d = got
        .object_lock_configuration()
        .unwrap()
        .rule()
        .unwrap()
        .default_retention()
        .unwrap();
    assert_eq!(
        (d.mode(), d.days(), d.years()),
        (Some(&ObjectLockRetentionMode::Governance), Some(1), None)
    );
    let before = in_secs(86_400).secs();
    let v2 = put(&c, "plain", "k", b"d").await;
    let after = in_secs(86_400).secs();
    let (mode, until) = retention(&c, "plain", "k", &v2).await.unwrap();
    assert_eq!(mode, "GOVERNANCE");
    assert!(
        (before..=after).contains(&until),
        "{before} {until} {after}"
    );
    // The version from before keeps no retention.
    assert_eq!(
        retention(&c, "plain", "k", "null").await,
        Err("NoSuchObjectLockConfiguration".into())
    );
    // Header validation: mode and date together, a date in the future.
    let e = c
        .put_object()
        .bucket("plain")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .object_lock_mode(ObjectLockMode::Governance)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    let e = c
        .put_object()
        .bucket("plain")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(in_secs(-60))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    // A copy gets its own lock, not the source's.
    let copy = c
        .copy_object()
        .bucket("plain")
        .key("copy")
        .copy_source(format!("plain/k?versionId={v2}"))
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(in_secs(600))
        .send()
        .await
        .unwrap();
    let cv = copy.version_id().unwrap().to_owned();
    assert_eq!(
        retention(&c, "plain", "copy", &cv).await.unwrap().0,
        "COMPLIANCE"
    );
    assert_eq!(
        delete_version(&c, "plain", "copy", &cv, true).await,
        Err("AccessDenied".into())
    );
}
matrix!(configuration);

/// An IAM user needs s3:BypassGovernanceRetention for the bypass header to count.
async fn bypass_permission(s: &common::Server) {
    let root = s.client();
    lock_bucket(&root, "perm").await;
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .endpoint_url(&s.endpoint)
            .credentials_provider(Credentials::new(
                common::ROOT_AK,
                common::ROOT_SK,
                None,
                None,
                "test",
            ))
            .build(),
    );
    iam.create_user().user_name("u").send().await.unwrap();
    let doc = |bypass: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
              {{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::perm","arn:aws:s3:::perm/*"]}},
              {{"Effect":"{bypass}","Action":"s3:BypassGovernanceRetention","Resource":"arn:aws:s3:::perm/*"}}]}}"#
        )
    };
    iam.put_user_policy()
        .user_name("u")
        .policy_name("p")
        .policy_document(doc("Deny"))
        .send()
        .await
        .unwrap();
    let key = iam.create_access_key().user_name("u").send().await.unwrap();
    let key = key.access_key().unwrap();
    let user = s.client_with(key.access_key_id(), key.secret_access_key());
    let v1 = user
        .put_object()
        .bucket("perm")
        .key("k")
        .body(ByteStream::from_static(b"u"))
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(in_secs(3600))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    assert_eq!(
        delete_version(&user, "perm", "k", &v1, true).await,
        Err("AccessDenied".into())
    );
    let e = user
        .put_object_retention()
        .bucket("perm")
        .key("k")
        .retention(ObjectLockRetention::builder().build())
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(read(&root, "perm", "k", &v1).await.unwrap(), b"u");
    assert_eq!(
        retention(&root, "perm", "k", &v1).await.unwrap().0,
        "GOVERNANCE"
    );
    // Allowed: the same request deletes it.
    iam.put_user_policy()
        .user_name("u")
        .policy_name("p")
        .policy_document(doc("Allow"))
        .send()
        .await
        .unwrap();
    delete_version(&user, "perm", "k", &v1, true).await.unwrap();
    assert_eq!(
        read(&root, "perm", "k", &v1).await,
        Err("NoSuchVersion".into())
    );
}
matrix!(bypass_permission);
