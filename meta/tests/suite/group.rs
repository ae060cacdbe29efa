//! Group commit: many concurrent writes share transactions, yet each gets exactly its own result, failed
//! writes leave no trace, and acknowledged writes are durable. The semantic tests run on both dialects;
//! on Postgres also two gateways (two `Meta`s on one database) batching writes of the same keys.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

fn upload(id: &str, key: &str) -> Upload {
    Upload {
        upload_id: id.into(),
        bucket: "g".into(),
        key: key.into(),
        initiated_ms: 5,
        headers: ContentHeaders::default(),
        user_meta: Default::default(),
        checksum_algorithm: None,
        checksum_type: None,
        storage_class: "STANDARD".into(),
        owner_canonical_id: CANON.into(),
        tags: vec![],
        lock: ObjectLock::default(),
        sse: None,
    }
}

fn part(upload_id: &str, n: i32) -> Part {
    Part {
        upload_id: upload_id.into(),
        part_number: n,
        size: 5,
        etag: format!("\"p{n}\""),
        last_modified_ms: 7,
        checksums: Checksums::default(),
        locator: format!("part-{upload_id}-{n}"),
    }
}

fn if_match(etag: &str) -> WriteCondition {
    WriteCondition {
        if_none_match_star: false,
        if_match: Some(format!("\"{etag}\"")),
    }
}

fn if_none_match() -> WriteCondition {
    WriteCondition {
        if_none_match_star: true,
        if_match: None,
    }
}

/// A check of one operation's result: `Err(description)` on a mismatch.
type Check = Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send>>;

/// What one operation must return.
fn expect<T: std::fmt::Debug>(
    what: String,
    got: Result<T>,
    ok: impl FnOnce(&T) -> bool,
    err: Option<fn(&MetaError) -> bool>,
) -> std::result::Result<(), String> {
    let fine = match (&got, err) {
        (Ok(v), None) => ok(v),
        (Err(e), Some(is)) => is(e),
        _ => false,
    };
    if fine {
        Ok(())
    } else {
        Err(format!("{what}: unexpected {got:?}"))
    }
}

/// Sets up round `r` and returns its operations (each checking its own result) plus a state check.
async fn round_ops(m: &Meta, r: usize, n: usize) -> Vec<Check> {
    let mut ops: Vec<Check> = Vec::new();
    for i in 0..n {
        let p = format!("r{r}/{i}");
        for k in ["a", "b", "c", "f", "chain"] {
            m.put_object(
                &obj("g", &format!("{p}/{k}"), &format!("old-{p}-{k}")),
                &none(),
            )
            .await
            .unwrap();
        }
        m.put_object(
            &obj("g", &format!("{p}/exists"), &format!("x-{p}")),
            &none(),
        )
        .await
        .unwrap();
        for u in ["dup", "part", "comp", "compc", "ab", "abq"] {
            m.create_upload(&upload(&format!("{p}-{u}"), &format!("{p}/up-{u}")))
                .await
                .unwrap();
        }
        for u in ["comp", "compc", "ab"] {
            for pn in 1..=2 {
                m.put_part(&part(&format!("{p}-{u}"), pn)).await.unwrap();
            }
        }
        let mm = m.clone();
        let pp = p.clone();
        // A: If-Match with the right ETag succeeds and replaces the old version.
        ops.push(Box::pin(async move {
            let old = format!("\"old-{pp}-a\"");
            let got = mm
                .put_object(
                    &obj("g", &format!("{pp}/a"), &format!("new-{pp}-a")),
                    &if_match(&format!("old-{pp}-a")),
                )
                .await;
            expect(
                format!("{pp} A"),
                got,
                |o| o.replaced.as_ref().map(|r| &r.etag) == Some(&old),
                None,
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // B: If-Match with a wrong ETag fails.
        ops.push(Box::pin(async move {
            let got = mm
                .put_object(
                    &obj("g", &format!("{pp}/b"), &format!("bad-{pp}-b")),
                    &if_match("nope"),
                )
                .await;
            expect(
                format!("{pp} B"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::PreconditionFailed)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // C: If-None-Match on an existing key fails.
        ops.push(Box::pin(async move {
            let got = mm
                .put_object(
                    &obj("g", &format!("{pp}/c"), &format!("bad-{pp}-c")),
                    &if_none_match(),
                )
                .await;
            expect(
                format!("{pp} C"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::PreconditionFailed)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // D: If-None-Match on a fresh key succeeds (inline data, to mix kinds).
        ops.push(Box::pin(async move {
            let mut rec = obj("g", &format!("{pp}/d"), &format!("new-{pp}-d"));
            rec.segments.clear();
            rec.inline_data = Some(b"abc".to_vec());
            let got = mm.put_object(&rec, &if_none_match()).await;
            expect(format!("{pp} D"), got, |o| o.replaced.is_none(), None)
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // E: a write into a missing bucket fails.
        ops.push(Box::pin(async move {
            let got = mm
                .put_object(
                    &obj("nobucket", &format!("{pp}/e"), &format!("bad-{pp}-e")),
                    &none(),
                )
                .await;
            expect(
                format!("{pp} E"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::NoSuchBucket)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // F: deleting an existing key returns it; G: deleting an absent key returns nothing.
        ops.push(Box::pin(async move {
            let got = mm.delete_object("g", &format!("{pp}/f")).await;
            let old = format!("\"old-{pp}-f\"");
            expect(
                format!("{pp} F"),
                got,
                |o| o.as_ref().map(|r| &r.etag) == Some(&old),
                None,
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        ops.push(Box::pin(async move {
            let got = mm.delete_object("g", &format!("{pp}/absent")).await;
            expect(format!("{pp} G"), got, |o| o.is_none(), None)
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // H: a duplicate upload id; I: a new upload; J: an upload in a missing bucket.
        ops.push(Box::pin(async move {
            let got = mm.create_upload(&upload(&format!("{pp}-dup"), "k")).await;
            expect(
                format!("{pp} H"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::AlreadyExists(_))),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        ops.push(Box::pin(async move {
            let got = mm
                .create_upload(&upload(&format!("{pp}-new"), &format!("{pp}/up-new")))
                .await;
            expect(format!("{pp} I"), got, |_| true, None)
        }));
        let (mm, pp) = (m.clone(), p.clone());
        ops.push(Box::pin(async move {
            let mut up = upload(&format!("{pp}-nob"), "k");
            up.bucket = "nobucket".into();
            let got = mm.create_upload(&up).await;
            expect(
                format!("{pp} J"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::NoSuchBucket)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // K: a part of a live upload; L: a part of a missing upload.
        ops.push(Box::pin(async move {
            let got = mm.put_part(&part(&format!("{pp}-part"), 1)).await;
            expect(format!("{pp} K"), got, |o| o.is_none(), None)
        }));
        let (mm, pp) = (m.clone(), p.clone());
        ops.push(Box::pin(async move {
            let got = mm.put_part(&part(&format!("{pp}-missing"), 1)).await;
            expect(
                format!("{pp} L"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::NoSuchUpload)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // M: completing with part 1 only reports part 2 unused.
        ops.push(Box::pin(async move {
            let id = format!("{pp}-comp");
            let mut rec = obj("g", &format!("{pp}/up-comp"), &format!("mp-{pp}"));
            rec.segments[0].locator = part(&id, 1).locator;
            let got = mm.complete_upload(&id, &rec, &none()).await;
            let unused = vec![part(&id, 2)];
            expect(
                format!("{pp} M"),
                got,
                |(o, u)| o.replaced.is_none() && *u == unused,
                None,
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // N: completing a missing upload.
        ops.push(Box::pin(async move {
            let rec = obj("g", &format!("{pp}/up-none"), &format!("bad-{pp}-n"));
            let got = mm
                .complete_upload(&format!("{pp}-none"), &rec, &none())
                .await;
            expect(
                format!("{pp} N"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::NoSuchUpload)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // O: a completion whose condition fails after the upload was taken: rolled back entirely.
        ops.push(Box::pin(async move {
            let id = format!("{pp}-compc");
            let mut rec = obj("g", &format!("{pp}/exists"), &format!("bad-{pp}-o"));
            rec.segments[0].locator = part(&id, 1).locator;
            let got = mm.complete_upload(&id, &rec, &if_none_match()).await;
            expect(
                format!("{pp} O"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::PreconditionFailed)),
            )
        }));
        let (mm, pp) = (m.clone(), p.clone());
        // P: abort returns the parts; Q: abort naming the wrong key fails.
        ops.push(Box::pin(async move {
            let id = format!("{pp}-ab");
            let got = mm.abort_upload("g", &format!("{pp}/up-ab"), &id).await;
            let want = vec![part(&id, 1), part(&id, 2)];
            expect(format!("{pp} P"), got, |v| *v == want, None)
        }));
        let (mm, pp) = (m.clone(), p.clone());
        ops.push(Box::pin(async move {
            let got = mm
                .abort_upload("g", "wrong-key", &format!("{pp}-abq"))
                .await;
            expect(
                format!("{pp} Q"),
                got,
                |_| false,
                Some(|e| matches!(e, MetaError::NoSuchUpload)),
            )
        }));
    }
    ops
}

/// Many concurrent writes of every batched kind, with failing and succeeding conditions mixed, and
/// contended keys: each write gets exactly its own result and failed writes leave nothing behind.
async fn mixed_concurrent_results(m: Meta) {
    bucket(&m, "g").await;
    let n = 12;
    for r in 0..2 {
        let mut ops = round_ops(&m, r, n).await;
        // Contention: racers creating one key (one wins) and If-Match writers of one version (one wins).
        let wins = Arc::new(Mutex::new(HashMap::<String, Vec<String>>::new()));
        for i in 0..n {
            for t in 0..4 {
                let (mm, w) = (m.clone(), wins.clone());
                let key = format!("r{r}/{i}/race");
                ops.push(Box::pin(async move {
                    let etag = format!("race-{t}");
                    match mm
                        .put_object(&obj("g", &key, &etag), &if_none_match())
                        .await
                    {
                        Ok(_) => w.lock().unwrap().entry(key).or_default().push(etag),
                        Err(MetaError::PreconditionFailed) => {}
                        Err(e) => return Err(format!("{key}: {e}")),
                    }
                    Ok(())
                }));
                let (mm, w) = (m.clone(), wins.clone());
                let key = format!("r{r}/{i}/chain");
                let old = format!("old-r{r}/{i}-chain");
                ops.push(Box::pin(async move {
                    let etag = format!("chain-{t}");
                    match mm.put_object(&obj("g", &key, &etag), &if_match(&old)).await {
                        Ok(_) => w.lock().unwrap().entry(key).or_default().push(etag),
                        Err(MetaError::PreconditionFailed) => {}
                        Err(e) => return Err(format!("{key}: {e}")),
                    }
                    Ok(())
                }));
            }
        }
        // All at once, so that the SQLite writer finds them queued together.
        let barrier = Arc::new(tokio::sync::Barrier::new(ops.len()));
        let handles: Vec<_> = ops
            .into_iter()
            .map(|op| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    op.await
                })
            })
            .collect();
        let mut failures = Vec::new();
        for h in handles {
            if let Err(e) = h.await.unwrap() {
                failures.push(e);
            }
        }
        assert!(failures.is_empty(), "round {r}: {failures:#?}");
        let wins = wins.lock().unwrap().clone();
        check_round(&m, r, n, &wins).await;
    }
}

/// The state after round `r`: exactly the successful writes happened.
async fn check_round(m: &Meta, r: usize, n: usize, wins: &HashMap<String, Vec<String>>) {
    let etag = |k: String| async move { m.get_object("g", &k).await.unwrap().map(|o| o.etag) };
    for i in 0..n {
        let p = format!("r{r}/{i}");
        assert_eq!(etag(format!("{p}/a")).await, Some(format!("\"new-{p}-a\"")));
        assert_eq!(etag(format!("{p}/b")).await, Some(format!("\"old-{p}-b\"")));
        assert_eq!(etag(format!("{p}/c")).await, Some(format!("\"old-{p}-c\"")));
        let d = m.get_object("g", &format!("{p}/d")).await.unwrap().unwrap();
        assert_eq!(d.inline_data.as_deref(), Some(&b"abc"[..]));
        assert_eq!(etag(format!("{p}/f")).await, None);
        assert_eq!(
            etag(format!("{p}/exists")).await,
            Some(format!("\"x-{p}\""))
        );
        assert_eq!(
            etag(format!("{p}/up-comp")).await,
            Some(format!("\"mp-{p}\""))
        );
        assert_eq!(etag(format!("{p}/up-none")).await, None);
        for bad in [
            "g-bad-{p}-b",
            "g-bad-{p}-c",
            "nobucket-bad-{p}-e",
            "g-bad-{p}-n",
        ] {
            let loc = format!("blob-{}", bad.replace("{p}", &p));
            assert!(!m.blob_referenced(&loc).await.unwrap(), "{loc}");
        }
        assert!(
            m.get_upload("g", &format!("{p}/up-new"), &format!("{p}-new"))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            m.get_upload("g", &format!("{p}/up-comp"), &format!("{p}-comp"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            m.get_upload("g", &format!("{p}/up-ab"), &format!("{p}-ab"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            m.get_upload("g", &format!("{p}/up-abq"), &format!("{p}-abq"))
                .await
                .unwrap()
                .is_some()
        );
        // The failed completion left its upload and both parts in place.
        let id = format!("{p}-compc");
        assert!(
            m.get_upload("g", &format!("{p}/up-compc"), &id)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            m.list_parts(&id, 0, 10).await.unwrap().0,
            vec![part(&id, 1), part(&id, 2)]
        );
        assert_eq!(
            m.list_parts(&format!("{p}-part"), 0, 10).await.unwrap().0,
            vec![part(&format!("{p}-part"), 1)]
        );
        assert!(
            !m.blob_referenced(&part(&format!("{p}-ab"), 1).locator)
                .await
                .unwrap()
        );
        for k in ["race", "chain"] {
            let key = format!("{p}/{k}");
            let w = wins.get(&key).cloned().unwrap_or_default();
            assert_eq!(w.len(), 1, "{key}: winners {w:?}");
            assert_eq!(etag(key).await, Some(format!("\"{}\"", w[0])));
        }
    }
}

both!(mixed_concurrent_results);

/// A burst of writes of new keys (batched into multi-row inserts), a quarter of the keys written twice in the
/// same burst: every write lands once, a key's second write replaces its first, and exactly the current
/// versions' blobs are referenced.
async fn burst_of_new_keys(m: Meta) {
    burst(m, false).await;
}

/// `burst_of_new_keys` with small objects kept in the index (no blobs): batches of them are one statement
/// committing by itself.
async fn burst_of_new_small_keys(m: Meta) {
    burst(m, true).await;
}

async fn burst(m: Meta, small: bool) {
    bucket(&m, "g").await;
    let mut tasks = Vec::new();
    for i in 0..300 {
        for w in 0..if i % 4 == 0 { 2 } else { 1 } {
            let m = m.clone();
            tasks.push(tokio::spawn(async move {
                let etag = format!("k{i}w{w}");
                let mut rec = obj("g", &format!("k{i:03}"), &etag);
                if small {
                    rec.segments.clear();
                    rec.inline_data = Some(etag.clone().into_bytes());
                }
                let out = m.put_object(&rec, &none()).await.unwrap();
                (i, etag, out.replaced.map(|r| r.etag))
            }));
        }
    }
    let mut by_key: HashMap<usize, Vec<(String, Option<String>)>> = HashMap::new();
    for t in tasks {
        let (i, etag, replaced) = t.await.unwrap();
        by_key.entry(i).or_default().push((etag, replaced));
    }
    let mut first: HashMap<String, String> = HashMap::new();
    for (i, writes) in by_key {
        let current = m
            .get_object("g", &format!("k{i:03}"))
            .await
            .unwrap()
            .unwrap();
        let created: Vec<_> = writes.iter().filter(|(_, r)| r.is_none()).collect();
        assert_eq!(
            created.len(),
            1,
            "k{i:03}: one write created the key: {writes:?}"
        );
        if writes.len() == 2 {
            // The other write replaced the creator's version and is the current one.
            let (second, replaced) = writes.iter().find(|(_, r)| r.is_some()).unwrap();
            assert_eq!(
                replaced.as_deref(),
                Some(format!("\"{}\"", created[0].0).as_str())
            );
            assert_eq!(current.etag, format!("\"{second}\""));
            assert!(
                !m.blob_referenced(&format!("blob-g-{}", created[0].0))
                    .await
                    .unwrap()
            );
        } else {
            assert_eq!(current.etag, format!("\"{}\"", writes[0].0));
        }
        let live = current.etag.trim_matches('"').to_string();
        first.insert(format!("k{i:03}"), current.etag.clone());
        if small {
            assert_eq!(current.inline_data, Some(live.into_bytes()));
        } else {
            assert!(m.blob_referenced(&format!("blob-g-{live}")).await.unwrap());
        }
    }
    // A second burst over the same keys: every write replaces, and `If-None-Match: *` fails on each.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let mut rec = obj("g", &format!("k{i:03}"), "again");
            if small {
                rec.segments.clear();
                rec.inline_data = Some(b"again".to_vec());
            }
            let create = m.put_object(&rec, &if_none_match()).await;
            assert!(
                matches!(create, Err(MetaError::PreconditionFailed)),
                "{create:?}"
            );
            let replaced = m.put_object(&rec, &none()).await.unwrap().replaced;
            (format!("k{i:03}"), replaced.map(|r| r.etag))
        }));
    }
    for t in tasks {
        let (key, replaced) = t.await.unwrap();
        // Each key's version from the first burst was replaced, by this write, and is gone.
        assert_eq!(replaced.as_ref(), first.get(&key), "{key}");
        let cur = m.get_object("g", &key).await.unwrap().unwrap();
        assert_eq!(cur.etag, "\"again\"");
        if !small {
            let old = first[&key].trim_matches('"').to_string();
            assert!(
                !m.blob_referenced(&format!("blob-g-{old}")).await.unwrap(),
                "{key}"
            );
        }
    }
}

both!(burst_of_new_keys, burst_of_new_small_keys);

/// Two gateways on one Postgres batch writes of the same keys at once, in opposite orders, round after
/// round: every write succeeds (a deadlock between two batches is Postgres's to break and the batch's to
/// re-run, never the caller's error), and every key ends with exactly one version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_gateways_write_the_same_keys() {
    let Some(db) = crate::common::postgres("postgres_two_gateways_write_the_same_keys").await
    else {
        return;
    };
    let other = Meta::open(&db.url).await.unwrap();
    bucket(&db.meta, "g").await;
    const KEYS: usize = 48;
    for round in 0..3 {
        let mut tasks = Vec::new();
        for (g, m) in [&db.meta, &other].into_iter().enumerate() {
            for n in 0..KEYS {
                let k = if g == 0 { n } else { KEYS - 1 - n };
                let m = m.clone();
                tasks.push(tokio::spawn(async move {
                    m.put_object(
                        &obj("g", &format!("k{k:02}"), &format!("r{round}g{g}k{k}")),
                        &none(),
                    )
                    .await
                }));
            }
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    let pool = raw_pool(&db).await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM objects WHERE bucket = 'g'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, KEYS as i64, "one (null) version per key");
    for k in 0..KEYS {
        let cur = db
            .meta
            .get_object("g", &format!("k{k:02}"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            cur.etag.starts_with("\"r2g"),
            "k{k:02}: the last round's write is current: {}",
            cur.etag
        );
    }
    pool.close().await;
    db.finish().await;
}

/// The state one writer task of `sqlite_acknowledged_writes_are_durable` expects.
#[derive(Default)]
struct Acked {
    /// key -> ETag of the last acknowledged write, or None when the last acknowledged write deleted it.
    keys: HashMap<String, Option<String>>,
    /// A key whose write was started but not acknowledged (it may or may not have happened).
    pending: Option<String>,
}

/// Checks `m` against everything acknowledged.
async fn check_acked(m: &Meta, acked: &[Arc<Mutex<Acked>>]) -> usize {
    let mut n = 0;
    for a in acked {
        let (keys, pending) = {
            let a = a.lock().unwrap();
            (a.keys.clone(), a.pending.clone())
        };
        for (key, want) in keys {
            if Some(&key) == pending.as_ref() {
                continue;
            }
            let got = m.get_object("d", &key).await.unwrap();
            assert_eq!(got.as_ref().map(|o| &o.etag), want.as_ref(), "{key}");
            if let Some(o) = got {
                assert_eq!(o.inline_data, Some(o.etag.as_bytes().to_vec()), "{key}");
            }
            n += 1;
        }
    }
    n
}

/// Every acknowledged write is on disk: copy the database files while it is still open (as a crash
/// would leave them, no clean close) and find every acknowledged write in the copy; then drop the
/// handle, reopen and find them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_acknowledged_writes_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let m = Meta::open_sqlite(&path).await.unwrap();
    bucket(&m, "d").await;
    let acked: Vec<Arc<Mutex<Acked>>> = (0..32).map(|_| Default::default()).collect();
    let mut tasks = Vec::new();
    for (t, a) in acked.iter().enumerate() {
        let (m, a) = (m.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                // Fresh keys, overwrites of a hot key, and deletes, each acknowledged in order.
                let key = match i % 4 {
                    3 => format!("{t}/hot"),
                    _ => format!("{t}/{i}"),
                };
                a.lock().unwrap().pending = Some(key.clone());
                let want = if i % 8 == 7 {
                    m.delete_object("d", &key).await.unwrap();
                    None
                } else {
                    let mut rec = obj("d", &key, &format!("{t}-{i}"));
                    rec.segments.clear();
                    rec.inline_data = Some(rec.etag.as_bytes().to_vec());
                    m.put_object(&rec, &none()).await.unwrap();
                    Some(rec.etag)
                };
                let mut a = a.lock().unwrap();
                a.keys.insert(key, want);
                a.pending = None;
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        assert!(t.await.unwrap_err().is_cancelled());
    }
    // One more write: once it is acknowledged, everything queued before it has run (FIFO).
    m.put_object(&obj("d", "last", "last"), &none())
        .await
        .unwrap();
    let copy = tempfile::tempdir().unwrap();
    for f in ["meta.db", "meta.db-wal"] {
        std::fs::copy(dir.path().join(f), copy.path().join(f)).unwrap();
    }
    let crashed = Meta::open_sqlite(&copy.path().join("meta.db"))
        .await
        .unwrap();
    let n = check_acked(&crashed, &acked).await;
    assert!(n > 32, "too few writes acknowledged to mean anything: {n}");
    assert!(crashed.get_object("d", "last").await.unwrap().is_some());
    drop(crashed);
    drop(m);
    let reopened = Meta::open_sqlite(&path).await.unwrap();
    assert_eq!(check_acked(&reopened, &acked).await, n);
}

/// A write that makes SQLite abort the whole shared transaction (here a trigger doing
/// `RAISE(ROLLBACK)`) fails alone: the batch is re-run one write at a time, the others succeed, and the
/// writer keeps working afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_transaction_abort_fails_only_its_write() {
    let db = sqlite().await;
    let m = db.meta.clone();
    bucket(&m, "b").await;
    let raw = raw_pool(&db).await;
    sqlx::query(
        "CREATE TRIGGER boom BEFORE INSERT ON objects WHEN NEW.key LIKE 'boom%' \
         BEGIN SELECT RAISE(ROLLBACK, 'boom'); END",
    )
    .execute(&raw)
    .await
    .unwrap();
    raw.close().await;
    for round in 0..3 {
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (m, barrier) = (m.clone(), barrier.clone());
                let key = if i % 16 == 5 {
                    format!("boom{round}-{i}")
                } else {
                    format!("ok{round}-{i}")
                };
                tokio::spawn(async move {
                    barrier.wait().await;
                    let res = m.put_object(&obj("b", &key, "e"), &none()).await;
                    (key, res.map(|_| ()))
                })
            })
            .collect();
        for h in handles {
            let (key, res) = h.await.unwrap();
            if key.starts_with("boom") {
                assert!(matches!(res, Err(MetaError::Db(_))), "{key}: {res:?}");
                assert!(m.get_object("b", &key).await.unwrap().is_none());
            } else {
                assert!(res.is_ok(), "{key}: {res:?}");
                assert!(m.get_object("b", &key).await.unwrap().is_some(), "{key}");
            }
        }
    }
    m.put_object(&obj("b", "after", "e"), &none())
        .await
        .unwrap();
    m.delete_object("b", "after").await.unwrap();
    db.finish().await;
}
