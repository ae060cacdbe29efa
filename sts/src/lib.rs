//! STS: the AWS Security Token Service's query-protocol actions over `meta` (AssumeRole, GetSessionToken,
//! AssumeRoleWithWebIdentity, GetCallerIdentity). The gateway authenticates the request and hands over the
//! caller; this crate answers with the action's XML.

/// STS's XML namespace.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The authenticated caller as GetCallerIdentity reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// 12-digit account id.
    pub account: String,
    /// The caller's ARN (`arn:aws:iam::ACCOUNT:root`, `...:user/PATH/NAME`, an assumed-role ARN).
    pub arn: String,
    /// The account id for the root, the user's unique id (AIDA...) for IAM users, `ROLEID:session` for roles.
    pub user_id: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// GetCallerIdentity's response body.
pub fn get_caller_identity(caller: &CallerIdentity, request_id: &str) -> String {
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\"><GetCallerIdentityResult><Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        escape(&caller.arn),
        escape(&caller.user_id),
        escape(&caller.account),
        escape(request_id)
    )
}

/// Temporary credentials as STS returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// ISO 8601 (`2026-12-06T12:00:00Z`).
    pub expiration: String,
}

fn credentials_xml(c: &TempCredentials) -> String {
    format!(
        "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>",
        escape(&c.access_key_id),
        escape(&c.secret_access_key),
        escape(&c.session_token),
        escape(&c.expiration)
    )
}

/// AssumeRole's response body.
pub fn assume_role(
    c: &TempCredentials,
    assumed_role_arn: &str,
    assumed_role_id: &str,
    packed_policy_percent: Option<u32>,
    source_identity: Option<&str>,
    request_id: &str,
) -> String {
    format!(
        "<AssumeRoleResponse xmlns=\"{NAMESPACE}\"><AssumeRoleResult>{}<AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>{}</AssumedRoleId></AssumedRoleUser>{}{}</AssumeRoleResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        source_identity
            .map(|s| format!("<SourceIdentity>{}</SourceIdentity>", escape(s)))
            .unwrap_or_default(),
        escape(assumed_role_arn),
        escape(assumed_role_id),
        credentials_xml(c),
        packed_policy_percent
            .map(|p| format!("<PackedPolicySize>{p}</PackedPolicySize>"))
            .unwrap_or_default(),
        escape(request_id)
    )
}

/// AssumeRoleWithWebIdentity's response body.
#[allow(clippy::too_many_arguments)]
pub fn assume_role_with_web_identity(
    c: &TempCredentials,
    assumed_role_arn: &str,
    assumed_role_id: &str,
    subject: &str,
    audience: &str,
    provider: &str,
    packed_policy_percent: Option<u32>,
    request_id: &str,
) -> String {
    format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{NAMESPACE}\"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken><Audience>{}</Audience><AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>{}</AssumedRoleId></AssumedRoleUser>{}<Provider>{}</Provider>{}</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
        escape(subject),
        escape(audience),
        escape(assumed_role_arn),
        escape(assumed_role_id),
        credentials_xml(c),
        escape(provider),
        packed_policy_percent
            .map(|p| format!("<PackedPolicySize>{p}</PackedPolicySize>"))
            .unwrap_or_default(),
        escape(request_id)
    )
}

/// GetFederationToken's response body.
pub fn get_federation_token(
    c: &TempCredentials,
    federated_user_arn: &str,
    federated_user_id: &str,
    packed_policy_percent: Option<u32>,
    request_id: &str,
) -> String {
    format!(
        "<GetFederationTokenResponse xmlns=\"{NAMESPACE}\"><GetFederationTokenResult>{}<FederatedUser><Arn>{}</Arn><FederatedUserId>{}</FederatedUserId></FederatedUser>{}</GetFederationTokenResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetFederationTokenResponse>",
        credentials_xml(c),
        escape(federated_user_arn),
        escape(federated_user_id),
        packed_policy_percent
            .map(|p| format!("<PackedPolicySize>{p}</PackedPolicySize>"))
            .unwrap_or_default(),
        escape(request_id)
    )
}

/// GetAccessKeyInfo's response body.
pub fn get_access_key_info(account: &str, request_id: &str) -> String {
    format!(
        "<GetAccessKeyInfoResponse xmlns=\"{NAMESPACE}\"><GetAccessKeyInfoResult><Account>{}</Account></GetAccessKeyInfoResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetAccessKeyInfoResponse>",
        escape(account),
        escape(request_id)
    )
}

/// GetSessionToken's response body.
pub fn get_session_token(c: &TempCredentials, request_id: &str) -> String {
    format!(
        "<GetSessionTokenResponse xmlns=\"{NAMESPACE}\"><GetSessionTokenResult>{}</GetSessionTokenResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetSessionTokenResponse>",
        credentials_xml(c),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_identity_xml() {
        let x = get_caller_identity(
            &CallerIdentity {
                account: "123456789012".into(),
                arn: "arn:aws:iam::123456789012:root".into(),
                user_id: "123456789012".into(),
            },
            "r<1",
        );
        assert!(x.contains("<Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account>"));
        assert!(x.contains("<RequestId>r&lt;1</RequestId>"));
    }

    #[test]
    fn assume_role_xml() {
        let c = TempCredentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: "s/+".into(),
            session_token: "t&".into(),
            expiration: "2026-12-06T12:00:00Z".into(),
        };
        let x = assume_role(
            &c,
            "arn:aws:sts::1:assumed-role/r/s",
            "AROA1:s",
            Some(6),
            None,
            "r",
        );
        assert!(x.contains("<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn><AssumedRoleId>AROA1:s</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s/+</SecretAccessKey><SessionToken>t&amp;</SessionToken><Expiration>2026-12-06T12:00:00Z</Expiration></Credentials><PackedPolicySize>6</PackedPolicySize>"));
        assert!(get_session_token(&c, "r").contains("<GetSessionTokenResult><Credentials>"));
    }
}
