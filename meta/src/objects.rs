//! The object index: versions of keys (the current one marked `is_latest`), conditional writes, blob
//! references. A write of version "null" replaces any earlier "null" version of the key (unversioned and
//! versioning-suspended buckets); a write of any other version id keeps the earlier current version as a
//! noncurrent one.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::group::{Done, Op, mismatched};
use crate::store::{get, is_fk_violation, json_col, to_json};
use crate::*;

/// Columns of an object row, in `object_from_row` order: everything but `inline_data`, which only
/// `get_object` reads (`GET_COLS`).
pub(crate) const OBJECT_COLS: &str = "bucket, key, version_id, size, etag, last_modified_ms, headers, user_meta, \
                                      checksums, segments, storage_class, owner_canonical_id, tags, upload_id, \
                                      delete_marker, lock_mode, lock_until_ms, legal_hold, sse_mode, sse_key_id, \
                                      sse_key, sse_params";
/// `OBJECT_COLS` plus the inline bytes.
const GET_COLS: &str = "bucket, key, version_id, size, etag, last_modified_ms, headers, user_meta, \
                        checksums, segments, storage_class, owner_canonical_id, tags, upload_id, delete_marker, \
                        lock_mode, lock_until_ms, legal_hold, sse_mode, sse_key_id, sse_key, sse_params, inline_data";

/// How often a write re-reads the current version after losing an insert race before giving up. Every retry
/// follows a committed write by another writer of the same key, so the whole always progresses; the bound only
/// stops a pathological livelock (16 proved too few for 32 writers of one key on a loaded 2-core Postgres).
const WRITE_RETRIES: usize = 1000;

/// Decodes an `OBJECT_COLS` row (`inline_data` left `None`).
pub(crate) fn object_from_row(row: &AnyRow) -> Result<ObjectRecord> {
    Ok(ObjectRecord {
        bucket: get(row, "bucket")?,
        key: get(row, "key")?,
        version_id: get(row, "version_id")?,
        size: get(row, "size")?,
        etag: get(row, "etag")?,
        last_modified_ms: get(row, "last_modified_ms")?,
        headers: json_col(row, "headers")?,
        user_meta: json_col(row, "user_meta")?,
        checksums: json_col(row, "checksums")?,
        segments: json_col(row, "segments")?,
        storage_class: get(row, "storage_class")?,
        owner_canonical_id: get(row, "owner_canonical_id")?,
        inline_data: None,
        tags: json_col(row, "tags")?,
        upload_id: get(row, "upload_id")?,
        delete_marker: get::<i64>(row, "delete_marker")? != 0,
        lock: ObjectLock {
            mode: get(row, "lock_mode")?,
            retain_until_ms: get(row, "lock_until_ms")?,
            legal_hold: get::<Option<i64>>(row, "legal_hold")?.map(|h| h != 0),
        },
        sse: crate::store::sse_cols(row)?,
    })
}

/// How many of `n` rows go in the next multi-row statement: the largest power of two up to `n` (and up to
/// 128: a statement's parameters stay far below SQLite's and Postgres's limits), so a batch of any size uses
/// at most a few statements, each of a size whose prepared statement is cached.
fn chunk_len(n: usize) -> usize {
    let n = n.min(128);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// Most writes `insert_new_in_one_statement` takes.
pub(crate) const ONE_STATEMENT_MAX: usize = 128;

/// The order of versions: microseconds since the epoch, strictly increasing within this process (so two
/// writes of one key in the same microsecond still order).
pub(crate) fn next_seq() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0),
    )
    .unwrap_or(i64::MAX);
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match LAST.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(p) => prev = p,
        }
    }
}

impl Meta {
    /// Writes `rec` as the current version of its key inside the caller's write transaction, checking
    /// `cond` against the current version first. Returns the replaced current version (without its
    /// inline data).
    ///
    /// Concurrency (Postgres): the current row is locked with `FOR UPDATE`; when there is none, the insert
    /// uses `ON CONFLICT DO NOTHING`, which waits for a concurrent inserter of the same key and then inserts
    /// nothing, so we either fail `If-None-Match: *` or re-read (and lock) the winner's row and replace it.
    pub(crate) async fn write_object(
        &self,
        conn: &mut AnyConnection,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<Option<ObjectRecord>> {
        if self.insert_if_new(conn, rec, cond).await? {
            return Ok(None);
        }
        self.write_over(conn, rec, cond).await
    }

    /// The common case of a write in one statement: when the key has no current version, `rec` is inserted as
    /// it (no condition other than `If-None-Match: *` can hold then, and there is no earlier "null" version to
    /// replace). `Ok(false)`, with nothing written, when the key has a current version (the unique index on the
    /// current version makes the insert a no-op) or `cond` needs one (`If-Match`); `write_over` does the rest.
    pub(crate) async fn insert_if_new(
        &self,
        conn: &mut AnyConnection,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<bool> {
        if cond.if_match.is_some() {
            return Ok(false);
        }
        if self.insert_row(conn, rec).await? == 0 {
            return Ok(false);
        }
        self.insert_blob_refs(conn, rec).await?;
        Ok(true)
    }

    /// Inserts `rec` as the current version unless that conflicts (a current version exists, or this version
    /// id does); the number of rows inserted. `NoSuchBucket` if the bucket is gone.
    async fn insert_row(&self, conn: &mut AnyConnection, rec: &ObjectRecord) -> Result<u64> {
        Ok(self.insert_rows(conn, &[rec], 1).await?.len() as u64)
    }

    /// `insert_many_if_new` in one statement, for at most `ONE_STATEMENT_MAX` writes of distinct keys without
    /// blobs (inline objects): run outside a transaction, the statement commits by itself, so a batch of new
    /// small objects costs one round trip to the database. The statement has a power-of-two number of rows
    /// (one cached prepared statement per size), the last write repeated to fill it: a repeat conflicts with
    /// the row just inserted (or with the same existing row) and inserts nothing.
    pub(crate) async fn insert_new_in_one_statement(
        &self,
        conn: &mut AnyConnection,
        recs: &[&ObjectRecord],
    ) -> Result<Vec<bool>> {
        if recs.is_empty()
            || recs.len() > ONE_STATEMENT_MAX
            || recs.iter().any(|r| !r.segments.is_empty())
        {
            return Err(MetaError::Corrupt(
                "insert_new_in_one_statement: unsuitable writes".into(),
            ));
        }
        let inserted = self
            .insert_rows(conn, recs, recs.len().next_power_of_two())
            .await?;
        let inserted: std::collections::HashSet<_> = inserted.into_iter().collect();
        Ok(recs
            .iter()
            .map(|rec| {
                inserted.contains(&(rec.bucket.clone(), rec.key.clone(), rec.version_id.clone()))
            })
            .collect())
    }

    /// `insert_if_new` for many writes at once (group commit): each of `recs` that has no `If-Match` is
    /// inserted as the current version of its key unless that conflicts, in as few statements as possible
    /// (multi-row `INSERT`s of power-of-two sizes, so each size is one cached prepared statement), with its
    /// blob references. Returns, for each of `recs`, whether it was written; a `false` one is for
    /// `write_over`. Keys should be distinct (a second write of a key conflicts with the first) and sorted, so
    /// concurrent batches lock keys in one order. `NoSuchBucket` if a bucket is gone (nothing is then
    /// known to be written: the caller rolls back).
    pub(crate) async fn insert_many_if_new(
        &self,
        conn: &mut AnyConnection,
        recs: &[&ObjectRecord],
    ) -> Result<Vec<bool>> {
        let mut written = vec![false; recs.len()];
        let mut inserted: std::collections::HashSet<(String, String, String)> = Default::default();
        let mut rest = recs;
        while !rest.is_empty() {
            let n = chunk_len(rest.len());
            inserted.extend(self.insert_rows(conn, &rest[..n], n).await?);
            rest = &rest[n..];
        }
        let mut refs: Vec<(&ObjectRecord, &str)> = Vec::new();
        for (i, rec) in recs.iter().enumerate() {
            let id = (rec.bucket.clone(), rec.key.clone(), rec.version_id.clone());
            if inserted.contains(&id) {
                written[i] = true;
                refs.extend(rec.segments.iter().map(|seg| (*rec, seg.locator.as_str())));
            }
        }
        let mut rest = &refs[..];
        while !rest.is_empty() {
            let n = chunk_len(rest.len());
            self.insert_blob_rows(conn, &rest[..n]).await?;
            rest = &rest[n..];
        }
        Ok(written)
    }

    /// `write_over` for many unconditional writes of version "null" in one bucket whose keys' current version is
    /// the "null" version (an unversioned bucket's overwrite): in three statements for them all — read and lock
    /// the current versions, delete them, insert the new ones — instead of five round trips each. Returns, for
    /// each of `recs` (distinct keys, sorted), the version it replaced, or `None` when it does not qualify (no
    /// current version, a versioned one, an Object Lock that forbids the replacement): those are for
    /// `write_over`, which gives each its own result.
    pub(crate) async fn replace_null_many(
        &self,
        conn: &mut AnyConnection,
        bucket: &str,
        recs: &[&ObjectRecord],
    ) -> Result<Vec<Option<ObjectRecord>>> {
        let mut out: Vec<Option<ObjectRecord>> = recs.iter().map(|_| None).collect();
        let mut start = 0;
        while start < recs.len() {
            let n = (recs.len() - start).min(ONE_STATEMENT_MAX);
            let chunk = &recs[start..start + n];
            let keys = (0..n)
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let select = format!(
                "SELECT {OBJECT_COLS} FROM objects WHERE bucket = $1 AND is_latest = 1 AND key IN ({keys}) \
                 ORDER BY key{}",
                self.for_update()
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(select)).bind(bucket);
            for rec in chunk {
                q = q.bind(&rec.key);
            }
            let mut current: std::collections::HashMap<String, ObjectRecord> = Default::default();
            for row in q.fetch_all(&mut *conn).await? {
                let cur = object_from_row(&row)?;
                current.insert(cur.key.clone(), cur);
            }
            let mut chosen: Vec<(usize, &ObjectRecord, ObjectRecord)> = Vec::new();
            for (i, rec) in chunk.iter().enumerate() {
                if rec.bucket != bucket || rec.version_id != "null" {
                    continue;
                }
                match current.remove(&rec.key) {
                    Some(cur)
                        if cur.version_id == "null"
                            && crate::lock::check_delete(&cur, false).is_ok() =>
                    {
                        chosen.push((start + i, rec, cur))
                    }
                    _ => {}
                }
            }
            if !chosen.is_empty() {
                let keys = (0..chosen.len())
                    .map(|i| format!("${}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let delete = format!(
                    "DELETE FROM objects WHERE bucket = $1 AND version_id = 'null' AND key IN ({keys})"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(delete)).bind(bucket);
                for (_, rec, _) in &chosen {
                    q = q.bind(&rec.key);
                }
                q.execute(&mut *conn).await?;
                let new: Vec<&ObjectRecord> = chosen.iter().map(|(_, rec, _)| *rec).collect();
                if self.insert_many_if_new(conn, &new).await?.contains(&false) {
                    // Cannot happen while the old rows are locked and deleted here: give up the batch.
                    return Err(MetaError::Corrupt(format!(
                        "replacing null versions in {bucket}: a new version was not inserted"
                    )));
                }
                for (i, _, old) in chosen {
                    out[i] = Some(old);
                }
            }
            start += n;
        }
        Ok(out)
    }

    /// Inserts each of `recs` as the current version of its key unless that conflicts, in one statement of
    /// `rows` rows (the last of `recs` repeated after the others); the (bucket, key, version id) of the rows
    /// inserted. `NoSuchBucket` if a bucket is gone.
    async fn insert_rows(
        &self,
        conn: &mut AnyConnection,
        recs: &[&ObjectRecord],
        rows: usize,
    ) -> Result<Vec<(String, String, String)>> {
        const COLS: usize = 24;
        let Some(last) = recs.last() else {
            return Ok(Vec::new());
        };
        let rows = rows.max(recs.len());
        let mut sql = String::with_capacity(300 + rows * 130);
        sql.push_str(
            "INSERT INTO objects (bucket, key, version_id, is_latest, size, etag, last_modified_ms, headers, \
             user_meta, checksums, segments, storage_class, owner_canonical_id, inline_data, tags, upload_id, \
             delete_marker, seq, lock_mode, lock_until_ms, legal_hold, sse_mode, sse_key_id, sse_key, \
             sse_params) VALUES ",
        );
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..COLS {
                // is_latest = 1 goes after the version id.
                if c == 3 {
                    sql.push_str("1, ");
                }
                use std::fmt::Write as _;
                let _ = write!(
                    sql,
                    "${}{}",
                    r * COLS + c + 1,
                    if c + 1 < COLS { ", " } else { ")" }
                );
            }
        }
        sql.push_str(" ON CONFLICT DO NOTHING RETURNING bucket, key, version_id");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for rec in recs
            .iter()
            .chain(std::iter::repeat_n(last, rows - recs.len()))
        {
            q = q
                .bind(&rec.bucket)
                .bind(&rec.key)
                .bind(&rec.version_id)
                .bind(rec.size)
                .bind(&rec.etag)
                .bind(rec.last_modified_ms)
                .bind(to_json(&rec.headers)?)
                .bind(to_json(&rec.user_meta)?)
                .bind(to_json(&rec.checksums)?)
                .bind(to_json(&rec.segments)?)
                .bind(&rec.storage_class)
                .bind(&rec.owner_canonical_id)
                .bind(rec.inline_data.as_deref())
                .bind(to_json(&rec.tags)?)
                .bind(rec.upload_id.as_deref())
                .bind(i64::from(rec.delete_marker))
                .bind(next_seq())
                .bind(rec.lock.mode.as_deref())
                .bind(rec.lock.retain_until_ms)
                .bind(rec.lock.legal_hold.map(i64::from))
                .bind(rec.sse.as_ref().map(|e| e.mode.clone()))
                .bind(rec.sse.as_ref().and_then(|e| e.key_id.clone()))
                .bind(rec.sse.as_ref().map(|e| e.wrapped_key.clone()))
                .bind(rec.sse.as_ref().map(|e| e.params.clone()));
        }
        match q.fetch_all(&mut *conn).await {
            Ok(rows) => rows
                .iter()
                .map(|row| {
                    Ok((
                        get(row, "bucket")?,
                        get(row, "key")?,
                        get(row, "version_id")?,
                    ))
                })
                .collect(),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchBucket),
            Err(e) => Err(e.into()),
        }
    }

    /// Records which blobs the version `rec` references (for the sweeper and for deletes).
    async fn insert_blob_refs(&self, conn: &mut AnyConnection, rec: &ObjectRecord) -> Result<()> {
        let refs: Vec<(&ObjectRecord, &str)> = rec
            .segments
            .iter()
            .map(|seg| (rec, seg.locator.as_str()))
            .collect();
        if refs.is_empty() {
            return Ok(());
        }
        self.insert_blob_rows(conn, &refs).await
    }

    /// Inserts the blob references `refs` (version, locator) in one statement.
    async fn insert_blob_rows(
        &self,
        conn: &mut AnyConnection,
        refs: &[(&ObjectRecord, &str)],
    ) -> Result<()> {
        let mut sql =
            String::from("INSERT INTO object_blobs (bucket, key, version_id, locator) VALUES ");
        for r in 0..refs.len() {
            let b = r * 4;
            use std::fmt::Write as _;
            let _ = write!(
                sql,
                "{}(${}, ${}, ${}, ${})",
                if r == 0 { "" } else { ", " },
                b + 1,
                b + 2,
                b + 3,
                b + 4
            );
        }
        sql.push_str(" ON CONFLICT DO NOTHING");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (rec, locator) in refs {
            q = q
                .bind(&rec.bucket)
                .bind(&rec.key)
                .bind(&rec.version_id)
                .bind(*locator);
        }
        q.execute(&mut *conn).await?;
        Ok(())
    }

    /// `write_object` when the key (probably) has a current version: read it, check `cond`, replace the "null"
    /// version or keep the current one as noncurrent, insert.
    pub(crate) async fn write_over(
        &self,
        conn: &mut AnyConnection,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<Option<ObjectRecord>> {
        let select = format!(
            "SELECT {OBJECT_COLS} FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1{}",
            self.for_update()
        );
        let mut replaced: Option<ObjectRecord> = None;
        for _ in 0..WRITE_RETRIES {
            let row = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
                .bind(&rec.bucket)
                .bind(&rec.key)
                .fetch_optional(&mut *conn)
                .await?;
            let current = row.as_ref().map(object_from_row).transpose()?;
            // A delete marker as the current version means the key does not exist.
            check_condition(current.as_ref().filter(|c| !c.delete_marker), cond)?;
            if rec.version_id == "null" {
                // The "null" version is replaced, current or not; its blobs become the caller's to free.
                let old = match &current {
                    Some(cur) if cur.version_id == "null" => Some(cur.clone()),
                    // Every key with versions has exactly one current version (a delete marker counts), so
                    // with none there is no noncurrent "null" version either (a concurrent creator of the key
                    // makes our insert conflict, and the retry sees it).
                    None => None,
                    Some(_) => match self
                        .select_version(&mut *conn, &rec.bucket, &rec.key, "null")
                        .await?
                    {
                        // A concurrent writer made it current after we read the current version (Postgres,
                        // read committed): read again and re-check the conditions.
                        Some((_, true)) => continue,
                        Some((old, false)) => Some(old),
                        None => None,
                    },
                };
                if let Some(old) = old {
                    // Replacing the "null" version deletes it: Object Lock forbids that as it forbids a delete.
                    crate::lock::check_delete(&old, false)?;
                    self.delete_row(&mut *conn, &old).await?;
                    replaced = Some(old);
                }
            }
            // Unless it was the "null" version just replaced, the current version stays as a noncurrent one.
            let kept = current
                .as_ref()
                .is_some_and(|c| !(c.version_id == "null" && rec.version_id == "null"));
            if kept {
                sqlx::query(
                    "UPDATE objects SET is_latest = 0 WHERE bucket = $1 AND key = $2 AND is_latest = 1",
                )
                .bind(&rec.bucket)
                .bind(&rec.key)
                .execute(&mut *conn)
                .await?;
            }
            if self.insert_row(&mut *conn, rec).await? == 0 {
                // A concurrent writer created the key between our read and our insert.
                if cond.if_none_match_star {
                    return Err(MetaError::PreconditionFailed);
                }
                continue;
            }
            self.insert_blob_refs(&mut *conn, rec).await?;
            return Ok(replaced);
        }
        Err(MetaError::Corrupt(format!(
            "gave up writing {}/{} after repeated insert races",
            rec.bucket, rec.key
        )))
    }

    /// One version of a key (without inline data) and whether it is the current one, in the caller's
    /// transaction, locked on Postgres.
    pub(crate) async fn select_version(
        &self,
        conn: &mut AnyConnection,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Option<(ObjectRecord, bool)>> {
        let sql = format!(
            "SELECT {OBJECT_COLS}, is_latest FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3{}",
            self.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bucket)
            .bind(key)
            .bind(version_id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some((
            object_from_row(&row)?,
            get::<i64>(&row, "is_latest")? != 0,
        )))
    }

    /// Deletes one version row (its `object_blobs` rows go with it, ON DELETE CASCADE).
    pub(crate) async fn delete_row(
        &self,
        conn: &mut AnyConnection,
        rec: &ObjectRecord,
    ) -> Result<()> {
        sqlx::query("DELETE FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3")
            .bind(&rec.bucket)
            .bind(&rec.key)
            .bind(&rec.version_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Writes (inserts or replaces) the object version `rec.version_id` of `rec.key`, checking `cond`
    /// against the current version in the same transaction (`PreconditionFailed`). `NoSuchBucket` if the
    /// bucket was deleted meanwhile. `rec.inline_data`, if any, is stored in the index row (then
    /// `rec.segments` should be empty). The replaced record comes without its inline data.
    ///
    /// Returns once the write is durable; on SQLite it shares its commit with concurrent writes (see
    /// `group`).
    pub async fn put_object(
        &self,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<PutOutcome> {
        if let Some(g) = &self.group {
            let op = Op::PutObject {
                rec: rec.clone(),
                cond: cond.clone(),
            };
            return match g.submit(op).await? {
                Done::Put(out) => Ok(out),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let replaced = self.write_object(&mut tx, rec, cond).await?;
        commit(tx).await?;
        Ok(PutOutcome { replaced })
    }

    /// The current version of `key`, with its inline data if it has any.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let sql = format!(
            "SELECT {GET_COLS} FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(bucket).bind(key);
        let row = match &self.read_conns {
            Some(conns) => {
                let mut c = conns.get().await?;
                let row = query.fetch_optional(c.conn()).await?;
                c.keep();
                row
            }
            None => query.fetch_optional(&self.pool).await?,
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let mut rec = object_from_row(&row)?;
        rec.inline_data = get(&row, "inline_data")?;
        Ok(Some(rec))
    }

    /// Deletes the current version of `key`; returns it (without its inline data; its blobs are the
    /// caller's to delete).
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        self.delete_object_if(bucket, key, &DeleteCondition::default())
            .await
    }

    /// `delete_object` if `cond` holds for the current version (`PreconditionFailed` otherwise).
    pub async fn delete_object_if(
        &self,
        bucket: &str,
        key: &str,
        cond: &DeleteCondition,
    ) -> Result<Option<ObjectRecord>> {
        if let Some(g) = &self.group {
            let op = Op::DeleteObject {
                bucket: bucket.to_string(),
                key: key.to_string(),
                cond: cond.clone(),
            };
            return match g.submit(op).await? {
                Done::Deleted(cur) => Ok(cur),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let cur = self.delete_object_in(&mut tx, bucket, key, cond).await?;
        if cur.is_some() {
            commit(tx).await?;
        }
        Ok(cur)
    }

    /// `delete_object` inside the caller's write transaction.
    pub(crate) async fn delete_object_in(
        &self,
        conn: &mut AnyConnection,
        bucket: &str,
        key: &str,
        cond: &DeleteCondition,
    ) -> Result<Option<ObjectRecord>> {
        let sql = format!(
            "SELECT {OBJECT_COLS} FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1{}",
            self.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bucket)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(cur) = row.as_ref().map(object_from_row).transpose()? else {
            return Ok(None);
        };
        check_delete_condition(&cur, cond)?;
        crate::lock::check_delete(&cur, cond.bypass_governance)?;
        sqlx::query("DELETE FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3")
            .bind(bucket)
            .bind(key)
            .bind(&cur.version_id)
            .execute(&mut *conn)
            .await?;
        Ok(Some(cur))
    }

    /// Replaces the tags of version `version_id` of `key`, or of its current version (PutObjectTagging /
    /// DeleteObjectTagging); its ETag and modification time stay. `false` if there is no such object
    /// version (delete markers have no tags).
    pub async fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        tags: &Tags,
    ) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE objects SET tags = $3 WHERE bucket = $1 AND key = $2 AND delete_marker = 0 \
             AND (($4 = '' AND is_latest = 1) OR version_id = $4)",
        )
        .bind(bucket)
        .bind(key)
        .bind(to_json(tags)?)
        .bind(version_id.unwrap_or(""))
        .execute(&self.writer)
        .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Whether any object segment or part refers to `locator` (the orphan sweep keeps referenced blobs).
    pub async fn blob_referenced(&self, locator: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS x FROM object_blobs WHERE locator = $1 \
             UNION ALL SELECT 1 AS x FROM parts WHERE locator = $1 LIMIT 1",
        )
        .bind(locator)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}

/// Checks write preconditions against the current version.
fn check_condition(current: Option<&ObjectRecord>, cond: &WriteCondition) -> Result<()> {
    if cond.if_none_match_star && current.is_some() {
        return Err(MetaError::PreconditionFailed);
    }
    if let Some(want) = &cond.if_match {
        match current {
            Some(cur) if etag_matches(&cur.etag, want) => {}
            _ => return Err(MetaError::PreconditionFailed),
        }
    }
    Ok(())
}

/// Checks conditional-delete preconditions against the current version.
pub(crate) fn check_delete_condition(cur: &ObjectRecord, cond: &DeleteCondition) -> Result<()> {
    let etag_ok = cond
        .if_match
        .as_deref()
        .is_none_or(|want| etag_matches(&cur.etag, want));
    let time_ok = cond
        .last_modified_ms
        .is_none_or(|t| t.div_euclid(1000) == cur.last_modified_ms.div_euclid(1000));
    let size_ok = cond.size.is_none_or(|s| s == cur.size);
    if etag_ok && time_ok && size_ok {
        Ok(())
    } else {
        Err(MetaError::PreconditionFailed)
    }
}

/// ETag comparison tolerant of a missing pair of quotes on either side (clients differ), and `*`.
fn etag_matches(stored: &str, wanted: &str) -> bool {
    let w = wanted.trim();
    w == "*" || stored.trim_matches('"') == w.trim_matches('"')
}

/// Commits, mapping a deferred foreign-key failure to `NoSuchBucket`.
pub(crate) async fn commit(tx: sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
    match tx.commit().await {
        Ok(()) => Ok(()),
        Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchBucket),
        Err(e) => Err(e.into()),
    }
}
