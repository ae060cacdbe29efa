//! STS with `aws-sdk-sts` against the real binary: AssumeRole decided by the role's trust policy and the
//! caller's own policies, session credentials on S3 (headers and presigned URLs), IAM and STS, session-policy
//! narrowing, GetSessionToken, and every way a session token can be wrong (flipped byte, truncated, another
//! session's, an ASIA key without its token, a long-term key with a token), and a token from one gateway used
//! on a second gateway sharing the Postgres and the server key.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_sts::error::ProvideErrorMetadata as _;

use common::{Db, Opts, Server, Store, get, put};

fn sts(s: &Server, ak: &str, sk: &str, token: Option<&str>) -> aws_sdk_sts::Client {
    s.sts_with(ak, sk, token)
}

fn iam(s: &Server, ak: &str, sk: &str, token: Option<&str>) -> aws_sdk_iam::Client {
    s.iam_with(ak, sk, token)
}

fn s3(s: &Server, c: &Creds) -> aws_sdk_s3::Client {
    s.client_with_token(&c.ak, &c.sk, c.token.as_deref())
}

#[derive(Clone, Debug)]
struct Creds {
    ak: String,
    sk: String,
    token: Option<String>,
}

const ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]}]}"#;

/// Account setup: bucket `data`, role `reader` trusting the account, user `alice` allowed to assume it.
async fn setup(s: &Server) -> (String, Creds) {
    let root = iam(s, common::ROOT_AK, common::ROOT_SK, None);
    let account = sts(s, common::ROOT_AK, common::ROOT_SK, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_owned();
    s.client()
        .create_bucket()
        .bucket("data")
        .send()
        .await
        .unwrap();
    s.client()
        .create_bucket()
        .bucket("other")
        .send()
        .await
        .unwrap();
    root.create_role()
        .role_name("reader")
        .path("/apps/")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    root.put_role_policy()
        .role_name("reader")
        .policy_name("data")
        .policy_document(ROLE_POLICY)
        .send()
        .await
        .unwrap();
    root.create_user().user_name("alice").send().await.unwrap();
    root.put_user_policy()
        .user_name("alice")
        .policy_name("assume")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"arn:aws:iam::{account}:role/apps/reader"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let k = root
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let alice = Creds {
        ak: k.access_key_id().to_owned(),
        sk: k.secret_access_key().to_owned(),
        token: None,
    };
    (account, alice)
}

async fn assume(
    s: &Server,
    who: &Creds,
    account: &str,
    session: &str,
    policy: Option<&str>,
) -> Result<Creds, String> {
    let mut r = sts(s, &who.ak, &who.sk, who.token.as_deref())
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/apps/reader"))
        .role_session_name(session);
    if let Some(p) = policy {
        r = r.policy(p);
    }
    let out = r
        .send()
        .await
        .map_err(|e| e.code().unwrap_or("?").to_owned())?;
    let c = out.credentials().unwrap();
    Ok(Creds {
        ak: c.access_key_id().to_owned(),
        sk: c.secret_access_key().to_owned(),
        token: Some(c.session_token().to_owned()),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn assume_role_and_use_the_session_everywhere() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let (account, alice) = setup(&s).await;
    let role = assume(&s, &alice, &account, "job-1", None).await.unwrap();
    assert!(role.ak.starts_with("ASIA"), "{}", role.ak);
    // Who am I: the assumed-role ARN and AROA...:session.
    let who = sts(&s, &role.ak, &role.sk, role.token.as_deref())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:sts::{account}:assumed-role/reader/job-1").as_str())
    );
    assert!(
        who.user_id().unwrap().starts_with("AROA") && who.user_id().unwrap().ends_with(":job-1")
    );
    // S3 with the role's permissions (headers).
    let c = s3(&s, &role);
    put(&c, "data", "k").await.unwrap();
    get(&c, "data", "k").await.unwrap();
    assert_eq!(put(&c, "other", "k").await, Err("AccessDenied".into()));
    // Presigned (X-Amz-Security-Token in the query).
    let url = c
        .get_object()
        .bucket("data")
        .key("k")
        .presigned(PresigningConfig::expires_in(std::time::Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    assert!(url.uri().contains("X-Amz-Security-Token"));
    let r = reqwest::get(url.uri()).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "data");
    // IAM: the role has no IAM permissions.
    let e = iam(&s, &role.ak, &role.sk, role.token.as_deref())
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));

    // A session policy narrows the session: read only.
    let ro = assume(
        &s,
        &alice,
        &account,
        "job-2",
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#),
    )
    .await
    .unwrap();
    let c = s3(&s, &ro);
    get(&c, "data", "k").await.unwrap();
    assert_eq!(put(&c, "data", "k2").await, Err("AccessDenied".into()));
    assert_eq!(
        get(&c, "other", "k").await,
        Err("AccessDenied".into()),
        "the role still bounds it"
    );

    // Who may assume: the trust policy and the caller's own policies both decide; roots never.
    let (ak, sk) = s.new_account("elsewhere");
    let stranger = Creds {
        ak,
        sk,
        token: None,
    };
    assert_eq!(
        assume(&s, &stranger, &account, "x1", None)
            .await
            .unwrap_err(),
        "AccessDenied"
    );
    let root = Creds {
        ak: common::ROOT_AK.into(),
        sk: common::ROOT_SK.into(),
        token: None,
    };
    assert_eq!(
        assume(&s, &root, &account, "x2", None).await.unwrap_err(),
        "AccessDenied"
    );
    let bad = sts(&s, &alice.ak, &alice.sk, None)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/apps/reader"))
        .role_session_name("no spaces allowed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("ValidationError"));
    let bad = sts(&s, &alice.ak, &alice.sk, None)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/apps/reader"))
        .role_session_name("ok")
        .policy("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("MalformedPolicyDocument"));
    let bad = sts(&s, &alice.ak, &alice.sk, None)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/apps/reader"))
        .role_session_name("ok")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        bad.code(),
        Some("ValidationError"),
        "beyond MaxSessionDuration"
    );

    // Wrong tokens, on S3 and on STS.
    let token = role.token.clone().unwrap();
    let mut flipped = token.clone().into_bytes();
    let i = flipped.len() / 2;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let other = ro.token.clone().unwrap();
    for (case, ak, tok, s3_code) in [
        (
            "flipped byte",
            role.ak.clone(),
            Some(flipped),
            "InvalidToken",
        ),
        (
            "truncated",
            role.ak.clone(),
            Some(token[..token.len() / 2].to_owned()),
            "InvalidToken",
        ),
        (
            "another session's token",
            role.ak.clone(),
            Some(other),
            "InvalidToken",
        ),
        (
            "ASIA key without its token",
            role.ak.clone(),
            None,
            "InvalidAccessKeyId",
        ),
        (
            "long-term key with a token",
            alice.ak.clone(),
            Some(token.clone()),
            "InvalidToken",
        ),
    ] {
        let sk = if ak == alice.ak {
            alice.sk.clone()
        } else {
            role.sk.clone()
        };
        let c = s3(
            &s,
            &Creds {
                ak: ak.clone(),
                sk: sk.clone(),
                token: tok.clone(),
            },
        );
        assert_eq!(get(&c, "data", "k").await, Err(s3_code.into()), "{case}");
        let e = sts(&s, &ak, &sk, tok.as_deref())
            .get_caller_identity()
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("InvalidClientTokenId"), "{case}");
    }

    // GetSessionToken: the user's own permissions, not callable again with session credentials.
    let st = sts(&s, &alice.ak, &alice.sk, None)
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = st.credentials().unwrap();
    let us = Creds {
        ak: c.access_key_id().to_owned(),
        sk: c.secret_access_key().to_owned(),
        token: Some(c.session_token().to_owned()),
    };
    let who = sts(&s, &us.ak, &us.sk, us.token.as_deref())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:iam::{account}:user/alice").as_str())
    );
    assert_eq!(
        get(&s3(&s, &us), "data", "k").await,
        Err("AccessDenied".into()),
        "alice has no S3 rights"
    );
    let e = sts(&s, &us.ak, &us.sk, us.token.as_deref())
        .get_session_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    // Role chaining from alice's GetSessionToken session works (the session is alice).
    assume(&s, &us, &account, "chained", None).await.unwrap();
    let e = sts(&s, &alice.ak, &alice.sk, None)
        .get_session_token()
        .duration_seconds(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));

    // The operator revokes the role's sessions: older ones are refused, a new one works.
    s.admin(&["role", "revoke-sessions", "admin", "reader"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while get(&s3(&s, &role), "data", "k").await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "revocation not applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        get(&s3(&s, &role), "data", "k").await,
        Err("AccessDenied".into())
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = assume(&s, &alice, &account, "after-revoke", None)
        .await
        .unwrap();
    get(&s3(&s, &fresh), "data", "k").await.unwrap();

    // Deleting the role ends its sessions.
    let root_iam = iam(&s, common::ROOT_AK, common::ROOT_SK, None);
    root_iam
        .delete_role_policy()
        .role_name("reader")
        .policy_name("data")
        .send()
        .await
        .unwrap();
    root_iam
        .delete_role_policy()
        .role_name("reader")
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .unwrap();
    root_iam
        .delete_role()
        .role_name("reader")
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&s3(&s, &role), "data", "k").await,
        Err("AccessDenied".into())
    );
}

/// A session token from one gateway works on a second gateway sharing the Postgres and the server key.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_works_on_every_gateway_of_a_deployment() {
    let Some(db) = common::fresh_pg_url() else {
        return;
    };
    let (_keys, opts) = common::shared_key_opts();
    let a = Server::start_on_db(opts.clone(), &db);
    let b = Server::start_on_db(opts, &db);
    let (account, alice) = setup(&a).await;
    let role = assume(&a, &alice, &account, "cross-gw", None)
        .await
        .unwrap();
    put(&s3(&a, &role), "data", "from-a").await.unwrap();
    get(&s3(&b, &role), "data", "from-a").await.unwrap();
    let who = sts(&b, &role.ak, &role.sk, role.token.as_deref())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert!(
        who.arn()
            .unwrap()
            .ends_with(":assumed-role/reader/cross-gw")
    );
}
