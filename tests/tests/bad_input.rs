//! Bad input: each answered with AWS's error and a request id, and the store unchanged afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sigv4::http_request::SignableBody;
use common::sign::{chunked_body, execute, send, sign_request};
use common::{ROOT_AK, ROOT_SK, code, status};

use common::access::keys;

async fn bad_input(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("bad").send().await.unwrap();
    c.put_object()
        .bucket("bad")
        .key("keep")
        .body(ByteStream::from_static(b"keep"))
        .send()
        .await
        .unwrap();

    // Wrong secret.
    let w = s.client_with(ROOT_AK, "not-the-secret-key-at-all-000000000000000");
    let e = w
        .put_object()
        .bucket("bad")
        .key("x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    let e = s
        .client_with("AKIANOSUCHKEY0000000", "x")
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidAccessKeyId");
    // The wrong region in the credential scope names the right one.
    let creds = aws_sdk_s3::config::Credentials::new(ROOT_AK, ROOT_SK, None, None, "t");
    let west = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new("us-west-2"))
            .endpoint_url(&s.endpoint)
            .credentials_provider(creds)
            .force_path_style(true)
            .build(),
    );
    let e = west
        .list_objects_v2()
        .bucket("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AuthorizationHeaderMalformed");
    let raw = e
        .raw_response()
        .map(|r| String::from_utf8_lossy(r.body().bytes().unwrap_or_default()).into_owned())
        .unwrap_or_default();
    assert!(
        raw.contains("<Region>us-east-1</Region>") && raw.contains("<RequestId>"),
        "{raw}"
    );

    // Presigned: works, expires, and may not exceed seven days.
    let p = c
        .get_object()
        .bucket("bad")
        .key("keep")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(1)).unwrap())
        .await
        .unwrap();
    let url = p.uri().to_owned();
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"keep");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
    let long = url.replace("X-Amz-Expires=1", "X-Amz-Expires=604801");
    let r = reqwest::get(&long).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("AuthorizationQueryParametersError")
    );

    // A tampered aws-chunked chunk signature: refused, nothing stored.
    let now = SystemTime::now();
    let data = vec![b'a'; 70_000];
    let url = format!("{}/bad/chunked", s.endpoint);
    let mk = |body_len: usize| {
        http::Request::builder()
            .method("PUT")
            .uri(&url)
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", data.len().to_string())
            .header("content-length", body_len.to_string())
            .body(Vec::new())
            .unwrap()
    };
    let probe = chunked_body(
        &[&data[..65536], &data[65536..]],
        &"0".repeat(64),
        ROOT_SK,
        now,
    )
    .len();
    let mut req = mk(probe);
    let seed = sign_request(
        &mut req,
        ROOT_AK,
        ROOT_SK,
        SignableBody::Precomputed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
        now,
    );
    let good = chunked_body(&[&data[..65536], &data[65536..]], &seed, ROOT_SK, now);
    let mut bad = good.clone();
    let pos = bad.len() - 200;
    bad[pos] ^= 1; // inside the second chunk's data
    *req.body_mut() = bad;
    let (st, body) = execute(req).await;
    assert_eq!(st, 403, "{body}");
    assert!(
        body.contains("SignatureDoesNotMatch") && body.contains("<RequestId>"),
        "{body}"
    );
    assert_eq!(keys(&c, "bad").await, vec!["keep"]);
    // ...and the untampered body is accepted (the test's signer is right).
    let mut req = mk(probe);
    let seed = sign_request(
        &mut req,
        ROOT_AK,
        ROOT_SK,
        SignableBody::Precomputed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
        now,
    );
    *req.body_mut() = chunked_body(&[&data[..65536], &data[65536..]], &seed, ROOT_SK, now);
    let (st, body) = execute(req).await;
    assert_eq!(st, 200, "{body}");
    c.delete_object()
        .bucket("bad")
        .key("chunked")
        .send()
        .await
        .unwrap();

    // A DeleteObjects body whose Content-MD5 or checksum does not match is refused before anything is deleted.
    let delete_keep = b"<Delete><Object><Key>keep</Key></Object></Delete>".to_vec();
    for h in [
        ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
        ("x-amz-checksum-crc32", "AAAAAA=="),
    ] {
        let (st, body) = send(
            "POST",
            &format!("{}/bad?delete", s.endpoint),
            &[h],
            delete_keep.clone(),
            ROOT_AK,
            ROOT_SK,
        )
        .await;
        assert_eq!(st, 400, "{body}");
        assert!(body.contains("<Code>BadDigest</Code>"), "{body}");
    }
    let (st, body) = send(
        "PUT",
        &format!("{}/bad?tagging", s.endpoint),
        &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
        b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>".to_vec(),
        ROOT_AK,
        ROOT_SK,
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("<Code>BadDigest</Code>"), "{body}");
    let e = c
        .get_bucket_tagging()
        .bucket("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchTagSet");

    // Malformed XML in DeleteObjects and CompleteMultipartUpload.
    let malformed = b"<Delete><Object><Key>keep".to_vec();
    let md5 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        <md5::Md5 as md5::Digest>::digest(&malformed),
    );
    let (st, body) = send(
        "POST",
        &format!("{}/bad?delete", s.endpoint),
        &[("content-md5", md5.as_str())],
        malformed,
        ROOT_AK,
        ROOT_SK,
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("MalformedXML"), "{body}");
    let id = c
        .create_multipart_upload()
        .bucket("bad")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let (st, body) = send(
        "POST",
        &format!("{}/bad/mp?uploadId={id}", s.endpoint),
        &[],
        b"<CompleteMultipartUpload><Part>".to_vec(),
        ROOT_AK,
        ROOT_SK,
    )
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("MalformedXML"), "{body}");
    c.list_parts()
        .bucket("bad")
        .key("mp")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(keys(&c, "bad").await, vec!["keep"]);

    // A 1025-byte key.
    let e = c
        .put_object()
        .bucket("bad")
        .key("k".repeat(1025))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "KeyTooLongError");
    c.put_object()
        .bucket("bad")
        .key("k".repeat(1024))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    c.delete_object()
        .bucket("bad")
        .key("k".repeat(1024))
        .send()
        .await
        .unwrap();
    // Oversized headers and metadata.
    let mut req = c
        .put_object()
        .bucket("bad")
        .key("hdr")
        .body(ByteStream::from_static(b"x"));
    for i in 0..100 {
        req = req.metadata(format!("m{i}"), "v".repeat(90));
    }
    let e = req.send().await.unwrap_err();
    assert_eq!(code(&e), "RequestHeaderSectionTooLarge");
    let e = c
        .put_object()
        .bucket("bad")
        .key("meta")
        .metadata("big", "v".repeat(2100))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MetadataTooLarge");
    // An encryption algorithm S3 does not have is refused, never ignored.
    let e = c
        .put_object()
        .bucket("bad")
        .key("sse")
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::from("AES512"))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    // Unsupported features answer NotImplemented instead of being ignored.
    let e = c
        .put_bucket_versioning()
        .bucket("bad")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .mfa_delete(aws_sdk_s3::types::MfaDelete::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotImplemented");
    let e = c
        .put_bucket_cors()
        .bucket("bad")
        .cors_configuration(
            aws_sdk_s3::types::CorsConfiguration::builder()
                .cors_rules(
                    aws_sdk_s3::types::CorsRule::builder()
                        .allowed_methods("GET")
                        .allowed_origins("*")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotImplemented");
    // Versioning was never enabled (the refused request changed nothing): no Status.
    let v = c
        .get_bucket_versioning()
        .bucket("bad")
        .send()
        .await
        .unwrap();
    assert!(v.status().is_none());
    // An unknown access key is refused and writes nothing.
    let (st, _) = send(
        "PUT",
        &format!("{}/bad/unsigned", s.endpoint),
        &[("x-amz-meta-a", "b")],
        b"abc".to_vec(),
        "AKIANOSUCHKEY0000000",
        "x",
    )
    .await;
    assert_eq!(st, 403);
    assert_eq!(keys(&c, "bad").await, vec!["keep"]);
    assert_eq!(
        c.get_object()
            .bucket("bad")
            .key("keep")
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .as_ref(),
        b"keep"
    );
    let _ = status::<aws_sdk_s3::operation::get_object::GetObjectError>;
}
matrix!(bad_input);
