//! The one entry point: [`evaluate`] runs the conditions of the request's applicable statements
//! through Cedar in one small policy set (principal and resource decided in Rust first), then
//! combines the per-layer results in Rust exactly as AWS's policy evaluation logic does.

use std::sync::Arc;

use crate::acl::Acl;
use crate::bpa::PublicAccessBlock;
use crate::catalogue::catalogue;
use crate::compile::{CompiledPolicy, MatchKind};
use crate::document::PolicyKind;
use crate::engine::{Candidate, RunOpts, run_cedar};
use crate::request::{PrincipalKind, Request, is_account_id};

/// Which layer a deciding statement came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// An identity-based policy of the caller.
    Identity,
    /// The caller's permissions boundary.
    Boundary,
    /// A session policy of the caller's session.
    Session,
    /// The resource (bucket) policy or role trust policy.
    Resource,
    /// An ACL grant.
    Acl,
    /// The account root's implicit full access to its own account.
    Root,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Denied because nothing (or not every required layer) allowed it.
    ImplicitDeny,
    /// Denied by a Deny statement (or a statement that failed to evaluate).
    ExplicitDeny,
}

/// A statement (or grant) that decided the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Its layer.
    pub layer: Layer,
    /// The policy id given at compile time (the ACL owner for ACL grants).
    pub policy_id: String,
    /// The statement's Sid.
    pub sid: Option<String>,
    /// Statement index in the document (grant index for ACLs).
    pub statement: usize,
}

/// The decision with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allow, implicit deny or explicit deny.
    pub outcome: Outcome,
    /// Deny statements for an explicit deny; the allowing statements for an allow.
    pub reasons: Vec<Reason>,
    /// One sentence on why (which rule of the evaluation logic applied).
    pub detail: &'static str,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
    fn implicit(detail: &'static str) -> Decision {
        Decision {
            outcome: Outcome::ImplicitDeny,
            reasons: Vec::new(),
            detail,
        }
    }
}

/// S3 Object Ownership; `BucketOwnerEnforced` (AWS's default) disables ACLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ObjectOwnership {
    /// ACLs are disabled; the bucket owner owns everything.
    #[default]
    BucketOwnerEnforced,
    /// ACLs apply; the bucket owner takes ownership of objects written with bucket-owner-full-control.
    BucketOwnerPreferred,
    /// ACLs apply; the writer owns its objects.
    ObjectWriter,
}

/// The policies that apply to one request, grouped by layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layers<'a> {
    /// The caller's identity-based policies (user + groups, or role); ignored for the root user.
    pub identity: &'a [Arc<CompiledPolicy>],
    /// The caller's permissions boundary, if any.
    pub boundary: Option<&'a CompiledPolicy>,
    /// The session's session policies, if the session has any (allowed if any of them allows).
    pub session: Option<&'a [Arc<CompiledPolicy>]>,
    /// The resource's policy: bucket policy, or the role's trust policy for `sts:AssumeRole*`.
    pub resource: Option<&'a CompiledPolicy>,
    /// The ACL that governs this action (bucket ACL for bucket actions and PutObject/DeleteObject,
    /// object ACL for object actions).
    pub acl: Option<&'a Acl>,
    /// The bucket's Object Ownership setting.
    pub object_ownership: ObjectOwnership,
    /// Effective Block Public Access settings (account merged with bucket).
    pub block_public_access: PublicAccessBlock,
}

/// Actions decided by a role's trust policy (the request's resource is the role).
pub const TRUST_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:SetContext",
    "sts:SetSourceIdentity",
    "sts:TagSession",
];

/// Whether `action` (canonical name) on `resource` is decided by a trust policy: always for the
/// `sts:AssumeRole*` family and `sts:SetContext`; `sts:TagSession` and `sts:SetSourceIdentity`
/// also apply to an IAM user (GetFederationToken), which has no trust policy.
pub fn is_trust_action(action: &str, resource: &str) -> bool {
    TRUST_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action))
        && !((action.eq_ignore_ascii_case("sts:TagSession")
            || action.eq_ignore_ascii_case("sts:SetSourceIdentity"))
            && crate::pattern::split_arn(resource)
                .is_some_and(|p| p[2] == "iam" && p[5].starts_with("user/")))
}

fn root_reason() -> Reason {
    Reason {
        layer: Layer::Root,
        policy_id: String::new(),
        sid: None,
        statement: 0,
    }
}

/// Sorted and without duplicates (a statement can match under several kinds).
fn normalised(mut reasons: Vec<Reason>) -> Vec<Reason> {
    reasons.sort_by(|a, b| {
        (a.layer as u8, &a.policy_id, a.statement).cmp(&(b.layer as u8, &b.policy_id, b.statement))
    });
    reasons.dedup();
    reasons
}

/// Decides whether `request` is allowed under `layers`, following AWS's policy evaluation logic.
///
/// - Unknown actions and requests whose `resource_account` is not an account id are denied.
/// - Federated-user sessions cannot call IAM, nor STS except `sts:GetCallerIdentity`.
/// - An explicit Deny anywhere wins; a Deny with `NotPrincipal` always applies to a caller with a
///   permissions boundary. The reasons are every applicable Deny statement.
/// - Trust mode ([`TRUST_ACTIONS`]): the resource layer must be the role's trust policy
///   ([`PolicyKind::Trust`]), and it must allow the caller in every account; root users may not
///   assume roles; within one account a trust policy naming the caller (or its role) still needs
///   the caller's permissions boundary and session policy, one naming the account needs identity
///   policies; across accounts identity policies (within boundary and session policy) are needed too.
/// - The account root may do anything in its own account (not assume roles).
/// - Same account, otherwise: a resource-policy (or ACL) grant naming the caller itself (user,
///   role-session or federated-user ARN, `*`) is enough; one naming the caller's role, or the parent
///   user of a federated session, is capped by boundary and session policy; otherwise identity
///   policies must allow, within the boundary and the session policy. A federated-user session
///   without a session policy has no identity-based permissions.
/// - Across accounts both sides must allow.
/// - ACL grants count as resource-side allows; Block Public Access filters public grants.
/// - For S3 actions without a resource type (`s3:ListAllMyBuckets`) the resource is `arn:aws:s3:::*`.
///
/// Allow reasons: `[Root]` for the root user in its account; otherwise the allow statements the
/// deciding rule used (resource grants; plus boundary and session allows for capped grants;
/// identity, boundary and session allows for the identity side; both sides across accounts).
pub fn evaluate(request: &Request<'_>, layers: &Layers<'_>) -> Decision {
    let cat = catalogue();
    let Some(aid) = cat.lookup(request.action) else {
        return Decision::implicit("unknown action");
    };
    let Some(info) = cat.get(aid) else {
        return Decision::implicit("unknown action");
    };
    if !is_account_id(request.resource_account) {
        return Decision::implicit("the request names no valid resource account");
    }
    let p = request.principal;
    if p.kind == PrincipalKind::FederatedUser
        && (info.service == "iam"
            || (info.service == "sts" && info.name != "sts:GetCallerIdentity"))
    {
        return Decision::implicit(
            "federated-user sessions cannot call IAM or STS operations (except GetCallerIdentity)",
        );
    }
    let trust = is_trust_action(&info.name, request.resource);
    let req = if info.resource_types.is_empty() && info.service == "s3" {
        Request {
            resource: "arn:aws:s3:::*",
            ..*request
        }
    } else {
        *request
    };
    let request = &req;
    let resource_policy = layers
        .resource
        .filter(|r| (r.kind() == PolicyKind::Trust) == trust);
    let is_root = p.kind == PrincipalKind::Root;
    let has_identity = p.has_identity_policies();
    let mut cands: Vec<Candidate<'_>> = Vec::new();
    if has_identity {
        for pol in layers.identity {
            push_candidates(&mut cands, Layer::Identity, pol, aid);
        }
        if let Some(pol) = layers.boundary {
            push_candidates(&mut cands, Layer::Boundary, pol, aid);
        }
        for pol in layers.session.unwrap_or(&[]) {
            push_candidates(&mut cands, Layer::Session, pol, aid);
        }
    }
    if let Some(pol) = resource_policy {
        push_candidates(&mut cands, Layer::Resource, pol, aid);
    }
    let opts = RunOpts {
        boundary_holder: has_identity && layers.boundary.is_some(),
    };
    let matched = run_cedar(request, &cands, &info.name, opts);
    if !matched.denies.is_empty() {
        return Decision {
            outcome: Outcome::ExplicitDeny,
            reasons: normalised(matched.denies),
            detail: "an explicit Deny statement applies",
        };
    }
    if trust && is_root {
        return Decision::implicit("roles may not be assumed by root accounts");
    }
    let cross = request.is_cross_account();
    if is_root && !cross {
        return Decision {
            outcome: Outcome::Allow,
            reasons: vec![root_reason()],
            detail: "the account root user has full access to its own account",
        };
    }
    let bpa = layers.block_public_access;
    // RestrictPublicBuckets: a public bucket policy only serves the owner account and AWS services.
    let restrict = !trust
        && bpa.restrict_public_buckets
        && resource_policy.is_some_and(|r| r.is_public())
        && !(p.kind == PrincipalKind::Service || (!cross && p.account.is_some()));
    let mut resource_allows: Vec<(Reason, MatchKind)> = Vec::new();
    let mut identity = Vec::new();
    let mut boundary = Vec::new();
    let mut session = Vec::new();
    for (r, mk) in matched.allows {
        match r.layer {
            Layer::Identity => identity.push(r),
            Layer::Boundary => boundary.push(r),
            Layer::Session => session.push(r),
            _ if restrict => {}
            _ => resource_allows.push((r, mk)),
        }
    }
    if !trust
        && layers.object_ownership != ObjectOwnership::BucketOwnerEnforced
        && let Some(acl) = layers.acl
    {
        for (gi, mk) in acl.grants_for(p, &info.name, bpa.ignore_public_acls) {
            resource_allows.push((
                Reason {
                    layer: Layer::Acl,
                    policy_id: acl.owner.clone(),
                    sid: None,
                    statement: gi,
                },
                mk,
            ));
        }
    }
    let boundary_ok = layers.boundary.is_none() || !boundary.is_empty();
    let session_ok = match layers.session {
        None => p.kind != PrincipalKind::FederatedUser,
        Some(_) => !session.is_empty(),
    };
    let identity_ok = is_root || (!identity.is_empty() && boundary_ok && session_ok);
    let of_kind = |pred: &dyn Fn(MatchKind) -> bool| {
        resource_allows
            .iter()
            .filter(|(_, mk)| pred(*mk))
            .map(|(r, _)| r.clone())
            .collect::<Vec<_>>()
    };
    let caps = || boundary.iter().chain(&session).cloned().collect::<Vec<_>>();
    let identity_reasons = || {
        let mut v: Vec<Reason> = identity.clone();
        if is_root {
            v.push(root_reason());
        }
        v.extend(caps());
        v
    };
    let allow = |reasons: Vec<Reason>, detail| Decision {
        outcome: Outcome::Allow,
        reasons: normalised(reasons),
        detail,
    };
    if !has_identity && !is_root {
        // Anonymous callers, services and federated callers only have the resource side.
        let direct = of_kind(&|k| k == MatchKind::Direct);
        return if direct.is_empty() || (trust && p.kind == PrincipalKind::Anonymous) {
            Decision::implicit("no resource-based policy or ACL allows this caller")
        } else {
            allow(direct, "a resource-based policy allows the caller")
        };
    }
    if !cross {
        if !trust {
            let direct = of_kind(&|k| k == MatchKind::Direct);
            if !direct.is_empty() {
                return allow(direct, "a resource-based policy names the caller directly");
            }
        }
        let capped = of_kind(&|k| k == MatchKind::Role || (trust && k == MatchKind::Direct));
        if !capped.is_empty() && boundary_ok && session_ok {
            let mut reasons = capped;
            reasons.extend(caps());
            return allow(
                reasons,
                "a resource-based policy names the caller's role or parent user (within boundary and session policy)",
            );
        }
        if identity_ok && !(trust && resource_allows.is_empty()) {
            return allow(
                identity_reasons(),
                "identity-based policies allow it (within boundary and session policies)",
            );
        }
        return Decision::implicit(if trust && resource_allows.is_empty() {
            "the role's trust policy does not allow the caller"
        } else if identity.is_empty() {
            "no identity-based or resource-based policy allows it"
        } else if !boundary_ok {
            "the permissions boundary does not allow it"
        } else {
            "the session policy does not allow it"
        });
    }
    if !identity_ok {
        return Decision::implicit(
            "cross-account: the caller's identity-based policies do not allow it",
        );
    }
    if resource_allows.is_empty() {
        return Decision::implicit("cross-account: the resource-based policy does not allow it");
    }
    let mut reasons = identity_reasons();
    reasons.extend(resource_allows.into_iter().map(|(r, _)| r));
    allow(
        reasons,
        "cross-account: both the identity side and the resource side allow it",
    )
}

impl CompiledPolicy {
    /// The condition keys (as written, first spelling, in document order) of the statements whose
    /// actions include `action` (a catalogue name; none for an unknown action): what a policy
    /// simulator reports as missing when the request's context does not supply them.
    pub fn condition_keys_for(&self, action: &str) -> Vec<&str> {
        let Some(aid) = catalogue().lookup(action) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = Vec::new();
        for st in self.statements.iter().filter(|s| s.actions.contains(aid)) {
            let Some(doc) = self.document().statements.get(st.index) else {
                continue;
            };
            for c in &doc.conditions {
                if !out.iter().any(|k| k.eq_ignore_ascii_case(&c.key)) {
                    out.push(&c.key);
                }
            }
        }
        out
    }
}

fn push_candidates<'a>(
    cands: &mut Vec<Candidate<'a>>,
    layer: Layer,
    pol: &'a CompiledPolicy,
    aid: crate::catalogue::ActionId,
) {
    cands.extend(
        pol.statements
            .iter()
            .filter(|s| s.actions.contains(aid))
            .map(|stmt| Candidate {
                layer,
                policy: pol,
                stmt,
            }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Context, Principal};

    /// A copy of `json` (identity policy) whose first statement's Cedar conditions fail to
    /// evaluate (they read a context attribute that is never present, without a `has` guard).
    fn erring(json: &str) -> CompiledPolicy {
        let compiled = CompiledPolicy::parse(json, PolicyKind::Identity, "erring").expect("valid");
        let mut p = (*compiled).clone();
        let bad = cedar_policy::Policy::parse(
            Some(cedar_policy::PolicyId::new("erring.0.conditions")),
            r#"permit(principal, action, resource) when { context["no such key"] == 1 };"#,
        )
        .expect("cedar policy");
        let st = p.statements.first_mut().expect("one statement");
        st.conditions = Some((bad, 0));
        p
    }

    fn run(policy: CompiledPolicy) -> Decision {
        let alice = Principal::user("111122223333", "/", "alice", "AIDAALICE", None);
        let ctx = Context::new().with("s3:prefix", "x");
        let req = Request::new(
            &alice,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            "111122223333",
            &ctx,
        );
        let ids = [Arc::new(policy)];
        evaluate(
            &req,
            &Layers {
                identity: &ids,
                ..Default::default()
            },
        )
    }

    #[test]
    fn an_erring_allow_statement_does_not_apply_and_is_not_a_deny() {
        let d = run(erring(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"x"}}},
              {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
        ));
        assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
        assert_eq!(d.reasons.len(), 1);
        assert_eq!(d.reasons[0].statement, 1, "only the statement that applied");
        let alone = run(erring(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"x"}}}]}"#,
        ));
        assert_eq!(alone.outcome, Outcome::ImplicitDeny, "{alone:?}");
    }

    #[test]
    fn an_erring_deny_statement_applies() {
        let d = run(erring(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:prefix":"y"}}},
              {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
        ));
        assert_eq!(d.outcome, Outcome::ExplicitDeny, "{d:?}");
        assert_eq!(d.reasons.len(), 1);
        assert_eq!(d.reasons[0].statement, 0);
    }

    #[test]
    fn condition_keys_of_the_statements_of_an_action() {
        let p = CompiledPolicy::parse(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"s3:Get*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}},
              {"Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"StringEquals":{"s3:x-amz-acl":"public-read"}}},
              {"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"AWS:SourceIP":"10.1.0.0/16"}}}]}"#,
            PolicyKind::Identity,
            "k",
        )
        .expect("valid");
        let mut get = p.condition_keys_for("s3:GetObject");
        get.sort();
        assert_eq!(
            get,
            ["aws:SecureTransport", "aws:SourceIp"],
            "one spelling per key"
        );
        assert_eq!(p.condition_keys_for("s3:PutObject"), ["s3:x-amz-acl"]);
        assert!(p.condition_keys_for("s3:DeleteObject").is_empty());
        assert!(p.condition_keys_for("nope:Nope").is_empty());
    }
}
