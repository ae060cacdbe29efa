//! The IAM store (`meta::iam`), each test against SQLite and, when `GATEHOUSE_TEST_PG_URL` is set, Postgres.
#![allow(clippy::unwrap_used)]

#[path = "suite/common.rs"]
mod common;

use gatehouse_meta::*;

const A: &str = "111111111111";
const B: &str = "222222222222";

async fn accounts(m: &Meta) {
    for (id, n) in [(A, "a"), (B, "b")] {
        m.create_account(&Account {
            id: id.into(),
            name: n.into(),
            canonical_id: format!("canon-{n}"),
            display_name: n.into(),
            email: None,
            created_ms: 1,
        })
        .await
        .unwrap();
    }
}

fn user(account: &str, name: &str, path: &str) -> IamUser {
    IamUser {
        account_id: account.into(),
        user_id: gatehouse_core::new_unique_id("AIDA"),
        name: name.into(),
        path: path.into(),
        created_ms: 5,
        boundary_arn: None,
    }
}

fn policy(account: &str, name: &str) -> ManagedPolicy {
    ManagedPolicy {
        account_id: account.into(),
        policy_id: gatehouse_core::new_unique_id("ANPA"),
        name: name.into(),
        path: "/".into(),
        arn: format!("arn:aws:iam::{account}:policy/{name}"),
        description: Some("d".into()),
        default_version: 1,
        attachment_count: 0,
        boundary_usage_count: 0,
        created_ms: 7,
        updated_ms: 7,
    }
}

const DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

macro_rules! assert_err {
    ($e:expr, $pat:pat) => {
        match $e {
            Err($pat) => {}
            other => panic!("expected {}, got {other:?}", stringify!($pat)),
        }
    };
}

async fn users_and_keys(m: Meta) {
    accounts(&m).await;
    assert_eq!(m.iam_version(A).await.unwrap(), 0);
    m.create_iam_user(&user(A, "Alice", "/")).await.unwrap();
    assert_eq!(m.iam_version(A).await.unwrap(), 1);
    assert_eq!(m.iam_version(B).await.unwrap(), 0);
    assert_err!(
        m.create_iam_user(&user(A, "alice", "/")).await,
        IamDbError::AlreadyExists(_)
    );
    // Same name in another account is fine, and invisible from A.
    m.create_iam_user(&user(B, "alice", "/")).await.unwrap();
    m.create_iam_user(&user(A, "bob", "/dev/")).await.unwrap();
    m.create_iam_user(&user(A, "carol", "/dev/x/"))
        .await
        .unwrap();
    let u = m.get_iam_user(A, "ALICE").await.unwrap().unwrap();
    assert_eq!(u.name, "Alice");
    assert_eq!(u.arn(), format!("arn:aws:iam::{A}:user/Alice"));
    assert!(m.get_iam_user(A, "nobody").await.unwrap().is_none());

    let p1 = m
        .list_iam_users(
            A,
            "/",
            PageReq {
                marker: None,
                max_items: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        p1.items.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["Alice", "bob"]
    );
    assert!(p1.is_truncated());
    let p2 = m
        .list_iam_users(
            A,
            "/",
            PageReq {
                marker: p1.next_marker.as_deref(),
                max_items: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 1);
    assert!(!p2.is_truncated());
    let dev = m
        .list_iam_users(A, "/dev/", PageReq::default())
        .await
        .unwrap();
    assert_eq!(dev.items.len(), 2);
    assert_eq!(
        m.list_iam_users(B, "/", PageReq::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // Keys: at most two; they follow a rename; the user cannot go while it has them.
    for i in 0..2 {
        m.create_iam_access_key(A, Some("alice"), &format!("AKIAKEY{i}"), b"sealed", 10 + i)
            .await
            .unwrap();
    }
    assert_err!(
        m.create_iam_access_key(A, Some("alice"), "AKIAKEY9", b"s", 20)
            .await,
        IamDbError::LimitExceeded(_)
    );
    assert_err!(
        m.create_iam_access_key(A, Some("zed"), "AKIAKEY8", b"s", 20)
            .await,
        IamDbError::NoSuchEntity(_)
    );
    let keys = m.list_iam_access_keys(A, Some("alice")).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].user_name.as_deref(), Some("Alice"));
    assert_err!(
        m.list_iam_access_keys(B, Some("bob")).await,
        IamDbError::NoSuchEntity(_)
    );
    // Another account cannot touch A's key.
    assert_err!(
        m.delete_iam_access_key(B, Some("alice"), "AKIAKEY0").await,
        IamDbError::NoSuchEntity(_)
    );
    assert!(
        m.iam_access_key_last_used(B, "AKIAKEY0")
            .await
            .unwrap()
            .is_none()
    );
    let lu = m
        .iam_access_key_last_used(A, "AKIAKEY0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lu.last_used_ms, None);
    m.record_access_key_use("AKIAKEY0", 99, "s3", "us-east-1")
        .await
        .unwrap();
    let lu = m
        .iam_access_key_last_used(A, "AKIAKEY0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (lu.last_used_ms, lu.service.as_deref()),
        (Some(99), Some("s3"))
    );

    m.update_iam_access_key(A, Some("alice"), "AKIAKEY0", "Inactive")
        .await
        .unwrap();
    assert_eq!(
        m.get_access_key("AKIAKEY0").await.unwrap().unwrap().status,
        "Inactive"
    );
    let renamed = m
        .update_iam_user(A, "alice", Some("alice2"), Some("/ops/"))
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.path.as_str()),
        ("alice2", "/ops/")
    );
    assert_eq!(
        m.get_access_key("AKIAKEY1")
            .await
            .unwrap()
            .unwrap()
            .user_name
            .as_deref(),
        Some("alice2")
    );
    assert_err!(
        m.update_iam_user(A, "alice2", Some("BOB"), None).await,
        IamDbError::AlreadyExists(_)
    );
    assert_err!(
        m.delete_iam_user(A, "alice2").await,
        IamDbError::DeleteConflict(_)
    );
    m.delete_iam_access_key(A, Some("alice2"), "AKIAKEY0")
        .await
        .unwrap();
    m.delete_iam_access_key(A, Some("alice2"), "AKIAKEY1")
        .await
        .unwrap();
    assert_err!(
        m.delete_iam_access_key(A, Some("alice2"), "AKIAKEY1").await,
        IamDbError::NoSuchEntity(_)
    );
    // Root keys.
    m.create_iam_access_key(A, None, "AKIAROOT", b"s", 1)
        .await
        .unwrap();
    assert_eq!(m.list_iam_access_keys(A, None).await.unwrap().len(), 1);
    assert_eq!(m.list_iam_access_keys(B, None).await.unwrap().len(), 0);

    // Inline policies block the delete too.
    m.put_inline_policy(EntityKind::User, A, "alice2", "p", DOC, Some(2048))
        .await
        .unwrap();
    assert_err!(
        m.delete_iam_user(A, "alice2").await,
        IamDbError::DeleteConflict(_)
    );
    m.delete_inline_policy(EntityKind::User, A, "alice2", "p")
        .await
        .unwrap();
    let v = m.iam_version(A).await.unwrap();
    m.delete_iam_user(A, "alice2").await.unwrap();
    assert!(m.iam_version(A).await.unwrap() > v);
    assert_err!(
        m.delete_iam_user(A, "alice2").await,
        IamDbError::NoSuchEntity(_)
    );
    // B's alice is still there.
    assert!(m.get_iam_user(B, "alice").await.unwrap().is_some());
}

async fn inline_policies(m: Meta) {
    accounts(&m).await;
    m.create_iam_user(&user(A, "u", "/")).await.unwrap();
    m.put_inline_policy(EntityKind::User, A, "u", "one", DOC, Some(2048))
        .await
        .unwrap();
    m.put_inline_policy(EntityKind::User, A, "u", "two", DOC, Some(2048))
        .await
        .unwrap();
    // Replacing keeps one copy.
    m.put_inline_policy(EntityKind::User, A, "u", "two", DOC, Some(2048))
        .await
        .unwrap();
    assert_eq!(
        m.list_inline_policies(EntityKind::User, A, "u")
            .await
            .unwrap(),
        ["one", "two"]
    );
    let (name, doc) = m
        .get_inline_policy(EntityKind::User, A, "U", "one")
        .await
        .unwrap();
    assert_eq!((name.as_str(), doc.as_str()), ("u", DOC));
    assert_err!(
        m.get_inline_policy(EntityKind::User, A, "u", "nope").await,
        IamDbError::NoSuchEntity(_)
    );
    assert_err!(
        m.get_inline_policy(EntityKind::User, B, "u", "one").await,
        IamDbError::NoSuchEntity(_)
    );
    // The aggregate quota counts the other policies.
    let limit = DOC.len() * 3 - 1;
    assert_err!(
        m.put_inline_policy(EntityKind::User, A, "u", "three", DOC, Some(limit))
            .await,
        IamDbError::LimitExceeded(_)
    );
    m.put_inline_policy(EntityKind::User, A, "u", "two", DOC, Some(limit))
        .await
        .unwrap();
}

async fn managed_policies(m: Meta) {
    accounts(&m).await;
    let p = policy(A, "Pol");
    m.create_managed_policy(&p, DOC).await.unwrap();
    assert_err!(
        m.create_managed_policy(&policy(A, "pol"), DOC).await,
        IamDbError::AlreadyExists(_)
    );
    let got = m.get_managed_policy(A, &p.arn).await.unwrap().unwrap();
    assert_eq!((got.default_version, got.attachment_count), (1, 0));
    assert!(m.get_managed_policy(B, &p.arn).await.unwrap().is_none());
    for i in 2..=5 {
        let v = m
            .create_policy_version(A, &p.arn, DOC, i == 3, 8)
            .await
            .unwrap();
        assert_eq!(v.version, i);
    }
    assert_err!(
        m.create_policy_version(A, &p.arn, DOC, false, 9).await,
        IamDbError::LimitExceeded(_)
    );
    assert_eq!(
        m.get_managed_policy(A, &p.arn)
            .await
            .unwrap()
            .unwrap()
            .default_version,
        3
    );
    assert_err!(
        m.delete_policy_version(A, &p.arn, 3).await,
        IamDbError::DeleteConflict(_)
    );
    m.delete_policy_version(A, &p.arn, 5).await.unwrap();
    // Version numbers are never reused.
    assert_eq!(
        m.create_policy_version(A, &p.arn, DOC, false, 9)
            .await
            .unwrap()
            .version,
        6
    );
    let vs = m.list_policy_versions(A, &p.arn).await.unwrap();
    assert_eq!(
        vs.iter().map(|v| v.version).collect::<Vec<_>>(),
        [6, 4, 3, 2, 1]
    );
    assert!(vs[2].is_default);
    m.set_default_policy_version(A, &p.arn, 6, 10)
        .await
        .unwrap();
    assert!(m.get_policy_version(A, &p.arn, 6).await.unwrap().is_default);
    assert_err!(
        m.get_policy_version(A, &p.arn, 5).await,
        IamDbError::NoSuchEntity(_)
    );
    assert_err!(
        m.get_policy_version(B, &p.arn, 6).await,
        IamDbError::NoSuchEntity(_)
    );
    assert_err!(
        m.set_default_policy_version(A, &p.arn, 5, 1).await,
        IamDbError::NoSuchEntity(_)
    );

    // Attachments.
    m.create_iam_user(&user(A, "u", "/")).await.unwrap();
    m.create_iam_user(&user(B, "u", "/")).await.unwrap();
    m.attach_managed_policy(EntityKind::User, A, "u", &p.arn)
        .await
        .unwrap();
    m.attach_managed_policy(EntityKind::User, A, "u", &p.arn)
        .await
        .unwrap();
    let aws = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    m.attach_managed_policy(EntityKind::User, A, "u", aws)
        .await
        .unwrap();
    // B cannot attach A's policy.
    assert_err!(
        m.attach_managed_policy(EntityKind::User, B, "u", &p.arn)
            .await,
        IamDbError::NoSuchEntity(_)
    );
    assert_eq!(
        m.list_attached_policies(EntityKind::User, A, "u")
            .await
            .unwrap(),
        [p.arn.clone(), aws.to_string()]
    );
    assert_eq!(
        m.get_managed_policy(A, &p.arn)
            .await
            .unwrap()
            .unwrap()
            .attachment_count,
        1
    );
    let only = m
        .list_managed_policies(A, "/", true, PageReq::default())
        .await
        .unwrap();
    assert_eq!(only.items.len(), 1);
    let ents = m.list_entities_for_policy(A, &p.arn).await.unwrap();
    assert_eq!(ents.users.len(), 1);
    assert!(
        m.list_entities_for_policy(B, aws)
            .await
            .unwrap()
            .users
            .is_empty()
    );
    assert_err!(
        m.delete_managed_policy(A, &p.arn).await,
        IamDbError::DeleteConflict(_)
    );
    m.detach_managed_policy(EntityKind::User, A, "u", &p.arn)
        .await
        .unwrap();
    assert_err!(
        m.detach_managed_policy(EntityKind::User, A, "u", &p.arn)
            .await,
        IamDbError::NoSuchEntity(_)
    );
    // Still has several versions.
    assert_err!(
        m.delete_managed_policy(A, &p.arn).await,
        IamDbError::DeleteConflict(_)
    );
    for v in [1, 2, 3, 4] {
        m.delete_policy_version(A, &p.arn, v).await.unwrap();
    }
    m.tag_iam(TagTarget::Policy, A, &p.arn, &[("k".into(), "v".into())])
        .await
        .unwrap();
    m.delete_managed_policy(A, &p.arn).await.unwrap();
    assert!(m.get_managed_policy(A, &p.arn).await.unwrap().is_none());
    // Attachment quota.
    for i in 0..9 {
        let q = policy(A, &format!("q{i}"));
        m.create_managed_policy(&q, DOC).await.unwrap();
        m.attach_managed_policy(EntityKind::User, A, "u", &q.arn)
            .await
            .unwrap();
    }
    let q = policy(A, "q-last");
    m.create_managed_policy(&q, DOC).await.unwrap();
    assert_err!(
        m.attach_managed_policy(EntityKind::User, A, "u", &q.arn)
            .await,
        IamDbError::LimitExceeded(_)
    );
    let page = m
        .list_managed_policies(
            A,
            "/",
            false,
            PageReq {
                marker: None,
                max_items: 4,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4);
    assert!(page.is_truncated());
}

async fn groups_roles_tags(m: Meta) {
    accounts(&m).await;
    m.create_iam_user(&user(A, "u", "/")).await.unwrap();
    let g = IamGroup {
        account_id: A.into(),
        group_id: gatehouse_core::new_unique_id("AGPA"),
        name: "Devs".into(),
        path: "/".into(),
        created_ms: 1,
    };
    m.create_iam_group(&g).await.unwrap();
    assert_err!(
        m.create_iam_group(&IamGroup {
            group_id: "AGPAX".into(),
            name: "devs".into(),
            ..g.clone()
        })
        .await,
        IamDbError::AlreadyExists(_)
    );
    m.add_iam_user_to_group(A, "devs", "u").await.unwrap();
    m.add_iam_user_to_group(A, "devs", "u").await.unwrap();
    assert_eq!(m.iam_group_members(A, "devs").await.unwrap().len(), 1);
    assert_eq!(m.iam_groups_for_user(A, "u").await.unwrap()[0].name, "Devs");
    assert_err!(
        m.iam_group_members(B, "devs").await,
        IamDbError::NoSuchEntity(_)
    );
    assert_err!(
        m.delete_iam_group(A, "devs").await,
        IamDbError::DeleteConflict(_)
    );
    assert_err!(
        m.delete_iam_user(A, "u").await,
        IamDbError::DeleteConflict(_)
    );
    m.put_inline_policy(EntityKind::Group, A, "devs", "gp", DOC, Some(5120))
        .await
        .unwrap();
    m.attach_managed_policy(
        EntityKind::Group,
        A,
        "devs",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    )
    .await
    .unwrap();

    let r = IamRole {
        account_id: A.into(),
        role_id: gatehouse_core::new_unique_id("AROA"),
        name: "Runner".into(),
        path: "/svc/".into(),
        trust_policy: "{}".into(),
        description: None,
        max_session_duration: 3600,
        boundary_arn: None,
        created_ms: 1,
    };
    m.create_iam_role(&r).await.unwrap();
    assert_err!(m.create_iam_role(&r).await, IamDbError::AlreadyExists(_));
    m.update_iam_role(
        A,
        "runner",
        &RoleUpdate {
            description: Some("desc"),
            max_session_duration: Some(7200),
            trust_policy: Some(DOC),
        },
    )
    .await
    .unwrap();
    let got = m.get_iam_role(A, "RUNNER").await.unwrap().unwrap();
    assert_eq!(
        (
            got.description.as_deref(),
            got.max_session_duration,
            got.trust_policy.as_str()
        ),
        (Some("desc"), 7200, DOC)
    );
    assert!(m.get_iam_role(B, "runner").await.unwrap().is_none());
    assert_eq!(
        m.list_iam_roles(A, "/svc/", PageReq::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    m.put_inline_policy(EntityKind::Role, A, "runner", "rp", DOC, Some(10240))
        .await
        .unwrap();
    assert_err!(
        m.delete_iam_role(A, "runner").await,
        IamDbError::DeleteConflict(_)
    );

    // Boundaries: a customer policy must exist in the account.
    let bp = policy(A, "Boundary");
    m.create_managed_policy(&bp, DOC).await.unwrap();
    assert_err!(
        m.set_iam_boundary(EntityKind::User, A, "u", Some(&policy(B, "x").arn))
            .await,
        IamDbError::NoSuchEntity(_)
    );
    m.set_iam_boundary(EntityKind::User, A, "u", Some(&bp.arn))
        .await
        .unwrap();
    assert_eq!(
        m.get_managed_policy(A, &bp.arn)
            .await
            .unwrap()
            .unwrap()
            .boundary_usage_count,
        1
    );
    assert_err!(
        m.delete_managed_policy(A, &bp.arn).await,
        IamDbError::DeleteConflict(_)
    );

    // Tags.
    let tags = vec![
        ("Team".to_string(), "a".to_string()),
        ("env".to_string(), "p".to_string()),
    ];
    m.tag_iam(TagTarget::User, A, "u", &tags).await.unwrap();
    m.tag_iam(TagTarget::User, A, "u", &[("TEAM".into(), "b".into())])
        .await
        .unwrap();
    assert_eq!(
        m.list_iam_tags(TagTarget::User, A, "u").await.unwrap(),
        [
            ("env".to_string(), "p".to_string()),
            ("TEAM".to_string(), "b".to_string())
        ]
    );
    m.untag_iam(TagTarget::User, A, "u", &["team".into(), "absent".into()])
        .await
        .unwrap();
    assert_eq!(
        m.list_iam_tags(TagTarget::User, A, "u")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_err!(
        m.list_iam_tags(TagTarget::User, B, "u").await,
        IamDbError::NoSuchEntity(_)
    );
    let many: Vec<_> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
    assert_err!(
        m.tag_iam(TagTarget::Role, A, "runner", &many).await,
        IamDbError::LimitExceeded(_)
    );
    assert!(
        m.list_iam_tags(TagTarget::Role, A, "runner")
            .await
            .unwrap()
            .is_empty()
    );

    // user_authz gathers everything.
    m.put_inline_policy(EntityKind::User, A, "u", "up", DOC, Some(2048))
        .await
        .unwrap();
    let resolver = |arn: &str| -> Option<(String, String)> {
        arn.ends_with("/ReadOnlyAccess")
            .then(|| ("v9".to_string(), "{ro}".to_string()))
    };
    let az = m
        .user_authz(A, "U", Some(&resolver))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(az.user.name, "u");
    assert_eq!(az.policies.inline, [("up".to_string(), DOC.to_string())]);
    assert_eq!(az.groups.len(), 1);
    assert_eq!(az.groups[0].policies.inline.len(), 1);
    assert_eq!(
        az.groups[0].policies.managed[0].document.as_deref(),
        Some("{ro}")
    );
    assert_eq!(az.boundary.as_ref().unwrap().document.as_deref(), Some(DOC));
    assert_eq!(
        az.boundary.as_ref().unwrap().version_id.as_deref(),
        Some("v1")
    );
    assert_eq!(az.version, m.iam_version(A).await.unwrap());
    let az = m.user_authz(A, "u", None).await.unwrap().unwrap();
    assert_eq!(az.groups[0].policies.managed[0].document, None);
    assert!(m.user_authz(B, "u", None).await.unwrap().is_none());
    let gz = m
        .group_authz(A, "dEVS", Some(&resolver))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gz.group.name, "Devs", "found case-insensitively");
    assert_eq!(gz.policies.inline, az.groups[0].policies.inline);
    assert_eq!(gz.policies.managed[0].document.as_deref(), Some("{ro}"));
    assert!(m.group_authz(B, "devs", None).await.unwrap().is_none());
    let rz = m.role_authz(A, "runner", None).await.unwrap().unwrap();
    assert_eq!(rz.policies.inline.len(), 1);
    assert!(rz.boundary.is_none());

    m.remove_iam_user_from_group(A, "devs", "u").await.unwrap();
    assert_err!(
        m.remove_iam_user_from_group(A, "devs", "u").await,
        IamDbError::NoSuchEntity(_)
    );
    m.delete_inline_policy(EntityKind::Group, A, "devs", "gp")
        .await
        .unwrap();
    m.detach_managed_policy(
        EntityKind::Group,
        A,
        "devs",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    )
    .await
    .unwrap();
    m.delete_iam_group(A, "devs").await.unwrap();
    m.delete_inline_policy(EntityKind::Role, A, "runner", "rp")
        .await
        .unwrap();
    m.delete_iam_role(A, "runner").await.unwrap();
    assert!(m.get_iam_role(A, "runner").await.unwrap().is_none());
}

/// Postgres: every change sends `NOTIFY gatehouse_iam, '<account>'` on commit. The channel is database-wide
/// (other tests' schemas notify too), so this test uses an account id of its own.
async fn notify(db: &common::TestDb) {
    let m = &db.meta;
    if m.dialect() != "postgres" {
        return;
    }
    let own = gatehouse_core::new_account_id();
    m.create_account(&Account {
        id: own.clone(),
        name: format!("n{own}"),
        canonical_id: format!("canon-n{own}"),
        display_name: "n".into(),
        email: None,
        created_ms: 1,
    })
    .await
    .unwrap();
    let mut listener = sqlx::postgres::PgListener::connect(&db.url).await.unwrap();
    listener.listen("gatehouse_iam").await.unwrap();
    m.create_iam_user(&user(&own, "n", "/")).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let n = listener.recv().await.unwrap();
            if n.payload() == own {
                break;
            }
        }
    })
    .await
    .expect("a notice naming the account");
}

/// The two-key quota holds under concurrent creates (the count runs under the user's row lock).
async fn concurrent_keys(m: Meta) {
    accounts(&m).await;
    m.create_iam_user(&user(A, "race", "/")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            m.create_iam_access_key(A, Some("race"), &format!("AKIARACE{i}"), b"s", i)
                .await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(IamDbError::LimitExceeded(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(created, 2);
    assert_eq!(
        m.list_iam_access_keys(A, Some("race")).await.unwrap().len(),
        2
    );
}

both!(
    users_and_keys,
    inline_policies,
    managed_policies,
    groups_roles_tags,
    concurrent_keys
);
both_db!(notify);
