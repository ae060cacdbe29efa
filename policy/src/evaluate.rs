//! The one entry point: [`evaluate`] runs the conditions of the request's applicable statements
//! through Cedar in one small policy set (principal and resource decided in Rust first), then
//! combines the per-layer results in Rust exactly as AWS's policy evaluation logic does.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use cedar_policy::{
    Authorizer, Context as CedarContext, Decision as CedarDecision, Entities, EntityId,
    EntityTypeName, EntityUid, PolicyId, PolicySet, Request as CedarRequest, RestrictedExpression,
};

use crate::acl::Acl;
use crate::bpa::PublicAccessBlock;
use crate::catalogue::catalogue;
use crate::compile::{
    CompiledPolicy, CompiledStatement, FORM_BOOL, FORM_DATE, FORM_IP, FORM_NUM, FORM_SET, FORM_STR,
    HostPred, MatchKind,
};
use crate::conditions::eval_condition;
use crate::document::Effect;
use crate::prefilter::{
    CachedSet, PrincipalView, SetKey, ip_expr, policy_set, principal_test, resource_hit,
};
use crate::request::{ContextValue, PrincipalKind, Request};

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

struct Names {
    principal: EntityUid,
    resource: EntityUid,
    action_type: EntityTypeName,
}

fn names() -> Option<&'static Names> {
    static N: OnceLock<Option<Names>> = OnceLock::new();
    N.get_or_init(|| {
        Some(Names {
            principal: EntityUid::from_type_name_and_id(
                EntityTypeName::from_str("P").ok()?,
                EntityId::new("p"),
            ),
            resource: EntityUid::from_type_name_and_id(
                EntityTypeName::from_str("R").ok()?,
                EntityId::new("r"),
            ),
            action_type: EntityTypeName::from_str("Action").ok()?,
        })
    })
    .as_ref()
}

struct Candidate<'a> {
    layer: Layer,
    policy: &'a CompiledPolicy,
    stmt: &'a CompiledStatement,
}

fn host_value(
    pred: &HostPred,
    c: &Candidate<'_>,
    req: &Request<'_>,
    res_hit: Option<bool>,
) -> bool {
    match pred {
        HostPred::Resource => res_hit.unwrap_or(false),
        HostPred::Condition(ci) => {
            let doc = c.policy.document();
            doc.statements
                .get(c.stmt.index)
                .and_then(|st| st.conditions.get(*ci))
                .is_some_and(|cond| eval_condition(cond, doc.version, req))
        }
    }
}

/// The context entries of condition key `lk` that the policies read (`forms`, `FORM_*` bits).
fn push_key_forms(
    pairs: &mut Vec<(String, RestrictedExpression)>,
    lk: &str,
    forms: u8,
    v: &ContextValue,
) {
    let scalars = v.scalars();
    if scalars.is_empty() {
        return;
    }
    let want = |f: u8| forms & f != 0;
    if want(FORM_SET) {
        pairs.push((
            format!("S|{lk}"),
            RestrictedExpression::new_set(
                scalars
                    .iter()
                    .map(|s| RestrictedExpression::new_string(s.as_string().into_owned())),
            ),
        ));
    }
    let [one] = scalars.as_slice() else {
        return;
    };
    if want(FORM_STR) {
        pairs.push((
            format!("s|{lk}"),
            RestrictedExpression::new_string(one.as_string().into_owned()),
        ));
    }
    if let Some(n) = one.as_number().filter(|_| want(FORM_NUM)) {
        pairs.push((format!("n|{lk}"), RestrictedExpression::new_long(n)));
    }
    if let Some(d) = one.as_date_ms().filter(|_| want(FORM_DATE)) {
        pairs.push((format!("d|{lk}"), RestrictedExpression::new_long(d)));
    }
    if let Some(b) = one.as_bool().filter(|_| want(FORM_BOOL)) {
        pairs.push((format!("b|{lk}"), RestrictedExpression::new_bool(b)));
    }
    if let Some(ip) = one.as_ip().filter(|_| want(FORM_IP)) {
        pairs.push((format!("ip|{lk}"), ip_expr(ip)));
    }
}

/// Statements that matched, per layer and match kind.
#[derive(Default)]
struct Matched {
    denies: Vec<Reason>,
    allows: Vec<(Reason, MatchKind)>,
}

impl Matched {
    /// Records that statement `c` applies under `kinds` (a Deny counts once).
    fn push(&mut self, c: &Candidate<'_>, kinds: &[MatchKind]) {
        match c.stmt.effect {
            Effect::Deny => self.denies.push(reason(c)),
            Effect::Allow => self.allows.extend(kinds.iter().map(|k| (reason(c), *k))),
        }
    }
}

fn reason(c: &Candidate<'_>) -> Reason {
    let sid = c
        .policy
        .document()
        .statements
        .get(c.stmt.index)
        .and_then(|s| s.sid.clone());
    Reason {
        layer: c.layer,
        policy_id: c.policy.id().to_string(),
        sid,
        statement: c.stmt.index,
    }
}

/// Runs the candidates through Cedar; any evaluation error counts as a Deny of the erring statement.
///
/// Each generated policy is `principal && resource && conditions`. Rust first evaluates the
/// principal and resource parts (see `prefilter`; both are error-free): where either is false the
/// policy is false and is left out; where both are true the policy's value, errors included, is
/// that of the conditions alone. So Cedar runs each remaining statement's conditions once, as one
/// policy, in a set cached per thread by the statements' identity; a statement with no conditions
/// applies outright.
fn run_cedar(req: &Request<'_>, cands: &[Candidate<'_>], action: &str) -> Matched {
    let mut m = Matched::default();
    if cands.is_empty() {
        return m;
    }
    let fail = |m: &mut Matched| {
        m.denies.extend(cands.iter().map(reason));
    };
    let view = PrincipalView::new(req.principal);
    // Candidates whose conditions Cedar must decide, with their resource hit, and the match kinds
    // under which their principal test holds.
    let mut live: Vec<(usize, Option<bool>, Vec<MatchKind>)> = Vec::new();
    for (ci, c) in cands.iter().enumerate() {
        let kinds: Vec<MatchKind> = c
            .stmt
            .cedar
            .iter()
            .filter(|sp| principal_test(sp.test, c.stmt.principal.as_ref(), &view))
            .map(|sp| sp.kind)
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let hit = resource_hit(c.stmt, req);
        let negated = c.stmt.resource.as_ref().is_some_and(|(_, n)| *n);
        if hit.is_some_and(|h| h == negated) {
            continue;
        }
        if c.stmt.conditions.is_none() {
            m.push(c, &kinds);
        } else {
            live.push((ci, hit, kinds));
        }
    }
    if live.is_empty() {
        return m;
    }
    let Some(names) = names() else {
        fail(&mut m);
        return m;
    };
    // One Cedar policy per distinct condition (statements of one compiled policy may share it,
    // and so may the same compiled policy in two layers), with the live statements it decides.
    let mut groups: Vec<((u64, u32), Vec<usize>)> = Vec::new();
    for (n, (ci, _, _)) in live.iter().enumerate() {
        let c = &cands[*ci];
        let Some((_, first)) = &c.stmt.conditions else {
            continue;
        };
        let id = (c.policy.serial, *first);
        match groups.iter_mut().find(|(g, _)| *g == id) {
            Some((_, members)) => members.push(n),
            None => groups.push((id, vec![n])),
        }
    }
    let key: SetKey = groups
        .iter()
        .map(|((serial, first), _)| (*serial, *first))
        .collect();
    let build = || {
        let mut set = PolicySet::new();
        let mut ids = Vec::with_capacity(groups.len());
        for (n, (_, members)) in groups.iter().enumerate() {
            let (ci, _, _) = live.get(*members.first()?)?;
            let (policy, _) = cands.get(*ci)?.stmt.conditions.as_ref()?;
            let mut policy = policy.clone();
            if set.policy(policy.id()).is_some() {
                // Two compilations of the same document (same ids): give this copy its own id.
                policy = policy.new_id(PolicyId::new(format!("{}#{n}", policy.id())));
            }
            ids.push(policy.id().clone());
            set.add(policy).ok()?;
        }
        Some(CachedSet { set, ids })
    };
    let Some(cached) = policy_set(key, build) else {
        fail(&mut m);
        return m;
    };
    let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(16);
    let mut keys: Vec<(&str, u8)> = Vec::new();
    let mut host_names: Vec<&str> = Vec::new();
    for (ci, hit, _) in &live {
        let c = &cands[*ci];
        for (k, forms) in &c.stmt.keys {
            match keys.iter_mut().find(|(x, _)| x == k) {
                Some((_, f)) => *f |= forms,
                None => keys.push((k, *forms)),
            }
        }
        for (name, pred) in &c.stmt.host {
            // The same compiled policy may sit in two layers; its predicates have one value.
            if matches!(pred, HostPred::Resource) || host_names.contains(&name.as_str()) {
                continue;
            }
            host_names.push(name);
            pairs.push((
                name.clone(),
                RestrictedExpression::new_bool(host_value(pred, c, req, *hit)),
            ));
        }
    }
    for (k, forms) in keys {
        if let Some(v) = req.value(k) {
            push_key_forms(&mut pairs, k, forms, &v);
        }
    }
    let Ok(context) = CedarContext::from_pairs(pairs) else {
        fail(&mut m);
        return m;
    };
    let action_uid =
        EntityUid::from_type_name_and_id(names.action_type.clone(), EntityId::new(action));
    let Ok(request) = CedarRequest::new(
        names.principal.clone(),
        action_uid,
        names.resource.clone(),
        context,
        None,
    ) else {
        fail(&mut m);
        return m;
    };
    let response = Authorizer::new().is_authorized(&request, &cached.set, &Entities::empty());
    // The live statements (candidate, match kinds) a Cedar policy decides.
    let members = |id: &PolicyId| {
        let n = cached.ids.iter().position(|x| x == id);
        let group = n.and_then(|n| groups.get(n));
        group
            .map(|(_, ms)| ms.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter_map(|l| live.get(*l))
            .filter_map(|(ci, _, kinds)| Some((cands.get(*ci)?, kinds)))
    };
    for e in response.diagnostics().errors() {
        let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
        for (c, _) in members(e.policy_id()) {
            m.denies.push(reason(c));
        }
    }
    for pid in response.diagnostics().reason() {
        for (c, kinds) in members(pid) {
            match (response.decision(), c.stmt.effect) {
                (CedarDecision::Deny, _) | (_, Effect::Deny) => m.denies.push(reason(c)),
                (CedarDecision::Allow, Effect::Allow) => m.push(c, kinds),
            }
        }
    }
    m
}

/// Decides whether `request` is allowed under `layers`, following AWS's policy evaluation logic:
/// an explicit Deny anywhere wins; the root user may do anything in its own account; within one
/// account an identity allow (capped by boundary and session policies) or a resource-policy allow
/// suffices (resource allows naming a role are capped too); across accounts both sides must allow.
/// ACL grants count as resource-side allows; Block Public Access filters public grants.
pub fn evaluate(request: &Request<'_>, layers: &Layers<'_>) -> Decision {
    let cat = catalogue();
    let Some(aid) = cat.lookup(request.action) else {
        return Decision::implicit("unknown action");
    };
    let p = request.principal;
    let is_root = p.kind == PrincipalKind::Root;
    let has_identity = !is_root
        && !matches!(
            p.kind,
            PrincipalKind::Anonymous | PrincipalKind::Service | PrincipalKind::Federated
        );
    let mut cands: Vec<Candidate<'_>> = Vec::new();
    if has_identity {
        for pol in layers.identity {
            cands.extend(
                pol.statements
                    .iter()
                    .filter(|s| s.actions.contains(aid))
                    .map(|stmt| Candidate {
                        layer: Layer::Identity,
                        policy: pol,
                        stmt,
                    }),
            );
        }
        if let Some(pol) = layers.boundary {
            cands.extend(
                pol.statements
                    .iter()
                    .filter(|s| s.actions.contains(aid))
                    .map(|stmt| Candidate {
                        layer: Layer::Boundary,
                        policy: pol,
                        stmt,
                    }),
            );
        }
        for pol in layers.session.unwrap_or(&[]) {
            cands.extend(
                pol.statements
                    .iter()
                    .filter(|s| s.actions.contains(aid))
                    .map(|stmt| Candidate {
                        layer: Layer::Session,
                        policy: pol,
                        stmt,
                    }),
            );
        }
    }
    if let Some(pol) = layers.resource {
        cands.extend(
            pol.statements
                .iter()
                .filter(|s| s.actions.contains(aid))
                .map(|stmt| Candidate {
                    layer: Layer::Resource,
                    policy: pol,
                    stmt,
                }),
        );
    }
    let canonical_action = cat
        .get(aid)
        .map(|a| a.name.as_str())
        .unwrap_or(request.action);
    let matched = run_cedar(request, &cands, canonical_action);
    if !matched.denies.is_empty() {
        return Decision {
            outcome: Outcome::ExplicitDeny,
            reasons: matched.denies,
            detail: "an explicit Deny statement applies",
        };
    }
    let cross = request.is_cross_account();
    if is_root && !cross {
        return Decision {
            outcome: Outcome::Allow,
            reasons: vec![Reason {
                layer: Layer::Root,
                policy_id: String::new(),
                sid: None,
                statement: 0,
            }],
            detail: "the account root user has full access to its own account",
        };
    }
    let bpa = layers.block_public_access;
    // RestrictPublicBuckets: a public bucket policy only serves the owner account and AWS services.
    let restrict = bpa.restrict_public_buckets
        && layers.resource.is_some_and(|r| r.is_public())
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
    if layers.object_ownership != ObjectOwnership::BucketOwnerEnforced
        && let Some(acl) = layers.acl
    {
        for (gi, mk) in acl.grants_for(p, canonical_action, bpa.ignore_public_acls) {
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
    let session_ok = layers.session.is_none() || !session.is_empty();
    let identity_ok = is_root || (!identity.is_empty() && boundary_ok && session_ok);
    let of_kind = |k: MatchKind| {
        resource_allows
            .iter()
            .filter(|(_, mk)| *mk == k)
            .map(|(r, _)| r.clone())
            .collect::<Vec<_>>()
    };
    let identity_reasons = || {
        identity
            .iter()
            .chain(&boundary)
            .chain(&session)
            .cloned()
            .collect::<Vec<_>>()
    };
    let allow = |reasons: Vec<Reason>, detail| Decision {
        outcome: Outcome::Allow,
        reasons,
        detail,
    };
    if !has_identity && !is_root {
        // Anonymous callers, services and federated callers only have the resource side.
        let direct = of_kind(MatchKind::Direct);
        return if direct.is_empty() {
            Decision::implicit("no resource-based policy or ACL allows this caller")
        } else {
            allow(direct, "a resource-based policy allows the caller")
        };
    }
    if !cross {
        let direct = of_kind(MatchKind::Direct);
        if !direct.is_empty() && (p.kind != PrincipalKind::FederatedUser || session_ok) {
            return allow(direct, "a resource-based policy names the caller directly");
        }
        let role = of_kind(MatchKind::Role);
        if !role.is_empty() && boundary_ok && session_ok {
            return allow(role, "a resource-based policy names the caller's role");
        }
        if identity_ok {
            return allow(
                identity_reasons(),
                "identity-based policies allow it (within boundary and session policies)",
            );
        }
        return Decision::implicit(if identity.is_empty() {
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
