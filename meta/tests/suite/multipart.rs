//! Multipart uploads: parts, completion, abort, ListMultipartUploads.

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

fn upload(id: &str, bucket: &str, key: &str, initiated_ms: i64) -> Upload {
    let mut user_meta = std::collections::BTreeMap::new();
    user_meta.insert("a".to_string(), "b".to_string());
    Upload {
        upload_id: id.into(),
        bucket: bucket.into(),
        key: key.into(),
        initiated_ms,
        headers: ContentHeaders {
            content_type: Some("image/png".into()),
            ..Default::default()
        },
        user_meta,
        checksum_algorithm: Some("CRC32".into()),
        checksum_type: Some("COMPOSITE".into()),
        storage_class: "STANDARD".into(),
        owner_canonical_id: CANON.into(),
        tags: vec![("project".into(), "x y".into())],
        lock: ObjectLock::default(),
        sse: Some(Sse {
            mode: "SSE-C".into(),
            key_id: None,
            wrapped_key: vec![9; 60],
            params: "{}".into(),
        }),
    }
}

fn part(upload_id: &str, n: i32, tag: &str) -> Part {
    Part {
        upload_id: upload_id.into(),
        part_number: n,
        size: 5 << 20,
        etag: format!("\"{tag}\""),
        last_modified_ms: 99,
        checksums: Checksums {
            crc32: Some(format!("c{n}")),
            ..Default::default()
        },
        locator: format!("part-{upload_id}-{n}-{tag}"),
    }
}

fn segment(p: &Part) -> Segment {
    Segment {
        locator: p.locator.clone(),
        size: p.size,
        etag: Some(p.etag.clone()),
        checksums: Some(p.checksums.clone()),
    }
}

async fn upload_lifecycle(m: Meta) {
    bucket(&m, "b").await;
    let up = upload("u1", "b", "big", 10);
    m.create_upload(&up).await.unwrap();
    assert!(matches!(
        m.create_upload(&up).await,
        Err(MetaError::AlreadyExists(_))
    ));
    assert_eq!(
        m.get_upload("b", "big", "u1").await.unwrap(),
        Some(up.clone())
    );
    assert_eq!(m.get_upload("b", "other", "u1").await.unwrap(), None);
    assert_eq!(m.get_upload("x", "big", "u1").await.unwrap(), None);

    let (p1, p2, p3) = (part("u1", 1, "a"), part("u1", 2, "b"), part("u1", 3, "c"));
    for p in [&p1, &p2, &p3] {
        assert_eq!(m.put_part(p).await.unwrap(), None);
    }
    let p2b = part("u1", 2, "b2");
    assert_eq!(m.put_part(&p2b).await.unwrap(), Some(p2.clone()));
    assert!(m.blob_referenced(&p3.locator).await.unwrap());
    assert!(!m.blob_referenced(&p2.locator).await.unwrap());

    let (all, more) = m.list_parts("u1", 0, 1000).await.unwrap();
    assert_eq!(
        (all, more),
        (vec![p1.clone(), p2b.clone(), p3.clone()], false)
    );
    let (page, more) = m.list_parts("u1", 0, 2).await.unwrap();
    assert_eq!((page, more), (vec![p1.clone(), p2b.clone()], true));
    let (page, more) = m.list_parts("u1", 2, 2).await.unwrap();
    assert_eq!((page, more), (vec![p3.clone()], false));
    let (page, more) = m.list_parts("u1", 0, 0).await.unwrap();
    assert_eq!((page.len(), more), (0, true));

    // A failed precondition leaves the upload untouched.
    let mut rec = obj("b", "big", "multi-2");
    rec.segments = vec![segment(&p1), segment(&p2b)];
    rec.size = p1.size + p2b.size;
    m.put_object(&obj("b", "big", "old"), &none())
        .await
        .unwrap();
    let star = WriteCondition {
        if_none_match_star: true,
        if_match: None,
    };
    assert!(matches!(
        m.complete_upload("u1", &rec, &star).await,
        Err(MetaError::PreconditionFailed)
    ));
    assert!(m.get_upload("b", "big", "u1").await.unwrap().is_some());
    assert_eq!(m.list_parts("u1", 0, 10).await.unwrap().0.len(), 3);

    let (out, unused) = m.complete_upload("u1", &rec, &none()).await.unwrap();
    assert_eq!(out.replaced.unwrap().etag, "\"old\"");
    assert_eq!(unused, vec![p3.clone()]);
    assert_eq!(m.get_object("b", "big").await.unwrap(), Some(rec.clone()));
    assert_eq!(m.get_upload("b", "big", "u1").await.unwrap(), None);
    assert!(m.list_parts("u1", 0, 10).await.unwrap().0.is_empty());
    assert!(
        m.blob_referenced(&p1.locator).await.unwrap(),
        "now referenced by the object"
    );
    assert!(!m.blob_referenced(&p3.locator).await.unwrap());
    assert!(matches!(
        m.put_part(&part("u1", 4, "d")).await,
        Err(MetaError::NoSuchUpload)
    ));
    assert!(matches!(
        m.complete_upload("u1", &rec, &none()).await,
        Err(MetaError::NoSuchUpload)
    ));
    assert!(matches!(
        m.abort_upload("b", "big", "u1").await,
        Err(MetaError::NoSuchUpload)
    ));
}

async fn abort(m: Meta) {
    bucket(&m, "b").await;
    m.create_upload(&upload("u1", "b", "k", 1)).await.unwrap();
    let p = part("u1", 1, "a");
    m.put_part(&p).await.unwrap();
    assert!(matches!(
        m.abort_upload("b", "wrong", "u1").await,
        Err(MetaError::NoSuchUpload)
    ));
    assert_eq!(
        m.abort_upload("b", "k", "u1").await.unwrap(),
        vec![p.clone()]
    );
    assert!(!m.blob_referenced(&p.locator).await.unwrap());
    assert!(matches!(
        m.abort_upload("b", "k", "u1").await,
        Err(MetaError::NoSuchUpload)
    ));
    assert!(matches!(m.put_part(&p).await, Err(MetaError::NoSuchUpload)));
    m.delete_bucket("b").await.unwrap();
}

/// Parts racing completion: every part write either lands before completion (and is reported back as
/// used or unused) or fails with NoSuchUpload.
async fn parts_race_complete(m: Meta) {
    bucket(&m, "b").await;
    m.create_upload(&upload("u1", "b", "k", 1)).await.unwrap();
    m.put_part(&part("u1", 1, "a")).await.unwrap();
    let mut tasks = Vec::new();
    for n in 2..34 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            match m.put_part(&part("u1", n, "x")).await {
                Ok(_) => Some(n),
                Err(MetaError::NoSuchUpload) => None,
                Err(e) => panic!("{e}"),
            }
        }));
    }
    let mut rec = obj("b", "k", "m");
    rec.segments = vec![segment(&part("u1", 1, "a"))];
    let (_, unused) = m.complete_upload("u1", &rec, &none()).await.unwrap();
    let mut landed: Vec<i32> = Vec::new();
    for t in tasks {
        landed.extend(t.await.unwrap());
    }
    let mut unused: Vec<i32> = unused.iter().map(|p| p.part_number).collect();
    landed.sort();
    unused.sort();
    assert_eq!(landed, unused);
}

async fn list_uploads(m: Meta) {
    bucket(&m, "b").await;
    bucket(&m, "other").await;
    let ups = [
        upload("u-3", "b", "a/x", 30),
        upload("u-1", "b", "a/x", 10),
        upload("u-2", "b", "a/x", 10),
        upload("u-9", "b", "a/y/z", 5),
        upload("u-5", "b", "c", 7),
        upload("u-6", "b", "a%", 7),
        upload("u-7", "other", "a/x", 1),
    ];
    for u in &ups {
        m.create_upload(u).await.unwrap();
    }
    let ids = |p: &UploadPage| {
        p.uploads
            .iter()
            .map(|u| u.upload_id.clone())
            .collect::<Vec<_>>()
    };
    let p = m
        .list_uploads("b", "", None, None, None, 1000)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-6", "u-1", "u-2", "u-3", "u-9", "u-5"]);
    assert!(!p.is_truncated);
    assert_eq!(p.uploads[0], ups[5]);

    let p = m
        .list_uploads("b", "a/", None, None, None, 1000)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-1", "u-2", "u-3", "u-9"]);
    let p = m
        .list_uploads("b", "a%", None, None, None, 1000)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-6"]);

    let p = m
        .list_uploads("b", "", Some("/"), None, None, 1000)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-6", "u-5"]);
    assert_eq!(p.common_prefixes, ["a/"]);
    let p = m
        .list_uploads("b", "a/", Some("/"), None, None, 1000)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-1", "u-2", "u-3"]);
    assert_eq!(p.common_prefixes, ["a/y/"]);

    // Pagination with both markers.
    let p = m.list_uploads("b", "", None, None, None, 2).await.unwrap();
    assert_eq!(ids(&p), ["u-6", "u-1"]);
    assert!(p.is_truncated);
    assert_eq!(
        (
            p.next_key_marker.as_deref(),
            p.next_upload_id_marker.as_deref()
        ),
        (Some("a/x"), Some("u-1"))
    );
    let p = m
        .list_uploads("b", "", None, Some("a/x"), Some("u-1"), 2)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-2", "u-3"]);
    assert!(p.is_truncated);
    let p = m
        .list_uploads("b", "", None, Some("a/x"), Some("u-3"), 2)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-9", "u-5"]);
    assert!(!p.is_truncated);
    // Key marker alone skips that key's uploads.
    let p = m
        .list_uploads("b", "", None, Some("a/x"), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-9", "u-5"]);
    // Common prefix counts toward max and is a marker.
    let p = m
        .list_uploads("b", "", Some("/"), None, None, 2)
        .await
        .unwrap();
    assert_eq!(
        (ids(&p), p.common_prefixes.clone(), p.is_truncated),
        (vec!["u-6".to_string()], vec!["a/".to_string()], true)
    );
    assert_eq!(
        (
            p.next_key_marker.as_deref(),
            p.next_upload_id_marker.as_deref()
        ),
        (Some("a/"), None)
    );
    let p = m
        .list_uploads("b", "", Some("/"), Some("a/"), None, 2)
        .await
        .unwrap();
    assert_eq!(ids(&p), ["u-5"]);
    assert_eq!(
        m.list_uploads("b", "", None, None, None, 0).await.unwrap(),
        UploadPage::default()
    );
}

both!(upload_lifecycle, abort, parts_race_complete, list_uploads);
