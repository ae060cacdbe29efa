//! Differential test: the Cedar path (`evaluate`) and the reference evaluator must reach the same
//! outcome on generated policies, principals, requests and contexts.
//!
//! Compiling Cedar policies dominates the cost, so the main property draws policies from a pool
//! compiled once; a second property compiles fresh policies per case. `PROPTEST_CASES` raises the
//! main property's case count (default 100,000).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use gatehouse_policy::reference::reference_decide;
use gatehouse_policy::{
    Acl, AclTarget, CannedAcl, CompiledPolicy, Context, ContextValue, Layers, ObjectOwnership,
    PolicyKind, Principal, PublicAccessBlock, Request, evaluate,
};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const A: &str = "111122223333";
const B: &str = "444455556666";
const CANON_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CANON_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
    "s3:GetObjectAcl",
    "iam:GetUser",
    "s3:ListAllMyBuckets",
];
const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:?etObject",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "iam:*",
    "s3:Delete*",
    "S3:getobject*",
    "ec2:*",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/home/${aws:username}/*",
    "arn:aws:s3:::b/h?me/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::b*",
    "arn:aws:*:::b/*",
    "arn:aws:s3:::c/*",
    "arn:aws:s3:::b/${aws:PrincipalTag/team}/*",
    "arn:aws:s3:::b/*${?}",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/home/alice/x",
    "arn:aws:s3:::b/hame/x",
    "arn:aws:s3:::c/k",
    "arn:aws:s3:::bb",
    "arn:aws:s3:::b/blue/x",
    "arn:aws:s3:::b/x?",
    "*",
];

fn principal_entries() -> Vec<Value> {
    vec![
        json!("*"),
        json!({"AWS": "*"}),
        json!({"AWS": A}),
        json!({"AWS": format!("arn:aws:iam::{B}:root")}),
        json!({"AWS": format!("arn:aws:iam::{A}:user/alice")}),
        json!({"AWS": [format!("arn:aws:iam::{A}:user/alice"), format!("arn:aws:iam::{A}:root")]}),
        json!({"AWS": format!("arn:aws:iam::{A}:role/R")}),
        json!({"AWS": format!("arn:aws:sts::{A}:assumed-role/R/s1")}),
        json!({"AWS": format!("arn:aws:iam::{B}:user/bob")}),
        json!({"Service": "logging.s3.amazonaws.com"}),
        json!({"CanonicalUser": CANON_A}),
        json!({"CanonicalUser": CANON_B, "AWS": format!("arn:aws:iam::{A}:role/R")}),
    ]
}

fn principals() -> Vec<Principal> {
    let team = |p: Principal| p.with_tags([("team".to_string(), "blue".to_string())]);
    vec![
        team(Principal::user(A, "/", "alice", "AIDAALICE", Some(CANON_A))),
        Principal::user(A, "/", "eve", "AIDAEVE", Some(CANON_A)),
        Principal::user(B, "/", "bob", "AIDABOB", Some(CANON_B)),
        team(Principal::assumed_role(
            A,
            "/",
            "R",
            "s1",
            "AROAR",
            Some(CANON_A),
        )),
        Principal::assumed_role(A, "/", "R", "s2", "AROAR", Some(CANON_A)),
        Principal::assumed_role(B, "/", "R", "s1", "AROARB", Some(CANON_B)),
        Principal::root(A, Some(CANON_A)),
        Principal::root(B, Some(CANON_B)),
        Principal::anonymous(),
        Principal::service("logging.s3.amazonaws.com"),
    ]
}

/// (operator names, key, policy values) per family.
fn condition_strategy() -> impl Strategy<Value = (String, String, Vec<String>)> {
    let fam = |ops: &'static [&'static str],
               keys: &'static [&'static str],
               vals: &'static [&'static str]| {
        (
            select(ops),
            select(keys),
            proptest::sample::subsequence(vals, 1..=vals.len().min(3)),
        )
            .prop_map(|(o, k, v)| {
                (
                    o.to_string(),
                    k.to_string(),
                    v.into_iter().map(str::to_string).collect::<Vec<_>>(),
                )
            })
    };
    prop_oneof![
        fam(
            &[
                "StringEquals",
                "StringNotEquals",
                "StringLike",
                "StringNotLike",
                "StringEqualsIgnoreCase",
                "StringNotEqualsIgnoreCase",
                "StringEqualsIfExists",
                "StringNotLikeIfExists",
                "StringLikeIfExists",
                "ForAnyValue:StringEquals",
                "ForAllValues:StringEquals",
                "ForAnyValue:StringLike",
                "ForAllValues:StringNotEquals",
                "ForAnyValue:StringNotEquals",
                "ForAllValues:StringLike",
                "ForAnyValue:StringEqualsIgnoreCase",
                "BinaryEquals",
                "ForAnyValue:StringEqualsIfExists"
            ],
            &[
                "s3:prefix",
                "aws:TagKeys",
                "aws:username",
                "s3:x-amz-acl",
                "aws:PrincipalTag/team"
            ],
            &[
                "home/",
                "home/*",
                "h?me/*",
                "home/${aws:username}/*",
                "",
                "a",
                "b",
                "HOME/",
                "public-read",
                "blue",
                "${aws:PrincipalTag/team}",
                "*",
                "x${*}"
            ]
        ),
        fam(
            &[
                "IpAddress",
                "NotIpAddress",
                "IpAddressIfExists",
                "ForAnyValue:IpAddress"
            ],
            &["aws:SourceIp"],
            &[
                "10.0.0.0/8",
                "192.168.0.1",
                "::1",
                "2001:db8::/32",
                "0.0.0.0/0"
            ]
        ),
        fam(
            &["Bool", "BoolIfExists", "ForAllValues:Bool"],
            &["aws:SecureTransport", "aws:MultiFactorAuthPresent"],
            &["true", "false", "TRUE", "maybe"]
        ),
        fam(
            &[
                "NumericLessThan",
                "NumericEquals",
                "NumericGreaterThanEquals",
                "NumericNotEquals",
                "NumericLessThanEqualsIfExists",
                "ForAnyValue:NumericGreaterThan"
            ],
            &["s3:max-keys"],
            &["10", "10.5", "-3", "100", "0"]
        ),
        fam(
            &[
                "DateLessThan",
                "DateGreaterThan",
                "DateEquals",
                "DateNotEquals",
                "DateGreaterThanEqualsIfExists"
            ],
            &["aws:CurrentTime", "aws:EpochTime"],
            &[
                "2024-01-01T00:00:00Z",
                "2024-01-01",
                "1704067200",
                "2030-06-01T12:00:00+02:00"
            ]
        ),
        fam(
            &[
                "ArnLike",
                "ArnEquals",
                "ArnNotLike",
                "ArnNotEquals",
                "ArnLikeIfExists",
                "ForAnyValue:ArnLike"
            ],
            &["aws:SourceArn", "aws:PrincipalArn"],
            &[
                "arn:aws:s3:::b*",
                "arn:aws:iam::*:role/R",
                "arn:aws:iam::111122223333:user/alice",
                "arn:aws:s3:::b/?",
                "arn:aws:iam::111122223333:*",
                "*"
            ]
        ),
        fam(
            &["Null"],
            &["s3:prefix", "aws:TagKeys", "aws:SourceIp"],
            &["true", "false"]
        ),
    ]
}

fn statement_strategy(with_principal: bool) -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        proptest::sample::subsequence(ACTION_PATTERNS, 1..=2),
        any::<bool>(),
        proptest::sample::subsequence(RESOURCE_PATTERNS, 1..=2),
        prop::bool::weighted(0.15),
        proptest::collection::vec(condition_strategy(), 0..=2),
        select(principal_entries()),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            move |(allow, acts, not_action, res, not_res, conds, principal, not_principal)| {
                let mut st = serde_json::Map::new();
                st.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                st.insert(
                    if not_action && !with_principal {
                        "NotAction"
                    } else {
                        "Action"
                    }
                    .into(),
                    json!(acts),
                );
                st.insert(
                    if not_res { "NotResource" } else { "Resource" }.into(),
                    json!(res),
                );
                if with_principal {
                    st.insert(
                        if not_principal {
                            "NotPrincipal"
                        } else {
                            "Principal"
                        }
                        .into(),
                        principal,
                    );
                }
                let mut c = serde_json::Map::new();
                for (op, key, vals) in conds {
                    let entry = c.entry(op).or_insert_with(|| json!({}));
                    if let Some(m) = entry.as_object_mut() {
                        m.insert(key, json!(vals));
                    }
                }
                if !c.is_empty() {
                    st.insert("Condition".into(), Value::Object(c));
                }
                Value::Object(st)
            },
        )
}

fn policy_strategy(kind: PolicyKind) -> impl Strategy<Value = String> {
    let with_principal = kind == PolicyKind::Resource;
    (
        proptest::collection::vec(statement_strategy(with_principal), 1..=3),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(sts, old)| {
            json!({"Version": if old { "2008-10-17" } else { "2012-10-17" }, "Statement": sts})
                .to_string()
        })
}

fn context_strategy() -> impl Strategy<Value = Context> {
    let s =
        |v: &'static [&'static str]| select(v).prop_map(|x| ContextValue::String(x.to_string()));
    let opt = |st: BoxedStrategy<ContextValue>| proptest::option::weighted(0.6, st);
    (
        opt(prop_oneof![
            s(&[
                "home/",
                "home/alice/x",
                "hame/",
                "x",
                "HOME/",
                "",
                "home/blue/"
            ]),
            Just(ContextValue::List(vec!["home/".into(), "a".into()]))
        ]
        .boxed()),
        opt(prop_oneof![
            select(vec!["10.1.2.3", "192.168.0.1", "::1", "2001:db8::5"]).prop_map(|x| {
                ContextValue::Ip(x.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0])))
            }),
            s(&["10.9.9.9", "garbage"])
        ]
        .boxed()),
        opt(prop_oneof![
            any::<bool>().prop_map(ContextValue::Bool),
            s(&["TRUE", "no"])
        ]
        .boxed()),
        opt(prop_oneof![
            select(vec![5i64, 10, 100, -3, 0]).prop_map(ContextValue::Number),
            s(&["abc", "10", "10.5"])
        ]
        .boxed()),
        opt(prop_oneof![
            s(&[
                "2023-06-01T00:00:00Z",
                "2024-01-01",
                "2031-01-01T00:00:00Z",
                "nonsense"
            ]),
            select(vec![1704067200i64, 1_600_000_000]).prop_map(ContextValue::Number)
        ]
        .boxed()),
        opt(proptest::sample::subsequence(vec!["a", "b", "c"], 0..=3)
            .prop_map(|v| ContextValue::List(v.into_iter().map(Into::into).collect()))
            .boxed()),
        opt(s(&[
            "arn:aws:s3:::b",
            "arn:aws:s3:::bb/x",
            "arn:aws:iam::444455556666:role/R",
            "not-an-arn",
            "arn:aws:s3:::b/k",
        ])
        .boxed()),
        opt(s(&["public-read", "private", "Public-Read"]).boxed()),
    )
        .prop_map(|(prefix, ip, tls, maxkeys, time, tags, arn, acl)| {
            let mut c = Context::new();
            let pairs = [
                ("s3:prefix", prefix),
                ("aws:SourceIp", ip),
                ("aws:SecureTransport", tls),
                ("s3:max-keys", maxkeys),
                ("aws:CurrentTime", time),
                ("aws:TagKeys", tags),
                ("aws:SourceArn", arn),
                ("s3:x-amz-acl", acl),
            ];
            for (k, v) in pairs {
                if let Some(v) = v {
                    c.insert(k, v);
                }
            }
            c
        })
}

struct Pool {
    identity: Vec<Arc<CompiledPolicy>>,
    resource: Vec<Arc<CompiledPolicy>>,
    acls: Vec<Acl>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut runner = TestRunner::deterministic();
        let mut gen_pool = |kind: PolicyKind, n: usize| {
            let strat = policy_strategy(kind);
            let mut out = Vec::new();
            let mut attempts = 0;
            while out.len() < n && attempts < n * 20 {
                attempts += 1;
                let Ok(tree) = strat.new_tree(&mut runner) else {
                    continue;
                };
                if let Ok(p) = CompiledPolicy::parse(
                    &tree.current(),
                    kind,
                    &format!("{}-{}", kind.as_str(), out.len()),
                ) {
                    out.push(p);
                }
            }
            out
        };
        let identity = gen_pool(PolicyKind::Identity, 160);
        let resource = gen_pool(PolicyKind::Resource, 160);
        let acls = [
            CannedAcl::Private,
            CannedAcl::PublicRead,
            CannedAcl::PublicReadWrite,
            CannedAcl::AuthenticatedRead,
            CannedAcl::BucketOwnerFullControl,
        ]
        .iter()
        .flat_map(|c| {
            [
                c.to_acl(AclTarget::Bucket, CANON_A, Some(CANON_B)),
                c.to_acl(AclTarget::Object, CANON_B, Some(CANON_A)),
            ]
        })
        .collect();
        Pool {
            identity,
            resource,
            acls,
        }
    })
}

#[derive(Debug, Clone)]
struct Case {
    principal: usize,
    action: usize,
    resource: usize,
    owner_b: bool,
    identity: Vec<Index>,
    boundary: Option<Index>,
    session: Option<Index>,
    bucket: Option<Index>,
    acl: Option<Index>,
    ownership: u8,
    bpa: (bool, bool),
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        (
            0..principals().len(),
            0..ACTIONS.len(),
            0..REQ_RESOURCES.len(),
            prop::bool::weighted(0.3),
        ),
        (
            proptest::collection::vec(any::<Index>(), 0..=2),
            proptest::option::weighted(0.3, any::<Index>()),
            proptest::option::weighted(0.3, any::<Index>()),
        ),
        (
            proptest::option::weighted(0.6, any::<Index>()),
            proptest::option::weighted(0.3, any::<Index>()),
            0u8..3,
            any::<(bool, bool)>(),
        ),
    )
        .prop_map(
            |(
                (principal, action, resource, owner_b),
                (identity, boundary, session),
                (bucket, acl, ownership, bpa),
            )| Case {
                principal,
                action,
                resource,
                owner_b,
                identity,
                boundary,
                session,
                bucket,
                acl,
                ownership,
                bpa,
            },
        )
}

fn run_case(case: &Case, ctx: &Context, pool: &Pool) -> Result<(), TestCaseError> {
    let ps = principals();
    let p = &ps[case.principal];
    let ids: Vec<Arc<CompiledPolicy>> = case
        .identity
        .iter()
        .map(|i| i.get(&pool.identity).clone())
        .collect();
    let session: Option<Vec<Arc<CompiledPolicy>>> =
        case.session.map(|i| vec![i.get(&pool.identity).clone()]);
    let layers = Layers {
        identity: &ids,
        boundary: case.boundary.map(|i| &**i.get(&pool.identity)),
        session: session.as_deref(),
        resource: case.bucket.map(|i| &**i.get(&pool.resource)),
        acl: case.acl.map(|i| i.get(&pool.acls)),
        object_ownership: [
            ObjectOwnership::BucketOwnerEnforced,
            ObjectOwnership::ObjectWriter,
            ObjectOwnership::BucketOwnerPreferred,
        ][usize::from(case.ownership % 3)],
        block_public_access: PublicAccessBlock {
            ignore_public_acls: case.bpa.0,
            restrict_public_buckets: case.bpa.1,
            ..Default::default()
        },
    };
    let req = Request {
        principal: p,
        action: ACTIONS[case.action],
        resource: REQ_RESOURCES[case.resource],
        resource_account: if case.owner_b { B } else { A },
        context: ctx,
    };
    let got = evaluate(&req, &layers);
    let want = reference_decide(&req, &layers);
    prop_assert_eq!(
        (got.outcome, &got.reasons),
        (want.0, &want.1),
        "decision {:?}\nidentity {:?}\nboundary {:?}\nsession {:?}\nbucket {:?}",
        got,
        ids.iter().map(|p| p.document()).collect::<Vec<_>>(),
        layers.boundary.map(|p| p.document()),
        layers
            .session
            .map(|s| s.iter().map(|p| p.document()).collect::<Vec<_>>()),
        layers.resource.map(|p| p.document())
    );
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn cedar_path_agrees_with_reference_on_pooled_policies(case in case_strategy(), ctx in context_strategy()) {
        run_case(&case, &ctx, pool())?;
    }
}

proptest! {
    #![proptest_config(Config { cases: (cases() / 50).max(200), failure_persistence: None, ..Config::default() })]

    #[test]
    fn cedar_path_agrees_with_reference_on_fresh_policies(
        idj in policy_strategy(PolicyKind::Identity),
        bpj in policy_strategy(PolicyKind::Resource),
        case in case_strategy(),
        ctx in context_strategy(),
    ) {
        let (Ok(id), Ok(bp)) = (CompiledPolicy::parse(&idj, PolicyKind::Identity, "i"), CompiledPolicy::parse(&bpj, PolicyKind::Resource, "b")) else {
            return Ok(());
        };
        let local = Pool { identity: vec![id], resource: vec![bp], acls: pool().acls.clone() };
        run_case(&case, &ctx, &local)?;
    }
}

#[test]
fn pool_is_large_and_mixed() {
    let p = pool();
    assert!(
        p.identity.len() >= 150 && p.resource.len() >= 150,
        "{} {}",
        p.identity.len(),
        p.resource.len()
    );
    assert!(p.resource.iter().any(|r| r.is_public()) && p.resource.iter().any(|r| !r.is_public()));
}
