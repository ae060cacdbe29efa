//! KMS keys: rotation, errors, bucket default encryption, an unreachable KMS, the Vault backend.

use super::*;

/// A rotated KMS key still opens objects sealed under its older version; new objects use the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_key_still_decrypts() {
    let s = Server::start(http_opts(common::Db::Sqlite)).unwrap();
    create_key(&s);
    let c = s.client();
    c.create_bucket().bucket("rot").send().await.unwrap();
    let old = random_bytes(100_000);
    with_mode!(c.put_object().bucket("rot").key("old"), M::Kms)
        .body(ByteStream::from(old.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        field(&s.admin(&["kms", "key", "rotate", KEY]), "version"),
        "2"
    );
    let new = random_bytes(1000);
    with_mode!(c.put_object().bucket("rot").key("new"), M::Kms)
        .body(ByteStream::from(new.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "rot", "old", M::Kms, None).await, old);
    assert_eq!(get(&c, "rot", "new", M::Kms, None).await, new);
    // Rotating again, across a restart.
    s.admin(&["kms", "key", "rotate", KEY]);
    let mut s = s;
    s.crash_and_restart();
    let c = s.client();
    assert_eq!(
        get(&c, "rot", "old", M::Kms, Some("bytes=5-70000")).await,
        &old[5..=70_000]
    );
    assert_eq!(get(&c, "rot", "new", M::Kms, None).await, new);
}

/// KMS key errors as AWS: an unknown key is KMS.NotFoundException (400), a malformed one InvalidArgument, a
/// key id without aws:kms InvalidArgument; nothing is written. `aws:kms` without a key id uses the account's
/// default key.
async fn kms_errors(s: &Server) {
    let c = s.client();
    c.create_bucket().bucket("kerr").send().await.unwrap();
    let put = |k: &str| {
        c.put_object()
            .bucket("kerr")
            .key(k)
            .body(ByteStream::from_static(b"data"))
    };
    let e = put("a")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("no-such-key")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (status(&e), code(&e).as_str()),
        (400, "KMS.NotFoundException")
    );
    let e = put("a")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("alias/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "KMS.NotFoundException");
    let e = put("a")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("bad key id!")
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidArgument"));
    let e = put("a").ssekms_key_id(KEY).send().await.unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidArgument"));
    let e = put("a")
        .server_side_encryption(ServerSideEncryption::from("AES128"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    let e = c
        .head_object()
        .bucket("kerr")
        .key("a")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404, "nothing was written");
    // The account's default key.
    let r = put("d")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .bucket_key_enabled(true)
        .send()
        .await
        .unwrap();
    assert!(r.ssekms_key_id().unwrap().contains(":key/"));
    assert_eq!(r.bucket_key_enabled(), Some(true));
    assert_eq!(get(&c, "kerr", "d", M::Kms, None).await, b"data");
    let h = c
        .head_object()
        .bucket("kerr")
        .key("d")
        .send()
        .await
        .unwrap();
    assert_eq!(h.bucket_key_enabled(), Some(true));
    // An encryption context is bound and echoed.
    let ctx = B64.encode(br#"{"project":"x"}"#);
    let arn = create_key(s);
    // The key named by its ARN, and by its alias's ARN.
    for id in [arn.clone(), arn.replace(":key/", ":alias/")] {
        let r = put("arn")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
        assert_eq!(r.ssekms_key_id(), Some(arn.as_str()));
        assert_eq!(get(&c, "kerr", "arn", M::Kms, None).await, b"data");
    }
    let r = put("ctx")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .ssekms_encryption_context(&ctx)
        .send()
        .await
        .unwrap();
    let echoed = B64.decode(r.ssekms_encryption_context().unwrap()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&echoed).unwrap();
    assert_eq!(v["project"], "x");
    assert_eq!(v["aws:s3:arn"], "arn:aws:s3:::kerr/ctx");
    assert_eq!(get(&c, "kerr", "ctx", M::Kms, None).await, b"data");
    // Another account cannot use this account's key.
    let (ak, sk) = s.new_account("other");
    let o = s.client_with(&ak, &sk);
    o.create_bucket().bucket("kerr-other").send().await.unwrap();
    let e = o
        .put_object()
        .bucket("kerr-other")
        .key("k")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (403, "AccessDenied"));
    // Its own default key works.
    let r = o
        .put_object()
        .bucket("kerr-other")
        .key("k")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert!(!r.ssekms_key_id().unwrap().ends_with(&format!("key/{KEY}")));
}
sse_matrix!(kms_errors);

/// Bucket default encryption: Put/Get/Delete with AWS's validation and not-found error, applied to PUT,
/// CopyObject and multipart uploads that name no mode (a request's own mode wins).
async fn bucket_default(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("bdef").send().await.unwrap();
    let e = c
        .get_bucket_encryption()
        .bucket("bdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (status(&e), code(&e).as_str()),
        (404, "ServerSideEncryptionConfigurationNotFoundError")
    );
    let conf = |alg: ServerSideEncryption, key: Option<&str>| {
        ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(alg)
                            .set_kms_master_key_id(key.map(str::to_owned))
                            .build()
                            .unwrap(),
                    )
                    .bucket_key_enabled(true)
                    .build(),
            )
            .build()
            .unwrap()
    };
    let e = c
        .put_bucket_encryption()
        .bucket("bdef")
        .server_side_encryption_configuration(conf(ServerSideEncryption::Aes256, Some(KEY)))
        .send()
        .await
        .unwrap_err();
    assert_eq!((status(&e), code(&e).as_str()), (400, "InvalidArgument"));
    c.put_bucket_encryption()
        .bucket("bdef")
        .server_side_encryption_configuration(conf(ServerSideEncryption::AwsKms, Some(KEY)))
        .send()
        .await
        .unwrap();
    let got = c
        .get_bucket_encryption()
        .bucket("bdef")
        .send()
        .await
        .unwrap();
    let rule = &got.server_side_encryption_configuration().unwrap().rules()[0];
    let d = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(d.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(d.kms_master_key_id(), Some(KEY));
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    let body = marked("DEFAULT-ENC-MARKER", 100_000);
    let r = c
        .put_object()
        .bucket("bdef")
        .key("p")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert!(r.ssekms_key_id().unwrap().ends_with(&format!("key/{KEY}")));
    assert_eq!(r.bucket_key_enabled(), Some(true));
    // A request's own mode wins.
    let r = with_mode!(c.put_object().bucket("bdef").key("own"), M::S3)
        .body(ByteStream::from_static(b"own"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    let r = c
        .copy_object()
        .bucket("bdef")
        .key("c")
        .copy_source("bdef/own")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    let up = c
        .create_multipart_upload()
        .bucket("bdef")
        .key("m")
        .send()
        .await
        .unwrap();
    assert_eq!(
        up.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    c.abort_multipart_upload()
        .bucket("bdef")
        .key("m")
        .upload_id(up.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "bdef", "p", M::Plain, None).await, body);
    assert_eq!(get(&c, "bdef", "c", M::Plain, None).await, b"own");
    if s.db_url.is_none() {
        assert!(files_containing(&data_dir(s), b"DEFAULT-ENC-MARKER").is_empty());
    }
    c.delete_bucket_encryption()
        .bucket("bdef")
        .send()
        .await
        .unwrap();
    let e = c
        .get_bucket_encryption()
        .bucket("bdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);
    let r = c
        .put_object()
        .bucket("bdef")
        .key("after")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert!(r.server_side_encryption().is_none());
}
sse_matrix!(bucket_default);

/// With the Vault KMS unreachable, SSE-KMS writes fail with a KMS 5xx and write nothing; SSE-S3 still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_down_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("g.toml");
    std::fs::write(
        &cfg,
        format!("kms = \"vault\"\nvault_addr = \"http://127.0.0.1:{port}\"\nvault_token = \"t\"\n"),
    )
    .unwrap();
    let mut o = common::Opts::new(common::Db::Sqlite, common::Store::Std);
    o.extra = vec!["--config".into(), cfg.display().to_string()];
    let s = Server::start(o).unwrap();
    let c = s.client();
    c.create_bucket().bucket("down").send().await.unwrap();
    let e = c
        .put_object()
        .bucket("down")
        .key("k")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap_err();
    assert!(status(&e) >= 500, "{e:?}");
    assert!(code(&e).starts_with("KMS."), "{}", code(&e));
    let e = c
        .head_object()
        .bucket("down")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404, "nothing was written");
    let e = c
        .create_multipart_upload()
        .bucket("down")
        .key("m")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .await
        .unwrap_err();
    assert!(status(&e) >= 500);
    let l = c
        .list_multipart_uploads()
        .bucket("down")
        .send()
        .await
        .unwrap();
    assert!(l.uploads().is_empty());
    with_mode!(c.put_object().bucket("down").key("s3"), M::S3)
        .body(ByteStream::from_static(b"fine"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "down", "s3", M::S3, None).await, b"fine");
}

/// SSE-KMS on the Vault backend against a real OpenBao (`eval "$(scripts/openbao.sh start)"`): PUT, GET,
/// range, multipart, rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_backend() {
    let get_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(addr), Some(_token), Some(ca)) = (
        get_env("GATEHOUSE_VAULT_ADDR"),
        get_env("GATEHOUSE_VAULT_TOKEN"),
        get_env("GATEHOUSE_VAULT_CACERT"),
    ) else {
        assert!(
            get_env("GATEHOUSE_REQUIRE_VAULT").as_deref() != Some("1"),
            "GATEHOUSE_REQUIRE_VAULT=1 but the OpenBao variables are not set"
        );
        eprintln!("skipping: no OpenBao (eval \"$(scripts/openbao.sh start)\")");
        return;
    };
    let vault = vec![
        "--kms".to_owned(),
        "vault".into(),
        "--vault-addr".into(),
        addr,
        "--vault-ca".into(),
        ca,
    ];
    let mut o = common::Opts::new(common::Db::Sqlite, common::Store::IoUring);
    o.extra = vault.clone();
    o.extra_admin = vault;
    let mut s = Server::start(o).unwrap();
    let name = format!("gh-sse-{}", hex::encode(rand::random::<[u8; 4]>()));
    s.admin(&["kms", "key", "create", &name, "--key-id", &name]);
    let c = s.client();
    c.create_bucket().bucket("vlt").send().await.unwrap();
    let body = marked("VAULT-SECRET-MARKER", 300_000);
    let r = c
        .put_object()
        .bucket("vlt")
        .key("o")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&name)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert!(r.ssekms_key_id().unwrap().ends_with(&format!("key/{name}")));
    assert_eq!(get(&c, "vlt", "o", M::Plain, None).await, body);
    assert_eq!(
        get(&c, "vlt", "o", M::Plain, Some("bytes=100000-200000")).await,
        &body[100_000..=200_000]
    );
    let e = c
        .put_object()
        .bucket("vlt")
        .key("x")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("gh-sse-no-such-key")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "KMS.NotFoundException");
    s.admin(&["kms", "key", "rotate", &name]);
    s.crash_and_restart();
    let c = s.client();
    assert_eq!(get(&c, "vlt", "o", M::Plain, None).await, body);
    let up = c
        .create_multipart_upload()
        .bucket("vlt")
        .key("m")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&name)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let p = c
        .upload_part()
        .bucket("vlt")
        .key("m")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    c.complete_multipart_upload()
        .bucket("vlt")
        .key("m")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(p.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, "vlt", "m", M::Plain, None).await, body);
    assert!(files_containing(&data_dir(&s), b"VAULT-SECRET-MARKER").is_empty());
}
