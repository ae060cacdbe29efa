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
}
