//! Archive storage classes and RestoreObject against the real binary (`--storage-classes
//! LUKEWARM,GLACIER:archive`): GET and copies of an archived object refused (403 InvalidObjectState) until
//! restored; RestoreObject 202 / 200 / 409 RestoreAlreadyInProgress and its refusals; `x-amz-restore` on HEAD
//! and GET; the restored copy expiring after Days (shortened days); a lifecycle transition into an archive class.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{GlacierJobParameters, RestoreRequest, StorageClass, Tier};
use common::{ROOT_AK, ROOT_SK, code, status};

fn start(day_seconds: &str, restore_seconds: &str) -> common::Server {
    let mut o = common::Opts::new(common::Db::Sqlite, common::Store::Std);
    o.extra = vec![
        "--storage-classes".into(),
        "LUKEWARM,GLACIER:archive".into(),
        "--lifecycle-day-seconds".into(),
        day_seconds.into(),
        "--restore-seconds".into(),
        restore_seconds.into(),
    ];
    common::Server::start(o).unwrap()
}

/// RestoreObject through a raw signed request (the SDK hides 200 vs 202): (status, body).
async fn restore(s: &common::Server, bucket: &str, key: &str, days: Option<i32>) -> (u16, String) {
    let body = match days {
        Some(d) => format!(
            "<RestoreRequest><Days>{d}</Days><GlacierJobParameters><Tier>Standard</Tier></GlacierJobParameters></RestoreRequest>"
        ),
        None => "<RestoreRequest><GlacierJobParameters><Tier>Standard</Tier></GlacierJobParameters></RestoreRequest>"
            .to_owned(),
    };
    common::sign::send(
        "POST",
        &format!("{}/{bucket}/{key}?restore", s.endpoint),
        &[("content-type", "application/xml")],
        body.into_bytes(),
        ROOT_AK,
        ROOT_SK,
    )
    .await
}

async fn head_restore(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Option<String> {
    let h = c.head_object().bucket(b).key(k).send().await.unwrap();
    assert_eq!(h.storage_class(), Some(&StorageClass::from("GLACIER")));
    h.restore().map(str::to_owned)
}

async fn get_code(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Result<Vec<u8>, (String, u16)> {
    match c.get_object().bucket(b).key(k).send().await {
        Ok(o) => Ok(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(e) => Err((code(&e), status(&e))),
    }
}

/// The whole flow with restores completing at once and 3-second days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_get_refused_until_restored_then_expires() {
    let s = start("3", "0");
    let c = s.client();
    c.create_bucket().bucket("arch").send().await.unwrap();
    let body = b"archived bytes".to_vec();
    c.put_object()
        .bucket("arch")
        .key("a")
        .storage_class(StorageClass::from("GLACIER"))
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket("arch")
        .key("warm")
        .storage_class(StorageClass::from("LUKEWARM"))
        .body(ByteStream::from_static(b"w"))
        .send()
        .await
        .unwrap();
    // Archived: HEAD works without x-amz-restore, GET and copies are refused.
    assert_eq!(head_restore(&c, "arch", "a").await, None);
    assert_eq!(
        get_code(&c, "arch", "a").await,
        Err(("InvalidObjectState".into(), 403))
    );
    let e = c
        .copy_object()
        .bucket("arch")
        .key("copy")
        .copy_source("arch/a")
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e).as_str(), status(&e)), ("InvalidObjectState", 403));
    // RestoreObject on a non-archive object, without Days, on a missing key.
    let (st, text) = restore(&s, "arch", "warm", Some(1)).await;
    assert_eq!(st, 403, "{text}");
    assert!(text.contains("InvalidObjectState"), "{text}");
    let (st, text) = restore(&s, "arch", "a", None).await;
    assert_eq!(st, 400, "{text}");
    let (st, _) = restore(&s, "arch", "nope", Some(1)).await;
    assert_eq!(st, 404);
    // The first restore: 202; readable at once (restore_seconds = 0); then 200 (expiry set again).
    let (st, text) = restore(&s, "arch", "a", Some(1)).await;
    assert_eq!(st, 202, "{text}");
    let h = head_restore(&c, "arch", "a").await.unwrap();
    assert!(
        h.starts_with("ongoing-request=\"false\", expiry-date=\"") && h.ends_with(" GMT\""),
        "{h}"
    );
    assert_eq!(get_code(&c, "arch", "a").await, Ok(body.clone()));
    let g = c.get_object().bucket("arch").key("a").send().await.unwrap();
    assert_eq!(g.restore(), Some(h.as_str()));
    assert_eq!(g.storage_class(), Some(&StorageClass::from("GLACIER")));
    // A restored object may be copied (into STANDARD unless a class is named).
    c.copy_object()
        .bucket("arch")
        .key("copy")
        .copy_source("arch/a")
        .send()
        .await
        .unwrap();
    assert_eq!(get_code(&c, "arch", "copy").await, Ok(body.clone()));
    let (st, text) = restore(&s, "arch", "a", Some(1)).await;
    assert_eq!(st, 200, "{text}");
    // The SDK's RestoreObject works too.
    c.restore_object()
        .bucket("arch")
        .key("a")
        .restore_request(
            RestoreRequest::builder()
                .days(1)
                .glacier_job_parameters(
                    GlacierJobParameters::builder()
                        .tier(Tier::Bulk)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // One (3-second) day later the restored copy is gone: archived again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while get_code(&c, "arch", "a").await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the restored copy did not expire"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        get_code(&c, "arch", "a").await,
        Err(("InvalidObjectState".into(), 403))
    );
    assert_eq!(head_restore(&c, "arch", "a").await, None);
    // And may be restored again.
    let (st, _) = restore(&s, "arch", "a", Some(1)).await;
    assert_eq!(st, 202);
    assert_eq!(get_code(&c, "arch", "a").await, Ok(body));
}

/// With `restore_seconds`, a restore is in progress first: 409 RestoreAlreadyInProgress, `ongoing-request="true"`,
/// GET still refused; readable once it completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_in_progress() {
    let s = start("86400", "3");
    let c = s.client();
    c.create_bucket().bucket("slow").send().await.unwrap();
    c.put_object()
        .bucket("slow")
        .key("a")
        .storage_class(StorageClass::from("GLACIER"))
        .body(ByteStream::from_static(b"later"))
        .send()
        .await
        .unwrap();
    let (st, _) = restore(&s, "slow", "a", Some(2)).await;
    assert_eq!(st, 202);
    assert_eq!(
        head_restore(&c, "slow", "a").await.as_deref(),
        Some("ongoing-request=\"true\"")
    );
    assert_eq!(
        get_code(&c, "slow", "a").await,
        Err(("InvalidObjectState".into(), 403))
    );
    let (st, text) = restore(&s, "slow", "a", Some(2)).await;
    assert_eq!(st, 409, "{text}");
    assert!(text.contains("RestoreAlreadyInProgress"), "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(get_code(&c, "slow", "a").await, Ok(b"later".to_vec()));
    // Real days: the expiry is at midnight UTC.
    let h = head_restore(&c, "slow", "a").await.unwrap();
    assert!(h.ends_with(" 00:00:00 GMT\""), "{h}");
}

/// A lifecycle Transition into an archive class archives the object: GET refused until restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transition_into_archive() {
    let s = start("1", "0");
    let c = s.client();
    c.create_bucket().bucket("toarch").send().await.unwrap();
    c.put_object()
        .bucket("toarch")
        .key("k")
        .body(ByteStream::from_static(b"going cold"))
        .send()
        .await
        .unwrap();
    c.put_bucket_lifecycle_configuration()
        .bucket("toarch")
        .lifecycle_configuration(
            aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::LifecycleRule::builder()
                        .id("arch")
                        .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
                        .filter(aws_sdk_s3::types::LifecycleRuleFilter::builder().build())
                        .transitions(
                            aws_sdk_s3::types::Transition::builder()
                                .days(1)
                                .storage_class(aws_sdk_s3::types::TransitionStorageClass::Glacier)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let h = c
            .head_object()
            .bucket("toarch")
            .key("k")
            .send()
            .await
            .unwrap();
        if h.storage_class() == Some(&StorageClass::Glacier) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not archived");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        get_code(&c, "toarch", "k").await,
        Err(("InvalidObjectState".into(), 403))
    );
    let (st, _) = restore(&s, "toarch", "k", Some(5)).await;
    assert_eq!(st, 202);
    assert_eq!(
        get_code(&c, "toarch", "k").await,
        Ok(b"going cold".to_vec())
    );
}
