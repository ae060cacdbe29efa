//! Differential test: the Cedar path (`evaluate`) and the independent reference evaluator must
//! reach the same outcome and the same deciding statements (`reasons`) on generated policies,
//! principals, requests and contexts. The generator covers bucket and trust policies, `s3:*`,
//! `iam:*` and `sts:*` actions, users and roles with paths, role sessions with session tags,
//! federated-user sessions, web-identity callers, services, anonymous callers, roots, boundaries,
//! session policies, cross-account and invalid resource accounts, unresolved policy variables,
//! multi-valued keys and forged principal keys in the request context.
//!
//! Compiling Cedar policies dominates the cost, so the main property draws policies from a pool
//! compiled once; a second property compiles fresh policies per case. `PROPTEST_CASES` raises the
//! main property's case count (default 100,000).

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use gatehouse_policy::reference::reference_decide;
use gatehouse_policy::{
    Acl, AclTarget, CannedAcl, CompiledPolicy, Context, ContextValue, Layers, ObjectOwnership,
    PolicyKind, Principal, PublicAccessBlock, Request, SessionData, evaluate,
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
    "s3:PutObjectTagging",
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:GetCallerIdentity",
];
const TRUST_ACTION_PATTERNS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRole*",
    "sts:*",
    "sts:TagSession",
    "sts:AssumeRoleWithWebIdentity",
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
    "sts:AssumeRole",
    "sts:*",
    "s3:ListAllMyBuckets",
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
    "arn:aws:iam::111122223333:role/*",
    "arn:aws:iam::*:role/R",
    "arn:aws:s3:::b/${aws:username, 'nobody'}/*",
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
    "arn:aws:iam::111122223333:role/R",
    "arn:aws:s3:::b/nobody/k",
    "arn:aws:iam::111122223333:user/alice",
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
        json!({"AWS": format!("arn:aws:sts::{A}:federated-user/fed")}),
        json!({"AWS": format!("arn:aws:iam::{A}:role/svc/R2")}),
        json!({"AWS": format!("arn:aws:iam::{A}:user/dev/dave")}),
        json!({"Federated": "accounts.google.com"}),
        json!({"Service": "ec2.amazonaws.com"}),
        json!({"AWS": [format!("arn:aws:iam::{A}:role/svc/R2"), format!("arn:aws:sts::{A}:assumed-role/R2/s9"), A]}),
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
        Principal::federated_user(A, "/", "alice", "fed", Some(CANON_A)),
        Principal::federated_user(B, "/", "bob", "fed", Some(CANON_B)),
        team(Principal::assumed_role(
            A,
            "/svc/",
            "R2",
            "s9",
            "AROAR2",
            Some(CANON_A),
        ))
        .with_session(SessionData {
            tags: vec![("team".to_string(), "red".to_string())],
            mfa_present: Some(true),
            token_issue_time: Some(time::macros::datetime!(2024-01-01 00:00 UTC)),
            source_identity: Some("alice".to_string()),
            ..Default::default()
        }),
        Principal::user(A, "/dev/", "dave", "AIDADAVE", Some(CANON_A)),
        Principal::federated("accounts.google.com"),
        Principal::service("ec2.amazonaws.com"),
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
                "aws:PrincipalTag/team",
                "aws:SourceIdentity",
                "aws:PrincipalType"
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
                "x${*}",
                "${aws:SourceIdentity}",
                "${s3:prefix}*",
                "${aws:TagKeys}",
                "User"
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
            &["aws:CurrentTime", "aws:EpochTime", "aws:TokenIssueTime"],
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

fn statement_strategy(kind: PolicyKind) -> impl Strategy<Value = Value> {
    let with_principal = matches!(kind, PolicyKind::Resource | PolicyKind::Trust);
    let trust = kind == PolicyKind::Trust;
    (
        any::<bool>(),
        proptest::sample::subsequence(
            if trust {
                TRUST_ACTION_PATTERNS
            } else {
                ACTION_PATTERNS
            },
            1..=2,
        ),
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
                if !trust {
                    st.insert(
                        if not_res { "NotResource" } else { "Resource" }.into(),
                        json!(res),
                    );
                }
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
    (
        proptest::collection::vec(statement_strategy(kind), 1..=3),
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
        (
            opt(s(&["public-read", "private", "Public-Read"]).boxed()),
            opt(s(&["alice", "mallory"]).boxed()),
            opt(s(&["blue", "red"]).boxed()),
            opt(any::<bool>().prop_map(ContextValue::Bool).boxed()),
        ),
    )
        .prop_map(
            |(prefix, ip, tls, maxkeys, time, tags, arn, (acl, user, team, mfa))| {
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
                    // Forged principal keys: both paths must ignore them.
                    ("aws:username", user),
                    ("aws:PrincipalTag/team", team),
                    ("aws:MultiFactorAuthPresent", mfa),
                ];
                for (k, v) in pairs {
                    if let Some(v) = v {
                        c.insert(k, v);
                    }
                }
                c
            },
        )
}

struct Pool {
    identity: Vec<Arc<CompiledPolicy>>,
    resource: Vec<Arc<CompiledPolicy>>,
    trust: Vec<Arc<CompiledPolicy>>,
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
        let mut identity = gen_pool(PolicyKind::Identity, 160);
        let mut resource = gen_pool(PolicyKind::Resource, 160);
        let mut trust = gen_pool(PolicyKind::Trust, 80);
        let open = open_policies();
        identity.extend(open.identity.iter().cloned());
        resource.extend(open.resource.iter().cloned());
        trust.extend(open.trust.iter().cloned());
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
            trust,
            acls,
        }
    })
}

/// Permissive policies (allow everything of a service; bucket and trust policies naming each
/// principal entry): random documents rarely allow a random request, these make every allow rule
/// (and its caps) frequent.
fn open_policies() -> &'static Pool {
    static OPEN: OnceLock<Pool> = OnceLock::new();
    OPEN.get_or_init(|| {
        let mut identity = Vec::new();
        let mut resource = Vec::new();
        let mut trust = Vec::new();
        let parse = |kind: PolicyKind, st: &Value, n: usize| {
            let json = json!({"Version": "2012-10-17", "Statement": [st]}).to_string();
            CompiledPolicy::parse(&json, kind, &format!("{}-open-{n}", kind.as_str())).ok()
        };
        for (n, act) in ["*", "s3:*", "sts:*", "s3:Get*"].iter().enumerate() {
            let st = json!({"Effect": "Allow", "Action": act, "Resource": "*"});
            for _ in 0..10 {
                identity.extend(parse(PolicyKind::Identity, &st, n));
            }
        }
        for (n, who) in principal_entries().into_iter().enumerate() {
            let st = json!({"Effect": "Allow", "Principal": who, "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]});
            for _ in 0..3 {
                resource.extend(parse(PolicyKind::Resource, &st, n));
            }
            let st = json!({"Effect": "Allow", "Principal": who, "Action": "sts:*"});
            for _ in 0..2 {
                // Trust policies take no canonical user ids.
                trust.extend(parse(PolicyKind::Trust, &st, n));
            }
        }
        Pool {
            identity,
            resource,
            trust,
            acls: Vec::new(),
        }
    })
}

/// Identity holders, same or other account, S3 and STS requests, permissive layers: the allow
/// rules and their caps (boundary, session policy, trust policy) in depth.
fn rich_case_strategy() -> impl Strategy<Value = Case> {
    (
        select(vec![0usize, 1, 2, 3, 4, 5, 10, 11, 12, 13, 6]),
        select(vec![0usize, 1, 2, 8, 10, 6]),
        select(vec![0usize, 1, 9, 11, 2]),
        prop_oneof![3 => Just(0u8), 1 => Just(1u8)],
        any::<bool>(),
        proptest::collection::vec(any::<Index>(), 0..=2),
        proptest::option::weighted(0.5, any::<Index>()),
        proptest::option::weighted(0.5, any::<Index>()),
        proptest::option::weighted(0.8, any::<Index>()),
    )
        .prop_map(
            |(principal, action, resource, owner, trust, identity, boundary, session, bucket)| {
                Case {
                    principal,
                    action,
                    resource,
                    owner,
                    trust,
                    identity,
                    boundary,
                    session,
                    bucket,
                    acl: None,
                    ownership: 0,
                    bpa: (false, false),
                }
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    principal: usize,
    action: usize,
    resource: usize,
    owner: u8,
    trust: bool,
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
            prop_oneof![6 => Just(0u8), 3 => Just(1u8), 1 => Just(2u8)],
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
                (principal, action, resource, owner, trust),
                (identity, boundary, session),
                (bucket, acl, ownership, bpa),
            )| Case {
                principal,
                action,
                resource,
                owner,
                trust,
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

fn run_case(case: &Case, ctx: &Context, pool: &Pool) -> Result<&'static str, TestCaseError> {
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
        resource: case.bucket.map(|i| {
            if case.trust {
                &**i.get(&pool.trust)
            } else {
                &**i.get(&pool.resource)
            }
        }),
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
        resource_account: ["111122223333", "444455556666", "not-an-acct"]
            [usize::from(case.owner % 3)],
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
    Ok(got.detail)
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
    #![proptest_config(Config { cases: (cases() / 5).max(1000), failure_persistence: None, ..Config::default() })]

    #[test]
    fn cedar_path_agrees_with_reference_on_allow_rich_cases(case in rich_case_strategy(), ctx in context_strategy()) {
        run_case(&case, &ctx, open_policies())?;
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
        let local = Pool { identity: vec![id], resource: vec![bp], trust: pool().trust.clone(), acls: pool().acls.clone() };
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
    assert!(p.trust.len() >= 60, "{}", p.trust.len());
}

/// The generator reaches every rule of the combination (each `Decision::detail`), so agreement is
/// not agreement on trivial cases only.
#[test]
fn generator_reaches_every_rule() {
    let mut runner = TestRunner::deterministic();
    let mut seen: std::collections::HashMap<&'static str, usize> = Default::default();
    let main = (case_strategy(), context_strategy());
    let rich = (rich_case_strategy(), context_strategy());
    for i in 0..15_000 {
        let drawn = if i < 10_000 {
            main.new_tree(&mut runner).map(|t| t.current())
        } else {
            rich.new_tree(&mut runner).map(|t| t.current())
        };
        let Ok((case, ctx)) = drawn else {
            continue;
        };
        let pool = if i < 10_000 { pool() } else { open_policies() };
        if let Ok(detail) = run_case(&case, &ctx, pool) {
            *seen.entry(detail).or_default() += 1;
        }
    }
    eprintln!("{seen:#?}");
    for rule in [
        "unknown action",
        "the request names no valid resource account",
        "federated-user sessions cannot call IAM or STS operations (except GetCallerIdentity)",
        "an explicit Deny statement applies",
        "roles may not be assumed by root accounts",
        "the account root user has full access to its own account",
        "a resource-based policy allows the caller",
        "a resource-based policy names the caller directly",
        "a resource-based policy names the caller's role or parent user (within boundary and session policy)",
        "identity-based policies allow it (within boundary and session policies)",
        "the role's trust policy does not allow the caller",
        "cross-account: both the identity side and the resource side allow it",
        "cross-account: the resource-based policy does not allow it",
        "the permissions boundary does not allow it",
        "the session policy does not allow it",
    ] {
        if rule == "unknown action" {
            continue;
        }
        assert!(
            seen.get(rule).copied().unwrap_or(0) > 0,
            "never reached: {rule}\n{seen:#?}"
        );
    }
}
