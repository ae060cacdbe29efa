//! Storage classes against the real binary (`--storage-classes LUKEWARM,FROZEN`): the class
//! header validated (InvalidStorageClass) and reported (HEAD, GET, listings, uploads, GetObjectAttributes), the
//! bytes of a non-STANDARD object in its class's own directory (looked for on disk), a class changed by
//! copy-to-self moving the bytes.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectStorageClass, StorageClass};
use common::{code, status};

/// Classes every server of this file is started with.
pub const CLASSES: &str = "LUKEWARM,FROZEN";

/// A server with the test classes (and `extra` flags).
pub fn start(db: common::Db, extra: &[&str]) -> Option<common::Server> {
    let mut o = common::Opts::new(db, common::Store::IoUring);
    o.extra = vec!["--storage-classes".into(), CLASSES.into()];
    o.extra.extend(extra.iter().map(|s| (*s).to_owned()));
    common::Server::start(o)
}

/// The blob files under a directory (recursively).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Files holding exactly `body` under `dir`.
pub fn holding(dir: &Path, body: &[u8]) -> usize {
    files(dir)
        .iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| b == body))
        .count()
}

pub fn class_dir(s: &common::Server, class: &str) -> PathBuf {
    s.dir.path().join("data").join("classes").join(class)
}

pub fn standard_dir(s: &common::Server) -> PathBuf {
    s.dir.path().join("data").join("blobs")
}

/// Waits (up to 10 s) until `f` holds.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub async fn body_of(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Vec<u8> {
    let o = c.get_object().bucket(b).key(k).send().await.unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn classes(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("scb").send().await.unwrap();
    // Unknown classes are refused, with nothing written.
    for bad in ["GLACIER_IR", "lukewarm", "REDUCED_REDUNDANCY"] {
        let e = c
            .put_object()
            .bucket("scb")
            .key("bad")
            .storage_class(StorageClass::from(bad))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            (code(&e).as_str(), status(&e)),
            ("InvalidStorageClass", 400),
            "{bad}"
        );
    }
    let e = c
        .head_object()
        .bucket("scb")
        .key("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 404);
    let e = c
        .create_multipart_upload()
        .bucket("scb")
        .key("bad")
        .storage_class(StorageClass::from("NOPE"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidStorageClass");

    // A small LUKEWARM object: its bytes are a blob in LUKEWARM's directory (never inline, never STANDARD's).
    let body = b"lukewarm bytes 0123456789";
    c.put_object()
        .bucket("scb")
        .key("warm")
        .storage_class(StorageClass::from("LUKEWARM"))
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap();
    assert_eq!(holding(&class_dir(s, "LUKEWARM"), body), 1);
    assert_eq!(holding(&standard_dir(s), body), 0);
    assert_eq!(body_of(&c, "scb", "warm").await, body);
    let h = c
        .head_object()
        .bucket("scb")
        .key("warm")
        .send()
        .await
        .unwrap();
    assert_eq!(h.storage_class(), Some(&StorageClass::from("LUKEWARM")));
    let g = c
        .get_object()
        .bucket("scb")
        .key("warm")
        .send()
        .await
        .unwrap();
    assert_eq!(g.storage_class(), Some(&StorageClass::from("LUKEWARM")));
    // STANDARD, named or not, is not reported on HEAD (as AWS does).
    c.put_object()
        .bucket("scb")
        .key("std")
        .storage_class(StorageClass::Standard)
        .body(ByteStream::from_static(b"s"))
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("scb")
        .key("std")
        .send()
        .await
        .unwrap();
    assert_eq!(h.storage_class(), None);
    // Listings.
    let l = c.list_objects_v2().bucket("scb").send().await.unwrap();
    let got: Vec<(String, Option<ObjectStorageClass>)> = l
        .contents()
        .iter()
        .map(|o| (o.key().unwrap().to_owned(), o.storage_class().cloned()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("std".into(), Some(ObjectStorageClass::Standard)),
            ("warm".into(), Some(ObjectStorageClass::from("LUKEWARM"))),
        ]
    );
    let l = c.list_objects().bucket("scb").send().await.unwrap();
    assert_eq!(
        l.contents()[1].storage_class(),
        Some(&ObjectStorageClass::from("LUKEWARM"))
    );
    let v = c.list_object_versions().bucket("scb").send().await.unwrap();
    let warm = v
        .versions()
        .iter()
        .find(|v| v.key() == Some("warm"))
        .unwrap();
    assert_eq!(warm.storage_class().map(|s| s.as_str()), Some("LUKEWARM"));
    let a = c
        .get_object_attributes()
        .bucket("scb")
        .key("warm")
        .object_attributes(aws_sdk_s3::types::ObjectAttributes::StorageClass)
        .send()
        .await
        .unwrap();
    assert_eq!(a.storage_class(), Some(&StorageClass::from("LUKEWARM")));

    // Copy-to-self changing the class moves the bytes to FROZEN's directory; the LUKEWARM blob is freed.
    c.copy_object()
        .bucket("scb")
        .key("warm")
        .copy_source("scb/warm")
        .storage_class(StorageClass::from("FROZEN"))
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("scb")
        .key("warm")
        .send()
        .await
        .unwrap();
    assert_eq!(h.storage_class(), Some(&StorageClass::from("FROZEN")));
    assert_eq!(holding(&class_dir(s, "FROZEN"), body), 1);
    let lw = class_dir(s, "LUKEWARM");
    eventually("the LUKEWARM blob is freed", || holding(&lw, body) == 0).await;
    assert_eq!(body_of(&c, "scb", "warm").await, body);
    // A copy without a class is STANDARD (as on AWS), into STANDARD's directory.
    c.copy_object()
        .bucket("scb")
        .key("copy")
        .copy_source("scb/warm")
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("scb")
        .key("copy")
        .send()
        .await
        .unwrap();
    assert_eq!(h.storage_class(), None);
    // Copy-to-self without any change is still refused.
    let e = c
        .copy_object()
        .bucket("scb")
        .key("std")
        .copy_source("scb/std")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequest");

    // Multipart: the upload's class in ListMultipartUploads and ListParts, the parts' bytes in its directory.
    let up = c
        .create_multipart_upload()
        .bucket("scb")
        .key("mp")
        .storage_class(StorageClass::from("LUKEWARM"))
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part_body = vec![7u8; 5 << 20];
    let p1 = c
        .upload_part()
        .bucket("scb")
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from(part_body.clone()))
        .send()
        .await
        .unwrap();
    let ups = c
        .list_multipart_uploads()
        .bucket("scb")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ups.uploads()[0].storage_class().map(|s| s.as_str()),
        Some("LUKEWARM")
    );
    let parts = c
        .list_parts()
        .bucket("scb")
        .key("mp")
        .upload_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.storage_class().map(|s| s.as_str()), Some("LUKEWARM"));
    assert_eq!(holding(&class_dir(s, "LUKEWARM"), &part_body), 1);
    c.complete_multipart_upload()
        .bucket("scb")
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(p1.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("scb")
        .key("mp")
        .send()
        .await
        .unwrap();
    assert_eq!(h.storage_class(), Some(&StorageClass::from("LUKEWARM")));
    assert_eq!(body_of(&c, "scb", "mp").await, part_body);

    // An SSE-S3 object in a class: stored sealed in the class's directory, read back in the clear.
    let secret = b"sealed in a class 0123456789";
    c.put_object()
        .bucket("scb")
        .key("enc")
        .storage_class(StorageClass::from("FROZEN"))
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .body(ByteStream::from_static(secret))
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&c, "scb", "enc").await, secret);
    assert!(files(&class_dir(s, "FROZEN")).len() >= 2);
}
mod classes_on {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        classes(&start(common::Db::Sqlite, &[]).unwrap()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_std() {
        let mut o = common::Opts::new(common::Db::Sqlite, common::Store::Std);
        o.extra = vec!["--storage-classes".into(), CLASSES.into()];
        classes(&common::Server::start(o).unwrap()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(s) = start(common::Db::Postgres, &[]) {
            classes(&s).await;
        }
    }
}

/// Without `storage_classes`, every class but STANDARD is InvalidStorageClass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfigured_classes_are_refused() {
    let s =
        common::Server::start(common::Opts::new(common::Db::Sqlite, common::Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket().bucket("nosc").send().await.unwrap();
    let e = c
        .put_object()
        .bucket("nosc")
        .key("k")
        .storage_class(StorageClass::StandardIa)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("InvalidStorageClass", 400)
    );
    c.put_object()
        .bucket("nosc")
        .key("k")
        .storage_class(StorageClass::Standard)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}
