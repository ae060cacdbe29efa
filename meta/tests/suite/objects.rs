//! The object index: round trips, conditional writes, concurrent writers, blob references.

use std::collections::{BTreeMap, HashSet};

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

fn rich(bucket: &str, key: &str) -> ObjectRecord {
    let mut user_meta = BTreeMap::new();
    user_meta.insert("color".to_string(), "blue, \"quoted\" ünï".to_string());
    user_meta.insert("empty".to_string(), String::new());
    ObjectRecord {
        bucket: bucket.into(),
        key: key.into(),
        version_id: "null".into(),
        size: 10 << 20,
        etag: "\"0123456789abcdef0123456789abcdef-2\"".into(),
        last_modified_ms: 1_712_345_678_901,
        headers: ContentHeaders {
            content_type: Some("text/plain; charset=utf-8".into()),
            content_encoding: Some("gzip".into()),
            content_disposition: Some("attachment; filename=\"x y.txt\"".into()),
            content_language: Some("en".into()),
            cache_control: Some("no-cache".into()),
            expires: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
            website_redirect_location: None,
        },
        user_meta,
        checksums: Checksums {
            crc32: Some("AAAAAA==".into()),
            kind: Some("COMPOSITE".into()),
            ..Default::default()
        },
        segments: vec![
            Segment {
                locator: "loc-1".into(),
                size: 5 << 20,
                etag: Some("\"p1\"".into()),
                checksums: Some(Checksums {
                    crc32: Some("AQID".into()),
                    ..Default::default()
                }),
            },
            Segment {
                locator: "loc-2".into(),
                size: 5 << 20,
                etag: Some("\"p2\"".into()),
                checksums: None,
            },
        ],
        storage_class: "STANDARD_IA".into(),
        owner_canonical_id: CANON.into(),
        inline_data: None,
        tags: vec![
            ("z first".into(), "ü = \"1\"".into()),
            ("a".into(), String::new()),
        ],
        upload_id: Some("upload-7".into()),
        delete_marker: false,
        lock: ObjectLock::default(),
        sse: Some(Sse {
            mode: "aws:kms".into(),
            key_id: Some("testkey-1".into()),
            wrapped_key: vec![0, 1, 2, 255],
            params: "{\"c\":1}".into(),
        }),
    }
}

async fn put_get_delete(m: Meta) {
    bucket(&m, "b").await;
    let r = rich("b", "dir/file.txt");
    assert_eq!(m.put_object(&r, &none()).await.unwrap().replaced, None);
    assert_eq!(
        m.get_object("b", "dir/file.txt").await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(m.get_object("b", "dir/file").await.unwrap(), None);
    let r2 = obj("b", "dir/file.txt", "second");
    assert_eq!(
        m.put_object(&r2, &none()).await.unwrap().replaced,
        Some(r.clone())
    );
    assert_eq!(
        m.get_object("b", "dir/file.txt").await.unwrap(),
        Some(r2.clone())
    );
    assert_eq!(
        m.delete_object("b", "dir/file.txt").await.unwrap(),
        Some(r2)
    );
    assert_eq!(m.delete_object("b", "dir/file.txt").await.unwrap(), None);
    assert_eq!(m.get_object("b", "dir/file.txt").await.unwrap(), None);
    // Same key in another bucket is another object.
    bucket(&m, "c").await;
    m.put_object(&obj("c", "k", "c"), &none()).await.unwrap();
    m.put_object(&obj("b", "k", "b"), &none()).await.unwrap();
    assert_eq!(m.get_object("c", "k").await.unwrap().unwrap().etag, "\"c\"");
}

async fn odd_keys(m: Meta) {
    bucket(&m, "b").await;
    let long: String = "k".repeat(1021) + "é/"; // 1024 bytes
    assert_eq!(long.len(), 1024);
    let keys = [
        "a%b",
        "a_b",
        "tab\there",
        "ctl\u{1}\u{1f}\u{7f}",
        "nl\nx",
        "emoji😀",
        "\u{10FFFF}",
        " sp ",
        &long,
    ];
    for k in keys {
        let r = obj("b", k, "e");
        m.put_object(&r, &none()).await.unwrap();
        assert_eq!(m.get_object("b", k).await.unwrap(), Some(r), "key {k:?}");
    }
}

async fn conditional_writes(m: Meta) {
    bucket(&m, "b").await;
    let star = WriteCondition {
        if_none_match_star: true,
        if_match: None,
    };
    let matching = |e: &str| WriteCondition {
        if_none_match_star: false,
        if_match: Some(e.into()),
    };
    // If-Match on an absent key fails; If-None-Match on it succeeds.
    assert!(matches!(
        m.put_object(&obj("b", "k", "1"), &matching("\"1\"")).await,
        Err(MetaError::PreconditionFailed)
    ));
    m.put_object(&obj("b", "k", "1"), &star).await.unwrap();
    assert!(matches!(
        m.put_object(&obj("b", "k", "2"), &star).await,
        Err(MetaError::PreconditionFailed)
    ));
    assert!(matches!(
        m.put_object(&obj("b", "k", "2"), &matching("\"9\"")).await,
        Err(MetaError::PreconditionFailed)
    ));
    assert_eq!(m.get_object("b", "k").await.unwrap().unwrap().etag, "\"1\"");
    let out = m
        .put_object(&obj("b", "k", "2"), &matching("\"1\""))
        .await
        .unwrap();
    assert_eq!(out.replaced.unwrap().etag, "\"1\"");
    // Unquoted If-Match values compare equal too.
    m.put_object(&obj("b", "k", "3"), &matching("2"))
        .await
        .unwrap();
    assert_eq!(m.get_object("b", "k").await.unwrap().unwrap().etag, "\"3\"");
}

/// 32 concurrent `If-None-Match: *` writers of one key: exactly one wins.
async fn concurrent_create_one_winner(m: Meta) {
    bucket(&m, "b").await;
    for round in 0..5 {
        let key = format!("contended-{round}");
        let mut tasks = Vec::new();
        for t in 0..32 {
            let (m, key) = (m.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let cond = WriteCondition {
                    if_none_match_star: true,
                    if_match: None,
                };
                match m.put_object(&obj("b", &key, &format!("w{t}")), &cond).await {
                    Ok(out) => {
                        assert_eq!(out.replaced, None);
                        Some(t)
                    }
                    Err(MetaError::PreconditionFailed) => None,
                    Err(e) => panic!("writer {t}: {e}"),
                }
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            if let Some(w) = t.await.unwrap() {
                winners.push(w);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let cur = m.get_object("b", &key).await.unwrap().unwrap();
        assert_eq!(cur.etag, format!("\"w{}\"", winners[0]));
    }
}

/// 32 concurrent unconditional writers of one key: every write lands, and each replaces exactly one
/// predecessor (the replaced records plus the final one are all writes, once each).
async fn concurrent_overwrites_chain(m: Meta) {
    bucket(&m, "b").await;
    let mut tasks = Vec::new();
    for t in 0..32 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            m.put_object(&obj("b", "hot", &format!("w{t}")), &none())
                .await
                .unwrap()
                .replaced
                .map(|r| r.etag)
        }));
    }
    let mut seen = HashSet::new();
    let mut none_count = 0;
    for t in tasks {
        match t.await.unwrap() {
            Some(etag) => assert!(seen.insert(etag), "a version was replaced twice"),
            None => none_count += 1,
        }
    }
    assert_eq!(none_count, 1, "exactly one writer created the key");
    let last = m.get_object("b", "hot").await.unwrap().unwrap().etag;
    assert!(seen.insert(last));
    assert_eq!(seen.len(), 32);
}

async fn blob_references(m: Meta) {
    bucket(&m, "b").await;
    m.put_object(&rich("b", "k"), &none()).await.unwrap();
    assert!(m.blob_referenced("loc-1").await.unwrap());
    assert!(m.blob_referenced("loc-2").await.unwrap());
    assert!(!m.blob_referenced("loc-3").await.unwrap());
    // Replacing drops the old segments' references.
    m.put_object(&obj("b", "k", "x"), &none()).await.unwrap();
    assert!(!m.blob_referenced("loc-1").await.unwrap());
    assert!(m.blob_referenced("blob-b-x").await.unwrap());
    m.delete_object("b", "k").await.unwrap();
    assert!(!m.blob_referenced("blob-b-x").await.unwrap());
}

async fn object_tags(m: Meta) {
    bucket(&m, "b").await;
    let r = rich("b", "k");
    m.put_object(&r, &none()).await.unwrap();
    let tags: Tags = vec![("k2".into(), "v2".into()), ("k1".into(), "v1".into())];
    assert!(m.set_object_tags("b", "k", None, &tags).await.unwrap());
    let got = m.get_object("b", "k").await.unwrap().unwrap();
    // Order kept; nothing else changes (ETag, time, upload id).
    assert_eq!(got.tags, tags);
    assert_eq!(
        (got.etag, got.last_modified_ms),
        (r.etag, r.last_modified_ms)
    );
    assert_eq!(got.upload_id.as_deref(), Some("upload-7"));
    let listed = m.list_objects("b", "", None, None, 10).await.unwrap();
    assert_eq!(listed.objects[0].tags, tags);
    assert!(m.set_object_tags("b", "k", None, &vec![]).await.unwrap());
    assert!(
        m.get_object("b", "k")
            .await
            .unwrap()
            .unwrap()
            .tags
            .is_empty()
    );
    assert!(
        !m.set_object_tags("b", "missing", None, &tags)
            .await
            .unwrap()
    );
    assert!(
        !m.set_object_tags("nobucket", "k", None, &tags)
            .await
            .unwrap()
    );
}

async fn conditional_deletes(m: Meta) {
    bucket(&m, "b").await;
    let r = obj("b", "k", "e1"); // size 3, modified at 1_700_000_000_000
    m.put_object(&r, &none()).await.unwrap();
    let fails = [
        DeleteCondition {
            if_match: Some("\"other\"".into()),
            ..Default::default()
        },
        DeleteCondition {
            size: Some(4),
            ..Default::default()
        },
        DeleteCondition {
            last_modified_ms: Some(1_700_000_001_000),
            ..Default::default()
        },
        DeleteCondition {
            if_match: Some("e1".into()),
            size: Some(2),
            ..Default::default()
        },
    ];
    for c in &fails {
        assert!(
            matches!(
                m.delete_object_if("b", "k", c).await,
                Err(MetaError::PreconditionFailed)
            ),
            "{c:?}"
        );
        assert_eq!(m.get_object("b", "k").await.unwrap(), Some(r.clone()));
    }
    // All given conditions hold (ETag with or without quotes, time to the second, size).
    let ok = DeleteCondition {
        if_match: Some("e1".into()),
        last_modified_ms: Some(1_700_000_000_999),
        size: Some(3),
        ..Default::default()
    };
    assert_eq!(m.delete_object_if("b", "k", &ok).await.unwrap(), Some(r));
    // Nothing to delete: no error whatever the conditions.
    assert_eq!(m.delete_object_if("b", "k", &fails[0]).await.unwrap(), None);
    m.put_object(&obj("b", "k", "e2"), &none()).await.unwrap();
    let star = DeleteCondition {
        if_match: Some("*".into()),
        ..Default::default()
    };
    assert!(m.delete_object_if("b", "k", &star).await.unwrap().is_some());
}

both!(
    conditional_deletes,
    object_tags,
    put_get_delete,
    odd_keys,
    conditional_writes,
    concurrent_create_one_winner,
    concurrent_overwrites_chain,
    blob_references
);

/// Throughput of `put_object` with 1 and 32 concurrent tasks (distinct keys), blob-backed and (32 tasks)
/// with 4 KiB inline data. Run with
/// `cargo test -p gatehouse-meta --test suite -- --ignored --nocapture bench_put`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn bench_put_object_concurrency() {
    let n_per_task = 60;
    let db = crate::common::sqlite().await;
    report("sqlite", &db.meta, n_per_task).await;
    db.finish().await;
    if let Some(db) = crate::common::postgres("bench").await {
        report("postgres", &db.meta, n_per_task).await;
        db.finish().await;
    }
}

async fn report(label: &str, m: &Meta, n_per_task: usize) {
    bucket(m, "bench").await;
    for (tasks, inline) in [(1usize, false), (32, false), (32, true)] {
        let start = std::time::Instant::now();
        let mut hs = Vec::new();
        for t in 0..tasks {
            let m = m.clone();
            hs.push(tokio::spawn(async move {
                for i in 0..n_per_task {
                    let mut rec = obj("bench", &format!("t{tasks}{inline}/{t}/{i}"), "e");
                    if inline {
                        rec.segments.clear();
                        rec.inline_data = Some(vec![b'x'; 4096]);
                    }
                    m.put_object(&rec, &none()).await.unwrap();
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        let n = tasks * n_per_task;
        let secs = start.elapsed().as_secs_f64();
        let kind = if inline {
            "4 KiB inline"
        } else {
            "blob-backed"
        };
        eprintln!(
            "{label}: {tasks:>2} tasks: {n} put_object ({kind}) in {secs:.2}s = {:.0}/s",
            n as f64 / secs
        );
    }
}

/// `sqlite::memory:` works (one connection serves readers and the writer).
#[tokio::test]
async fn sqlite_in_memory() {
    let m = Meta::open("sqlite::memory:").await.unwrap();
    bucket(&m, "b").await;
    m.put_object(&obj("b", "k", "e"), &none()).await.unwrap();
    assert_eq!(m.get_object("b", "k").await.unwrap().unwrap().etag, "\"e\"");
    assert_eq!(
        m.list_objects("b", "", None, None, 10)
            .await
            .unwrap()
            .objects
            .len(),
        1
    );
}

/// Reopening a SQLite file keeps its data (migrations are idempotent) and `open` takes a URL too.
#[tokio::test]
async fn sqlite_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a dir%x?").join("meta.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let m = Meta::open_sqlite(&path).await.unwrap();
        bucket(&m, "b").await;
        m.put_object(&obj("b", "k", "e"), &none()).await.unwrap();
    }
    let m = Meta::open_sqlite(&path).await.unwrap();
    assert!(m.get_object("b", "k").await.unwrap().is_some());
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("other.db").display()
    );
    let m2 = Meta::open(&url).await.unwrap();
    assert_eq!(m2.dialect(), "sqlite");
    assert!(m2.get_bucket("b").await.unwrap().is_none());
    assert!(Meta::open("mysql://x").await.is_err());
}
