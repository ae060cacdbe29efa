//! Errors of the metadata store.

/// What can go wrong in `meta`.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A unique name or id is taken (account name, e-mail, canonical id, access key).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// CreateBucket on a name that exists; carries the owner so the caller can tell
    /// BucketAlreadyOwnedByYou from BucketAlreadyExists.
    #[error("bucket exists, owned by account {owner_account_id}")]
    BucketExists { owner_account_id: String },
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("no such upload")]
    NoSuchUpload,
    /// The object version an ACL was written for is gone.
    #[error("no such key")]
    NoSuchKey,
    /// An account-level setting for an account that does not exist.
    #[error("no such account")]
    NoSuchAccount,
    /// A write condition (If-None-Match / If-Match) failed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The version is protected by Object Lock (retention or legal hold): not deleted, overwritten or changed.
    #[error("object protected by object lock")]
    ObjectLocked,
}

/// Result alias of this crate.
pub type Result<T, E = MetaError> = std::result::Result<T, E>;
