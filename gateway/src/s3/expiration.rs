//! `x-amz-expiration`: which lifecycle Expiration rule will expire an object, and when, as AWS reports it on
//! PUT, GET, HEAD, CopyObject and CompleteMultipartUpload (`expiry-date="Fri, 23 Dec 2012 00:00:00 GMT",
//! rule-id="..."`). The configuration comes from the bucket context (loaded with the bucket in one read, never
//! an extra query per request); the date is the one the worker acts on (`lifecycle_worker::due`), so with a
//! shortened `lifecycle_day_seconds` the header names the shortened day, not a calendar one.

use gatehouse_meta::ObjectRecord;
use s3s::dto::TimestampFormat;

use super::lifecycle::Lifecycle;
use super::lifecycle_worker::due;
use crate::access::bucket::BucketCtx;
use crate::state::AppState;

/// The header's value for `rec` (a version just written or read) in the bucket `ctx`, if an enabled
/// Expiration rule (Days or Date) applies to it; the earliest such rule when several do.
pub(crate) fn header(state: &AppState, ctx: &BucketCtx, rec: &ObjectRecord) -> Option<String> {
    if rec.delete_marker {
        return None;
    }
    let lc = ctx.lifecycle()?;
    let day_ms = i64::try_from(state.config.lifecycle_day_seconds.max(1))
        .unwrap_or(86_400)
        .saturating_mul(1000);
    let (at, id) = earliest(lc, &Version::of(rec), day_ms)?;
    let mut buf = Vec::new();
    super::ts(at)
        .format(TimestampFormat::HttpDate, &mut buf)
        .ok()?;
    let date = String::from_utf8(buf).ok()?;
    Some(format!("expiry-date=\"{date}\", rule-id=\"{id}\""))
}

/// What the rules look at of a version.
pub(crate) struct Version<'a> {
    pub key: &'a str,
    pub size: i64,
    pub tags: &'a [(String, String)],
    pub last_modified_ms: i64,
}

impl<'a> Version<'a> {
    pub(crate) fn of(rec: &'a ObjectRecord) -> Version<'a> {
        Version {
            key: &rec.key,
            size: rec.size,
            tags: &rec.tags,
            last_modified_ms: rec.last_modified_ms,
        }
    }
}

/// The earliest expiry (ms) among the enabled Expiration rules matching `rec`, with the rule's id.
pub(crate) fn earliest(lc: &Lifecycle, rec: &Version<'_>, day_ms: i64) -> Option<(i64, String)> {
    lc.rules
        .iter()
        .filter(|r| r.enabled && r.matches(rec.key, rec.size, rec.tags))
        .filter_map(|r| {
            let at = match (r.expiration_days, r.expiration_date_ms) {
                (Some(d), _) => due(rec.last_modified_ms, d, day_ms),
                (None, Some(date)) => date,
                (None, None) => return None,
            };
            Some((at, r.id.clone()))
        })
        .min_by_key(|(at, _)| *at)
}

#[cfg(test)]
mod tests {
    use super::super::lifecycle::Rule;
    use super::*;

    #[test]
    fn earliest_matching_rule_wins_and_real_days_round_to_midnight() {
        let rule = |id: &str, prefix: &str, days: Option<i32>, date: Option<i64>| Rule {
            id: id.into(),
            enabled: true,
            prefix: Some(prefix.into()),
            expiration_days: days,
            expiration_date_ms: date,
            ..Default::default()
        };
        let lc = Lifecycle {
            rules: vec![
                rule("late", "", Some(30), None),
                rule("soon", "a/", Some(1), None),
                rule("other", "b/", Some(1), None),
            ],
        };
        let rec = Version {
            key: "a/x",
            size: 1,
            tags: &[],
            last_modified_ms: 1_700_000_000_000, // 2023-11-14T22:13:20Z
        };
        let (at, id) = earliest(&lc, &rec, 86_400_000).unwrap_or_default();
        assert_eq!((at, id.as_str()), (1_700_092_800_000, "soon"));
        let (at, _) = earliest(&lc, &rec, 10_000).unwrap_or_default();
        assert_eq!(
            at, 1_700_000_010_000,
            "shortened days as the worker counts them"
        );
        let none = Version { key: "c", ..rec };
        assert_eq!(
            earliest(
                &Lifecycle {
                    rules: vec![rule("s", "a/", Some(1), None)]
                },
                &none,
                1
            ),
            None
        );
    }
}
