//! Test harness: starts the real server binary on a fresh data directory (SQLite or a fresh Postgres
//! database, io_uring or std blobs, HTTP or HTTPS) and builds real clients for it.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{Credentials, Region};

pub mod access;
pub mod sign;

pub const ROOT_AK: &str = "AKIAGATEHOUSETEST001";
pub const ROOT_SK: &str = "gatehouse/test/secret/key/0000000000000001";

/// Metadata database of a test server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Blob backend of a test server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    IoUring,
    Std,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Opts {
    pub db: Db,
    pub store: Store,
    pub tls: bool,
    pub extra: Vec<String>,
    /// Extra arguments of `admin` commands (a shared server key file, say).
    pub extra_admin: Vec<String>,
}

impl Opts {
    pub fn new(db: Db, store: Store) -> Opts {
        Opts {
            db,
            store,
            tls: false,
            extra: vec![],
            extra_admin: vec![],
        }
    }
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gatehouse-under-test"))
}

/// A Postgres URL for a brand-new database, or None when no Postgres is configured (then the caller skips,
/// unless GATEHOUSE_REQUIRE_PG=1 makes that a failure).
pub fn fresh_pg_url() -> Option<String> {
    let Ok(base) = std::env::var("GATEHOUSE_TEST_PG_URL") else {
        assert!(
            std::env::var("GATEHOUSE_REQUIRE_PG").ok().as_deref() != Some("1"),
            "GATEHOUSE_REQUIRE_PG=1 but GATEHOUSE_TEST_PG_URL is not set"
        );
        eprintln!(
            "skipping the Postgres variant: GATEHOUSE_TEST_PG_URL is not set (scripts/test.sh sets it)"
        );
        return None;
    };
    let name = format!("gh_{}", hex::encode(rand::random::<[u8; 6]>()));
    let out = Command::new("psql")
        .arg(&base)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "CREATE DATABASE failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    Some(format!("{prefix}/{name}"))
}

/// A running server process.
pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    pub opts: Opts,
    pub db_url: Option<String>,
    pub ca_pem: Option<Vec<u8>>,
}

/// A throwaway CA and a leaf certificate for localhost signed by it; returns (ca, cert, key).
pub fn make_cert(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let st = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(st.success(), "openssl {args:?} failed");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Gatehouse Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "tls.key",
        "-out",
        "tls.csr",
    ]);
    std::fs::write(dir.join("ext.cnf"), "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "tls.crt",
    ]);
    (dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key"))
}

impl Server {
    /// Starts a server; None if it needs Postgres and none is configured.
    pub fn start(opts: Opts) -> Option<Server> {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = match opts.db {
            Db::Sqlite => None,
            Db::Postgres => Some(fresh_pg_url()?),
        };
        let ca_pem = if opts.tls {
            let (ca, _, _) = make_cert(dir.path());
            Some(std::fs::read(ca).expect("ca cert"))
        } else {
            None
        };
        let mut s = Server {
            child: None,
            dir,
            endpoint: String::new(),
            opts,
            db_url,
            ca_pem,
        };
        s.spawn();
        Some(s)
    }

    /// Starts a server on an existing database (another gateway of the same deployment) with its own data
    /// directory.
    pub fn start_on_db(opts: Opts, db_url: &str) -> Server {
        let mut s = Server {
            child: None,
            dir: tempfile::tempdir().expect("tempdir"),
            endpoint: String::new(),
            opts,
            db_url: Some(db_url.to_owned()),
            ca_pem: None,
        };
        s.spawn();
        s
    }

    /// Extra arguments pointing at this server's store (for `admin` commands too).
    pub fn store_args(&self) -> Vec<String> {
        let mut a = vec![
            "--data-dir".to_owned(),
            self.dir.path().join("data").display().to_string(),
        ];
        if let Some(u) = &self.db_url {
            a.push("--database-url".into());
            a.push(u.clone());
        }
        a
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .args(self.store_args())
            .args(["--listen", "127.0.0.1:0"]);
        cmd.args([
            "--storage",
            match self.opts.store {
                Store::IoUring => "io_uring",
                Store::Std => "std",
            },
        ]);
        if self.opts.tls {
            cmd.arg("--tls-cert").arg(self.dir.path().join("tls.crt"));
            cmd.arg("--tls-key").arg(self.dir.path().join("tls.key"));
        }
        cmd.args(&self.opts.extra);
        cmd.env("GATEHOUSE_ROOT_ACCESS_KEY", ROOT_AK)
            .env("GATEHOUSE_ROOT_SECRET_KEY", ROOT_SK);
        cmd.env_remove("GATEHOUSE_CONFIG")
            .env_remove("GATEHOUSE_DATA_DIR")
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_SERVER_KEY")
            .env_remove("GATEHOUSE_SERVER_KEY_FILE");
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(url) = line.strip_prefix("Gatehouse listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                    sent = true;
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not start within 60 s");
        self.endpoint = url.replace(
            "127.0.0.1",
            if self.opts.tls {
                "localhost"
            } else {
                "127.0.0.1"
            },
        );
        self.child = Some(child);
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// kill -9, then start again on the same store.
    pub fn crash_and_restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// kill -9 (no drain).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (graceful drain).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let pid = c.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let t0 = Instant::now();
        loop {
            if let Some(st) = c.try_wait().expect("wait") {
                return st;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `gatehouse admin ...` against this server's store.
    pub fn admin(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(bin());
        cmd.arg("admin").args(args).args(self.store_args());
        cmd.args(&self.opts.extra_admin);
        let out = cmd.output().expect("admin runs");
        assert!(
            out.status.success(),
            "admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Creates another account; returns (access key, secret key).
    pub fn new_account(&self, name: &str) -> (String, String) {
        let out = self.admin(&["account", "create", name]);
        let get = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(k))
                .expect("field")
                .to_owned()
        };
        (get("access_key_id="), get("secret_access_key="))
    }

    /// An S3 client with the root keys.
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with(ROOT_AK, ROOT_SK)
    }

    /// An S3 client with the given keys.
    pub fn client_with(&self, ak: &str, sk: &str) -> aws_sdk_s3::Client {
        self.client_with_token(ak, sk, None)
    }

    /// An IAM client with the given keys (and session token).
    pub fn iam_with(&self, ak: &str, sk: &str, token: Option<&str>) -> aws_sdk_iam::Client {
        let conf = aws_sdk_iam::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                ak,
                sk,
                token.map(str::to_owned),
                None,
                "test",
            ))
            .build();
        aws_sdk_iam::Client::from_conf(conf)
    }

    /// An STS client with the given keys (and session token).
    pub fn sts_with(&self, ak: &str, sk: &str, token: Option<&str>) -> aws_sdk_sts::Client {
        let conf = aws_sdk_sts::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                ak,
                sk,
                token.map(str::to_owned),
                None,
                "test",
            ))
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// The account id of the keys' account.
    pub async fn account_of(&self, ak: &str, sk: &str) -> String {
        self.sts_with(ak, sk, None)
            .get_caller_identity()
            .send()
            .await
            .unwrap()
            .account()
            .unwrap()
            .to_owned()
    }

    /// An S3 client with the given keys and session token.
    pub fn client_with_token(&self, ak: &str, sk: &str, token: Option<&str>) -> aws_sdk_s3::Client {
        let creds = Credentials::new(ak, sk, token.map(str::to_owned), None, "test");
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(creds)
            .force_path_style(true);
        if let Some(pem) = &self.ca_pem {
            use aws_smithy_http_client::tls::{
                self, TlsContext, TrustStore, rustls_provider::CryptoMode,
            };
            let ctx = TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(pem.clone()))
                .build()
                .expect("tls context");
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(ctx)
                .build_https();
            b = b.http_client(http);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Options for gateways of one deployment on Postgres: a fresh shared server key file (kept alive by the
/// returned directory) for `serve` and the admin commands.
pub fn shared_key_opts() -> (tempfile::TempDir, Opts) {
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("server.key");
    let out = Command::new(bin())
        .args([
            "admin",
            "server-key",
            "generate",
            key_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut opts = Opts::new(Db::Postgres, Store::Std);
    opts.extra = vec!["--server-key-file".into(), key_file.display().to_string()];
    opts.extra_admin = opts.extra.clone();
    (keys, opts)
}

/// Random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::Rng::fill(&mut rand::thread_rng(), v.as_mut_slice());
    v
}

/// The S3 error code of an SDK error.
pub fn code<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(se) => se.err().code().unwrap_or("").to_owned(),
        other => format!("{other:?}"),
    }
}

/// The HTTP status of an SDK error.
pub fn status<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> u16 {
    e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0)
}

/// Generates one test per configuration: SQLite + io_uring, SQLite + std, Postgres.
#[macro_export]
macro_rules! matrix {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_uring() {
                if let Some(s) = common::Server::start(common::Opts::new(
                    common::Db::Sqlite,
                    common::Store::IoUring,
                )) {
                    super::$name(&s).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_std() {
                if let Some(s) =
                    common::Server::start(common::Opts::new(common::Db::Sqlite, common::Store::Std))
                {
                    super::$name(&s).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = common::Server::start(common::Opts::new(
                    common::Db::Postgres,
                    common::Store::IoUring,
                )) {
                    super::$name(&s).await;
                }
            }
        }
    };
}

/// PUTs `b"data"` at `b`/`k`: `Ok`, or the error code.
#[allow(dead_code)]
pub async fn put(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Result<(), String> {
    c.put_object()
        .bucket(b)
        .key(k)
        .body(bytes::Bytes::from_static(b"data").into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

/// GETs `b`/`k`: its bytes, or the error code.
#[allow(dead_code)]
pub async fn get(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Result<Vec<u8>, String> {
    match c.get_object().bucket(b).key(k).send().await {
        Ok(o) => Ok(o
            .body
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .into_bytes()
            .to_vec()),
        Err(e) => Err(code(&e)),
    }
}
