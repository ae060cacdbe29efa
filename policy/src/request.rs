//! The request being authorised: who (principal), what (action, resource) and the condition context.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use time::OffsetDateTime;

/// What kind of caller made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    User,
    /// A role session (AssumeRole, AssumeRoleWithWebIdentity, ...).
    AssumedRole,
    /// A federated user session (GetFederationToken).
    FederatedUser,
    /// A web-identity / SAML caller not yet in a session (trust-policy evaluation).
    Federated,
    /// An AWS service principal.
    Service,
    /// No credentials at all.
    Anonymous,
}

/// What the caller's temporary credentials carry (role and federated-user sessions); every field
/// is optional because long-term credentials carry none of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionData {
    /// `aws:TokenIssueTime`: when the session's credentials were issued.
    pub token_issue_time: Option<OffsetDateTime>,
    /// `aws:MultiFactorAuthPresent`: whether MFA was used to get the session.
    pub mfa_present: Option<bool>,
    /// `aws:MultiFactorAuthAge`: seconds since MFA authentication.
    pub mfa_age_secs: Option<i64>,
    /// `aws:SourceIdentity`.
    pub source_identity: Option<String>,
    /// Session tags; for `aws:PrincipalTag/key` they take precedence over the role's or user's tags.
    pub tags: Vec<(String, String)>,
}

/// The authenticated caller. Principal-derived condition keys (`aws:username`,
/// `aws:PrincipalTag/*`, `aws:TokenIssueTime`, ...; see [`is_principal_key`]) come from here only,
/// never from the request [`Context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Kind of caller.
    pub kind: PrincipalKind,
    /// 12-digit account id (none for anonymous and service callers).
    pub account: Option<String>,
    /// The caller's ARN: user ARN, `arn:aws:sts::A:assumed-role/R/S`, federated-user ARN or root ARN.
    pub arn: Option<String>,
    /// The identity a session was issued for: the role's ARN (with its path) for role sessions,
    /// the parent IAM user's ARN for federated-user sessions.
    pub parent_arn: Option<String>,
    /// `aws:userid` (`AIDA...`, `AROA...:session`, `account:name` or the account id for root).
    pub userid: Option<String>,
    /// `aws:username` (IAM users only).
    pub username: Option<String>,
    /// The account's canonical user id (64 hex, lower case), as S3 ACLs name it.
    pub canonical_id: Option<String>,
    /// Service name for service principals (`logging.s3.amazonaws.com`).
    pub service: Option<String>,
    /// Identity provider for federated callers (`accounts.google.com`, a SAML/OIDC provider ARN).
    pub federated: Option<String>,
    /// `aws:PrincipalOrgID`.
    pub org_id: Option<String>,
    /// Principal tags of the user or role (`aws:PrincipalTag/key`), key matched case-insensitively.
    pub tags: Vec<(String, String)>,
    /// Session data (temporary credentials only).
    pub session: SessionData,
}

/// Whether a lower-cased condition key describes the caller, so that only the authenticated
/// [`Principal`] may supply it (a value in the request [`Context`] is ignored).
pub fn is_principal_key(lk: &str) -> bool {
    lk.starts_with("aws:principal")
        || matches!(
            lk,
            "aws:username"
                | "aws:userid"
                | "aws:sourceidentity"
                | "aws:tokenissuetime"
                | "aws:multifactorauthpresent"
                | "aws:multifactorauthage"
                | "aws:federatedprovider"
        )
}

impl Principal {
    fn base(kind: PrincipalKind) -> Principal {
        Principal {
            kind,
            account: None,
            arn: None,
            parent_arn: None,
            userid: None,
            username: None,
            canonical_id: None,
            service: None,
            federated: None,
            org_id: None,
            tags: Vec::new(),
            session: SessionData::default(),
        }
    }

    /// The root user of `account`.
    pub fn root(account: &str, canonical_id: Option<&str>) -> Principal {
        Principal {
            account: Some(account.to_string()),
            arn: Some(format!("arn:aws:iam::{account}:root")),
            userid: Some(account.to_string()),
            canonical_id: canonical_id.map(str::to_ascii_lowercase),
            ..Principal::base(PrincipalKind::Root)
        }
    }

    /// An IAM user; `path` is `/` or `/a/b/`.
    pub fn user(
        account: &str,
        path: &str,
        name: &str,
        userid: &str,
        canonical_id: Option<&str>,
    ) -> Principal {
        Principal {
            account: Some(account.to_string()),
            arn: Some(format!("arn:aws:iam::{account}:user{path}{name}")),
            userid: Some(userid.to_string()),
            username: Some(name.to_string()),
            canonical_id: canonical_id.map(str::to_ascii_lowercase),
            ..Principal::base(PrincipalKind::User)
        }
    }

    /// A session of role `role_name` (at `path`) named `session`; `role_id` is the role's `AROA...` id.
    pub fn assumed_role(
        account: &str,
        path: &str,
        role_name: &str,
        session: &str,
        role_id: &str,
        canonical_id: Option<&str>,
    ) -> Principal {
        Principal {
            account: Some(account.to_string()),
            arn: Some(format!(
                "arn:aws:sts::{account}:assumed-role/{role_name}/{session}"
            )),
            parent_arn: Some(format!("arn:aws:iam::{account}:role{path}{role_name}")),
            userid: Some(format!("{role_id}:{session}")),
            canonical_id: canonical_id.map(str::to_ascii_lowercase),
            ..Principal::base(PrincipalKind::AssumedRole)
        }
    }

    /// A federated-user session (GetFederationToken) named `name`, issued to the IAM user
    /// `parent_name` at `parent_path`. Its identity policies are the parent user's, capped by the
    /// session policy (without one, the session has no identity-based permissions).
    pub fn federated_user(
        account: &str,
        parent_path: &str,
        parent_name: &str,
        name: &str,
        canonical_id: Option<&str>,
    ) -> Principal {
        Principal {
            account: Some(account.to_string()),
            arn: Some(format!("arn:aws:sts::{account}:federated-user/{name}")),
            parent_arn: Some(format!(
                "arn:aws:iam::{account}:user{parent_path}{parent_name}"
            )),
            userid: Some(format!("{account}:{name}")),
            canonical_id: canonical_id.map(str::to_ascii_lowercase),
            ..Principal::base(PrincipalKind::FederatedUser)
        }
    }

    /// An anonymous caller.
    pub fn anonymous() -> Principal {
        Principal {
            userid: Some("anonymous".to_string()),
            ..Principal::base(PrincipalKind::Anonymous)
        }
    }

    /// An AWS service principal.
    pub fn service(name: &str) -> Principal {
        Principal {
            service: Some(name.to_ascii_lowercase()),
            ..Principal::base(PrincipalKind::Service)
        }
    }

    /// A web-identity or SAML caller of `provider` (for trust-policy evaluation).
    pub fn federated(provider: &str) -> Principal {
        Principal {
            federated: Some(provider.to_string()),
            ..Principal::base(PrincipalKind::Federated)
        }
    }

    /// Adds principal tags (the user's or role's own tags).
    pub fn with_tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Principal {
        self.tags.extend(tags);
        self
    }

    /// Sets the session data (temporary credentials).
    pub fn with_session(mut self, session: SessionData) -> Principal {
        self.session = session;
        self
    }

    /// The account root ARN, when the principal belongs to an account.
    pub fn account_arn(&self) -> Option<String> {
        self.account
            .as_ref()
            .map(|a| format!("arn:aws:iam::{a}:root"))
    }

    /// Whether the caller is an IAM identity with identity-based policies (user, role session,
    /// federated-user session).
    pub fn has_identity_policies(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::User | PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
        )
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User => "User",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Federated => "WebIdentityUser",
            PrincipalKind::Service => "AWSService",
            PrincipalKind::Anonymous => "Anonymous",
        }
    }

    /// Value of a principal-derived key (see [`is_principal_key`]), key lower-cased; `None` when
    /// the caller has no value for it (the key is then absent: the context cannot supply it).
    pub fn key_value(&self, lk: &str) -> Option<ContextValue> {
        let s = |v: &Option<String>| v.clone().map(ContextValue::String);
        let signed = self.kind != PrincipalKind::Anonymous;
        match lk {
            "aws:username" if self.kind == PrincipalKind::User => s(&self.username),
            "aws:username" => None,
            "aws:userid" => s(&self.userid),
            "aws:principalarn" => match self.kind {
                PrincipalKind::AssumedRole => s(&self.parent_arn),
                PrincipalKind::Root | PrincipalKind::User | PrincipalKind::FederatedUser => {
                    s(&self.arn)
                }
                _ => None,
            },
            "aws:principalaccount" => s(&self.account),
            "aws:principaltype" => Some(ContextValue::String(self.principal_type().to_string())),
            "aws:principalservicename" => s(&self.service),
            "aws:principalisawsservice" if signed => {
                Some(ContextValue::Bool(self.kind == PrincipalKind::Service))
            }
            "aws:principalorgid" => s(&self.org_id),
            "aws:federatedprovider" => s(&self.federated),
            "aws:sourceidentity" => s(&self.session.source_identity),
            "aws:tokenissuetime" => self.session.token_issue_time.map(ContextValue::Date),
            "aws:multifactorauthpresent" => self.session.mfa_present.map(ContextValue::Bool),
            "aws:multifactorauthage" => self.session.mfa_age_secs.map(ContextValue::Number),
            _ => {
                let tag = lk.strip_prefix("aws:principaltag/")?;
                let find = |tags: &[(String, String)]| {
                    tags.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(tag))
                        .map(|(_, v)| ContextValue::String(v.clone()))
                };
                if !self.has_identity_policies() {
                    return None;
                }
                find(&self.session.tags).or_else(|| find(&self.tags))
            }
        }
    }
}

/// A condition-context value as the gateway gathered it.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    /// A string.
    String(String),
    /// A boolean (`aws:SecureTransport`).
    Bool(bool),
    /// An integer (`s3:max-keys`, `aws:EpochTime`, `s3:signatureAge`).
    Number(i64),
    /// An IP address (`aws:SourceIp`).
    Ip(IpAddr),
    /// A point in time (`aws:CurrentTime`, `aws:TokenIssueTime`).
    Date(OffsetDateTime),
    /// A multi-valued key (`aws:TagKeys`, `s3:RequestObjectTagKeys`); nested lists are flattened.
    List(Vec<ContextValue>),
}

impl ContextValue {
    /// The value as a string, as policies compare it.
    pub fn as_string(&self) -> Cow<'_, str> {
        match self {
            ContextValue::String(s) => Cow::Borrowed(s),
            ContextValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            ContextValue::Number(n) => Cow::Owned(n.to_string()),
            ContextValue::Ip(ip) => Cow::Owned(ip.to_string()),
            ContextValue::Date(d) => Cow::Owned(
                d.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| d.unix_timestamp().to_string()),
            ),
            ContextValue::List(_) => Cow::Borrowed(""),
        }
    }

    /// The value as an integer, if it is one.
    pub fn as_number(&self) -> Option<i64> {
        match self {
            ContextValue::Number(n) => Some(*n),
            ContextValue::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The value as a finite decimal number (`1.2`), if it is one.
    pub fn as_decimal(&self) -> Option<f64> {
        match self {
            ContextValue::Number(n) => Some(*n as f64),
            ContextValue::String(s) => s.parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        }
    }

    /// The value as epoch milliseconds, if it is a date (or epoch seconds).
    pub fn as_date_ms(&self) -> Option<i64> {
        match self {
            ContextValue::Date(d) => i64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok(),
            ContextValue::Number(n) => n.checked_mul(1000),
            ContextValue::String(s) => crate::conditions::parse_date_ms(s),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one (strings `true`/`false` in any case).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            ContextValue::Bool(b) => Some(*b),
            ContextValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            ContextValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The value as an IP address, if it is one.
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            ContextValue::Ip(ip) => Some(*ip),
            ContextValue::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    fn flatten_into<'a>(&'a self, out: &mut Vec<&'a ContextValue>) {
        match self {
            ContextValue::List(items) => items.iter().for_each(|i| i.flatten_into(out)),
            v => out.push(v),
        }
    }

    /// How many scalar values the value holds (lists flattened), without allocating.
    pub fn value_count(&self) -> usize {
        match self {
            ContextValue::List(items) => items.iter().map(ContextValue::value_count).sum(),
            _ => 1,
        }
    }

    /// The scalar values (one for a scalar, the flattened items of a list).
    pub fn scalars(&self) -> Vec<&ContextValue> {
        let mut out = Vec::new();
        self.flatten_into(&mut out);
        out
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::String(s.to_string())
    }
}
impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::String(s)
    }
}
impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        ContextValue::Bool(b)
    }
}
impl From<i64> for ContextValue {
    fn from(n: i64) -> Self {
        ContextValue::Number(n)
    }
}
impl From<IpAddr> for ContextValue {
    fn from(ip: IpAddr) -> Self {
        ContextValue::Ip(ip)
    }
}
impl From<OffsetDateTime> for ContextValue {
    fn from(d: OffsetDateTime) -> Self {
        ContextValue::Date(d)
    }
}

/// Condition keys the gateway gathered for one request; keys are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    map: HashMap<String, ContextValue>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a key (`aws:SourceIp`, `s3:prefix`, ...).
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValue>) -> &mut Self {
        self.map.insert(key.to_ascii_lowercase(), value.into());
        self
    }

    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: &str, value: impl Into<ContextValue>) -> Self {
        self.insert(key, value);
        self
    }

    /// The value of a lower-cased key.
    pub fn get(&self, lk: &str) -> Option<&ContextValue> {
        self.map.get(lk)
    }

    /// All keys (lower-cased) and values.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ContextValue)> {
        self.map.iter()
    }
}

/// Whether `s` is a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One authorisation question: may `principal` do `action` on `resource`?
///
/// Every field is required: the resource's account is part of the question (for account-less
/// actions such as `s3:ListAllMyBuckets` it is the caller's own account). A `resource_account`
/// that is not a 12-digit account id is denied.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// IAM action name, e.g. `s3:GetObject`.
    pub action: &'a str,
    /// Resource ARN, e.g. `arn:aws:s3:::bucket/key` (or `*` for actions without a resource), or
    /// the role's ARN for `sts:AssumeRole*`.
    pub resource: &'a str,
    /// Account owning the resource (the bucket owner, the role's account).
    pub resource_account: &'a str,
    /// Condition keys gathered by the gateway (principal-derived keys are ignored here).
    pub context: &'a Context,
}

impl<'a> Request<'a> {
    /// A request.
    pub fn new(
        principal: &'a Principal,
        action: &'a str,
        resource: &'a str,
        resource_account: &'a str,
        context: &'a Context,
    ) -> Request<'a> {
        Request {
            principal,
            action,
            resource,
            resource_account,
            context,
        }
    }

    /// The value of a condition key (lower-cased): principal-derived keys from the principal
    /// only, every other key from the context.
    pub fn value(&self, lk: &str) -> Option<Cow<'_, ContextValue>> {
        if is_principal_key(lk) {
            return self.principal.key_value(lk).map(Cow::Owned);
        }
        self.context.get(lk).map(Cow::Borrowed)
    }

    /// Whether caller and resource owner are different accounts (anonymous and service callers
    /// count as cross-account).
    pub fn is_cross_account(&self) -> bool {
        self.principal.account.as_deref() != Some(self.resource_account)
    }
}
