//! Group sync: concurrent requests to fsync the same directory share one fsync.
//!
//! A caller needs an fsync that *starts after* its request (an fsync already running may have begun before
//! the caller's directory entry existed). So a caller that finds one running waits for it to finish and then
//! joins the next one, which a single caller (the leader) issues for everyone who queued meanwhile. At
//! concurrency 32 that turns 32 directory fsyncs into about two.
//!
//! Cancellation-safe: a leader whose future is dropped mid-sync hands leadership to a waiter, which issues a
//! fresh fsync (the abandoned one may or may not have covered anyone).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

#[derive(Debug)]
struct State {
    /// Syncs started so far (the generation of the latest one).
    started: u64,
    /// Generation of the latest finished sync.
    done: u64,
    /// Its outcome (`Err` holds the raw OS error, or 0 for a non-OS error).
    last: Result<(), i32>,
    running: bool,
    /// Callers between their request and their answer (keeps the entry alive).
    users: u32,
}

/// Group fsync of directories, keyed by the directory's path relative to the root.
#[derive(Debug, Default)]
pub(crate) struct GroupSync {
    map: Mutex<HashMap<String, State>>,
    notify: Notify,
    /// Syncs actually issued (for tests and diagnostics).
    issued: std::sync::atomic::AtomicU64,
}

impl GroupSync {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, State>> {
        // A poisoned lock only means another caller panicked while holding it; the counters stay consistent
        // (every update is a single assignment), so keep going.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many syncs were issued through this group so far.
    #[cfg(test)]
    pub(crate) fn issued(&self) -> u64 {
        self.issued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Returns once a sync of `key` that started after this call has succeeded (or reports the failure of
    /// such a sync). `sync` performs one sync; it is called only if this caller becomes the leader.
    pub(crate) async fn sync<F, Fut>(&self, key: &str, sync: F) -> io::Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = io::Result<()>>,
    {
        let needed = {
            let mut map = self.lock();
            let st = map.entry(key.to_owned()).or_default();
            st.users += 1;
            st.started + 1
        };
        let mut user = User {
            group: self,
            key,
            leading: None,
        };
        let mut sync = Some(sync);
        loop {
            // Register for wake-ups before looking, so a finish between the look and the wait is not lost.
            let notified = self.notify.notified();
            let lead = {
                let mut map = self.lock();
                let st = map.entry(key.to_owned()).or_default();
                if st.done >= needed {
                    return st.last.map_err(os_error);
                }
                if st.running {
                    None
                } else {
                    st.running = true;
                    st.started += 1;
                    Some(st.started)
                }
            };
            let Some(generation) = lead else {
                notified.await;
                continue;
            };
            let Some(f) = sync.take() else {
                // Led once already and that sync was not enough: impossible (a sync we start has a
                // generation >= needed), but never spin.
                return Err(io::Error::other("group sync led twice"));
            };
            user.leading = Some(generation);
            self.issued
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let res = f().await;
            user.leading = None;
            {
                let mut map = self.lock();
                let st = map.entry(key.to_owned()).or_default();
                st.running = false;
                st.done = generation;
                st.last = res
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| e.raw_os_error().unwrap_or(0));
            }
            self.notify.notify_waiters();
            return res;
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self {
            started: 0,
            done: 0,
            last: Ok(()),
            running: false,
            users: 0,
        }
    }
}

fn os_error(code: i32) -> io::Error {
    if code == 0 {
        io::Error::other("directory sync failed")
    } else {
        io::Error::from_raw_os_error(code)
    }
}

/// A caller in progress: releases its hold on the entry and, if it was leading, leadership.
struct User<'a> {
    group: &'a GroupSync,
    key: &'a str,
    leading: Option<u64>,
}

impl Drop for User<'_> {
    fn drop(&mut self) {
        {
            let mut map = self.group.lock();
            let remove = match map.get_mut(self.key) {
                Some(st) => {
                    if self.leading.is_some() {
                        st.running = false; // abandoned: a waiter will start a fresh sync
                    }
                    st.users = st.users.saturating_sub(1);
                    st.users == 0 && !st.running
                }
                None => false,
            };
            if remove {
                map.remove(self.key);
            }
        }
        if self.leading.is_some() {
            self.group.notify.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// 32 concurrent requests share few syncs, and every caller's answer comes from a sync that started after
    /// its request.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_syncs() {
        let g = Arc::new(GroupSync::default());
        let clock = Arc::new(AtomicU64::new(0)); // bumped when a sync starts
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (g, clock) = (g.clone(), clock.clone());
                tokio::spawn(async move {
                    let asked = clock.load(Ordering::SeqCst);
                    let started = Arc::new(AtomicU64::new(0));
                    let s2 = started.clone();
                    let c2 = clock.clone();
                    g.sync("ab/cd", || async move {
                        s2.store(c2.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(())
                    })
                    .await
                    .map(|()| asked)
                })
            })
            .collect();
        for t in tasks {
            let asked = t.await.expect("task").expect("sync");
            // At least one sync started after the request was made.
            assert!(clock.load(Ordering::SeqCst) > asked);
        }
        let n = g.issued();
        assert!((1..=4).contains(&n), "{n} syncs for 32 requests");
        assert!(g.lock().is_empty(), "idle entries are removed");
    }

    /// A request made while a sync is running is not answered by that sync.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn late_request_waits_for_next_sync() {
        let g = Arc::new(GroupSync::default());
        let g2 = g.clone();
        let first = tokio::spawn(async move {
            g2.sync("x", || async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let ran = Arc::new(AtomicU64::new(0));
        let r2 = ran.clone();
        g.sync("x", || async move {
            r2.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await
        .expect("sync");
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "the late caller led its own sync"
        );
        first.await.expect("task").expect("sync");
        assert_eq!(g.issued(), 2);
    }

    /// Errors reach every caller of the failed sync; an abandoned leader does not wedge the others.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_and_cancellation() {
        let g = Arc::new(GroupSync::default());
        let err = g
            .sync("e", || async {
                Err(io::Error::from_raw_os_error(libc::EIO))
            })
            .await;
        assert_eq!(err.err().and_then(|e| e.raw_os_error()), Some(libc::EIO));

        let g2 = g.clone();
        let leader = tokio::spawn(async move {
            g2.sync("c", || async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let g3 = g.clone();
        let waiter = tokio::spawn(async move { g3.sync("c", || async { Ok(()) }).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        leader.abort();
        let res = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter not wedged")
            .expect("task");
        assert!(res.is_ok());
    }
}
