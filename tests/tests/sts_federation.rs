//! STS beyond AssumeRole, with `aws-sdk-sts` against the real binary: GetFederationToken (the federated
//! user's permissions are its IAM user's policies within the session policies; none passed, none granted;
//! what such credentials may call), managed session policies (`PolicyArns`) on AssumeRole and
//! GetFederationToken (a new default version applies to running sessions; an unknown or foreign ARN is
//! refused), and GetAccessKeyInfo (the account from a stored key, and from the id alone).
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_sts::error::ProvideErrorMetadata as _;
use aws_sdk_sts::types::PolicyDescriptorType;

use common::{Db, Opts, Server, Store, get, put};

struct Creds {
    ak: String,
    sk: String,
    token: Option<String>,
}

impl Creds {
    fn from_sts(c: &aws_sdk_sts::types::Credentials) -> Creds {
        Creds {
            ak: c.access_key_id().to_owned(),
            sk: c.secret_access_key().to_owned(),
            token: Some(c.session_token().to_owned()),
        }
    }
    fn s3(&self, s: &Server) -> aws_sdk_s3::Client {
        s.client_with_token(&self.ak, &self.sk, self.token.as_deref())
    }
    fn sts(&self, s: &Server) -> aws_sdk_sts::Client {
        s.sts_with(&self.ak, &self.sk, self.token.as_deref())
    }
}

fn allow(actions: &str, resources: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":{actions},"Resource":{resources}}}]}}"#
    )
}

const DATA: &str = r#"["arn:aws:s3:::data","arn:aws:s3:::data/*"]"#;

/// Buckets `data` and `other` with an object each; user `fed` may use both buckets and federate.
async fn setup(s: &Server) -> (String, Creds) {
    let root = s.iam_with(common::ROOT_AK, common::ROOT_SK, None);
    let account = s.account_of(common::ROOT_AK, common::ROOT_SK).await;
    for b in ["data", "other"] {
        s.client().create_bucket().bucket(b).send().await.unwrap();
        put(&s.client(), b, "k").await.unwrap();
    }
    root.create_user()
        .user_name("fed")
        .path("/team/")
        .send()
        .await
        .unwrap();
    root.put_user_policy()
        .user_name("fed")
        .policy_name("s3")
        .policy_document(allow(
            r#"["s3:GetObject","s3:PutObject"]"#,
            r#"["arn:aws:s3:::data/*","arn:aws:s3:::other/*"]"#,
        ))
        .send()
        .await
        .unwrap();
    root.put_user_policy()
        .user_name("fed")
        .policy_name("federate")
        .policy_document(allow(
            r#"["sts:GetFederationToken","sts:GetAccessKeyInfo"]"#,
            r#""*""#,
        ))
        .send()
        .await
        .unwrap();
    let k = root
        .create_access_key()
        .user_name("fed")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    (
        account,
        Creds {
            ak: k.access_key_id().to_owned(),
            sk: k.secret_access_key().to_owned(),
            token: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_tokens_are_the_users_policies_within_the_session_policies() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let (account, fed) = setup(&s).await;

    // With an inline session policy naming `data` only: `data` works, `other` does not (the user could).
    let out = fed
        .sts(&s)
        .get_federation_token()
        .name("bob")
        .policy(allow(r#""s3:*""#, DATA))
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let u = out.federated_user().unwrap();
    assert_eq!(
        u.arn(),
        format!("arn:aws:sts::{account}:federated-user/bob")
    );
    assert_eq!(u.federated_user_id(), format!("{account}:bob"));
    #[allow(deprecated)]
    let packed = out.packed_policy_size();
    assert!(packed.unwrap() > 0);
    let bob = Creds::from_sts(out.credentials().unwrap());
    assert!(bob.ak.starts_with("ASIA"));
    get(&bob.s3(&s), "data", "k").await.unwrap();
    put(&bob.s3(&s), "data", "by-bob").await.unwrap();
    assert_eq!(
        get(&bob.s3(&s), "other", "k").await,
        Err("AccessDenied".into())
    );
    let who = bob.sts(&s).get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn().unwrap(),
        format!("arn:aws:sts::{account}:federated-user/bob")
    );
    assert_eq!(who.user_id().unwrap(), format!("{account}:bob"));

    // A federated user may call no STS action but GetCallerIdentity, and no IAM action.
    let e = bob.sts(&s).get_session_token().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = bob
        .sts(&s)
        .get_federation_token()
        .name("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = s
        .iam_with(&bob.ak, &bob.sk, bob.token.as_deref())
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&e),
        Some("AccessDenied")
    );

    // Without a session policy the federated user has no identity-based permissions at all.
    let out = fed
        .sts(&s)
        .get_federation_token()
        .name("nopolicy")
        .send()
        .await
        .unwrap();
    let none = Creds::from_sts(out.credentials().unwrap());
    assert_eq!(
        get(&none.s3(&s), "data", "k").await,
        Err("AccessDenied".into())
    );

    // A bucket policy naming the federated user grants it beyond its session policy (AWS's rule for
    // resource-based policies naming the session).
    s.client()
        .put_bucket_policy()
        .bucket("other")
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:sts::{account}:federated-user/nopolicy"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    get(&none.s3(&s), "other", "k").await.unwrap();
    assert_eq!(
        get(&none.s3(&s), "data", "k").await,
        Err("AccessDenied".into())
    );

    // Refusals: no permission, bad names and durations.
    let root = s.iam_with(common::ROOT_AK, common::ROOT_SK, None);
    root.delete_user_policy()
        .user_name("fed")
        .policy_name("federate")
        .send()
        .await
        .unwrap();
    let e = fed
        .sts(&s)
        .get_federation_token()
        .name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    for (name, secs) in [
        ("b", 900),
        ("has space", 900),
        ("ok-name", 899),
        ("ok-name", 129_601),
    ] {
        let e = fed
            .sts(&s)
            .get_federation_token()
            .name(name)
            .duration_seconds(secs)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ValidationError"), "{name} {secs}");
    }
    // The account root may federate too (everything it may do, within the session policy), for at most
    // an hour whatever it asks.
    let out = s
        .sts_with(common::ROOT_AK, common::ROOT_SK, None)
        .get_federation_token()
        .name("rootfed")
        .policy(allow(r#""s3:GetObject""#, r#""arn:aws:s3:::other/*""#))
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let exp = out.credentials().unwrap().expiration().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(exp <= now + 3600 + 5, "root federation capped at an hour");
    let rootfed = Creds::from_sts(out.credentials().unwrap());
    get(&rootfed.s3(&s), "other", "k").await.unwrap();
    assert_eq!(
        get(&rootfed.s3(&s), "data", "k").await,
        Err("AccessDenied".into())
    );
    assert_eq!(
        put(&rootfed.s3(&s), "other", "no").await,
        Err("AccessDenied".into())
    );

    // The parent user's policies bound its federated sessions at once.
    root.delete_user_policy()
        .user_name("fed")
        .policy_name("s3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&bob.s3(&s), "data", "k").await,
        Err("AccessDenied".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_session_policies_narrow_sessions_and_follow_their_default_version() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let (account, fed) = setup(&s).await;
    let root = s.iam_with(common::ROOT_AK, common::ROOT_SK, None);
    let arn = root
        .create_policy()
        .policy_name("only-data")
        .policy_document(allow(r#""s3:GetObject""#, DATA))
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    root.create_role()
        .role_name("worker")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    root.put_role_policy()
        .role_name("worker")
        .policy_name("s3")
        .policy_document(allow(r#""s3:GetObject""#, r#""*""#))
        .send()
        .await
        .unwrap();
    // The root may not assume roles: a user with the permission does.
    root.put_user_policy()
        .user_name("fed")
        .policy_name("assume")
        .policy_document(allow(
            r#""sts:AssumeRole""#,
            &format!(r#""arn:aws:iam::{account}:role/worker""#),
        ))
        .send()
        .await
        .unwrap();
    let out = fed
        .sts(&s)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/worker"))
        .role_session_name("narrow")
        .policy_arns(PolicyDescriptorType::builder().arn(&arn).build())
        .send()
        .await
        .unwrap();
    #[allow(deprecated)]
    let packed = out.packed_policy_size();
    assert!(packed.unwrap() > 0);
    let role = Creds::from_sts(out.credentials().unwrap());
    get(&role.s3(&s), "data", "k").await.unwrap();
    assert_eq!(
        get(&role.s3(&s), "other", "k").await,
        Err("AccessDenied".into())
    );

    // A new default version of the managed policy applies to the running session.
    root.create_policy_version()
        .policy_arn(&arn)
        .policy_document(allow(
            r#""s3:GetObject""#,
            r#"["arn:aws:s3:::other","arn:aws:s3:::other/*"]"#,
        ))
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    get(&role.s3(&s), "other", "k").await.unwrap();
    assert_eq!(
        get(&role.s3(&s), "data", "k").await,
        Err("AccessDenied".into())
    );

    // An AWS-managed policy works as a session policy of a federated user.
    let out = fed
        .sts(&s)
        .get_federation_token()
        .name("reader")
        .policy_arns(
            PolicyDescriptorType::builder()
                .arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let reader = Creds::from_sts(out.credentials().unwrap());
    get(&reader.s3(&s), "data", "k").await.unwrap();
    assert_eq!(
        put(&reader.s3(&s), "data", "no").await,
        Err("AccessDenied".into())
    );

    // Unknown, foreign and malformed ARNs, and more than ten, are refused; nothing is issued.
    let other_account = "123456789012";
    for bad in [
        format!("arn:aws:iam::{account}:policy/missing"),
        format!("arn:aws:iam::{other_account}:policy/only-data"),
        "arn:aws:s3:::data/some-object".to_owned(),
    ] {
        let e = fed
            .sts(&s)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/worker"))
            .role_session_name("bad")
            .policy_arns(PolicyDescriptorType::builder().arn(&bad).build())
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("MalformedPolicyDocument"), "{bad}");
    }
    let mut r = fed
        .sts(&s)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/worker"))
        .role_session_name("many");
    for _ in 0..11 {
        r = r.policy_arns(PolicyDescriptorType::builder().arn(&arn).build());
    }
    assert_eq!(r.send().await.unwrap_err().code(), Some("ValidationError"));

    // Deleting the managed policy denies its sessions (fail closed: the policy cannot be read).
    for v in root
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap()
        .versions()
    {
        if !v.is_default_version() {
            root.delete_policy_version()
                .policy_arn(&arn)
                .version_id(v.version_id().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    root.delete_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(
        get(&role.s3(&s), "other", "k").await,
        Err("AccessDenied".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_access_key_info_names_the_keys_account() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let (account, fed) = setup(&s).await;
    let (b_ak, b_sk) = s.new_account("tenant-b");
    let b_account = s.account_of(&b_ak, &b_sk).await;
    let info = |c: aws_sdk_sts::Client, id: String| async move {
        c.get_access_key_info()
            .access_key_id(id)
            .send()
            .await
            .map(|o| o.account().unwrap_or_default().to_owned())
            .map_err(|e| e.code().unwrap_or("?").to_owned())
    };
    // A stored key (the user's, another account's root key), a temporary key (from its id alone).
    assert_eq!(info(fed.sts(&s), fed.ak.clone()).await.unwrap(), account);
    assert_eq!(info(fed.sts(&s), b_ak.clone()).await.unwrap(), b_account);
    let t = s
        .sts_with(&b_ak, &b_sk, None)
        .get_session_token()
        .send()
        .await
        .unwrap();
    let temp = t.credentials().unwrap().access_key_id().to_owned();
    assert_eq!(info(fed.sts(&s), temp).await.unwrap(), b_account);
    // AWS's published example key decodes to its account, like any well-formed id.
    assert_eq!(
        info(fed.sts(&s), "ASIAY34FZKBOKMUTVV7A".into())
            .await
            .unwrap(),
        "609629065308"
    );
    assert_eq!(
        info(fed.sts(&s), "short".into()).await,
        Err("ValidationError".into())
    );
    // DecodeAuthorizationMessage: Gatehouse never encodes a denial, so no message is one of its own.
    let e = s
        .sts_with(common::ROOT_AK, common::ROOT_SK, None)
        .decode_authorization_message()
        .encoded_message("not-a-message-of-ours")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAuthorizationMessageException"));
    let e = fed
        .sts(&s)
        .decode_authorization_message()
        .encoded_message("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("AccessDenied"),
        "a user needs the permission"
    );
    // A user needs sts:GetAccessKeyInfo.
    let root = s.iam_with(common::ROOT_AK, common::ROOT_SK, None);
    root.delete_user_policy()
        .user_name("fed")
        .policy_name("federate")
        .send()
        .await
        .unwrap();
    assert_eq!(
        info(fed.sts(&s), fed.ak.clone()).await,
        Err("AccessDenied".into())
    );
}
