//! gatehouse-iam: the IAM API (users, groups, roles, access keys, managed and inline policies, tags) over
//! `meta`, protocol-agnostic: the gateway decodes the query-protocol form, authenticates and authorises, and
//! calls [`handle`], which answers the result XML or an [`IamError`] (AWS's code, status, message, fault).
//!
//! Every call is confined to the caller's account: the account id comes from the [`Caller`], never from the
//! parameters, and every store call names it. Policy documents are validated by `gatehouse-policy` before
//! they are stored and returned URL-encoded, as IAM does.

mod authorization_details;
mod aws_managed;
mod error;
mod groups;
mod keys;
mod oidc;
mod params;
mod policies;
mod positions;
mod resource;
mod roles;
mod sim_input;
mod simulate;
mod tags;
mod users;
mod xml;

use gatehouse_meta::Meta;

pub use aws_managed::{
    AwsManagedPolicy, aws_managed_policies, aws_managed_policy, resolve_aws_managed,
};
pub use error::{IamError, IamErrorCode};
pub use resource::{action_resource, action_resource_for, action_resource_resolved};

use params::Params;
use xml::Xml;

/// The IAM XML namespace.
pub const XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// Seals an access key's secret for storage (the KMS / server key); `context` is bound as AAD:
/// exactly `gatehouse:access-key:<ACCESS KEY ID>`.
pub trait Sealer: Send + Sync {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, String>;
}

/// Who calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// The account root.
    Root,
    /// An IAM user of the account.
    User { name: String, arn: String },
    /// A role session (or other non-user credentials): calls that default to "the caller's user" need an
    /// explicit UserName.
    Other { arn: String },
}

/// The authenticated caller of an IAM request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's 12-digit account: the only account a request can see or change.
    pub account_id: String,
    pub kind: CallerKind,
}

impl Caller {
    /// The root of `account_id`.
    pub fn root(account_id: &str) -> Caller {
        Caller {
            account_id: account_id.to_string(),
            kind: CallerKind::Root,
        }
    }

    /// IAM user `name` (path `path`) of `account_id`.
    pub fn user(account_id: &str, path: &str, name: &str) -> Caller {
        Caller {
            account_id: account_id.to_string(),
            kind: CallerKind::User {
                name: name.to_string(),
                arn: gatehouse_core::user_arn(account_id, path, name),
            },
        }
    }
}

/// A successful IAM response: the complete XML body (HTTP 200, `text/xml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamResponse {
    pub body: String,
}

/// What the action handlers share.
pub(crate) struct Cx<'a> {
    pub(crate) meta: &'a Meta,
    pub(crate) caller: &'a Caller,
    pub(crate) p: Params<'a>,
    pub(crate) sealer: &'a dyn Sealer,
}

impl Cx<'_> {
    pub(crate) fn account(&self) -> &str {
        &self.caller.account_id
    }
}

/// What an action returns: the inside of `<{Action}Result>`, or `None` for actions without a result.
pub(crate) type Out = Result<Option<Xml>, IamError>;

/// Runs one IAM action for `caller`. `params` are the decoded form parameters without Action and Version;
/// `request_id` goes into ResponseMetadata; `sealer` seals new access keys' secrets.
pub async fn handle(
    meta: &Meta,
    caller: &Caller,
    action: &str,
    params: &[(String, String)],
    request_id: &str,
    sealer: &dyn Sealer,
) -> Result<IamResponse, IamError> {
    let cx = Cx {
        meta,
        caller,
        p: Params(params),
        sealer,
    };
    use gatehouse_meta::EntityKind::{Group, Role, User};
    let out = match action {
        "GetUser" => users::get_user(&cx).await,
        "CreateUser" => users::create_user(&cx).await,
        "ListUsers" => users::list_users(&cx).await,
        "GetAccountSummary" => users::get_account_summary(&cx).await,
        "ListOpenIDConnectProviders" => oidc::list(&cx).await,
        "CreateOpenIDConnectProvider" => oidc::create(&cx).await,
        "GetOpenIDConnectProvider" => oidc::get(&cx).await,
        "DeleteOpenIDConnectProvider" => oidc::delete(&cx).await,
        "AddClientIDToOpenIDConnectProvider" => oidc::add_client_id(&cx).await,
        "RemoveClientIDFromOpenIDConnectProvider" => oidc::remove_client_id(&cx).await,
        "UpdateOpenIDConnectProviderThumbprint" => oidc::update_thumbprint(&cx).await,
        "UpdateUser" => users::update_user(&cx).await,
        "DeleteUser" => users::delete_user(&cx).await,
        "CreateAccessKey" => keys::create_access_key(&cx).await,
        "ListAccessKeys" => keys::list_access_keys(&cx).await,
        "UpdateAccessKey" => keys::update_access_key(&cx).await,
        "DeleteAccessKey" => keys::delete_access_key(&cx).await,
        "GetAccessKeyLastUsed" => keys::get_access_key_last_used(&cx).await,
        "PutUserPolicy" => policies::put_inline(&cx, User).await,
        "GetUserPolicy" => policies::get_inline(&cx, User).await,
        "ListUserPolicies" => policies::list_inline(&cx, User).await,
        "DeleteUserPolicy" => policies::delete_inline(&cx, User).await,
        "PutGroupPolicy" => policies::put_inline(&cx, Group).await,
        "GetGroupPolicy" => policies::get_inline(&cx, Group).await,
        "ListGroupPolicies" => policies::list_inline(&cx, Group).await,
        "DeleteGroupPolicy" => policies::delete_inline(&cx, Group).await,
        "PutRolePolicy" => policies::put_inline(&cx, Role).await,
        "GetRolePolicy" => policies::get_inline(&cx, Role).await,
        "ListRolePolicies" => policies::list_inline(&cx, Role).await,
        "DeleteRolePolicy" => policies::delete_inline(&cx, Role).await,
        "CreatePolicy" => policies::create_policy(&cx).await,
        "GetPolicy" => policies::get_policy(&cx).await,
        "ListPolicies" => policies::list_policies(&cx).await,
        "DeletePolicy" => policies::delete_policy(&cx).await,
        "CreatePolicyVersion" => policies::create_policy_version(&cx).await,
        "GetPolicyVersion" => policies::get_policy_version(&cx).await,
        "ListPolicyVersions" => policies::list_policy_versions(&cx).await,
        "DeletePolicyVersion" => policies::delete_policy_version(&cx).await,
        "SetDefaultPolicyVersion" => policies::set_default_policy_version(&cx).await,
        "AttachUserPolicy" => policies::attach(&cx, User).await,
        "AttachGroupPolicy" => policies::attach(&cx, Group).await,
        "AttachRolePolicy" => policies::attach(&cx, Role).await,
        "DetachUserPolicy" => policies::detach(&cx, User).await,
        "DetachGroupPolicy" => policies::detach(&cx, Group).await,
        "DetachRolePolicy" => policies::detach(&cx, Role).await,
        "ListAttachedUserPolicies" => policies::list_attached(&cx, User).await,
        "ListAttachedGroupPolicies" => policies::list_attached(&cx, Group).await,
        "ListAttachedRolePolicies" => policies::list_attached(&cx, Role).await,
        "ListEntitiesForPolicy" => policies::list_entities_for_policy(&cx).await,
        "CreateGroup" => groups::create_group(&cx).await,
        "GetGroup" => groups::get_group(&cx).await,
        "ListGroups" => groups::list_groups(&cx).await,
        "DeleteGroup" => groups::delete_group(&cx).await,
        "UpdateGroup" => groups::update_group(&cx).await,
        "AddUserToGroup" => groups::add_user_to_group(&cx).await,
        "RemoveUserFromGroup" => groups::remove_user_from_group(&cx).await,
        "ListGroupsForUser" => groups::list_groups_for_user(&cx).await,
        "CreateRole" => roles::create_role(&cx).await,
        "GetRole" => roles::get_role(&cx).await,
        "ListRoles" => roles::list_roles(&cx).await,
        "UpdateRole" => roles::update_role(&cx).await,
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(&cx).await,
        "DeleteRole" => roles::delete_role(&cx).await,
        "PutUserPermissionsBoundary" => roles::put_boundary(&cx, User).await,
        "PutRolePermissionsBoundary" => roles::put_boundary(&cx, Role).await,
        "DeleteUserPermissionsBoundary" => roles::delete_boundary(&cx, User).await,
        "DeleteRolePermissionsBoundary" => roles::delete_boundary(&cx, Role).await,
        "TagUser" => tags::tag(&cx, gatehouse_meta::TagTarget::User).await,
        "TagRole" => tags::tag(&cx, gatehouse_meta::TagTarget::Role).await,
        "TagPolicy" => tags::tag(&cx, gatehouse_meta::TagTarget::Policy).await,
        "UntagUser" => tags::untag(&cx, gatehouse_meta::TagTarget::User).await,
        "UntagRole" => tags::untag(&cx, gatehouse_meta::TagTarget::Role).await,
        "UntagPolicy" => tags::untag(&cx, gatehouse_meta::TagTarget::Policy).await,
        "ListUserTags" => tags::list(&cx, gatehouse_meta::TagTarget::User).await,
        "ListRoleTags" => tags::list(&cx, gatehouse_meta::TagTarget::Role).await,
        "ListPolicyTags" => tags::list(&cx, gatehouse_meta::TagTarget::Policy).await,
        "SimulatePrincipalPolicy" => simulate::simulate_principal(&cx).await,
        "SimulateCustomPolicy" => simulate::simulate_custom(&cx).await,
        "GetAccountAuthorizationDetails" => {
            authorization_details::get_account_authorization_details(&cx).await
        }
        _ => Err(IamError::new(
            IamErrorCode::InvalidAction,
            format!("Could not find operation {action} for version 2010-05-08"),
        )),
    }?;
    Ok(IamResponse {
        body: render(action, out, request_id),
    })
}

/// Whether `action` is an IAM action this crate implements.
pub fn is_known_action(action: &str) -> bool {
    resource::ACTIONS.contains(&action)
}

fn render(action: &str, result: Option<Xml>, request_id: &str) -> String {
    let mut x = Xml::new();
    x.0.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    x.0.push_str(&format!(r#"<{action}Response xmlns="{XMLNS}">"#));
    if let Some(r) = result {
        let tag = format!("{action}Result");
        x.open(&tag);
        x.0.push_str(&r.0);
        x.close(&tag);
    }
    x.open("ResponseMetadata")
        .el("RequestId", request_id)
        .close("ResponseMetadata");
    x.close(&format!("{action}Response"));
    x.0
}
