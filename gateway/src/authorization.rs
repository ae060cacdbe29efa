//! The request's credentials as they arrive, parsed once: a SigV4 `Authorization` header, SigV4 presigned query
//! parameters, a SigV2 header or presigned query, or none (anonymous). Every pre-check and the query-protocol
//! verifier read this one struct instead of re-parsing the header.

use http::HeaderMap;

/// SigV4's credential scope and signature, from the header or the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigV4 {
    pub access_key: String,
    /// `YYYYMMDD` of the scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case header names, in the order given.
    pub signed_headers: Vec<String>,
    /// Lower-case hex.
    pub signature: String,
    /// From `X-Amz-*` query parameters (presigned), not the header.
    pub presigned: bool,
}

/// How a request is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials at all.
    Anonymous,
    SigV4(SigV4),
    /// SigV2 header (`AWS AK:sig`) or presigned (`AWSAccessKeyId=`); `access_key` is `None` for a header
    /// that is not `AWS AccessKeyId:Signature`.
    SigV2 {
        presigned: bool,
        access_key: Option<String>,
    },
    /// An `Authorization` header or X-Amz-* query that claims SigV4 but cannot be read (missing parts).
    MalformedSigV4(&'static str),
    /// An `Authorization` header of no scheme we know.
    Unknown,
}

impl Credentials {
    /// Parses the headers and the raw query string.
    pub fn parse(headers: &HeaderMap, query: Option<&str>) -> Credentials {
        if let Some(v) = headers.get(http::header::AUTHORIZATION) {
            let Ok(v) = v.to_str() else {
                return Credentials::Unknown;
            };
            if let Some(rest) = v.strip_prefix("AWS4-HMAC-SHA256") {
                return parse_header_v4(rest);
            }
            if let Some(rest) = v.strip_prefix("AWS ") {
                let access_key = rest
                    .split_once(':')
                    .filter(|(ak, sig)| !ak.is_empty() && !sig.is_empty() && !sig.contains(':'))
                    .map(|(ak, _)| ak.to_owned());
                return Credentials::SigV2 {
                    presigned: false,
                    access_key,
                };
            }
            return Credentials::Unknown;
        }
        let Some(q) = query else {
            return Credentials::Anonymous;
        };
        let param = |name: &str| {
            q.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k == name).then(|| urlencoding::decode(v).map(|c| c.into_owned()).ok())?
            })
        };
        if let Some(ak) = param("AWSAccessKeyId") {
            return Credentials::SigV2 {
                presigned: true,
                access_key: Some(ak),
            };
        }
        let Some(algorithm) = param("X-Amz-Algorithm") else {
            if param("X-Amz-Credential").is_some() || param("X-Amz-Signature").is_some() {
                return Credentials::MalformedSigV4("X-Amz-Algorithm is missing");
            }
            return Credentials::Anonymous;
        };
        if algorithm != "AWS4-HMAC-SHA256" {
            return Credentials::MalformedSigV4(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            );
        }
        let (Some(cred), Some(signed), Some(sig)) = (
            param("X-Amz-Credential"),
            param("X-Amz-SignedHeaders"),
            param("X-Amz-Signature"),
        ) else {
            return Credentials::MalformedSigV4(
                "Query-string authentication requires the X-Amz-Credential, X-Amz-SignedHeaders and \
                 X-Amz-Signature parameters",
            );
        };
        build(&cred, &signed, &sig, true)
    }

    /// Whether the request is SigV4-signed in the `Authorization` header.
    pub fn is_header_sigv4(&self) -> bool {
        matches!(self, Credentials::SigV4(v) if !v.presigned)
    }

    /// The SigV4 part, if the request is SigV4-signed.
    pub fn sigv4(&self) -> Option<&SigV4> {
        match self {
            Credentials::SigV4(s) => Some(s),
            _ => None,
        }
    }
}

fn parse_header_v4(rest: &str) -> Credentials {
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            cred = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    match (cred, signed, sig) {
        (Some(c), Some(h), Some(s)) => build(c, h, s, false),
        (None, ..) => {
            Credentials::MalformedSigV4("Authorization header requires 'Credential' parameter.")
        }
        (_, None, _) => {
            Credentials::MalformedSigV4("Authorization header requires 'SignedHeaders' parameter.")
        }
        (.., None) => {
            Credentials::MalformedSigV4("Authorization header requires 'Signature' parameter.")
        }
    }
}

fn build(cred: &str, signed: &str, sig: &str, presigned: bool) -> Credentials {
    let parts: Vec<&str> = cred.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts[0].is_empty() {
        return Credentials::MalformedSigV4(
            "Credential should be scoped to a valid region, service and date.",
        );
    }
    if sig.is_empty() || !sig.bytes().all(|b| b.is_ascii_hexdigit()) || signed.is_empty() {
        return Credentials::MalformedSigV4(
            "Authorization header requires a signature and signed headers.",
        );
    }
    Credentials::SigV4(SigV4 {
        access_key: parts[0].to_owned(),
        date: parts[1].to_owned(),
        region: parts[2].to_owned(),
        service: parts[3].to_owned(),
        signed_headers: signed
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        signature: sig.to_ascii_lowercase(),
        presigned,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(http::header::AUTHORIZATION, v.parse().unwrap());
        m
    }

    #[test]
    fn header_and_query_forms() {
        let c = Credentials::parse(
            &h(
                "AWS4-HMAC-SHA256 Credential=AK/20261206/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=ABCDEF",
            ),
            None,
        );
        let v = c.sigv4().unwrap();
        assert_eq!(
            (v.access_key.as_str(), v.region.as_str(), v.service.as_str()),
            ("AK", "us-east-1", "iam")
        );
        assert_eq!(v.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(v.signature, "abcdef");
        assert!(!v.presigned);
        let q = "Action=GetUser&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261206%2F%2Fsts%2Faws4_request&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let c = Credentials::parse(&HeaderMap::new(), Some(q));
        let v = c.sigv4().unwrap();
        assert_eq!(
            (v.region.as_str(), v.service.as_str(), v.presigned),
            ("", "sts", true)
        );
        assert_eq!(
            Credentials::parse(&HeaderMap::new(), None),
            Credentials::Anonymous
        );
        assert_eq!(
            Credentials::parse(&HeaderMap::new(), Some("a=b")),
            Credentials::Anonymous
        );
        assert_eq!(
            Credentials::parse(&h("AWS AK:sig"), None),
            Credentials::SigV2 {
                presigned: false,
                access_key: Some("AK".into())
            }
        );
        for bad in ["AWS AK", "AWS :sig", "AWS AK:", "AWS AK:s:ig"] {
            assert_eq!(
                Credentials::parse(&h(bad), None),
                Credentials::SigV2 {
                    presigned: false,
                    access_key: None
                },
                "{bad}"
            );
        }
        assert_eq!(
            Credentials::parse(&HeaderMap::new(), Some("AWSAccessKeyId=AK%2B1&Signature=x")),
            Credentials::SigV2 {
                presigned: true,
                access_key: Some("AK+1".into())
            }
        );
        assert_eq!(
            Credentials::parse(&h("Bearer x"), None),
            Credentials::Unknown
        );
    }

    #[test]
    fn malformed_sigv4_is_named() {
        for bad in [
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AK/20261206/us-east-1/iam/aws4_request, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AK/20261206/us-east-1/iam/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AK/20261206/iam/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AK/20261206/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=zz",
        ] {
            assert!(
                matches!(
                    Credentials::parse(&h(bad), None),
                    Credentials::MalformedSigV4(_)
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Credentials::parse(&HeaderMap::new(), Some("X-Amz-Signature=00")),
            Credentials::MalformedSigV4(_)
        ));
    }
}
