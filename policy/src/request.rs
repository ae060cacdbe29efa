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

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Kind of caller.
    pub kind: PrincipalKind,
    /// 12-digit account id (none for anonymous and service callers).
    pub account: Option<String>,
    /// The caller's ARN: user ARN, `arn:aws:sts::A:assumed-role/R/S`, federated-user ARN or root ARN.
    pub arn: Option<String>,
    /// For role sessions: the role's ARN (with its path).
    pub role_arn: Option<String>,
    /// `aws:userid` (`AIDA...`, `AROA...:session`, or the account id for root).
    pub userid: Option<String>,
    /// `aws:username` (IAM users only).
    pub username: Option<String>,
    /// The account's canonical user id (64 hex, lower case), as S3 ACLs name it.
    pub canonical_id: Option<String>,
    /// Service name for service principals (`logging.s3.amazonaws.com`).
    pub service: Option<String>,
    /// Identity provider for federated callers (`accounts.google.com`, a SAML/OIDC provider ARN).
    pub federated: Option<String>,
    /// Principal tags (`aws:PrincipalTag/key`), key matched case-insensitively.
    pub tags: Vec<(String, String)>,
}

impl Principal {
    fn base(kind: PrincipalKind) -> Principal {
        Principal {
            kind,
            account: None,
            arn: None,
            role_arn: None,
            userid: None,
            username: None,
            canonical_id: None,
            service: None,
            federated: None,
            tags: Vec::new(),
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
            role_arn: Some(format!("arn:aws:iam::{account}:role{path}{role_name}")),
            userid: Some(format!("{role_id}:{session}")),
            canonical_id: canonical_id.map(str::to_ascii_lowercase),
            ..Principal::base(PrincipalKind::AssumedRole)
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

    /// Adds principal tags.
    pub fn with_tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Principal {
        self.tags.extend(tags);
        self
    }

    /// The account root ARN, when the principal belongs to an account.
    pub fn account_arn(&self) -> Option<String> {
        self.account
            .as_ref()
            .map(|a| format!("arn:aws:iam::{a}:root"))
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

    /// Value of a principal-derived global key (`aws:username`, `aws:PrincipalTag/x`, ...), key lower-cased.
    pub fn key_value(&self, lk: &str) -> Option<ContextValue> {
        let s = |v: &Option<String>| v.clone().map(ContextValue::String);
        match lk {
            "aws:username" => s(&self.username),
            "aws:userid" => s(&self.userid),
            "aws:principalarn" => {
                if self.kind == PrincipalKind::AssumedRole {
                    s(&self.role_arn)
                } else {
                    s(&self.arn)
                }
            }
            "aws:principalaccount" => s(&self.account),
            "aws:principaltype" => Some(ContextValue::String(self.principal_type().to_string())),
            "aws:principalservicename" => s(&self.service),
            _ => {
                let tag = lk.strip_prefix("aws:principaltag/")?;
                self.tags
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(tag))
                    .map(|(_, v)| ContextValue::String(v.clone()))
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

/// One authorisation question: may `principal` do `action` on `resource`?
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// IAM action name, e.g. `s3:GetObject`.
    pub action: &'a str,
    /// Resource ARN, e.g. `arn:aws:s3:::bucket/key` (or `*` for actions without a resource).
    pub resource: &'a str,
    /// Account owning the resource (bucket owner); `None` for account-less actions.
    pub resource_account: Option<&'a str>,
    /// Condition keys gathered by the gateway.
    pub context: &'a Context,
}

impl Request<'_> {
    /// The value of a condition key (lower-cased): principal-derived keys first, then the context.
    pub fn value(&self, lk: &str) -> Option<Cow<'_, ContextValue>> {
        if let Some(v) = self.principal.key_value(lk) {
            return Some(Cow::Owned(v));
        }
        self.context.get(lk).map(Cow::Borrowed)
    }

    /// Whether caller and resource owner are different accounts (anonymous callers count as cross-account).
    pub fn is_cross_account(&self) -> bool {
        match (&self.principal.account, self.resource_account) {
            (Some(a), Some(r)) => a != r,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}
