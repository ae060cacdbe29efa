//! ACLs as Gatehouse stores them (JSON: owner canonical id + grants by canonical id or group URI; e-mail
//! grantees are resolved to canonical ids when the ACL is set, as S3 does), and the three ways a request
//! gives one: a canned ACL (`x-amz-acl`), grant headers (`x-amz-grant-*`), or an AccessControlPolicy body.

use gatehouse_policy::acl::{ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY};
use gatehouse_policy::{Acl, AclTarget, CannedAcl, Grant, Grantee, Permission};
use s3s::dto::{self, AccessControlPolicy};
use s3s::{S3Result, s3_error};

use crate::state::AppState;

/// One stored grant: exactly one of `id` (canonical user) and `uri` (group).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredGrant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub permission: String,
}

/// A stored ACL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredAcl {
    pub owner: String,
    pub grants: Vec<StoredGrant>,
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Read => "READ",
        Permission::Write => "WRITE",
        Permission::ReadAcp => "READ_ACP",
        Permission::WriteAcp => "WRITE_ACP",
        Permission::FullControl => "FULL_CONTROL",
    }
}

impl StoredAcl {
    /// Parses the stored JSON.
    pub fn parse(s: &str) -> Result<StoredAcl, String> {
        let a: StoredAcl = serde_json::from_str(s).map_err(|e| e.to_string())?;
        for g in &a.grants {
            if Permission::parse(&g.permission).is_none() || (g.id.is_some() == g.uri.is_some()) {
                return Err(format!("bad grant {g:?}"));
            }
        }
        Ok(a)
    }

    /// The stored JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The ACL as the policy engine takes it.
    pub fn to_policy(&self, target: AclTarget) -> Acl {
        Acl {
            target,
            owner: self.owner.clone(),
            grants: self
                .grants
                .iter()
                .filter_map(|g| {
                    let grantee = match (&g.id, &g.uri) {
                        (Some(id), _) => Grantee::CanonicalUser(id.clone()),
                        (None, Some(uri)) => Grantee::from_uri(uri)?,
                        (None, None) => return None,
                    };
                    Some(Grant {
                        grantee,
                        permission: Permission::parse(&g.permission)?,
                    })
                })
                .collect(),
        }
    }

    /// From the engine's form.
    pub fn from_policy(acl: &Acl) -> StoredAcl {
        StoredAcl {
            owner: acl.owner.clone(),
            grants: acl
                .grants
                .iter()
                .map(|g| {
                    let (id, uri) = match &g.grantee {
                        Grantee::CanonicalUser(id) => (Some(id.clone()), None),
                        Grantee::AllUsers => (None, Some(ALL_USERS.to_owned())),
                        Grantee::AuthenticatedUsers => (None, Some(AUTHENTICATED_USERS.to_owned())),
                        Grantee::LogDelivery => (None, Some(LOG_DELIVERY.to_owned())),
                    };
                    StoredGrant {
                        id,
                        uri,
                        permission: permission_name(g.permission).to_owned(),
                    }
                })
                .collect(),
        }
    }

    /// A canned ACL for a resource owned by `owner` in a bucket owned by `bucket_owner`.
    pub fn canned(c: CannedAcl, target: AclTarget, owner: &str, bucket_owner: &str) -> StoredAcl {
        StoredAcl::from_policy(&c.to_acl(target, owner, Some(bucket_owner)))
    }

    /// Whether this is the owner's FULL_CONTROL alone (nothing worth storing).
    pub fn is_private(&self) -> bool {
        self.grants.len() == 1
            && self.grants[0].id.as_deref() == Some(self.owner.as_str())
            && self.grants[0].permission == "FULL_CONTROL"
    }

    /// The grants in the S3 shape, with display names for canonical users.
    pub(crate) async fn dto_grants(
        &self,
        owners: &mut crate::s3::Owners<'_>,
    ) -> S3Result<dto::Grants> {
        let mut out = Vec::with_capacity(self.grants.len());
        for g in &self.grants {
            let grantee = match (&g.id, &g.uri) {
                (Some(id), _) => {
                    let o = owners.get(id).await?;
                    dto::Grantee {
                        display_name: o.display_name,
                        email_address: None,
                        id: Some(id.clone()),
                        type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
                        uri: None,
                    }
                }
                (None, uri) => dto::Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: dto::Type::from_static(dto::Type::GROUP),
                    uri: uri.clone(),
                },
            };
            out.push(dto::Grant {
                grantee: Some(grantee),
                permission: Some(dto::Permission::from(g.permission.clone())),
            });
        }
        Ok(out)
    }
}

fn malformed_acl() -> s3s::S3Error {
    crate::s3::custom_error(
        "MalformedACLError",
        http::StatusCode::BAD_REQUEST,
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

/// A grantee named by a request, before e-mail addresses are resolved.
enum Named {
    Id(String),
    Uri(String),
    Email(String),
}

async fn resolve(state: &AppState, named: Named) -> S3Result<StoredGrantee> {
    match named {
        Named::Id(id) => {
            let mut found = state
                .meta
                .get_account_by_canonical_id(&id)
                .await
                .map_err(crate::s3::meta_err)?;
            if found.is_none() && id.chars().any(|c| c.is_ascii_uppercase()) {
                found = state
                    .meta
                    .get_account_by_canonical_id(&id.to_ascii_lowercase())
                    .await
                    .map_err(crate::s3::meta_err)?;
            }
            match found {
                Some(a) => Ok(StoredGrantee::Id(a.canonical_id)),
                None => Err(s3_error!(InvalidArgument, "Invalid id")),
            }
        }
        Named::Uri(uri) => {
            if Grantee::from_uri(&uri).is_some() {
                Ok(StoredGrantee::Uri(uri))
            } else {
                Err(s3_error!(InvalidArgument, "Invalid group uri"))
            }
        }
        Named::Email(email) => {
            let found = state
                .meta
                .get_account_by_email(&email)
                .await
                .map_err(crate::s3::meta_err)?;
            match found {
                Some(a) => Ok(StoredGrantee::Id(a.canonical_id)),
                None => Err(crate::s3::custom_error(
                    "UnresolvableGrantByEmailAddress",
                    http::StatusCode::BAD_REQUEST,
                    "The e-mail address you provided does not match any account on record.",
                )),
            }
        }
    }
}

enum StoredGrantee {
    Id(String),
    Uri(String),
}

fn grant(g: StoredGrantee, permission: &str) -> StoredGrant {
    let (id, uri) = match g {
        StoredGrantee::Id(i) => (Some(i), None),
        StoredGrantee::Uri(u) => (None, Some(u)),
    };
    StoredGrant {
        id,
        uri,
        permission: permission.to_owned(),
    }
}

/// Parses one `x-amz-grant-*` value: `id="..."`, `uri="..."`, `emailAddress="..."`, comma separated.
fn parse_grant_header(v: &str) -> S3Result<Vec<Named>> {
    let mut out = Vec::new();
    for part in v.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, val) = part
            .split_once('=')
            .ok_or_else(|| s3_error!(InvalidArgument, "Invalid grant header: {part}"))?;
        let val = val.trim().trim_matches('"').to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "id" => out.push(Named::Id(val)),
            "uri" => out.push(Named::Uri(val)),
            "emailaddress" => out.push(Named::Email(val)),
            _ => return Err(s3_error!(InvalidArgument, "Invalid grant header: {part}")),
        }
    }
    Ok(out)
}

/// The `x-amz-grant-*` headers of a request, by permission.
#[derive(Default)]
pub struct GrantHeaders<'a> {
    pub full_control: Option<&'a str>,
    pub read: Option<&'a str>,
    pub read_acp: Option<&'a str>,
    pub write: Option<&'a str>,
    pub write_acp: Option<&'a str>,
}

impl GrantHeaders<'_> {
    pub fn any(&self) -> bool {
        self.full_control.is_some()
            || self.read.is_some()
            || self.read_acp.is_some()
            || self.write.is_some()
            || self.write_acp.is_some()
    }
}

/// What a request says the ACL should be: `None` when it says nothing. Canned ACL and grant headers together
/// are refused, as S3 does. `owner` owns the resource, `bucket_owner` its bucket.
pub async fn requested_acl(
    state: &AppState,
    target: AclTarget,
    canned: Option<&str>,
    headers: &GrantHeaders<'_>,
    body: Option<&AccessControlPolicy>,
    owner: &str,
    bucket_owner: &str,
) -> S3Result<Option<StoredAcl>> {
    if canned.is_some() && headers.any() {
        return Err(s3_error!(
            InvalidRequest,
            "Specifying both Canned ACLs and Header Grants is not allowed"
        ));
    }
    if let Some(c) = canned {
        if body.is_some() {
            return Err(s3_error!(
                UnexpectedContent,
                "This request does not support content"
            ));
        }
        let c = CannedAcl::parse(c).ok_or_else(|| s3_error!(InvalidArgument))?;
        return Ok(Some(StoredAcl::canned(c, target, owner, bucket_owner)));
    }
    if headers.any() {
        if body.is_some() {
            return Err(s3_error!(
                UnexpectedContent,
                "This request does not support content"
            ));
        }
        let mut grants = Vec::new();
        for (v, perm) in [
            (headers.read, "READ"),
            (headers.write, "WRITE"),
            (headers.read_acp, "READ_ACP"),
            (headers.write_acp, "WRITE_ACP"),
            (headers.full_control, "FULL_CONTROL"),
        ] {
            for named in parse_grant_header(v.unwrap_or_default())? {
                grants.push(grant(resolve(state, named).await?, perm));
            }
        }
        return Ok(Some(StoredAcl {
            owner: owner.to_owned(),
            grants,
        }));
    }
    let Some(policy) = body else {
        return Ok(None);
    };
    if let Some(o) = &policy.owner
        && let Some(id) = &o.id
        && !id.eq_ignore_ascii_case(owner)
    {
        return Err(s3_error!(AccessDenied, "Access Denied"));
    }
    let mut grants = Vec::new();
    for g in policy.grants.as_deref().unwrap_or_default() {
        let (Some(ge), Some(perm)) = (&g.grantee, &g.permission) else {
            return Err(malformed_acl());
        };
        let perm = perm.as_str();
        if Permission::parse(perm).is_none() {
            return Err(malformed_acl());
        }
        let named = match ge.type_.as_str() {
            dto::Type::CANONICAL_USER => Named::Id(ge.id.clone().ok_or_else(malformed_acl)?),
            dto::Type::GROUP => Named::Uri(ge.uri.clone().ok_or_else(malformed_acl)?),
            dto::Type::AMAZON_CUSTOMER_BY_EMAIL => {
                Named::Email(ge.email_address.clone().ok_or_else(malformed_acl)?)
            }
            _ => return Err(malformed_acl()),
        };
        grants.push(grant(resolve(state, named).await?, perm));
    }
    Ok(Some(StoredAcl {
        owner: owner.to_owned(),
        grants,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_acls_round_trip_and_bad_ones_are_refused() {
        let a = StoredAcl::canned(CannedAcl::PublicRead, AclTarget::Bucket, "aa", "aa");
        assert_eq!(StoredAcl::parse(&a.to_json()), Ok(a.clone()));
        assert!(a.to_policy(AclTarget::Bucket).is_public());
        assert!(!a.is_private());
        let p = StoredAcl::canned(CannedAcl::Private, AclTarget::Object, "aa", "bb");
        assert!(p.is_private());
        assert!(StoredAcl::parse(r#"{"owner":"a","grants":[{"permission":"READ"}]}"#).is_err());
        assert!(
            StoredAcl::parse(r#"{"owner":"a","grants":[{"id":"x","permission":"ALL"}]}"#).is_err()
        );
    }

    #[test]
    fn grant_headers_parse_every_grantee_kind() {
        let g = parse_grant_header(
            r#"id="abc", uri="http://acs.amazonaws.com/groups/global/AllUsers",emailAddress="a@b.c""#,
        )
        .expect("parse");
        assert!(matches!(&g[0], Named::Id(i) if i == "abc"));
        assert!(matches!(&g[1], Named::Uri(u) if u == ALL_USERS));
        assert!(matches!(&g[2], Named::Email(e) if e == "a@b.c"));
        assert!(parse_grant_header("who=x").is_err());
        assert!(parse_grant_header("novalue").is_err());
    }
}
