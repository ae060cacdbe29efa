//! POST object forms, before s3s parses them: a form field s3s would not read is refused rather than dropped.
//!
//! AWS's form field for an object's tags is `tagging`, an XML `<Tagging>` document; s3s's form parser reads
//! tags only from an `x-amz-tagging` field (the header's `k=v&...` form) and would store the object without
//! the `tagging` field's tags. s3s keeps the parsed form to itself (and drops the POST policy before the typed
//! hooks run), so the form's fields are read here: the body is peeked at up to the start of the `file` part
//! (AWS requires it to be the last field), and a form with a `tagging` field gets NotImplemented, naming
//! `x-amz-tagging`, which works. The peeked bytes are handed on in front of the rest of the body.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use s3s::{Body, S3Error, s3_error};

/// Fields beyond this many bytes are not peeked at (s3s refuses oversized forms itself).
const PEEK_LIMIT: usize = 1 << 20;

/// Fields of a POST form that s3s would not read, and what to say instead.
const UNREAD: &[(&str, &str)] = &[(
    "tagging",
    "A POST form's tagging field (XML) is not supported; send the tags as an x-amz-tagging field (k1=v1&k2=v2).",
)];

/// The boundary of a `multipart/form-data` body, if `headers` say it is one.
fn boundary(headers: &http::HeaderMap) -> Option<String> {
    let ct = headers.get(http::header::CONTENT_TYPE)?.to_str().ok()?;
    let (mime, params) = ct.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The field names of the complete part headers in `buf` (parts delimited by `--boundary`), in order, and
/// whether the `file` part's header was among them (nothing after it is a field).
fn field_names(buf: &[u8], boundary: &str) -> (Vec<String>, bool) {
    let delim = format!("--{boundary}");
    let text = String::from_utf8_lossy(buf);
    let mut names = Vec::new();
    for part in text.split(delim.as_str()).skip(1) {
        let Some((head, _)) = part.split_once("\r\n\r\n") else {
            break;
        };
        let Some(name) = head.lines().find_map(disposition_name) else {
            continue;
        };
        if name.eq_ignore_ascii_case("file") {
            return (names, true);
        }
        names.push(name);
    }
    (names, false)
}

/// The `name` of a `Content-Disposition: form-data; name="..."` header line.
fn disposition_name(line: &str) -> Option<String> {
    let (h, v) = line.split_once(':')?;
    if !h.trim().eq_ignore_ascii_case("content-disposition") {
        return None;
    }
    v.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("name")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The body of a POST to S3, checked as the module doc says when it is a form; any other body as it is.
pub(crate) async fn checked_body(
    method: &http::Method,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<Body, S3Error> {
    let Some(boundary) = (method == http::Method::POST)
        .then(|| boundary(headers))
        .flatten()
    else {
        return Ok(Body::from(body));
    };
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut ended = true;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| s3_error!(IncompleteBody, "The request body could not be read."))?;
        buf.extend_from_slice(&chunk);
        let (names, file_seen) = field_names(&buf, &boundary);
        if let Some((_, why)) = UNREAD
            .iter()
            .find(|(f, _)| names.iter().any(|n| n.eq_ignore_ascii_case(f)))
        {
            return Err(s3_error!(NotImplemented, "{why}"));
        }
        if file_seen || buf.len() > PEEK_LIMIT {
            ended = false;
            break;
        }
    }
    let head: Bytes = buf.freeze();
    if ended {
        return Ok(Body::from(head));
    }
    let rest = stream.map(|r| r.map(hyper::body::Frame::data));
    let all = futures::stream::once(async move { Ok(hyper::body::Frame::data(head)) }).chain(rest);
    Ok(Body::http_body(http_body_util::StreamBody::new(all)))
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
        let (names, file) = field_names(body.as_bytes(), b);
        assert_eq!(names, vec!["key", "Tagging"]);
        assert!(file);
        // An incomplete part header is not read yet.
        let (names, file) = field_names(b"--XyZ\r\nContent-Disposition: form-data; na", b);
        assert!(names.is_empty() && !file);
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
