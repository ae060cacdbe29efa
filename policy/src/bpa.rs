//! S3 Block Public Access: the four settings, and the checks on PUT of policies and ACLs.

use crate::acl::Acl;
use crate::compile::CompiledPolicy;

/// A PublicAccessBlock configuration (bucket and account settings merged with [`PublicAccessBlock::merge`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// Reject PUTs of public ACLs (bucket ACL, object ACL, `x-amz-acl` / grant headers).
    pub block_public_acls: bool,
    /// Ignore public grants in existing ACLs.
    pub ignore_public_acls: bool,
    /// Reject PutBucketPolicy of a public policy.
    pub block_public_policy: bool,
    /// With a public bucket policy, only the owner account's principals and AWS services get access.
    pub restrict_public_buckets: bool,
}

/// Why Block Public Access refused a PUT (S3 answers `AccessDenied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BpaViolation {
    /// BlockPublicPolicy refused a public bucket policy.
    #[error("Access Denied: the bucket policy is public and BlockPublicPolicy is enabled")]
    PublicPolicy,
    /// BlockPublicAcls refused a public ACL.
    #[error("Access Denied: the ACL is public and BlockPublicAcls is enabled")]
    PublicAcl,
}

impl PublicAccessBlock {
    /// All four settings on.
    pub fn all() -> Self {
        PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }
    }

    /// The most restrictive combination of two levels (account and bucket).
    pub fn merge(self, other: PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }

    /// Check for PutBucketPolicy.
    pub fn check_put_policy(&self, policy: &CompiledPolicy) -> Result<(), BpaViolation> {
        if self.block_public_policy && policy.is_public() {
            Err(BpaViolation::PublicPolicy)
        } else {
            Ok(())
        }
    }

    /// Check for PutBucketAcl / PutObjectAcl / PutObject / CreateBucket carrying an ACL.
    pub fn check_put_acl(&self, acl: &Acl) -> Result<(), BpaViolation> {
        if self.block_public_acls && acl.is_public() {
            Err(BpaViolation::PublicAcl)
        } else {
            Ok(())
        }
    }
}
