//! Storage classes on the S3 path: which class a write asks for (STANDARD, or one the operator configured in
//! `storage_classes`; anything else is AWS's InvalidStorageClass), and what archive classes refuse.
//! The bytes of an object live in its class's backend (`gatehouse_storage::ClassedBackend`, found again from
//! the blob locators); the class is recorded in the object (or upload) row and reported from there.

use s3s::dto::StorageClass;
use s3s::{S3Result, s3_error};

use crate::state::AppState;

pub(crate) use gatehouse_storage::STANDARD;

/// The class a PutObject / CopyObject / CreateMultipartUpload / POST asks for: STANDARD when none is named.
pub(crate) fn requested(state: &AppState, sc: Option<&StorageClass>) -> S3Result<String> {
    match sc.map(StorageClass::as_str) {
        None | Some(STANDARD) => Ok(STANDARD.to_owned()),
        Some(name) => known(state, name),
    }
}

/// `name` if it is STANDARD or configured, else InvalidStorageClass.
pub(crate) fn known(state: &AppState, name: &str) -> S3Result<String> {
    if name == STANDARD || state.config.storage_class(name).is_some() {
        Ok(name.to_owned())
    } else {
        Err(s3_error!(
            InvalidStorageClass,
            "The storage class you specified is not valid"
        ))
    }
}

/// The class as GET / HEAD report it: omitted for STANDARD, as AWS does.
pub(crate) fn header(class: &str) -> Option<StorageClass> {
    (class != STANDARD).then(|| StorageClass::from(class.to_owned()))
}
