//! Authorisation: the ONE place a request is allowed or denied (DESIGN §2).
//!
//! s3s calls `S3Access::check` for every request after the signature is verified and before any handler
//! runs. It maps the operation to its IAM action through `ACTIONS` (an operation missing there is denied),
//! names the resource, and decides. Until the policy engine is wired in, the rule is AWS's default for an
//! account without policies: an account's principals may do everything on the buckets it owns and nothing
//! on another account's; anonymous requests are denied.

use std::sync::Arc;

use s3s::S3Result;
use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::CopySource;
use s3s::path::S3Path;
use s3s::s3_error;

use crate::state::{AppState, Principal};

/// S3 operation name (as s3s names it) -> IAM action. Operations not listed are denied.
pub const ACTIONS: &[(&str, &str)] = &[
    ("ListBuckets", "s3:ListAllMyBuckets"),
    ("CreateBucket", "s3:CreateBucket"),
    ("DeleteBucket", "s3:DeleteBucket"),
    ("HeadBucket", "s3:ListBucket"),
    ("GetBucketLocation", "s3:GetBucketLocation"),
    ("ListObjects", "s3:ListBucket"),
    ("ListObjectsV2", "s3:ListBucket"),
    ("ListObjectVersions", "s3:ListBucketVersions"),
    ("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
    ("PutObject", "s3:PutObject"),
    ("PostObject", "s3:PutObject"),
    ("GetObject", "s3:GetObject"),
    ("HeadObject", "s3:GetObject"),
    ("GetObjectAttributes", "s3:GetObjectAttributes"),
    ("GetObjectTorrent", "s3:GetObjectTorrent"),
    ("DeleteObject", "s3:DeleteObject"),
    ("DeleteObjects", "s3:DeleteObject"),
    ("CopyObject", "s3:PutObject"),
    ("CreateMultipartUpload", "s3:PutObject"),
    ("UploadPart", "s3:PutObject"),
    ("UploadPartCopy", "s3:PutObject"),
    ("CompleteMultipartUpload", "s3:PutObject"),
    ("AbortMultipartUpload", "s3:AbortMultipartUpload"),
    ("ListParts", "s3:ListMultipartUploadParts"),
    ("GetBucketAcl", "s3:GetBucketAcl"),
    ("PutBucketAcl", "s3:PutBucketAcl"),
    ("GetObjectAcl", "s3:GetObjectAcl"),
    ("PutObjectAcl", "s3:PutObjectAcl"),
    ("GetBucketPolicy", "s3:GetBucketPolicy"),
    ("PutBucketPolicy", "s3:PutBucketPolicy"),
    ("DeleteBucketPolicy", "s3:DeleteBucketPolicy"),
    ("GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"),
    ("GetBucketVersioning", "s3:GetBucketVersioning"),
    ("PutBucketVersioning", "s3:PutBucketVersioning"),
    ("GetBucketTagging", "s3:GetBucketTagging"),
    ("PutBucketTagging", "s3:PutBucketTagging"),
    ("DeleteBucketTagging", "s3:PutBucketTagging"),
    ("GetObjectTagging", "s3:GetObjectTagging"),
    ("PutObjectTagging", "s3:PutObjectTagging"),
    ("DeleteObjectTagging", "s3:DeleteObjectTagging"),
    ("GetBucketCors", "s3:GetBucketCORS"),
    ("PutBucketCors", "s3:PutBucketCORS"),
    ("DeleteBucketCors", "s3:PutBucketCORS"),
    ("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("PutBucketEncryption", "s3:PutEncryptionConfiguration"),
    ("DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
    (
        "GetBucketLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
    ),
    (
        "PutBucketLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
    ("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
    ("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    (
        "GetBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
    ),
    (
        "PutBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    (
        "DeleteBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    (
        "GetObjectLockConfiguration",
        "s3:GetBucketObjectLockConfiguration",
    ),
    (
        "PutObjectLockConfiguration",
        "s3:PutBucketObjectLockConfiguration",
    ),
    ("GetObjectRetention", "s3:GetObjectRetention"),
    ("PutObjectRetention", "s3:PutObjectRetention"),
    ("GetObjectLegalHold", "s3:GetObjectLegalHold"),
    ("PutObjectLegalHold", "s3:PutObjectLegalHold"),
    (
        "GetBucketNotificationConfiguration",
        "s3:GetBucketNotification",
    ),
    (
        "PutBucketNotificationConfiguration",
        "s3:PutBucketNotification",
    ),
    ("GetBucketWebsite", "s3:GetBucketWebsite"),
    ("PutBucketWebsite", "s3:PutBucketWebsite"),
    ("DeleteBucketWebsite", "s3:DeleteBucketWebsite"),
    ("GetBucketLogging", "s3:GetBucketLogging"),
    ("PutBucketLogging", "s3:PutBucketLogging"),
    ("GetBucketReplication", "s3:GetReplicationConfiguration"),
    ("PutBucketReplication", "s3:PutReplicationConfiguration"),
    ("DeleteBucketReplication", "s3:PutReplicationConfiguration"),
    ("GetBucketRequestPayment", "s3:GetBucketRequestPayment"),
    ("PutBucketRequestPayment", "s3:PutBucketRequestPayment"),
    (
        "GetBucketAccelerateConfiguration",
        "s3:GetAccelerateConfiguration",
    ),
    (
        "PutBucketAccelerateConfiguration",
        "s3:PutAccelerateConfiguration",
    ),
    ("RestoreObject", "s3:RestoreObject"),
    ("SelectObjectContent", "s3:GetObject"),
];

/// The IAM action of an S3 operation, if it is one Gatehouse knows.
pub fn action_of(op: &str) -> Option<&'static str> {
    ACTIONS.iter().find(|(o, _)| *o == op).map(|(_, a)| *a)
}

/// What a request wants to do, as the decision sees it.
#[derive(Debug)]
pub struct AuthzRequest<'a> {
    pub principal: Option<&'a Principal>,
    pub action: &'static str,
    /// The bucket the action is on (None for service-level actions).
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    /// The S3 operation (s3s's name), when the request is one.
    pub op: Option<&'a str>,
}

/// The target bucket as the authoriser read it (with its versioning setting), kept in the request extensions
/// so the handler does not read it again.
#[derive(Debug, Clone)]
pub struct LoadedBucket {
    pub bucket: gatehouse_meta::Bucket,
    /// The "versioning" bucket setting, if ever set.
    pub versioning: Option<String>,
}

/// Allowed, or denied with a reason (never shown to the client beyond "Access Denied").
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(&'static str),
}

/// The single decision function. Also returns the target bucket it read, if any.
///
/// Account roots: everything on the buckets their account owns. IAM users: what their identity policies
/// (and boundary) allow, on their own account's buckets only (no resource policy grants across accounts
/// yet); DeleteObjects is decided per key by the handler (`object_allowed`). Anonymous: nothing.
pub async fn authorize(
    state: &AppState,
    req: &AuthzRequest<'_>,
) -> anyhow::Result<(Decision, Option<LoadedBucket>)> {
    let Some(principal) = req.principal else {
        return Ok((
            Decision::Deny("anonymous access is not granted by any policy"),
            None,
        ));
    };
    let Some(bucket) = req.bucket else {
        // Service-level: ListAllMyBuckets.
        let d = user_decision(
            state,
            principal,
            req.action,
            None,
            None,
            &principal.account_id,
        )
        .await;
        return Ok((d, None));
    };
    let (action, key) = (req.action, req.key);
    if action == "s3:CreateBucket" {
        // Any account may ask for a name; the handler answers BucketAlreadyExists if it is taken.
        let d = user_decision(
            state,
            principal,
            action,
            Some(bucket),
            key,
            &principal.account_id,
        )
        .await;
        return Ok((d, None));
    }
    let per_key = req.op == Some("DeleteObjects");
    match state
        .meta
        .get_bucket_with_setting(bucket, "versioning")
        .await?
    {
        // A missing bucket: the handler answers NoSuchBucket to whoever may ask.
        None => {
            let d = if per_key {
                Decision::Allow
            } else {
                user_decision(
                    state,
                    principal,
                    action,
                    Some(bucket),
                    key,
                    &principal.account_id,
                )
                .await
            };
            Ok((d, None))
        }
        Some((b, versioning)) if b.owner_account_id == principal.account_id => {
            let d = if per_key {
                Decision::Allow
            } else {
                user_decision(
                    state,
                    principal,
                    action,
                    Some(bucket),
                    key,
                    &b.owner_account_id,
                )
                .await
            };
            let loaded = (d == Decision::Allow).then_some(LoadedBucket {
                bucket: b,
                versioning,
            });
            Ok((d, loaded))
        }
        Some(_) => Ok((
            Decision::Deny("the bucket belongs to another account"),
            None,
        )),
    }
}

/// The S3 identity side: the account root is allowed in its own account; an IAM user needs its identity
/// policies to allow the action on the bucket or object ARN (`arn:aws:s3:::*` for service-level actions).
async fn user_decision(
    state: &AppState,
    principal: &Principal,
    action: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    resource_account: &str,
) -> Decision {
    if crate::identity::user_of(principal).is_none() {
        return Decision::Allow;
    }
    let resource = match (bucket, key) {
        (None, _) => "arn:aws:s3:::*".to_owned(),
        (Some(b), None) => format!("arn:aws:s3:::{b}"),
        (Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
    };
    identity_decision(state, principal, action, &resource, resource_account).await
}

/// The identity-policy decision for any service (S3 above, IAM calls from the query router): the account root
/// is allowed in its own account; an IAM user's policies (and boundary) must allow `action` on `resource`;
/// failing to load them denies.
pub(crate) async fn identity_decision(
    state: &AppState,
    principal: &Principal,
    action: &str,
    resource: &str,
    resource_account: &str,
) -> Decision {
    let Some((account, name)) = crate::identity::user_of(principal) else {
        return Decision::Allow;
    };
    match state
        .iam
        .user(&state.meta, account, name, &principal.canonical_id)
        .await
    {
        Ok(p) => {
            if crate::identity::allows(
                &p,
                action,
                resource,
                resource_account,
                &gatehouse_policy::Context::new(),
            ) {
                Decision::Allow
            } else {
                Decision::Deny("no identity-based policy allows the action")
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, user = name, "cannot load the user's policies: denied");
            Decision::Deny("the user's policies could not be loaded")
        }
    }
}

/// The per-key decision of DeleteObjects (the bucket itself was checked by the access hook): whether the
/// principal may `action` the object.
pub async fn object_allowed(
    state: &AppState,
    principal: &Principal,
    action: &str,
    bucket: &gatehouse_meta::Bucket,
    key: &str,
) -> bool {
    bucket.owner_account_id == principal.account_id
        && user_decision(
            state,
            principal,
            action,
            Some(&bucket.name),
            Some(key),
            &bucket.owner_account_id,
        )
        .await
            == Decision::Allow
}

/// s3s's access hook: resolves the principal, stores it in the request extensions for the handlers, and
/// calls `authorize` for the target (and, for copies, the source).
pub struct Access {
    pub state: Arc<AppState>,
}

fn deny() -> s3s::S3Error {
    s3_error!(AccessDenied, "Access Denied")
}

/// An access key that could not be resolved: InternalError (an unopenable secret was logged once already).
pub(crate) fn key_error(e: crate::state::KeyError) -> s3s::S3Error {
    match e {
        crate::state::KeyError::Unopenable => s3_error!(InternalError),
        other => internal(other.into()),
    }
}

fn internal(e: anyhow::Error) -> s3s::S3Error {
    tracing::error!(error = %e, "authorisation lookup failed");
    s3_error!(InternalError)
}

/// `x-amz-expected-bucket-owner` (or its copy-source twin): the request is refused with AccessDenied unless the
/// bucket belongs to that account (a missing bucket is left to the handler's NoSuchBucket).
fn expect_owner(
    headers: &http::HeaderMap,
    header: &str,
    bucket: Option<&LoadedBucket>,
) -> S3Result<()> {
    let Some(want) = headers.get(header) else {
        return Ok(());
    };
    match bucket {
        Some(b) if want.as_bytes() != b.bucket.owner_account_id.as_bytes() => {
            tracing::debug!(header, "expected bucket owner does not match");
            Err(deny())
        }
        _ => Ok(()),
    }
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let principal = match cx.credentials() {
            None => None,
            Some(c) => match self
                .state
                .resolve_key(&c.access_key)
                .await
                .map_err(key_error)?
            {
                Some(k) => Some(k.principal),
                None => return Err(deny()),
            },
        };
        let op = cx.s3_op().name();
        let Some(action) = action_of(op) else {
            tracing::debug!(op, "operation not in the action table: denied");
            return Err(deny());
        };
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.as_ref()), None),
            S3Path::Object { bucket, key } => (Some(bucket.as_ref()), Some(key.as_ref())),
        };
        let req = AuthzRequest {
            principal: principal.as_ref(),
            action,
            bucket,
            key,
            op: Some(op),
        };
        let (decision, loaded) = authorize(&self.state, &req).await.map_err(internal)?;
        if let Decision::Deny(why) = decision {
            tracing::debug!(op, action, ?bucket, why, "denied");
            return Err(deny());
        }
        expect_owner(cx.headers(), "x-amz-expected-bucket-owner", loaded.as_ref())?;
        if matches!(op, "CopyObject" | "UploadPartCopy")
            && let Some(src) = cx.headers().get("x-amz-copy-source")
        {
            let src = src
                .to_str()
                .map_err(|_| s3_error!(InvalidArgument, "Invalid copy source encoding"))?;
            if let Ok(CopySource::Bucket { bucket, key, .. }) = CopySource::parse(src) {
                let req = AuthzRequest {
                    principal: principal.as_ref(),
                    action: "s3:GetObject",
                    bucket: Some(&bucket),
                    key: Some(&key),
                    op: None,
                };
                let (decision, src) = authorize(&self.state, &req).await.map_err(internal)?;
                if let Decision::Deny(why) = decision {
                    tracing::debug!(op, why, "copy source denied");
                    return Err(deny());
                }
                expect_owner(
                    cx.headers(),
                    "x-amz-source-expected-bucket-owner",
                    src.as_ref(),
                )?;
            }
        }
        if let Some(p) = principal {
            cx.extensions_mut().insert(p);
        }
        if let Some(b) = loaded {
            cx.extensions_mut().insert(b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_operation_has_an_action() {
        for op in crate::s3::IMPLEMENTED {
            assert!(
                action_of(op).is_some(),
                "{op} is missing from the action table"
            );
        }
        assert_eq!(action_of("NoSuchOp"), None);
    }
}
