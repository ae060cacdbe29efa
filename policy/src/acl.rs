//! S3 access control lists: canned ACLs, explicit grants, and the mapping of ACL permissions to the
//! IAM actions they allow (S3 User Guide, "ACL permissions and access policy permissions").

use crate::compile::MatchKind;
use crate::request::{Principal, PrincipalKind};

/// The `AllUsers` group URI.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The `AuthenticatedUsers` group URI.
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// The `LogDelivery` group URI.
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// An account, by canonical user id (e-mail grantees are resolved to this by the caller).
    CanonicalUser(String),
    /// Everyone, anonymous included (public).
    AllUsers,
    /// Any authenticated AWS caller (public).
    AuthenticatedUsers,
    /// The S3 log delivery group.
    LogDelivery,
}

impl Grantee {
    /// Parses a group URI.
    pub fn from_uri(uri: &str) -> Option<Grantee> {
        match uri {
            ALL_USERS => Some(Grantee::AllUsers),
            AUTHENTICATED_USERS => Some(Grantee::AuthenticatedUsers),
            LOG_DELIVERY => Some(Grantee::LogDelivery),
            _ => None,
        }
    }
    /// Whether the grantee makes an ACL public.
    pub fn is_public(&self) -> bool {
        matches!(self, Grantee::AllUsers | Grantee::AuthenticatedUsers)
    }
}

/// An ACL permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// READ.
    Read,
    /// WRITE (buckets only).
    Write,
    /// READ_ACP.
    ReadAcp,
    /// WRITE_ACP.
    WriteAcp,
    /// FULL_CONTROL.
    FullControl,
}

impl Permission {
    /// Parses `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP`, `FULL_CONTROL`.
    pub fn parse(s: &str) -> Option<Permission> {
        match s {
            "READ" => Some(Permission::Read),
            "WRITE" => Some(Permission::Write),
            "READ_ACP" => Some(Permission::ReadAcp),
            "WRITE_ACP" => Some(Permission::WriteAcp),
            "FULL_CONTROL" => Some(Permission::FullControl),
            _ => None,
        }
    }
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Who.
    pub grantee: Grantee,
    /// What.
    pub permission: Permission,
}

/// Whether an ACL belongs to a bucket or an object (the same permission allows different actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclTarget {
    /// A bucket ACL (consulted for bucket actions and for PutObject / DeleteObject).
    Bucket,
    /// An object ACL (consulted for object reads and object ACL actions).
    Object,
}

/// An access control list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// Bucket or object ACL.
    pub target: AclTarget,
    /// Owner's canonical id.
    pub owner: String,
    /// The grants.
    pub grants: Vec<Grant>,
}

/// The canned ACLs of `x-amz-acl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannedAcl {
    /// `private`.
    Private,
    /// `public-read`.
    PublicRead,
    /// `public-read-write`.
    PublicReadWrite,
    /// `authenticated-read`.
    AuthenticatedRead,
    /// `aws-exec-read` (owner full control; EC2 read is not modelled).
    AwsExecRead,
    /// `bucket-owner-read`.
    BucketOwnerRead,
    /// `bucket-owner-full-control`.
    BucketOwnerFullControl,
    /// `log-delivery-write`.
    LogDeliveryWrite,
}

impl CannedAcl {
    /// Parses an `x-amz-acl` value.
    pub fn parse(s: &str) -> Option<CannedAcl> {
        Some(match s {
            "private" => CannedAcl::Private,
            "public-read" => CannedAcl::PublicRead,
            "public-read-write" => CannedAcl::PublicReadWrite,
            "authenticated-read" => CannedAcl::AuthenticatedRead,
            "aws-exec-read" => CannedAcl::AwsExecRead,
            "bucket-owner-read" => CannedAcl::BucketOwnerRead,
            "bucket-owner-full-control" => CannedAcl::BucketOwnerFullControl,
            "log-delivery-write" => CannedAcl::LogDeliveryWrite,
            _ => return None,
        })
    }

    /// Expands to grants: `owner` gets FULL_CONTROL; `bucket_owner` matters for the bucket-owner-* ACLs.
    pub fn to_acl(self, target: AclTarget, owner: &str, bucket_owner: Option<&str>) -> Acl {
        let mut grants = vec![Grant {
            grantee: Grantee::CanonicalUser(owner.to_string()),
            permission: Permission::FullControl,
        }];
        let mut add = |grantee, permission| {
            grants.push(Grant {
                grantee,
                permission,
            })
        };
        match self {
            CannedAcl::Private | CannedAcl::AwsExecRead => {}
            CannedAcl::PublicRead => add(Grantee::AllUsers, Permission::Read),
            CannedAcl::PublicReadWrite => {
                add(Grantee::AllUsers, Permission::Read);
                add(Grantee::AllUsers, Permission::Write);
            }
            CannedAcl::AuthenticatedRead => add(Grantee::AuthenticatedUsers, Permission::Read),
            CannedAcl::BucketOwnerRead => {
                if let Some(b) = bucket_owner.filter(|b| *b != owner) {
                    add(Grantee::CanonicalUser(b.to_string()), Permission::Read);
                }
            }
            CannedAcl::BucketOwnerFullControl => {
                if let Some(b) = bucket_owner.filter(|b| *b != owner) {
                    add(
                        Grantee::CanonicalUser(b.to_string()),
                        Permission::FullControl,
                    );
                }
            }
            CannedAcl::LogDeliveryWrite => {
                add(Grantee::LogDelivery, Permission::Write);
                add(Grantee::LogDelivery, Permission::ReadAcp);
            }
        }
        Acl {
            target,
            owner: owner.to_string(),
            grants,
        }
    }
}

/// The actions an ACL permission allows.
pub fn permission_actions(target: AclTarget, p: Permission) -> &'static [&'static str] {
    match (target, p) {
        (AclTarget::Bucket, Permission::Read) => &[
            "s3:ListBucket",
            "s3:ListBucketVersions",
            "s3:ListBucketMultipartUploads",
        ],
        (AclTarget::Bucket, Permission::Write) => &["s3:PutObject", "s3:DeleteObject"],
        (AclTarget::Bucket, Permission::ReadAcp) => &["s3:GetBucketAcl"],
        (AclTarget::Bucket, Permission::WriteAcp) => &["s3:PutBucketAcl"],
        (AclTarget::Object, Permission::Read) => {
            &["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent"]
        }
        (AclTarget::Object, Permission::Write) => &[],
        (AclTarget::Object, Permission::ReadAcp) => &["s3:GetObjectAcl", "s3:GetObjectVersionAcl"],
        (AclTarget::Object, Permission::WriteAcp) => &["s3:PutObjectAcl", "s3:PutObjectVersionAcl"],
        (t, Permission::FullControl) => match t {
            AclTarget::Bucket => &[
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:GetBucketAcl",
                "s3:PutBucketAcl",
            ],
            AclTarget::Object => &[
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetObjectTorrent",
                "s3:GetObjectAcl",
                "s3:GetObjectVersionAcl",
                "s3:PutObjectAcl",
                "s3:PutObjectVersionAcl",
            ],
        },
    }
}

impl Acl {
    /// Whether the ACL grants anything to AllUsers or AuthenticatedUsers.
    pub fn is_public(&self) -> bool {
        self.grants.iter().any(|g| g.grantee.is_public())
    }

    /// The grants allowing `action` to `principal` (index, how it matched); public grants are
    /// skipped when `ignore_public` (IgnorePublicAcls).
    pub fn grants_for(
        &self,
        principal: &Principal,
        action: &str,
        ignore_public: bool,
    ) -> Vec<(usize, MatchKind)> {
        self.grants
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                if ignore_public && g.grantee.is_public() {
                    return None;
                }
                if !permission_actions(self.target, g.permission)
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(action))
                {
                    return None;
                }
                let kind = match &g.grantee {
                    Grantee::AllUsers => MatchKind::Direct,
                    Grantee::AuthenticatedUsers if principal.kind != PrincipalKind::Anonymous => {
                        MatchKind::Direct
                    }
                    Grantee::LogDelivery
                        if principal.service.as_deref() == Some("logging.s3.amazonaws.com") =>
                    {
                        MatchKind::Direct
                    }
                    Grantee::CanonicalUser(id)
                        if principal
                            .canonical_id
                            .as_deref()
                            .is_some_and(|c| c.eq_ignore_ascii_case(id)) =>
                    {
                        MatchKind::Account
                    }
                    _ => return None,
                };
                Some((i, kind))
            })
            .collect()
    }
}
