//! Versions: noncurrent versions, the "null" version, delete markers, version deletes, ListObjectVersions.

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

fn version(key: &str, id: &str, etag: &str) -> ObjectRecord {
    let mut r = obj("v", key, etag);
    r.version_id = id.into();
    r.segments[0].locator = format!("blob-{key}-{id}");
    r
}

fn marker(key: &str, id: &str) -> ObjectRecord {
    let mut r = obj("v", key, "");
    r.version_id = id.into();
    r.etag = String::new();
    r.size = 0;
    r.segments.clear();
    r.delete_marker = true;
    r
}

/// (version id, is current) of every version of `key`, newest first.
async fn versions_of(m: &Meta, key: &str) -> Vec<(String, bool)> {
    let page = m
        .list_versions("v", key, None, None, None, 1000)
        .await
        .unwrap();
    page.versions
        .into_iter()
        .filter(|(r, _)| r.key == key)
        .map(|(r, latest)| (r.version_id, latest))
        .collect()
}

fn ids(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(i, l)| ((*i).to_owned(), *l)).collect()
}

async fn version_lifecycle(m: Meta) {
    bucket(&m, "v").await;
    // An object written before versioning was enabled is the "null" version.
    let null1 = version("k", "null", "n1");
    m.put_object(&null1, &none()).await.unwrap();
    // Enabled: new versions keep the older ones.
    let v1 = version("k", "v1", "e1");
    assert_eq!(m.put_object(&v1, &none()).await.unwrap().replaced, None);
    let v2 = version("k", "v2", "e2");
    assert_eq!(m.put_object(&v2, &none()).await.unwrap().replaced, None);
    assert_eq!(m.get_object("v", "k").await.unwrap(), Some(v2.clone()));
    assert_eq!(
        m.get_version("v", "k", "null").await.unwrap(),
        Some(null1.clone())
    );
    assert_eq!(
        versions_of(&m, "k").await,
        ids(&[("v2", true), ("v1", false), ("null", false)])
    );
    assert!(m.blob_referenced("blob-k-null").await.unwrap());
    // A delete marker hides the key from listings and becomes current.
    m.put_delete_marker(&marker("k", "dm1"), &DeleteCondition::default())
        .await
        .unwrap();
    assert!(m.get_object("v", "k").await.unwrap().unwrap().delete_marker);
    assert!(
        m.list_objects("v", "", None, None, 10)
            .await
            .unwrap()
            .objects
            .is_empty()
    );
    // Removing the marker brings the newest version back.
    let gone = m.delete_version("v", "k", "dm1").await.unwrap().unwrap();
    assert!(gone.delete_marker);
    assert_eq!(m.get_object("v", "k").await.unwrap(), Some(v2.clone()));
    assert_eq!(m.delete_version("v", "k", "dm1").await.unwrap(), None);
    // Deleting the current version promotes the next newest.
    assert_eq!(
        m.delete_version("v", "k", "v2").await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(m.get_object("v", "k").await.unwrap(), Some(v1.clone()));
    // Suspended: writes are the "null" version, which replaces the old "null" one (its blobs are freed),
    // and the current version stays as a noncurrent one.
    let null2 = version("k", "null", "n2");
    assert_eq!(
        m.put_object(&null2, &none()).await.unwrap().replaced,
        Some(null1.clone())
    );
    assert!(
        !m.blob_referenced("blob-k-null").await.unwrap()
            || null2.segments[0].locator == "blob-k-null"
    );
    assert_eq!(
        versions_of(&m, "k").await,
        ids(&[("null", true), ("v1", false)])
    );
    // A "null" delete marker replaces the "null" version too.
    let out = m
        .put_delete_marker(&marker("k", "null"), &DeleteCondition::default())
        .await
        .unwrap();
    assert_eq!(out.replaced, Some(null2));
    assert_eq!(
        versions_of(&m, "k").await,
        ids(&[("null", true), ("v1", false)])
    );
    assert!(m.get_object("v", "k").await.unwrap().unwrap().delete_marker);
    // Tags belong to a version; delete markers have none.
    let tags: Tags = vec![("t".into(), "1".into())];
    assert!(
        m.set_object_tags("v", "k", Some("v1"), &tags)
            .await
            .unwrap()
    );
    assert!(!m.set_object_tags("v", "k", None, &tags).await.unwrap());
    assert!(
        !m.set_object_tags("v", "k", Some("nope"), &tags)
            .await
            .unwrap()
    );
    assert_eq!(
        m.get_version("v", "k", "v1").await.unwrap().unwrap().tags,
        tags
    );
    // Conditional writes see a current delete marker as "no object".
    let put_new = version("k", "v3", "e3");
    m.put_object(
        &put_new,
        &WriteCondition {
            if_none_match_star: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // A conditional delete marker checks the current version.
    let cond = DeleteCondition {
        if_match: Some("\"other\"".into()),
        ..Default::default()
    };
    assert!(matches!(
        m.put_delete_marker(&marker("k", "dm2"), &cond).await,
        Err(MetaError::PreconditionFailed)
    ));
    assert_eq!(m.get_object("v", "k").await.unwrap(), Some(put_new));
}

async fn version_listing(m: Meta) {
    bucket(&m, "v").await;
    for key in ["a", "b/1", "b/2", "c"] {
        for id in ["x1", "x2"] {
            m.put_object(&version(key, id, id), &none()).await.unwrap();
        }
    }
    m.put_delete_marker(&marker("c", "dm"), &DeleteCondition::default())
        .await
        .unwrap();
    let all = m
        .list_versions("v", "", None, None, None, 1000)
        .await
        .unwrap();
    let got: Vec<(String, String, bool)> = all
        .versions
        .iter()
        .map(|(r, l)| (r.key.clone(), r.version_id.clone(), *l))
        .collect();
    let want: Vec<(String, String, bool)> = [
        ("a", "x2", true),
        ("a", "x1", false),
        ("b/1", "x2", true),
        ("b/1", "x1", false),
        ("b/2", "x2", true),
        ("b/2", "x1", false),
        ("c", "dm", true),
        ("c", "x2", false),
        ("c", "x1", false),
    ]
    .iter()
    .map(|(k, v, l)| ((*k).to_owned(), (*v).to_owned(), *l))
    .collect();
    assert_eq!(got, want);
    assert!(!all.is_truncated);
    // Page by page with both markers: the same sequence.
    let mut paged = Vec::new();
    let (mut km, mut vm): (Option<String>, Option<String>) = (None, None);
    loop {
        let p = m
            .list_versions("v", "", None, km.as_deref(), vm.as_deref(), 2)
            .await
            .unwrap();
        paged.extend(
            p.versions
                .iter()
                .map(|(r, l)| (r.key.clone(), r.version_id.clone(), *l)),
        );
        if !p.is_truncated {
            break;
        }
        km = p.next_key_marker;
        vm = p.next_version_id_marker;
    }
    assert_eq!(paged, want);
    // A key marker alone starts after every version of that key.
    let p = m
        .list_versions("v", "", None, Some("b/2"), None, 1000)
        .await
        .unwrap();
    assert_eq!(p.versions.first().map(|(r, _)| r.key.as_str()), Some("c"));
    // Delimiter: the b/ versions roll up into one common prefix.
    let p = m
        .list_versions("v", "", Some("/"), None, None, 1000)
        .await
        .unwrap();
    assert_eq!(p.common_prefixes, ["b/"]);
    assert_eq!(p.versions.len(), 5);
    let p = m
        .list_versions("v", "b/", None, None, None, 3)
        .await
        .unwrap();
    assert_eq!(p.versions.len(), 3);
    assert!(p.is_truncated);
    assert_eq!(
        (
            p.next_key_marker.as_deref(),
            p.next_version_id_marker.as_deref()
        ),
        (Some("b/2"), Some("x2"))
    );
}

both!(version_lifecycle, version_listing);
