//! ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{Bucket as MetaBucket, MetaError};

use super::{Gatehouse, meta_err, principal, require_bucket, ts};

/// ListBuckets: the caller's account's buckets.
pub(crate) async fn list_buckets(
    g: &Gatehouse,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let p = principal(&req)?;
    let i = &req.input;
    let max = match i.max_buckets {
        None => usize::MAX,
        Some(n @ 1..=10_000) => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "Argument max-buckets must be an integer between 1 and 10000."
            ));
        }
    };
    // The token is the last name of the previous page.
    let after = i
        .continuation_token
        .as_deref()
        .map(super::list::decode_token)
        .transpose()?;
    let all = g
        .state
        .meta
        .list_buckets(&p.account_id)
        .await
        .map_err(meta_err)?;
    let prefix = i.prefix.as_deref().unwrap_or("");
    let mut matching = all
        .into_iter()
        .filter(|b| b.name.starts_with(prefix))
        .filter(|b| i.bucket_region.as_deref().is_none_or(|r| r == b.region))
        .filter(|b| after.as_deref().is_none_or(|a| b.name.as_str() > a))
        .peekable();
    let mut page = Vec::new();
    while page.len() < max
        && let Some(b) = matching.next()
    {
        page.push(b);
    }
    let token = match (matching.peek(), page.last()) {
        (Some(_), Some(last)) => Some(super::list::encode_token(&last.name)),
        _ => None,
    };
    let buckets = page
        .into_iter()
        .map(|b| Bucket {
            name: Some(b.name),
            creation_date: Some(ts(b.created_ms)),
            bucket_region: Some(b.region),
        })
        .collect();
    let out = ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(Owner {
            display_name: Some(p.display_name),
            id: Some(p.canonical_id),
        }),
        prefix: i.prefix.clone(),
        continuation_token: token,
    };
    Ok(S3Response::new(out))
}

/// CreateBucket.
pub(crate) async fn create_bucket(
    g: &Gatehouse,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let p = principal(&req)?;
    let i = &req.input;
    if i.acl.as_ref().is_some_and(|a| a.as_str() != "private")
        || i.grant_full_control.is_some()
        || i.grant_read.is_some()
        || i.grant_read_acp.is_some()
        || i.grant_write.is_some()
        || i.grant_write_acp.is_some()
    {
        return Err(s3_error!(
            NotImplemented,
            "Bucket ACLs are not implemented yet"
        ));
    }
    if i.object_ownership
        .as_ref()
        .is_some_and(|o| o.as_str() != "BucketOwnerEnforced")
    {
        return Err(s3_error!(
            NotImplemented,
            "Object ownership other than BucketOwnerEnforced is not implemented yet"
        ));
    }
    let region = &g.state.config.region;
    let cfg = i.create_bucket_configuration.as_ref();
    if cfg.is_some_and(|c| c.bucket.is_some() || c.location.is_some()) {
        return Err(s3_error!(
            NotImplemented,
            "Directory buckets are not supported"
        ));
    }
    let wanted = cfg
        .and_then(|c| c.location_constraint.as_ref())
        .map(|l| l.as_str().to_owned());
    match wanted.as_deref() {
        None | Some("") if region == "us-east-1" => {}
        Some(l) if l == region => {
            if l == "us-east-1" {
                return Err(s3_error!(
                    InvalidLocationConstraint,
                    "The specified location-constraint is not valid"
                ));
            }
        }
        None | Some("") => {
            return Err(s3_error!(
                IllegalLocationConstraintException,
                "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
            ));
        }
        Some(l) => {
            return Err(s3_error!(
                IllegalLocationConstraintException,
                "The {l} location constraint is incompatible for the region specific endpoint this request was sent to."
            ));
        }
    }
    let b = MetaBucket {
        name: i.bucket.clone(),
        owner_account_id: p.account_id.clone(),
        region: region.clone(),
        created_ms: gatehouse_core::now_ms(),
    };
    match g.state.meta.create_bucket(&b).await {
        Ok(()) if i.object_lock_enabled_for_bucket == Some(true) => {
            // Object Lock comes with versioning enabled (and never suspended: `versioning.rs`).
            let meta = &g.state.meta;
            meta.put_bucket_setting(&i.bucket, "versioning", "Enabled")
                .await
                .map_err(meta_err)?;
            meta.put_bucket_setting(
                &i.bucket,
                super::lock::SETTING,
                &super::lock::BucketLock::default().to_setting(),
            )
            .await
            .map_err(meta_err)?;
        }
        Ok(()) => {}
        Err(MetaError::BucketExists { owner_account_id }) if owner_account_id == p.account_id => {
            // AWS keeps a legacy answer in us-east-1: re-creating your own bucket succeeds.
            if region != "us-east-1" {
                return Err(s3_error!(
                    BucketAlreadyOwnedByYou,
                    "Your previous request to create the named bucket succeeded and you already own it."
                ));
            }
        }
        Err(MetaError::BucketExists { .. }) => {
            return Err(s3_error!(
                BucketAlreadyExists,
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
            ));
        }
        Err(e) => return Err(meta_err(e)),
    }
    let out = CreateBucketOutput {
        location: Some(format!("/{}", i.bucket)),
    };
    Ok(S3Response::new(out))
}

/// DeleteBucket: only a bucket without objects. In-progress multipart uploads do not block it (as on AWS for
/// general-purpose buckets): they are aborted first.
pub(crate) async fn delete_bucket(
    g: &Gatehouse,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let bucket = &req.input.bucket;
    if g.state
        .meta
        .list_objects(bucket, "", None, None, 1)
        .await
        .map_err(meta_err)?
        .objects
        .is_empty()
    {
        loop {
            let page = g
                .state
                .meta
                .list_uploads(bucket, "", None, None, None, 1000)
                .await
                .map_err(meta_err)?;
            for u in &page.uploads {
                match g
                    .state
                    .meta
                    .abort_upload(bucket, &u.key, &u.upload_id)
                    .await
                {
                    Ok(parts) => super::delete_blobs(
                        &g.state,
                        parts.into_iter().map(|p| p.locator).collect(),
                    ),
                    Err(MetaError::NoSuchUpload) => {}
                    Err(e) => return Err(meta_err(e)),
                }
            }
            if !page.is_truncated || page.uploads.is_empty() {
                break;
            }
        }
    }
    g.state
        .meta
        .delete_bucket(&req.input.bucket)
        .await
        .map_err(meta_err)?;
    let mut resp = S3Response::new(DeleteBucketOutput {});
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

/// HeadBucket.
pub(crate) async fn head_bucket(
    g: &Gatehouse,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let b = require_bucket(&g.state, &req.input.bucket).await?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(b.region),
        ..Default::default()
    }))
}

/// GetBucketLocation: empty for us-east-1, as AWS answers.
pub(crate) async fn get_bucket_location(
    g: &Gatehouse,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let b = require_bucket(&g.state, &req.input.bucket).await?;
    let lc = (b.region != "us-east-1").then(|| BucketLocationConstraint::from(b.region));
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint: lc,
    }))
}
