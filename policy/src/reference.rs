//! A small reference evaluator written straight from AWS's "Policy evaluation logic" pages, over the
//! parsed documents and without Cedar. It is slow and simple on purpose: the differential test demands
//! that [`crate::evaluate`] reaches the same outcome on generated cases.

use crate::acl::Grantee;
use crate::catalogue::catalogue;
use crate::compile::{CompiledPolicy, MatchKind};
use crate::conditions::{Cmp, Qualifier, parse_date_ms, parse_ip_net};
use crate::document::{Condition, Effect, PolicyVersion, PrincipalId, Statement};
use crate::evaluate::{Layers, ObjectOwnership, Outcome};
use crate::request::{ContextValue, Principal, PrincipalKind, Request};

/// Glob over chars by dynamic programming; `lit` marks characters that came from variables.
fn glob(p: &[(char, bool)], t: &[char], ci: bool) -> bool {
    let same = |a: char, b: char| {
        if ci {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for &(pc, lit) in p {
        let mut next = vec![false; t.len() + 1];
        if pc == '*' && !lit {
            let mut any = false;
            for j in 0..=t.len() {
                any |= row[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = row[j - 1] && ((pc == '?' && !lit) || same(pc, t[j - 1]));
            }
        }
        row = next;
    }
    row[t.len()]
}

/// Substitutes `${...}` policy variables; `None` if one has no value. Returns (char, is_literal).
fn substitute(s: &str, version: PolicyVersion, req: &Request<'_>) -> Option<Vec<(char, bool)>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find("${").filter(|_| version == PolicyVersion::V2012) {
        let Some(end) = rest[pos..].find('}') else {
            break;
        };
        out.extend(rest[..pos].chars().map(|c| (c, false)));
        let inner = rest[pos + 2..pos + end].trim();
        match inner {
            "*" | "?" | "$" => out.extend(inner.chars().map(|c| (c, true))),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\''))),
                    None => (inner, None),
                };
                let value = req
                    .value(&key.to_ascii_lowercase())
                    .and_then(|v| match v.scalars().as_slice() {
                        [one] => Some(one.as_string().into_owned()),
                        _ => None,
                    })
                    .or(default.map(str::to_string))?;
                out.extend(value.chars().map(|c| (c, true)));
            }
        }
        rest = &rest[pos + end + 1..];
    }
    out.extend(rest.chars().map(|c| (c, false)));
    Some(out)
}

fn arn_like(p: &[(char, bool)], value: &str) -> bool {
    if p.len() == 1 && p[0] == ('*', false) {
        return true;
    }
    let vparts: Vec<&str> = value.splitn(6, ':').collect();
    let mut pparts: Vec<Vec<(char, bool)>> = vec![Vec::new()];
    for &c in p {
        if c.0 == ':' && pparts.len() < 6 {
            pparts.push(Vec::new());
        } else if let Some(last) = pparts.last_mut() {
            last.push(c);
        }
    }
    vparts.len() == 6
        && pparts.len() == 6
        && pparts
            .iter()
            .zip(&vparts)
            .all(|(pp, vp)| glob(pp, &vp.chars().collect::<Vec<_>>(), false))
}

fn compare(
    c: &Condition,
    version: PolicyVersion,
    req: &Request<'_>,
    v: &ContextValue,
    pv: &str,
) -> bool {
    let s = v.as_string();
    let text = || s.chars().collect::<Vec<_>>();
    let sub = || substitute(pv, version, req);
    let order =
        |a: Option<f64>, b: Option<f64>| -> Option<std::cmp::Ordering> { a?.partial_cmp(&b?) };
    let num_ord = || -> Option<std::cmp::Ordering> {
        let n = v.as_number()?;
        match pv.parse::<i64>() {
            Ok(p) => Some(n.cmp(&p)),
            Err(_) => order(Some(n as f64), pv.parse::<f64>().ok()),
        }
    };
    let date_ord =
        || -> Option<std::cmp::Ordering> { Some(v.as_date_ms()?.cmp(&parse_date_ms(pv)?)) };
    use std::cmp::Ordering::{Equal, Greater, Less};
    match c.op.cmp {
        Cmp::StrEq => sub().is_some_and(|p| p.iter().map(|x| x.0).collect::<String>() == *s),
        Cmp::StrEqCi => sub().is_some_and(|p| {
            p.iter().map(|x| x.0).collect::<String>().to_lowercase() == s.to_lowercase()
        }),
        Cmp::StrLike => sub().is_some_and(|p| glob(&p, &text(), false)),
        Cmp::Arn => sub().is_some_and(|p| arn_like(&p, &s)),
        Cmp::Binary => *s == *pv,
        Cmp::Bool => v
            .as_bool()
            .is_some_and(|b| pv.to_ascii_lowercase() == if b { "true" } else { "false" }),
        Cmp::Ip => v
            .as_ip()
            .is_some_and(|ip| parse_ip_net(pv).is_some_and(|n| n.contains(&ip))),
        Cmp::NumEq => num_ord() == Some(Equal),
        Cmp::NumLt => num_ord() == Some(Less),
        Cmp::NumLe => matches!(num_ord(), Some(Less | Equal)),
        Cmp::NumGt => num_ord() == Some(Greater),
        Cmp::NumGe => matches!(num_ord(), Some(Greater | Equal)),
        Cmp::DateEq => date_ord() == Some(Equal),
        Cmp::DateLt => date_ord() == Some(Less),
        Cmp::DateLe => matches!(date_ord(), Some(Less | Equal)),
        Cmp::DateGt => date_ord() == Some(Greater),
        Cmp::DateGe => matches!(date_ord(), Some(Greater | Equal)),
        Cmp::Null => false,
    }
}

/// AWS: values of one key are ORed (NOR for negated operators); missing keys fail positive operators.
fn condition_holds(c: &Condition, version: PolicyVersion, req: &Request<'_>) -> bool {
    let owned = req.value(&c.key.to_ascii_lowercase());
    let values: Vec<&ContextValue> = owned.as_deref().map(|v| v.scalars()).unwrap_or_default();
    if c.op.cmp == Cmp::Null {
        let missing = values.is_empty();
        return c
            .values
            .iter()
            .any(|pv| pv.eq_ignore_ascii_case("true") == missing);
    }
    let matches_policy =
        |v: &ContextValue| c.values.iter().any(|pv| compare(c, version, req, v, pv));
    let per_value = |v: &ContextValue| {
        if c.op.negated {
            !matches_policy(v)
        } else {
            matches_policy(v)
        }
    };
    match c.op.qualifier {
        Some(Qualifier::AllValues) => values.iter().all(|v| per_value(v)),
        Some(Qualifier::AnyValue) if values.is_empty() => c.op.if_exists,
        Some(Qualifier::AnyValue) => values.iter().any(|v| per_value(v)),
        None if values.len() == 1 => per_value(values[0]),
        None => c.op.if_exists || c.op.negated,
    }
}

fn entry_kind(e: &PrincipalId, p: &Principal) -> Option<MatchKind> {
    let arn_bearing = matches!(
        p.kind,
        PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
    );
    match e {
        PrincipalId::Any => Some(MatchKind::Direct),
        PrincipalId::Account(a) => {
            (p.account_arn().as_deref() == Some(a.as_str())).then_some(MatchKind::Account)
        }
        PrincipalId::Arn(a) if arn_bearing && p.arn.as_deref() == Some(a.as_str()) => {
            Some(MatchKind::Direct)
        }
        PrincipalId::Arn(a) => {
            (p.role_arn.as_deref() == Some(a.as_str())).then_some(MatchKind::Role)
        }
        PrincipalId::Service(s) => {
            (p.service.as_deref() == Some(s.as_str())).then_some(MatchKind::Direct)
        }
        PrincipalId::Federated(f) => {
            (p.federated.as_deref() == Some(f.as_str())).then_some(MatchKind::Direct)
        }
        PrincipalId::CanonicalUser(c) => {
            (p.canonical_id.as_deref() == Some(c.as_str())).then_some(MatchKind::Account)
        }
    }
}

/// The kinds under which the statement's Principal element covers the caller (empty: not covered).
fn principal_kinds(st: &Statement, p: &Principal) -> Vec<MatchKind> {
    let Some(el) = &st.principal else {
        return vec![MatchKind::Implicit];
    };
    if !el.negated {
        let mut kinds: Vec<MatchKind> = el.ids.iter().filter_map(|e| entry_kind(e, p)).collect();
        kinds.dedup();
        return kinds;
    }
    // NotPrincipal: the caller is excluded only if every one of its identities is listed.
    let listed = |pred: &dyn Fn(&PrincipalId) -> bool| {
        el.ids.iter().any(|e| *e == PrincipalId::Any || pred(e))
    };
    let mut all_listed = true;
    if p.kind == PrincipalKind::Anonymous {
        all_listed &= listed(&|_| false);
    }
    if matches!(
        p.kind,
        PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
    ) && let Some(a) = &p.arn
    {
        all_listed &= listed(&|e| matches!(e, PrincipalId::Arn(x) if x == a));
    }
    if let Some(r) = &p.role_arn {
        all_listed &= listed(&|e| matches!(e, PrincipalId::Arn(x) if x == r));
    }
    if let Some(acct) = p.account_arn() {
        all_listed &= listed(&|e| match e {
            PrincipalId::Account(x) => *x == acct,
            PrincipalId::CanonicalUser(c) => p.canonical_id.as_deref() == Some(c.as_str()),
            _ => false,
        });
    }
    if let Some(s) = &p.service {
        all_listed &= listed(&|e| matches!(e, PrincipalId::Service(x) if x == s));
    }
    if let Some(f) = &p.federated {
        all_listed &= listed(&|e| matches!(e, PrincipalId::Federated(x) if x == f));
    }
    if all_listed {
        vec![]
    } else {
        vec![MatchKind::Direct]
    }
}

fn statement_applies(st: &Statement, version: PolicyVersion, req: &Request<'_>) -> bool {
    let action = req.action;
    let act_hit = st.action.values.iter().any(|a| {
        glob(
            &a.chars().map(|c| (c, false)).collect::<Vec<_>>(),
            &action.chars().collect::<Vec<_>>(),
            true,
        )
    });
    if act_hit == st.action.negated {
        return false;
    }
    if let Some(r) = &st.resource {
        let hit = r
            .values
            .iter()
            .any(|v| substitute(v, version, req).is_some_and(|p| arn_like(&p, req.resource)));
        if hit == r.negated {
            return false;
        }
    }
    st.conditions
        .iter()
        .all(|c| condition_holds(c, version, req))
}

/// (effect, kinds) of every statement of `policy` that applies to the request.
fn applicable(policy: &CompiledPolicy, req: &Request<'_>) -> Vec<(Effect, Vec<MatchKind>)> {
    let doc = policy.document();
    doc.statements
        .iter()
        .filter(|st| statement_applies(st, doc.version, req))
        .map(|st| (st.effect, principal_kinds(st, req.principal)))
        .filter(|(_, k)| !k.is_empty())
        .collect()
}

/// The reference decision (outcome only).
pub fn reference_evaluate(req: &Request<'_>, layers: &Layers<'_>) -> Outcome {
    // Requests for actions the service does not define are never allowed.
    let Some(id) = catalogue().lookup(req.action) else {
        return Outcome::ImplicitDeny;
    };
    let canonical = catalogue()
        .get(id)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let req = &Request {
        action: &canonical,
        ..*req
    };
    let p = req.principal;
    let root = p.kind == PrincipalKind::Root;
    let identity_holder = matches!(
        p.kind,
        PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
    );

    let identity: Vec<_> = if identity_holder {
        layers
            .identity
            .iter()
            .flat_map(|pol| applicable(pol, req))
            .collect()
    } else {
        vec![]
    };
    let boundary: Option<Vec<_>> = if identity_holder {
        layers.boundary.map(|b| applicable(b, req))
    } else {
        None
    };
    let session: Option<Vec<_>> = if identity_holder {
        layers
            .session
            .map(|s| s.iter().flat_map(|pol| applicable(pol, req)).collect())
    } else {
        None
    };
    let resource: Vec<_> = layers
        .resource
        .map(|r| applicable(r, req))
        .unwrap_or_default();

    // 1. Deny evaluation: an explicit deny in any applicable policy is final.
    let any_deny = |v: &[(Effect, Vec<MatchKind>)]| v.iter().any(|(e, _)| *e == Effect::Deny);
    if any_deny(&identity)
        || boundary.as_deref().is_some_and(any_deny)
        || session.as_deref().is_some_and(any_deny)
        || any_deny(&resource)
    {
        return Outcome::ExplicitDeny;
    }
    let same_account = matches!((&p.account, req.resource_account), (Some(a), Some(r)) if a == r)
        || (p.account.is_some() && req.resource_account.is_none());
    // 2. The root user has full access within its account.
    if root && same_account {
        return Outcome::Allow;
    }
    let allows = |v: &Option<Vec<(Effect, Vec<MatchKind>)>>| match v {
        None => true,
        Some(v) => v.iter().any(|(e, _)| *e == Effect::Allow),
    };
    let boundary_allows = allows(&boundary);
    let session_allows = allows(&session);
    let identity_allows = root
        || (identity.iter().any(|(e, _)| *e == Effect::Allow) && boundary_allows && session_allows);

    // 3. Resource side: policy allows by kind, plus ACL grants.
    let bpa = layers.block_public_access;
    let public_blocked = bpa.restrict_public_buckets
        && layers.resource.is_some_and(|r| r.is_public())
        && p.kind != PrincipalKind::Service
        && !(same_account && p.account.is_some());
    let mut kinds: Vec<MatchKind> = if public_blocked {
        vec![]
    } else {
        resource
            .iter()
            .filter(|(e, _)| *e == Effect::Allow)
            .flat_map(|(_, k)| k.clone())
            .collect()
    };
    if layers.object_ownership != ObjectOwnership::BucketOwnerEnforced
        && let Some(acl) = layers.acl
    {
        for g in &acl.grants {
            if bpa.ignore_public_acls && g.grantee.is_public() {
                continue;
            }
            let allowed = crate::acl::permission_actions(acl.target, g.permission)
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&canonical));
            let who = match &g.grantee {
                Grantee::AllUsers => Some(MatchKind::Direct),
                Grantee::AuthenticatedUsers => {
                    (p.kind != PrincipalKind::Anonymous).then_some(MatchKind::Direct)
                }
                Grantee::LogDelivery => (p.service.as_deref() == Some("logging.s3.amazonaws.com"))
                    .then_some(MatchKind::Direct),
                Grantee::CanonicalUser(c) => p
                    .canonical_id
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(c))
                    .then_some(MatchKind::Account),
            };
            if let (true, Some(k)) = (allowed, who) {
                kinds.push(k);
            }
        }
    }
    let has = |k: MatchKind| kinds.contains(&k);

    // Callers without identity policies (anonymous, services, web identities) depend on the resource alone.
    if !identity_holder && !root {
        return if has(MatchKind::Direct) {
            Outcome::Allow
        } else {
            Outcome::ImplicitDeny
        };
    }
    if same_account {
        // Same account: a resource policy naming the user or session ARN is enough on its own; one
        // naming the role is capped by boundary and session policies; otherwise identity policies decide.
        if has(MatchKind::Direct) && (p.kind != PrincipalKind::FederatedUser || session_allows) {
            return Outcome::Allow;
        }
        if has(MatchKind::Role) && boundary_allows && session_allows {
            return Outcome::Allow;
        }
        return if identity_allows {
            Outcome::Allow
        } else {
            Outcome::ImplicitDeny
        };
    }
    // Cross-account: the trusting side (resource) and the trusted side (identity) must both allow.
    if identity_allows && !kinds.is_empty() {
        Outcome::Allow
    } else {
        Outcome::ImplicitDeny
    }
}
