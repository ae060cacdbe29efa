//! The `Meta` handle: opening the database, dialect differences, transactions and error mapping.
//!
//! The queries live in modules named after the concept they serve: `accounts`, `buckets`, `objects`,
//! `listing`, `multipart`.
//!
//! **SQLite durability**: WAL journal with `synchronous=FULL`. Every acknowledged commit has been written to
//! the WAL *and* fsynced, so it survives a process kill (which `NORMAL` would too) and an OS crash or power
//! loss (which `NORMAL` would not). Blobs are fsynced by `storage` before the index commit, so weaker index
//! durability would lose acknowledged objects on power loss; the fsync per commit is the price (see the
//! throughput note in the crate's tests, `bench_put_object_concurrency`).
//!
//! **Group commit**: the hot writes (object put/delete, multipart create/part/complete/abort) go through a
//! writer task (SQLite: one; Postgres: `group::PG_WRITERS`) that commits whatever is queued in one
//! transaction, each write in its own savepoint, so concurrent writers share a commit and its fsync (module
//! `group`). Other writes run one transaction each (on SQLite, on the same writer connection).
//!
//! **SQLite concurrency**: one writer connection (a pool of size 1, whose FIFO acquire queue serialises
//! writers inside the process without SQLite's sleep-and-retry busy handler) plus a small pool of
//! read-only connections; WAL lets readers proceed while the writer commits. Write transactions start with
//! `BEGIN IMMEDIATE` so another process holding the database cannot cause a deferred-upgrade deadlock;
//! `busy_timeout` covers such other processes. Postgres uses one pool for everything and row locks
//! (`SELECT ... FOR UPDATE`) plus foreign keys for atomicity.
//!
//! **Bucket reads** (`get_bucket_with_setting`, once per request) are cached in the process when the server
//! says no other process changes buckets of this SQLite database (`cache_bucket_reads`, module `bucket_cache`).

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Executor, Row, Transaction};

use crate::bucket_cache::BucketCache;
use crate::group::GroupCommit;
use crate::read_conns::ReadConns;
use crate::*;

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Handle to the metadata database. Cheap to clone.
#[derive(Clone)]
pub struct Meta {
    /// Readers (and, on Postgres, writers too).
    pub(crate) pool: AnyPool,
    /// Write transactions: a single connection on SQLite, the same pool as `pool` on Postgres.
    pub(crate) writer: AnyPool,
    pub(crate) dialect: Dialect,
    /// The group-commit writer tasks; `None` inside the tasks themselves.
    pub(crate) group: Option<GroupCommit>,
    /// Cached bucket reads, once `cache_bucket_reads` said only this process changes buckets.
    pub(crate) bucket_cache: Option<std::sync::Arc<BucketCache>>,
    /// Bumped before and after every bucket change made through this process (`bucket_generation`).
    pub(crate) bucket_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Connections for the hottest reads (`read_conns`); `None` for an in-memory SQLite database, which
    /// lives in its one connection.
    pub(crate) read_conns: Option<std::sync::Arc<ReadConns>>,
}

/// Result of writing an object version: the record it replaced, whose blobs the caller deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// The previous current version of the key, if there was one (its `inline_data` is not loaded:
    /// always `None`).
    pub replaced: Option<ObjectRecord>,
}

/// How long a SQLite connection waits for a lock held by another process.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// Read-only SQLite connections (the machine has few cores; reads are short).
const SQLITE_READERS: u32 = 4;
/// Postgres connections per `Meta`.
const PG_CONNECTIONS: u32 = 16;
/// Postgres connections kept for the hottest reads (`read_conns`), besides the pool's.
const PG_READ_CONNS: usize = 8;
/// A pooled Postgres connection idle this long is pinged before it is used again.
const PG_PING_IDLE: Duration = Duration::from_secs(1);

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Meta {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH?mode=rwc` or `postgres://...`) and runs
    /// the migrations of its dialect.
    pub async fn open(url: &str) -> Result<Meta> {
        sqlx::any::install_default_drivers();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url).await
        } else if url.starts_with("sqlite:") {
            Self::open_sqlite_url(url).await
        } else {
            Err(MetaError::Db(sqlx::Error::Configuration(
                format!(
                    "unsupported database url scheme: {}",
                    url.split(':').next().unwrap_or("")
                )
                .into(),
            )))
        }
    }

    /// Opens/creates the SQLite database file `path` (WAL mode, foreign keys on).
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Meta> {
        let abs = std::path::absolute(path).map_err(|e| MetaError::Db(sqlx::Error::Io(e)))?;
        let Some(s) = abs.to_str() else {
            return Err(MetaError::Db(sqlx::Error::Configuration(
                format!("database path is not UTF-8: {}", abs.display()).into(),
            )));
        };
        let mut enc = String::with_capacity(s.len() + 16);
        for ch in s.chars() {
            match ch {
                '%' => enc.push_str("%25"),
                '?' => enc.push_str("%3F"),
                '#' => enc.push_str("%23"),
                ' ' => enc.push_str("%20"),
                c => enc.push(c),
            }
        }
        Self::open(&format!("sqlite://{enc}?mode=rwc")).await
    }

    /// Caches the bucket reads of the request path (`get_bucket_with_setting`) in this process. Only for a
    /// SQLite database that no other process changes buckets or bucket settings of: the server calls it on its
    /// data directory's database while it holds that directory's lock (the admin commands, which may run beside
    /// it, never touch buckets). Ignored on Postgres, which several gateways share.
    pub fn cache_bucket_reads(&mut self) {
        if self.dialect == Dialect::Sqlite && self.bucket_cache.is_none() {
            self.bucket_cache = Some(std::sync::Arc::new(BucketCache::default()));
        }
    }

    /// Runs a write of buckets or bucket settings. With the bucket cache on, the write runs as a task of its own,
    /// so a caller that stops waiting (a client gone) cannot leave a committed change behind a stale cache: the
    /// cache is emptied before the write starts and again once it has ended, whatever its outcome.
    pub(crate) async fn bucket_write<T, F, Fut>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Meta) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let generation = std::sync::Arc::clone(&self.bucket_generation);
        let cache = self.bucket_cache.clone();
        let changed = move || {
            generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(c) = &cache {
                c.changed();
            }
        };
        changed();
        let fut = write(self.clone());
        tokio::spawn(async move {
            let res = fut.await;
            changed();
            res
        })
        .await
        .map_err(|e| MetaError::Corrupt(format!("bucket write task failed: {e}")))?
    }

    /// "sqlite" or "postgres".
    pub fn dialect(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    async fn open_postgres(url: &str) -> Result<Meta> {
        let pool = AnyPoolOptions::new()
            .max_connections(PG_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings every connection it hands out by default: a second round trip to the server for
            // every one-statement read (a GET). Only a connection that sat idle is pinged; one in use a
            // moment ago that broke since fails its statement instead (an error for that request alone;
            // sqlx then drops the connection).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PG_PING_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        MIGRATE_POSTGRES.run(&pool).await?;
        let raw = Meta {
            writer: pool.clone(),
            read_conns: Some(std::sync::Arc::new(ReadConns::new(
                pool.clone(),
                PG_READ_CONNS,
            ))),
            pool,
            dialect: Dialect::Postgres,
            group: None,
            bucket_cache: None,
            bucket_generation: Default::default(),
        };
        let group = GroupCommit::start(raw.clone(), false, crate::group::PG_WRITERS);
        Ok(Meta {
            group: Some(group),
            ..raw
        })
    }

    async fn open_sqlite_url(url: &str) -> Result<Meta> {
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // Writers queue here; a burst of writes must not time out while others commit.
            .acquire_timeout(Duration::from_secs(120))
            .idle_timeout(None)
            .max_lifetime(None)
            // A local connection that was fine a moment ago: no ping before every write.
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn, false).await }))
            .connect(url)
            .await?;
        // An in-memory database lives in its one connection: no WAL, and no separate readers (each
        // `connect` of a `:memory:` URL would open a different database).
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            // WAL is a property of the file; set it once, from the writer, before readers exist.
            let mut conn = writer.acquire().await?;
            let row = sqlx::query("PRAGMA journal_mode=WAL")
                .fetch_one(&mut *conn)
                .await?;
            let mode: String = row.try_get(0)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(MetaError::Corrupt(format!(
                    "could not enable WAL (journal_mode={mode})"
                )));
            }
        }
        MIGRATE_SQLITE.run(&writer).await?;
        let pool = if in_memory {
            writer.clone()
        } else {
            AnyPoolOptions::new()
                .max_connections(SQLITE_READERS)
                .acquire_timeout(Duration::from_secs(60))
                // A local file: no ping (a round trip to the connection's worker thread) before every read.
                .test_before_acquire(false)
                .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn, true).await }))
                .connect(url)
                .await?
        };
        let read_conns = (!in_memory)
            .then(|| std::sync::Arc::new(ReadConns::new(pool.clone(), SQLITE_READERS as usize)));
        let raw = Meta {
            pool,
            writer,
            dialect: Dialect::Sqlite,
            group: None,
            bucket_cache: None,
            bucket_generation: Default::default(),
            read_conns,
        };
        // The task gets the handle without a `GroupCommit`, so it ends when the last real handle goes.
        let group = GroupCommit::start(raw.clone(), in_memory, 1);
        Ok(Meta {
            group: Some(group),
            ..raw
        })
    }

    /// The statement starting a write transaction: `BEGIN IMMEDIATE` on SQLite (take the write lock now, so
    /// another process cannot make the upgrade deadlock), `BEGIN` on Postgres.
    pub(crate) fn begin_sql(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.writer.begin().await?,
        })
    }

    /// `" FOR UPDATE"` on Postgres (row lock for read-check-write), nothing on SQLite (the write
    /// transaction already holds the database's write lock).
    pub(crate) fn for_update(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }
}

/// Per-connection SQLite settings (sqlx already turns foreign keys on; stated again to be explicit).
async fn sqlite_pragmas(
    conn: &mut AnyConnection,
    read_only: bool,
) -> std::result::Result<(), sqlx::Error> {
    let sql = format!(
        "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}; \
         PRAGMA query_only={}",
        if read_only { "ON" } else { "OFF" }
    );
    conn.execute(sqlx::AssertSqlSafe(sql)).await?;
    Ok(())
}

/// The database error's kind, if it is a constraint violation we map.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

/// Whether `e` is a foreign-key violation (parent row missing, or a delete of a referenced parent).
pub(crate) fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.kind(), sqlx::error::ErrorKind::ForeignKeyViolation))
}

/// A Postgres deadlock (`40P01`) or serialization failure (`40001`): the transaction was aborted because of
/// concurrent ones, and the same work run again (alone) may well succeed.
pub(crate) fn is_transient(e: &MetaError) -> bool {
    matches!(e, MetaError::Db(sqlx::Error::Database(d))
        if matches!(d.code().as_deref(), Some("40P01" | "40001")))
}

/// Serialises a structured column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| MetaError::Corrupt(format!("cannot encode JSON column: {e}")))
}

/// Reads a JSON text column.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T> {
    let s: String = get(row, col)?;
    serde_json::from_str(&s).map_err(|e| MetaError::Corrupt(format!("column {col}: bad JSON: {e}")))
}

/// Reads the SSE columns (`sse_mode`, `sse_key_id`, `sse_key`, `sse_params`, migration 0009).
pub(crate) fn sse_cols(row: &AnyRow) -> Result<Option<crate::Sse>> {
    let Some(mode) = get::<Option<String>>(row, "sse_mode")? else {
        return Ok(None);
    };
    Ok(Some(crate::Sse {
        mode,
        key_id: get(row, "sse_key_id")?,
        wrapped_key: get::<Option<Vec<u8>>>(row, "sse_key")?.unwrap_or_default(),
        params: get::<Option<String>>(row, "sse_params")?.unwrap_or_default(),
    }))
}

/// Reads a column, mapping a type mismatch or a missing column to `Corrupt`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col)
        .map_err(|e| MetaError::Corrupt(format!("column {col}: {e}")))
}
