//! Object Lock (WORM): the bucket's lock configuration (a bucket setting), object retention and legal hold, the
//! `x-amz-object-lock-*` headers of writes and the bucket's default retention for new versions, and who may
//! bypass GOVERNANCE retention. What a lock forbids is enforced in `meta` (`meta/src/lock.rs`), inside the
//! transaction that would delete or overwrite a version; this module only validates and decides permissions.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use serde::{Deserialize, Serialize};

use gatehouse_meta::{COMPLIANCE, GOVERNANCE, ObjectLock, ObjectRecord};

use super::versioning::{self, Versioning};
use super::{Gatehouse, custom_error, meta_err, ms_of, ts};
use crate::state::AppState;

/// The bucket setting holding the lock configuration (JSON `BucketLock`); absent: Object Lock is off.
pub(crate) const SETTING: &str = "object-lock";

/// Milliseconds in a day, and in a year of default retention (365 days, as S3 counts).
const DAY_MS: i64 = 86_400_000;
const YEAR_MS: i64 = 365 * DAY_MS;

/// A bucket's Object Lock configuration as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BucketLock {
    /// The default retention of new versions: mode and days or years (exactly one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<i32>,
}

impl BucketLock {
    /// The setting's value.
    pub(crate) fn to_setting(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The retention a new version gets at `now_ms` when its request names none.
    fn default_retention(&self, now_ms: i64) -> Option<(String, i64)> {
        let mode = self.mode.clone()?;
        let span = match (self.days, self.years) {
            (Some(d), _) => i64::from(d).saturating_mul(DAY_MS),
            (None, Some(y)) => i64::from(y).saturating_mul(YEAR_MS),
            (None, None) => return None,
        };
        Some((mode, now_ms.saturating_add(span)))
    }
}

/// The lock configuration of `bucket` (`None`: Object Lock not enabled); NoSuchBucket if it does not exist.
pub(crate) async fn bucket_lock(state: &AppState, bucket: &str) -> S3Result<Option<BucketLock>> {
    // From the bucket context (one cached read for everything a request needs of its bucket).
    let ctx = state
        .buckets
        .get(&state.meta, bucket)
        .await
        .map_err(meta_err)?
        .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))?;
    match ctx.settings.get(SETTING) {
        None => Ok(None),
        Some(v) => serde_json::from_str(v).map(Some).map_err(|e| {
            tracing::error!(bucket, error = %e, "unreadable object-lock setting");
            s3_error!(
                InternalError,
                "We encountered an internal error. Please try again."
            )
        }),
    }
}

fn malformed() -> s3s::S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

fn missing_configuration() -> s3s::S3Error {
    s3_error!(
        InvalidRequest,
        "Bucket is missing Object Lock Configuration"
    )
}

/// The bucket's lock configuration, or InvalidRequest as S3 answers object-level lock requests on a bucket
/// without Object Lock.
async fn require_lock(state: &AppState, bucket: &str) -> S3Result<BucketLock> {
    bucket_lock(state, bucket)
        .await?
        .ok_or_else(missing_configuration)
}

/// Whether the request carries Content-MD5 or a checksum (header or aws-chunked trailer), which S3 requires
/// of writes that set Object Lock parameters and of the lock configuration requests.
fn carries_digest(headers: &http::HeaderMap) -> bool {
    super::claims_digest(headers)
        || headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.to_ascii_lowercase().contains("x-amz-checksum-"))
}

pub(crate) fn require_digest(headers: &http::HeaderMap) -> S3Result<()> {
    if carries_digest(headers) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidRequest,
            "Missing required header for this request: Content-MD5 OR x-amz-checksum-*"
        ))
    }
}

/// Whether `mode` is a retention mode (S3 spells them in capitals only).
fn valid_mode(mode: &str) -> bool {
    mode == GOVERNANCE || mode == COMPLIANCE
}

/// Whether this request may bypass GOVERNANCE retention on `key`: it says so
/// (`x-amz-bypass-governance-retention: true`) and the principal is allowed s3:BypassGovernanceRetention (the
/// account root always is).
pub(crate) async fn may_bypass(
    state: &AppState,
    ext: &http::Extensions,
    key: &str,
    header: Option<bool>,
) -> bool {
    header == Some(true)
        && crate::authz::key_allowed(state, ext, "s3:BypassGovernanceRetention", key).await
}

/// The lock headers of a write request (PutObject, CopyObject, CreateMultipartUpload).
pub(crate) struct LockHeaders<'a> {
    pub mode: Option<&'a ObjectLockMode>,
    pub until: Option<&'a Timestamp>,
    pub legal_hold: Option<&'a ObjectLockLegalHoldStatus>,
}

impl LockHeaders<'_> {
    fn any(&self) -> bool {
        self.mode.is_some() || self.until.is_some() || self.legal_hold.is_some()
    }
}

/// The Object Lock state a new version of `key` gets: what its headers name, else the bucket's default
/// retention. Validates the headers as S3 does; `digest_required` for requests with a body (PutObject).
/// Naming a retention or legal hold needs s3:PutObjectRetention / s3:PutObjectLegalHold, which the
/// authoriser checks with the write (`access::operations::extra_actions`).
pub(crate) async fn for_new_version(
    state: &AppState,
    req_headers: &http::HeaderMap,
    loaded: &crate::authz::LoadedBucket,
    h: &LockHeaders<'_>,
    digest_required: bool,
) -> S3Result<ObjectLock> {
    // Object Lock implies versioning enabled (it cannot be suspended): skip the setting read otherwise.
    let enabled = versioning::parse(loaded.versioning.as_deref()) == Versioning::Enabled;
    let config = if enabled {
        bucket_lock(state, &loaded.bucket.name).await?
    } else {
        None
    };
    if !h.any() {
        let mut lock = ObjectLock::default();
        if let Some((mode, until)) = config
            .as_ref()
            .and_then(|c| c.default_retention(gatehouse_core::now_ms()))
        {
            lock.mode = Some(mode);
            lock.retain_until_ms = Some(until);
        }
        return Ok(lock);
    }
    if config.is_none() {
        return Err(missing_configuration());
    }
    if digest_required {
        require_digest(req_headers)?;
    }
    let mut lock = ObjectLock::default();
    match (h.mode, h.until) {
        (None, None) => {
            if let Some((mode, until)) = config
                .as_ref()
                .and_then(|c| c.default_retention(gatehouse_core::now_ms()))
            {
                lock.mode = Some(mode);
                lock.retain_until_ms = Some(until);
            }
        }
        (Some(m), Some(t)) => {
            if !valid_mode(m.as_str()) {
                return Err(s3_error!(InvalidArgument, "Unknown wormMode directive."));
            }
            let until = ms_of(t);
            if until <= gatehouse_core::now_ms() {
                return Err(s3_error!(
                    InvalidArgument,
                    "The retain until date must be in the future!"
                ));
            }
            lock.mode = Some(m.as_str().to_owned());
            lock.retain_until_ms = Some(until);
        }
        _ => {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
            ));
        }
    }
    if let Some(hold) = h.legal_hold {
        lock.legal_hold = Some(match hold.as_str() {
            ObjectLockLegalHoldStatus::ON => true,
            ObjectLockLegalHoldStatus::OFF => false,
            _ => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Legal Hold must be either of 'ON' or 'OFF'"
                ));
            }
        });
    }
    Ok(lock)
}

/// The lock fields GET and HEAD report for a version: mode, retain-until date, legal hold status.
pub(crate) fn report(
    rec: &ObjectRecord,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    let l = &rec.lock;
    (
        l.mode.clone().map(ObjectLockMode::from),
        l.retain_until_ms.map(ts),
        l.legal_hold.map(|on| {
            ObjectLockLegalHoldStatus::from_static(if on {
                ObjectLockLegalHoldStatus::ON
            } else {
                ObjectLockLegalHoldStatus::OFF
            })
        }),
    )
}

/// The lock fields GET and HEAD report to this request's caller: the retention only to who may
/// s3:GetObjectRetention, the legal hold only to who may s3:GetObjectLegalHold (as AWS).
pub(crate) async fn report_to(
    state: &crate::state::AppState,
    ext: &http::Extensions,
    rec: &ObjectRecord,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    let (mut mode, mut until, mut hold) = report(rec);
    if (mode.is_some() || until.is_some())
        && !crate::authz::key_allowed(state, ext, "s3:GetObjectRetention", &rec.key).await
    {
        (mode, until) = (None, None);
    }
    if hold.is_some()
        && !crate::authz::key_allowed(state, ext, "s3:GetObjectLegalHold", &rec.key).await
    {
        hold = None;
    }
    (mode, until, hold)
}

/// PutObjectLockConfiguration: on a bucket created with Object Lock, or (as AWS now allows) on any bucket
/// whose versioning is enabled, which turns Object Lock on for good.
pub(crate) async fn put_object_lock_configuration(
    g: &Gatehouse,
    req: S3Request<PutObjectLockConfigurationInput>,
) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
    let i = &req.input;
    if i.request_payer.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "Requester Pays is not implemented"
        ));
    }
    require_digest(&req.headers)?;
    let loaded = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let c = i.object_lock_configuration.as_ref().ok_or_else(malformed)?;
    if c.object_lock_enabled
        .as_ref()
        .map(ObjectLockEnabled::as_str)
        != Some(ObjectLockEnabled::ENABLED)
    {
        return Err(malformed());
    }
    let mut cfg = BucketLock::default();
    if let Some(rule) = &c.rule {
        let d = rule.default_retention.as_ref().ok_or_else(malformed)?;
        let mode = d.mode.as_ref().map(ObjectLockRetentionMode::as_str);
        match mode {
            Some(m) if valid_mode(m) => cfg.mode = Some(m.to_owned()),
            _ => return Err(malformed()),
        }
        let bad_period = || {
            custom_error(
                "InvalidRetentionPeriod",
                http::StatusCode::BAD_REQUEST,
                "Default retention period must be a positive integer value",
            )
        };
        match (d.days, d.years) {
            (Some(_), Some(_)) | (None, None) => return Err(malformed()),
            (Some(n), None) if n <= 0 => return Err(bad_period()),
            (None, Some(n)) if n <= 0 => return Err(bad_period()),
            (days, years) => {
                cfg.days = days;
                cfg.years = years;
            }
        }
    }
    let existing = bucket_lock(&g.state, &i.bucket).await?;
    if existing.is_none() && versioning::parse(loaded.versioning.as_deref()) != Versioning::Enabled
    {
        return Err(s3_error!(
            InvalidBucketState,
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
        ));
    }
    g.state
        .meta
        .put_bucket_setting(&i.bucket, SETTING, &cfg.to_setting())
        .await
        .map_err(meta_err)?;
    Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
}

/// GetObjectLockConfiguration.
pub(crate) async fn get_object_lock_configuration(
    g: &Gatehouse,
    req: S3Request<GetObjectLockConfigurationInput>,
) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
    let cfg = bucket_lock(&g.state, &req.input.bucket)
        .await?
        .ok_or_else(|| {
            s3_error!(
                ObjectLockConfigurationNotFoundError,
                "Object Lock configuration does not exist for this bucket"
            )
        })?;
    let rule = cfg.mode.as_ref().map(|m| ObjectLockRule {
        default_retention: Some(DefaultRetention {
            mode: Some(ObjectLockRetentionMode::from(m.clone())),
            days: cfg.days,
            years: cfg.years,
        }),
    });
    Ok(S3Response::new(GetObjectLockConfigurationOutput {
        object_lock_configuration: Some(ObjectLockConfiguration {
            object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
            rule,
        }),
    }))
}

/// The version an object-level lock request addresses (its current version without a version id).
async fn target(
    state: &AppState,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<ObjectRecord> {
    super::read::load_version(state, bucket, key, version_id).await
}

fn no_such(version_id: Option<&str>) -> s3s::S3Error {
    match version_id {
        None => s3_error!(NoSuchKey, "The specified key does not exist."),
        Some(_) => s3_error!(NoSuchVersion, "The specified version does not exist."),
    }
}

/// PutObjectRetention: sets, extends, shortens or (with an empty `Retention`) removes a version's retention, as
/// far as `meta`'s rules allow (AccessDenied otherwise).
pub(crate) async fn put_object_retention(
    g: &Gatehouse,
    req: S3Request<PutObjectRetentionInput>,
) -> S3Result<S3Response<PutObjectRetentionOutput>> {
    let i = &req.input;
    if i.request_payer.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "Requester Pays is not implemented"
        ));
    }
    require_digest(&req.headers)?;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    require_lock(&g.state, &i.bucket).await?;
    let r = i.retention.as_ref().ok_or_else(malformed)?;
    let (mode, until) = match (&r.mode, &r.retain_until_date) {
        (None, None) => (None, None),
        (Some(m), Some(t)) => {
            if !valid_mode(m.as_str()) {
                return Err(malformed());
            }
            let until = ms_of(t);
            if until <= gatehouse_core::now_ms() {
                return Err(s3_error!(
                    InvalidArgument,
                    "The retain until date must be in the future!"
                ));
            }
            (Some(m.as_str()), Some(until))
        }
        _ => return Err(malformed()),
    };
    let rec = target(&g.state, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let bypass = may_bypass(
        &g.state,
        &req.extensions,
        &i.key,
        i.bypass_governance_retention,
    )
    .await;
    let found = g
        .state
        .meta
        .put_object_retention(&i.bucket, &i.key, &rec.version_id, mode, until, bypass)
        .await
        .map_err(meta_err)?;
    if !found {
        return Err(no_such(i.version_id.as_deref()));
    }
    Ok(S3Response::new(PutObjectRetentionOutput::default()))
}

/// GetObjectRetention.
pub(crate) async fn get_object_retention(
    g: &Gatehouse,
    req: S3Request<GetObjectRetentionInput>,
) -> S3Result<S3Response<GetObjectRetentionOutput>> {
    let i = &req.input;
    require_lock(&g.state, &i.bucket).await?;
    let rec = target(&g.state, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let (mode, until, _) = report(&rec);
    if mode.is_none() {
        return Err(s3_error!(
            NoSuchObjectLockConfiguration,
            "The specified object does not have a ObjectLock configuration"
        ));
    }
    Ok(S3Response::new(GetObjectRetentionOutput {
        retention: Some(ObjectLockRetention {
            mode: mode.map(|m| ObjectLockRetentionMode::from(m.as_str().to_owned())),
            retain_until_date: until,
        }),
    }))
}

/// PutObjectLegalHold: ON or OFF.
pub(crate) async fn put_object_legal_hold(
    g: &Gatehouse,
    req: S3Request<PutObjectLegalHoldInput>,
) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
    let i = &req.input;
    if i.request_payer.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "Requester Pays is not implemented"
        ));
    }
    require_digest(&req.headers)?;
    require_lock(&g.state, &i.bucket).await?;
    let on = match i
        .legal_hold
        .as_ref()
        .and_then(|h| h.status.as_ref())
        .map(ObjectLockLegalHoldStatus::as_str)
    {
        Some(ObjectLockLegalHoldStatus::ON) => true,
        Some(ObjectLockLegalHoldStatus::OFF) => false,
        _ => return Err(malformed()),
    };
    let rec = target(&g.state, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let found = g
        .state
        .meta
        .put_object_legal_hold(&i.bucket, &i.key, &rec.version_id, on)
        .await
        .map_err(meta_err)?;
    if !found {
        return Err(no_such(i.version_id.as_deref()));
    }
    Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
}

/// GetObjectLegalHold.
pub(crate) async fn get_object_legal_hold(
    g: &Gatehouse,
    req: S3Request<GetObjectLegalHoldInput>,
) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
    let i = &req.input;
    require_lock(&g.state, &i.bucket).await?;
    let rec = target(&g.state, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let (_, _, hold) = report(&rec);
    let Some(status) = hold else {
        return Err(s3_error!(
            NoSuchObjectLockConfiguration,
            "The specified object does not have a ObjectLock configuration"
        ));
    };
    Ok(S3Response::new(GetObjectLegalHoldOutput {
        legal_hold: Some(ObjectLockLegalHold {
            status: Some(status),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_retention_in_days_or_years() {
        let days = BucketLock {
            mode: Some(GOVERNANCE.into()),
            days: Some(2),
            years: None,
        };
        assert_eq!(
            days.default_retention(1_000),
            Some((GOVERNANCE.to_owned(), 1_000 + 2 * DAY_MS))
        );
        let years = BucketLock {
            mode: Some(COMPLIANCE.into()),
            days: None,
            years: Some(1),
        };
        assert_eq!(
            years.default_retention(0),
            Some((COMPLIANCE.to_owned(), 365 * DAY_MS))
        );
        assert_eq!(BucketLock::default().default_retention(0), None);
        let stored: BucketLock = serde_json::from_str(&days.to_setting()).unwrap_or_default();
        assert_eq!(stored, days);
    }

    #[test]
    fn a_trailer_checksum_counts_as_a_digest() {
        let mut h = http::HeaderMap::new();
        assert!(!carries_digest(&h));
        h.insert(
            "x-amz-trailer",
            http::HeaderValue::from_static("x-amz-checksum-crc32"),
        );
        assert!(carries_digest(&h));
    }
}
