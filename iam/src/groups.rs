//! Groups: CreateGroup, GetGroup, ListGroups, DeleteGroup, AddUserToGroup, RemoveUserFromGroup,
//! ListGroupsForUser.

use gatehouse_meta::{IamGroup, Page};

use crate::users::user_xml;
use crate::*;

fn group_xml(x: &mut Xml, g: &IamGroup) {
    x.el("Path", &g.path)
        .el("GroupName", &g.name)
        .el("GroupId", &g.group_id)
        .el("Arn", &g.arn())
        .date("CreateDate", g.created_ms);
}

pub(crate) async fn create_group(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("GroupName", 128)?;
    let path = cx.p.path("Path")?;
    let g = IamGroup {
        account_id: cx.account().to_string(),
        group_id: gatehouse_core::new_unique_id("AGPA"),
        name: name.to_string(),
        path,
        created_ms: gatehouse_core::now_ms(),
    };
    cx.meta.create_iam_group(&g).await?;
    let mut x = Xml::new();
    x.open("Group");
    group_xml(&mut x, &g);
    x.close("Group");
    Ok(Some(x))
}

pub(crate) async fn get_group(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("GroupName", 128)?;
    let page = cx.p.page()?;
    let g = cx
        .meta
        .get_iam_group(cx.account(), name)
        .await?
        .ok_or_else(|| IamError::no_such(format!("The group with name {name} cannot be found.")))?;
    let members = cx.meta.iam_group_members(cx.account(), name).await?;
    let Page { items, next_marker } =
        Page::of_sorted(members, page, |u| u.name.to_ascii_lowercase());
    let mut x = Xml::new();
    x.open("Group");
    group_xml(&mut x, &g);
    x.close("Group").open("Users");
    for u in &items {
        x.open("member");
        user_xml(&mut x, u, None);
        x.close("member");
    }
    x.close("Users").truncation(next_marker.as_deref());
    Ok(Some(x))
}

fn groups_xml(list: &[IamGroup], next_marker: Option<&str>) -> Xml {
    let mut x = Xml::new();
    x.open("Groups");
    for g in list {
        x.open("member");
        group_xml(&mut x, g);
        x.close("member");
    }
    x.close("Groups").truncation(next_marker);
    x
}

pub(crate) async fn list_groups(cx: &Cx<'_>) -> Out {
    let prefix = cx.p.path_prefix()?;
    let page = cx.p.page()?;
    let pg = cx.meta.list_iam_groups(cx.account(), &prefix, page).await?;
    Ok(Some(groups_xml(&pg.items, pg.next_marker.as_deref())))
}

pub(crate) async fn delete_group(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("GroupName", 128)?;
    cx.meta.delete_iam_group(cx.account(), name).await?;
    Ok(None)
}

pub(crate) async fn add_user_to_group(cx: &Cx<'_>) -> Out {
    let group = cx.p.name("GroupName", 128)?;
    let user = cx.p.name("UserName", 64)?;
    cx.meta
        .add_iam_user_to_group(cx.account(), group, user)
        .await?;
    Ok(None)
}

pub(crate) async fn remove_user_from_group(cx: &Cx<'_>) -> Out {
    let group = cx.p.name("GroupName", 128)?;
    let user = cx.p.name("UserName", 64)?;
    cx.meta
        .remove_iam_user_from_group(cx.account(), group, user)
        .await?;
    Ok(None)
}

pub(crate) async fn list_groups_for_user(cx: &Cx<'_>) -> Out {
    let user = cx.p.name("UserName", 64)?;
    let page = cx.p.page()?;
    let groups = cx.meta.iam_groups_for_user(cx.account(), user).await?;
    let pg = Page::of_sorted(groups, page, |g| g.name.to_ascii_lowercase());
    Ok(Some(groups_xml(&pg.items, pg.next_marker.as_deref())))
}

pub(crate) async fn update_group(cx: &Cx<'_>) -> Out {
    let name = cx.p.name("GroupName", 128)?;
    let new_name = cx.p.opt_name("NewGroupName", 128)?;
    let new_path = cx.p.opt_path("NewPath")?;
    cx.meta
        .update_iam_group(cx.account(), name, new_name, new_path.as_deref())
        .await?;
    Ok(None)
}
