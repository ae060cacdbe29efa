//! Roles (CreateRole, GetRole, ListRoles, UpdateRole, UpdateAssumeRolePolicy, DeleteRole) and permissions
//! boundaries of users and roles.

use gatehouse_meta::{EntityKind, IamRole, Page, RoleUpdate, TagTarget};
use gatehouse_policy::{PolicyKind, SizeLimit};

use crate::policies::{check_attachable, entity_param};
use crate::*;

/// `<PermissionsBoundary>` when set.
pub(crate) fn boundary_xml(x: &mut Xml, arn: Option<&str>) {
    if let Some(a) = arn {
        x.open("PermissionsBoundary")
            .el("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
            .el("PermissionsBoundaryArn", a)
            .close("PermissionsBoundary");
    }
}

/// An optional boundary ARN parameter: a built-in AWS policy or (checked by the store) one of the account's.
pub(crate) async fn boundary_param(cx: &Cx<'_>, k: &str) -> Result<Option<String>, IamError> {
    if cx.p.get(k).is_none() {
        return Ok(None);
    }
    let arn = cx.p.policy_arn(k)?;
    check_attachable(arn)?;
    if !arn.starts_with(gatehouse_meta::AWS_MANAGED_PREFIX)
        && cx
            .meta
            .get_managed_policy(cx.account(), arn)
            .await?
            .is_none()
    {
        return Err(IamError::no_such(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        )));
    }
    Ok(Some(arn.to_string()))
}

fn role_xml(x: &mut Xml, r: &IamRole, full: Option<&[(String, String)]>) {
    x.el("Path", &r.path)
        .el("RoleName", &r.name)
        .el("RoleId", &r.role_id)
        .el("Arn", &r.arn())
        .date("CreateDate", r.created_ms)
        .doc("AssumeRolePolicyDocument", &r.trust_policy)
        .opt(
            "Description",
            r.description.as_deref().filter(|d| !d.is_empty()),
        )
        .el("MaxSessionDuration", &r.max_session_duration.to_string());
    if let Some(tags) = full {
        boundary_xml(x, r.boundary_arn.as_deref());
        if !tags.is_empty() {
            x.tags(tags);
        }
        x.open("RoleLastUsed").close("RoleLastUsed");
    }
}

fn description(cx: &Cx<'_>) -> Result<Option<String>, IamError> {
    match cx.p.get("Description") {
        None => Ok(None),
        Some(d) => {
            if d.chars().count() > 1000 {
                return Err(IamError::validation(
                    "1 validation error detected: Value at 'description' failed to satisfy constraint: \
                     Member must have length less than or equal to 1000",
                ));
            }
            if !d.chars().all(
                |c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}'),
            ) {
                return Err(IamError::validation(format!(
                    "1 validation error detected: Value '{d}' at 'description' failed to satisfy constraint: \
                     Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"
                )));
            }
            Ok(Some(d.to_string()))
        }
    }
}

fn max_session(cx: &Cx<'_>) -> Result<Option<i64>, IamError> {
    match cx.p.get("MaxSessionDuration") {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (3600..=43200).contains(&n) => Ok(Some(n)),
            Ok(n) => Err(IamError::validation(format!(
                "1 validation error detected: Value '{n}' at 'maxSessionDuration' failed to satisfy constraint: \
                 Member must have value {} {}",
                if n < 3600 {
                    "greater than or equal to"
                } else {
                    "less than or equal to"
                },
                if n < 3600 { 3600 } else { 43200 }
            ))),
            Err(_) => Err(IamError::validation(format!(
                "Invalid value for parameter MaxSessionDuration: {v}"
            ))),
        },
    }
}

pub(crate) async fn create_role(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("RoleName", 64)?;
    let path = cx.p.path("Path")?;
    let trust = cx.p.document(
        "AssumeRolePolicyDocument",
        PolicyKind::Trust,
        SizeLimit::TrustPolicy,
    )?;
    let description = description(cx)?;
    let max = max_session(cx)?.unwrap_or(3600);
    let boundary = boundary_param(cx, "PermissionsBoundary").await?;
    let tags = cx.p.tags()?;
    let r = IamRole {
        account_id: cx.account().to_string(),
        role_id: gatehouse_core::new_unique_id("AROA"),
        name: name.to_string(),
        path,
        trust_policy: trust.to_string(),
        description,
        max_session_duration: max,
        boundary_arn: boundary,
        created_ms: gatehouse_core::now_ms(),
    };
    cx.meta.create_iam_role(&r).await?;
    if !tags.is_empty() {
        cx.meta
            .tag_iam(TagTarget::Role, cx.account(), name, &tags)
            .await?;
    }
    let mut x = Xml::new();
    x.open("Role");
    role_xml(&mut x, &r, Some(&tags));
    x.close("Role");
    Ok(Some(x))
}

pub(crate) async fn get_role(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("RoleName", 64)?;
    let r = cx
        .meta
        .get_iam_role(cx.account(), name)
        .await?
        .ok_or_else(|| IamError::no_such(format!("The role with name {name} cannot be found.")))?;
    let tags = cx
        .meta
        .list_iam_tags(TagTarget::Role, cx.account(), name)
        .await?;
    let mut x = Xml::new();
    x.open("Role");
    role_xml(&mut x, &r, Some(&tags));
    x.close("Role");
    Ok(Some(x))
}

pub(crate) async fn list_roles(cx: &Cx<'_>) -> Out {
    let prefix = cx.p.path_prefix()?;
    let page = cx.p.page()?;
    let Page { items, next_marker } = cx.meta.list_iam_roles(cx.account(), &prefix, page).await?;
    let mut x = Xml::new();
    x.open("Roles");
    for r in &items {
        x.open("member");
        role_xml(&mut x, r, None);
        x.close("member");
    }
    x.close("Roles").truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn update_role(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("RoleName", 64)?;
    let description = description(cx)?;
    let max = max_session(cx)?;
    cx.meta
        .update_iam_role(
            cx.account(),
            name,
            &RoleUpdate {
                description: description.as_deref(),
                max_session_duration: max,
                trust_policy: None,
            },
        )
        .await?;
    Ok(Some(Xml::new()))
}

pub(crate) async fn update_assume_role_policy(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("RoleName", 64)?;
    let trust =
        cx.p.document("PolicyDocument", PolicyKind::Trust, SizeLimit::TrustPolicy)?;
    cx.meta
        .update_iam_role(
            cx.account(),
            name,
            &RoleUpdate {
                trust_policy: Some(trust),
                ..Default::default()
            },
        )
        .await?;
    Ok(None)
}

pub(crate) async fn delete_role(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("RoleName", 64)?;
    cx.meta.delete_iam_role(cx.account(), name).await?;
    Ok(None)
}

pub(crate) async fn put_boundary(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    cx.p.req("PermissionsBoundary")?;
    let arn = boundary_param(cx, "PermissionsBoundary").await?;
    cx.meta
        .set_iam_boundary(kind, cx.account(), entity, arn.as_deref())
        .await?;
    Ok(None)
}

pub(crate) async fn delete_boundary(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    cx.meta
        .set_iam_boundary(kind, cx.account(), entity, None)
        .await?;
    Ok(None)
}
