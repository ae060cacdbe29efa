//! The inputs of the policy simulator that are not policies: ContextEntries (typed condition-key values),
//! the ARNs it names (PolicySourceArn, CallerArn, ResourceOwner) and the principal-derived keys a caller may
//! supply as context.

use gatehouse_policy::{Context, ContextValue, Principal, is_principal_key};
use time::OffsetDateTime;

use crate::IamError;
use crate::params::Params;

/// One ContextEntries member, converted to the engine's value type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContextEntry {
    /// The key as given (`aws:SourceIp`).
    pub(crate) name: String,
    pub(crate) value: ContextValue,
}

const TYPES: [&str; 12] = [
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
];

fn bad_value(name: &str, ty: &str, v: &str) -> IamError {
    IamError::invalid_input(format!(
        "Invalid value '{v}' for context key {name} of type {ty}."
    ))
}

fn scalar(name: &str, ty: &str, v: &str) -> Result<ContextValue, IamError> {
    let base = ty.strip_suffix("List").unwrap_or(ty);
    Ok(match base {
        "string" | "binary" => ContextValue::String(v.to_string()),
        "numeric" => match v.trim().parse::<i64>() {
            Ok(n) => ContextValue::Number(n),
            // Decimals are kept as text: policies compare them as numbers from there.
            Err(_) if v.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                ContextValue::String(v.trim().to_string())
            }
            Err(_) => return Err(bad_value(name, ty, v)),
        },
        "boolean" => match v {
            v if v.eq_ignore_ascii_case("true") => ContextValue::Bool(true),
            v if v.eq_ignore_ascii_case("false") => ContextValue::Bool(false),
            _ => return Err(bad_value(name, ty, v)),
        },
        "ip" => ContextValue::Ip(v.trim().parse().map_err(|_| bad_value(name, ty, v))?),
        "date" => {
            let ms = gatehouse_policy::conditions::parse_date_ms(v.trim())
                .ok_or_else(|| bad_value(name, ty, v))?;
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|_| bad_value(name, ty, v))?;
            ContextValue::Date(t)
        }
        _ => return Err(bad_value(name, ty, v)),
    })
}

/// `ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}` in N order.
pub(crate) fn context_entries(p: &Params<'_>) -> Result<Vec<ContextEntry>, IamError> {
    let mut ns: Vec<u32> =
        p.0.iter()
            .filter_map(|(k, _)| {
                let rest = k.strip_prefix("ContextEntries.member.")?;
                rest.split('.').next()?.parse().ok()
            })
            .collect();
    ns.sort_unstable();
    ns.dedup();
    let mut out = Vec::with_capacity(ns.len());
    for n in ns {
        let base = format!("ContextEntries.member.{n}");
        let name = p.get(&format!("{base}.ContextKeyName")).ok_or_else(|| {
            IamError::validation(format!(
                "1 validation error detected: Value null at 'contextEntries.{n}.member.contextKeyName' failed to satisfy constraint: Member must not be null"
            ))
        })?;
        if name.len() < 5 || name.len() > 256 {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{name}' at 'contextEntries.{n}.member.contextKeyName' failed to satisfy constraint: Member must have length between 5 and 256"
            )));
        }
        let ty = p.get(&format!("{base}.ContextKeyType")).unwrap_or("string");
        if !TYPES.contains(&ty) {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{ty}' at 'contextEntries.{n}.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                TYPES.join(", ")
            )));
        }
        let values = p.members(&format!("{base}.ContextKeyValues"));
        let value = if ty.ends_with("List") {
            ContextValue::List(
                values
                    .iter()
                    .map(|v| scalar(name, ty, v))
                    .collect::<Result<_, _>>()?,
            )
        } else {
            match values.as_slice() {
                [v] => scalar(name, ty, v)?,
                _ => {
                    return Err(IamError::invalid_input(format!(
                        "Context key {name} of type {ty} must have exactly one value."
                    )));
                }
            }
        };
        out.push(ContextEntry {
            name: name.to_string(),
            value,
        });
    }
    Ok(out)
}

/// The request context of the entries that are not principal keys.
pub(crate) fn context_of(entries: &[ContextEntry]) -> Context {
    let mut c = Context::new();
    for e in entries {
        if !is_principal_key(&e.name.to_ascii_lowercase()) {
            c.insert(&e.name, e.value.clone());
        }
    }
    c
}

/// Applies principal-derived keys given as context (the engine takes them from the principal only):
/// `aws:username`, `aws:userid`, `aws:PrincipalTag/*`, `aws:PrincipalOrgID`, `aws:SourceIdentity`,
/// `aws:TokenIssueTime`, `aws:MultiFactorAuthPresent` / `Age`. The others (`aws:PrincipalArn`,
/// `aws:PrincipalAccount`, `aws:PrincipalType`, ...) follow from the simulated principal itself.
pub(crate) fn apply_principal_keys(p: &mut Principal, entries: &[ContextEntry]) {
    for e in entries {
        let lk = e.name.to_ascii_lowercase();
        let text = || match &e.value {
            ContextValue::List(items) => items.first().map(|v| v.as_string().into_owned()),
            v => Some(v.as_string().into_owned()),
        };
        match lk.as_str() {
            "aws:username" => p.username = text(),
            "aws:userid" => p.userid = text(),
            "aws:principalorgid" => p.org_id = text(),
            "aws:sourceidentity" => p.session.source_identity = text(),
            "aws:multifactorauthpresent" => p.session.mfa_present = e.value.as_bool(),
            "aws:multifactorauthage" => p.session.mfa_age_secs = e.value.as_number(),
            "aws:tokenissuetime" => {
                p.session.token_issue_time = e.value.as_date_ms().and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
            }
            _ => {
                if lk.starts_with("aws:principaltag/")
                    && let Some(v) = text()
                {
                    let tag = &e.name["aws:principaltag/".len()..];
                    p.tags.retain(|(k, _)| !k.eq_ignore_ascii_case(tag));
                    p.tags.push((tag.to_string(), v));
                }
            }
        }
    }
}

/// What an IAM ARN names: (account, resource type, path, name), e.g. `user`, `/dev/`, `bob`.
pub(crate) fn iam_arn(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, res) = rest.split_once(':')?;
    let (ty, path_name) = res.split_once('/')?;
    let i = path_name.rfind('/').map_or(0, |i| i + 1);
    let (path, name) = (&path_name[..i], &path_name[i..]);
    let path = if path.is_empty() { "/" } else { path };
    if name.is_empty() || !gatehouse_policy::is_account_id(account) {
        return None;
    }
    Some((account, ty, path, name))
}

/// `path` as stored: `/` or `/a/b/` (the ARN gives `a/b/` after the type's slash).
pub(crate) fn full_path(path: &str) -> String {
    if path == "/" {
        "/".into()
    } else {
        format!("/{path}")
    }
}

/// The account named by ResourceOwner: `arn:aws:iam::ACCOUNT:root` (as AWS documents) or a bare account id.
pub(crate) fn owner_account(v: &str) -> Option<String> {
    if gatehouse_policy::is_account_id(v) {
        return Some(v.to_string());
    }
    let rest = v.strip_prefix("arn:aws:iam::")?;
    let (account, _) = rest.split_once(':')?;
    gatehouse_policy::is_account_id(account).then(|| account.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn typed_entries() {
        let v = pairs(&[
            ("ContextEntries.member.2.ContextKeyName", "aws:SourceIp"),
            ("ContextEntries.member.2.ContextKeyType", "ip"),
            (
                "ContextEntries.member.2.ContextKeyValues.member.1",
                "10.1.2.3",
            ),
            ("ContextEntries.member.1.ContextKeyName", "s3:max-keys"),
            ("ContextEntries.member.1.ContextKeyType", "numeric"),
            ("ContextEntries.member.1.ContextKeyValues.member.1", "42"),
            ("ContextEntries.member.3.ContextKeyName", "aws:TagKeys"),
            ("ContextEntries.member.3.ContextKeyType", "stringList"),
            ("ContextEntries.member.3.ContextKeyValues.member.2", "b"),
            ("ContextEntries.member.3.ContextKeyValues.member.1", "a"),
            ("ContextEntries.member.4.ContextKeyName", "aws:CurrentTime"),
            ("ContextEntries.member.4.ContextKeyType", "date"),
            (
                "ContextEntries.member.4.ContextKeyValues.member.1",
                "2019-04-25T11:00:00Z",
            ),
            (
                "ContextEntries.member.5.ContextKeyName",
                "aws:SecureTransport",
            ),
            ("ContextEntries.member.5.ContextKeyType", "boolean"),
            ("ContextEntries.member.5.ContextKeyValues.member.1", "TRUE"),
        ]);
        let e = context_entries(&Params(&v)).unwrap();
        assert_eq!(e[0].name, "s3:max-keys");
        assert_eq!(e[0].value, ContextValue::Number(42));
        assert_eq!(e[1].value, ContextValue::Ip("10.1.2.3".parse().unwrap()));
        assert_eq!(e[2].value, ContextValue::List(vec!["a".into(), "b".into()]));
        assert_eq!(e[3].value.as_date_ms(), Some(1_556_190_000_000));
        assert_eq!(e[4].value, ContextValue::Bool(true));
    }

    #[test]
    fn bad_entries() {
        let one = |ty: &str, vals: &[&str]| {
            let mut v = pairs(&[
                ("ContextEntries.member.1.ContextKeyName", "kk:kk"),
                ("ContextEntries.member.1.ContextKeyType", ty),
            ]);
            for (i, x) in vals.iter().enumerate() {
                v.push((
                    format!("ContextEntries.member.1.ContextKeyValues.member.{}", i + 1),
                    x.to_string(),
                ));
            }
            context_entries(&Params(&v)).map_err(|e| e.code)
        };
        use crate::IamErrorCode::*;
        assert_eq!(one("ip", &["nope"]), Err(InvalidInput));
        assert_eq!(one("numeric", &["1x"]), Err(InvalidInput));
        assert_eq!(one("boolean", &["yes"]), Err(InvalidInput));
        assert_eq!(one("date", &["yesterday"]), Err(InvalidInput));
        assert_eq!(one("string", &["a", "b"]), Err(InvalidInput));
        assert_eq!(one("strings", &["a"]), Err(ValidationError));
        assert!(one("numericList", &["1", "2.5"]).is_ok());
        assert!(one("dateList", &["1556190000"]).is_ok());
        assert!(one("binary", &["AAEC"]).is_ok());
    }

    #[test]
    fn principal_keys_go_to_the_principal() {
        let entries = vec![
            ContextEntry {
                name: "aws:PrincipalTag/team".into(),
                value: "blue".into(),
            },
            ContextEntry {
                name: "aws:username".into(),
                value: "carol".into(),
            },
            ContextEntry {
                name: "aws:SourceIp".into(),
                value: ContextValue::Ip("10.0.0.1".parse().unwrap()),
            },
        ];
        let mut p = Principal::user("123456789012", "/", "bob", "AIDAX", None);
        apply_principal_keys(&mut p, &entries);
        assert_eq!(p.tags, [("team".to_string(), "blue".to_string())]);
        assert_eq!(p.username.as_deref(), Some("carol"));
        let c = context_of(&entries);
        assert!(c.get("aws:sourceip").is_some());
        assert!(c.get("aws:username").is_none());
    }

    #[test]
    fn arns() {
        assert_eq!(
            iam_arn("arn:aws:iam::123456789012:user/dev/team/bob"),
            Some(("123456789012", "user", "dev/team/", "bob"))
        );
        assert_eq!(
            iam_arn("arn:aws:iam::123456789012:role/r"),
            Some(("123456789012", "role", "/", "r"))
        );
        assert_eq!(iam_arn("arn:aws:iam::123456789012:root"), None);
        assert_eq!(iam_arn("arn:aws:iam::12345:user/x"), None);
        assert_eq!(full_path("dev/team/"), "/dev/team/");
        assert_eq!(
            owner_account("arn:aws:iam::111122223333:root").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            owner_account("111122223333").as_deref(),
            Some("111122223333")
        );
        assert_eq!(owner_account("bob"), None);
    }
}
