//! Raw SigV4-signed requests (aws-sigv4 as an independent signer), for inputs the SDK will not send.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Signs `req` (whose body is `body`) for S3 in us-east-1 at `time`; returns the signature.
pub fn sign_request(
    req: &mut http::Request<Vec<u8>>,
    ak: &str,
    sk: &str,
    payload: SignableBody<'_>,
    time: SystemTime,
) -> String {
    let identity = Credentials::new(ak, sk, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
    settings.uri_path_normalization_mode =
        aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        payload,
    )
    .unwrap();
    let (instructions, sig) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(req);
    sig
}

/// Sends a signed request with a fully known body.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    ak: &str,
    sk: &str,
) -> (u16, String) {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(body.clone()).unwrap();
    sign_request(
        &mut req,
        ak,
        sk,
        SignableBody::Bytes(&body),
        SystemTime::now(),
    );
    execute(req).await
}

/// Sends a prepared request.
pub async fn execute(req: http::Request<Vec<u8>>) -> (u16, String) {
    let client = reqwest::Client::builder().build().unwrap();
    let (parts, body) = req.into_parts();
    let mut rb = client.request(parts.method, parts.uri.to_string());
    for (k, v) in &parts.headers {
        rb = rb.header(k, v);
    }
    let resp = rb.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// The SigV4 signing key for (date, us-east-1, s3).
pub fn signing_key(sk: &str, date: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{sk}").as_bytes(), date.as_bytes());
    let k = hmac(&k, b"us-east-1");
    let k = hmac(&k, b"s3");
    hmac(&k, b"aws4_request")
}

/// Builds a signed aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) for `chunks`, chaining chunk
/// signatures from `seed`.
pub fn chunked_body(chunks: &[&[u8]], seed: &str, sk: &str, time: SystemTime) -> Vec<u8> {
    let t: time::OffsetDateTime = time.into();
    let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let key = signing_key(sk, &date);
    let empty = hex::encode(Sha256::digest(b""));
    let mut prev = seed.to_owned();
    let mut out = Vec::new();
    let mut all: Vec<&[u8]> = chunks.to_vec();
    all.push(b"");
    for c in all {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{stamp}\n{scope}\n{prev}\n{empty}\n{}",
            hex::encode(Sha256::digest(c))
        );
        let sig = hex::encode(hmac(&key, sts.as_bytes()));
        out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
        prev = sig;
    }
    out
}
