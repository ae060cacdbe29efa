//! The Cedar side of [`crate::evaluate()`]: the request's candidate statements are decided here
//! (principal and resource in Rust, conditions in one small Cedar policy set per request), and the
//! statements that apply come back per layer and match kind for the combination in `evaluate.rs`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use cedar_policy::{
    Authorizer, Context as CedarContext, Decision as CedarDecision, Entities, EntityId,
    EntityTypeName, EntityUid, PolicyId, PolicySet, Request as CedarRequest, RestrictedExpression,
};

use crate::compile::{
    CompiledPolicy, CompiledStatement, FORM_BOOL, FORM_DATE, FORM_IP, FORM_NUM, FORM_SET, FORM_STR,
    HostPred, MatchKind, PrincipalTest,
};
use crate::conditions::eval_condition;
use crate::document::Effect;
use crate::evaluate::{Layer, Reason};
use crate::prefilter::{
    CachedSet, PrincipalView, ResourceHit, SetKey, ip_expr, policy_set, principal_test,
    resource_hit,
};
use crate::request::{ContextValue, Request};

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

/// A statement whose action set holds the request's action, with its layer.
pub(crate) struct Candidate<'a> {
    pub layer: Layer,
    pub policy: &'a CompiledPolicy,
    pub stmt: &'a CompiledStatement,
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
                .is_some_and(|cond| eval_condition(cond, doc.version, req, c.stmt.effect))
        }
    }
}

/// Whether all of the statement's conditions hold, decided in Rust (used when a key of an
/// unqualified condition is multi-valued, which the Cedar encoding would read as absent).
fn conditions_hold_in_rust(c: &Candidate<'_>, req: &Request<'_>) -> bool {
    let doc = c.policy.document();
    doc.statements.get(c.stmt.index).is_some_and(|st| {
        st.conditions
            .iter()
            .all(|cond| eval_condition(cond, doc.version, req, c.stmt.effect))
    })
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
pub(crate) struct Matched {
    pub denies: Vec<Reason>,
    pub allows: Vec<(Reason, MatchKind)>,
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

/// How the caller's setup changes principal matching.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunOpts {
    /// The caller is an IAM identity with a permissions boundary: a Deny with NotPrincipal then
    /// always applies to it (AWS, "Permissions boundaries").
    pub boundary_holder: bool,
}

/// Runs the candidates through Cedar. An evaluation error makes an erring Deny statement apply and
/// an erring Allow statement not apply (fail closed either way; an erring Allow is not a Deny).
///
/// Each generated policy is `principal && resource && conditions`. Rust first evaluates the
/// principal and resource parts (see `prefilter`; both are error-free): where either is false the
/// policy is false and is left out; where both are true the policy's value, errors included, is
/// that of the conditions alone. So Cedar runs each remaining statement's conditions once, as one
/// policy, in a set cached per thread by the statements' identity; a statement with no conditions
/// applies outright. A statement whose Resource element has a policy variable without a value does
/// not match at all (AWS: the statement is invalid). A statement with an unqualified condition on
/// a multi-valued key is decided in Rust (`conditions::eval_condition`).
pub(crate) fn run_cedar(
    req: &Request<'_>,
    cands: &[Candidate<'_>],
    action: &str,
    opts: RunOpts,
) -> Matched {
    let mut m = Matched::default();
    if cands.is_empty() {
        return m;
    }
    let fail = |m: &mut Matched| {
        m.denies.extend(
            cands
                .iter()
                .filter(|c| c.stmt.effect == Effect::Deny)
                .map(reason),
        );
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
            .filter(|sp| {
                (sp.test == PrincipalTest::NotListed
                    && c.stmt.effect == Effect::Deny
                    && opts.boundary_holder)
                    || principal_test(sp.test, c.stmt.principal.as_ref(), &view)
            })
            .map(|sp| sp.kind)
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let hit = match resource_hit(c.stmt, req) {
            ResourceHit::NoElement => None,
            ResourceHit::Unresolved => continue,
            ResourceHit::Hit(h) => Some(h),
        };
        let negated = c.stmt.resource.as_ref().is_some_and(|(_, n)| *n);
        if hit.is_some_and(|h| h == negated) {
            continue;
        }
        if c.stmt.conditions.is_none() {
            m.push(c, &kinds);
        } else if c
            .stmt
            .single_keys
            .iter()
            .any(|k| req.value(k).is_some_and(|v| v.value_count() > 1))
        {
            if conditions_hold_in_rust(c, req) {
                m.push(c, &kinds);
            }
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
    let mut group_of: HashMap<(u64, u32), usize> = HashMap::with_capacity(live.len());
    for (n, (ci, _, _)) in live.iter().enumerate() {
        let c = &cands[*ci];
        let Some((_, first)) = &c.stmt.conditions else {
            continue;
        };
        let id = (c.policy.serial, *first);
        match group_of.get(&id) {
            Some(g) => groups[*g].1.push(n),
            None => {
                group_of.insert(id, groups.len());
                groups.push((id, vec![n]));
            }
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
        let index = ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect();
        Some(CachedSet { set, index })
    };
    let Some(cached) = policy_set(key, build) else {
        fail(&mut m);
        return m;
    };
    let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(16);
    let mut keys: HashMap<&str, u8> = HashMap::new();
    let mut host_names: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (ci, hit, _) in &live {
        let c = &cands[*ci];
        for (k, forms) in &c.stmt.keys {
            *keys.entry(k.as_str()).or_insert(0) |= forms;
        }
        for (name, pred) in &c.stmt.host {
            // The same compiled policy may sit in two layers; its predicates have one value.
            if matches!(pred, HostPred::Resource) || !host_names.insert(name.as_str()) {
                continue;
            }
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
        let group = cached.index.get(id).and_then(|n| groups.get(*n));
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
            if c.stmt.effect == Effect::Deny {
                m.denies.push(reason(c));
            }
        }
    }
    for pid in response.diagnostics().reason() {
        for (c, kinds) in members(pid) {
            match (response.decision(), c.stmt.effect) {
                (CedarDecision::Deny, _) | (_, Effect::Deny) => {
                    if c.stmt.effect == Effect::Deny {
                        m.denies.push(reason(c));
                    }
                }
                (CedarDecision::Allow, Effect::Allow) => m.push(c, kinds),
            }
        }
    }
    m
}
