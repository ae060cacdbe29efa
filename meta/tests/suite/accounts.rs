//! Accounts and access keys.

use gatehouse_meta::*;

use crate::both;

fn account(id: &str, name: &str, canon: &str, email: Option<&str>) -> Account {
    Account {
        id: id.into(),
        name: name.into(),
        canonical_id: canon.into(),
        display_name: format!("{name} display"),
        email: email.map(Into::into),
        created_ms: 42,
    }
}

async fn accounts_crud(m: Meta) {
    assert_eq!(m.account_count().await.unwrap(), 0);
    let a = account("000000000002", "zeta", "c2", Some("z@example.com"));
    let b = account("000000000001", "alpha", "c1", None);
    let c = account("000000000003", "mid", "c3", None);
    for x in [&a, &b, &c] {
        m.create_account(x).await.unwrap();
    }
    assert_eq!(m.account_count().await.unwrap(), 3);
    let names: Vec<_> = m
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);
    assert_eq!(
        m.get_account("000000000002").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(m.get_account("999999999999").await.unwrap(), None);
    assert_eq!(
        m.get_account_by_canonical_id("c1").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        m.get_account_by_email("z@example.com").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        m.get_account_by_email("nobody@example.com").await.unwrap(),
        None
    );

    for dup in [
        account("000000000002", "other", "cx", None),
        account("000000000009", "zeta", "cy", None),
        account("000000000009", "other", "c1", None),
        account("000000000009", "other", "cz", Some("z@example.com")),
    ] {
        match m.create_account(&dup).await {
            Err(MetaError::AlreadyExists(_)) => {}
            other => panic!("duplicate {dup:?}: {other:?}"),
        }
    }
    assert_eq!(m.account_count().await.unwrap(), 3);
}

async fn access_keys(m: Meta) {
    m.create_account(&account("000000000001", "alpha", "c1", None))
        .await
        .unwrap();
    let root = AccessKey {
        access_key_id: "AKIAROOT".into(),
        secret_sealed: vec![0, 1, 2, 255, 0, 128],
        account_id: "000000000001".into(),
        user_name: None,
        status: "Active".into(),
        created_ms: 7,
    };
    let user = AccessKey {
        access_key_id: "AKIAUSER".into(),
        user_name: Some("bob".into()),
        ..root.clone()
    };
    m.create_access_key(&root).await.unwrap();
    m.create_access_key(&user).await.unwrap();
    assert_eq!(
        m.get_access_key("AKIAROOT").await.unwrap(),
        Some(root.clone())
    );
    assert_eq!(m.get_access_key("AKIAUSER").await.unwrap(), Some(user));
    assert_eq!(m.get_access_key("AKIANONE").await.unwrap(), None);
    assert!(matches!(
        m.create_access_key(&root).await,
        Err(MetaError::AlreadyExists(_))
    ));
}

both!(accounts_crud, access_keys);
