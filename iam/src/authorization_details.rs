//! GetAccountAuthorizationDetails: the caller's account's users, groups, roles and managed policies with
//! their relationships, in one paged list (Filter picks entity types; Marker / MaxItems page over all of
//! them together, users first, then groups, roles and policies, each by name).
//!
//! AWS managed policies appear only when attached to an entity of the account or used as a permissions
//! boundary there (what IAM lists; it has hundreds of them), customer managed ones always. Documents are URL-encoded as IAM returns them.
//! The entity lists are read one after another, not in one snapshot: a change made meanwhile may show
//! in one list and not yet in another.

use gatehouse_meta::{
    IamGroup, IamRole, IamUser, ManagedPolicy, Page, PageReq, PrincipalAuthz, TagTarget,
};

use crate::params::policy_name_path;
use crate::roles::boundary_xml;
use crate::*;

const FILTERS: [&str; 5] = [
    "User",
    "Role",
    "Group",
    "LocalManagedPolicy",
    "AWSManagedPolicy",
];

/// One entry of the combined list.
enum Item {
    User(IamUser),
    Group(IamGroup),
    Role(IamRole),
    Local(ManagedPolicy),
    /// With its attachment and permissions-boundary counts in the account.
    Aws(&'static AwsManagedPolicy, i64, i64),
}

impl Item {
    /// The paging key: entity type first (users, groups, roles, policies), then name or ARN.
    fn key(&self) -> String {
        match self {
            Item::User(u) => format!("1|{}", u.name.to_ascii_lowercase()),
            Item::Group(g) => format!("2|{}", g.name.to_ascii_lowercase()),
            Item::Role(r) => format!("3|{}", r.name.to_ascii_lowercase()),
            Item::Local(p) => format!("4|{}", p.arn),
            Item::Aws(p, _, _) => format!("4|{}", p.arn()),
        }
    }
}

/// Every item of a paged meta list call.
macro_rules! all_pages {
    ($call:expr) => {{
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let req = PageReq {
                marker: marker.as_deref(),
                max_items: 1000,
            };
            let page = $call(req).await?;
            out.extend(page.items);
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        out
    }};
}

pub(crate) async fn get_account_authorization_details(cx: &Cx<'_>) -> Out {
    let filter = cx.p.members("Filter");
    for (i, f) in filter.iter().enumerate() {
        if !FILTERS.contains(f) {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{f}' at 'filter.{}.member' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                i + 1,
                FILTERS.join(", ")
            )));
        }
    }
    let wants = |f: &str| filter.is_empty() || filter.contains(&f);
    let page = cx.p.page()?;
    let acct = cx.account();
    let mut items: Vec<Item> = Vec::new();
    let aws = wants("AWSManagedPolicy");
    // Users and roles are read for their own entries, and for the boundaries AWS managed policies serve as.
    let all_users: Vec<IamUser> = if wants("User") || aws {
        all_pages!(|r| cx.meta.list_iam_users(acct, "/", r))
    } else {
        Vec::new()
    };
    let all_roles: Vec<IamRole> = if wants("Role") || aws {
        all_pages!(|r| cx.meta.list_iam_roles(acct, "/", r))
    } else {
        Vec::new()
    };
    if aws {
        for p in aws_managed_policies() {
            let arn = p.arn();
            let e = cx.meta.list_entities_for_policy(acct, &arn).await?;
            let attached = (e.users.len() + e.groups.len() + e.roles.len()) as i64;
            let bounds = all_users
                .iter()
                .filter(|u| u.boundary_arn.as_deref() == Some(arn.as_str()))
                .count()
                + all_roles
                    .iter()
                    .filter(|r| r.boundary_arn.as_deref() == Some(arn.as_str()))
                    .count();
            if attached > 0 || bounds > 0 {
                items.push(Item::Aws(p, attached, bounds as i64));
            }
        }
    }
    if wants("User") {
        items.extend(all_users.into_iter().map(Item::User));
    }
    if wants("Group") {
        let all: Vec<IamGroup> = all_pages!(|r| cx.meta.list_iam_groups(acct, "/", r));
        items.extend(all.into_iter().map(Item::Group));
    }
    if wants("Role") {
        items.extend(all_roles.into_iter().map(Item::Role));
    }
    if wants("LocalManagedPolicy") {
        let all: Vec<ManagedPolicy> =
            all_pages!(|r| cx.meta.list_managed_policies(acct, "/", false, r));
        items.extend(all.into_iter().map(Item::Local));
    }
    items.sort_by_key(Item::key);
    let Page { items, next_marker } = Page::of_sorted(items, page, Item::key);

    let (mut users, mut groups, mut roles, mut policies) =
        (Xml::new(), Xml::new(), Xml::new(), Xml::new());
    for item in &items {
        match item {
            Item::User(u) => user_detail(cx, &mut users, u).await?,
            Item::Group(g) => group_detail(cx, &mut groups, g).await?,
            Item::Role(r) => role_detail(cx, &mut roles, r).await?,
            Item::Local(p) => local_policy_detail(cx, &mut policies, p).await?,
            Item::Aws(p, n, b) => aws_policy_detail(&mut policies, p, *n, *b),
        }
    }
    let mut x = Xml::new();
    for (tag, body) in [
        ("UserDetailList", users),
        ("GroupDetailList", groups),
        ("RoleDetailList", roles),
        ("Policies", policies),
    ] {
        x.open(tag);
        x.0.push_str(&body.0);
        x.close(tag);
    }
    x.truncation(next_marker.as_deref());
    Ok(Some(x))
}

/// `<{list}>` of inline policies and `<AttachedManagedPolicies>`.
fn policies_xml(x: &mut Xml, list: &str, p: &PrincipalAuthz) {
    x.open(list);
    for (name, doc) in &p.inline {
        x.open("member")
            .el("PolicyName", name)
            .doc("PolicyDocument", doc)
            .close("member");
    }
    x.close(list);
    attached_xml(x, p);
}

fn attached_xml(x: &mut Xml, p: &PrincipalAuthz) {
    x.open("AttachedManagedPolicies");
    for m in &p.managed {
        x.open("member")
            .el("PolicyName", &policy_name_path(&m.arn).0)
            .el("PolicyArn", &m.arn)
            .close("member");
    }
    x.close("AttachedManagedPolicies");
}

fn vanished(kind: &str, name: &str) -> IamError {
    IamError::no_such(format!("The {kind} with name {name} cannot be found."))
}

async fn user_detail(cx: &Cx<'_>, x: &mut Xml, u: &IamUser) -> Result<(), IamError> {
    let az = cx
        .meta
        .user_authz(cx.account(), &u.name, None)
        .await?
        .ok_or_else(|| vanished("user", &u.name))?;
    let tags = cx
        .meta
        .list_iam_tags(TagTarget::User, cx.account(), &u.name)
        .await?;
    x.open("member")
        .el("Path", &u.path)
        .el("UserName", &u.name)
        .el("UserId", &u.user_id)
        .el("Arn", &u.arn())
        .date("CreateDate", u.created_ms);
    policies_xml(x, "UserPolicyList", &az.policies);
    x.open("GroupList");
    for g in &az.groups {
        x.el("member", &g.group.name);
    }
    x.close("GroupList");
    boundary_xml(x, az.user.boundary_arn.as_deref());
    if !tags.is_empty() {
        x.tags(&tags);
    }
    x.close("member");
    Ok(())
}

async fn group_detail(cx: &Cx<'_>, x: &mut Xml, g: &IamGroup) -> Result<(), IamError> {
    let az = cx
        .meta
        .group_authz(cx.account(), &g.name, None)
        .await?
        .ok_or_else(|| vanished("group", &g.name))?;
    x.open("member")
        .el("Path", &g.path)
        .el("GroupName", &g.name)
        .el("GroupId", &g.group_id)
        .el("Arn", &g.arn())
        .date("CreateDate", g.created_ms);
    policies_xml(x, "GroupPolicyList", &az.policies);
    x.close("member");
    Ok(())
}

async fn role_detail(cx: &Cx<'_>, x: &mut Xml, r: &IamRole) -> Result<(), IamError> {
    let az = cx
        .meta
        .role_authz(cx.account(), &r.name, None)
        .await?
        .ok_or_else(|| vanished("role", &r.name))?;
    let tags = cx
        .meta
        .list_iam_tags(TagTarget::Role, cx.account(), &r.name)
        .await?;
    x.open("member")
        .el("Path", &r.path)
        .el("RoleName", &r.name)
        .el("RoleId", &r.role_id)
        .el("Arn", &r.arn())
        .date("CreateDate", r.created_ms)
        .doc("AssumeRolePolicyDocument", &az.role.trust_policy);
    // Gatehouse has no EC2, hence no instance profiles; role use is not recorded (as GetRole shows).
    x.open("InstanceProfileList").close("InstanceProfileList");
    policies_xml(x, "RolePolicyList", &az.policies);
    boundary_xml(x, az.role.boundary_arn.as_deref());
    if !tags.is_empty() {
        x.tags(&tags);
    }
    x.open("RoleLastUsed").close("RoleLastUsed");
    x.close("member");
    Ok(())
}

async fn local_policy_detail(cx: &Cx<'_>, x: &mut Xml, p: &ManagedPolicy) -> Result<(), IamError> {
    let versions = cx.meta.list_policy_versions(cx.account(), &p.arn).await?;
    x.open("member")
        .el("PolicyName", &p.name)
        .el("PolicyId", &p.policy_id)
        .el("Arn", &p.arn)
        .el("Path", &p.path)
        .el("DefaultVersionId", &format!("v{}", p.default_version))
        .el("AttachmentCount", &p.attachment_count.to_string())
        .el(
            "PermissionsBoundaryUsageCount",
            &p.boundary_usage_count.to_string(),
        )
        .bool("IsAttachable", true)
        .opt("Description", p.description.as_deref())
        .date("CreateDate", p.created_ms)
        .date("UpdateDate", p.updated_ms);
    x.open("PolicyVersionList");
    for v in &versions {
        x.open("member")
            .doc("Document", &v.document)
            .el("VersionId", &format!("v{}", v.version))
            .bool("IsDefaultVersion", v.is_default)
            .date("CreateDate", v.created_ms)
            .close("member");
    }
    x.close("PolicyVersionList").close("member");
    Ok(())
}

fn aws_policy_detail(x: &mut Xml, p: &AwsManagedPolicy, attachments: i64, boundaries: i64) {
    x.open("member")
        .el("PolicyName", p.name)
        .el("PolicyId", p.policy_id)
        .el("Arn", &p.arn())
        .el("Path", "/")
        .el("DefaultVersionId", p.version)
        .el("AttachmentCount", &attachments.to_string())
        .el("PermissionsBoundaryUsageCount", &boundaries.to_string())
        .bool("IsAttachable", true)
        .el("Description", p.description)
        .el("CreateDate", p.created)
        .el("UpdateDate", p.updated);
    // Only the default version is built in; its date is the policy's last update.
    x.open("PolicyVersionList")
        .open("member")
        .doc("Document", p.document)
        .el("VersionId", p.version)
        .bool("IsDefaultVersion", true)
        .el("CreateDate", p.updated)
        .close("member")
        .close("PolicyVersionList")
        .close("member");
}
