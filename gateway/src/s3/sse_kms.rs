//! SSE-KMS data keys: one from the KMS per object, or, with the bucket-key flag (AWS's S3 Bucket Keys), a
//! per-object key wrapped under a bucket-level key that one KMS data key provides for a bounded time and
//! number of objects; and the unwrapping of both on reads, through a short-lived cache of unwrapped keys.
//!
//! Why the caches can be late but never wrong (see also `gatehouse_kms::cache`): a bucket key is a KMS data
//! key made for the bucket's context (`aws:s3:arn` = the bucket ARN, as on AWS) and kept in this process only,
//! at most `sse_bucket_key_seconds` and `sse_bucket_key_max_objects` objects; an unwrapped key is the pure
//! function of (wrapped key, key id, context), kept at most `kms_decrypt_cache_seconds`. Nothing another
//! gateway does can make either wrong; what the KMS can change (a key disabled, deleted, rotated, an alias
//! pointed elsewhere) takes effect here within those bounds: new objects after at most the bucket-key
//! lifetime, reads after at most the decrypt-cache lifetime.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use s3s::{S3Result, s3_error};
use zeroize::Zeroizing;

use gatehouse_kms::cache::{BoundedCache, CacheKey, cache_key};
use gatehouse_kms::provider::{
    CreateKeyRequest, EncryptionContext, KeyRef, KeyState, KmsError, context_bytes,
};
use gatehouse_meta::Sse;

use super::sse::{DataKey, Keys, MODE_DSSE, MODE_KMS, Params, internal, kms_err, one_key};
use crate::state::AppState;

/// A bucket-level key: a KMS data key (plaintext and wrapped) for one bucket, KMS key and account.
pub(crate) struct BucketKey {
    key_id: String,
    key_arn: String,
    plaintext: Zeroizing<[u8; 32]>,
    wrapped: Vec<u8>,
    context: EncryptionContext,
}

/// The process's SSE-KMS caches (bounded by the config keys named in the module doc).
pub(crate) struct KeyCaches {
    /// Bucket keys by (account, bucket, key as named).
    bucket_keys: BoundedCache<Arc<BucketKey>>,
    /// Unwrapped data keys (per-object keys and bucket keys) by (wrapped key, key id, context).
    unwrapped: BoundedCache<DataKey>,
    /// Striped locks taken on a miss, so concurrent misses of one entry wait for the first to fill it
    /// instead of each asking the KMS (requests for other entries rarely share a stripe).
    misses: Vec<tokio::sync::Mutex<()>>,
}

impl KeyCaches {
    fn miss_lock(&self, k: &CacheKey) -> &tokio::sync::Mutex<()> {
        &self.misses[usize::from(k[0]) % self.misses.len()]
    }
}

impl KeyCaches {
    /// Caches with the configured bounds.
    pub(crate) fn new(c: &crate::config::Config) -> KeyCaches {
        KeyCaches {
            bucket_keys: BoundedCache::new(
                Duration::from_secs(c.sse_bucket_key_seconds),
                c.kms_cache_entries,
                c.sse_bucket_key_max_objects,
            ),
            unwrapped: BoundedCache::new(
                Duration::from_secs(c.kms_decrypt_cache_seconds),
                c.kms_cache_entries,
                u64::MAX,
            ),
            misses: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

/// The context every data key of `bucket/key` is bound to unless the client adds its own, as on AWS.
pub(crate) fn default_context(bucket: &str, key: &str) -> EncryptionContext {
    [(
        "aws:s3:arn".to_owned(),
        format!("arn:aws:s3:::{bucket}/{key}"),
    )]
    .into()
}

/// The context of a bucket key: the bucket's ARN (what AWS KMS sees with S3 Bucket Keys).
fn bucket_context(bucket: &str) -> EncryptionContext {
    [("aws:s3:arn".to_owned(), format!("arn:aws:s3:::{bucket}"))].into()
}

/// The AAD of an object key wrapped under a bucket key: a domain of its own and the object's context.
fn object_aad(ctx: &EncryptionContext) -> Vec<u8> {
    let mut v = b"gatehouse:bucket-key:v1\0".to_vec();
    v.extend_from_slice(&context_bytes(ctx));
    v
}

fn fresh_key() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut k[..]);
    k
}

/// Wraps an object's data key under a bucket key: nonce || ciphertext || tag. A random nonce is safe: a
/// bucket key wraps at most `sse_bucket_key_max_objects` keys, far below GCM's 2^32 random-nonce bound.
fn wrap_object_key(
    bucket_key: &[u8; 32],
    data_key: &[u8; 32],
    ctx: &EncryptionContext,
) -> S3Result<Vec<u8>> {
    let k = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, bucket_key).map_err(|e| internal("bucket key", &e))?,
    );
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
    let mut buf = data_key.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(object_aad(ctx)),
        &mut buf,
    )
    .map_err(|e| internal("bucket key wrap", &e))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens an object key wrapped by `wrap_object_key`; `None` when anything differs (key, context, bytes).
fn unwrap_object_key(
    bucket_key: &[u8; 32],
    wrapped: &[u8],
    ctx: &EncryptionContext,
) -> Option<DataKey> {
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bucket_key).ok()?);
    let (nonce, ct) = wrapped.split_at_checked(NONCE_LEN)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = k
        .open_in_place(nonce, Aad::from(object_aad(ctx)), &mut buf[..])
        .ok()?;
    let mut key = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return None;
    }
    key.copy_from_slice(plain);
    Some(one_key(key))
}

/// The id of the account's default SSE-KMS key (AWS's `aws/s3`), made on first use.
async fn default_kms_key(state: &AppState, account_id: &str) -> S3Result<KeyRef> {
    let id = format!("aws-s3-{account_id}");
    let key = KeyRef::Id(id.clone());
    match state.kms.describe_key(&key, account_id).await {
        Ok(_) => return Ok(key),
        Err(KmsError::NotFound(_)) => {}
        Err(e) => return Err(kms_err(e)),
    }
    let req = CreateKeyRequest {
        account_id: account_id.to_owned(),
        description: "Default key for SSE-KMS (aws/s3)".to_owned(),
        alias: None,
        key_id: Some(id),
    };
    match state.kms.create_key(&req).await {
        Ok(_) | Err(KmsError::AlreadyExists(_)) => Ok(key),
        Err(e) => Err(kms_err(e)),
    }
}

/// The key `kms_key_id` names (the account's default key when none), enabled and usable by `account_id`:
/// its id and ARN.
async fn usable_key(
    state: &AppState,
    account_id: &str,
    kms_key_id: Option<&str>,
) -> S3Result<(String, String)> {
    let key_ref = match kms_key_id {
        Some(id) if !id.is_empty() => KeyRef::parse(id).map_err(kms_err)?,
        _ => default_kms_key(state, account_id).await?,
    };
    let meta = state
        .kms
        .describe_key(&key_ref, account_id)
        .await
        .map_err(kms_err)?;
    if meta.state != KeyState::Enabled {
        return Err(kms_err(KmsError::Disabled(meta.key_id)));
    }
    // Keys have no key policies here: a key serves the account that owns it (as AWS's default key policy
    // allows), or every account when the backend records no owner (Vault transit).
    if meta.account_id.as_deref().is_some_and(|a| a != account_id) {
        return Err(s3_error!(
            AccessDenied,
            "The requester is not authorized to use the KMS key {}",
            meta.key_id
        ));
    }
    let arn = meta.arn(&state.config.region, account_id);
    Ok((meta.key_id, arn))
}

fn unwrapped_key(wrapped: &[u8], key_id: Option<&str>, ctx: &EncryptionContext) -> [u8; 32] {
    cache_key(&[
        b"kms-decrypt",
        key_id.unwrap_or_default().as_bytes(),
        wrapped,
        &context_bytes(ctx),
    ])
}

/// Unwraps a KMS-wrapped data key, from the cache when it was unwrapped (or made) here within
/// `kms_decrypt_cache_seconds`.
async fn kms_unwrap(
    state: &AppState,
    wrapped: &[u8],
    key_id: Option<&str>,
    ctx: &EncryptionContext,
) -> S3Result<DataKey> {
    let ck = unwrapped_key(wrapped, key_id, ctx);
    let caches = &state.sse_keys;
    if let Some(k) = caches.unwrapped.get(&ck) {
        return Ok(k);
    }
    let _filling = if caches.unwrapped.enabled() {
        Some(caches.miss_lock(&ck).lock().await)
    } else {
        None
    };
    if let Some(k) = caches.unwrapped.get(&ck) {
        return Ok(k);
    }
    let dk = state.kms.decrypt(wrapped, ctx).await.map_err(kms_err)?;
    let k = one_key(dk.plaintext);
    state.sse_keys.unwrapped.insert(ck, Arc::clone(&k), 0);
    Ok(k)
}

/// A bucket key for (`account_id`, `bucket`, `kms_key_id`): the cached one while it is within its bounds,
/// else a new one from the KMS (the key checked as for any SSE-KMS write).
async fn bucket_key(
    state: &AppState,
    bucket: &str,
    account_id: &str,
    kms_key_id: Option<&str>,
) -> S3Result<Arc<BucketKey>> {
    let ck = cache_key(&[
        b"bucket-key",
        account_id.as_bytes(),
        bucket.as_bytes(),
        kms_key_id.unwrap_or_default().as_bytes(),
    ]);
    let caches = &state.sse_keys;
    if let Some(bk) = caches.bucket_keys.get(&ck) {
        return Ok(bk);
    }
    let _filling = caches.miss_lock(&ck).lock().await;
    if let Some(bk) = caches.bucket_keys.get(&ck) {
        return Ok(bk);
    }
    let (key_id, key_arn) = usable_key(state, account_id, kms_key_id).await?;
    let context = bucket_context(bucket);
    let dk = state
        .kms
        .generate_data_key(&KeyRef::Id(key_id.clone()), account_id, &context)
        .await
        .map_err(kms_err)?;
    let bk = Arc::new(BucketKey {
        key_id,
        key_arn,
        plaintext: dk.plaintext,
        wrapped: dk.wrapped,
        context,
    });
    state.sse_keys.bucket_keys.insert(ck, Arc::clone(&bk), 1);
    // Reads of the objects written under it need not ask the KMS either (within the decrypt bound).
    state.sse_keys.unwrapped.insert(
        unwrapped_key(&bk.wrapped, Some(&bk.key_id), &bk.context),
        one_key(bk.plaintext.clone()),
        0,
    );
    Ok(bk)
}

/// The `Sse` (and data key) of a new SSE-KMS object of `bucket/key`. With `bucket_key` (and mode
/// `aws:kms`: AWS has no bucket keys for DSSE) the object's key is wrapped under the bucket key; else it
/// is a KMS data key of its own.
pub(crate) async fn for_write(
    state: &AppState,
    mode: String,
    bucket: &str,
    account_id: &str,
    kms_key_id: Option<&str>,
    ctx: EncryptionContext,
    bucket_key_flag: bool,
) -> S3Result<(Sse, DataKey)> {
    if bucket_key_flag && mode == MODE_KMS && state.sse_keys.bucket_keys.enabled() {
        let bk = bucket_key(state, bucket, account_id, kms_key_id).await?;
        let data_key = fresh_key();
        let params = Params {
            object_key: Some(B64.encode(wrap_object_key(&bk.plaintext, &data_key, &ctx)?)),
            bucket_key_context: Some(bk.context.clone()),
            context: Some(ctx),
            key_arn: Some(bk.key_arn.clone()),
            bucket_key: true,
            ..Default::default()
        };
        let sse = Sse {
            mode,
            key_id: Some(bk.key_id.clone()),
            wrapped_key: bk.wrapped.clone(),
            params: params.to_json()?,
        };
        return Ok((sse, one_key(data_key)));
    }
    let (key_id, key_arn) = usable_key(state, account_id, kms_key_id).await?;
    let dk = state
        .kms
        .generate_data_key(&KeyRef::Id(key_id.clone()), account_id, &ctx)
        .await
        .map_err(kms_err)?;
    // DSSE: a second data key from the KMS for the second layer.
    let outer = if mode == MODE_DSSE {
        let dk2 = state
            .kms
            .generate_data_key(&KeyRef::Id(key_id.clone()), account_id, &ctx)
            .await
            .map_err(kms_err)?;
        Some(dk2)
    } else {
        None
    };
    let params = Params {
        context: Some(ctx),
        key_arn: Some(key_arn),
        outer_key: outer.as_ref().map(|o| B64.encode(&o.wrapped)),
        ..Default::default()
    };
    let sse = Sse {
        mode,
        key_id: Some(key_id),
        wrapped_key: dk.wrapped,
        params: params.to_json()?,
    };
    let keys = Keys {
        inner: dk.plaintext,
        outer: outer.map(|o| o.plaintext),
    };
    Ok((sse, Arc::new(keys)))
}

/// The data key of an SSE-KMS object or upload.
pub(crate) async fn open(state: &AppState, sse: &Sse) -> S3Result<DataKey> {
    let params = Params::of(sse)?;
    let ctx = params.context.unwrap_or_default();
    let Some(object_key) = params.object_key else {
        let inner = kms_unwrap(state, &sse.wrapped_key, sse.key_id.as_deref(), &ctx).await?;
        let Some(outer) = params.outer_key else {
            return Ok(inner);
        };
        let wrapped = B64
            .decode(outer)
            .map_err(|e| internal("DSSE outer key", &e))?;
        let outer = kms_unwrap(state, &wrapped, sse.key_id.as_deref(), &ctx).await?;
        return Ok(Arc::new(Keys {
            inner: inner.inner.clone(),
            outer: Some(outer.inner.clone()),
        }));
    };
    let bucket_ctx = params.bucket_key_context.unwrap_or_default();
    let bk = kms_unwrap(state, &sse.wrapped_key, sse.key_id.as_deref(), &bucket_ctx).await?;
    let wrapped = B64
        .decode(object_key)
        .map_err(|e| internal("bucket-key object key", &e))?;
    unwrap_object_key(&bk, &wrapped, &ctx).ok_or_else(|| kms_err(KmsError::InvalidCiphertext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_open_only_under_their_bucket_key_and_context() {
        let bk = [5u8; 32];
        let dk = [7u8; 32];
        let ctx = default_context("b", "k");
        let w = wrap_object_key(&bk, &dk, &ctx).expect("wrap");
        assert!(!w.windows(32).any(|x| x == dk), "data key in the clear");
        assert_eq!(unwrap_object_key(&bk, &w, &ctx).map(|k| **k), Some(dk));
        assert!(
            unwrap_object_key(&[6u8; 32], &w, &ctx).is_none(),
            "other key"
        );
        let other = default_context("b", "other");
        assert!(unwrap_object_key(&bk, &w, &other).is_none(), "other object");
        let mut flipped = w.clone();
        flipped[20] ^= 1;
        assert!(unwrap_object_key(&bk, &flipped, &ctx).is_none(), "tampered");
        assert!(unwrap_object_key(&bk, &w[..8], &ctx).is_none(), "short");
    }

    #[test]
    fn bucket_context_is_the_bucket_arn() {
        assert_eq!(
            bucket_context("b").get("aws:s3:arn").map(String::as_str),
            Some("arn:aws:s3:::b")
        );
    }
}
