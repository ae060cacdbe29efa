//! Storage-class transitions and restores in the index.

use gatehouse_meta::{Meta, RestoreOutcome, Segment};

use crate::both;
use crate::common::*;

fn seg(locator: &str) -> Segment {
    Segment {
        locator: locator.into(),
        size: 3,
        etag: None,
        checksums: None,
    }
}

/// A transition switches class and blobs (and the blob references the sweep reads) only while the version is
/// the one listed; a write in between makes it a no-op, so the new blobs are the caller's to free.
async fn transitions(m: Meta) {
    bucket(&m, "t").await;
    let listed = obj("t", "k", "e1");
    m.put_object(&listed, &none()).await.unwrap();
    let old = listed.segments[0].locator.clone();
    assert!(
        m.transition_version(&listed, "COLD", &[seg("COLD:new")])
            .await
            .unwrap()
    );
    let now = m.get_object("t", "k").await.unwrap().unwrap();
    assert_eq!(now.storage_class, "COLD");
    assert_eq!(now.segments, vec![seg("COLD:new")]);
    assert!(m.blob_referenced("COLD:new").await.unwrap());
    assert!(!m.blob_referenced(&old).await.unwrap());
    // The listing is stale now (class and blobs changed): a second transition from it does nothing.
    assert!(
        !m.transition_version(&listed, "FROZEN", &[seg("FROZEN:x")])
            .await
            .unwrap()
    );
    assert!(!m.blob_referenced("FROZEN:x").await.unwrap());
    // A new write of the key after the listing: nothing changes.
    let listed = m.get_object("t", "k").await.unwrap().unwrap();
    let mut newer = obj("t", "k", "e2");
    newer.last_modified_ms += 1;
    m.put_object(&newer, &none()).await.unwrap();
    assert!(
        !m.transition_version(&listed, "FROZEN", &[seg("FROZEN:y")])
            .await
            .unwrap()
    );
    let now = m.get_object("t", "k").await.unwrap().unwrap();
    assert_eq!(
        (now.storage_class.as_str(), now.etag.as_str()),
        ("STANDARD", "\"e2\"")
    );
    // A version that is gone.
    assert!(
        !m.transition_version(&obj("t", "gone", "e"), "COLD", &[seg("COLD:z")])
            .await
            .unwrap()
    );
}

/// RestoreObject's states: started, in progress until ready, extended while restored, started again once the
/// restored copy expired; gone with its version.
async fn restores(m: Meta) {
    bucket(&m, "r").await;
    m.put_object(&obj("r", "k", "e"), &none()).await.unwrap();
    let exp = |t: i64| t + 100;
    let req = |now: i64, ready: i64| {
        let m = m.clone();
        async move {
            m.request_restore("r", "k", "null", now, ready, &exp)
                .await
                .unwrap()
        }
    };
    assert_eq!(m.get_restore("r", "k", "null").await.unwrap(), None);
    assert_eq!(req(1_000, 1_050).await, RestoreOutcome::Started);
    assert_eq!(
        m.get_restore("r", "k", "null").await.unwrap(),
        Some((1_050, 1_150))
    );
    assert_eq!(req(1_010, 1_060).await, RestoreOutcome::InProgress);
    assert_eq!(req(1_100, 1_150).await, RestoreOutcome::Extended);
    assert_eq!(
        m.get_restore("r", "k", "null").await.unwrap(),
        Some((1_050, 1_200))
    );
    assert_eq!(req(1_300, 1_300).await, RestoreOutcome::Started);
    assert_eq!(
        m.get_restore("r", "k", "null").await.unwrap(),
        Some((1_300, 1_400))
    );
    assert_eq!(
        m.request_restore("r", "nope", "null", 1, 1, &exp)
            .await
            .unwrap(),
        RestoreOutcome::Missing
    );
    m.delete_object("r", "k").await.unwrap();
    assert_eq!(m.get_restore("r", "k", "null").await.unwrap(), None);
}

both!(transitions, restores);
