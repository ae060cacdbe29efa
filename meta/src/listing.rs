//! ListObjects: index range scans in UTF-8 byte order with delimiter rollup by seeking.
//!
//! A prefix is scanned as the key range `[prefix, successor(prefix))`, never with `LIKE` (keys may contain
//! `%` and `_`). When a key rolls up into a common prefix, the prefix is emitted once and the next query
//! starts at `successor(common_prefix)`, so the keys beneath it are never read.

use crate::objects::{OBJECT_COLS, object_from_row};
use crate::store::get;
use crate::*;

/// Rows fetched per query at most.
const BATCH: usize = 1000;

/// The smallest string greater than every string that starts with `s`, in UTF-8 byte (= code point)
/// order; `None` if no such string exists (empty, or only U+10FFFF characters).
pub(crate) fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The common prefix `key` rolls up into: `key` up to and including the first `delim` after `prefix`.
pub(crate) fn rollup<'k>(key: &'k str, prefix: &str, delim: Option<&str>) -> Option<&'k str> {
    let delim = delim.filter(|d| !d.is_empty())?;
    let rest = key.strip_prefix(prefix)?;
    let at = rest.find(delim)?;
    key.get(..prefix.len() + at + delim.len())
}

/// Where the next range query starts.
#[derive(Debug, Clone)]
pub(crate) enum Lower {
    /// `key >= s`
    Incl(String),
    /// `key > s`
    Excl(String),
}

impl Lower {
    /// The first position strictly after `marker`, within a listing of `prefix`/`delim`: past the whole
    /// common prefix if `marker` lies in one. `None` if nothing can follow.
    pub(crate) fn after_marker(
        prefix: &str,
        delim: Option<&str>,
        marker: Option<&str>,
    ) -> Option<Lower> {
        match marker {
            Some(m) if m >= prefix => match rollup(m, prefix, delim) {
                Some(cp) => successor(cp).map(Lower::Incl),
                None => Some(Lower::Excl(m.to_string())),
            },
            _ => Some(Lower::Incl(prefix.to_string())),
        }
    }

    fn op_and_value(&self) -> (&'static str, &str) {
        match self {
            Lower::Incl(s) => (">=", s),
            Lower::Excl(s) => (">", s),
        }
    }
}

impl Meta {
    /// Lists current versions in UTF-8 byte order of key: keys starting with `prefix`, strictly after
    /// `marker`, rolling keys that contain `delimiter` after the prefix up into common prefixes (each
    /// common prefix counts once toward `max_keys`). `max_keys` 0 returns an empty, untruncated page.
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        marker: Option<&str>,
        max_keys: usize,
    ) -> Result<ListPage> {
        let mut page = ListPage::default();
        if max_keys == 0 {
            return Ok(page);
        }
        let delim = delimiter.filter(|d| !d.is_empty());
        let upper = if prefix.is_empty() {
            None
        } else {
            successor(prefix)
        };
        let Some(mut lower) = Lower::after_marker(prefix, delim, marker) else {
            return Ok(page);
        };
        let mut count = 0usize;
        'scan: loop {
            // One more row than we can return, to learn whether the page is truncated.
            let batch = (max_keys - count + 1).min(BATCH);
            let (op, from) = lower.op_and_value();
            let upper_clause = if upper.is_some() { "AND key < $3 " } else { "" };
            let sql = format!(
                "SELECT {OBJECT_COLS} FROM objects WHERE bucket = $1 AND is_latest = 1 AND delete_marker = 0 \
                 AND key {op} $2 \
                 {upper_clause}ORDER BY key LIMIT {batch}"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(bucket)
                .bind(from);
            if let Some(u) = &upper {
                q = q.bind(u.as_str());
            }
            let rows = q.fetch_all(&self.pool).await?;
            let fetched = rows.len();
            let mut next: Option<Lower> = None;
            for row in &rows {
                let key: String = get(row, "key")?;
                if count == max_keys {
                    page.is_truncated = true;
                    break 'scan;
                }
                count += 1;
                if let Some(cp) = rollup(&key, prefix, delim) {
                    page.common_prefixes.push(cp.to_string());
                    page.next_marker = Some(cp.to_string());
                    match successor(cp) {
                        // Seek past everything under the common prefix.
                        Some(s) => {
                            lower = Lower::Incl(s);
                            continue 'scan;
                        }
                        None => break 'scan,
                    }
                }
                page.objects.push(object_from_row(row)?);
                page.next_marker = Some(key.clone());
                next = Some(Lower::Excl(key));
            }
            match next {
                Some(n) if fetched == batch => lower = n,
                _ => break,
            }
        }
        Ok(page)
    }
}
