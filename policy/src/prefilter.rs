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

use crate::compile::{CompiledStatement, PrincipalSets, PrincipalTest};
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
        let arn_bearing = p.has_identity_policies();
        PrincipalView {
            arn: if arn_bearing { p.arn.as_deref() } else { None },
            role: if arn_bearing {
                p.parent_arn.as_deref()
            } else {
                None
            },
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

/// How a statement's Resource / NotResource element relates to the request's resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceHit {
    /// The statement has no Resource element (trust policies).
    NoElement,
    /// A pattern names a policy variable without a value: the statement does not match.
    Unresolved,
    /// Whether a pattern matches (before NotResource negation); the value the `Resource` host
    /// predicate passes to Cedar.
    Hit(bool),
}

/// Whether the statement's Resource patterns match the request's resource (see [`ResourceHit`]).
pub(crate) fn resource_hit(stmt: &CompiledStatement, req: &Request<'_>) -> ResourceHit {
    let Some((pats, _)) = stmt.resource.as_ref() else {
        return ResourceHit::NoElement;
    };
    let lookup = |k: &str| -> Option<String> {
        let v = req.value(k)?;
        let s = v.scalars();
        match s.as_slice() {
            [one] => Some(one.as_string().into_owned()),
            _ => None,
        }
    };
    let mut hit = false;
    for p in pats {
        match &p.fixed {
            Some(toks) => {
                hit = hit
                    || (req.resource.starts_with(p.prefix.as_str())
                        && arn_match(toks, req.resource));
            }
            None => match p.template.instantiate(&lookup) {
                Some(toks) => {
                    hit = hit
                        || (req.resource.starts_with(p.prefix.as_str())
                            && arn_match(&toks, req.resource));
                }
                None => return ResourceHit::Unresolved,
            },
        }
    }
    ResourceHit::Hit(hit)
}

/// The policies of a request's set: (compilation serial, index of the statement whose conditions
/// policy it is).
pub(crate) type SetKey = Vec<(u64, u32)>;

/// A built policy set and the id each key entry got in it (same order as the key).
pub(crate) struct CachedSet {
    pub set: PolicySet,
    /// Position of each id in `ids`.
    pub index: HashMap<PolicyId, usize>,
}

/// Per-thread cache bounds. When the set cache is full, the least recently used eighth of it is
/// evicted (amortised O(log n) per insertion), so a working set just above the bound does not
/// empty the whole cache.
const MAX_CACHED_SETS: usize = 2048;
const MAX_CACHED_IPS: usize = 1024;

/// The per-thread set cache: entries with the tick of their last use.
#[derive(Default)]
struct SetCache {
    map: HashMap<SetKey, (Rc<CachedSet>, u64)>,
    tick: u64,
}

impl SetCache {
    fn get(&mut self, key: &SetKey) -> Option<Rc<CachedSet>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(key).map(|(set, used)| {
            *used = tick;
            set.clone()
        })
    }

    fn insert(&mut self, key: SetKey, set: Rc<CachedSet>, cap: usize) {
        if self.map.len() >= cap {
            let mut ticks: Vec<u64> = self.map.values().map(|(_, t)| *t).collect();
            let cut = (cap / 8).max(1).min(ticks.len() - 1);
            let (_, nth, _) = ticks.select_nth_unstable(cut);
            let threshold = *nth;
            self.map.retain(|_, (_, t)| *t > threshold);
        }
        self.tick += 1;
        self.map.insert(key, (set, self.tick));
    }
}

thread_local! {
    static SETS: RefCell<SetCache> = RefCell::new(SetCache::default());
    static IPS: RefCell<HashMap<IpAddr, RestrictedExpression>> = RefCell::new(HashMap::new());
}

/// The policy set for `key`, built by `build` on a miss. Compilation serials are never reused, so
/// a key always denotes the same Cedar policies.
pub(crate) fn policy_set(
    key: SetKey,
    build: impl FnOnce() -> Option<CachedSet>,
) -> Option<Rc<CachedSet>> {
    if let Some(hit) = SETS.with(|c| c.borrow_mut().get(&key)) {
        return Some(hit);
    }
    let built = Rc::new(build()?);
    SETS.with(|c| c.borrow_mut().insert(key, built.clone(), MAX_CACHED_SETS));
    Some(built)
}

/// Number of sets in this thread's cache (tests).
#[cfg(test)]
pub(crate) fn cached_sets() -> usize {
    SETS.with(|c| c.borrow().map.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_set() -> CachedSet {
        CachedSet {
            set: PolicySet::new(),
            index: HashMap::new(),
        }
    }

    #[test]
    fn set_cache_evicts_the_least_recently_used_instead_of_clearing() {
        let mut c = SetCache::default();
        for i in 0..100u64 {
            c.insert(vec![(i, 0)], Rc::new(empty_set()), 64);
            // Key 0 stays hot.
            assert!(c.get(&vec![(0, 0)]).is_some(), "hot key evicted at {i}");
        }
        assert!(c.map.len() <= 64 && c.map.len() > 48, "{}", c.map.len());
        assert!(c.get(&vec![(99, 0)]).is_some());
        assert!(c.get(&vec![(1, 0)]).is_none());
        let _ = cached_sets();
    }
}
