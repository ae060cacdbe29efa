//! Small objects stored inline in the index row: round trips, replaced records, listings.

use gatehouse_meta::*;

use crate::common::*;
use crate::{both, both_db};

/// An object whose bytes live in the index row.
fn inline_obj(bucket: &str, key: &str, etag: &str, data: &[u8]) -> ObjectRecord {
    let mut r = obj(bucket, key, etag);
    r.segments.clear();
    r.size = data.len() as i64;
    r.inline_data = Some(data.to_vec());
    r
}

/// Every byte value, NULs included, over 4 KiB.
fn bytes_4k() -> Vec<u8> {
    (0..4096u32).map(|i| (i * 7 % 256) as u8).collect()
}

/// `r` as records other than `get_object` return it (no inline bytes).
fn without_data(mut r: ObjectRecord) -> ObjectRecord {
    r.inline_data = None;
    r
}

async fn inline_round_trip(m: Meta) {
    bucket(&m, "b").await;
    let data = bytes_4k();
    let r = inline_obj("b", "small", "i1", &data);
    assert_eq!(m.put_object(&r, &none()).await.unwrap().replaced, None);
    let got = m.get_object("b", "small").await.unwrap().unwrap();
    assert_eq!(got, r);
    assert!(got.segments.is_empty());
    // An empty object is inline data of length 0, not "no inline data".
    let empty = inline_obj("b", "empty", "e0", &[]);
    m.put_object(&empty, &none()).await.unwrap();
    assert_eq!(
        m.get_object("b", "empty")
            .await
            .unwrap()
            .unwrap()
            .inline_data,
        Some(Vec::new())
    );
    // Conditions see inline objects like any other.
    let cond = WriteCondition {
        if_none_match_star: false,
        if_match: Some("\"i1\"".into()),
    };
    let r2 = inline_obj("b", "small", "i2", b"second");
    let out = m.put_object(&r2, &cond).await.unwrap();
    // The replaced record comes without its bytes (callers only delete blobs).
    assert_eq!(out.replaced, Some(without_data(r.clone())));
    assert_eq!(m.get_object("b", "small").await.unwrap(), Some(r2.clone()));
    // Inline -> blob-backed: the new segment is referenced, no inline bytes remain.
    let big = obj("b", "small", "big");
    let out = m.put_object(&big, &none()).await.unwrap();
    assert_eq!(out.replaced, Some(without_data(r2)));
    assert_eq!(m.get_object("b", "small").await.unwrap(), Some(big.clone()));
    assert!(m.blob_referenced("blob-b-big").await.unwrap());
    // Blob-backed -> inline: the old blob is no longer referenced.
    let r3 = inline_obj("b", "small", "i3", &data[..100]);
    assert_eq!(
        m.put_object(&r3, &none()).await.unwrap().replaced,
        Some(big)
    );
    assert!(!m.blob_referenced("blob-b-big").await.unwrap());
    assert_eq!(m.get_object("b", "small").await.unwrap(), Some(r3.clone()));
    // Delete returns the record without its bytes.
    assert_eq!(
        m.delete_object("b", "small").await.unwrap(),
        Some(without_data(r3))
    );
    assert_eq!(m.get_object("b", "small").await.unwrap(), None);
}

/// Listings return inline objects without their bytes.
async fn listing_omits_inline_data(m: Meta) {
    bucket(&m, "b").await;
    let data = bytes_4k();
    let mut want = Vec::new();
    for i in 0..5 {
        let r = inline_obj("b", &format!("k{i}"), &format!("e{i}"), &data);
        m.put_object(&r, &none()).await.unwrap();
        want.push(without_data(r));
    }
    let plain = obj("b", "k9", "plain");
    m.put_object(&plain, &none()).await.unwrap();
    want.push(plain);
    let page = m.list_objects("b", "", None, None, 100).await.unwrap();
    assert_eq!(page.objects, want);
    let page = m
        .list_objects("b", "k", Some("/"), Some("k1"), 2)
        .await
        .unwrap();
    assert_eq!(page.objects, want[2..4].to_vec());
    assert!(page.is_truncated);
}

/// Listings do not even name the data column: with the column dropped behind `Meta`'s back, listing
/// still works while `get_object` (which reads it) fails.
async fn listing_does_not_read_data_column(db: &TestDb) {
    let m = &db.meta;
    bucket(m, "b").await;
    let data = bytes_4k();
    for i in 0..3 {
        m.put_object(&inline_obj("b", &format!("k{i}"), "e", &data), &none())
            .await
            .unwrap();
    }
    let raw = raw_pool(db).await;
    sqlx::query("ALTER TABLE objects DROP COLUMN inline_data")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let page = m.list_objects("b", "", None, None, 10).await.unwrap();
    assert_eq!(page.objects.len(), 3);
    assert!(page.objects.iter().all(|o| o.inline_data.is_none()));
    assert!(m.get_object("b", "k0").await.is_err());
}

both!(inline_round_trip, listing_omits_inline_data);
both_db!(listing_does_not_read_data_column);
