//! ListParts and ListMultipartUploads.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::list::{Owners, url_encode, url_encoding};
use super::multipart::load_upload;
use super::read::checksum_dto;
use super::{Gatehouse, etag_of, meta_err, ts};

/// ListParts.
pub(crate) async fn list_parts(
    g: &Gatehouse,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let i = req.input;
    let upload = load_upload(g, &i.bucket, &i.key, &i.upload_id).await?;
    let max = match i.max_parts {
        None => 1000,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "Argument max-parts must be an integer between 0 and 2147483647"
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(1000).min(1000),
    };
    let marker = i.part_number_marker.unwrap_or(0).max(0);
    let (parts, truncated) = g
        .state
        .meta
        .list_parts(&upload.upload_id, marker, max)
        .await
        .map_err(meta_err)?;
    let owner = Owners::new(&g.state)
        .get(&upload.owner_canonical_id)
        .await?;
    let next = parts.last().map(|p| p.part_number);
    let out = ListPartsOutput {
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(upload.upload_id.clone()),
        part_number_marker: i.part_number_marker,
        next_part_number_marker: next,
        max_parts: Some(i32::try_from(max).unwrap_or(1000)),
        is_truncated: Some(truncated),
        storage_class: Some(StorageClass::from(upload.storage_class.clone())),
        checksum_algorithm: upload
            .checksum_algorithm
            .clone()
            .map(ChecksumAlgorithm::from),
        checksum_type: upload.checksum_type.clone().map(ChecksumType::from),
        initiator: Some(Initiator {
            id: owner.id.clone(),
            display_name: owner.display_name.clone(),
        }),
        owner: Some(owner),
        parts: Some(
            parts
                .iter()
                .map(|p| {
                    let c = checksum_dto(&p.checksums);
                    Part {
                        part_number: Some(p.part_number),
                        e_tag: Some(etag_of(&p.etag)),
                        size: Some(p.size),
                        last_modified: Some(ts(p.last_modified_ms)),
                        checksum_crc32: c.checksum_crc32,
                        checksum_crc32c: c.checksum_crc32c,
                        checksum_crc64nvme: c.checksum_crc64nvme,
                        checksum_sha1: c.checksum_sha1,
                        checksum_sha256: c.checksum_sha256,
                    }
                })
                .collect(),
        ),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

/// ListMultipartUploads.
pub(crate) async fn list_uploads(
    g: &Gatehouse,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let i = req.input;
    let enc = url_encoding(i.encoding_type.as_ref())?;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let max = match i.max_uploads {
        None => 1000,
        Some(n) if n < 0 => {
            return Err(s3_error!(
                InvalidArgument,
                "Argument max-uploads must be an integer between 0 and 2147483647"
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(1000).min(1000),
    };
    let prefix = i.prefix.clone().unwrap_or_default();
    let delim = i.delimiter.clone().filter(|d| !d.is_empty());
    let page = g
        .state
        .meta
        .list_uploads(
            &i.bucket,
            &prefix,
            delim.as_deref(),
            i.key_marker.as_deref(),
            i.upload_id_marker.as_deref(),
            max,
        )
        .await
        .map_err(meta_err)?;
    let e = |s: String| if enc { url_encode(&s) } else { s };
    let mut uploads = Vec::with_capacity(page.uploads.len());
    let mut owners = Owners::new(&g.state);
    for u in &page.uploads {
        let owner = owners.get(&u.owner_canonical_id).await?;
        uploads.push(MultipartUpload {
            key: Some(e(u.key.clone())),
            upload_id: Some(u.upload_id.clone()),
            initiated: Some(ts(u.initiated_ms)),
            storage_class: Some(StorageClass::from(u.storage_class.clone())),
            checksum_algorithm: u.checksum_algorithm.clone().map(ChecksumAlgorithm::from),
            checksum_type: u.checksum_type.clone().map(ChecksumType::from),
            initiator: Some(Initiator {
                id: owner.id.clone(),
                display_name: owner.display_name.clone(),
            }),
            owner: Some(owner),
        });
    }
    let out = ListMultipartUploadsOutput {
        bucket: Some(i.bucket),
        prefix: Some(e(prefix)),
        delimiter: i.delimiter.map(e),
        key_marker: Some(i.key_marker.map(e).unwrap_or_default()),
        upload_id_marker: Some(i.upload_id_marker.unwrap_or_default()),
        next_key_marker: page.next_key_marker.map(e),
        next_upload_id_marker: page.next_upload_id_marker,
        max_uploads: Some(i32::try_from(max).unwrap_or(1000)),
        is_truncated: Some(page.is_truncated),
        encoding_type: i.encoding_type,
        common_prefixes: (!page.common_prefixes.is_empty()).then(|| {
            page.common_prefixes
                .into_iter()
                .map(|p| CommonPrefix { prefix: Some(e(p)) })
                .collect()
        }),
        uploads: Some(uploads),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}
