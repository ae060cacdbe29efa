//! Stable-toolchain fuzzing of the document parser and compiler, run by `cargo test` (the libFuzzer
//! target is `fuzz/fuzz_targets/policy_parse.rs`, run with cargo-fuzz; see the README's "Fuzzing").
//! Random bytes, random JSON, and mutations of valid policies must never panic, and whatever parses
//! must evaluate. Inputs libFuzzer found are kept below as regression tests.

use gatehouse_policy::{CompiledPolicy, Context, Layers, PolicyKind, Principal, Request, evaluate};
use proptest::prelude::*;
use proptest::test_runner::Config;

const KINDS: [PolicyKind; 5] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::Session,
    PolicyKind::Boundary,
];

const SEED: &str = r#"{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"A1","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a"]},"Action":["s3:Get*","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/${aws:username}/*"],"Condition":{"StringLike":{"s3:prefix":["h?me/*"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericLessThan":{"s3:max-keys":-5}}},{"Effect":"Deny","NotPrincipal":"*","NotAction":"s3:Delete*","NotResource":"*"}]}"#;

fn exercise(text: &str) {
    for kind in KINDS {
        if let Ok(p) = CompiledPolicy::parse(text, kind, "fuzz") {
            let alice = Principal::user("111122223333", "/", "a", "AIDA", None);
            let ctx = Context::new()
                .with("s3:prefix", "home/x")
                .with("aws:username", "a");
            let layers = match kind {
                PolicyKind::Resource | PolicyKind::Trust => Layers {
                    resource: Some(&p),
                    ..Default::default()
                },
                _ => Layers {
                    identity: std::slice::from_ref(&p),
                    ..Default::default()
                },
            };
            for action in ["s3:GetObject", "s3:ListBucket", "sts:AssumeRole"] {
                let req = Request {
                    principal: &alice,
                    action,
                    resource: "arn:aws:s3:::b/a/x",
                    resource_account: "111122223333",
                    context: &ctx,
                };
                let _ = evaluate(&req, &layers);
            }
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9:*?$/{}\\-\\. \"\\\\]{0,12}".prop_map(serde_json::Value::from),
        proptest::sample::select(vec![
            "Allow",
            "Deny",
            "*",
            "s3:*",
            "arn:aws:s3:::b/*",
            "2012-10-17",
            "${aws:username}",
            "111122223333"
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                proptest::sample::select(vec![
                    "Version",
                    "Statement",
                    "Effect",
                    "Action",
                    "NotAction",
                    "Resource",
                    "NotResource",
                    "Principal",
                    "NotPrincipal",
                    "Condition",
                    "AWS",
                    "StringLike",
                    "ForAnyValue:StringEquals",
                    "IpAddress",
                    "Null",
                    "aws:SourceIp",
                    "s3:prefix",
                    "Sid"
                ])
                .prop_map(str::to_string),
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(Config { cases: 2000, failure_persistence: None, ..Config::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_json_never_panics(v in json_value()) {
        exercise(&v.to_string());
    }

    #[test]
    fn mutated_policies_never_panic(edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>(), 0u8..3), 1..6)) {
        let mut bytes = SEED.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len().max(1));
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i.min(bytes.len()), byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        exercise(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn seed_is_valid() {
    assert!(CompiledPolicy::parse(SEED, PolicyKind::Resource, "seed").is_ok());
}

/// The libFuzzer seed corpus (`fuzz/corpus/policy_parse/`): the first byte selects the kind
/// (`(byte - b'0') % 5`, as in `fuzz/fuzz_targets/policy_parse.rs`) and every seed is a valid policy.
#[test]
fn fuzz_seed_corpus_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/policy_parse");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // the fuzz directory is not part of every checkout of this crate
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let bytes = std::fs::read(&path).expect("read seed");
        let (sel, rest) = bytes.split_first().expect("non-empty seed");
        let kind = KINDS[sel.wrapping_sub(b'0') as usize % 5];
        let text = std::str::from_utf8(rest).expect("utf-8 seed");
        if let Err(e) = CompiledPolicy::parse(text, kind, "seed") {
            panic!("{} does not parse as {kind:?}: {e}", path.display());
        }
        exercise(text);
        n += 1;
    }
    assert!(n > 0, "empty seed corpus");
}

/// libFuzzer finding (minimised, selector byte `'5'` = Identity): `StringEquals` with the escape
/// `${?}` in its value. The Cedar path compared the value as written (`${?}\`) while the reference
/// evaluator and `conditions.rs` resolve `${?}` to a literal `?` (AWS: `${*}`, `${?}`, `${$}` are the
/// special characters, Version 2012-10-17), so the two evaluators disagreed.
#[test]
fn fuzz_regression_string_equals_escaped_char() {
    use gatehouse_policy::Outcome;
    use gatehouse_policy::reference::reference_evaluate;

    const INPUT: &[u8] = br#"5{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"m:e":"${?}\\"}}}]}"#;
    let text = std::str::from_utf8(&INPUT[1..]).expect("utf-8");
    exercise(text);
    let qualified = text.replace("\"StringEquals\"", "\"ForAnyValue:StringEquals\"");
    for (doc, list) in [(text, false), (qualified.as_str(), true)] {
        let p = CompiledPolicy::parse(doc, PolicyKind::Identity, "fuzz").expect("valid");
        let alice = Principal::user("111122223333", "/", "alice", "AIDA", None);
        for (value, expected) in [("${?}\\", Outcome::ImplicitDeny), ("?\\", Outcome::Allow)] {
            let v = if list {
                gatehouse_policy::ContextValue::List(vec![value.into()])
            } else {
                value.into()
            };
            let ctx = Context::new().with("m:e", v);
            let req = Request {
                principal: &alice,
                action: "iam:PassRole",
                resource: "arn:aws:iam::111122223333:role/svc/x",
                resource_account: "111122223333",
                context: &ctx,
            };
            let layers = Layers {
                identity: std::slice::from_ref(&p),
                ..Default::default()
            };
            assert_eq!(
                evaluate(&req, &layers).outcome,
                expected,
                "{doc} with {value}"
            );
            assert_eq!(
                reference_evaluate(&req, &layers),
                expected,
                "{doc} with {value}"
            );
        }
    }
}
