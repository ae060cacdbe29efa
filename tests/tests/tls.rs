//! HTTPS: the SDK over TLS (rustls, aws-lc-rs), including a streaming upload from a file whose CRC32
//! arrives as an aws-chunked trailer.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use common::{Db, Opts, Server, Store, random_bytes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_streaming_trailer_upload() {
    let mut o = Opts::new(Db::Sqlite, Store::IoUring);
    o.tls = true;
    let s = Server::start(o).unwrap();
    assert!(s.endpoint.starts_with("https://"));
    let c = s.client();
    c.create_bucket().bucket("tls").send().await.unwrap();
    let data = random_bytes(3 * 1024 * 1024 + 17);
    let path = s.dir.path().join("upload.bin");
    std::fs::write(&path, &data).unwrap();
    let put = c
        .put_object()
        .bucket("tls")
        .key("from-file")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .unwrap();
    assert!(put.checksum_crc32().is_some());
    let h = c
        .head_object()
        .bucket("tls")
        .key("from-file")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        h.checksum_crc32(),
        put.checksum_crc32(),
        "the trailer's CRC32 was verified and stored"
    );
    let got = c
        .get_object()
        .bucket("tls")
        .key("from-file")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert!(got.as_ref() == data.as_slice());
    // Plain HTTP to the TLS port is not served.
    let plain = s.endpoint.replace("https://localhost", "http://127.0.0.1");
    let served = reqwest::get(format!("{plain}/tls"))
        .await
        .is_ok_and(|r| r.status().is_success());
    assert!(!served);
}
