//! Metadata: accounts, credentials, buckets and the object index. The only crate that speaks SQL.
//!
//! One `Meta` over an sqlx `AnyPool`: SQLite (WAL) by default, Postgres for `postgres://` URLs. Queries use
//! `$N` placeholders (both dialects accept them); migrations live in `migrations/sqlite` and
//! `migrations/postgres` at the repository root and run at `open`. Times are i64 milliseconds since the epoch,
//! structured columns are JSON text, flags are integers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod access;
mod bucket_cache;
pub use access::BucketRecord;
mod error;
pub use error::{MetaError, Result};

/// A tenant account (AWS account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Unique account name.
    pub name: String,
    /// 64-hex canonical user id (S3 ACL owner id); unique.
    pub canonical_id: String,
    /// Display name used as the S3 owner DisplayName.
    pub display_name: String,
    /// Optional e-mail (S3 grants by e-mail); unique when set.
    pub email: Option<String>,
    pub created_ms: i64,
}

/// An access key. `secret_sealed` is the secret as sealed by the KMS (meta never sees plaintext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_sealed: Vec<u8>,
    pub account_id: String,
    /// `None` for the account root; the IAM user name otherwise.
    pub user_name: Option<String>,
    /// "Active" or "Inactive".
    pub status: String,
    pub created_ms: i64,
}

/// A bucket in the global registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub owner_account_id: String,
    pub region: String,
    pub created_ms: i64,
}

/// Content headers stored with an object and returned on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// RFC 3339 / HTTP date string as the client sent it.
    pub expires: Option<String>,
    pub website_redirect_location: Option<String>,
}

/// Checksums stored with an object or a part. Values are base64 as S3 shows them. `kind` is "FULL_OBJECT"
/// or "COMPOSITE" for objects (None for parts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksums {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub crc64nvme: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub kind: Option<String>,
}

/// One stored piece of an object's bytes: a blob and its length. A single-PUT object has one segment; a
/// completed multipart object has one per part (multipart completion composes part blobs, copying nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub locator: String,
    pub size: i64,
    /// Part ETag (quoted) for multipart objects; None for single-PUT objects.
    pub etag: Option<String>,
    /// Per-part checksums for multipart objects (GetObject with partNumber, GetObjectAttributes).
    pub checksums: Option<Checksums>,
}

/// A row of the object index: one version of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    pub bucket: String,
    pub key: String,
    /// "null" while versioning is off.
    pub version_id: String,
    pub size: i64,
    /// Quoted ETag as S3 returns it (`"hex"` or `"hex-N"`).
    pub etag: String,
    pub last_modified_ms: i64,
    pub headers: ContentHeaders,
    /// User metadata (`x-amz-meta-*`), keys lower-case without the prefix.
    pub user_meta: BTreeMap<String, String>,
    pub checksums: Checksums,
    pub segments: Vec<Segment>,
    pub storage_class: String,
    /// Canonical id of the object's owner (the writing account).
    pub owner_canonical_id: String,
    /// The object's bytes when it is small enough to live in the index row itself (then `segments` is
    /// empty). Loaded by `get_object` only: listings never read it, and the records returned as replaced
    /// or deleted (`PutOutcome::replaced`, `delete_object`) come without it.
    pub inline_data: Option<Vec<u8>>,
    /// Object tags (`key`, `value`) in the order they were given.
    pub tags: Tags,
    /// The multipart upload this version was completed from, if any.
    pub upload_id: Option<String>,
    /// A delete marker: a version without data that hides the key while it is the current version.
    pub delete_marker: bool,
    /// Object Lock retention and legal hold of this version.
    pub lock: ObjectLock,
    /// Server-side encryption, when the stored bytes are sealed (migration 0009).
    pub sse: Option<Sse>,
}

/// Object Lock state of one object version (or what an upload's completed version gets): a retention
/// (mode and retain-until time, both or neither) and a legal hold. See `lock.rs` for what it forbids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    /// "GOVERNANCE" or "COMPLIANCE"; set together with `retain_until_ms`.
    pub mode: Option<String>,
    /// Until when (ms since the epoch) the version is retained.
    pub retain_until_ms: Option<i64>,
    /// The legal hold: `None` never set, `Some(true)` ON, `Some(false)` OFF (released).
    pub legal_hold: Option<bool>,
}

/// How an object version's or an upload's bytes are encrypted at rest; the gateway owns the meaning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sse {
    /// `AES256` (SSE-S3), `aws:kms`, `aws:kms:dsse` (SSE-KMS) or `SSE-C`.
    pub mode: String,
    /// The KMS key id (SSE-KMS).
    pub key_id: Option<String>,
    /// The wrapped data key.
    pub wrapped_key: Vec<u8>,
    /// The gateway's parameters (JSON: encryption context, bucket key, SSE-C key HMAC, part numbers).
    pub params: String,
}

/// Tags of an object, an upload or a bucket: (`key`, `value`) pairs in the order they were given.
pub type Tags = Vec<(String, String)>;

/// Write preconditions (conditional PUT and CompleteMultipartUpload).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteCondition {
    /// `If-None-Match: *`: fail if the key exists.
    pub if_none_match_star: bool,
    /// `If-Match: "etag"`: fail unless the current object has this (quoted) ETag; fails if the key is absent.
    pub if_match: Option<String>,
}

/// Preconditions of a conditional delete, checked against the current version in the deleting transaction
/// (`PreconditionFailed`). A missing key passes: deleting nothing is not an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteCondition {
    /// `If-Match`: the current version's (quoted or bare) ETag, or `*`.
    pub if_match: Option<String>,
    /// `x-amz-if-match-last-modified-time`, compared to the second (HTTP dates have no finer precision).
    pub last_modified_ms: Option<i64>,
    /// `x-amz-if-match-size`.
    pub size: Option<i64>,
    /// `x-amz-bypass-governance-retention: true` from a principal allowed s3:BypassGovernanceRetention: a
    /// version under GOVERNANCE retention (not COMPLIANCE, not a legal hold) may be deleted.
    pub bypass_governance: bool,
}

impl DeleteCondition {
    /// Whether any precondition is set (the governance bypass is a permission, not a precondition).
    pub fn is_conditional(&self) -> bool {
        self.if_match.is_some() || self.last_modified_ms.is_some() || self.size.is_some()
    }
}

/// One page of ListObjectVersions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionPage {
    /// Versions and delete markers, by key, newest first within a key; `true` marks the current version.
    pub versions: Vec<(ObjectRecord, bool)>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// Where the next page starts (key, and version id within it), when truncated.
    pub next_key_marker: Option<String>,
    pub next_version_id_marker: Option<String>,
}

/// One page of ListObjects / ListObjectsV2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub objects: Vec<ObjectRecord>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned: the marker to continue after.
    pub next_marker: Option<String>,
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub initiated_ms: i64,
    pub headers: ContentHeaders,
    pub user_meta: BTreeMap<String, String>,
    /// Checksum algorithm named at CreateMultipartUpload ("CRC32", ...), if any.
    pub checksum_algorithm: Option<String>,
    /// "COMPOSITE" or "FULL_OBJECT" when an algorithm is named.
    pub checksum_type: Option<String>,
    pub storage_class: String,
    pub owner_canonical_id: String,
    /// Tags named at CreateMultipartUpload (`x-amz-tagging`), given to the completed object.
    pub tags: Tags,
    /// Object Lock settings named at CreateMultipartUpload (or the bucket default), given to the completed
    /// object.
    pub lock: ObjectLock,
    /// Server-side encryption chosen at CreateMultipartUpload (every part is sealed under its data key).
    pub sse: Option<Sse>,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub upload_id: String,
    pub part_number: i32,
    pub size: i64,
    /// Quoted ETag.
    pub etag: String,
    pub last_modified_ms: i64,
    pub checksums: Checksums,
    pub locator: String,
}

/// One page of ListMultipartUploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadPage {
    pub uploads: Vec<Upload>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
}

mod accounts;
mod buckets;
mod classes;
pub use classes::RestoreOutcome;
mod group;
mod iam;
mod lifecycle;
mod listing;
mod lock;
mod multipart;
mod objects;
mod read_conns;
mod server_keys;
mod settings;
mod store;
mod versions;
pub use iam::{
    AWS_MANAGED_PREFIX, AccessKeyLastUsed, AttachedDoc, AwsManagedResolver, EntityKind, GroupAuthz,
    IamCounts, IamDbError, IamGroup, IamResult, IamRole, IamUser, MAX_ACCESS_KEYS,
    MAX_ATTACHED_POLICIES, MAX_GROUPS_PER_USER, MAX_POLICY_VERSIONS, MAX_TAGS, ManagedPolicy,
    OidcProvider, Page, PageReq, PolicyEntities, PolicyVersionRecord, PrincipalAuthz, RoleAuthz,
    RoleUpdate, TagTarget, UserAuthz,
};
pub use lock::{COMPLIANCE, GOVERNANCE, retention_change_allowed};
pub use server_keys::ServerKeyRecord;
pub use store::{Meta, PutOutcome};

mod kms_keys;
pub use kms_keys::{KmsAliasRow, KmsKeyRow};
