//! Object and bucket tagging through the Rust AWS SDK, on every configuration (SQLite/Postgres, io_uring/std).
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging, TaggingDirective};
use common::{code, status};

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    let mut t = Tagging::builder();
    for (k, v) in pairs {
        t = t.tag_set(Tag::builder().key(*k).value(*v).build().unwrap());
    }
    t.build().unwrap()
}

async fn tags_of(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Vec<(String, String)> {
    let t = c
        .get_object_tagging()
        .bucket(b)
        .key(k)
        .send()
        .await
        .unwrap();
    t.tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn object_tagging(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("tags").send().await.unwrap();
    // Tags with the PUT (x-amz-tagging, URL-encoded): listed sorted by key, counted on GET and HEAD.
    let put = c
        .put_object()
        .bucket("tags")
        .key("o")
        .tagging("zeta=last&alpha=%C3%BC%20x&empty")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&c, "tags", "o").await,
        owned(&[("alpha", "ü x"), ("empty", ""), ("zeta", "last")])
    );
    let g = c.get_object().bucket("tags").key("o").send().await.unwrap();
    assert_eq!(g.tag_count(), Some(3));
    let h = c
        .head_object()
        .bucket("tags")
        .key("o")
        .send()
        .await
        .unwrap();
    assert_eq!(h.e_tag(), put.e_tag());

    // PutObjectTagging replaces the set and leaves the object alone.
    c.put_object_tagging()
        .bucket("tags")
        .key("o")
        .tagging(tagging(&[("k", "v")]))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&c, "tags", "o").await, owned(&[("k", "v")]));
    let h2 = c
        .head_object()
        .bucket("tags")
        .key("o")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (h2.e_tag(), h2.last_modified()),
        (h.e_tag(), h.last_modified())
    );

    // AWS's limits: at most 10 tags, keys up to 128 and values up to 256 characters, no duplicate keys,
    // no `aws:` keys. A refused set changes nothing.
    let eleven: Vec<(String, String)> = (0..11).map(|n| (format!("k{n}"), "v".into())).collect();
    let eleven_ref: Vec<(&str, &str)> = eleven
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    for bad in [
        tagging(&eleven_ref),
        tagging(&[(&long_key, "v")]),
        tagging(&[("k", &long_value)]),
        tagging(&[("d", "1"), ("d", "2")]),
        tagging(&[("aws:system", "1")]),
    ] {
        let e = c
            .put_object_tagging()
            .bucket("tags")
            .key("o")
            .tagging(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidTag"));
    }
    let e = c
        .put_object()
        .bucket("tags")
        .key("refused")
        .tagging("a=1&a=2")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidTag");
    assert_eq!(tags_of(&c, "tags", "o").await, owned(&[("k", "v")]));
    let e = c
        .head_object()
        .bucket("tags")
        .key("refused")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);
    let max_k = "é".repeat(128);
    let max_v = "ü".repeat(256);
    c.put_object_tagging()
        .bucket("tags")
        .key("o")
        .tagging(tagging(&[(&max_k, &max_v)]))
        .send()
        .await
        .unwrap();

    // CopyObject copies the source's tags unless told to REPLACE them.
    c.copy_object()
        .bucket("tags")
        .key("copied")
        .copy_source("tags/o")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&c, "tags", "copied").await,
        owned(&[(&max_k, &max_v)])
    );
    c.copy_object()
        .bucket("tags")
        .key("replaced")
        .copy_source("tags/o")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("new=1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&c, "tags", "replaced").await,
        owned(&[("new", "1")])
    );

    // DeleteObjectTagging empties the set (no tag count any more); unknown keys are NoSuchKey.
    c.delete_object_tagging()
        .bucket("tags")
        .key("o")
        .send()
        .await
        .unwrap();
    assert!(tags_of(&c, "tags", "o").await.is_empty());
    let g = c.get_object().bucket("tags").key("o").send().await.unwrap();
    assert_eq!(g.tag_count(), None);
    let e = c
        .put_object_tagging()
        .bucket("tags")
        .key("missing")
        .tagging(tagging(&[("k", "v")]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");
    let e = c
        .get_object_tagging()
        .bucket("tags")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");

    // Another account can neither read nor set them.
    let (ak, sk) = s.new_account("other");
    let other = s.client_with(&ak, &sk);
    let e = other
        .get_object_tagging()
        .bucket("tags")
        .key("copied")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = other
        .put_object_tagging()
        .bucket("tags")
        .key("copied")
        .tagging(tagging(&[("x", "y")]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert_eq!(
        tags_of(&c, "tags", "copied").await,
        owned(&[(&max_k, &max_v)])
    );
}
matrix!(object_tagging);

async fn bucket_tagging(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("btags").send().await.unwrap();
    let e = c
        .get_bucket_tagging()
        .bucket("btags")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (404, "NoSuchTagSet"));
    c.put_bucket_tagging()
        .bucket("btags")
        .tagging(tagging(&[("env", "prod"), ("cost", "42")]))
        .send()
        .await
        .unwrap();
    let t = c.get_bucket_tagging().bucket("btags").send().await.unwrap();
    let got: Vec<(&str, &str)> = t.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(got, [("cost", "42"), ("env", "prod")]);
    // Up to 50 tags on a bucket; 51 is refused and changes nothing.
    let fifty_one: Vec<(String, String)> = (0..51).map(|n| (format!("k{n}"), "v".into())).collect();
    let refs: Vec<(&str, &str)> = fifty_one
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let e = c
        .put_bucket_tagging()
        .bucket("btags")
        .tagging(tagging(&refs))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidTag");
    c.put_bucket_tagging()
        .bucket("btags")
        .tagging(tagging(&refs[..50]))
        .send()
        .await
        .unwrap();
    let t = c.get_bucket_tagging().bucket("btags").send().await.unwrap();
    assert_eq!(t.tag_set().len(), 50);
    c.delete_bucket_tagging()
        .bucket("btags")
        .send()
        .await
        .unwrap();
    let e = c
        .get_bucket_tagging()
        .bucket("btags")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchTagSet");
    // Tags go with the bucket.
    c.put_bucket_tagging()
        .bucket("btags")
        .tagging(tagging(&[("a", "b")]))
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket("btags").send().await.unwrap();
    c.create_bucket().bucket("btags").send().await.unwrap();
    let e = c
        .get_bucket_tagging()
        .bucket("btags")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchTagSet");
    let e = c
        .get_bucket_tagging()
        .bucket("nobucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchBucket");
}
matrix!(bucket_tagging);
