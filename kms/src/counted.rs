//! A `Kms` that counts the calls it passes to the backend, by operation, for `/metrics`: the observable
//! that shows what the SSE caches save (every count is a request the KMS really served or refused).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::provider::{
    AliasEntry, CreateKeyRequest, DataKey, EncryptionContext, KeyMetadata, KeyRef, Kms, KmsError,
    PlainDataKey,
};

/// The operations counted, in `/metrics` order.
const OPS: [&str; 10] = [
    "create_key",
    "describe_key",
    "list_keys",
    "create_alias",
    "resolve",
    "list_aliases",
    "set_key_enabled",
    "generate_data_key",
    "decrypt",
    "rotate_key",
];
const REWRAP: usize = OPS.len();

/// Wraps a backend, counting each call (successful or not).
pub struct Counted {
    inner: Arc<dyn Kms>,
    counts: [AtomicU64; OPS.len() + 1],
}

impl Counted {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn Kms>) -> Counted {
        Counted {
            inner,
            counts: Default::default(),
        }
    }

    fn hit(&self, op: &str) {
        let i = OPS.iter().position(|o| *o == op).unwrap_or(REWRAP);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Calls of operation `op` so far (`rewrap` included).
    pub fn count(&self, op: &str) -> u64 {
        let i = OPS.iter().position(|o| *o == op).unwrap_or(REWRAP);
        self.counts[i].load(Ordering::Relaxed)
    }

    /// The counters in Prometheus text format (`gatehouse_kms_requests_total{op="..."}`).
    pub fn prometheus(&self) -> String {
        let mut s = String::from("# TYPE gatehouse_kms_requests_total counter\n");
        for (i, op) in OPS.iter().chain(std::iter::once(&"rewrap")).enumerate() {
            s.push_str(&format!(
                "gatehouse_kms_requests_total{{op=\"{op}\"}} {}\n",
                self.counts[i].load(Ordering::Relaxed)
            ));
        }
        s
    }
}

#[async_trait]
impl Kms for Counted {
    async fn create_key(&self, req: &CreateKeyRequest) -> Result<KeyMetadata, KmsError> {
        self.hit("create_key");
        self.inner.create_key(req).await
    }

    async fn describe_key(&self, key: &KeyRef, account_id: &str) -> Result<KeyMetadata, KmsError> {
        self.hit("describe_key");
        self.inner.describe_key(key, account_id).await
    }

    async fn list_keys(&self, account_id: Option<&str>) -> Result<Vec<KeyMetadata>, KmsError> {
        self.hit("list_keys");
        self.inner.list_keys(account_id).await
    }

    async fn create_alias(
        &self,
        name: &str,
        key: &KeyRef,
        account_id: &str,
    ) -> Result<(), KmsError> {
        self.hit("create_alias");
        self.inner.create_alias(name, key, account_id).await
    }

    async fn resolve(&self, key: &KeyRef, account_id: &str) -> Result<String, KmsError> {
        self.hit("resolve");
        self.inner.resolve(key, account_id).await
    }

    async fn list_aliases(&self, account_id: &str) -> Result<Vec<AliasEntry>, KmsError> {
        self.hit("list_aliases");
        self.inner.list_aliases(account_id).await
    }

    async fn set_key_enabled(
        &self,
        key: &KeyRef,
        account_id: &str,
        enabled: bool,
    ) -> Result<(), KmsError> {
        self.hit("set_key_enabled");
        self.inner.set_key_enabled(key, account_id, enabled).await
    }

    async fn generate_data_key(
        &self,
        key: &KeyRef,
        account_id: &str,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        self.hit("generate_data_key");
        self.inner.generate_data_key(key, account_id, context).await
    }

    async fn decrypt(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<PlainDataKey, KmsError> {
        self.hit("decrypt");
        self.inner.decrypt(wrapped, context).await
    }

    async fn rotate_key(&self, key: &KeyRef, account_id: &str) -> Result<u32, KmsError> {
        self.hit("rotate_key");
        self.inner.rotate_key(key, account_id).await
    }

    async fn rewrap(
        &self,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        self.hit("rewrap");
        self.inner.rewrap(wrapped, context).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_each_call_by_operation() {
        let ring = crate::ServerKeyring::from_keys(
            &[crate::server_key::generate_key().to_vec()],
            crate::KeySource::Memory,
        )
        .expect("ring");
        let local: Arc<dyn Kms> = Arc::new(crate::local::LocalKms::new(
            Arc::new(crate::local::MemoryKeyStore::default()),
            Arc::new(ring),
        ));
        let k = Counted::new(local);
        let ctx = EncryptionContext::new();
        assert!(k.decrypt(b"junk", &ctx).await.is_err());
        assert!(k.decrypt(b"junk", &ctx).await.is_err());
        assert_eq!(k.count("decrypt"), 2, "failed calls count too");
        assert_eq!(k.count("generate_data_key"), 0);
        assert!(
            k.prometheus()
                .contains("gatehouse_kms_requests_total{op=\"decrypt\"} 2\n")
        );
        assert!(k.prometheus().contains("{op=\"rewrap\"} 0\n"));
    }
}
