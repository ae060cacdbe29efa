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
    pub op: &'static str,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::access::operations::extra_actions;

    fn get(version: Option<&str>) -> GetObjectInput {
        GetObjectInput::builder()
            .bucket("b".into())
            .key("k".into())
            .version_id(version.map(Into::into))
            .build()
            .unwrap()
    }

    #[test]
    fn version_twins_from_the_parsed_version_id() {
        assert_eq!(
            needed_actions("GetObject", &get(None)),
            Some(vec!["s3:GetObject"])
        );
        assert_eq!(
            needed_actions("GetObject", &get(Some("v1"))),
            Some(vec!["s3:GetObjectVersion"])
        );
        let del = DeleteObjectTaggingInput::builder()
            .bucket("b".into())
            .key("k".into())
            .version_id(Some("v1".into()))
            .build()
            .unwrap();
        assert_eq!(
            needed_actions("DeleteObjectTagging", &del),
            Some(vec!["s3:DeleteObjectVersionTagging"])
        );
    }

    #[test]
    fn unknown_operations_need_what_no_one_has() {
        assert_eq!(needed_actions("NoSuchOperation", &get(None)), None);
    }

    /// The parsed form and the header form of a write's extras agree (what `check` decides from headers is
    /// what the typed hook finds in the parsed input), for PutObject and CreateBucket.
    #[test]
    fn parsed_extras_match_the_header_extras() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-tagging", "a=b".parse().unwrap());
        headers.insert("x-amz-object-lock-mode", "GOVERNANCE".parse().unwrap());
        headers.insert("x-amz-object-lock-legal-hold", "ON".parse().unwrap());
        let put = PutObjectInput::builder()
            .bucket("b".into())
            .key("k".into())
            .tagging(Some("a=b".into()))
            .object_lock_mode(Some(ObjectLockMode::from_static(
                ObjectLockMode::GOVERNANCE,
            )))
            .object_lock_legal_hold_status(Some(ObjectLockLegalHoldStatus::from_static(
                ObjectLockLegalHoldStatus::ON,
            )))
            .build()
            .unwrap();
        assert_eq!(put.extra_actions(), extra_actions("PutObject", &headers));
        assert_eq!(
            needed_actions("PutObject", &put),
            Some(vec![
                "s3:PutObject",
                "s3:PutObjectTagging",
                "s3:PutObjectRetention",
                "s3:PutObjectLegalHold"
            ])
        );
        assert_eq!(put.object_key(), Some("k"));

        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-grant-read", "id=x".parse().unwrap());
        headers.insert("x-amz-object-ownership", "ObjectWriter".parse().unwrap());
        let create = CreateBucketInput::builder()
            .bucket("b".into())
            .grant_read(Some("id=x".into()))
            .object_ownership(Some(ObjectOwnership::from_static(
                ObjectOwnership::OBJECT_WRITER,
            )))
            .build()
            .unwrap();
        assert_eq!(
            create.extra_actions(),
            extra_actions("CreateBucket", &headers)
        );
        assert_eq!(
            create.extra_actions(),
            vec!["s3:PutBucketAcl", "s3:PutBucketOwnershipControls"]
        );
        let bare = CreateBucketInput::builder()
            .bucket("b".into())
            .build()
            .unwrap();
        assert!(bare.extra_actions().is_empty());
    }
}
