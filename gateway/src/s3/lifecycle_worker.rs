//! The lifecycle worker: applies each bucket's lifecycle rules (`lifecycle.rs`) in the background.
//!
//! Every pass visits the buckets that have a configuration; for each it takes the bucket's lease in `meta`
//! (one gateway at a time on a shared Postgres), handles at most `BATCH` versions from where the previous pass
//! stopped (the lease's cursor, saved after each batch, so a killed worker resumes instead of starting over),
//! and aborts incomplete multipart uploads that are due. Transitions move a version's bytes to another storage
//! class (`transition.rs`: copy, switch the row if the version is unchanged, free the old blobs). Every action
//! is idempotent: expiring a current version only happens while it is not a delete marker, deleting a version
//! that is gone deletes nothing, and a version already in its target class is not moved, so a pass repeated
//! after a crash never deletes twice. Deletes go through `meta`, which refuses locked or legal-held
//! versions (`ObjectLocked`): the worker skips those.
//!
//! Days count in `lifecycle_day_seconds` (default 86400): a rule's action is due `Days` such days after the
//! version's reference time (its creation; for noncurrent versions, the time its successor was written). With
//! real days the time is rounded up to the next midnight UTC, as S3 does.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_meta::{DeleteCondition, MetaError, ObjectRecord};

use super::lifecycle::{Lifecycle, Rule, parse_setting};
use super::versioning::{self, Versioning};
use super::{Gatehouse, delete_blobs};
use crate::state::AppState;

/// Versions handled per bucket per pass at most.
const BATCH: usize = 1000;
/// How long a lease lasts unless renewed.
const LEASE: Duration = Duration::from_secs(120);
const REAL_DAY_MS: i64 = 86_400_000;

/// Starts the worker; it runs until the task is aborted.
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    let day = state.config.lifecycle_day_seconds.max(1);
    // Ten passes a day, at least one a second and one every ten minutes.
    let every = Duration::from_secs((day / 10).clamp(1, 600));
    let owner = owner_id(&state.config.data_dir);
    tokio::spawn(async move {
        let g = Gatehouse { state };
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = pass(&g, &owner).await {
                tracing::warn!(error = %e, "lifecycle pass failed");
            }
        }
    })
}

/// This gateway's lease owner id: kept in the data directory, so a gateway restarted after a crash resumes its
/// own leases at once instead of waiting for them to expire. Safe because the data directory is locked by one
/// process at a time (`server::lock_data_dir`), so no two live workers ever share an id.
fn owner_id(data_dir: &std::path::Path) -> String {
    let path = data_dir.join("lifecycle-owner");
    if let Ok(id) = std::fs::read_to_string(&path)
        && id.trim().len() == 32
    {
        return id.trim().to_owned();
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    if let Err(e) = std::fs::write(&path, &id) {
        tracing::warn!(error = %e, "cannot keep the lifecycle owner id; a restart waits for its leases");
    }
    id
}

/// One pass over every bucket with a lifecycle configuration.
pub async fn pass(g: &Gatehouse, owner: &str) -> anyhow::Result<()> {
    let day_ms = i64::try_from(g.state.config.lifecycle_day_seconds.max(1))
        .unwrap_or(86_400)
        .saturating_mul(1000);
    for (bucket, value) in g
        .state
        .meta
        .buckets_with_setting(super::lifecycle::SETTING)
        .await?
    {
        let now = gatehouse_core::now_ms();
        let until = now + i64::try_from(LEASE.as_millis()).unwrap_or(120_000);
        let Some(cursor) = g
            .state
            .meta
            .take_lifecycle_lease(&bucket, owner, now, until)
            .await?
        else {
            continue;
        };
        let Ok(lc) = parse_setting(&bucket, &value) else {
            continue;
        };
        if let Err(e) = run_bucket(g, owner, &bucket, &lc, cursor, day_ms).await {
            tracing::warn!(bucket, error = %e, "lifecycle of the bucket failed");
        }
    }
    Ok(())
}

/// When an action `days` days after `t` is due.
pub(crate) fn due(t: i64, days: i32, day_ms: i64) -> i64 {
    let at = t.saturating_add(i64::from(days).saturating_mul(day_ms));
    if day_ms == REAL_DAY_MS {
        at.saturating_add(REAL_DAY_MS - 1).div_euclid(REAL_DAY_MS) * REAL_DAY_MS
    } else {
        at
    }
}

/// One batch of one bucket, then its uploads.
async fn run_bucket(
    g: &Gatehouse,
    owner: &str,
    bucket: &str,
    lc: &Lifecycle,
    cursor: Option<String>,
    day_ms: i64,
) -> anyhow::Result<()> {
    let rules: Vec<&Rule> = lc.rules.iter().filter(|r| r.enabled).collect();
    if rules.is_empty() {
        return Ok(());
    }
    let meta = &g.state.meta;
    let Some(loaded) = super::request_bucket(&g.state, &http::Extensions::new(), bucket)
        .await
        .ok()
    else {
        return Ok(());
    };
    let marker_owner = meta
        .get_account(&loaded.bucket.owner_account_id)
        .await?
        .map(|a| a.canonical_id)
        .unwrap_or_default();
    let mode = versioning::parse(loaded.versioning.as_deref());
    let mut ext = http::Extensions::new();
    ext.insert(loaded);
    let page = meta
        .list_versions(bucket, "", None, cursor.as_deref(), None, BATCH)
        .await?;
    // Whole keys only: a key cut by the page end is handled next time (unless it is the only one).
    let mut groups: Vec<Vec<(ObjectRecord, bool)>> = Vec::new();
    for (rec, latest) in page.versions {
        match groups.last_mut() {
            Some(gr) if gr[0].0.key == rec.key => gr.push((rec, latest)),
            _ => groups.push(vec![(rec, latest)]),
        }
    }
    if page.is_truncated && groups.len() > 1 {
        groups.pop();
    }
    let next = if page.is_truncated {
        groups.last().map(|gr| gr[0].0.key.clone())
    } else {
        None
    };
    let now = gatehouse_core::now_ms();
    let mut renewed = std::time::Instant::now();
    for versions in &groups {
        // Transitions copy bytes: a long batch renews the lease, and stops if another gateway took it.
        if renewed.elapsed() > LEASE / 2 {
            let at = gatehouse_core::now_ms();
            let until = at + i64::try_from(LEASE.as_millis()).unwrap_or(120_000);
            if meta
                .take_lifecycle_lease(bucket, owner, at, until)
                .await?
                .is_none()
            {
                return Ok(());
            }
            renewed = std::time::Instant::now();
        }
        apply(
            g,
            &ext,
            bucket,
            mode,
            &marker_owner,
            &rules,
            versions,
            now,
            day_ms,
        )
        .await?;
    }
    if !meta
        .set_lifecycle_cursor(bucket, owner, next.as_deref())
        .await?
    {
        return Ok(());
    }
    if rules.iter().any(|r| r.abort_days.is_some()) {
        abort_uploads(g, bucket, &rules, now, day_ms).await?;
    }
    Ok(())
}

/// Deletes one version through `meta` (which refuses locked ones); `true` if it was deleted.
async fn delete_version(g: &Gatehouse, rec: &ObjectRecord) -> anyhow::Result<bool> {
    match g
        .state
        .meta
        .delete_version_if(
            &rec.bucket,
            &rec.key,
            &rec.version_id,
            &DeleteCondition::default(),
        )
        .await
    {
        Ok(Some(old)) => {
            delete_blobs(
                &g.state,
                old.segments.into_iter().map(|s| s.locator).collect(),
            );
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(MetaError::ObjectLocked) => {
            tracing::debug!(bucket = %rec.bucket, key = %rec.key, version = %rec.version_id,
                "lifecycle leaves a locked version");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Applies the rules to the versions of one key (newest first; `true` marks the current one).
#[allow(clippy::too_many_arguments)]
async fn apply(
    g: &Gatehouse,
    ext: &http::Extensions,
    bucket: &str,
    mode: Versioning,
    marker_owner: &str,
    rules: &[&Rule],
    versions: &[(ObjectRecord, bool)],
    now: i64,
    day_ms: i64,
) -> anyhow::Result<()> {
    let Some((current, true)) = versions.first() else {
        return Ok(());
    };
    let key = current.key.as_str();
    // Expiration of the current version: a delete marker on top (versioned buckets) or the object's removal.
    if !current.delete_marker {
        let expired = rules.iter().any(|r| {
            r.matches(key, current.size, &current.tags)
                && (r
                    .expiration_days
                    .is_some_and(|d| now >= due(current.last_modified_ms, d, day_ms))
                    || r.expiration_date_ms.is_some_and(|d| now >= d))
        });
        if expired {
            // Only the version listed: a write since then makes the delete's precondition fail (skipped).
            let cond = DeleteCondition {
                if_match: Some(current.etag.clone()),
                last_modified_ms: Some(current.last_modified_ms),
                size: Some(current.size),
                bypass_governance: false,
            };
            match versioning::delete_key(g, ext, bucket, key, None, &cond, marker_owner).await {
                Ok(_) => {}
                Err(e) if matches!(e.code().as_str(), "AccessDenied" | "PreconditionFailed") => {}
                Err(e) => anyhow::bail!("expiring {key}: {e}"),
            }
            // The key changed under this listing: the rest waits for the next pass.
            return Ok(());
        }
        // Transition of the current version: the latest due Transition of the matching rules.
        let target = latest_due(
            rules
                .iter()
                .filter(|r| r.matches(key, current.size, &current.tags))
                .flat_map(|r| {
                    r.transitions.iter().filter_map(|t| {
                        let at = match (t.days, t.date_ms) {
                            (Some(d), _) => due(current.last_modified_ms, d, day_ms),
                            (None, Some(date)) => date,
                            (None, None) => return None,
                        };
                        (now >= at).then_some((at, t.class.as_str()))
                    })
                }),
        );
        if let Some(class) = target {
            move_version(g, current, class).await?;
        }
    }
    if mode == Versioning::Off {
        return Ok(());
    }
    // Noncurrent versions: due `NoncurrentDays` after their successor was written, beyond the newest N kept.
    let mut remaining = versions.len();
    for (i, (v, _)) in versions.iter().enumerate().skip(1) {
        let since = versions[i - 1].0.last_modified_ms;
        let rank = i - 1;
        let due_now = rules.iter().any(|r| {
            r.matches(key, v.size, &v.tags)
                && r.noncurrent_days
                    .is_some_and(|d| now >= due(since, d, day_ms))
                && r.newer_noncurrent_versions
                    .is_none_or(|n| rank >= usize::try_from(n).unwrap_or(usize::MAX))
        });
        if due_now && delete_version(g, v).await? {
            remaining -= 1;
            continue;
        }
        if v.delete_marker {
            continue;
        }
        let target = latest_due(
            rules
                .iter()
                .filter(|r| r.matches(key, v.size, &v.tags))
                .flat_map(|r| {
                    r.noncurrent_transitions.iter().filter_map(|t| {
                        let at = due(since, t.days, day_ms);
                        let beyond = t
                            .newer
                            .is_none_or(|n| rank >= usize::try_from(n).unwrap_or(usize::MAX));
                        (now >= at && beyond).then_some((at, t.class.as_str()))
                    })
                }),
        );
        if let Some(class) = target {
            move_version(g, v, class).await?;
        }
    }
    // An expired object delete marker: the only version left of its key.
    if current.delete_marker && remaining == 1 {
        let expired = rules.iter().any(|r| {
            r.matches(key, 0, &[])
                && (r.expired_object_delete_marker == Some(true)
                    || r.expiration_days
                        .is_some_and(|d| now >= due(current.last_modified_ms, d, day_ms)))
        });
        if expired {
            delete_version(g, current).await?;
        }
    }
    Ok(())
}

/// The class of the transition due last among `due` (time due, class): the latest stage reached.
fn latest_due<'a>(due: impl Iterator<Item = (i64, &'a str)>) -> Option<&'a str> {
    due.max_by_key(|(at, _)| *at).map(|(_, c)| c)
}

/// Transitions `rec` to `class` unless it is there already or in an archive class (archived objects do not
/// move on; a restore is the way out).
async fn move_version(g: &Gatehouse, rec: &ObjectRecord, class: &str) -> anyhow::Result<()> {
    if rec.storage_class == class
        || g.state
            .config
            .storage_class(&rec.storage_class)
            .is_some_and(|c| c.archive)
    {
        return Ok(());
    }
    // One version that cannot move (an unreadable blob, say) must not stop the bucket's pass: logged, retried
    // next pass.
    if let Err(e) = super::transition::transition(&g.state, rec, class).await {
        tracing::warn!(bucket = %rec.bucket, key = %rec.key, version = %rec.version_id, class, error = %e,
            "lifecycle transition failed");
    }
    Ok(())
}

/// Aborts the incomplete multipart uploads that are due (rules with AbortIncompleteMultipartUpload filter by
/// prefix only), freeing their parts' blobs; at most `BATCH` uploads a pass.
async fn abort_uploads(
    g: &Gatehouse,
    bucket: &str,
    rules: &[&Rule],
    now: i64,
    day_ms: i64,
) -> anyhow::Result<()> {
    let meta = &g.state.meta;
    let page = meta
        .list_uploads(bucket, "", None, None, None, BATCH)
        .await?;
    for u in &page.uploads {
        let due_now = rules.iter().any(|r| {
            r.matches(&u.key, 0, &[])
                && r.abort_days
                    .is_some_and(|d| now >= due(u.initiated_ms, d, day_ms))
        });
        if !due_now {
            continue;
        }
        match meta.abort_upload(bucket, &u.key, &u.upload_id).await {
            Ok(parts) => delete_blobs(&g.state, parts.into_iter().map(|p| p.locator).collect()),
            Err(MetaError::NoSuchUpload) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_days_round_up_to_midnight_utc() {
        let t = 1_700_000_000_000; // 2023-11-14T22:13:20Z
        assert_eq!(due(t, 1, REAL_DAY_MS), 1_700_092_800_000); // 2023-11-16T00:00:00Z
        assert_eq!(due(t, 1, 10_000), t + 10_000);
    }
}
