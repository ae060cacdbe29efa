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

async fn put_rules(c: &aws_sdk_s3::Client, b: &str, rules: Vec<aws_sdk_s3::types::LifecycleRule>) {
    c.put_bucket_lifecycle_configuration()
        .bucket(b)
        .lifecycle_configuration(
            aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn transition(days: i32, class: &str) -> aws_sdk_s3::types::Transition {
    aws_sdk_s3::types::Transition::builder()
        .days(days)
        .storage_class(aws_sdk_s3::types::TransitionStorageClass::from(class))
        .build()
}

async fn class_of(c: &aws_sdk_s3::Client, b: &str, k: &str, v: Option<&str>) -> String {
    let h = c
        .head_object()
        .bucket(b)
        .key(k)
        .set_version_id(v.map(str::to_owned))
        .send()
        .await
        .unwrap();
    h.storage_class()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "STANDARD".into())
}

/// Waits (up to 20 s) until the version is in `class`.
async fn wait_class(c: &aws_sdk_s3::Client, b: &str, k: &str, v: Option<&str>, class: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let got = class_of(c, b, k, v).await;
        if got == class {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{k} {v:?} stayed {got}, wanted {class}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Unique bytes (so a file holding them is found on disk).
fn unique(tag: &str, len: usize) -> Vec<u8> {
    let seed = format!("{tag}-{}-", rand::random::<u64>());
    seed.bytes().cycle().take(len).collect()
}

/// Transitions with one-second days: a current version goes STANDARD → LUKEWARM (Days 1) → FROZEN (Days 3),
/// its bytes moving between the class directories on disk while GET keeps returning them (a blob, an inline
/// object, an SSE-S3 object moved as ciphertext, a multipart object); a noncurrent version follows its
/// NoncurrentVersionTransition while the current one stays; the rules read back as given.
async fn transitions(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("trans").send().await.unwrap();
    c.put_bucket_versioning()
        .bucket("trans")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let big = unique("big", 300_000);
    let small = unique("small", 100);
    let secret = unique("secret", 70_000);
    let put = |k: &'static str, b: Vec<u8>| {
        c.put_object()
            .bucket("trans")
            .key(k)
            .body(ByteStream::from(b))
    };
    put("t/big", big.clone()).send().await.unwrap();
    put("t/small", small.clone()).send().await.unwrap();
    put("t/enc", secret.clone())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap();
    let old = unique("old", 50_000);
    let v1 = put("n/k", old.clone()).send().await.unwrap();
    let v1 = v1.version_id().unwrap().to_owned();
    let cur = unique("cur", 50_000);
    put("n/k", cur.clone()).send().await.unwrap();
    let rules = vec![
        aws_sdk_s3::types::LifecycleRule::builder()
            .id("cur")
            .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
            .filter(
                aws_sdk_s3::types::LifecycleRuleFilter::builder()
                    .prefix("t/")
                    .build(),
            )
            .transitions(transition(1, "LUKEWARM"))
            .transitions(transition(4, "FROZEN"))
            .build()
            .unwrap(),
        aws_sdk_s3::types::LifecycleRule::builder()
            .id("nc")
            .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
            .filter(
                aws_sdk_s3::types::LifecycleRuleFilter::builder()
                    .prefix("n/")
                    .build(),
            )
            .noncurrent_version_transitions(
                aws_sdk_s3::types::NoncurrentVersionTransition::builder()
                    .noncurrent_days(1)
                    .storage_class(aws_sdk_s3::types::TransitionStorageClass::from("FROZEN"))
                    .build(),
            )
            .build()
            .unwrap(),
    ];
    put_rules(&c, "trans", rules.clone()).await;
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("trans")
        .send()
        .await
        .unwrap();
    assert_eq!(got.rules()[0].transitions().len(), 2);
    assert_eq!(
        got.rules()[1].noncurrent_version_transitions()[0]
            .storage_class()
            .map(|s| s.as_str()),
        Some("FROZEN")
    );
    wait_class(&c, "trans", "t/big", None, "LUKEWARM").await;
    let (lw, fr, st) = (
        class_dir(s, "LUKEWARM"),
        class_dir(s, "FROZEN"),
        standard_dir(s),
    );
    assert_eq!(
        holding(&lw, &big),
        1,
        "the bytes are in LUKEWARM's directory"
    );
    eventually("the STANDARD blob is freed", || holding(&st, &big) == 0).await;
    assert_eq!(body_of(&c, "trans", "t/big").await, big);
    wait_class(&c, "trans", "t/small", None, "LUKEWARM").await;
    assert_eq!(
        holding(&lw, &small),
        1,
        "an inline object gets a blob in its class"
    );
    assert_eq!(body_of(&c, "trans", "t/small").await, small);
    // The noncurrent version moved, the current one did not.
    wait_class(&c, "trans", "n/k", Some(&v1), "FROZEN").await;
    assert_eq!(holding(&fr, &old), 1);
    assert_eq!(class_of(&c, "trans", "n/k", None).await, "STANDARD");
    assert_eq!(body_of(&c, "trans", "n/k").await, cur);
    // The second stage.
    wait_class(&c, "trans", "t/big", None, "FROZEN").await;
    wait_class(&c, "trans", "t/enc", None, "FROZEN").await;
    assert_eq!(holding(&fr, &big), 1);
    eventually("the LUKEWARM blob is freed", || holding(&lw, &big) == 0).await;
    assert_eq!(body_of(&c, "trans", "t/big").await, big);
    assert_eq!(body_of(&c, "trans", "t/enc").await, secret);
    // Ciphertext moved: no file anywhere holds the SSE object's plaintext.
    let data = s.dir.path().join("data");
    assert!(
        files(&data).iter().all(|p| {
            std::fs::read(p).is_ok_and(|b| !b.windows(64).any(|w| w == &secret[..64]))
        })
    );
    let v = c
        .get_object()
        .bucket("trans")
        .key("n/k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v.body.collect().await.unwrap().into_bytes().as_ref(),
        &old[..]
    );
}

mod transitions_on {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        transitions(&start(common::Db::Sqlite, &["--lifecycle-day-seconds", "1"]).unwrap()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(s) = start(common::Db::Postgres, &["--lifecycle-day-seconds", "1"]) {
            transitions(&s).await;
        }
    }
}

/// kill -9 while the worker transitions many objects: after a restart every object reads back whole (from
/// whichever class it is in), and the worker (resuming its own lease at once) finishes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_transition_loses_nothing() {
    let mut s = start(common::Db::Sqlite, &["--lifecycle-day-seconds", "1"]).unwrap();
    let c = s.client();
    c.create_bucket().bucket("crash").send().await.unwrap();
    const N: usize = 40;
    let mut bodies = Vec::new();
    for i in 0..N {
        let b = unique(&format!("o{i}"), 512 * 1024);
        c.put_object()
            .bucket("crash")
            .key(format!("k{i:02}"))
            .body(ByteStream::from(b.clone()))
            .send()
            .await
            .unwrap();
        bodies.push(b);
    }
    put_rules(
        &c,
        "crash",
        vec![
            aws_sdk_s3::types::LifecycleRule::builder()
                .id("all")
                .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
                .filter(aws_sdk_s3::types::LifecycleRuleFilter::builder().build())
                .transitions(transition(1, "LUKEWARM"))
                .build()
                .unwrap(),
        ],
    )
    .await;
    // Kill as soon as the first object has moved (the pass is then most likely under way).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let l = c.list_objects_v2().bucket("crash").send().await.unwrap();
        let moved = l
            .contents()
            .iter()
            .filter(|o| o.storage_class().map(|s| s.as_str()) == Some("LUKEWARM"))
            .count();
        if moved > 0 {
            eprintln!("killing with {moved} of {N} moved");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no transition started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    s.crash_and_restart();
    let c = s.client();
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(
            &body_of(&c, "crash", &format!("k{i:02}")).await,
            b,
            "k{i:02}"
        );
    }
    for i in 0..N {
        wait_class(&c, "crash", &format!("k{i:02}"), None, "LUKEWARM").await;
    }
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(
            &body_of(&c, "crash", &format!("k{i:02}")).await,
            b,
            "k{i:02}"
        );
        assert!(holding(&class_dir(&s, "LUKEWARM"), b) >= 1);
    }
    // Whatever the crash left behind (a copy never switched to, an old blob never freed) is an orphan: aged
    // past the sweep's bound, the sweep at the next start removes it and nothing referenced.
    s.kill9();
    let data = s.dir.path().join("data");
    for dir in [standard_dir(&s), data.join("classes")] {
        for f in files(&dir) {
            let st = std::process::Command::new("touch")
                .args(["-d", "3 days ago"])
                .arg(&f)
                .status()
                .unwrap();
            assert!(st.success());
        }
    }
    s.crash_and_restart();
    let (lw, st) = (class_dir(&s, "LUKEWARM"), standard_dir(&s));
    eventually("one copy of each object, in LUKEWARM only", || {
        bodies
            .iter()
            .all(|b| holding(&lw, b) == 1 && holding(&st, b) == 0)
    })
    .await;
    let c = s.client();
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(
            &body_of(&c, "crash", &format!("k{i:02}")).await,
            b,
            "k{i:02}"
        );
    }
}
