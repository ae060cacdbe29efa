//! IAM policy documents: the JSON grammar, validated per policy kind with AWS's error messages.

use serde_json::{Map, Value};

use crate::catalogue::catalogue;
use crate::conditions::{ConditionOp, parse_date_ms, parse_ip_net};
use crate::error::PolicyError;
use crate::pattern::{Template, match_toks, plain_toks};

/// Where a policy document is used; decides which elements are required or prohibited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Identity-based policy (managed or inline, attached to a user, group or role).
    Identity,
    /// Resource-based policy (an S3 bucket policy).
    Resource,
    /// A role's trust policy (`AssumeRolePolicyDocument`).
    Trust,
    /// A session policy passed to AssumeRole / GetFederationToken.
    Session,
    /// A permissions boundary (a managed policy used as a boundary).
    Boundary,
}

impl PolicyKind {
    /// The default size quota for documents of this kind.
    pub fn default_limit(self) -> SizeLimit {
        match self {
            PolicyKind::Identity | PolicyKind::Boundary => SizeLimit::ManagedPolicy,
            PolicyKind::Resource => SizeLimit::BucketPolicy,
            PolicyKind::Trust => SizeLimit::TrustPolicy,
            PolicyKind::Session => SizeLimit::SessionPolicy,
        }
    }

    /// Lower-case name used in explanations and Cedar annotations.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity",
            PolicyKind::Resource => "resource",
            PolicyKind::Trust => "trust",
            PolicyKind::Session => "session",
            PolicyKind::Boundary => "boundary",
        }
    }

    fn is_iam(self) -> bool {
        !matches!(self, PolicyKind::Resource)
    }
}

/// AWS's size quotas for policy documents (IAM counts characters without whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// Customer managed policy (also used as a permissions boundary): 6,144 characters.
    ManagedPolicy,
    /// Aggregate inline policies of a user: 2,048 characters.
    InlineUser,
    /// Aggregate inline policies of a role: 10,240 characters.
    InlineRole,
    /// Aggregate inline policies of a group: 5,120 characters.
    InlineGroup,
    /// Role trust policy: 2,048 characters (the default quota).
    TrustPolicy,
    /// S3 bucket policy: 20 KiB, whitespace included.
    BucketPolicy,
    /// Session policy plaintext: 2,048 characters.
    SessionPolicy,
    /// No quota (tests, internal documents).
    Unlimited,
}

impl SizeLimit {
    /// The quota, or `None` for [`SizeLimit::Unlimited`].
    pub fn max(self) -> Option<usize> {
        match self {
            SizeLimit::ManagedPolicy => Some(6144),
            SizeLimit::InlineUser => Some(2048),
            SizeLimit::InlineRole => Some(10240),
            SizeLimit::InlineGroup => Some(5120),
            SizeLimit::TrustPolicy => Some(2048),
            SizeLimit::BucketPolicy => Some(20 * 1024),
            SizeLimit::SessionPolicy => Some(2048),
            SizeLimit::Unlimited => None,
        }
    }

    /// The size of `json` as this quota counts it.
    pub fn measure(self, json: &str) -> usize {
        match self {
            SizeLimit::BucketPolicy => json.len(),
            _ => policy_size(json),
        }
    }
}

/// A document's size as IAM counts it: characters, whitespace excluded.
pub fn policy_size(json: &str) -> usize {
    json.chars().filter(|c| !c.is_whitespace()).count()
}

/// The policy language version; 2008-10-17 disables policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyVersion {
    /// `2012-10-17`: current language, policy variables enabled.
    V2012,
    /// `2008-10-17` (and a missing Version): no policy variables.
    V2008,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// One entry of a Principal / NotPrincipal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalId {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous included.
    Any,
    /// An account (`123456789012` or `arn:aws:iam::123456789012:root`), stored as the root ARN.
    Account(String),
    /// An IAM user, role, assumed-role session or federated-user ARN.
    Arn(String),
    /// `{"Service": "..."}`.
    Service(String),
    /// `{"Federated": "..."}`.
    Federated(String),
    /// `{"CanonicalUser": "..."}` (lower-cased hex).
    CanonicalUser(String),
}

/// A Principal or NotPrincipal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalElement {
    /// True for NotPrincipal.
    pub negated: bool,
    /// The listed principals.
    pub ids: Vec<PrincipalId>,
}

/// An Action/NotAction or Resource/NotResource element: patterns as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListElement {
    /// True for NotAction / NotResource.
    pub negated: bool,
    /// The patterns.
    pub values: Vec<String>,
}

/// One condition: operator, key and the values it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator with its qualifiers.
    pub op: ConditionOp,
    /// The condition key as written.
    pub key: String,
    /// The values, as strings (JSON numbers and booleans are stringified, as AWS does).
    pub values: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The Sid, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Principal / NotPrincipal (resource and trust policies).
    pub principal: Option<PrincipalElement>,
    /// Action / NotAction.
    pub action: ListElement,
    /// Resource / NotResource (absent in trust policies).
    pub resource: Option<ListElement>,
    /// Conditions, all of which must hold.
    pub conditions: Vec<Condition>,
}

/// A parsed and validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// Language version.
    pub version: PolicyVersion,
    /// The optional document Id.
    pub id: Option<String>,
    /// Statements in document order.
    pub statements: Vec<Statement>,
}

/// Options for parsing beyond the kind.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions<'a> {
    /// Size quota to enforce.
    pub limit: SizeLimit,
    /// For bucket policies: the bucket the policy is put on; resources must lie inside it.
    pub bucket: Option<&'a str>,
}

impl ParseOptions<'_> {
    /// Defaults for a kind: its quota, no bucket check.
    pub fn for_kind(kind: PolicyKind) -> Self {
        ParseOptions {
            limit: kind.default_limit(),
            bucket: None,
        }
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError::malformed(m))
}

/// A JSON value as one string or a list of strings (numbers and booleans stringified).
fn string_list(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match v {
        Value::Array(items) => {
            if items.is_empty() {
                return err(format!("{what} must not be an empty list"));
            }
            items
                .iter()
                .map(|i| scalar(i).ok_or(()))
                .collect::<Result<Vec<_>, _>>()
                .or_else(|_| err(format!("{what} must be a string or a list of strings")))
        }
        other => scalar(other).map(|s| vec![s]).ok_or_else(|| {
            PolicyError::malformed(format!("{what} must be a string or a list of strings"))
        }),
    }
}

fn strict_string_list(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                PolicyError::malformed(format!("{what} must be a string or a list of strings"))
            }),
        Value::Array(_) => err(format!("{what} must not be an empty list")),
        _ => err(format!("{what} must be a string or a list of strings")),
    }
}

impl PolicyDocument {
    /// Parses and validates `json` as a document of `kind` with that kind's default quota.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
        Self::parse_with(json, kind, &ParseOptions::for_kind(kind))
    }

    /// Parses and validates `json` as a document of `kind` with explicit options.
    pub fn parse_with(
        json: &str,
        kind: PolicyKind,
        opts: &ParseOptions<'_>,
    ) -> Result<PolicyDocument, PolicyError> {
        if let Some(limit) = opts.limit.max() {
            let size = opts.limit.measure(json);
            if size > limit {
                return Err(PolicyError::TooLarge { size, limit, kind });
            }
        }
        let trimmed = json.trim_start();
        if !trimmed.starts_with('{') {
            return err(if kind.is_iam() {
                "Syntax errors in policy. The policy must be a JSON object."
            } else {
                "Policies must be valid JSON and the first byte must be '{'"
            });
        }
        let value: Value = serde_json::from_str(json)
            .map_err(|e| PolicyError::malformed(format!("Syntax errors in policy. {e}")))?;
        let Value::Object(top) = value else {
            return err("Syntax errors in policy. The policy must be a JSON object.");
        };
        Self::from_object(&top, kind, opts)
    }

    fn from_object(
        top: &Map<String, Value>,
        kind: PolicyKind,
        opts: &ParseOptions<'_>,
    ) -> Result<PolicyDocument, PolicyError> {
        for k in top.keys() {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return err(format!("Unknown field {k}"));
            }
        }
        let version = match top.get("Version") {
            None => PolicyVersion::V2008,
            Some(Value::String(v)) if v == "2012-10-17" => PolicyVersion::V2012,
            Some(Value::String(v)) if v == "2008-10-17" => PolicyVersion::V2008,
            Some(v) => {
                return err(format!(
                    "The policy failed legacy parsing: Version {v} is not supported; use \"2012-10-17\" or \"2008-10-17\""
                ));
            }
        };
        let id = match top.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return err("Id must be a string"),
        };
        let raw_statements: Vec<&Map<String, Value>> = match top.get("Statement") {
            None => return err("Missing required field Statement"),
            Some(Value::Object(o)) => vec![o],
            Some(Value::Array(a)) => {
                let mut v = Vec::with_capacity(a.len());
                for s in a {
                    match s {
                        Value::Object(o) => v.push(o),
                        _ => {
                            return err(
                                "Syntax errors in policy. Each Statement must be a JSON object.",
                            );
                        }
                    }
                }
                v
            }
            Some(_) => {
                return err(
                    "Syntax errors in policy. Statement must be an object or a list of objects.",
                );
            }
        };
        if raw_statements.is_empty() {
            return err("Policy document must contain at least one statement");
        }
        let mut statements = Vec::with_capacity(raw_statements.len());
        let mut sids: Vec<&str> = Vec::new();
        for raw in raw_statements {
            let st = parse_statement(raw, kind, version, opts)?;
            if let (Some(sid), true) = (raw.get("Sid").and_then(Value::as_str), kind.is_iam()) {
                if sids.contains(&sid) {
                    return err("Statement IDs (SID) in a single policy must be unique.");
                }
                sids.push(sid);
            }
            statements.push(st);
        }
        Ok(PolicyDocument {
            version,
            id,
            statements,
        })
    }
}

fn parse_statement(
    raw: &Map<String, Value>,
    kind: PolicyKind,
    version: PolicyVersion,
    opts: &ParseOptions<'_>,
) -> Result<Statement, PolicyError> {
    for k in raw.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return err(format!("Unknown field {k}"));
        }
    }
    let sid = match raw.get("Sid") {
        None => None,
        Some(Value::String(s)) => {
            if kind.is_iam() && !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                return err(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
                );
            }
            Some(s.clone())
        }
        Some(_) => return err("Sid must be a string"),
    };
    let effect = match raw.get("Effect") {
        None => return err("Missing required field Effect"),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(v) => return err(format!("Invalid effect: {v}")),
    };

    // Principal / NotPrincipal.
    let principal = match (raw.get("Principal"), raw.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return err("Statement cannot contain both Principal and NotPrincipal");
        }
        (p, np) => match p.map(|v| (v, false)).or(np.map(|v| (v, true))) {
            None => None,
            Some((v, negated)) => Some(PrincipalElement {
                negated,
                ids: parse_principals(v, kind)?,
            }),
        },
    };
    match kind {
        PolicyKind::Identity | PolicyKind::Session | PolicyKind::Boundary => {
            if principal.is_some() {
                return err("Policy document should not specify a principal.");
            }
        }
        PolicyKind::Resource | PolicyKind::Trust => {
            if principal.is_none() {
                return err("Missing required field Principal");
            }
        }
    }

    // Action / NotAction.
    let action = match (raw.get("Action"), raw.get("NotAction")) {
        (Some(_), Some(_)) => return err("Statement cannot contain both Action and NotAction"),
        (None, None) => {
            return err(if kind.is_iam() {
                "Policy statement must contain actions."
            } else {
                "Missing required field Action"
            });
        }
        (a, na) => {
            let (v, negated) = a
                .map(|v| (v, false))
                .or(na.map(|v| (v, true)))
                .ok_or_else(|| PolicyError::malformed("Missing required field Action"))?;
            ListElement {
                negated,
                values: strict_string_list(v, "Action")?,
            }
        }
    };
    for a in &action.values {
        validate_action(a, kind)?;
    }

    // Resource / NotResource.
    let resource = match (raw.get("Resource"), raw.get("NotResource")) {
        (Some(_), Some(_)) => return err("Statement cannot contain both Resource and NotResource"),
        (None, None) => None,
        (r, nr) => {
            let (v, negated) = r
                .map(|v| (v, false))
                .or(nr.map(|v| (v, true)))
                .ok_or_else(|| PolicyError::malformed("Missing required field Resource"))?;
            Some(ListElement {
                negated,
                values: strict_string_list(v, "Resource")?,
            })
        }
    };
    match kind {
        PolicyKind::Trust => {
            if resource.is_some() {
                return err("Has prohibited field Resource");
            }
        }
        PolicyKind::Resource => {
            let Some(r) = &resource else {
                return err("Missing required field Resource");
            };
            for v in &r.values {
                validate_bucket_resource(v, opts.bucket)?;
            }
            if !r.negated && !action.negated {
                check_actions_apply(&action.values, &r.values)?;
            }
        }
        _ => {
            let Some(r) = &resource else {
                return err("Policy statement must contain resources.");
            };
            for v in &r.values {
                if v != "*" && !(v.starts_with("arn:") && v.matches(':').count() >= 5) {
                    return err(format!("Resource {v} must be in ARN format or \"*\"."));
                }
            }
        }
    }

    let conditions = match raw.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(ops)) => parse_conditions(ops, version)?,
        Some(_) => return err("Syntax errors in policy. Condition must be a JSON object."),
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_principals(v: &Value, kind: PolicyKind) -> Result<Vec<PrincipalId>, PolicyError> {
    let invalid = |t: &str, s: &str| {
        PolicyError::malformed(format!("Invalid principal in policy: \"{t}\":\"{s}\""))
    };
    match v {
        Value::String(s) if s == "*" => Ok(vec![PrincipalId::Any]),
        Value::String(s) => Err(invalid("AWS", s)),
        Value::Object(map) => {
            if map.is_empty() {
                return err("Invalid principal in policy: empty Principal");
            }
            let mut ids = Vec::new();
            for (ty, vals) in map {
                let vals = strict_string_list(vals, "Principal")?;
                for s in vals {
                    let id = match ty.as_str() {
                        "AWS" => parse_aws_principal(&s).ok_or_else(|| invalid(ty, &s))?,
                        "Service" => {
                            if s.is_empty() || s.contains('*') && s != "*" {
                                return Err(invalid(ty, &s));
                            }
                            PrincipalId::Service(s.to_ascii_lowercase())
                        }
                        "Federated" => {
                            if s.is_empty() || s.contains('*') {
                                return Err(invalid(ty, &s));
                            }
                            PrincipalId::Federated(s)
                        }
                        "CanonicalUser" => {
                            if kind == PolicyKind::Trust
                                || s.len() != 64
                                || !s.chars().all(|c| c.is_ascii_hexdigit())
                            {
                                return Err(invalid(ty, &s));
                            }
                            PrincipalId::CanonicalUser(s.to_ascii_lowercase())
                        }
                        _ => return Err(invalid(ty, &s)),
                    };
                    ids.push(id);
                }
            }
            Ok(ids)
        }
        _ => err("Invalid principal in policy: Principal must be \"*\" or an object"),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses an `"AWS"` principal value; `None` if invalid (partial wildcards are never allowed).
fn parse_aws_principal(s: &str) -> Option<PrincipalId> {
    if s == "*" {
        return Some(PrincipalId::Any);
    }
    if s.contains('*') || s.contains('?') {
        return None;
    }
    if is_account_id(s) {
        return Some(PrincipalId::Account(format!("arn:aws:iam::{s}:root")));
    }
    let parts = crate::pattern::split_arn(s)?;
    let [arn, partition, service, region, account, res] = parts;
    if arn != "arn" || partition.is_empty() || !region.is_empty() || !is_account_id(account) {
        return None;
    }
    match service {
        "iam" if res == "root" => Some(PrincipalId::Account(format!(
            "arn:{partition}:iam::{account}:root"
        ))),
        "iam" if (res.starts_with("user/") || res.starts_with("role/")) && res.len() > 5 => {
            Some(PrincipalId::Arn(s.to_string()))
        }
        "sts"
            if res.starts_with("assumed-role/")
                && res.split('/').count() == 3
                && !res.ends_with('/') =>
        {
            Some(PrincipalId::Arn(s.to_string()))
        }
        "sts" if res.starts_with("federated-user/") && res.len() > 15 => {
            Some(PrincipalId::Arn(s.to_string()))
        }
        _ => None,
    }
}

fn validate_action(a: &str, kind: PolicyKind) -> Result<(), PolicyError> {
    if a == "*" {
        return if kind == PolicyKind::Trust {
            err("Trust policy actions must be sts actions")
        } else {
            Ok(())
        };
    }
    let Some((vendor, name)) = a.split_once(':') else {
        return err(if kind.is_iam() {
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        } else {
            "Policy has invalid action"
        });
    };
    if vendor.is_empty()
        || !vendor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        || name.is_empty()
        || name.contains(':')
    {
        return err(if kind.is_iam() {
            format!("Invalid action: {a}")
        } else {
            "Policy has invalid action".to_string()
        });
    }
    let cat = catalogue();
    match kind {
        PolicyKind::Resource
            if (!vendor.eq_ignore_ascii_case("s3") || cat.expand(a).is_empty()) =>
        {
            return err("Policy has invalid action");
        }
        PolicyKind::Trust if (!vendor.eq_ignore_ascii_case("sts") || cat.expand(a).is_empty()) => {
            return err(format!("Trust policy actions must be sts actions: {a}"));
        }
        _ => {}
    }
    Ok(())
}

/// What an S3 ARN pattern can name: (a bucket, an object, anything).
fn s3_resource_kinds(pattern: &str) -> (bool, bool, bool) {
    if pattern == "*" {
        return (true, true, true);
    }
    let Some(rest) = pattern.strip_prefix("arn:aws:s3:::") else {
        return (false, false, false);
    };
    // A bucket ARN has no '/', an object ARN has one; '*' can stand for the '/'.
    (
        !rest.contains('/'),
        rest.contains('/') || rest.contains('*'),
        false,
    )
}

fn validate_bucket_resource(r: &str, bucket: Option<&str>) -> Result<(), PolicyError> {
    if r == "*" {
        return Ok(());
    }
    let Some(rest) = r.strip_prefix("arn:aws:s3:::") else {
        return err("Policy has invalid resource");
    };
    if rest.is_empty() {
        return err("Policy has invalid resource");
    }
    if let Some(b) = bucket {
        let bucket_part = rest.split('/').next().unwrap_or(rest);
        // The pattern's bucket part must be able to name this bucket.
        let ok = if rest.contains('/') {
            match_toks(&plain_toks(bucket_part), b, false)
        } else {
            match_toks(&plain_toks(rest), b, false)
                || match_toks(&plain_toks(rest), &format!("{b}/x"), false)
        };
        if !ok {
            return err("Policy has invalid resource");
        }
    }
    Ok(())
}

/// S3 rejects a statement when one of its action patterns applies to none of its resources.
fn check_actions_apply(actions: &[String], resources: &[String]) -> Result<(), PolicyError> {
    let cat = catalogue();
    let kinds: Vec<(bool, bool, bool)> = resources.iter().map(|r| s3_resource_kinds(r)).collect();
    for a in actions {
        let set = cat.expand(a);
        let applies = set.iter().filter_map(|id| cat.get(id)).any(|info| {
            kinds.iter().any(|&(bucket, object, any)| {
                any || info
                    .resource_types
                    .iter()
                    .any(|rt| (*rt == "bucket" && bucket) || (*rt == "object" && object))
            })
        });
        if !applies {
            return err("Action does not apply to any resource(s) in statement");
        }
    }
    Ok(())
}

fn parse_conditions(
    ops: &Map<String, Value>,
    version: PolicyVersion,
) -> Result<Vec<Condition>, PolicyError> {
    let mut out = Vec::new();
    for (op_name, block) in ops {
        let op = ConditionOp::parse(op_name)
            .ok_or_else(|| PolicyError::malformed(format!("Invalid Condition type : {op_name}")))?;
        let Value::Object(keys) = block else {
            return err(format!(
                "Syntax errors in policy. Condition {op_name} must map keys to values."
            ));
        };
        if keys.is_empty() {
            return err(format!("Condition {op_name} must contain at least one key"));
        }
        for (key, vals) in keys {
            match key.split_once(':') {
                Some((vendor, name)) if !vendor.is_empty() && !name.is_empty() => {}
                _ => {
                    return err(
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                    );
                }
            }
            let values = string_list(vals, &format!("Condition value for {key}"))?;
            for v in &values {
                validate_condition_value(&op, key, v, version)?;
            }
            out.push(Condition {
                op,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn validate_condition_value(
    op: &ConditionOp,
    key: &str,
    v: &str,
    _version: PolicyVersion,
) -> Result<(), PolicyError> {
    use crate::conditions::Family;
    let bad = || {
        PolicyError::malformed(format!(
            "Invalid value \"{v}\" for condition {} on key {key}",
            op.name()
        ))
    };
    match op.family() {
        Family::Numeric => {
            // Validate exactly as the value is compared (no trimming, finite only).
            crate::conditions::parse_number(v).ok_or_else(bad)?;
        }
        Family::Date => {
            parse_date_ms(v).ok_or_else(bad)?;
        }
        Family::Ip => {
            parse_ip_net(v).ok_or_else(bad)?;
        }
        Family::Null => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                return Err(bad());
            }
        }
        Family::String | Family::Arn | Family::Bool | Family::Binary => {}
    }
    Ok(())
}

/// Parses a string value of a policy into a template (variables only under Version 2012-10-17).
pub fn template(s: &str, version: PolicyVersion) -> Template {
    Template::parse(s, version == PolicyVersion::V2012)
}
