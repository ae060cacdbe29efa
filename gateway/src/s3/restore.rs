//! Archive storage classes and RestoreObject.
//!
//! A class configured as archive (`storage_classes = ["GLACIER:archive"]`, or `archive = true` in the file's
//! table form) keeps its objects' bytes in its own backend like any class, but they are not readable until
//! restored: GET (and a copy from them) answers 403 InvalidObjectState. RestoreObject (Days, tier) starts a
//! restore that completes `restore_seconds` later (config, default 0: at once; the tier does not change it);
//! the restored copy is then readable for Days days (`lifecycle_day_seconds` long, real days ending at midnight
//! UTC as S3's do). No bytes are copied: the archive backend is online storage, so "restored" is a readability
//! window recorded per version in `object_restores` (migration 0013), reported in `x-amz-restore`. A restore of
//! a restored object sets its expiry again (200); one in progress answers 409 RestoreAlreadyInProgress.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{ObjectRecord, RestoreOutcome};

use super::lifecycle_worker::due;
use super::read::load_authorized;
use super::{Gatehouse, meta_err};
use crate::state::AppState;

/// Where an archived version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Never restored, or its restored copy expired.
    Archived,
    /// A restore is in progress.
    Ongoing,
    /// Readable until this time (ms).
    Restored(i64),
}

/// Whether `class` is an archive class.
pub(crate) fn is_archive(state: &AppState, class: &str) -> bool {
    state.config.storage_class(class).is_some_and(|c| c.archive)
}

/// The restore state of `rec`, if it is in an archive class (one read of `object_restores`, only then).
pub(crate) async fn state_of(state: &AppState, rec: &ObjectRecord) -> S3Result<Option<State>> {
    if rec.delete_marker || !is_archive(state, &rec.storage_class) {
        return Ok(None);
    }
    let now = gatehouse_core::now_ms();
    let found = state
        .meta
        .get_restore(&rec.bucket, &rec.key, &rec.version_id)
        .await
        .map_err(meta_err)?;
    Ok(Some(match found {
        Some((ready, _)) if now < ready => State::Ongoing,
        Some((_, expiry)) if now < expiry => State::Restored(expiry),
        _ => State::Archived,
    }))
}

/// `x-amz-restore` as AWS writes it, for a version with a restore in progress or done.
pub(crate) fn header(s: Option<State>) -> Option<String> {
    match s? {
        State::Archived => None,
        State::Ongoing => Some("ongoing-request=\"true\"".to_owned()),
        State::Restored(expiry) => {
            let mut buf = Vec::new();
            super::ts(expiry)
                .format(TimestampFormat::HttpDate, &mut buf)
                .ok()?;
            let date = String::from_utf8(buf).ok()?;
            Some(format!("ongoing-request=\"false\", expiry-date=\"{date}\""))
        }
    }
}

/// InvalidObjectState unless the bytes of `rec` may be read (not archived, or restored); gives its state.
pub(crate) async fn require_readable(
    state: &AppState,
    rec: &ObjectRecord,
) -> S3Result<Option<State>> {
    let s = state_of(state, rec).await?;
    match s {
        Some(State::Archived | State::Ongoing) => Err(s3_error!(
            InvalidObjectState,
            "The operation is not valid for the object's storage class"
        )),
        _ => Ok(s),
    }
}

/// RestoreObject: 202 when a restore starts, 200 when the object was already restored (its expiry set
/// again), 409 RestoreAlreadyInProgress while one is in progress; InvalidObjectState for an object not in an
/// archive class (as AWS). Select restores and output locations are not built (NotImplemented).
pub(crate) async fn restore_object(
    g: &Gatehouse,
    req: S3Request<RestoreObjectInput>,
) -> S3Result<S3Response<RestoreObjectOutput>> {
    let i = &req.input;
    let rec = load_authorized(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        i.version_id.as_deref(),
        false,
    )
    .await?;
    let r = i.restore_request.clone().unwrap_or_default();
    if r.type_.is_some() || r.select_parameters.is_some() || r.output_location.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "Select restores and restores to an output location are not implemented"
        ));
    }
    if !is_archive(&g.state, &rec.storage_class) {
        return Err(s3_error!(
            InvalidObjectState,
            "Restore is not allowed for the object's current storage class"
        ));
    }
    let days = match r.days {
        Some(d) if d >= 1 => d,
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "Days must be a positive integer"
            ));
        }
        None => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    let tier = r
        .glacier_job_parameters
        .as_ref()
        .map(|p| p.tier.as_str().to_owned())
        .or_else(|| r.tier.as_ref().map(|t| t.as_str().to_owned()));
    if tier
        .as_deref()
        .is_some_and(|t| !matches!(t, "Standard" | "Bulk" | "Expedited"))
    {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let day_ms = i64::try_from(g.state.config.lifecycle_day_seconds.max(1))
        .unwrap_or(86_400)
        .saturating_mul(1000);
    let now = gatehouse_core::now_ms();
    let delay = i64::try_from(g.state.config.restore_seconds)
        .unwrap_or(i64::MAX / 2_000)
        .saturating_mul(1000);
    let expiry_of = move |t: i64| due(t, days, day_ms);
    let outcome = g
        .state
        .meta
        .request_restore(
            &rec.bucket,
            &rec.key,
            &rec.version_id,
            now,
            now.saturating_add(delay),
            &expiry_of,
        )
        .await
        .map_err(meta_err)?;
    let status = match outcome {
        RestoreOutcome::Started => http::StatusCode::ACCEPTED,
        RestoreOutcome::Extended => http::StatusCode::OK,
        RestoreOutcome::InProgress => {
            return Err(s3_error!(
                RestoreAlreadyInProgress,
                "Object restore is already in progress"
            ));
        }
        RestoreOutcome::Missing => {
            return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
        }
    };
    let mut resp = S3Response::new(RestoreObjectOutput::default());
    // s3s always answers RestoreObject with 200: the front applies the status.
    resp.extensions.insert(crate::front::Status(status));
    Ok(resp)
}
