//! SigV4 request signing through the `aws-sigv4` crate (header-based, S3 flavour).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use sha2::{Digest, Sha256};

/// How the request payload enters the signature (`x-amz-content-sha256`).
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// `UNSIGNED-PAYLOAD`: the body is not hashed.
    Unsigned,
    /// The SHA-256 of these bytes (an empty body for GET/HEAD).
    Bytes(&'a [u8]),
    /// A precomputed lowercase-hex SHA-256 of the body.
    Sha256Hex(&'a str),
}

/// Signs requests for one identity, region and service.
#[derive(Debug)]
pub struct Signer {
    identity: Identity,
    region: String,
    service: String,
    s3: bool,
}

impl Signer {
    /// A signer for S3 (`s3` service, `x-amz-content-sha256` header, no path normalisation or double-encoding).
    pub fn s3(access_key: &str, secret_key: &str, region: &str) -> Self {
        Self::new(access_key, secret_key, region, "s3", true)
    }

    /// A signer for any service; `s3` selects S3's canonicalisation rules.
    pub fn new(access_key: &str, secret_key: &str, region: &str, service: &str, s3: bool) -> Self {
        let creds = Credentials::new(access_key, secret_key, None, None, "gatehouse-bench");
        Self {
            identity: creds.into(),
            region: region.to_owned(),
            service: service.to_owned(),
            s3,
        }
    }

    fn settings(&self) -> SigningSettings {
        let mut s = SigningSettings::default();
        if self.s3 {
            s.percent_encoding_mode = PercentEncodingMode::Single;
            s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        s
    }

    /// Signs `req` in place at `time`: adds `x-amz-date`, `x-amz-content-sha256` (S3) and `authorization`.
    /// Every header already on the request (it must carry `host`) is signed.
    pub fn sign<B>(
        &self,
        req: &mut http::Request<B>,
        payload: Payload<'_>,
        time: SystemTime,
    ) -> Result<(), String> {
        let uri = req.uri().to_string();
        let headers: Vec<(&str, &str)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
            .collect();
        let body = match payload {
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::Bytes(b) => SignableBody::Bytes(b),
            Payload::Sha256Hex(h) => SignableBody::Precomputed(h.to_owned()),
        };
        let signable = SignableRequest::new(req.method().as_str(), uri, headers.into_iter(), body)
            .map_err(|e| format!("signable request: {e}"))?;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(self.settings())
            .build()
            .map_err(|e| format!("signing params: {e}"))?
            .into();
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| format!("sign: {e}"))?
            .into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }
}

/// Lowercase-hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn auth(req: &http::Request<()>) -> &str {
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `get-vanilla` from the AWS SigV4 test suite (service `service`, 2015-08-30T12:36:00Z).
    #[test]
    fn aws_suite_get_vanilla() {
        let signer = Signer::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            "service",
            false,
        );
        let mut req = http::Request::get("https://example.amazonaws.com/")
            .header("host", "example.amazonaws.com")
            .body(())
            .expect("request");
        let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        signer.sign(&mut req, Payload::Bytes(&[]), t).expect("sign");
        assert_eq!(
            auth(&req),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            req.headers().get("x-amz-date").map(|v| v.as_bytes()),
            Some(&b"20150830T123600Z"[..])
        );
    }

    /// The S3 "GET Object" example from the S3 SigV4 header-signing documentation (2013-05-24).
    #[test]
    fn s3_docs_get_object() {
        let signer = Signer::s3(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        );
        let mut req = http::Request::get("https://examplebucket.s3.amazonaws.com/test.txt")
            .header("host", "examplebucket.s3.amazonaws.com")
            .header("range", "bytes=0-9")
            .body(())
            .expect("request");
        let t = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        signer.sign(&mut req, Payload::Bytes(&[]), t).expect("sign");
        assert_eq!(
            auth(&req),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(
            req.headers()
                .get("x-amz-content-sha256")
                .map(|v| v.as_bytes()),
            Some(&b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"[..])
        );
    }

    #[test]
    fn unsigned_payload_header() {
        let signer = Signer::s3("AK", "SK", "us-east-1");
        let mut req = http::Request::put("http://127.0.0.1:9000/b/k")
            .header("host", "127.0.0.1:9000")
            .body(())
            .expect("request");
        signer
            .sign(&mut req, Payload::Unsigned, SystemTime::now())
            .expect("sign");
        assert_eq!(
            req.headers()
                .get("x-amz-content-sha256")
                .map(|v| v.as_bytes()),
            Some(&b"UNSIGNED-PAYLOAD"[..])
        );
        assert!(auth(&req).starts_with("AWS4-HMAC-SHA256 Credential=AK/"));
    }

    #[test]
    fn precomputed_matches_bytes() {
        let body = b"Welcome to Amazon S3.";
        let h = sha256_hex(body);
        assert_eq!(
            h,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let signer = Signer::s3("AK", "SK", "us-east-1");
        let t = UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let mk = || {
            http::Request::put("http://h/b/k")
                .header("host", "h")
                .body(())
                .expect("request")
        };
        let (mut a, mut b) = (mk(), mk());
        signer.sign(&mut a, Payload::Bytes(body), t).expect("sign");
        signer
            .sign(&mut b, Payload::Sha256Hex(&h), t)
            .expect("sign");
        assert_eq!(auth(&a), auth(&b));
    }
}
