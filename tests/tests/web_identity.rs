//! AssumeRoleWithWebIdentity against a test OIDC issuer this test runs itself (HTTPS on loopback, serving a
//! discovery document and a JWKS with an RSA and an EC key): OIDC providers registered through IAM, tokens
//! signed RS256 and ES256 accepted and their sessions usable on S3, and expired, wrong-audience, wrong-issuer,
//! tampered, unknown-kid, `alg: none` and HS256 tokens refused, as is a subject the trust policy does not name.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use aws_sdk_sts::error::ProvideErrorMetadata as _;
use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use common::{Db, Opts, Server, Store};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// (n, e) of a DER RSAPublicKey (SEQUENCE { INTEGER n, INTEGER e }).
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = b[0];
        let (len, hdr) = if b[1] < 0x80 {
            (b[1] as usize, 2)
        } else {
            let n = (b[1] & 0x7f) as usize;
            (
                b[2..2 + n]
                    .iter()
                    .fold(0usize, |a, x| (a << 8) | *x as usize),
                2 + n,
            )
        };
        (tag, &b[hdr..hdr + len], &b[hdr + len..])
    }
    let (_, seq, _) = tlv(der);
    let (_, n, rest) = tlv(seq);
    let (_, e, _) = tlv(rest);
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    (strip(n), strip(e))
}

struct Issuer {
    url: String,
    ca: std::path::PathBuf,
    rsa: RsaKeyPair,
    ec: EcdsaKeyPair,
    _dir: tempfile::TempDir,
}

impl Issuer {
    async fn start() -> Issuer {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = common::make_cert(dir.path());
        let certs: Vec<_> = rustls_pemfile::certs(&mut &std::fs::read(&cert).unwrap()[..])
            .collect::<Result<_, _>>()
            .unwrap();
        let key = rustls_pemfile::private_key(&mut &std::fs::read(&key).unwrap()[..])
            .unwrap()
            .unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let (n, e) = rsa_components(rsa.public_key().as_ref());
        let point = ec.public_key().as_ref().to_vec();
        let jwks = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "rsa1", "alg": "RS256", "use": "sig", "n": b64(&n), "e": b64(&e)},
            {"kty": "EC", "kid": "ec1", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])}
        ]})
        .to_string();
        let disco =
            serde_json::json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}).to_string();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, jwks, disco) = (acceptor.clone(), jwks.clone(), disco.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let (status, body) = match path.as_str() {
                        "/.well-known/openid-configuration" => ("200 OK", disco),
                        "/jwks" => ("200 OK", jwks),
                        _ => ("404 Not Found", "{}".to_owned()),
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Issuer {
            url,
            ca,
            rsa,
            ec,
            _dir: dir,
        }
    }

    fn token(&self, alg: &str, kid: &str, claims: serde_json::Value) -> String {
        let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string();
        let input = format!(
            "{}.{}",
            b64(header.as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = match alg {
            "RS256" => {
                let mut sig = vec![0u8; self.rsa.public_modulus_len()];
                self.rsa
                    .sign(
                        &signature::RSA_PKCS1_SHA256,
                        &rng,
                        input.as_bytes(),
                        &mut sig,
                    )
                    .unwrap();
                sig
            }
            "ES256" => self
                .ec
                .sign(&rng, input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            "HS256" => aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"a shared secret"),
                input.as_bytes(),
            )
            .as_ref()
            .to_vec(),
            _ => Vec::new(),
        };
        format!("{input}.{}", b64(&sig))
    }

    fn claims(&self, sub: &str, aud: &str, exp_in: i64) -> serde_json::Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        serde_json::json!({"iss": self.url, "sub": sub, "aud": aud, "iat": now, "exp": now + exp_in,
            "https://aws.amazon.com/tags": {"principal_tags": {"team": ["blue"]}}})
    }
}

fn sts_anonymous(s: &Server) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(&s.endpoint)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

async fn assume(
    s: &Server,
    role_arn: &str,
    token: &str,
) -> Result<aws_sdk_sts::types::Credentials, String> {
    sts_anonymous(s)
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name("web-session")
        .web_identity_token(token)
        .send()
        .await
        .map(|o| o.credentials().unwrap().clone())
        .map_err(|e| e.code().unwrap_or("?").to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn web_identity_tokens_are_verified_and_decided_by_the_trust_policy() {
    let issuer = Issuer::start().await;
    let mut o = Opts::new(Db::Sqlite, Store::Std);
    o.extra = vec!["--oidc-ca-file".into(), issuer.ca.display().to_string()];
    let s = Server::start(o).unwrap();
    let iam = s.iam_with(common::ROOT_AK, common::ROOT_SK, None);
    // The provider, through IAM.
    let created = iam
        .create_open_id_connect_provider()
        .url(&issuer.url)
        .client_id_list("my-app")
        .thumbprint_list("0123456789abcdef0123456789abcdef01234567")
        .send()
        .await
        .unwrap();
    let provider_arn = created.open_id_connect_provider_arn().unwrap().to_owned();
    let host = issuer.url.trim_start_matches("https://").to_owned();
    assert!(
        provider_arn.ends_with(&format!(":oidc-provider/{host}")),
        "{provider_arn}"
    );
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.url(), Some(host.as_str()));
    assert_eq!(got.client_id_list(), ["my-app"]);
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(listed.open_id_connect_provider_list().len(), 1);
    let e = iam
        .create_open_id_connect_provider()
        .url("http://plain.example.com")
        .client_id_list("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidInput"));

    // A role trusting the provider for subject alice, reading bucket web.
    s.client()
        .create_bucket()
        .bucket("web")
        .send()
        .await
        .unwrap();
    s.client()
        .put_object()
        .bucket("web")
        .key("k")
        .body(bytes::Bytes::from_static(b"data").into())
        .send()
        .await
        .unwrap();
    let role = iam
        .create_role()
        .role_name("web-reader")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider_arn}"}},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{{"StringEquals":{{"{host}:sub":"alice","{host}:aud":"my-app"}}}}}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_owned();
    iam.put_role_policy()
        .role_name("web-reader")
        .policy_name("read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::web/*"}]}"#)
        .send()
        .await
        .unwrap();

    // RS256 and ES256 tokens of alice work; the session reads the bucket.
    for (alg, kid) in [("RS256", "rsa1"), ("ES256", "ec1")] {
        let c = assume(
            &s,
            &role_arn,
            &issuer.token(alg, kid, issuer.claims("alice", "my-app", 300)),
        )
        .await
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert!(c.access_key_id().starts_with("ASIA"));
        let s3 = s.client_with_token(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token()),
        );
        s3.get_object().bucket("web").key("k").send().await.unwrap();
        let e = s3
            .put_object()
            .bucket("web")
            .key("x")
            .body(bytes::Bytes::from_static(b"x").into())
            .send()
            .await
            .unwrap_err();
        assert_eq!(common::code(&e), "AccessDenied");
    }

    // Refusals.
    let good = issuer.token("RS256", "rsa1", issuer.claims("alice", "my-app", 300));
    let mut tampered = good.clone().into_bytes();
    // A byte of the signature changed (the claims still parse).
    let mid = good.rfind('.').unwrap() + 10;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let mut other_issuer = issuer.claims("alice", "my-app", 300);
    other_issuer["iss"] = serde_json::json!("https://not-registered.example.com");
    let none = {
        let t = issuer.token("none", "rsa1", issuer.claims("alice", "my-app", 300));
        let mut parts: Vec<&str> = t.split('.').collect();
        parts[2] = "";
        parts.join(".")
    };
    for (case, token, code) in [
        (
            "expired",
            issuer.token("RS256", "rsa1", issuer.claims("alice", "my-app", -3600)),
            "ExpiredTokenException",
        ),
        (
            "wrong audience",
            issuer.token("RS256", "rsa1", issuer.claims("alice", "other-app", 300)),
            "InvalidIdentityToken",
        ),
        (
            "unregistered issuer",
            issuer.token("RS256", "rsa1", other_issuer),
            "InvalidIdentityToken",
        ),
        ("tampered", tampered, "InvalidIdentityToken"),
        (
            "unknown kid",
            issuer.token("RS256", "nope", issuer.claims("alice", "my-app", 300)),
            "InvalidIdentityToken",
        ),
        ("alg none", none, "InvalidIdentityToken"),
        (
            "HS256",
            issuer.token("HS256", "rsa1", issuer.claims("alice", "my-app", 300)),
            "InvalidIdentityToken",
        ),
        (
            "subject not trusted",
            issuer.token("RS256", "rsa1", issuer.claims("bob", "my-app", 300)),
            "AccessDenied",
        ),
    ] {
        assert_eq!(
            assume(&s, &role_arn, &token).await.unwrap_err(),
            code,
            "{case}"
        );
    }
    // Deleting the provider stops its tokens.
    iam.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        assume(&s, &role_arn, &good).await.unwrap_err(),
        "InvalidIdentityToken"
    );
}
