//! The IAM API through `aws-sdk-iam`, and IAM users on S3: a user's key works at once, its policies decide
//! (inline, group, AWS managed), a deactivated or deleted key stops at once (and within a second on another
//! gateway of the same Postgres), accounts cannot see each other.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use aws_sdk_iam::error::ProvideErrorMetadata as _;
use aws_sdk_iam::types::StatusType;

use common::{Server, put};

fn iam(s: &Server, ak: &str, sk: &str) -> aws_sdk_iam::Client {
    s.iam_with(ak, sk, None)
}

fn sts(s: &Server, ak: &str, sk: &str) -> aws_sdk_sts::Client {
    s.sts_with(ak, sk, None)
}

const S3_ON_AB: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::team-ab","arn:aws:s3:::team-ab/*"]},
  {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::team-ab/secret/*"}]}"#;

async fn users_and_policies(s: &Server) {
    let root = iam(s, common::ROOT_AK, common::ROOT_SK);
    let root_s3 = s.client();
    for b in ["team-ab", "team-cd"] {
        root_s3.create_bucket().bucket(b).send().await.unwrap();
        put(&root_s3, b, "seed").await.unwrap();
    }
    let u = root
        .create_user()
        .user_name("alice")
        .path("/team/")
        .send()
        .await
        .unwrap();
    let user = u.user().unwrap();
    assert!(user.user_id().starts_with("AIDA"));
    let account = sts(s, common::ROOT_AK, common::ROOT_SK)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_owned();
    assert_eq!(
        user.arn(),
        format!("arn:aws:iam::{account}:user/team/alice")
    );
    let key = root
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let (ak, sk) = (
        key.access_key_id().to_owned(),
        key.secret_access_key().to_owned(),
    );

    // The new key works at once: GetCallerIdentity names the user; S3 needs policies.
    let who = sts(s, &ak, &sk).get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:iam::{account}:user/team/alice").as_str())
    );
    assert_eq!(who.user_id(), Some(user.user_id()));
    let alice = s.client_with(&ak, &sk);
    assert_eq!(
        put(&alice, "team-ab", "k").await,
        Err("AccessDenied".into())
    );
    let e = alice.list_buckets().send().await.unwrap_err();
    assert_eq!(common::code(&e), "AccessDenied");

    // An inline policy: ab only, and not ab/secret/* deletes.
    root.put_user_policy()
        .user_name("alice")
        .policy_name("team-ab")
        .policy_document(S3_ON_AB)
        .send()
        .await
        .unwrap();
    put(&alice, "team-ab", "k").await.unwrap();
    put(&alice, "team-ab", "secret/s").await.unwrap();
    assert_eq!(
        put(&alice, "team-cd", "k").await,
        Err("AccessDenied".into())
    );
    let del = alice
        .delete_objects()
        .bucket("team-ab")
        .delete(
            aws_sdk_s3::types::Delete::builder()
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("k")
                        .build()
                        .unwrap(),
                )
                .objects(
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key("secret/s")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(del.deleted().len(), 1);
    assert_eq!(del.errors().len(), 1);
    assert_eq!(del.errors()[0].key(), Some("secret/s"));
    assert_eq!(del.errors()[0].code(), Some("AccessDenied"));
    root_s3
        .head_object()
        .bucket("team-ab")
        .key("secret/s")
        .send()
        .await
        .expect("kept");

    // A group with an AWS managed policy: read on every bucket while a member.
    root.create_group()
        .group_name("readers")
        .send()
        .await
        .unwrap();
    root.attach_group_policy()
        .group_name("readers")
        .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let get_cd = || alice.get_object().bucket("team-cd").key("seed").send();
    assert_eq!(common::code(&get_cd().await.unwrap_err()), "AccessDenied");
    root.add_user_to_group()
        .group_name("readers")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    get_cd().await.expect("a member reads cd");
    root.remove_user_from_group()
        .group_name("readers")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(common::code(&get_cd().await.unwrap_err()), "AccessDenied");

    // IAM calls of a user need policies too.
    let alice_iam = iam(s, &ak, &sk);
    let e = alice_iam.list_users().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"), "{e:?}");
    root.attach_user_policy()
        .user_name("alice")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let listed = alice_iam.list_users().send().await.unwrap();
    assert_eq!(listed.users().len(), 1);
    let e = alice_iam
        .create_user()
        .user_name("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));

    // Deactivated: refused at once; active again: works; deleted: refused.
    root.update_access_key()
        .user_name("alice")
        .access_key_id(&ak)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put(&alice, "team-ab", "k2").await,
        Err("InvalidAccessKeyId".into())
    );
    root.update_access_key()
        .user_name("alice")
        .access_key_id(&ak)
        .status(StatusType::Active)
        .send()
        .await
        .unwrap();
    put(&alice, "team-ab", "k2").await.unwrap();
    root.delete_access_key()
        .user_name("alice")
        .access_key_id(&ak)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put(&alice, "team-ab", "k3").await,
        Err("InvalidAccessKeyId".into())
    );

    // AWS's errors, and nothing changed by them.
    let e = root
        .put_user_policy()
        .user_name("alice")
        .policy_name("bad")
        .policy_document("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("MalformedPolicyDocument"));
    let e = root
        .create_user()
        .user_name("x".repeat(65))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationError"));
    let names = root
        .list_user_policies()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["team-ab"]);

    // The account summary counts what exists.
    let summary = root.get_account_summary().send().await.unwrap();
    let m = summary.summary_map().unwrap();
    use aws_sdk_iam::types::SummaryKeyType as K;
    assert_eq!(m.get(&K::Users), Some(&1));
    assert_eq!(m.get(&K::Groups), Some(&1));
    assert_eq!(m.get(&K::AccessKeysPerUserQuota), Some(&2));

    // No OpenID Connect provider can be registered yet: the list is empty (not an error).
    let oidc = root.list_open_id_connect_providers().send().await.unwrap();
    assert!(oidc.open_id_connect_provider_list().is_empty());

    // Another account sees none of it.
    let (bak, bsk) = s.new_account("tenant-b");
    let b = iam(s, &bak, &bsk);
    assert!(b.list_users().send().await.unwrap().users().is_empty());
    let e = b.get_user().user_name("alice").send().await.unwrap_err();
    assert_eq!(e.code(), Some("NoSuchEntity"));
    let me = b.get_user().send().await.unwrap();
    assert!(me.user().unwrap().arn().ends_with(":root"));
}
matrix!(users_and_policies);

/// Two gateways on one Postgres: a key deactivated through one stops working on the other within a second
/// (plus request time), and a policy removed through one stops granting on the other as fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_another_gateway_within_a_second() {
    let Some(db) = common::fresh_pg_url() else {
        return;
    };
    let (_keys, opts) = common::shared_key_opts();
    let a = Server::start_on_db(opts.clone(), &db);
    let b = Server::start_on_db(opts, &db);
    let root = iam(&a, common::ROOT_AK, common::ROOT_SK);
    a.client()
        .create_bucket()
        .bucket("shared")
        .send()
        .await
        .unwrap();
    root.create_user().user_name("bob").send().await.unwrap();
    root.put_user_policy()
        .user_name("bob")
        .policy_name("rw")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::shared/*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let k = root
        .create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let bob_b = b.client_with(k.access_key_id(), k.secret_access_key());
    put(&bob_b, "shared", "one")
        .await
        .expect("bob's new key works on the other gateway");

    root.delete_user_policy()
        .user_name("bob")
        .policy_name("rw")
        .send()
        .await
        .unwrap();
    let t0 = Instant::now();
    loop {
        match put(&bob_b, "shared", "two").await {
            Err(c) if c == "AccessDenied" => break,
            _ => {
                assert!(
                    t0.elapsed() < Duration::from_secs(3),
                    "policy removal not seen on gateway B"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    root.update_access_key()
        .user_name("bob")
        .access_key_id(k.access_key_id())
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let t0 = Instant::now();
    loop {
        match put(&bob_b, "shared", "three").await {
            Err(c) if c == "InvalidAccessKeyId" => break,
            _ => {
                assert!(
                    t0.elapsed() < Duration::from_secs(3),
                    "deactivation not seen on gateway B"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
