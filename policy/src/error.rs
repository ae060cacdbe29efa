//! The crate's one error type: why a policy document was rejected.

use crate::document::PolicyKind;

/// Why a policy document was rejected; maps to IAM `MalformedPolicyDocument` / `LimitExceeded`
/// and S3 `MalformedPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The document is not valid JSON or breaks the IAM policy grammar; the message names the problem.
    #[error("{0}")]
    Malformed(String),
    /// The document is larger than the quota for its kind.
    #[error("Cannot exceed quota for PolicySize: {limit}")]
    TooLarge {
        /// Size as AWS counts it for this kind (characters without whitespace, or bytes for S3).
        size: usize,
        /// The quota that was exceeded.
        limit: usize,
        /// The kind of document that was checked.
        kind: PolicyKind,
    },
}

impl PolicyError {
    /// The IAM API error code (`MalformedPolicyDocument` or `LimitExceeded`).
    pub fn iam_code(&self) -> &'static str {
        match self {
            PolicyError::Malformed(_) => "MalformedPolicyDocument",
            PolicyError::TooLarge { .. } => "LimitExceeded",
        }
    }

    /// The S3 API error code (`MalformedPolicy`; S3 reports oversize policies the same way).
    pub fn s3_code(&self) -> &'static str {
        "MalformedPolicy"
    }

    /// The S3 error message (S3 words the size error differently from IAM).
    pub fn s3_message(&self) -> String {
        match self {
            PolicyError::Malformed(m) => m.clone(),
            PolicyError::TooLarge { .. } => "Policies must be less than 20KB in size".to_string(),
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        PolicyError::Malformed(msg.into())
    }
}
