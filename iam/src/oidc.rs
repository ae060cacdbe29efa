//! OpenID Connect providers: Create / Get / List / Delete OpenIDConnectProvider, Add / Remove ClientID, Update
//! Thumbprint. A provider is named by its issuer URL without the scheme; AWS requires `https://`.

use gatehouse_meta::OidcProvider;

use crate::*;

/// AWS's limits: 100 client ids, 5 thumbprints of 40 hex characters, URLs of 1..=255 characters.
const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;

/// `https://host/path` -> `host/path` (IAM keeps and shows it without the scheme).
fn url_key(url: &str) -> Result<String, IamError> {
    if url.is_empty() || url.len() > 255 {
        return Err(IamError::validation(
            "1 validation error detected: Value at 'url' failed to satisfy constraint: Member must have length between 1 and 255",
        ));
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(IamError::invalid_input("The URL must begin with https://"));
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(IamError::invalid_input(format!("Invalid URL: {url}")));
    }
    Ok(rest.to_owned())
}

/// The URL part of a provider ARN of the caller's account.
fn arn_key(cx: &Cx<'_>) -> Result<String, IamError> {
    let arn = cx.p.req("OpenIDConnectProviderArn")?;
    let prefix = format!("arn:aws:iam::{}:oidc-provider/", cx.account());
    arn.strip_prefix(&prefix)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| IamError::no_such(format!("OpenIDConnect provider not found for arn {arn}")))
}

fn thumbprints(list: &[&str]) -> Result<Vec<String>, IamError> {
    if list.len() > MAX_THUMBPRINTS {
        return Err(IamError::new(
            IamErrorCode::LimitExceeded,
            format!("Thumbprint list must contain at most {MAX_THUMBPRINTS} thumbprints."),
        ));
    }
    for t in list {
        if t.len() != 40 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IamError::validation(format!(
                "1 validation error detected: Value '{t}' at 'thumbprintList' failed to satisfy constraint: Member must have length 40"
            )));
        }
    }
    Ok(list.iter().map(|s| s.to_string()).collect())
}

async fn load(cx: &Cx<'_>) -> Result<OidcProvider, IamError> {
    let url = arn_key(cx)?;
    cx.meta
        .get_oidc_provider(cx.account(), &url)
        .await?
        .ok_or_else(|| IamError::no_such(format!("OpenIDConnect provider not found for url {url}")))
}

pub(crate) async fn create(cx: &Cx<'_>) -> Out {
    let url = url_key(cx.p.req("Url")?)?;
    let client_ids: Vec<String> =
        cx.p.members("ClientIDList")
            .iter()
            .map(|s| s.to_string())
            .collect();
    if client_ids.len() > MAX_CLIENT_IDS || client_ids.iter().any(|c| c.is_empty() || c.len() > 255)
    {
        return Err(IamError::validation("Invalid client id list."));
    }
    let p = OidcProvider {
        account_id: cx.account().to_owned(),
        url,
        client_ids,
        thumbprints: thumbprints(&cx.p.members("ThumbprintList"))?,
        created_ms: gatehouse_core::now_ms(),
    };
    cx.meta.create_oidc_provider(&p).await?;
    let mut x = Xml::new();
    x.el("OpenIDConnectProviderArn", &p.arn());
    Ok(Some(x))
}

pub(crate) async fn get(cx: &Cx<'_>) -> Out {
    let p = load(cx).await?;
    let mut x = Xml::new();
    x.el("Url", &p.url).open("ClientIDList");
    for c in &p.client_ids {
        x.el("member", c);
    }
    x.close("ClientIDList").open("ThumbprintList");
    for t in &p.thumbprints {
        x.el("member", t);
    }
    x.close("ThumbprintList").date("CreateDate", p.created_ms);
    Ok(Some(x))
}

pub(crate) async fn list(cx: &Cx<'_>) -> Out {
    let all = cx.meta.list_oidc_providers(cx.account()).await?;
    let mut x = Xml::new();
    x.open("OpenIDConnectProviderList");
    for p in &all {
        x.open("member").el("Arn", &p.arn()).close("member");
    }
    x.close("OpenIDConnectProviderList");
    Ok(Some(x))
}

pub(crate) async fn delete(cx: &Cx<'_>) -> Out {
    let url = arn_key(cx)?;
    cx.meta.delete_oidc_provider(cx.account(), &url).await?;
    Ok(None)
}

pub(crate) async fn add_client_id(cx: &Cx<'_>) -> Out {
    let p = load(cx).await?;
    let id = cx.p.req("ClientID")?;
    let mut ids = p.client_ids.clone();
    if !ids.iter().any(|c| c == id) {
        if ids.len() >= MAX_CLIENT_IDS {
            return Err(IamError::new(
                IamErrorCode::LimitExceeded,
                "Too many client ids.",
            ));
        }
        ids.push(id.to_owned());
    }
    cx.meta
        .update_oidc_provider(cx.account(), &p.url, &ids, &p.thumbprints)
        .await?;
    Ok(None)
}

pub(crate) async fn remove_client_id(cx: &Cx<'_>) -> Out {
    let p = load(cx).await?;
    let id = cx.p.req("ClientID")?;
    let ids: Vec<String> = p.client_ids.iter().filter(|c| *c != id).cloned().collect();
    cx.meta
        .update_oidc_provider(cx.account(), &p.url, &ids, &p.thumbprints)
        .await?;
    Ok(None)
}

pub(crate) async fn update_thumbprint(cx: &Cx<'_>) -> Out {
    let p = load(cx).await?;
    let t = thumbprints(&cx.p.members("ThumbprintList"))?;
    cx.meta
        .update_oidc_provider(cx.account(), &p.url, &p.client_ids, &t)
        .await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_and_kept_without_scheme() {
        assert_eq!(
            url_key("https://id.example.com/realm/").unwrap_or_default(),
            "id.example.com/realm"
        );
        assert!(url_key("http://id.example.com").is_err());
        assert!(url_key("https://").is_err());
        assert!(thumbprints(&["3768084dfb3d2b68b7897bf5f565da8efEXAMPLE"]).is_ok());
        assert!(thumbprints(&["short"]).is_err());
    }
}
