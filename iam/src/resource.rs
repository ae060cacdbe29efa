//! The action catalogue of this crate: for each IAM action, the `iam:` action and the resource ARN the
//! authoriser checks (AWS's service authorization reference: the user, group, role or policy the call is
//! about; `*` for the List calls that take no resource).

use gatehouse_meta::Meta;

use crate::{Caller, CallerKind};

/// Every action [`crate::handle`] implements.
pub(crate) const ACTIONS: &[&str] = &[
    "GetUser",
    "CreateUser",
    "ListUsers",
    "GetAccountSummary",
    "ListOpenIDConnectProviders",
    "CreateOpenIDConnectProvider",
    "GetOpenIDConnectProvider",
    "DeleteOpenIDConnectProvider",
    "AddClientIDToOpenIDConnectProvider",
    "RemoveClientIDFromOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint",
    "UpdateUser",
    "DeleteUser",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
    "PutUserPolicy",
    "GetUserPolicy",
    "ListUserPolicies",
    "DeleteUserPolicy",
    "PutGroupPolicy",
    "GetGroupPolicy",
    "ListGroupPolicies",
    "DeleteGroupPolicy",
    "PutRolePolicy",
    "GetRolePolicy",
    "ListRolePolicies",
    "DeleteRolePolicy",
    "CreatePolicy",
    "GetPolicy",
    "ListPolicies",
    "DeletePolicy",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "AttachUserPolicy",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "DetachUserPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "ListAttachedUserPolicies",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListEntitiesForPolicy",
    "CreateGroup",
    "GetGroup",
    "ListGroups",
    "DeleteGroup",
    "UpdateGroup",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "ListGroupsForUser",
    "CreateRole",
    "GetRole",
    "ListRoles",
    "UpdateRole",
    "UpdateAssumeRolePolicy",
    "DeleteRole",
    "PutUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "TagUser",
    "TagRole",
    "TagPolicy",
    "UntagUser",
    "UntagRole",
    "UntagPolicy",
    "ListUserTags",
    "ListRoleTags",
    "ListPolicyTags",
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
    "GetAccountAuthorizationDetails",
];

/// What an action's resource is.
enum Res {
    /// `user/…` named by UserName (absent: the caller itself).
    User,
    Group,
    Role,
    /// The PolicyArn parameter.
    PolicyArn,
    /// CreatePolicy: `policy/PATH/NAME` from PolicyName and Path.
    NewPolicy,
    /// The PolicySourceArn parameter (the user, group or role whose policies are simulated).
    PolicySource,
    /// The OpenIDConnectProviderArn parameter (CreateOpenIDConnectProvider: built from Url).
    OidcProvider,
    Star,
}

fn resource_kind(action: &str) -> Option<Res> {
    if !ACTIONS.contains(&action) {
        return None;
    }
    Some(match action {
        "ListUsers"
        | "ListGroups"
        | "ListRoles"
        | "ListPolicies"
        | "GetAccessKeyLastUsed"
        | "ListOpenIDConnectProviders"
        | "GetAccountSummary"
        | "SimulateCustomPolicy"
        | "GetAccountAuthorizationDetails" => Res::Star,
        "SimulatePrincipalPolicy" => Res::PolicySource,
        "CreatePolicy" => Res::NewPolicy,
        a if a.contains("OpenIDConnectProvider") => Res::OidcProvider,
        "GetPolicy"
        | "DeletePolicy"
        | "CreatePolicyVersion"
        | "GetPolicyVersion"
        | "ListPolicyVersions"
        | "DeletePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "ListEntitiesForPolicy"
        | "TagPolicy"
        | "UntagPolicy"
        | "ListPolicyTags" => Res::PolicyArn,
        a if a.contains("Group") && a != "ListGroupsForUser" => Res::Group,
        a if a.contains("Role") => Res::Role,
        _ => Res::User,
    })
}

fn get<'a>(params: &'a [(String, String)], k: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// `(iam:ACTION, resource ARN)` for an IAM call by an account's root or an unnamed principal: a missing
/// UserName (GetUser, the access-key calls) means the caller itself, here the account root. Paths come from
/// the request (CreateUser's Path...) or are `/`; [`action_resource_resolved`] fills in stored paths.
/// `None` for an unknown action.
pub fn action_resource(
    caller_account: &str,
    action: &str,
    params: &[(String, String)],
) -> Option<(String, String)> {
    action_resource_for(&Caller::root(caller_account), action, params)
}

/// As [`action_resource`], for this caller (a missing UserName names the calling user).
pub fn action_resource_for(
    caller: &Caller,
    action: &str,
    params: &[(String, String)],
) -> Option<(String, String)> {
    let acct = &caller.account_id;
    let path = get(params, "Path").unwrap_or("/");
    let arn = match resource_kind(action)? {
        Res::Star => "*".to_string(),
        Res::PolicyArn => get(params, "PolicyArn").unwrap_or("*").to_string(),
        Res::PolicySource => get(params, "PolicySourceArn").unwrap_or("*").to_string(),
        Res::OidcProvider => match get(params, "OpenIDConnectProviderArn") {
            Some(arn) => arn.to_string(),
            None => format!(
                "arn:aws:iam::{acct}:oidc-provider/{}",
                get(params, "Url")
                    .unwrap_or("")
                    .trim_start_matches("https://")
                    .trim_end_matches('/')
            ),
        },
        Res::NewPolicy => format!(
            "arn:aws:iam::{acct}:policy{path}{}",
            get(params, "PolicyName").unwrap_or("")
        ),
        Res::Group => format!(
            "arn:aws:iam::{acct}:group{path}{}",
            get(params, "GroupName").unwrap_or("")
        ),
        Res::Role => format!(
            "arn:aws:iam::{acct}:role{path}{}",
            get(params, "RoleName").unwrap_or("")
        ),
        Res::User => match (get(params, "UserName"), &caller.kind) {
            (Some(n), _) => gatehouse_core::user_arn(acct, path, n),
            (None, CallerKind::User { arn, .. }) | (None, CallerKind::Other { arn }) => arn.clone(),
            (None, CallerKind::Root) => gatehouse_core::root_arn(acct),
        },
    };
    Some((format!("iam:{action}"), arn))
}

/// As [`action_resource_for`], with the stored path of an existing user, group or role named by the call
/// (so policies written against `user/PATH/*` match). An entity that does not exist keeps the request's path.
pub async fn action_resource_resolved(
    meta: &Meta,
    caller: &Caller,
    action: &str,
    params: &[(String, String)],
) -> Option<(String, String)> {
    let (act, arn) = action_resource_for(caller, action, params)?;
    let acct = caller.account_id.as_str();
    let stored = match resource_kind(action)? {
        Res::User => match get(params, "UserName") {
            Some(n) => meta
                .get_iam_user(acct, n)
                .await
                .ok()
                .flatten()
                .map(|u| u.arn()),
            None => None,
        },
        Res::Group => match get(params, "GroupName") {
            Some(n) => meta
                .get_iam_group(acct, n)
                .await
                .ok()
                .flatten()
                .map(|g| g.arn()),
            None => None,
        },
        Res::Role => match get(params, "RoleName") {
            Some(n) => meta
                .get_iam_role(acct, n)
                .await
                .ok()
                .flatten()
                .map(|r| r.arn()),
            None => None,
        },
        _ => None,
    };
    Some((act, stored.unwrap_or(arn)))
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
    fn resources() {
        let a = "123456789012";
        assert_eq!(
            action_resource(
                a,
                "CreateUser",
                &p(&[("UserName", "bob"), ("Path", "/dev/")])
            ),
            Some((
                "iam:CreateUser".into(),
                format!("arn:aws:iam::{a}:user/dev/bob")
            ))
        );
        assert_eq!(
            action_resource(a, "GetUser", &[]).map(|x| x.1),
            Some(format!("arn:aws:iam::{a}:root"))
        );
        let alice = Caller::user(a, "/", "alice");
        assert_eq!(
            action_resource_for(&alice, "CreateAccessKey", &[]).map(|x| x.1),
            Some(format!("arn:aws:iam::{a}:user/alice"))
        );
        assert_eq!(
            action_resource(a, "AttachGroupPolicy", &p(&[("GroupName", "g")])).map(|x| x.1),
            Some(format!("arn:aws:iam::{a}:group/g"))
        );
        assert_eq!(
            action_resource(a, "ListGroupsForUser", &p(&[("UserName", "u")])).map(|x| x.1),
            Some(format!("arn:aws:iam::{a}:user/u"))
        );
        assert_eq!(
            action_resource(a, "PutRolePermissionsBoundary", &p(&[("RoleName", "r")])).map(|x| x.1),
            Some(format!("arn:aws:iam::{a}:role/r"))
        );
        assert_eq!(
            action_resource(a, "CreatePolicy", &p(&[("PolicyName", "x")])).map(|x| x.1),
            Some(format!("arn:aws:iam::{a}:policy/x"))
        );
        assert_eq!(
            action_resource(a, "ListUsers", &[]).map(|x| x.1),
            Some("*".into())
        );
        assert_eq!(
            action_resource(
                a,
                "SimulatePrincipalPolicy",
                &p(&[("PolicySourceArn", &format!("arn:aws:iam::{a}:group/g"))])
            ),
            Some((
                "iam:SimulatePrincipalPolicy".into(),
                format!("arn:aws:iam::{a}:group/g")
            ))
        );
        assert_eq!(
            action_resource(a, "SimulateCustomPolicy", &[]),
            Some(("iam:SimulateCustomPolicy".into(), "*".into()))
        );
        assert_eq!(action_resource(a, "Nope", &[]), None);
        for act in ACTIONS {
            assert!(action_resource(a, act, &[]).is_some(), "{act}");
        }
    }
}
