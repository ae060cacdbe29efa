//! Signature Version 2, when enabled (`sigv2 = true`): the checks AWS makes before the signature itself, which
//! s3s does not (a usable `AWS AccessKeyId:Signature` header; a `Date` or `x-amz-date` within 15 minutes, which
//! also bounds replays), and the canonical resource of a path-style bucket request.

use http::{HeaderMap, Uri};

use crate::errors::{ApiError, Code};

/// How far the request's date may be from the server's clock.
const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// Checks a header-signed SigV2 request's header shape (as parsed once, `creds`) and date against `now_ms`.
pub(crate) fn precheck(
    creds: &crate::authorization::Credentials,
    headers: &HeaderMap,
    now_ms: i64,
) -> Option<ApiError> {
    let crate::authorization::Credentials::SigV2 {
        presigned: false,
        access_key,
    } = creds
    else {
        return None;
    };
    if access_key.is_none() {
        return Some(ApiError::new(
            Code::InvalidArgument,
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
        ));
    }
    // x-amz-date, when present, is the signed date (the Date line of the string to sign is then empty).
    let date = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(ms) = parse_http_date_ms(date).filter(|ms| *ms >= 0) else {
        return Some(ApiError::new(
            Code::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        ));
    };
    if (ms - now_ms).abs() > MAX_SKEW_MS {
        return Some(ApiError::new(
            Code::RequestTimeTooSkewed,
            "The difference between the request time and the current time is too large.",
        ).with_extra(format!(
                "<RequestTime>{}</RequestTime><ServerTime>{}</ServerTime><MaxAllowedSkewMilliseconds>{MAX_SKEW_MS}</MaxAllowedSkewMilliseconds>",
                crate::front::xml_escape(date),
                now_ms
            )));
    }
    None
}

/// Milliseconds since the epoch of an HTTP date (`Tue, 07 Jul 2010 21:53:04 GMT`).
fn parse_http_date_ms(s: &str) -> Option<i64> {
    let t = crate::front::parse_http_date(s)?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// SigV2 clients sign a path-style bucket request (`/bucket`) with the resource `/bucket/` (the canonical form
/// of a bucket); s3s derives the resource from the path as sent. Returns the path with the slash added when
/// the request addresses a bucket only.
pub(crate) fn canonical_bucket_uri(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let bucket = path.strip_prefix('/')?;
    if bucket.is_empty() || bucket.contains('/') {
        return None;
    }
    let pq = match uri.query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const NOW: i64 = 1_278_539_584_000; // Wed, 07 Jul 2010 21:53:04 GMT

    fn code(h: &[(&str, &str)]) -> Option<&'static str> {
        let h = headers(h);
        let creds = crate::authorization::Credentials::parse(&h, None);
        precheck(&creds, &h, NOW).map(|r| match r.code {
            std::borrow::Cow::Borrowed(c) => c,
            std::borrow::Cow::Owned(_) => "(not from the table)",
        })
    }

    #[test]
    fn dates_and_header_shape() {
        let auth = ("authorization", "AWS AK:c2ln");
        assert_eq!(
            code(&[auth, ("date", "Wed, 07 Jul 2010 21:53:04 GMT")]),
            None
        );
        assert_eq!(
            code(&[auth, ("x-amz-date", "Wed, 07 Jul 2010 22:03:04 GMT")]),
            None
        );
        // x-amz-date wins over Date.
        assert_eq!(
            code(&[
                auth,
                ("date", "Wed, 07 Jul 2010 21:53:04 GMT"),
                ("x-amz-date", "Bad Date")
            ]),
            Some("AccessDenied")
        );
        assert_eq!(code(&[auth]), Some("AccessDenied"));
        assert_eq!(code(&[auth, ("x-amz-date", "")]), Some("AccessDenied"));
        assert_eq!(
            code(&[auth, ("x-amz-date", "Fri, 07 Jul 1950 21:53:04 GMT")]),
            Some("AccessDenied")
        );
        assert_eq!(
            code(&[auth, ("date", "Wed, 07 Jul 2010 22:09:04 GMT")]),
            Some("RequestTimeTooSkewed")
        );
        assert_eq!(
            code(&[auth, ("date", "Tue, 07 Jul 9999 21:53:04 GMT")]),
            Some("RequestTimeTooSkewed")
        );
        for bad in ["AWS HAHAHA", "AWS :sig", "AWS AK:", "AWS AK:a:b"] {
            assert_eq!(
                code(&[
                    ("authorization", bad),
                    ("date", "Wed, 07 Jul 2010 21:53:04 GMT")
                ]),
                Some("InvalidArgument"),
                "{bad}"
            );
        }
        // Not SigV2: nothing to say.
        assert_eq!(code(&[("authorization", "AWS4-HMAC-SHA256 x")]), None);
    }

    #[test]
    fn bucket_paths_get_their_slash() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(
            canonical_bucket_uri(&u("/bkt")).map(|u| u.to_string()),
            Some("/bkt/".to_owned())
        );
        assert_eq!(
            canonical_bucket_uri(&u("/bkt?acl")).map(|u| u.to_string()),
            Some("/bkt/?acl".to_owned())
        );
        assert_eq!(canonical_bucket_uri(&u("/bkt/")), None);
        assert_eq!(canonical_bucket_uri(&u("/bkt/key")), None);
        assert_eq!(canonical_bucket_uri(&u("/")), None);
    }
}
