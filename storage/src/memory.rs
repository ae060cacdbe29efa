//! An in-memory backend for unit tests of other crates.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;

use crate::locator::{check, new_locator, resolve_range};
use crate::{Backend, BlobEntry, BlobInfo, ByteStream};

/// Size of the chunks `get` yields, as for the local backends.
const CHUNK: usize = 1 << 20;

/// Blobs kept in a map; same locator format and semantics as the local backends, nothing durable.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    blobs: Arc<Mutex<HashMap<String, (Bytes, SystemTime)>>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of blobs stored.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether the store holds no blob.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// Sets a blob's modification time (to test orphan sweeps); `false` if the locator is unknown.
    pub fn set_modified(&self, locator: &str, modified: SystemTime) -> bool {
        match self.map().get_mut(locator) {
            Some(entry) => {
                entry.1 = modified;
                true
            }
            None => false,
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, (Bytes, SystemTime)>> {
        // A poisoned map is still a consistent map: every mutation is a single insert or remove.
        self.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn put(&self, mut body: ByteStream) -> io::Result<BlobInfo> {
        let mut data = BytesMut::new();
        while let Some(chunk) = body.next().await {
            data.extend_from_slice(&chunk?);
        }
        let locator = new_locator();
        let size = data.len() as u64;
        self.map()
            .insert(locator.clone(), (data.freeze(), SystemTime::now()));
        Ok(BlobInfo { locator, size })
    }

    async fn get(&self, locator: &str, range: Option<(u64, u64)>) -> io::Result<ByteStream> {
        check(locator)?;
        let data = self.map().get(locator).map(|e| e.0.clone());
        let data = data.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such blob"))?;
        let (start, end) = resolve_range(range, data.len() as u64)?;
        let (start, end) = (start as usize, end as usize);
        let items: Vec<io::Result<Bytes>> = (start..end)
            .step_by(CHUNK)
            .map(|s| Ok(data.slice(s..end.min(s + CHUNK))))
            .collect();
        Ok(Box::pin(futures::stream::iter(items)))
    }

    async fn delete(&self, locator: &str) -> io::Result<()> {
        check(locator)?;
        self.map().remove(locator);
        Ok(())
    }

    async fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let map = self.map();
        Ok(map
            .iter()
            .map(|(k, v)| BlobEntry {
                locator: k.clone(),
                modified: v.1,
            })
            .collect())
    }
}
