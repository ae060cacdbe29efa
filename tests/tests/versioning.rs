//! Bucket versioning through the Rust AWS SDK, on every configuration (SQLite/Postgres, io_uring/std):
//! versions, the "null" version, delete markers, version deletes, ListObjectVersions, copies of versions.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Delete, ObjectIdentifier, VersioningConfiguration,
};
use common::{code, status};

async fn set_versioning(c: &aws_sdk_s3::Client, b: &str, s: BucketVersioningStatus) {
    c.put_bucket_versioning()
        .bucket(b)
        .versioning_configuration(VersioningConfiguration::builder().status(s).build())
        .send()
        .await
        .unwrap();
}

async fn put(c: &aws_sdk_s3::Client, b: &str, k: &str, body: &'static [u8]) -> Option<String> {
    c.put_object()
        .bucket(b)
        .key(k)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap()
        .version_id()
        .map(str::to_owned)
}

async fn body_of(c: &aws_sdk_s3::Client, b: &str, k: &str, v: Option<&str>) -> Vec<u8> {
    let o = c
        .get_object()
        .bucket(b)
        .key(k)
        .set_version_id(v.map(str::to_owned))
        .send()
        .await
        .unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

/// (key, version id, is latest, is delete marker) of every version, in listing order.
async fn all_versions(c: &aws_sdk_s3::Client, b: &str) -> Vec<(String, String, bool, bool)> {
    let r = c.list_object_versions().bucket(b).send().await.unwrap();
    let mut out: Vec<(String, String, bool, bool)> = r
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_owned(),
                v.version_id().unwrap().to_owned(),
                v.is_latest().unwrap(),
                false,
            )
        })
        .chain(r.delete_markers().iter().map(|m| {
            (
                m.key().unwrap().to_owned(),
                m.version_id().unwrap().to_owned(),
                m.is_latest().unwrap(),
                true,
            )
        }))
        .collect();
    // The SDK splits versions and markers; put them back in one (key, newest-first) order by position of
    // the latest flag is not possible, so compare as a set sorted by key then by "latest first".
    out.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
    out
}

async fn versions(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("ver").send().await.unwrap();
    let st = c
        .get_bucket_versioning()
        .bucket("ver")
        .send()
        .await
        .unwrap();
    assert!(st.status().is_none());
    // Written before versioning: the "null" version, and no version id on the wire.
    assert_eq!(put(&c, "ver", "k", b"zero").await, None);
    set_versioning(&c, "ver", BucketVersioningStatus::Enabled).await;
    let st = c
        .get_bucket_versioning()
        .bucket("ver")
        .send()
        .await
        .unwrap();
    assert_eq!(st.status(), Some(&BucketVersioningStatus::Enabled));
    let v1 = put(&c, "ver", "k", b"one").await.unwrap();
    let v2 = put(&c, "ver", "k", b"two").await.unwrap();
    assert_ne!(v1, v2);
    assert_eq!(body_of(&c, "ver", "k", None).await, b"two");
    assert_eq!(body_of(&c, "ver", "k", Some(&v1)).await, b"one");
    assert_eq!(body_of(&c, "ver", "k", Some("null")).await, b"zero");
    let h = c
        .head_object()
        .bucket("ver")
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (h.version_id(), h.content_length()),
        (Some(v1.as_str()), Some(3))
    );
    // A DELETE puts a delete marker on top: GET is 404 with x-amz-delete-marker, listings skip the key,
    // the versions stay readable.
    let d = c
        .delete_object()
        .bucket("ver")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(d.delete_marker(), Some(true));
    let marker = d.version_id().unwrap().to_owned();
    let e = c
        .get_object()
        .bucket("ver")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");
    let raw = e.raw_response().unwrap();
    assert_eq!(raw.headers().get("x-amz-delete-marker"), Some("true"));
    let e = c
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 405);
    let l = c.list_objects_v2().bucket("ver").send().await.unwrap();
    assert_eq!(l.key_count(), Some(0));
    assert_eq!(body_of(&c, "ver", "k", Some(&v2)).await, b"two");
    let vs = all_versions(&c, "ver").await;
    assert_eq!(vs.len(), 4);
    assert_eq!(vs[0], ("k".into(), marker.clone(), true, true));
    let mut ids: Vec<&str> = vs[1..].iter().map(|v| v.1.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![v1.as_str(), v2.as_str(), "null"];
    want.sort_unstable();
    assert_eq!(ids, want);
    // Deleting the marker by version id brings the object back.
    let d = c
        .delete_object()
        .bucket("ver")
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(d.delete_marker(), Some(true));
    assert_eq!(body_of(&c, "ver", "k", None).await, b"two");
    // Deleting the current version permanently makes the previous one current.
    c.delete_object()
        .bucket("ver")
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&c, "ver", "k", None).await, b"one");
    let e = c
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchVersion");
    // Copy from an old version; the copy is a new version of its key.
    let cp = c
        .copy_object()
        .bucket("ver")
        .key("copy")
        .copy_source(format!("ver/k?versionId={v1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cp.copy_source_version_id(), Some(v1.as_str()));
    assert!(cp.version_id().is_some());
    assert_eq!(body_of(&c, "ver", "copy", None).await, b"one");

    // Suspended: new writes are the "null" version (not announced), replacing the old "null" one.
    set_versioning(&c, "ver", BucketVersioningStatus::Suspended).await;
    assert_eq!(put(&c, "ver", "k", b"null again").await, None);
    assert_eq!(body_of(&c, "ver", "k", Some("null")).await, b"null again");
    assert_eq!(body_of(&c, "ver", "k", Some(&v1)).await, b"one");
    let vs: Vec<(String, String, bool, bool)> = all_versions(&c, "ver")
        .await
        .into_iter()
        .filter(|v| v.0 == "k")
        .collect();
    assert_eq!(
        vs,
        vec![
            ("k".into(), "null".into(), true, false),
            ("k".into(), v1.clone(), false, false)
        ]
    );

    // DeleteObjects with versions: remove every version, the bucket can then go.
    set_versioning(&c, "ver", BucketVersioningStatus::Enabled).await;
    let e = c.delete_bucket().bucket("ver").send().await.unwrap_err();
    assert_eq!(code(&e), "BucketNotEmpty");
    let all = all_versions(&c, "ver").await;
    let mut del = Delete::builder();
    for (k, v, _, _) in &all {
        del = del.objects(
            ObjectIdentifier::builder()
                .key(k)
                .version_id(v)
                .build()
                .unwrap(),
        );
    }
    let r = c
        .delete_objects()
        .bucket("ver")
        .delete(del.build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.deleted().len(), all.len());
    assert!(r.errors().is_empty());
    assert!(all_versions(&c, "ver").await.is_empty());
    c.delete_bucket().bucket("ver").send().await.unwrap();
}
matrix!(versions);

async fn version_listing_pages(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("vlist").send().await.unwrap();
    set_versioning(&c, "vlist", BucketVersioningStatus::Enabled).await;
    let mut written = Vec::new();
    for k in ["a", "b", "c"] {
        for _ in 0..3 {
            written.push((k.to_owned(), put(&c, "vlist", k, b"x").await.unwrap()));
        }
    }
    // Pages of 2 with both markers list every version once, newest first within a key.
    let mut seen = Vec::new();
    let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
    loop {
        let r = c
            .list_object_versions()
            .bucket("vlist")
            .max_keys(2)
            .set_key_marker(km.clone())
            .set_version_id_marker(vm.clone())
            .send()
            .await
            .unwrap();
        for v in r.versions() {
            seen.push((
                v.key().unwrap().to_owned(),
                v.version_id().unwrap().to_owned(),
            ));
        }
        if r.is_truncated() != Some(true) {
            break;
        }
        km = r.next_key_marker().map(str::to_owned);
        vm = r.next_version_id_marker().map(str::to_owned);
    }
    let mut want = Vec::new();
    for k in ["a", "b", "c"] {
        let mut vs: Vec<(String, String)> =
            written.iter().filter(|(wk, _)| wk == k).cloned().collect();
        vs.reverse();
        want.extend(vs);
    }
    assert_eq!(seen, want);
    // The other account cannot list or read versions.
    let (ak, sk) = s.new_account("other");
    let other = s.client_with(&ak, &sk);
    let e = other
        .list_object_versions()
        .bucket("vlist")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = other
        .get_object()
        .bucket("vlist")
        .key("a")
        .version_id(&written[0].1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
}
matrix!(version_listing_pages);
