//! POST object forms, before s3s parses them: the form field s3s does not read.
//!
//! AWS's form field for an object's tags is `tagging`, an XML `<Tagging>` document; s3s's form parser reads
//! tags only from an `x-amz-tagging` field (the header's `k=v&...` form) and would store the object without
//! the `tagging` field's tags. s3s keeps the parsed form to itself, so the form's fields are read here: the
//! body is peeked at up to the start of the `file` part (AWS requires it to be the last field), a `tagging`
//! field is handed on as `FormTags` in the request's extensions, where PutObject's typed hook validates it
//! (MalformedXML, InvalidTag) once the request is authenticated and puts it into the input (`access::hooks`),
//! so the tags are stored and decided (s3:PutObjectTagging) as a PUT's would be. s3s still checks the field against the POST policy.
//! The peeked bytes are handed on in front of the rest of the body.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use s3s::{Body, S3Error, s3_error};

/// Fields beyond this many bytes are not peeked at (s3s refuses oversized forms itself).
const PEEK_LIMIT: usize = 1 << 20;

/// A POST form's `tagging` field as sent (XML); validated by PutObject's typed hook, once the request is
/// authenticated.
#[derive(Clone, Debug)]
pub struct FormTags(pub String);

/// The boundary of a `multipart/form-data` body, if `headers` say it is one.
fn boundary(headers: &http::HeaderMap) -> Option<String> {
    let ct = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let (mime, params) = ct.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    param(params, "boundary")
}

/// The value of parameter `key` in a header's `; k=v; k2="v2"` list.
fn param(params: &str, key: &str) -> Option<String> {
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The fields of the complete parts in `buf` (parts delimited by `--boundary`), name and value, in order, and
/// whether the `file` part's header was among them (nothing after it is a field).
fn fields(buf: &[u8], boundary: &str) -> (Vec<(String, String)>, bool) {
    let delim = format!("--{boundary}");
    let text = String::from_utf8_lossy(buf);
    let parts: Vec<&str> = text.split(delim.as_str()).collect();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate().skip(1) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            break;
        };
        let Some(name) = head.lines().find_map(disposition_name) else {
            continue;
        };
        if name.eq_ignore_ascii_case("file") {
            return (out, true);
        }
        // A value is complete once the next delimiter has arrived.
        if i + 1 == parts.len() {
            break;
        }
        out.push((name, value.strip_suffix("\r\n").unwrap_or(value).to_owned()));
    }
    (out, false)
}

/// The `name` of a `Content-Disposition: form-data; name="..."` header line.
fn disposition_name(line: &str) -> Option<String> {
    let (h, v) = line.split_once(':')?;
    if !h.trim().eq_ignore_ascii_case("content-disposition") {
        return None;
    }
    param(v, "name")
}

/// The body of a POST to S3 and, for a form with a `tagging` field, its tags (see the module doc); any other
/// body as it is.
pub(crate) async fn checked_body(
    method: &http::Method,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<(Body, Option<FormTags>), S3Error> {
    let Some(boundary) = (method == http::Method::POST)
        .then(|| boundary(headers))
        .flatten()
    else {
        return Ok((Body::from(body), None));
    };
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut ended = true;
    let mut found = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| s3_error!(IncompleteBody, "The request body could not be read."))?;
        buf.extend_from_slice(&chunk);
        let (fields, file_seen) = fields(&buf, &boundary);
        found = fields;
        if file_seen || buf.len() > PEEK_LIMIT {
            ended = false;
            break;
        }
    }
    let tags = found
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("tagging"))
        .map(|(_, xml)| FormTags(xml));
    let head: Bytes = buf.freeze();
    if ended {
        return Ok((Body::from(head), tags));
    }
    let rest = stream.map(|r| r.map(hyper::body::Frame::data));
    let all = futures::stream::once(async move { Ok(hyper::body::Frame::data(head)) }).chain(rest);
    Ok((Body::http_body(http_body_util::StreamBody::new(all)), tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_up_to_the_file_part() {
        let b = "XyZ";
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk1\r\n\
                    --XyZ\r\ncontent-disposition: form-data; name=\"Tagging\"\r\n\r\n<Tagging/>\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nname=\"tagging\"";
        let (fields, file) = fields(body.as_bytes(), b);
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["key", "Tagging"]);
        assert_eq!(fields[1].1, "<Tagging/>");
        assert!(file);
        // An incomplete part header, or a value whose part has not ended, is not read yet.
        let (fields, file) = super::fields(b"--XyZ\r\nContent-Disposition: form-data; na", b);
        assert!(fields.is_empty() && !file);
        let (fields, _) = super::fields(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\npart",
            b,
        );
        assert!(fields.is_empty());
    }

    #[test]
    fn only_multipart_forms_have_a_boundary() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            "multipart/form-data; boundary=\"abc\""
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(boundary(&h).as_deref(), Some("abc"));
        h.insert(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(boundary(&h), None);
    }
}
