//! Inline policies of users/groups/roles, customer managed policies and their versions, attachments.

use gatehouse_meta::{AWS_MANAGED_PREFIX, EntityKind, ManagedPolicy, Page, PageReq, TagTarget};
use gatehouse_policy::{PolicyKind, SizeLimit};

use crate::params::policy_name_path;
use crate::xml::iso_date;
use crate::*;

/// The name parameter of a user, group or role and its maximum length.
pub(crate) fn entity_param(kind: EntityKind) -> (&'static str, usize) {
    match kind {
        EntityKind::User => ("UserName", 64),
        EntityKind::Group => ("GroupName", 128),
        EntityKind::Role => ("RoleName", 64),
    }
}

fn inline_limit(kind: EntityKind) -> SizeLimit {
    match kind {
        EntityKind::User => SizeLimit::InlineUser,
        EntityKind::Group => SizeLimit::InlineGroup,
        EntityKind::Role => SizeLimit::InlineRole,
    }
}

pub(crate) async fn put_inline(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let name = cx.p.name("PolicyName", 128)?;
    // The quota is on all of the entity's inline policies together: the store checks it.
    let doc =
        cx.p.document("PolicyDocument", PolicyKind::Identity, SizeLimit::Unlimited)?;
    cx.meta
        .put_inline_policy(
            kind,
            cx.account(),
            entity,
            name,
            doc,
            inline_limit(kind).max(),
        )
        .await?;
    Ok(None)
}

pub(crate) async fn get_inline(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let name = cx.p.name("PolicyName", 128)?;
    let (stored, doc) = cx
        .meta
        .get_inline_policy(kind, cx.account(), entity, name)
        .await?;
    let mut x = Xml::new();
    x.el(k, &stored)
        .el("PolicyName", name)
        .doc("PolicyDocument", &doc);
    Ok(Some(x))
}

pub(crate) async fn list_inline(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let page = cx.p.page()?;
    let names = cx
        .meta
        .list_inline_policies(kind, cx.account(), entity)
        .await?;
    let Page { items, next_marker } = Page::of_sorted(names, page, |n| n.clone());
    let mut x = Xml::new();
    x.open("PolicyNames");
    for n in &items {
        x.el("member", n);
    }
    x.close("PolicyNames").truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn delete_inline(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let name = cx.p.name("PolicyName", 128)?;
    cx.meta
        .delete_inline_policy(kind, cx.account(), entity, name)
        .await?;
    Ok(None)
}

/// A managed policy as the API shows it, customer or AWS.
struct PolicyView {
    name: String,
    id: String,
    arn: String,
    path: String,
    default_version: String,
    attachments: i64,
    boundary_uses: i64,
    description: Option<String>,
    created: String,
    updated: String,
}

impl PolicyView {
    fn customer(p: &ManagedPolicy) -> Self {
        PolicyView {
            name: p.name.clone(),
            id: p.policy_id.clone(),
            arn: p.arn.clone(),
            path: p.path.clone(),
            default_version: format!("v{}", p.default_version),
            attachments: p.attachment_count,
            boundary_uses: p.boundary_usage_count,
            description: p.description.clone(),
            created: iso_date(p.created_ms),
            updated: iso_date(p.updated_ms),
        }
    }

    async fn aws(cx: &Cx<'_>, p: &AwsManagedPolicy) -> Result<Self, IamError> {
        let arn = p.arn();
        let e = cx.meta.list_entities_for_policy(cx.account(), &arn).await?;
        Ok(PolicyView {
            name: p.name.to_string(),
            id: p.policy_id.to_string(),
            path: "/".into(),
            default_version: p.version.to_string(),
            attachments: (e.users.len() + e.groups.len() + e.roles.len()) as i64,
            boundary_uses: 0,
            description: Some(p.description.to_string()),
            created: p.created.to_string(),
            updated: p.updated.to_string(),
            arn,
        })
    }

    fn write(&self, x: &mut Xml, full: bool, tags: &[(String, String)]) {
        x.el("PolicyName", &self.name)
            .el("PolicyId", &self.id)
            .el("Arn", &self.arn)
            .el("Path", &self.path)
            .el("DefaultVersionId", &self.default_version)
            .el("AttachmentCount", &self.attachments.to_string())
            .el(
                "PermissionsBoundaryUsageCount",
                &self.boundary_uses.to_string(),
            )
            .bool("IsAttachable", true);
        if full {
            x.opt("Description", self.description.as_deref());
        }
        x.el("CreateDate", &self.created)
            .el("UpdateDate", &self.updated);
        if !tags.is_empty() {
            x.tags(tags);
        }
    }
}

fn no_such_policy(arn: &str) -> IamError {
    IamError::no_such(format!("Policy {arn} does not exist or is not attachable."))
}

fn aws_unmodifiable(arn: &str) -> IamError {
    IamError::new(
        IamErrorCode::UnmodifiableEntity,
        format!("Policy {arn} is an AWS managed policy and cannot be modified."),
    )
}

/// Checks that `arn` names an attachable policy for the caller: a built-in AWS managed policy, or (left to
/// the store) one of the account's own.
pub(crate) fn check_attachable(arn: &str) -> Result<(), IamError> {
    if arn.starts_with(AWS_MANAGED_PREFIX) && aws_managed_policy(arn).is_none() {
        return Err(no_such_policy(arn));
    }
    Ok(())
}

pub(crate) async fn create_policy(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("PolicyName", 128)?;
    let path = cx.p.path("Path")?;
    let description = cx.p.get("Description");
    if let Some(d) = description
        && d.chars().count() > 1000
    {
        return Err(IamError::validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: \
             Member must have length less than or equal to 1000",
        ));
    }
    let doc = cx.p.document(
        "PolicyDocument",
        PolicyKind::Identity,
        SizeLimit::ManagedPolicy,
    )?;
    let tags = cx.p.tags()?;
    let now = gatehouse_core::now_ms();
    let p = ManagedPolicy {
        account_id: cx.account().to_string(),
        policy_id: gatehouse_core::new_unique_id("ANPA"),
        name: name.to_string(),
        arn: format!("arn:aws:iam::{}:policy{path}{name}", cx.account()),
        path,
        description: description.map(str::to_string),
        default_version: 1,
        attachment_count: 0,
        boundary_usage_count: 0,
        created_ms: now,
        updated_ms: now,
    };
    cx.meta.create_managed_policy(&p, doc).await?;
    if !tags.is_empty() {
        cx.meta
            .tag_iam(TagTarget::Policy, cx.account(), &p.arn, &tags)
            .await?;
    }
    let mut x = Xml::new();
    x.open("Policy");
    PolicyView::customer(&p).write(&mut x, true, &tags);
    x.close("Policy");
    Ok(Some(x))
}

pub(crate) async fn get_policy(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    let mut x = Xml::new();
    x.open("Policy");
    if let Some(p) = aws_managed_policy(arn) {
        PolicyView::aws(cx, p).await?.write(&mut x, true, &[]);
    } else {
        let p = cx
            .meta
            .get_managed_policy(cx.account(), arn)
            .await?
            .ok_or_else(|| no_such_policy(arn))?;
        let tags = cx
            .meta
            .list_iam_tags(TagTarget::Policy, cx.account(), arn)
            .await?;
        PolicyView::customer(&p).write(&mut x, true, &tags);
    }
    x.close("Policy");
    Ok(Some(x))
}

pub(crate) async fn list_policies(cx: &Cx<'_>) -> Out {
    let scope = cx.p.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: \
             Member must satisfy enum value set: [All, AWS, Local]"
        )));
    }
    let only_attached = cx.p.flag("OnlyAttached")?;
    let prefix = cx.p.path_prefix()?;
    let page = cx.p.page()?;
    let mut views = Vec::new();
    if scope != "Local" && prefix == "/" {
        for p in aws_managed_policies() {
            let v = PolicyView::aws(cx, p).await?;
            if !only_attached || v.attachments > 0 {
                views.push(v);
            }
        }
    }
    if scope != "AWS" {
        // Customer policies are bounded by the account's quota; gather them, then page the merged list.
        let mut marker: Option<String> = None;
        loop {
            let req = PageReq {
                marker: marker.as_deref(),
                max_items: 1000,
            };
            let pg = cx
                .meta
                .list_managed_policies(cx.account(), &prefix, only_attached, req)
                .await?;
            views.extend(pg.items.iter().map(PolicyView::customer));
            match pg.next_marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
    }
    let key = |v: &PolicyView| format!("{}\u{1}{}", v.name.to_ascii_lowercase(), v.arn);
    views.sort_by_key(key);
    let Page { items, next_marker } = Page::of_sorted(views, page, key);
    let mut x = Xml::new();
    x.open("Policies");
    for v in &items {
        x.open("member");
        v.write(&mut x, false, &[]);
        x.close("member");
    }
    x.close("Policies").truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn delete_policy(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    if arn.starts_with(AWS_MANAGED_PREFIX) {
        return Err(aws_unmodifiable(arn));
    }
    cx.meta.delete_managed_policy(cx.account(), arn).await?;
    Ok(None)
}

fn version_param(cx: &Cx<'_>) -> Result<(String, i64), IamError> {
    let v = cx.p.req("VersionId")?;
    let n = v
        .strip_prefix('v')
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|n| *n >= 1 && !v[1..].starts_with('0'));
    match n {
        Some(n) => Ok((v.to_string(), n)),
        None => Err(IamError::validation(format!(
            "1 validation error detected: Value '{v}' at 'versionId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        ))),
    }
}

pub(crate) async fn create_policy_version(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    if arn.starts_with(AWS_MANAGED_PREFIX) {
        return Err(aws_unmodifiable(arn));
    }
    let doc = cx.p.document(
        "PolicyDocument",
        PolicyKind::Identity,
        SizeLimit::ManagedPolicy,
    )?;
    let set_default = cx.p.flag("SetAsDefault")?;
    let v = cx
        .meta
        .create_policy_version(
            cx.account(),
            arn,
            doc,
            set_default,
            gatehouse_core::now_ms(),
        )
        .await?;
    let mut x = Xml::new();
    x.open("PolicyVersion")
        .el("VersionId", &format!("v{}", v.version))
        .bool("IsDefaultVersion", v.is_default)
        .date("CreateDate", v.created_ms)
        .close("PolicyVersion");
    Ok(Some(x))
}

pub(crate) async fn get_policy_version(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    let (vid, n) = version_param(cx)?;
    let mut x = Xml::new();
    x.open("PolicyVersion");
    if let Some(p) = aws_managed_policy(arn) {
        if vid != p.version {
            return Err(IamError::no_such(format!(
                "Policy {arn} version {vid} does not exist or is not attachable."
            )));
        }
        x.doc("Document", p.document)
            .el("VersionId", p.version)
            .bool("IsDefaultVersion", true)
            .el("CreateDate", p.updated);
    } else {
        let v = cx.meta.get_policy_version(cx.account(), arn, n).await?;
        x.doc("Document", &v.document)
            .el("VersionId", &vid)
            .bool("IsDefaultVersion", v.is_default)
            .date("CreateDate", v.created_ms);
    }
    x.close("PolicyVersion");
    Ok(Some(x))
}

pub(crate) async fn list_policy_versions(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    let page = cx.p.page()?;
    let mut x = Xml::new();
    x.open("Versions");
    let next_marker = if let Some(p) = aws_managed_policy(arn) {
        x.open("member")
            .el("VersionId", p.version)
            .bool("IsDefaultVersion", true)
            .el("CreateDate", p.updated)
            .close("member");
        None
    } else {
        let versions = cx.meta.list_policy_versions(cx.account(), arn).await?;
        // Newest first; the marker is the zero-padded inverse so that "after" means "older".
        let Page { items, next_marker } =
            Page::of_sorted(versions, page, |v| format!("{:019}", i64::MAX - v.version));
        for v in &items {
            x.open("member")
                .el("VersionId", &format!("v{}", v.version))
                .bool("IsDefaultVersion", v.is_default)
                .date("CreateDate", v.created_ms)
                .close("member");
        }
        next_marker
    };
    x.close("Versions").truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn delete_policy_version(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    let (_, n) = version_param(cx)?;
    if arn.starts_with(AWS_MANAGED_PREFIX) {
        return Err(aws_unmodifiable(arn));
    }
    cx.meta.delete_policy_version(cx.account(), arn, n).await?;
    Ok(None)
}

pub(crate) async fn set_default_policy_version(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    let (_, n) = version_param(cx)?;
    if arn.starts_with(AWS_MANAGED_PREFIX) {
        return Err(aws_unmodifiable(arn));
    }
    cx.meta
        .set_default_policy_version(cx.account(), arn, n, gatehouse_core::now_ms())
        .await?;
    Ok(None)
}

pub(crate) async fn attach(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let arn = cx.p.policy_arn("PolicyArn")?;
    check_attachable(arn)?;
    cx.meta
        .attach_managed_policy(kind, cx.account(), entity, arn)
        .await?;
    Ok(None)
}

pub(crate) async fn detach(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let arn = cx.p.policy_arn("PolicyArn")?;
    cx.meta
        .detach_managed_policy(kind, cx.account(), entity, arn)
        .await?;
    Ok(None)
}

pub(crate) async fn list_attached(cx: &Cx<'_>, kind: EntityKind) -> Out {
    let (k, max) = entity_param(kind);
    let entity = cx.p.name(k, max)?;
    let prefix = cx.p.path_prefix()?;
    let page = cx.p.page()?;
    let arns = cx
        .meta
        .list_attached_policies(kind, cx.account(), entity)
        .await?;
    let arns: Vec<String> = arns
        .into_iter()
        .filter(|a| policy_name_path(a).1.starts_with(&prefix))
        .collect();
    let Page { items, next_marker } = Page::of_sorted(arns, page, |a| a.clone());
    let mut x = Xml::new();
    x.open("AttachedPolicies");
    for a in &items {
        x.open("member")
            .el("PolicyName", &policy_name_path(a).0)
            .el("PolicyArn", a)
            .close("member");
    }
    x.close("AttachedPolicies")
        .truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn list_entities_for_policy(cx: &Cx<'_>) -> Out {
    let arn = cx.p.policy_arn("PolicyArn")?;
    let filter = cx.p.get("EntityFilter");
    if let Some(f) = filter
        && !matches!(
            f,
            "User" | "Role" | "Group" | "LocalManagedPolicy" | "AWSManagedPolicy"
        )
    {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{f}' at 'entityFilter' failed to satisfy constraint: \
             Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]"
        )));
    }
    let prefix = cx.p.path_prefix()?;
    let page = cx.p.page()?;
    if aws_managed_policy(arn).is_none()
        && cx
            .meta
            .get_managed_policy(cx.account(), arn)
            .await?
            .is_none()
    {
        return Err(no_such_policy(arn));
    }
    let e = cx.meta.list_entities_for_policy(cx.account(), arn).await?;
    let want = |k: &str| filter.is_none_or(|f| f == k);
    // (kind order key, element group, name element, id element, name, id), paths checked per entity.
    let mut all: Vec<(u8, String, String)> = Vec::new();
    for (i, (kind, list)) in [("Group", &e.groups), ("User", &e.users), ("Role", &e.roles)]
        .into_iter()
        .enumerate()
    {
        if !want(kind) {
            continue;
        }
        for (name, id) in list {
            if prefix != "/" {
                let path = match kind {
                    "User" => cx
                        .meta
                        .get_iam_user(cx.account(), name)
                        .await?
                        .map(|u| u.path),
                    "Group" => cx
                        .meta
                        .get_iam_group(cx.account(), name)
                        .await?
                        .map(|g| g.path),
                    _ => cx
                        .meta
                        .get_iam_role(cx.account(), name)
                        .await?
                        .map(|r| r.path),
                };
                if !path.is_some_and(|p| p.starts_with(&prefix)) {
                    continue;
                }
            }
            all.push((i as u8, name.clone(), id.clone()));
        }
    }
    let Page { items, next_marker } = Page::of_sorted(all, page, |(i, n, _)| {
        format!("{i}{}", n.to_ascii_lowercase())
    });
    let mut x = Xml::new();
    for (i, (group, name_el, id_el)) in [
        ("PolicyGroups", "GroupName", "GroupId"),
        ("PolicyUsers", "UserName", "UserId"),
        ("PolicyRoles", "RoleName", "RoleId"),
    ]
    .into_iter()
    .enumerate()
    {
        x.open(group);
        for (_, n, id) in items.iter().filter(|(k, _, _)| *k as usize == i) {
            x.open("member")
                .el(name_el, n)
                .el(id_el, id)
                .close("member");
        }
        x.close(group);
    }
    x.truncation(next_marker.as_deref());
    Ok(Some(x))
}
