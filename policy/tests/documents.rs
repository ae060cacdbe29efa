//! Document parsing and validation: AWS's grammar and error messages per policy kind.

use gatehouse_policy::document::{ParseOptions, PolicyDocument, PrincipalId, SizeLimit};
use gatehouse_policy::{CompiledPolicy, PolicyError, PolicyKind};

fn err(json: &str, kind: PolicyKind) -> String {
    match PolicyDocument::parse(json, kind) {
        Ok(d) => panic!("accepted: {d:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn statement_as_object_or_list_and_versions() {
    let one = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;
    let doc = PolicyDocument::parse(one, PolicyKind::Identity).expect("valid");
    assert_eq!(doc.statements.len(), 1);
    let legacy = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}"#;
    assert!(PolicyDocument::parse(legacy, PolicyKind::Identity).is_ok());
    assert!(
        err(
            r#"{"Version":"2020-01-01","Statement":[]}"#,
            PolicyKind::Identity
        )
        .contains("Version")
    );
}

#[test]
fn aws_messages() {
    let cases: &[(&str, PolicyKind, &str)] = &[
        ("not json", PolicyKind::Identity, "Syntax errors in policy"),
        ("[1]", PolicyKind::Resource, "first byte must be '{'"),
        (
            r#"{"Version":"2012-10-17"}"#,
            PolicyKind::Identity,
            "Missing required field Statement",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Action":"s3:*","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "Missing required field Effect",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"s3:*","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "Invalid effect",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "Policy statement must contain actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
            PolicyKind::Identity,
            "Policy statement must contain resources.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "should not specify a principal",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "prefaced by a vendor",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}"#,
            PolicyKind::Identity,
            "must be in ARN format",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a b","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "alpha-numeric",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
            PolicyKind::Identity,
            "must be unique",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"s3:prefix":"a"}}}]}"#,
            PolicyKind::Identity,
            "Invalid Condition type : StringEqualz",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1"}}}]}"#,
            PolicyKind::Identity,
            "Invalid value",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"prefix":"a"}}}]}"#,
            PolicyKind::Identity,
            "prefaced by a vendor",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}]}"#,
            PolicyKind::Identity,
            "Unknown field Extra",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Resource,
            "Missing required field Principal",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Resource,
            "Invalid principal in policy",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Resource,
            "Invalid principal in policy",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Resource,
            "Syntax errors",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b"}]}"#,
            PolicyKind::Resource,
            "Action does not apply to any resource(s) in statement",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:Fly","Resource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Resource,
            "Policy has invalid action",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:sqs:::b/*"}]}"#,
            PolicyKind::Resource,
            "Policy has invalid resource",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}]}"#,
            PolicyKind::Trust,
            "Has prohibited field Resource",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject"}]}"#,
            PolicyKind::Trust,
            "sts actions",
        ),
    ];
    for (json, kind, want) in cases {
        let got = err(json, *kind);
        assert!(got.contains(want), "{json}\n  got: {got}\n  want: {want}");
    }
}

#[test]
fn principals_are_normalised() {
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root","arn:aws:sts::111122223333:assumed-role/R/s"],"Service":"Logging.S3.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    let doc = PolicyDocument::parse(json, PolicyKind::Resource).expect("valid");
    let ids = &doc.statements[0].principal.as_ref().expect("principal").ids;
    assert!(ids.contains(&PrincipalId::Account(
        "arn:aws:iam::111122223333:root".into()
    )));
    assert!(ids.contains(&PrincipalId::Account(
        "arn:aws:iam::444455556666:root".into()
    )));
    assert!(ids.contains(&PrincipalId::Arn(
        "arn:aws:sts::111122223333:assumed-role/R/s".into()
    )));
    assert!(ids.contains(&PrincipalId::Service("logging.s3.amazonaws.com".into())));
}

#[test]
fn bucket_policy_resources_must_be_in_the_bucket() {
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#;
    let opts = ParseOptions {
        limit: SizeLimit::BucketPolicy,
        bucket: Some("mine"),
    };
    assert_eq!(
        PolicyDocument::parse_with(json, PolicyKind::Resource, &opts).map(|_| ()),
        Err(PolicyError::Malformed("Policy has invalid resource".into()))
    );
    let ok = json.replace("other", "mine");
    assert!(PolicyDocument::parse_with(&ok, PolicyKind::Resource, &opts).is_ok());
    let wild = json.replace("other/*", "m*/*");
    assert!(PolicyDocument::parse_with(&wild, PolicyKind::Resource, &opts).is_ok());
}

#[test]
fn size_limits_per_kind() {
    let stmt = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-with-a-long-name/some/prefix/*"}"#;
    let doc = |n: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            vec![stmt; n].join(",")
        )
    };
    // 106 characters per statement (+1 comma): 56 fit in 6,144; 20 do not fit a 2,048 session policy.
    assert!(CompiledPolicy::parse(&doc(56), PolicyKind::Identity, "m").is_ok());
    let big = CompiledPolicy::parse(&doc(70), PolicyKind::Identity, "m")
        .map(|_| ())
        .expect_err("over 6144");
    assert!(
        matches!(big, PolicyError::TooLarge { limit: 6144, .. }),
        "{big:?}"
    );
    assert_eq!(big.iam_code(), "LimitExceeded");
    assert!(CompiledPolicy::parse(&doc(20), PolicyKind::Session, "s").is_err());
    // Whitespace does not count for IAM.
    let spaced = doc(56).replace(',', ",                    ");
    assert!(CompiledPolicy::parse(&spaced, PolicyKind::Identity, "m").is_ok());
    let opts = ParseOptions {
        limit: SizeLimit::InlineRole,
        bucket: None,
    };
    assert!(CompiledPolicy::parse_with(&doc(90), PolicyKind::Identity, "r", &opts).is_ok());
    assert_eq!(
        PolicyError::Malformed("x".into()).iam_code(),
        "MalformedPolicyDocument"
    );
    assert_eq!(
        PolicyError::Malformed("x".into()).s3_code(),
        "MalformedPolicy"
    );
}
