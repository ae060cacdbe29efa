//! The compiler: one Cedar policy per statement (per principal-match kind for resource-policy allows),
//! annotated with layer, policy and Sid. What Cedar cannot express becomes a host predicate: a boolean
//! the evaluator computes in Rust and passes in the context under `h|<uid>|<stmt>|<n>`.
//!
//! Context layout the generated policies read (built per request by `evaluate`):
//! `res` resource ARN; `p|arn`, `p|role`, `p|acct`, `p|canon`, `p|svc`, `p|fed`, `p|anon` principal
//! identities; for each condition key `k` (lower case) used natively: `S|k` (set of all values, when
//! present), and when exactly one value: `s|k` string, `n|k` integer, `d|k` epoch ms, `b|k` bool, `ip|k`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cedar_policy::{Policy, PolicyId};

use crate::catalogue::{ActionSet, catalogue};
use crate::conditions::{Cmp, PolicyNumber, Qualifier, parse_date_ms, parse_ip_net, parse_number};
use crate::document::{
    Condition, Effect, ListElement, ParseOptions, PolicyDocument, PolicyKind, PolicyVersion,
    PrincipalId, template,
};
use crate::error::PolicyError;
use crate::pattern::{MatchTok, PatTok, Template};
use crate::public::policy_is_public;

/// Action lists longer than this are not repeated in the Cedar scope (see `compile`).
const MAX_CEDAR_ACTIONS: usize = 8;

/// How a resource-policy statement's Principal matched the caller (AWS treats them differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// Not a principal-bearing statement (identity, boundary, session policies), or any Deny.
    Implicit,
    /// The caller itself: `*`, its user or session ARN, its service or federated provider, NotPrincipal.
    Direct,
    /// The caller's role (a session of a role named by ARN).
    Role,
    /// The caller's account (account id, root ARN, canonical user id).
    Account,
}

impl MatchKind {
    fn as_str(self) -> &'static str {
        match self {
            MatchKind::Implicit => "implicit",
            MatchKind::Direct => "direct",
            MatchKind::Role => "role",
            MatchKind::Account => "account",
        }
    }
}

/// A Rust-side predicate: what Cedar cannot express.
#[derive(Debug, Clone)]
pub(crate) enum HostPred {
    /// The statement's Resource / NotResource element matches (before negation).
    Resource,
    /// Condition number `n` of the statement holds.
    Condition(usize),
}

/// Context forms of a condition key: `S|k`, `s|k`, `n|k`, `d|k`, `b|k`, `ip|k`.
pub(crate) const FORM_SET: u8 = 1;
/// `s|k`.
pub(crate) const FORM_STR: u8 = 2;
/// `n|k`.
pub(crate) const FORM_NUM: u8 = 4;
/// `d|k`.
pub(crate) const FORM_DATE: u8 = 8;
/// `b|k`.
pub(crate) const FORM_BOOL: u8 = 16;
/// `ip|k`.
pub(crate) const FORM_IP: u8 = 32;

/// The context forms `compile_condition`'s output for `c` reads (keep in step with it).
fn condition_forms(c: &Condition) -> u8 {
    let op = c.op;
    if op.qualifier.is_some() || op.cmp == Cmp::Null {
        return FORM_SET;
    }
    let form = match op.cmp {
        Cmp::NumEq | Cmp::NumLt | Cmp::NumLe | Cmp::NumGt | Cmp::NumGe => FORM_NUM,
        Cmp::DateEq | Cmp::DateLt | Cmp::DateLe | Cmp::DateGt | Cmp::DateGe => FORM_DATE,
        Cmp::Bool => FORM_BOOL,
        Cmp::Ip => FORM_IP,
        _ => FORM_STR,
    };
    if op.if_exists { form | FORM_STR } else { form }
}

/// Which part of the Principal element a generated Cedar policy tests (mirrored in Rust by the
/// evaluator's pre-filter, which must agree exactly with the generated expression).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalTest {
    /// No Principal element: always true.
    Always,
    /// `direct` of a positive Principal.
    Direct,
    /// `role` of a positive Principal.
    Role,
    /// `account` of a positive Principal.
    Account,
    /// `direct || role || account` (a positive Principal on a Deny).
    AnyKind,
    /// NotPrincipal: not every identity of the caller is listed.
    NotListed,
}

/// One Resource / NotResource pattern, precompiled for the evaluator's pre-filter.
#[derive(Debug, Clone)]
pub(crate) struct ResourcePattern {
    /// The literal text before the first wildcard or variable: a matching ARN starts with it
    /// (the parts before are literal, and a part's literal start must begin the value's part).
    pub prefix: String,
    /// The match tokens if the pattern has no policy variables.
    pub fixed: Option<Vec<MatchTok>>,
    /// The pattern, instantiated per request when it has variables.
    pub template: Template,
}

/// One generated Cedar policy of a statement (one per principal-match kind).
#[derive(Debug, Clone)]
pub(crate) struct StatementPolicy {
    pub policy: Policy,
    pub kind: MatchKind,
    pub test: PrincipalTest,
}

/// One compiled statement.
#[derive(Debug, Clone)]
pub(crate) struct CompiledStatement {
    pub index: usize,
    pub effect: Effect,
    pub actions: ActionSet,
    pub cedar: Vec<StatementPolicy>,
    pub host: Vec<(String, HostPred)>,
    /// Condition keys read natively (lower case) with the context forms the policies read
    /// (`FORM_*` bits).
    pub keys: Vec<(String, u8)>,
    /// The statement's conditions alone as one Cedar policy (any action, any principal), which is
    /// what the evaluator runs once Rust has proven the principal and resource tests true; `None`
    /// when the conditions are trivially true (the statement then applies exactly when they hold).
    /// Statements of one policy with the same conditions share the Cedar policy; the `u32` is the
    /// index of the first such statement (the policy's identity within this compilation).
    pub conditions: Option<(Policy, u32)>,
    /// The Principal / NotPrincipal element's identities, if any.
    pub principal: Option<PrincipalSets>,
    /// The Resource / NotResource patterns and whether negated, if there is a Resource element.
    pub resource: Option<(Vec<ResourcePattern>, bool)>,
    /// Keys (lower case) of the unqualified, non-`Null` conditions: when one of them is
    /// multi-valued in a request, the statement is decided in Rust (see `conditions`).
    pub single_keys: Vec<String>,
}

/// A validated policy document compiled to Cedar; build once per policy version and share.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    id: String,
    kind: PolicyKind,
    document: PolicyDocument,
    uid: String,
    is_public: bool,
    /// Process-unique number of this compilation (cache key of the evaluator's policy sets).
    pub(crate) serial: u64,
    pub(crate) statements: Vec<CompiledStatement>,
}

static SERIAL: AtomicU64 = AtomicU64::new(1);

fn fnv64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// A Cedar string literal for `s`.
pub(crate) fn cedar_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if c.is_control() || !(c.is_ascii_graphic() || c == ' ') => {
            out.push_str(&format!("\\u{{{:x}}}", c as u32))
        }
        c => out.push(c),
    }
}

/// A Cedar `like` pattern for a template with `*` only (no `?`, no variables).
fn cedar_like(t: &Template) -> Option<String> {
    let mut out = String::from("\"");
    for tok in &t.toks {
        match tok {
            PatTok::Star => out.push('*'),
            PatTok::Char('*') => out.push_str("\\*"),
            PatTok::Char(c) => push_escaped(&mut out, *c),
            PatTok::One | PatTok::Var { .. } => return None,
        }
    }
    out.push('"');
    Some(out)
}

fn ctx(key: &str) -> String {
    format!("context[{}]", cedar_str(key))
}

fn has(key: &str) -> String {
    format!("(context has {})", cedar_str(key))
}

fn or_all(parts: Vec<String>) -> String {
    let parts: Vec<String> = parts.into_iter().filter(|p| p != "false").collect();
    if parts.iter().any(|p| p == "true") {
        return "true".into();
    }
    match parts.len() {
        0 => "false".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" || ")),
    }
}

fn and_all(parts: Vec<String>) -> String {
    let parts: Vec<String> = parts.into_iter().filter(|p| p != "true").collect();
    if parts.iter().any(|p| p == "false") {
        return "false".into();
    }
    match parts.len() {
        0 => "true".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" && ")),
    }
}

/// Negation; Cedar's `!` binds tighter than `like` and `==`, so always parenthesise.
fn not(e: &str) -> String {
    format!("!({e})")
}

fn set_lit(vals: &[String]) -> String {
    format!(
        "[{}]",
        vals.iter()
            .map(|v| cedar_str(v))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `context has k && context[k] in vals`.
fn any_of(key: &str, vals: &[String]) -> String {
    match vals {
        [] => "false".into(),
        [v] => format!("({} && {} == {})", has(key), ctx(key), cedar_str(v)),
        _ => format!("({} && {}.contains({}))", has(key), set_lit(vals), ctx(key)),
    }
}

/// A Principal element's identities by kind.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalSets {
    pub any: bool,
    pub arns: Vec<String>,
    pub accts: Vec<String>,
    pub canons: Vec<String>,
    pub svcs: Vec<String>,
    pub feds: Vec<String>,
}

fn principal_sets(ids: &[PrincipalId]) -> PrincipalSets {
    let mut s = PrincipalSets {
        any: false,
        arns: vec![],
        accts: vec![],
        canons: vec![],
        svcs: vec![],
        feds: vec![],
    };
    for id in ids {
        match id {
            PrincipalId::Any => s.any = true,
            PrincipalId::Account(a) => s.accts.push(a.clone()),
            PrincipalId::Arn(a) => s.arns.push(a.clone()),
            PrincipalId::Service(v) => s.svcs.push(v.clone()),
            PrincipalId::Federated(v) => s.feds.push(v.clone()),
            PrincipalId::CanonicalUser(v) => s.canons.push(v.clone()),
        }
    }
    s
}

/// True iff Resource patterns can be a Cedar `like`: no variables, no `?`, and the first five ARN
/// parts literal (so a whole-string match equals AWS's per-part match).
fn resource_native(t: &Template) -> bool {
    if t.has_vars() || t.has_one() {
        return false;
    }
    if t.toks.len() == 1 && t.toks[0] == PatTok::Star {
        return true;
    }
    let mut colons = 0;
    for tok in &t.toks {
        match tok {
            PatTok::Char(':') => {
                colons += 1;
                if colons == 5 {
                    return true;
                }
            }
            PatTok::Char(_) => {}
            _ => return false,
        }
    }
    false
}

fn compile_resource(r: &ListElement, version: PolicyVersion) -> Option<String> {
    let templates: Vec<Template> = r.values.iter().map(|v| template(v, version)).collect();
    if !templates.iter().all(resource_native) {
        return None;
    }
    let parts = templates
        .iter()
        .map(|t| {
            if t.toks.len() == 1 && t.toks[0] == PatTok::Star {
                Some("true".to_string())
            } else {
                cedar_like(t).map(|p| format!("{} like {p}", ctx("res")))
            }
        })
        .collect::<Option<Vec<_>>>()?;
    let m = or_all(parts);
    Some(if r.negated { not(&m) } else { m })
}

/// The native Cedar form of a condition, or `None` if it needs a host predicate.
fn compile_condition(c: &Condition, version: PolicyVersion) -> Option<String> {
    let op = c.op;
    let lk = c.key.to_ascii_lowercase();
    let templates: Vec<Template> = c.values.iter().map(|v| template(v, version)).collect();
    if op.takes_variables() && templates.iter().any(Template::has_vars) {
        return None;
    }
    // The values as compared: `${*}`, `${?}`, `${$}` stand for the literal character in String*
    // operators (Version 2012-10-17); BinaryEquals compares the text as written.
    let literals: Vec<String> = if op.takes_variables() {
        templates
            .iter()
            .filter_map(Template::literal_text)
            .collect()
    } else {
        c.values.clone()
    };
    let set_key = format!("S|{lk}");
    if let Some(q) = op.qualifier {
        if !matches!(op.cmp, Cmp::StrEq | Cmp::Binary) || op.if_exists {
            return None;
        }
        let vals = set_lit(&literals);
        let s = ctx(&set_key);
        let h = has(&set_key);
        return Some(match (q, op.negated) {
            (Qualifier::AnyValue, false) => format!("({h} && {s}.containsAny({vals}))"),
            (Qualifier::AnyValue, true) => format!("({h} && !({vals}.containsAll({s})))"),
            (Qualifier::AllValues, false) => format!("(!{h} || {vals}.containsAll({s}))"),
            (Qualifier::AllValues, true) => format!("(!{h} || !({s}.containsAny({vals})))"),
        });
    }
    if op.cmp == Cmp::Null {
        let parts = c
            .values
            .iter()
            .map(|v| {
                if v.eq_ignore_ascii_case("true") {
                    format!("!{}", has(&set_key))
                } else {
                    has(&set_key)
                }
            })
            .collect();
        return Some(or_all(parts));
    }
    let (form, core) = match op.cmp {
        Cmp::StrEq | Cmp::Binary => (
            "s",
            format!(
                "{}.contains({})",
                set_lit(&literals),
                ctx(&format!("s|{lk}"))
            ),
        ),
        Cmp::StrLike => {
            let key = format!("s|{lk}");
            let parts = templates
                .iter()
                .map(|t| cedar_like(t).map(|p| format!("{} like {p}", ctx(&key))))
                .collect::<Option<Vec<_>>>()?;
            ("s", or_all(parts))
        }
        Cmp::Arn => {
            let key = format!("s|{lk}");
            let parts = templates
                .iter()
                .map(|t| {
                    if resource_native(t) && !(t.toks.len() == 1 && t.toks[0] == PatTok::Star) {
                        cedar_like(t).map(|p| format!("{} like {p}", ctx(&key)))
                    } else {
                        None
                    }
                })
                .collect::<Option<Vec<_>>>()?;
            ("s", or_all(parts))
        }
        Cmp::NumEq | Cmp::NumLt | Cmp::NumLe | Cmp::NumGt | Cmp::NumGe => {
            let sym = cmp_symbol(op.cmp);
            let key = format!("n|{lk}");
            let parts = c
                .values
                .iter()
                .map(|v| match parse_number(v) {
                    Some(PolicyNumber::Int(i)) => {
                        Some(format!("{} {sym} {}", ctx(&key), long_lit(i)))
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            ("n", or_all(parts))
        }
        Cmp::DateEq | Cmp::DateLt | Cmp::DateLe | Cmp::DateGt | Cmp::DateGe => {
            let sym = cmp_symbol(op.cmp);
            let key = format!("d|{lk}");
            let parts = c
                .values
                .iter()
                .map(|v| parse_date_ms(v).map(|ms| format!("{} {sym} {}", ctx(&key), long_lit(ms))))
                .collect::<Option<Vec<_>>>()?;
            ("d", or_all(parts))
        }
        Cmp::Bool => {
            let key = format!("b|{lk}");
            let parts = c
                .values
                .iter()
                .map(|v| {
                    if v.eq_ignore_ascii_case("true") {
                        format!("{} == true", ctx(&key))
                    } else if v.eq_ignore_ascii_case("false") {
                        format!("{} == false", ctx(&key))
                    } else {
                        "false".to_string()
                    }
                })
                .collect();
            ("b", or_all(parts))
        }
        Cmp::Ip => {
            let key = format!("ip|{lk}");
            let parts = c
                .values
                .iter()
                .map(|v| {
                    // Cedar's `ip` rejects IPv6 text with an embedded IPv4 part (`::ffff:a.b.c.d`):
                    // such ranges are decided in Rust.
                    parse_ip_net(v)
                        .map(|n| n.to_string())
                        .filter(|t| !(t.contains(':') && t.contains('.')))
                        .map(|t| format!("{}.isInRange(ip({}))", ctx(&key), cedar_str(&t)))
                })
                .collect::<Option<Vec<_>>>()?;
            ("ip", or_all(parts))
        }
        Cmp::StrEqCi | Cmp::Null => return None,
    };
    let guarded = and_all(vec![has(&format!("{form}|{lk}")), core]);
    Some(if op.negated {
        not(&guarded)
    } else if op.if_exists {
        format!("(!{} || {guarded})", has(&format!("s|{lk}")))
    } else {
        guarded
    })
}

/// Cedar has no negative literals (`-5` is unary minus on 5, and `i64::MIN` has no positive twin).
fn long_lit(i: i64) -> String {
    if i == i64::MIN {
        format!("({} - 1)", i + 1)
    } else if i < 0 {
        format!("({i})")
    } else {
        i.to_string()
    }
}

fn cmp_symbol(c: Cmp) -> &'static str {
    match c {
        Cmp::NumEq | Cmp::DateEq => "==",
        Cmp::NumLt | Cmp::DateLt => "<",
        Cmp::NumLe | Cmp::DateLe => "<=",
        Cmp::NumGt | Cmp::DateGt => ">",
        _ => ">=",
    }
}

impl CompiledPolicy {
    /// Parses, validates and compiles `json` as a policy of `kind` named `id` (the kind's default quota).
    pub fn parse(
        json: &str,
        kind: PolicyKind,
        id: &str,
    ) -> Result<Arc<CompiledPolicy>, PolicyError> {
        Self::parse_with(json, kind, id, &ParseOptions::for_kind(kind))
    }

    /// As [`CompiledPolicy::parse`] with explicit options (quota, bucket for bucket policies).
    pub fn parse_with(
        json: &str,
        kind: PolicyKind,
        id: &str,
        opts: &ParseOptions<'_>,
    ) -> Result<Arc<CompiledPolicy>, PolicyError> {
        let document = PolicyDocument::parse_with(json, kind, opts)?;
        let uid = format!("{:016x}", fnv64(&[kind.as_str(), id, json]));
        Self::compile(document, kind, id, uid).map(Arc::new)
    }

    /// Compiles an already parsed document.
    pub fn from_document(
        document: PolicyDocument,
        kind: PolicyKind,
        id: &str,
    ) -> Result<Arc<CompiledPolicy>, PolicyError> {
        let uid = format!(
            "{:016x}",
            fnv64(&[kind.as_str(), id, &format!("{document:?}")])
        );
        Self::compile(document, kind, id, uid).map(Arc::new)
    }

    fn compile(
        document: PolicyDocument,
        kind: PolicyKind,
        id: &str,
        uid: String,
    ) -> Result<CompiledPolicy, PolicyError> {
        let cat = catalogue();
        let mut statements = Vec::with_capacity(document.statements.len());
        // Condition bodies already compiled, with their statement's effect, policy and index.
        let mut shared: Vec<(String, Effect, Policy, u32)> = Vec::new();
        for (si, st) in document.statements.iter().enumerate() {
            let mut actions = ActionSet::empty(cat.len());
            for a in &st.action.values {
                actions.union_with(&cat.expand(a));
            }
            if st.action.negated {
                actions = actions.complement(cat.len());
            }
            let mut host = Vec::new();
            let mut keys: Vec<(String, u8)> = Vec::new();
            let mut clauses = Vec::new();
            let mut cond_clauses = Vec::new();
            // Resource.
            if let Some(r) = &st.resource {
                match compile_resource(r, document.version) {
                    Some(e) => clauses.push(e),
                    None => {
                        let name = format!("h|{uid}|{si}|r");
                        let m = ctx(&name);
                        clauses.push(if r.negated {
                            format!("!({m} == true)")
                        } else {
                            format!("({m} == true)")
                        });
                        host.push((name, HostPred::Resource));
                    }
                }
            }
            // Conditions.
            for (ci, c) in st.conditions.iter().enumerate() {
                match compile_condition(c, document.version) {
                    Some(e) => {
                        let lk = c.key.to_ascii_lowercase();
                        let forms = condition_forms(c);
                        match keys.iter_mut().find(|(k, _)| *k == lk) {
                            Some((_, f)) => *f |= forms,
                            None => keys.push((lk, forms)),
                        }
                        cond_clauses.push(e);
                    }
                    None => {
                        let name = format!("h|{uid}|{si}|{ci}");
                        cond_clauses.push(format!("({} == true)", ctx(&name)));
                        host.push((name, HostPred::Condition(ci)));
                    }
                }
            }
            let cond_body = and_all(cond_clauses);
            clauses.push(cond_body.clone());
            let body = and_all(clauses);
            // Principal: one Cedar policy per match kind for allows, one for denies.
            let variants: Vec<(MatchKind, PrincipalTest, String)> = match &st.principal {
                None => vec![(MatchKind::Implicit, PrincipalTest::Always, "true".into())],
                Some(p) => {
                    let s = principal_sets(&p.ids);
                    if p.negated {
                        let all_listed = if s.any {
                            "true".to_string()
                        } else {
                            and_all(vec![
                                format!("(!{} || {})", has("p|arn"), any_of("p|arn", &s.arns)),
                                format!("(!{} || {})", has("p|role"), any_of("p|role", &s.arns)),
                                format!(
                                    "(!{} || {} || {})",
                                    has("p|acct"),
                                    any_of("p|acct", &s.accts),
                                    any_of("p|canon", &s.canons)
                                ),
                                format!("!{}", has("p|anon")),
                                format!("(!{} || {})", has("p|svc"), any_of("p|svc", &s.svcs)),
                                format!("(!{} || {})", has("p|fed"), any_of("p|fed", &s.feds)),
                            ])
                        };
                        vec![(
                            MatchKind::Direct,
                            PrincipalTest::NotListed,
                            not(&all_listed),
                        )]
                    } else {
                        let direct = or_all(vec![
                            if s.any { "true".into() } else { "false".into() },
                            any_of("p|arn", &s.arns),
                            any_of("p|svc", &s.svcs),
                            any_of("p|fed", &s.feds),
                        ]);
                        let role = any_of("p|role", &s.arns);
                        let account = or_all(vec![
                            any_of("p|acct", &s.accts),
                            any_of("p|canon", &s.canons),
                        ]);
                        if st.effect == Effect::Deny {
                            vec![(
                                MatchKind::Direct,
                                PrincipalTest::AnyKind,
                                or_all(vec![direct, role, account]),
                            )]
                        } else {
                            vec![
                                (MatchKind::Direct, PrincipalTest::Direct, direct),
                                (MatchKind::Role, PrincipalTest::Role, role),
                                (MatchKind::Account, PrincipalTest::Account, account),
                            ]
                        }
                    }
                }
            };
            let verb = if st.effect == Effect::Allow {
                "permit"
            } else {
                "forbid"
            };
            let mut cedar = Vec::new();
            for (mk, test, pexpr) in variants {
                let cond = and_all(vec![pexpr, body.clone()]);
                if cond == "false" || actions.is_empty() {
                    continue;
                }
                // Large expansions are enforced by the evaluator's action pre-filter (the statement
                // only enters a request's policy set if its action set holds the request's action):
                // Cedar rebuilds a literal set on every evaluation, which costs ~0.2 us per entry.
                let action_scope = if actions.iter().count() > MAX_CEDAR_ACTIONS {
                    "action".to_string()
                } else {
                    let list: Vec<String> = actions
                        .iter()
                        .filter_map(|a| cat.get(a))
                        .map(|a| format!("Action::{}", cedar_str(&a.name)))
                        .collect();
                    format!("action in [{}]", list.join(", "))
                };
                let text = format!(
                    "@layer({}) @policy({}) @stmt(\"{si}\") @sid({}) @match(\"{}\")\n{verb}(principal, {action_scope}, resource) when {{ {cond} }};",
                    cedar_str(kind.as_str()),
                    cedar_str(id),
                    cedar_str(st.sid.as_deref().unwrap_or("")),
                    mk.as_str()
                );
                let pid = PolicyId::new(format!("{uid}.{si}.{}", mk.as_str()));
                let policy = Policy::parse(Some(pid), &text).map_err(|e| {
                    PolicyError::malformed(format!("internal error compiling statement {si}: {e}"))
                })?;
                cedar.push(StatementPolicy {
                    policy,
                    kind: mk,
                    test,
                });
            }
            let conditions = if cond_body == "true" || cedar.is_empty() {
                None
            } else if let Some((_, _, p, first)) = shared
                .iter()
                .find(|(b, e, _, _)| *b == cond_body && *e == st.effect)
            {
                Some((p.clone(), *first))
            } else {
                let text = format!(
                    "@policy({}) @stmt(\"{si}\")\n{verb}(principal, action, resource) when {{ {cond_body} }};",
                    cedar_str(id),
                );
                let pid = PolicyId::new(format!("{uid}.{si}.conditions"));
                let p = Policy::parse(Some(pid), &text).map_err(|e| {
                    PolicyError::malformed(format!("internal error compiling statement {si}: {e}"))
                })?;
                let first = u32::try_from(si).unwrap_or(u32::MAX);
                shared.push((cond_body, st.effect, p.clone(), first));
                Some((p, first))
            };
            let resource = st.resource.as_ref().map(|r| {
                let pats = r
                    .values
                    .iter()
                    .map(|v| {
                        let t = template(v, document.version);
                        let prefix = t
                            .toks
                            .iter()
                            .map_while(|tok| match tok {
                                PatTok::Char(c) => Some(*c),
                                _ => None,
                            })
                            .collect();
                        ResourcePattern {
                            prefix,
                            fixed: if t.has_vars() {
                                None
                            } else {
                                t.instantiate(&|_| None)
                            },
                            template: t,
                        }
                    })
                    .collect();
                (pats, r.negated)
            });
            let mut single_keys: Vec<String> = Vec::new();
            for c in &st.conditions {
                let lk = c.key.to_ascii_lowercase();
                if c.op.qualifier.is_none() && c.op.cmp != Cmp::Null && !single_keys.contains(&lk) {
                    single_keys.push(lk);
                }
            }
            statements.push(CompiledStatement {
                single_keys,
                index: si,
                effect: st.effect,
                actions,
                cedar,
                host,
                keys,
                conditions,
                principal: st.principal.as_ref().map(|p| principal_sets(&p.ids)),
                resource,
            });
        }
        let is_public = kind == PolicyKind::Resource && policy_is_public(&document);
        Ok(CompiledPolicy {
            id: id.to_string(),
            kind,
            document,
            uid,
            is_public,
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            statements,
        })
    }

    /// The caller-given policy id (used in explanations).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The kind the document was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }
    /// The parsed document.
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }
    /// Whether a resource policy is public by AWS's definition (GetBucketPolicyStatus, BlockPublicPolicy).
    pub fn is_public(&self) -> bool {
        self.is_public
    }
    /// The generated Cedar source, one policy per line group (for `explain` and debugging).
    pub fn cedar_text(&self) -> String {
        self.statements
            .iter()
            .flat_map(|s| s.cedar.iter().map(|p| p.policy.to_string()))
            .collect::<Vec<_>>()
            .join("\n")
    }
    /// A stable id of (kind, id, document), unique per compiled policy version.
    pub fn uid(&self) -> &str {
        &self.uid
    }
}
