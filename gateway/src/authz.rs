//! Authorisation: the ONE place a request is allowed or denied (DESIGN §2).
//!
//! s3s calls `S3Access::check` for every request after the signature is verified and before any handler
//! runs. The hook resolves the caller once (`access::caller`: account root, IAM user, role or federated session, anonymous),
//! maps the parsed request to the actions AWS checks (`access::operations`), loads the target bucket's
//! context in one cached read (`access::bucket`), builds the condition context (`access::context`) and asks
//! the policy engine, with the bucket policy, the bucket ACL, Object Ownership and Block Public Access as
//! layers. Object-level inputs (an object's ACL and owner) are decided in an explicit second phase by the
//! handler that loads the object (`object_phase`), and DeleteObjects decides each key (`key_allowed`). Any
//! failure to load what a decision needs denies.

use std::sync::Arc;

use gatehouse_policy::{Acl, AclTarget, Context, Layers, Outcome, Request};
use s3s::S3Result;
use s3s::access::S3AccessContext;
use s3s::dto::CopySource;
use s3s::path::S3Path;
use s3s::s3_error;

use crate::access::bucket::BucketCtx;
use crate::access::context::{RequestFacts, s3_context};
use crate::access::operations::{extra_actions, operation, version_action};
use crate::access::parsed::Authorised;
use crate::state::{AppState, Principal};

pub use crate::access::caller::Caller;
pub use crate::access::operations::ACTIONS;

/// The target bucket's context as the authoriser loaded it (request extension), so the handler does not
/// read the bucket again.
pub type LoadedBucket = Arc<BucketCtx>;

/// Allowed, or denied with a reason (never shown to the client beyond "Access Denied").
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(&'static str),
}

/// One question to the engine.
pub struct Check<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub resource_account: &'a str,
    /// The bucket whose policy, ownership and Block Public Access apply.
    pub bucket: Option<&'a BucketCtx>,
    /// The ACL that governs this action, if any.
    pub acl: Option<&'a Acl>,
    pub context: &'a Context,
}

/// Actions the bucket owner's root user may always take on its bucket, whatever the bucket policy says
/// (AWS's lock-out protection).
const OWNER_ALWAYS: &[&str] = &[
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
];

/// The engine's decision for one action.
pub fn decide(
    state: &AppState,
    caller: &Caller,
    check: &Check<'_>,
    facts: Option<&RequestFacts>,
) -> gatehouse_policy::Decision {
    let owner_override = check
        .bucket
        .is_some_and(|b| caller.is_root_of(&b.bucket.owner_account_id) && !b.policy_locks_owner)
        && OWNER_ALWAYS.contains(&check.action);
    let d = if owner_override {
        gatehouse_policy::Decision {
            outcome: Outcome::Allow,
            reasons: Vec::new(),
            detail: "the bucket owner's root user may always manage the bucket policy",
        }
    } else if let Some(why) = check.bucket.and_then(|b| b.broken.as_ref()) {
        tracing::debug!(why, "bucket settings unreadable: denied");
        gatehouse_policy::Decision {
            outcome: Outcome::ExplicitDeny,
            reasons: Vec::new(),
            detail: "the bucket's access settings cannot be read",
        }
    } else {
        let request = Request::new(
            &caller.engine,
            check.action,
            check.resource,
            check.resource_account,
            check.context,
        );
        let (identity, boundary) = match &caller.policies {
            Some(p) => (p.identity.as_slice(), p.boundary.as_deref()),
            None => (&[][..], None),
        };
        let layers = Layers {
            identity,
            boundary,
            session: caller.session_policies.as_deref().map(Vec::as_slice),
            resource: check.bucket.and_then(BucketCtx::compiled_policy),
            acl: check.acl,
            object_ownership: check.bucket.map_or(
                gatehouse_policy::ObjectOwnership::BucketOwnerEnforced,
                BucketCtx::effective_ownership,
            ),
            block_public_access: check
                .bucket
                .map(BucketCtx::effective_bpa)
                .unwrap_or_default(),
        };
        gatehouse_policy::evaluate(&request, &layers)
    };
    state
        .audit
        .record(facts, caller, check.action, check.resource, &d);
    d
}

/// A trust-policy decision (`sts:AssumeRole*`, `sts:TagSession`, `sts:SetSourceIdentity` on a role): the
/// role's trust policy as the resource layer, with the caller's identity policies, boundary and session
/// policies (none for a web identity, whose principal is the provider).
pub fn decide_trust(
    state: &AppState,
    caller: &Caller,
    action: &str,
    role_arn: &str,
    role_account: &str,
    trust: &gatehouse_policy::CompiledPolicy,
    context: &Context,
) -> gatehouse_policy::Decision {
    let request = Request::new(&caller.engine, action, role_arn, role_account, context);
    let (identity, boundary) = match &caller.policies {
        Some(p) => (p.identity.as_slice(), p.boundary.as_deref()),
        None => (&[][..], None),
    };
    let layers = Layers {
        identity,
        boundary,
        session: caller.session_policies.as_deref().map(Vec::as_slice),
        resource: Some(trust),
        ..Default::default()
    };
    let d = gatehouse_policy::evaluate(&request, &layers);
    state.audit.record(None, caller, action, role_arn, &d);
    d
}

/// The resource ARN of a bucket or object.
pub fn s3_arn(bucket: Option<&str>, key: Option<&str>) -> String {
    match (bucket, key) {
        (None, _) => "arn:aws:s3:::*".to_owned(),
        (Some(b), None) => format!("arn:aws:s3:::{b}"),
        (Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
    }
}

/// Whether the bucket ACL governs `action`: every action but the object reads and object-ACL actions an
/// object's own ACL governs (a bucket ACL grant only ever allows bucket actions and object writes).
fn bucket_acl_governs(action: &str) -> bool {
    !object_acl_governs(action)
}

/// Object actions an object ACL can grant: when the bucket-level decision denies one of these on a bucket
/// with ACLs enabled, the handler decides again with the object's ACL (`object_phase`).
fn object_acl_governs(action: &str) -> bool {
    matches!(
        action,
        "s3:GetObject"
            | "s3:GetObjectVersion"
            | "s3:GetObjectAcl"
            | "s3:GetObjectVersionAcl"
            | "s3:PutObjectAcl"
            | "s3:PutObjectVersionAcl"
    )
}

/// The identity-policy decision for any service (IAM calls from the query router): the account root is
/// allowed in its own account; an IAM user's policies (and boundary) must allow `action` on `resource`;
/// failing to load them denies.
pub(crate) async fn identity_decision(
    state: &AppState,
    principal: &Principal,
    action: &str,
    resource: &str,
    resource_account: &str,
    context: &Context,
) -> Decision {
    let caller = match Caller::resolve(state, Some(principal.clone())).await {
        Ok(c) => c,
        Err(why) => return Decision::Deny(why),
    };
    let check = Check {
        action,
        resource,
        resource_account,
        bucket: None,
        acl: None,
        context,
    };
    if decide(state, &caller, &check, None).is_allowed() {
        Decision::Allow
    } else {
        Decision::Deny("no identity-based policy allows the action")
    }
}

/// A decision the bucket-level check could not make without the object (its ACL and owner), left to the
/// handler that loads the object (request extension).
#[derive(Clone)]
pub struct Deferred {
    pub action: &'static str,
    pub context: Arc<Context>,
    /// For a copy's source (the object the request reads), not its target.
    pub source: bool,
    /// The bucket holding the object.
    pub bucket: Arc<BucketCtx>,
    /// The bucket-level decision allowed it (the object may still be another account's, or its tags may
    /// decide); else it denied implicitly and only the object's ACL can allow it.
    pub provisional_allow: bool,
    /// A policy in play tests s3:ExistingObjectTag: the object's tags join the context.
    pub uses_tags: bool,
}

/// The handler's second phase: `rec` is the object version the request acts on. A no-op unless the access
/// hook deferred its decision; then the object decides: its owner's account is the resource account, its ACL
/// governs the actions an object ACL grants, its tags fill s3:ExistingObjectTag. Denial is AccessDenied.
pub async fn object_phase(
    state: &AppState,
    ext: &http::Extensions,
    rec: &gatehouse_meta::ObjectRecord,
    source: bool,
) -> S3Result<()> {
    let Some(d) = ext
        .get::<Vec<Deferred>>()
        .and_then(|v| v.iter().find(|d| d.source == source))
    else {
        return Ok(());
    };
    let Some(caller) = ext.get::<Arc<Caller>>() else {
        return Err(deny());
    };
    let owned_by_bucket_owner = rec.owner_canonical_id == d.bucket.owner_canonical_id;
    if d.provisional_allow && owned_by_bucket_owner && !d.uses_tags {
        return Ok(());
    }
    let owner_account = if owned_by_bucket_owner {
        d.bucket.bucket.owner_account_id.clone()
    } else {
        match state
            .meta
            .get_account_by_canonical_id(&rec.owner_canonical_id)
            .await
        {
            Ok(Some(a)) => a.id,
            Ok(None) => d.bucket.bucket.owner_account_id.clone(),
            Err(e) => return Err(internal(e.into())),
        }
    };
    let acl = if object_acl_governs(d.action) && d.bucket.acls_enabled() {
        Some(object_acl(state, rec).await.map_err(internal)?)
    } else {
        None
    };
    let mut context = (*d.context).clone();
    if d.uses_tags {
        for (k, v) in &rec.tags {
            context.insert(&format!("s3:ExistingObjectTag/{k}"), v.as_str());
        }
    }
    let resource = s3_arn(Some(&rec.bucket), Some(&rec.key));
    let check = Check {
        action: d.action,
        resource: &resource,
        resource_account: &owner_account,
        bucket: Some(&d.bucket),
        acl: acl.as_ref(),
        context: &context,
    };
    if decide(state, caller, &check, ext.get::<RequestFacts>()).is_allowed() {
        Ok(())
    } else {
        Err(deny())
    }
}

/// A deferred request whose object is missing: the caller learns that it is missing (the handler's error)
/// only if the bucket-level check allowed the action or the caller may list the bucket, as S3 does; else
/// AccessDenied.
pub fn missing_object(
    state: &AppState,
    ext: &http::Extensions,
    source: bool,
    err: s3s::S3Error,
) -> s3s::S3Error {
    let Some(d) = ext
        .get::<Vec<Deferred>>()
        .and_then(|v| v.iter().find(|d| d.source == source))
    else {
        return err;
    };
    if d.provisional_allow {
        return err;
    }
    let Some(caller) = ext.get::<Arc<Caller>>() else {
        return deny();
    };
    let resource = s3_arn(Some(&d.bucket.bucket.name), None);
    let check = Check {
        action: "s3:ListBucket",
        resource: &resource,
        resource_account: &d.bucket.bucket.owner_account_id,
        bucket: Some(&d.bucket),
        acl: Some(&d.bucket.acl),
        context: &d.context,
    };
    if decide(state, caller, &check, ext.get::<RequestFacts>()).is_allowed() {
        err
    } else {
        deny()
    }
}

/// Whether a policy tests s3:ExistingObjectTag (then the object's tags must be read to decide).
pub fn mentions_existing_tags(p: &gatehouse_policy::CompiledPolicy) -> bool {
    p.document().statements.iter().any(|st| {
        st.conditions.iter().any(|c| {
            c.key
                .to_ascii_lowercase()
                .starts_with("s3:existingobjecttag")
        })
    })
}

/// Whether a deferred decision is pending for the request (a missing object is then AccessDenied, not
/// NoSuchKey: the caller may not learn whether it exists).
pub fn deferred(ext: &http::Extensions, source: bool) -> bool {
    ext.get::<Vec<Deferred>>()
        .is_some_and(|v| v.iter().any(|d| d.source == source))
}

/// The ACL of an object version (its owner's FULL_CONTROL when none was set).
pub async fn object_acl(
    state: &AppState,
    rec: &gatehouse_meta::ObjectRecord,
) -> anyhow::Result<Acl> {
    let stored = state
        .meta
        .object_acl(&rec.bucket, &rec.key, &rec.version_id)
        .await?;
    Ok(match stored {
        None => crate::access::bucket::private_acl(AclTarget::Object, &rec.owner_canonical_id),
        Some(s) => crate::access::acl::StoredAcl::parse(&s)
            .map_err(|e| anyhow::anyhow!("stored object ACL: {e}"))?
            .to_policy(AclTarget::Object),
    })
}

/// DeleteObjects' per-key decision (the bucket itself was not checked by the access hook): whether the
/// request's caller may `action` the object `key` of the request's bucket.
pub async fn key_allowed(
    state: &AppState,
    ext: &http::Extensions,
    action: &str,
    key: &str,
) -> bool {
    let (Some(caller), Some(bucket)) = (ext.get::<Arc<Caller>>(), ext.get::<LoadedBucket>()) else {
        return false;
    };
    let resource = s3_arn(Some(&bucket.bucket.name), Some(key));
    let facts = ext.get::<RequestFacts>();
    let ctx = ext.get::<Arc<Context>>().cloned().unwrap_or_default();
    let acl = bucket_acl_governs(action).then_some(&bucket.acl);
    let check = Check {
        action,
        resource: &resource,
        resource_account: &bucket.bucket.owner_account_id,
        bucket: Some(bucket),
        acl,
        context: &ctx,
    };
    decide(state, caller, &check, facts).is_allowed()
}

/// s3s's access hook: resolves the caller and decides (see the module doc).
pub struct Access {
    pub state: Arc<AppState>,
}

pub(crate) fn deny() -> s3s::S3Error {
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
    bucket: Option<&BucketCtx>,
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

/// What the bucket-level check concluded for one resource.
pub(crate) enum Verdict {
    Allow,
    /// The object decides (its owner, ACL or tags), in the handler: (action, provisionally allowed, tags).
    Defer(&'static str, bool, bool),
    Deny,
}

/// Operations whose handler loads the object they act on before acting, and so can run the second phase.
fn object_phase_op(op: &str) -> bool {
    matches!(
        op,
        "GetObject"
            | "HeadObject"
            | "GetObjectAcl"
            | "PutObjectAcl"
            | "GetObjectTagging"
            | "PutObjectTagging"
            | "DeleteObjectTagging"
            | "GetObjectAttributes"
    )
}

impl Access {
    /// Decides `actions` on `bucket`/`key` (all must allow).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_bucket(
        &self,
        caller: &Caller,
        facts: Option<&RequestFacts>,
        actions: &[&'static str],
        bucket: &str,
        key: Option<&str>,
        ctx: Option<&BucketCtx>,
        context: &Context,
        phase_op: bool,
    ) -> Verdict {
        let resource = s3_arn(Some(bucket), key);
        let Some(b) = ctx else {
            // No such bucket: the handler answers NoSuchBucket to whoever may ask (the identity side decides
            // for a signed caller, in its own account).
            let Some(account) = caller.account() else {
                return Verdict::Allow;
            };
            for a in actions {
                let check = Check {
                    action: a,
                    resource: &resource,
                    resource_account: account,
                    bucket: None,
                    acl: None,
                    context,
                };
                if !decide(&self.state, caller, &check, facts).is_allowed() {
                    return Verdict::Deny;
                }
            }
            return Verdict::Allow;
        };
        // Every policy in play counts: a session policy's Deny on an existing tag must be seen too.
        let uses_tags = phase_op
            && (b.compiled_policy().is_some_and(mentions_existing_tags)
                || caller.policies.as_ref().is_some_and(|p| {
                    p.identity.iter().any(|i| mentions_existing_tags(i))
                        || p.boundary.as_deref().is_some_and(mentions_existing_tags)
                })
                || caller
                    .session_policies
                    .as_ref()
                    .is_some_and(|s| s.iter().any(|i| mentions_existing_tags(i))));
        let phased = phase_op && key.is_some() && (b.acls_enabled() || uses_tags);
        let mut verdict = Verdict::Allow;
        for a in actions {
            let acl = bucket_acl_governs(a).then_some(&b.acl);
            let check = Check {
                action: a,
                resource: &resource,
                resource_account: &b.bucket.owner_account_id,
                bucket: Some(b),
                acl,
                context,
            };
            let d = decide(&self.state, caller, &check, facts);
            match d.outcome {
                Outcome::ExplicitDeny => return Verdict::Deny,
                Outcome::Allow if !phased => {}
                Outcome::Allow => verdict = Verdict::Defer(a, true, uses_tags),
                Outcome::ImplicitDeny if phased => verdict = Verdict::Defer(a, false, uses_tags),
                Outcome::ImplicitDeny => return Verdict::Deny,
            }
        }
        verdict
    }
}

impl Access {
    /// The decision before s3s parses the request (see `access::parsed`): authenticates the caller,
    /// decides the operation's actions on its bucket or object, and leaves what it authorised, the caller, the
    /// bucket context and the condition context in the request's extensions.
    pub(crate) async fn check_request(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
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
        let caller = match Caller::resolve(&self.state, principal).await {
            Ok(c) => Arc::new(c),
            Err(why) => {
                tracing::debug!(why, "denied");
                return Err(deny());
            }
        };
        let facts = cx.extensions_mut().get::<RequestFacts>().cloned();
        let Some((op, base)) = operation(cx.s3_op().name()) else {
            tracing::debug!(
                op = cx.s3_op().name(),
                "operation not in the action table: denied"
            );
            return Err(deny());
        };
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        let query = cx.uri().query().map(str::to_owned);
        let version = crate::access::context::query_param(query.as_deref(), "versionId");
        let base = if key.is_some() && version.is_some() && op != "PutObject" {
            version_action(base)
        } else {
            base
        };
        let mut actions = vec![base];
        actions.extend(extra_actions(op, cx.headers()));
        let Some(bucket) = bucket else {
            // Service level: ListAllMyBuckets, by the identity side.
            let Some(account) = caller.account().map(str::to_owned) else {
                return Err(deny());
            };
            let context = s3_context(facts.as_ref(), cx.headers(), query.as_deref(), None);
            let check = Check {
                action: base,
                resource: "arn:aws:s3:::*",
                resource_account: &account,
                bucket: None,
                acl: None,
                context: &context,
            };
            if !decide(&self.state, &caller, &check, facts.as_ref()).is_allowed() {
                return Err(deny());
            }
            cx.extensions_mut().insert(Authorised {
                op,
                actions,
                bucket: None,
                key: None,
            });
            insert_caller(cx, caller);
            return Ok(());
        };
        let ctx = if op == "CreateBucket" {
            None
        } else {
            self.state
                .buckets
                .get(&self.state.meta, &bucket)
                .await
                .map_err(|e| internal(e.into()))?
        };
        let resource_account = ctx.as_ref().map(|b| b.bucket.owner_account_id.clone());
        // Condition keys matter only where a policy could test them (the caller's or the bucket's): the
        // root or an anonymous caller on a bucket without a policy is decided without them.
        let context = Arc::new(
            if caller.has_policies() || ctx.as_ref().is_some_and(|b| b.policy.is_some()) {
                s3_context(
                    facts.as_ref(),
                    cx.headers(),
                    query.as_deref(),
                    resource_account.as_deref(),
                )
            } else {
                Context::new()
            },
        );
        let mut deferred = Vec::new();
        if op == "CreateBucket" {
            // Any account may ask for a name; the handler answers BucketAlreadyExists if it is taken.
            let Some(account) = caller.account().map(str::to_owned) else {
                return Err(deny());
            };
            let resource = s3_arn(Some(&bucket), None);
            for a in &actions {
                let check = Check {
                    action: a,
                    resource: &resource,
                    resource_account: &account,
                    bucket: None,
                    acl: None,
                    context: &context,
                };
                if !decide(&self.state, &caller, &check, facts.as_ref()).is_allowed() {
                    return Err(deny());
                }
            }
        } else if op == "DeleteObjects" {
            // Decided per key by the handler (`key_allowed`); the bucket must exist for it to run.
        } else if op == "PostObject" {
            // The key is a field of the form: decided by the typed hook once s3s has parsed it
            // (`access::hooks`), with the form's tags and lock fields.
            actions.clear();
        } else {
            match self
                .check_bucket(
                    &caller,
                    facts.as_ref(),
                    &actions,
                    &bucket,
                    key.as_deref(),
                    ctx.as_deref(),
                    &context,
                    object_phase_op(op),
                )
                .await
            {
                Verdict::Allow => {}
                Verdict::Deny => return Err(deny()),
                Verdict::Defer(action, provisional_allow, uses_tags) => deferred.push(Deferred {
                    action,
                    context: Arc::clone(&context),
                    source: false,
                    bucket: Arc::clone(ctx.as_ref().ok_or_else(deny)?),
                    provisional_allow,
                    uses_tags,
                }),
            }
        }
        expect_owner(cx.headers(), "x-amz-expected-bucket-owner", ctx.as_deref())?;
        if matches!(op, "CopyObject" | "UploadPartCopy")
            && let Some(src) = cx.headers().get("x-amz-copy-source")
        {
            let src = src
                .to_str()
                .map_err(|_| s3_error!(InvalidArgument, "Invalid copy source encoding"))?;
            if let Ok(CopySource::Bucket {
                bucket: sb,
                key: sk,
                version_id,
            }) = CopySource::parse(src)
            {
                let sctx = self
                    .state
                    .buckets
                    .get(&self.state.meta, &sb)
                    .await
                    .map_err(|e| internal(e.into()))?;
                let action = if version_id.is_some() {
                    "s3:GetObjectVersion"
                } else {
                    "s3:GetObject"
                };
                let scontext = Arc::new(
                    if caller.has_policies() || sctx.as_ref().is_some_and(|b| b.policy.is_some()) {
                        s3_context(
                            facts.as_ref(),
                            cx.headers(),
                            None,
                            sctx.as_ref().map(|b| b.bucket.owner_account_id.as_str()),
                        )
                    } else {
                        Context::new()
                    },
                );
                match self
                    .check_bucket(
                        &caller,
                        facts.as_ref(),
                        &[action],
                        &sb,
                        Some(&sk),
                        sctx.as_deref(),
                        &scontext,
                        true,
                    )
                    .await
                {
                    Verdict::Allow => {}
                    Verdict::Deny => return Err(deny()),
                    Verdict::Defer(action, provisional_allow, uses_tags) => {
                        deferred.push(Deferred {
                            action,
                            context: scontext,
                            source: true,
                            bucket: Arc::clone(sctx.as_ref().ok_or_else(deny)?),
                            provisional_allow,
                            uses_tags,
                        })
                    }
                }
                expect_owner(
                    cx.headers(),
                    "x-amz-source-expected-bucket-owner",
                    sctx.as_deref(),
                )?;
            }
        }
        if !deferred.is_empty() {
            cx.extensions_mut().insert(deferred);
        }
        if let Some(b) = ctx {
            cx.extensions_mut().insert(b);
        }
        cx.extensions_mut().insert(context);
        cx.extensions_mut().insert(Authorised {
            op,
            actions,
            bucket: Some(bucket),
            key,
        });
        insert_caller(cx, caller);
        Ok(())
    }
}

fn insert_caller(cx: &mut S3AccessContext<'_>, caller: Arc<Caller>) {
    if let Some(p) = &caller.principal {
        cx.extensions_mut().insert(p.clone());
    }
    cx.extensions_mut().insert(caller);
}
