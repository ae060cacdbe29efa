//! Authentication: access key -> secret for s3s's SigV4 verification, and -> `Principal` afterwards.

use std::sync::Arc;

use s3s::S3Result;
use s3s::auth::{S3Auth, SecretKey};
use s3s::s3_error;

use crate::state::AppState;

/// The `S3Auth` s3s calls while verifying a signature.
pub struct Authenticator {
    pub state: Arc<AppState>,
}

#[async_trait::async_trait]
impl S3Auth for Authenticator {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.state.resolve_key(access_key).await {
            Ok(Some(k)) => Ok(SecretKey::from(k.secret)),
            Ok(None) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => Err(crate::authz::key_error(e)),
        }
    }
}
