//! The operation table: the parsed S3 request -> the (action, resource) pairs AWS checks for it. Each s3s
//! operation has one base action (`ACTIONS`; an operation missing there is denied); a version id turns
//! object actions into their `*Version*` twins; an ACL or tags carried by a write add the ACL or tagging
//! action (`extra_actions`). `tests` check every action name against the policy engine's catalogue.

/// S3 operation name (as s3s names it) -> IAM action. Operations not listed are denied.
pub const ACTIONS: &[(&str, &str)] = &[
    ("ListBuckets", "s3:ListAllMyBuckets"),
    ("CreateBucket", "s3:CreateBucket"),
    ("DeleteBucket", "s3:DeleteBucket"),
    ("HeadBucket", "s3:ListBucket"),
    ("GetBucketLocation", "s3:GetBucketLocation"),
    ("ListObjects", "s3:ListBucket"),
    ("ListObjectsV2", "s3:ListBucket"),
    ("ListObjectVersions", "s3:ListBucketVersions"),
    ("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
    ("PutObject", "s3:PutObject"),
    ("PostObject", "s3:PutObject"),
    ("GetObject", "s3:GetObject"),
    ("HeadObject", "s3:GetObject"),
    ("GetObjectAttributes", "s3:GetObjectAttributes"),
    ("GetObjectTorrent", "s3:GetObjectTorrent"),
    ("DeleteObject", "s3:DeleteObject"),
    ("DeleteObjects", "s3:DeleteObject"),
    ("CopyObject", "s3:PutObject"),
    ("CreateMultipartUpload", "s3:PutObject"),
    ("UploadPart", "s3:PutObject"),
    ("UploadPartCopy", "s3:PutObject"),
    ("CompleteMultipartUpload", "s3:PutObject"),
    ("AbortMultipartUpload", "s3:AbortMultipartUpload"),
    ("ListParts", "s3:ListMultipartUploadParts"),
    ("GetBucketAcl", "s3:GetBucketAcl"),
    ("PutBucketAcl", "s3:PutBucketAcl"),
    ("GetObjectAcl", "s3:GetObjectAcl"),
    ("PutObjectAcl", "s3:PutObjectAcl"),
    ("GetBucketPolicy", "s3:GetBucketPolicy"),
    ("PutBucketPolicy", "s3:PutBucketPolicy"),
    ("DeleteBucketPolicy", "s3:DeleteBucketPolicy"),
    ("GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"),
    ("GetBucketVersioning", "s3:GetBucketVersioning"),
    ("PutBucketVersioning", "s3:PutBucketVersioning"),
    ("GetBucketTagging", "s3:GetBucketTagging"),
    ("PutBucketTagging", "s3:PutBucketTagging"),
    ("DeleteBucketTagging", "s3:PutBucketTagging"),
    ("GetObjectTagging", "s3:GetObjectTagging"),
    ("PutObjectTagging", "s3:PutObjectTagging"),
    ("DeleteObjectTagging", "s3:DeleteObjectTagging"),
    ("GetBucketCors", "s3:GetBucketCORS"),
    ("PutBucketCors", "s3:PutBucketCORS"),
    ("DeleteBucketCors", "s3:PutBucketCORS"),
    ("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("PutBucketEncryption", "s3:PutEncryptionConfiguration"),
    ("DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
    (
        "GetBucketLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
    ),
    (
        "PutBucketLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
    ("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
    ("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    (
        "GetBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
    ),
    (
        "PutBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    (
        "DeleteBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
    ),
    (
        "GetObjectLockConfiguration",
        "s3:GetBucketObjectLockConfiguration",
    ),
    (
        "PutObjectLockConfiguration",
        "s3:PutBucketObjectLockConfiguration",
    ),
    ("GetObjectRetention", "s3:GetObjectRetention"),
    ("PutObjectRetention", "s3:PutObjectRetention"),
    ("GetObjectLegalHold", "s3:GetObjectLegalHold"),
    ("PutObjectLegalHold", "s3:PutObjectLegalHold"),
    (
        "GetBucketNotificationConfiguration",
        "s3:GetBucketNotification",
    ),
    (
        "PutBucketNotificationConfiguration",
        "s3:PutBucketNotification",
    ),
    ("GetBucketWebsite", "s3:GetBucketWebsite"),
    ("PutBucketWebsite", "s3:PutBucketWebsite"),
    ("DeleteBucketWebsite", "s3:DeleteBucketWebsite"),
    ("GetBucketLogging", "s3:GetBucketLogging"),
    ("PutBucketLogging", "s3:PutBucketLogging"),
    ("GetBucketReplication", "s3:GetReplicationConfiguration"),
    ("PutBucketReplication", "s3:PutReplicationConfiguration"),
    ("DeleteBucketReplication", "s3:PutReplicationConfiguration"),
    ("GetBucketRequestPayment", "s3:GetBucketRequestPayment"),
    ("PutBucketRequestPayment", "s3:PutBucketRequestPayment"),
    (
        "GetBucketAccelerateConfiguration",
        "s3:GetAccelerateConfiguration",
    ),
    (
        "PutBucketAccelerateConfiguration",
        "s3:PutAccelerateConfiguration",
    ),
    ("RestoreObject", "s3:RestoreObject"),
    ("SelectObjectContent", "s3:GetObject"),
];

/// The IAM action of an S3 operation, if it is one Gatehouse knows.
pub fn action_of(op: &str) -> Option<&'static str> {
    operation(op).map(|(_, a)| a)
}

/// The table's entry of an S3 operation (its name, kept for the request, and its action).
pub fn operation(op: &str) -> Option<(&'static str, &'static str)> {
    ACTIONS.iter().find(|(o, _)| *o == op).copied()
}

/// The `*Version*` twin of an object action, used when the request names a version id.
pub fn version_action(action: &'static str) -> &'static str {
    match action {
        "s3:GetObject" => "s3:GetObjectVersion",
        "s3:DeleteObject" => "s3:DeleteObjectVersion",
        "s3:GetObjectAcl" => "s3:GetObjectVersionAcl",
        "s3:PutObjectAcl" => "s3:PutObjectVersionAcl",
        "s3:GetObjectTagging" => "s3:GetObjectVersionTagging",
        "s3:PutObjectTagging" => "s3:PutObjectVersionTagging",
        "s3:DeleteObjectTagging" => "s3:DeleteObjectVersionTagging",
        "s3:GetObjectAttributes" => "s3:GetObjectVersionAttributes",
        "s3:GetObjectTorrent" => "s3:GetObjectVersionTorrent",
        other => other,
    }
}

/// Whether the request carries an ACL (canned or grant headers).
pub fn carries_acl(headers: &http::HeaderMap) -> bool {
    [
        "x-amz-acl",
        "x-amz-grant-read",
        "x-amz-grant-write",
        "x-amz-grant-read-acp",
        "x-amz-grant-write-acp",
        "x-amz-grant-full-control",
    ]
    .iter()
    .any(|h| headers.contains_key(*h))
}

/// Actions a request needs beyond its operation's own, on the same resource: tags, a retention or a legal hold
/// on a write need the tagging, retention or legal-hold action; an ACL on CreateBucket needs s3:PutBucketAcl,
/// an ownership header the ownership action.
pub fn extra_actions(op: &str, headers: &http::HeaderMap) -> Vec<&'static str> {
    let mut v = Vec::new();
    match op {
        // An ACL on a write is decided with s3:PutObject alone (the usual cross-account upload policy allows
        // s3:PutObject on condition of s3:x-amz-acl = bucket-owner-full-control); tags need
        // s3:PutObjectTagging, a retention s3:PutObjectRetention, a legal hold s3:PutObjectLegalHold.
        "PutObject" | "CopyObject" | "CreateMultipartUpload" | "PostObject" => {
            if headers.contains_key("x-amz-tagging") {
                v.push("s3:PutObjectTagging");
            }
            if headers.contains_key("x-amz-object-lock-mode")
                || headers.contains_key("x-amz-object-lock-retain-until-date")
            {
                v.push("s3:PutObjectRetention");
            }
            if headers.contains_key("x-amz-object-lock-legal-hold") {
                v.push("s3:PutObjectLegalHold");
            }
        }
        "CreateBucket" => {
            if carries_acl(headers) {
                v.push("s3:PutBucketAcl");
            }
            if headers.contains_key("x-amz-object-ownership") {
                v.push("s3:PutBucketOwnershipControls");
            }
        }
        _ => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_operation_has_an_action() {
        for op in crate::s3::IMPLEMENTED {
            assert!(
                action_of(op).is_some(),
                "{op} is missing from the action table"
            );
        }
        assert_eq!(action_of("NoSuchOp"), None);
    }

    #[test]
    fn every_action_is_in_the_engines_catalogue() {
        let cat = gatehouse_policy::catalogue::catalogue();
        let mut all: Vec<&str> = ACTIONS.iter().map(|(_, a)| *a).collect();
        all.extend(ACTIONS.iter().map(|(_, a)| version_action(a)));
        all.extend([
            "s3:PutObjectAcl",
            "s3:PutObjectTagging",
            "s3:PutBucketAcl",
            "s3:PutBucketOwnershipControls",
        ]);
        for a in all {
            assert!(cat.lookup(a).is_some(), "{a} is not an action AWS knows");
        }
    }
}
