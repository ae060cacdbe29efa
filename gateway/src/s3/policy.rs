//! Bucket policy (Put / Get / Delete, GetBucketPolicyStatus), Block Public Access (Put / Get / Delete) and
//! Object Ownership controls (Put / Get / Delete): bucket settings read by the authoriser's bucket context.

use gatehouse_policy::{
    CompiledPolicy, ObjectOwnership as Ownership, ParseOptions, PolicyKind, PublicAccessBlock,
};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{Gatehouse, custom_error, meta_err, request_bucket};
use crate::access::bucket::{
    OWNERSHIP, POLICY, POLICY_LOCKS_OWNER, PUBLIC_ACCESS_BLOCK, bpa_json, ownership_name,
    parse_ownership,
};

fn malformed_policy(msg: String) -> s3s::S3Error {
    let mut e = s3s::S3Error::with_message(s3s::S3ErrorCode::MalformedPolicy, msg);
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

/// Checks that every principal a bucket policy names exists: accounts (by id or root ARN), IAM users and
/// roles by ARN, canonical users; AWS answers "Invalid principal in policy" otherwise. Wildcards, services
/// and session ARNs are not looked up.
async fn principals_exist(g: &Gatehouse, policy: &CompiledPolicy) -> S3Result<()> {
    use gatehouse_policy::document::PrincipalId;
    for st in &policy.document().statements {
        let Some(el) = &st.principal else {
            continue;
        };
        for id in &el.ids {
            let ok = match id {
                PrincipalId::Any | PrincipalId::Service(_) | PrincipalId::Federated(_) => true,
                PrincipalId::CanonicalUser(c) => g
                    .state
                    .meta
                    .get_account_by_canonical_id(c)
                    .await
                    .map_err(meta_err)?
                    .is_some(),
                PrincipalId::Account(arn) | PrincipalId::Arn(arn) => {
                    match gatehouse_policy::pattern::split_arn(arn) {
                        None => false,
                        Some(parts) if parts[4].contains('*') || parts[5].contains('*') => true,
                        Some(parts) => {
                            let (service, account, resource) = (parts[2], parts[4], parts[5]);
                            if !account_exists(g, account).await? {
                                false
                            } else if service == "iam"
                                && (resource.starts_with("user/") || resource.starts_with("role/"))
                            {
                                g.state
                                    .meta
                                    .iam_principal_exists(account, resource)
                                    .await
                                    .map_err(meta_err)?
                            } else {
                                true
                            }
                        }
                    }
                }
            };
            if !ok {
                return Err(malformed_policy("Invalid principal in policy".to_owned()));
            }
        }
    }
    Ok(())
}

async fn account_exists(g: &Gatehouse, id: &str) -> S3Result<bool> {
    Ok(g.state
        .meta
        .get_account(id)
        .await
        .map_err(meta_err)?
        .is_some())
}

/// PutBucketPolicy: validated by the engine (MalformedPolicy), principals must exist, Block Public Access's
/// BlockPublicPolicy refuses a public policy.
pub(crate) async fn put_bucket_policy(
    g: &Gatehouse,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let i = &req.input;
    let b = request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let opts = ParseOptions {
        bucket: Some(&i.bucket),
        ..ParseOptions::for_kind(PolicyKind::Resource)
    };
    let id = format!("arn:aws:s3:::{}#policy", i.bucket);
    let compiled = CompiledPolicy::parse_with(&i.policy, PolicyKind::Resource, &id, &opts)
        .map_err(|e| malformed_policy(e.s3_message()))?;
    principals_exist(g, &compiled).await?;
    if b.effective_bpa().check_put_policy(&compiled).is_err() {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    g.state
        .meta
        .put_bucket_setting(&i.bucket, POLICY, &i.policy)
        .await
        .map_err(meta_err)?;
    // x-amz-confirm-remove-self-bucket-access: the owner's root gives up its standing right to manage the
    // policy (AWS's lock-out protection) while this policy is in place.
    if i.confirm_remove_self_bucket_access == Some(true) {
        g.state
            .meta
            .put_bucket_setting(&i.bucket, POLICY_LOCKS_OWNER, "true")
            .await
    } else {
        g.state
            .meta
            .delete_bucket_setting(&i.bucket, POLICY_LOCKS_OWNER)
            .await
            .map(|_| ())
    }
    .map_err(meta_err)?;
    Ok(S3Response::with_status(
        PutBucketPolicyOutput::default(),
        http::StatusCode::NO_CONTENT,
    ))
}

fn no_policy() -> s3s::S3Error {
    s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist")
}

/// GetBucketPolicy: the document as it was put.
pub(crate) async fn get_bucket_policy(
    g: &Gatehouse,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let b = request_bucket(&g.state, &req.extensions, &req.input.bucket).await?;
    let policy = b.settings.get(POLICY).cloned().ok_or_else(no_policy)?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy),
    }))
}

/// DeleteBucketPolicy (204 whether or not one was set, as S3).
pub(crate) async fn delete_bucket_policy(
    g: &Gatehouse,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    let i = &req.input;
    request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    for setting in [POLICY, POLICY_LOCKS_OWNER] {
        g.state
            .meta
            .delete_bucket_setting(&i.bucket, setting)
            .await
            .map_err(meta_err)?;
    }
    Ok(S3Response::with_status(
        DeleteBucketPolicyOutput::default(),
        http::StatusCode::NO_CONTENT,
    ))
}

/// GetBucketPolicyStatus: IsPublic by the engine's public-policy test.
pub(crate) async fn get_bucket_policy_status(
    g: &Gatehouse,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let b = request_bucket(&g.state, &req.extensions, &req.input.bucket).await?;
    let p = b.compiled_policy().ok_or_else(no_policy)?;
    Ok(S3Response::new(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(p.is_public()),
        }),
    }))
}

/// PutPublicAccessBlock (bucket level).
pub(crate) async fn put_public_access_block(
    g: &Gatehouse,
    req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let i = &req.input;
    request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let c = &i.public_access_block_configuration;
    let bpa = PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    g.state
        .meta
        .put_bucket_setting(&i.bucket, PUBLIC_ACCESS_BLOCK, &bpa_json(&bpa))
        .await
        .map_err(meta_err)?;
    Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
}

/// GetPublicAccessBlock (bucket level).
pub(crate) async fn get_public_access_block(
    g: &Gatehouse,
    req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let b = request_bucket(&g.state, &req.extensions, &req.input.bucket).await?;
    let bpa = b.bucket_bpa.ok_or_else(|| {
        custom_error(
            "NoSuchPublicAccessBlockConfiguration",
            http::StatusCode::NOT_FOUND,
            "The public access block configuration was not found",
        )
    })?;
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(PublicAccessBlockConfiguration {
            block_public_acls: Some(bpa.block_public_acls),
            ignore_public_acls: Some(bpa.ignore_public_acls),
            block_public_policy: Some(bpa.block_public_policy),
            restrict_public_buckets: Some(bpa.restrict_public_buckets),
        }),
    }))
}

/// DeletePublicAccessBlock (bucket level; 204).
pub(crate) async fn delete_public_access_block(
    g: &Gatehouse,
    req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    let i = &req.input;
    request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    g.state
        .meta
        .delete_bucket_setting(&i.bucket, PUBLIC_ACCESS_BLOCK)
        .await
        .map_err(meta_err)?;
    Ok(S3Response::with_status(
        DeletePublicAccessBlockOutput::default(),
        http::StatusCode::NO_CONTENT,
    ))
}

/// PutBucketOwnershipControls: exactly one rule.
pub(crate) async fn put_bucket_ownership_controls(
    g: &Gatehouse,
    req: S3Request<PutBucketOwnershipControlsInput>,
) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
    let i = &req.input;
    let b = request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let rules = &i.ownership_controls.rules;
    let [rule] = rules.as_slice() else {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    };
    let o = parse_ownership(rule.object_ownership.as_str()).ok_or_else(|| {
        s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        )
    })?;
    if o == Ownership::BucketOwnerEnforced && !b.acl_is_private() {
        // AWS refuses to disable ACLs while the bucket ACL grants anyone but the owner.
        return Err(custom_error(
            "InvalidBucketAclWithObjectOwnership",
            http::StatusCode::BAD_REQUEST,
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        ));
    }
    g.state
        .meta
        .put_bucket_setting(&i.bucket, OWNERSHIP, ownership_name(o))
        .await
        .map_err(meta_err)?;
    Ok(S3Response::new(PutBucketOwnershipControlsOutput::default()))
}

/// GetBucketOwnershipControls.
pub(crate) async fn get_bucket_ownership_controls(
    g: &Gatehouse,
    req: S3Request<GetBucketOwnershipControlsInput>,
) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
    let b = request_bucket(&g.state, &req.extensions, &req.input.bucket).await?;
    let o = b.ownership.ok_or_else(|| {
        s3_error!(
            OwnershipControlsNotFoundError,
            "The bucket ownership controls were not found"
        )
    })?;
    Ok(S3Response::new(GetBucketOwnershipControlsOutput {
        ownership_controls: Some(OwnershipControls {
            rules: vec![OwnershipControlsRule {
                object_ownership: ObjectOwnership::from(ownership_name(o).to_owned()),
            }],
        }),
    }))
}

/// DeleteBucketOwnershipControls (204): the bucket behaves as ObjectWriter again.
pub(crate) async fn delete_bucket_ownership_controls(
    g: &Gatehouse,
    req: S3Request<DeleteBucketOwnershipControlsInput>,
) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
    let i = &req.input;
    request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    g.state
        .meta
        .delete_bucket_setting(&i.bucket, OWNERSHIP)
        .await
        .map_err(meta_err)?;
    Ok(S3Response::with_status(
        DeleteBucketOwnershipControlsOutput::default(),
        http::StatusCode::NO_CONTENT,
    ))
}
