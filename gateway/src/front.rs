//! The front of the request path: request ids, health and metrics, the checks s3s does not make (SigV2 off,
//! credential-scope region, presigned expiry ceiling, header section size), then the s3s service, then the
//! headers every response carries (`x-amz-request-id`, `x-amz-id-2`) and the RequestId in error bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use s3s::Body;
use s3s::service::S3Service;

use crate::authorization::Credentials;
use crate::errors::{ApiError, Code};
use crate::state::AppState;

/// AWS's limit on the request header section.
const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Request bodies that s3s parses itself (XML configuration and batch requests) are checked against their
/// Content-MD5 / checksum headers here, up to this size (AWS's own XML bodies are far smaller).
const MAX_CHECKED_BODY: usize = 4 << 20;
/// AWS's ceiling on presigned URL lifetime.
const MAX_PRESIGN_SECS: u64 = 7 * 24 * 3600;

/// Facts about the connection a request came in on (condition context comes from here, not from headers).
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
    /// The negotiated TLS version (`1.2`, `1.3`) for s3:TlsVersion.
    pub tls_version: Option<&'static str>,
}

/// Simple counters for /metrics.
#[derive(Default)]
pub struct Metrics {
    requests: AtomicU64,
    errors_4xx: AtomicU64,
    errors_5xx: AtomicU64,
}

/// The front service.
pub struct Front {
    pub state: Arc<AppState>,
    pub s3: S3Service,
    pub metrics: Metrics,
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether the path, the query or the copy source carries U+0000 (`%00`). Neither store can hold it the
/// same way (Postgres text refuses it, SQLite keeps it) and S3's XML responses cannot carry it, so such a
/// request is refused up front on every store: the same 400 everywhere, never a 500.
fn carries_nul(req: &Request<Incoming>) -> bool {
    let has = |s: &[u8]| s.windows(3).any(|w| w == b"%00");
    has(req.uri().path().as_bytes())
        || req.uri().query().is_some_and(|q| has(q.as_bytes()))
        || req
            .headers()
            .get("x-amz-copy-source")
            .is_some_and(|v| has(v.as_bytes()))
}

fn query_param<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

/// Whether the body is one s3s parses (not object data: `ingest` verifies that while storing it) and it carries
/// a digest to check. Object data is a PUT without a subresource (PutObject, UploadPart, CopyObject) or any
/// aws-chunked body; CompleteMultipartUpload is left to its handler.
fn parsed_body_with_digest(req: &Request<Incoming>) -> bool {
    let m = req.method();
    if (m != http::Method::POST && m != http::Method::PUT)
        || !crate::s3::claims_digest(req.headers())
    {
        return false;
    }
    let h = req.headers();
    let chunked = h.contains_key("x-amz-decoded-content-length")
        || h.get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("STREAMING-"));
    let keys = || {
        req.uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split('=').next().unwrap_or_default())
    };
    let object_data =
        m == http::Method::PUT && keys().all(|k| matches!(k, "partNumber" | "uploadId" | "x-id"));
    // CompleteMultipartUpload's checksum headers claim the whole object's checksum (its handler checks them).
    let complete = m == http::Method::POST && keys().any(|k| k == "uploadId");
    !chunked && !object_data && !complete
}

/// Receives a body s3s will parse (at most `MAX_CHECKED_BODY` bytes) and checks it against its digest headers.
async fn verified_body(headers: &http::HeaderMap, body: Incoming) -> s3s::S3Result<Body> {
    use http_body_util::BodyExt as _;
    let bytes = http_body_util::Limited::new(body, MAX_CHECKED_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                s3s::s3_error!(MaxMessageLengthExceeded, "Your request was too big.")
            } else {
                s3s::s3_error!(IncompleteBody, "The request body could not be read.")
            }
        })?
        .to_bytes();
    crate::s3::verify_small_body(headers, &bytes)?;
    Ok(Body::from(bytes))
}

/// Error response for an `S3Error` raised before s3s (status, code and message as s3s would write them).
fn s3_error_response(e: &s3s::S3Error, rid: &str) -> Response<Body> {
    ApiError::custom(
        e.code().as_str().to_owned(),
        e.status_code().unwrap_or(StatusCode::BAD_REQUEST),
        true,
        e.message().unwrap_or_default(),
    )
    .s3_response(rid)
}

impl Front {
    /// Builds the front over an s3s service.
    pub fn new(state: Arc<AppState>, s3: S3Service) -> Front {
        Front {
            state,
            s3,
            metrics: Metrics::default(),
        }
    }

    /// Checks made before s3s: returns an error response to send instead, if any.
    fn precheck(
        &self,
        req: &Request<Incoming>,
        creds: &Credentials,
        rid: &str,
    ) -> Option<Response<Body>> {
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum();
        if header_bytes > MAX_HEADER_BYTES {
            return Some(
                ApiError::new(
                    Code::RequestHeaderSectionTooLarge,
                    "Your request header section exceeds the maximum allowed size.",
                )
                .with_extra(format!(
                    "<MaxSizeAllowedInBytes>{MAX_HEADER_BYTES}</MaxSizeAllowedInBytes>"
                ))
                .s3_response(rid),
            );
        }
        if carries_nul(req) {
            return Some(ApiError::new(Code::InvalidArgument, "Object keys, prefixes, markers and other request parameters may not contain the character U+0000.").s3_response(rid));
        }
        let sigv2 = matches!(creds, Credentials::SigV2 { .. });
        if !self.state.config.sigv2 && sigv2 {
            return Some(ApiError::new(Code::InvalidRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.").s3_response(rid));
        }
        if self.state.config.sigv2
            && let Some(e) = crate::sigv2::precheck(creds, req.headers(), gatehouse_core::now_ms())
        {
            return Some(e.s3_response(rid));
        }
        if let Some(v) = creds.sigv4()
            && v.service == "s3"
            && v.region != self.state.config.region
        {
            let (region, query) = (&v.region, v.presigned);
            let want = &self.state.config.region;
            let (code, msg) = if query {
                (
                    Code::AuthorizationQueryParametersError,
                    format!(
                        "Error parsing the X-Amz-Credential parameter; the region '{region}' is wrong; expecting '{want}'"
                    ),
                )
            } else {
                (
                    Code::AuthorizationHeaderMalformed,
                    format!(
                        "The authorization header is malformed; the region '{region}' is wrong; expecting '{want}'"
                    ),
                )
            };
            let mut resp = ApiError::new(code, msg)
                .with_extra(format!("<Region>{}</Region>", xml_escape(want)))
                .s3_response(rid);
            if let Ok(v) = HeaderValue::from_str(want) {
                resp.headers_mut().insert("x-amz-bucket-region", v);
            }
            return Some(resp);
        }
        if let Some(exp) = query_param(req, "X-Amz-Expires") {
            match exp.parse::<u64>() {
                Ok(n) if n <= MAX_PRESIGN_SECS => {}
                Ok(_) => {
                    return Some(
                        ApiError::new(
                            Code::AuthorizationQueryParametersError,
                            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
                        )
                        .s3_response(rid),
                    );
                }
                Err(_) if exp.parse::<i64>().is_ok() => {
                    return Some(
                        ApiError::new(Code::AccessDenied, "Request has expired").s3_response(rid),
                    );
                }
                Err(_) => {
                    return Some(
                        ApiError::new(
                            Code::AuthorizationQueryParametersError,
                            "X-Amz-Expires should be a number",
                        )
                        .s3_response(rid),
                    );
                }
            }
        }
        None
    }

    /// What policies may learn about the request from its connection and signature.
    fn facts(
        &self,
        req: &Request<Incoming>,
        conn: ConnInfo,
        creds: &Credentials,
        rid: &str,
    ) -> crate::access::context::RequestFacts {
        crate::access::context::RequestFacts {
            request_id: rid.to_owned(),
            source_ip: crate::access::context::source_ip(
                conn.peer.ip(),
                req.headers(),
                &self.state.config.trusted_proxies,
            ),
            tls: conn.tls,
            tls_version: conn.tls_version,
            auth: crate::access::context::AuthKind::of(creds),
        }
    }

    fn local_route(&self, req: &Request<Incoming>) -> Option<Response<Body>> {
        let unauthenticated =
            !req.headers().contains_key(http::header::AUTHORIZATION) && req.uri().query().is_none();
        if req.method() != http::Method::GET || !unauthenticated {
            return None;
        }
        match req.uri().path() {
            "/health" => Some(Response::new(Body::from("ok\n".to_owned()))),
            "/metrics" => {
                let m = &self.metrics;
                let text = format!(
                    "# TYPE gatehouse_requests_total counter\ngatehouse_requests_total {}\n# TYPE gatehouse_responses_4xx_total counter\ngatehouse_responses_4xx_total {}\n# TYPE gatehouse_responses_5xx_total counter\ngatehouse_responses_5xx_total {}\n",
                    m.requests.load(Ordering::Relaxed),
                    m.errors_4xx.load(Ordering::Relaxed),
                    m.errors_5xx.load(Ordering::Relaxed),
                ) + &self.state.audit.prometheus()
                    + &self.state.kms_calls.prometheus();
                let mut r = Response::new(Body::from(text));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                Some(r)
            }
            _ => None,
        }
    }

    /// Handles one request.
    pub async fn handle(&self, mut req: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
        let rid = gatehouse_core::new_request_id();
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        let span = tracing::debug_span!("request", id = %rid, method = %req.method(), path = %req.uri().path());
        if let Some(r) = self.local_route(&req) {
            return r;
        }
        let creds = Credentials::parse(req.headers(), req.uri().query());
        let names_bucket = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| crate::server::split_virtual_host(h, &self.state.config.domains))
            .is_some_and(|(_, bucket)| bucket.is_some());
        let mut resp = if let Some(service) = crate::query::route(&req, &creds, names_bucket) {
            let facts = self.facts(&req, conn, &creds, &rid);
            tracing::Instrument::instrument(
                crate::query::handle(&self.state, req, creds, service, &facts),
                span,
            )
            .await
        } else {
            let precheck = match self.precheck(&req, &creds, &rid) {
                Some(r) => Some(r),
                None => crate::session::check_request(&self.state, &req, &creds)
                    .await
                    .err()
                    .map(|e| e.s3_response(&rid)),
            };
            match precheck {
                Some(r) => r,
                None => {
                    sigv4_date_from_date_header(&creds, req.headers_mut());
                    let facts = self.facts(&req, conn, &creds, &rid);
                    req.extensions_mut().insert(facts);
                    req.extensions_mut().insert(conn);
                    if self.state.config.sigv2
                        && matches!(creds, Credentials::SigV2 { .. })
                        && let Some(uri) = crate::sigv2::canonical_bucket_uri(req.uri())
                    {
                        *req.uri_mut() = uri;
                    }
                    let check_digest = parsed_body_with_digest(&req);
                    let (mut parts, body) = req.into_parts();
                    let body = if check_digest {
                        verified_body(&parts.headers, body).await
                    } else {
                        crate::post_form::checked_body(&parts.method, &parts.headers, body)
                            .await
                            .map(|(body, tags)| {
                                if let Some(tags) = tags {
                                    parts.extensions.insert(tags);
                                }
                                body
                            })
                    };
                    match body {
                        Err(e) => s3_error_response(&e, &rid),
                        Ok(body) => {
                            let req = Request::from_parts(parts, body);
                            match tracing::Instrument::instrument(self.s3.call(req), span).await {
                                Ok(r) => r,
                                Err(e) => {
                                    tracing::error!(error = ?e, "s3 service error");
                                    ApiError::new(
                                        Code::InternalError,
                                        "We encountered an internal error. Please try again.",
                                    )
                                    .s3_response(&rid)
                                }
                            }
                        }
                    }
                }
            }
        };
        let status = resp.status();
        if status.is_client_error() {
            self.metrics.errors_4xx.fetch_add(1, Ordering::Relaxed);
        } else if status.is_server_error() {
            self.metrics.errors_5xx.fetch_add(1, Ordering::Relaxed);
        }
        if status == StatusCode::NOT_MODIFIED {
            *resp.body_mut() = Body::empty();
            resp.headers_mut().remove(http::header::CONTENT_TYPE);
            resp.headers_mut().remove(http::header::CONTENT_LENGTH);
        } else if status.as_u16() >= 300 {
            add_request_id(&mut resp, &rid);
        } else if resp.extensions().get::<UnquotedETag>().is_some() {
            unquote_etag(&mut resp);
        } else if let Some(Status(s)) = resp.extensions().get::<Status>().copied() {
            *resp.status_mut() = s;
        }
        if let Ok(v) = HeaderValue::from_str(&rid) {
            resp.headers_mut().insert("x-amz-request-id", v.clone());
            resp.headers_mut().insert("x-amz-id-2", v);
        }
        resp
    }
}

/// A SigV4 header-signed request may carry its time in the standard `Date` header instead of `x-amz-date` (AWS
/// accepts either; botocore sends only `Date` when the caller set one). s3s reads only `x-amz-date`, so the
/// request time is copied there in SigV4's format. The string to sign contains that time, so a `Date` that
/// is not the one signed fails the signature as before; `x-amz-date` itself is not a signed header here, so
/// the canonical request is unchanged.
fn sigv4_date_from_date_header(creds: &Credentials, headers: &mut http::HeaderMap) {
    if !creds.is_header_sigv4() || headers.contains_key("x-amz-date") {
        return;
    }
    let Some(date) = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
    else {
        return; // s3s answers that x-amz-date is missing
    };
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    if let Ok(v) = date.to_offset(time::UtcOffset::UTC).format(&format)
        && let Ok(v) = HeaderValue::from_str(&v)
    {
        headers.insert("x-amz-date", v);
    }
}

/// An HTTP `Date` as clients send it: IMF-fixdate (`Tue, 07 Jul 2010 21:53:04 GMT`), or RFC 2822 with a
/// numeric zone (`... 21:53:04 -0000`, Python's `email.utils.formatdate`). SigV2's date check uses it too.
pub(crate) fn parse_http_date(s: &str) -> Option<time::OffsetDateTime> {
    use s3s::dto::{Timestamp, TimestampFormat};
    if let Ok(t) = Timestamp::parse(TimestampFormat::HttpDate, s) {
        return Some(t.into());
    }
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc2822).ok()
}

/// A success status s3s does not let an operation choose (RestoreObject's 202).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Status(pub StatusCode);

/// Marks a response whose XML `<ETag>` S3 writes unquoted (GetObjectAttributes), which s3s always quotes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnquotedETag;

/// Removes the quotes s3s put around the value of `<ETag>` in a response marked [`UnquotedETag`].
fn unquote_etag(resp: &mut Response<Body>) {
    let Some(bytes) = resp.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    let patched = text
        .replacen("<ETag>\"", "<ETag>", 1)
        .replacen("\"</ETag>", "</ETag>", 1);
    let len = patched.len();
    *resp.body_mut() = Body::from(patched);
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        resp.headers_mut().insert(http::header::CONTENT_LENGTH, v);
    }
}

/// Puts `<RequestId>` into an S3 error body that lacks one.
fn add_request_id(resp: &mut Response<Body>, rid: &str) {
    let Some(bytes) = resp.body().bytes() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return;
    };
    if !text.contains("</Error>") || text.contains("<RequestId>") {
        return;
    }
    let patched = text.replacen(
        "</Error>",
        &format!("<RequestId>{rid}</RequestId></Error>"),
        1,
    );
    let len = patched.len();
    *resp.body_mut() = Body::from(patched);
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        resp.headers_mut().insert(http::header::CONTENT_LENGTH, v);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let creds = Credentials::parse(&h, None);
        sigv4_date_from_date_header(&creds, &mut h);
        h
    }

    const V4: &str = "AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/s3/aws4_request, SignedHeaders=date;host, Signature=00";

    #[test]
    fn a_sigv4_date_header_becomes_x_amz_date() {
        for date in [
            "Wed, 25 Nov 2026 23:30:05 GMT",
            "Wed, 25 Nov 2026 23:30:05 -0000",
            "Wed, 25 Nov 2026 23:30:05 +0000",
            "Thu, 26 Nov 2026 01:30:05 +0200",
        ] {
            let h = with(&[("authorization", V4), ("date", date)]);
            assert_eq!(h["x-amz-date"], "20261125T233005Z", "{date}");
        }
    }

    #[test]
    fn x_amz_date_other_schemes_and_bad_dates_are_left_alone() {
        let h = with(&[
            ("authorization", V4),
            ("date", "Wed, 25 Nov 2026 23:30:05 GMT"),
            ("x-amz-date", "20261125T000000Z"),
        ]);
        assert_eq!(h["x-amz-date"], "20261125T000000Z");
        let h = with(&[
            ("authorization", "AWS AK:sig"),
            ("date", "Wed, 25 Nov 2026 23:30:05 GMT"),
        ]);
        assert!(!h.contains_key("x-amz-date"));
        let h = with(&[("authorization", V4), ("date", "yesterday")]);
        assert!(!h.contains_key("x-amz-date"));
        let h = with(&[("date", "Wed, 25 Nov 2026 23:30:05 GMT")]);
        assert!(!h.contains_key("x-amz-date"));
    }
}
