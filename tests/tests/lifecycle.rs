//! Bucket lifecycle configuration through the Rust AWS SDK against the real binary, on every configuration:
//! Put / Get / DeleteBucketLifecycleConfiguration, the rule forms (legacy Prefix, Filter with Prefix / Tag /
//! sizes / And, empty Filter), AWS's validation errors, and transitions refused while no storage class to
//! transition to is configured.
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
            "InvalidArgument",
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
