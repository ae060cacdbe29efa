//! S3 access control through the policy engine, with the real binary and real clients: bucket policies
//! (deny wins, home folders with `${aws:username}` and s3:prefix, aws:SourceIp with and without a trusted
//! proxy, aws:SecureTransport, cross-account grants needing both sides), DeleteObjects decided per key, the audit
//! line naming the deciding statement, and the owner's own access. ACLs and public access: `public_access.rs`.
//! Every denial is AccessDenied with a request id and changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use common::access::*;
use common::{Db, Opts, Server, Store, get, put};

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
