//! Bounded, time-limited caches of key material (SSE-KMS bucket keys and unwrapped data keys).
//!
//! Why a cached entry is never wrong, only possibly late: an entry maps a wrapped key (with its context) to
//! its plaintext, or a bucket to a data key the KMS made for it; both are pure facts that no write can
//! change. What the KMS can change is whether it would still *serve* them (a key disabled, deleted or
//! rotated), and the cache honours that within its time bound: an entry is dropped `ttl` after the KMS
//! answered it, whatever its use. Caches are per process (nothing another gateway could invalidate),
//! bounded in entries (the oldest goes first) and, for bucket keys, in uses; the values hold their key
//! material in `Zeroizing` buffers, wiped when the last holder drops them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A cache key: SHA-256 of length-prefixed parts (so ("ab","c") and ("a","bc") differ).
pub type CacheKey = [u8; 32];

/// Digests `parts` into a [`CacheKey`].
pub fn cache_key(parts: &[&[u8]]) -> CacheKey {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

struct Entry<V> {
    made: Instant,
    uses: u64,
    value: V,
}

/// A map whose entries live at most `ttl` after insertion and serve at most `max_uses` lookups; at most
/// `max_entries` are kept. A zero `ttl`, `max_entries` or `max_uses` disables it (nothing is kept).
pub struct BoundedCache<V> {
    ttl: Duration,
    max_entries: usize,
    max_uses: u64,
    map: Mutex<HashMap<CacheKey, Entry<V>>>,
}

impl<V: Clone> BoundedCache<V> {
    /// A cache with these bounds.
    pub fn new(ttl: Duration, max_entries: usize, max_uses: u64) -> Self {
        BoundedCache {
            ttl,
            max_entries,
            max_uses,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Whether anything is ever kept.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_entries > 0 && self.max_uses > 0
    }

    /// The time bound.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value under `k`, counting one use; `None` (and the entry dropped) once it is older than the
    /// time bound or has served its uses.
    pub fn get(&self, k: &CacheKey) -> Option<V> {
        if !self.enabled() {
            return None;
        }
        let mut map = self.map.lock().ok()?;
        let e = map.get_mut(k)?;
        if e.made.elapsed() >= self.ttl || e.uses >= self.max_uses {
            map.remove(k);
            return None;
        }
        e.uses += 1;
        let v = e.value.clone();
        if e.uses >= self.max_uses {
            map.remove(k);
        }
        Some(v)
    }

    /// Stores `v` under `k` with `uses` of its uses already spent (1 when the caller uses it right away);
    /// makes room by dropping expired entries, then the oldest.
    pub fn insert(&self, k: CacheKey, v: V, uses: u64) {
        if !self.enabled() || uses >= self.max_uses {
            return;
        }
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        if map.len() >= self.max_entries && !map.contains_key(&k) {
            let ttl = self.ttl;
            map.retain(|_, e| e.made.elapsed() < ttl);
            while map.len() >= self.max_entries {
                let Some(oldest) = map.iter().min_by_key(|(_, e)| e.made).map(|(k, _)| *k) else {
                    break;
                };
                map.remove(&oldest);
            }
        }
        map.insert(
            k,
            Entry {
                made: Instant::now(),
                uses,
                value: v,
            },
        );
    }

    /// Entries held (expired ones included until they are looked up or pushed out).
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u8) -> CacheKey {
        cache_key(&[&[i]])
    }

    #[test]
    fn keys_are_length_prefixed() {
        assert_ne!(cache_key(&[b"ab", b"c"]), cache_key(&[b"a", b"bc"]));
        assert_eq!(cache_key(&[b"a", b"b"]), cache_key(&[b"a", b"b"]));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = BoundedCache::new(Duration::from_millis(50), 10, u64::MAX);
        c.insert(k(1), 7u32, 0);
        assert_eq!(c.get(&k(1)), Some(7));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get(&k(1)), None, "expired");
        assert!(c.is_empty(), "an expired entry is dropped when looked up");
    }

    #[test]
    fn entries_serve_at_most_max_uses() {
        let c = BoundedCache::new(Duration::from_secs(60), 10, 3);
        c.insert(k(1), 1u32, 1);
        assert_eq!(c.get(&k(1)), Some(1));
        assert_eq!(c.get(&k(1)), Some(1));
        assert_eq!(
            c.get(&k(1)),
            None,
            "three uses: one at insertion, two looked up"
        );
        assert!(c.is_empty());
        // An entry inserted with all its uses spent is not kept.
        let one = BoundedCache::new(Duration::from_secs(60), 10, 1);
        one.insert(k(2), 2u32, 1);
        assert!(one.is_empty());
    }

    #[test]
    fn count_bound_drops_the_oldest() {
        let c = BoundedCache::new(Duration::from_secs(60), 3, u64::MAX);
        for i in 0..3 {
            c.insert(k(i), u32::from(i), 0);
            std::thread::sleep(Duration::from_millis(2));
        }
        c.insert(k(9), 9, 0);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&k(0)), None, "the oldest went");
        assert_eq!(c.get(&k(1)), Some(1));
        assert_eq!(c.get(&k(9)), Some(9));
        // Replacing an entry does not evict another.
        c.insert(k(9), 10, 0);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&k(9)), Some(10));
    }

    #[test]
    fn zero_bounds_disable() {
        for c in [
            BoundedCache::new(Duration::ZERO, 10, 10),
            BoundedCache::new(Duration::from_secs(1), 0, 10),
            BoundedCache::new(Duration::from_secs(1), 10, 0),
        ] {
            assert!(!c.enabled());
            c.insert(k(1), 1u32, 0);
            assert_eq!(c.get(&k(1)), None);
            assert!(c.is_empty());
        }
    }
}
