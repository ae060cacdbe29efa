//! Stable-toolchain fuzzing of the document parser and compiler (cargo-fuzz needs nightly, which this
//! machine lacks; `fuzz/` holds the libFuzzer target for machines that have it). Random bytes, random
//! JSON, and mutations of valid policies must never panic, and whatever parses must evaluate.

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
                    resource_account: Some("111122223333"),
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
