//! Ingesting a request body: stream it into a new blob while computing MD5 (the ETag) and the S3 checksums,
//! then verify Content-MD5, `x-amz-checksum-*` headers or aws-chunked trailers and the length. Any mismatch
//! deletes the blob before the error is returned, so nothing half-written is ever indexed.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use http::HeaderMap;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Md5, Sha1, Sha256};
use s3s::{S3Error, S3Result, TrailingHeaders, s3_error};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use gatehouse_meta::Checksums;
use gatehouse_storage::{BlobInfo, ByteStream};

use crate::state::AppState;

/// An S3 checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algo {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algo {
    pub(crate) const ALL: [Algo; 5] = [
        Algo::Crc32,
        Algo::Crc32c,
        Algo::Crc64Nvme,
        Algo::Sha1,
        Algo::Sha256,
    ];

    /// Parses "CRC32", "crc32c", ... (algorithm names in headers and XML).
    pub(crate) fn parse(s: &str) -> Option<Algo> {
        match s.to_ascii_uppercase().as_str() {
            "CRC32" => Some(Algo::Crc32),
            "CRC32C" => Some(Algo::Crc32c),
            "CRC64NVME" => Some(Algo::Crc64Nvme),
            "SHA1" => Some(Algo::Sha1),
            "SHA256" => Some(Algo::Sha256),
            _ => None,
        }
    }

    /// The S3 name ("CRC32", ...).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algo::Crc32 => "CRC32",
            Algo::Crc32c => "CRC32C",
            Algo::Crc64Nvme => "CRC64NVME",
            Algo::Sha1 => "SHA1",
            Algo::Sha256 => "SHA256",
        }
    }

    /// The header carrying this checksum.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Algo::Crc32 => "x-amz-checksum-crc32",
            Algo::Crc32c => "x-amz-checksum-crc32c",
            Algo::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algo::Sha1 => "x-amz-checksum-sha1",
            Algo::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Whether this is a CRC (combinable into a full-object checksum).
    pub(crate) fn is_crc(self) -> bool {
        matches!(self, Algo::Crc32 | Algo::Crc32c | Algo::Crc64Nvme)
    }

    /// The stored value of this algorithm in `c`.
    pub(crate) fn get(self, c: &Checksums) -> Option<&String> {
        match self {
            Algo::Crc32 => c.crc32.as_ref(),
            Algo::Crc32c => c.crc32c.as_ref(),
            Algo::Crc64Nvme => c.crc64nvme.as_ref(),
            Algo::Sha1 => c.sha1.as_ref(),
            Algo::Sha256 => c.sha256.as_ref(),
        }
    }

    /// Sets the value of this algorithm in `c`.
    pub(crate) fn set(self, c: &mut Checksums, v: String) {
        let slot = match self {
            Algo::Crc32 => &mut c.crc32,
            Algo::Crc32c => &mut c.crc32c,
            Algo::Crc64Nvme => &mut c.crc64nvme,
            Algo::Sha1 => &mut c.sha1,
            Algo::Sha256 => &mut c.sha256,
        };
        *slot = Some(v);
    }

    /// Digest length in bytes (to validate a client's base64 value).
    fn len(self) -> usize {
        match self {
            Algo::Crc32 | Algo::Crc32c => 4,
            Algo::Crc64Nvme => 8,
            Algo::Sha1 => 20,
            Algo::Sha256 => 32,
        }
    }
}

/// A running digest of one algorithm.
enum Digest {
    Crc32(Crc32),
    Crc32c(Crc32c),
    Crc64(Crc64Nvme),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Digest {
    fn new(a: Algo) -> Digest {
        match a {
            Algo::Crc32 => Digest::Crc32(Crc32::new()),
            Algo::Crc32c => Digest::Crc32c(Crc32c::new()),
            Algo::Crc64Nvme => Digest::Crc64(Crc64Nvme::new()),
            Algo::Sha1 => Digest::Sha1(Sha1::new()),
            Algo::Sha256 => Digest::Sha256(Sha256::new()),
        }
    }
    fn update(&mut self, d: &[u8]) {
        match self {
            Digest::Crc32(h) => h.update(d),
            Digest::Crc32c(h) => h.update(d),
            Digest::Crc64(h) => h.update(d),
            Digest::Sha1(h) => h.update(d),
            Digest::Sha256(h) => h.update(d),
        }
    }
    fn finalize_b64(self) -> String {
        match self {
            Digest::Crc32(h) => B64.encode(h.finalize()),
            Digest::Crc32c(h) => B64.encode(h.finalize()),
            Digest::Crc64(h) => B64.encode(h.finalize()),
            Digest::Sha1(h) => B64.encode(h.finalize()),
            Digest::Sha256(h) => B64.encode(h.finalize()),
        }
    }
}

/// What the client claims about the body.
#[derive(Debug, Default)]
pub(crate) struct Expect {
    /// Content-MD5 (base64).
    pub content_md5: Option<String>,
    /// Checksum values sent as headers.
    pub checksums: Checksums,
    /// The algorithm named by x-amz-sdk-checksum-algorithm / x-amz-checksum-algorithm.
    pub algorithm: Option<Algo>,
    /// The algorithm whose value arrives as an aws-chunked trailer (x-amz-trailer).
    pub trailer: Option<Algo>,
    /// Declared body length, if any.
    pub length: Option<u64>,
}

impl Expect {
    /// Reads the claims from request headers (plus s3s's parsed Content-MD5/length where given).
    pub(crate) fn from_headers(
        headers: &HeaderMap,
        content_md5: Option<String>,
        length: Option<i64>,
    ) -> S3Result<Expect> {
        let mut e = Expect {
            content_md5,
            length: length.and_then(|l| u64::try_from(l).ok()),
            ..Default::default()
        };
        for a in Algo::ALL {
            if let Some(v) = headers.get(a.header()) {
                let v = v.to_str().map_err(|_| invalid_checksum(a))?.to_owned();
                a.set(&mut e.checksums, v);
            }
        }
        for h in ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"] {
            if let Some(v) = headers.get(h) {
                let v = v.to_str().unwrap_or_default();
                e.algorithm = Some(Algo::parse(v).ok_or_else(|| {
                    s3_error!(InvalidRequest, "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
                })?);
            }
        }
        if let Some(v) = headers.get("x-amz-trailer") {
            let name = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
            let a = name
                .strip_prefix("x-amz-checksum-")
                .and_then(Algo::parse)
                .ok_or_else(|| {
                    s3_error!(
                        InvalidRequest,
                        "The value specified in the x-amz-trailer header is not supported"
                    )
                })?;
            e.trailer = Some(a);
        }
        let given: Vec<Algo> = Algo::ALL
            .into_iter()
            .filter(|a| a.get(&e.checksums).is_some())
            .collect();
        if given.len() + usize::from(e.trailer.is_some()) > 1 {
            return Err(s3_error!(
                InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            ));
        }
        for a in &given {
            check_b64(
                *a,
                a.get(&e.checksums).map(String::as_str).unwrap_or_default(),
            )?;
            if let Some(named) = e.algorithm
                && named != *a
            {
                return Err(s3_error!(
                    InvalidRequest,
                    "Value for x-amz-checksum-{} header is invalid.",
                    named.name().to_ascii_lowercase()
                ));
            }
        }
        if e.content_md5.is_none() && headers.contains_key("content-md5") {
            return Err(s3_error!(
                InvalidDigest,
                "The Content-MD5 you specified was invalid."
            ));
        }
        if let Some(md5) = &e.content_md5 {
            match B64.decode(md5) {
                Ok(b) if b.len() == 16 => {}
                _ => {
                    return Err(s3_error!(
                        InvalidDigest,
                        "The Content-MD5 you specified was invalid."
                    ));
                }
            }
        }
        Ok(e)
    }

    /// The algorithm whose checksum is computed and stored: the one the client used or named, else
    /// CRC64NVME (as AWS does for objects uploaded without one).
    pub(crate) fn stored_algo(&self) -> Algo {
        self.trailer
            .or_else(|| {
                Algo::ALL
                    .into_iter()
                    .find(|a| a.get(&self.checksums).is_some())
            })
            .or(self.algorithm)
            .unwrap_or(Algo::Crc64Nvme)
    }
}

fn invalid_checksum(a: Algo) -> S3Error {
    s3_error!(
        InvalidRequest,
        "Value for {} header is invalid.",
        a.header()
    )
}

fn check_b64(a: Algo, v: &str) -> S3Result<()> {
    match B64.decode(v) {
        Ok(b) if b.len() == a.len() => Ok(()),
        _ => Err(invalid_checksum(a)),
    }
}

/// Bodies up to this size are kept in the index row itself instead of a blob file (one durable commit
/// instead of a blob fsync, a directory fsync and a commit).
pub(crate) const INLINE_MAX: u64 = 64 * 1024;

/// Where ingested bytes went.
#[derive(Debug)]
pub(crate) enum Stored {
    Blob(BlobInfo),
    Inline(Bytes),
}

/// What an ingest produced.
#[derive(Debug)]
pub(crate) struct Ingested {
    pub stored: Stored,
    pub size: u64,
    pub md5: [u8; 16],
    /// The stored checksum (one algorithm).
    pub checksums: Checksums,
}

impl Ingested {
    /// The object's segments (none for inline bytes); a segment's size is its plaintext size.
    pub(crate) fn segments(&self) -> Vec<gatehouse_meta::Segment> {
        match &self.stored {
            Stored::Blob(b) => vec![gatehouse_meta::Segment {
                locator: b.locator.clone(),
                size: i64::try_from(self.size).unwrap_or(i64::MAX),
                etag: None,
                checksums: None,
            }],
            Stored::Inline(_) => Vec::new(),
        }
    }

    /// The inline bytes, if the body was kept in the index.
    pub(crate) fn inline_data(&self) -> Option<Vec<u8>> {
        match &self.stored {
            Stored::Inline(b) => Some(b.to_vec()),
            Stored::Blob(_) => None,
        }
    }

    /// The blob's locator, if the body went to a blob.
    pub(crate) fn locator(&self) -> Option<String> {
        match &self.stored {
            Stored::Blob(b) => Some(b.locator.clone()),
            Stored::Inline(_) => None,
        }
    }
}

struct Hashers {
    md5: Md5,
    digest: Digest,
    size: u64,
}

/// Maps a body-stream error to the S3 error the client should see. s3s's stream error types are private, so
/// they are recognised by their names.
fn stream_err(e: &(dyn std::error::Error + 'static)) -> S3Error {
    let text = e.to_string();
    if text.contains("Sha256Mismatch") {
        super::custom_error(
            "XAmzContentSHA256Mismatch",
            http::StatusCode::BAD_REQUEST,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    } else if text.contains("SignatureMismatch") {
        s3_error!(
            SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided."
        )
    } else if text.contains("Incomplete") || text.contains("LengthMismatch") {
        s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )
    } else if text.contains("FormatError") || text.contains("TooLarge") || text.contains("TooMany")
    {
        s3_error!(InvalidRequest, "The aws-chunked body is malformed.")
    } else {
        s3_error!(IncompleteBody, "The request body could not be read.")
    }
}

/// Streams `body` into a new blob, verifies every claim, and returns the blob with its digests. On any failure
/// the blob is deleted. With `seal` (data key, part number; 0 for a single PUT) the digests are of the
/// plaintext and only the sealed envelope is stored (blob or inline).
pub(crate) async fn ingest<S, E>(
    state: &AppState,
    body: Option<S>,
    expect: &Expect,
    trailers: Option<&TrailingHeaders>,
    inline_ok: bool,
    seal: Option<(&super::sse::DataKey, u32)>,
    class: &str,
) -> S3Result<Ingested>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let algo = expect.stored_algo();
    let hashers = Arc::new(Mutex::new(Hashers {
        md5: Md5::new(),
        digest: Digest::new(algo),
        size: 0,
    }));
    let stream_error: Arc<Mutex<Option<S3Error>>> = Arc::new(Mutex::new(None));
    let input: ByteStream = match body {
        None => Box::pin(futures::stream::empty()),
        Some(b) => {
            let h = Arc::clone(&hashers);
            let se = Arc::clone(&stream_error);
            Box::pin(b.map(move |item| match item {
                Ok(bytes) => {
                    if let Ok(mut h) = h.lock() {
                        h.md5.update(&bytes);
                        h.digest.update(&bytes);
                        h.size += bytes.len() as u64;
                    }
                    Ok::<Bytes, std::io::Error>(bytes)
                }
                Err(e) => {
                    let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                    if let Ok(mut slot) = se.lock() {
                        *slot = Some(stream_err(e.as_ref()));
                    }
                    Err(std::io::Error::other(e.to_string()))
                }
            }))
        }
    };
    let input = match seal {
        None => input,
        Some((key, part_number)) => super::sse_stream::seal_stream(input, key, part_number)?,
    };
    let inline_cap = match seal {
        Some((key, _)) => super::sse_stream::sealed_size(key, INLINE_MAX),
        None => INLINE_MAX,
    };
    let stream_failure = |e: std::io::Error| -> S3Error {
        match stream_error.lock().ok().and_then(|mut s| s.take()) {
            Some(err) => err,
            None => super::io_err(e),
        }
    };
    // Only STANDARD objects are kept inline: another class's bytes belong in its own backend.
    let inline_ok = inline_ok && class == gatehouse_storage::STANDARD;
    if inline_ok && expect.length.is_some_and(|l| l <= INLINE_MAX) {
        let mut input = input;
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = input.next().await {
            let chunk = chunk.map_err(stream_failure)?;
            if (buf.len() + chunk.len()) as u64 > inline_cap {
                return Err(s3_error!(
                    IncompleteBody,
                    "The request body is longer than its Content-Length."
                ));
            }
            buf.extend_from_slice(&chunk);
        }
        let (md5, checksums, size) = finish(&hashers, expect, trailers, algo)?;
        return Ok(Ingested {
            stored: Stored::Inline(buf.freeze()),
            size,
            md5,
            checksums,
        });
    }
    let blob = state
        .storage
        .put_in(class, input)
        .await
        .map_err(stream_failure)?;
    let verified = finish(&hashers, expect, trailers, algo);
    match verified {
        Ok((md5, checksums, size)) => Ok(Ingested {
            size,
            stored: Stored::Blob(blob),
            md5,
            checksums,
        }),
        Err(e) => {
            if let Err(de) = state.storage.delete(&blob.locator).await {
                tracing::warn!(error = %de, "could not delete a rejected blob; the sweep will");
            }
            Err(e)
        }
    }
}

fn finish(
    hashers: &Arc<Mutex<Hashers>>,
    expect: &Expect,
    trailers: Option<&TrailingHeaders>,
    algo: Algo,
) -> S3Result<([u8; 16], Checksums, u64)> {
    let h = {
        let mut guard = hashers.lock().map_err(|_| s3_error!(InternalError))?;
        std::mem::replace(
            &mut *guard,
            Hashers {
                md5: Md5::new(),
                digest: Digest::new(algo),
                size: 0,
            },
        )
    };
    if let Some(len) = expect.length
        && len != h.size
    {
        return Err(s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        ));
    }
    let md5 = h.md5.finalize();
    if let Some(want) = &expect.content_md5
        && B64.encode(md5) != *want
    {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    let computed = h.digest.finalize_b64();
    let claimed: Option<String> = match expect.trailer {
        Some(t) => {
            let v = trailers.and_then(|t2| {
                t2.read(|hm| {
                    hm.get(t.header())
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                })
            });
            match v.flatten() {
                Some(v) => {
                    check_b64(t, &v)?;
                    Some(v)
                }
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "The x-amz-trailer header named {} but no such trailer arrived.",
                        t.header()
                    ));
                }
            }
        }
        None => algo.get(&expect.checksums).cloned(),
    };
    if let Some(c) = claimed
        && c != computed
    {
        return Err(s3_error!(
            BadDigest,
            "The {} you specified did not match the calculated checksum.",
            algo.name()
        ));
    }
    let mut checksums = Checksums {
        kind: Some("FULL_OBJECT".to_owned()),
        ..Default::default()
    };
    algo.set(&mut checksums, computed);
    Ok((md5, checksums, h.size))
}

/// Whether the request carries Content-MD5 or an `x-amz-checksum-*` value header.
pub(crate) fn claims_digest(headers: &HeaderMap) -> bool {
    headers.contains_key("content-md5")
        || Algo::ALL.iter().any(|a| headers.contains_key(a.header()))
}

/// Checks a fully received request body against its Content-MD5 / `x-amz-checksum-*` headers and
/// Content-Length (for the XML bodies of configuration and batch requests, which s3s parses itself), with the
/// same rules and errors as object uploads.
pub(crate) fn verify_small_body(headers: &HeaderMap, body: &[u8]) -> S3Result<()> {
    let md5 = headers
        .get("content-md5")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let expect = Expect::from_headers(headers, md5, length)?;
    let algo = expect.stored_algo();
    let mut h = Hashers {
        md5: Md5::new(),
        digest: Digest::new(algo),
        size: body.len() as u64,
    };
    h.md5.update(body);
    h.digest.update(body);
    finish(&Arc::new(Mutex::new(h)), &expect, None, algo).map(|_| ())
}

/// Hex of an MD5 as a quoted ETag.
pub(crate) fn quoted_hex(md5: &[u8]) -> String {
    format!("\"{}\"", hex::encode(md5))
}
