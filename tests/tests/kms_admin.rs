//! `gatehouse admin kms key create|list|rotate` on the local KMS (beside a running server, SQLite and
//! Postgres) and on Vault transit (OpenBao).
#![allow(clippy::unwrap_used)]

mod common;

use common::Server;

fn field(out: &str, k: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {k}= in {out}"))
}

async fn local_keys(s: &Server) {
    let out = s.admin(&["kms", "key", "create", "testkey-1", "--key-id", "testkey-1"]);
    assert_eq!(field(&out, "key_id"), "testkey-1");
    assert!(
        field(&out, "arn").starts_with("arn:aws:kms:us-east-1:"),
        "{out}"
    );
    assert!(field(&out, "arn").ends_with(":key/testkey-1"), "{out}");
    let out = s.admin(&["kms", "key", "create", "other"]);
    let other_id = field(&out, "key_id");
    let list = s.admin(&["kms", "key", "list"]);
    assert!(
        list.contains("testkey-1") && list.contains(&other_id),
        "{list}"
    );
    assert_eq!(
        field(&s.admin(&["kms", "key", "rotate", "testkey-1"]), "version"),
        "2"
    );
    assert_eq!(
        field(
            &s.admin(&["kms", "key", "rotate", "alias/testkey-1"]),
            "version"
        ),
        "3"
    );
    // A second account: the owner must be named.
    s.new_account("second");
    let out = std::process::Command::new(common::bin())
        .args(["admin", "kms", "key", "create", "third"])
        .args(s.store_args())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--account"));
}
matrix!(local_keys);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_keys() {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(addr), Some(_token), Some(ca)) = (
        get("GATEHOUSE_VAULT_ADDR"),
        get("GATEHOUSE_VAULT_TOKEN"),
        get("GATEHOUSE_VAULT_CACERT"),
    ) else {
        assert!(
            get("GATEHOUSE_REQUIRE_VAULT").as_deref() != Some("1"),
            "GATEHOUSE_REQUIRE_VAULT=1 but the OpenBao variables are not set"
        );
        return;
    };
    let mut opts = common::Opts::new(common::Db::Sqlite, common::Store::Std);
    opts.extra_admin = vec![
        "--kms".into(),
        "vault".into(),
        "--vault-addr".into(),
        addr,
        "--vault-ca".into(),
        ca,
    ];
    let s = Server::start(opts).unwrap();
    let name = format!("gh-admin-{}", hex::encode(rand::random::<[u8; 4]>()));
    let out = s.admin(&["kms", "key", "create", &name, "--key-id", &name]);
    assert_eq!(field(&out, "key_id"), name);
    assert!(s.admin(&["kms", "key", "list"]).contains(&name));
    assert_eq!(
        field(&s.admin(&["kms", "key", "rotate", &name]), "version"),
        "2"
    );
}
