//! Public access and ACLs through the policy engine, with the real binary and real clients: anonymous reads of
//! public buckets and objects and Block Public Access, canned ACLs and grants to another account's canonical id,
//! refused under BucketOwnerEnforced, new buckets' defaults, and objects decided by their owner, ACL and tags.
//! Every denial is AccessDenied with a request id and changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::types::{
    BucketCannedAcl, ObjectCannedAcl, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration,
};

use common::access::*;
use common::{Db, Opts, Server, Store, get, put};

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
