//! Multipart uploads and checksums through the Rust AWS SDK, on every configuration (SQLite/Postgres,
//! io_uring/std).
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use common::{code, random_bytes, status};
use md5::{Digest, Md5};

async fn body_of(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Vec<u8> {
    let o = c.get_object().bucket(b).key(k).send().await.unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

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
        .tagging("team=blue&tier=cold%20data")
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
    // The tags named at creation are the object's.
    let t = c
        .get_object_tagging()
        .bucket("mpu")
        .key("big")
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = t.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("team", "blue"), ("tier", "cold data")]);

    // A client retrying Complete after a lost response gets the same answer (AWS: 200 again), as long as the
    // key still holds what this upload made; after an overwrite the upload is simply gone.
    let complete_again = || {
        c.complete_multipart_upload()
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
    };
    let again = complete_again().await.unwrap();
    assert_eq!(again.e_tag(), done.e_tag());
    assert_eq!(body_of(&c, "mpu", "big").await, whole);
    c.put_object()
        .bucket("mpu")
        .key("big")
        .body(ByteStream::from_static(b"new"))
        .send()
        .await
        .unwrap();
    assert_eq!(code(&complete_again().await.unwrap_err()), "NoSuchUpload");
    assert_eq!(body_of(&c, "mpu", "big").await, b"new");
    c.put_object()
        .bucket("mpu")
        .key("big")
        .body(ByteStream::from(whole.clone()))
        .send()
        .await
        .unwrap();

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
        let whole = [p1d, b"tail".to_vec()].concat();
        let want =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crc_of(&whole));
        // A full-object upload may state the whole object's CRC32 on Complete (a header that is about the
        // object, not the XML body).
        let done = c
            .complete_multipart_upload()
            .bucket("cks")
            .key(&key)
            .upload_id(&id)
            .set_checksum_crc32(full.then(|| want.clone()))
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
