//! PutObject, CopyObject, DeleteObject and DeleteObjects.

use std::collections::BTreeMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{ContentHeaders, DeleteCondition, ObjectRecord, WriteCondition};

use super::body::{Expect, ingest};
use super::conditions::{ReadConditions, evaluate_copy_source};
use super::read::{checksum_dto, object_stream};
use super::{Gatehouse, delete_blobs, etag_of, meta_err, principal, sse, tagging, ts, versioning};

/// AWS's limit on user-defined metadata (keys and values, UTF-8 bytes).
const MAX_USER_METADATA: usize = 2048;

/// The storage class a write request asks for (PutObject, CopyObject, CreateMultipartUpload share the
/// field name), validated against the configured classes.
macro_rules! write_class {
    ($state:expr, $i:expr) => {
        $crate::s3::storage_class::requested(&$state, $i.storage_class.as_ref())
    };
}
pub(crate) use write_class;

/// The encryption a write request asks for (PutObject, CopyObject, CreateMultipartUpload share the names).
macro_rules! write_sse {
    ($i:expr) => {
        $crate::s3::sse::WriteRequest {
            sse: $i.server_side_encryption.as_ref().map(|s| s.as_str()),
            kms_key_id: $i.ssekms_key_id.as_deref(),
            context: $i.ssekms_encryption_context.as_deref(),
            bucket_key: $i.bucket_key_enabled,
            customer: $crate::s3::sse::CustomerHeaders::new(
                $i.sse_customer_algorithm.as_ref(),
                $i.sse_customer_key.as_ref(),
                $i.sse_customer_key_md5.as_ref(),
            ),
        }
    };
}
pub(crate) use write_sse;

/// Validates and converts user metadata.
pub(crate) fn user_meta(m: Option<Metadata>) -> S3Result<BTreeMap<String, String>> {
    let m: BTreeMap<String, String> = m
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let total: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_USER_METADATA {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size."
        ));
    }
    Ok(m)
}

/// The Content-Encoding to store: the transfer coding `aws-chunked` describes the request, not the object.
pub(crate) fn stored_encoding(v: Option<String>) -> Option<String> {
    let v = v?;
    let kept: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// An HTTP-date string for a stored Expires header.
pub(crate) fn expires_string(t: Option<&Timestamp>) -> Option<String> {
    let t = t?;
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

/// Resolves the write conditions of a PUT / CompleteMultipartUpload into one atomic check for the index:
/// `If-None-Match: *` is "must not exist"; every other form is checked against the current version here and
/// then pinned to that version's ETag, so a concurrent writer in between makes the write fail (412) rather
/// than slip through. `If-Match` on a missing key is NoSuchKey, as on AWS.
pub(crate) async fn write_condition(
    g: &Gatehouse,
    bucket: &str,
    key: &str,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<WriteCondition> {
    let mut c = WriteCondition::default();
    if if_match.is_none() && matches!(if_none_match, None | Some(ETagCondition::Any)) {
        c.if_none_match_star = if_none_match.is_some();
        return Ok(c);
    }
    let current = g
        .state
        .meta
        .get_object(bucket, key)
        .await
        .map_err(meta_err)?
        .filter(|r| !r.delete_marker);
    let failed = || {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    };
    let same = |cond: &ETagCondition, etag: &str| match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag_of(etag).value(),
    };
    if let Some(m) = if_match {
        match &current {
            None => return Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
            Some(cur) if !same(m, &cur.etag) => return Err(failed()),
            Some(_) => {}
        }
    }
    if let Some(nm) = if_none_match
        && let Some(cur) = &current
        && same(nm, &cur.etag)
    {
        return Err(failed());
    }
    match current {
        Some(cur) => c.if_match = Some(cur.etag),
        None => c.if_none_match_star = true,
    }
    Ok(c)
}

/// Whether small bodies are kept in the index row (see `body::INLINE_MAX`).
const INLINE_WRITES: bool = true;

/// Commits a freshly ingested blob as the current version of `key`; deletes the blob if the commit fails
/// and the replaced version's blobs if it succeeds.
pub(crate) async fn commit(
    g: &Gatehouse,
    rec: &ObjectRecord,
    cond: &WriteCondition,
) -> S3Result<()> {
    match g.state.meta.put_object(rec, cond).await {
        Ok(out) => {
            if let Some(old) = out.replaced {
                delete_blobs(
                    &g.state,
                    old.segments.into_iter().map(|s| s.locator).collect(),
                );
            }
            Ok(())
        }
        Err(e) => {
            delete_blobs(
                &g.state,
                rec.segments.iter().map(|s| s.locator.clone()).collect(),
            );
            Err(meta_err(e))
        }
    }
}

/// PutObject.
pub(crate) async fn put_object(
    g: &Gatehouse,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let p = principal(&req)?;
    let i = req.input;
    let class = write_class!(g.state, i)?;
    let tags = tagging::from_header(i.tagging.as_deref())?;
    if i.write_offset_bytes.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "Appending with x-amz-write-offset-bytes is not implemented"
        ));
    }
    let loaded = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let mode = versioning::parse(loaded.versioning.as_deref());
    let lock_headers = super::lock::LockHeaders {
        mode: i.object_lock_mode.as_ref(),
        until: i.object_lock_retain_until_date.as_ref(),
        legal_hold: i.object_lock_legal_hold_status.as_ref(),
    };
    let lock =
        super::lock::for_new_version(&g.state, &req.headers, &loaded, &lock_headers, true).await?;
    let cond = write_condition(
        g,
        &i.bucket,
        &i.key,
        i.if_match.as_ref(),
        i.if_none_match.as_ref(),
    )
    .await?;
    let meta = user_meta(i.metadata)?;
    let bucket_ctx = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let mut grants = super::acl::grant_headers!(i);
    grants.write = req
        .headers
        .get("x-amz-grant-write")
        .and_then(|v| v.to_str().ok());
    let (owner, acl) = super::acl::write_acl(
        g,
        &p,
        &bucket_ctx,
        i.acl.as_ref().map(ObjectCannedACL::as_str),
        &grants,
    )
    .await?;
    let expect = Expect::from_headers(&req.headers, i.content_md5, i.content_length)?;
    let sealing = sse::for_write(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        &p.account_id,
        &write_sse!(i),
    )
    .await?;
    let ing = ingest(
        &g.state,
        i.body,
        &expect,
        req.trailing_headers.as_ref(),
        INLINE_WRITES,
        sealing.as_ref().map(|s| (&s.key, 0)),
        &class,
    )
    .await?;
    let stored_sse = sealing.as_ref().map(|s| s.sse.clone());
    let etag = sse::etag(
        stored_sse.as_ref(),
        sealing.as_ref().map(|s| &s.key),
        &ing.md5,
    );
    let rec = ObjectRecord {
        bucket: i.bucket,
        key: i.key,
        version_id: mode.new_version_id(),
        size: i64::try_from(ing.size).unwrap_or(i64::MAX),
        etag: etag.clone(),
        last_modified_ms: gatehouse_core::now_ms(),
        headers: ContentHeaders {
            content_type: i.content_type,
            content_encoding: stored_encoding(i.content_encoding),
            content_disposition: i.content_disposition,
            content_language: i.content_language,
            cache_control: i.cache_control,
            expires: expires_string(i.expires.as_ref()),
            website_redirect_location: i.website_redirect_location,
        },
        user_meta: meta,
        checksums: ing.checksums.clone(),
        segments: ing.segments(),
        storage_class: class.clone(),
        owner_canonical_id: owner,
        inline_data: ing.inline_data(),
        tags,
        upload_id: None,
        delete_marker: false,
        lock,
        sse: stored_sse,
    };
    commit(g, &rec, &cond).await?;
    super::acl::store_object_acl(g, &rec.bucket, &rec.key, &rec.version_id, acl.as_ref()).await?;
    let c = checksum_dto(&ing.checksums);
    let echo = sse::echo(
        rec.sse.as_ref(),
        sealing.as_ref().and_then(|s| s.customer_md5.as_deref()),
    );
    let mut out = PutObjectOutput {
        expiration: super::expiration::header(&g.state, &loaded, &rec),
        e_tag: Some(etag_of(&etag)),
        version_id: mode.header(&rec.version_id),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: c.checksum_type,
        ssekms_encryption_context: echo.context.clone(),
        ..Default::default()
    };
    sse::set_echo!(out, echo);
    Ok(S3Response::new(out))
}

/// The preconditions of a conditional delete: `If-Match` (ETag or `*`) as on AWS for every bucket, and the
/// size and modification time that AWS checks on directory buckets (checked here on every bucket).
fn delete_condition(
    if_match: Option<&ETagCondition>,
    last_modified: Option<&Timestamp>,
    size: Option<i64>,
) -> DeleteCondition {
    DeleteCondition {
        if_match: if_match.map(|m| match m {
            ETagCondition::Any => "*".to_owned(),
            ETagCondition::ETag(e) => e.value().to_owned(),
        }),
        last_modified_ms: last_modified.map(super::ms_of),
        size,
        bypass_governance: false,
    }
}

/// DeleteObject: see [`versioning::delete_key`]; deleting a missing key or version is not an error.
pub(crate) async fn delete_object(
    g: &Gatehouse,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let p = principal(&req)?;
    let i = &req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let mut cond = delete_condition(
        i.if_match.as_ref(),
        i.if_match_last_modified_time.as_ref(),
        i.if_match_size,
    );
    cond.bypass_governance = super::lock::may_bypass(
        &g.state,
        &req.extensions,
        &i.key,
        i.bypass_governance_retention,
    )
    .await;
    let d = versioning::delete_key(
        g,
        &req.extensions,
        &i.bucket,
        &i.key,
        i.version_id.as_deref(),
        &cond,
        &p.canonical_id,
    )
    .await?;
    let mut resp = S3Response::new(DeleteObjectOutput {
        delete_marker: d.delete_marker.then_some(true),
        version_id: d.version_id,
        ..Default::default()
    });
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

/// DeleteObjects: up to 1000 keys (and versions), each reported (only errors in quiet mode).
pub(crate) async fn delete_objects(
    g: &Gatehouse,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let p = principal(&req)?;
    let i = req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    if i.delete.objects.len() > 1000 {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    // U+0000 cannot be in XML 1.0 (nor in a Postgres key): a body carrying it is not well-formed, the same on
    // every store, and nothing is deleted (see `front::carries_nul`).
    let nul = |s: &str| s.contains('\0');
    if i.delete
        .objects
        .iter()
        .any(|o| nul(&o.key) || o.version_id.as_deref().is_some_and(nul))
    {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let quiet = i.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for o in i.delete.objects {
        let etag = o.e_tag.clone().map(ETagCondition::ETag);
        let mut cond = delete_condition(etag.as_ref(), o.last_modified_time.as_ref(), o.size);
        // The authoriser's second phase: each key is its own decision (s3:DeleteObject, or
        // s3:DeleteObjectVersion when a version is named).
        let action = if o.version_id.is_some() {
            "s3:DeleteObjectVersion"
        } else {
            "s3:DeleteObject"
        };
        if !crate::authz::key_allowed(&g.state, &req.extensions, action, &o.key).await {
            errors.push(Error {
                code: Some("AccessDenied".to_owned()),
                key: Some(o.key),
                message: Some("Access Denied".to_owned()),
                version_id: o.version_id,
            });
            continue;
        }
        cond.bypass_governance = super::lock::may_bypass(
            &g.state,
            &req.extensions,
            &o.key,
            i.bypass_governance_retention,
        )
        .await;
        let res = versioning::delete_key(
            g,
            &req.extensions,
            &i.bucket,
            &o.key,
            o.version_id.as_deref(),
            &cond,
            &p.canonical_id,
        )
        .await;
        match res {
            Ok(d) => {
                if !quiet {
                    let marker_created = d.delete_marker && o.version_id.is_none();
                    deleted.push(DeletedObject {
                        key: Some(o.key),
                        delete_marker: d.delete_marker.then_some(true),
                        delete_marker_version_id: if marker_created {
                            d.version_id.clone()
                        } else {
                            None
                        },
                        version_id: o.version_id,
                    });
                }
            }
            Err(e) => {
                errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(o.key),
                    message: e.message().map(str::to_owned),
                    version_id: o.version_id,
                });
            }
        }
    }
    let out = DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

/// Loads a copy source: its current version or the named one; a delete marker named by version id cannot
/// be copied (InvalidRequest, as on AWS).
pub(crate) async fn load_copy_source(
    state: &crate::state::AppState,
    ext: &http::Extensions,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<ObjectRecord> {
    let rec = match super::read::load_authorized(state, ext, bucket, key, version_id, true).await {
        Err(e) if version_id.is_some() && *e.code() == s3s::S3ErrorCode::MethodNotAllowed => {
            Err(s3_error!(
                InvalidRequest,
                "The source of a copy request may not specifically refer to a delete marker by version id."
            ))
        }
        other => other,
    }?;
    // An archived source is copied only once restored (as on S3).
    super::restore::require_readable(state, &rec).await?;
    Ok(rec)
}

/// Reads the source of a copy: (bucket, key, version id if one is named).
pub(crate) fn copy_source(src: &CopySource) -> S3Result<(String, String, Option<String>)> {
    match src {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id.as_deref().map(str::to_owned),
        )),
        _ => Err(s3_error!(
            NotImplemented,
            "Access point and Outposts copy sources are not supported"
        )),
    }
}

/// CopyObject: copies the bytes into a new blob (so deleting either object never affects the other).
pub(crate) async fn copy_object(
    g: &Gatehouse,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let p = principal(&req)?;
    let i = req.input;
    let class = write_class!(g.state, i)?;
    let new_tags = match i.tagging_directive.as_ref().map(TaggingDirective::as_str) {
        None | Some("COPY") => None,
        Some("REPLACE") => Some(tagging::from_header(i.tagging.as_deref())?),
        Some(_) => return Err(s3_error!(InvalidArgument, "Unknown tagging directive.")),
    };
    let (sb, sk, sv) = copy_source(&i.copy_source)?;
    let src = load_copy_source(&g.state, &req.extensions, &sb, &sk, sv.as_deref()).await?;
    let conds = ReadConditions {
        if_match: i.copy_source_if_match.as_ref(),
        if_none_match: i.copy_source_if_none_match.as_ref(),
        if_modified_since: i.copy_source_if_modified_since.as_ref(),
        if_unmodified_since: i.copy_source_if_unmodified_since.as_ref(),
    };
    let src_customer = sse::CustomerHeaders::new(
        i.copy_source_sse_customer_algorithm.as_ref(),
        i.copy_source_sse_customer_key.as_ref(),
        i.copy_source_sse_customer_key_md5.as_ref(),
    );
    // The source's key is checked before its conditions reveal anything.
    sse::check_access(&g.state, &req.extensions, src.sse.as_ref(), &src_customer)?;
    evaluate_copy_source(&conds, &src)?;
    let loaded = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let mode = versioning::parse(loaded.versioning.as_deref());
    // The copy gets the lock its request names or the bucket's default, never the source's (as on S3).
    let lock_headers = super::lock::LockHeaders {
        mode: i.object_lock_mode.as_ref(),
        until: i.object_lock_retain_until_date.as_ref(),
        legal_hold: i.object_lock_legal_hold_status.as_ref(),
    };
    let lock =
        super::lock::for_new_version(&g.state, &req.headers, &loaded, &lock_headers, false).await?;
    let wanted = write_sse!(i);
    let replace = match i.metadata_directive.as_ref().map(MetadataDirective::as_str) {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(_) => return Err(s3_error!(InvalidArgument, "Unknown metadata directive.")),
    };
    if sb == i.bucket
        && sk == i.key
        && sv.is_none()
        && i.storage_class.is_none()
        && !replace
        && i.website_redirect_location.is_none()
        && i.checksum_algorithm.is_none()
        && !wanted.names_any()
    {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let (headers, meta) = if replace {
        let h = ContentHeaders {
            content_type: i.content_type,
            content_encoding: stored_encoding(i.content_encoding),
            content_disposition: i.content_disposition,
            content_language: i.content_language,
            cache_control: i.cache_control,
            expires: expires_string(i.expires.as_ref()),
            website_redirect_location: i.website_redirect_location,
        };
        (h, user_meta(i.metadata)?)
    } else {
        let mut h = src.headers.clone();
        if i.website_redirect_location.is_some() {
            h.website_redirect_location = i.website_redirect_location;
        }
        (h, src.user_meta.clone())
    };
    let mut expect = Expect::default();
    if let Some(a) = i.checksum_algorithm.as_ref() {
        expect.algorithm = super::body::Algo::parse(a.as_str());
    } else {
        expect.algorithm = super::body::Algo::ALL
            .into_iter()
            .find(|a| a.get(&src.checksums).is_some());
    }
    let bucket_ctx = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let (owner, acl) = super::acl::write_acl(
        g,
        &p,
        &bucket_ctx,
        i.acl.as_ref().map(ObjectCannedACL::as_str),
        &super::acl::grant_headers!(i),
    )
    .await?;
    let size = u64::try_from(src.size).unwrap_or(0);
    let src_key = sse::open_key(&g.state, &req.extensions, src.sse.as_ref(), &src_customer).await?;
    let sealing = sse::for_write(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        &p.account_id,
        &wanted,
    )
    .await?;
    let stream = object_stream(&g.state, &src, 0..size, src_key.as_ref())?;
    expect.length = Some(size);
    let ing = ingest(
        &g.state,
        Some(stream),
        &expect,
        None,
        INLINE_WRITES,
        sealing.as_ref().map(|s| (&s.key, 0)),
        &class,
    )
    .await
    .map_err(|e| copy_read_error(e, src.sse.is_some()))?;
    if ing.size != size {
        delete_blobs(&g.state, ing.locator().into_iter().collect());
        return Err(s3_error!(
            InternalError,
            "The source object changed while it was copied."
        ));
    }
    let stored_sse = sealing.as_ref().map(|s| s.sse.clone());
    let etag = sse::etag(
        stored_sse.as_ref(),
        sealing.as_ref().map(|s| &s.key),
        &ing.md5,
    );
    let now = gatehouse_core::now_ms();
    let rec = ObjectRecord {
        bucket: i.bucket,
        key: i.key,
        version_id: mode.new_version_id(),
        size: src.size,
        etag: etag.clone(),
        last_modified_ms: now,
        headers,
        user_meta: meta,
        checksums: ing.checksums.clone(),
        segments: ing.segments(),
        storage_class: class.clone(),
        owner_canonical_id: owner,
        inline_data: ing.inline_data(),
        tags: new_tags.unwrap_or_else(|| src.tags.clone()),
        upload_id: None,
        delete_marker: false,
        lock,
        sse: stored_sse,
    };
    commit(g, &rec, &WriteCondition::default()).await?;
    super::acl::store_object_acl(g, &rec.bucket, &rec.key, &rec.version_id, acl.as_ref()).await?;
    let c = checksum_dto(&ing.checksums);
    let echo = sse::echo(
        rec.sse.as_ref(),
        sealing.as_ref().and_then(|s| s.customer_md5.as_deref()),
    );
    let mut out = CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(etag_of(&etag)),
            last_modified: Some(ts(now)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_type: c.checksum_type,
        }),
        version_id: mode.header(&rec.version_id),
        copy_source_version_id: versioning::read_header(&src),
        expiration: super::expiration::header(&g.state, &loaded, &rec),
        ssekms_encryption_context: echo.context.clone(),
        ..Default::default()
    };
    sse::set_echo!(out, echo);
    Ok(S3Response::new(out))
}

/// A copy whose encrypted source failed while it was read (a damaged blob): an internal error, logged.
pub(crate) fn copy_read_error(e: s3s::S3Error, encrypted: bool) -> s3s::S3Error {
    if encrypted && *e.code() == s3s::S3ErrorCode::IncompleteBody {
        tracing::error!("an encrypted copy source cannot be read");
        return s3_error!(
            InternalError,
            "We encountered an internal error. Please try again."
        );
    }
    e
}
