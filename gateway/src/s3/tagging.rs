//! Object and bucket tagging: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, the `x-amz-tagging`
//! header of the write requests, and AWS's tag rules.

use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, s3_error};

use gatehouse_meta::Tags;

use super::read::load_version;
use super::versioning::read_header;
use super::{Gatehouse, custom_error, meta_err};

/// Most tags an object may carry.
pub(crate) const MAX_OBJECT_TAGS: usize = 10;
/// Most tags a bucket may carry.
const MAX_BUCKET_TAGS: usize = 50;
/// Longest tag key and value, in Unicode characters.
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;
/// The bucket setting holding its tags (JSON).
const BUCKET_SETTING: &str = "tagging";

fn invalid_tag(msg: &'static str) -> S3Error {
    custom_error("InvalidTag", http::StatusCode::BAD_REQUEST, msg)
}

/// Checks a tag set against AWS's rules and returns it sorted by key (as S3 lists tags).
fn validate(mut tags: Tags, max: usize, object: bool) -> S3Result<Tags> {
    if tags.len() > max {
        return Err(invalid_tag(if object {
            "Object tags cannot be greater than 10"
        } else {
            "Bucket tag count cannot be greater than 50"
        }));
    }
    for (k, v) in &tags {
        if k.is_empty() || k.chars().count() > MAX_KEY_CHARS {
            return Err(invalid_tag("The TagKey you have provided is invalid"));
        }
        if v.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid_tag("The TagValue you have provided is invalid"));
        }
        if k.chars().chain(v.chars()).any(char::is_control) {
            return Err(invalid_tag(
                "The TagKey or TagValue you have provided is invalid",
            ));
        }
        if k.starts_with("aws:") {
            return Err(invalid_tag(
                "System tags cannot be added/updated by requester",
            ));
        }
    }
    tags.sort();
    if tags.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(invalid_tag(
            "Cannot provide multiple Tags with the same key",
        ));
    }
    Ok(tags)
}

/// The tags of an XML `<Tagging>` body.
fn from_dto(t: Tagging, max: usize, object: bool) -> S3Result<Tags> {
    let tags = t
        .tag_set
        .into_iter()
        .map(|t| match (t.key, t.value) {
            (Some(k), Some(v)) => Ok((k, v)),
            (Some(k), None) => Ok((k, String::new())),
            _ => Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            )),
        })
        .collect::<S3Result<Tags>>()?;
    validate(tags, max, object)
}

/// Tags as the XML `TagSet`.
fn to_dto(tags: &Tags) -> TagSet {
    tags.iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect()
}

/// Decodes one `%XX`-escaped component of the `x-amz-tagging` header (`+` is a space, as in a query string).
fn decode_component(s: &str) -> S3Result<String> {
    let s = s.replace('+', " ");
    urlencoding::decode(&s)
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| invalid_tag("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
}

/// The tags of an `x-amz-tagging` header (`k1=v1&k2`, URL-encoded), validated; empty without the header.
pub(crate) fn from_header(h: Option<&str>) -> S3Result<Tags> {
    let Some(h) = h else {
        return Ok(Tags::new());
    };
    let mut tags = Tags::new();
    for pair in h.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push((decode_component(k)?, decode_component(v)?));
    }
    validate(tags, MAX_OBJECT_TAGS, true)
}

/// A POST form's `tagging` field (an XML `<Tagging>` document, AWS's form of it) as the `x-amz-tagging`
/// header value the PUT path reads (`k1=v1&k2=v2`, URL-encoded), validated as object tags.
pub(crate) fn header_of_form_xml(xml: &str) -> S3Result<String> {
    use s3s::xml::Deserialize as _;
    let mut d = s3s::xml::Deserializer::new(xml.as_bytes());
    let t = Tagging::deserialize(&mut d).map_err(|_| {
        s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        )
    })?;
    let tags = from_dto(t, MAX_OBJECT_TAGS, true)?;
    Ok(tags
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// The `x-amz-tagging-count` GET and HEAD return for an object with tags.
pub(crate) fn count_header(tags: &Tags) -> Option<i32> {
    (!tags.is_empty()).then(|| i32::try_from(tags.len()).unwrap_or(i32::MAX))
}

/// PutObjectTagging: replaces the object's tags (ETag and modification time stay).
pub(crate) async fn put_object_tagging(
    g: &Gatehouse,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let i = req.input;
    let tags = from_dto(i.tagging, MAX_OBJECT_TAGS, true)?;
    let v = i.version_id.as_deref();
    let version_id = set_object_tags(g, &req.extensions, &i.bucket, &i.key, v, &tags).await?;
    Ok(S3Response::new(PutObjectTaggingOutput { version_id }))
}

/// Sets the tags of the current or the named version; answers like a read of that version when it is
/// missing or a delete marker. Returns the version id to report.
async fn set_object_tags(
    g: &Gatehouse,
    ext: &http::Extensions,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    tags: &Tags,
) -> S3Result<Option<String>> {
    if crate::authz::deferred(ext, false) {
        // The object decides (its owner, ACL or tags): authorise before changing anything.
        super::read::load_authorized(&g.state, ext, bucket, key, version_id, false).await?;
    }
    let found = g
        .state
        .meta
        .set_object_tags(bucket, key, version_id, tags)
        .await
        .map_err(meta_err)?;
    // Reading the version back gives the answer S3 gives (NoSuchKey, NoSuchVersion, delete marker, ...).
    let rec = load_version(&g.state, bucket, key, version_id).await?;
    if !found {
        return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
    }
    Ok(read_header(&rec))
}

/// GetObjectTagging.
pub(crate) async fn get_object_tagging(
    g: &Gatehouse,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let i = &req.input;
    let rec = super::read::load_authorized(
        &g.state,
        &req.extensions,
        &i.bucket,
        &i.key,
        i.version_id.as_deref(),
        false,
    )
    .await?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: to_dto(&rec.tags),
        version_id: read_header(&rec),
    }))
}

/// DeleteObjectTagging: 204, the object keeps everything else.
pub(crate) async fn delete_object_tagging(
    g: &Gatehouse,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let i = &req.input;
    let v = i.version_id.as_deref();
    let version_id =
        set_object_tags(g, &req.extensions, &i.bucket, &i.key, v, &Tags::new()).await?;
    let mut resp = S3Response::new(DeleteObjectTaggingOutput { version_id });
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

/// PutBucketTagging.
pub(crate) async fn put_bucket_tagging(
    g: &Gatehouse,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    let i = req.input;
    let tags = from_dto(i.tagging, MAX_BUCKET_TAGS, false)?;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let json = serde_json::to_string(&tags).map_err(|_| s3_error!(InternalError))?;
    g.state
        .meta
        .put_bucket_setting(&i.bucket, BUCKET_SETTING, &json)
        .await
        .map_err(meta_err)?;
    let mut resp = S3Response::new(PutBucketTaggingOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

/// GetBucketTagging: NoSuchTagSet when the bucket has none.
pub(crate) async fn get_bucket_tagging(
    g: &Gatehouse,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    let i = &req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let json = g
        .state
        .meta
        .get_bucket_setting(&i.bucket, BUCKET_SETTING)
        .await
        .map_err(meta_err)?
        .ok_or_else(|| {
            custom_error(
                "NoSuchTagSet",
                http::StatusCode::NOT_FOUND,
                "The TagSet does not exist",
            )
        })?;
    let tags: Tags = serde_json::from_str(&json).map_err(|e| {
        tracing::error!(error = %e, bucket = %i.bucket, "corrupt bucket tagging");
        s3_error!(InternalError)
    })?;
    Ok(S3Response::new(GetBucketTaggingOutput {
        tag_set: to_dto(&tags),
    }))
}

/// DeleteBucketTagging: 204 whether or not there were tags.
pub(crate) async fn delete_bucket_tagging(
    g: &Gatehouse,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    let i = &req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    g.state
        .meta
        .delete_bucket_setting(&i.bucket, BUCKET_SETTING)
        .await
        .map_err(meta_err)?;
    let mut resp = S3Response::new(DeleteBucketTaggingOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn code(e: S3Error) -> String {
        e.code().as_str().to_owned()
    }

    #[test]
    fn header_is_decoded_sorted_and_checked() {
        let t = from_header(Some("foo=bar&bar&a%20b=c+d%26e")).unwrap();
        assert_eq!(
            t,
            vec![
                ("a b".to_owned(), "c d&e".to_owned()),
                ("bar".to_owned(), String::new()),
                ("foo".to_owned(), "bar".to_owned()),
            ]
        );
        assert!(from_header(None).unwrap().is_empty());
        assert_eq!(
            code(from_header(Some("a=1&a=2")).unwrap_err()),
            "InvalidTag"
        );
        assert_eq!(
            code(from_header(Some("aws:x=1")).unwrap_err()),
            "InvalidTag"
        );
        assert_eq!(code(from_header(Some("%FF=1")).unwrap_err()), "InvalidTag");
        let eleven: Vec<String> = (0..11).map(|n| format!("k{n}=v")).collect();
        assert_eq!(
            code(from_header(Some(&eleven.join("&"))).unwrap_err()),
            "InvalidTag"
        );
    }

    #[test]
    fn sizes_are_counted_in_characters() {
        let ok = vec![("é".repeat(128), "ü".repeat(256))];
        assert!(validate(ok, 10, true).is_ok());
        let long_key = vec![("k".repeat(129), String::new())];
        assert_eq!(
            code(validate(long_key, 10, true).unwrap_err()),
            "InvalidTag"
        );
        let long_value = vec![("k".to_owned(), "v".repeat(257))];
        assert_eq!(
            code(validate(long_value, 10, true).unwrap_err()),
            "InvalidTag"
        );
        let empty_key = vec![(String::new(), "v".to_owned())];
        assert_eq!(
            code(validate(empty_key, 10, true).unwrap_err()),
            "InvalidTag"
        );
        let many: Tags = (0..50).map(|n| (format!("k{n}"), String::new())).collect();
        assert!(validate(many.clone(), MAX_BUCKET_TAGS, false).is_ok());
        assert!(validate(many, MAX_OBJECT_TAGS, true).is_err());
    }
}
