//! `x-amz-expiration` against the real binary: the earliest matching lifecycle Expiration rule and its date as
//! the worker computes it, on PUT, HEAD, GET, CopyObject and CompleteMultipartUpload.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, Tag,
};

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
) -> Result<(), String> {
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
        .map_err(|e| common::code(&e))
}

/// `x-amz-expiration` on PUT, HEAD, GET, CopyObject and CompleteMultipartUpload: the earliest matching
/// Expiration rule, its date as the worker computes it (real days: midnight UTC after Days days), AWS's format;
/// no header for keys no rule matches or when the rule's tag filter does not match.
async fn expiration_header(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("lcexp").send().await.unwrap();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    put_rules(
        &c,
        "lcexp",
        vec![
            rule("r30")
                .filter(LifecycleRuleFilter::builder().prefix("d/").build())
                .expiration(days(30))
                .build()
                .unwrap(),
            rule("r1")
                .filter(LifecycleRuleFilter::builder().prefix("d/one/").build())
                .expiration(days(1))
                .build()
                .unwrap(),
            rule("tagged")
                .filter(LifecycleRuleFilter::builder().tag(tag("k", "v")).build())
                .expiration(
                    LifecycleExpiration::builder()
                        .date(aws_sdk_s3::primitives::DateTime::from_secs(1_893_456_000))
                        .build(),
                )
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    let body = || aws_sdk_s3::primitives::ByteStream::from_static(b"x");
    let put = c
        .put_object()
        .bucket("lcexp")
        .key("d/one/a")
        .body(body())
        .send()
        .await
        .unwrap();
    let got = put.expiration().unwrap_or_default().to_owned();
    // Written now, one real day: midnight UTC of the day after tomorrow (or tomorrow's, exactly at midnight).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let midnight = (now + 86_400).div_ceil(86_400) * 86_400;
    let date = aws_smithy_types::DateTime::from_secs(i64::try_from(midnight).unwrap())
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap();
    assert_eq!(got, format!("expiry-date=\"{date}\", rule-id=\"r1\""));
    let head = c
        .head_object()
        .bucket("lcexp")
        .key("d/one/a")
        .send()
        .await
        .unwrap();
    assert_eq!(head.expiration(), Some(got.as_str()));
    let get = c
        .get_object()
        .bucket("lcexp")
        .key("d/one/a")
        .send()
        .await
        .unwrap();
    assert_eq!(get.expiration(), Some(got.as_str()));
    let copy = c
        .copy_object()
        .bucket("lcexp")
        .key("d/b")
        .copy_source("lcexp/d/one/a")
        .send()
        .await
        .unwrap();
    assert!(
        copy.expiration()
            .unwrap_or_default()
            .ends_with("rule-id=\"r30\""),
        "{:?}",
        copy.expiration()
    );
    // No rule matches: no header.
    let put = c
        .put_object()
        .bucket("lcexp")
        .key("other")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(put.expiration(), None);
    // A tag filter: the header follows the object's tags; a Date rule names its date.
    let put = c
        .put_object()
        .bucket("lcexp")
        .key("t")
        .tagging("k=v")
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.expiration(),
        Some("expiry-date=\"Tue, 01 Jan 2030 00:00:00 GMT\", rule-id=\"tagged\"")
    );
    let head = c
        .head_object()
        .bucket("lcexp")
        .key("t")
        .send()
        .await
        .unwrap();
    assert!(head.expiration().is_some());
    // Multipart completion.
    let up = c
        .create_multipart_upload()
        .bucket("lcexp")
        .key("d/mp")
        .send()
        .await
        .unwrap();
    let part = c
        .upload_part()
        .bucket("lcexp")
        .key("d/mp")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .body(body())
        .send()
        .await
        .unwrap();
    let done = c
        .complete_multipart_upload()
        .bucket("lcexp")
        .key("d/mp")
        .upload_id(up.upload_id().unwrap())
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        done.expiration()
            .unwrap_or_default()
            .ends_with("rule-id=\"r30\""),
        "{:?}",
        done.expiration()
    );
    // Without a configuration, no header.
    c.delete_bucket_lifecycle()
        .bucket("lcexp")
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket("lcexp")
        .key("d/one/a")
        .send()
        .await
        .unwrap();
    assert_eq!(head.expiration(), None);
}
matrix!(expiration_header);

/// With shortened days the header names the shortened expiry (as the worker acts on it), not a calendar day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiration_header_with_short_days() {
    let mut o = common::Opts::new(common::Db::Sqlite, common::Store::Std);
    o.extra = vec!["--lifecycle-day-seconds".into(), "100".into()];
    let s = common::Server::start(o).unwrap();
    let c = s.client();
    c.create_bucket().bucket("lcshort").send().await.unwrap();
    put_rules(
        &c,
        "lcshort",
        vec![
            rule("r")
                .filter(LifecycleRuleFilter::builder().build())
                .expiration(days(2))
                .build()
                .unwrap(),
        ],
    )
    .await
    .unwrap();
    c.put_object()
        .bucket("lcshort")
        .key("k")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket("lcshort")
        .key("k")
        .send()
        .await
        .unwrap();
    let written = head.last_modified().unwrap().secs();
    let date = aws_smithy_types::DateTime::from_secs(written + 200)
        .fmt(aws_smithy_types::date_time::Format::HttpDate)
        .unwrap();
    assert_eq!(
        head.expiration(),
        Some(format!("expiry-date=\"{date}\", rule-id=\"r\"").as_str())
    );
}
