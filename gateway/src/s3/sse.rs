//! Server-side encryption on the S3 path: which mode a write gets (request headers, else the bucket default),
//! its data key (SSE-S3: wrapped by the server keyring; SSE-KMS: by the named KMS key with the encryption
//! context bound; SSE-C: by the customer's key, of which only a salted HMAC is kept), the SSE-C checks of
//! reads, and the response headers. The index row keeps the mode, key id, wrapped key and parameters
//! (`gatehouse_meta::Sse`); the blob (or the inline bytes) holds only ciphertext, sealed and opened by
//! `sse_stream` in the chunked envelope of `gatehouse_kms::envelope`.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::Digest as _;
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use gatehouse_kms::provider::{EncryptionContext, KmsError, context_bytes};
use gatehouse_meta::Sse;

use super::sse_kms::default_context;
use crate::state::AppState;

/// SSE-S3.
pub(crate) const MODE_S3: &str = "AES256";
/// SSE-KMS.
pub(crate) const MODE_KMS: &str = "aws:kms";
/// SSE-KMS, dual-layer: sealed twice, under two data keys from the KMS (`Keys::outer`).
pub(crate) const MODE_DSSE: &str = "aws:kms:dsse";
/// SSE-C (the stored mode name; the wire says `AES256` in the customer-algorithm header).
pub(crate) const MODE_C: &str = "SSE-C";

/// The plaintext data key(s) of an object, wiped when dropped: `inner` seals the data (and keys the ETag of
/// SSE-KMS/SSE-C); `outer`, only for `aws:kms:dsse`, seals the sealed stream again with a second,
/// independent data key (the second layer). Dereferences to the inner key.
pub(crate) struct Keys {
    pub inner: Zeroizing<[u8; 32]>,
    pub outer: Option<Zeroizing<[u8; 32]>>,
}

impl std::ops::Deref for Keys {
    type Target = [u8; 32];
    fn deref(&self) -> &[u8; 32] {
        &self.inner
    }
}

/// An object's data key(s), shared by the streams that use them.
pub(crate) type DataKey = Arc<Keys>;

/// A single-layer data key.
pub(crate) fn one_key(k: Zeroizing<[u8; 32]>) -> DataKey {
    Arc::new(Keys {
        inner: k,
        outer: None,
    })
}

/// The gateway's part of a stored `Sse` (JSON in `sse_params`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Params {
    /// The context the data key was wrapped with (SSE-S3 and SSE-KMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<EncryptionContext>,
    /// The KMS key's ARN, as the response headers name it (SSE-KMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// Sealed under a bucket key (`sse_kms`): echoed as `x-amz-server-side-encryption-bucket-key-enabled`.
    #[serde(default)]
    pub bucket_key: bool,
    /// With a bucket key: the object's data key wrapped under it (base64; the index row's wrapped key is
    /// then the bucket key as the KMS wrapped it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    /// `aws:kms:dsse`: the second layer's data key as the KMS wrapped it (base64; same key and context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outer_key: Option<String>,
    /// With a bucket key: the context the KMS bound the bucket key to (the bucket's ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_context: Option<EncryptionContext>,
    /// SSE-C: the HMAC-SHA256 of the customer key under `salt` (base64 both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<String>,
    /// A completed multipart object: the part number each segment was sealed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<u32>>,
}

impl Params {
    /// The parameters of a stored `Sse` (a damaged value is an internal error, never "unencrypted").
    pub(crate) fn of(sse: &Sse) -> S3Result<Params> {
        serde_json::from_str(&sse.params).map_err(|e| internal("bad SSE parameters", &e))
    }

    /// As JSON for the index.
    pub(crate) fn to_json(&self) -> S3Result<String> {
        serde_json::to_string(self).map_err(|e| internal("SSE parameters", &e))
    }
}

pub(crate) fn internal(what: &str, e: &dyn std::fmt::Display) -> S3Error {
    tracing::error!(error = %e, "{what}");
    s3_error!(
        InternalError,
        "We encountered an internal error. Please try again."
    )
}

fn err(code: S3ErrorCode, status: http::StatusCode, msg: String) -> S3Error {
    let mut e = S3Error::with_message(code, msg);
    e.set_status_code(status);
    e
}

/// A KMS error as S3 answers it: `KMS.<code>` with KMS's status (a malformed key id is `InvalidArgument`).
pub(crate) fn kms_err(e: KmsError) -> S3Error {
    if let KmsError::InvalidArgument(m) = &e {
        return err(
            S3ErrorCode::InvalidArgument,
            http::StatusCode::BAD_REQUEST,
            m.clone(),
        );
    }
    let status =
        http::StatusCode::from_u16(e.http_status()).unwrap_or(http::StatusCode::BAD_GATEWAY);
    if status.is_server_error() {
        tracing::error!(error = %e, "KMS failure");
    }
    let msg = match &e {
        KmsError::NotFound(k) => format!("Invalid keyId {k}"),
        KmsError::Unavailable(_) => {
            "The KMS could not be reached; nothing was written. Please try again.".to_owned()
        }
        KmsError::Internal(_) => "The KMS failed; nothing was written.".to_owned(),
        other => other.to_string(),
    };
    err(
        S3ErrorCode::Custom(format!("KMS.{}", e.aws_code()).into()),
        status,
        msg,
    )
}

fn invalid_argument(msg: &'static str) -> S3Error {
    s3_error!(InvalidArgument, "{}", msg)
}

fn invalid_request(msg: &'static str) -> S3Error {
    s3_error!(InvalidRequest, "{}", msg)
}

/// The SSE-C headers of a request (the object's own, or the copy source's).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CustomerHeaders<'a> {
    pub algorithm: Option<&'a str>,
    pub key: Option<&'a str>,
    pub md5: Option<&'a str>,
}

impl<'a> CustomerHeaders<'a> {
    /// From the optional header values.
    pub(crate) fn new(
        algorithm: Option<&'a String>,
        key: Option<&'a String>,
        md5: Option<&'a String>,
    ) -> Self {
        CustomerHeaders {
            algorithm: algorithm.map(String::as_str),
            key: key.map(String::as_str),
            md5: md5.map(String::as_str),
        }
    }

    fn any(&self) -> bool {
        self.algorithm.is_some() || self.key.is_some() || self.md5.is_some()
    }
}

/// A customer key whose headers passed AWS's checks.
pub(crate) struct CustomerKey {
    key: Zeroizing<[u8; 32]>,
    /// The key's MD5 as the client sent it (echoed in responses).
    md5: String,
}

/// Whether the request came over TLS (or the operator allows SSE-C without it).
fn tls_ok(state: &AppState, ext: &http::Extensions) -> bool {
    !state.config.sse_c_require_tls || ext.get::<crate::front::ConnInfo>().is_some_and(|c| c.tls)
}

/// Checks SSE-C headers as AWS does; `None` when there are none.
pub(crate) fn customer_key(
    state: &AppState,
    ext: &http::Extensions,
    h: &CustomerHeaders<'_>,
) -> S3Result<Option<CustomerKey>> {
    if !h.any() {
        return Ok(None);
    }
    let Some(alg) = h.algorithm else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.",
        ));
    };
    if alg != "AES256" {
        return Err(s3_error!(
            InvalidEncryptionAlgorithmError,
            "The encryption request you specified is not valid. The valid value is AES256."
        ));
    }
    let Some(key_b64) = h.key else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.",
        ));
    };
    let raw = Zeroizing::new(B64.decode(key_b64.trim()).unwrap_or_default());
    if raw.len() != 32 {
        return Err(invalid_argument(
            "The secret key was invalid for the specified algorithm.",
        ));
    }
    let Some(md5) = h.md5 else {
        return Err(invalid_argument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.",
        ));
    };
    let computed = B64.encode(md5::Md5::digest(&raw[..]));
    if computed != md5.trim() {
        return Err(invalid_argument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
        ));
    }
    if !tls_ok(state, ext) {
        return Err(invalid_request(
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
        ));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&raw);
    Ok(Some(CustomerKey { key, md5: computed }))
}

/// What a write request asks for (PutObject, CopyObject, CreateMultipartUpload).
#[derive(Debug, Default)]
pub(crate) struct WriteRequest<'a> {
    pub sse: Option<&'a str>,
    pub kms_key_id: Option<&'a str>,
    pub context: Option<&'a str>,
    pub bucket_key: Option<bool>,
    pub customer: CustomerHeaders<'a>,
}

impl WriteRequest<'_> {
    /// Whether the request names any encryption (a copy onto itself then changes something).
    pub(crate) fn names_any(&self) -> bool {
        self.sse.is_some() || self.customer.any()
    }
}

/// A bucket's default encryption (`PutBucketEncryption`), as stored in the `encryption` setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BucketDefault {
    pub algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub bucket_key: bool,
}

/// The bucket setting holding the default encryption.
pub(crate) const SETTING: &str = "encryption";

/// The bucket's default encryption, if one is set.
pub(crate) async fn bucket_default(
    state: &AppState,
    bucket: &str,
) -> S3Result<Option<BucketDefault>> {
    // From the bucket context (one cached read for everything a request needs of its bucket).
    let ctx = state
        .buckets
        .get(&state.meta, bucket)
        .await
        .map_err(super::meta_err)?;
    ctx.as_ref()
        .and_then(|c| c.settings.get(SETTING))
        .map(|s| serde_json::from_str(s).map_err(|e| internal("bad bucket encryption setting", &e)))
        .transpose()
}

/// A new object's (or upload's) encryption: what to store and the key to seal with.
pub(crate) struct Sealing {
    pub sse: Sse,
    pub key: DataKey,
    /// The customer key's MD5 (SSE-C), echoed.
    pub customer_md5: Option<String>,
}

/// The encryption context header (base64 JSON of a string map), merged over the default context.
fn parse_context(header: Option<&str>, default: EncryptionContext) -> S3Result<EncryptionContext> {
    let Some(h) = header else {
        return Ok(default);
    };
    let bad = || {
        invalid_argument(
            "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map",
        )
    };
    let raw = B64.decode(h.trim()).map_err(|_| bad())?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let mut ctx = default;
    ctx.extend(map);
    Ok(ctx)
}

/// SSE-S3 wraps under the server keyring with this context (a domain apart from access-key secrets).
fn s3_aad(ctx: &EncryptionContext) -> Vec<u8> {
    let mut v = b"gatehouse:sse-s3\0".to_vec();
    v.extend_from_slice(&context_bytes(ctx));
    v
}

const SSE_C_AAD: &[u8] = b"gatehouse:sse-c:v1";

fn fresh_key() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut k[..]);
    k
}

fn customer_mac(salt: &[u8], key: &[u8]) -> Vec<u8> {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, salt);
    aws_lc_rs::hmac::sign(&k, key).as_ref().to_vec()
}

/// Wraps a data key under a customer key: nonce || ciphertext || tag.
fn wrap_customer(customer: &[u8; 32], data_key: &[u8; 32]) -> S3Result<Vec<u8>> {
    let k = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, customer).map_err(|e| internal("SSE-C key", &e))?,
    );
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
    let mut buf = data_key.to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(SSE_C_AAD),
        &mut buf,
    )
    .map_err(|e| internal("SSE-C wrap", &e))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

fn unwrap_customer(customer: &[u8; 32], wrapped: &[u8]) -> Option<DataKey> {
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, customer).ok()?);
    let (nonce, ct) = wrapped.split_at_checked(NONCE_LEN)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = k
        .open_in_place(nonce, Aad::from(SSE_C_AAD), &mut buf[..])
        .ok()?;
    to_key(plain)
}

fn to_key(b: &[u8]) -> Option<DataKey> {
    let mut k = Zeroizing::new([0u8; 32]);
    if b.len() != 32 {
        return None;
    }
    k.copy_from_slice(b);
    Some(one_key(k))
}

/// The encryption of a new object or upload of `bucket/key`: the request's mode, else the bucket's default,
/// else none. Validates the headers as AWS does; makes and wraps the data key (a KMS failure writes nothing).
pub(crate) async fn for_write(
    state: &AppState,
    ext: &http::Extensions,
    bucket: &str,
    key: &str,
    account_id: &str,
    w: &WriteRequest<'_>,
) -> S3Result<Option<Sealing>> {
    let customer = customer_key(state, ext, &w.customer)?;
    if let Some(c) = customer {
        if w.sse.is_some() || w.kms_key_id.is_some() || w.context.is_some() {
            return Err(invalid_argument(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified",
            ));
        }
        let data_key = fresh_key();
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
        let params = Params {
            salt: Some(B64.encode(salt)),
            hmac: Some(B64.encode(customer_mac(&salt, &c.key[..]))),
            ..Default::default()
        };
        return Ok(Some(Sealing {
            sse: Sse {
                mode: MODE_C.to_owned(),
                key_id: None,
                wrapped_key: wrap_customer(&c.key, &data_key)?,
                params: params.to_json()?,
            },
            key: one_key(data_key),
            customer_md5: Some(c.md5),
        }));
    }
    let (mode, kms_key_id, bucket_key) = match w.sse {
        Some(m) => (m.to_owned(), w.kms_key_id.map(str::to_owned), w.bucket_key),
        None => {
            if w.kms_key_id.is_some() || w.context.is_some() {
                return Err(invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            match bucket_default(state, bucket).await? {
                None => return Ok(None),
                Some(d) => (
                    d.algorithm,
                    d.kms_key_id,
                    w.bucket_key.or(Some(d.bucket_key)),
                ),
            }
        }
    };
    let bucket_key = bucket_key.unwrap_or(false);
    match mode.as_str() {
        MODE_S3 => {
            if w.kms_key_id.is_some() || w.context.is_some() {
                return Err(invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            let ctx = default_context(bucket, key);
            let data_key = fresh_key();
            let wrapped = state
                .keys
                .seal(&data_key[..], &s3_aad(&ctx))
                .map_err(|e| internal("SSE-S3 wrap", &e))?;
            let params = Params {
                context: Some(ctx),
                bucket_key,
                ..Default::default()
            };
            Ok(Some(Sealing {
                sse: Sse {
                    mode: MODE_S3.to_owned(),
                    key_id: None,
                    wrapped_key: wrapped,
                    params: params.to_json()?,
                },
                key: one_key(data_key),
                customer_md5: None,
            }))
        }
        MODE_KMS | MODE_DSSE => {
            let ctx = parse_context(w.context, default_context(bucket, key))?;
            let (sse, key) = super::sse_kms::for_write(
                state,
                mode,
                bucket,
                account_id,
                kms_key_id.as_deref(),
                ctx,
                bucket_key,
            )
            .await?;
            Ok(Some(Sealing {
                sse,
                key,
                customer_md5: None,
            }))
        }
        _ => Err(invalid_argument(
            "The encryption method specified is not supported",
        )),
    }
}

/// Checks that a read of an object (or a use of an upload) stored with `sse` carries the right SSE-C headers
/// (`customer`): none for an object not under SSE-C (`InvalidRequest`), the matching key for one under SSE-C
/// (missing: `InvalidRequest`; wrong: `AccessDenied`, 403, as AWS). Reveals nothing else of the object.
/// Returns the checked customer key.
pub(crate) fn check_access(
    state: &AppState,
    ext: &http::Extensions,
    sse: Option<&Sse>,
    customer: &CustomerHeaders<'_>,
) -> S3Result<Option<CustomerKey>> {
    let is_c = sse.is_some_and(|s| s.mode == MODE_C);
    if !is_c {
        if customer.any() {
            return Err(invalid_request(
                "The encryption parameters are not applicable to this object.",
            ));
        }
        return Ok(None);
    }
    let Some(c) = customer_key(state, ext, customer)? else {
        return Err(invalid_request(
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        ));
    };
    let params = Params::of(sse.ok_or_else(|| s3_error!(InternalError))?)?;
    let salt = B64
        .decode(params.salt.unwrap_or_default())
        .unwrap_or_default();
    let want = B64
        .decode(params.hmac.unwrap_or_default())
        .unwrap_or_default();
    let got = customer_mac(&salt, &c.key[..]);
    if want.is_empty() || aws_lc_rs::constant_time::verify_slices_are_equal(&got, &want).is_err() {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    Ok(Some(c))
}

/// GET and HEAD refuse the write-side encryption headers, as AWS does (the stored object says how it is
/// encrypted; a client that names a mode on a read is confused).
pub(crate) fn refuse_write_headers(h: &http::HeaderMap) -> S3Result<()> {
    for name in [
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
    ] {
        if h.contains_key(name) {
            return Err(s3_error!(
                InvalidArgument,
                "The {} header is not supported for this operation.",
                name
            ));
        }
    }
    Ok(())
}

/// The data key of an object or upload stored with `sse`, after `check_access`; `None` when unencrypted.
pub(crate) async fn open_key(
    state: &AppState,
    ext: &http::Extensions,
    sse: Option<&Sse>,
    customer: &CustomerHeaders<'_>,
) -> S3Result<Option<DataKey>> {
    let c = check_access(state, ext, sse, customer)?;
    let Some(sse) = sse else {
        return Ok(None);
    };
    match sse.mode.as_str() {
        MODE_C => {
            let c = c.ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))?;
            unwrap_customer(&c.key, &sse.wrapped_key)
                .map(Some)
                .ok_or_else(|| s3_error!(AccessDenied, "Access Denied"))
        }
        MODE_S3 => {
            let ctx = Params::of(sse)?.context.unwrap_or_default();
            let plain = Zeroizing::new(
                state
                    .keys
                    .unseal(&sse.wrapped_key, &s3_aad(&ctx))
                    .map_err(|e| internal("SSE-S3 data key cannot be opened", &e))?,
            );
            to_key(&plain)
                .map(Some)
                .ok_or_else(|| internal("SSE-S3 data key", &"wrong length"))
        }
        MODE_KMS | MODE_DSSE => super::sse_kms::open(state, sse).await.map(Some),
        other => Err(internal("unknown SSE mode", &other)),
    }
}

/// The ETag of a new object or part: the MD5 for unencrypted and SSE-S3 data, as on AWS; for SSE-KMS and
/// SSE-C an HMAC of the MD5 under the data key, which says nothing about the plaintext to anyone without
/// the key, yet stays the same for a part uploaded again with the same bytes (the upload's data key).
pub(crate) fn etag(sse: Option<&Sse>, key: Option<&DataKey>, md5: &[u8; 16]) -> String {
    match (sse, key) {
        (Some(s), Some(k)) if s.mode != MODE_S3 => {
            let hk = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &k[..]);
            let mut msg = b"gatehouse:etag\0".to_vec();
            msg.extend_from_slice(md5);
            let tag = aws_lc_rs::hmac::sign(&hk, &msg);
            super::body::quoted_hex(&tag.as_ref()[..16])
        }
        _ => super::body::quoted_hex(md5),
    }
}

/// The response headers that describe an object's encryption.
#[derive(Debug, Default)]
pub(crate) struct Echo {
    pub sse: Option<s3s::dto::ServerSideEncryption>,
    pub kms_key_id: Option<String>,
    pub bucket_key: Option<bool>,
    pub customer_algorithm: Option<String>,
    pub customer_md5: Option<String>,
    /// The encryption context (base64 JSON), for the write responses that carry it.
    pub context: Option<String>,
}

/// What to answer about `sse` (`customer_md5`: the request's SSE-C key MD5).
pub(crate) fn echo(sse: Option<&Sse>, customer_md5: Option<&str>) -> Echo {
    let Some(sse) = sse else {
        return Echo::default();
    };
    let params = Params::of(sse).unwrap_or_default();
    if sse.mode == MODE_C {
        return Echo {
            customer_algorithm: Some("AES256".to_owned()),
            customer_md5: customer_md5.map(str::to_owned),
            ..Default::default()
        };
    }
    let kms = sse.mode != MODE_S3;
    Echo {
        sse: Some(s3s::dto::ServerSideEncryption::from(sse.mode.clone())),
        kms_key_id: if kms {
            params.key_arn.clone().or_else(|| sse.key_id.clone())
        } else {
            None
        },
        bucket_key: (kms && params.bucket_key).then_some(true),
        context: if kms {
            params
                .context
                .as_ref()
                .and_then(|c| serde_json::to_vec(c).ok())
                .map(|j| B64.encode(j))
        } else {
            None
        },
        ..Default::default()
    }
}

/// Sets the encryption response fields of an s3s output (all but the context).
macro_rules! set_echo {
    ($out:expr, $e:expr) => {{
        let e: $crate::s3::sse::Echo = $e;
        $out.server_side_encryption = e.sse;
        $out.ssekms_key_id = e.kms_key_id;
        $out.bucket_key_enabled = e.bucket_key;
        $out.sse_customer_algorithm = e.customer_algorithm;
        $out.sse_customer_key_md5 = e.customer_md5;
    }};
}
pub(crate) use set_echo;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_wrap_round_trip_and_wrong_key() {
        let ck = [3u8; 32];
        let dk = [9u8; 32];
        let w = wrap_customer(&ck, &dk).expect("wrap");
        assert!(!w.windows(32).any(|x| x == dk), "data key in the clear");
        assert_eq!(
            unwrap_customer(&ck, &w).map(|k| **k),
            Some(dk),
            "round trip"
        );
        assert!(unwrap_customer(&[4u8; 32], &w).is_none());
        assert!(unwrap_customer(&ck, &w[..10]).is_none());
    }

    #[test]
    fn context_header_merges_over_the_default() {
        let d = default_context("b", "k");
        let h = B64.encode(br#"{"a":"1"}"#);
        let c = parse_context(Some(&h), d.clone()).expect("ctx");
        assert_eq!(c.get("a").map(String::as_str), Some("1"));
        assert!(c.contains_key("aws:s3:arn"));
        assert!(parse_context(Some("!!"), d.clone()).is_err());
        let not_map = B64.encode(b"[1]");
        assert!(parse_context(Some(&not_map), d).is_err());
    }

    #[test]
    fn params_round_trip() {
        let p = Params {
            parts: Some(vec![1, 3]),
            bucket_key: true,
            ..Default::default()
        };
        let s = Sse {
            mode: "aws:kms".into(),
            params: p.to_json().expect("json"),
            ..Default::default()
        };
        let q = Params::of(&s).expect("parse");
        assert_eq!(q.parts, Some(vec![1, 3]));
        assert!(q.bucket_key);
        let e = echo(Some(&s), None);
        assert_eq!(e.bucket_key, Some(true));
        assert!(e.kms_key_id.is_none());
        // SSE-S3 has no bucket key to echo.
        let s3 = Sse {
            mode: MODE_S3.into(),
            ..s
        };
        assert_eq!(echo(Some(&s3), None).bucket_key, None);
    }
}
