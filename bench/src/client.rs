//! A minimal S3 client over hyper 1: path-style, SigV4-signed, keep-alive pool, TCP_NODELAY.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::payload::ObjectBody;
use crate::sign::{Payload, Signer};

/// At most this much of an error response body is read (to find its `<Code>`).
const ERROR_BODY_LIMIT: usize = 4096;

/// Connection and signing settings for [`S3Client::new`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http://host:port` (a trailing slash is ignored).
    pub endpoint: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Signing region.
    pub region: String,
    /// Idle keep-alive connections kept in the pool (the concurrency).
    pub pool_size: usize,
    /// Sign PUT bodies' SHA-256 instead of `UNSIGNED-PAYLOAD`.
    pub sign_payload: bool,
    /// Whole-request deadline (headers and body).
    pub timeout: Duration,
}

/// A path-style S3 client for one endpoint.
#[derive(Debug, Clone)]
pub struct S3Client {
    http: Client<HttpConnector, ObjectBody>,
    base: String,
    host: String,
    signer: std::sync::Arc<Signer>,
    sign_payload: bool,
    timeout: Duration,
}

impl S3Client {
    /// Builds the client; the endpoint must be `http://host[:port]` without a path.
    pub fn new(cfg: &ClientConfig) -> Result<Self, String> {
        let base = cfg.endpoint.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|e| format!("invalid endpoint {base:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("endpoint {base:?} must use http://"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!("endpoint {base:?} must not have a path or query"));
        }
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| format!("endpoint {base:?} has no host"))?;
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        conn.enforce_http(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(cfg.pool_size.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .build(conn);
        Ok(Self {
            http,
            base,
            host,
            signer: std::sync::Arc::new(Signer::s3(&cfg.access_key, &cfg.secret_key, &cfg.region)),
            sign_payload: cfg.sign_payload,
            timeout: cfg.timeout,
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: ObjectBody,
    ) -> Result<Request<ObjectBody>, String> {
        let len = body.len();
        let hash = (self.sign_payload && !body.is_empty()).then(|| body.sha256_hex());
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(http::header::HOST, &self.host);
        if method == Method::PUT {
            builder = builder.header(http::header::CONTENT_LENGTH, len);
        }
        let mut req = builder
            .body(body)
            .map_err(|e| format!("building request: {e}"))?;
        let payload = match (&hash, method == Method::PUT && len > 0) {
            (Some(h), _) => Payload::Sha256Hex(h),
            (None, true) => Payload::Unsigned,
            (None, false) => Payload::Bytes(&[]),
        };
        self.signer.sign(&mut req, payload, SystemTime::now())?;
        Ok(req)
    }

    async fn send(&self, req: Request<ObjectBody>) -> Result<http::Response<Incoming>, String> {
        self.http
            .request(req)
            .await
            .map_err(|e| transport_error(&e))
    }

    /// Creates `bucket`; succeeds if it already exists and is accessible with these keys.
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let fut = async {
            let req = self.request(Method::PUT, &format!("/{bucket}"), ObjectBody::empty())?;
            let resp = self.send(req).await?;
            let status = resp.status();
            if status.is_success() {
                drain(resp.into_body()).await?;
                return Ok(());
            }
            let msg = error_message("CreateBucket", status, resp.into_body()).await;
            if status != StatusCode::CONFLICT {
                return Err(msg);
            }
            // BucketAlreadyOwnedByYou (or a peer that says BucketAlreadyExists for our own bucket): usable if HEAD works.
            let req = self.request(Method::HEAD, &format!("/{bucket}"), ObjectBody::empty())?;
            let resp = self.send(req).await?;
            if resp.status().is_success() {
                drain(resp.into_body()).await?;
                Ok(())
            } else {
                Err(format!(
                    "{msg}; HeadBucket: HTTP {}",
                    resp.status().as_u16()
                ))
            }
        };
        self.bounded(fut).await
    }

    /// PUTs `body` at `bucket/key`; returns the payload bytes sent.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: ObjectBody,
    ) -> Result<u64, String> {
        let len = body.len();
        let fut = async {
            let req = self.request(Method::PUT, &format!("/{bucket}/{key}"), body)?;
            let resp = self.send(req).await?;
            let status = resp.status();
            if !status.is_success() {
                return Err(error_message("PUT", status, resp.into_body()).await);
            }
            drain(resp.into_body()).await?;
            Ok(len)
        };
        self.bounded(fut).await
    }

    /// GETs `bucket/key`, discarding the body; fails unless exactly `expected_len` bytes arrive.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        expected_len: u64,
    ) -> Result<u64, String> {
        let fut = async {
            let req = self.request(
                Method::GET,
                &format!("/{bucket}/{key}"),
                ObjectBody::empty(),
            )?;
            let resp = self.send(req).await?;
            let status = resp.status();
            if !status.is_success() {
                return Err(error_message("GET", status, resp.into_body()).await);
            }
            let declared = resp
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let got = drain(resp.into_body()).await?;
            if got != expected_len || declared.is_some_and(|d| d != got) {
                return Err(format!(
                    "GET {key}: body length {got}, expected {expected_len} (Content-Length {declared:?})"
                ));
            }
            Ok(got)
        };
        self.bounded(fut).await
    }

    async fn bounded<T>(&self, fut: impl Future<Output = Result<T, String>>) -> Result<T, String> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(format!("timeout after {:?}", self.timeout)),
        }
    }
}

/// Reads and discards a body, returning its length.
async fn drain(mut body: Incoming) -> Result<u64, String> {
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("reading body: {e}"))?;
        if let Some(d) = frame.data_ref() {
            n += d.len() as u64;
        }
    }
    Ok(n)
}

/// `"{op}: HTTP {status} {Code}"`, with the S3 error code taken from the start of the XML body if present.
async fn error_message(op: &str, status: StatusCode, mut body: Incoming) -> String {
    let mut buf: Vec<u8> = Vec::new();
    while buf.len() < ERROR_BODY_LIMIT {
        match body.frame().await {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    let d: Bytes = d;
                    let take = d.len().min(ERROR_BODY_LIMIT - buf.len());
                    buf.extend_from_slice(&d[..take]);
                }
            }
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(c, _)| c.to_owned());
    match code {
        Some(c) => format!("{op}: HTTP {} {c}", status.as_u16()),
        None => format!("{op}: HTTP {}", status.as_u16()),
    }
}

/// Flattens a hyper client error and its sources into one line.
fn transport_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut msg = format!("transport: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}
