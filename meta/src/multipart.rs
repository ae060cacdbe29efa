//! Multipart uploads and their parts.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::group::{Done, Op, mismatched};
use crate::listing::{Lower, rollup, successor};
use crate::objects::commit;
use crate::store::{get, is_fk_violation, is_unique_violation, json_col, to_json};
use crate::*;

const UPLOAD_COLS: &str = "upload_id, bucket, key, initiated_ms, headers, user_meta, checksum_algorithm, \
                           checksum_type, storage_class, owner_canonical_id, tags, object_lock, sse_mode, \
                           sse_key_id, sse_key, sse_params";
const PART_COLS: &str = "upload_id, part_number, size, etag, last_modified_ms, checksums, locator";
/// Rows fetched per query at most.
const BATCH: usize = 1000;

fn upload_from_row(row: &AnyRow) -> Result<Upload> {
    Ok(Upload {
        upload_id: get(row, "upload_id")?,
        bucket: get(row, "bucket")?,
        key: get(row, "key")?,
        initiated_ms: get(row, "initiated_ms")?,
        headers: json_col(row, "headers")?,
        user_meta: json_col(row, "user_meta")?,
        checksum_algorithm: get(row, "checksum_algorithm")?,
        checksum_type: get(row, "checksum_type")?,
        storage_class: get(row, "storage_class")?,
        owner_canonical_id: get(row, "owner_canonical_id")?,
        tags: json_col(row, "tags")?,
        lock: match get::<Option<String>>(row, "object_lock")? {
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| MetaError::Corrupt(format!("column object_lock: bad JSON: {e}")))?,
            None => ObjectLock::default(),
        },
        sse: crate::store::sse_cols(row)?,
    })
}

fn part_from_row(row: &AnyRow) -> Result<Part> {
    Ok(Part {
        upload_id: get(row, "upload_id")?,
        part_number: get(row, "part_number")?,
        size: get(row, "size")?,
        etag: get(row, "etag")?,
        last_modified_ms: get(row, "last_modified_ms")?,
        checksums: json_col(row, "checksums")?,
        locator: get(row, "locator")?,
    })
}

/// Where the next upload-listing query starts, in (key, initiated_ms, upload_id) order.
enum UploadCursor {
    /// At or after a key position (`key >= s` / `key > s`).
    Key(Lower),
    /// Strictly after one upload.
    After {
        key: String,
        initiated_ms: i64,
        upload_id: String,
    },
}

impl Meta {
    /// Registers a multipart upload; `NoSuchBucket` if the bucket is gone, `AlreadyExists` on a
    /// duplicate upload id.
    pub async fn create_upload(&self, upload: &Upload) -> Result<()> {
        if let Some(g) = &self.group {
            let op = Op::CreateUpload {
                upload: upload.clone(),
            };
            return match g.submit(op).await? {
                Done::Created => Ok(()),
                _ => Err(mismatched()),
            };
        }
        let mut conn = self.writer.acquire().await?;
        self.create_upload_in(&mut conn, upload).await
    }

    /// `create_upload` on the caller's write connection (its own statement, or inside a transaction).
    pub(crate) async fn create_upload_in(
        &self,
        conn: &mut AnyConnection,
        upload: &Upload,
    ) -> Result<()> {
        let res = sqlx::query(
            "INSERT INTO uploads (upload_id, bucket, key, initiated_ms, headers, user_meta, checksum_algorithm, \
             checksum_type, storage_class, owner_canonical_id, tags, object_lock, sse_mode, sse_key_id, sse_key, \
             sse_params) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&upload.upload_id)
        .bind(&upload.bucket)
        .bind(&upload.key)
        .bind(upload.initiated_ms)
        .bind(to_json(&upload.headers)?)
        .bind(to_json(&upload.user_meta)?)
        .bind(upload.checksum_algorithm.as_deref())
        .bind(upload.checksum_type.as_deref())
        .bind(&upload.storage_class)
        .bind(&upload.owner_canonical_id)
        .bind(to_json(&upload.tags)?)
        .bind((upload.lock != ObjectLock::default()).then(|| to_json(&upload.lock)).transpose()?)
        .bind(upload.sse.as_ref().map(|e| e.mode.clone()))
        .bind(upload.sse.as_ref().and_then(|e| e.key_id.clone()))
        .bind(upload.sse.as_ref().map(|e| e.wrapped_key.clone()))
        .bind(upload.sse.as_ref().map(|e| e.params.clone()))
        .execute(&mut *conn)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchBucket),
            Err(e) if is_unique_violation(&e) => Err(MetaError::AlreadyExists(format!(
                "upload {}",
                upload.upload_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The upload if it exists and belongs to `bucket`/`key`.
    pub async fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<Upload>> {
        let sql = format!(
            "SELECT {UPLOAD_COLS} FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(upload_id)
            .bind(bucket)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(upload_from_row).transpose()
    }

    /// Records a part (replacing a previous upload of the same number, which is returned so the caller can
    /// delete its blob). `NoSuchUpload` if the upload was completed or aborted meanwhile.
    pub async fn put_part(&self, part: &Part) -> Result<Option<Part>> {
        if let Some(g) = &self.group {
            let op = Op::PutPart { part: part.clone() };
            return match g.submit(op).await? {
                Done::Part(old) => Ok(old),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let old = self.put_part_in(&mut tx, part).await?;
        match tx.commit().await {
            Ok(()) => Ok(old),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchUpload),
            Err(e) => Err(e.into()),
        }
    }

    /// `put_part` inside the caller's write transaction.
    pub(crate) async fn put_part_in(
        &self,
        conn: &mut AnyConnection,
        part: &Part,
    ) -> Result<Option<Part>> {
        // Locking the upload row serialises part writes of one upload against each other and against
        // complete/abort (Postgres); SQLite's write transaction already does.
        let sql = format!(
            "SELECT upload_id FROM uploads WHERE upload_id = $1{}",
            self.for_update()
        );
        if sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&part.upload_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_none()
        {
            return Err(MetaError::NoSuchUpload);
        }
        let sql =
            format!("SELECT {PART_COLS} FROM parts WHERE upload_id = $1 AND part_number = $2");
        let old = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&part.upload_id)
            .bind(part.part_number)
            .fetch_optional(&mut *conn)
            .await?;
        let old = old.as_ref().map(part_from_row).transpose()?;
        if old.is_some() {
            sqlx::query("DELETE FROM parts WHERE upload_id = $1 AND part_number = $2")
                .bind(&part.upload_id)
                .bind(part.part_number)
                .execute(&mut *conn)
                .await?;
        }
        let res = sqlx::query(
            "INSERT INTO parts (upload_id, part_number, size, etag, last_modified_ms, checksums, locator) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&part.upload_id)
        .bind(part.part_number)
        .bind(part.size)
        .bind(&part.etag)
        .bind(part.last_modified_ms)
        .bind(to_json(&part.checksums)?)
        .bind(&part.locator)
        .execute(&mut *conn)
        .await;
        match res {
            Ok(_) => Ok(old),
            Err(e) if is_fk_violation(&e) => Err(MetaError::NoSuchUpload),
            Err(e) => Err(e.into()),
        }
    }

    /// Parts with number > `marker`, ascending, at most `max` (+ whether more exist).
    pub async fn list_parts(
        &self,
        upload_id: &str,
        marker: i32,
        max: usize,
    ) -> Result<(Vec<Part>, bool)> {
        let limit = max.saturating_add(1).min(i64::MAX as usize) as i64;
        let sql = format!(
            "SELECT {PART_COLS} FROM parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(upload_id)
            .bind(marker)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let more = rows.len() > max;
        let parts = rows
            .iter()
            .take(max)
            .map(part_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((parts, more))
    }

    /// ListMultipartUploads: uploads ordered by (key, initiated, upload_id) with prefix/delimiter rollup,
    /// after (`key_marker`, `upload_id_marker`) as S3 defines them.
    ///
    /// With both markers, uploads of `key_marker` after the marker upload (in initiation order) follow; if
    /// that upload no longer exists, listing resumes at the next key.
    pub async fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        max: usize,
    ) -> Result<UploadPage> {
        let mut page = UploadPage::default();
        if max == 0 {
            return Ok(page);
        }
        let delim = delimiter.filter(|d| !d.is_empty());
        let upper = if prefix.is_empty() {
            None
        } else {
            successor(prefix)
        };
        let Some(lower) = Lower::after_marker(prefix, delim, key_marker) else {
            return Ok(page);
        };
        let mut cursor = UploadCursor::Key(lower);
        if let (Some(km), Some(um), UploadCursor::Key(Lower::Excl(_))) =
            (key_marker, upload_id_marker, &cursor)
        {
            let row = sqlx::query("SELECT initiated_ms FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3")
                .bind(um)
                .bind(bucket)
                .bind(km)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                cursor = UploadCursor::After {
                    key: km.to_string(),
                    initiated_ms: get(&row, "initiated_ms")?,
                    upload_id: um.to_string(),
                };
            }
        }
        let mut count = 0usize;
        'scan: loop {
            let batch = (max - count + 1).min(BATCH);
            let upper_clause = if upper.is_some() { " AND key < $3" } else { "" };
            let cursor_clause = match &cursor {
                UploadCursor::Key(Lower::Incl(_)) => "key >= $2",
                UploadCursor::Key(Lower::Excl(_)) => "key > $2",
                UploadCursor::After { .. } => {
                    "key >= $2 AND (key > $2 OR initiated_ms > $4 OR (initiated_ms = $4 AND upload_id > $5))"
                }
            };
            let sql = format!(
                "SELECT {UPLOAD_COLS} FROM uploads WHERE bucket = $1 AND {cursor_clause}{upper_clause} \
                 ORDER BY key, initiated_ms, upload_id LIMIT {batch}"
            );
            let from = match &cursor {
                UploadCursor::Key(Lower::Incl(s) | Lower::Excl(s)) => s.as_str(),
                UploadCursor::After { key, .. } => key.as_str(),
            };
            // $3 is always bound (unused without an upper bound) so parameter numbers stay fixed.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(bucket)
                .bind(from)
                .bind(upper.as_deref().unwrap_or(""));
            if let UploadCursor::After {
                initiated_ms,
                upload_id,
                ..
            } = &cursor
            {
                q = q.bind(*initiated_ms).bind(upload_id.as_str());
            }
            let rows = q.fetch_all(&self.pool).await?;
            let fetched = rows.len();
            let mut next = None;
            for row in &rows {
                let up = upload_from_row(row)?;
                if count == max {
                    page.is_truncated = true;
                    break 'scan;
                }
                count += 1;
                if let Some(cp) = rollup(&up.key, prefix, delim) {
                    page.common_prefixes.push(cp.to_string());
                    page.next_key_marker = Some(cp.to_string());
                    page.next_upload_id_marker = None;
                    match successor(cp) {
                        Some(s) => {
                            cursor = UploadCursor::Key(Lower::Incl(s));
                            continue 'scan;
                        }
                        None => break 'scan,
                    }
                }
                page.next_key_marker = Some(up.key.clone());
                page.next_upload_id_marker = Some(up.upload_id.clone());
                next = Some(UploadCursor::After {
                    key: up.key.clone(),
                    initiated_ms: up.initiated_ms,
                    upload_id: up.upload_id.clone(),
                });
                page.uploads.push(up);
            }
            match next {
                Some(n) if fetched == batch => cursor = n,
                _ => break,
            }
        }
        Ok(page)
    }

    /// Completes an upload in one transaction: checks `cond`, writes `rec` (whose segments are the chosen
    /// parts), deletes the upload and all its part rows. Returns the replaced object and the parts that were
    /// uploaded but not used (their blobs are the caller's to delete). `NoSuchUpload` if already gone.
    /// The replaced record comes without its inline data.
    pub async fn complete_upload(
        &self,
        upload_id: &str,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<(PutOutcome, Vec<Part>)> {
        if let Some(g) = &self.group {
            let op = Op::CompleteUpload {
                upload_id: upload_id.to_string(),
                rec: rec.clone(),
                cond: cond.clone(),
            };
            return match g.submit(op).await? {
                Done::Completed(out, unused) => Ok((out, unused)),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let done = self
            .complete_upload_in(&mut tx, upload_id, rec, cond)
            .await?;
        commit(tx).await?;
        Ok(done)
    }

    /// `complete_upload` inside the caller's write transaction.
    pub(crate) async fn complete_upload_in(
        &self,
        conn: &mut AnyConnection,
        upload_id: &str,
        rec: &ObjectRecord,
        cond: &WriteCondition,
    ) -> Result<(PutOutcome, Vec<Part>)> {
        let parts = self.take_upload(conn, upload_id, None).await?;
        let replaced = self.write_object(conn, rec, cond).await?;
        let used: std::collections::HashSet<&str> =
            rec.segments.iter().map(|s| s.locator.as_str()).collect();
        let unused = parts
            .into_iter()
            .filter(|p| !used.contains(p.locator.as_str()))
            .collect();
        Ok((PutOutcome { replaced }, unused))
    }

    /// Deletes the upload and its parts; returns the parts (blobs to delete). `NoSuchUpload` if absent.
    pub async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<Part>> {
        if let Some(g) = &self.group {
            let op = Op::AbortUpload {
                bucket: bucket.to_string(),
                key: key.to_string(),
                upload_id: upload_id.to_string(),
            };
            return match g.submit(op).await? {
                Done::Aborted(parts) => Ok(parts),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let parts = self
            .take_upload(&mut tx, upload_id, Some((bucket, key)))
            .await?;
        tx.commit().await?;
        Ok(parts)
    }

    /// Locks and deletes an upload (optionally checking its bucket/key) and its parts, returning the parts.
    pub(crate) async fn take_upload(
        &self,
        conn: &mut AnyConnection,
        upload_id: &str,
        owner: Option<(&str, &str)>,
    ) -> Result<Vec<Part>> {
        let sql = format!(
            "SELECT bucket, key FROM uploads WHERE upload_id = $1{}",
            self.for_update()
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(upload_id)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Err(MetaError::NoSuchUpload);
        };
        if let Some((bucket, key)) = owner {
            let (b, k): (String, String) = (get(&row, "bucket")?, get(&row, "key")?);
            if b != bucket || k != key {
                return Err(MetaError::NoSuchUpload);
            }
        }
        let sql =
            format!("SELECT {PART_COLS} FROM parts WHERE upload_id = $1 ORDER BY part_number");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(upload_id)
            .fetch_all(&mut *conn)
            .await?;
        let parts = rows.iter().map(part_from_row).collect::<Result<Vec<_>>>()?;
        sqlx::query("DELETE FROM parts WHERE upload_id = $1")
            .bind(upload_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM uploads WHERE upload_id = $1")
            .bind(upload_id)
            .execute(&mut *conn)
            .await?;
        Ok(parts)
    }
}
