//! GetObject and HeadObject: preconditions, ranges, part numbers, checksums, and streaming the bytes of an
//! object's segments.

use std::ops::Range as ByteRange;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{Checksums, ObjectRecord};
use gatehouse_storage::{ByteStream, Pieces, Unchanged};

use super::conditions::{ReadConditions, evaluate, read_error};
use super::sse::CustomerHeaders;
use super::versioning::{read_header, with_marker_headers};
use super::{Gatehouse, etag_of, meta_err, require_bucket, ts};
use crate::state::AppState;

/// Streams plaintext bytes `range` of an object, across its segments; an encrypted object needs its data
/// key (`sse::open_key`).
pub(crate) fn object_stream(
    state: &Arc<AppState>,
    rec: &ObjectRecord,
    range: ByteRange<u64>,
    key: Option<&super::sse::DataKey>,
) -> S3Result<ByteStream> {
    if let Some(sse) = &rec.sse {
        let key =
            key.ok_or_else(|| s3_error!(InternalError, "no data key for an encrypted object"))?;
        return super::sse_stream::plaintext_stream(state, rec, sse, key, range);
    }
    Ok(plain_stream(state, rec, range))
}

/// Bytes per storage read of a GET. Each is read when the response asks for it, so that the page-cache copy
/// and the socket copy of the same bytes meet in the CPU's cache (`Backend::get_processed`): on this
/// project's 2-core machine 0.42 instead of 0.48–0.54 s of server CPU per GiB for 64 MiB GETs (256 KiB and
/// 512 KiB alike), and 0.66–0.69 instead of 0.74–0.77 for 1 MiB GETs at c32, where 256 KiB pieces were 15%
/// slower than the old read-ahead (four reads per object).
const READ_PIECE: usize = 512 * 1024;

/// `object_stream` of an unencrypted object.
fn plain_stream(state: &Arc<AppState>, rec: &ObjectRecord, range: ByteRange<u64>) -> ByteStream {
    if let Some(data) = &rec.inline_data {
        let len = data.len() as u64;
        let (a, b) = (range.start.min(len), range.end.min(len));
        let chunk = bytes::Bytes::copy_from_slice(&data[a as usize..b as usize]);
        return Box::pin(futures::stream::once(async move { Ok(chunk) }));
    }
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    for s in &rec.segments {
        let len = u64::try_from(s.size).unwrap_or(0);
        let (a, b) = (offset, offset + len);
        offset = b;
        let start = range.start.max(a);
        let end = range.end.min(b);
        if start < end {
            pieces.push((s.locator.clone(), start - a, end - a));
        }
    }
    let state = Arc::clone(state);
    let s = futures::stream::iter(pieces)
        .then(move |(loc, a, b)| {
            let state = Arc::clone(&state);
            async move {
                let pieces = Pieces {
                    first: READ_PIECE,
                    rest: READ_PIECE,
                };
                (state.storage)
                    .get_processed(&loc, (a, b), pieces, Box::new(Unchanged))
                    .await
            }
        })
        .try_flatten();
    Box::pin(s)
}

/// Loads version `version_id` of `key`, or its current version. Answers NoSuchBucket, NoSuchKey (no such key,
/// or its current version is a delete marker), NoSuchVersion, and MethodNotAllowed for a delete marker
/// addressed by version id; the delete-marker answers carry `x-amz-delete-marker` and the version id.
pub(crate) async fn load_version(
    state: &AppState,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<ObjectRecord> {
    let found = match version_id {
        None => state.meta.get_object(bucket, key).await,
        Some(v) => state.meta.get_version(bucket, key, v).await,
    }
    .map_err(meta_err)?;
    match found {
        Some(r) if r.delete_marker => Err(match version_id {
            None => with_marker_headers(
                s3_error!(NoSuchKey, "The specified key does not exist."),
                &r,
            ),
            Some(_) => with_marker_headers(
                s3_error!(
                    MethodNotAllowed,
                    "The specified method is not allowed against this resource."
                ),
                &r,
            ),
        }),
        Some(r) => Ok(r),
        None => {
            require_bucket(state, bucket).await?;
            Err(match version_id {
                None => s3_error!(NoSuchKey, "The specified key does not exist."),
                Some(_) => s3_error!(NoSuchVersion, "The specified version does not exist."),
            })
        }
    }
}

/// `load_version` followed by the authoriser's second phase (`authz::object_phase`) for the request's object
/// (or, with `source`, its copy source): when the access hook deferred its decision to the object's ACL, a
/// missing object is AccessDenied (the caller may not learn whether it exists) and a present one is decided
/// with its ACL and owner.
pub(crate) async fn load_authorized(
    state: &AppState,
    ext: &http::Extensions,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    source: bool,
) -> S3Result<ObjectRecord> {
    let res = load_version(state, bucket, key, version_id).await;
    if !crate::authz::deferred(ext, source) {
        return res;
    }
    let rec = res.map_err(|e| crate::authz::missing_object(state, ext, source, e))?;
    crate::authz::object_phase(state, ext, &rec, source).await?;
    Ok(rec)
}

/// What S3 reports for an object stored without a Content-Type.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Checksum fields in the s3s shape.
pub(crate) fn checksum_dto(c: &Checksums) -> Checksum {
    Checksum {
        checksum_crc32: c.crc32.clone(),
        checksum_crc32c: c.crc32c.clone(),
        checksum_crc64nvme: c.crc64nvme.clone(),
        checksum_sha1: c.sha1.clone(),
        checksum_sha256: c.sha256.clone(),
        checksum_type: c.kind.clone().map(ChecksumType::from),
    }
}

/// The part of a GET/HEAD that both share: which bytes, and the headers that describe them.
struct Selection {
    range: ByteRange<u64>,
    content_range: Option<String>,
    parts_count: Option<i32>,
    checksums: Option<Checksums>,
}

fn select(
    rec: &ObjectRecord,
    part_number: Option<i32>,
    range: Option<&Range>,
    checksum_mode: bool,
) -> S3Result<Selection> {
    let size = u64::try_from(rec.size).unwrap_or(0);
    let multipart = rec.segments.iter().any(|s| s.etag.is_some());
    if part_number.is_some() && range.is_some() {
        return Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        ));
    }
    if let Some(n) = part_number {
        if !(1..=10000).contains(&n) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        if !multipart {
            if n != 1 {
                return Err(s3_error!(
                    InvalidPart,
                    "The requested partnumber is not satisfiable"
                ));
            }
            let cr = (size > 0).then(|| format!("bytes 0-{}/{size}", size - 1));
            return Ok(Selection {
                range: 0..size,
                content_range: cr,
                parts_count: None,
                checksums: checksum_mode.then(|| rec.checksums.clone()),
            });
        }
        let idx = usize::try_from(n - 1).unwrap_or(usize::MAX);
        let Some(seg) = rec.segments.get(idx) else {
            return Err(s3_error!(
                InvalidPart,
                "The requested partnumber is not satisfiable"
            ));
        };
        let start: u64 = rec.segments[..idx]
            .iter()
            .map(|s| u64::try_from(s.size).unwrap_or(0))
            .sum();
        let end = start + u64::try_from(seg.size).unwrap_or(0);
        let cr = (end > start).then(|| format!("bytes {start}-{}/{size}", end - 1));
        // A part read reports that part's checksum, typed like the object's (COMPOSITE or FULL_OBJECT).
        let checksums = seg.checksums.clone().map(|c| Checksums {
            kind: rec.checksums.kind.clone(),
            ..c
        });
        return Ok(Selection {
            range: start..end,
            content_range: cr,
            parts_count: i32::try_from(rec.segments.len()).ok(),
            checksums,
        });
    }
    match range {
        None => Ok(Selection {
            range: 0..size,
            content_range: None,
            parts_count: None,
            checksums: checksum_mode.then(|| rec.checksums.clone()),
        }),
        Some(r) => {
            let got = r
                .check(size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            let cr = format!("bytes {}-{}/{size}", got.start, got.end.saturating_sub(1));
            // S3 returns the checksum only when the range covers the whole object.
            let whole = got.start == 0 && got.end == size;
            Ok(Selection {
                range: got,
                content_range: Some(cr),
                parts_count: None,
                checksums: (checksum_mode && whole).then(|| rec.checksums.clone()),
            })
        }
    }
}

fn metadata_of(rec: &ObjectRecord) -> Option<Metadata> {
    (!rec.user_meta.is_empty()).then(|| {
        rec.user_meta
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

fn parse_expires(s: &Option<String>) -> Option<Timestamp> {
    s.as_deref()
        .and_then(|v| Timestamp::parse(TimestampFormat::HttpDate, v).ok())
}

fn overrides<T>(req: &S3Request<T>, name: &str) -> Option<String> {
    let q = req.uri.query()?;
    url_param(q, name)
}

fn url_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| {
            urlencoding::decode(v)
                .map(|c| c.into_owned())
                .unwrap_or_default()
        })
    })
}

/// The version GetObject / HeadObject act on (their inputs share these field names): loaded and authorised
/// (the second phase), the write-side SSE headers refused, a missing part number answered, and the SSE-C
/// key checked before anything else of the object is revealed (preconditions included). Gives the version and
/// the SSE-C headers.
macro_rules! readable_version {
    ($g:expr, $req:expr, $i:expr) => {{
        let rec = load_authorized(
            &$g.state,
            &$req.extensions,
            &$i.bucket,
            &$i.key,
            $i.version_id.as_deref(),
            false,
        )
        .await?;
        let customer = CustomerHeaders::new(
            $i.sse_customer_algorithm.as_ref(),
            $i.sse_customer_key.as_ref(),
            $i.sse_customer_key_md5.as_ref(),
        );
        super::sse::refuse_write_headers(&$req.headers)?;
        if $i.part_number.is_some() {
            // A part number the object does not have is InvalidPart even without the SSE-C key, as on AWS.
            select(&rec, $i.part_number, $i.range.as_ref(), false)?;
        }
        super::sse::check_access(&$g.state, &$req.extensions, rec.sse.as_ref(), &customer)?;
        (rec, customer)
    }};
}

/// GetObject.
pub(crate) async fn get_object(
    g: &Gatehouse,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let i = &req.input;
    let (rec, customer) = readable_version!(g, req, i);
    let conds = ReadConditions {
        if_match: i.if_match.as_ref(),
        if_none_match: i.if_none_match.as_ref(),
        if_modified_since: i.if_modified_since.as_ref(),
        if_unmodified_since: i.if_unmodified_since.as_ref(),
    };
    evaluate(&conds, &rec).map_err(|f| read_error(f, &rec))?;
    let restore = super::restore::require_readable(&g.state, &rec).await?;
    let checksum_mode = i
        .checksum_mode
        .as_ref()
        .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
    let sel = select(&rec, i.part_number, i.range.as_ref(), checksum_mode)?;
    let len = sel.range.end - sel.range.start;
    let key = super::sse::open_key(&g.state, &req.extensions, rec.sse.as_ref(), &customer).await?;
    let mut stream = object_stream(&g.state, &rec, sel.range.clone(), key.as_ref())?;
    if rec.sse.is_some() {
        stream = super::sse_stream::first_checked(stream).await?;
    }
    let body = StreamingBlob::wrap(sync_wrapper::SyncStream::new(stream));
    let c = sel.checksums.as_ref().map(checksum_dto).unwrap_or_default();
    let h = &rec.headers;
    let (lock_mode, lock_until, legal_hold) =
        super::lock::report_to(&g.state, &req.extensions, &rec).await;
    let ctx = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let output = GetObjectOutput {
        restore: super::restore::header(restore),
        expiration: super::expiration::header(&g.state, &ctx, &rec),
        body: Some(body),
        accept_ranges: Some("bytes".into()),
        content_length: i64::try_from(len).ok(),
        content_range: sel.content_range,
        parts_count: sel.parts_count,
        e_tag: Some(etag_of(&rec.etag)),
        last_modified: Some(ts(rec.last_modified_ms)),
        metadata: metadata_of(&rec),
        cache_control: overrides(&req, "response-cache-control")
            .or_else(|| h.cache_control.clone()),
        content_disposition: overrides(&req, "response-content-disposition")
            .or_else(|| h.content_disposition.clone()),
        content_encoding: overrides(&req, "response-content-encoding")
            .or_else(|| h.content_encoding.clone()),
        content_language: overrides(&req, "response-content-language")
            .or_else(|| h.content_language.clone()),
        content_type: overrides(&req, "response-content-type")
            .or_else(|| h.content_type.clone())
            .or_else(|| Some(DEFAULT_CONTENT_TYPE.to_owned())),
        expires: overrides(&req, "response-expires")
            .and_then(|v| Timestamp::parse(TimestampFormat::HttpDate, &v).ok())
            .or_else(|| parse_expires(&h.expires)),
        website_redirect_location: h.website_redirect_location.clone(),
        storage_class: super::storage_class::header(&rec.storage_class),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: c.checksum_type,
        tag_count: super::tagging::count_header(&rec.tags),
        version_id: read_header(&rec),
        object_lock_mode: lock_mode,
        object_lock_retain_until_date: lock_until,
        object_lock_legal_hold_status: legal_hold,
        ..Default::default()
    };
    let mut output = output;
    super::sse::set_echo!(output, super::sse::echo(rec.sse.as_ref(), customer.md5));
    let mut resp = S3Response::new(output);
    if sel_partial(&resp.output.content_range) {
        resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(resp)
}

fn sel_partial(cr: &Option<String>) -> bool {
    cr.is_some()
}

/// HeadObject.
pub(crate) async fn head_object(
    g: &Gatehouse,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let i = &req.input;
    let (rec, customer) = readable_version!(g, req, i);
    let conds = ReadConditions {
        if_match: i.if_match.as_ref(),
        if_none_match: i.if_none_match.as_ref(),
        if_modified_since: i.if_modified_since.as_ref(),
        if_unmodified_since: i.if_unmodified_since.as_ref(),
    };
    evaluate(&conds, &rec).map_err(|f| read_error(f, &rec))?;
    let checksum_mode = i
        .checksum_mode
        .as_ref()
        .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
    let sel = select(&rec, i.part_number, i.range.as_ref(), checksum_mode)?;
    let len = sel.range.end - sel.range.start;
    let c = sel.checksums.as_ref().map(checksum_dto).unwrap_or_default();
    let h = &rec.headers;
    let partial = sel.content_range.is_some();
    let (lock_mode, lock_until, legal_hold) =
        super::lock::report_to(&g.state, &req.extensions, &rec).await;
    let ctx = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let restore = super::restore::state_of(&g.state, &rec).await?;
    let output = HeadObjectOutput {
        restore: super::restore::header(restore),
        expiration: super::expiration::header(&g.state, &ctx, &rec),
        accept_ranges: Some("bytes".into()),
        content_length: i64::try_from(len).ok(),
        content_range: sel.content_range,
        parts_count: sel.parts_count,
        e_tag: Some(etag_of(&rec.etag)),
        last_modified: Some(ts(rec.last_modified_ms)),
        metadata: metadata_of(&rec),
        cache_control: h.cache_control.clone(),
        content_disposition: h.content_disposition.clone(),
        content_encoding: h.content_encoding.clone(),
        content_language: h.content_language.clone(),
        content_type: h
            .content_type
            .clone()
            .or_else(|| Some(DEFAULT_CONTENT_TYPE.to_owned())),
        expires: parse_expires(&h.expires),
        website_redirect_location: h.website_redirect_location.clone(),
        storage_class: super::storage_class::header(&rec.storage_class),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: c.checksum_type,
        version_id: read_header(&rec),
        object_lock_mode: lock_mode,
        object_lock_retain_until_date: lock_until,
        object_lock_legal_hold_status: legal_hold,
        ..Default::default()
    };
    let mut output = output;
    super::sse::set_echo!(output, super::sse::echo(rec.sse.as_ref(), customer.md5));
    let mut resp = S3Response::new(output);
    if partial {
        resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    // Not in HeadObject's output shape, but S3 sends it on HEAD as on GET.
    if let Some(n) = super::tagging::count_header(&rec.tags) {
        resp.headers
            .insert("x-amz-tagging-count", http::HeaderValue::from(n));
    }
    Ok(resp)
}

/// GetObjectAttributes.
pub(crate) async fn get_object_attributes(
    g: &Gatehouse,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
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
    let customer = CustomerHeaders::new(
        i.sse_customer_algorithm.as_ref(),
        i.sse_customer_key.as_ref(),
        i.sse_customer_key_md5.as_ref(),
    );
    super::sse::check_access(&g.state, &req.extensions, rec.sse.as_ref(), &customer)?;
    // The header is a comma-separated list; s3s may hand it over as one entry.
    let want = |a: &str| {
        i.object_attributes
            .iter()
            .any(|x| x.as_str().split(',').any(|v| v.trim() == a))
    };
    let mut out = GetObjectAttributesOutput {
        last_modified: Some(ts(rec.last_modified_ms)),
        version_id: read_header(&rec),
        ..Default::default()
    };
    if want(ObjectAttributes::ETAG) {
        out.e_tag = Some(etag_of(&rec.etag));
    }
    if want(ObjectAttributes::OBJECT_SIZE) {
        out.object_size = Some(rec.size);
    }
    if want(ObjectAttributes::STORAGE_CLASS) {
        out.storage_class = Some(StorageClass::from(rec.storage_class.clone()));
    }
    if want(ObjectAttributes::CHECKSUM)
        && super::body::Algo::ALL
            .iter()
            .any(|a| a.get(&rec.checksums).is_some())
    {
        out.checksum = Some(checksum_dto(&rec.checksums));
    }
    let multipart = rec.segments.iter().any(|s| s.etag.is_some());
    if want(ObjectAttributes::OBJECT_PARTS) && multipart {
        let max = match i.max_parts {
            None => 1000,
            Some(n) if n < 0 => {
                return Err(s3_error!(InvalidArgument, "max-parts must be non-negative"));
            }
            Some(n) => usize::try_from(n).unwrap_or(1000).min(1000),
        };
        let marker = usize::try_from(i.part_number_marker.unwrap_or(0).max(0)).unwrap_or(0);
        let total = rec.segments.len();
        let parts: Vec<ObjectPart> = rec
            .segments
            .iter()
            .enumerate()
            .skip(marker)
            .take(max)
            .map(|(n, s)| {
                let c = s.checksums.as_ref().map(checksum_dto).unwrap_or_default();
                ObjectPart {
                    part_number: i32::try_from(n + 1).ok(),
                    size: Some(s.size),
                    checksum_crc32: c.checksum_crc32,
                    checksum_crc32c: c.checksum_crc32c,
                    checksum_crc64nvme: c.checksum_crc64nvme,
                    checksum_sha1: c.checksum_sha1,
                    checksum_sha256: c.checksum_sha256,
                }
            })
            .collect();
        let last = parts.last().and_then(|p| p.part_number);
        let truncated = marker + parts.len() < total;
        out.object_parts = Some(GetObjectAttributesParts {
            total_parts_count: i32::try_from(total).ok(),
            part_number_marker: i.part_number_marker,
            next_part_number_marker: last,
            max_parts: i32::try_from(max).ok(),
            is_truncated: Some(truncated),
            parts: Some(parts),
        });
    }
    let mut resp = S3Response::new(out);
    // S3 writes this ETag without quotes, unlike everywhere else; s3s always quotes it (see `front`).
    resp.extensions.insert(crate::front::UnquotedETag);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::url_param;

    #[test]
    fn response_overrides_are_decoded() {
        assert_eq!(
            url_param(
                "a=1&response-content-type=text%2Fplain",
                "response-content-type"
            )
            .as_deref(),
            Some("text/plain")
        );
        assert_eq!(
            url_param("response-content-typex=1", "response-content-type"),
            None
        );
    }
}
