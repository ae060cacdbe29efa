//! The operation table read from the *parsed* request. `authz`'s `check` decides before s3s parses the request
//! (so an unauthorised caller gets AccessDenied before any validation of its input, as on AWS), reading the
//! version id from the query and the write's extras from the headers; s3s then parses the input, and every
//! typed per-operation hook (`access::hooks`) derives the actions again from that input, the one the handler
//! acts on. An action it needs that `check` did not decide is decided there, so a request whose raw form and
//! parsed form disagree (a `versionId` that only one of the two parsers reads, tags in a POST form rather than
//! a header) is never authorised as less than it does.

use s3s::dto::*;

use super::operations::{action_of, version_action};

/// What `check` authorised (for the typed hook to compare with the parsed input).
#[derive(Clone, Debug)]
pub struct Authorised {
    /// The operation as s3s named it.
    pub op: String,
    /// The actions decided (for DeleteObjects, decided per key by the handler).
    pub actions: Vec<&'static str>,
    /// The bucket and key of the request (none for ListBuckets).
    pub bucket: Option<String>,
    pub key: Option<String>,
}

/// What an operation's parsed input says about the actions it needs besides its base action.
pub trait ParsedFacts {
    /// The object version the operation addresses.
    fn version_id(&self) -> Option<&str> {
        None
    }
    /// The object key the input names where the request's path does not (a POST form's `key`).
    fn object_key(&self) -> Option<&str> {
        None
    }
    /// The actions a write needs besides its own (tags, retention, legal hold; ACL and ownership on
    /// CreateBucket), as `operations::extra_actions` derives them from headers.
    fn extra_actions(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// The actions AWS checks for operation `op` with parsed input `input`: its base action (the `*Version*`
/// twin when the input names a version), then the extras. `None` for an operation the table does not know.
pub fn needed_actions(op: &str, input: &impl ParsedFacts) -> Option<Vec<&'static str>> {
    let base = action_of(op)?;
    let base = if input.version_id().is_some() && op != "PutObject" {
        version_action(base)
    } else {
        base
    };
    let mut v = vec![base];
    v.extend(input.extra_actions());
    Some(v)
}

/// The extras of an object write.
fn write_extras(tags: bool, retention: bool, legal_hold: bool) -> Vec<&'static str> {
    let mut v = Vec::new();
    if tags {
        v.push("s3:PutObjectTagging");
    }
    if retention {
        v.push("s3:PutObjectRetention");
    }
    if legal_hold {
        v.push("s3:PutObjectLegalHold");
    }
    v
}

macro_rules! versioned {
    ($($input:ident),* $(,)?) => {$(
        impl ParsedFacts for $input {
            fn version_id(&self) -> Option<&str> {
                self.version_id.as_deref()
            }
        }
    )*};
}

macro_rules! object_write {
    ($($input:ident),* $(,)?) => {$(
        impl ParsedFacts for $input {
            fn object_key(&self) -> Option<&str> {
                Some(&self.key)
            }
            fn extra_actions(&self) -> Vec<&'static str> {
                write_extras(
                    self.tagging.is_some(),
                    self.object_lock_mode.is_some() || self.object_lock_retain_until_date.is_some(),
                    self.object_lock_legal_hold_status.is_some(),
                )
            }
        }
    )*};
}

macro_rules! plain {
    ($($input:ident),* $(,)?) => {$(
        impl ParsedFacts for $input {}
    )*};
}

versioned!(
    DeleteObjectInput,
    DeleteObjectTaggingInput,
    GetObjectInput,
    GetObjectAclInput,
    GetObjectAttributesInput,
    GetObjectLegalHoldInput,
    GetObjectRetentionInput,
    GetObjectTaggingInput,
    HeadObjectInput,
    PutObjectAclInput,
    PutObjectLegalHoldInput,
    PutObjectRetentionInput,
    PutObjectTaggingInput,
    RestoreObjectInput,
    WriteGetObjectResponseInput,
);

object_write!(
    PutObjectInput,
    PostObjectInput,
    CopyObjectInput,
    CreateMultipartUploadInput
);

impl ParsedFacts for CreateBucketInput {
    fn extra_actions(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.acl.is_some()
            || self.grant_full_control.is_some()
            || self.grant_read.is_some()
            || self.grant_read_acp.is_some()
            || self.grant_write.is_some()
            || self.grant_write_acp.is_some()
        {
            v.push("s3:PutBucketAcl");
        }
        if self.object_ownership.is_some() {
            v.push("s3:PutBucketOwnershipControls");
        }
        v
    }
}

plain!(
    AbortMultipartUploadInput,
    CompleteMultipartUploadInput,
    CreateBucketMetadataTableConfigurationInput,
    CreateSessionInput,
    DeleteBucketInput,
    DeleteBucketAnalyticsConfigurationInput,
    DeleteBucketCorsInput,
    DeleteBucketEncryptionInput,
    DeleteBucketIntelligentTieringConfigurationInput,
    DeleteBucketInventoryConfigurationInput,
    DeleteBucketLifecycleInput,
    DeleteBucketMetadataTableConfigurationInput,
    DeleteBucketMetricsConfigurationInput,
    DeleteBucketOwnershipControlsInput,
    DeleteBucketPolicyInput,
    DeleteBucketReplicationInput,
    DeleteBucketTaggingInput,
    DeleteBucketWebsiteInput,
    DeleteObjectsInput,
    DeletePublicAccessBlockInput,
    GetBucketAccelerateConfigurationInput,
    GetBucketAclInput,
    GetBucketAnalyticsConfigurationInput,
    GetBucketCorsInput,
    GetBucketEncryptionInput,
    GetBucketIntelligentTieringConfigurationInput,
    GetBucketInventoryConfigurationInput,
    GetBucketLifecycleConfigurationInput,
    GetBucketLocationInput,
    GetBucketLoggingInput,
    GetBucketMetadataTableConfigurationInput,
    GetBucketMetricsConfigurationInput,
    GetBucketNotificationConfigurationInput,
    GetBucketOwnershipControlsInput,
    GetBucketPolicyInput,
    GetBucketPolicyStatusInput,
    GetBucketReplicationInput,
    GetBucketRequestPaymentInput,
    GetBucketTaggingInput,
    GetBucketVersioningInput,
    GetBucketWebsiteInput,
    GetObjectLockConfigurationInput,
    GetObjectTorrentInput,
    GetPublicAccessBlockInput,
    HeadBucketInput,
    ListBucketAnalyticsConfigurationsInput,
    ListBucketIntelligentTieringConfigurationsInput,
    ListBucketInventoryConfigurationsInput,
    ListBucketMetricsConfigurationsInput,
    ListBucketsInput,
    ListDirectoryBucketsInput,
    ListMultipartUploadsInput,
    ListObjectVersionsInput,
    ListObjectsInput,
    ListObjectsV2Input,
    ListPartsInput,
    PutBucketAccelerateConfigurationInput,
    PutBucketAclInput,
    PutBucketAnalyticsConfigurationInput,
    PutBucketCorsInput,
    PutBucketEncryptionInput,
    PutBucketIntelligentTieringConfigurationInput,
    PutBucketInventoryConfigurationInput,
    PutBucketLifecycleConfigurationInput,
    PutBucketLoggingInput,
    PutBucketMetricsConfigurationInput,
    PutBucketNotificationConfigurationInput,
    PutBucketOwnershipControlsInput,
    PutBucketPolicyInput,
    PutBucketReplicationInput,
    PutBucketRequestPaymentInput,
    PutBucketTaggingInput,
    PutBucketVersioningInput,
    PutBucketWebsiteInput,
    PutObjectLockConfigurationInput,
    PutPublicAccessBlockInput,
    SelectObjectContentInput,
    UploadPartInput,
    UploadPartCopyInput,
);
