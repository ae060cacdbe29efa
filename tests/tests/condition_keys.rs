//! Condition keys that come from the connection and the signature, decided by bucket policies against the
//! real binary: s3:signatureAge (a presigned URL signed long ago is refused by a policy capping the age, a
//! fresh one is not) and s3:TlsVersion (compared as a decimal, `1.2` / `1.3`, over a real TLS connection).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use common::{Db, Opts, Server, Store};

fn deny_get_when(bucket: &str, condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*","Condition":{condition}}}]}}"#
    )
}

async fn setup(c: &aws_sdk_s3::Client, bucket: &str) {
    c.create_bucket().bucket(bucket).send().await.unwrap();
    c.put_object()
        .bucket(bucket)
        .key("k")
        .body(bytes::Bytes::from_static(b"v").into())
        .send()
        .await
        .unwrap();
}

async fn presigned_get(c: &aws_sdk_s3::Client, bucket: &str, signed_ago: Duration) -> u16 {
    let cfg = PresigningConfig::builder()
        .start_time(SystemTime::now() - signed_ago)
        .expires_in(Duration::from_secs(3600))
        .build()
        .unwrap();
    let url = c
        .get_object()
        .bucket(bucket)
        .key("k")
        .presigned(cfg)
        .await
        .unwrap();
    reqwest::get(url.uri()).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn signature_age_caps_presigned_urls() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let c = s.client();
    setup(&c, "aged").await;
    assert_eq!(
        presigned_get(&c, "aged", Duration::from_secs(900)).await,
        200
    );
    c.put_bucket_policy()
        .bucket("aged")
        .policy(deny_get_when(
            "aged",
            r#"{"NumericGreaterThan":{"s3:signatureAge":"600000"}}"#,
        ))
        .send()
        .await
        .unwrap();
    // Signed 15 minutes ago (and still unexpired): older than the policy's 10 minutes.
    assert_eq!(
        presigned_get(&c, "aged", Duration::from_secs(900)).await,
        403
    );
    assert_eq!(presigned_get(&c, "aged", Duration::from_secs(0)).await, 200);
    // A header-signed request is seconds old.
    c.get_object().bucket("aged").key("k").send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_version_is_a_decimal_condition_key() {
    let mut o = Opts::new(Db::Sqlite, Store::Std);
    o.tls = true;
    let s = Server::start(o).unwrap();
    let c = s.client();
    setup(&c, "tlsv").await;
    let get = || async { c.get_object().bucket("tlsv").key("k").send().await };
    // The SDK negotiates TLS 1.3: a policy refusing anything below 1.2 (AWS's own example) lets it in, one
    // refusing anything below 1.4 does not, one refusing 1.3 exactly does not.
    for (condition, allowed) in [
        (r#"{"NumericLessThan":{"s3:TlsVersion":"1.2"}}"#, true),
        (r#"{"NumericLessThan":{"s3:TlsVersion":"1.4"}}"#, false),
        (r#"{"NumericEquals":{"s3:TlsVersion":"1.3"}}"#, false),
        (r#"{"NumericNotEquals":{"s3:TlsVersion":"1.3"}}"#, true),
    ] {
        c.put_bucket_policy()
            .bucket("tlsv")
            .policy(deny_get_when("tlsv", condition))
            .send()
            .await
            .unwrap();
        assert_eq!(get().await.is_ok(), allowed, "{condition}");
    }
}

fn in_days(days: i64) -> aws_sdk_s3::primitives::DateTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    aws_sdk_s3::primitives::DateTime::from_secs(now + days * 86_400)
}

/// AWS's "maximum retention period" policy: s3:object-lock-remaining-retention-days from the PUT's headers
/// and from PutObjectRetention's body.
#[tokio::test(flavor = "multi_thread")]
async fn remaining_retention_days_cap_retention() {
    use aws_sdk_s3::types::{ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode};
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket()
        .bucket("capped")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    c.put_bucket_policy()
        .bucket("capped")
        .policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectRetention","Resource":"arn:aws:s3:::capped/*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":"10"}}}]}"#,
        )
        .send()
        .await
        .unwrap();
    let put = |days: i64| {
        c.put_object()
            .bucket("capped")
            .key("k")
            .body(bytes::Bytes::from_static(b"v").into())
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(in_days(days))
            .send()
    };
    put(5).await.unwrap();
    assert_eq!(common::code(&put(30).await.unwrap_err()), "AccessDenied");
    let retain = |days: i64| {
        c.put_object_retention()
            .bucket("capped")
            .key("k")
            .retention(
                ObjectLockRetention::builder()
                    .mode(ObjectLockRetentionMode::Governance)
                    .retain_until_date(in_days(days))
                    .build(),
            )
            .send()
    };
    assert_eq!(common::code(&retain(30).await.unwrap_err()), "AccessDenied");
    retain(8).await.unwrap();
}

/// IAM and STS decide with the connection's keys too: a trust policy and an IAM user's policy conditioned on
/// aws:SourceIp and aws:SecureTransport.
#[tokio::test(flavor = "multi_thread")]
async fn iam_and_sts_policies_see_the_connection() {
    use aws_sdk_iam::error::ProvideErrorMetadata as _;
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let root = s.iam_with(common::ROOT_AK, common::ROOT_SK, None);
    let account = s.account_of(common::ROOT_AK, common::ROOT_SK).await;
    root.create_user().user_name("u").send().await.unwrap();
    root.put_user_policy()
        .user_name("u")
        .policy_name("p")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},
              {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
              {"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#,
        )
        .send()
        .await
        .unwrap();
    for (role, net) in [("near", "127.0.0.0/8"), ("far", "10.0.0.0/8")] {
        root.create_role()
            .role_name(role)
            .assume_role_policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole","Condition":{{"IpAddress":{{"aws:SourceIp":"{net}"}}}}}}]}}"#
            ))
            .send()
            .await
            .unwrap();
    }
    let k = root
        .create_access_key()
        .user_name("u")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let (ak, sk) = (k.access_key_id(), k.secret_access_key());
    let iam = s.iam_with(ak, sk, None);
    iam.list_users().send().await.unwrap();
    // Plain HTTP: aws:SecureTransport is false.
    assert_eq!(
        iam.list_roles().send().await.unwrap_err().code(),
        Some("AccessDenied")
    );
    let sts = s.sts_with(ak, sk, None);
    let assume = |role: &'static str| {
        sts.assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
            .role_session_name("ip")
            .send()
    };
    assume("near").await.unwrap();
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&assume("far").await.unwrap_err()),
        Some("AccessDenied")
    );
}
