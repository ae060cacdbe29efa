//! IAM users as the policy engine sees them: their identity policies (inline, attached, their groups') and
//! permissions boundary, read in one snapshot (`Meta::user_authz`), compiled once and cached.
//!
//! Exactness: every IAM change made through this server empties the account's entries when it commits
//! (`IamCache::account_changed`) and bumps a generation, and a read that started before a change is not
//! stored, so this server never serves a policy older than its own last change; an entry is otherwise trusted
//! for at most `TTL`, so a change made through another gateway sharing the database is seen within that bound. Loading or compiling anything fails closed: the caller denies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_policy::{CompiledPolicy, Context, Layers, Outcome, PolicyKind, Request};

use crate::state::Principal;

/// How long a cached user's policies are trusted (the cross-gateway convergence bound).
pub const TTL: Duration = Duration::from_secs(1);

/// An IAM user's compiled policies.
#[derive(Debug)]
pub struct UserPolicies {
    pub principal: gatehouse_policy::Principal,
    pub identity: Vec<Arc<CompiledPolicy>>,
    pub boundary: Option<Arc<CompiledPolicy>>,
}

/// Why a user's policies could not be had (the request is then denied).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("metadata: {0}")]
    Meta(String),
    #[error("the user no longer exists")]
    NoSuchUser,
    #[error("policy {0} cannot be used: {1}")]
    Policy(String, String),
}

/// Compiled policies by (account, name), each trusted for `TTL`.
struct Entries<V>(RwLock<HashMap<(String, String), Entry<V>>>);

/// When an entry was read, and what.
type Entry<V> = (Instant, Arc<V>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(RwLock::default())
    }
}

impl<V> Entries<V> {
    fn fresh(&self, key: &(String, String)) -> Option<Arc<V>> {
        let m = self.0.read().ok()?;
        let (at, v) = m.get(key)?;
        (at.elapsed() < TTL).then(|| Arc::clone(v))
    }

    /// Stores what a load begun at `generation` (and `read_at`) found, unless a change happened since.
    fn store(
        &self,
        now: &AtomicU64,
        generation: u64,
        key: (String, String),
        read_at: Instant,
        v: &Arc<V>,
    ) {
        if let Ok(mut m) = self.0.write()
            && now.load(Ordering::SeqCst) == generation
        {
            if m.len() > 100_000 {
                m.clear();
            }
            m.insert(key, (read_at, Arc::clone(v)));
        }
    }

    fn forget_account(&self, account_id: &str) {
        if let Ok(mut m) = self.0.write() {
            m.retain(|(a, _), _| a != account_id);
        }
    }
}

/// A role's compiled policies (its trust policy is compiled by AssumeRole when needed).
#[derive(Debug)]
pub struct RolePolicies {
    pub role: gatehouse_meta::IamRole,
    pub identity: Vec<Arc<CompiledPolicy>>,
    pub boundary: Option<Arc<CompiledPolicy>>,
}

/// Cached compiled policies per (account, user name), per (account, role name), and per session.
#[derive(Default)]
pub struct IamCache {
    users: Entries<UserPolicies>,
    roles: Entries<RolePolicies>,
    /// Session policies by temporary access key (a session's policies never change).
    sessions: RwLock<HashMap<String, Arc<Vec<Arc<CompiledPolicy>>>>>,
    /// Session policies of sessions with managed session policies, by (account, access key), for `TTL`.
    managed_sessions: Entries<Vec<Arc<CompiledPolicy>>>,
    /// Bumped by every change: a load that saw an older generation is not stored.
    generation: AtomicU64,
}

impl IamCache {
    /// Drops every cached entry of the account (called after each IAM change made here).
    pub fn account_changed(&self, account_id: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.users.forget_account(account_id);
        self.roles.forget_account(account_id);
        self.managed_sessions.forget_account(account_id);
    }

    /// A role's compiled policies, from the cache when fresh (same rules as `user`).
    pub async fn role(
        &self,
        meta: &gatehouse_meta::Meta,
        account_id: &str,
        role_name: &str,
    ) -> Result<Arc<RolePolicies>, LoadError> {
        let key = (account_id.to_owned(), role_name.to_ascii_lowercase());
        if let Some(p) = self.roles.fresh(&key) {
            return Ok(p);
        }
        let read_at = Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let resolver = |arn: &str| gatehouse_iam::resolve_aws_managed(arn);
        let authz = meta
            .role_authz(account_id, role_name, Some(&resolver))
            .await
            .map_err(|e| LoadError::Meta(e.to_string()))?
            .ok_or(LoadError::NoSuchUser)?;
        let mut identity = Vec::new();
        compile_own(&authz.policies, &authz.role.arn(), &mut identity)?;
        let compiled = Arc::new(RolePolicies {
            boundary: compile_boundary(authz.boundary.as_ref())?,
            role: authz.role,
            identity,
        });
        self.roles
            .store(&self.generation, generation, key, read_at, &compiled);
        Ok(compiled)
    }

    /// A session's compiled session policies (`None`: the session has none): its inline policy and the
    /// managed policies passed as `PolicyArns`. A session with managed ones is re-read like a user's
    /// policies (they can change: a new default version applies to running sessions, as on AWS); one with
    /// only an inline policy never changes and is kept by access key.
    pub async fn session_policies(
        &self,
        meta: &gatehouse_meta::Meta,
        s: &crate::session::Session,
    ) -> Result<Option<Arc<Vec<Arc<CompiledPolicy>>>>, LoadError> {
        if s.policy.is_none() && s.policy_arns.is_empty() {
            return Ok(None);
        }
        let key = (s.account.clone(), s.access_key_id.clone());
        if s.policy_arns.is_empty() {
            if let Ok(m) = self.sessions.read()
                && let Some(p) = m.get(&s.access_key_id)
            {
                return Ok(Some(Arc::clone(p)));
            }
        } else if let Some(p) = self.managed_sessions.fresh(&key) {
            return Ok(Some(p));
        }
        let read_at = Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let id = format!("session-policy:{}", s.access_key_id);
        let mut compiled = Vec::new();
        if let Some(doc) = &s.policy {
            compiled.push(compile_doc(Some(doc), PolicyKind::Session, &id)?);
        }
        for arn in &s.policy_arns {
            let doc = managed_document(meta, &s.account, arn).await?;
            compiled.push(compile_doc(doc.as_deref(), PolicyKind::Session, arn)?);
        }
        let compiled = Arc::new(compiled);
        if s.policy_arns.is_empty() {
            if let Ok(mut m) = self.sessions.write() {
                if m.len() > 100_000 {
                    m.clear();
                }
                m.insert(s.access_key_id.clone(), Arc::clone(&compiled));
            }
        } else {
            self.managed_sessions
                .store(&self.generation, generation, key, read_at, &compiled);
        }
        Ok(Some(compiled))
    }

    /// The user's compiled policies, from the cache when fresh.
    pub async fn user(
        &self,
        meta: &gatehouse_meta::Meta,
        account_id: &str,
        user_name: &str,
        canonical_id: &str,
    ) -> Result<Arc<UserPolicies>, LoadError> {
        let key = (account_id.to_owned(), user_name.to_owned());
        if let Some(p) = self.users.fresh(&key) {
            return Ok(p);
        }
        let read_at = Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let resolver = |arn: &str| gatehouse_iam::resolve_aws_managed(arn);
        let authz = meta
            .user_authz(account_id, user_name, Some(&resolver))
            .await
            .map_err(|e| LoadError::Meta(e.to_string()))?
            .ok_or(LoadError::NoSuchUser)?;
        let compiled = Arc::new(compile(&authz, canonical_id)?);
        self.users
            .store(&self.generation, generation, key, read_at, &compiled);
        Ok(compiled)
    }
}

fn compile_doc(
    doc: Option<&str>,
    kind: PolicyKind,
    id: &str,
) -> Result<Arc<CompiledPolicy>, LoadError> {
    let doc = doc.ok_or_else(|| {
        LoadError::Policy(id.to_owned(), "its document cannot be resolved".into())
    })?;
    CompiledPolicy::parse(doc, kind, id)
        .map_err(|e| LoadError::Policy(id.to_owned(), e.to_string()))
}

/// A principal's own inline and attached policies, compiled into `out` (inline ones named `OWNER#NAME`).
fn compile_own(
    p: &gatehouse_meta::PrincipalAuthz,
    owner: &str,
    out: &mut Vec<Arc<CompiledPolicy>>,
) -> Result<(), LoadError> {
    for (name, doc) in &p.inline {
        out.push(compile_doc(
            Some(doc),
            PolicyKind::Identity,
            &format!("{owner}#{name}"),
        )?);
    }
    for m in &p.managed {
        out.push(compile_doc(
            m.document.as_deref(),
            PolicyKind::Identity,
            &m.arn,
        )?);
    }
    Ok(())
}

/// The account root's permissions as an identity policy (everything), for sessions the root federates.
pub fn root_identity() -> Result<Arc<CompiledPolicy>, LoadError> {
    static ROOT: std::sync::OnceLock<Result<Arc<CompiledPolicy>, String>> =
        std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        compile_doc(
            Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
            PolicyKind::Identity,
            "account-root",
        )
        .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(|e| LoadError::Policy("account-root".into(), e))
}

/// The current document of a managed policy of `account` (or an AWS-managed one) by ARN; `None` when it no
/// longer exists (the caller then fails closed).
pub async fn managed_document(
    meta: &gatehouse_meta::Meta,
    account: &str,
    arn: &str,
) -> Result<Option<String>, LoadError> {
    if let Some((_, doc)) = gatehouse_iam::resolve_aws_managed(arn) {
        return Ok(Some(doc));
    }
    let Some(p) = meta
        .get_managed_policy(account, arn)
        .await
        .map_err(|e| LoadError::Meta(e.to_string()))?
    else {
        return Ok(None);
    };
    let v = meta
        .get_policy_version(account, arn, p.default_version)
        .await
        .map_err(|e| LoadError::Meta(e.to_string()))?;
    Ok(Some(v.document))
}

/// A permissions boundary, compiled.
fn compile_boundary(
    b: Option<&gatehouse_meta::AttachedDoc>,
) -> Result<Option<Arc<CompiledPolicy>>, LoadError> {
    b.map(|b| compile_doc(b.document.as_deref(), PolicyKind::Boundary, &b.arn))
        .transpose()
}

fn compile(a: &gatehouse_meta::UserAuthz, canonical_id: &str) -> Result<UserPolicies, LoadError> {
    let user = &a.user;
    let mut identity = Vec::new();
    compile_own(&a.policies, &user.arn(), &mut identity)?;
    for g in &a.groups {
        compile_own(
            &g.policies,
            &format!("group/{}", g.group.name),
            &mut identity,
        )?;
    }
    let boundary = compile_boundary(a.boundary.as_ref())?;
    Ok(UserPolicies {
        principal: gatehouse_policy::Principal::user(
            &user.account_id,
            &user.path,
            &user.name,
            &user.user_id,
            Some(canonical_id),
        ),
        identity,
        boundary,
    })
}

/// Whether the user's own policies allow `action` on `resource` of `resource_account` (no resource policy
/// exists yet: a grant needs the identity side, and another account's resource needs its policy, so it is
/// denied).
pub fn allows(
    p: &UserPolicies,
    action: &str,
    resource: &str,
    resource_account: &str,
    context: &Context,
) -> bool {
    let request = Request::new(&p.principal, action, resource, resource_account, context);
    let layers = Layers {
        identity: &p.identity,
        boundary: p.boundary.as_deref(),
        ..Default::default()
    };
    let d = gatehouse_policy::evaluate(&request, &layers);
    if d.outcome != Outcome::Allow {
        tracing::debug!(action, resource, outcome = ?d.outcome, reasons = ?d.reasons, "identity policies do not allow");
    }
    d.outcome == Outcome::Allow
}

/// The IAM user a principal is, if any: (account, user name).
pub fn user_of(p: &Principal) -> Option<(&str, &str)> {
    p.user_name.as_deref().map(|u| (p.account_id.as_str(), u))
}
