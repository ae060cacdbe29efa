//! The IAM API's errors: AWS's codes, HTTP statuses and fault types from one table.

use gatehouse_meta::{IamDbError, MetaError};
use gatehouse_policy::PolicyError;

/// AWS IAM error codes Gatehouse answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamErrorCode {
    NoSuchEntity,
    EntityAlreadyExists,
    LimitExceeded,
    MalformedPolicyDocument,
    DeleteConflict,
    ValidationError,
    InvalidInput,
    AccessDenied,
    ServiceFailure,
    InvalidAction,
    UnmodifiableEntity,
    /// A policy could not be evaluated (SimulatePrincipalPolicy / SimulateCustomPolicy).
    PolicyEvaluation,
}

impl IamErrorCode {
    /// (code, HTTP status, sender fault) — the one table.
    const fn row(self) -> (&'static str, u16, bool) {
        match self {
            IamErrorCode::NoSuchEntity => ("NoSuchEntity", 404, true),
            IamErrorCode::EntityAlreadyExists => ("EntityAlreadyExists", 409, true),
            IamErrorCode::LimitExceeded => ("LimitExceeded", 409, true),
            IamErrorCode::MalformedPolicyDocument => ("MalformedPolicyDocument", 400, true),
            IamErrorCode::DeleteConflict => ("DeleteConflict", 409, true),
            IamErrorCode::ValidationError => ("ValidationError", 400, true),
            IamErrorCode::InvalidInput => ("InvalidInput", 400, true),
            IamErrorCode::AccessDenied => ("AccessDenied", 403, true),
            IamErrorCode::ServiceFailure => ("ServiceFailure", 500, false),
            IamErrorCode::InvalidAction => ("InvalidAction", 400, true),
            IamErrorCode::UnmodifiableEntity => ("UnmodifiableEntity", 400, true),
            IamErrorCode::PolicyEvaluation => ("PolicyEvaluation", 500, false),
        }
    }

    /// The code as AWS spells it.
    pub fn as_str(self) -> &'static str {
        self.row().0
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        self.row().1
    }

    /// "Sender" or "Receiver" (the `<Type>` of the error response).
    pub fn fault_type(self) -> &'static str {
        if self.row().2 { "Sender" } else { "Receiver" }
    }
}

/// An IAM API error as the gateway renders it:
/// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct IamError {
    pub code: IamErrorCode,
    pub message: String,
}

impl IamError {
    pub fn new(code: IamErrorCode, message: impl Into<String>) -> Self {
        IamError {
            code,
            message: message.into(),
        }
    }
    /// `code.as_str()`.
    pub fn code_str(&self) -> &'static str {
        self.code.as_str()
    }
    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }
    /// "Sender" / "Receiver".
    pub fn fault_type(&self) -> &'static str {
        self.code.fault_type()
    }
    pub(crate) fn no_such(m: impl Into<String>) -> Self {
        Self::new(IamErrorCode::NoSuchEntity, m)
    }
    pub(crate) fn invalid_input(m: impl Into<String>) -> Self {
        Self::new(IamErrorCode::InvalidInput, m)
    }
    pub(crate) fn validation(m: impl Into<String>) -> Self {
        Self::new(IamErrorCode::ValidationError, m)
    }
    pub(crate) fn service(m: impl Into<String>) -> Self {
        Self::new(IamErrorCode::ServiceFailure, m)
    }
}

impl From<IamDbError> for IamError {
    fn from(e: IamDbError) -> Self {
        match e {
            IamDbError::NoSuchEntity(m) => IamError::new(IamErrorCode::NoSuchEntity, m),
            IamDbError::AlreadyExists(m) => IamError::new(IamErrorCode::EntityAlreadyExists, m),
            IamDbError::LimitExceeded(m) => IamError::new(IamErrorCode::LimitExceeded, m),
            IamDbError::DeleteConflict(m) => IamError::new(IamErrorCode::DeleteConflict, m),
            IamDbError::InvalidInput(m) => IamError::new(IamErrorCode::InvalidInput, m),
            IamDbError::Meta(e) => e.into(),
        }
    }
}

impl From<MetaError> for IamError {
    fn from(e: MetaError) -> Self {
        // Details go to the log, not to the client.
        tracing::error!(error = %e, "iam: metadata error");
        IamError::service("An internal error occurred.")
    }
}

impl From<PolicyError> for IamError {
    fn from(e: PolicyError) -> Self {
        let code = match e.iam_code() {
            "LimitExceeded" => IamErrorCode::LimitExceeded,
            _ => IamErrorCode::MalformedPolicyDocument,
        };
        IamError::new(code, e.to_string())
    }
}
