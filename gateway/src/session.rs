//! Temporary credentials (STS): an `ASIA…` access key, a secret, and a session token that *is* the session —
//! its fields sealed with AES-256-GCM under the server key (`Keys::seal`, so every gateway sharing the
//! configuration opens it without a database lookup, and tokens sealed under a previous key stay valid while
//! that key is in the key file). A request with temporary credentials must carry its token
//! (`x-amz-security-token` / `X-Amz-Security-Token`); the token must name the request's access key and be
//! unexpired. The effective permissions come from the session's role (or user) within its session policies,
//! computed by the engine (`authz::Caller`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::state::{AppState, Principal, ResolvedKey};

/// Token prefix (format version).
const TOKEN_PREFIX: &str = "GHST1";
/// The AEAD context of session tokens.
const CONTEXT: &[u8] = b"gatehouse:sts-session-token";

/// Who a session acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionKind {
    /// AssumeRole: role `name` at `path` with unique id `id` (AROA…).
    Role {
        name: String,
        path: String,
        id: String,
    },
    /// GetSessionToken of an IAM user.
    User { name: String },
    /// GetSessionToken of the account root.
    Root,
    /// GetFederationToken of IAM user `user` (at `path`), or of the account root (`None`): the federated
    /// user `session_name`.
    Federated { user: Option<String>, path: String },
}

/// A session, as sealed in its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub secret: String,
    pub account: String,
    #[serde(flatten)]
    pub kind: SessionKind,
    /// RoleSessionName (roles), or the federated user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// The inline session policy, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Managed policies passed as session policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// Session tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// Session tag keys that pass on to a chained session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// Made by a role session assuming a role (role chaining).
    #[serde(default)]
    pub chained: bool,
}

impl Session {
    /// A new session of `account` lasting `secs`, with fresh `ASIA…` credentials and nothing else set.
    pub fn issue(
        account: &str,
        kind: SessionKind,
        session_name: Option<&str>,
        secs: i64,
    ) -> Session {
        let (access_key_id, secret) = new_credentials(account);
        let now = gatehouse_core::now_ms();
        Session {
            access_key_id,
            secret,
            account: account.to_owned(),
            kind,
            session_name: session_name.map(str::to_owned),
            issued_ms: now,
            expires_ms: now + secs * 1000,
            policy: None,
            policy_arns: Vec::new(),
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            chained: false,
        }
    }

    /// The session's ARN (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` for roles).
    pub fn role_session_arn(&self) -> Option<String> {
        match &self.kind {
            SessionKind::Role { name, .. } => Some(format!(
                "arn:aws:sts::{}:assumed-role/{name}/{}",
                self.account,
                self.session_name.as_deref().unwrap_or_default()
            )),
            _ => None,
        }
    }

    /// The federated user's ARN (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    pub fn federated_user_arn(&self) -> Option<String> {
        match &self.kind {
            SessionKind::Federated { .. } => Some(format!(
                "arn:aws:sts::{}:federated-user/{}",
                self.account,
                self.session_name.as_deref().unwrap_or_default()
            )),
            _ => None,
        }
    }

    /// Whether this is a role session.
    pub fn is_role(&self) -> bool {
        matches!(self.kind, SessionKind::Role { .. })
    }
}

/// Why temporary credentials are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// An `ASIA…` key without a token (or a token without any credentials): the key is unknown.
    MissingToken,
    /// The token cannot be opened, names another key, or comes with a long-term key.
    Invalid,
    /// The session has expired.
    Expired,
}

/// Seals a session into its token.
pub fn seal(keys: &crate::server_key::Keys, s: &Session) -> anyhow::Result<String> {
    let json = serde_json::to_vec(s)?;
    let sealed = keys.seal(&json, CONTEXT)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
    ))
}

/// Opens a token (any key of the ring).
pub fn open(keys: &crate::server_key::Keys, token: &str) -> Result<Session, TokenError> {
    let body = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenError::Invalid)?;
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Invalid)?;
    let json = keys
        .unseal(&sealed, CONTEXT)
        .map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Invalid)
}

/// A new `ASIA…` key id (naming `account`) and secret.
pub fn new_credentials(account: &str) -> (String, String) {
    (
        gatehouse_core::new_temp_access_key_id(account),
        gatehouse_core::new_secret_key(),
    )
}

/// Whether an access key id is a temporary one.
pub fn is_temporary(access_key_id: &str) -> bool {
    access_key_id.starts_with("ASIA")
}

/// The sessions of requests seen recently, by access key: a request's token is opened once and the key
/// resolves to the session while the same token keeps coming (every request must carry it).
#[derive(Default)]
pub struct Sessions {
    map: RwLock<HashMap<String, (String, ResolvedKey, i64)>>,
}

impl Sessions {
    /// The resolved key of a temporary access key whose token this process has verified, if unexpired.
    pub fn resolved(&self, access_key_id: &str) -> Option<ResolvedKey> {
        let now = gatehouse_core::now_ms();
        let m = self.map.read().ok()?;
        let (_, k, exp) = m.get(access_key_id)?;
        (*exp > now).then(|| k.clone())
    }

    /// Checks the request's credentials: an `ASIA` key needs its own unexpired token; a token with a
    /// long-term key is refused. On success the key resolves (through `AppState::resolve_key`) to its session.
    pub async fn check(
        &self,
        state: &AppState,
        access_key_id: &str,
        token: Option<&str>,
    ) -> Result<(), TokenError> {
        let temporary = is_temporary(access_key_id);
        let token = match (temporary, token) {
            (false, None) => return Ok(()),
            (false, Some(_)) => return Err(TokenError::Invalid),
            (true, None) => return Err(TokenError::MissingToken),
            (true, Some(t)) => t,
        };
        let now = gatehouse_core::now_ms();
        if let Ok(m) = self.map.read()
            && let Some((t, _, exp)) = m.get(access_key_id)
            && t == token
        {
            return if *exp > now {
                Ok(())
            } else {
                Err(TokenError::Expired)
            };
        }
        let s = open(&state.keys, token)?;
        verify(&s, access_key_id, now)?;
        let principal = session_principal(state, &s)
            .await
            .ok_or(TokenError::Invalid)?;
        let expires = s.expires_ms;
        let resolved = ResolvedKey {
            secret: s.secret.clone(),
            principal,
        };
        if let Ok(mut m) = self.map.write() {
            if m.len() > 100_000 {
                m.retain(|_, (_, _, exp)| *exp > now);
                if m.len() > 100_000 {
                    m.clear();
                }
            }
            m.insert(
                access_key_id.to_owned(),
                (token.to_owned(), resolved, expires),
            );
        }
        Ok(())
    }
}

/// A token's session fits the request: it names the request's key and has not expired.
fn verify(s: &Session, access_key_id: &str, now_ms: i64) -> Result<(), TokenError> {
    if s.access_key_id != access_key_id {
        return Err(TokenError::Invalid);
    }
    if s.expires_ms <= now_ms {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// The session token of a request (header, or presigned query parameter).
pub fn request_token<'a>(headers: &'a http::HeaderMap, query: Option<&'a str>) -> Option<String> {
    if let Some(v) = headers.get("x-amz-security-token") {
        return Some(v.to_str().unwrap_or_default().to_owned());
    }
    crate::access::context::query_param(query, "X-Amz-Security-Token")
}

/// The access key a request is signed with, if it can be read before verification.
fn request_access_key(creds: &crate::authorization::Credentials) -> Option<String> {
    use crate::authorization::Credentials;
    match creds {
        Credentials::SigV4(v) => Some(v.access_key.clone()),
        Credentials::SigV2 { access_key, .. } => access_key.clone(),
        _ => None,
    }
}

/// The front's check of temporary credentials on an S3 request (before s3s verifies the signature with the
/// secret the token holds): AWS's S3 errors.
pub async fn check_request<B>(
    state: &AppState,
    req: &http::Request<B>,
    creds: &crate::authorization::Credentials,
) -> Result<(), crate::errors::ApiError> {
    use crate::errors::{ApiError, Code};
    let token = request_token(req.headers(), req.uri().query());
    let Some(ak) = request_access_key(creds) else {
        return match token {
            // A token without credentials to go with it.
            Some(_) => Err(ApiError::new(
                Code::InvalidToken,
                "The provided token is malformed or otherwise invalid.",
            )),
            None => Ok(()),
        };
    };
    match state.sessions.check(state, &ak, token.as_deref()).await {
        Ok(()) => Ok(()),
        Err(TokenError::MissingToken) => Err(ApiError::new(
            Code::InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        )),
        Err(TokenError::Invalid) => Err(ApiError::new(
            Code::InvalidToken,
            "The provided token is malformed or otherwise invalid.",
        )),
        Err(TokenError::Expired) => Err(ApiError::new(
            Code::ExpiredToken,
            "The provided token has expired.",
        )),
    }
}

/// The principal a session acts as (`None`: its account or user is gone).
async fn session_principal(state: &AppState, s: &Session) -> Option<Principal> {
    let account = state.meta.get_account(&s.account).await.ok()??;
    let mut p = crate::state::root_principal(&account, &s.access_key_id);
    match &s.kind {
        SessionKind::Root => {}
        SessionKind::User { name } => {
            let user = state.meta.get_iam_user(&s.account, name).await.ok()??;
            p.arn = user.arn();
            p.user_id = user.user_id.clone();
            p.user_name = Some(user.name.clone());
            p.user_path = Some(user.path.clone());
        }
        SessionKind::Role { id, .. } => {
            p.arn = s.role_session_arn()?;
            p.user_id = format!("{id}:{}", s.session_name.as_deref().unwrap_or_default());
        }
        SessionKind::Federated { user, .. } => {
            // The parent user must still exist; the caller is the federated user, not the user.
            if let Some(user) = user {
                state.meta.get_iam_user(&s.account, user).await.ok()??;
            }
            p.arn = s.federated_user_arn()?;
            p.user_id = format!(
                "{}:{}",
                s.account,
                s.session_name.as_deref().unwrap_or_default()
            );
        }
    }
    p.session = Some(Arc::new(s.clone()));
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(ak: &str, expires_ms: i64) -> Session {
        Session {
            access_key_id: ak.into(),
            secret: "s".into(),
            account: "111122223333".into(),
            kind: SessionKind::Role {
                name: "r".into(),
                path: "/".into(),
                id: "AROAX".into(),
            },
            session_name: Some("x".into()),
            issued_ms: 0,
            expires_ms,
            policy: None,
            policy_arns: vec![],
            source_identity: None,
            tags: vec![("team".into(), "a".into())],
            transitive_tag_keys: vec![],
            chained: false,
        }
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering_other_keys_and_expiry() {
        let ring = gatehouse_kms::ServerKeyring::from_keys(
            &[vec![7u8; 32]],
            gatehouse_kms::KeySource::Memory,
        )
        .expect("ring");
        let keys = crate::server_key::Keys::new(ring);
        let s = session("ASIAAAAAAAAAAAAAAAAA", 2_000);
        let t = seal(&keys, &s).expect("seal");
        assert_eq!(open(&keys, &t), Ok(s.clone()));
        let mut b = t.clone().into_bytes();
        let last = b.len() - 3;
        b[last] = if b[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            open(&keys, &String::from_utf8(b).expect("utf8")),
            Err(TokenError::Invalid)
        );
        assert_eq!(open(&keys, &t[..t.len() - 4]), Err(TokenError::Invalid));
        assert_eq!(open(&keys, "GHST1"), Err(TokenError::Invalid));
        assert_eq!(verify(&s, "ASIAAAAAAAAAAAAAAAAA", 1_999), Ok(()));
        assert_eq!(
            verify(&s, "ASIAAAAAAAAAAAAAAAAA", 2_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&s, "ASIABBBBBBBBBBBBBBBB", 1_000),
            Err(TokenError::Invalid)
        );
        // A key this ring does not hold cannot open it.
        let other = crate::server_key::Keys::new(
            gatehouse_kms::ServerKeyring::from_keys(
                &[vec![9u8; 32]],
                gatehouse_kms::KeySource::Memory,
            )
            .expect("ring"),
        );
        assert_eq!(open(&other, &t), Err(TokenError::Invalid));
    }

    #[test]
    fn credentials_look_like_aws_ones() {
        let (ak, sk) = new_credentials("111122223333");
        assert!(ak.starts_with("ASIA") && ak.len() == 20, "{ak}");
        assert_eq!(sk.len(), 40);
        assert_ne!(new_credentials("111122223333").0, ak);
        assert!(is_temporary(&ak));
        assert!(!is_temporary("AKIAIOSFODNN7EXAMPLE"));
    }
}
