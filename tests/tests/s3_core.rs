//! The core S3 data path through the Rust AWS SDK, on every configuration (SQLite/Postgres, io_uring/std).
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};
use common::{code, random_bytes, status};
use md5::{Digest, Md5};

async fn body_of(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Vec<u8> {
    let o = c.get_object().bucket(b).key(k).send().await.unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn buckets_and_objects(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("alpha").send().await.unwrap();
    // us-east-1 keeps AWS's legacy answer: re-creating your own bucket succeeds (other regions: 409).
    c.create_bucket().bucket("alpha").send().await.unwrap();
    for bad in [
        "ab",
        "UPPER",
        "-lead",
        "a..b",
        "192.168.1.1",
        &"x".repeat(64),
    ] {
        let e = c.create_bucket().bucket(bad).send().await.unwrap_err();
        assert_eq!(status(&e), 400, "bucket name {bad:?} must be refused");
    }
    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, vec!["alpha"]);
    c.head_bucket().bucket("alpha").send().await.unwrap();
    assert_eq!(
        status(&c.head_bucket().bucket("nosuch").send().await.unwrap_err()),
        404
    );
    let loc = c
        .get_bucket_location()
        .bucket("alpha")
        .send()
        .await
        .unwrap();
    assert!(
        loc.location_constraint().is_none()
            || loc.location_constraint().unwrap().as_str().is_empty()
    );

    let data = random_bytes(100_000);
    let put = c
        .put_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .content_type("application/x-test")
        .cache_control("max-age=60")
        .metadata("colour", "blue")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let md5hex = hex::encode(Md5::digest(&data));
    assert_eq!(put.e_tag(), Some(format!("\"{md5hex}\"").as_str()));
    assert_eq!(body_of(&c, "alpha", "dir/file.bin").await, data);
    let h = c
        .head_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(h.content_length(), Some(100_000));
    assert_eq!(h.content_type(), Some("application/x-test"));
    assert_eq!(h.cache_control(), Some("max-age=60"));
    assert_eq!(
        h.metadata().unwrap().get("colour").map(String::as_str),
        Some("blue")
    );
    let e = c
        .get_object()
        .bucket("alpha")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");
    let e = c
        .get_object()
        .bucket("nosuch")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchBucket");

    // Ranges: closed, open, suffix, and unsatisfiable.
    let r = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .range("bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.content_range(), Some("bytes 10-19/100000"));
    assert_eq!(
        r.body.collect().await.unwrap().into_bytes().as_ref(),
        &data[10..20]
    );
    let r = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .range("bytes=99990-")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.body.collect().await.unwrap().into_bytes().as_ref(),
        &data[99990..]
    );
    let r = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .range("bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.body.collect().await.unwrap().into_bytes().as_ref(),
        &data[99995..]
    );
    let e = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .range("bytes=100000-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 416);
    let r = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.content_length(), Some(100_000));

    // Conditional reads.
    let etag = put.e_tag().unwrap().to_owned();
    let e = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 412);
    let e = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 304);
    c.get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    let past = aws_smithy_types::DateTime::from_secs(1_000_000_000);
    let e = c
        .get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .if_unmodified_since(past)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 412);
    c.get_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .if_modified_since(past)
        .send()
        .await
        .unwrap();

    // Bucket not empty, then delete and delete again (idempotent), then bucket delete.
    let e = c.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(code(&e), "BucketNotEmpty");
    c.delete_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .send()
        .await
        .unwrap();
    c.delete_object()
        .bucket("alpha")
        .key("dir/file.bin")
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket("alpha").send().await.unwrap();
    assert_eq!(
        status(&c.head_bucket().bucket("alpha").send().await.unwrap_err()),
        404
    );
}
matrix!(buckets_and_objects);

async fn conditional_writes(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("cwr").send().await.unwrap();
    let put = |k: &'static str, body: &'static [u8]| {
        c.put_object()
            .bucket("cwr")
            .key(k)
            .body(ByteStream::from_static(body))
    };
    put("k", b"one").if_none_match("*").send().await.unwrap();
    assert_eq!(
        status(
            &put("k", b"two")
                .if_none_match("*")
                .send()
                .await
                .unwrap_err()
        ),
        412
    );
    assert_eq!(
        status(
            &put("k", b"two")
                .if_match("\"0123\"")
                .send()
                .await
                .unwrap_err()
        ),
        412
    );
    let etag = c
        .head_object()
        .bucket("cwr")
        .key("k")
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    // If-None-Match with an ETag: refused while it matches, accepted otherwise.
    assert_eq!(
        status(
            &put("k", b"two")
                .if_none_match(&etag)
                .send()
                .await
                .unwrap_err()
        ),
        412
    );
    put("k", b"two")
        .if_none_match("\"not-it\"")
        .send()
        .await
        .unwrap();
    let etag = c
        .head_object()
        .bucket("cwr")
        .key("k")
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    put("k", b"three").if_match(&etag).send().await.unwrap();
    put("k", b"four").if_match("*").send().await.unwrap();
    assert_eq!(body_of(&c, "cwr", "k").await, b"four");
    // If-Match on a missing key is NoSuchKey, whatever the ETag.
    assert_eq!(
        code(
            &put("absent", b"x")
                .if_match(&etag)
                .send()
                .await
                .unwrap_err()
        ),
        "NoSuchKey"
    );
    assert_eq!(
        code(&put("absent", b"x").if_match("*").send().await.unwrap_err()),
        "NoSuchKey"
    );
    put("absent", b"x")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap();
    // Content-Encoding keeps the object's coding, not the transfer's aws-chunked.
    put("enc", b"gz")
        .content_encoding("gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.head_object()
            .bucket("cwr")
            .key("enc")
            .send()
            .await
            .unwrap()
            .content_encoding(),
        Some("gzip")
    );
}
matrix!(conditional_writes);

/// Conditional deletes: If-Match (ETag or `*`) on DeleteObject and the ETag element of DeleteObjects; a
/// failed condition is 412 and deletes nothing; a missing key is never an error.
async fn conditional_deletes(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("cdel").send().await.unwrap();
    let put = |k: &'static str| {
        c.put_object()
            .bucket("cdel")
            .key(k)
            .body(ByteStream::from_static(b"abc"))
            .send()
    };
    let etag = put("k").await.unwrap().e_tag().unwrap().to_owned();
    let e = c
        .delete_object()
        .bucket("cdel")
        .key("k")
        .if_match("\"0000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (412, "PreconditionFailed"));
    let e = c
        .delete_object()
        .bucket("cdel")
        .key("k")
        .if_match_size(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 412);
    assert_eq!(body_of(&c, "cdel", "k").await, b"abc");
    c.delete_object()
        .bucket("cdel")
        .key("k")
        .if_match(&etag)
        .if_match_size(3)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(
            &c.head_object()
                .bucket("cdel")
                .key("k")
                .send()
                .await
                .unwrap_err()
        ),
        404
    );
    c.delete_object()
        .bucket("cdel")
        .key("k")
        .if_match("\"0000\"")
        .send()
        .await
        .unwrap();
    put("k").await.unwrap();
    c.delete_object()
        .bucket("cdel")
        .key("k")
        .if_match("*")
        .send()
        .await
        .unwrap();
    // DeleteObjects: per-key ETag; a mismatch is reported for that key only.
    let e1 = put("a").await.unwrap().e_tag().unwrap().to_owned();
    put("b").await.unwrap();
    let id = |k: &str, e: &str| ObjectIdentifier::builder().key(k).e_tag(e).build().unwrap();
    let r = c
        .delete_objects()
        .bucket("cdel")
        .delete(
            Delete::builder()
                .objects(id("a", &e1))
                .objects(id("b", "\"0000\""))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let deleted: Vec<&str> = r.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["a"]);
    let errs: Vec<(&str, &str)> = r
        .errors()
        .iter()
        .map(|e| (e.key().unwrap(), e.code().unwrap()))
        .collect();
    assert_eq!(errs, [("b", "PreconditionFailed")]);
    assert_eq!(body_of(&c, "cdel", "b").await, b"abc");
}
matrix!(conditional_deletes);

async fn listing(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("lst").send().await.unwrap();
    let keys = ["a/1", "a/2", "a/b/3", "b/4", "c", "d e+f", "\u{e9}t\u{e9}"];
    for k in keys {
        c.put_object()
            .bucket("lst")
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    let r = c
        .list_objects_v2()
        .bucket("lst")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let cps: Vec<&str> = r
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(cps, vec!["a/", "b/"]);
    let ks: Vec<&str> = r.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(ks, vec!["c", "d e+f", "\u{e9}t\u{e9}"]);
    assert_eq!(r.key_count(), Some(5));
    let r = c
        .list_objects_v2()
        .bucket("lst")
        .prefix("a/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let ks: Vec<&str> = r.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(ks, vec!["a/1", "a/2"]);
    assert_eq!(
        r.common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect::<Vec<_>>(),
        vec!["a/b/"]
    );
    // Pagination with continuation tokens visits every key once, in order.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let r = c
            .list_objects_v2()
            .bucket("lst")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            r.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        if r.is_truncated() != Some(true) {
            break;
        }
        token = r.next_continuation_token().map(str::to_owned);
    }
    let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    sorted.sort();
    assert_eq!(seen, sorted);
    let r = c
        .list_objects_v2()
        .bucket("lst")
        .start_after("b/4")
        .send()
        .await
        .unwrap();
    assert_eq!(r.contents().first().and_then(|o| o.key()), Some("c"));
    let r = c
        .list_objects_v2()
        .bucket("lst")
        .fetch_owner(true)
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert!(r.contents()[0].owner().and_then(|o| o.id()).is_some());
    // v1 with marker and delimiter.
    let r = c
        .list_objects()
        .bucket("lst")
        .marker("a/2")
        .max_keys(1)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.common_prefixes()
            .iter()
            .filter_map(|p| p.prefix())
            .collect::<Vec<_>>(),
        vec!["b/"]
    );
    assert_eq!(r.is_truncated(), Some(true));
    assert_eq!(r.next_marker(), Some("b/"));
    // encoding-type=url: the Rust SDK hands back the encoded form.
    let r = c
        .list_objects_v2()
        .bucket("lst")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .prefix("d")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.contents().first().and_then(|o| o.key()),
        Some("d%20e%2Bf")
    );
    // ListObjects (v1) encodes keys but echoes Prefix as given (SDKs decode only v2's Prefix).
    let r = c
        .list_objects()
        .bucket("lst")
        .encoding_type(aws_sdk_s3::types::EncodingType::Url)
        .prefix("d e")
        .send()
        .await
        .unwrap();
    assert_eq!(r.prefix(), Some("d e"));
    assert_eq!(
        r.contents().first().and_then(|o| o.key()),
        Some("d%20e%2Bf")
    );
    let e = c
        .list_objects_v2()
        .bucket("lst")
        .max_keys(-1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    // DeleteObjects, quiet and verbose.
    let ids = |ks: &[&str]| {
        ks.iter()
            .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
            .collect::<Vec<_>>()
    };
    let d = c
        .delete_objects()
        .bucket("lst")
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["a/1", "a/2", "nope"])))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(d.deleted().len(), 3);
    let d = c
        .delete_objects()
        .bucket("lst")
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["a/b/3", "b/4"])))
                .quiet(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(d.deleted().is_empty() && d.errors().is_empty());
    let r = c.list_objects_v2().bucket("lst").send().await.unwrap();
    assert_eq!(r.key_count(), Some(3));
}
matrix!(listing);

async fn list_buckets_in_pages(s: &common::Server) {
    let c = s.client();
    let empty = c.list_buckets().max_buckets(1).send().await.unwrap();
    assert!(empty.buckets().is_empty());
    assert_eq!(empty.continuation_token(), None);
    for b in ["pg-c", "pg-a", "pg-b", "other"] {
        c.create_bucket().bucket(b).send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let r = c
            .list_buckets()
            .prefix("pg-")
            .max_buckets(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        seen.extend(
            r.buckets()
                .iter()
                .filter_map(|b| b.name())
                .map(str::to_owned),
        );
        token = r.continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        (seen, pages),
        (["pg-a", "pg-b", "pg-c"].map(String::from).to_vec(), 2)
    );
    // A page that ends exactly at the last bucket has no token.
    let r = c.list_buckets().max_buckets(4).send().await.unwrap();
    assert_eq!((r.buckets().len(), r.continuation_token()), (4, None));
    for bad in [0, 10_001] {
        let e = c.list_buckets().max_buckets(bad).send().await.unwrap_err();
        assert_eq!(code(&e), "InvalidArgument");
    }
    let e = c
        .list_buckets()
        .continuation_token("%%%")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
}
matrix!(list_buckets_in_pages);

/// GetObjectAttributes writes the ETag without quotes (unlike every other S3 response); the SDK would
/// accept either, so the raw XML is checked.
async fn object_attributes_etag_unquoted(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("attrs").send().await.unwrap();
    let put = c
        .put_object()
        .bucket("attrs")
        .key("o")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().trim_matches('"').to_owned();
    let url = format!("http://127.0.0.1:{}/attrs/o?attributes", s.port());
    let (st, body) = common::sign::send(
        "GET",
        &url,
        &[("x-amz-object-attributes", "ETag,ObjectSize")],
        Vec::new(),
        common::ROOT_AK,
        common::ROOT_SK,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains(&format!("<ETag>{etag}</ETag>")), "{body}");
    assert!(body.contains("<ObjectSize>5</ObjectSize>"), "{body}");
}
matrix!(object_attributes_etag_unquoted);

async fn copy_object(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("src").send().await.unwrap();
    c.create_bucket().bucket("dst").send().await.unwrap();
    let data = random_bytes(4096);
    c.put_object()
        .bucket("src")
        .key("o")
        .metadata("m", "1")
        .content_type("text/a")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    let r = c
        .copy_object()
        .bucket("dst")
        .key("copy")
        .copy_source("src/o")
        .send()
        .await
        .unwrap();
    assert!(r.copy_object_result().and_then(|x| x.e_tag()).is_some());
    let h = c
        .head_object()
        .bucket("dst")
        .key("copy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        h.metadata().unwrap().get("m").map(String::as_str),
        Some("1")
    );
    assert_eq!(h.content_type(), Some("text/a"));
    assert_eq!(body_of(&c, "dst", "copy").await, data);
    c.copy_object()
        .bucket("dst")
        .key("replaced")
        .copy_source("src/o")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("n", "2")
        .content_type("text/b")
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("dst")
        .key("replaced")
        .send()
        .await
        .unwrap();
    assert_eq!(h.metadata().unwrap().get("m"), None);
    assert_eq!(
        h.metadata().unwrap().get("n").map(String::as_str),
        Some("2")
    );
    assert_eq!(h.content_type(), Some("text/b"));
    let e = c
        .copy_object()
        .bucket("src")
        .key("o")
        .copy_source("src/o")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequest");
    let e = c
        .copy_object()
        .bucket("dst")
        .key("x")
        .copy_source("src/o")
        .copy_source_if_match("\"bad\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 412);
    let e = c
        .copy_object()
        .bucket("dst")
        .key("x")
        .copy_source("src/missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");
    // Deleting the source does not affect the copy.
    c.delete_object()
        .bucket("src")
        .key("o")
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&c, "dst", "copy").await, data);
}
matrix!(copy_object);

async fn tenants_are_isolated(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("mine").send().await.unwrap();
    c.put_object()
        .bucket("mine")
        .key("secret")
        .body(ByteStream::from_static(b"s"))
        .send()
        .await
        .unwrap();
    let (ak, sk) = s.new_account("other");
    let o = s.client_with(&ak, &sk);
    assert!(o.list_buckets().send().await.unwrap().buckets().is_empty());
    assert_eq!(
        code(
            &o.get_object()
                .bucket("mine")
                .key("secret")
                .send()
                .await
                .unwrap_err()
        ),
        "AccessDenied"
    );
    assert_eq!(
        code(
            &o.put_object()
                .bucket("mine")
                .key("x")
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap_err()
        ),
        "AccessDenied"
    );
    assert_eq!(
        code(&o.list_objects_v2().bucket("mine").send().await.unwrap_err()),
        "AccessDenied"
    );
    assert_eq!(
        code(&o.delete_bucket().bucket("mine").send().await.unwrap_err()),
        "AccessDenied"
    );
    assert_eq!(
        code(&o.create_bucket().bucket("mine").send().await.unwrap_err()),
        "BucketAlreadyExists"
    );
    o.create_bucket().bucket("theirs").send().await.unwrap();
    let e = o
        .copy_object()
        .bucket("theirs")
        .key("stolen")
        .copy_source("mine/secret")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = c
        .copy_object()
        .bucket("theirs")
        .key("pushed")
        .copy_source("mine/secret")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    // The store is unchanged.
    assert_eq!(body_of(&c, "mine", "secret").await, b"s");
    assert!(
        o.list_objects_v2()
            .bucket("theirs")
            .send()
            .await
            .unwrap()
            .contents()
            .is_empty()
    );
    // Accounts are listed by the operator command.
    let list = s.admin(&["account", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
}
matrix!(tenants_are_isolated);
