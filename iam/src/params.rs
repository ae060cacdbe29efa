//! Request parameters and AWS's input constraints (names, paths, documents, paging, tags).

use gatehouse_meta::PageReq;
use gatehouse_policy::{ParseOptions, PolicyDocument, PolicyKind, SizeLimit};

use crate::IamError;

/// The decoded form parameters of one request (Action and Version excluded).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a>(pub(crate) &'a [(String, String)]);

/// `userName` for `UserName`: how AWS names a member in validation messages.
fn field(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn constraint(v: &str, k: &str, what: &str) -> IamError {
    IamError::validation(format!(
        "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: {what}",
        field(k)
    ))
}

fn check_len(v: &str, k: &str, min: usize, max: usize) -> Result<(), IamError> {
    let n = v.chars().count();
    if n < min {
        return Err(constraint(
            v,
            k,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(constraint(
            v,
            k,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// `[\w+=,.@-]`
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

impl<'a> Params<'a> {
    /// The parameter's value, if given.
    pub(crate) fn get(&self, k: &str) -> Option<&'a str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    /// A required parameter.
    pub(crate) fn req(&self, k: &str) -> Result<&'a str, IamError> {
        self.get(k).ok_or_else(|| {
            IamError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                field(k)
            ))
        })
    }

    /// A user/group/role/policy name: `[\w+=,.@-]+`, 1..=max.
    pub(crate) fn name(&self, k: &str, max: usize) -> Result<&'a str, IamError> {
        let v = self.req(k)?;
        check_name(v, k, max)?;
        Ok(v)
    }

    /// An optional name.
    pub(crate) fn opt_name(&self, k: &str, max: usize) -> Result<Option<&'a str>, IamError> {
        match self.get(k) {
            Some(v) => {
                check_name(v, k, max)?;
                Ok(Some(v))
            }
            None => Ok(None),
        }
    }

    /// A path: `/` or `/.../` of `[\x21-\x7e]`, up to 512; `/` when absent.
    pub(crate) fn path(&self, k: &str) -> Result<String, IamError> {
        match self.get(k) {
            None => Ok("/".into()),
            Some(v) => {
                check_path(v, k)?;
                Ok(v.to_string())
            }
        }
    }

    /// An optional path (UpdateUser's NewPath).
    pub(crate) fn opt_path(&self, k: &str) -> Result<Option<String>, IamError> {
        match self.get(k) {
            None => Ok(None),
            Some(_) => self.path(k).map(Some),
        }
    }

    /// PathPrefix: `/` followed by `[\x21-\x7e]*`, up to 512; `/` when absent.
    pub(crate) fn path_prefix(&self) -> Result<String, IamError> {
        match self.get("PathPrefix") {
            None => Ok("/".into()),
            Some(v) => {
                check_len(v, "PathPrefix", 1, 512)?;
                if !v.starts_with('/') || !v.chars().all(|c| ('\x21'..='\x7e').contains(&c)) {
                    return Err(constraint(
                        v,
                        "PathPrefix",
                        "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
                    ));
                }
                Ok(v.to_string())
            }
        }
    }

    /// Marker and MaxItems (1..=1000, default 100).
    pub(crate) fn page(&self) -> Result<PageReq<'a>, IamError> {
        let marker = self.get("Marker");
        if let Some(m) = marker {
            check_len(m, "Marker", 1, 320)?;
        }
        let max_items = match self.get("MaxItems") {
            None => 100,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                Ok(n) if n < 1 => {
                    return Err(constraint(
                        v,
                        "MaxItems",
                        "Member must have value greater than or equal to 1",
                    ));
                }
                Ok(_) => {
                    return Err(constraint(
                        v,
                        "MaxItems",
                        "Member must have value less than or equal to 1000",
                    ));
                }
                Err(_) => {
                    return Err(IamError::validation(format!(
                        "Invalid value for parameter MaxItems: {v}"
                    )));
                }
            },
        };
        Ok(PageReq { marker, max_items })
    }

    /// A boolean parameter (`true`/`false`), default false.
    pub(crate) fn flag(&self, k: &str) -> Result<bool, IamError> {
        match self.get(k) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(IamError::validation(format!(
                "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must be a boolean",
                field(k)
            ))),
        }
    }

    /// A policy document parameter, validated for `kind` (`limit` is its single-document quota).
    pub(crate) fn document(
        &self,
        k: &str,
        kind: PolicyKind,
        limit: SizeLimit,
    ) -> Result<&'a str, IamError> {
        let v = self.req(k)?;
        check_len(v, k, 1, 131_072)?;
        if !v
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        {
            return Err(constraint(
                v,
                k,
                "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            ));
        }
        PolicyDocument::parse_with(
            v,
            kind,
            &ParseOptions {
                limit,
                bucket: None,
            },
        )?;
        Ok(v)
    }

    /// A policy ARN parameter (`arn:...`, 20..=2048).
    pub(crate) fn policy_arn(&self, k: &str) -> Result<&'a str, IamError> {
        let v = self.req(k)?;
        check_len(v, k, 20, 2048)?;
        if !v.starts_with("arn:") || v.split(':').count() < 6 {
            return Err(IamError::invalid_input(format!("ARN {v} is not valid.")));
        }
        Ok(v)
    }

    /// `Prefix.member.N` values in N order.
    pub(crate) fn members(&self, prefix: &str) -> Vec<&'a str> {
        let head = format!("{prefix}.member.");
        let mut out: Vec<(u32, &'a str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&head)?.parse::<u32>().ok()?;
                Some((n, v.as_str()))
            })
            .collect();
        out.sort_by_key(|(n, _)| *n);
        out.into_iter().map(|(_, v)| v).collect()
    }

    /// `Tags.member.N.Key` / `.Value`, validated (at most 50, keys unique ignoring case).
    pub(crate) fn tags(&self) -> Result<Vec<(String, String)>, IamError> {
        let mut by_n: std::collections::BTreeMap<u32, (Option<&str>, Option<&str>)> =
            Default::default();
        for (k, v) in self.0 {
            let Some(rest) = k.strip_prefix("Tags.member.") else {
                continue;
            };
            let Some((n, part)) = rest.split_once('.') else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            let e = by_n.entry(n).or_default();
            match part {
                "Key" => e.0 = Some(v),
                "Value" => e.1 = Some(v),
                _ => {}
            }
        }
        let mut out: Vec<(String, String)> = Vec::with_capacity(by_n.len());
        for (n, (k, v)) in by_n {
            let Some(k) = k else {
                return Err(IamError::validation(format!(
                    "1 validation error detected: Value null at 'tags.{n}.member.key' failed to satisfy constraint: Member must not be null"
                )));
            };
            let v = v.unwrap_or("");
            check_tag(k, "TagKey", 1, 128)?;
            check_tag(v, "TagValue", 0, 256)?;
            if out.iter().any(|(o, _)| o.eq_ignore_ascii_case(k)) {
                return Err(IamError::invalid_input(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                ));
            }
            out.push((k.to_string(), v.to_string()));
        }
        if out.len() > gatehouse_meta::MAX_TAGS {
            return Err(IamError::new(
                crate::IamErrorCode::LimitExceeded,
                format!(
                    "Cannot exceed quota for TagsPerResource: {}",
                    gatehouse_meta::MAX_TAGS
                ),
            ));
        }
        Ok(out)
    }

    /// `TagKeys.member.N`, validated.
    pub(crate) fn tag_keys(&self) -> Result<Vec<String>, IamError> {
        let keys = self.members("TagKeys");
        if keys.is_empty() {
            return Err(IamError::validation(
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
            ));
        }
        for k in &keys {
            check_tag(k, "TagKey", 1, 128)?;
        }
        Ok(keys.into_iter().map(str::to_string).collect())
    }
}

pub(crate) fn check_name(v: &str, k: &str, max: usize) -> Result<(), IamError> {
    check_len(v, k, 1, max)?;
    if !v.chars().all(name_char) {
        return Err(constraint(
            v,
            k,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

pub(crate) fn check_path(v: &str, k: &str) -> Result<(), IamError> {
    check_len(v, k, 1, 512)?;
    let ok = v == "/"
        || (v.len() >= 3
            && v.starts_with('/')
            && v.ends_with('/')
            && v.chars().all(|c| ('\x21'..='\x7e').contains(&c)));
    if !ok {
        return Err(constraint(
            v,
            k,
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

fn check_tag(v: &str, k: &str, min: usize, max: usize) -> Result<(), IamError> {
    check_len(v, k, min, max)?;
    if !v
        .chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    {
        return Err(constraint(
            v,
            k,
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
        ));
    }
    Ok(())
}

/// Policy name and path from a policy ARN (`arn:aws:iam::ACCOUNT:policy/PATH/NAME`).
pub(crate) fn policy_name_path(arn: &str) -> (String, String) {
    let res = arn.splitn(6, ':').nth(5).unwrap_or("");
    let rest = res.strip_prefix("policy").unwrap_or(res);
    match rest.rfind('/') {
        Some(i) => (rest[i + 1..].to_string(), rest[..=i].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn names_paths_members() {
        let v = p(&[
            ("UserName", "ok.name@x"),
            ("Bad", "no spaces"),
            ("Path", "/a/b/"),
            ("BadPath", "/a"),
            ("TagKeys.member.2", "b"),
            ("TagKeys.member.1", "a"),
        ]);
        let ps = Params(&v);
        assert_eq!(ps.name("UserName", 64).unwrap(), "ok.name@x");
        let e = ps.name("Bad", 64).unwrap_err();
        assert_eq!(e.code, crate::IamErrorCode::ValidationError);
        assert!(e.message.contains("at 'bad'"), "{}", e.message);
        assert!(
            ps.name("Missing", 64)
                .unwrap_err()
                .message
                .contains("Member must not be null")
        );
        assert_eq!(ps.path("Path").unwrap(), "/a/b/");
        assert!(ps.path("BadPath").is_err());
        assert_eq!(ps.path("Nope").unwrap(), "/");
        assert_eq!(ps.members("TagKeys"), ["a", "b"]);
        assert_eq!(
            policy_name_path("arn:aws:iam::123456789012:policy/a/b/Name"),
            ("Name".to_string(), "/a/b/".to_string())
        );
        assert_eq!(
            policy_name_path("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            ("ReadOnlyAccess".to_string(), "/".to_string())
        );
    }
}
