//! Bucket versioning: Put/GetBucketVersioning, the version a write creates, reads and deletes of versions and
//! delete markers, ListObjectVersions.

use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::{DeleteCondition, ObjectRecord};

use super::list::{Owners, enc_opt, max_keys, object_entry, prefixes, url_encode, url_encoding};
use super::{Gatehouse, delete_blobs, meta_err, ts};
use crate::state::AppState;

/// The bucket setting holding the versioning state ("Enabled" or "Suspended"; absent: never enabled).
const SETTING: &str = "versioning";

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Versioning {
    /// Never enabled: every object is the single "null" version of its key.
    Off,
    Enabled,
    Suspended,
}

impl Versioning {
    /// The version id a new write (or delete marker) gets.
    pub(crate) fn new_version_id(self) -> String {
        match self {
            Versioning::Enabled => uuid::Uuid::new_v4().simple().to_string(),
            Versioning::Off | Versioning::Suspended => "null".to_owned(),
        }
    }

    /// The `x-amz-version-id` a write answers with: only while versioning is enabled (a suspended bucket's
    /// writes are the "null" version, which S3 does not announce).
    pub(crate) fn header(self, version_id: &str) -> Option<String> {
        (self == Versioning::Enabled).then(|| version_id.to_owned())
    }
}

/// The versioning state of a bucket from its "versioning" setting.
pub(crate) fn parse(setting: Option<&str>) -> Versioning {
    match setting {
        Some("Enabled") => Versioning::Enabled,
        Some("Suspended") => Versioning::Suspended,
        _ => Versioning::Off,
    }
}

/// The versioning state of `bucket` (NoSuchBucket if it does not exist), from what the authoriser loaded
/// for this request when it is that bucket.
pub(crate) async fn state_of(
    state: &AppState,
    ext: &http::Extensions,
    bucket: &str,
) -> S3Result<Versioning> {
    let b = super::request_bucket(state, ext, bucket).await?;
    Ok(parse(b.versioning.as_deref()))
}

/// The version id an object answers with on reads: its own unless it is the "null" version of a bucket that
/// never had versioning (AWS sends none then).
pub(crate) fn read_header(rec: &ObjectRecord) -> Option<String> {
    (rec.version_id != "null").then(|| rec.version_id.clone())
}

/// `err` with the headers S3 adds when the version addressed is a delete marker.
pub(crate) fn with_marker_headers(mut err: S3Error, rec: &ObjectRecord) -> S3Error {
    let mut h = http::HeaderMap::new();
    h.insert(
        "x-amz-delete-marker",
        http::HeaderValue::from_static("true"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&rec.version_id) {
        h.insert("x-amz-version-id", v);
    }
    err.set_headers(h);
    err
}

/// PutBucketVersioning: Enabled or Suspended (once enabled, a bucket can only be suspended).
pub(crate) async fn put_bucket_versioning(
    g: &Gatehouse,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let i = req.input;
    let c = i.versioning_configuration;
    if c.mfa_delete
        .as_ref()
        .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
        || i.mfa.is_some()
    {
        return Err(s3_error!(NotImplemented, "MFA delete is not implemented"));
    }
    let status = match c.status.as_ref().map(BucketVersioningStatus::as_str) {
        Some(s @ ("Enabled" | "Suspended")) => s,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    if status == "Suspended"
        && super::lock::bucket_lock(&g.state, &i.bucket)
            .await?
            .is_some()
    {
        return Err(s3_error!(
            InvalidBucketState,
            "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
        ));
    }
    g.state
        .meta
        .put_bucket_setting(&i.bucket, SETTING, status)
        .await
        .map_err(meta_err)?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}

/// GetBucketVersioning: no Status until versioning was first enabled.
pub(crate) async fn get_bucket_versioning(
    g: &Gatehouse,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let status = match state_of(&g.state, &req.extensions, &req.input.bucket).await? {
        Versioning::Off => None,
        Versioning::Enabled => Some(BucketVersioningStatus::from_static(
            BucketVersioningStatus::ENABLED,
        )),
        Versioning::Suspended => Some(BucketVersioningStatus::from_static(
            BucketVersioningStatus::SUSPENDED,
        )),
    };
    Ok(S3Response::new(GetBucketVersioningOutput {
        status,
        mfa_delete: None,
    }))
}

/// What a DELETE did: the version it removed or the delete marker it created.
pub(crate) struct Deleted {
    /// The version id removed (with a version id) or of the new delete marker.
    pub version_id: Option<String>,
    /// A delete marker was created, or the version removed was one.
    pub delete_marker: bool,
}

/// Deletes `key` as S3 does in a bucket with this versioning state: removes version `version_id` when given;
/// otherwise removes the object (never versioned) or puts a delete marker on top (enabled: a new version;
/// suspended: the "null" version). `cond` is checked against the version concerned.
pub(crate) async fn delete_key(
    g: &Gatehouse,
    ext: &http::Extensions,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    cond: &DeleteCondition,
    owner_canonical_id: &str,
) -> S3Result<Deleted> {
    let meta = &g.state.meta;
    if let Some(v) = version_id {
        let old = meta
            .delete_version_if(bucket, key, v, cond)
            .await
            .map_err(meta_err)?;
        let marker = old.as_ref().is_some_and(|o| o.delete_marker);
        if let Some(old) = old {
            delete_blobs(
                &g.state,
                old.segments.into_iter().map(|s| s.locator).collect(),
            );
        }
        return Ok(Deleted {
            version_id: Some(v.to_owned()),
            delete_marker: marker,
        });
    }
    let mode = state_of(&g.state, ext, bucket).await?;
    if mode == Versioning::Off {
        if let Some(old) = meta
            .delete_object_if(bucket, key, cond)
            .await
            .map_err(meta_err)?
        {
            delete_blobs(
                &g.state,
                old.segments.into_iter().map(|s| s.locator).collect(),
            );
        }
        return Ok(Deleted {
            version_id: None,
            delete_marker: false,
        });
    }
    if cond.is_conditional()
        && meta
            .get_object(bucket, key)
            .await
            .map_err(meta_err)?
            .is_none()
    {
        // A conditional delete of a key without versions deletes nothing and leaves no marker behind.
        return Ok(Deleted {
            version_id: None,
            delete_marker: false,
        });
    }
    let marker = ObjectRecord {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        version_id: mode.new_version_id(),
        size: 0,
        etag: String::new(),
        last_modified_ms: gatehouse_core::now_ms(),
        headers: Default::default(),
        user_meta: Default::default(),
        checksums: Default::default(),
        segments: Vec::new(),
        storage_class: "STANDARD".to_owned(),
        owner_canonical_id: owner_canonical_id.to_owned(),
        inline_data: None,
        tags: Vec::new(),
        upload_id: None,
        delete_marker: true,
        lock: Default::default(),
        sse: None,
    };
    let out = meta
        .put_delete_marker(&marker, cond)
        .await
        .map_err(meta_err)?;
    if let Some(old) = out.replaced {
        delete_blobs(
            &g.state,
            old.segments.into_iter().map(|s| s.locator).collect(),
        );
    }
    Ok(Deleted {
        version_id: Some(marker.version_id),
        delete_marker: true,
    })
}

/// ListObjectVersions.
pub(crate) async fn list_object_versions(
    g: &Gatehouse,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let i = req.input;
    let enc = url_encoding(i.encoding_type.as_ref())?;
    let max = max_keys(i.max_keys)?;
    if i.version_id_marker
        .as_deref()
        .is_some_and(|v| !v.is_empty())
        && i.key_marker.is_none()
    {
        return Err(s3_error!(
            InvalidArgument,
            "A version-id marker cannot be specified without a key marker."
        ));
    }
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let prefix = i.prefix.clone().unwrap_or_default();
    let delim = i.delimiter.clone().filter(|d| !d.is_empty());
    let page = g
        .state
        .meta
        .list_versions(
            &i.bucket,
            &prefix,
            delim.as_deref(),
            i.key_marker.as_deref().filter(|m| !m.is_empty()),
            i.version_id_marker.as_deref(),
            max,
        )
        .await
        .map_err(meta_err)?;
    let mut owners = Owners::new(&g.state);
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    for (r, latest) in &page.versions {
        let owner = Some(owners.get(&r.owner_canonical_id).await?);
        let key = Some(if enc {
            url_encode(&r.key)
        } else {
            r.key.clone()
        });
        if r.delete_marker {
            markers.push(DeleteMarkerEntry {
                is_latest: Some(*latest),
                key,
                last_modified: Some(ts(r.last_modified_ms)),
                owner,
                version_id: Some(r.version_id.clone()),
            });
            continue;
        }
        let o = object_entry(r, owner, enc);
        versions.push(ObjectVersion {
            key: o.key,
            e_tag: o.e_tag,
            size: o.size,
            last_modified: o.last_modified,
            owner: o.owner,
            is_latest: Some(*latest),
            version_id: Some(r.version_id.clone()),
            storage_class: o
                .storage_class
                .map(|s| ObjectVersionStorageClass::from(s.as_str().to_owned())),
            checksum_algorithm: o.checksum_algorithm,
            checksum_type: o.checksum_type,
            ..Default::default()
        });
    }
    let out = ListObjectVersionsOutput {
        name: Some(i.bucket),
        prefix: Some(enc_opt(Some(prefix), enc).unwrap_or_default()),
        delimiter: enc_opt(i.delimiter.filter(|d| !d.is_empty()), enc),
        key_marker: Some(enc_opt(i.key_marker, enc).unwrap_or_default()),
        version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
        max_keys: i.max_keys.or(Some(1000)),
        is_truncated: Some(page.is_truncated),
        next_key_marker: enc_opt(page.next_key_marker, enc),
        next_version_id_marker: page.next_version_id_marker,
        encoding_type: i.encoding_type,
        common_prefixes: prefixes(&page.common_prefixes, enc),
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!markers.is_empty()).then_some(markers),
        ..Default::default()
    };
    Ok(S3Response::new(out))
}
