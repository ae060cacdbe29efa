//! Test databases: a fresh SQLite file, or a fresh Postgres schema per test.
//!
//! Postgres tests run when `GATEHOUSE_TEST_PG_URL` is set (see `scripts/pg.sh start`); each creates a
//! random schema, opens `Meta` with `options=-c search_path=<schema>` and drops the schema at the end.
//! With the variable unset they print a skip note and pass, unless `GATEHOUSE_REQUIRE_PG=1`.
#![allow(dead_code)]

use std::collections::BTreeMap;

use gatehouse_meta::*;
use rand::Rng;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

/// One test database; call `finish` at the end to clean up the Postgres schema.
pub struct TestDb {
    pub meta: Meta,
    /// URL of the same database (schema), for tests that reach past `Meta` with raw SQL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Drops the Postgres schema (SQLite files go with the temp dir).
    pub async fn finish(self) {
        if let Some((url, schema)) = &self.pg {
            let admin = admin_pool(url).await;
            let sql = format!("DROP SCHEMA \"{schema}\" CASCADE");
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await {
                eprintln!("note: could not drop test schema {schema}: {e}");
            }
            admin.close().await;
        }
    }
}

async fn admin_pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect to the test database")
}

/// A fresh SQLite database in a temp dir.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.db");
    let meta = Meta::open_sqlite(&path).await.expect("open sqlite");
    assert_eq!(meta.dialect(), "sqlite");
    TestDb {
        meta,
        url: format!("sqlite://{}?mode=rw", path.display()),
        _dir: Some(dir),
        pg: None,
    }
}

/// A fresh Postgres schema, or `None` (skip) when no server is configured.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let url = match std::env::var("GATEHOUSE_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("GATEHOUSE_REQUIRE_PG").as_deref() == Ok("1") {
                panic!(
                    "GATEHOUSE_REQUIRE_PG=1 but GATEHOUSE_TEST_PG_URL is not set (run scripts/pg.sh start)"
                );
            }
            eprintln!("skipping Postgres test {test}: GATEHOUSE_TEST_PG_URL is not set");
            return None;
        }
    };
    let schema = format!("t_{:016x}", rand::thread_rng().r#gen::<u64>());
    let admin = admin_pool(&url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .expect("create test schema");
    admin.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let meta_url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let meta = Meta::open(&meta_url).await.expect("open postgres");
    assert_eq!(meta.dialect(), "postgres");
    Some(TestDb {
        meta,
        url: meta_url,
        _dir: None,
        pg: Some((url, schema)),
    })
}

/// A one-connection pool on `db`'s database, for raw SQL.
pub async fn raw_pool(db: &TestDb) -> AnyPool {
    admin_pool(&db.url).await
}

/// Defines `NAME::sqlite` and `NAME::postgres` tests running `async fn NAME(&TestDb)`.
#[macro_export]
macro_rules! both_db {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = $crate::common::sqlite().await;
                super::$name(&db).await;
                db.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(db) = $crate::common::postgres(concat!(module_path!())).await else { return };
                super::$name(&db).await;
                db.finish().await;
            }
        }
    )*};
}

/// Defines `NAME::sqlite` and `NAME::postgres` tests running `async fn NAME(Meta)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = $crate::common::sqlite().await;
                super::$name(db.meta.clone()).await;
                db.finish().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(db) = $crate::common::postgres(concat!(module_path!())).await else { return };
                super::$name(db.meta.clone()).await;
                db.finish().await;
            }
        }
    )*};
}

pub const OWNER: &str = "111122223333";
pub const CANON: &str = "aaaa000000000000000000000000000000000000000000000000000000000001";

/// Creates bucket `name` owned by `OWNER`.
pub async fn bucket(m: &Meta, name: &str) {
    m.create_bucket(&Bucket {
        name: name.into(),
        owner_account_id: OWNER.into(),
        region: "us-east-1".into(),
        created_ms: 1,
    })
    .await
    .expect("create bucket");
}

/// A plain single-segment object record.
pub fn obj(bucket: &str, key: &str, etag: &str) -> ObjectRecord {
    ObjectRecord {
        bucket: bucket.into(),
        key: key.into(),
        version_id: "null".into(),
        size: 3,
        etag: format!("\"{etag}\""),
        last_modified_ms: 1_700_000_000_000,
        headers: ContentHeaders::default(),
        user_meta: BTreeMap::new(),
        checksums: Checksums::default(),
        segments: vec![Segment {
            locator: format!("blob-{bucket}-{etag}"),
            size: 3,
            etag: None,
            checksums: None,
        }],
        storage_class: "STANDARD".into(),
        owner_canonical_id: CANON.into(),
        inline_data: None,
        tags: vec![],
        upload_id: None,
        delete_marker: false,
        lock: ObjectLock::default(),
        sse: None,
    }
}

/// Unconditional write.
pub fn none() -> WriteCondition {
    WriteCondition::default()
}

/// Puts `keys` as objects (etag = index).
pub async fn put_keys(m: &Meta, bucket: &str, keys: &[&str]) {
    for (i, k) in keys.iter().enumerate() {
        m.put_object(&obj(bucket, k, &format!("e{i}")), &none())
            .await
            .expect("put");
    }
}
