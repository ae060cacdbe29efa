//! Web identity tokens (OIDC JWTs) for AssumeRoleWithWebIdentity: the issuer's signing keys come from its
//! discovery document's `jwks_uri` (HTTPS only; cached for `JWKS_TTL`, fetched again at most every
//! `REFETCH_MIN` when a token names an unknown key), the signature is checked with aws-lc-rs (RS256, RS384,
//! RS512 and ES256; `none`, HS* and anything else are refused), then issuer, expiry and not-before.
//! Audience and the trust policy are the caller's (`sts.rs`) business.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::signature;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long fetched keys are trusted.
const JWKS_TTL: Duration = Duration::from_secs(600);
/// The least time between two fetches for one issuer.
const REFETCH_MIN: Duration = Duration::from_secs(10);
/// Bound on an issuer's answers.
const MAX_DOC: usize = 1 << 20;
/// Clock skew allowed on exp / nbf.
const LEEWAY_SECS: i64 = 60;
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why a token is refused (each maps to STS's error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// InvalidIdentityToken: malformed, bad signature, unknown key, wrong issuer, not yet valid.
    Invalid(String),
    /// ExpiredTokenException.
    Expired,
    /// IDPCommunicationError: the issuer could not be reached or answered nonsense.
    Communication(String),
}

/// A verified token's claims.
#[derive(Debug, Clone)]
pub struct Claims(pub serde_json::Map<String, Value>);

impl Claims {
    pub fn str(&self, k: &str) -> Option<&str> {
        self.0.get(k).and_then(Value::as_str)
    }
    /// A claim that may be a string or a list of strings.
    pub fn list(&self, k: &str) -> Vec<String> {
        match self.0.get(k) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Keys of one issuer.
struct Keys {
    fetched: Instant,
    keys: Vec<serde_json::Map<String, Value>>,
}

/// The verifier (one per server; its cache is per issuer).
pub struct Verifier {
    client: Option<HttpClient>,
    setup_error: Option<String>,
    cache: Mutex<HashMap<String, Arc<Keys>>>,
}

fn tls(ca: &Path) -> Result<rustls::ClientConfig, String> {
    let pem = std::fs::read(ca).map_err(|e| format!("OIDC CA file {}: {e}", ca.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| format!("OIDC CA file {}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("OIDC CA file {}: {e}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl Verifier {
    /// A verifier trusting the certificates of `ca` (PEM), else the system's bundle.
    pub fn new(ca: Option<&PathBuf>) -> Verifier {
        let ca = ca
            .cloned()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
        match tls(&ca) {
            Ok(cfg) => {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(Duration::from_secs(5)));
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(cfg)
                    .https_only()
                    .enable_http1()
                    .wrap_connector(http);
                Verifier {
                    client: Some(Client::builder(TokioExecutor::new()).build(connector)),
                    setup_error: None,
                    cache: Mutex::default(),
                }
            }
            Err(e) => Verifier {
                client: None,
                setup_error: Some(e),
                cache: Mutex::default(),
            },
        }
    }

    async fn get_json(&self, url: &str) -> Result<Value, TokenError> {
        let comm = |m: String| TokenError::Communication(m);
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| comm(self.setup_error.clone().unwrap_or_default()))?;
        if !url.starts_with("https://") {
            return Err(comm(format!("{url} is not an https URL")));
        }
        let uri: http::Uri = url.parse().map_err(|_| comm(format!("bad URL {url}")))?;
        let resp = tokio::time::timeout(Duration::from_secs(10), client.get(uri))
            .await
            .map_err(|_| comm(format!("{url}: timed out")))?
            .map_err(|e| comm(format!("{url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(comm(format!("{url}: HTTP {}", resp.status())));
        }
        let body = http_body_util::Limited::new(resp.into_body(), MAX_DOC)
            .collect()
            .await
            .map_err(|e| comm(format!("{url}: {e}")))?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| comm(format!("{url}: not JSON: {e}")))
    }

    async fn fetch(&self, issuer: &str) -> Result<Arc<Keys>, TokenError> {
        let disco = self
            .get_json(&format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            ))
            .await?;
        let jwks_uri = disco
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                TokenError::Communication("the discovery document names no jwks_uri".into())
            })?;
        let jwks = self.get_json(jwks_uri).await?;
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| TokenError::Communication("the JWKS has no keys".into()))?
            .iter()
            .filter_map(|k| k.as_object().cloned())
            .collect();
        let k = Arc::new(Keys {
            fetched: Instant::now(),
            keys,
        });
        if let Ok(mut c) = self.cache.lock() {
            if c.len() > 1000 {
                c.clear();
            }
            c.insert(issuer.to_owned(), Arc::clone(&k));
        }
        Ok(k)
    }

    /// The issuer's key `kid` (fetching the JWKS when it is not cached, stale, or lacks the key).
    async fn key(
        &self,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<serde_json::Map<String, Value>, TokenError> {
        let cached = self.cache.lock().ok().and_then(|c| c.get(issuer).cloned());
        let find = |k: &Keys| {
            k.keys
                .iter()
                .find(|j| kid.is_none_or(|id| j.get("kid").and_then(Value::as_str) == Some(id)))
                .cloned()
        };
        if let Some(k) = &cached
            && k.fetched.elapsed() < JWKS_TTL
        {
            if let Some(j) = find(k) {
                return Ok(j);
            }
            if k.fetched.elapsed() < REFETCH_MIN {
                return Err(TokenError::Invalid(
                    "the token's key is not in the issuer's JWKS".into(),
                ));
            }
        }
        let fresh = self.fetch(issuer).await?;
        find(&fresh).ok_or_else(|| {
            TokenError::Invalid("the token's key is not in the issuer's JWKS".into())
        })
    }

    /// Verifies `token` as issued by `issuer` (`https://...`), at `now` (seconds since the epoch).
    pub async fn verify(&self, token: &str, issuer: &str, now: i64) -> Result<Claims, TokenError> {
        let (header, claims, input, sig) = split(token)?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if !matches!(alg, "RS256" | "RS384" | "RS512" | "ES256") {
            return Err(TokenError::Invalid(format!(
                "signing algorithm {alg:?} is not accepted"
            )));
        }
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(TokenError::Invalid(
                "the token's issuer does not match the provider".into(),
            ));
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let jwk = self.key(issuer, kid).await?;
        check_signature(alg, &jwk, input.as_bytes(), &sig)?;
        let num = |k: &str| claims.get(k).and_then(Value::as_i64);
        match num("exp") {
            Some(exp) if exp + LEEWAY_SECS < now => return Err(TokenError::Expired),
            Some(_) => {}
            None => return Err(TokenError::Invalid("the token has no exp claim".into())),
        }
        if let Some(nbf) = num("nbf")
            && nbf > now + LEEWAY_SECS
        {
            return Err(TokenError::Invalid("the token is not valid yet".into()));
        }
        Ok(Claims(claims))
    }
}

fn b64(s: &str) -> Result<Vec<u8>, TokenError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| TokenError::Invalid("the token is not valid base64url".into()))
}

type Parts = (
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
    String,
    Vec<u8>,
);

/// header, claims, signing input, signature.
fn split(token: &str) -> Result<Parts, TokenError> {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Invalid("the token is not a signed JWT".into()));
    };
    let obj = |b: Vec<u8>| -> Result<serde_json::Map<String, Value>, TokenError> {
        match serde_json::from_slice(&b) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(TokenError::Invalid("the token is not JSON".into())),
        }
    };
    Ok((obj(b64(h)?)?, obj(b64(p)?)?, format!("{h}.{p}"), b64(s)?))
}

fn check_signature(
    alg: &str,
    jwk: &serde_json::Map<String, Value>,
    input: &[u8],
    sig: &[u8],
) -> Result<(), TokenError> {
    let field = |k: &str| -> Result<Vec<u8>, TokenError> {
        b64(jwk.get(k).and_then(Value::as_str).unwrap_or(""))
    };
    let bad = || TokenError::Invalid("the token's signature is not valid".into());
    if let Some(a) = jwk.get("alg").and_then(Value::as_str)
        && a != alg
    {
        return Err(bad());
    }
    match (alg, jwk.get("kty").and_then(Value::as_str)) {
        ("RS256" | "RS384" | "RS512", Some("RSA")) => {
            let params = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                _ => &signature::RSA_PKCS1_2048_8192_SHA512,
            };
            let key = signature::RsaPublicKeyComponents {
                n: field("n")?,
                e: field("e")?,
            };
            key.verify(params, input, sig).map_err(|_| bad())
        }
        ("ES256", Some("EC")) if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let mut point = vec![4u8];
            point.extend(field("x")?);
            point.extend(field("y")?);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(input, sig)
                .map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_and_unaccepted_algorithms_are_refused() {
        assert!(matches!(split("a.b"), Err(TokenError::Invalid(_))));
        assert!(matches!(split("a.b.c.d"), Err(TokenError::Invalid(_))));
        let e = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let t = format!(
            "{}.{}.",
            e(r#"{"alg":"none"}"#),
            e(r#"{"iss":"https://i"}"#)
        );
        let (h, c, _, sig) = split(&t).expect("parts");
        assert_eq!(h.get("alg").and_then(Value::as_str), Some("none"));
        assert_eq!(c.get("iss").and_then(Value::as_str), Some("https://i"));
        assert!(sig.is_empty());
        let jwk = serde_json::json!({"kty":"oct","k":"c2VjcmV0"});
        let jwk = jwk.as_object().expect("obj");
        assert!(check_signature("HS256", jwk, b"x", b"y").is_err());
    }
}
