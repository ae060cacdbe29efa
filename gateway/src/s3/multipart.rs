//! Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort (the listings are in `uploads`).
//! Completion composes the part blobs into the object's segments: no bytes are copied.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::Digest as _;
use s3s::crypto::Checksum as _;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{
    Checksums, ContentHeaders, MetaError, ObjectRecord, Part as MetaPart, Segment, Upload,
};

use super::body::{Algo, Expect, ingest};
use super::conditions::{ReadConditions, evaluate_copy_source};
use super::list::url_encode;
use super::object::{
    copy_source, expires_string, user_meta, write_class, write_condition, write_sse,
};
use super::read::{checksum_dto, object_stream};
use super::{Gatehouse, delete_blobs, etag_of, meta_err, principal, require_bucket, sse, ts};

/// Minimum size of every part but the last.
const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;

fn no_such_upload() -> s3s::S3Error {
    meta_err(MetaError::NoSuchUpload)
}

fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=10000).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

pub(crate) async fn load_upload(
    g: &Gatehouse,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> S3Result<Upload> {
    match g
        .state
        .meta
        .get_upload(bucket, key, upload_id)
        .await
        .map_err(meta_err)?
    {
        Some(u) => Ok(u),
        None => {
            require_bucket(&g.state, bucket).await?;
            Err(no_such_upload())
        }
    }
}

/// CreateMultipartUpload.
pub(crate) async fn create(
    g: &Gatehouse,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let p = principal(&req)?;
    let i = req.input;
    let class = write_class!(g.state, i)?;
    let tags = super::tagging::from_header(i.tagging.as_deref())?;
    let loaded = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let lock_headers = super::lock::LockHeaders {
        mode: i.object_lock_mode.as_ref(),
        until: i.object_lock_retain_until_date.as_ref(),
        legal_hold: i.object_lock_legal_hold_status.as_ref(),
    };
    let lock =
        super::lock::for_new_version(&g.state, &req.headers, &loaded, &lock_headers, false).await?;
    let sealing = sse::for_write(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        &p.account_id,
        &write_sse!(i),
    )
    .await?;
    let algo = match &i.checksum_algorithm {
        None => None,
        Some(a) => Some(Algo::parse(a.as_str()).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Checksum algorithm provided is unsupported."
            )
        })?),
    };
    let kind = match (algo, i.checksum_type.as_ref().map(ChecksumType::as_str)) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            ));
        }
        (Some(Algo::Crc64Nvme), None | Some("FULL_OBJECT")) => Some("FULL_OBJECT"),
        (Some(_), None | Some("COMPOSITE")) => Some("COMPOSITE"),
        (Some(a), Some("FULL_OBJECT")) if a.is_crc() => Some("FULL_OBJECT"),
        (Some(a), Some(t)) => {
            return Err(s3_error!(
                InvalidRequest,
                "The {} checksum type cannot be used with the {} checksum algorithm.",
                t,
                a.name()
            ));
        }
    };
    let bucket_ctx = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let (owner, acl) = super::acl::write_acl(
        g,
        &p,
        &bucket_ctx,
        i.acl.as_ref().map(ObjectCannedACL::as_str),
        &super::acl::grant_headers!(i),
    )
    .await?;
    let upload = Upload {
        upload_id: format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        initiated_ms: gatehouse_core::now_ms(),
        headers: ContentHeaders {
            content_type: i.content_type,
            content_encoding: super::object::stored_encoding(i.content_encoding),
            content_disposition: i.content_disposition,
            content_language: i.content_language,
            cache_control: i.cache_control,
            expires: expires_string(i.expires.as_ref()),
            website_redirect_location: i.website_redirect_location,
        },
        user_meta: user_meta(i.metadata)?,
        checksum_algorithm: algo.map(|a| a.name().to_owned()),
        checksum_type: kind.map(str::to_owned),
        storage_class: class,
        owner_canonical_id: owner,
        tags,
        lock,
        sse: sealing.as_ref().map(|s| s.sse.clone()),
    };
    g.state
        .meta
        .create_upload(&upload)
        .await
        .map_err(meta_err)?;
    if let Some(acl) = &acl {
        g.state
            .meta
            .set_upload_acl(&upload.upload_id, &acl.to_json())
            .await
            .map_err(meta_err)?;
    }
    let echo = sse::echo(
        upload.sse.as_ref(),
        sealing.as_ref().and_then(|s| s.customer_md5.as_deref()),
    );
    let mut out = CreateMultipartUploadOutput {
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(upload.upload_id),
        checksum_algorithm: algo.map(|a| ChecksumAlgorithm::from(a.name().to_owned())),
        checksum_type: kind.map(|k| ChecksumType::from(k.to_owned())),
        ssekms_encryption_context: echo.context.clone(),
        ..Default::default()
    };
    sse::set_echo!(out, echo);
    Ok(S3Response::new(out))
}

async fn store_part(
    g: &Gatehouse,
    upload: &Upload,
    number: i32,
    ing: super::body::Ingested,
    key: Option<&sse::DataKey>,
) -> S3Result<MetaPart> {
    let super::body::Stored::Blob(blob) = ing.stored else {
        return Err(s3_error!(InternalError, "a part must be stored as a blob"));
    };
    let part = MetaPart {
        upload_id: upload.upload_id.clone(),
        part_number: number,
        size: i64::try_from(ing.size).unwrap_or(i64::MAX),
        etag: sse::etag(upload.sse.as_ref(), key, &ing.md5),
        last_modified_ms: gatehouse_core::now_ms(),
        checksums: Checksums {
            kind: None,
            ..ing.checksums
        },
        locator: blob.locator,
    };
    match g.state.meta.put_part(&part).await {
        Ok(old) => {
            if let Some(old) = old {
                delete_blobs(&g.state, vec![old.locator]);
            }
            Ok(part)
        }
        Err(e) => {
            delete_blobs(&g.state, vec![part.locator.clone()]);
            Err(meta_err(e))
        }
    }
}

fn upload_algo(u: &Upload) -> Option<Algo> {
    u.checksum_algorithm.as_deref().and_then(Algo::parse)
}

/// UploadPart.
pub(crate) async fn upload_part(
    g: &Gatehouse,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let i = req.input;
    check_part_number(i.part_number)?;
    let upload = load_upload(g, &i.bucket, &i.key, &i.upload_id).await?;
    let customer = sse::CustomerHeaders::new(
        i.sse_customer_algorithm.as_ref(),
        i.sse_customer_key.as_ref(),
        i.sse_customer_key_md5.as_ref(),
    );
    let key = sse::open_key(&g.state, &req.extensions, upload.sse.as_ref(), &customer).await?;
    let mut expect = Expect::from_headers(&req.headers, i.content_md5, i.content_length)?;
    if let Some(ua) = upload_algo(&upload) {
        if expect.algorithm.is_none() {
            expect.algorithm = Some(ua);
        }
        if expect.stored_algo() != ua {
            return Err(s3_error!(
                InvalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                ua.name().to_ascii_lowercase(),
                expect.stored_algo().name().to_ascii_lowercase()
            ));
        }
    }
    let ing = ingest(
        &g.state,
        i.body,
        &expect,
        req.trailing_headers.as_ref(),
        false,
        key.as_ref().map(|k| (k, part_seal_number(i.part_number))),
        &upload.storage_class,
    )
    .await?;
    let part = store_part(g, &upload, i.part_number, ing, key.as_ref()).await?;
    let c = checksum_dto(&part.checksums);
    let mut out = UploadPartOutput {
        e_tag: Some(etag_of(&part.etag)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        ..Default::default()
    };
    sse::set_echo!(out, sse::echo(upload.sse.as_ref(), customer.md5));
    Ok(S3Response::new(out))
}

/// The envelope part number of S3 part `n` (already checked to be 1..=10000).
fn part_seal_number(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against the source size.
fn copy_range(r: Option<&str>, size: u64) -> S3Result<std::ops::Range<u64>> {
    let Some(r) = r else { return Ok(0..size) };
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let spec = r.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    if last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable"
        ));
    }
    Ok(first..last + 1)
}

/// UploadPartCopy.
pub(crate) async fn upload_part_copy(
    g: &Gatehouse,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let i = req.input;
    check_part_number(i.part_number)?;
    let upload = load_upload(g, &i.bucket, &i.key, &i.upload_id).await?;
    let customer = sse::CustomerHeaders::new(
        i.sse_customer_algorithm.as_ref(),
        i.sse_customer_key.as_ref(),
        i.sse_customer_key_md5.as_ref(),
    );
    sse::check_access(&g.state, &req.extensions, upload.sse.as_ref(), &customer)?;
    let (sb, sk, sv) = copy_source(&i.copy_source)?;
    let src =
        super::object::load_copy_source(&g.state, &req.extensions, &sb, &sk, sv.as_deref()).await?;
    let src_customer = sse::CustomerHeaders::new(
        i.copy_source_sse_customer_algorithm.as_ref(),
        i.copy_source_sse_customer_key.as_ref(),
        i.copy_source_sse_customer_key_md5.as_ref(),
    );
    sse::check_access(&g.state, &req.extensions, src.sse.as_ref(), &src_customer)?;
    let conds = ReadConditions {
        if_match: i.copy_source_if_match.as_ref(),
        if_none_match: i.copy_source_if_none_match.as_ref(),
        if_modified_since: i.copy_source_if_modified_since.as_ref(),
        if_unmodified_since: i.copy_source_if_unmodified_since.as_ref(),
    };
    evaluate_copy_source(&conds, &src)?;
    let size = u64::try_from(src.size).unwrap_or(0);
    let range = copy_range(i.copy_source_range.as_deref(), size)?;
    let want = range.end - range.start;
    let expect = Expect {
        algorithm: upload_algo(&upload),
        ..Default::default()
    };
    let src_key = sse::open_key(&g.state, &req.extensions, src.sse.as_ref(), &src_customer).await?;
    let key = sse::open_key(&g.state, &req.extensions, upload.sse.as_ref(), &customer).await?;
    let ing = ingest(
        &g.state,
        Some(object_stream(&g.state, &src, range, src_key.as_ref())?),
        &expect,
        None,
        false,
        key.as_ref().map(|k| (k, part_seal_number(i.part_number))),
        &upload.storage_class,
    )
    .await
    .map_err(|e| super::object::copy_read_error(e, src.sse.is_some()))?;
    if ing.size != want {
        delete_blobs(&g.state, ing.locator().into_iter().collect());
        return Err(s3_error!(
            InternalError,
            "The source object changed while it was copied."
        ));
    }
    let part = store_part(g, &upload, i.part_number, ing, key.as_ref()).await?;
    let c = checksum_dto(&part.checksums);
    let mut out = UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(etag_of(&part.etag)),
            last_modified: Some(ts(part.last_modified_ms)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
        }),
        copy_source_version_id: super::versioning::read_header(&src),
        ..Default::default()
    };
    sse::set_echo!(out, sse::echo(upload.sse.as_ref(), customer.md5));
    Ok(S3Response::new(out))
}

/// The object checksum of a completed upload, from its parts' checksums.
fn combine_checksums(algo: Algo, kind: &str, parts: &[&MetaPart]) -> Option<Checksums> {
    let vals: Option<Vec<Vec<u8>>> = parts
        .iter()
        .map(|p| algo.get(&p.checksums).and_then(|v| B64.decode(v).ok()))
        .collect();
    let vals = vals?;
    let mut out = Checksums {
        kind: Some(kind.to_owned()),
        ..Default::default()
    };
    if kind == "FULL_OBJECT" {
        let crc_alg = match algo {
            Algo::Crc32 => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            Algo::Crc32c => crc_fast::CrcAlgorithm::Crc32Iscsi,
            Algo::Crc64Nvme => crc_fast::CrcAlgorithm::Crc64Nvme,
            _ => return None,
        };
        let mut acc: Option<u64> = None;
        for (v, p) in vals.iter().zip(parts) {
            let c = v.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
            let len = u64::try_from(p.size).ok()?;
            acc = Some(match acc {
                None => c,
                Some(prev) => crc_fast::checksum_combine(crc_alg, prev, c, len),
            });
        }
        let acc = acc?;
        let bytes = if algo == Algo::Crc64Nvme {
            acc.to_be_bytes().to_vec()
        } else {
            (acc as u32).to_be_bytes().to_vec()
        };
        algo.set(&mut out, B64.encode(bytes));
    } else {
        let concat: Vec<u8> = vals.concat();
        let digest: Vec<u8> = match algo {
            Algo::Crc32 => s3s::crypto::Crc32::checksum(&concat).to_vec(),
            Algo::Crc32c => s3s::crypto::Crc32c::checksum(&concat).to_vec(),
            Algo::Crc64Nvme => s3s::crypto::Crc64Nvme::checksum(&concat).to_vec(),
            Algo::Sha1 => s3s::crypto::Sha1::checksum(&concat).as_ref().to_vec(),
            Algo::Sha256 => s3s::crypto::Sha256::checksum(&concat).as_ref().to_vec(),
        };
        algo.set(&mut out, format!("{}-{}", B64.encode(digest), parts.len()));
    }
    Some(out)
}

/// CompleteMultipartUpload.
pub(crate) async fn complete(
    g: &Gatehouse,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let mut i = req.input;
    let upload = match load_upload(g, &i.bucket, &i.key, &i.upload_id).await {
        Ok(u) => u,
        Err(e) => return completed_again(g, &i, e).await,
    };
    let cond = write_condition(
        g,
        &i.bucket,
        &i.key,
        i.if_match.as_ref(),
        i.if_none_match.as_ref(),
    )
    .await?;
    let requested = i
        .multipart_upload
        .take()
        .and_then(|m| m.parts)
        .unwrap_or_default();
    if requested.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let (stored, _) = g
        .state
        .meta
        .list_parts(&upload.upload_id, 0, 10_000)
        .await
        .map_err(meta_err)?;
    let invalid_part = || {
        s3_error!(
            InvalidPart,
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
        )
    };
    let mut chosen: Vec<&MetaPart> = Vec::with_capacity(requested.len());
    let mut last = 0;
    for rp in &requested {
        let n = rp.part_number.ok_or_else(invalid_part)?;
        if n <= last {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number."
            ));
        }
        last = n;
        let sp = stored
            .iter()
            .find(|p| p.part_number == n)
            .ok_or_else(invalid_part)?;
        let etag_ok = rp
            .e_tag
            .as_ref()
            .is_some_and(|e| e.value() == etag_of(&sp.etag).value());
        if !etag_ok {
            return Err(invalid_part());
        }
        for a in Algo::ALL {
            let given = match a {
                Algo::Crc32 => rp.checksum_crc32.as_ref(),
                Algo::Crc32c => rp.checksum_crc32c.as_ref(),
                Algo::Crc64Nvme => rp.checksum_crc64nvme.as_ref(),
                Algo::Sha1 => rp.checksum_sha1.as_ref(),
                Algo::Sha256 => rp.checksum_sha256.as_ref(),
            };
            if let Some(v) = given
                && a.get(&sp.checksums) != Some(v)
            {
                return Err(invalid_part());
            }
        }
        chosen.push(sp);
    }
    for p in &chosen[..chosen.len() - 1] {
        if p.size < MIN_PART_SIZE {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
    }
    let size: i64 = chosen.iter().map(|p| p.size).sum();
    if let Some(want) = i.mpu_object_size
        && want != size
    {
        return Err(s3_error!(
            InvalidRequest,
            "The provided 'x-amz-mp-object-size' header value {want} does not match what was computed: {size}"
        ));
    }
    let mut md5 = md5::Md5::new();
    for p in &chosen {
        let hexs = p.etag.trim_matches('"');
        let raw = hex::decode(hexs).map_err(|_| s3_error!(InternalError))?;
        md5.update(&raw);
    }
    let etag = format!("\"{}-{}\"", hex::encode(md5.finalize()), chosen.len());
    let checksums = match (upload_algo(&upload), upload.checksum_type.as_deref()) {
        (Some(a), Some(kind)) => combine_checksums(a, kind, &chosen).unwrap_or_default(),
        _ => combine_checksums(Algo::Crc64Nvme, "FULL_OBJECT", &chosen).unwrap_or_default(),
    };
    for a in Algo::ALL {
        let given = match a {
            Algo::Crc32 => i.checksum_crc32.as_ref(),
            Algo::Crc32c => i.checksum_crc32c.as_ref(),
            Algo::Crc64Nvme => i.checksum_crc64nvme.as_ref(),
            Algo::Sha1 => i.checksum_sha1.as_ref(),
            Algo::Sha256 => i.checksum_sha256.as_ref(),
        };
        if let Some(v) = given
            && a.get(&checksums) != Some(v)
        {
            return Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                a.name()
            ));
        }
    }
    let mode = super::versioning::state_of(&g.state, &req.extensions, &i.bucket).await?;
    let object_sse = match &upload.sse {
        None => None,
        Some(s) => {
            let mut params = sse::Params::of(s)?;
            params.parts = Some(
                chosen
                    .iter()
                    .map(|p| part_seal_number(p.part_number))
                    .collect(),
            );
            Some(gatehouse_meta::Sse {
                params: params.to_json()?,
                ..s.clone()
            })
        }
    };
    let rec = ObjectRecord {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        version_id: mode.new_version_id(),
        size,
        etag: etag.clone(),
        last_modified_ms: gatehouse_core::now_ms(),
        headers: upload.headers.clone(),
        user_meta: upload.user_meta.clone(),
        checksums: checksums.clone(),
        segments: chosen
            .iter()
            .map(|p| Segment {
                locator: p.locator.clone(),
                size: p.size,
                etag: Some(p.etag.clone()),
                checksums: Some(p.checksums.clone()),
            })
            .collect(),
        storage_class: upload.storage_class.clone(),
        owner_canonical_id: upload.owner_canonical_id.clone(),
        inline_data: None,
        tags: upload.tags.clone(),
        upload_id: Some(upload.upload_id.clone()),
        delete_marker: false,
        lock: upload.lock.clone(),
        sse: object_sse,
    };
    let upload_acl = g
        .state
        .meta
        .upload_acl(&upload.upload_id)
        .await
        .map_err(meta_err)?;
    let (outcome, unused) = g
        .state
        .meta
        .complete_upload(&upload.upload_id, &rec, &cond)
        .await
        .map_err(meta_err)?;
    if let Some(acl) = upload_acl {
        g.state
            .meta
            .put_object_acl(&rec.bucket, &rec.key, &rec.version_id, Some(&acl))
            .await
            .map_err(meta_err)?;
    }
    let mut garbage: Vec<String> = unused.into_iter().map(|p| p.locator).collect();
    if let Some(old) = outcome.replaced {
        garbage.extend(old.segments.into_iter().map(|s| s.locator));
    }
    delete_blobs(&g.state, garbage);
    let mut out = complete_output(&i, &etag, &checksums, rec.sse.as_ref());
    out.version_id = mode.header(&rec.version_id);
    let ctx = super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    out.expiration = super::expiration::header(&g.state, &ctx, &rec);
    Ok(S3Response::new(out))
}

/// What CompleteMultipartUpload answers for the object it made.
fn complete_output(
    i: &CompleteMultipartUploadInput,
    etag: &str,
    checksums: &gatehouse_meta::Checksums,
    sse: Option<&gatehouse_meta::Sse>,
) -> CompleteMultipartUploadOutput {
    let c = checksum_dto(checksums);
    let echo = sse::echo(sse, None);
    CompleteMultipartUploadOutput {
        server_side_encryption: echo.sse,
        ssekms_key_id: echo.kms_key_id,
        bucket_key_enabled: echo.bucket_key,
        bucket: Some(i.bucket.clone()),
        key: Some(i.key.clone()),
        location: Some(format!("/{}/{}", i.bucket, url_encode(&i.key))),
        e_tag: Some(etag_of(etag)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: c.checksum_type,
        ..Default::default()
    }
}

/// A CompleteMultipartUpload for an upload that is gone: if the key's current object is the one this upload
/// made (a client retrying after a lost response), AWS answers 200 again with the same result; otherwise
/// `err` (NoSuchUpload / NoSuchBucket).
async fn completed_again(
    g: &Gatehouse,
    i: &CompleteMultipartUploadInput,
    err: s3s::S3Error,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let current = g
        .state
        .meta
        .get_object(&i.bucket, &i.key)
        .await
        .map_err(meta_err)?;
    match current {
        Some(rec) if rec.upload_id.as_deref() == Some(i.upload_id.as_str()) => {
            Ok(S3Response::new(CompleteMultipartUploadOutput {
                version_id: super::versioning::read_header(&rec),
                ..complete_output(i, &rec.etag, &rec.checksums, rec.sse.as_ref())
            }))
        }
        _ => Err(err),
    }
}

/// AbortMultipartUpload.
pub(crate) async fn abort(
    g: &Gatehouse,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let i = &req.input;
    match g
        .state
        .meta
        .abort_upload(&i.bucket, &i.key, &i.upload_id)
        .await
    {
        Ok(parts) => delete_blobs(&g.state, parts.into_iter().map(|p| p.locator).collect()),
        Err(MetaError::NoSuchUpload) => {
            require_bucket(&g.state, &i.bucket).await?;
            return Err(no_such_upload());
        }
        Err(e) => return Err(meta_err(e)),
    }
    let mut resp = S3Response::new(AbortMultipartUploadOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: i32, data: &[u8], algo: Algo) -> MetaPart {
        let mut c = Checksums::default();
        let v = match algo {
            Algo::Crc32 => B64.encode(s3s::crypto::Crc32::checksum(data)),
            Algo::Crc32c => B64.encode(s3s::crypto::Crc32c::checksum(data)),
            Algo::Crc64Nvme => B64.encode(s3s::crypto::Crc64Nvme::checksum(data)),
            Algo::Sha1 => B64.encode(s3s::crypto::Sha1::checksum(data)),
            Algo::Sha256 => B64.encode(s3s::crypto::Sha256::checksum(data)),
        };
        algo.set(&mut c, v);
        MetaPart {
            upload_id: "u".into(),
            part_number: n,
            size: data.len() as i64,
            etag: "\"x\"".into(),
            last_modified_ms: 0,
            checksums: c,
            locator: String::new(),
        }
    }

    #[test]
    fn full_object_crc_equals_crc_of_the_whole_body() {
        let a = vec![7u8; 1000];
        let b = b"hello world".to_vec();
        let whole = [a.clone(), b.clone()].concat();
        for algo in [Algo::Crc32, Algo::Crc32c, Algo::Crc64Nvme] {
            let pa = part(1, &a, algo);
            let pb = part(2, &b, algo);
            let got = combine_checksums(algo, "FULL_OBJECT", &[&pa, &pb]).expect("combined");
            let direct = part(1, &whole, algo);
            assert_eq!(algo.get(&got), algo.get(&direct.checksums), "{algo:?}");
        }
    }

    #[test]
    fn composite_checksum_has_part_count_suffix() {
        let pa = part(1, b"abc", Algo::Sha256);
        let got = combine_checksums(Algo::Sha256, "COMPOSITE", &[&pa]).expect("combined");
        assert!(got.sha256.as_deref().is_some_and(|v| v.ends_with("-1")));
    }

    #[test]
    fn copy_ranges_are_validated() {
        assert_eq!(copy_range(Some("bytes=0-9"), 100).ok(), Some(0..10));
        assert!(copy_range(Some("bytes=5-200"), 100).is_err());
        assert!(copy_range(Some("0-9"), 100).is_err());
        assert!(copy_range(Some("bytes=9-0"), 100).is_err());
        assert_eq!(copy_range(None, 100).ok(), Some(0..100));
    }
}
