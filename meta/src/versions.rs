//! Object versions: reading and deleting one version, delete markers, ListObjectVersions.

use sqlx::AnyConnection;

use crate::group::{Done, Op, mismatched};
use crate::listing::{Lower, rollup, successor};
use crate::objects::{OBJECT_COLS, commit, object_from_row};
use crate::store::get;
use crate::*;

/// Rows fetched per query at most.
const BATCH: usize = 1000;

/// Where a version listing continues.
enum Cursor {
    /// Keys from (or after) this one.
    Key(Lower),
    /// Older versions of `key` than `seq`, then the keys after it.
    Within { key: String, seq: i64 },
}

impl Meta {
    /// Version `version_id` of `key` (a delete marker too), with its inline data if it has any.
    pub async fn get_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Option<ObjectRecord>> {
        let sql = format!(
            "SELECT {OBJECT_COLS}, inline_data FROM objects \
             WHERE bucket = $1 AND key = $2 AND version_id = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bucket)
            .bind(key)
            .bind(version_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut rec = object_from_row(&row)?;
        rec.inline_data = get(&row, "inline_data")?;
        Ok(Some(rec))
    }

    /// Makes the delete marker `marker` the current version of its key (a DELETE without version id in a
    /// versioning-enabled or -suspended bucket), if `cond` holds for the current version. Returns the
    /// "null" version it replaced, if any (its blobs are the caller's to delete).
    pub async fn put_delete_marker(
        &self,
        marker: &ObjectRecord,
        cond: &DeleteCondition,
    ) -> Result<PutOutcome> {
        if let Some(g) = &self.group {
            let op = Op::PutDeleteMarker {
                rec: marker.clone(),
                cond: cond.clone(),
            };
            return match g.submit(op).await? {
                Done::Put(out) => Ok(out),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let replaced = self.put_delete_marker_in(&mut tx, marker, cond).await?;
        commit(tx).await?;
        Ok(PutOutcome { replaced })
    }

    /// `put_delete_marker` inside the caller's write transaction.
    pub(crate) async fn put_delete_marker_in(
        &self,
        conn: &mut AnyConnection,
        marker: &ObjectRecord,
        cond: &DeleteCondition,
    ) -> Result<Option<ObjectRecord>> {
        if cond.is_conditional() {
            let sql = format!(
                "SELECT {OBJECT_COLS} FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1{}",
                self.for_update()
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&marker.bucket)
                .bind(&marker.key)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(cur) = row.as_ref().map(object_from_row).transpose()? {
                crate::objects::check_delete_condition(&cur, cond)?;
            }
        }
        self.write_object(conn, marker, &WriteCondition::default())
            .await
    }

    /// Permanently deletes version `version_id` of `key` (a delete marker too); if it was the current
    /// version, the newest remaining version becomes current. Returns the deleted version (without inline
    /// data), `None` if there was no such version.
    pub async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Option<ObjectRecord>> {
        self.delete_version_if(bucket, key, version_id, &DeleteCondition::default())
            .await
    }

    /// `delete_version` if `cond` holds for that version (`PreconditionFailed` otherwise).
    pub async fn delete_version_if(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        cond: &DeleteCondition,
    ) -> Result<Option<ObjectRecord>> {
        if let Some(g) = &self.group {
            let op = Op::DeleteVersion {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                version_id: version_id.to_owned(),
                cond: cond.clone(),
            };
            return match g.submit(op).await? {
                Done::Deleted(old) => Ok(old),
                _ => Err(mismatched()),
            };
        }
        let mut tx = self.begin_write().await?;
        let old = self
            .delete_version_in(&mut tx, bucket, key, version_id, cond)
            .await?;
        if old.is_some() {
            commit(tx).await?;
        }
        Ok(old)
    }

    /// `delete_version` inside the caller's write transaction.
    pub(crate) async fn delete_version_in(
        &self,
        conn: &mut AnyConnection,
        bucket: &str,
        key: &str,
        version_id: &str,
        cond: &DeleteCondition,
    ) -> Result<Option<ObjectRecord>> {
        let Some((old, was_latest)) = self
            .select_version(&mut *conn, bucket, key, version_id)
            .await?
        else {
            return Ok(None);
        };
        crate::objects::check_delete_condition(&old, cond)?;
        crate::lock::check_delete(&old, cond.bypass_governance)?;
        self.delete_row(&mut *conn, &old).await?;
        if was_latest {
            sqlx::query(
                "UPDATE objects SET is_latest = 1 WHERE bucket = $1 AND key = $2 AND seq = \
                 (SELECT MAX(seq) FROM objects WHERE bucket = $1 AND key = $2)",
            )
            .bind(bucket)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        }
        Ok(Some(old))
    }

    /// Lists versions and delete markers: keys starting with `prefix` in UTF-8 byte order, newest version
    /// first within a key, starting after (`key_marker`, `version_id_marker`) (after the whole key when no
    /// version id marker is given), rolling keys that contain `delimiter` after the prefix up into common
    /// prefixes (each counts once toward `max_keys`).
    pub async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        key_marker: Option<&str>,
        version_id_marker: Option<&str>,
        max_keys: usize,
    ) -> Result<VersionPage> {
        let mut page = VersionPage::default();
        if max_keys == 0 {
            return Ok(page);
        }
        let delim = delimiter.filter(|d| !d.is_empty());
        let upper = if prefix.is_empty() {
            None
        } else {
            successor(prefix)
        };
        let mut cursor = match (key_marker, version_id_marker.filter(|v| !v.is_empty())) {
            (Some(k), Some(v)) if k >= prefix && rollup(k, prefix, delim).is_none() => {
                let row = sqlx::query(
                    "SELECT seq FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3",
                )
                .bind(bucket)
                .bind(k)
                .bind(v)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(r) => Cursor::Within {
                        key: k.to_owned(),
                        seq: get(&r, "seq")?,
                    },
                    None => Cursor::Key(Lower::Excl(k.to_owned())),
                }
            }
            _ => match Lower::after_marker(prefix, delim, key_marker) {
                Some(l) => Cursor::Key(l),
                None => return Ok(page),
            },
        };
        let mut count = 0usize;
        'scan: loop {
            let batch = (max_keys - count + 1).min(BATCH);
            let upper_clause = if upper.is_some() { " AND key < $4" } else { "" };
            let (range, key, seq) = match &cursor {
                Cursor::Key(Lower::Incl(s)) => ("key >= $2 AND $3 = $3", s.as_str(), 0),
                Cursor::Key(Lower::Excl(s)) => ("key > $2 AND $3 = $3", s.as_str(), 0),
                Cursor::Within { key, seq } => {
                    ("((key = $2 AND seq < $3) OR key > $2)", key.as_str(), *seq)
                }
            };
            let sql = format!(
                "SELECT {OBJECT_COLS}, is_latest, seq FROM objects WHERE bucket = $1 AND {range}{upper_clause} \
                 ORDER BY key, seq DESC LIMIT {batch}"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(bucket)
                .bind(key)
                .bind(seq);
            if let Some(u) = &upper {
                q = q.bind(u.as_str());
            }
            let rows = q.fetch_all(&self.pool).await?;
            let fetched = rows.len();
            let mut next: Option<Cursor> = None;
            for row in &rows {
                let key: String = get(row, "key")?;
                if count == max_keys {
                    page.is_truncated = true;
                    break 'scan;
                }
                count += 1;
                if let Some(cp) = rollup(&key, prefix, delim) {
                    page.common_prefixes.push(cp.to_owned());
                    page.next_key_marker = Some(cp.to_owned());
                    page.next_version_id_marker = None;
                    match successor(cp) {
                        Some(s) => {
                            cursor = Cursor::Key(Lower::Incl(s));
                            continue 'scan;
                        }
                        None => break 'scan,
                    }
                }
                let rec = object_from_row(row)?;
                let latest = get::<i64>(row, "is_latest")? != 0;
                page.next_key_marker = Some(key.clone());
                page.next_version_id_marker = Some(rec.version_id.clone());
                next = Some(Cursor::Within {
                    key,
                    seq: get(row, "seq")?,
                });
                page.versions.push((rec, latest));
            }
            match next {
                Some(n) if fetched == batch => cursor = n,
                _ => break,
            }
        }
        if !page.is_truncated {
            page.next_key_marker = None;
            page.next_version_id_marker = None;
        }
        Ok(page)
    }
}
