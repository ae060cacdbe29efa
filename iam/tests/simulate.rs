//! SimulatePrincipalPolicy / SimulateCustomPolicy over a real `Meta`
//! (SQLite always, Postgres when configured): the XML as rendered, statement positions included.
#![allow(clippy::unwrap_used)]

#[path = "../../meta/tests/suite/common.rs"]
mod common;

use gatehouse_iam::*;
use gatehouse_meta::{Account, Meta};

const A: &str = "111111111111";
const B: &str = "222222222222";

struct NoSeal;
impl Sealer for NoSeal {
    fn seal(&self, plaintext: &[u8], _: &[u8]) -> Result<Vec<u8>, String> {
        Ok(plaintext.to_vec())
    }
}

async fn setup(m: &Meta) {
    for (id, n) in [(A, "a"), (B, "b")] {
        m.create_account(&Account {
            id: id.into(),
            name: n.into(),
            canonical_id: format!("canon-{n}"),
            display_name: n.into(),
            email: None,
            created_ms: 1_600_000_000_000,
        })
        .await
        .unwrap();
    }
}

async fn call(
    m: &Meta,
    account: &str,
    action: &str,
    p: &[(&str, &str)],
) -> Result<String, IamError> {
    let params: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    handle(m, &Caller::root(account), action, &params, "R", &NoSeal)
        .await
        .map(|r| r.body)
}

async fn ok(m: &Meta, action: &str, p: &[(&str, &str)]) -> String {
    call(m, A, action, p)
        .await
        .unwrap_or_else(|e| panic!("{action} {p:?}: {e}"))
}

/// The `<member>` elements of the first `<tag>` list, as text.
fn members(body: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let Some(s) = body.find(&open) else {
        return vec![];
    };
    let s = s + open.len();
    let e = body[s..].find(&format!("</{tag}>")).unwrap() + s;
    let inner = &body[s..e];
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let mut i = 0;
    while i < inner.len() {
        if inner[i..].starts_with("<member>") {
            if depth == 0 {
                start = i + "<member>".len();
            }
            depth += 1;
            i += "<member>".len();
        } else if inner[i..].starts_with("</member>") {
            depth -= 1;
            if depth == 0 {
                out.push(inner[start..i].to_string());
            }
            i += "</member>".len();
        } else {
            i += 1;
        }
    }
    out
}

fn el<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let s = body.find(&open)? + open.len();
    let e = body[s..].find(&format!("</{tag}>"))? + s;
    Some(&body[s..e])
}

const OWN: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
const GROUP_DENY: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", \"Resource\": \"*\"},\n    {\n      \"Effect\": \"Deny\",\n      \"Action\": \"s3:DeleteObject\",\n      \"Resource\": \"arn:aws:s3:::b/*\"\n    }\n  ]\n}";
const PUT: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"*"}}"#;
const CAP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject","s3:ListBucket"],"Resource":"*"}]}"#;

async fn principal(m: Meta) {
    setup(&m).await;
    ok(
        &m,
        "CreateUser",
        &[("UserName", "alice"), ("Path", "/team/")],
    )
    .await;
    ok(
        &m,
        "PutUserPolicy",
        &[
            ("UserName", "alice"),
            ("PolicyName", "own"),
            ("PolicyDocument", OWN),
        ],
    )
    .await;
    ok(&m, "CreateGroup", &[("GroupName", "devs")]).await;
    ok(
        &m,
        "AddUserToGroup",
        &[("GroupName", "devs"), ("UserName", "alice")],
    )
    .await;
    ok(
        &m,
        "PutGroupPolicy",
        &[
            ("GroupName", "devs"),
            ("PolicyName", "gp"),
            ("PolicyDocument", GROUP_DENY),
        ],
    )
    .await;
    for (name, doc) in [("Put", PUT), ("Cap", CAP)] {
        ok(
            &m,
            "CreatePolicy",
            &[("PolicyName", name), ("PolicyDocument", doc)],
        )
        .await;
    }
    let put = format!("arn:aws:iam::{A}:policy/Put");
    let cap = format!("arn:aws:iam::{A}:policy/Cap");
    ok(
        &m,
        "AttachUserPolicy",
        &[("UserName", "alice"), ("PolicyArn", &put)],
    )
    .await;
    ok(
        &m,
        "PutUserPermissionsBoundary",
        &[("UserName", "alice"), ("PermissionsBoundary", &cap)],
    )
    .await;

    let alice = format!("arn:aws:iam::{A}:user/team/alice");
    let body = ok(
        &m,
        "SimulatePrincipalPolicy",
        &[
            ("PolicySourceArn", &alice),
            ("ActionNames.member.1", "s3:GetObject"),
            ("ActionNames.member.2", "s3:PutObject"),
            ("ActionNames.member.3", "s3:DeleteObject"),
            ("ActionNames.member.4", "s3:ListBucket"),
            ("ResourceArns.member.1", "arn:aws:s3:::b/k"),
        ],
    )
    .await;
    assert_eq!(el(&body, "IsTruncated"), Some("false"));
    let r = members(&body, "EvaluationResults");
    assert_eq!(r.len(), 4, "{body}");
    let decision = |i: usize| el(&r[i], "EvalDecision").unwrap();
    let boundary = |i: usize| el(&r[i], "AllowedByPermissionsBoundary").unwrap();
    let ids = |i: usize| {
        members(&r[i], "MatchedStatements")
            .iter()
            .map(|s| el(s, "SourcePolicyId").unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(el(&r[0], "EvalActionName"), Some("s3:GetObject"));
    assert_eq!(el(&r[0], "EvalResourceName"), Some("arn:aws:s3:::b/k"));
    assert_eq!(decision(0), "allowed");
    assert_eq!(ids(0), ["user_alice_own", "Cap"], "identity then boundary");
    assert_eq!(boundary(0), "true");
    // The inline statement's positions: one line, after its `{` (the 38th character) to after its `}`.
    let own = &members(&r[0], "MatchedStatements")[0];
    assert_eq!(el(own, "SourcePolicyType"), Some("IAM Policy"));
    assert_eq!(
        el(own, "StartPosition"),
        Some("<Line>1</Line><Column>39</Column>")
    );
    assert_eq!(
        el(own, "EndPosition"),
        Some(format!("<Line>1</Line><Column>{}</Column>", OWN.len() - 1).as_str())
    );
    assert_eq!(
        decision(1),
        "implicitDeny",
        "the boundary does not allow PutObject"
    );
    assert!(ids(1).is_empty());
    assert_eq!(boundary(1), "false");
    assert_eq!(decision(2), "explicitDeny");
    assert_eq!(ids(2), ["group_devs_gp"]);
    let deny = &members(&r[2], "MatchedStatements")[0];
    assert_eq!(
        el(deny, "StartPosition"),
        Some("<Line>5</Line><Column>6</Column>")
    );
    assert_eq!(
        el(deny, "EndPosition"),
        Some("<Line>9</Line><Column>6</Column>")
    );
    assert_eq!(
        decision(3),
        "allowed",
        "the group's ListBucket, within the boundary"
    );
    assert_eq!(ids(3), ["group_devs_gp", "Cap"]);
    // ResourceArns were given: the per-resource result repeats the decision.
    let rs = members(&r[3], "ResourceSpecificResults");
    assert_eq!(el(&rs[0], "EvalResourceDecision"), Some("allowed"));

    // An input boundary replaces the stored one; a PolicyInputList adds identity policies.
    let body = ok(
        &m,
        "SimulatePrincipalPolicy",
        &[
            ("PolicySourceArn", &alice),
            ("ActionNames.member.1", "s3:PutObject"),
            ("PermissionsBoundaryPolicyInputList.member.1", PUT),
            ("PolicyInputList.member.1", OWN),
        ],
    )
    .await;
    let r = members(&body, "EvaluationResults");
    assert_eq!(el(&r[0], "EvalResourceName"), Some("*"));
    assert_eq!(el(&r[0], "EvalDecision"), Some("allowed"));
    assert!(members(&r[0], "ResourceSpecificResults").is_empty());
    let ids: Vec<_> = members(&r[0], "MatchedStatements")
        .iter()
        .map(|s| el(s, "SourcePolicyId").unwrap().to_string())
        .collect();
    assert_eq!(ids, ["Put", "PermissionsBoundaryPolicyInputList.1"]);

    // A group: its own policies only.
    let body = ok(
        &m,
        "SimulatePrincipalPolicy",
        &[
            ("PolicySourceArn", &format!("arn:aws:iam::{A}:group/devs")),
            ("ActionNames.member.1", "s3:ListBucket"),
            ("ActionNames.member.2", "s3:GetObject"),
        ],
    )
    .await;
    let r = members(&body, "EvaluationResults");
    assert_eq!(el(&r[0], "EvalDecision"), Some("allowed"));
    assert_eq!(el(&r[1], "EvalDecision"), Some("implicitDeny"));
    assert!(el(&r[0], "PermissionsBoundaryDecisionDetail").is_none());

    // Unknown, other-account and wrong-path sources are NoSuchEntity; B cannot simulate A's user.
    for arn in [
        format!("arn:aws:iam::{A}:user/nobody"),
        format!("arn:aws:iam::{A}:user/alice"),
        format!("arn:aws:iam::{A}:role/nobody"),
    ] {
        let e = call(
            &m,
            A,
            "SimulatePrincipalPolicy",
            &[
                ("PolicySourceArn", &arn),
                ("ActionNames.member.1", "s3:GetObject"),
            ],
        )
        .await
        .unwrap_err();
        assert_eq!(e.code_str(), "NoSuchEntity", "{arn}");
    }
    let e = call(
        &m,
        B,
        "SimulatePrincipalPolicy",
        &[
            ("PolicySourceArn", &alice),
            ("ActionNames.member.1", "s3:GetObject"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code_str(), "NoSuchEntity");
}

const BY_IP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;

async fn custom(m: Meta) {
    setup(&m).await;
    let sim = |extra: Vec<(&'static str, &'static str)>| {
        let mut p = vec![
            ("PolicyInputList.member.1", BY_IP),
            ("ActionNames.member.1", "s3:GetObject"),
        ];
        p.extend(extra);
        p
    };
    let ip = |v: &'static str| {
        vec![
            ("ContextEntries.member.1.ContextKeyName", "aws:SourceIp"),
            ("ContextEntries.member.1.ContextKeyType", "ip"),
            ("ContextEntries.member.1.ContextKeyValues.member.1", v),
        ]
    };
    let body = ok(&m, "SimulateCustomPolicy", &sim(ip("10.1.2.3"))).await;
    assert_eq!(el(&body, "EvalDecision"), Some("allowed"), "{body}");
    assert_eq!(el(&body, "SourcePolicyId"), Some("PolicyInputList.1"));
    assert!(members(&body, "MissingContextValues").is_empty());
    let body = ok(&m, "SimulateCustomPolicy", &sim(ip("192.168.0.1"))).await;
    assert_eq!(el(&body, "EvalDecision"), Some("implicitDeny"));
    let body = ok(&m, "SimulateCustomPolicy", &sim(vec![])).await;
    assert_eq!(el(&body, "EvalDecision"), Some("implicitDeny"));
    assert_eq!(members(&body, "MissingContextValues"), ["aws:SourceIp"]);

    // Errors: malformed input policy, unknown action, missing CallerArn with a resource policy.
    let e = call(
        &m,
        A,
        "SimulateCustomPolicy",
        &[
            ("PolicyInputList.member.1", "{\"Version\":"),
            ("ActionNames.member.1", "s3:GetObject"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code_str(), "InvalidInput", "{e}");
    let e = call(
        &m,
        A,
        "SimulateCustomPolicy",
        &[
            ("PolicyInputList.member.1", BY_IP),
            ("ActionNames.member.1", "dynamodb:GetItem"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code_str(), "InvalidInput", "{e}");
    let e = call(
        &m,
        A,
        "SimulateCustomPolicy",
        &[
            ("PolicyInputList.member.1", BY_IP),
            ("ActionNames.member.1", "s3:GetObject"),
            ("ResourcePolicy", BY_IP),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.code_str(), "InvalidInput", "{e}");

    // Paging: 2 actions x 3 resources, 4 then 2.
    let p = [
        ("PolicyInputList.member.1", BY_IP),
        ("ActionNames.member.1", "s3:GetObject"),
        ("ActionNames.member.2", "s3:PutObject"),
        ("ResourceArns.member.1", "arn:aws:s3:::b/1"),
        ("ResourceArns.member.2", "arn:aws:s3:::b/2"),
        ("ResourceArns.member.3", "arn:aws:s3:::b/3"),
        ("MaxItems", "4"),
    ];
    let first = ok(&m, "SimulateCustomPolicy", &p).await;
    assert_eq!(el(&first, "IsTruncated"), Some("true"));
    assert_eq!(members(&first, "EvaluationResults").len(), 4);
    let marker = el(&first, "Marker").unwrap().to_string();
    let mut p2 = p.to_vec();
    p2.push(("Marker", &marker));
    let second = ok(&m, "SimulateCustomPolicy", &p2).await;
    assert_eq!(el(&second, "IsTruncated"), Some("false"));
    let rest = members(&second, "EvaluationResults");
    assert_eq!(rest.len(), 2);
    assert_eq!(el(&rest[1], "EvalActionName"), Some("s3:PutObject"));
    assert_eq!(el(&rest[1], "EvalResourceName"), Some("arn:aws:s3:::b/3"));
}

both!(principal, custom);
