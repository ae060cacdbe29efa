//! AWS's documented example policies, evaluated through the public entry point.

use std::net::IpAddr;
use std::sync::Arc;

use gatehouse_policy::reference::reference_evaluate;
use gatehouse_policy::{
    AclTarget, CannedAcl, CompiledPolicy, Context, ContextValue, Layer, Layers, ObjectOwnership,
    Outcome, PolicyKind, Principal, PublicAccessBlock, Request, SessionData, evaluate,
};

const A: &str = "111122223333";
const B: &str = "444455556666";
const CANON_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn pol(kind: PolicyKind, json: &str) -> Arc<CompiledPolicy> {
    CompiledPolicy::parse(json, kind, "test").unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn alice() -> Principal {
    Principal::user(A, "/", "alice", "AIDAALICE", Some(CANON_A))
}

/// Evaluates through both paths and insists they agree.
fn check(
    p: &Principal,
    action: &str,
    resource: &str,
    owner: &str,
    ctx: &Context,
    layers: &Layers<'_>,
) -> Outcome {
    let req = Request {
        principal: p,
        action,
        resource,
        resource_account: owner,
        context: ctx,
    };
    let d = evaluate(&req, layers);
    assert_eq!(
        d.outcome,
        reference_evaluate(&req, layers),
        "paths disagree: {d:?}"
    );
    d.outcome
}

const HOME: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AllowListingOfUserFolder", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::amzn-s3-demo-bucket",
     "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}},
    {"Sid": "AllowAllS3ActionsInUserFolder", "Effect": "Allow", "Action": "s3:*",
     "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"}
  ]
}"#;

#[test]
fn home_folder_with_username_variable() {
    let id = [pol(PolicyKind::Identity, HOME)];
    let layers = Layers {
        identity: &id,
        ..Default::default()
    };
    let p = alice();
    let e = Context::new();
    assert_eq!(
        check(
            &p,
            "s3:GetObject",
            "arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a.txt",
            A,
            &e,
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "s3:PutObject",
            "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/a.txt",
            A,
            &e,
            &layers
        ),
        Outcome::ImplicitDeny
    );
    let list = |prefix: &str| Context::new().with("s3:prefix", prefix);
    assert_eq!(
        check(
            &p,
            "s3:ListBucket",
            "arn:aws:s3:::amzn-s3-demo-bucket",
            A,
            &list("home/alice/x"),
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "s3:ListBucket",
            "arn:aws:s3:::amzn-s3-demo-bucket",
            A,
            &list(""),
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "s3:ListBucket",
            "arn:aws:s3:::amzn-s3-demo-bucket",
            A,
            &list("home/bob/"),
            &layers
        ),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        check(
            &p,
            "s3:ListBucket",
            "arn:aws:s3:::amzn-s3-demo-bucket",
            A,
            &e,
            &layers
        ),
        Outcome::ImplicitDeny
    );
    // A role session has no aws:username: the variable does not resolve, nothing matches.
    let r = Principal::assumed_role(A, "/", "r", "s", "AROAR", None);
    assert_eq!(
        check(
            &r,
            "s3:GetObject",
            "arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a",
            A,
            &e,
            &layers
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn ip_allow_list_bucket_policy() {
    let bp = pol(
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Id":"S3PolicyId1","Statement":[{"Sid":"IPAllow","Effect":"Deny","Principal":"*","Action":"s3:*",
        "Resource":["arn:aws:s3:::amzn-s3-demo-bucket","arn:aws:s3:::amzn-s3-demo-bucket/*"],
        "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:DB8:1234:5678::/64"]}}}]}"#,
    );
    let id = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    )];
    let layers = Layers {
        identity: &id,
        resource: Some(&bp),
        ..Default::default()
    };
    let ip = |s: &str| Context::new().with("aws:SourceIp", s.parse::<IpAddr>().expect("ip"));
    let p = alice();
    let obj = "arn:aws:s3:::amzn-s3-demo-bucket/k";
    assert_eq!(
        check(&p, "s3:GetObject", obj, A, &ip("192.0.2.7"), &layers),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "s3:GetObject",
            obj,
            A,
            &ip("2001:db8:1234:5678::1"),
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(&p, "s3:GetObject", obj, A, &ip("198.51.100.1"), &layers),
        Outcome::ExplicitDeny
    );
    assert_eq!(
        check(&p, "s3:GetObject", obj, A, &Context::new(), &layers),
        Outcome::ExplicitDeny,
        "missing key: NotIpAddress holds"
    );
    // The bucket policy's deny applies to the root user too.
    let root = Principal::root(A, None);
    assert_eq!(
        check(&root, "s3:GetObject", obj, A, &ip("198.51.100.1"), &layers),
        Outcome::ExplicitDeny
    );
    assert_eq!(
        check(&root, "s3:GetObject", obj, A, &ip("192.0.2.1"), &layers),
        Outcome::Allow
    );
}

#[test]
fn mfa_and_tls_only() {
    let id = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":"s3:*","Resource":"*"},
          {"Sid":"DenyWithoutMFA","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}},
          {"Sid":"TlsOnly","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
    )];
    let layers = Layers {
        identity: &id,
        ..Default::default()
    };
    let p = alice();
    let r = "arn:aws:s3:::b/k";
    let tls = Context::new().with("aws:SecureTransport", true);
    assert_eq!(
        check(&p, "s3:DeleteObject", r, A, &tls, &layers),
        Outcome::ExplicitDeny,
        "no MFA key: BoolIfExists holds"
    );
    // MFA is session data of the principal (temporary credentials), never a context key.
    let with_mfa = |present: bool| {
        alice().with_session(SessionData {
            mfa_present: Some(present),
            ..Default::default()
        })
    };
    assert_eq!(
        check(&with_mfa(true), "s3:DeleteObject", r, A, &tls, &layers),
        Outcome::Allow
    );
    assert_eq!(
        check(&with_mfa(false), "s3:DeleteObject", r, A, &tls, &layers),
        Outcome::ExplicitDeny
    );
    let forged = tls.clone().with("aws:MultiFactorAuthPresent", true);
    assert_eq!(
        check(&p, "s3:DeleteObject", r, A, &forged, &layers),
        Outcome::ExplicitDeny,
        "a context value cannot claim MFA"
    );
    let plain = Context::new().with("aws:SecureTransport", false);
    let d = evaluate(
        &Request {
            principal: &p,
            action: "s3:GetObject",
            resource: r,
            resource_account: A,
            context: &plain,
        },
        &layers,
    );
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        d.reasons.first().and_then(|r| r.sid.as_deref()),
        Some("TlsOnly"),
        "explain names the statement"
    );
}

#[test]
fn deny_unless_encrypted() {
    let bp = pol(
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Statement":[
          {"Sid":"DenyIncorrectEncryptionHeader","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*",
           "Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
          {"Sid":"DenyUnEncryptedObjectUploads","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*",
           "Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}]}"#,
    );
    let id = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]}"#,
    )];
    let layers = Layers {
        identity: &id,
        resource: Some(&bp),
        ..Default::default()
    };
    let p = alice();
    let kms = Context::new().with("s3:x-amz-server-side-encryption", "aws:kms");
    assert_eq!(
        check(&p, "s3:PutObject", "arn:aws:s3:::b/k", A, &kms, &layers),
        Outcome::Allow
    );
    let aes = Context::new().with("s3:x-amz-server-side-encryption", "AES256");
    assert_eq!(
        check(&p, "s3:PutObject", "arn:aws:s3:::b/k", A, &aes, &layers),
        Outcome::ExplicitDeny
    );
    let d = evaluate(
        &Request {
            principal: &p,
            action: "s3:PutObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: A,
            context: &Context::new(),
        },
        &layers,
    );
    assert_eq!(d.outcome, Outcome::ExplicitDeny);
    assert_eq!(
        d.reasons.len(),
        2,
        "both deny statements apply when the header is missing: {d:?}"
    );
}

#[test]
fn tag_based_abac() {
    let id = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*",
          "Condition":{"StringEquals":{"s3:ExistingObjectTag/team":"${aws:PrincipalTag/team}"}}},
          {"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*",
           "Condition":{"ForAllValues:StringEquals":{"s3:RequestObjectTagKeys":["team","project"]}}}]}"#,
    )];
    let layers = Layers {
        identity: &id,
        ..Default::default()
    };
    let p = alice().with_tags([("Team".to_string(), "blue".to_string())]);
    let tagged = |t: &str| Context::new().with("s3:ExistingObjectTag/team", t);
    assert_eq!(
        check(
            &p,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &tagged("blue"),
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &tagged("red"),
            &layers
        ),
        Outcome::ImplicitDeny
    );
    let keys = |k: &[&str]| {
        Context::new().with(
            "s3:RequestObjectTagKeys",
            ContextValue::List(k.iter().map(|s| (*s).into()).collect()),
        )
    };
    assert_eq!(
        check(
            &p,
            "s3:PutObjectTagging",
            "arn:aws:s3:::b/k",
            A,
            &keys(&["team"]),
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "s3:PutObjectTagging",
            "arn:aws:s3:::b/k",
            A,
            &keys(&["team", "cost"]),
            &layers
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn cross_account_needs_both_sides() {
    let bp = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}}]}}"#
        ),
    );
    let allow_all = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    )];
    let bob = Principal::user(B, "/", "bob", "AIDABOB", None);
    let e = Context::new();
    let both = Layers {
        identity: &allow_all,
        resource: Some(&bp),
        ..Default::default()
    };
    assert_eq!(
        check(&bob, "s3:GetObject", "arn:aws:s3:::b/k", A, &e, &both),
        Outcome::Allow
    );
    assert_eq!(
        check(&bob, "s3:PutObject", "arn:aws:s3:::b/k", A, &e, &both),
        Outcome::ImplicitDeny,
        "bucket policy does not grant Put"
    );
    let no_identity = Layers {
        resource: Some(&bp),
        ..Default::default()
    };
    assert_eq!(
        check(
            &bob,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &e,
            &no_identity
        ),
        Outcome::ImplicitDeny
    );
    let no_resource = Layers {
        identity: &allow_all,
        ..Default::default()
    };
    assert_eq!(
        check(
            &bob,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &e,
            &no_resource
        ),
        Outcome::ImplicitDeny
    );
    // Root of account B is trusted by the account principal, and needs no identity policy.
    assert_eq!(
        check(
            &Principal::root(B, None),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &e,
            &no_identity
        ),
        Outcome::Allow
    );
    // Same account: an account principal alone does not grant a user anything.
    let own = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
        ),
    );
    let own_layers = Layers {
        resource: Some(&own),
        ..Default::default()
    };
    assert_eq!(
        check(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &e,
            &own_layers
        ),
        Outcome::ImplicitDeny
    );
    // ...but naming the user ARN does.
    let direct = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
        ),
    );
    let direct_layers = Layers {
        resource: Some(&direct),
        ..Default::default()
    };
    assert_eq!(
        check(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &e,
            &direct_layers
        ),
        Outcome::Allow
    );
}

#[test]
fn boundary_caps_admin_and_session_narrows_role() {
    let admin = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )];
    let boundary = pol(
        PolicyKind::Boundary,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:Get*"],"Resource":"*"}]}"#,
    );
    let layers = Layers {
        identity: &admin,
        boundary: Some(&boundary),
        ..Default::default()
    };
    let p = alice();
    let e = Context::new();
    assert_eq!(
        check(&p, "s3:GetObject", "arn:aws:s3:::b/k", A, &e, &layers),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "iam:GetUser",
            &format!("arn:aws:iam::{A}:user/alice"),
            A,
            &e,
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &p,
            "iam:CreateUser",
            &format!("arn:aws:iam::{A}:user/x"),
            A,
            &e,
            &layers
        ),
        Outcome::ImplicitDeny
    );

    let role = Principal::assumed_role(A, "/", "Admin", "sess", "AROAADMIN", None);
    let session = [pol(
        PolicyKind::Session,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/*"}]}"#,
    )];
    let narrowed = Layers {
        identity: &admin,
        session: Some(&session),
        ..Default::default()
    };
    assert_eq!(
        check(
            &role,
            "s3:GetObject",
            "arn:aws:s3:::b/public/x",
            A,
            &e,
            &narrowed
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &role,
            "s3:GetObject",
            "arn:aws:s3:::b/private/x",
            A,
            &e,
            &narrowed
        ),
        Outcome::ImplicitDeny
    );
    // A bucket policy naming the session ARN is not capped by the session policy; naming the role is.
    let by_session = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:sts::{A}:assumed-role/Admin/sess"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
        ),
    );
    let by_role = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:role/Admin"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
        ),
    );
    let s1 = Layers {
        resource: Some(&by_session),
        ..narrowed
    };
    assert_eq!(
        check(
            &role,
            "s3:GetObject",
            "arn:aws:s3:::b/private/x",
            A,
            &e,
            &s1
        ),
        Outcome::Allow
    );
    let s2 = Layers {
        resource: Some(&by_role),
        ..narrowed
    };
    assert_eq!(
        check(
            &role,
            "s3:GetObject",
            "arn:aws:s3:::b/private/x",
            A,
            &e,
            &s2
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn public_read_acl_and_block_public_access() {
    let acl = CannedAcl::PublicRead.to_acl(AclTarget::Object, CANON_A, None);
    let anon = Principal::anonymous();
    let e = Context::new();
    let obj = "arn:aws:s3:::b/k";
    let with_acl = Layers {
        acl: Some(&acl),
        object_ownership: ObjectOwnership::ObjectWriter,
        ..Default::default()
    };
    assert_eq!(
        check(&anon, "s3:GetObject", obj, A, &e, &with_acl),
        Outcome::Allow
    );
    assert_eq!(
        check(&anon, "s3:PutObjectAcl", obj, A, &e, &with_acl),
        Outcome::ImplicitDeny
    );
    let enforced = Layers {
        object_ownership: ObjectOwnership::BucketOwnerEnforced,
        ..with_acl
    };
    assert_eq!(
        check(&anon, "s3:GetObject", obj, A, &e, &enforced),
        Outcome::ImplicitDeny
    );
    let ignore = Layers {
        block_public_access: PublicAccessBlock {
            ignore_public_acls: true,
            ..Default::default()
        },
        ..with_acl
    };
    assert_eq!(
        check(&anon, "s3:GetObject", obj, A, &e, &ignore),
        Outcome::ImplicitDeny
    );
    assert!(PublicAccessBlock::all().check_put_acl(&acl).is_err());

    let public = pol(
        PolicyKind::Resource,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
    );
    assert!(public.is_public());
    let open = Layers {
        resource: Some(&public),
        ..Default::default()
    };
    assert_eq!(
        check(&anon, "s3:GetObject", obj, A, &e, &open),
        Outcome::Allow
    );
    let restricted = Layers {
        block_public_access: PublicAccessBlock {
            restrict_public_buckets: true,
            ..Default::default()
        },
        ..open
    };
    assert_eq!(
        check(&anon, "s3:GetObject", obj, A, &e, &restricted),
        Outcome::ImplicitDeny
    );
    assert_eq!(
        check(&alice(), "s3:GetObject", obj, A, &e, &restricted),
        Outcome::Allow,
        "owner-account principals keep access"
    );
    assert!(
        PublicAccessBlock {
            block_public_policy: true,
            ..Default::default()
        }
        .check_put_policy(&public)
        .is_err()
    );
}

#[test]
fn trust_policy_assume_role() {
    let trust = pol(
        PolicyKind::Trust,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"xyz"}}}}}},
        {{"Effect":"Allow","Principal":{{"Federated":"accounts.google.com"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"accounts.google.com:aud":"app"}}}}}}]}}"#
        ),
    );
    let role = format!("arn:aws:iam::{A}:role/R");
    let allow_assume = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    )];
    let bob = Principal::user(B, "/", "bob", "AIDABOB", None);
    let layers = Layers {
        identity: &allow_assume,
        resource: Some(&trust),
        ..Default::default()
    };
    let ext = Context::new().with("sts:ExternalId", "xyz");
    assert_eq!(
        check(&bob, "sts:AssumeRole", &role, A, &ext, &layers),
        Outcome::Allow
    );
    assert_eq!(
        check(&bob, "sts:AssumeRole", &role, A, &Context::new(), &layers),
        Outcome::ImplicitDeny
    );
    let google = Principal::federated("accounts.google.com");
    let aud = Context::new().with("accounts.google.com:aud", "app");
    assert_eq!(
        check(
            &google,
            "sts:AssumeRoleWithWebIdentity",
            &role,
            A,
            &aud,
            &layers
        ),
        Outcome::Allow
    );
    assert_eq!(
        check(
            &google,
            "sts:AssumeRoleWithWebIdentity",
            &role,
            A,
            &Context::new(),
            &layers
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn root_is_not_subject_to_identity_policies_and_unknown_actions_deny() {
    let deny_all = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
    )];
    let layers = Layers {
        identity: &deny_all,
        ..Default::default()
    };
    let root = Principal::root(A, None);
    let d = evaluate(
        &Request {
            principal: &root,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: A,
            context: &Context::new(),
        },
        &layers,
    );
    assert_eq!(d.outcome, Outcome::Allow);
    assert_eq!(d.reasons.first().map(|r| r.layer), Some(Layer::Root));
    assert_eq!(
        check(
            &root,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            B,
            &Context::new(),
            &layers
        ),
        Outcome::ImplicitDeny,
        "other account's bucket"
    );
    assert_eq!(
        check(
            &alice(),
            "s3:NoSuchAction",
            "*",
            A,
            &Context::new(),
            &Layers::default()
        ),
        Outcome::ImplicitDeny
    );
}

#[test]
fn not_principal_deny_needs_account_listed() {
    let bp = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":["arn:aws:iam::{A}:user/alice"]}},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}]}}"#
        ),
    );
    let allow_all = [pol(
        PolicyKind::Identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    )];
    let layers = Layers {
        identity: &allow_all,
        resource: Some(&bp),
        ..Default::default()
    };
    // Alice's account identity is not listed, so AWS still denies her (documented NotPrincipal pitfall).
    assert_eq!(
        check(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &Context::new(),
            &layers
        ),
        Outcome::ExplicitDeny
    );
    let bp2 = pol(
        PolicyKind::Resource,
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":["arn:aws:iam::{A}:user/alice","arn:aws:iam::{A}:root"]}},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}]}}"#
        ),
    );
    let layers2 = Layers {
        resource: Some(&bp2),
        ..layers
    };
    assert_eq!(
        check(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &Context::new(),
            &layers2
        ),
        Outcome::Allow
    );
    let eve = Principal::user(A, "/", "eve", "AIDAEVE", None);
    assert_eq!(
        check(
            &eve,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &Context::new(),
            &layers2
        ),
        Outcome::ExplicitDeny
    );
}
