//! Object Lock enforced in the index: locked versions survive deletes, overwrites of the "null" version and
//! bucket deletion; retention changes follow the COMPLIANCE / GOVERNANCE rules; a legal hold blocks deletes
//! until released. Each refusal is followed by a look at what is stored.

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

/// An hour from now.
fn later() -> i64 {
    gatehouse_core::now_ms() + 3_600_000
}

fn locked(key: &str, id: &str, mode: &str, until: i64) -> ObjectRecord {
    let mut r = obj("l", key, id);
    r.version_id = id.into();
    r.segments[0].locator = format!("blob-{key}-{id}");
    r.lock = ObjectLock {
        mode: Some(mode.into()),
        retain_until_ms: Some(until),
        legal_hold: None,
    };
    r
}

fn bypass() -> DeleteCondition {
    DeleteCondition {
        bypass_governance: true,
        ..Default::default()
    }
}

async fn stored(m: &Meta, key: &str, id: &str) -> Option<ObjectRecord> {
    m.get_version("l", key, id).await.unwrap()
}

async fn lock_round_trips(m: Meta) {
    bucket(&m, "l").await;
    let mut r = locked("k", "v1", COMPLIANCE, 4_102_444_800_000);
    r.lock.legal_hold = Some(true);
    m.put_object(&r, &none()).await.unwrap();
    assert_eq!(stored(&m, "k", "v1").await.unwrap().lock, r.lock);
    assert_eq!(m.get_object("l", "k").await.unwrap().unwrap().lock, r.lock);
    let page = m
        .list_versions("l", "", None, None, None, 10)
        .await
        .unwrap();
    assert_eq!(page.versions[0].0.lock, r.lock);
    // An unlocked version reads back as unlocked (NULL columns).
    m.put_object(&locked("k2", "v1", GOVERNANCE, 0), &none())
        .await
        .unwrap();
    let mut plain = obj("l", "k3", "p");
    plain.version_id = "v1".into();
    m.put_object(&plain, &none()).await.unwrap();
    assert_eq!(
        stored(&m, "k3", "v1").await.unwrap().lock,
        ObjectLock::default()
    );
}

async fn compliance_version_cannot_be_deleted(m: Meta) {
    bucket(&m, "l").await;
    let r = locked("k", "v1", COMPLIANCE, later());
    m.put_object(&r, &none()).await.unwrap();
    for cond in [DeleteCondition::default(), bypass()] {
        assert!(matches!(
            m.delete_version_if("l", "k", "v1", &cond).await,
            Err(MetaError::ObjectLocked)
        ));
        assert_eq!(stored(&m, "k", "v1").await.unwrap(), r);
    }
    // A delete marker on top is allowed (the version stays).
    let mut dm = obj("l", "k", "");
    dm.version_id = "dm".into();
    dm.delete_marker = true;
    dm.segments.clear();
    m.put_delete_marker(&dm, &DeleteCondition::default())
        .await
        .unwrap();
    assert_eq!(stored(&m, "k", "v1").await.unwrap(), r);
    // Nor the bucket.
    m.delete_version("l", "k", "dm").await.unwrap();
    assert!(matches!(
        m.delete_bucket("l").await,
        Err(MetaError::BucketNotEmpty)
    ));
    assert_eq!(stored(&m, "k", "v1").await.unwrap(), r);
}

async fn expired_retention_allows_delete(m: Meta) {
    bucket(&m, "l").await;
    let r = locked("k", "v1", COMPLIANCE, gatehouse_core::now_ms() - 1);
    m.put_object(&r, &none()).await.unwrap();
    assert_eq!(m.delete_version("l", "k", "v1").await.unwrap(), Some(r));
}

async fn governance_needs_the_bypass(m: Meta) {
    bucket(&m, "l").await;
    let r = locked("k", "v1", GOVERNANCE, later());
    m.put_object(&r, &none()).await.unwrap();
    assert!(matches!(
        m.delete_version("l", "k", "v1").await,
        Err(MetaError::ObjectLocked)
    ));
    assert_eq!(stored(&m, "k", "v1").await.unwrap(), r);
    assert_eq!(
        m.delete_version_if("l", "k", "v1", &bypass())
            .await
            .unwrap(),
        Some(r)
    );
    assert_eq!(stored(&m, "k", "v1").await, None);
}

async fn legal_hold_blocks_until_released(m: Meta) {
    bucket(&m, "l").await;
    let mut r = obj("l", "k", "e");
    r.version_id = "v1".into();
    m.put_object(&r, &none()).await.unwrap();
    assert!(m.put_object_legal_hold("l", "k", "v1", true).await.unwrap());
    assert!(
        !m.put_object_legal_hold("l", "k", "nope", true)
            .await
            .unwrap()
    );
    for cond in [DeleteCondition::default(), bypass()] {
        assert!(matches!(
            m.delete_version_if("l", "k", "v1", &cond).await,
            Err(MetaError::ObjectLocked)
        ));
        assert_eq!(
            stored(&m, "k", "v1").await.unwrap().lock.legal_hold,
            Some(true)
        );
    }
    assert!(
        m.put_object_legal_hold("l", "k", "v1", false)
            .await
            .unwrap()
    );
    assert_eq!(
        stored(&m, "k", "v1").await.unwrap().lock.legal_hold,
        Some(false)
    );
    assert!(m.delete_version("l", "k", "v1").await.unwrap().is_some());
}

async fn locked_null_version_is_not_replaced_or_deleted(m: Meta) {
    bucket(&m, "l").await;
    let mut r = obj("l", "k", "e1");
    r.lock.legal_hold = Some(true);
    m.put_object(&r, &none()).await.unwrap();
    assert!(matches!(
        m.put_object(&obj("l", "k", "e2"), &none()).await,
        Err(MetaError::ObjectLocked)
    ));
    assert!(matches!(
        m.delete_object("l", "k").await,
        Err(MetaError::ObjectLocked)
    ));
    assert_eq!(m.get_version("l", "k", "null").await.unwrap(), Some(r));
}

async fn retention_changes(m: Meta) {
    bucket(&m, "l").await;
    let until = later();
    m.put_object(&locked("c", "v1", COMPLIANCE, until), &none())
        .await
        .unwrap();
    m.put_object(&locked("g", "v1", GOVERNANCE, until), &none())
        .await
        .unwrap();
    let mode_until = |r: Option<ObjectRecord>| {
        let l = r.unwrap().lock;
        (l.mode, l.retain_until_ms)
    };
    // COMPLIANCE: shortening, removing or switching to GOVERNANCE is refused, bypass or not.
    for (mode, t) in [
        (Some(COMPLIANCE), Some(until - 1000)),
        (None, None),
        (Some(GOVERNANCE), Some(until + 1000)),
    ] {
        for b in [false, true] {
            assert!(matches!(
                m.put_object_retention("l", "c", "v1", mode, t, b).await,
                Err(MetaError::ObjectLocked)
            ));
            assert_eq!(
                mode_until(stored(&m, "c", "v1").await),
                (Some(COMPLIANCE.into()), Some(until))
            );
        }
    }
    // Extending is allowed.
    assert!(
        m.put_object_retention("l", "c", "v1", Some(COMPLIANCE), Some(until + 5000), false)
            .await
            .unwrap()
    );
    assert_eq!(
        mode_until(stored(&m, "c", "v1").await),
        (Some(COMPLIANCE.into()), Some(until + 5000))
    );
    // GOVERNANCE: removal and shortening need the bypass.
    assert!(matches!(
        m.put_object_retention("l", "g", "v1", None, None, false)
            .await,
        Err(MetaError::ObjectLocked)
    ));
    assert!(matches!(
        m.put_object_retention("l", "g", "v1", Some(GOVERNANCE), Some(until - 1), false)
            .await,
        Err(MetaError::ObjectLocked)
    ));
    assert_eq!(
        mode_until(stored(&m, "g", "v1").await),
        (Some(GOVERNANCE.into()), Some(until))
    );
    assert!(
        m.put_object_retention("l", "g", "v1", None, None, true)
            .await
            .unwrap()
    );
    assert_eq!(mode_until(stored(&m, "g", "v1").await), (None, None));
    // No such version.
    assert!(
        !m.put_object_retention("l", "g", "v9", Some(GOVERNANCE), Some(until), false)
            .await
            .unwrap()
    );
}

async fn upload_keeps_its_lock(m: Meta) {
    bucket(&m, "l").await;
    let lock = ObjectLock {
        mode: Some(GOVERNANCE.into()),
        retain_until_ms: Some(later()),
        legal_hold: Some(true),
    };
    let up = Upload {
        upload_id: "u1".into(),
        bucket: "l".into(),
        key: "k".into(),
        initiated_ms: 1,
        headers: ContentHeaders::default(),
        user_meta: Default::default(),
        checksum_algorithm: None,
        checksum_type: None,
        storage_class: "STANDARD".into(),
        owner_canonical_id: CANON.into(),
        tags: vec![],
        lock: lock.clone(),
        sse: None,
    };
    m.create_upload(&up).await.unwrap();
    assert_eq!(
        m.get_upload("l", "k", "u1").await.unwrap().unwrap().lock,
        lock
    );
}

both!(
    lock_round_trips,
    compliance_version_cannot_be_deleted,
    expired_retention_allows_delete,
    governance_needs_the_bypass,
    legal_hold_blocks_until_released,
    locked_null_version_is_not_replaced_or_deleted,
    retention_changes,
    upload_keeps_its_lock,
);

/// Lifecycle leases (here for want of a lifecycle suite): one holder at a time, renewable by its holder,
/// taken over (with the cursor) once expired, gone with the bucket.
async fn lifecycle_leases(m: Meta) {
    bucket(&m, "l").await;
    assert_eq!(
        m.take_lifecycle_lease("l", "a", 1_000, 2_000)
            .await
            .unwrap(),
        Some(None)
    );
    assert_eq!(
        m.take_lifecycle_lease("l", "b", 1_500, 2_500)
            .await
            .unwrap(),
        None
    );
    assert!(m.set_lifecycle_cursor("l", "a", Some("k/7")).await.unwrap());
    assert!(!m.set_lifecycle_cursor("l", "b", Some("x")).await.unwrap());
    // The holder renews it.
    assert_eq!(
        m.take_lifecycle_lease("l", "a", 1_900, 3_000)
            .await
            .unwrap(),
        Some(Some("k/7".to_owned()))
    );
    assert_eq!(
        m.take_lifecycle_lease("l", "b", 2_500, 3_500)
            .await
            .unwrap(),
        None
    );
    // Expired: another takes it over where the first stopped.
    assert_eq!(
        m.take_lifecycle_lease("l", "b", 3_000, 4_000)
            .await
            .unwrap(),
        Some(Some("k/7".to_owned()))
    );
    assert!(!m.set_lifecycle_cursor("l", "a", None).await.unwrap());
    assert_eq!(
        m.take_lifecycle_lease("nope", "a", 0, 1).await.unwrap(),
        None
    );
    m.put_bucket_setting("l", "lifecycle", "{}").await.unwrap();
    assert_eq!(
        m.buckets_with_setting("lifecycle").await.unwrap(),
        vec![("l".to_owned(), "{}".to_owned())]
    );
    m.delete_bucket("l").await.unwrap();
    assert!(
        m.buckets_with_setting("lifecycle")
            .await
            .unwrap()
            .is_empty()
    );
}

both!(lifecycle_leases);
