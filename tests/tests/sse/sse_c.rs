//! SSE-C rules, SSE-C over TLS only by default, tampered blobs.

use super::*;

/// Asserts an error response reveals nothing of a 777-byte object with user metadata.
fn leak_free(h: &aws_smithy_runtime_api::http::Headers) {
    for name in [
        "x-amz-meta-secret",
        "etag",
        "last-modified",
        "content-range",
        "x-amz-server-side-encryption-customer-algorithm",
    ] {
        assert!(h.get(name).is_none(), "{name} leaked");
    }
    assert_ne!(h.get("content-length"), Some("777"));
}

/// SSE-C: header validation as AWS; a missing key is 400, a wrong key 403, neither revealing the object's
/// size, ETag or metadata; HEAD likewise; SSE-C headers on an object not under SSE-C are 400.
async fn sse_c_rules(s: &Server) {
    let c = s.client();
    c.create_bucket().bucket("ssec").send().await.unwrap();
    let body = random_bytes(777);
    let (k1, m1) = ck(1);
    with_mode!(c.put_object().bucket("ssec").key("o"), M::C(1))
        .metadata("secret", "meta-value")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let e = c
        .get_object()
        .bucket("ssec")
        .key("o")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidRequest"));
    leak_free(e.raw_response().unwrap().headers());
    let e = with_key!(c.get_object().bucket("ssec").key("o"), M::C(2))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (403, "AccessDenied"));
    leak_free(e.raw_response().unwrap().headers());
    let e = with_key!(c.head_object().bucket("ssec").key("o"), M::C(2))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 403);
    leak_free(e.raw_response().unwrap().headers());
    let e = c
        .head_object()
        .bucket("ssec")
        .key("o")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    leak_free(e.raw_response().unwrap().headers());
    let e = with_key!(
        c.get_object().bucket("ssec").key("o").range("bytes=0-9"),
        M::C(2)
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(status(&e), 403);
    // The right key: data and the echo.
    let g = with_key!(c.get_object().bucket("ssec").key("o"), M::C(1))
        .send()
        .await
        .unwrap();
    assert_eq!(g.sse_customer_algorithm(), Some("AES256"));
    assert_eq!(g.sse_customer_key_md5(), Some(m1.as_str()));
    assert_eq!(g.body.collect().await.unwrap().into_bytes().to_vec(), body);
    // Header validation on PUT.
    let put = || {
        c.put_object()
            .bucket("ssec")
            .key("bad")
            .body(ByteStream::from_static(b"x"))
    };
    let cases = [
        (
            put()
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&k1)
                .sse_customer_key_md5("AAAAAAAAAAAAAAAAAAAAAA=="),
            "InvalidArgument",
        ),
        (
            put()
                .sse_customer_algorithm("AES256")
                .sse_customer_key(B64.encode([1u8; 16]))
                .sse_customer_key_md5(B64.encode(Md5::digest([1u8; 16]))),
            "InvalidArgument",
        ),
        (
            put()
                .sse_customer_algorithm("AES512")
                .sse_customer_key(&k1)
                .sse_customer_key_md5(&m1),
            "InvalidEncryptionAlgorithmError",
        ),
        (
            put().sse_customer_key(&k1).sse_customer_key_md5(&m1),
            "InvalidArgument",
        ),
        (
            put()
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&k1)
                .sse_customer_key_md5(&m1)
                .server_side_encryption(ServerSideEncryption::Aes256),
            "InvalidArgument",
        ),
    ];
    for (i, (req, want)) in cases.into_iter().enumerate() {
        let e = req.send().await.unwrap_err();
        assert_eq!((status(&e), code(&e)), (400, want.to_owned()), "case {i}");
    }
    let e = c
        .head_object()
        .bucket("ssec")
        .key("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404, "nothing was written");
    // SSE-C headers on an SSE-S3 object.
    with_mode!(c.put_object().bucket("ssec").key("s3"), M::S3)
        .body(ByteStream::from_static(b"abc"))
        .send()
        .await
        .unwrap();
    let e = with_key!(c.get_object().bucket("ssec").key("s3"), M::C(1))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidRequest"));
}
sse_matrix!(sse_c_rules);

/// With the default configuration SSE-C over plain HTTP is refused (InvalidRequest); over TLS it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_c_needs_tls_by_default() {
    let s = Server::start(common::Opts::new(common::Db::Sqlite, common::Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket().bucket("tls").send().await.unwrap();
    let e = with_mode!(c.put_object().bucket("tls").key("o"), M::C(1))
        .body(ByteStream::from_static(b"abc"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidRequest"));
    let mut o = common::Opts::new(common::Db::Sqlite, common::Store::Std);
    o.tls = true;
    let s = Server::start(o).unwrap();
    let c = s.client();
    c.create_bucket().bucket("tls").send().await.unwrap();
    with_mode!(c.put_object().bucket("tls").key("o"), M::C(1))
        .body(ByteStream::from_static(b"abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "tls", "o", M::C(1), None).await, b"abc");
}

/// A flipped byte in a stored blob (first chunk, or a later one) gives an error, never data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blob_is_an_error() {
    let s = Server::start(http_opts(common::Db::Sqlite)).unwrap();
    create_key(&s);
    let c = s.client();
    c.create_bucket().bucket("tam").send().await.unwrap();
    for m in [M::S3, M::Kms, M::C(7)] {
        let n = 200_000usize;
        let body = random_bytes(n);
        let before: Vec<PathBuf> = files(&data_dir(&s).join("blobs"));
        let key = format!("t-{m:?}");
        with_mode!(c.put_object().bucket("tam").key(&key), m)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        let blob = files(&data_dir(&s).join("blobs"))
            .into_iter()
            .find(|p| !before.contains(p))
            .expect("the new blob");
        let sealed = std::fs::read(&blob).unwrap();
        // 24-byte header, 4 chunks with 16-byte tags.
        assert_eq!(sealed.len(), 24 + n + 4 * 16, "sealed size");
        assert!(
            !sealed
                .windows(64)
                .any(|w| body.windows(64).next() == Some(w)),
            "ciphertext only"
        );
        let flip = |at: usize| {
            let mut d = sealed.clone();
            d[at] ^= 0x01;
            std::fs::write(&blob, d).unwrap();
        };
        // A byte of the first chunk: the GET itself fails.
        flip(100);
        let r = with_key!(c.get_object().bucket("tam").key(&key), m)
            .send()
            .await;
        match r {
            Err(e) => assert_eq!(status(&e), 500, "{m:?}"),
            Ok(o) => assert!(
                o.body.collect().await.is_err(),
                "{m:?}: data from a tampered blob"
            ),
        }
        // A byte of the third chunk: the response or its body fails.
        flip(24 + 2 * (65_536 + 16) + 5);
        let r = with_key!(c.get_object().bucket("tam").key(&key), m)
            .send()
            .await;
        assert!(
            match r {
                Err(e) => status(&e) == 500,
                Ok(o) => o.body.collect().await.is_err(),
            },
            "{m:?}: a tampered chunk passed"
        );
        // A range in the third chunk fails too; one in the first chunk still reads.
        let r = with_key!(
            c.get_object()
                .bucket("tam")
                .key(&key)
                .range("bytes=140000-140100"),
            m
        )
        .send()
        .await;
        assert!(
            match r {
                Err(_) => true,
                Ok(o) => o.body.collect().await.is_err(),
            },
            "{m:?}: tampered range"
        );
        assert_eq!(
            get(&c, "tam", &key, m, Some("bytes=0-999")).await,
            &body[..1000]
        );
        // Restored, it reads again.
        std::fs::write(&blob, &sealed).unwrap();
        assert_eq!(get(&c, "tam", &key, m, None).await, body);
    }
}
