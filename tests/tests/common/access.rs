//! Helpers of the access-control suites (`access_control.rs`, `public_access.rs`): IAM users with inline
//! policies, bucket policies, listings, the AccessDenied check, and a server with the pre-2023 bucket defaults
//! (ObjectWriter, no Block Public Access) that ACL tests need.
#![allow(dead_code, clippy::unwrap_used)]

use super::{Db, Opts, Server, Store};

pub fn iam(s: &Server, ak: &str, sk: &str) -> aws_sdk_iam::Client {
    s.iam_with(ak, sk, None)
}

pub async fn account_of(s: &Server, ak: &str, sk: &str) -> String {
    s.account_of(ak, sk).await
}

/// Creates IAM user `name` in the account of (ak, sk) with an inline policy (if any); returns its keys.
pub async fn user(
    s: &Server,
    ak: &str,
    sk: &str,
    name: &str,
    policy: Option<&str>,
) -> (String, String) {
    let root = iam(s, ak, sk);
    root.create_user().user_name(name).send().await.unwrap();
    if let Some(p) = policy {
        root.put_user_policy()
            .user_name(name)
            .policy_name("p")
            .policy_document(p)
            .send()
            .await
            .unwrap();
    }
    let k = root
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    (
        k.access_key_id().to_owned(),
        k.secret_access_key().to_owned(),
    )
}

pub async fn keys(c: &aws_sdk_s3::Client, b: &str) -> Vec<String> {
    c.list_objects_v2()
        .bucket(b)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect()
}

pub async fn set_policy(c: &aws_sdk_s3::Client, b: &str, p: &str) {
    c.put_bucket_policy()
        .bucket(b)
        .policy(p)
        .send()
        .await
        .unwrap();
}

/// A denial is AccessDenied with a request id.
pub fn assert_denied<E, R>(r: Result<impl std::fmt::Debug, aws_sdk_s3::error::SdkError<E, R>>)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let e = r.expect_err("denied");
    assert_eq!(super::code(&e), "AccessDenied", "{e:?}");
    if let aws_sdk_s3::error::SdkError::ServiceError(se) = &e {
        let meta = se.err().meta();
        assert!(
            meta.extra("aws_request_id").is_some_and(|r| !r.is_empty()),
            "no request id: {meta:?}"
        );
    }
}

pub fn acl_server(db: Db, extra: &[&str]) -> Option<Server> {
    let mut o = Opts::new(db, Store::IoUring);
    o.extra = [
        "--default-object-ownership",
        "ObjectWriter",
        "--default-public-access-block",
        "false",
    ]
    .iter()
    .chain(extra)
    .map(|s| (*s).to_owned())
    .collect();
    Server::start(o)
}
