//! AWS's definition of a "public" bucket policy (GetBucketPolicyStatus, BlockPublicPolicy,
//! RestrictPublicBuckets): a policy is public unless every Allow statement is limited to fixed
//! principals or by a condition on a fixed value of a "fixing" key.

use crate::conditions::{Cmp, parse_ip_net};
use crate::document::{Condition, Effect, PolicyDocument, PrincipalId, Statement};

/// Keys whose fixed (wildcard-free) values make a statement non-public.
const FIXING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

/// IPv4 ranges wider than /8 (IPv6 wider than /32) are treated as the whole internet.
fn narrow_cidr(v: &str) -> bool {
    parse_ip_net(v).is_some_and(|n| match n {
        ipnet::IpNet::V4(n) => n.prefix_len() >= 8,
        ipnet::IpNet::V6(n) => n.prefix_len() >= 32,
    })
}

fn fixes(c: &Condition) -> bool {
    let op = c.op;
    if op.negated || op.if_exists || op.qualifier.is_some() {
        return false;
    }
    let k = c.key.to_ascii_lowercase();
    let no_wild = c
        .values
        .iter()
        .all(|v| !v.contains(['*', '?']) && !v.contains("${"));
    match op.cmp {
        Cmp::Ip => k == "aws:sourceip" && c.values.iter().all(|v| narrow_cidr(v)),
        Cmp::StrEq | Cmp::Arn | Cmp::StrLike | Cmp::StrEqCi => {
            if k == "aws:userid" {
                // A fixed userid outside "AROLEID:*" fixes the statement.
                c.values.iter().all(|v| {
                    !v.contains('?')
                        && (!v.contains('*')
                            || v.ends_with(":*") && !v[..v.len() - 2].contains('*'))
                })
            } else {
                FIXING_KEYS.contains(&k.as_str()) && no_wild
            }
        }
        _ => false,
    }
}

/// Whether one statement makes the policy public.
pub fn statement_is_public(st: &Statement) -> bool {
    if st.effect != Effect::Allow {
        return false;
    }
    let open_principal = match &st.principal {
        None => false,
        Some(p) if p.negated => true,
        Some(p) => p.ids.iter().any(|id| matches!(id, PrincipalId::Any)),
    };
    open_principal && !st.conditions.iter().any(fixes)
}

/// Whether a bucket policy is public by AWS's definition.
pub fn policy_is_public(doc: &PolicyDocument) -> bool {
    doc.statements.iter().any(statement_is_public)
}

#[cfg(test)]
mod tests {
    use crate::document::{PolicyDocument, PolicyKind};

    fn public(json: &str) -> bool {
        super::policy_is_public(&PolicyDocument::parse(json, PolicyKind::Resource).expect("valid"))
    }

    #[test]
    fn aws_examples() {
        let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert!(public(open));
        let ip = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
        assert!(!public(ip));
        let all_ips = ip.replace("203.0.113.0/24", "0.0.0.0/0");
        assert!(public(&all_ips));
        let account = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert!(!public(account));
        let vpce = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#;
        assert!(!public(vpce));
        let vpce_wild = vpce.replace("vpce-1a2b3c4d", "vpce-*");
        assert!(public(&vpce_wild));
        let deny = open.replace("Allow", "Deny");
        assert!(!public(&deny));
        let not_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert!(public(not_principal));
    }
}
