//! The bucket registry and bucket deletion against concurrent writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

fn b(name: &str, owner: &str) -> Bucket {
    Bucket {
        name: name.into(),
        owner_account_id: owner.into(),
        region: "us-east-1".into(),
        created_ms: 5,
    }
}

async fn buckets_crud(m: Meta) {
    for (n, o) in [("zz", "A"), ("aa", "A"), ("mm", "B"), ("ab", "A")] {
        m.create_bucket(&b(n, o)).await.unwrap();
    }
    assert_eq!(m.get_bucket("mm").await.unwrap(), Some(b("mm", "B")));
    assert_eq!(m.get_bucket("nope").await.unwrap(), None);
    let names: Vec<_> = m
        .list_buckets("A")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["aa", "ab", "zz"]);
    assert!(m.list_buckets("C").await.unwrap().is_empty());
    match m.create_bucket(&b("mm", "A")).await {
        Err(MetaError::BucketExists { owner_account_id }) => assert_eq!(owner_account_id, "B"),
        other => panic!("{other:?}"),
    }
    match m.create_bucket(&b("mm", "B")).await {
        Err(MetaError::BucketExists { owner_account_id }) => assert_eq!(owner_account_id, "B"),
        other => panic!("{other:?}"),
    }
    m.delete_bucket("mm").await.unwrap();
    assert!(matches!(
        m.delete_bucket("mm").await,
        Err(MetaError::NoSuchBucket)
    ));
    assert_eq!(m.get_bucket("mm").await.unwrap(), None);
    // The name is free again.
    m.create_bucket(&b("mm", "A")).await.unwrap();
}

async fn delete_bucket_not_empty(m: Meta) {
    bucket(&m, "full").await;
    m.put_object(&obj("full", "k", "e"), &none()).await.unwrap();
    assert!(matches!(
        m.delete_bucket("full").await,
        Err(MetaError::BucketNotEmpty)
    ));
    m.delete_object("full", "k").await.unwrap();
    let up = Upload {
        upload_id: "u1".into(),
        bucket: "full".into(),
        key: "k".into(),
        initiated_ms: 1,
        headers: ContentHeaders::default(),
        user_meta: Default::default(),
        checksum_algorithm: None,
        checksum_type: None,
        storage_class: "STANDARD".into(),
        owner_canonical_id: CANON.into(),
        tags: vec![],
        lock: ObjectLock::default(),
        sse: None,
    };
    m.create_upload(&up).await.unwrap();
    assert!(matches!(
        m.delete_bucket("full").await,
        Err(MetaError::BucketNotEmpty)
    ));
    m.abort_upload("full", "k", "u1").await.unwrap();
    m.delete_bucket("full").await.unwrap();
    // Writes into the deleted bucket fail.
    assert!(matches!(
        m.put_object(&obj("full", "k", "e"), &none()).await,
        Err(MetaError::NoSuchBucket)
    ));
    assert!(matches!(
        m.create_upload(&up).await,
        Err(MetaError::NoSuchBucket)
    ));
    assert!(matches!(
        m.put_object(&obj("never", "k", "e"), &none()).await,
        Err(MetaError::NoSuchBucket)
    ));
}

/// Many writers race one deleter: a successful delete must never leave acknowledged objects behind.
async fn delete_bucket_races_puts(m: Meta) {
    for round in 0..4 {
        let name = format!("race{round}");
        bucket(&m, &name).await;
        let ok = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for t in 0..16 {
            let (m, name, ok) = (m.clone(), name.clone(), ok.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..4 {
                    match m
                        .put_object(&obj(&name, &format!("k{t}-{i}"), "e"), &none())
                        .await
                    {
                        Ok(_) => {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(MetaError::NoSuchBucket) => {}
                        Err(e) => panic!("put: {e}"),
                    }
                }
            }));
        }
        let deleter = {
            let (m, name) = (m.clone(), name.clone());
            tokio::spawn(async move {
                // Interleave with the writers' first transactions (round 0 tends to win, later ones lose).
                for _ in 0..round * 3 {
                    tokio::task::yield_now().await;
                }
                match m.delete_bucket(&name).await {
                    Ok(()) => true,
                    Err(MetaError::BucketNotEmpty) => false,
                    Err(e) => panic!("delete: {e}"),
                }
            })
        };
        for t in tasks {
            t.await.unwrap();
        }
        let deleted = deleter.await.unwrap();
        let acked = ok.load(Ordering::SeqCst);
        let exists = m.get_bucket(&name).await.unwrap().is_some();
        assert_eq!(exists, !deleted);
        if deleted {
            assert_eq!(acked, 0, "bucket deleted yet {acked} puts acknowledged");
        } else {
            let page = m.list_objects(&name, "", None, None, 1000).await.unwrap();
            assert_eq!(page.objects.len(), acked);
        }
    }
}

async fn bucket_settings(m: Meta) {
    m.create_bucket(&b("s1", "A")).await.unwrap();
    m.create_bucket(&b("s2", "A")).await.unwrap();
    assert_eq!(m.get_bucket_setting("s1", "tagging").await.unwrap(), None);
    m.put_bucket_setting("s1", "tagging", "[1]").await.unwrap();
    m.put_bucket_setting("s1", "cors", "c").await.unwrap();
    m.put_bucket_setting("s1", "tagging", "[2]").await.unwrap();
    assert_eq!(
        m.get_bucket_setting("s1", "tagging")
            .await
            .unwrap()
            .as_deref(),
        Some("[2]")
    );
    assert_eq!(m.get_bucket_setting("s2", "tagging").await.unwrap(), None);
    assert!(m.delete_bucket_setting("s1", "tagging").await.unwrap());
    assert!(!m.delete_bucket_setting("s1", "tagging").await.unwrap());
    assert_eq!(m.get_bucket_setting("s1", "tagging").await.unwrap(), None);
    assert!(matches!(
        m.put_bucket_setting("gone", "tagging", "x").await,
        Err(MetaError::NoSuchBucket)
    ));
    let (bk, v) = m
        .get_bucket_with_setting("s1", "cors")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((bk, v.as_deref()), (b("s1", "A"), Some("c")));
    let (_, none) = m
        .get_bucket_with_setting("s2", "cors")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(none, None);
    assert_eq!(
        m.get_bucket_with_setting("gone", "cors").await.unwrap(),
        None
    );
    // Settings go with their bucket: a new bucket of the same name starts clean.
    m.delete_bucket("s1").await.unwrap();
    m.create_bucket(&b("s1", "B")).await.unwrap();
    assert_eq!(m.get_bucket_setting("s1", "cors").await.unwrap(), None);
}

both!(
    bucket_settings,
    buckets_crud,
    delete_bucket_not_empty,
    delete_bucket_races_puts
);

/// With the bucket cache on (the server's SQLite database), every change of a bucket or of its settings is seen
/// by the next read: creation, deletion, re-creation by another owner, setting and removing a setting, and a
/// change whose caller stopped waiting before it was done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bucket_cache_follows_changes() {
    let db = sqlite().await;
    let mut m = db.meta.clone();
    m.cache_bucket_reads();
    let read = |m: &Meta| {
        let m = m.clone();
        async move { m.get_bucket_with_setting("c1", "versioning").await.unwrap() }
    };
    assert_eq!(read(&m).await, None);
    m.create_bucket(&b("c1", "A")).await.unwrap();
    assert_eq!(read(&m).await, Some((b("c1", "A"), None)));
    assert_eq!(read(&m).await, Some((b("c1", "A"), None)));
    m.put_bucket_setting("c1", "versioning", "Enabled")
        .await
        .unwrap();
    assert_eq!(read(&m).await, Some((b("c1", "A"), Some("Enabled".into()))));
    assert!(m.delete_bucket_setting("c1", "versioning").await.unwrap());
    assert_eq!(read(&m).await, Some((b("c1", "A"), None)));
    m.delete_bucket("c1").await.unwrap();
    assert_eq!(read(&m).await, None);
    m.create_bucket(&b("c1", "B")).await.unwrap();
    assert_eq!(read(&m).await, Some((b("c1", "B"), None)));
    // A failed change (the bucket exists) leaves the truth readable too.
    assert!(m.create_bucket(&b("c1", "A")).await.is_err());
    assert_eq!(read(&m).await, Some((b("c1", "B"), None)));

    // The caller of a change gives up at once (a client that hung up); the change still happens, and once it
    // has, reads see it (a cache emptied only by the caller would keep the old state for good).
    for round in 0..20 {
        let want = format!("Suspended-{round}");
        let _ = tokio::time::timeout(
            std::time::Duration::ZERO,
            m.put_bucket_setting("c1", "versioning", &want),
        )
        .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let got = read(&m).await.unwrap().1;
            if got.as_deref() == Some(want.as_str()) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: a committed change never reached the cache's readers (still {got:?})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
    db.finish().await;
}
