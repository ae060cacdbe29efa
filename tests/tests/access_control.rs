//! S3 access control through the policy engine, with the real binary and real clients: bucket policies
//! (deny wins, home folders with `${aws:username}` and s3:prefix, aws:SourceIp with and without a trusted
//! proxy, aws:SecureTransport, cross-account grants needing both sides), ACLs (canned, grants to another
//! account's canonical id, refused under BucketOwnerEnforced), anonymous public access and Block Public
//! Access, DeleteObjects decided per key, and the audit line naming the deciding statement. Every denial is
//! AccessDenied with a request id and changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::types::{
    BucketCannedAcl, Delete, ObjectCannedAcl, ObjectIdentifier, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration,
};

use common::{Db, Opts, Server, Store, get, put};

fn iam(s: &Server, ak: &str, sk: &str) -> aws_sdk_iam::Client {
    s.iam_with(ak, sk, None)
}

async fn account_of(s: &Server, ak: &str, sk: &str) -> String {
    s.account_of(ak, sk).await
}

/// Creates IAM user `name` in the account of (ak, sk) with an inline policy (if any); returns its keys.
async fn user(
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

async fn keys(c: &aws_sdk_s3::Client, b: &str) -> Vec<String> {
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

async fn set_policy(c: &aws_sdk_s3::Client, b: &str, p: &str) {
    c.put_bucket_policy()
        .bucket(b)
        .policy(p)
        .send()
        .await
        .unwrap();
}

/// A denial is AccessDenied with a request id.
fn assert_denied<E, R>(r: Result<impl std::fmt::Debug, aws_sdk_s3::error::SdkError<E, R>>)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let e = r.expect_err("denied");
    assert_eq!(common::code(&e), "AccessDenied", "{e:?}");
    if let aws_sdk_s3::error::SdkError::ServiceError(se) = &e {
        let meta = se.err().meta();
        assert!(
            meta.extra("aws_request_id").is_some_and(|r| !r.is_empty()),
            "no request id: {meta:?}"
        );
    }
}

fn acl_server(db: Db, extra: &[&str]) -> Option<Server> {
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

async fn policies_deny_wins_home_folders_and_cross_account(s: &Server) {
    let owner = s.client();
    let acct = account_of(s, common::ROOT_AK, common::ROOT_SK).await;
    owner.create_bucket().bucket("home").send().await.unwrap();
    for k in ["alice/a1", "bob/b1", "shared/s1"] {
        put(&owner, "home", k).await.unwrap();
    }
    // Home folders: one bucket policy for every user, `${aws:username}` with s3:prefix.
    set_policy(
        &owner,
        "home",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[
  {{"Sid":"ListOwnPrefix","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{acct}:root"}},"Action":"s3:ListBucket",
    "Resource":"arn:aws:s3:::home","Condition":{{"StringLike":{{"s3:prefix":["${{aws:username}}/*"]}}}}}},
  {{"Sid":"RwOwnPrefix","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{acct}:root"}},"Action":["s3:GetObject","s3:PutObject"],
    "Resource":"arn:aws:s3:::home/${{aws:username}}/*"}}]}}"#
        ),
    )
    .await;
    // The policy names the account: each user still needs its identity policy (same account, account
    // principal), which grants the home-folder pattern too.
    let home_identity = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::home","Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}},
  {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
    let (aak, ask) = user(
        s,
        common::ROOT_AK,
        common::ROOT_SK,
        "alice",
        Some(home_identity),
    )
    .await;
    let (bak, bsk) = user(
        s,
        common::ROOT_AK,
        common::ROOT_SK,
        "bob",
        Some(home_identity),
    )
    .await;
    let alice = s.client_with(&aak, &ask);
    let bob = s.client_with(&bak, &bsk);
    put(&alice, "home", "alice/new").await.unwrap();
    assert_eq!(get(&alice, "home", "alice/a1").await.unwrap(), b"data");
    assert_eq!(
        put(&alice, "home", "bob/evil").await,
        Err("AccessDenied".into())
    );
    assert_denied(alice.get_object().bucket("home").key("bob/b1").send().await);
    let listed = alice
        .list_objects_v2()
        .bucket("home")
        .prefix("alice/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 2);
    assert_denied(
        alice
            .list_objects_v2()
            .bucket("home")
            .prefix("bob/")
            .send()
            .await,
    );
    assert_denied(alice.list_objects_v2().bucket("home").send().await);
    put(&bob, "home", "bob/b2").await.unwrap();
    assert_eq!(
        put(&bob, "home", "alice/x").await,
        Err("AccessDenied".into())
    );
    // Nothing a denial touched changed.
    assert_eq!(
        keys(&owner, "home").await,
        ["alice/a1", "alice/new", "bob/b1", "bob/b2", "shared/s1"]
    );

    // Deny overrides allow: a bucket-policy Deny beats alice's identity Allow, and the account root too.
    set_policy(
        &owner,
        "home",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[
  {{"Sid":"NoWritesToFrozen","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::home/alice/frozen/*"}},
  {{"Sid":"Rw","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{acct}:root"}},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::home/${{aws:username}}/*"}}]}}"#
        ),
    )
    .await;
    put(&alice, "home", "alice/ok").await.unwrap();
    assert_eq!(
        put(&alice, "home", "alice/frozen/x").await,
        Err("AccessDenied".into())
    );
    assert_eq!(
        put(&owner, "home", "alice/frozen/x").await,
        Err("AccessDenied".into())
    );
    // The owner may always manage the policy, even one that would deny it.
    owner
        .get_bucket_policy()
        .bucket("home")
        .send()
        .await
        .unwrap();

    // Cross-account: account B's principals need both the bucket policy and their own identity side.
    let (bak2, bsk2) = s.new_account("acct-b");
    let b_acct = account_of(s, &bak2, &bsk2).await;
    let b_root = s.client_with(&bak2, &bsk2);
    let (nak, nsk) = user(s, &bak2, &bsk2, "nopolicy", None).await;
    let (pak, psk) = user(
        s,
        &bak2,
        &bsk2,
        "withpolicy",
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#),
    )
    .await;
    assert_denied(
        b_root
            .get_object()
            .bucket("home")
            .key("shared/s1")
            .send()
            .await,
    );
    set_policy(
        &owner,
        "home",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"ShareWithB","Effect":"Allow","Principal":{{"AWS":"{b_acct}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::home/shared/*"}}]}}"#
        ),
    )
    .await;
    assert_eq!(get(&b_root, "home", "shared/s1").await.unwrap(), b"data");
    assert_eq!(
        get(&s.client_with(&pak, &psk), "home", "shared/s1")
            .await
            .unwrap(),
        b"data"
    );
    assert_eq!(
        get(&s.client_with(&nak, &nsk), "home", "shared/s1").await,
        Err("AccessDenied".into()),
        "the identity side must allow too"
    );
    assert_eq!(
        get(&b_root, "home", "alice/a1").await,
        Err("AccessDenied".into())
    );
    assert_eq!(
        put(&b_root, "home", "shared/x").await,
        Err("AccessDenied".into())
    );

    // Bad policies: malformed JSON, a resource outside the bucket, a principal that does not exist.
    for bad in [
        "{not json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::home/*"}]}"#,
    ] {
        let e = owner
            .put_bucket_policy()
            .bucket("home")
            .policy(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(common::code(&e), "MalformedPolicy", "{bad}");
    }
    owner
        .delete_bucket_policy()
        .bucket("home")
        .send()
        .await
        .unwrap();
    let e = owner
        .get_bucket_policy()
        .bucket("home")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "NoSuchBucketPolicy");
    assert_eq!(
        get(&b_root, "home", "shared/s1").await,
        Err("AccessDenied".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_policies_sqlite() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::IoUring)).unwrap();
    policies_deny_wins_home_folders_and_cross_account(&s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_policies_postgres() {
    let Some(s) = Server::start(Opts::new(Db::Postgres, Store::Std)) else {
        return;
    };
    policies_deny_wins_home_folders_and_cross_account(&s).await;
}

async fn anonymous(s: &Server, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", s.endpoint)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn public_buckets_acls_and_block_public_access() {
    let s = acl_server(Db::Sqlite, &[]).unwrap();
    let owner = s.client();
    owner.create_bucket().bucket("pub").send().await.unwrap();
    put(&owner, "pub", "hello.txt").await.unwrap();
    // Private by default: anonymous is refused.
    let (st, body) = anonymous(&s, "/pub/hello.txt").await;
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>") && body.contains("<RequestId>"));

    // A public-read policy: anonymous GET works, listing does not (not granted).
    set_policy(
        &owner,
        "pub",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}"#,
    )
    .await;
    assert_eq!(
        anonymous(&s, "/pub/hello.txt").await,
        (200, "data".to_owned())
    );
    assert_eq!(anonymous(&s, "/pub").await.0, 403);
    let status = owner
        .get_bucket_policy_status()
        .bucket("pub")
        .send()
        .await
        .unwrap();
    assert_eq!(status.policy_status().unwrap().is_public(), Some(true));
    // RestrictPublicBuckets: the public policy no longer serves anyone outside the account.
    owner
        .put_public_access_block()
        .bucket("pub")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous(&s, "/pub/hello.txt").await.0, 403);
    assert_eq!(get(&owner, "pub", "hello.txt").await.unwrap(), b"data");
    // BlockPublicPolicy refuses a public policy.
    owner
        .put_public_access_block()
        .bucket("pub")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_policy(true)
                .block_public_acls(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_denied(
        owner
            .put_bucket_policy()
            .bucket("pub")
            .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*"}]}"#)
            .send()
            .await,
    );
    // BlockPublicAcls refuses a public ACL.
    assert_denied(
        owner
            .put_object_acl()
            .bucket("pub")
            .key("hello.txt")
            .acl(ObjectCannedAcl::PublicRead)
            .send()
            .await,
    );
    owner
        .delete_public_access_block()
        .bucket("pub")
        .send()
        .await
        .unwrap();
    let e = owner
        .get_public_access_block()
        .bucket("pub")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "NoSuchPublicAccessBlockConfiguration");
    owner
        .delete_bucket_policy()
        .bucket("pub")
        .send()
        .await
        .unwrap();

    // A public-read object ACL, then the account-level IgnorePublicAcls set by the operator.
    put(&owner, "pub", "acl.txt").await.unwrap();
    assert_eq!(anonymous(&s, "/pub/acl.txt").await.0, 403);
    owner
        .put_object_acl()
        .bucket("pub")
        .key("acl.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous(&s, "/pub/acl.txt").await,
        (200, "data".to_owned())
    );
    let acl = owner
        .get_object_acl()
        .bucket("pub")
        .key("acl.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.grants().len(), 2);
    // A public-read bucket ACL lets anyone list.
    owner
        .put_bucket_acl()
        .bucket("pub")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let (st, body) = anonymous(&s, "/pub?list-type=2").await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("<Key>acl.txt</Key>"));
    s.admin(&[
        "account",
        "public-access-block",
        "admin",
        "--ignore-public-acls",
        "true",
    ]);
    // The change is seen within the cache's bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        if anonymous(&s, "/pub/acl.txt").await.0 == 403 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "account setting not applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(anonymous(&s, "/pub?list-type=2").await.0, 403);
    s.admin(&["account", "public-access-block", "admin", "--delete"]);

    // Anonymous writes are refused (nothing public-write) and leave nothing behind.
    let r = reqwest::Client::new()
        .put(format!("{}/pub/anon.txt", s.endpoint))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(!keys(&owner, "pub").await.contains(&"anon.txt".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn acl_grants_to_another_account_and_bucket_owner_enforced() {
    let s = acl_server(Db::Sqlite, &[]).unwrap();
    let owner = s.client();
    let (bak, bsk) = s.new_account("acct-b");
    let other = s.client_with(&bak, &bsk);
    other.create_bucket().bucket("b-own").send().await.unwrap();
    let b_canonical = other
        .list_buckets()
        .send()
        .await
        .unwrap()
        .owner()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    owner.create_bucket().bucket("shared").send().await.unwrap();
    put(&owner, "shared", "doc").await.unwrap();
    assert_eq!(
        get(&other, "shared", "doc").await,
        Err("AccessDenied".into())
    );
    // A READ grant on the object to B's canonical id; a WRITE grant on the bucket.
    owner
        .put_object_acl()
        .bucket("shared")
        .key("doc")
        .grant_read(format!("id={b_canonical}"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&other, "shared", "doc").await.unwrap(), b"data");
    let acl = owner
        .get_object_acl()
        .bucket("shared")
        .key("doc")
        .send()
        .await
        .unwrap();
    assert!(
        acl.grants().iter().any(
            |g| g.grantee().and_then(|g| g.id()) == Some(b_canonical.as_str())
                && g.permission().map(|p| p.as_str()) == Some("READ")
        ),
        "{acl:?}"
    );
    assert_eq!(
        put(&other, "shared", "from-b").await,
        Err("AccessDenied".into())
    );
    owner
        .put_bucket_acl()
        .bucket("shared")
        .grant_write(format!("id={b_canonical}"))
        .grant_full_control(format!(
            "id={}",
            owner
                .list_buckets()
                .send()
                .await
                .unwrap()
                .owner()
                .unwrap()
                .id()
                .unwrap()
        ))
        .send()
        .await
        .unwrap();
    put(&other, "shared", "from-b").await.unwrap();
    // Under ObjectWriter B owns what it wrote.
    let acl = other
        .get_object_acl()
        .bucket("shared")
        .key("from-b")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.owner().unwrap().id(), Some(b_canonical.as_str()));
    // An unknown canonical id is refused.
    let e = owner
        .put_object_acl()
        .bucket("shared")
        .key("doc")
        .grant_read("id=0000000000000000000000000000000000000000000000000000000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "InvalidArgument");

    // BucketOwnerEnforced: ACL-carrying writes are refused, the owner-only ACL still accepted.
    owner
        .create_bucket()
        .bucket("enforced")
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .send()
        .await
        .unwrap();
    let e = owner
        .put_object()
        .bucket("enforced")
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .body(bytes::Bytes::from_static(b"x").into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "AccessControlListNotSupported");
    assert!(
        keys(&owner, "enforced").await.is_empty(),
        "refused PUT wrote nothing"
    );
    owner
        .put_object()
        .bucket("enforced")
        .key("k")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .body(bytes::Bytes::from_static(b"x").into())
        .send()
        .await
        .unwrap();
    let e = owner
        .put_bucket_acl()
        .bucket("enforced")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "AccessControlListNotSupported");
    let oc = owner
        .get_bucket_ownership_controls()
        .bucket("enforced")
        .send()
        .await
        .unwrap();
    assert_eq!(
        oc.ownership_controls().unwrap().rules()[0].object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
    owner
        .put_bucket_ownership_controls()
        .bucket("enforced")
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::ObjectWriter)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    owner
        .put_bucket_acl()
        .bucket("enforced")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    owner
        .delete_bucket_ownership_controls()
        .bucket("enforced")
        .send()
        .await
        .unwrap();
    let e = owner
        .get_bucket_ownership_controls()
        .bucket("enforced")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "OwnershipControlsNotFoundError");
}

#[tokio::test(flavor = "multi_thread")]
async fn default_buckets_are_owner_enforced_and_block_public_access() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let owner = s.client();
    owner.create_bucket().bucket("modern").send().await.unwrap();
    let bpa = owner
        .get_public_access_block()
        .bucket("modern")
        .send()
        .await
        .unwrap();
    let c = bpa.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let oc = owner
        .get_bucket_ownership_controls()
        .bucket("modern")
        .send()
        .await
        .unwrap();
    assert_eq!(
        oc.ownership_controls().unwrap().rules()[0].object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
    let e = owner
        .create_bucket()
        .bucket("old-style")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&e), "InvalidBucketAclWithObjectOwnership");
    assert_denied(
        owner
            .put_bucket_policy()
            .bucket("modern")
            .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::modern/*"}]}"#)
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn source_ip_secure_transport_per_key_deletes_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let audit_arg = audit.to_str().unwrap().to_owned();
    // Two servers: one trusting no proxy, one trusting loopback as a proxy.
    let plain = acl_server(Db::Sqlite, &["--audit-log", &audit_arg]).unwrap();
    let proxied = acl_server(Db::Sqlite, &["--trusted-proxies", "127.0.0.1/32"]).unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyFromTheOffice","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::ipb/*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
    for s in [&plain, &proxied] {
        let c = s.client();
        c.create_bucket().bucket("ipb").send().await.unwrap();
        put(&c, "ipb", "k").await.unwrap();
        set_policy(&c, "ipb", policy).await;
    }
    let get_from = |s: &Server, xff: &'static str| {
        let c = s.client();
        async move {
            c.get_object()
                .bucket("ipb")
                .key("k")
                .customize()
                .mutate_request(move |r| {
                    r.headers_mut().insert("x-forwarded-for", xff);
                })
                .send()
                .await
                .map(|_| ())
                .map_err(|e| common::code(&e))
        }
    };
    // The peer is loopback: untrusted, so X-Forwarded-For cannot claim the office network.
    assert_eq!(
        get_from(&plain, "203.0.113.7").await,
        Err("AccessDenied".into())
    );
    // Through the trusted proxy the right-most untrusted address counts; a prepended one does not.
    get_from(&proxied, "203.0.113.7").await.unwrap();
    assert_eq!(
        get_from(&proxied, "203.0.113.7, 198.51.100.1").await,
        Err("AccessDenied".into())
    );
    let line = std::fs::read_to_string(&audit).unwrap();
    assert!(
        line.lines()
            .any(|l| l.contains("\"decision\":\"explicit_deny\"")
                && l.contains("\"sid\":\"OnlyFromTheOffice\"")
                && l.contains("arn:aws:s3:::ipb/k")),
        "audit names the deciding statement: {line}"
    );

    // TLS-only policy: refused over HTTP, served over HTTPS.
    let tls_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::tlsb","arn:aws:s3:::tlsb/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
    let c = plain.client();
    c.create_bucket().bucket("tlsb").send().await.unwrap();
    put(&c, "tlsb", "k").await.unwrap();
    set_policy(&c, "tlsb", tls_only).await;
    assert_eq!(get(&c, "tlsb", "k").await, Err("AccessDenied".into()));
    let mut o = Opts::new(Db::Sqlite, Store::Std);
    o.tls = true;
    let https = Server::start(o).unwrap();
    let hc = https.client();
    hc.create_bucket().bucket("tlsb").send().await.unwrap();
    put(&hc, "tlsb", "k").await.unwrap();
    set_policy(&hc, "tlsb", tls_only).await;
    assert_eq!(get(&hc, "tlsb", "k").await.unwrap(), b"data");

    // DeleteObjects with a per-key Deny deletes the others only.
    let c = plain.client();
    c.create_bucket().bucket("delb").send().await.unwrap();
    for k in ["a", "keep/b", "c"] {
        put(&c, "delb", k).await.unwrap();
    }
    set_policy(
        &c,
        "delb",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::delb/keep/*"}]}"#,
    )
    .await;
    let mut d = Delete::builder();
    for k in ["a", "keep/b", "c"] {
        d = d.objects(ObjectIdentifier::builder().key(k).build().unwrap());
    }
    let out = c
        .delete_objects()
        .bucket("delb")
        .delete(d.build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted().len(), 2);
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].key(), Some("keep/b"));
    assert_eq!(out.errors()[0].code(), Some("AccessDenied"));
    assert_eq!(keys(&c, "delb").await, ["keep/b"]);

    // Decisions are counted on /metrics.
    let m = reqwest::get(format!("{}/metrics", plain.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(
            "gatehouse_authz_decisions_total{action=\"s3:GetObject\",outcome=\"explicit_deny\"}"
        ),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_decide_by_their_owner_acl_and_tags() {
    let s = acl_server(Db::Sqlite, &[]).unwrap();
    let owner = s.client();
    let (bak, bsk) = s.new_account("writer");
    let writer = s.client_with(&bak, &bsk);
    owner
        .create_bucket()
        .bucket("drop")
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    // B writes into A's public-read-write bucket: under ObjectWriter B owns it, and A (the bucket owner)
    // cannot read it or its ACL until B grants it.
    put(&writer, "drop", "b-obj").await.unwrap();
    assert_eq!(get(&writer, "drop", "b-obj").await.unwrap(), b"data");
    assert_eq!(
        get(&owner, "drop", "b-obj").await,
        Err("AccessDenied".into())
    );
    assert_denied(
        owner
            .get_object_acl()
            .bucket("drop")
            .key("b-obj")
            .send()
            .await,
    );
    writer
        .put_object_acl()
        .bucket("drop")
        .key("b-obj")
        .acl(ObjectCannedAcl::BucketOwnerRead)
        .send()
        .await
        .unwrap();
    assert_eq!(get(&owner, "drop", "b-obj").await.unwrap(), b"data");
    // A missing key: 404 for who may list the bucket (here everyone), 403 in a private bucket.
    let (st, _) = anonymous(&s, "/drop/nothing-here").await;
    assert_eq!(st, 404);
    owner.create_bucket().bucket("closed").send().await.unwrap();
    assert_eq!(
        get(&writer, "closed", "nothing-here").await,
        Err("AccessDenied".into())
    );

    // s3:ExistingObjectTag: the object's own tags decide, for reads and tag changes.
    owner.create_bucket().bucket("tagged").send().await.unwrap();
    for (k, tag) in [("pub", "security=public"), ("priv", "security=private")] {
        owner
            .put_object()
            .bucket("tagged")
            .key(k)
            .tagging(tag)
            .body(bytes::Bytes::from_static(b"data").into())
            .send()
            .await
            .unwrap();
    }
    set_policy(
        &owner,
        "tagged",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectTagging"],"Resource":"arn:aws:s3:::tagged/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"public"}}}]}"#,
    )
    .await;
    assert_eq!(get(&writer, "tagged", "pub").await.unwrap(), b"data");
    assert_eq!(
        get(&writer, "tagged", "priv").await,
        Err("AccessDenied".into())
    );
    assert_eq!(anonymous(&s, "/tagged/pub").await.0, 200);
    assert_eq!(anonymous(&s, "/tagged/priv").await.0, 403);
    writer
        .get_object_tagging()
        .bucket("tagged")
        .key("pub")
        .send()
        .await
        .unwrap();
    assert_denied(
        writer
            .get_object_tagging()
            .bucket("tagged")
            .key("priv")
            .send()
            .await,
    );
    // A Deny on a tag holds for the bucket owner too.
    set_policy(
        &owner,
        "tagged",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::tagged/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/security":"private"}}}]}"#,
    )
    .await;
    assert_eq!(
        get(&owner, "tagged", "priv").await,
        Err("AccessDenied".into())
    );
    assert_eq!(get(&owner, "tagged", "pub").await.unwrap(), b"data");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_keeps_policy_access_unless_it_gave_it_up() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let owner = s.client();
    owner.create_bucket().bucket("locked").send().await.unwrap();
    let deny_policy_calls = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":["s3:GetBucketPolicy","s3:PutBucketPolicy","s3:DeleteBucketPolicy","s3:GetObject"],"Resource":["arn:aws:s3:::locked","arn:aws:s3:::locked/*"]}]}"#;
    set_policy(&owner, "locked", deny_policy_calls).await;
    // The policy denies the root its objects, but never the policy calls (lock-out protection).
    put(&owner, "locked", "k").await.unwrap();
    assert_eq!(get(&owner, "locked", "k").await, Err("AccessDenied".into()));
    owner
        .get_bucket_policy()
        .bucket("locked")
        .send()
        .await
        .unwrap();
    // Put again confirming the removal of that right: now the root is denied too.
    owner
        .put_bucket_policy()
        .bucket("locked")
        .policy(deny_policy_calls)
        .confirm_remove_self_bucket_access(true)
        .send()
        .await
        .unwrap();
    assert_denied(owner.get_bucket_policy().bucket("locked").send().await);
    assert_denied(owner.delete_bucket_policy().bucket("locked").send().await);
}
