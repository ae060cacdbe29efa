//! The deployment's server key (issue 14): two gateways with their own data directories on one Postgres
//! share one key file; accounts created by the admin command from anywhere work on both; a process with a
//! different key refuses to start and says why; rotation keeps old and new secrets working; U+0000 in a key
//! gets the same 400 on both stores.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Db, Opts, Server, Store};

/// `gatehouse ARGS` run to completion in `cwd` with a clean environment of its own.
fn run(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::bin());
    cmd.current_dir(cwd).args(args);
    for v in [
        "GATEHOUSE_CONFIG",
        "GATEHOUSE_DATA_DIR",
        "GATEHOUSE_DATABASE_URL",
        "GATEHOUSE_SERVER_KEY",
        "GATEHOUSE_SERVER_KEY_FILE",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("gatehouse runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A field `k=v` of an admin command's output.
fn field(out: &Output, k: &str) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {k}= in {}", text(out)))
}

/// Starts `serve` and expects it to exit with an error within 60 s; returns its output.
fn serve_must_fail(args: &[&str], envs: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(common::bin());
    cmd.current_dir(dir.path())
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("GATEHOUSE_SERVER_KEY")
        .env_remove("GATEHOUSE_SERVER_KEY_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    let t0 = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("serve with a wrong key kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success(), "serve must fail: {}", text(&out));
    text(&out)
}

fn key_opts(key_file: &Path) -> Opts {
    let mut o = Opts::new(Db::Postgres, Store::Std);
    let k = key_file.display().to_string();
    o.extra = vec!["--server-key-file".into(), k.clone()];
    o.extra_admin = vec!["--server-key-file".into(), k];
    o
}

async fn works(s: &Server, ak: &str, sk: &str, bucket: &str) {
    let c = s.client_with(ak, sk);
    c.list_buckets()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{ak} on {}: {e:?}", s.endpoint));
    c.put_object()
        .bucket(bucket)
        .key(format!("from-{ak}"))
        .body(bytes::Bytes::from_static(b"hello").into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put by {ak} on {}: {e:?}", s.endpoint));
}

/// `admin server-key generate FILE`; returns the new key's fingerprint.
fn generate_key_file(path: &Path) -> String {
    let out = run(
        path.parent().expect("a folder"),
        &[
            "admin",
            "server-key",
            "generate",
            path.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    field(&out, "fingerprint")
}

fn pg_or_skip() -> Option<String> {
    common::fresh_pg_url()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_one_key_and_refuse_another() {
    let Some(db) = pg_or_skip() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("server.key");
    let fp = generate_key_file(&key_file);

    let a = Server::start_on_db(key_opts(&key_file), &db);
    let b = Server::start_on_db(key_opts(&key_file), &db);
    common::Server::client(&a)
        .create_bucket()
        .bucket("shared-bucket")
        .send()
        .await
        .expect("create bucket");
    // The first-start account works on both gateways.
    works(&a, common::ROOT_AK, common::ROOT_SK, "shared-bucket").await;
    works(&b, common::ROOT_AK, common::ROOT_SK, "shared-bucket").await;

    // An account created by the admin command from a third working directory, given only the database and
    // the key (through the environment), works on both.
    let third = tempfile::tempdir().expect("tempdir");
    let out = run(
        third.path(),
        &[
            "admin",
            "account",
            "create",
            "second",
            "--database-url",
            &db,
        ],
        &[("GATEHOUSE_SERVER_KEY_FILE", key_file.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let (ak2, sk2) = (
        field(&out, "access_key_id"),
        field(&out, "secret_access_key"),
    );
    assert!(
        !third.path().join("gatehouse-data").exists(),
        "an admin command on Postgres creates no data directory"
    );
    for s in [&a, &b] {
        let c = s.client_with(&ak2, &sk2);
        c.create_bucket()
            .bucket(format!("second-{}", s.port()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("second account on {}: {e:?}", s.endpoint));
    }

    // The same admin command with no key at all refuses and creates nothing.
    let out = run(
        third.path(),
        &["admin", "account", "create", "third", "--database-url", &db],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("no server key"), "{}", text(&out));
    assert!(!third.path().join("gatehouse-data").exists());

    // A different key: the admin command and a third gateway refuse, naming both fingerprints.
    let other = keys.path().join("other.key");
    let other_fp = generate_key_file(&other);
    let out = run(
        third.path(),
        &[
            "admin",
            "account",
            "create",
            "fourth",
            "--database-url",
            &db,
            "--server-key-file",
            other.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("server key mismatch") && msg.contains(&fp) && msg.contains(&other_fp),
        "{msg}"
    );
    let data = tempfile::tempdir().expect("tempdir");
    let msg = serve_must_fail(
        &[
            "--data-dir",
            data.path().to_str().unwrap(),
            "--database-url",
            &db,
            "--server-key-file",
            other.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        msg.contains("server key mismatch") && msg.contains(&fp) && msg.contains(&other_fp),
        "{msg}"
    );
    // A gateway given no key on this database does not make one up.
    let msg = serve_must_fail(
        &[
            "--data-dir",
            data.path().to_str().unwrap(),
            "--database-url",
            &db,
        ],
        &[],
    );
    assert!(msg.contains("no server key"), "{msg}");
    assert!(!data.path().join("master.key").exists());
    // The key given in the environment instead of a file works the same.
    let line = std::fs::read_to_string(&key_file)
        .unwrap()
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap()
        .to_owned();
    let out = run(
        third.path(),
        &["admin", "server-key", "show", "--database-url", &db],
        &[("GATEHOUSE_SERVER_KEY", &line)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(field(&out, "database_current"), fp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_old_and_new_secrets_working() {
    let Some(db) = pg_or_skip() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("server.key");
    let old_fp = generate_key_file(&key_file);
    let old_copy = keys.path().join("old.key");
    std::fs::copy(&key_file, &old_copy).unwrap();

    let mut a = Server::start_on_db(key_opts(&key_file), &db);
    let b = Server::start_on_db(key_opts(&key_file), &db);
    a.client()
        .create_bucket()
        .bucket("rot")
        .send()
        .await
        .expect("bucket");
    let (ak1, sk1) = a.new_account("before");

    let out = run(
        keys.path(),
        &[
            "admin",
            "server-key",
            "rotate",
            "--database-url",
            &db,
            "--server-key-file",
            key_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(field(&out, "previous"), old_fp);
    let new_fp = field(&out, "current");
    assert_ne!(new_fp, old_fp);

    // Created after the rotation: sealed under the new key. The running gateways re-read their key file.
    let (ak2, sk2) = a.new_account("after");
    let bucket_of = |ak: &str| format!("b-{}", ak.to_ascii_lowercase());
    for s in [&a, &b] {
        for (ak, sk) in [(&ak1, &sk1), (&ak2, &sk2)] {
            s.client_with(ak, sk)
                .list_buckets()
                .send()
                .await
                .unwrap_or_else(|e| panic!("{ak} on {} after rotation: {e:?}", s.endpoint));
        }
    }
    a.client_with(&ak2, &sk2)
        .create_bucket()
        .bucket(bucket_of(&ak2))
        .send()
        .await
        .expect("new account's bucket");

    // Restarted with the rotated file: still both.
    a.crash_and_restart();
    for (ak, sk) in [
        (&ak1, &sk1),
        (&ak2, &sk2),
        (&common::ROOT_AK.to_owned(), &common::ROOT_SK.to_owned()),
    ] {
        a.client_with(ak, sk)
            .list_buckets()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{ak} after restart: {e:?}"));
    }
    // The old key alone is no longer the deployment's key.
    let data = tempfile::tempdir().expect("tempdir");
    let msg = serve_must_fail(
        &[
            "--data-dir",
            data.path().to_str().unwrap(),
            "--database-url",
            &db,
            "--server-key-file",
            old_copy.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        msg.contains("server key mismatch") && msg.contains(&new_fp),
        "{msg}"
    );

    // Re-seal under the new key, then the new key alone opens everything.
    let out = run(
        keys.path(),
        &[
            "admin",
            "server-key",
            "reseal",
            "--database-url",
            &db,
            "--server-key-file",
            key_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        field(&out, "resealed").parse::<u32>().unwrap() >= 2,
        "{}",
        text(&out)
    );
    let new_only = keys.path().join("new-only.key");
    let first_key = std::fs::read_to_string(&key_file)
        .unwrap()
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap()
        .to_owned();
    write_0600(&new_only, &format!("{first_key}\n"));
    let c = Server::start_on_db(key_opts(&new_only), &db);
    for (ak, sk) in [
        (&ak1, &sk1),
        (&ak2, &sk2),
        (&common::ROOT_AK.to_owned(), &common::ROOT_SK.to_owned()),
    ] {
        c.client_with(ak, sk)
            .list_buckets()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{ak} with the new key alone: {e:?}"));
    }
}

fn write_0600(path: &PathBuf, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// SQLite: the data directory's key is made on first start and checked like any other; a database from
/// before key checks is registered on first start only if the key opens its secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_key_is_checked_too() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).expect("sqlite");
    let (ak, sk) = s.new_account("emb");
    s.client_with(&ak, &sk)
        .list_buckets()
        .send()
        .await
        .expect("works");
    let data = s.dir.path().join("data");
    let show = run(
        s.dir.path(),
        &[
            "admin",
            "server-key",
            "show",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert!(show.status.success(), "{}", text(&show));
    assert_eq!(
        field(&show, "sealing_key"),
        field(&show, "database_current")
    );
    // The same database with a foreign key: refused.
    let keys = tempfile::tempdir().expect("tempdir");
    let other = keys.path().join("other.key");
    generate_key_file(&other);
    let out = run(
        s.dir.path(),
        &[
            "admin",
            "account",
            "list",
            "--data-dir",
            data.to_str().unwrap(),
            "--server-key-file",
            other.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("server key mismatch"), "{}", text(&out));
}

/// U+0000 in an object key, prefix or copy source: 400 InvalidArgument on every store, never a 500, and
/// nothing stored.
async fn nul_in_keys(s: &Server) {
    let c = s.client();
    c.create_bucket()
        .bucket("nul")
        .send()
        .await
        .expect("bucket");
    let e = c
        .put_object()
        .bucket("nul")
        .key("a\u{0}b")
        .body(bytes::Bytes::from_static(b"x").into())
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        (common::status(&e), common::code(&e).as_str()),
        (400, "InvalidArgument")
    );
    let e = c
        .get_object()
        .bucket("nul")
        .key("a\u{0}b")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(common::status(&e), 400);
    let e = c
        .list_objects_v2()
        .bucket("nul")
        .prefix("a\u{0}")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(
        (common::status(&e), common::code(&e).as_str()),
        (400, "InvalidArgument")
    );
    c.put_object()
        .bucket("nul")
        .key("src")
        .body(bytes::Bytes::from_static(b"x").into())
        .send()
        .await
        .expect("plain put");
    let e = c
        .copy_object()
        .bucket("nul")
        .key("dst")
        .copy_source("nul/src%00")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(common::status(&e), 400);
    // DeleteObjects with such a key: the body is not XML 1.0; refused whole, the same on both stores.
    let del = c
        .delete_objects()
        .bucket("nul")
        .delete(
            aws_sdk_s3::types::Delete::builder()
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("k\u{0}")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await;
    let e = del.expect_err("refused");
    assert_eq!(
        (common::status(&e), common::code(&e).as_str()),
        (400, "MalformedXML")
    );
    let listed = c
        .list_objects_v2()
        .bucket("nul")
        .send()
        .await
        .expect("list");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["src"]);
}
matrix!(nul_in_keys);

/// OpenBao from scripts/openbao.sh: (address, token, CA file), or None to skip (a failure when
/// GATEHOUSE_REQUIRE_VAULT=1).
fn vault() -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("GATEHOUSE_VAULT_ADDR"),
        get("GATEHOUSE_VAULT_TOKEN"),
        get("GATEHOUSE_VAULT_CACERT"),
    ) {
        (Some(a), Some(t), Some(c)) => Some((a, t, c)),
        _ => {
            assert!(
                std::env::var("GATEHOUSE_REQUIRE_VAULT").ok().as_deref() != Some("1"),
                "GATEHOUSE_REQUIRE_VAULT=1 but the OpenBao variables are not set"
            );
            eprintln!("skipping: no OpenBao (scripts/openbao.sh start)");
            None
        }
    }
}

/// The server key held in Vault transit: the key file holds only the wrapped key; every process unwraps it
/// through Vault at start; without Vault access the process refuses to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_key_held_in_vault_transit() {
    let Some((addr, token, ca)) = vault() else {
        return;
    };
    let transit_key = format!("gh-server-{}", hex::encode(rand::random::<[u8; 4]>()));
    let st = Command::new("curl")
        .args([
            "-fsS",
            "-o",
            "/dev/null",
            "--cacert",
            &ca,
            "-H",
            &format!("X-Vault-Token: {token}"),
            "-X",
            "POST",
        ])
        .args(["-d", r#"{"type":"aes256-gcm96"}"#])
        .arg(format!("{addr}/v1/transit/keys/{transit_key}"))
        .status()
        .expect("curl");
    assert!(st.success(), "creating the transit key");
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("server.key");
    let vault_env = [("GATEHOUSE_VAULT_TOKEN", token.as_str())];
    let vault_args = ["--vault-addr", addr.as_str(), "--vault-ca", ca.as_str()];
    let mut args = vec![
        "admin",
        "server-key",
        "generate",
        key_file.to_str().unwrap(),
        "--vault-key",
        &transit_key,
    ];
    args.extend(vault_args);
    let out = run(keys.path(), &args, &vault_env);
    assert!(out.status.success(), "{}", text(&out));
    let fp = field(&out, "fingerprint");
    let content = std::fs::read_to_string(&key_file).unwrap();
    let lines: Vec<&str> = content
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("vault:"),
        "only the wrapped key is on disk: {content}"
    );

    let mut opts = Opts::new(Db::Sqlite, Store::Std);
    let k = key_file.display().to_string();
    opts.extra = vec!["--server-key-file".into(), k.clone()];
    opts.extra.extend(vault_args.iter().map(|s| s.to_string()));
    opts.extra_admin = opts.extra.clone();
    let s = Server::start(opts).expect("sqlite");
    let (ak, sk) = s.new_account("vaulted");
    s.client_with(&ak, &sk)
        .list_buckets()
        .send()
        .await
        .expect("works");
    let data = s.dir.path().join("data");
    let mut show = vec![
        "admin",
        "server-key",
        "show",
        "--data-dir",
        data.to_str().unwrap(),
        "--server-key-file",
        &k,
    ];
    show.extend(vault_args);
    let out = run(keys.path(), &show, &vault_env);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(field(&out, "database_current"), fp);

    // Without a working Vault login the key cannot be had: refused, saying why.
    let other = tempfile::tempdir().expect("tempdir");
    let mut bad = vec![
        "--data-dir",
        other.path().to_str().unwrap(),
        "--server-key-file",
        &k,
    ];
    bad.extend(vault_args);
    let msg = serve_must_fail(&bad, &[("GATEHOUSE_VAULT_TOKEN", "not-a-token")]);
    assert!(msg.contains("Vault"), "{msg}");
    let msg = serve_must_fail(
        &[
            "--data-dir",
            other.path().to_str().unwrap(),
            "--server-key-file",
            &k,
        ],
        &[("GATEHOUSE_VAULT_ADDR", "")],
    );
    assert!(msg.contains("vault_addr"), "{msg}");
}
