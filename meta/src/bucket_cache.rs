//! A process-local cache of the bucket reads every request makes (`get_bucket_with_setting`), for a SQLite
//! database that only this process changes: the server holds its data directory's lock, and every write to
//! `buckets` or `bucket_settings` goes through this process's `Meta`, which empties the cache once the write
//! is done (committed or failed).
//!
//! Exactness: a read that ran before a change committed must not land in the cache after the change emptied
//! it. Every change bumps a generation under the cache's lock; a reader notes the generation before it
//! queries and stores its result only if the generation is still the same. A change acknowledged to its
//! client has emptied the cache, so every request that starts afterwards reads the new state.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::Bucket;

/// Entries kept at most; the cache is emptied when it would grow past this.
const MAX_ENTRIES: usize = 10_000;

/// What `get_bucket_with_setting` returned for one (bucket, setting) pair.
type Entry = Option<(Bucket, Option<String>)>;

#[derive(Default)]
struct State {
    generation: u64,
    /// bucket -> setting -> entry (nested so a lookup borrows its keys instead of allocating them).
    entries: HashMap<String, HashMap<String, Entry>>,
    /// Entries stored, for `MAX_ENTRIES`.
    len: usize,
}

/// See the module doc.
#[derive(Default)]
pub(crate) struct BucketCache {
    state: Mutex<State>,
}

impl BucketCache {
    /// The cached result for `(bucket, setting)`, or the generation to pass to `store` after reading it.
    pub(crate) fn get(&self, bucket: &str, setting: &str) -> Result<Entry, u64> {
        let Ok(state) = self.state.lock() else {
            return Err(u64::MAX); // poisoned: never store
        };
        match state.entries.get(bucket).and_then(|s| s.get(setting)) {
            Some(e) => Ok(e.clone()),
            None => Err(state.generation),
        }
    }

    /// Stores what a read begun at `generation` found, unless a change happened since.
    pub(crate) fn store(&self, generation: u64, bucket: &str, setting: &str, entry: &Entry) {
        if let Ok(mut state) = self.state.lock()
            && state.generation == generation
        {
            if state.len >= MAX_ENTRIES {
                state.entries.clear();
                state.len = 0;
            }
            let added = state
                .entries
                .entry(bucket.to_owned())
                .or_default()
                .insert(setting.to_owned(), entry.clone())
                .is_none();
            state.len += usize::from(added);
        }
    }

    /// A bucket or one of its settings changed (or may have): forget everything.
    pub(crate) fn changed(&self) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.generation = state.generation.wrapping_add(1);
        state.entries.clear();
        state.len = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bucket(name: &str) -> Bucket {
        Bucket {
            name: name.into(),
            owner_account_id: "111122223333".into(),
            region: "us-east-1".into(),
            created_ms: 1,
        }
    }

    #[test]
    fn a_read_older_than_a_change_is_not_stored() {
        let c = BucketCache::default();
        let before = c.get("b", "versioning").unwrap_err();
        c.changed(); // the bucket was deleted while the read ran
        c.store(before, "b", "versioning", &Some((bucket("b"), None)));
        assert!(c.get("b", "versioning").is_err(), "stale read cached");
        let now = c.get("b", "versioning").unwrap_err();
        c.store(now, "b", "versioning", &None);
        assert_eq!(c.get("b", "versioning"), Ok(None));
        c.changed();
        assert!(c.get("b", "versioning").is_err());
    }

    #[test]
    fn entries_are_per_bucket_and_setting() {
        let c = BucketCache::default();
        let g = c.get("a", "versioning").unwrap_err();
        c.store(
            g,
            "a",
            "versioning",
            &Some((bucket("a"), Some("Enabled".into()))),
        );
        assert_eq!(
            c.get("a", "versioning"),
            Ok(Some((bucket("a"), Some("Enabled".into()))))
        );
        assert!(c.get("a", "tagging").is_err());
        assert!(c.get("b", "versioning").is_err());
    }
}
