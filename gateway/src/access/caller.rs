//! The caller of a request as the policy engine sees it, resolved once (account root, IAM user, role
//! session, federated user, anonymous) with the policies that bound it.

use std::sync::Arc;

use crate::identity::UserPolicies;
use crate::state::{AppState, Principal};

/// The caller as the policy engine sees it, resolved once per request (request extension).
#[derive(Debug)]
pub struct Caller {
    /// The authenticated principal; `None` for anonymous requests.
    pub principal: Option<Principal>,
    /// The engine's principal.
    pub engine: gatehouse_policy::Principal,
    /// The caller's compiled identity policies and boundary (IAM users and role sessions).
    pub policies: Option<Arc<UserPolicies>>,
    /// A session's session policies.
    pub session_policies: Option<Arc<Vec<Arc<gatehouse_policy::CompiledPolicy>>>>,
}

impl Caller {
    /// Resolves the caller; an IAM user whose policies cannot be loaded is an error (the request is denied).
    pub async fn resolve(
        state: &AppState,
        principal: Option<Principal>,
    ) -> Result<Caller, &'static str> {
        let Some(p) = principal else {
            return Ok(Caller {
                principal: None,
                engine: gatehouse_policy::Principal::anonymous(),
                policies: None,
                session_policies: None,
            });
        };
        let session = p.session.clone();
        let session_data = session.as_ref().map(|s| gatehouse_policy::SessionData {
            token_issue_time: time::OffsetDateTime::from_unix_timestamp(s.issued_ms / 1000).ok(),
            source_identity: s.source_identity.clone(),
            tags: s.tags.clone(),
            ..Default::default()
        });
        let session_policies = match &session {
            Some(s) => state
                .iam
                .session_policies(&state.meta, s)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "cannot load the session policies: denied");
                    "the session policies could not be loaded"
                })?,
            None => None,
        };
        if let Some(s) = &session
            && let crate::session::SessionKind::Role { name, path, id } = &s.kind
        {
            let pol = state.iam.role(&state.meta, &s.account, name).await.map_err(|e| {
                tracing::warn!(error = %e, role = name, "cannot load the role's policies: denied");
                "the role's policies could not be loaded"
            })?;
            if pol.role.role_id != *id {
                return Err("the session's role was deleted");
            }
            let engine = gatehouse_policy::Principal::assumed_role(
                &s.account,
                path,
                name,
                s.session_name.as_deref().unwrap_or_default(),
                id,
                Some(&p.canonical_id),
            )
            .with_session(session_data.unwrap_or_default());
            return Ok(Caller {
                engine,
                principal: Some(p),
                policies: Some(Arc::new(UserPolicies {
                    principal: gatehouse_policy::Principal::anonymous(),
                    identity: pol.identity.clone(),
                    boundary: pol.boundary.clone(),
                })),
                session_policies,
            });
        }
        if let Some(s) = &session
            && let crate::session::SessionKind::Federated { user, path } = &s.kind
        {
            // The parent's permissions capped by the session policies (none: no identity permissions): an
            // IAM user's policies, or everything for the account root.
            let name = s.session_name.as_deref().unwrap_or_default();
            let (engine, pol) = match user {
                Some(user) => {
                    let pol = state
                        .iam
                        .user(&state.meta, &s.account, user, &p.canonical_id)
                        .await
                        .map_err(|e| {
                            tracing::warn!(error = %e, user, "cannot load the parent user's policies: denied");
                            "the parent user's policies could not be loaded"
                        })?;
                    let engine = gatehouse_policy::Principal::federated_user(
                        &s.account,
                        path,
                        user,
                        name,
                        Some(&p.canonical_id),
                    );
                    (engine, pol)
                }
                None => {
                    let mut engine = gatehouse_policy::Principal::federated_user(
                        &s.account,
                        "/",
                        "root",
                        name,
                        Some(&p.canonical_id),
                    );
                    engine.parent_arn = Some(format!("arn:aws:iam::{}:root", s.account));
                    let pol = Arc::new(crate::identity::UserPolicies {
                        principal: engine.clone(),
                        identity: vec![crate::identity::root_identity().map_err(|e| {
                            tracing::error!(error = %e, "the root's identity policy: denied");
                            "the root's identity policy could not be compiled"
                        })?],
                        boundary: None,
                    });
                    (engine, pol)
                }
            };
            return Ok(Caller {
                engine: engine.with_session(session_data.unwrap_or_default()),
                principal: Some(p),
                policies: Some(pol),
                session_policies,
            });
        }
        if let Some((account, name)) = crate::identity::user_of(&p) {
            return match state
                .iam
                .user(&state.meta, account, name, &p.canonical_id)
                .await
            {
                Ok(pol) => {
                    let mut engine = pol.principal.clone();
                    if let Some(d) = session_data {
                        engine = engine.with_session(d);
                    }
                    Ok(Caller {
                        engine,
                        principal: Some(p),
                        policies: Some(pol),
                        session_policies,
                    })
                }
                Err(e) => {
                    tracing::warn!(error = %e, user = name, "cannot load the user's policies: denied");
                    Err("the user's policies could not be loaded")
                }
            };
        }
        let mut engine = gatehouse_policy::Principal::root(&p.account_id, Some(&p.canonical_id));
        if let Some(d) = session_data {
            engine = engine.with_session(d);
        }
        Ok(Caller {
            engine,
            principal: Some(p),
            policies: None,
            session_policies,
        })
    }

    /// Whether the caller has policies of its own (identity, boundary or session) that condition keys could
    /// matter to.
    pub fn has_policies(&self) -> bool {
        self.policies.is_some() || self.session_policies.is_some()
    }

    /// The caller's account, if it has one.
    pub fn account(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.account_id.as_str())
    }

    /// Whether this is the root user of `account`.
    pub fn is_root_of(&self, account: &str) -> bool {
        self.principal
            .as_ref()
            .is_some_and(|p| p.is_root() && p.account_id == account)
    }
}
