//! The AWS query protocol (IAM and STS): form-encoded `Action` requests on `/`, on the same listener as S3.
//! The front routes here (`route`); this module reads the parameters, verifies SigV4 by re-signing the request
//! with `aws-sigv4` (s3s's verifier refuses the `iam` and `sts` scopes and is private), resolves the caller
//! through the same access-key resolution as S3, and answers in the query protocol's XML, errors included.

use std::time::{Duration, SystemTime};

use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use s3s::Body;

use crate::authorization::{Credentials, SigV4};
use crate::errors::{ApiError, Code};
use crate::state::{AppState, Principal};

/// IAM's XML namespace.
pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// Largest query-protocol body read (a 10,240-character role policy, URL-encoded, fits many times over).
const MAX_BODY: usize = 256 * 1024;
/// How far a header-signed request's time may be from the server's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// AWS's ceiling on a presigned request's lifetime.
const MAX_PRESIGN_SECS: u64 = 7 * 24 * 3600;

/// A query-protocol service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Iam,
    Sts,
}

impl Service {
    fn namespace(self) -> &'static str {
        match self {
            Service::Iam => IAM_NAMESPACE,
            Service::Sts => gatehouse_sts::NAMESPACE,
        }
    }
}

/// STS actions AWS accepts without a signature (their proof is a token in the parameters).
const UNSIGNED_STS_ACTIONS: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];

/// Whether a request belongs to the query protocol, and to which service: a request on `/` (not a
/// virtual-hosted bucket) whose SigV4 scope names `iam` or `sts`, or an unsigned form POST or `?Action=`
/// GET there (only STS has unsigned actions).
pub(crate) fn route(
    req: &Request<Incoming>,
    creds: &Credentials,
    names_bucket: bool,
) -> Option<Service> {
    if req.uri().path() != "/" || names_bucket {
        return None;
    }
    if let Some(v) = creds.sigv4() {
        return match v.service.as_str() {
            "iam" => Some(Service::Iam),
            "sts" => Some(Service::Sts),
            _ => None,
        };
    }
    if !matches!(creds, Credentials::Anonymous) {
        return None;
    }
    let form = req.method() == http::Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let action_in_query = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("Action=")));
    (form || (req.method() == http::Method::GET && action_in_query)).then_some(Service::Sts)
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space).
fn form_pairs(text: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for kv in text.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let dec = |s: &str| {
            urlencoding::decode(&s.replace('+', " "))
                .map(|c| c.into_owned())
                .map_err(|_| {
                    ApiError::new(
                        Code::MalformedQueryString,
                        "The query string is not valid UTF-8.",
                    )
                })
        };
        out.push((dec(k)?, dec(v)?));
    }
    Ok(out)
}

/// The request time of a SigV4 request (`x-amz-date` header or `X-Amz-Date` parameter, `YYYYMMDDTHHMMSSZ`).
pub(crate) fn request_time(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(text, &format)
        .ok()?
        .assume_utc();
    let secs = u64::try_from(t.unix_timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

fn fmt_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const BAD_SIGNATURE: &str = "The request signature we calculated does not match the signature you provided. Check \
     your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// What the verifier needs of the request.
pub(crate) struct Signed<'a> {
    pub method: &'a str,
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// Verifies a SigV4 query-protocol request against `secret`, at `now`.
pub(crate) fn verify(
    v: &SigV4,
    req: &Signed<'_>,
    secret: &str,
    region_ok: impl Fn(&str) -> bool,
    now: SystemTime,
) -> Result<(), ApiError> {
    if !region_ok(&v.region) {
        return Err(ApiError::new(
            Code::SignatureDoesNotMatch,
            format!(
                "Credential should be scoped to a valid region, not '{}'.",
                v.region
            ),
        ));
    }
    let query: Vec<(String, String)> = match req.uri.query() {
        Some(q) => form_pairs(q)?,
        None => Vec::new(),
    };
    let qparam = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let date_text = if v.presigned {
        qparam("X-Amz-Date")
    } else {
        req.headers.get("x-amz-date").and_then(|d| d.to_str().ok())
    };
    let Some(time) = date_text.and_then(request_time) else {
        return Err(ApiError::new(
            Code::IncompleteSignature,
            "Authorization requires a valid X-Amz-Date (YYYYMMDD'T'HHMMSS'Z').",
        ));
    };
    if !date_text.is_some_and(|d| d.starts_with(&v.date)) {
        return Err(ApiError::new(
            Code::SignatureDoesNotMatch,
            "Credential should be scoped to a valid date (the date of X-Amz-Date).",
        ));
    }
    let mut expires_in = None;
    if v.presigned {
        let secs = qparam("X-Amz-Expires").and_then(|e| e.parse::<u64>().ok());
        let Some(secs) = secs.filter(|s| *s <= MAX_PRESIGN_SECS) else {
            return Err(ApiError::new(
                Code::AuthorizationQueryParametersError,
                "X-Amz-Expires must be a number of seconds up to 604800.",
            ));
        };
        if now > time + Duration::from_secs(secs) || time > now + MAX_SKEW {
            return Err(ApiError::new(Code::RequestExpired, "Request has expired."));
        }
        expires_in = Some(Duration::from_secs(secs));
    } else if now > time + MAX_SKEW {
        return Err(ApiError::new(
            Code::SignatureDoesNotMatch,
            format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                fmt_time(time),
                fmt_time(now - MAX_SKEW),
                fmt_time(now)
            ),
        ));
    } else if time > now + MAX_SKEW {
        return Err(ApiError::new(
            Code::SignatureDoesNotMatch,
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                fmt_time(time),
                fmt_time(now + MAX_SKEW),
                fmt_time(now)
            ),
        ));
    }
    if !v.signed_headers.iter().any(|h| h == "host") {
        return Err(ApiError::new(Code::SignatureDoesNotMatch, BAD_SIGNATURE));
    }
    // The signed headers, as sent (the Host of an HTTP/2 request is its :authority).
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in &v.signed_headers {
        if name == "host" {
            headers.push(("host", host));
            continue;
        }
        for value in req.headers.get_all(name.as_str()) {
            let Ok(value) = value.to_str() else {
                return Err(ApiError::new(Code::SignatureDoesNotMatch, BAD_SIGNATURE));
            };
            headers.push((name.as_str(), value));
        }
    }
    // The URI as signed: path and query, without the presigning parameters aws-sigv4 adds itself.
    let kept: Vec<&str> = req
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !(v.presigned && k.starts_with("X-Amz-") && k != "X-Amz-Security-Token")
        })
        .collect();
    let uri = if kept.is_empty() {
        format!("http://{host}{}", req.uri.path())
    } else {
        format!("http://{host}{}?{}", req.uri.path(), kept.join("&"))
    };
    // Outside S3 a presigned request's payload is hashed like any other (botocore's SigV4QueryAuth).
    let body = aws_sigv4::http_request::SignableBody::Bytes(req.body);
    let signable =
        aws_sigv4::http_request::SignableRequest::new(req.method, uri, headers.into_iter(), body)
            .map_err(|_| ApiError::new(Code::SignatureDoesNotMatch, BAD_SIGNATURE))?;
    let mut settings = aws_sigv4::http_request::SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    if v.presigned {
        settings.signature_location = aws_sigv4::http_request::SignatureLocation::QueryParams;
        settings.expires_in = expires_in;
    }
    let identity =
        aws_credential_types::Credentials::new(&v.access_key, secret, None, None, "gatehouse")
            .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&v.region)
        .name(&v.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| ApiError::new(Code::SignatureDoesNotMatch, BAD_SIGNATURE))?
        .into();
    let out = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|_| ApiError::new(Code::SignatureDoesNotMatch, BAD_SIGNATURE))?;
    if constant_time_eq(out.signature().as_bytes(), v.signature.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(Code::SignatureDoesNotMatch, BAD_SIGNATURE))
    }
}

/// The caller of a query-protocol request.
pub enum Caller {
    Anonymous,
    Signed(Principal),
}

/// Handles a query-protocol request end to end; errors are rendered in the service's namespace.
pub(crate) async fn handle(
    state: &AppState,
    req: Request<Incoming>,
    creds: Credentials,
    service: Service,
    facts: &crate::access::context::RequestFacts,
) -> Response<Body> {
    let rid = facts.request_id.as_str();
    match answer(state, req, creds, service, facts).await {
        Ok(xml) => {
            let mut resp = Response::new(Body::from(xml));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml"),
            );
            resp
        }
        Err(e) => e.query_response(service.namespace(), rid),
    }
}

async fn answer(
    state: &AppState,
    req: Request<Incoming>,
    creds: Credentials,
    service: Service,
    facts: &crate::access::context::RequestFacts,
) -> Result<String, ApiError> {
    use http_body_util::BodyExt as _;
    let rid = facts.request_id.as_str();
    let (parts, body) = req.into_parts();
    // The keys every policy of IAM and STS may read (trust policies included).
    let context = crate::access::context::global_context(Some(facts), &parts.headers);
    let body = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::new(Code::RequestEntityTooLarge, "Request body too large.")
            } else {
                ApiError::new(Code::InvalidRequest, "The request body could not be read.")
            }
        })?
        .to_bytes();
    let mut params = match parts.uri.query() {
        Some(q) => form_pairs(q)?,
        None => Vec::new(),
    };
    let form = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let text = std::str::from_utf8(&body).map_err(|_| {
            ApiError::new(
                Code::MalformedQueryString,
                "The request body is not valid UTF-8.",
            )
        })?;
        params.extend(form_pairs(text)?);
    }
    // The presigning parameters are the signature, not the action's input (the session token is read
    // from them below).
    let presigned_token = params
        .iter()
        .find(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, t)| t.clone());
    params.retain(|(k, _)| !k.starts_with("X-Amz-"));
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::new(Code::MissingAction, "Missing Action"))?;
    params.retain(|(k, _)| k != "Action" && k != "Version");

    let caller = match &creds {
        Credentials::Anonymous
            if service == Service::Sts && UNSIGNED_STS_ACTIONS.contains(&action.as_str()) =>
        {
            Caller::Anonymous
        }
        Credentials::Anonymous => {
            return Err(ApiError::new(
                Code::MissingAuthenticationToken,
                "Request is missing Authentication Token",
            ));
        }
        Credentials::MalformedSigV4(msg) => {
            return Err(ApiError::new(Code::IncompleteSignature, *msg));
        }
        Credentials::SigV2 { .. } | Credentials::Unknown => {
            return Err(ApiError::new(
                Code::IncompleteSignature,
                "Only the AWS4-HMAC-SHA256 signature (Signature Version 4) is supported.",
            ));
        }
        Credentials::SigV4(v) => {
            let token = crate::session::request_token(&parts.headers, None).or(presigned_token);
            match state
                .sessions
                .check(state, &v.access_key, token.as_deref())
                .await
            {
                Ok(()) => {}
                Err(crate::session::TokenError::Expired) => {
                    return Err(ApiError::custom(
                        "ExpiredToken",
                        StatusCode::FORBIDDEN,
                        true,
                        "The security token included in the request is expired",
                    ));
                }
                Err(_) => {
                    return Err(ApiError::new(
                        Code::InvalidClientTokenId,
                        "The security token included in the request is invalid.",
                    ));
                }
            }
            let resolved = match state.resolve_key(&v.access_key).await {
                Ok(Some(k)) => k,
                Ok(None) => {
                    return Err(ApiError::new(
                        Code::InvalidClientTokenId,
                        "The security token included in the request is invalid.",
                    ));
                }
                Err(e) => {
                    if !matches!(e, crate::state::KeyError::Unopenable) {
                        tracing::error!(error = %e, "access key lookup failed");
                    }
                    return Err(ApiError::new(
                        Code::InternalFailure,
                        "An internal error occurred.",
                    ));
                }
            };
            let region = state.config.region.clone();
            let signed = Signed {
                method: parts.method.as_str(),
                uri: &parts.uri,
                headers: &parts.headers,
                body: &body,
            };
            verify(
                v,
                &signed,
                &resolved.secret,
                |r| r.is_empty() || r == "us-east-1" || r == region,
                SystemTime::now(),
            )?;
            Caller::Signed(resolved.principal)
        }
    };
    match service {
        Service::Sts => crate::sts::handle(state, &action, &caller, &params, rid, &context).await,
        Service::Iam => iam(state, &action, &caller, &params, rid, &context).await,
    }
}

/// Seals new access-key secrets for the IAM crate with the server keyring.
struct KeySealer<'a>(&'a crate::server_key::Keys);

impl gatehouse_iam::Sealer for KeySealer<'_> {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, String> {
        self.0.seal(plaintext, context).map_err(|e| e.to_string())
    }
}

/// Whether an IAM action only reads.
fn reads_only(action: &str) -> bool {
    ["Get", "List", "Simulate", "Generate"]
        .iter()
        .any(|p| action.starts_with(p))
}

async fn iam(
    state: &AppState,
    action: &str,
    caller: &Caller,
    params: &[(String, String)],
    rid: &str,
    context: &gatehouse_policy::Context,
) -> Result<String, ApiError> {
    let Caller::Signed(p) = caller else {
        return Err(ApiError::new(
            Code::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        ));
    };
    let iam_caller = match crate::identity::user_of(p) {
        None => gatehouse_iam::Caller::root(&p.account_id),
        Some((account, name)) => {
            gatehouse_iam::Caller::user(account, p.user_path.as_deref().unwrap_or("/"), name)
        }
    };
    // GetSessionToken credentials cannot call IAM without MFA, which Gatehouse does not have (AWS's rule).
    if p.session.as_ref().is_some_and(|s| !s.is_role()) {
        return Err(ApiError::new(
            Code::AccessDenied,
            format!(
                "User: {} is not authorized to perform: iam:{action} with credentials from GetSessionToken without MFA",
                p.arn
            ),
        ));
    }
    // The account root may do anything in its own account (the only one `handle` lets it see); IAM users and
    // role sessions need their policies to allow the action on the resource.
    if !p.is_root() {
        let account = p.account_id.as_str();
        let Some((iam_action, resource)) =
            gatehouse_iam::action_resource_resolved(&state.meta, &iam_caller, action, params).await
        else {
            return Err(ApiError::new(
                Code::InvalidAction,
                format!("Could not find operation {action} for version 2010-05-08"),
            ));
        };
        let allowed =
            crate::authz::identity_decision(state, p, &iam_action, &resource, account, context)
                .await
                == crate::authz::Decision::Allow;
        if !allowed {
            return Err(ApiError::new(
                Code::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: {iam_action} on resource: {resource}",
                    p.arn
                ),
            ));
        }
    }
    match gatehouse_iam::handle(
        &state.meta,
        &iam_caller,
        action,
        params,
        rid,
        &KeySealer(&state.keys),
    )
    .await
    {
        Ok(r) => {
            if !reads_only(action) {
                state.iam_changed(&p.account_id);
            }
            Ok(r.body)
        }
        Err(e) => Err(ApiError::custom(
            e.code_str(),
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.fault_type() == "Sender",
            e.message,
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let p = form_pairs("Action=CreateUser&UserName=a+b%2Fc&Empty=&Flag").unwrap();
        assert_eq!(
            p,
            [
                ("Action".to_owned(), "CreateUser".to_owned()),
                ("UserName".into(), "a b/c".into()),
                ("Empty".into(), "".into()),
                ("Flag".into(), "".into())
            ]
        );
        assert!(form_pairs("a=%FF").is_err());
    }

    #[test]
    fn request_times() {
        let t = request_time("20261206T120000Z").unwrap();
        assert_eq!(fmt_time(t), "20261206T120000Z");
        assert!(request_time("2026-12-06").is_none());
    }
}
