//! An independent reference evaluator, written straight from AWS's pages ("Policy evaluation
//! logic", "Cross-account policy evaluation logic", "Determining whether a request is allowed or
//! denied within an account", "Permissions boundaries", "Session policies", "IAM policy elements:
//! Variables and tags", "Condition operators", "Single-valued vs. multivalued context keys", role
//! trust policies). It shares only the parsed document types ([`crate::document`]) and the request
//! and output data types with the engine: its own key lookup, variable substitution, wildcard and
//! ARN matching, condition operators, principal matching, ACL table and layer combination. It is
//! slow and simple on purpose; the differential test demands that [`crate::evaluate()`] reaches the
//! same outcome and the same deciding statements.
//!
//! Where AWS documents no answer, the reference fails closed in the same way as the engine
//! (documented at [`crate::evaluate()`]); those choices are marked "fail closed" below.

use std::cmp::Ordering;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::acl::{AclTarget, Grantee, Permission};
use crate::catalogue::catalogue;
use crate::compile::CompiledPolicy;
use crate::conditions::{Cmp, Qualifier};
use crate::document::{
    Condition, Effect, PolicyKind, PolicyVersion, PrincipalElement, PrincipalId, Statement,
};
use crate::evaluate::{Layer, Layers, ObjectOwnership, Outcome, Reason};
use crate::request::{ContextValue, Principal, PrincipalKind, Request};

// ---------------------------------------------------------------------------------------------
// Request values.

/// The caller-describing keys: only the authenticated principal supplies them.
fn describes_caller(lk: &str) -> bool {
    lk.starts_with("aws:principal")
        || [
            "aws:username",
            "aws:userid",
            "aws:sourceidentity",
            "aws:tokenissuetime",
            "aws:multifactorauthpresent",
            "aws:multifactorauthage",
            "aws:federatedprovider",
        ]
        .contains(&lk)
}

fn is_iam_identity(p: &Principal) -> bool {
    matches!(
        p.kind,
        PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
    )
}

/// The caller's value of a caller-describing key (AWS's global condition keys page).
fn caller_value(p: &Principal, lk: &str) -> Option<ContextValue> {
    let text = |s: &Option<String>| s.as_ref().map(|v| ContextValue::String(v.clone()));
    if let Some(tag) = lk.strip_prefix("aws:principaltag/") {
        if !is_iam_identity(p) {
            return None;
        }
        // Session tags override the role's or user's tag of the same key.
        for tags in [&p.session.tags, &p.tags] {
            for (k, v) in tags.iter() {
                if k.to_ascii_lowercase() == tag {
                    return Some(ContextValue::String(v.clone()));
                }
            }
        }
        return None;
    }
    match lk {
        // Only IAM users have a user name (not roles, not federated users).
        "aws:username" => match p.kind {
            PrincipalKind::User => text(&p.username),
            _ => None,
        },
        "aws:userid" => text(&p.userid),
        "aws:principalarn" => match p.kind {
            PrincipalKind::AssumedRole => text(&p.parent_arn),
            PrincipalKind::Root | PrincipalKind::User | PrincipalKind::FederatedUser => {
                text(&p.arn)
            }
            _ => None,
        },
        "aws:principalaccount" => text(&p.account),
        "aws:principaltype" => Some(ContextValue::String(
            match p.kind {
                PrincipalKind::Root => "Account",
                PrincipalKind::User => "User",
                PrincipalKind::AssumedRole => "AssumedRole",
                PrincipalKind::FederatedUser => "FederatedUser",
                PrincipalKind::Federated => "WebIdentityUser",
                PrincipalKind::Service => "AWSService",
                PrincipalKind::Anonymous => "Anonymous",
            }
            .to_string(),
        )),
        "aws:principalservicename" => text(&p.service),
        "aws:principalisawsservice" => (p.kind != PrincipalKind::Anonymous)
            .then(|| ContextValue::Bool(p.kind == PrincipalKind::Service)),
        "aws:principalorgid" => text(&p.org_id),
        "aws:federatedprovider" => text(&p.federated),
        "aws:sourceidentity" => text(&p.session.source_identity),
        "aws:tokenissuetime" => p.session.token_issue_time.map(ContextValue::Date),
        "aws:multifactorauthpresent" => p.session.mfa_present.map(ContextValue::Bool),
        "aws:multifactorauthage" => p.session.mfa_age_secs.map(ContextValue::Number),
        _ => None,
    }
}

/// The request's values of a key (lower-cased), lists flattened; empty when absent.
fn values_of(req: &Request<'_>, lk: &str) -> Vec<ContextValue> {
    let v = if describes_caller(lk) {
        caller_value(req.principal, lk)
    } else {
        req.context.get(lk).cloned()
    };
    let mut out = Vec::new();
    fn flat(v: ContextValue, out: &mut Vec<ContextValue>) {
        match v {
            ContextValue::List(items) => items.into_iter().for_each(|i| flat(i, out)),
            other => out.push(other),
        }
    }
    if let Some(v) = v {
        flat(v, &mut out);
    }
    out
}

fn as_text(v: &ContextValue) -> String {
    match v {
        ContextValue::String(s) => s.clone(),
        ContextValue::Bool(b) => b.to_string(),
        ContextValue::Number(n) => n.to_string(),
        ContextValue::Ip(ip) => ip.to_string(),
        ContextValue::Date(d) => d
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| d.unix_timestamp().to_string()),
        ContextValue::List(_) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Policy variables and wildcards.

/// One character of a policy string after substitution: `(c, wildcard)`; substituted text and
/// the `${*}` / `${?}` / `${$}` escapes are never wildcards.
type Pat = Vec<(char, bool)>;

/// Substitutes `${key}` / `${key, 'default'}` (Version 2012-10-17 only). `None` when a variable
/// has no single value and no default: the statement is then invalid (does not match).
fn substitute(s: &str, version: PolicyVersion, req: &Request<'_>) -> Option<Pat> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if version == PolicyVersion::V2012
            && c == '$'
            && chars.get(i + 1) == Some(&'{')
            && let Some(len) = chars[i + 2..].iter().position(|&x| x == '}')
        {
            let inner: String = chars[i + 2..i + 2 + len].iter().collect();
            let inner = inner.trim();
            i += len + 3;
            if inner == "*" || inner == "?" || inner == "$" {
                out.push((inner.chars().next().unwrap_or('$'), false));
                continue;
            }
            let (key, default) = match inner.find(',') {
                Some(at) => {
                    let d = inner[at + 1..].trim();
                    let d = if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
                        &d[1..d.len() - 1]
                    } else {
                        d
                    };
                    (inner[..at].trim(), Some(d))
                }
                None => (inner, None),
            };
            let vals = values_of(req, &key.to_ascii_lowercase());
            let text = if vals.len() == 1 {
                as_text(&vals[0])
            } else {
                default?.to_string()
            };
            out.extend(text.chars().map(|c| (c, false)));
            continue;
        }
        out.push((c, c == '*' || c == '?'));
        i += 1;
    }
    Some(out)
}

fn chars_eq(a: char, b: char, ci: bool) -> bool {
    if ci {
        a.to_lowercase().eq(b.to_lowercase())
    } else {
        a == b
    }
}

/// Wildcard match by dynamic programming over (pattern position, text position).
fn wild(p: &[(char, bool)], t: &[char], ci: bool) -> bool {
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for &(pc, w) in p {
        let mut next = vec![false; t.len() + 1];
        if w && pc == '*' {
            let mut seen = false;
            for j in 0..=t.len() {
                seen = seen || row[j];
                next[j] = seen;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = row[j - 1] && ((w && pc == '?') || chars_eq(pc, t[j - 1], ci));
            }
        }
        row = next;
    }
    row[t.len()]
}

/// ARN matching: a lone `*` matches anything; otherwise the six colon-separated parts match one by
/// one (a wildcard never spans a part separator).
fn arn_like(p: &[(char, bool)], value: &str) -> bool {
    if p.len() == 1 && p[0] == ('*', true) {
        return true;
    }
    let vparts: Vec<&str> = value.splitn(6, ':').collect();
    let mut pparts: Vec<Pat> = vec![Vec::new()];
    for &c in p {
        if c == (':', false) && pparts.len() < 6 {
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
            .all(|(pp, vp)| wild(pp, &vp.chars().collect::<Vec<_>>(), false))
}

// ---------------------------------------------------------------------------------------------
// Condition operators.

/// A date: epoch seconds, RFC 3339 / ISO 8601, or a calendar date; as epoch milliseconds.
fn date_ms(s: &str) -> Option<i64> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(1000);
    }
    let t = match time::OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => t,
        Err(_) => match time::OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
            Ok(t) => t,
            Err(_) => {
                let f = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(s, &f).ok()?.midnight().assume_utc()
            }
        },
    };
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

fn value_date_ms(v: &ContextValue) -> Option<i64> {
    match v {
        ContextValue::Date(d) => i64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok(),
        ContextValue::Number(n) => n.checked_mul(1000),
        ContextValue::String(s) => date_ms(s),
        _ => None,
    }
}

fn value_number(v: &ContextValue) -> Option<i64> {
    match v {
        ContextValue::Number(n) => Some(*n),
        ContextValue::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn value_bool(v: &ContextValue) -> Option<bool> {
    match v {
        ContextValue::Bool(b) => Some(*b),
        ContextValue::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn value_ip(v: &ContextValue) -> Option<IpAddr> {
    match v {
        ContextValue::Ip(ip) => Some(*ip),
        ContextValue::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn policy_net(s: &str) -> Option<IpNet> {
    match s.parse::<IpNet>() {
        Ok(n) => Some(n.trunc()),
        Err(_) => s.parse::<IpAddr>().ok().map(IpNet::from),
    }
}

/// Number comparison: integers exactly, other finite decimals as floating point.
fn number_order(n: i64, policy: &str) -> Option<Ordering> {
    if let Ok(p) = policy.parse::<i64>() {
        return Some(n.cmp(&p));
    }
    let f: f64 = policy.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    (n as f64).partial_cmp(&f)
}

/// A decimal value (s3:TlsVersion is `1.2`) against a decimal policy value; integer policy values
/// compare with integer values only.
fn decimal_order(v: &ContextValue, policy: &str) -> Option<Ordering> {
    if policy.parse::<i64>().is_ok() {
        return None;
    }
    let ContextValue::String(s) = v else {
        return None;
    };
    let d: f64 = s.parse().ok()?;
    let f: f64 = policy.parse().ok()?;
    if !d.is_finite() || !f.is_finite() {
        return None;
    }
    d.partial_cmp(&f)
}

fn order_holds(cmp: Cmp, o: Option<Ordering>) -> bool {
    let Some(o) = o else { return false };
    match cmp {
        Cmp::NumEq | Cmp::DateEq => o == Ordering::Equal,
        Cmp::NumLt | Cmp::DateLt => o == Ordering::Less,
        Cmp::NumLe | Cmp::DateLe => o != Ordering::Greater,
        Cmp::NumGt | Cmp::DateGt => o == Ordering::Greater,
        Cmp::NumGe | Cmp::DateGe => o != Ordering::Less,
        _ => false,
    }
}

/// Whether one request value matches one (substituted) policy value under the positive operator.
fn one_matches(cmp: Cmp, v: &ContextValue, raw: &str, pat: &Pat) -> bool {
    let plain = || pat.iter().map(|(c, _)| *c).collect::<String>();
    match cmp {
        Cmp::StrEq => plain() == as_text(v),
        Cmp::StrEqCi => plain().to_lowercase() == as_text(v).to_lowercase(),
        Cmp::StrLike => wild(pat, &as_text(v).chars().collect::<Vec<_>>(), false),
        Cmp::Arn => arn_like(pat, &as_text(v)),
        Cmp::Binary => as_text(v) == raw,
        Cmp::Bool => value_bool(v).is_some_and(|b| raw.to_ascii_lowercase() == b.to_string()),
        Cmp::Ip => match (value_ip(v), policy_net(raw)) {
            (Some(ip), Some(net)) => net.contains(&ip),
            _ => false,
        },
        Cmp::NumEq | Cmp::NumLt | Cmp::NumLe | Cmp::NumGt | Cmp::NumGe => {
            let order = match value_number(v) {
                Some(n) => number_order(n, raw),
                None => decimal_order(v, raw),
            };
            order_holds(cmp, order)
        }
        Cmp::DateEq | Cmp::DateLt | Cmp::DateLe | Cmp::DateGt | Cmp::DateGe => order_holds(
            cmp,
            value_date_ms(v).zip(date_ms(raw)).map(|(a, b)| a.cmp(&b)),
        ),
        Cmp::Null => false,
    }
}

/// The policy values of a condition, substituted for String* and Arn* operators; `None` when a
/// variable has no value.
fn policy_values(c: &Condition, version: PolicyVersion, req: &Request<'_>) -> Option<Vec<Pat>> {
    let substituted = matches!(
        c.op.cmp,
        Cmp::StrEq | Cmp::StrEqCi | Cmp::StrLike | Cmp::Arn
    );
    c.values
        .iter()
        .map(|pv| {
            if substituted {
                substitute(pv, version, req)
            } else {
                Some(pv.chars().map(|ch| (ch, false)).collect())
            }
        })
        .collect()
}

/// One condition of a statement with `effect` (AWS's Condition operators page).
fn condition_holds(
    c: &Condition,
    version: PolicyVersion,
    req: &Request<'_>,
    effect: Effect,
) -> bool {
    let values = values_of(req, &c.key.to_ascii_lowercase());
    if c.op.cmp == Cmp::Null {
        // `Null: true` holds when the key is absent, `Null: false` when it is present.
        return c
            .values
            .iter()
            .any(|pv| pv.eq_ignore_ascii_case("true") == values.is_empty());
    }
    let Some(pats) = policy_values(c, version, req) else {
        return false;
    };
    // Several policy values for one key are ORed.
    let positive = |v: &ContextValue| {
        c.values
            .iter()
            .zip(&pats)
            .any(|(raw, pat)| one_matches(c.op.cmp, v, raw, pat))
    };
    // A negated operator is the negation of the positive one, value by value.
    let per_value = |v: &ContextValue| positive(v) != c.op.negated;
    match c.op.qualifier {
        // ForAllValues: every request value matches; true when the key is absent.
        Some(Qualifier::AllValues) => values.iter().all(per_value),
        // ForAnyValue: at least one request value matches; false when absent unless IfExists.
        Some(Qualifier::AnyValue) => {
            if values.is_empty() {
                c.op.if_exists
            } else {
                values.iter().any(per_value)
            }
        }
        None => match values.len() {
            // Absent key: positive operators fail, negated ones and IfExists hold.
            0 => c.op.if_exists || c.op.negated,
            1 => per_value(&values[0]),
            // A multi-valued key needs a set operator; AWS documents no answer: fail closed.
            _ => effect == Effect::Deny,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Statements.

/// How a resource-based statement's Principal names the caller (AWS treats them differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    /// No Principal element (identity, boundary and session policies).
    NotApplicable,
    /// The caller itself: `*`, its user / role-session / federated-user ARN, service, provider;
    /// or a NotPrincipal that leaves it out.
    Itself,
    /// The role of a role session, or the parent IAM user of a federated-user session.
    Parent,
    /// The caller's account (root ARN, account id, canonical user id).
    Account,
}

fn names_caller(id: &PrincipalId, p: &Principal) -> Option<Named> {
    let iam = is_iam_identity(p);
    match id {
        PrincipalId::Any => Some(Named::Itself),
        PrincipalId::Arn(a) if iam && p.arn.as_deref() == Some(a) => Some(Named::Itself),
        PrincipalId::Arn(a) if iam && p.parent_arn.as_deref() == Some(a) => Some(Named::Parent),
        PrincipalId::Arn(_) => None,
        PrincipalId::Account(root) => p
            .account
            .as_ref()
            .filter(|acct| *root == format!("arn:aws:iam::{acct}:root"))
            .map(|_| Named::Account),
        PrincipalId::CanonicalUser(c) => (p.account.is_some()
            && p.canonical_id.as_deref() == Some(c.as_str()))
        .then_some(Named::Account),
        PrincipalId::Service(s) => {
            (p.service.as_deref() == Some(s.as_str())).then_some(Named::Itself)
        }
        PrincipalId::Federated(f) => {
            (p.federated.as_deref() == Some(f.as_str())).then_some(Named::Itself)
        }
    }
}

/// NotPrincipal: the caller is left out only if each of its identities (its ARN, its role or
/// parent user, its account, ...) is listed; an anonymous caller only by `*`.
fn not_principal_excludes(el: &PrincipalElement, p: &Principal) -> bool {
    if el.ids.contains(&PrincipalId::Any) {
        return true;
    }
    if p.kind == PrincipalKind::Anonymous {
        return false;
    }
    let listed = |f: &dyn Fn(&PrincipalId) -> bool| el.ids.iter().any(f);
    let iam = is_iam_identity(p);
    let mut identities: Vec<bool> = Vec::new();
    if iam && let Some(arn) = &p.arn {
        identities.push(listed(&|id| matches!(id, PrincipalId::Arn(x) if x == arn)));
    }
    if iam && let Some(parent) = &p.parent_arn {
        identities.push(listed(
            &|id| matches!(id, PrincipalId::Arn(x) if x == parent),
        ));
    }
    if p.account.is_some() {
        identities.push(listed(&|id| {
            matches!(names_caller(id, p), Some(Named::Account))
        }));
    }
    if let Some(s) = &p.service {
        identities.push(listed(
            &|id| matches!(id, PrincipalId::Service(x) if x == s),
        ));
    }
    if let Some(f) = &p.federated {
        identities.push(listed(
            &|id| matches!(id, PrincipalId::Federated(x) if x == f),
        ));
    }
    identities.into_iter().all(|b| b)
}

/// Whether the statement's Action / NotAction covers the (canonical) action.
fn action_covered(st: &Statement, action: &str) -> bool {
    let text: Vec<char> = action.chars().collect();
    let hit = st.action.values.iter().any(|a| {
        let pat: Pat = a.chars().map(|c| (c, c == '*' || c == '?')).collect();
        wild(&pat, &text, true)
    });
    hit != st.action.negated
}

/// The ways in which the statement applies to the request (empty: it does not apply).
fn applies(
    st: &Statement,
    version: PolicyVersion,
    req: &Request<'_>,
    boundary_holder: bool,
) -> Vec<Named> {
    if !action_covered(st, req.action) {
        return vec![];
    }
    if let Some(r) = &st.resource {
        let mut hit = false;
        for v in &r.values {
            // An unresolved variable anywhere in the element invalidates the statement.
            let Some(pat) = substitute(v, version, req) else {
                return vec![];
            };
            hit = hit || arn_like(&pat, req.resource);
        }
        if hit == r.negated {
            return vec![];
        }
    }
    if !st
        .conditions
        .iter()
        .all(|c| condition_holds(c, version, req, st.effect))
    {
        return vec![];
    }
    match &st.principal {
        None => vec![Named::NotApplicable],
        Some(el) if el.negated => {
            // "Permissions boundaries": a Deny with NotPrincipal always denies a principal that
            // has a permissions boundary, whatever the element lists.
            if (st.effect == Effect::Deny && boundary_holder)
                || !not_principal_excludes(el, req.principal)
            {
                vec![Named::Itself]
            } else {
                vec![]
            }
        }
        Some(el) => {
            let mut ways: Vec<Named> = el
                .ids
                .iter()
                .filter_map(|id| names_caller(id, req.principal))
                .collect();
            ways.dedup();
            ways
        }
    }
}

/// The statements of `policy` that apply, with the ways they name the caller.
fn applicable(
    policy: &CompiledPolicy,
    layer: Layer,
    req: &Request<'_>,
    boundary_holder: bool,
) -> Vec<(Effect, Reason, Vec<Named>)> {
    let doc = policy.document();
    let mut out = Vec::new();
    for (i, st) in doc.statements.iter().enumerate() {
        let ways = applies(st, doc.version, req, boundary_holder);
        if !ways.is_empty() {
            out.push((
                st.effect,
                Reason {
                    layer,
                    policy_id: policy.id().to_string(),
                    sid: st.sid.clone(),
                    statement: i,
                },
                ways,
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// ACLs (S3's "Access control list (ACL) overview": what each permission allows).

fn acl_actions(target: AclTarget, perm: Permission) -> Vec<&'static str> {
    let bucket_read = [
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads",
    ];
    let bucket_write = ["s3:PutObject", "s3:DeleteObject"];
    let object_read = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent"];
    let object_read_acp = ["s3:GetObjectAcl", "s3:GetObjectVersionAcl"];
    let object_write_acp = ["s3:PutObjectAcl", "s3:PutObjectVersionAcl"];
    match (target, perm) {
        (AclTarget::Bucket, Permission::Read) => bucket_read.to_vec(),
        (AclTarget::Bucket, Permission::Write) => bucket_write.to_vec(),
        (AclTarget::Bucket, Permission::ReadAcp) => vec!["s3:GetBucketAcl"],
        (AclTarget::Bucket, Permission::WriteAcp) => vec!["s3:PutBucketAcl"],
        (AclTarget::Bucket, Permission::FullControl) => {
            let mut v = bucket_read.to_vec();
            v.extend(bucket_write);
            v.extend(["s3:GetBucketAcl", "s3:PutBucketAcl"]);
            v
        }
        (AclTarget::Object, Permission::Read) => object_read.to_vec(),
        (AclTarget::Object, Permission::Write) => vec![],
        (AclTarget::Object, Permission::ReadAcp) => object_read_acp.to_vec(),
        (AclTarget::Object, Permission::WriteAcp) => object_write_acp.to_vec(),
        (AclTarget::Object, Permission::FullControl) => {
            let mut v = object_read.to_vec();
            v.extend(object_read_acp);
            v.extend(object_write_acp);
            v
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Combination.

const ASSUME_ACTIONS: [&str; 6] = [
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
];

/// The reference decision: outcome and deciding statements (sorted, without duplicates), with the
/// same contract as [`crate::evaluate()`].
pub fn reference_decide(req: &Request<'_>, layers: &Layers<'_>) -> (Outcome, Vec<Reason>) {
    let deny = (Outcome::ImplicitDeny, Vec::new());
    // Actions the services do not define are never allowed.
    let cat = catalogue();
    let Some(info) = cat.lookup(req.action).and_then(|id| cat.get(id)) else {
        return deny;
    };
    let action = info.name.as_str();
    // The resource's account is part of every request.
    let acct = req.resource_account;
    if acct.len() != 12 || !acct.chars().all(|c| c.is_ascii_digit()) {
        return deny;
    }
    let p = req.principal;
    // GetFederationToken: "You cannot call any IAM operations ... You cannot call any STS
    // operations except GetCallerIdentity."
    if p.kind == PrincipalKind::FederatedUser
        && (action.starts_with("iam:")
            || (action.starts_with("sts:") && action != "sts:GetCallerIdentity"))
    {
        return deny;
    }
    // TagSession / SetSourceIdentity on an IAM user (GetFederationToken) are identity-side.
    let on_user = {
        let parts: Vec<&str> = req.resource.splitn(6, ':').collect();
        parts.len() == 6 && parts[2] == "iam" && parts[5].starts_with("user/")
    };
    let assume = ASSUME_ACTIONS.contains(&action)
        && !(on_user && (action == "sts:TagSession" || action == "sts:SetSourceIdentity"));
    // AWS's example grants s3:ListAllMyBuckets on "arn:aws:s3:::*".
    let resource = if action.starts_with("s3:") && info.resource_types.is_empty() {
        "arn:aws:s3:::*"
    } else {
        req.resource
    };
    let req = &Request {
        action,
        resource,
        ..*req
    };
    let iam = is_iam_identity(p);
    let root = p.kind == PrincipalKind::Root;
    let boundary_holder = iam && layers.boundary.is_some();
    // The resource-based policy: the role's trust policy decides assuming it, a bucket policy
    // everything else.
    let resource_policy = layers.resource.filter(|r| {
        if assume {
            r.kind() == PolicyKind::Trust
        } else {
            r.kind() != PolicyKind::Trust
        }
    });

    let ident: Vec<_> = if iam {
        layers
            .identity
            .iter()
            .flat_map(|pol| applicable(pol, Layer::Identity, req, boundary_holder))
            .collect()
    } else {
        Vec::new()
    };
    let bound: Vec<_> = match layers.boundary {
        Some(b) if iam => applicable(b, Layer::Boundary, req, boundary_holder),
        _ => Vec::new(),
    };
    let sess: Vec<_> = match layers.session {
        Some(s) if iam => s
            .iter()
            .flat_map(|pol| applicable(pol, Layer::Session, req, boundary_holder))
            .collect(),
        _ => Vec::new(),
    };
    let res: Vec<_> = resource_policy
        .map(|r| applicable(r, Layer::Resource, req, boundary_holder))
        .unwrap_or_default();

    let sorted = |mut v: Vec<Reason>| {
        v.sort_by(|a, b| {
            (a.layer as u8, &a.policy_id, a.statement).cmp(&(
                b.layer as u8,
                &b.policy_id,
                b.statement,
            ))
        });
        v.dedup();
        v
    };
    // 1. An explicit deny in any applicable policy is final.
    let denies: Vec<Reason> = ident
        .iter()
        .chain(&bound)
        .chain(&sess)
        .chain(&res)
        .filter(|(e, _, _)| *e == Effect::Deny)
        .map(|(_, r, _)| r.clone())
        .collect();
    if !denies.is_empty() {
        return (Outcome::ExplicitDeny, sorted(denies));
    }
    // "Roles may not be assumed by root accounts."
    if assume && root {
        return deny;
    }
    let same_account = p.account.as_deref() == Some(acct);
    let root_reason = Reason {
        layer: Layer::Root,
        policy_id: String::new(),
        sid: None,
        statement: 0,
    };
    // 2. The root user has full access to its own account.
    if root && same_account {
        return (Outcome::Allow, vec![root_reason]);
    }
    let allows = |v: &[(Effect, Reason, Vec<Named>)]| -> Vec<Reason> {
        v.iter()
            .filter(|(e, _, _)| *e == Effect::Allow)
            .map(|(_, r, _)| r.clone())
            .collect()
    };
    let ident_allows = allows(&ident);
    let bound_allows = allows(&bound);
    let sess_allows = allows(&sess);
    // A boundary and a session policy only cap: an absent one does not limit. A federated-user
    // session without a session policy has no identity-based permissions.
    let boundary_permits = layers.boundary.is_none() || !bound_allows.is_empty();
    let session_permits = match layers.session {
        Some(_) => !sess_allows.is_empty(),
        None => p.kind != PrincipalKind::FederatedUser,
    };
    let identity_side = root || (!ident_allows.is_empty() && boundary_permits && session_permits);

    // Resource side: policy grants by how they name the caller, then ACL grants.
    let bpa = layers.block_public_access;
    let restricted = !assume
        && bpa.restrict_public_buckets
        && resource_policy.is_some_and(|r| r.is_public())
        && p.kind != PrincipalKind::Service
        && !(same_account && p.account.is_some());
    let mut grants: Vec<(Named, Reason)> = Vec::new();
    if !restricted {
        for (e, r, ways) in &res {
            if *e == Effect::Allow {
                grants.extend(ways.iter().map(|w| (*w, r.clone())));
            }
        }
    }
    if !assume
        && layers.object_ownership != ObjectOwnership::BucketOwnerEnforced
        && let Some(acl) = layers.acl
    {
        for (gi, g) in acl.grants.iter().enumerate() {
            let public = matches!(g.grantee, Grantee::AllUsers | Grantee::AuthenticatedUsers);
            if public && bpa.ignore_public_acls {
                continue;
            }
            if !acl_actions(acl.target, g.permission)
                .iter()
                .any(|a| a.eq_ignore_ascii_case(action))
            {
                continue;
            }
            let named = match &g.grantee {
                Grantee::AllUsers => Some(Named::Itself),
                Grantee::AuthenticatedUsers => {
                    (p.kind != PrincipalKind::Anonymous).then_some(Named::Itself)
                }
                Grantee::LogDelivery => (p.service.as_deref() == Some("logging.s3.amazonaws.com"))
                    .then_some(Named::Itself),
                Grantee::CanonicalUser(c) => p
                    .canonical_id
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(c))
                    .then_some(Named::Account),
            };
            if let Some(n) = named {
                grants.push((
                    n,
                    Reason {
                        layer: Layer::Acl,
                        policy_id: acl.owner.clone(),
                        sid: None,
                        statement: gi,
                    },
                ));
            }
        }
    }
    let granted = |f: &dyn Fn(Named) -> bool| -> Vec<Reason> {
        grants
            .iter()
            .filter(|(n, _)| f(*n))
            .map(|(_, r)| r.clone())
            .collect()
    };
    let mut identity_reasons = ident_allows.clone();
    if root {
        identity_reasons.push(root_reason);
    }
    identity_reasons.extend(bound_allows.iter().cloned());
    identity_reasons.extend(sess_allows.iter().cloned());

    // Callers without identity-based policies (anonymous, services, web identities) have only
    // the resource side, which must name them; anonymous callers cannot assume roles.
    if !iam && !root {
        let itself = granted(&|n| n == Named::Itself);
        if itself.is_empty() || (assume && p.kind == PrincipalKind::Anonymous) {
            return deny;
        }
        return (Outcome::Allow, sorted(itself));
    }
    if same_account {
        // "Determining whether a request is allowed or denied within an account": a
        // resource-based policy that names the user or session ARN grants on its own, unless it
        // is a trust policy (whose grants still need the boundary, see below).
        if !assume {
            let itself = granted(&|n| n == Named::Itself);
            if !itself.is_empty() {
                return (Outcome::Allow, sorted(itself));
            }
        }
        // Grants to a role ARN (or a federated session's parent user) are limited by the
        // permissions boundary and the session policy; so are trust-policy grants naming the
        // caller (fail closed: the boundary must allow sts:AssumeRole).
        let capped = granted(&|n| n == Named::Parent || (assume && n == Named::Itself));
        if !capped.is_empty() && boundary_permits && session_permits {
            let mut v = capped;
            v.extend(bound_allows.iter().cloned());
            v.extend(sess_allows.iter().cloned());
            return (Outcome::Allow, sorted(v));
        }
        // Otherwise the identity side decides; a trust policy must still trust the caller
        // (here: its account).
        if identity_side && (!assume || !grants.is_empty()) {
            return (Outcome::Allow, sorted(identity_reasons));
        }
        return deny;
    }
    // "Cross-account policy evaluation logic": both the trusted account's identity side and the
    // trusting account's resource side must allow.
    if identity_side && !grants.is_empty() {
        identity_reasons.extend(grants.into_iter().map(|(_, r)| r));
        return (Outcome::Allow, sorted(identity_reasons));
    }
    deny
}

/// The reference outcome.
pub fn reference_evaluate(req: &Request<'_>, layers: &Layers<'_>) -> Outcome {
    reference_decide(req, layers).0
}
