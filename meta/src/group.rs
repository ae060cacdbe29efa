//! Group commit: many small writes share one transaction and therefore one fsync.
//!
//! With `synchronous=FULL` every commit costs an fsync (~1 ms), so one-transaction-per-write caps the
//! single SQLite writer at about a thousand writes per second however many callers wait. Here the hot
//! writes (object put/delete, multipart create/part/complete/abort) are sent to a writer task instead.
//! A writer takes whatever is queued *at that moment* (at most `MAX_BATCH_OPS` operations or about
//! `MAX_BATCH_BYTES` of row data), never waiting for company: a lone write runs alone at once, and batches
//! form by themselves while the previous commit is being fsynced.
//!
//! SQLite has one writer task (it has one writer connection). Postgres has `PG_WRITERS` of them taking turns
//! at the queue, each on a pooled connection: there a write costs less in the fsync than in the statements
//! around it (`BEGIN`, the insert, `COMMIT`, three round trips to a server process, plus the foreign-key lock
//! on the bucket row that every concurrent writer of the bucket shares as a MultiXact), and a batch pays those
//! once. Measured with 32 concurrent 4 KiB PUTs on a 2-core machine: see ROADMAP.md, Performance.
//! Several gateways on one Postgres each batch their own writes; batches of different writers may wait for
//! each other's row locks, and a deadlock between two of them (Postgres aborts one after `deadlock_timeout`)
//! or a serialization failure only sends that batch's writes back to run one by one.
//!
//! A batch runs as one `BEGIN IMMEDIATE ... COMMIT` (`BEGIN` on Postgres); each operation runs inside its own `SAVEPOINT`, so an
//! operation that fails (`PreconditionFailed`, `NoSuchBucket`, `NoSuchUpload`, `AlreadyExists`, or any
//! other error) is rolled back alone and gets its own error, while the others go on to commit. Operations
//! run in one order on one connection, so every result is exactly what the same operations would give
//! run one after another in that order. Every caller learns its result only after the shared `COMMIT`
//! has returned, i.e. after the fsync: acknowledged means durable.
//!
//! The commonest write, a PUT of a key that has no current version, is a plain `INSERT` (`insert_if_new`): the
//! batch's such writes go first, together, in multi-row inserts without savepoints (`insert_many_if_new`: one
//! statement for a batch of 32, instead of three round trips each). If that fails, the batch is rolled back and
//! re-run write by write (below), so each caller still gets its own result. Every write of a batch is in flight
//! at once (none is acknowledged before the batch commits), so this order is as good as the queue's. A batch
//! of nothing but such writes of small objects (kept in the index, no blob references) needs no transaction:
//! it is one statement committing by itself, a single round trip (`try_one_statement`); on Postgres that
//! took 4 KiB PUTs from ~5,000 to ~6,300–7,300 a second on the 2-core test machine.
//!
//! Failures of the batch itself: if anything goes wrong before `COMMIT` that a savepoint cannot undo
//! (`BEGIN` fails, or rolling back to a savepoint fails because SQLite aborted the whole transaction),
//! the batch is rolled back and each operation is re-run in a transaction of its own, so each gets the
//! result it would have got without batching. If `COMMIT` itself fails, the outcome is unknown (it may
//! become visible after recovery), so nothing is re-run and every operation of the batch gets an error.
//!
//! A caller that stops waiting (its future dropped) before its operation starts is skipped; once
//! started, the operation completes and commits with the batch.

use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::objects::commit;
use crate::*;

/// Most operations in one transaction.
const MAX_BATCH_OPS: usize = 256;
/// Roughly the most row data (inline object bytes, mostly) in one transaction.
const MAX_BATCH_BYTES: usize = 8 << 20;

/// A write the writer task performs.
pub(crate) enum Op {
    PutObject {
        rec: ObjectRecord,
        cond: WriteCondition,
    },
    DeleteObject {
        bucket: String,
        key: String,
        cond: DeleteCondition,
    },
    PutDeleteMarker {
        rec: ObjectRecord,
        cond: DeleteCondition,
    },
    DeleteVersion {
        bucket: String,
        key: String,
        version_id: String,
        cond: DeleteCondition,
    },
    PutPart {
        part: Part,
    },
    CreateUpload {
        upload: Upload,
    },
    CompleteUpload {
        upload_id: String,
        rec: ObjectRecord,
        cond: WriteCondition,
    },
    AbortUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
}

/// The successful result of an `Op`, one variant per kind.
pub(crate) enum Done {
    Put(PutOutcome),
    Deleted(Option<ObjectRecord>),
    Part(Option<Part>),
    Created,
    Completed(PutOutcome, Vec<Part>),
    Aborted(Vec<Part>),
}

/// An operation and where its result goes.
struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Done>>,
}

/// Writer tasks on Postgres: while one commits, the others gather and run the next batches.
pub(crate) const PG_WRITERS: usize = 2;

/// Handle to the writer tasks of a database. Cheap to clone; the tasks end when the last handle
/// is dropped (after finishing what is queued).
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Request>,
}

impl GroupCommit {
    /// Spawns `writers` writer tasks on the current Tokio runtime. `meta` must not itself hold a
    /// `GroupCommit` (the tasks would keep their own queue open and never end).
    /// `in_memory`: the database lives in the writer connection, which must then never be replaced.
    pub(crate) fn start(meta: Meta, in_memory: bool, writers: usize) -> GroupCommit {
        let (queue, rx) = mpsc::unbounded_channel();
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let w = Writer {
                meta: meta.clone(),
                in_memory,
            };
            tokio::spawn(writer_task(w, rx.clone()));
        }
        GroupCommit { queue }
    }

    /// Queues `op` and waits until it has been committed (or has failed).
    pub(crate) async fn submit(&self, op: Op) -> Result<Done> {
        let (reply, rx) = oneshot::channel();
        self.queue
            .send(Request { op, reply })
            .map_err(|_| MetaError::Db(sqlx::Error::WorkerCrashed))?;
        rx.await
            .map_err(|_| MetaError::Db(sqlx::Error::WorkerCrashed))?
    }
}

/// A reply of the wrong kind (cannot happen: each `Meta` method sends one kind and gets the same back).
pub(crate) fn mismatched() -> MetaError {
    MetaError::Corrupt("group commit: reply of the wrong kind".into())
}

/// Rough size of the row data an operation writes, for `MAX_BATCH_BYTES`.
fn weight(op: &Op) -> usize {
    match op {
        Op::PutObject { rec, .. } | Op::CompleteUpload { rec, .. } => {
            512 + rec.inline_data.as_ref().map_or(0, Vec::len) + 128 * rec.segments.len()
        }
        _ => 512,
    }
}

/// Takes what is queued, runs it as one transaction, replies; until every handle is gone. Writers sharing
/// `rx` take turns: one gathers while the others run their batches.
async fn writer_task(
    w: Writer,
    rx: std::sync::Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Request>>>,
) {
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH_OPS);
    loop {
        {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut bytes = weight(&first.op);
            batch.push(first);
            while batch.len() < MAX_BATCH_OPS && bytes < MAX_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(req) => {
                        bytes += weight(&req.op);
                        batch.push(req);
                    }
                    Err(_) => break,
                }
            }
        }
        // Callers that gave up before their write started: skip it, as if never asked.
        batch.retain(|r| !r.reply.is_closed());
        w.run_batch(std::mem::take(&mut batch)).await;
    }
}

/// The writer task's state.
struct Writer {
    /// A handle without `group`.
    meta: Meta,
    /// See `GroupCommit::start`.
    in_memory: bool,
}

/// How running a transaction failed.
enum Failure {
    /// Before `COMMIT`, and rolled back: nothing happened, the operations may be re-run.
    Before(sqlx::Error),
    /// Before `COMMIT`, and the rollback failed too (SQLite had already rolled back by itself, say).
    /// Nothing happened, but sqlx may still count an open transaction on the connection.
    Broken(sqlx::Error),
    /// `COMMIT` failed: the outcome is unknown (the commit may become visible after recovery).
    Commit(sqlx::Error),
    /// An operation run without a savepoint failed (the bucket was deleted, say), or one deadlocked with another
    /// transaction, and the batch was rolled back: nothing happened, the operations are re-run one by one (each
    /// gets its own result).
    Op(MetaError),
}

impl Writer {
    /// Runs `batch` (see the module doc) and sends every result.
    async fn run_batch(&self, batch: Vec<Request>) {
        // What the one statement did not write: keys that have a current version (`existing`), or the whole
        // batch.
        let Some((batch, existing)) = self.try_one_statement(batch).await else {
            return;
        };
        if batch.len() > 1 {
            match self.try_batch(&batch, existing).await {
                Ok(results) => {
                    for (req, res) in batch.into_iter().zip(results) {
                        // The caller may have stopped waiting; its write stands.
                        let _ = req.reply.send(res);
                    }
                    return;
                }
                Err(Failure::Commit(e)) => {
                    tracing::error!(error = %e, ops = batch.len(), "group commit: COMMIT failed");
                    for req in batch {
                        let err = std::io::Error::other(format!("group commit failed: {e}"));
                        let _ = req.reply.send(Err(MetaError::Db(sqlx::Error::Io(err))));
                    }
                    return;
                }
                Err(Failure::Before(e) | Failure::Broken(e)) => {
                    tracing::warn!(error = %e, ops = batch.len(),
                        "group commit: batch failed before COMMIT; running its writes one by one");
                }
                Err(Failure::Op(e)) => {
                    tracing::debug!(error = %e, ops = batch.len(),
                        "group commit: a write without savepoint failed; running the batch one by one");
                }
            }
        }
        for req in batch {
            let res = self.run_alone(&req.op).await;
            let _ = req.reply.send(res);
        }
    }

    /// A batch of nothing but new small objects (PUTs of distinct keys, no `If-Match`, no blobs) is one
    /// statement committing by itself (`insert_new_in_one_statement`): replies to the writes it made, and
    /// returns the others (keys that had a current version: they go the long way, `write_over`; `true`), or the
    /// whole batch if it does not qualify or the statement failed (then nothing was written; `false`). `None`
    /// when every caller has had its reply.
    async fn try_one_statement(&self, batch: Vec<Request>) -> Option<(Vec<Request>, bool)> {
        if batch.len() < 2 || batch.len() > crate::objects::ONE_STATEMENT_MAX {
            return Some((batch, false));
        }
        let writes = first_puts_by_key(&batch);
        if writes.len() < batch.len() || writes.iter().any(|(_, rec)| !rec.segments.is_empty()) {
            return Some((batch, false));
        }
        let sorted: Vec<&ObjectRecord> = writes.iter().map(|(_, rec)| *rec).collect();
        // No connection: the long way will say so.
        let Ok(mut conn) = self.meta.writer.acquire().await else {
            return Some((batch, false));
        };
        let written = match self
            .meta
            .insert_new_in_one_statement(&mut conn, &sorted)
            .await
        {
            Ok(w) => w,
            // The database refused the statement (a bucket is gone, a deadlock): nothing was written.
            Err(MetaError::NoSuchBucket | MetaError::Db(sqlx::Error::Database(_))) => {
                drop(conn);
                return Some((batch, false));
            }
            // The connection failed: the statement may or may not have committed.
            Err(e) => {
                self.discard(&mut conn);
                tracing::error!(error = %e, ops = batch.len(), "group commit: one-statement batch failed");
                for req in batch {
                    let err = std::io::Error::other(format!("group commit failed: {e}"));
                    let _ = req.reply.send(Err(MetaError::Db(sqlx::Error::Io(err))));
                }
                return None;
            }
        };
        let mut done = vec![false; batch.len()];
        for ((i, _), w) in writes.iter().zip(written) {
            done[*i] = w;
        }
        let mut rest = Vec::new();
        for (req, done) in batch.into_iter().zip(done) {
            if done {
                let _ = req.reply.send(Ok(Done::Put(PutOutcome { replaced: None })));
            } else {
                rest.push(req);
            }
        }
        (!rest.is_empty()).then_some((rest, true))
    }

    /// Runs every operation of `batch` in its own savepoint of one transaction, and commits.
    /// `existing`: every operation is a PutObject of a key found to have a current version a moment ago.
    async fn try_batch(
        &self,
        batch: &[Request],
        existing: bool,
    ) -> std::result::Result<Vec<Result<Done>>, Failure> {
        let mut conn = self.meta.writer.acquire().await.map_err(Failure::Before)?;
        let outcome = run_in_savepoints(&self.meta, &mut conn, batch, existing).await;
        if matches!(outcome, Err(Failure::Broken(_) | Failure::Commit(_))) {
            self.discard(&mut conn);
        }
        outcome
    }

    /// Runs `op` in a write transaction of its own (what `Meta` does without group commit).
    async fn run_alone(&self, op: &Op) -> Result<Done> {
        let mut conn = self.meta.writer.acquire().await?;
        let mut tx = conn.begin_with(self.meta.begin_sql()).await?;
        let res = self.meta.run_op(&mut tx, op).await;
        match res {
            Ok(done) => match commit(tx).await {
                Ok(()) => Ok(done),
                Err(e) => {
                    self.discard(&mut conn);
                    Err(e)
                }
            },
            Err(e) => {
                if tx.rollback().await.is_err() {
                    self.discard(&mut conn);
                }
                Err(e)
            }
        }
    }

    /// Closes the writer connection instead of returning it to the pool, when its state is in doubt
    /// (sqlx counts transactions itself and does not recover when SQLite ended one behind its back).
    /// An in-memory database lives in that connection, so there it is kept.
    fn discard(&self, conn: &mut sqlx::pool::PoolConnection<sqlx::Any>) {
        if !self.in_memory {
            conn.close_on_drop();
        }
    }
}

/// The body of `try_batch` on connection `conn`.
async fn run_in_savepoints(
    meta: &Meta,
    conn: &mut AnyConnection,
    batch: &[Request],
    existing: bool,
) -> std::result::Result<Vec<Result<Done>>, Failure> {
    let mut tx = conn
        .begin_with(meta.begin_sql())
        .await
        .map_err(Failure::Before)?;
    let mut results: Vec<Option<Result<Done>>> = batch.iter().map(|_| None).collect();
    // PutObjects of keys with no current version are plain inserts (`insert_many_if_new`), all tried first,
    // together and without a savepoint: if that fails, the whole batch is rolled back and its writes re-run one
    // by one. Every operation of a batch is in flight at once, so running these first is as good an order as
    // the queue's. A key's second write in the batch, and writes with `If-Match`, go the long way below.
    // (Writes `try_one_statement` just found to replace a current version skip the insert: `existing`.)
    let fast = if existing {
        Vec::new()
    } else {
        first_puts_by_key(batch)
    };
    let recs: Vec<&ObjectRecord> = fast.iter().map(|(_, rec)| *rec).collect();
    let mut conflicted = vec![existing; batch.len()];
    match meta.insert_many_if_new(&mut tx, &recs).await {
        Ok(written) => {
            for ((i, _), written) in fast.iter().zip(written) {
                if written {
                    results[*i] = Some(Ok(Done::Put(PutOutcome { replaced: None })));
                } else {
                    conflicted[*i] = true;
                }
            }
        }
        Err(e) => return Err(give_up(tx, e).await),
    }
    // Unconditional overwrites of unversioned keys, together per bucket (`replace_null_many`); what they leave
    // goes the long way below. Their keys are distinct (first writes of a key in the batch).
    let mut by_bucket: std::collections::BTreeMap<&str, Vec<(usize, &ObjectRecord)>> =
        Default::default();
    for (i, req) in batch.iter().enumerate() {
        if let Op::PutObject { rec, cond } = &req.op
            && conflicted[i]
            && results[i].is_none()
            && *cond == WriteCondition::default()
            && rec.version_id == "null"
        {
            by_bucket
                .entry(rec.bucket.as_str())
                .or_default()
                .push((i, rec));
        }
    }
    for (bucket, mut list) in by_bucket {
        list.sort_by(|a, b| a.1.key.cmp(&b.1.key));
        let recs: Vec<&ObjectRecord> = list.iter().map(|(_, rec)| *rec).collect();
        match meta.replace_null_many(&mut tx, bucket, &recs).await {
            Ok(replaced) => {
                for ((i, _), old) in list.iter().zip(replaced) {
                    if let Some(old) = old {
                        results[*i] = Some(Ok(Done::Put(PutOutcome {
                            replaced: Some(old),
                        })));
                    }
                }
            }
            Err(e) => return Err(give_up(tx, e).await),
        }
    }
    // The others, in queue order, each in its own savepoint. Whether the last one ran in a savepoint
    // that is still open, and whether it failed.
    let mut open = false;
    let mut failed = false;
    let mut step = Ok(());
    for (i, req) in batch.iter().enumerate() {
        if results[i].is_some() {
            continue;
        }
        // The statements between two operations go in one round trip: end one savepoint, open the next.
        let between = match (open, failed) {
            (false, _) => SAVEPOINT,
            (true, true) => UNDO_SAVEPOINT,
            (true, false) => RELEASE_SAVEPOINT,
        };
        step = sqlx::raw_sql(between).execute(&mut *tx).await.map(|_| ());
        if step.is_err() {
            break;
        }
        open = true;
        let res = match &req.op {
            // The insert found a current version: replace it.
            Op::PutObject { rec, cond } if conflicted[i] => meta
                .write_over(&mut tx, rec, cond)
                .await
                .map(|replaced| Done::Put(PutOutcome { replaced })),
            op => meta.run_op(&mut tx, op).await,
        };
        let res = match res {
            // Another transaction (a batch of another writer or gateway) deadlocked with this one: this
            // batch's writes run again one by one, each in a transaction of its own.
            Err(e) if crate::store::is_transient(&e) => return Err(give_up(tx, e).await),
            res => res,
        };
        failed = res.is_err();
        results[i] = Some(res);
    }
    if step.is_ok() && open {
        let close = if failed { UNDO } else { RELEASE };
        step = sqlx::raw_sql(close).execute(&mut *tx).await.map(|_| ());
    }
    if let Err(e) = step {
        return Err(match tx.rollback().await {
            Ok(()) => Failure::Before(e),
            Err(_) => Failure::Broken(e),
        });
    }
    tx.commit().await.map_err(Failure::Commit)?;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(mismatched())))
        .collect())
}

/// The batch's PutObjects without `If-Match`, the first of each key only (a key's second write must see the
/// first), with their positions in the batch, sorted by bucket and key: one order of keys for every batch, so
/// two batches (of two writers or two gateways) writing the same keys lock them in the same order.
fn first_puts_by_key(batch: &[Request]) -> Vec<(usize, &ObjectRecord)> {
    let mut seen = std::collections::HashSet::new();
    let mut v: Vec<(usize, &ObjectRecord)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, req)| match &req.op {
            Op::PutObject { rec, cond }
                if cond.if_match.is_none()
                    && seen.insert((rec.bucket.as_str(), rec.key.as_str())) =>
            {
                Some((i, rec))
            }
            _ => None,
        })
        .collect();
    v.sort_by(|a, b| (&a.1.bucket, &a.1.key).cmp(&(&b.1.bucket, &b.1.key)));
    v
}

/// Rolls the batch's transaction back after `e`, outside any savepoint, made it give up: its writes are re-run
/// one by one (`Failure::Op`), unless the rollback fails too (`Failure::Broken`).
async fn give_up(tx: sqlx::Transaction<'_, sqlx::Any>, e: MetaError) -> Failure {
    match tx.rollback().await {
        Ok(()) => Failure::Op(e),
        Err(_) => Failure::Broken(sqlx::Error::Protocol(format!("rollback after {e}"))),
    }
}

// The savepoint each operation of a batch runs in (never nested, so one name does).
/// Opens the first operation's savepoint.
const SAVEPOINT: &str = "SAVEPOINT gatehouse_op";
/// Keeps the last operation's work and opens the next savepoint.
const RELEASE_SAVEPOINT: &str = "RELEASE gatehouse_op; SAVEPOINT gatehouse_op";
/// Undoes the last operation's work and opens the next savepoint.
const UNDO_SAVEPOINT: &str =
    "ROLLBACK TO gatehouse_op; RELEASE gatehouse_op; SAVEPOINT gatehouse_op";
/// Keeps the last operation's work.
const RELEASE: &str = "RELEASE gatehouse_op";
/// Undoes the last operation's work.
const UNDO: &str = "ROLLBACK TO gatehouse_op; RELEASE gatehouse_op";

impl Meta {
    /// Performs `op` inside the caller's write transaction.
    async fn run_op(&self, conn: &mut AnyConnection, op: &Op) -> Result<Done> {
        Ok(match op {
            Op::PutObject { rec, cond } => Done::Put(PutOutcome {
                replaced: self.write_object(conn, rec, cond).await?,
            }),
            Op::DeleteObject { bucket, key, cond } => {
                Done::Deleted(self.delete_object_in(conn, bucket, key, cond).await?)
            }
            Op::PutDeleteMarker { rec, cond } => Done::Put(PutOutcome {
                replaced: self.put_delete_marker_in(conn, rec, cond).await?,
            }),
            Op::DeleteVersion {
                bucket,
                key,
                version_id,
                cond,
            } => Done::Deleted(
                self.delete_version_in(conn, bucket, key, version_id, cond)
                    .await?,
            ),
            Op::PutPart { part } => Done::Part(self.put_part_in(conn, part).await?),
            Op::CreateUpload { upload } => {
                self.create_upload_in(conn, upload).await?;
                Done::Created
            }
            Op::CompleteUpload {
                upload_id,
                rec,
                cond,
            } => {
                let (out, unused) = self.complete_upload_in(conn, upload_id, rec, cond).await?;
                Done::Completed(out, unused)
            }
            Op::AbortUpload {
                bucket,
                key,
                upload_id,
            } => Done::Aborted(
                self.take_upload(conn, upload_id, Some((bucket, key)))
                    .await?,
            ),
        })
    }
}
