//! The evaluator's fast path: Rust pre-filters that prove a statement's Cedar policy cannot apply,
//! and per-thread caches of what is expensive to rebuild per request (policy sets, `ip` values).
//!
//! Soundness of the pre-filters: every generated Cedar policy's condition is
//! `principal-test && (resource-test && conditions...)`, and both tests are error-free (all context
//! reads are guarded by `has`, `res` is always present). When Rust proves either test false, Cedar's
//! short-circuiting `&&` would return false without an error, so leaving the policy out of the set
//! changes nothing. The Rust tests below mirror `compile` exactly (principal) or compute the very
//! value the compiled policy reads (resource host predicate; native `like` patterns are equivalent to
//! the per-part ARN match by construction, see `compile::resource_native`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use cedar_policy::{PolicyId, PolicySet, RestrictedExpression};

use crate::compile::{CompiledStatement, PrincipalSets, PrincipalTest, ResourcePattern};
use crate::pattern::arn_match;
use crate::request::{Principal, PrincipalKind, Request};

/// The caller's identities exactly as the evaluator passes them to Cedar (`p|arn`, `p|role`, ...).
pub(crate) struct PrincipalView<'a> {
    pub arn: Option<&'a str>,
    pub role: Option<&'a str>,
    pub acct: Option<String>,
    pub canon: Option<&'a str>,
    pub svc: Option<&'a str>,
    pub fed: Option<&'a str>,
    pub anon: bool,
}

impl<'a> PrincipalView<'a> {
    pub fn new(p: &'a Principal) -> PrincipalView<'a> {
        let arn_bearing = matches!(
            p.kind,
            PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
        );
        PrincipalView {
            arn: if arn_bearing { p.arn.as_deref() } else { None },
            role: p.role_arn.as_deref(),
            acct: p.account_arn(),
            canon: p.canonical_id.as_deref(),
            svc: p.service.as_deref(),
            fed: p.federated.as_deref(),
            anon: p.kind == PrincipalKind::Anonymous,
        }
    }
}

/// `context has k && context[k] in vals` (compile's `any_of`).
fn any_of(v: Option<&str>, vals: &[String]) -> bool {
    v.is_some_and(|v| vals.iter().any(|x| x == v))
}

/// `!(context has k) || any_of(k, vals)`.
fn absent_or(v: Option<&str>, vals: &[String]) -> bool {
    v.is_none() || any_of(v, vals)
}

/// The value of the principal part of a generated Cedar policy (mirrors `compile` exactly).
pub(crate) fn principal_test(
    test: PrincipalTest,
    sets: Option<&PrincipalSets>,
    v: &PrincipalView<'_>,
) -> bool {
    let Some(s) = sets else {
        // Only `Always` is generated without a Principal element; anything else is kept for Cedar.
        return true;
    };
    let direct =
        || s.any || any_of(v.arn, &s.arns) || any_of(v.svc, &s.svcs) || any_of(v.fed, &s.feds);
    let role = || any_of(v.role, &s.arns);
    let account = || any_of(v.acct.as_deref(), &s.accts) || any_of(v.canon, &s.canons);
    match test {
        PrincipalTest::Always => true,
        PrincipalTest::Direct => direct(),
        PrincipalTest::Role => role(),
        PrincipalTest::Account => account(),
        PrincipalTest::AnyKind => direct() || role() || account(),
        PrincipalTest::NotListed => {
            let all_listed = s.any
                || (absent_or(v.arn, &s.arns)
                    && absent_or(v.role, &s.arns)
                    && (v.acct.is_none()
                        || any_of(v.acct.as_deref(), &s.accts)
                        || any_of(v.canon, &s.canons))
                    && !v.anon
                    && absent_or(v.svc, &s.svcs)
                    && absent_or(v.fed, &s.feds));
            !all_listed
        }
    }
}

/// Whether the statement's Resource patterns match (before NotResource negation); `None` without a
/// Resource element. The same value the `Resource` host predicate passes to Cedar.
pub(crate) fn resource_hit(stmt: &CompiledStatement, req: &Request<'_>) -> Option<bool> {
    let (pats, _) = stmt.resource.as_ref()?;
    let lookup = |k: &str| -> Option<String> {
        let v = req.value(k)?;
        let s = v.scalars();
        match s.as_slice() {
            [one] => Some(one.as_string().into_owned()),
            _ => None,
        }
    };
    Some(pats.iter().any(|p: &ResourcePattern| {
        if !req.resource.starts_with(p.prefix.as_str()) {
            return false;
        }
        match &p.fixed {
            Some(toks) => arn_match(toks, req.resource),
            None => p
                .template
                .instantiate(&lookup)
                .is_some_and(|toks| arn_match(&toks, req.resource)),
        }
    }))
}

/// The policies of a request's set: (compilation serial, index of the statement whose conditions
/// policy it is).
pub(crate) type SetKey = Vec<(u64, u32)>;

/// A built policy set and the id each key entry got in it (same order as the key).
pub(crate) struct CachedSet {
    pub set: PolicySet,
    pub ids: Vec<PolicyId>,
}

/// Per-thread cache bound; the cache is emptied when it is reached.
const MAX_CACHED_SETS: usize = 512;
const MAX_CACHED_IPS: usize = 1024;

thread_local! {
    static SETS: RefCell<HashMap<SetKey, Rc<CachedSet>>> = RefCell::new(HashMap::new());
    static IPS: RefCell<HashMap<IpAddr, RestrictedExpression>> = RefCell::new(HashMap::new());
}

/// The policy set for `key`, built by `build` on a miss. Compilation serials are never reused, so
/// a key always denotes the same Cedar policies.
pub(crate) fn policy_set(
    key: SetKey,
    build: impl FnOnce() -> Option<CachedSet>,
) -> Option<Rc<CachedSet>> {
    if let Some(hit) = SETS.with(|c| c.borrow().get(&key).cloned()) {
        return Some(hit);
    }
    let built = Rc::new(build()?);
    SETS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED_SETS {
            c.clear();
        }
        c.insert(key, built.clone());
    });
    Some(built)
}

/// `ip("<addr>")` as a restricted expression. Cedar re-parses the name `ip` on every
/// `RestrictedExpression::new_ip` (tens of microseconds' worth of parser setup), so values are cached.
pub(crate) fn ip_expr(ip: IpAddr) -> RestrictedExpression {
    if let Some(e) = IPS.with(|c| c.borrow().get(&ip).cloned()) {
        return e;
    }
    let e = RestrictedExpression::new_ip(ip.to_string());
    IPS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED_IPS {
            c.clear();
        }
        c.insert(ip, e.clone());
    });
    e
}
