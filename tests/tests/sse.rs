//! Server-side encryption (SSE-S3, SSE-KMS, SSE-C, bucket default encryption) through the Rust AWS SDK
//! against the real binary: every mode with PUT, full and ranged GET, HEAD, multipart and copy; the data
//! directory holds no plaintext; tampering is an error; SSE-C keys are enforced without leaking metadata; a
//! rotated key still opens old objects; KMS failures write nothing; the Vault backend with a real OpenBao.
#![allow(clippy::unwrap_used)]

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

/// PUT, full GET, ranged GET (across a chunk boundary), HEAD and the response headers of every mode, on a
/// blob-sized and an inline-sized object; then no encrypted marker is anywhere in the data directory (blobs,
/// SQLite database and WAL), while the plaintext object's marker is (the search works).
async fn modes_round_trip(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("sse").send().await.unwrap();
    for m in MODES {
        let marker = if m == M::Plain {
            "PLAINTEXT-CONTROL-MARKER".to_owned()
        } else {
            format!("SECRET-MARKER-{m:?}")
        };
        for (k, n) in [("big", 200_000usize), ("small", 1000)] {
            let key = format!("{m:?}-{k}");
            let body = marked(&marker, n);
            let put = with_mode!(c.put_object().bucket("sse").key(&key), m)
                .metadata("note", "visible")
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("PUT {key}: {e:?}"));
            let etag = put.e_tag().unwrap().trim_matches('"').to_owned();
            match m {
                M::Plain | M::S3 => assert_eq!(etag, md5_hex(&body), "{m:?}: the MD5 ETag"),
                _ => assert_ne!(etag, md5_hex(&body), "{m:?}: the ETag is not the MD5"),
            }
            let want_sse = match m {
                M::Plain | M::C(_) => None,
                M::S3 => Some(ServerSideEncryption::Aes256),
                M::Kms => Some(ServerSideEncryption::AwsKms),
                M::Dsse => Some(ServerSideEncryption::AwsKmsDsse),
            };
            assert_eq!(put.server_side_encryption(), want_sse.as_ref(), "{m:?}");
            if matches!(m, M::Kms | M::Dsse) {
                let arn = put.ssekms_key_id().unwrap();
                assert!(
                    arn.starts_with("arn:aws:kms:us-east-1:")
                        && arn.ends_with(&format!(":key/{KEY}")),
                    "{arn}"
                );
            } else {
                assert!(put.ssekms_key_id().is_none());
            }
            if let M::C(x) = m {
                assert_eq!(put.sse_customer_algorithm(), Some("AES256"));
                assert_eq!(put.sse_customer_key_md5(), Some(ck(x).1.as_str()));
            }
            assert_eq!(get(&c, "sse", &key, m, None).await, body, "{key}");
            let (a, b) = if n > 1000 {
                (65_530, 131_080)
            } else {
                (10, 900)
            };
            assert_eq!(
                get(&c, "sse", &key, m, Some(&format!("bytes={a}-{b}"))).await,
                &body[a..=b],
                "{key} range"
            );
            assert_eq!(
                get(&c, "sse", &key, m, Some("bytes=-7")).await,
                &body[n - 7..],
                "{key} suffix"
            );
            let h = with_key!(c.head_object().bucket("sse").key(&key), m)
                .send()
                .await
                .unwrap();
            assert_eq!(h.content_length(), Some(n as i64));
            assert_eq!(h.server_side_encryption(), want_sse.as_ref());
            assert_eq!(h.e_tag().unwrap().trim_matches('"'), etag);
            assert_eq!(
                h.metadata().unwrap().get("note").map(String::as_str),
                Some("visible")
            );
            let g = with_key!(c.get_object().bucket("sse").key(&key), m)
                .send()
                .await
                .unwrap();
            assert_eq!(g.server_side_encryption(), want_sse.as_ref());
            assert_eq!(g.ssekms_key_id().is_some(), matches!(m, M::Kms | M::Dsse));
        }
        let found = files_containing(&data_dir(s), marker.as_bytes());
        if m == M::Plain {
            assert!(
                !found.is_empty(),
                "the control marker is stored in the clear"
            );
        } else {
            assert!(found.is_empty(), "{m:?}: plaintext in {found:?}");
        }
    }
    // Listing shows plaintext sizes.
    let l = c.list_objects_v2().bucket("sse").send().await.unwrap();
    for o in l.contents() {
        let want = if o.key().unwrap().ends_with("big") {
            200_000
        } else {
            1000
        };
        assert_eq!(o.size(), Some(want), "{:?}", o.key());
    }
}
sse_matrix!(modes_round_trip);

/// Multipart uploads in each mode: the mode is decided at Create, parts (sealed under the upload's data key)
/// compose without copying, full, ranged (across the part boundary) and partNumber reads decrypt; SSE-C parts
/// need the key; UploadPartCopy from an SSE-C source into the upload.
async fn multipart_modes(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("mpu").send().await.unwrap();
    let p1 = marked("MP-SECRET-ONE", 5 * 1024 * 1024);
    let p2 = marked("MP-SECRET-TWO", 70_000);
    let src = random_bytes(100_000);
    with_mode!(c.put_object().bucket("mpu").key("src"), M::C(9))
        .body(ByteStream::from(src.clone()))
        .send()
        .await
        .unwrap();
    for m in [M::S3, M::Kms, M::C(2)] {
        let key = format!("mp-{m:?}");
        let up = with_mode!(c.create_multipart_upload().bucket("mpu").key(&key), m)
            .send()
            .await
            .unwrap();
        let want_sse = match m {
            M::S3 => Some(ServerSideEncryption::Aes256),
            M::Kms => Some(ServerSideEncryption::AwsKms),
            _ => None,
        };
        assert_eq!(up.server_side_encryption(), want_sse.as_ref());
        let id = up.upload_id().unwrap().to_owned();
        if let M::C(_) = m {
            let e = c
                .upload_part()
                .bucket("mpu")
                .key(&key)
                .upload_id(&id)
                .part_number(1)
                .body(ByteStream::from(p2.clone()))
                .send()
                .await
                .unwrap_err();
            assert_eq!(status(&e), 400, "an SSE-C part needs the key");
            let e = with_key!(
                c.upload_part()
                    .bucket("mpu")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(1),
                M::C(3)
            )
            .body(ByteStream::from(p2.clone()))
            .send()
            .await
            .unwrap_err();
            assert_eq!(status(&e), 403, "an SSE-C part under another key");
        }
        let mut parts = Vec::new();
        for (n, body) in [(1, &p1), (2, &p2)] {
            let r = with_key!(
                c.upload_part()
                    .bucket("mpu")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(n),
                m
            )
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
            assert_eq!(r.server_side_encryption(), want_sse.as_ref());
            if n == 2 {
                // A part sent again with the same bytes keeps its ETag (not the MD5 under SSE-KMS/SSE-C).
                let again = with_key!(
                    c.upload_part()
                        .bucket("mpu")
                        .key(&key)
                        .upload_id(&id)
                        .part_number(n),
                    m
                )
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap();
                assert_eq!(again.e_tag(), r.e_tag(), "{m:?}");
                assert_eq!(
                    r.e_tag().unwrap().trim_matches('"') == md5_hex(body),
                    m == M::S3,
                    "{m:?}"
                );
            }
            parts.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(r.e_tag().unwrap())
                    .build(),
            );
        }
        // Part 3 copied from the SSE-C source, re-sealed under the upload's key.
        let r = with_src_key!(
            with_key!(
                c.upload_part_copy()
                    .bucket("mpu")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(3)
                    .copy_source("mpu/src")
                    .copy_source_range("bytes=100-50099"),
                m
            ),
            M::C(9)
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("UploadPartCopy {m:?}: {e:?}"));
        parts.push(
            CompletedPart::builder()
                .part_number(3)
                .e_tag(r.copy_part_result().unwrap().e_tag().unwrap())
                .build(),
        );
        // Complete with parts 1 and 3: part 2 (under 5 MiB, so it could not be a middle part) is dropped,
        // and part numbers with a gap still open (each segment keeps the part number it was sealed with).
        let done = c
            .complete_multipart_upload()
            .bucket("mpu")
            .key(&key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(parts[0].clone())
                    .parts(parts[2].clone())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(
            done.e_tag().unwrap().ends_with("-2\""),
            "{:?}",
            done.e_tag()
        );
        assert_eq!(done.server_side_encryption(), want_sse.as_ref());
        let whole = [p1.as_slice(), &src[100..50_100]].concat();
        assert_eq!(get(&c, "mpu", &key, m, None).await, whole, "{key}");
        let edge = p1.len();
        assert_eq!(
            get(
                &c,
                "mpu",
                &key,
                m,
                Some(&format!("bytes={}-{}", edge - 70_000, edge + 30_000))
            )
            .await,
            &whole[edge - 70_000..=edge + 30_000],
            "{key} range across the parts"
        );
        let g = with_key!(c.get_object().bucket("mpu").key(&key).part_number(2), m)
            .send()
            .await
            .unwrap();
        assert_eq!(g.parts_count(), Some(2));
        assert_eq!(
            g.body.collect().await.unwrap().into_bytes().to_vec(),
            &src[100..50_100]
        );
        let h = with_key!(c.head_object().bucket("mpu").key(&key), m)
            .send()
            .await
            .unwrap();
        assert_eq!(h.content_length(), Some(whole.len() as i64));
    }
    if s.db_url.is_none() {
        for marker in ["MP-SECRET-ONE", "MP-SECRET-TWO"] {
            let found = files_containing(&data_dir(s), marker.as_bytes());
            assert!(found.is_empty(), "plaintext parts in {found:?}");
        }
    }
}
sse_matrix!(multipart_modes);

/// CopyObject from every mode to every mode (SSE-C source keys in the copy-source headers).
async fn copy_matrix(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("cpy").send().await.unwrap();
    let modes = [M::Plain, M::S3, M::Kms, M::C(4)];
    let body = random_bytes(150_000);
    for src in modes {
        let sk = format!("src-{src:?}");
        with_mode!(c.put_object().bucket("cpy").key(&sk), src)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        for dst in [M::Plain, M::S3, M::Kms, M::C(5)] {
            let dk = format!("dst-{src:?}-{dst:?}");
            let r = with_src_key!(
                with_mode!(
                    c.copy_object()
                        .bucket("cpy")
                        .key(&dk)
                        .copy_source(format!("cpy/{sk}")),
                    dst
                ),
                src
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {src:?} -> {dst:?}: {e:?}"));
            let want_sse = match dst {
                M::S3 => Some(ServerSideEncryption::Aes256),
                M::Kms => Some(ServerSideEncryption::AwsKms),
                _ => None,
            };
            assert_eq!(r.server_side_encryption(), want_sse.as_ref());
            assert_eq!(get(&c, "cpy", &dk, dst, None).await, body, "{dk}");
        }
    }
    // An SSE-C source without its key, or with another one, cannot be copied.
    let e = c
        .copy_object()
        .bucket("cpy")
        .key("x")
        .copy_source("cpy/src-C(4)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    let e = with_src_key!(
        c.copy_object()
            .bucket("cpy")
            .key("x")
            .copy_source("cpy/src-C(4)"),
        M::C(6)
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(status(&e), 403);
    // Copying an object onto itself is allowed when the encryption changes.
    with_src_key!(
        c.copy_object()
            .bucket("cpy")
            .key("src-C(4)")
            .copy_source("cpy/src-C(4)")
            .server_side_encryption(ServerSideEncryption::Aes256),
        M::C(4)
    )
    .send()
    .await
    .unwrap();
    assert_eq!(get(&c, "cpy", "src-C(4)", M::S3, None).await, body);
}
sse_matrix!(copy_matrix);

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
