//! Tags of users, roles and customer managed policies: Tag*, Untag*, List*Tags.

use gatehouse_meta::{AWS_MANAGED_PREFIX, Page, TagTarget};

use crate::*;

fn target_name<'a>(cx: &Cx<'a>, target: TagTarget) -> Result<&'a str, IamError> {
    match target {
        TagTarget::User => cx.p.name("UserName", 64),
        TagTarget::Role => cx.p.name("RoleName", 64),
        TagTarget::Policy => {
            let arn = cx.p.policy_arn("PolicyArn")?;
            if arn.starts_with(AWS_MANAGED_PREFIX) {
                return Err(IamError::no_such(format!(
                    "Policy {arn} does not exist or is not attachable."
                )));
            }
            Ok(arn)
        }
    }
}

pub(crate) async fn tag(cx: &Cx<'_>, target: TagTarget) -> Out {
    let name = target_name(cx, target)?;
    let tags = cx.p.tags()?;
    if tags.is_empty() {
        return Err(IamError::validation(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        ));
    }
    cx.meta.tag_iam(target, cx.account(), name, &tags).await?;
    Ok(None)
}

pub(crate) async fn untag(cx: &Cx<'_>, target: TagTarget) -> Out {
    let name = target_name(cx, target)?;
    let keys = cx.p.tag_keys()?;
    cx.meta.untag_iam(target, cx.account(), name, &keys).await?;
    Ok(None)
}

pub(crate) async fn list(cx: &Cx<'_>, target: TagTarget) -> Out {
    let name = target_name(cx, target)?;
    let page = cx.p.page()?;
    let tags = cx.meta.list_iam_tags(target, cx.account(), name).await?;
    let Page { items, next_marker } = Page::of_sorted(tags, page, |(k, _)| k.to_ascii_lowercase());
    let mut x = Xml::new();
    x.tags(&items).truncation(next_marker.as_deref());
    Ok(Some(x))
}
