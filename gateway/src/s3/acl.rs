//! Access control lists, as far as they exist before the policy engine is wired in: every bucket and object
//! is private (its owner has FULL_CONTROL, nobody else anything). Get*Acl report exactly that; Put*Acl accept
//! only what leaves it so (the `private` canned ACL, or a policy granting the owner FULL_CONTROL alone) and
//! answer NotImplemented for anything else, instead of storing grants nobody would enforce.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::list::Owners;
use super::read::load_version;
use super::{Gatehouse, custom_error, meta_err, require_bucket};

/// The canned ACL values S3 knows (anything else is InvalidArgument, as on AWS).
const CANNED: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

/// Whether a Put*Acl request names grants in `x-amz-grant-*` headers (both inputs share the field names).
macro_rules! any_grant_header {
    ($i:expr) => {
        $i.grant_full_control.is_some()
            || $i.grant_read.is_some()
            || $i.grant_read_acp.is_some()
            || $i.grant_write.is_some()
            || $i.grant_write_acp.is_some()
    };
}

/// The one ACL every resource has today.
fn private_acl(owner: &Owner) -> Grants {
    vec![Grant {
        grantee: Some(Grantee {
            display_name: owner.display_name.clone(),
            email_address: None,
            id: owner.id.clone(),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }]
}

/// Checks a requested ACL: `Ok` if it is the private ACL of `owner_id`, InvalidArgument for an unknown
/// canned ACL, NotImplemented for any real grant.
fn require_private(
    canned: Option<&str>,
    grant_headers: bool,
    policy: Option<&AccessControlPolicy>,
    owner_id: &str,
) -> S3Result<()> {
    if canned.is_none() && !grant_headers && policy.is_none() {
        return Err(custom_error(
            "MalformedACLError",
            http::StatusCode::BAD_REQUEST,
            "The XML you provided was not well-formed or did not validate against our published schema",
        ));
    }
    if let Some(c) = canned
        && !CANNED.contains(&c)
    {
        return Err(s3_error!(InvalidArgument, "Invalid canned ACL: {c}"));
    }
    let policy_private = policy.is_none_or(|p| {
        p.grants.as_deref().is_some_and(|g| {
            g.len() == 1
                && g[0]
                    .permission
                    .as_ref()
                    .is_some_and(|p| p.as_str() == Permission::FULL_CONTROL)
                && g[0].grantee.as_ref().is_some_and(|ge| {
                    ge.type_.as_str() == Type::CANONICAL_USER && ge.id.as_deref() == Some(owner_id)
                })
        })
    });
    if canned.is_some_and(|c| c != "private") || grant_headers || !policy_private {
        return Err(s3_error!(
            NotImplemented,
            "ACLs other than private are not implemented yet"
        ));
    }
    Ok(())
}

/// The owner of a bucket, as S3 shows it.
async fn bucket_owner(g: &Gatehouse, bucket: &str) -> S3Result<Owner> {
    let b = require_bucket(&g.state, bucket).await?;
    let acct = g
        .state
        .meta
        .get_account(&b.owner_account_id)
        .await
        .map_err(meta_err)?
        .ok_or_else(|| s3_error!(InternalError))?;
    Ok(Owner {
        display_name: Some(acct.display_name),
        id: Some(acct.canonical_id),
    })
}

/// GetBucketAcl.
pub(crate) async fn get_bucket_acl(
    g: &Gatehouse,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let owner = bucket_owner(g, &req.input.bucket).await?;
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(private_acl(&owner)),
        owner: Some(owner),
    }))
}

/// PutBucketAcl: only the private ACL.
pub(crate) async fn put_bucket_acl(
    g: &Gatehouse,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let i = &req.input;
    let owner = bucket_owner(g, &i.bucket).await?;
    require_private(
        i.acl.as_ref().map(BucketCannedACL::as_str),
        any_grant_header!(i),
        i.access_control_policy.as_ref(),
        owner.id.as_deref().unwrap_or_default(),
    )?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

/// GetObjectAcl.
pub(crate) async fn get_object_acl(
    g: &Gatehouse,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let i = &req.input;
    let rec = load_version(&g.state, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    let owner = Owners::new(&g.state).get(&rec.owner_canonical_id).await?;
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(private_acl(&owner)),
        owner: Some(owner),
        request_charged: None,
    }))
}

/// PutObjectAcl: only the private ACL.
pub(crate) async fn put_object_acl(
    g: &Gatehouse,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let i = &req.input;
    let rec = load_version(&g.state, &i.bucket, &i.key, i.version_id.as_deref()).await?;
    require_private(
        i.acl.as_ref().map(ObjectCannedACL::as_str),
        any_grant_header!(i),
        i.access_control_policy.as_ref(),
        &rec.owner_canonical_id,
    )?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: S3Result<()>) -> String {
        r.err()
            .map(|e| e.code().as_str().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn only_the_private_acl_is_accepted() {
        let owner = Owner {
            display_name: Some("o".into()),
            id: Some("abc".into()),
        };
        let own = AccessControlPolicy {
            grants: Some(private_acl(&owner)),
            owner: Some(owner.clone()),
        };
        assert_eq!(
            code(require_private(Some("private"), false, None, "abc")),
            ""
        );
        assert_eq!(code(require_private(None, false, Some(&own), "abc")), "");
        assert_eq!(
            code(require_private(None, false, Some(&own), "other")),
            "NotImplemented"
        );
        assert_eq!(
            code(require_private(Some("public-read"), false, None, "abc")),
            "NotImplemented"
        );
        assert_eq!(
            code(require_private(Some("public-ready"), false, None, "abc")),
            "InvalidArgument"
        );
        assert_eq!(
            code(require_private(None, true, None, "abc")),
            "NotImplemented"
        );
        assert_eq!(
            code(require_private(None, false, None, "abc")),
            "MalformedACLError"
        );
        let empty = AccessControlPolicy {
            grants: Some(vec![]),
            owner: Some(owner),
        };
        assert_eq!(
            code(require_private(None, false, Some(&empty), "abc")),
            "NotImplemented"
        );
    }
}
