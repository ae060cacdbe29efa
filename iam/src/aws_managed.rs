//! The AWS managed policies Gatehouse knows (`arn:aws:iam::aws:policy/...`): attachable, readable through
//! GetPolicy / GetPolicyVersion / ListPolicies(Scope=AWS), never changeable. Documents as AWS publishes them
//! in its managed-policy reference, except ReadOnlyAccess, which keeps only the read actions of the services
//! Gatehouse serves (S3, IAM, STS, KMS); AWS's own document lists every AWS service.

/// One AWS managed policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsManagedPolicy {
    pub name: &'static str,
    /// The unique id AWS shows (`ANPA...`).
    pub policy_id: &'static str,
    /// The default version id (`v3`).
    pub version: &'static str,
    pub description: &'static str,
    /// CreateDate / UpdateDate as IAM prints them.
    pub created: &'static str,
    pub updated: &'static str,
    pub document: &'static str,
}

impl AwsManagedPolicy {
    /// `arn:aws:iam::aws:policy/NAME`
    pub fn arn(&self) -> String {
        format!("{}{}", gatehouse_meta::AWS_MANAGED_PREFIX, self.name)
    }
}

const POLICIES: &[AwsManagedPolicy] = &[
    AwsManagedPolicy {
        name: "AdministratorAccess",
        policy_id: "ANPAIWMBCKSKIEE64ZLYK",
        version: "v1",
        description: "Provides full access to AWS services and resources.",
        created: "2015-02-06T18:39:46Z",
        updated: "2015-02-06T18:39:46Z",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManagedPolicy {
        name: "AmazonS3FullAccess",
        policy_id: "ANPAIFIR6V6BVTRAHWINE",
        version: "v2",
        description: "Provides full access to all buckets via the AWS Management Console.",
        created: "2015-02-06T18:40:58Z",
        updated: "2021-09-27T20:16:37Z",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "s3:*",
        "s3-object-lambda:*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManagedPolicy {
        name: "AmazonS3ReadOnlyAccess",
        policy_id: "ANPAIZTJ4DXE7G6AGAE6M",
        version: "v3",
        description: "Provides read only access to all buckets via the AWS Management Console.",
        created: "2015-02-06T18:40:59Z",
        updated: "2023-08-10T21:31:39Z",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "s3:Get*",
        "s3:List*",
        "s3:Describe*",
        "s3-object-lambda:Get*",
        "s3-object-lambda:List*"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManagedPolicy {
        name: "IAMFullAccess",
        policy_id: "ANPAI7XKCFMBPM3QQRRVQ",
        version: "v2",
        description: "Provides full access to IAM via the AWS Management Console.",
        created: "2015-02-06T18:40:38Z",
        updated: "2019-06-21T19:40:00Z",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:*",
        "organizations:DescribeAccount",
        "organizations:DescribeOrganization",
        "organizations:DescribeOrganizationalUnit",
        "organizations:DescribePolicy",
        "organizations:ListChildren",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",
        "organizations:ListRoots",
        "organizations:ListPolicies",
        "organizations:ListTargetsForPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManagedPolicy {
        name: "IAMReadOnlyAccess",
        policy_id: "ANPAJKSO7NDY4T57MWDSQ",
        version: "v4",
        description: "Provides read only access to IAM via the AWS Management Console.",
        created: "2015-02-06T18:40:39Z",
        updated: "2018-01-25T19:11:27Z",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
    AwsManagedPolicy {
        name: "ReadOnlyAccess",
        policy_id: "ANPAILL3HVNFSB6DCOWYQ",
        version: "v1",
        description: "Provides read-only access to AWS services and resources.",
        created: "2015-02-06T18:39:48Z",
        updated: "2015-02-06T18:39:48Z",
        document: r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:Generate*",
        "iam:Get*",
        "iam:List*",
        "iam:Simulate*",
        "kms:Describe*",
        "kms:Get*",
        "kms:List*",
        "s3:Describe*",
        "s3:Get*",
        "s3:List*",
        "s3-object-lambda:Get*",
        "s3-object-lambda:List*",
        "sts:GetAccessKeyInfo",
        "sts:GetCallerIdentity",
        "sts:GetSessionToken"
      ],
      "Resource": "*"
    }
  ]
}"#,
    },
];

/// Every built-in AWS managed policy, by name.
pub fn aws_managed_policies() -> &'static [AwsManagedPolicy] {
    POLICIES
}

/// The built-in AWS managed policy with this ARN.
pub fn aws_managed_policy(arn: &str) -> Option<&'static AwsManagedPolicy> {
    let name = arn.strip_prefix(gatehouse_meta::AWS_MANAGED_PREFIX)?;
    POLICIES.iter().find(|p| p.name == name)
}

/// Resolver for `Meta::user_authz` / `role_authz`: (version id, document) of an AWS managed ARN.
pub fn resolve_aws_managed(arn: &str) -> Option<(String, String)> {
    aws_managed_policy(arn).map(|p| (p.version.to_string(), p.document.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gatehouse_policy::{PolicyDocument, PolicyKind};

    #[test]
    fn documents_parse_and_are_sorted() {
        for p in POLICIES {
            PolicyDocument::parse(p.document, PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(aws_managed_policy(&p.arn()), Some(p));
            assert_eq!(p.policy_id.len(), 21);
        }
        let names: Vec<_> = POLICIES
            .iter()
            .map(|p| p.name.to_ascii_lowercase())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(aws_managed_policy("arn:aws:iam::aws:policy/Nope").is_none());
        assert!(
            aws_managed_policy("arn:aws:iam::123456789012:policy/AdministratorAccess").is_none()
        );
    }
}
