//! AssumeRoleWithWebIdentity: an unsigned STS call carrying an OIDC token. The role's account must have an
//! OpenID Connect provider for the token's issuer; the token is verified against the issuer's keys
//! (`oidc.rs`), its audience must be one of the provider's client ids, and the role's trust policy decides
//! with the provider as the (federated) principal and the token's claims as `PROVIDER:sub`, `PROVIDER:aud`,
//! `PROVIDER:amr` condition keys; session tags come from the `https://aws.amazon.com/tags` claim.

use gatehouse_policy::{CompiledPolicy, Context, ContextValue, PolicyKind};
use http::StatusCode;

use crate::errors::{ApiError, Code};
use crate::session::{Session, SessionKind};
use crate::state::AppState;
use crate::sts::{credentials, duration, param, valid_session_name, validation};

/// The longest token AWS takes.
const MAX_TOKEN: usize = 20_000;

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::custom("InvalidIdentityToken", StatusCode::BAD_REQUEST, true, msg)
}

fn denied() -> ApiError {
    ApiError::new(
        Code::AccessDenied,
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )
}

/// The `https://aws.amazon.com/tags` claim: principal tags (first value of each) and transitive keys.
fn session_tags(claims: &crate::oidc::Claims) -> (Vec<(String, String)>, Vec<String>) {
    let Some(t) = claims
        .0
        .get("https://aws.amazon.com/tags")
        .and_then(|v| v.as_object())
    else {
        return (Vec::new(), Vec::new());
    };
    let tags = t
        .get("principal_tags")
        .and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::Array(a) => a.first()?.as_str()?.to_owned(),
                        serde_json::Value::String(s) => s.clone(),
                        _ => return None,
                    };
                    Some((k.clone(), v))
                })
                .collect()
        })
        .unwrap_or_default();
    let transitive = t
        .get("transitive_tag_keys")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (tags, transitive)
}

/// The issuer claim, read before the token is verified (to find the provider whose keys verify it).
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

pub(crate) async fn assume_role_with_web_identity(
    state: &AppState,
    params: &[(String, String)],
    rid: &str,
    context: &Context,
) -> Result<String, ApiError> {
    let role_arn = param(params, "RoleArn").ok_or_else(|| validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"))?;
    let session_name = param(params, "RoleSessionName").ok_or_else(|| validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"))?;
    if !valid_session_name(session_name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    let token = param(params, "WebIdentityToken").ok_or_else(|| validation("1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null"))?;
    if token.len() < 4 || token.len() > MAX_TOKEN {
        return Err(validation(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000",
        ));
    }
    if param(params, "ProviderId").is_some() {
        return Err(ApiError::new(
            Code::NotImplemented,
            "ProviderId (OAuth 2.0 access tokens) is not implemented yet.",
        ));
    }
    // The role.
    let parts = gatehouse_policy::pattern::split_arn(role_arn)
        .filter(|a| a[2] == "iam" && a[5].starts_with("role/"))
        .ok_or_else(|| validation(format!("{role_arn} is invalid")))?;
    let (account, rest) = (parts[4].to_owned(), parts[5]["role/".len()..].to_owned());
    let (path, name) = match rest.rsplit_once('/') {
        Some((p, n)) => (format!("/{p}/"), n.to_owned()),
        None => ("/".to_owned(), rest.clone()),
    };
    let role = match state.meta.get_iam_role(&account, &name).await {
        Ok(Some(r)) if r.path == path => r,
        Ok(_) => return Err(denied()),
        Err(e) => {
            tracing::error!(error = %e, "role lookup failed");
            return Err(ApiError::new(
                Code::InternalFailure,
                "An internal error occurred.",
            ));
        }
    };
    let policies = crate::sts::session_policies(state, params, &role.account_id).await?;
    // The provider, then the token.
    let iss = unverified_issuer(token)
        .ok_or_else(|| invalid("The web identity token is not a valid JWT."))?;
    let url = iss
        .strip_prefix("https://")
        .map(|u| u.trim_end_matches('/').to_owned())
        .ok_or_else(|| invalid("The token's issuer is not an https URL."))?;
    let provider = match state.meta.get_oidc_provider(&role.account_id, &url).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(invalid(format!(
                "No OpenIDConnect provider found in your account for {iss}"
            )));
        }
        Err(e) => {
            tracing::error!(error = %e, "OIDC provider lookup failed");
            return Err(ApiError::new(
                Code::InternalFailure,
                "An internal error occurred.",
            ));
        }
    };
    let now = gatehouse_core::now_ms();
    let claims = match state
        .oidc
        .verify(token, &format!("https://{url}"), now / 1000)
        .await
    {
        Ok(c) => c,
        Err(crate::oidc::TokenError::Expired) => {
            return Err(ApiError::custom(
                "ExpiredTokenException",
                StatusCode::BAD_REQUEST,
                true,
                "Token is expired",
            ));
        }
        Err(crate::oidc::TokenError::Invalid(m)) => return Err(invalid(m)),
        Err(crate::oidc::TokenError::Communication(m)) => {
            tracing::warn!(provider = %url, error = %m, "OIDC provider unreachable");
            return Err(ApiError::custom(
                "IDPCommunicationError",
                StatusCode::BAD_REQUEST,
                true,
                "The identity provider could not be reached or did not answer as expected.",
            ));
        }
    };
    let aud = claims.list("aud");
    let Some(audience) = aud
        .iter()
        .find(|a| provider.client_ids.contains(a))
        .cloned()
    else {
        return Err(invalid("Incorrect token audience"));
    };
    let sub = claims.str("sub").unwrap_or_default().to_owned();
    let (tags, transitive) = session_tags(&claims);
    let (packed, packed_percent) = crate::sts::packed_size(&policies, &tags)?;
    // The trust policy decides, with the provider as principal and the claims as keys.
    let trust = CompiledPolicy::parse(&role.trust_policy, PolicyKind::Trust, &role.arn())
        .map_err(|_| denied())?;
    let principal = gatehouse_policy::Principal::federated(&provider.arn());
    let mut ctx = context.clone();
    ctx.insert("sts:RoleSessionName", session_name);
    ctx.insert("aws:FederatedProvider", provider.arn());
    ctx.insert(&format!("{url}:sub"), sub.as_str());
    ctx.insert(&format!("{url}:aud"), audience.as_str());
    let amr = claims.list("amr");
    if !amr.is_empty() {
        ctx.insert(
            &format!("{url}:amr"),
            ContextValue::List(amr.into_iter().map(ContextValue::String).collect()),
        );
    }
    for (k, v) in &tags {
        ctx.insert(&format!("aws:RequestTag/{k}"), v.as_str());
    }
    if !tags.is_empty() {
        ctx.insert(
            "aws:TagKeys",
            ContextValue::List(
                tags.iter()
                    .map(|(k, _)| ContextValue::String(k.clone()))
                    .collect(),
            ),
        );
    }
    let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    // The caller is the provider itself (no identity policies of its own): only the trust policy decides.
    let caller = crate::authz::Caller {
        principal: None,
        engine: principal,
        policies: None,
        session_policies: None,
    };
    for a in actions {
        let d =
            crate::authz::decide_trust(state, &caller, a, role_arn, &role.account_id, &trust, &ctx);
        if !d.is_allowed() {
            tracing::debug!(
                action = a,
                detail = d.detail,
                "AssumeRoleWithWebIdentity denied"
            );
            return Err(denied());
        }
    }
    let secs = duration(params, 3600, role.max_session_duration)?;
    if secs > role.max_session_duration {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let kind = SessionKind::Role {
        name: role.name.clone(),
        path: role.path.clone(),
        id: role.role_id.clone(),
    };
    let s = Session {
        policy: policies.policy,
        policy_arns: policies.arns,
        tags,
        transitive_tag_keys: transitive,
        ..Session::issue(&role.account_id, kind, Some(session_name), secs)
    };
    let c = credentials(state, &s)?;
    Ok(gatehouse_sts::assume_role_with_web_identity(
        &c,
        &s.role_session_arn().unwrap_or_default(),
        &format!("{}:{session_name}", role.role_id),
        &sub,
        &audience,
        &provider.arn(),
        (packed > 0).then_some(packed_percent),
        rid,
    ))
}
