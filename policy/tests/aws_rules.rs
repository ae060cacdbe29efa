//! Regression tests for issue 8: each test is named after the AWS evaluation rule it enforces, and
//! each failed on the engine before the fix (allowed where AWS denies, or the reverse).

use std::sync::Arc;

use gatehouse_policy::{
    CompiledPolicy, Context, ContextValue, Layer, Layers, Outcome, PolicyKind, Principal, Request,
    evaluate,
};

const A: &str = "111122223333";
const B: &str = "444455556666";

fn pol(kind: PolicyKind, json: &str) -> Arc<CompiledPolicy> {
    CompiledPolicy::parse(json, kind, "test").unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

fn identity(statements: &str) -> Arc<CompiledPolicy> {
    pol(PolicyKind::Identity, &doc(statements))
}

fn alice() -> Principal {
    Principal::user(A, "/", "alice", "AIDAALICE", None)
}

fn role_session() -> Principal {
    Principal::assumed_role(A, "/", "R", "s1", "AROAR", None)
}

/// A federated-user session of IAM user `alice` of account A.
fn fed_alice() -> Principal {
    Principal::federated_user(A, "/", "alice", "fed", None)
}

fn run(
    p: &Principal,
    action: &str,
    resource: &str,
    owner: &str,
    ctx: &Context,
    layers: &Layers<'_>,
) -> Outcome {
    let req = Request::new(p, action, resource, owner, ctx);
    let d = evaluate(&req, layers);
    d.outcome
}

const ROLE: &str = "arn:aws:iam::111122223333:role/R";

#[test]
fn trust_policy_must_allow_the_principal_even_in_the_same_account() {
    let trust = pol(
        PolicyKind::Trust,
        &doc(
            r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
        ),
    );
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        resource: Some(&trust),
        ..Default::default()
    };
    let ctx = Context::new();
    assert_ne!(
        run(&alice(), "sts:AssumeRole", ROLE, A, &ctx, &layers),
        Outcome::Allow
    );
    // Without any trust policy, nobody may assume the role either.
    let no_trust = Layers {
        identity: &ids,
        ..Default::default()
    };
    assert_ne!(
        run(&alice(), "sts:AssumeRole", ROLE, A, &ctx, &no_trust),
        Outcome::Allow
    );
}

#[test]
fn trust_policy_naming_the_user_still_needs_the_permissions_boundary() {
    let trust = pol(
        PolicyKind::Trust,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":"sts:AssumeRole"}}"#
        )),
    );
    let boundary = pol(
        PolicyKind::Boundary,
        &doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
    );
    let layers = Layers {
        boundary: Some(&boundary),
        resource: Some(&trust),
        ..Default::default()
    };
    let ctx = Context::new();
    assert_ne!(
        run(&alice(), "sts:AssumeRole", ROLE, A, &ctx, &layers),
        Outcome::Allow
    );
    // Without the boundary the trust policy alone lets the named user in (same account).
    let no_boundary = Layers {
        resource: Some(&trust),
        ..Default::default()
    };
    assert_eq!(
        run(&alice(), "sts:AssumeRole", ROLE, A, &ctx, &no_boundary),
        Outcome::Allow
    );
}

#[test]
fn roles_may_not_be_assumed_by_root_accounts() {
    let trust = pol(
        PolicyKind::Trust,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"sts:AssumeRole"}}"#
        )),
    );
    let layers = Layers {
        resource: Some(&trust),
        ..Default::default()
    };
    let ctx = Context::new();
    assert_ne!(
        run(
            &Principal::root(A, None),
            "sts:AssumeRole",
            ROLE,
            A,
            &ctx,
            &layers
        ),
        Outcome::Allow
    );
    let trust_b = pol(
        PolicyKind::Trust,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"sts:AssumeRole"}}"#
        )),
    );
    let layers_b = Layers {
        resource: Some(&trust_b),
        ..Default::default()
    };
    assert_ne!(
        run(
            &Principal::root(B, None),
            "sts:AssumeRole",
            ROLE,
            A,
            &ctx,
            &layers_b
        ),
        Outcome::Allow
    );
}

#[test]
fn a_request_must_name_a_valid_resource_account() {
    let ctx = Context::new();
    // The root of B, no policies at all: an invalid (empty) resource account must not make it
    // "same account".
    assert_ne!(
        run(
            &Principal::root(B, None),
            "s3:DeleteObject",
            "arn:aws:s3:::b/k",
            "",
            &ctx,
            &Layers::default()
        ),
        Outcome::Allow
    );
    let bp = pol(
        PolicyKind::Resource,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:user/bob"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#
        )),
    );
    let layers = Layers {
        resource: Some(&bp),
        ..Default::default()
    };
    let bob = Principal::user(B, "/", "bob", "AIDABOB", None);
    assert_ne!(
        run(
            &bob,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            "not-an-account",
            &ctx,
            &layers
        ),
        Outcome::Allow
    );
    // With the real owner (A) it is cross-account: the bucket policy alone is not enough.
    assert_ne!(
        run(&bob, "s3:GetObject", "arn:aws:s3:::b/k", A, &ctx, &layers),
        Outcome::Allow
    );
}

#[test]
fn federated_user_session_without_session_policy_has_no_permissions() {
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    let ctx = Context::new();
    assert_ne!(
        run(
            &fed_alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &ctx,
            &layers
        ),
        Outcome::Allow
    );
    // A role session without a session policy keeps the role's permissions.
    assert_eq!(
        run(
            &role_session(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &ctx,
            &layers
        ),
        Outcome::Allow
    );
}

#[test]
fn unresolved_policy_variable_makes_the_statement_not_match() {
    let ctx = Context::new().with("s3:prefix", "home/other/");
    // NotResource with a variable the role session has no value for.
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/home/${aws:username}/*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    assert_ne!(
        run(
            &role_session(),
            "s3:GetObject",
            "arn:aws:s3:::b/home/x/k",
            A,
            &ctx,
            &layers
        ),
        Outcome::Allow
    );
    // A negated operator whose value holds an unresolved variable.
    let ids2 = [identity(
        r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringNotLike":{"s3:prefix":"home/${aws:username}/*"}}}"#,
    )];
    let layers2 = Layers {
        identity: &ids2,
        ..Default::default()
    };
    assert_ne!(
        run(
            &role_session(),
            "s3:ListBucket",
            "arn:aws:s3:::b",
            A,
            &ctx,
            &layers2
        ),
        Outcome::Allow
    );
    // The user has a name: the same statements apply to her.
    assert_eq!(
        run(
            &alice(),
            "s3:ListBucket",
            "arn:aws:s3:::b",
            A,
            &ctx,
            &layers2
        ),
        Outcome::Allow
    );
}

#[test]
fn not_principal_with_deny_always_denies_principals_with_a_permissions_boundary() {
    let bp = pol(
        PolicyKind::Resource,
        &doc(&format!(
            r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":["arn:aws:iam::{A}:user/alice","arn:aws:iam::{A}:root"]}},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}"#
        )),
    );
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#,
    )];
    let boundary = pol(
        PolicyKind::Boundary,
        &doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
    );
    let ctx = Context::new();
    let with_boundary = Layers {
        identity: &ids,
        boundary: Some(&boundary),
        resource: Some(&bp),
        ..Default::default()
    };
    assert_eq!(
        run(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &ctx,
            &with_boundary
        ),
        Outcome::ExplicitDeny
    );
    let without = Layers {
        boundary: None,
        ..with_boundary
    };
    assert_eq!(
        run(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &ctx,
            &without
        ),
        Outcome::Allow
    );
}

#[test]
fn numeric_condition_values_parse_and_compare_the_same_way() {
    let json = doc(
        r#"{"Effect":"Deny","Action":"s3:ListBucket","Resource":"*","Condition":{"NumericGreaterThan":{"s3:max-keys":" 100"}}},
           {"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}"#,
    );
    // Either the document is refused, or the Deny works.
    if let Ok(p) = CompiledPolicy::parse(&json, PolicyKind::Identity, "t") {
        let ids = [p];
        let layers = Layers {
            identity: &ids,
            ..Default::default()
        };
        let ctx = Context::new().with("s3:max-keys", 1000i64);
        assert_eq!(
            run(
                &alice(),
                "s3:ListBucket",
                "arn:aws:s3:::b",
                A,
                &ctx,
                &layers
            ),
            Outcome::ExplicitDeny
        );
    }
    for bad in ["NaN", "inf", " 1", "1 ", "1e400"] {
        let j = doc(&format!(
            r#"{{"Effect":"Deny","Action":"s3:ListBucket","Resource":"*","Condition":{{"NumericLessThan":{{"s3:max-keys":"{bad}"}}}}}}"#
        ));
        if let Ok(p) = CompiledPolicy::parse(&j, PolicyKind::Identity, "t") {
            let ids = [p];
            let layers = Layers {
                identity: &ids,
                ..Default::default()
            };
            let ctx = Context::new().with("s3:max-keys", -5i64);
            assert_eq!(
                run(
                    &alice(),
                    "s3:ListBucket",
                    "arn:aws:s3:::b",
                    A,
                    &ctx,
                    &layers
                ),
                Outcome::ExplicitDeny,
                "{bad:?} validated but never matches"
            );
        }
    }
}

#[test]
fn principal_keys_come_only_from_the_authenticated_principal() {
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
           {"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    let forged = Context::new()
        .with("aws:PrincipalTag/team", "blue")
        .with("aws:username", "mallory");
    assert_ne!(
        run(
            &alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &forged,
            &layers
        ),
        Outcome::Allow
    );
    assert_ne!(
        run(
            &role_session(),
            "s3:PutObject",
            "arn:aws:s3:::b/mallory/k",
            A,
            &forged,
            &layers
        ),
        Outcome::Allow
    );
}

#[test]
fn unqualified_operator_on_a_multivalued_key_fails_closed() {
    let tags = Context::new().with(
        "aws:TagKeys",
        ContextValue::List(vec!["a".into(), "b".into()]),
    );
    for op in [
        "StringNotEquals",
        "StringEqualsIfExists",
        "StringNotLikeIfExists",
    ] {
        let ids = [identity(&format!(
            r#"{{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*","Condition":{{"{op}":{{"aws:TagKeys":"x"}}}}}}"#
        ))];
        let layers = Layers {
            identity: &ids,
            ..Default::default()
        };
        assert_ne!(
            run(
                &alice(),
                "s3:PutObjectTagging",
                "arn:aws:s3:::b/k",
                A,
                &tags,
                &layers
            ),
            Outcome::Allow,
            "{op}"
        );
    }
    // A Deny written with an unqualified operator still applies to a multi-valued key.
    let ids = [identity(
        r#"{"Effect":"Deny","Action":"s3:PutObjectTagging","Resource":"*","Condition":{"StringEquals":{"aws:TagKeys":"a"}}},
           {"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    assert_eq!(
        run(
            &alice(),
            "s3:PutObjectTagging",
            "arn:aws:s3:::b/k",
            A,
            &tags,
            &layers
        ),
        Outcome::ExplicitDeny
    );
}

#[test]
fn resource_policy_grant_to_a_federated_user_session_is_not_capped_by_the_session_policy() {
    let bp = pol(
        PolicyKind::Resource,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:sts::{A}:federated-user/fed"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#
        )),
    );
    let session = [pol(
        PolicyKind::Session,
        &doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}"#),
    )];
    let layers = Layers {
        session: Some(&session),
        resource: Some(&bp),
        ..Default::default()
    };
    assert_eq!(
        run(
            &fed_alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &Context::new(),
            &layers
        ),
        Outcome::Allow
    );
}

#[test]
fn resource_policy_grant_to_the_parent_user_applies_to_its_federated_session_within_the_session_policy()
 {
    let bp = pol(
        PolicyKind::Resource,
        &doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:user/alice"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#
        )),
    );
    let session = [pol(
        PolicyKind::Session,
        &doc(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#),
    )];
    let layers = Layers {
        session: Some(&session),
        resource: Some(&bp),
        ..Default::default()
    };
    let ctx = Context::new();
    assert_eq!(
        run(
            &fed_alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &ctx,
            &layers
        ),
        Outcome::Allow
    );
    let narrow = [pol(
        PolicyKind::Session,
        &doc(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}"#),
    )];
    let capped = Layers {
        session: Some(&narrow),
        ..layers
    };
    assert_ne!(
        run(
            &fed_alice(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            A,
            &ctx,
            &capped
        ),
        Outcome::Allow
    );
}

#[test]
fn list_all_my_buckets_is_allowed_by_the_s3_wildcard_resource() {
    // AWS's own example policy.
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    let ctx = Context::new();
    for resource in ["*", "arn:aws:s3:::*"] {
        assert_eq!(
            run(&alice(), "s3:ListAllMyBuckets", resource, A, &ctx, &layers),
            Outcome::Allow,
            "{resource}"
        );
    }
    let bucket_only = [identity(
        r#"{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::b"}"#,
    )];
    let layers = Layers {
        identity: &bucket_only,
        ..Default::default()
    };
    assert_ne!(
        run(&alice(), "s3:ListAllMyBuckets", "*", A, &ctx, &layers),
        Outcome::Allow
    );
}

#[test]
fn an_erring_allow_statement_is_not_reported_as_an_explicit_deny() {
    // IPv4-mapped IPv6 ranges are valid IAM values but not valid Cedar `ip` literals.
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"::ffff:10.0.0.0/104"}}},
           {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    let ctx = Context::new().with(
        "aws:SourceIp",
        "10.1.2.3".parse::<std::net::IpAddr>().expect("ip"),
    );
    let alice = alice();
    let req = Request::new(&alice, "s3:GetObject", "arn:aws:s3:::b/k", A, &ctx);
    let d = evaluate(&req, &layers);
    assert_eq!(d.outcome, Outcome::Allow, "{d:?}");
    assert!(d.reasons.iter().all(|r| r.layer == Layer::Identity));
}

#[test]
fn catalogue_follows_the_service_authorization_reference() {
    let cat = gatehouse_policy::catalogue::catalogue();
    for name in [
        "s3:ListTagsForResource",
        "s3:TagResource",
        "s3:UntagResource",
        "s3:GetAccessPointPolicy",
        "s3:PutAccessPointPolicy",
    ] {
        assert!(cat.lookup(name).is_some(), "{name} missing");
    }
    assert!(
        cat.lookup("s3:DeleteBucketOwnershipControls").is_none(),
        "not an IAM action"
    );
    let get = cat
        .lookup("s3:GetObject")
        .and_then(|i| cat.get(i))
        .expect("GetObject");
    assert!(get.resource_types.contains(&"object"));
}

#[test]
fn tag_session_on_an_iam_user_is_decided_by_identity_policies_not_a_trust_policy() {
    // GetFederationToken with session tags needs sts:TagSession on the user itself.
    let ids = [identity(
        r#"{"Effect":"Allow","Action":["sts:GetFederationToken","sts:TagSession"],"Resource":"arn:aws:iam::111122223333:user/alice"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    let ctx = Context::new();
    let user = "arn:aws:iam::111122223333:user/alice";
    assert_eq!(
        run(&alice(), "sts:TagSession", user, A, &ctx, &layers),
        Outcome::Allow
    );
    // On a role, TagSession is part of assuming it: the trust policy must allow it.
    let ids = [identity(
        r#"{"Effect":"Allow","Action":"sts:*","Resource":"*"}"#,
    )];
    let layers = Layers {
        identity: &ids,
        ..Default::default()
    };
    assert_ne!(
        run(&alice(), "sts:TagSession", ROLE, A, &ctx, &layers),
        Outcome::Allow
    );
}
