//! Access control lists: Get / Put {Bucket,Object}Acl with canned ACLs, grant headers or an
//! AccessControlPolicy body (grantees by canonical id, e-mail address or group URI), ACLs carried by object
//! writes, and Object Ownership's effect on both: under BucketOwnerEnforced ACLs are disabled (only an ACL
//! equivalent to the bucket owner's FULL_CONTROL is accepted, anything else is AccessControlListNotSupported),
//! and Block Public Access's BlockPublicAcls refuses public ACLs.

use gatehouse_policy::{AclTarget, CannedAcl, ObjectOwnership as Ownership};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::list::Owners;
use super::{Gatehouse, custom_error, meta_err, request_bucket};
use crate::access::acl::{GrantHeaders, StoredAcl, requested_acl};
use crate::access::bucket::{ACL, BucketCtx};
use crate::state::Principal;

/// The grant headers of a Put*Acl / write request (the inputs share the field names).
macro_rules! grant_headers {
    ($i:expr) => {
        $crate::access::acl::GrantHeaders {
            full_control: $i.grant_full_control.as_deref(),
            read: $i.grant_read.as_deref(),
            read_acp: $i.grant_read_acp.as_deref(),
            write: None,
            write_acp: $i.grant_write_acp.as_deref(),
        }
    };
}
pub(crate) use grant_headers;

fn malformed_acl() -> s3s::S3Error {
    custom_error(
        "MalformedACLError",
        http::StatusCode::BAD_REQUEST,
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

fn not_supported() -> s3s::S3Error {
    s3_error!(
        AccessControlListNotSupported,
        "The bucket does not allow ACLs"
    )
}

/// Checks an ACL about to be set against the bucket's ownership and Block Public Access; `Ok(None)` when it is
/// the owner's FULL_CONTROL alone (nothing to store). Under BucketOwnerEnforced only the
/// `bucket-owner-full-control` canned ACL or explicit grants equivalent to it are accepted (and change
/// nothing); any other ACL, `private` included, is AccessControlListNotSupported, as on AWS.
fn admissible(b: &BucketCtx, canned: Option<&str>, acl: StoredAcl) -> S3Result<Option<StoredAcl>> {
    if b.effective_ownership() == Ownership::BucketOwnerEnforced {
        let owner_only = !acl.grants.is_empty()
            && acl.grants.iter().all(|g| {
                g.permission == "FULL_CONTROL"
                    && g.id.as_deref() == Some(b.owner_canonical_id.as_str())
            });
        let accepted = match canned {
            Some(c) => c == "bucket-owner-full-control",
            None => owner_only,
        };
        return if accepted {
            Ok(None)
        } else {
            Err(not_supported())
        };
    }
    if b.effective_bpa().block_public_acls && acl.to_policy(AclTarget::Object).is_public() {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    Ok((!acl.is_private()).then_some(acl))
}

/// The owner and ACL of an object a principal writes into bucket `b` with the request's canned ACL or grant
/// headers: the bucket owner under BucketOwnerEnforced (and under BucketOwnerPreferred when the writer gives
/// bucket-owner-full-control), else the writer. The ACL is `None` when there is nothing to store.
pub(crate) async fn write_acl(
    g: &Gatehouse,
    p: &Principal,
    b: &BucketCtx,
    canned: Option<&str>,
    headers: &GrantHeaders<'_>,
) -> S3Result<(String, Option<StoredAcl>)> {
    let writer = if p.account_id.is_empty() {
        b.owner_canonical_id.clone()
    } else {
        p.canonical_id.clone()
    };
    let owner = match b.effective_ownership() {
        Ownership::BucketOwnerEnforced => b.owner_canonical_id.clone(),
        Ownership::BucketOwnerPreferred if canned == Some("bucket-owner-full-control") => {
            b.owner_canonical_id.clone()
        }
        _ => writer,
    };
    let acl = requested_acl(
        &g.state,
        AclTarget::Object,
        canned,
        headers,
        None,
        &owner,
        &b.owner_canonical_id,
    )
    .await?;
    let acl = match acl {
        None => None,
        Some(a) => admissible(b, canned, a)?,
    };
    Ok((owner, acl))
}

/// Stores the ACL `write_acl` chose for a version just written (a failure leaves the version private: the
/// owner's FULL_CONTROL alone, never more).
pub(crate) async fn store_object_acl(
    g: &Gatehouse,
    bucket: &str,
    key: &str,
    version_id: &str,
    acl: Option<&StoredAcl>,
) -> S3Result<()> {
    if let Some(acl) = acl {
        g.state
            .meta
            .put_object_acl(bucket, key, version_id, Some(&acl.to_json()))
            .await
            .map_err(meta_err)?;
    }
    Ok(())
}

async fn render(g: &Gatehouse, acl: &StoredAcl) -> S3Result<(Owner, Grants)> {
    let mut owners = Owners::new(&g.state);
    let owner = owners.get(&acl.owner).await?;
    let mut grants = acl.dto_grants(&mut owners).await?;
    // Group grants first, then canonical users (the order S3 lists them in).
    grants.sort_by_key(|g| g.grantee.as_ref().is_none_or(|ge| ge.uri.is_none()));
    Ok((owner, grants))
}

/// The bucket's ACL as stored (the owner's FULL_CONTROL when none was set or ACLs are disabled).
fn bucket_acl(b: &BucketCtx) -> StoredAcl {
    match b.settings.get(ACL).map(|s| StoredAcl::parse(s)) {
        Some(Ok(a)) if b.acls_enabled() => a,
        _ => StoredAcl::canned(
            CannedAcl::Private,
            AclTarget::Bucket,
            &b.owner_canonical_id,
            &b.owner_canonical_id,
        ),
    }
}

/// GetBucketAcl.
pub(crate) async fn get_bucket_acl(
    g: &Gatehouse,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let b = request_bucket(&g.state, &req.extensions, &req.input.bucket).await?;
    let (owner, grants) = render(g, &bucket_acl(&b)).await?;
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(grants),
        owner: Some(owner),
    }))
}

/// PutBucketAcl.
pub(crate) async fn put_bucket_acl(
    g: &Gatehouse,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let i = &req.input;
    let b = request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let mut headers = grant_headers!(i);
    headers.write = i.grant_write.as_deref();
    let acl = requested_acl(
        &g.state,
        AclTarget::Bucket,
        i.acl.as_ref().map(BucketCannedACL::as_str),
        &headers,
        i.access_control_policy.as_ref(),
        &b.owner_canonical_id,
        &b.owner_canonical_id,
    )
    .await?
    .ok_or_else(malformed_acl)?;
    match admissible(&b, i.acl.as_ref().map(BucketCannedACL::as_str), acl)? {
        Some(acl) => {
            g.state
                .meta
                .put_bucket_setting(&i.bucket, ACL, &acl.to_json())
                .await
        }
        None => g
            .state
            .meta
            .delete_bucket_setting(&i.bucket, ACL)
            .await
            .map(|_| ()),
    }
    .map_err(meta_err)?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

/// The stored ACL of an object version (its owner's FULL_CONTROL when none).
async fn stored_object_acl(
    g: &Gatehouse,
    rec: &gatehouse_meta::ObjectRecord,
) -> S3Result<StoredAcl> {
    let s = g
        .state
        .meta
        .object_acl(&rec.bucket, &rec.key, &rec.version_id)
        .await
        .map_err(meta_err)?;
    match s.map(|s| StoredAcl::parse(&s)) {
        Some(Ok(a)) => Ok(a),
        Some(Err(e)) => {
            tracing::error!(error = %e, bucket = rec.bucket, key = rec.key, "stored object ACL unreadable");
            Err(s3_error!(InternalError))
        }
        None => Ok(StoredAcl::canned(
            CannedAcl::Private,
            AclTarget::Object,
            &rec.owner_canonical_id,
            &rec.owner_canonical_id,
        )),
    }
}

/// GetObjectAcl.
pub(crate) async fn get_object_acl(
    g: &Gatehouse,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let i = &req.input;
    let rec = super::read::load_authorized(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        i.version_id.as_deref(),
        false,
    )
    .await?;
    let (owner, grants) = render(g, &stored_object_acl(g, &rec).await?).await?;
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(grants),
        owner: Some(owner),
        request_charged: None,
    }))
}

/// PutObjectAcl.
pub(crate) async fn put_object_acl(
    g: &Gatehouse,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let i = &req.input;
    let b = request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let rec = super::read::load_authorized(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        i.version_id.as_deref(),
        false,
    )
    .await?;
    let acl = requested_acl(
        &g.state,
        AclTarget::Object,
        i.acl.as_ref().map(ObjectCannedACL::as_str),
        &grant_headers!(i),
        i.access_control_policy.as_ref(),
        &rec.owner_canonical_id,
        &b.owner_canonical_id,
    )
    .await?
    .ok_or_else(malformed_acl)?;
    let acl = admissible(&b, i.acl.as_ref().map(ObjectCannedACL::as_str), acl)?;
    g.state
        .meta
        .put_object_acl(
            &rec.bucket,
            &rec.key,
            &rec.version_id,
            acl.map(|a| a.to_json()).as_deref(),
        )
        .await
        .map_err(|e| match e {
            gatehouse_meta::MetaError::NoSuchKey => {
                s3_error!(NoSuchKey, "The specified key does not exist.")
            }
            other => meta_err(other),
        })?;
    Ok(S3Response::new(PutObjectAclOutput {
        request_charged: None,
    }))
}
