//! Server-side encryption (SSE-S3, SSE-KMS, SSE-C, bucket default encryption) through the Rust AWS SDK
//! against the real binary: every mode with PUT, full and ranged GET, HEAD, multipart and copy; the data
//! directory holds no plaintext; tampering is an error; SSE-C keys are enforced without leaking metadata; a
//! rotated key still opens old objects; KMS failures write nothing; the Vault backend with a real OpenBao.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Server, code, random_bytes, status};
use md5::{Digest, Md5};

/// The suite's KMS key (created with `admin kms key create`).
const KEY: &str = "testkey-1";

/// An encryption mode of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Plain,
    S3,
    Kms,
    Dsse,
    /// SSE-C with the key of 32 copies of this byte.
    C(u8),
}

const MODES: [M; 5] = [M::Plain, M::S3, M::Kms, M::Dsse, M::C(1)];

/// (base64 key, base64 MD5) of an SSE-C key.
fn ck(b: u8) -> (String, String) {
    let k = [b; 32];
    (B64.encode(k), B64.encode(Md5::digest(k)))
}

/// Applies a mode's write headers to a PutObject / CopyObject / CreateMultipartUpload builder.
macro_rules! with_mode {
    ($b:expr, $m:expr) => {{
        let b = $b;
        match $m {
            M::Plain => b,
            M::S3 => b.server_side_encryption(ServerSideEncryption::Aes256),
            M::Kms => b
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(KEY),
            M::Dsse => b
                .server_side_encryption(ServerSideEncryption::AwsKmsDsse)
                .ssekms_key_id(format!("alias/{KEY}")),
            M::C(x) => {
                let (k, m) = ck(x);
                b.sse_customer_algorithm("AES256")
                    .sse_customer_key(k)
                    .sse_customer_key_md5(m)
            }
        }
    }};
}

/// Applies the SSE-C read headers (only SSE-C needs any).
macro_rules! with_key {
    ($b:expr, $m:expr) => {{
        let b = $b;
        match $m {
            M::C(x) => {
                let (k, m) = ck(x);
                b.sse_customer_algorithm("AES256")
                    .sse_customer_key(k)
                    .sse_customer_key_md5(m)
            }
            _ => b,
        }
    }};
}

/// Applies the copy-source SSE-C headers.
macro_rules! with_src_key {
    ($b:expr, $m:expr) => {{
        let b = $b;
        match $m {
            M::C(x) => {
                let (k, m) = ck(x);
                b.copy_source_sse_customer_algorithm("AES256")
                    .copy_source_sse_customer_key(k)
                    .copy_source_sse_customer_key_md5(m)
            }
            _ => b,
        }
    }};
}

fn field(out: &str, k: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {k}= in {out}"))
}

/// Creates the suite's key in the server's KMS; its ARN.
fn create_key(s: &Server) -> String {
    let out = s.admin(&["kms", "key", "create", KEY, "--key-id", KEY]);
    assert_eq!(field(&out, "key_id"), KEY);
    field(&out, "arn")
}

/// Options of a server that allows SSE-C over plain HTTP (the suite runs over HTTP).
fn http_opts(db: common::Db) -> common::Opts {
    let mut o = common::Opts::new(db, common::Store::IoUring);
    o.extra = vec!["--sse-c-require-tls".into(), "false".into()];
    o
}

/// One test on SQLite and on Postgres, with SSE-C allowed over HTTP.
macro_rules! sse_matrix {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let s = super::Server::start(super::http_opts(super::common::Db::Sqlite)).unwrap();
                super::$name(&s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = super::Server::start(super::http_opts(super::common::Db::Postgres))
                {
                    super::$name(&s).await;
                }
            }
        }
    };
}

async fn get(c: &aws_sdk_s3::Client, b: &str, k: &str, m: M, range: Option<&str>) -> Vec<u8> {
    let r = with_key!(c.get_object().bucket(b).key(k), m).set_range(range.map(str::to_owned));
    let o = r
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {k} {m:?} {range:?}: {e:?}"));
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

fn md5_hex(d: &[u8]) -> String {
    hex::encode(Md5::digest(d))
}

/// A body with a marker every 4 KiB (so any chunk of it would show the marker in the clear).
fn marked(marker: &str, n: usize) -> Vec<u8> {
    let mut v = random_bytes(n);
    let m = marker.as_bytes();
    let mut i = 0;
    while i + m.len() <= n {
        v[i..i + m.len()].copy_from_slice(m);
        i += 4096;
    }
    v
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The files under `dir` that contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|d| d.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

fn data_dir(s: &Server) -> PathBuf {
    s.dir.path().join("data")
}

// After the macros above (textual scope).
mod cache;
mod dsse;
mod keys;
mod modes;
mod sse_c;
