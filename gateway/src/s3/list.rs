//! ListObjects (v1) and ListObjectsV2.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{ListPage, ObjectRecord};

use super::{Gatehouse, etag_of, meta_err, ts};
use crate::state::AppState;

/// Percent-encodes as S3 does for `encoding-type=url`: everything but unreserved characters and '/'.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Validates `encoding-type`: only "url" exists.
pub(crate) fn url_encoding(e: Option<&EncodingType>) -> S3Result<bool> {
    match e.map(EncodingType::as_str) {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

/// A continuation token: the name to continue after, opaque to clients (base64url).
pub(crate) fn encode_token(after: &str) -> String {
    B64URL.encode(after.as_bytes())
}

/// Reads a continuation token made by [`encode_token`]; InvalidArgument for anything else.
pub(crate) fn decode_token(t: &str) -> S3Result<String> {
    B64URL
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

/// Validates `max-keys` (default and cap 1000).
pub(crate) fn max_keys(m: Option<i32>) -> S3Result<usize> {
    match m {
        None => Ok(1000),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "maxKeys should be non-negative")),
        Some(n) => Ok(usize::try_from(n).unwrap_or(1000).min(1000)),
    }
}

pub(crate) struct Owners<'a> {
    state: &'a AppState,
    cache: HashMap<String, Owner>,
}

impl<'a> Owners<'a> {
    pub(crate) fn new(state: &'a AppState) -> Self {
        Owners {
            state,
            cache: HashMap::new(),
        }
    }

    pub(crate) async fn get(&mut self, canonical_id: &str) -> S3Result<Owner> {
        if let Some(o) = self.cache.get(canonical_id) {
            return Ok(o.clone());
        }
        let acct = self
            .state
            .meta
            .get_account_by_canonical_id(canonical_id)
            .await
            .map_err(meta_err)?;
        let o = Owner {
            id: Some(canonical_id.to_owned()),
            display_name: acct.map(|a| a.display_name),
        };
        self.cache.insert(canonical_id.to_owned(), o.clone());
        Ok(o)
    }
}

async fn contents(
    state: &AppState,
    page: &ListPage,
    with_owner: bool,
    enc: bool,
) -> S3Result<Vec<Object>> {
    let mut owners = Owners {
        state,
        cache: HashMap::new(),
    };
    let mut out = Vec::with_capacity(page.objects.len());
    for r in &page.objects {
        out.push(object_entry(
            r,
            if with_owner {
                Some(owners.get(&r.owner_canonical_id).await?)
            } else {
                None
            },
            enc,
        ));
    }
    Ok(out)
}

pub(crate) fn object_entry(r: &ObjectRecord, owner: Option<Owner>, enc: bool) -> Object {
    let algos: Vec<ChecksumAlgorithm> = super::body::Algo::ALL
        .into_iter()
        .filter(|a| a.get(&r.checksums).is_some())
        .map(|a| ChecksumAlgorithm::from(a.name().to_owned()))
        .collect();
    Object {
        key: Some(if enc {
            url_encode(&r.key)
        } else {
            r.key.clone()
        }),
        last_modified: Some(ts(r.last_modified_ms)),
        e_tag: Some(etag_of(&r.etag)),
        size: Some(r.size),
        storage_class: Some(ObjectStorageClass::from(r.storage_class.clone())),
        owner,
        checksum_type: (!algos.is_empty())
            .then(|| r.checksums.kind.clone().map(ChecksumType::from))
            .flatten(),
        checksum_algorithm: (!algos.is_empty()).then_some(algos),
        ..Default::default()
    }
}

pub(crate) fn prefixes(common_prefixes: &[String], enc: bool) -> Option<Vec<CommonPrefix>> {
    (!common_prefixes.is_empty()).then(|| {
        common_prefixes
            .iter()
            .map(|p| CommonPrefix {
                prefix: Some(if enc { url_encode(p) } else { p.clone() }),
            })
            .collect()
    })
}

pub(crate) fn enc_opt(s: Option<String>, enc: bool) -> Option<String> {
    s.map(|v| if enc { url_encode(&v) } else { v })
}

/// ListObjectsV2.
pub(crate) async fn list_objects_v2(
    g: &Gatehouse,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let i = req.input;
    let enc = url_encoding(i.encoding_type.as_ref())?;
    let max = max_keys(i.max_keys)?;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let token_marker = i
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let marker = token_marker.or_else(|| i.start_after.clone().filter(|s| !s.is_empty()));
    let prefix = i.prefix.clone().unwrap_or_default();
    let delim = i.delimiter.clone().filter(|d| !d.is_empty());
    let page = g
        .state
        .meta
        .list_objects(&i.bucket, &prefix, delim.as_deref(), marker.as_deref(), max)
        .await
        .map_err(meta_err)?;
    let objs = contents(&g.state, &page, i.fetch_owner.unwrap_or(false), enc).await?;
    let key_count = i32::try_from(objs.len() + page.common_prefixes.len()).unwrap_or(i32::MAX);
    let next = if page.is_truncated {
        page.next_marker.as_deref().map(encode_token)
    } else {
        None
    };
    let out = ListObjectsV2Output {
        name: Some(i.bucket),
        prefix: Some(enc_opt(Some(prefix), enc).unwrap_or_default()),
        delimiter: enc_opt(i.delimiter.filter(|d| !d.is_empty()), enc),
        max_keys: i.max_keys.or(Some(1000)),
        key_count: Some(key_count),
        is_truncated: Some(page.is_truncated),
        continuation_token: i.continuation_token,
        next_continuation_token: next,
        start_after: enc_opt(i.start_after, enc),
        encoding_type: i.encoding_type,
        common_prefixes: prefixes(&page.common_prefixes, enc),
        contents: (!objs.is_empty()).then_some(objs),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

/// ListObjects (v1).
pub(crate) async fn list_objects(
    g: &Gatehouse,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let i = req.input;
    let enc = url_encoding(i.encoding_type.as_ref())?;
    let max = max_keys(i.max_keys)?;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let delim = i.delimiter.clone().filter(|d| !d.is_empty());
    let marker = i.marker.clone().filter(|m| !m.is_empty());
    let page = g
        .state
        .meta
        .list_objects(&i.bucket, &prefix, delim.as_deref(), marker.as_deref(), max)
        .await
        .map_err(meta_err)?;
    let objs = contents(&g.state, &page, true, enc).await?;
    // NextMarker is returned only with a delimiter (otherwise clients continue from the last key).
    let next_marker = if page.is_truncated && delim.is_some() {
        enc_opt(page.next_marker.clone(), enc)
    } else {
        None
    };
    let out = ListObjectsOutput {
        name: Some(i.bucket),
        prefix: Some(prefix), // v1 returns Prefix as given (SDKs do not decode it)
        delimiter: enc_opt(i.delimiter.filter(|d| !d.is_empty()), enc),
        marker: Some(enc_opt(i.marker, enc).unwrap_or_default()),
        max_keys: i.max_keys.or(Some(1000)),
        is_truncated: Some(page.is_truncated),
        next_marker,
        encoding_type: i.encoding_type,
        common_prefixes: prefixes(&page.common_prefixes, enc),
        contents: (!objs.is_empty()).then_some(objs),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_keeps_slashes_and_unreserved() {
        assert_eq!(url_encode("a b/c+d~e"), "a%20b/c%2Bd~e");
        assert_eq!(url_encode("\u{e9}"), "%C3%A9");
        assert!(max_keys(Some(-1)).is_err());
        assert_eq!(max_keys(Some(5000)).ok(), Some(1000));
        assert_eq!(max_keys(None).ok(), Some(1000));
    }
}
