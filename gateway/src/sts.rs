//! The STS actions (query protocol, service `sts`): GetCallerIdentity, GetSessionToken and AssumeRole. The
//! trust policy, the caller's identity side and the session policy are decided by the policy engine in one
//! `evaluate` (trust mode); the credentials are an `ASIA…` key, a secret and a sealed session token
//! (`session`). AssumeRoleWithWebIdentity and the rest answer NotImplemented.

use gatehouse_policy::{CompiledPolicy, Context, PolicyKind};
use http::StatusCode;

use crate::errors::{ApiError, Code};
use crate::query::Caller;
use crate::session::{Session, SessionKind};
use crate::state::{AppState, Principal};

/// AWS's bounds on DurationSeconds.
const MIN_DURATION: i64 = 900;
const ROOT_SESSION_MAX: i64 = 3600;
const USER_SESSION_MAX: i64 = 129_600;
const USER_SESSION_DEFAULT: i64 = 43_200;
const CHAINED_MAX: i64 = 3600;
/// Plain-text limit of a session policy, and the packed limit of policy plus tags.
pub(crate) const SESSION_POLICY_MAX: usize = 2048;
const MAX_SESSION_TAGS: usize = 50;
/// At most this many managed session policies (`PolicyArns`).
const MAX_POLICY_ARNS: usize = 10;
/// The actions STS has (an unknown one is InvalidAction, whoever calls).
const KNOWN: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetFederationToken",
    "GetSessionToken",
];

pub(crate) fn validation(msg: impl Into<String>) -> ApiError {
    ApiError::new(Code::ValidationError, msg)
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `Name.member.N[.Field]` values in order of N.
fn members(params: &[(String, String)], name: &str, field: Option<&str>) -> Vec<(usize, String)> {
    let prefix = format!("{name}.member.");
    let mut v: Vec<(usize, String)> = params
        .iter()
        .filter_map(|(k, val)| {
            let rest = k.strip_prefix(&prefix)?;
            let (n, f) = match rest.split_once('.') {
                Some((n, f)) => (n, Some(f)),
                None => (rest, None),
            };
            (f == field).then(|| Some((n.parse().ok()?, val.clone())))?
        })
        .collect();
    v.sort();
    v
}

pub(crate) fn duration(
    params: &[(String, String)],
    default: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(d) = param(params, "DurationSeconds") else {
        return Ok(default.min(max));
    };
    let d: i64 = d
        .parse()
        .map_err(|_| validation(format!("Value '{d}' at 'durationSeconds' is not a number")))?;
    if d < MIN_DURATION {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"
        )));
    }
    Ok(d)
}

pub(crate) fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Iso8601::DEFAULT)
                .ok()
        })
        .map(|s| {
            // 2026-12-06T12:00:00.000000000Z -> 2026-12-06T12:00:00Z
            match s.split_once('.') {
                Some((head, _)) => format!("{head}Z"),
                None => s,
            }
        })
        .unwrap_or_default()
}

pub(crate) fn credentials(
    state: &AppState,
    s: &Session,
) -> Result<gatehouse_sts::TempCredentials, ApiError> {
    let token = crate::session::seal(&state.keys, s).map_err(|e| {
        tracing::error!(error = %e, "cannot seal a session token");
        ApiError::new(Code::InternalFailure, "An internal error occurred.")
    })?;
    Ok(gatehouse_sts::TempCredentials {
        access_key_id: s.access_key_id.clone(),
        secret_access_key: s.secret.clone(),
        session_token: token,
        expiration: iso(s.expires_ms),
    })
}

/// Handles one STS action.
pub(crate) async fn handle(
    state: &AppState,
    action: &str,
    caller: &Caller,
    params: &[(String, String)],
    rid: &str,
    context: &Context,
) -> Result<String, ApiError> {
    // What temporary credentials other than role sessions may call (AWS): federated users only
    // GetCallerIdentity; GetSessionToken credentials also AssumeRole (GetSessionToken answers its own error).
    if let Caller::Signed(p) = caller
        && let Some(s) = p.session.as_ref().filter(|s| !s.is_role())
    {
        let allowed = match s.kind {
            SessionKind::Federated { .. } => action == "GetCallerIdentity",
            _ => matches!(
                action,
                "GetCallerIdentity" | "AssumeRole" | "GetSessionToken"
            ),
        };
        if !allowed && KNOWN.contains(&action) {
            return Err(ApiError::new(
                Code::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: sts:{action} with these temporary credentials",
                    p.arn
                ),
            ));
        }
    }
    match (action, caller) {
        ("GetCallerIdentity", Caller::Signed(p)) => Ok(gatehouse_sts::get_caller_identity(
            &gatehouse_sts::CallerIdentity {
                account: p.account_id.clone(),
                arn: p.arn.clone(),
                user_id: p.user_id.clone(),
            },
            rid,
        )),
        ("GetSessionToken", Caller::Signed(p)) => get_session_token(state, p, params, rid),
        ("AssumeRole", Caller::Signed(p)) => assume_role(state, p, params, rid, context).await,
        ("AssumeRoleWithWebIdentity", _) => {
            crate::web_identity::assume_role_with_web_identity(state, params, rid, context).await
        }
        ("GetFederationToken", Caller::Signed(p)) => {
            get_federation_token(state, p, params, rid, context).await
        }
        ("GetAccessKeyInfo", Caller::Signed(p)) => {
            get_access_key_info(state, p, params, rid, context).await
        }
        ("DecodeAuthorizationMessage", Caller::Signed(p)) => {
            decode_authorization_message(state, p, params, context).await
        }
        ("AssumeRoleWithSAML", _) => Err(ApiError::new(
            Code::NotImplemented,
            format!("STS {action} is not implemented yet."),
        )),
        _ => Err(ApiError::new(
            Code::InvalidAction,
            format!("Could not find operation {action} for version 2011-06-15"),
        )),
    }
}

fn get_session_token(
    state: &AppState,
    p: &Principal,
    params: &[(String, String)],
    rid: &str,
) -> Result<String, ApiError> {
    if p.session.is_some() {
        return Err(ApiError::new(
            Code::AccessDenied,
            "Cannot call GetSessionToken with session credentials",
        ));
    }
    let (kind, max, default) = match &p.user_name {
        None => (SessionKind::Root, ROOT_SESSION_MAX, ROOT_SESSION_MAX),
        Some(name) => (
            SessionKind::User { name: name.clone() },
            USER_SESSION_MAX,
            USER_SESSION_DEFAULT,
        ),
    };
    let secs = duration(params, default, max)?.min(max);
    let s = Session::issue(&p.account_id, kind, None, secs);
    Ok(gatehouse_sts::get_session_token(
        &credentials(state, &s)?,
        rid,
    ))
}

fn denied(p: &Principal, action: &str, resource: &str) -> ApiError {
    ApiError::new(
        Code::AccessDenied,
        format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            p.arn
        ),
    )
}

/// The caller's own policies must allow `action` on `resource` of its account (the account root may).
async fn require(
    state: &AppState,
    p: &Principal,
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<(), ApiError> {
    if p.is_root()
        || crate::authz::identity_decision(state, p, action, resource, &p.account_id, context).await
            == crate::authz::Decision::Allow
    {
        Ok(())
    } else {
        Err(denied(p, action, resource))
    }
}

/// A RoleSessionName: 2-64 of `[\w+=,.@-]`.
pub(crate) fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

async fn assume_role(
    state: &AppState,
    p: &Principal,
    params: &[(String, String)],
    rid: &str,
    context: &Context,
) -> Result<String, ApiError> {
    let role_arn = param(params, "RoleArn")
        .ok_or_else(|| validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"))?;
    let session_name = param(params, "RoleSessionName").ok_or_else(|| {
        validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
    })?;
    if !valid_session_name(session_name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    // The role: arn:aws:iam::ACCOUNT:role/PATH/NAME.
    let parts = gatehouse_policy::pattern::split_arn(role_arn)
        .filter(|a| a[2] == "iam" && a[5].starts_with("role/"))
        .ok_or_else(|| validation(format!("{role_arn} is invalid")))?;
    let (account, resource) = (parts[4].to_owned(), parts[5].to_owned());
    let rest = &resource["role/".len()..];
    let (path, name) = match rest.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name.to_owned()),
        None => ("/".to_owned(), rest.to_owned()),
    };
    let role = match state.meta.get_iam_role(&account, &name).await {
        Ok(Some(r)) if r.path == path => r,
        Ok(_) => return Err(denied(p, "sts:AssumeRole", role_arn)),
        Err(e) => {
            tracing::error!(error = %e, "role lookup failed");
            return Err(ApiError::new(
                Code::InternalFailure,
                "An internal error occurred.",
            ));
        }
    };
    // Session policies, tags, source identity.
    let policies = session_policies(state, params, &role.account_id).await?;
    let mut tags = session_tags(params)?;
    let transitive: Vec<String> = members(params, "TransitiveTagKeys", None)
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let source_identity = param(params, "SourceIdentity").map(str::to_owned);
    // Role chaining: a role session's transitive tags go on, and cannot be replaced.
    let chained = p.session.as_ref().is_some_and(|s| s.is_role());
    let mut transitive_keys = transitive.clone();
    if let Some(s) = p.session.as_ref().filter(|s| s.is_role()) {
        for (k, v) in &s.tags {
            if s.transitive_tag_keys
                .iter()
                .any(|t| t.eq_ignore_ascii_case(k))
            {
                if tags.iter().any(|(t, _)| t.eq_ignore_ascii_case(k)) {
                    return Err(validation(format!(
                        "The session tag {k} is transitive from the calling session and cannot be set again"
                    )));
                }
                tags.push((k.clone(), v.clone()));
                transitive_keys.push(k.clone());
            }
        }
    }
    let (packed, packed_percent) = packed_size(&policies, &tags)?;
    let max = if chained {
        CHAINED_MAX
    } else {
        role.max_session_duration
    };
    let secs = duration(params, 3600, max)?;
    if secs > max {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    // The decision: the trust policy, and the caller's own side, in trust mode.
    let caller = crate::authz::Caller::resolve(state, Some(p.clone()))
        .await
        .map_err(|_| denied(p, "sts:AssumeRole", role_arn))?;
    let trust = CompiledPolicy::parse(&role.trust_policy, PolicyKind::Trust, &role.arn())
        .map_err(|e| {
            tracing::error!(error = %e, role = %role.arn(), "stored trust policy unreadable: denied");
            denied(p, "sts:AssumeRole", role_arn)
        })?;
    let mut ctx = context.clone();
    ctx.insert("sts:RoleSessionName", session_name);
    if let Some(x) = param(params, "ExternalId") {
        ctx.insert("sts:ExternalId", x);
    }
    if let Some(si) = &source_identity {
        ctx.insert("sts:SourceIdentity", si.as_str());
    }
    for (k, v) in &tags {
        ctx.insert(&format!("aws:RequestTag/{k}"), v.as_str());
    }
    if !tags.is_empty() {
        ctx.insert(
            "aws:TagKeys",
            gatehouse_policy::ContextValue::List(
                tags.iter()
                    .map(|(k, _)| gatehouse_policy::ContextValue::String(k.clone()))
                    .collect(),
            ),
        );
    }
    if !transitive.is_empty() {
        ctx.insert(
            "sts:TransitiveTagKeys",
            gatehouse_policy::ContextValue::List(
                transitive
                    .iter()
                    .map(|k| gatehouse_policy::ContextValue::String(k.clone()))
                    .collect(),
            ),
        );
    }
    let mut actions = vec!["sts:AssumeRole"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    if source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    for a in actions {
        let d =
            crate::authz::decide_trust(state, &caller, a, role_arn, &role.account_id, &trust, &ctx);
        if !d.is_allowed() {
            tracing::debug!(action = a, detail = d.detail, "AssumeRole denied");
            return Err(denied(p, a, role_arn));
        }
    }

    let kind = SessionKind::Role {
        name: role.name.clone(),
        path: role.path.clone(),
        id: role.role_id.clone(),
    };
    let s = Session {
        policy: policies.policy,
        policy_arns: policies.arns,
        source_identity: source_identity.clone(),
        tags,
        transitive_tag_keys: transitive_keys,
        chained,
        ..Session::issue(&role.account_id, kind, Some(session_name), secs)
    };
    let c = credentials(state, &s)?;
    let arn = s.role_session_arn().unwrap_or_default();
    Ok(gatehouse_sts::assume_role(
        &c,
        &arn,
        &format!("{}:{session_name}", role.role_id),
        (packed > 0).then_some(packed_percent),
        source_identity.as_deref(),
        rid,
    ))
}

/// The session policies of a request: the inline `Policy` and the managed `PolicyArns` (of `account`, or
/// AWS-managed), validated.
pub(crate) struct SessionPolicies {
    pub policy: Option<String>,
    pub arns: Vec<String>,
}

fn malformed(msg: impl Into<String>) -> ApiError {
    ApiError::custom(
        "MalformedPolicyDocument",
        StatusCode::BAD_REQUEST,
        true,
        msg.into(),
    )
}

/// Reads and validates `Policy` and `PolicyArns.member.N.arn`; a managed policy must exist in `account` (the
/// role's, or the federating user's) or be AWS-managed.
pub(crate) async fn session_policies(
    state: &AppState,
    params: &[(String, String)],
    account: &str,
) -> Result<SessionPolicies, ApiError> {
    let policy = param(params, "Policy").map(str::to_owned);
    if let Some(doc) = &policy {
        if doc.len() > SESSION_POLICY_MAX {
            return Err(validation(format!(
                "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to {SESSION_POLICY_MAX}"
            )));
        }
        CompiledPolicy::parse(doc, PolicyKind::Session, "session")
            .map_err(|e| malformed(e.to_string()))?;
    }
    let arns: Vec<String> = members(params, "PolicyArns", Some("arn"))
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    if arns.len() > MAX_POLICY_ARNS {
        return Err(validation(format!(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )));
    }
    for arn in &arns {
        if !(20..=2048).contains(&arn.len()) {
            return Err(validation(format!(
                "1 validation error detected: Value '{arn}' at 'policyArns.arn' failed to satisfy constraint: Member must have length greater than or equal to 20"
            )));
        }
        let owner = gatehouse_policy::pattern::split_arn(arn)
            .filter(|a| a[2] == "iam" && a[5].starts_with("policy/"))
            .map(|a| a[4].to_owned())
            .ok_or_else(|| malformed(format!("Invalid policy ARN: {arn}")))?;
        let missing = || malformed(format!("Policy {arn} does not exist or is not attachable."));
        if owner != account && owner != "aws" {
            return Err(missing());
        }
        match crate::identity::managed_document(&state.meta, account, arn).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(missing()),
            Err(e) => {
                tracing::error!(error = %e, arn, "managed session policy lookup failed");
                return Err(ApiError::new(
                    Code::InternalFailure,
                    "An internal error occurred.",
                ));
            }
        }
    }
    Ok(SessionPolicies { policy, arns })
}

/// `Tags.member.N.Key` / `.Value`, at most 50.
pub(crate) fn session_tags(params: &[(String, String)]) -> Result<Vec<(String, String)>, ApiError> {
    let keys = members(params, "Tags", Some("Key"));
    let values = members(params, "Tags", Some("Value"));
    if keys.len() != values.len() || keys.iter().zip(&values).any(|(k, v)| k.0 != v.0) {
        return Err(validation("Each session tag needs a Key and a Value"));
    }
    let tags: Vec<(String, String)> = keys
        .into_iter()
        .zip(values)
        .map(|((_, k), (_, v))| (k, v))
        .collect();
    if tags.len() > MAX_SESSION_TAGS {
        return Err(validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_SESSION_TAGS}"
        )));
    }
    Ok(tags)
}

/// The packed size of session policies and tags (the policy without white space, the policy ARNs, the
/// tags' keys and values) and its percentage of the allowance; PackedPolicyTooLarge over 100%.
pub(crate) fn packed_size(
    p: &SessionPolicies,
    tags: &[(String, String)],
) -> Result<(usize, u32), ApiError> {
    let packed = p
        .policy
        .as_deref()
        .map_or(0, |d| d.chars().filter(|c| !c.is_whitespace()).count())
        + p.arns.iter().map(String::len).sum::<usize>()
        + tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    let percent = u32::try_from(packed * 100 / SESSION_POLICY_MAX).unwrap_or(u32::MAX);
    if percent > 100 {
        return Err(ApiError::new(
            Code::PackedPolicyTooLarge,
            format!(
                "Packed policy consumes {percent}% of allotted space, please use smaller policy."
            ),
        ));
    }
    Ok((packed, percent))
}

/// GetAccessKeyInfo: the account of an access key id: the stored key's account when this deployment knows
/// the key, else the account the id itself carries (AWS's encoding, which Gatehouse's key ids follow).
async fn get_access_key_info(
    state: &AppState,
    p: &Principal,
    params: &[(String, String)],
    rid: &str,
    context: &Context,
) -> Result<String, ApiError> {
    let id = param(params, "AccessKeyId").ok_or_else(|| {
        validation("1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null")
    })?;
    if !(16..=128).contains(&id.len())
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{id}' at 'accessKeyId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]*"
        )));
    }
    require(state, p, "sts:GetAccessKeyInfo", "*", context).await?;
    let account = match state.resolve_key(id).await {
        Ok(Some(k)) => Some(k.principal.account_id),
        Ok(None) | Err(crate::state::KeyError::Unopenable) => None,
        Err(e) => {
            tracing::error!(error = %e, "access key lookup failed");
            return Err(ApiError::new(
                Code::InternalFailure,
                "An internal error occurred.",
            ));
        }
    }
    .or_else(|| gatehouse_core::account_of_access_key_id(id))
    .ok_or_else(|| validation(format!("The access key id {id} is not valid.")))?;
    Ok(gatehouse_sts::get_access_key_info(&account, rid))
}

/// DecodeAuthorizationMessage: Gatehouse never encodes the reason of a denial (S3 and IAM answer plain
/// AccessDenied, as on AWS), so no message can be one of its own: every one is refused as AWS refuses a message
/// it did not issue, after the caller's permission is checked.
async fn decode_authorization_message(
    state: &AppState,
    p: &Principal,
    params: &[(String, String)],
    context: &Context,
) -> Result<String, ApiError> {
    let Some(msg) = param(params, "EncodedMessage") else {
        return Err(validation(
            "1 validation error detected: Value null at 'encodedMessage' failed to satisfy constraint: Member must not be null",
        ));
    };
    if msg.is_empty() || msg.len() > 10_240 {
        return Err(validation(
            "1 validation error detected: Value at 'encodedMessage' failed to satisfy constraint: Member must have length between 1 and 10240",
        ));
    }
    require(state, p, "sts:DecodeAuthorizationMessage", "*", context).await?;
    Err(ApiError::custom(
        "InvalidAuthorizationMessageException",
        StatusCode::BAD_REQUEST,
        true,
        "The encoded authorization message is not valid.",
    ))
}

/// A federated user's name: 2-32 of `[\w+=,.@-]`.
fn valid_federated_name(s: &str) -> bool {
    (2..=32).contains(&s.len()) && valid_session_name(s)
}

/// GetFederationToken for an IAM user or the account root: a federated-user session whose permissions are the
/// user's policies (the root's: everything) within the session policies (none passed: no identity-based
/// permissions, as AWS).
async fn get_federation_token(
    state: &AppState,
    p: &Principal,
    params: &[(String, String)],
    rid: &str,
    context: &Context,
) -> Result<String, ApiError> {
    if p.session.is_some() {
        return Err(ApiError::new(
            Code::AccessDenied,
            "Cannot call GetFederationToken with session credentials",
        ));
    }
    // An IAM user, or the account root (AWS allows it, for at most an hour).
    let user = crate::identity::user_of(p).map(|(_, u)| u.to_owned());
    let max = if user.is_some() {
        USER_SESSION_MAX
    } else {
        ROOT_SESSION_MAX
    };
    let name = param(params, "Name").ok_or_else(|| {
        validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
    })?;
    if !valid_federated_name(name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 32"
        )));
    }
    let secs = duration(params, USER_SESSION_DEFAULT, max)?;
    if secs > USER_SESSION_MAX {
        return Err(validation(format!(
            "1 validation error detected: Value '{secs}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {USER_SESSION_MAX}"
        )));
    }
    // The root's sessions last at most an hour, whatever is asked (as AWS).
    let secs = secs.min(max);
    let policies = session_policies(state, params, &p.account_id).await?;
    let tags = session_tags(params)?;
    let (packed, packed_percent) = packed_size(&policies, &tags)?;
    let arn = format!("arn:aws:sts::{}:federated-user/{name}", p.account_id);
    let mut actions = vec!["sts:GetFederationToken"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    for a in actions {
        require(state, p, a, &arn, context).await?;
    }
    let kind = SessionKind::Federated {
        user,
        path: p.user_path.clone().unwrap_or_else(|| "/".to_owned()),
    };
    let s = Session {
        policy: policies.policy,
        policy_arns: policies.arns,
        tags,
        ..Session::issue(&p.account_id, kind, Some(name), secs)
    };
    Ok(gatehouse_sts::get_federation_token(
        &credentials(state, &s)?,
        &arn,
        &format!("{}:{name}", p.account_id),
        (packed > 0).then_some(packed_percent),
        rid,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_and_member_lists() {
        assert!(valid_session_name("app-1@x.y"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("has space"));
        let p = vec![
            ("Tags.member.2.Key".to_owned(), "b".to_owned()),
            ("Tags.member.1.Key".to_owned(), "a".to_owned()),
            ("Tags.member.1.Value".to_owned(), "1".to_owned()),
            ("TransitiveTagKeys.member.1".to_owned(), "a".to_owned()),
        ];
        assert_eq!(
            members(&p, "Tags", Some("Key")),
            [(1, "a".to_owned()), (2, "b".to_owned())]
        );
        assert_eq!(members(&p, "Tags", Some("Value")), [(1, "1".to_owned())]);
        assert_eq!(
            members(&p, "TransitiveTagKeys", None),
            [(1, "a".to_owned())]
        );
        assert_eq!(iso(1_765_022_400_000), "2025-12-06T12:00:00Z");
    }
}
