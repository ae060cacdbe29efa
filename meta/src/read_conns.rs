//! Connections for the hottest one-statement reads (an object's current version, on every GET and HEAD),
//! kept out of sqlx's pool.
//!
//! sqlx pings every connection returned to its pool ("test on release"): for a one-statement read that is a
//! second round trip to the database — on Postgres a second wake-up of the server process, on SQLite a second
//! hop to the connection's worker thread — costing about as much as the read itself. These connections are
//! taken from the pool once (`detach`, so they keep the pool's per-connection setup) and handed back here
//! after a read that completed; a read that failed or was cancelled drops its connection instead (its state is
//! unknown), and a connection idle for `PING_IDLE` is pinged before it is used again (it may have been closed
//! by a server restart).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::*;

/// A kept connection idle this long is pinged before it is used again.
const PING_IDLE: Duration = Duration::from_secs(1);

/// A bounded set of kept connections.
pub(crate) struct ReadConns {
    pool: AnyPool,
    /// Kept connections and when each was last used.
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    /// At most this many connections exist (idle or lent).
    permits: Semaphore,
}

impl ReadConns {
    /// Up to `max` connections detached from `pool` as needed.
    pub(crate) fn new(pool: AnyPool, max: usize) -> ReadConns {
        ReadConns {
            pool,
            idle: Mutex::new(Vec::with_capacity(max)),
            permits: Semaphore::new(max),
        }
    }

    /// A connection for one read; call `ReadConn::keep` once the read has completed.
    pub(crate) async fn get(&self) -> Result<ReadConn<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| MetaError::Corrupt("read connections closed".into()))?;
        let kept = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match kept {
            Some((mut conn, used)) => {
                if used.elapsed() >= PING_IDLE && conn.ping().await.is_err() {
                    self.pool.acquire().await?.detach()
                } else {
                    conn
                }
            }
            None => self.pool.acquire().await?.detach(),
        };
        Ok(ReadConn {
            owner: self,
            conn: Some(conn),
            keep: false,
            _permit: permit,
        })
    }
}

/// A lent connection: back to `ReadConns` on drop if `keep` was called, closed otherwise.
pub(crate) struct ReadConn<'a> {
    owner: &'a ReadConns,
    conn: Option<AnyConnection>,
    keep: bool,
    _permit: SemaphorePermit<'a>,
}

impl ReadConn<'_> {
    /// The read completed: the connection is in a known state and may be used again.
    pub(crate) fn keep(mut self) {
        self.keep = true;
    }

    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        // Present from `get` until drop.
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.keep
            && let Ok(mut idle) = self.owner.idle.lock()
        {
            idle.push((conn, Instant::now()));
        }
    }
}
