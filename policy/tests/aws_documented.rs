//! AWS's documented cases, with AWS's stated answer, run against the engine and the independent
//! reference. Sources (AWS IAM User Guide unless noted): "Policy evaluation logic" (PEL),
//! "Determining whether a request is allowed or denied within an account" (ACCT),
//! "Cross-account policy evaluation logic" (XACCT), "Permissions boundaries for IAM entities"
//! (PB), "Session policies" (SP), "IAM policy elements: Variables and tags" (VARS), "IAM JSON
//! policy elements: Condition operators" (COND), "Single-valued vs. multivalued context keys"
//! (MULTI), role trust policies / AssumeRole API reference (TRUST), GetFederationToken API
//! reference (GFT), S3 "Example bucket policies" / "Identity-based policy examples" (S3).

use gatehouse_policy::reference::reference_decide;
use gatehouse_policy::{
    CompiledPolicy, Context, ContextValue, Layers, Outcome, PolicyKind, Principal, Request,
    SessionData, evaluate,
};

const A: &str = "111122223333";
const B: &str = "444455556666";

/// One documented case.
struct Case {
    name: &'static str,
    principal: Principal,
    action: &'static str,
    resource: &'static str,
    owner: &'static str,
    context: Context,
    identity: Vec<&'static str>,
    boundary: Option<&'static str>,
    session: Option<Vec<&'static str>>,
    /// (kind, statements) of the resource-based policy: a bucket policy or a trust policy.
    resource_policy: Option<(PolicyKind, &'static str)>,
    expect: Outcome,
}

fn case(
    name: &'static str,
    principal: Principal,
    action: &'static str,
    resource: &'static str,
) -> Case {
    Case {
        name,
        principal,
        action,
        resource,
        owner: A,
        context: Context::new(),
        identity: vec![],
        boundary: None,
        session: None,
        resource_policy: None,
        expect: Outcome::ImplicitDeny,
    }
}

impl Case {
    fn owner(mut self, o: &'static str) -> Case {
        self.owner = o;
        self
    }
    fn ctx(mut self, c: Context) -> Case {
        self.context = c;
        self
    }
    fn identity(mut self, st: &'static str) -> Case {
        self.identity.push(st);
        self
    }
    fn boundary(mut self, st: &'static str) -> Case {
        self.boundary = Some(st);
        self
    }
    fn session(mut self, st: &'static str) -> Case {
        self.session.get_or_insert_with(Vec::new).push(st);
        self
    }
    fn bucket(mut self, st: &'static str) -> Case {
        self.resource_policy = Some((PolicyKind::Resource, st));
        self
    }
    fn trust(mut self, st: &'static str) -> Case {
        self.resource_policy = Some((PolicyKind::Trust, st));
        self
    }
    fn expect(mut self, o: Outcome) -> Case {
        self.expect = o;
        self
    }
}

fn compile(kind: PolicyKind, statements: &str) -> std::sync::Arc<CompiledPolicy> {
    let json = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
    CompiledPolicy::parse(&json, kind, kind.as_str()).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn alice() -> Principal {
    Principal::user(A, "/", "alice", "AIDAALICE", None)
}
fn bob_b() -> Principal {
    Principal::user(B, "/", "bob", "AIDABOB", None)
}
fn role_session() -> Principal {
    Principal::assumed_role(A, "/", "R", "s1", "AROAR", None)
}
fn fed() -> Principal {
    Principal::federated_user(A, "/", "alice", "fed", None)
}

const S3_ALL: &str = r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#;
const GET_B: &str = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#;
const ASSUME_ANY: &str = r#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}"#;
const ROLE: &str = "arn:aws:iam::111122223333:role/R";
const OBJ: &str = "arn:aws:s3:::b/k";

fn cases() -> Vec<Case> {
    use Outcome::{Allow, ExplicitDeny};
    vec![
        // PEL: everything starts denied; an identity allow grants within the account.
        case("PEL implicit deny without policies", alice(), "s3:GetObject", OBJ),
        case("PEL identity allow", alice(), "s3:GetObject", OBJ).identity(GET_B).expect(Allow),
        case("PEL explicit deny overrides allow", alice(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .identity(r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}"#)
            .expect(ExplicitDeny),
        case("PEL explicit deny in a bucket policy overrides an identity allow", alice(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .bucket(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(ExplicitDeny),
        // ACCT: a resource-based policy naming the user ARN is enough on its own.
        case("ACCT bucket policy naming the user", alice(), "s3:GetObject", OBJ)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        case("ACCT bucket policy naming the account needs identity policies", alice(), "s3:GetObject", OBJ)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#),
        case("ACCT root user of the account", Principal::root(A, None), "s3:DeleteObject", OBJ).expect(Allow),
        // PB: Shirley's boundary (S3, CloudWatch, EC2) stops iam:CreateUser.
        case("PB boundary stops an identity allow", alice(), "iam:CreateUser", "arn:aws:iam::111122223333:user/x")
            .identity(r#"{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}"#)
            .boundary(r#"{"Effect":"Allow","Action":["s3:*","cloudwatch:*","ec2:*"],"Resource":"*"}"#),
        case("PB both boundary and identity allow", alice(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .boundary(r#"{"Effect":"Allow","Action":["s3:*","cloudwatch:*","ec2:*"],"Resource":"*"}"#)
            .expect(Allow),
        case("PB explicit deny in the boundary", alice(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .boundary(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#)
            .expect(ExplicitDeny),
        case("PB grant to the user ARN is not limited by the boundary", alice(), "s3:GetObject", OBJ)
            .boundary(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        case("PB grant to the role ARN is limited by the boundary", role_session(), "s3:GetObject", OBJ)
            .boundary(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#),
        case("PB grant to the role session ARN is not limited by the boundary", role_session(), "s3:GetObject", OBJ)
            .boundary(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s1"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        case("PB NotPrincipal with Deny always denies boundary holders", alice(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .boundary(S3_ALL)
            .bucket(r#"{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(ExplicitDeny),
        // SP: the session policy caps the role's identity policies.
        case("SP session policy allows", role_session(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .session(GET_B)
            .expect(Allow),
        case("SP session policy does not allow", role_session(), "s3:PutObject", OBJ)
            .identity(S3_ALL)
            .session(GET_B),
        case("SP session policy cannot grant beyond identity policies", role_session(), "s3:PutObject", OBJ)
            .identity(GET_B)
            .session(S3_ALL),
        case("SP grant to the role ARN is limited by the session policy", role_session(), "s3:PutObject", OBJ)
            .session(GET_B)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/R"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}"#),
        case("SP grant to the session ARN is not limited by the session policy", role_session(), "s3:PutObject", OBJ)
            .session(GET_B)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s1"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        // GFT: no session policy, no permissions; the federated-user ARN can still be granted.
        case("GFT no session policy: no permissions", fed(), "s3:GetObject", OBJ).identity(S3_ALL),
        case("GFT session policy intersects the user's policies", fed(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .session(GET_B)
            .expect(Allow),
        case("GFT resource policy naming the federated user", fed(), "s3:GetObject", OBJ)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:federated-user/fed"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        case("GFT federated users cannot call STS", fed(), "sts:AssumeRole", ROLE)
            .identity(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)
            .session(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)
            .trust(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}"#),
        // XACCT: both sides must allow.
        case("XACCT identity only", bob_b(), "s3:GetObject", OBJ).identity(S3_ALL),
        case("XACCT bucket policy only", bob_b(), "s3:GetObject", OBJ)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#),
        case("XACCT both sides", bob_b(), "s3:GetObject", OBJ)
            .identity(S3_ALL)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        case("XACCT alice reads a bucket of account B that trusts account A", alice(), "s3:GetObject", OBJ)
            .owner(B)
            .identity(S3_ALL)
            .bucket(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
        case("XACCT root of another account", Principal::root(B, None), "s3:GetObject", OBJ),
        // TRUST: AssumeRole needs the trust policy, in every account.
        case("TRUST same account, trust names the account, identity allows", alice(), "sts:AssumeRole", ROLE)
            .identity(ASSUME_ANY)
            .trust(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}"#)
            .expect(Allow),
        case("TRUST same account, trust names the account, no identity allow", alice(), "sts:AssumeRole", ROLE)
            .trust(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}"#),
        case("TRUST same account, trust trusts only a service", alice(), "sts:AssumeRole", ROLE)
            .identity(ASSUME_ANY)
            .trust(r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#),
        case("TRUST service principal", Principal::service("ec2.amazonaws.com"), "sts:AssumeRole", ROLE)
            .trust(r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#)
            .expect(Allow),
        case("TRUST roles may not be assumed by root accounts", Principal::root(A, None), "sts:AssumeRole", ROLE)
            .trust(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}"#),
        case("TRUST cross-account with ExternalId", bob_b(), "sts:AssumeRole", ROLE)
            .identity(ASSUME_ANY)
            .ctx(Context::new().with("sts:ExternalId", "xyz"))
            .trust(r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"xyz"}}}"#)
            .expect(Allow),
        case("TRUST cross-account without the caller's identity allow", bob_b(), "sts:AssumeRole", ROLE)
            .trust(r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}"#),
        case("TRUST web identity", Principal::federated("accounts.google.com"), "sts:AssumeRoleWithWebIdentity", ROLE)
            .ctx(Context::new().with("accounts.google.com:aud", "app"))
            .trust(r#"{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"app"}}}"#)
            .expect(Allow),
        case("TRUST without a trust policy the role cannot be assumed", alice(), "sts:AssumeRole", ROLE)
            .identity(ASSUME_ANY),
        // VARS: the home-folder example, missing values and defaults.
        case("VARS own home folder", alice(), "s3:GetObject", "arn:aws:s3:::b/home/alice/x")
            .identity(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username}/*"}"#)
            .expect(Allow),
        case("VARS someone else's folder", alice(), "s3:GetObject", "arn:aws:s3:::b/home/bob/x")
            .identity(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username}/*"}"#),
        case("VARS no value: the statement does not match", role_session(), "s3:GetObject", "arn:aws:s3:::b/home/x/k")
            .identity(r#"{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/home/${aws:username}/*"}"#),
        case("VARS default value", role_session(), "s3:GetObject", "arn:aws:s3:::b/home/nobody/k")
            .identity(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/home/${aws:username, 'nobody'}/*"}"#)
            .expect(Allow),
        case("VARS session tag overrides the role's tag", Principal::assumed_role(A, "/", "R", "s1", "AROAR", None)
                .with_tags([("team".to_string(), "blue".to_string())])
                .with_session(SessionData { tags: vec![("team".to_string(), "red".to_string())], ..Default::default() }),
            "s3:GetObject", "arn:aws:s3:::b/red/k")
            .identity(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}"#)
            .expect(Allow),
        // COND / MULTI.
        case("COND ForAllValues holds when the key is absent", alice(), "s3:PutObjectTagging", OBJ)
            .identity(r#"{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}"#)
            .expect(Allow),
        case("COND ForAnyValue fails when the key is absent", alice(), "s3:PutObjectTagging", OBJ)
            .identity(r#"{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}}"#),
        case("COND ForAllValues with a value outside the set", alice(), "s3:PutObjectTagging", OBJ)
            .ctx(Context::new().with("aws:TagKeys", ContextValue::List(vec!["a".into(), "c".into()])))
            .identity(r#"{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}"#),
        case("COND IfExists holds when the key is absent", alice(), "s3:ListBucket", "arn:aws:s3:::b")
            .identity(r#"{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLikeIfExists":{"s3:prefix":"home/*"}}}"#)
            .expect(Allow),
        case("COND Null on a key long-term credentials lack", alice(), "s3:GetObject", OBJ)
            .identity(GET_B)
            .identity(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"false"}}}"#)
            .expect(Allow),
        case("COND Null with temporary credentials", Principal::assumed_role(A, "/", "R", "s1", "AROAR", None)
                .with_session(SessionData { token_issue_time: Some(time::OffsetDateTime::UNIX_EPOCH), ..Default::default() }),
            "s3:GetObject", OBJ)
            .identity(GET_B)
            .identity(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"false"}}}"#)
            .expect(ExplicitDeny),
        case("MULTI unqualified operator on a multivalued key fails closed", alice(), "s3:PutObjectTagging", OBJ)
            .ctx(Context::new().with("aws:TagKeys", ContextValue::List(vec!["a".into(), "b".into()])))
            .identity(r#"{"Effect":"Allow","Action":"s3:PutObjectTagging","Resource":"*","Condition":{"StringNotEquals":{"aws:TagKeys":"x"}}}"#),
        // S3: AWS's ListAllMyBuckets example.
        case("S3 ListAllMyBuckets on arn:aws:s3:::*", alice(), "s3:ListAllMyBuckets", "*")
            .identity(r#"{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"}"#)
            .expect(Allow),
        case("S3 deny over HTTP", alice(), "s3:GetObject", OBJ)
            .ctx(Context::new().with("aws:SecureTransport", false))
            .identity(S3_ALL)
            .bucket(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#)
            .expect(ExplicitDeny),
        case("S3 public read for anonymous callers", Principal::anonymous(), "s3:GetObject", OBJ)
            .bucket(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#)
            .expect(Allow),
    ]
}

#[test]
fn engine_and_reference_give_aws_documented_answers() {
    let mut failures = Vec::new();
    for c in cases() {
        let identity: Vec<_> = c
            .identity
            .iter()
            .map(|s| compile(PolicyKind::Identity, s))
            .collect();
        let boundary = c.boundary.map(|s| compile(PolicyKind::Boundary, s));
        let session: Option<Vec<_>> = c
            .session
            .as_ref()
            .map(|v| v.iter().map(|s| compile(PolicyKind::Session, s)).collect());
        let resource = c.resource_policy.map(|(k, s)| compile(k, s));
        let layers = Layers {
            identity: &identity,
            boundary: boundary.as_deref(),
            session: session.as_deref(),
            resource: resource.as_deref(),
            ..Default::default()
        };
        let req = Request::new(&c.principal, c.action, c.resource, c.owner, &c.context);
        let got = evaluate(&req, &layers);
        let (want, reasons) = reference_decide(&req, &layers);
        if got.outcome != c.expect || want != c.expect || got.reasons != reasons {
            failures.push(format!(
                "{}: AWS {:?}, engine {:?} ({}), reference {:?}; reasons {:?} vs {:?}",
                c.name, c.expect, got.outcome, got.detail, want, got.reasons, reasons
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
