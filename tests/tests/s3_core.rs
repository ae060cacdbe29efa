//! The core S3 data path through the Rust AWS SDK, on every configuration (SQLite/Postgres, io_uring/std).
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete,
    MetadataDirective, ObjectIdentifier,
};
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

async fn multipart(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("mpu").send().await.unwrap();
    let part1 = random_bytes(5 * 1024 * 1024);
    let part2 = random_bytes(1234);
    let up = c
        .create_multipart_upload()
        .bucket("mpu")
        .key("big")
        .content_type("video/x")
        .metadata("k", "v")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let p1 = c
        .upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(part1.clone()))
        .send()
        .await
        .unwrap();
    let p2 = c
        .upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .part_number(2)
        .body(ByteStream::from(part2.clone()))
        .send()
        .await
        .unwrap();
    let lp = c
        .list_parts()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(lp.parts().len(), 2);
    let lu = c
        .list_multipart_uploads()
        .bucket("mpu")
        .send()
        .await
        .unwrap();
    assert_eq!(
        lu.uploads()
            .iter()
            .filter_map(|u| u.upload_id())
            .collect::<Vec<_>>(),
        vec![id.as_str()]
    );
    // Out of order and wrong ETag are refused.
    let part = |n: i32, e: &str| CompletedPart::builder().part_number(n).e_tag(e).build();
    let e = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(2, p2.e_tag().unwrap()))
                .parts(part(1, p1.e_tag().unwrap()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidPartOrder");
    let e = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, "\"00\""))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidPart");
    let done = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, p1.e_tag().unwrap()))
                .parts(part(2, p2.e_tag().unwrap()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut h = Md5::new();
    h.update(Md5::digest(&part1));
    h.update(Md5::digest(&part2));
    assert_eq!(
        done.e_tag(),
        Some(format!("\"{}-2\"", hex::encode(h.finalize())).as_str())
    );
    let whole = [part1.clone(), part2.clone()].concat();
    assert_eq!(body_of(&c, "mpu", "big").await, whole);
    let g = c
        .get_object()
        .bucket("mpu")
        .key("big")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(g.parts_count(), Some(2));
    assert_eq!(
        g.body.collect().await.unwrap().into_bytes().as_ref(),
        part2.as_slice()
    );
    let hd = c
        .head_object()
        .bucket("mpu")
        .key("big")
        .send()
        .await
        .unwrap();
    assert_eq!(hd.content_type(), Some("video/x"));
    assert_eq!(
        hd.metadata().unwrap().get("k").map(String::as_str),
        Some("v")
    );
    let e = c
        .list_parts()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");

    // Too-small parts, UploadPartCopy with a range, and abort.
    let up = c
        .create_multipart_upload()
        .bucket("mpu")
        .key("small")
        .send()
        .await
        .unwrap();
    let id2 = up.upload_id().unwrap().to_owned();
    let a = c
        .upload_part()
        .bucket("mpu")
        .key("small")
        .upload_id(&id2)
        .part_number(1)
        .body(ByteStream::from_static(b"tiny"))
        .send()
        .await
        .unwrap();
    let b = c
        .upload_part_copy()
        .bucket("mpu")
        .key("small")
        .upload_id(&id2)
        .part_number(2)
        .copy_source("mpu/big")
        .copy_source_range("bytes=0-99")
        .send()
        .await
        .unwrap();
    let e = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("small")
        .upload_id(&id2)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(part(1, a.e_tag().unwrap()))
                .parts(part(2, b.copy_part_result().unwrap().e_tag().unwrap()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "EntityTooSmall");
    c.abort_multipart_upload()
        .bucket("mpu")
        .key("small")
        .upload_id(&id2)
        .send()
        .await
        .unwrap();
    let e = c
        .abort_multipart_upload()
        .bucket("mpu")
        .key("small")
        .upload_id(&id2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");
    let e = c
        .upload_part()
        .bucket("mpu")
        .key("small")
        .upload_id("bogus")
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchUpload");
}
matrix!(multipart);

async fn checksums(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("cks").send().await.unwrap();
    for algo in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ] {
        let key = format!("k-{}", algo.as_str());
        c.put_object()
            .bucket("cks")
            .key(&key)
            .checksum_algorithm(algo.clone())
            .body(ByteStream::from_static(b"hello checksums"))
            .send()
            .await
            .unwrap();
        let h = c
            .head_object()
            .bucket("cks")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let got = match algo {
            ChecksumAlgorithm::Crc32 => h.checksum_crc32(),
            ChecksumAlgorithm::Crc32C => h.checksum_crc32_c(),
            ChecksumAlgorithm::Crc64Nvme => h.checksum_crc64_nvme(),
            ChecksumAlgorithm::Sha1 => h.checksum_sha1(),
            _ => h.checksum_sha256(),
        };
        assert!(got.is_some(), "{algo:?} checksum returned");
    }
    // A wrong checksum is refused and nothing is stored.
    let e = c
        .put_object()
        .bucket("cks")
        .key("bad")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadDigest");
    let e = c
        .head_object()
        .bucket("cks")
        .key("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);
    let e = c
        .put_object()
        .bucket("cks")
        .key("bad")
        .content_md5("AAAAAAAAAAAAAAAAAAAAAA==")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BadDigest");
    let e = c
        .head_object()
        .bucket("cks")
        .key("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);
    // Multipart with CRC32: composite by default, full-object when asked.
    for full in [false, true] {
        let key = format!("mp-{full}");
        let mut req = c
            .create_multipart_upload()
            .bucket("cks")
            .key(&key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32);
        if full {
            req = req.checksum_type(aws_sdk_s3::types::ChecksumType::FullObject);
        }
        let id = req.send().await.unwrap().upload_id().unwrap().to_owned();
        let p1d = random_bytes(5 * 1024 * 1024);
        let p1 = c
            .upload_part()
            .bucket("cks")
            .key(&key)
            .upload_id(&id)
            .part_number(1)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(p1d.clone()))
            .send()
            .await
            .unwrap();
        let p2 = c
            .upload_part()
            .bucket("cks")
            .key(&key)
            .upload_id(&id)
            .part_number(2)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from_static(b"tail"))
            .send()
            .await
            .unwrap();
        let parts = [(1, &p1), (2, &p2)]
            .iter()
            .map(|(n, p)| {
                CompletedPart::builder()
                    .part_number(*n)
                    .e_tag(p.e_tag().unwrap())
                    .checksum_crc32(p.checksum_crc32().unwrap())
                    .build()
            })
            .collect::<Vec<_>>();
        let done = c
            .complete_multipart_upload()
            .bucket("cks")
            .key(&key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let crc = done.checksum_crc32().unwrap().to_owned();
        if full {
            let whole = [p1d, b"tail".to_vec()].concat();
            let want =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crc_of(&whole));
            assert_eq!(
                crc, want,
                "full-object CRC32 equals the CRC32 of the whole body"
            );
        } else {
            assert!(crc.ends_with("-2"), "composite checksum {crc}");
        }
    }
}
matrix!(checksums);

fn crc_of(data: &[u8]) -> [u8; 4] {
    // CRC-32/ISO-HDLC, bitwise (an independent oracle for the server's combined value).
    let mut crc: u32 = 0xffff_ffff;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    (!crc).to_be_bytes()
}

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
