//! Users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser.

use gatehouse_meta::{IamUser, Page, TagTarget};

use crate::roles::{boundary_param, boundary_xml};
use crate::*;

/// Writes a `<User>`-shaped element's children (`full`: boundary and tags too, as GetUser/CreateUser).
pub(crate) fn user_xml(x: &mut Xml, u: &IamUser, tags: Option<&[(String, String)]>) {
    x.el("Path", &u.path)
        .el("UserName", &u.name)
        .el("UserId", &u.user_id)
        .el("Arn", &u.arn())
        .date("CreateDate", u.created_ms);
    if tags.is_some() {
        boundary_xml(x, u.boundary_arn.as_deref());
    }
    if let Some(t) = tags.filter(|t| !t.is_empty()) {
        x.tags(t);
    }
}

/// The user a call without UserName is about: the calling user, or `None` for the root.
pub(crate) fn implicit_user(cx: &Cx<'_>) -> Result<Option<String>, IamError> {
    match &cx.caller.kind {
        CallerKind::Root => Ok(None),
        CallerKind::User { name, .. } => Ok(Some(name.clone())),
        CallerKind::Other { .. } => Err(IamError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

pub(crate) async fn get_user(cx: &Cx<'_>) -> Out {
    let name = match cx.p.opt_name("UserName", 64)? {
        Some(n) => n.to_string(),
        None => match implicit_user(cx)? {
            Some(n) => n,
            None => {
                // The root: AWS answers with the account's root ARN and the account id as UserId.
                let created = cx
                    .meta
                    .get_account(cx.account())
                    .await?
                    .map(|a| a.created_ms)
                    .unwrap_or(0);
                let mut x = Xml::new();
                x.open("User")
                    .el("UserId", cx.account())
                    .el("Arn", &gatehouse_core::root_arn(cx.account()))
                    .date("CreateDate", created)
                    .close("User");
                return Ok(Some(x));
            }
        },
    };
    let u = cx
        .meta
        .get_iam_user(cx.account(), &name)
        .await?
        .ok_or_else(|| IamError::no_such(format!("The user with name {name} cannot be found.")))?;
    let tags = cx
        .meta
        .list_iam_tags(TagTarget::User, cx.account(), &u.name)
        .await?;
    let mut x = Xml::new();
    x.open("User");
    user_xml(&mut x, &u, Some(&tags));
    x.close("User");
    Ok(Some(x))
}

pub(crate) async fn create_user(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("UserName", 64)?;
    let path = cx.p.path("Path")?;
    let boundary = boundary_param(cx, "PermissionsBoundary").await?;
    let tags = cx.p.tags()?;
    let u = IamUser {
        account_id: cx.account().to_string(),
        user_id: gatehouse_core::new_unique_id("AIDA"),
        name: name.to_string(),
        path,
        created_ms: gatehouse_core::now_ms(),
        boundary_arn: None,
    };
    cx.meta.create_iam_user(&u).await?;
    // Boundary and tags are separate transactions; a failure there leaves the user (AWS-like: the user
    // exists and the caller can retry the boundary/tags).
    if let Some(b) = &boundary {
        cx.meta
            .set_iam_boundary(
                gatehouse_meta::EntityKind::User,
                cx.account(),
                name,
                Some(b),
            )
            .await?;
    }
    if !tags.is_empty() {
        cx.meta
            .tag_iam(TagTarget::User, cx.account(), name, &tags)
            .await?;
    }
    let u = IamUser {
        boundary_arn: boundary,
        ..u
    };
    let mut x = Xml::new();
    x.open("User");
    user_xml(&mut x, &u, Some(&tags));
    x.close("User");
    Ok(Some(x))
}

pub(crate) async fn list_users(cx: &Cx<'_>) -> Out {
    let prefix = cx.p.path_prefix()?;
    let page = cx.p.page()?;
    let Page { items, next_marker } = cx.meta.list_iam_users(cx.account(), &prefix, page).await?;
    let mut x = Xml::new();
    x.open("Users");
    for u in &items {
        x.open("member");
        user_xml(&mut x, u, None);
        x.close("member");
    }
    x.close("Users").truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn update_user(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("UserName", 64)?;
    let new_name = cx.p.opt_name("NewUserName", 64)?;
    let new_path = cx.p.opt_path("NewPath")?;
    cx.meta
        .update_iam_user(cx.account(), name, new_name, new_path.as_deref())
        .await?;
    Ok(None)
}

pub(crate) async fn delete_user(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("UserName", 64)?;
    cx.meta.delete_iam_user(cx.account(), name).await?;
    Ok(None)
}

/// GetAccountSummary: the account's entity counts and the quotas Gatehouse enforces (AWS's defaults).
pub(crate) async fn get_account_summary(cx: &Cx<'_>) -> Out {
    let c = cx.meta.iam_counts(cx.account()).await?;
    let entries: [(&str, i64); 20] = [
        ("AccessKeysPerUserQuota", 2),
        ("AccountAccessKeysPresent", i64::from(c.root_keys > 0)),
        ("AccountMFAEnabled", 0),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("GroupPolicySizeQuota", 5120),
        ("Groups", c.groups),
        ("GroupsPerUserQuota", 10),
        ("GroupsQuota", 300),
        ("Policies", c.policies),
        ("PoliciesQuota", 1500),
        ("PolicySizeQuota", 6144),
        ("RolePolicySizeQuota", 10240),
        ("Roles", c.roles),
        ("RolesQuota", 1000),
        ("UserPolicySizeQuota", 2048),
        ("Users", c.users),
        ("UsersQuota", 5000),
        ("VersionsPerPolicyQuota", 5),
    ];
    let mut x = Xml::new();
    x.open("SummaryMap");
    for (k, v) in entries {
        x.open("entry")
            .el("key", k)
            .el("value", &v.to_string())
            .close("entry");
    }
    x.close("SummaryMap");
    Ok(Some(x))
}
