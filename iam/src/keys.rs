//! Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey, GetAccessKeyLastUsed.

use gatehouse_meta::Page;

use crate::users::implicit_user;
use crate::*;

/// The user a key call is about: UserName, else the caller (None: root keys).
fn key_user(cx: &Cx<'_>) -> Result<Option<String>, IamError> {
    match cx.p.opt_name("UserName", 64)? {
        Some(n) => Ok(Some(n.to_string())),
        None => implicit_user(cx),
    }
}

fn key_id<'a>(cx: &Cx<'a>) -> Result<&'a str, IamError> {
    let v = cx.p.req("AccessKeyId")?;
    let n = v.chars().count();
    if !(16..=128).contains(&n) || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{v}' at 'accessKeyId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w]+"
        )));
    }
    Ok(v)
}

pub(crate) async fn create_access_key(cx: &Cx<'_>) -> Out {
    let user = key_user(cx)?;
    let id = gatehouse_core::new_access_key_id(&cx.caller.account_id);
    let secret = gatehouse_core::new_secret_key();
    let context = format!("gatehouse:access-key:{id}");
    let sealed = cx
        .sealer
        .seal(secret.as_bytes(), context.as_bytes())
        .map_err(|e| {
            tracing::error!(error = %e, "iam: cannot seal a new access key");
            IamError::service("An internal error occurred.")
        })?;
    let key = cx
        .meta
        .create_iam_access_key(
            cx.account(),
            user.as_deref(),
            &id,
            &sealed,
            gatehouse_core::now_ms(),
        )
        .await?;
    let mut x = Xml::new();
    x.open("AccessKey")
        .opt("UserName", key.user_name.as_deref())
        .el("AccessKeyId", &key.access_key_id)
        .el("Status", &key.status)
        .el("SecretAccessKey", &secret)
        .date("CreateDate", key.created_ms)
        .close("AccessKey");
    Ok(Some(x))
}

pub(crate) async fn list_access_keys(cx: &Cx<'_>) -> Out {
    let user = key_user(cx)?;
    let page = cx.p.page()?;
    let keys = cx
        .meta
        .list_iam_access_keys(cx.account(), user.as_deref())
        .await?;
    // Paged by key id (the marker), so ordered by it.
    let mut keys = keys;
    keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
    let Page { items, next_marker } = Page::of_sorted(keys, page, |k| k.access_key_id.clone());
    let mut x = Xml::new();
    x.open("AccessKeyMetadata");
    for k in &items {
        x.open("member")
            .opt("UserName", k.user_name.as_deref())
            .el("AccessKeyId", &k.access_key_id)
            .el("Status", &k.status)
            .date("CreateDate", k.created_ms)
            .close("member");
    }
    x.close("AccessKeyMetadata")
        .truncation(next_marker.as_deref());
    Ok(Some(x))
}

pub(crate) async fn update_access_key(cx: &Cx<'_>) -> Out {
    let user = key_user(cx)?;
    let id = key_id(cx)?;
    let status = cx.p.req("Status")?;
    if status != "Active" && status != "Inactive" {
        return Err(IamError::validation(format!(
            "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: \
             Member must satisfy enum value set: [Active, Inactive]"
        )));
    }
    cx.meta
        .update_iam_access_key(cx.account(), user.as_deref(), id, status)
        .await?;
    Ok(None)
}

pub(crate) async fn delete_access_key(cx: &Cx<'_>) -> Out {
    let user = key_user(cx)?;
    let id = key_id(cx)?;
    cx.meta
        .delete_iam_access_key(cx.account(), user.as_deref(), id)
        .await?;
    Ok(None)
}

pub(crate) async fn get_access_key_last_used(cx: &Cx<'_>) -> Out {
    let id = key_id(cx)?;
    let lu = cx
        .meta
        .iam_access_key_last_used(cx.account(), id)
        .await?
        .ok_or_else(|| {
            IamError::no_such(format!("The Access Key with id {id} cannot be found."))
        })?;
    let mut x = Xml::new();
    x.opt("UserName", lu.user_name.as_deref());
    x.open("AccessKeyLastUsed");
    if let Some(ms) = lu.last_used_ms {
        x.date("LastUsedDate", ms);
    }
    x.el("ServiceName", lu.service.as_deref().unwrap_or("N/A"))
        .el("Region", lu.region.as_deref().unwrap_or("N/A"))
        .close("AccessKeyLastUsed");
    Ok(Some(x))
}
