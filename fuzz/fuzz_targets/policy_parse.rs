//! libFuzzer target: the policy document parser and compiler must never panic on any input, and
//! whatever parses must answer `is_public()` and evaluate without panicking.
//!
//! Input layout: the first byte is a selector, the rest is the JSON document (as UTF-8).
//! `i = selector.wrapping_sub(b'0')`:
//! - `i % 5` picks the [`PolicyKind`]: 0 Identity, 1 Resource (bucket policy), 2 Trust, 3 Session,
//!   4 Boundary (so corpus files start with `'0'`..`'4'`);
//! - `(i / 5) % 12` picks the caller the parsed policy is evaluated for (and, when odd, a bucket
//!   policy is parsed with `ParseOptions { bucket: Some("examplebucket") }`); identity-side kinds
//!   are also evaluated with a boundary / session layer where the caller can have one.
//!
//! The request context is derived from the policy's own conditions (each key gets a value taken from
//! its first condition value), so condition evaluation is reached, not only the "key absent" paths.
//! The Cedar-path decision (outcome and deciding statements) is checked against the independent
//! reference evaluator (unless `GATEHOUSE_FUZZ_NO_DIFF=1`).
#![no_main]

use std::net::IpAddr;

use gatehouse_policy::conditions::{Family, parse_ip_net};
use gatehouse_policy::document::Statement;
use gatehouse_policy::reference::reference_decide;
use gatehouse_policy::{
    CompiledPolicy, Context, ContextValue, Layers, ParseOptions, PolicyKind, Principal, Request,
    SessionData, evaluate,
};
use libfuzzer_sys::fuzz_target;

const KINDS: [PolicyKind; 5] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::Session,
    PolicyKind::Boundary,
];

const ACCOUNT: &str = "111122223333";
const CANON: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

fn principal(i: usize) -> Principal {
    match i % 12 {
        8 => Principal::federated_user(ACCOUNT, "/", "alice", "fed", Some(CANON)),
        9 => Principal::assumed_role(ACCOUNT, "/", "R", "s2", "AROAR", None)
            .with_tags([("team".to_string(), "blue".to_string())])
            .with_session(SessionData {
                tags: vec![("team".to_string(), "red".to_string())],
                mfa_present: Some(true),
                source_identity: Some("alice".to_string()),
                ..Default::default()
            }),
        10 => Principal::service("ec2.amazonaws.com"),
        11 => Principal::user(ACCOUNT, "/dev/", "dave", "AIDAEXAMPLEDAVE", None),
        0 => Principal::user(ACCOUNT, "/", "alice", "AIDAEXAMPLEALICE", Some(CANON))
            .with_tags([("team".to_string(), "blue".to_string())]),
        1 => Principal::assumed_role(ACCOUNT, "/svc/", "reader", "s1", "AROAEXAMPLE", None),
        2 => Principal::anonymous(),
        3 => Principal::root("444455556666", None),
        4 => Principal::service("cloudtrail.amazonaws.com"),
        5 => Principal::federated("accounts.google.com"),
        6 => Principal::user("444455556666", "/dev/", "bob", "AIDAEXAMPLEBOB", None),
        _ => Principal::root(ACCOUNT, Some(CANON)),
    }
}

/// A context value of the right type for a condition's operator family, from a policy value.
fn value_for(family: Family, v: &str) -> ContextValue {
    match family {
        Family::Numeric => v
            .trim()
            .parse::<i64>()
            .map(ContextValue::Number)
            .unwrap_or_else(|_| ContextValue::String(v.to_string())),
        Family::Ip => match parse_ip_net(v) {
            Some(net) => ContextValue::Ip(net.addr()),
            None => ContextValue::String(v.to_string()),
        },
        Family::Bool => ContextValue::Bool(v.eq_ignore_ascii_case("true")),
        // Strings, ARNs (wildcards stay literal), dates (parsed as request strings), binary.
        _ => ContextValue::String(v.to_string()),
    }
}

fn context_for(statements: &[Statement]) -> Context {
    let mut ctx = Context::new()
        .with("aws:SecureTransport", true)
        .with("aws:SourceIp", "10.1.2.3".parse::<IpAddr>().expect("ip"))
        .with("s3:prefix", "home/alice/");
    for c in statements.iter().flat_map(|s| &s.conditions).take(16) {
        let Some(first) = c.values.first() else {
            continue;
        };
        let family = c.op.family();
        if family == Family::Null {
            continue;
        }
        let v = if c.op.qualifier.is_some() {
            ContextValue::List(
                c.values
                    .iter()
                    .take(4)
                    .map(|v| value_for(family, v))
                    .collect(),
            )
        } else {
            value_for(family, first)
        };
        ctx.insert(&c.key, v);
    }
    ctx
}

/// A concrete action / resource for a pattern (wildcards replaced by a plain character).
fn concrete(pattern: &str, fallback: &str) -> String {
    if pattern == "*" || pattern.contains("${") {
        return fallback.to_string();
    }
    pattern.replace(['*', '?'], "x")
}

fn no_diff() -> bool {
    static NO_DIFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NO_DIFF.get_or_init(|| std::env::var_os("GATEHOUSE_FUZZ_NO_DIFF").is_some_and(|v| v == "1"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let i = sel.wrapping_sub(b'0') as usize;
    let kind = KINDS[i % 5];
    let variant = (i / 5) % 12;
    let mut opts = ParseOptions::for_kind(kind);
    if kind == PolicyKind::Resource && variant % 2 == 1 {
        opts.bucket = Some("examplebucket");
    }
    let Ok(policy) = CompiledPolicy::parse_with(text, kind, "fuzz", &opts) else {
        return;
    };
    let public = policy.is_public();
    if kind != PolicyKind::Resource {
        assert!(!public, "only bucket policies are public");
    }
    let _ = gatehouse_policy::public::policy_is_public(policy.document());
    let _ = policy.cedar_text();

    // Evaluate (Cedar path) for one caller, against the first statement's action and resource.
    let statements = &policy.document().statements;
    let ctx = context_for(statements);
    let caller = principal(variant);
    let first = statements.first();
    let action = first
        .filter(|s| !s.action.negated)
        .and_then(|s| s.action.values.first())
        .map(|a| concrete(a, "s3:GetObject"))
        .unwrap_or_else(|| {
            if kind == PolicyKind::Trust {
                "sts:AssumeRole"
            } else {
                "s3:GetObject"
            }
            .to_string()
        });
    let resource = first
        .and_then(|s| s.resource.as_ref())
        .filter(|r| !r.negated)
        .and_then(|r| r.values.first())
        .map(|r| concrete(r, "arn:aws:s3:::examplebucket/home/alice/x"))
        .unwrap_or_else(|| {
            if kind == PolicyKind::Trust {
                format!("arn:aws:iam::{ACCOUNT}:role/R")
            } else {
                "arn:aws:s3:::examplebucket/home/alice/x".to_string()
            }
        });
    let identities = [policy.clone()];
    let layers = match kind {
        PolicyKind::Resource | PolicyKind::Trust => Layers {
            resource: Some(&policy),
            ..Default::default()
        },
        PolicyKind::Boundary => Layers {
            identity: &identities,
            boundary: Some(&policy),
            ..Default::default()
        },
        PolicyKind::Session => Layers {
            identity: &identities,
            session: Some(&identities),
            ..Default::default()
        },
        PolicyKind::Identity => Layers {
            identity: &identities,
            ..Default::default()
        },
    };
    let req = Request {
        principal: &caller,
        action: &action,
        resource: &resource,
        resource_account: ACCOUNT,
        context: &ctx,
    };
    let decision = evaluate(&req, &layers);
    // Differential oracle: the Cedar path and the reference evaluator agree
    // (`GATEHOUSE_FUZZ_NO_DIFF=1` turns this off to hunt panics only).
    if !no_diff() {
        let (outcome, reasons) = reference_decide(&req, &layers);
        assert_eq!(
            (decision.outcome, &decision.reasons),
            (outcome, &reasons),
            "evaluate and reference_decide disagree on {action} {resource}"
        );
    }
});
