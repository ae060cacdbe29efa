//! Who sees an object's lock: GET and HEAD report its retention only to callers allowed
//! s3:GetObjectRetention and its legal hold only to callers allowed s3:GetObjectLegalHold (AWS's rule), against
//! the real binary with IAM users of the bucket owner's account.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::types::{ObjectLockLegalHoldStatus, ObjectLockMode};
use common::{Db, Opts, Server, Store};

async fn user(s: &Server, name: &str, actions: &str) -> aws_sdk_s3::Client {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{actions},"Resource":"arn:aws:s3:::locked/*"}}]}}"#
    );
    let (ak, sk) =
        common::access::user(s, common::ROOT_AK, common::ROOT_SK, name, Some(&policy)).await;
    s.client_with(&ak, &sk)
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_fields_are_shown_only_to_who_may_read_them() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket()
        .bucket("locked")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let until = aws_sdk_s3::primitives::DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 3600,
    );
    c.put_object()
        .bucket("locked")
        .key("k")
        .body(bytes::Bytes::from_static(b"v").into())
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap();
    // (reader, sees retention, sees legal hold)
    let cases = [
        (c.clone(), true, true),
        (user(&s, "plain", r#""s3:GetObject""#).await, false, false),
        (
            user(&s, "ret", r#"["s3:GetObject","s3:GetObjectRetention"]"#).await,
            true,
            false,
        ),
        (
            user(&s, "hold", r#"["s3:GetObject","s3:GetObjectLegalHold"]"#).await,
            false,
            true,
        ),
    ];
    for (i, (reader, retention, hold)) in cases.iter().enumerate() {
        let h = reader
            .head_object()
            .bucket("locked")
            .key("k")
            .send()
            .await
            .unwrap();
        assert_eq!(h.object_lock_mode().is_some(), *retention, "HEAD {i}");
        assert_eq!(
            h.object_lock_retain_until_date().is_some(),
            *retention,
            "HEAD {i}"
        );
        assert_eq!(
            h.object_lock_legal_hold_status().is_some(),
            *hold,
            "HEAD {i}"
        );
        let g = reader
            .get_object()
            .bucket("locked")
            .key("k")
            .send()
            .await
            .unwrap();
        assert_eq!(g.object_lock_mode().is_some(), *retention, "GET {i}");
        assert_eq!(
            g.object_lock_legal_hold_status().is_some(),
            *hold,
            "GET {i}"
        );
    }
    // Release the hold so the test's data directory can go (GOVERNANCE bypassed by the root on delete).
    c.put_object_legal_hold()
        .bucket("locked")
        .key("k")
        .legal_hold(
            aws_sdk_s3::types::ObjectLockLegalHold::builder()
                .status(ObjectLockLegalHoldStatus::Off)
                .build(),
        )
        .send()
        .await
        .unwrap();
}
