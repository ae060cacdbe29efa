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
    let mut settings = initial_settings(g, &p, i).await?;
    if i.object_lock_enabled_for_bucket == Some(true) {
        // Object Lock comes with versioning enabled (and never suspended: `versioning.rs`), in the same
        // transaction as the bucket.
        settings.push(("versioning".to_owned(), "Enabled".to_owned()));
        settings.push((
            super::lock::SETTING.to_owned(),
            super::lock::BucketLock::default().to_setting(),
        ));
    }
    match g
        .state
        .meta
        .create_bucket_with_settings(&b, &settings)
        .await
    {
        Ok(()) => {}
        Err(MetaError::BucketExists { owner_account_id }) if owner_account_id == p.account_id => {
            // AWS keeps a legacy answer in us-east-1: re-creating your own bucket succeeds, unless the ACL
            // asked for or the one the bucket has is not the private one (then it is BucketAlreadyExists).
            let existing_private = g
                .state
                .buckets
                .get(&g.state.meta, &i.bucket)
                .await
                .map_err(meta_err)?
                .is_none_or(|b| b.acl_is_private());
            let asked_private = !settings
                .iter()
                .any(|(n, _)| n == crate::access::bucket::ACL);
            if region == "us-east-1" && !(existing_private && asked_private) {
                return Err(s3_error!(
                    BucketAlreadyExists,
                    "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."
                ));
            }
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

/// The settings a new bucket starts with: Object Ownership (`x-amz-object-ownership`, else the operator's
/// default), Block Public Access (all four on when the operator's default says so), and the ACL the request
/// gives (refused under BucketOwnerEnforced unless it is the owner's FULL_CONTROL alone, as AWS does).
async fn initial_settings(
    g: &Gatehouse,
    p: &crate::state::Principal,
    i: &CreateBucketInput,
) -> S3Result<Vec<(String, String)>> {
    use crate::access::bucket as ctx;
    use gatehouse_policy::ObjectOwnership as Ownership;
    let cfg = &g.state.config;
    let ownership = match &i.object_ownership {
        Some(o) => ctx::parse_ownership(o.as_str()).ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Invalid x-amz-object-ownership header: {}",
                o.as_str()
            )
        })?,
        None => cfg.default_object_ownership,
    };
    let mut settings = Vec::new();
    if i.object_ownership.is_some() || ownership != Ownership::ObjectWriter {
        settings.push((
            ctx::OWNERSHIP.to_owned(),
            ctx::ownership_name(ownership).to_owned(),
        ));
    }
    if cfg.default_public_access_block {
        settings.push((
            ctx::PUBLIC_ACCESS_BLOCK.to_owned(),
            ctx::bpa_json(&gatehouse_policy::PublicAccessBlock::all()),
        ));
    }
    let headers = crate::access::acl::GrantHeaders {
        full_control: i.grant_full_control.as_deref(),
        read: i.grant_read.as_deref(),
        read_acp: i.grant_read_acp.as_deref(),
        write: i.grant_write.as_deref(),
        write_acp: i.grant_write_acp.as_deref(),
    };
    let acl = crate::access::acl::requested_acl(
        &g.state,
        gatehouse_policy::AclTarget::Bucket,
        i.acl.as_ref().map(BucketCannedACL::as_str),
        &headers,
        None,
        &p.canonical_id,
        &p.canonical_id,
    )
    .await?;
    if let Some(acl) = acl.filter(|a| !a.is_private()) {
        if ownership == Ownership::BucketOwnerEnforced {
            return Err(super::custom_error(
                "InvalidBucketAclWithObjectOwnership",
                http::StatusCode::BAD_REQUEST,
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            ));
        }
        if cfg.default_public_access_block
            && acl
                .to_policy(gatehouse_policy::AclTarget::Bucket)
                .is_public()
        {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        }
        settings.push((ctx::ACL.to_owned(), acl.to_json()));
    }
    Ok(settings)
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
