//! Condition operators: their grammar, value parsing, and the Rust-side evaluation used for what Cedar
//! cannot express (`?` wildcards, case-insensitive compares, set-qualified patterns, policy variables).
//!
//! Semantics (shared by the Cedar path and the reference evaluator):
//! - several values for one key: a positive operator matches if any value matches; a negated operator
//!   (`StringNotEquals`, `NotIpAddress`, ...) matches if none does;
//! - key absent: positive operators are false, negated ones true, `...IfExists` true;
//! - a policy variable without a value (key absent or multi-valued, no default) makes the
//!   condition false whatever the operator (AWS: the statement is invalid, so it does not match);
//! - an unqualified operator against a multi-valued key (more than one value): AWS requires a set
//!   operator and documents no answer, so the condition fails closed: false in an Allow statement,
//!   true in a Deny statement;
//! - `ForAnyValue:` is true if some request value matches (false when the key is absent), `ForAllValues:`
//!   if every request value matches (true when the key is absent);
//! - `Null: true` holds when the key is absent.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::document::{Condition, Effect, PolicyVersion, template};
use crate::pattern::{MatchTok, arn_match, match_toks};
use crate::request::{ContextValue, Request};

/// The comparison an operator performs (its positive form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// StringEquals.
    StrEq,
    /// StringEqualsIgnoreCase.
    StrEqCi,
    /// StringLike.
    StrLike,
    /// NumericEquals.
    NumEq,
    /// NumericLessThan.
    NumLt,
    /// NumericLessThanEquals.
    NumLe,
    /// NumericGreaterThan.
    NumGt,
    /// NumericGreaterThanEquals.
    NumGe,
    /// DateEquals.
    DateEq,
    /// DateLessThan.
    DateLt,
    /// DateLessThanEquals.
    DateLe,
    /// DateGreaterThan.
    DateGt,
    /// DateGreaterThanEquals.
    DateGe,
    /// Bool.
    Bool,
    /// BinaryEquals.
    Binary,
    /// IpAddress.
    Ip,
    /// ArnEquals / ArnLike.
    Arn,
    /// Null.
    Null,
}

/// Operator families, for value validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// String*.
    String,
    /// Numeric*.
    Numeric,
    /// Date*.
    Date,
    /// Bool.
    Bool,
    /// BinaryEquals.
    Binary,
    /// IpAddress / NotIpAddress.
    Ip,
    /// Arn*.
    Arn,
    /// Null.
    Null,
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `ForAnyValue:`.
    AnyValue,
    /// `ForAllValues:`.
    AllValues,
}

/// A condition operator with its qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionOp {
    /// The positive comparison.
    pub cmp: Cmp,
    /// Negated operator (`StringNotEquals`, `NotIpAddress`, ...).
    pub negated: bool,
    /// `...IfExists`.
    pub if_exists: bool,
    /// Set qualifier.
    pub qualifier: Option<Qualifier>,
    /// Base operator name as AWS spells it.
    pub base_name: &'static str,
}

const OPS: &[(&str, Cmp, bool)] = &[
    ("StringEquals", Cmp::StrEq, false),
    ("StringNotEquals", Cmp::StrEq, true),
    ("StringEqualsIgnoreCase", Cmp::StrEqCi, false),
    ("StringNotEqualsIgnoreCase", Cmp::StrEqCi, true),
    ("StringLike", Cmp::StrLike, false),
    ("StringNotLike", Cmp::StrLike, true),
    ("NumericEquals", Cmp::NumEq, false),
    ("NumericNotEquals", Cmp::NumEq, true),
    ("NumericLessThan", Cmp::NumLt, false),
    ("NumericLessThanEquals", Cmp::NumLe, false),
    ("NumericGreaterThan", Cmp::NumGt, false),
    ("NumericGreaterThanEquals", Cmp::NumGe, false),
    ("DateEquals", Cmp::DateEq, false),
    ("DateNotEquals", Cmp::DateEq, true),
    ("DateLessThan", Cmp::DateLt, false),
    ("DateLessThanEquals", Cmp::DateLe, false),
    ("DateGreaterThan", Cmp::DateGt, false),
    ("DateGreaterThanEquals", Cmp::DateGe, false),
    ("Bool", Cmp::Bool, false),
    ("BinaryEquals", Cmp::Binary, false),
    ("IpAddress", Cmp::Ip, false),
    ("NotIpAddress", Cmp::Ip, true),
    ("ArnEquals", Cmp::Arn, false),
    ("ArnLike", Cmp::Arn, false),
    ("ArnNotEquals", Cmp::Arn, true),
    ("ArnNotLike", Cmp::Arn, true),
    ("Null", Cmp::Null, false),
];

impl ConditionOp {
    /// Parses an operator name such as `ForAnyValue:StringLikeIfExists`; `None` if unknown.
    pub fn parse(name: &str) -> Option<ConditionOp> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(Qualifier::AnyValue), r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(Qualifier::AllValues), r)
        } else {
            (None, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let &(base_name, cmp, negated) = OPS.iter().find(|(n, _, _)| *n == base)?;
        if cmp == Cmp::Null && (if_exists || qualifier.is_some()) {
            return None;
        }
        Some(ConditionOp {
            cmp,
            negated,
            if_exists,
            qualifier,
            base_name,
        })
    }

    /// The operator's full name.
    pub fn name(&self) -> String {
        let q = match self.qualifier {
            Some(Qualifier::AnyValue) => "ForAnyValue:",
            Some(Qualifier::AllValues) => "ForAllValues:",
            None => "",
        };
        format!(
            "{q}{}{}",
            self.base_name,
            if self.if_exists { "IfExists" } else { "" }
        )
    }

    /// The operator's family.
    pub fn family(&self) -> Family {
        match self.cmp {
            Cmp::StrEq | Cmp::StrEqCi | Cmp::StrLike => Family::String,
            Cmp::NumEq | Cmp::NumLt | Cmp::NumLe | Cmp::NumGt | Cmp::NumGe => Family::Numeric,
            Cmp::DateEq | Cmp::DateLt | Cmp::DateLe | Cmp::DateGt | Cmp::DateGe => Family::Date,
            Cmp::Bool => Family::Bool,
            Cmp::Binary => Family::Binary,
            Cmp::Ip => Family::Ip,
            Cmp::Arn => Family::Arn,
            Cmp::Null => Family::Null,
        }
    }

    /// Whether policy variables are substituted in this operator's values (String* and Arn*).
    pub fn takes_variables(&self) -> bool {
        matches!(self.family(), Family::String | Family::Arn)
    }
}

/// Parses an AWS date (ISO 8601 / RFC 3339, `YYYY-MM-DD`, or epoch seconds) into epoch milliseconds.
pub fn parse_date_ms(s: &str) -> Option<i64> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    if let Ok(secs) = s.parse::<i64>() {
        return secs.checked_mul(1000);
    }
    let dt = time::OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .ok()
        .or_else(|| {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s, &fmt)
                .ok()
                .map(|d| d.midnight().assume_utc())
        })?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Parses an IP condition value (CIDR or single address) into a network with host bits cleared.
pub fn parse_ip_net(s: &str) -> Option<IpNet> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Some(n.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

/// A policy number: exact integers stay integers, others compare as floating point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PolicyNumber {
    /// An integer.
    Int(i64),
    /// A non-integer.
    Float(f64),
}

/// Parses a numeric condition value: an `i64`, or a finite decimal as Rust's `f64` parser reads
/// it; surrounding spaces, `NaN` and infinities are not numbers (documents holding them are
/// refused, so every value that validates can match).
pub fn parse_number(s: &str) -> Option<PolicyNumber> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(PolicyNumber::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(PolicyNumber::Float)
}

fn ord_matches(cmp: Cmp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match cmp {
        Cmp::NumEq | Cmp::DateEq => o == Equal,
        Cmp::NumLt | Cmp::DateLt => o == Less,
        Cmp::NumLe | Cmp::DateLe => o != Greater,
        Cmp::NumGt | Cmp::DateGt => o == Greater,
        Cmp::NumGe | Cmp::DateGe => o != Less,
        _ => false,
    }
}

/// Whether request value `v` satisfies the positive comparison against one policy value.
/// `toks` is the policy value with variables substituted (`None`: a variable had no value).
fn value_matches(
    cmp: Cmp,
    v: &ContextValue,
    policy_value: &str,
    toks: Option<&[MatchTok]>,
) -> bool {
    let literal = |toks: &[MatchTok]| -> String {
        toks.iter()
            .map(|t| match t {
                MatchTok::Char(c) => *c,
                MatchTok::Star => '*',
                MatchTok::One => '?',
            })
            .collect()
    };
    match cmp {
        Cmp::StrEq => toks.is_some_and(|t| literal(t) == v.as_string()),
        Cmp::StrEqCi => {
            toks.is_some_and(|t| literal(t).to_lowercase() == v.as_string().to_lowercase())
        }
        Cmp::StrLike => toks.is_some_and(|t| match_toks(t, &v.as_string(), false)),
        Cmp::Arn => toks.is_some_and(|t| arn_match(t, &v.as_string())),
        Cmp::Binary => v.as_string() == policy_value,
        Cmp::Bool => v.as_bool().is_some_and(|b| {
            (policy_value.eq_ignore_ascii_case("true") && b)
                || (policy_value.eq_ignore_ascii_case("false") && !b)
        }),
        Cmp::Ip => match (v.as_ip(), parse_ip_net(policy_value)) {
            (Some(ip), Some(net)) => net.contains(&ip),
            _ => false,
        },
        Cmp::NumEq | Cmp::NumLt | Cmp::NumLe | Cmp::NumGt | Cmp::NumGe => {
            let order = match (v.as_number(), parse_number(policy_value)) {
                (Some(n), Some(PolicyNumber::Int(p))) => Some(n.cmp(&p)),
                (Some(n), Some(PolicyNumber::Float(p))) => (n as f64).partial_cmp(&p),
                // A decimal value (s3:TlsVersion) compares with decimal policy values only: integer
                // policy values are compared natively, with integers.
                (None, Some(PolicyNumber::Float(p))) => {
                    v.as_decimal().and_then(|d| d.partial_cmp(&p))
                }
                _ => None,
            };
            order.is_some_and(|o| ord_matches(cmp, o))
        }
        Cmp::DateEq | Cmp::DateLt | Cmp::DateLe | Cmp::DateGt | Cmp::DateGe => {
            match (v.as_date_ms(), parse_date_ms(policy_value)) {
                (Some(a), Some(b)) => ord_matches(cmp, a.cmp(&b)),
                _ => false,
            }
        }
        Cmp::Null => false,
    }
}

/// Evaluates one condition of a statement with `effect` against a request (the full semantics;
/// see the module docs).
pub fn eval_condition(
    cond: &Condition,
    version: PolicyVersion,
    req: &Request<'_>,
    effect: Effect,
) -> bool {
    let lk = cond.key.to_ascii_lowercase();
    let value = req.value(&lk);
    let scalars: Vec<&ContextValue> = value
        .as_deref()
        .map(ContextValue::scalars)
        .unwrap_or_default();
    let op = cond.op;
    if op.cmp == Cmp::Null {
        let absent = scalars.is_empty();
        return cond
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true") == absent);
    }
    // Policy values with variables substituted (variables take single-valued keys only).
    let lookup = |k: &str| -> Option<String> {
        let v = req.value(k)?;
        let s = v.scalars();
        if s.len() == 1 {
            Some(s[0].as_string().into_owned())
        } else {
            None
        }
    };
    let mut prepared: Vec<(&str, Option<Vec<MatchTok>>)> = Vec::with_capacity(cond.values.len());
    for pv in &cond.values {
        let toks = if op.takes_variables() {
            match template(pv, version).instantiate(&lookup) {
                Some(t) => Some(t),
                // A variable without a value: the statement does not match.
                None => return false,
            }
        } else {
            None
        };
        prepared.push((pv.as_str(), toks));
    }
    let any_match = |v: &ContextValue| {
        prepared
            .iter()
            .any(|(pv, t)| value_matches(op.cmp, v, pv, t.as_deref()))
    };
    match op.qualifier {
        None => match scalars.as_slice() {
            [] => op.if_exists || op.negated,
            [one] => any_match(one) != op.negated,
            // Multi-valued key without a set operator: fail closed.
            _ => effect == Effect::Deny,
        },
        Some(Qualifier::AnyValue) => {
            if scalars.is_empty() {
                return op.if_exists;
            }
            scalars.iter().any(|v| any_match(v) != op.negated)
        }
        Some(Qualifier::AllValues) => scalars.iter().all(|v| any_match(v) != op.negated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Context, Principal};

    fn cond(op: &str, key: &str, vals: &[&str]) -> Condition {
        Condition {
            op: ConditionOp::parse(op).expect("op"),
            key: key.to_string(),
            values: vals.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn eval(c: &Condition, ctx: &Context) -> bool {
        let p = Principal::user("111122223333", "/", "alice", "AIDAALICE", None);
        let req = Request {
            principal: &p,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: "111122223333",
            context: ctx,
        };
        eval_condition(c, PolicyVersion::V2012, &req, Effect::Allow)
    }

    #[test]
    fn operator_grammar() {
        assert!(ConditionOp::parse("ForAnyValue:StringLikeIfExists").is_some());
        assert!(ConditionOp::parse("NullIfExists").is_none());
        assert!(ConditionOp::parse("StringEqual").is_none());
        assert_eq!(
            ConditionOp::parse("ForAllValues:ArnNotLike")
                .map(|o| o.name())
                .as_deref(),
            Some("ForAllValues:ArnNotLike")
        );
    }

    #[test]
    fn missing_keys_and_negation() {
        let empty = Context::new();
        assert!(!eval(&cond("StringEquals", "s3:prefix", &["a"]), &empty));
        assert!(eval(&cond("StringNotEquals", "s3:prefix", &["a"]), &empty));
        assert!(eval(
            &cond("StringEqualsIfExists", "s3:prefix", &["a"]),
            &empty
        ));
        assert!(eval(&cond("Null", "s3:prefix", &["true"]), &empty));
        let ctx = Context::new().with("s3:prefix", "b");
        assert!(eval(
            &cond("StringNotEquals", "S3:Prefix", &["a", "c"]),
            &ctx
        ));
        assert!(!eval(
            &cond("StringNotEquals", "s3:prefix", &["a", "b"]),
            &ctx
        ));
        assert!(eval(&cond("Null", "s3:prefix", &["false"]), &ctx));
    }

    #[test]
    fn typed_operators() {
        let ctx = Context::new()
            .with("aws:SourceIp", "10.1.2.3".parse::<IpAddr>().expect("ip"))
            .with("aws:SecureTransport", false)
            .with("s3:max-keys", 50)
            .with("s3:TlsVersion", "1.3")
            .with("aws:CurrentTime", "2024-05-01T00:00:00Z");
        // A decimal value compares with decimal policy values (AWS's s3:TlsVersion examples).
        assert!(eval(
            &cond("NumericLessThan", "s3:TlsVersion", &["1.4"]),
            &ctx
        ));
        assert!(!eval(
            &cond("NumericLessThan", "s3:TlsVersion", &["1.2"]),
            &ctx
        ));
        assert!(eval(
            &cond("NumericEquals", "s3:TlsVersion", &["1.3"]),
            &ctx
        ));
        assert!(eval(
            &cond("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]),
            &ctx
        ));
        assert!(eval(
            &cond(
                "NotIpAddress",
                "aws:SourceIp",
                &["192.168.0.0/16", "2001:db8::/32"]
            ),
            &ctx
        ));
        assert!(eval(&cond("Bool", "aws:SecureTransport", &["false"]), &ctx));
        assert!(eval(
            &cond("NumericLessThanEquals", "s3:max-keys", &["50"]),
            &ctx
        ));
        assert!(eval(
            &cond("NumericGreaterThan", "s3:max-keys", &["49.5"]),
            &ctx
        ));
        assert!(eval(
            &cond("DateLessThan", "aws:CurrentTime", &["2025-01-01"]),
            &ctx
        ));
        assert!(!eval(
            &cond("DateGreaterThan", "aws:CurrentTime", &["1767225600"]),
            &ctx
        ));
    }

    #[test]
    fn sets_and_variables() {
        let ctx = Context::new()
            .with(
                "aws:TagKeys",
                ContextValue::List(vec!["a".into(), "b".into()]),
            )
            .with("s3:prefix", "home/alice/docs");
        assert!(eval(
            &cond("ForAllValues:StringEquals", "aws:TagKeys", &["a", "b", "c"]),
            &ctx
        ));
        assert!(!eval(
            &cond("ForAllValues:StringEquals", "aws:TagKeys", &["a"]),
            &ctx
        ));
        assert!(eval(
            &cond("ForAnyValue:StringLike", "aws:TagKeys", &["?"]),
            &ctx
        ));
        assert!(eval(
            &cond("ForAllValues:StringEquals", "aws:Nope", &["x"]),
            &ctx
        ));
        assert!(!eval(
            &cond("ForAnyValue:StringEquals", "aws:Nope", &["x"]),
            &ctx
        ));
        assert!(
            !eval(&cond("StringEquals", "aws:TagKeys", &["a"]), &ctx),
            "multi-valued key, unqualified"
        );
        assert!(
            !eval(
                &cond("StringNotEqualsIfExists", "aws:TagKeys", &["a"]),
                &ctx
            ),
            "multi-valued key, unqualified, in an Allow: fails closed"
        );
        assert!(eval(
            &cond("StringLike", "s3:prefix", &["home/${aws:username}/*"]),
            &ctx
        ));
        assert!(!eval(
            &cond("StringLike", "s3:prefix", &["home/${aws:userid}/*"]),
            &ctx
        ));
        assert!(eval(
            &cond("StringEqualsIgnoreCase", "s3:prefix", &["HOME/Alice/DOCS"]),
            &ctx
        ));
    }
}
