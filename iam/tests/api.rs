//! The IAM API over a real `Meta`: SQLite always, Postgres when `GATEHOUSE_TEST_PG_URL` is set.
#![allow(clippy::unwrap_used)]

#[path = "../../meta/tests/suite/common.rs"]
mod common;

use gatehouse_iam::*;
use gatehouse_meta::{Account, Meta};

const A: &str = "111111111111";
const B: &str = "222222222222";

/// "Seals" by prefixing the context, so tests can see exactly what context was bound.
struct TestSealer;
impl Sealer for TestSealer {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
        Ok([context, b"|", plaintext].concat())
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

async fn call(m: &Meta, c: &Caller, action: &str, p: &[(&str, &str)]) -> Result<String, IamError> {
    let params: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    handle(m, c, action, &params, "REQ1", &TestSealer)
        .await
        .map(|r| r.body)
}

async fn ok(m: &Meta, c: &Caller, action: &str, p: &[(&str, &str)]) -> String {
    match call(m, c, action, p).await {
        Ok(b) => {
            assert!(b.contains(&format!(
                "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
            )));
            assert!(b.ends_with(&format!(
                "<ResponseMetadata><RequestId>REQ1</RequestId></ResponseMetadata></{action}Response>"
            )));
            b
        }
        Err(e) => panic!("{action} {p:?}: {e}"),
    }
}

async fn err(m: &Meta, c: &Caller, action: &str, p: &[(&str, &str)], code: &str) -> IamError {
    match call(m, c, action, p).await {
        Ok(b) => panic!("{action} {p:?}: expected {code}, got {b}"),
        Err(e) => {
            assert_eq!(e.code_str(), code, "{action} {p:?}: {e}");
            e
        }
    }
}

/// The text of the first `<tag>` element.
fn el<'a>(body: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let s = body
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {body}"))
        + open.len();
    let e = body[s..].find(&format!("</{tag}>")).unwrap() + s;
    &body[s..e]
}

const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;

async fn users(m: Meta) {
    setup(&m).await;
    let root = Caller::root(A);
    let b = ok(
        &m,
        &root,
        "CreateUser",
        &[("UserName", "Alice"), ("Path", "/dev/")],
    )
    .await;
    assert_eq!(el(&b, "Arn"), format!("arn:aws:iam::{A}:user/dev/Alice"));
    assert!(el(&b, "UserId").starts_with("AIDA"));
    assert!(el(&b, "CreateDate").ends_with('Z'));
    let e = err(
        &m,
        &root,
        "CreateUser",
        &[("UserName", "alice")],
        "EntityAlreadyExists",
    )
    .await;
    assert_eq!((e.status(), e.fault_type()), (409, "Sender"));
    assert_eq!(e.message, "User with name alice already exists.");
    let e = err(
        &m,
        &root,
        "CreateUser",
        &[("UserName", "bad name")],
        "ValidationError",
    )
    .await;
    assert_eq!(e.status(), 400);
    err(
        &m,
        &root,
        "CreateUser",
        &[("UserName", &"x".repeat(65))],
        "ValidationError",
    )
    .await;
    err(&m, &root, "CreateUser", &[], "ValidationError").await;
    err(
        &m,
        &root,
        "CreateUser",
        &[("UserName", "p"), ("Path", "nopath")],
        "ValidationError",
    )
    .await;
    ok(&m, &root, "CreateUser", &[("UserName", "bob")]).await;
    ok(&m, &root, "CreateUser", &[("UserName", "carol")]).await;

    let b = ok(&m, &root, "GetUser", &[("UserName", "ALICE")]).await;
    assert_eq!(el(&b, "UserName"), "Alice");
    assert_eq!(el(&b, "Path"), "/dev/");
    let e = err(
        &m,
        &root,
        "GetUser",
        &[("UserName", "nobody")],
        "NoSuchEntity",
    )
    .await;
    assert_eq!(e.message, "The user with name nobody cannot be found.");
    assert_eq!(e.status(), 404);
    // No name: the caller. The root gets its root ARN.
    let b = ok(&m, &root, "GetUser", &[]).await;
    assert_eq!(el(&b, "Arn"), format!("arn:aws:iam::{A}:root"));
    assert_eq!(el(&b, "UserId"), A);
    let alice = Caller::user(A, "/dev/", "Alice");
    let b = ok(&m, &alice, "GetUser", &[]).await;
    assert_eq!(el(&b, "UserName"), "Alice");

    let b = ok(&m, &root, "ListUsers", &[("MaxItems", "2")]).await;
    assert_eq!(el(&b, "IsTruncated"), "true");
    assert!(b.contains("<UserName>Alice</UserName>") && b.contains("<UserName>bob</UserName>"));
    let marker = el(&b, "Marker").to_string();
    let b = ok(
        &m,
        &root,
        "ListUsers",
        &[("MaxItems", "2"), ("Marker", &marker)],
    )
    .await;
    assert_eq!(el(&b, "IsTruncated"), "false");
    assert!(b.contains("<UserName>carol</UserName>") && !b.contains("bob"));
    let b = ok(&m, &root, "ListUsers", &[("PathPrefix", "/dev")]).await;
    assert!(b.contains("Alice") && !b.contains("bob"));
    err(
        &m,
        &root,
        "ListUsers",
        &[("MaxItems", "0")],
        "ValidationError",
    )
    .await;
    err(
        &m,
        &root,
        "ListUsers",
        &[("MaxItems", "1001")],
        "ValidationError",
    )
    .await;

    ok(
        &m,
        &root,
        "UpdateUser",
        &[
            ("UserName", "bob"),
            ("NewUserName", "robert"),
            ("NewPath", "/ops/"),
        ],
    )
    .await;
    let b = ok(&m, &root, "GetUser", &[("UserName", "robert")]).await;
    assert_eq!(el(&b, "Arn"), format!("arn:aws:iam::{A}:user/ops/robert"));
    err(
        &m,
        &root,
        "UpdateUser",
        &[("UserName", "robert"), ("NewUserName", "carol")],
        "EntityAlreadyExists",
    )
    .await;
    err(
        &m,
        &root,
        "UpdateUser",
        &[("UserName", "zed"), ("NewUserName", "z")],
        "NoSuchEntity",
    )
    .await;
    ok(&m, &root, "DeleteUser", &[("UserName", "robert")]).await;
    err(
        &m,
        &root,
        "DeleteUser",
        &[("UserName", "robert")],
        "NoSuchEntity",
    )
    .await;

    let e = err(&m, &root, "FrobnicateUser", &[], "InvalidAction").await;
    assert_eq!(e.status(), 400);
}

async fn access_keys(m: Meta) {
    setup(&m).await;
    let root = Caller::root(A);
    ok(&m, &root, "CreateUser", &[("UserName", "alice")]).await;
    let b = ok(&m, &root, "CreateAccessKey", &[("UserName", "ALICE")]).await;
    let id = el(&b, "AccessKeyId").to_string();
    let secret = el(&b, "SecretAccessKey").to_string();
    assert!(id.starts_with("AKIA") && id.len() == 20);
    assert_eq!(secret.len(), 40);
    assert_eq!(el(&b, "Status"), "Active");
    assert_eq!(el(&b, "UserName"), "alice");
    let stored = m.get_access_key(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.secret_sealed,
        format!("gatehouse:access-key:{id}|{secret}").into_bytes()
    );
    assert_eq!(
        (stored.account_id.as_str(), stored.user_name.as_deref()),
        (A, Some("alice"))
    );
    // The user itself, without UserName.
    let alice = Caller::user(A, "/", "alice");
    let b = ok(&m, &alice, "CreateAccessKey", &[]).await;
    let id2 = el(&b, "AccessKeyId").to_string();
    let e = err(
        &m,
        &root,
        "CreateAccessKey",
        &[("UserName", "alice")],
        "LimitExceeded",
    )
    .await;
    assert_eq!(e.message, "Cannot exceed quota for AccessKeysPerUser: 2");
    err(
        &m,
        &root,
        "CreateAccessKey",
        &[("UserName", "nobody")],
        "NoSuchEntity",
    )
    .await;
    let b = ok(&m, &alice, "ListAccessKeys", &[]).await;
    assert!(b.contains(&id) && b.contains(&id2) && !b.contains("SecretAccessKey"));
    ok(
        &m,
        &root,
        "UpdateAccessKey",
        &[
            ("UserName", "alice"),
            ("AccessKeyId", &id),
            ("Status", "Inactive"),
        ],
    )
    .await;
    assert_eq!(
        m.get_access_key(&id).await.unwrap().unwrap().status,
        "Inactive"
    );
    err(
        &m,
        &root,
        "UpdateAccessKey",
        &[
            ("UserName", "alice"),
            ("AccessKeyId", &id),
            ("Status", "Off"),
        ],
        "ValidationError",
    )
    .await;
    let b = ok(&m, &root, "GetAccessKeyLastUsed", &[("AccessKeyId", &id)]).await;
    assert_eq!(el(&b, "UserName"), "alice");
    assert_eq!(el(&b, "ServiceName"), "N/A");
    assert_eq!(el(&b, "Region"), "N/A");
    err(
        &m,
        &root,
        "DeleteUser",
        &[("UserName", "alice")],
        "DeleteConflict",
    )
    .await;
    // Root keys: no UserName from the root.
    let b = ok(&m, &root, "CreateAccessKey", &[]).await;
    let rid = el(&b, "AccessKeyId").to_string();
    assert!(!b.contains("<UserName>"));
    assert_eq!(
        m.get_access_key(&rid).await.unwrap().unwrap().user_name,
        None
    );
    let b = ok(&m, &root, "ListAccessKeys", &[]).await;
    assert!(b.contains(&rid) && !b.contains(&id));
    // A key of another user is not found through this user.
    err(
        &m,
        &root,
        "DeleteAccessKey",
        &[("AccessKeyId", &id)],
        "NoSuchEntity",
    )
    .await;
    ok(
        &m,
        &root,
        "DeleteAccessKey",
        &[("UserName", "alice"), ("AccessKeyId", &id)],
    )
    .await;
    ok(&m, &alice, "DeleteAccessKey", &[("AccessKeyId", &id2)]).await;
    err(
        &m,
        &alice,
        "DeleteAccessKey",
        &[("AccessKeyId", &id2)],
        "NoSuchEntity",
    )
    .await;
    ok(&m, &root, "DeleteUser", &[("UserName", "alice")]).await;
    // A role session must name the user.
    let role = Caller {
        account_id: A.into(),
        kind: CallerKind::Other {
            arn: format!("arn:aws:sts::{A}:assumed-role/r/s"),
        },
    };
    err(&m, &role, "ListAccessKeys", &[], "ValidationError").await;
}

async fn user_policies(m: Meta) {
    setup(&m).await;
    let root = Caller::root(A);
    ok(&m, &root, "CreateUser", &[("UserName", "u")]).await;
    ok(
        &m,
        &root,
        "PutUserPolicy",
        &[
            ("UserName", "u"),
            ("PolicyName", "p1"),
            ("PolicyDocument", DOC),
        ],
    )
    .await;
    let b = ok(
        &m,
        &root,
        "GetUserPolicy",
        &[("UserName", "u"), ("PolicyName", "p1")],
    )
    .await;
    assert_eq!(el(&b, "PolicyDocument"), urlencoding::encode(DOC));
    assert_eq!(el(&b, "UserName"), "u");
    let b = ok(&m, &root, "ListUserPolicies", &[("UserName", "u")]).await;
    assert!(b.contains(
        "<PolicyNames><member>p1</member></PolicyNames><IsTruncated>false</IsTruncated>"
    ));
    let e = err(
        &m,
        &root,
        "PutUserPolicy",
        &[
            ("UserName", "u"),
            ("PolicyName", "p2"),
            ("PolicyDocument", "{nope"),
        ],
        "MalformedPolicyDocument",
    )
    .await;
    assert_eq!(e.status(), 400);
    err(&m, &root, "PutUserPolicy", &[("UserName", "u"), ("PolicyName", "p2"), ("PolicyDocument", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}"#)], "MalformedPolicyDocument").await;
    err(
        &m,
        &root,
        "PutUserPolicy",
        &[
            ("UserName", "nobody"),
            ("PolicyName", "p2"),
            ("PolicyDocument", DOC),
        ],
        "NoSuchEntity",
    )
    .await;
    // The user's inline policies share 2048 characters.
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
        "a".repeat(1900)
    );
    let e = err(
        &m,
        &root,
        "PutUserPolicy",
        &[
            ("UserName", "u"),
            ("PolicyName", "big"),
            ("PolicyDocument", &big),
        ],
        "LimitExceeded",
    )
    .await;
    assert_eq!(
        e.message,
        "Maximum policy size of 2048 bytes exceeded for user u"
    );
    err(
        &m,
        &root,
        "GetUserPolicy",
        &[("UserName", "u"), ("PolicyName", "zz")],
        "NoSuchEntity",
    )
    .await;
    ok(
        &m,
        &root,
        "DeleteUserPolicy",
        &[("UserName", "u"), ("PolicyName", "p1")],
    )
    .await;
    err(
        &m,
        &root,
        "DeleteUserPolicy",
        &[("UserName", "u"), ("PolicyName", "p1")],
        "NoSuchEntity",
    )
    .await;
}

async fn managed_policies(m: Meta) {
    setup(&m).await;
    let root = Caller::root(A);
    let b = ok(
        &m,
        &root,
        "CreatePolicy",
        &[
            ("PolicyName", "Pol"),
            ("Path", "/team/"),
            ("PolicyDocument", DOC),
            ("Description", "desc"),
        ],
    )
    .await;
    let arn = el(&b, "Arn").to_string();
    assert_eq!(arn, format!("arn:aws:iam::{A}:policy/team/Pol"));
    assert_eq!(el(&b, "DefaultVersionId"), "v1");
    assert!(el(&b, "PolicyId").starts_with("ANPA"));
    err(
        &m,
        &root,
        "CreatePolicy",
        &[("PolicyName", "pol"), ("PolicyDocument", DOC)],
        "EntityAlreadyExists",
    )
    .await;
    err(
        &m,
        &root,
        "CreatePolicy",
        &[("PolicyName", "x"), ("PolicyDocument", "[]")],
        "MalformedPolicyDocument",
    )
    .await;
    let b = ok(&m, &root, "GetPolicy", &[("PolicyArn", &arn)]).await;
    assert_eq!(el(&b, "Description"), "desc");
    assert_eq!(el(&b, "AttachmentCount"), "0");
    // Versions.
    for i in 2..=5 {
        let b = ok(
            &m,
            &root,
            "CreatePolicyVersion",
            &[
                ("PolicyArn", &arn),
                ("PolicyDocument", DOC),
                ("SetAsDefault", if i == 4 { "true" } else { "false" }),
            ],
        )
        .await;
        assert_eq!(el(&b, "VersionId"), format!("v{i}"));
    }
    let e = err(
        &m,
        &root,
        "CreatePolicyVersion",
        &[("PolicyArn", &arn), ("PolicyDocument", DOC)],
        "LimitExceeded",
    )
    .await;
    assert!(
        e.message
            .starts_with("A managed policy can have up to 5 versions.")
    );
    let b = ok(
        &m,
        &root,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v4")],
    )
    .await;
    assert_eq!(el(&b, "IsDefaultVersion"), "true");
    assert_eq!(el(&b, "Document"), urlencoding::encode(DOC));
    err(
        &m,
        &root,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "x1")],
        "ValidationError",
    )
    .await;
    err(
        &m,
        &root,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v9")],
        "NoSuchEntity",
    )
    .await;
    let b = ok(
        &m,
        &root,
        "ListPolicyVersions",
        &[("PolicyArn", &arn), ("MaxItems", "3")],
    )
    .await;
    assert!(b.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><ListPolicyVersionsResponse"#));
    assert!(b.contains("<Versions><member><VersionId>v5</VersionId>"));
    assert_eq!(el(&b, "IsTruncated"), "true");
    let marker = el(&b, "Marker").to_string();
    let b = ok(
        &m,
        &root,
        "ListPolicyVersions",
        &[("PolicyArn", &arn), ("Marker", &marker)],
    )
    .await;
    assert!(
        b.contains("<VersionId>v2</VersionId>")
            && b.contains("<VersionId>v1</VersionId>")
            && !b.contains("v3")
    );
    err(
        &m,
        &root,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v4")],
        "DeleteConflict",
    )
    .await;
    ok(
        &m,
        &root,
        "SetDefaultPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    )
    .await;
    for v in ["v1", "v3", "v4", "v5"] {
        ok(
            &m,
            &root,
            "DeletePolicyVersion",
            &[("PolicyArn", &arn), ("VersionId", v)],
        )
        .await;
    }
    let b = ok(
        &m,
        &root,
        "CreatePolicyVersion",
        &[("PolicyArn", &arn), ("PolicyDocument", DOC)],
    )
    .await;
    assert_eq!(el(&b, "VersionId"), "v6");

    // Attachments: customer and AWS managed.
    ok(&m, &root, "CreateUser", &[("UserName", "u")]).await;
    ok(
        &m,
        &root,
        "AttachUserPolicy",
        &[("UserName", "u"), ("PolicyArn", &arn)],
    )
    .await;
    ok(
        &m,
        &root,
        "AttachUserPolicy",
        &[
            ("UserName", "u"),
            (
                "PolicyArn",
                "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            ),
        ],
    )
    .await;
    err(
        &m,
        &root,
        "AttachUserPolicy",
        &[
            ("UserName", "u"),
            ("PolicyArn", "arn:aws:iam::aws:policy/NoSuchThing"),
        ],
        "NoSuchEntity",
    )
    .await;
    err(
        &m,
        &root,
        "AttachUserPolicy",
        &[
            ("UserName", "u"),
            ("PolicyArn", &format!("arn:aws:iam::{B}:policy/Pol")),
        ],
        "NoSuchEntity",
    )
    .await;
    err(
        &m,
        &root,
        "AttachUserPolicy",
        &[("UserName", "u"), ("PolicyArn", "not-an-arn-at-all-really")],
        "InvalidInput",
    )
    .await;
    let b = ok(&m, &root, "ListAttachedUserPolicies", &[("UserName", "u")]).await;
    assert!(b.contains("<member><PolicyName>AmazonS3ReadOnlyAccess</PolicyName><PolicyArn>arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess</PolicyArn></member>"));
    assert!(b.contains("<PolicyName>Pol</PolicyName>"));
    let b = ok(
        &m,
        &root,
        "ListAttachedUserPolicies",
        &[("UserName", "u"), ("PathPrefix", "/team/")],
    )
    .await;
    assert!(!b.contains("AmazonS3ReadOnlyAccess"));
    let b = ok(&m, &root, "ListEntitiesForPolicy", &[("PolicyArn", &arn)]).await;
    assert!(b.contains("<PolicyUsers><member><UserName>u</UserName>"));
    assert!(b.contains("<PolicyGroups></PolicyGroups>"));
    let b = ok(&m, &root, "GetPolicy", &[("PolicyArn", &arn)]).await;
    assert_eq!(el(&b, "AttachmentCount"), "1");
    err(
        &m,
        &root,
        "DeletePolicy",
        &[("PolicyArn", &arn)],
        "DeleteConflict",
    )
    .await;

    // AWS managed policies.
    let aws = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    let b = ok(&m, &root, "GetPolicy", &[("PolicyArn", aws)]).await;
    assert_eq!(el(&b, "DefaultVersionId"), "v3");
    assert_eq!(el(&b, "AttachmentCount"), "1");
    let b = ok(
        &m,
        &root,
        "GetPolicyVersion",
        &[("PolicyArn", aws), ("VersionId", "v3")],
    )
    .await;
    assert!(
        urlencoding::decode(el(&b, "Document"))
            .unwrap()
            .contains("s3:Get*")
    );
    err(
        &m,
        &root,
        "DeletePolicy",
        &[("PolicyArn", aws)],
        "UnmodifiableEntity",
    )
    .await;
    let b = ok(&m, &root, "ListPolicies", &[("Scope", "AWS")]).await;
    for n in [
        "AdministratorAccess",
        "AmazonS3FullAccess",
        "AmazonS3ReadOnlyAccess",
        "IAMFullAccess",
        "IAMReadOnlyAccess",
        "ReadOnlyAccess",
    ] {
        assert!(b.contains(&format!("<PolicyName>{n}</PolicyName>")), "{n}");
    }
    assert!(!b.contains("<PolicyName>Pol</PolicyName>"));
    let b = ok(&m, &root, "ListPolicies", &[("Scope", "Local")]).await;
    assert!(b.contains("<PolicyName>Pol</PolicyName>") && !b.contains("ReadOnlyAccess"));
    let b = ok(&m, &root, "ListPolicies", &[("OnlyAttached", "true")]).await;
    assert_eq!(b.matches("<member>").count(), 2);
    let b = ok(&m, &root, "ListPolicies", &[("MaxItems", "4")]).await;
    assert_eq!(el(&b, "IsTruncated"), "true");
    let marker = el(&b, "Marker").to_string();
    let b = ok(&m, &root, "ListPolicies", &[("Marker", &marker)]).await;
    assert_eq!(b.matches("<member>").count(), 3);
    err(
        &m,
        &root,
        "ListPolicies",
        &[("Scope", "Everything")],
        "ValidationError",
    )
    .await;

    ok(
        &m,
        &root,
        "DetachUserPolicy",
        &[("UserName", "u"), ("PolicyArn", &arn)],
    )
    .await;
    err(
        &m,
        &root,
        "DetachUserPolicy",
        &[("UserName", "u"), ("PolicyArn", &arn)],
        "NoSuchEntity",
    )
    .await;
    err(
        &m,
        &root,
        "DeletePolicy",
        &[("PolicyArn", &arn)],
        "DeleteConflict",
    )
    .await; // v2 and v6 remain
    ok(
        &m,
        &root,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v6")],
    )
    .await;
    ok(&m, &root, "DeletePolicy", &[("PolicyArn", &arn)]).await;
    err(
        &m,
        &root,
        "GetPolicy",
        &[("PolicyArn", &arn)],
        "NoSuchEntity",
    )
    .await;
}

async fn groups(m: Meta) {
    setup(&m).await;
    let root = Caller::root(A);
    ok(&m, &root, "CreateUser", &[("UserName", "u")]).await;
    let b = ok(
        &m,
        &root,
        "CreateGroup",
        &[("GroupName", "Devs"), ("Path", "/eng/")],
    )
    .await;
    assert_eq!(el(&b, "Arn"), format!("arn:aws:iam::{A}:group/eng/Devs"));
    assert!(el(&b, "GroupId").starts_with("AGPA"));
    err(
        &m,
        &root,
        "CreateGroup",
        &[("GroupName", "devs")],
        "EntityAlreadyExists",
    )
    .await;
    ok(
        &m,
        &root,
        "AddUserToGroup",
        &[("GroupName", "devs"), ("UserName", "u")],
    )
    .await;
    err(
        &m,
        &root,
        "AddUserToGroup",
        &[("GroupName", "devs"), ("UserName", "x")],
        "NoSuchEntity",
    )
    .await;
    let b = ok(&m, &root, "GetGroup", &[("GroupName", "devs")]).await;
    assert!(b.contains("<Users><member><Path>/</Path><UserName>u</UserName>"));
    let b = ok(&m, &root, "ListGroupsForUser", &[("UserName", "u")]).await;
    assert!(b.contains("<GroupName>Devs</GroupName>"));
    let b = ok(&m, &root, "ListGroups", &[("PathPrefix", "/eng/")]).await;
    assert!(b.contains("<GroupName>Devs</GroupName>"));
    ok(
        &m,
        &root,
        "PutGroupPolicy",
        &[
            ("GroupName", "devs"),
            ("PolicyName", "gp"),
            ("PolicyDocument", DOC),
        ],
    )
    .await;
    let b = ok(
        &m,
        &root,
        "GetGroupPolicy",
        &[("GroupName", "devs"), ("PolicyName", "gp")],
    )
    .await;
    assert_eq!(el(&b, "GroupName"), "Devs");
    ok(
        &m,
        &root,
        "AttachGroupPolicy",
        &[
            ("GroupName", "devs"),
            ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ],
    )
    .await;
    let b = ok(
        &m,
        &root,
        "ListAttachedGroupPolicies",
        &[("GroupName", "devs")],
    )
    .await;
    assert!(b.contains("ReadOnlyAccess"));
    err(
        &m,
        &root,
        "DeleteGroup",
        &[("GroupName", "devs")],
        "DeleteConflict",
    )
    .await;
    err(
        &m,
        &root,
        "DeleteUser",
        &[("UserName", "u")],
        "DeleteConflict",
    )
    .await;

    // The policy engine's read sees the group's policies.
    let az = m
        .user_authz(A, "u", Some(&resolve_aws_managed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(az.groups.len(), 1);
    assert_eq!(az.groups[0].policies.inline[0].1, DOC);
    assert!(
        az.groups[0].policies.managed[0]
            .document
            .as_deref()
            .unwrap()
            .contains("s3:Get*")
    );

    ok(
        &m,
        &root,
        "RemoveUserFromGroup",
        &[("GroupName", "devs"), ("UserName", "u")],
    )
    .await;
    ok(
        &m,
        &root,
        "DeleteGroupPolicy",
        &[("GroupName", "devs"), ("PolicyName", "gp")],
    )
    .await;
    ok(
        &m,
        &root,
        "DetachGroupPolicy",
        &[
            ("GroupName", "devs"),
            ("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ],
    )
    .await;
    ok(&m, &root, "DeleteGroup", &[("GroupName", "devs")]).await;
    err(
        &m,
        &root,
        "GetGroup",
        &[("GroupName", "devs")],
        "NoSuchEntity",
    )
    .await;
}

async fn roles_boundaries_tags(m: Meta) {
    setup(&m).await;
    let root = Caller::root(A);
    let b = ok(
        &m,
        &root,
        "CreateRole",
        &[
            ("RoleName", "Runner"),
            ("Path", "/svc/"),
            ("AssumeRolePolicyDocument", TRUST),
            ("Description", "runs"),
            ("MaxSessionDuration", "7200"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "ci"),
        ],
    )
    .await;
    assert_eq!(el(&b, "Arn"), format!("arn:aws:iam::{A}:role/svc/Runner"));
    assert_eq!(
        el(&b, "AssumeRolePolicyDocument"),
        urlencoding::encode(TRUST)
    );
    assert_eq!(el(&b, "MaxSessionDuration"), "7200");
    assert!(el(&b, "RoleId").starts_with("AROA"));
    err(
        &m,
        &root,
        "CreateRole",
        &[("RoleName", "runner"), ("AssumeRolePolicyDocument", TRUST)],
        "EntityAlreadyExists",
    )
    .await;
    err(
        &m,
        &root,
        "CreateRole",
        &[
            ("RoleName", "r2"),
            ("AssumeRolePolicyDocument", TRUST),
            ("MaxSessionDuration", "60"),
        ],
        "ValidationError",
    )
    .await;
    err(
        &m,
        &root,
        "CreateRole",
        &[("RoleName", "r2")],
        "ValidationError",
    )
    .await;
    err(
        &m,
        &root,
        "CreateRole",
        &[("RoleName", "r2"), ("AssumeRolePolicyDocument", DOC)],
        "MalformedPolicyDocument",
    )
    .await;
    let b = ok(&m, &root, "GetRole", &[("RoleName", "runner")]).await;
    assert_eq!(el(&b, "Description"), "runs");
    assert!(b.contains("<Tags><member><Key>team</Key><Value>ci</Value></member></Tags>"));
    ok(
        &m,
        &root,
        "UpdateRole",
        &[
            ("RoleName", "runner"),
            ("Description", "new"),
            ("MaxSessionDuration", "43200"),
        ],
    )
    .await;
    let b = ok(&m, &root, "ListRoles", &[("PathPrefix", "/svc/")]).await;
    assert_eq!(el(&b, "Description"), "new");
    assert_eq!(el(&b, "MaxSessionDuration"), "43200");
    let trust2 = TRUST.replace("111111111111:root", "111111111111:user/x");
    ok(
        &m,
        &root,
        "UpdateAssumeRolePolicy",
        &[("RoleName", "runner"), ("PolicyDocument", &trust2)],
    )
    .await;
    let b = ok(&m, &root, "GetRole", &[("RoleName", "runner")]).await;
    assert_eq!(
        el(&b, "AssumeRolePolicyDocument"),
        urlencoding::encode(&trust2)
    );
    ok(
        &m,
        &root,
        "PutRolePolicy",
        &[
            ("RoleName", "runner"),
            ("PolicyName", "rp"),
            ("PolicyDocument", DOC),
        ],
    )
    .await;
    let b = ok(&m, &root, "ListRolePolicies", &[("RoleName", "runner")]).await;
    assert!(b.contains("<member>rp</member>"));
    ok(
        &m,
        &root,
        "AttachRolePolicy",
        &[
            ("RoleName", "runner"),
            ("PolicyArn", "arn:aws:iam::aws:policy/AmazonS3FullAccess"),
        ],
    )
    .await;
    err(
        &m,
        &root,
        "DeleteRole",
        &[("RoleName", "runner")],
        "DeleteConflict",
    )
    .await;

    // Boundaries.
    let b = ok(
        &m,
        &root,
        "CreatePolicy",
        &[("PolicyName", "Bound"), ("PolicyDocument", DOC)],
    )
    .await;
    let barn = el(&b, "Arn").to_string();
    ok(
        &m,
        &root,
        "PutRolePermissionsBoundary",
        &[("RoleName", "runner"), ("PermissionsBoundary", &barn)],
    )
    .await;
    let b = ok(&m, &root, "GetRole", &[("RoleName", "runner")]).await;
    assert_eq!(el(&b, "PermissionsBoundaryArn"), barn);
    err(
        &m,
        &root,
        "PutRolePermissionsBoundary",
        &[
            ("RoleName", "runner"),
            ("PermissionsBoundary", "arn:aws:iam::aws:policy/Nope"),
        ],
        "NoSuchEntity",
    )
    .await;
    let rz = m
        .role_authz(A, "runner", Some(&resolve_aws_managed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rz.boundary.unwrap().document.as_deref(), Some(DOC));
    assert!(
        rz.policies.managed[0]
            .document
            .as_deref()
            .unwrap()
            .contains("s3:*")
    );
    ok(
        &m,
        &root,
        "CreateUser",
        &[
            ("UserName", "u"),
            (
                "PermissionsBoundary",
                "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            ),
        ],
    )
    .await;
    let b = ok(&m, &root, "GetUser", &[("UserName", "u")]).await;
    assert_eq!(
        el(&b, "PermissionsBoundaryArn"),
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    );
    ok(
        &m,
        &root,
        "DeleteUserPermissionsBoundary",
        &[("UserName", "u")],
    )
    .await;
    let b = ok(&m, &root, "GetUser", &[("UserName", "u")]).await;
    assert!(!b.contains("PermissionsBoundary"));
    ok(
        &m,
        &root,
        "PutUserPermissionsBoundary",
        &[("UserName", "u"), ("PermissionsBoundary", &barn)],
    )
    .await;
    err(
        &m,
        &root,
        "DeletePolicy",
        &[("PolicyArn", &barn)],
        "DeleteConflict",
    )
    .await;

    // Tags.
    ok(
        &m,
        &root,
        "TagUser",
        &[
            ("UserName", "u"),
            ("Tags.member.1.Key", "a"),
            ("Tags.member.1.Value", "1"),
            ("Tags.member.2.Key", "b"),
            ("Tags.member.2.Value", "2"),
        ],
    )
    .await;
    err(
        &m,
        &root,
        "TagUser",
        &[
            ("UserName", "u"),
            ("Tags.member.1.Key", "a"),
            ("Tags.member.2.Key", "A"),
        ],
        "InvalidInput",
    )
    .await;
    ok(
        &m,
        &root,
        "UntagUser",
        &[("UserName", "u"), ("TagKeys.member.1", "a")],
    )
    .await;
    let b = ok(&m, &root, "ListUserTags", &[("UserName", "u")]).await;
    assert!(b.contains(
        "<Tags><member><Key>b</Key><Value>2</Value></member></Tags><IsTruncated>false</IsTruncated>"
    ));
    ok(
        &m,
        &root,
        "TagPolicy",
        &[
            ("PolicyArn", &barn),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "v"),
        ],
    )
    .await;
    let b = ok(&m, &root, "ListPolicyTags", &[("PolicyArn", &barn)]).await;
    assert!(b.contains("<Key>k</Key>"));
    ok(
        &m,
        &root,
        "UntagRole",
        &[("RoleName", "runner"), ("TagKeys.member.1", "team")],
    )
    .await;
    let b = ok(&m, &root, "ListRoleTags", &[("RoleName", "runner")]).await;
    assert!(b.contains("<Tags></Tags>"));
    err(
        &m,
        &root,
        "TagRole",
        &[("RoleName", "nobody"), ("Tags.member.1.Key", "k")],
        "NoSuchEntity",
    )
    .await;

    ok(
        &m,
        &root,
        "DeleteRolePolicy",
        &[("RoleName", "runner"), ("PolicyName", "rp")],
    )
    .await;
    ok(
        &m,
        &root,
        "DetachRolePolicy",
        &[
            ("RoleName", "runner"),
            ("PolicyArn", "arn:aws:iam::aws:policy/AmazonS3FullAccess"),
        ],
    )
    .await;
    ok(&m, &root, "DeleteRole", &[("RoleName", "runner")]).await;
    err(
        &m,
        &root,
        "GetRole",
        &[("RoleName", "runner")],
        "NoSuchEntity",
    )
    .await;
}

/// Account B sees and touches none of A's users, keys, policies, groups or roles.
async fn isolation(m: Meta) {
    setup(&m).await;
    let a = Caller::root(A);
    let b = Caller::root(B);
    ok(&m, &a, "CreateUser", &[("UserName", "alice")]).await;
    let k = ok(&m, &a, "CreateAccessKey", &[("UserName", "alice")]).await;
    let kid = el(&k, "AccessKeyId").to_string();
    let p = ok(
        &m,
        &a,
        "CreatePolicy",
        &[("PolicyName", "P"), ("PolicyDocument", DOC)],
    )
    .await;
    let parn = el(&p, "Arn").to_string();
    ok(&m, &a, "CreateGroup", &[("GroupName", "g")]).await;
    ok(
        &m,
        &a,
        "CreateRole",
        &[("RoleName", "r"), ("AssumeRolePolicyDocument", TRUST)],
    )
    .await;
    ok(
        &m,
        &a,
        "PutUserPolicy",
        &[
            ("UserName", "alice"),
            ("PolicyName", "i"),
            ("PolicyDocument", DOC),
        ],
    )
    .await;

    let lu = ok(&m, &b, "ListUsers", &[]).await;
    assert!(lu.contains("<Users></Users>"));
    err(&m, &b, "GetUser", &[("UserName", "alice")], "NoSuchEntity").await;
    err(
        &m,
        &b,
        "ListAccessKeys",
        &[("UserName", "alice")],
        "NoSuchEntity",
    )
    .await;
    err(
        &m,
        &b,
        "DeleteAccessKey",
        &[("UserName", "alice"), ("AccessKeyId", &kid)],
        "NoSuchEntity",
    )
    .await;
    err(
        &m,
        &b,
        "GetAccessKeyLastUsed",
        &[("AccessKeyId", &kid)],
        "NoSuchEntity",
    )
    .await;
    let rk = ok(&m, &b, "ListAccessKeys", &[]).await;
    assert!(!rk.contains(&kid));
    err(
        &m,
        &b,
        "GetUserPolicy",
        &[("UserName", "alice"), ("PolicyName", "i")],
        "NoSuchEntity",
    )
    .await;
    err(&m, &b, "GetPolicy", &[("PolicyArn", &parn)], "NoSuchEntity").await;
    err(
        &m,
        &b,
        "DeletePolicy",
        &[("PolicyArn", &parn)],
        "NoSuchEntity",
    )
    .await;
    err(
        &m,
        &b,
        "CreatePolicyVersion",
        &[("PolicyArn", &parn), ("PolicyDocument", DOC)],
        "NoSuchEntity",
    )
    .await;
    let lp = ok(&m, &b, "ListPolicies", &[("Scope", "Local")]).await;
    assert!(lp.contains("<Policies></Policies>"));
    err(&m, &b, "GetGroup", &[("GroupName", "g")], "NoSuchEntity").await;
    err(&m, &b, "GetRole", &[("RoleName", "r")], "NoSuchEntity").await;
    err(
        &m,
        &b,
        "ListEntitiesForPolicy",
        &[("PolicyArn", &parn)],
        "NoSuchEntity",
    )
    .await;
    // B may create the same names independently.
    ok(&m, &b, "CreateUser", &[("UserName", "alice")]).await;
    ok(
        &m,
        &b,
        "CreatePolicy",
        &[("PolicyName", "P"), ("PolicyDocument", DOC)],
    )
    .await;
    let la = ok(&m, &a, "ListUsers", &[]).await;
    assert_eq!(la.matches("<member>").count(), 1);
    assert!(
        m.user_authz(B, "alice", None)
            .await
            .unwrap()
            .unwrap()
            .policies
            .inline
            .is_empty()
    );
}

/// The response envelope and the error rendering data, exactly.
#[tokio::test]
async fn envelope_and_error_table() {
    let db = common::sqlite().await;
    setup(&db.meta).await;
    ok(
        &db.meta,
        &Caller::root(A),
        "CreateUser",
        &[("UserName", "x")],
    )
    .await;
    let body = ok(
        &db.meta,
        &Caller::root(A),
        "DeleteUser",
        &[("UserName", "x")],
    )
    .await;
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <ResponseMetadata><RequestId>REQ1</RequestId></ResponseMetadata></DeleteUserResponse>"
    );
    let e = err(
        &db.meta,
        &Caller::root(A),
        "DeleteUser",
        &[("UserName", "x")],
        "NoSuchEntity",
    )
    .await;
    assert_eq!((e.status(), e.fault_type()), (404, "Sender"));
    assert_eq!(IamErrorCode::ServiceFailure.fault_type(), "Receiver");
    assert_eq!(IamErrorCode::ServiceFailure.status(), 500);
    assert!(is_known_action("CreateUser") && !is_known_action("Nope"));
    db.finish().await;
}

both!(
    users,
    access_keys,
    user_policies,
    managed_policies,
    groups,
    roles_boundaries_tags,
    isolation
);
