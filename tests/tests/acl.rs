//! ACLs on a bucket with the default settings (BucketOwnerEnforced: ACLs disabled, as on AWS since 2023):
//! everything is private, Get*Acl say so, Put*Acl accept only the owner's FULL_CONTROL and refuse real grants
//! with AccessControlListNotSupported, changing nothing. Grants on buckets with ACLs enabled are tested in
//! `access_control.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, Owner, Permission, Type,
};
use common::{code, status};

async fn private_everything(s: &common::Server) {
    let c = s.client();
    c.create_bucket().bucket("acls").send().await.unwrap();
    c.put_object()
        .bucket("acls")
        .key("o")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let b = c.get_bucket_acl().bucket("acls").send().await.unwrap();
    let owner_id = b.owner().and_then(|o| o.id()).unwrap().to_owned();
    assert_eq!(owner_id.len(), 64, "canonical user id");
    let grants = b.grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].permission(), Some(&Permission::FullControl));
    let ge = grants[0].grantee().unwrap();
    assert_eq!(
        (ge.r#type(), ge.id()),
        (&Type::CanonicalUser, Some(owner_id.as_str()))
    );
    let o = c
        .get_object_acl()
        .bucket("acls")
        .key("o")
        .send()
        .await
        .unwrap();
    assert_eq!(o.owner().and_then(|o| o.id()), Some(owner_id.as_str()));
    assert_eq!(o.grants().len(), 1);
    let e = c
        .get_object_acl()
        .bucket("acls")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NoSuchKey");

    // ACLs are disabled: even the `private` canned ACL is refused (AWS accepts only
    // bucket-owner-full-control or its explicit equivalent, which change nothing).
    let e = c
        .put_bucket_acl()
        .bucket("acls")
        .acl(BucketCannedAcl::Private)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessControlListNotSupported");
    let e = c
        .put_object_acl()
        .bucket("acls")
        .key("o")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessControlListNotSupported");
    c.put_object_acl()
        .bucket("acls")
        .key("o")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .send()
        .await
        .unwrap();
    let own = AccessControlPolicy::builder()
        .owner(Owner::builder().id(&owner_id).build())
        .grants(
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::CanonicalUser)
                        .id(&owner_id)
                        .build()
                        .unwrap(),
                )
                .permission(Permission::FullControl)
                .build(),
        )
        .build();
    c.put_object_acl()
        .bucket("acls")
        .key("o")
        .access_control_policy(own)
        .send()
        .await
        .unwrap();

    // ACLs are disabled: real grants are refused, and nothing changes.
    let e = c
        .put_bucket_acl()
        .bucket("acls")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (status(&e), code(&e).as_str()),
        (400, "AccessControlListNotSupported")
    );
    let e = c
        .put_object_acl()
        .bucket("acls")
        .key("o")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessControlListNotSupported");
    let e = c
        .put_bucket_acl()
        .bucket("acls")
        .acl(BucketCannedAcl::from("public-ready"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgument");
    assert_eq!(
        c.get_bucket_acl()
            .bucket("acls")
            .send()
            .await
            .unwrap()
            .grants()
            .len(),
        1
    );
    // Anonymous reads stay refused.
    let anon = reqwest::get(format!("{}/acls/o", s.endpoint))
        .await
        .unwrap();
    assert_eq!(anon.status().as_u16(), 403);
    // Another account can neither read nor set them.
    let (ak, sk) = s.new_account("other");
    let other = s.client_with(&ak, &sk);
    let e = other
        .get_bucket_acl()
        .bucket("acls")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = other
        .put_object_acl()
        .bucket("acls")
        .key("o")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
}
matrix!(private_everything);

/// `x-amz-expected-bucket-owner` (and its copy-source twin) is checked against the bucket's account.
async fn expected_bucket_owner(s: &common::Server) {
    let out = s.admin(&["account", "create", "owner2"]);
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .to_owned()
    };
    let (id, ak, sk) = (
        field("account_id="),
        field("access_key_id="),
        field("secret_access_key="),
    );
    let c = s.client_with(&ak, &sk);
    c.create_bucket().bucket("owned").send().await.unwrap();
    c.put_object()
        .bucket("owned")
        .key("o")
        .body(ByteStream::from_static(b"x"))
        .expected_bucket_owner(&id)
        .send()
        .await
        .unwrap();
    let e = c
        .get_object()
        .bucket("owned")
        .key("o")
        .expected_bucket_owner("111111111111")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    let e = c
        .copy_object()
        .bucket("owned")
        .key("copy")
        .copy_source("owned/o")
        .expected_source_bucket_owner("111111111111")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    c.copy_object()
        .bucket("owned")
        .key("copy")
        .copy_source("owned/o")
        .expected_source_bucket_owner(&id)
        .expected_bucket_owner(&id)
        .send()
        .await
        .unwrap();
}
matrix!(expected_bucket_owner);
