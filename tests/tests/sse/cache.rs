//! SSE-KMS bucket keys and the unwrapped-key cache: objects written with the bucket-key flag round-trip
//! (full, ranged, multipart, copy) and are echoed as such; the KMS is asked far less (counted on /metrics
//! and, with OpenBao, in its audit log); a key disabled or deleted in the KMS is honoured once the cache
//! bounds have passed; the count bound makes new bucket keys.

use std::time::{Duration, Instant};

use super::*;

/// The gateway's count of KMS calls of operation `op` (`gatehouse_kms_requests_total`).
async fn kms_calls(s: &Server, op: &str) -> u64 {
    let m = reqwest::get(format!("{}/metrics", s.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("gatehouse_kms_requests_total{{op=\"{op}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {m}"))
        .trim()
        .parse()
        .unwrap()
}

/// Options with these extra flags.
fn opts_with(db: common::Db, flags: &[&str]) -> common::Opts {
    let mut o = http_opts(db);
    o.extra.extend(flags.iter().map(|f| f.to_string()));
    o
}

async fn put_bk(c: &aws_sdk_s3::Client, b: &str, k: &str, body: &[u8], bucket_key: bool) {
    let r = c
        .put_object()
        .bucket(b)
        .key(k)
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .bucket_key_enabled(bucket_key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {k}: {e:?}"));
    assert_eq!(
        r.bucket_key_enabled(),
        bucket_key.then_some(true),
        "PUT {k} echo"
    );
}

/// Objects written with the bucket-key flag (header, bucket default, multipart, copy) round-trip whole and
/// by range, GET/HEAD echo the flag, hold no plaintext, and all share one KMS data key.
async fn bucket_key_objects(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("bkt").send().await.unwrap();
    let gen0 = kms_calls(s, "generate_data_key").await;
    let body = marked("BUCKET-KEY-MARKER", 200_000);
    for i in 0..5 {
        put_bk(&c, "bkt", &format!("o{i}"), &body, true).await;
    }
    assert_eq!(
        kms_calls(s, "generate_data_key").await - gen0,
        1,
        "five objects, one KMS data key"
    );
    assert!(files_containing(&data_dir(s), b"BUCKET-KEY-MARKER").is_empty());
    for i in 0..5 {
        let k = format!("o{i}");
        assert_eq!(get(&c, "bkt", &k, M::Plain, None).await, body);
        assert_eq!(
            get(&c, "bkt", &k, M::Plain, Some("bytes=70000-140000")).await,
            &body[70_000..=140_000]
        );
        let g = c.get_object().bucket("bkt").key(&k).send().await.unwrap();
        assert_eq!(g.bucket_key_enabled(), Some(true));
        assert_eq!(
            g.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms)
        );
        assert!(g.ssekms_key_id().unwrap().ends_with(&format!("key/{KEY}")));
        let h = c.head_object().bucket("bkt").key(&k).send().await.unwrap();
        assert_eq!(h.bucket_key_enabled(), Some(true));
    }
    // Without the flag: no bucket key, nothing echoed.
    put_bk(&c, "bkt", "solo", &body, false).await;
    let h = c
        .head_object()
        .bucket("bkt")
        .key("solo")
        .send()
        .await
        .unwrap();
    assert_eq!(h.bucket_key_enabled(), None);
    // Multipart under a bucket key.
    let up = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("mp")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .bucket_key_enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(up.bucket_key_enabled(), Some(true));
    let id = up.upload_id().unwrap();
    let p1 = random_bytes(5 << 20);
    let p2 = random_bytes(300_000);
    let mut parts = Vec::new();
    for (n, data) in [(1, &p1), (2, &p2)] {
        let r = c
            .upload_part()
            .bucket("bkt")
            .key("mp")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.bucket_key_enabled(), Some(true));
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let done = c
        .complete_multipart_upload()
        .bucket("bkt")
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.bucket_key_enabled(), Some(true));
    let whole = [p1.clone(), p2.clone()].concat();
    assert_eq!(get(&c, "bkt", "mp", M::Plain, None).await, whole);
    let (a, b) = ((5 << 20) - 1000, (5 << 20) + 1000);
    assert_eq!(
        get(&c, "bkt", "mp", M::Plain, Some(&format!("bytes={a}-{b}"))).await,
        &whole[a..=b]
    );
    // Copies: bucket key to bucket key (another bucket), and bucket key to a plain SSE-KMS object.
    c.create_bucket().bucket("bkt2").send().await.unwrap();
    let r = c
        .copy_object()
        .bucket("bkt2")
        .key("copy")
        .copy_source("bkt/o1")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .bucket_key_enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bucket_key_enabled(), Some(true));
    assert_eq!(get(&c, "bkt2", "copy", M::Plain, None).await, body);
    let r = c
        .copy_object()
        .bucket("bkt")
        .key("copy-solo")
        .copy_source("bkt/mp")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bucket_key_enabled(), None);
    assert_eq!(get(&c, "bkt", "copy-solo", M::Plain, None).await, whole);
    // The bucket default's BucketKeyEnabled applies to PUTs that name no mode.
    c.put_bucket_encryption()
        .bucket("bkt2")
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id(KEY)
                                .build()
                                .unwrap(),
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let r = c
        .put_object()
        .bucket("bkt2")
        .key("dflt")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bucket_key_enabled(), Some(true));
    assert_eq!(get(&c, "bkt2", "dflt", M::Plain, None).await, body);
}

sse_matrix!(bucket_key_objects);

/// The KMS is asked once per bucket key and once per unwrapped key within the bounds: counted on /metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caches_cut_kms_calls() {
    let mut s = Server::start(opts_with(
        common::Db::Sqlite,
        &["--sse-bucket-key-max-objects", "4"],
    ))
    .unwrap();
    create_key(&s);
    let c = s.client();
    c.create_bucket().bucket("cnt").send().await.unwrap();
    let body = random_bytes(10_000);
    let (gen0, dec0) = (
        kms_calls(&s, "generate_data_key").await,
        kms_calls(&s, "decrypt").await,
    );
    for i in 0..10 {
        put_bk(&c, "cnt", &format!("bk{i}"), &body, true).await;
    }
    assert_eq!(
        kms_calls(&s, "generate_data_key").await - gen0,
        3,
        "ten objects, at most four per bucket key: three KMS data keys"
    );
    for i in 0..10 {
        assert_eq!(
            get(&c, "cnt", &format!("bk{i}"), M::Plain, None).await,
            body
        );
    }
    assert_eq!(
        kms_calls(&s, "decrypt").await - dec0,
        0,
        "bucket keys made here are already unwrapped"
    );
    let gen1 = kms_calls(&s, "generate_data_key").await;
    for i in 0..10 {
        put_bk(&c, "cnt", &format!("solo{i}"), &body, false).await;
    }
    assert_eq!(
        kms_calls(&s, "generate_data_key").await - gen1,
        10,
        "without the flag, one KMS data key per object"
    );
    // A fresh process: one decrypt per bucket key and per object key, then none, even when the first
    // reads all come at once (they wait for one another's KMS answer).
    s.crash_and_restart();
    let c = s.client();
    assert_eq!(kms_calls(&s, "decrypt").await, 0);
    let all = (0..10).flat_map(|i| [format!("bk{i}"), format!("solo{i}")]);
    let reads = futures::future::join_all(all.map(|k| {
        let c = c.clone();
        async move { get(&c, "cnt", &k, M::Plain, None).await }
    }))
    .await;
    assert!(reads.iter().all(|r| *r == body));
    assert_eq!(
        kms_calls(&s, "decrypt").await,
        3 + 10,
        "twenty concurrent first reads: three bucket keys and ten object keys unwrapped once each"
    );
    for _ in 0..3 {
        for i in 0..10 {
            assert_eq!(
                get(&c, "cnt", &format!("bk{i}"), M::Plain, None).await,
                body
            );
            assert_eq!(
                get(&c, "cnt", &format!("solo{i}"), M::Plain, None).await,
                body
            );
        }
    }
    assert_eq!(
        kms_calls(&s, "decrypt").await,
        3 + 10,
        "three bucket keys and ten object keys, each unwrapped once in three rounds of reads"
    );
}

/// With the caches off (`--kms-decrypt-cache-seconds 0`, `--sse-bucket-key-seconds 0`) every request asks
/// the KMS, and the flag is not echoed (no bucket key was used).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caches_off_ask_the_kms_every_time() {
    let s = Server::start(opts_with(
        common::Db::Sqlite,
        &[
            "--sse-bucket-key-seconds",
            "0",
            "--kms-decrypt-cache-seconds",
            "0",
        ],
    ))
    .unwrap();
    create_key(&s);
    let c = s.client();
    c.create_bucket().bucket("off").send().await.unwrap();
    let (gen0, dec0) = (
        kms_calls(&s, "generate_data_key").await,
        kms_calls(&s, "decrypt").await,
    );
    for i in 0..4 {
        put_bk(&c, "off", &format!("o{i}"), b"x", false).await;
        get(&c, "off", &format!("o{i}"), M::Plain, None).await;
        get(&c, "off", &format!("o{i}"), M::Plain, None).await;
    }
    assert_eq!(kms_calls(&s, "generate_data_key").await - gen0, 4);
    assert_eq!(kms_calls(&s, "decrypt").await - dec0, 8);
    let r = c
        .put_object()
        .bucket("off")
        .key("flag")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .bucket_key_enabled(true)
        .body(ByteStream::from_static(b"y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bucket_key_enabled(), None, "no bucket key was used");
}

/// A key disabled in the KMS keeps serving from the caches at most for their bounds, then is refused for
/// writes and reads (`KMS.DisabledException`); enabled again, it works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_key_is_honoured_after_the_bounds() {
    const TTL: u64 = 3;
    let s = Server::start(opts_with(
        common::Db::Sqlite,
        &[
            "--sse-bucket-key-seconds",
            &TTL.to_string(),
            "--kms-decrypt-cache-seconds",
            &TTL.to_string(),
        ],
    ))
    .unwrap();
    create_key(&s);
    let c = s.client();
    c.create_bucket().bucket("dis").send().await.unwrap();
    let t0 = Instant::now();
    put_bk(&c, "dis", "bkt", b"bucket-keyed", true).await;
    put_bk(&c, "dis", "solo", b"own key", false).await;
    assert_eq!(get(&c, "dis", "solo", M::Plain, None).await, b"own key");
    let out = s.admin(&["kms", "key", "disable", KEY]);
    assert!(out.contains("state=Disabled"), "{out}");
    if t0.elapsed() < Duration::from_secs(TTL - 1) {
        // Within the bounds the cached keys still serve (the documented delay).
        put_bk(&c, "dis", "bkt2", b"still", true).await;
        assert_eq!(get(&c, "dis", "bkt", M::Plain, None).await, b"bucket-keyed");
    }
    tokio::time::sleep(Duration::from_secs(TTL) + Duration::from_millis(300)).await;
    let e = c
        .put_object()
        .bucket("dis")
        .key("late")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(KEY)
        .bucket_key_enabled(true)
        .body(ByteStream::from_static(b"z"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (status(&e), code(&e)),
        (400, "KMS.DisabledException".to_owned())
    );
    for k in ["bkt", "solo"] {
        let e = c
            .get_object()
            .bucket("dis")
            .key(k)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            (status(&e), code(&e)),
            (400, "KMS.DisabledException".to_owned()),
            "GET {k} after the bound"
        );
    }
    s.admin(&["kms", "key", "enable", KEY]);
    assert_eq!(get(&c, "dis", "bkt", M::Plain, None).await, b"bucket-keyed");
    assert_eq!(get(&c, "dis", "solo", M::Plain, None).await, b"own key");
}

/// Calls OpenBao's HTTP API with the root token (curl: the tests' HTTP clients do not take its CA).
fn bao(method: &str, path: &str, body: Option<&str>) -> String {
    let addr = std::env::var("GATEHOUSE_VAULT_ADDR").unwrap();
    let token = std::env::var("GATEHOUSE_VAULT_TOKEN").unwrap();
    let ca = std::env::var("GATEHOUSE_VAULT_CACERT").unwrap();
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-fsS", "--cacert", &ca, "-X", method])
        .args(["-H", &format!("X-Vault-Token: {token}")]);
    if let Some(b) = body {
        cmd.args(["-d", b]);
    }
    let out = cmd.arg(format!("{addr}/v1/{path}")).output().unwrap();
    assert!(
        out.status.success(),
        "{method} {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Write requests (datakey, decrypt, encrypt, key creation) OpenBao has served on transit mount `mount`,
/// from its own metrics (`vault_route_update_MOUNT_`): a mount per test keeps other tests' calls out.
fn bao_updates(mount: &str) -> u64 {
    let name = format!("vault_route_update_{mount}__count ");
    bao("GET", "sys/metrics?format=prometheus", None)
        .lines()
        .find_map(|l| l.strip_prefix(&name))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

/// With OpenBao: bucket keys cut the transit calls OpenBao itself counts (its metrics, on a transit mount of
/// this test's own), and a transit key deleted in OpenBao stops serving once the cache bounds have passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_bucket_keys_and_deleted_key() {
    const TTL: u64 = 3;
    let get_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(addr), Some(_), Some(ca)) = (
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
    let tag = hex::encode(rand::random::<[u8; 4]>());
    let mount = format!("ghbk{tag}");
    bao(
        "POST",
        &format!("sys/mounts/{mount}"),
        Some(r#"{"type":"transit"}"#),
    );
    let vault: Vec<String> = [
        "--kms",
        "vault",
        "--vault-addr",
        &addr,
        "--vault-ca",
        &ca,
        "--vault-mount",
        &mount,
    ]
    .map(str::to_owned)
    .to_vec();
    let mut o = opts_with(
        common::Db::Sqlite,
        &[
            "--sse-bucket-key-seconds",
            &TTL.to_string(),
            "--kms-decrypt-cache-seconds",
            &TTL.to_string(),
        ],
    );
    o.extra.extend(vault.clone());
    o.extra_admin = vault;
    let s = Server::start(o).unwrap();
    let name = format!("gh-bk-{tag}");
    s.admin(&["kms", "key", "create", &name, "--key-id", &name]);
    let before = bao_updates(&mount);
    let c = s.client();
    c.create_bucket().bucket("vbk").send().await.unwrap();
    let body = random_bytes(50_000);
    let put = |k: String, bk: bool| {
        c.put_object()
            .bucket("vbk")
            .key(k)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&name)
            .bucket_key_enabled(bk)
            .body(ByteStream::from(body.clone()))
            .send()
    };
    for i in 0..8 {
        put(format!("bk{i}"), true).await.unwrap();
    }
    for i in 0..8 {
        assert_eq!(
            get(&c, "vbk", &format!("bk{i}"), M::Plain, None).await,
            body
        );
    }
    assert_eq!(
        bao_updates(&mount) - before,
        1,
        "eight objects written and read: one transit data key, no decrypt"
    );
    for i in 0..4 {
        put(format!("solo{i}"), false).await.unwrap();
    }
    assert_eq!(
        bao_updates(&mount) - before,
        5,
        "one transit data key per object without the flag"
    );
    // Deleted in OpenBao: refused once the bounds have passed.
    bao(
        "POST",
        &format!("{mount}/keys/{name}/config"),
        Some(r#"{"deletion_allowed":true}"#),
    );
    bao("DELETE", &format!("{mount}/keys/{name}"), None);
    tokio::time::sleep(Duration::from_secs(TTL) + Duration::from_millis(300)).await;
    for k in ["bk0", "solo0"] {
        let e = c
            .get_object()
            .bucket("vbk")
            .key(k)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            (status(&e), code(&e)),
            (400, "KMS.NotFoundException".to_owned()),
            "GET {k} of a deleted key"
        );
    }
    let e = put("late".into(), true).await.unwrap_err();
    assert_eq!(code(&e), "KMS.NotFoundException");
    bao("DELETE", &format!("sys/mounts/{mount}"), None);
}
