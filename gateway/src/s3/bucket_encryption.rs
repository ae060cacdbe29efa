//! PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption: a bucket's default encryption, kept as
//! the bucket setting `encryption` (`sse::BucketDefault`) and applied by `sse::for_write` to PUT, copy and
//! multipart requests that name no mode.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::sse::{self, BucketDefault, MODE_DSSE, MODE_KMS, MODE_S3};
use super::{Gatehouse, meta_err};

fn malformed() -> s3s::S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

/// Validates a configuration as AWS does: one rule with a default; a supported algorithm; a KMS key id only
/// with a KMS algorithm, and well-formed.
fn validate(c: &ServerSideEncryptionConfiguration) -> S3Result<BucketDefault> {
    let [rule] = c.rules.as_slice() else {
        return Err(malformed());
    };
    let Some(d) = &rule.apply_server_side_encryption_by_default else {
        return Err(malformed());
    };
    let algorithm = d.sse_algorithm.as_str();
    if ![MODE_S3, MODE_KMS, MODE_DSSE].contains(&algorithm) {
        return Err(malformed());
    }
    let kms_key_id = d.kms_master_key_id.clone().filter(|k| !k.is_empty());
    if let Some(k) = &kms_key_id {
        if algorithm == MODE_S3 {
            return Err(s3_error!(
                InvalidArgument,
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"
            ));
        }
        gatehouse_kms::provider::KeyRef::parse(k).map_err(sse::kms_err)?;
    }
    Ok(BucketDefault {
        algorithm: algorithm.to_owned(),
        kms_key_id,
        bucket_key: rule.bucket_key_enabled.unwrap_or(false),
    })
}

/// PutBucketEncryption.
pub(crate) async fn put_bucket_encryption(
    g: &Gatehouse,
    req: S3Request<PutBucketEncryptionInput>,
) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    let i = &req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let d = validate(&i.server_side_encryption_configuration)?;
    let json = serde_json::to_string(&d).map_err(|_| s3_error!(InternalError))?;
    g.state
        .meta
        .put_bucket_setting(&i.bucket, sse::SETTING, &json)
        .await
        .map_err(meta_err)?;
    Ok(S3Response::new(PutBucketEncryptionOutput::default()))
}

/// GetBucketEncryption: `ServerSideEncryptionConfigurationNotFoundError` (404) when none is set.
pub(crate) async fn get_bucket_encryption(
    g: &Gatehouse,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    let i = &req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    let Some(d) = sse::bucket_default(&g.state, &i.bucket).await? else {
        // 404 on AWS (s3s's table says 400).
        let mut e = s3_error!(
            ServerSideEncryptionConfigurationNotFoundError,
            "The server side encryption configuration was not found"
        );
        e.set_status_code(http::StatusCode::NOT_FOUND);
        return Err(e);
    };
    let rule = ServerSideEncryptionRule {
        apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
            kms_master_key_id: d.kms_key_id,
            sse_algorithm: ServerSideEncryption::from(d.algorithm),
        }),
        bucket_key_enabled: Some(d.bucket_key),
    };
    Ok(S3Response::new(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
            rules: vec![rule],
        }),
    }))
}

/// DeleteBucketEncryption (204 whether or not one was set).
pub(crate) async fn delete_bucket_encryption(
    g: &Gatehouse,
    req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    let i = &req.input;
    super::request_bucket(&g.state, &req.extensions, &i.bucket).await?;
    g.state
        .meta
        .delete_bucket_setting(&i.bucket, sse::SETTING)
        .await
        .map_err(meta_err)?;
    let mut resp = S3Response::new(DeleteBucketEncryptionOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(alg: &str, key: Option<&str>, rules: usize) -> ServerSideEncryptionConfiguration {
        let rule = ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                kms_master_key_id: key.map(str::to_owned),
                sse_algorithm: ServerSideEncryption::from(alg.to_owned()),
            }),
            bucket_key_enabled: Some(true),
        };
        ServerSideEncryptionConfiguration {
            rules: vec![rule; rules],
        }
    }

    #[test]
    fn validation_follows_aws() {
        let code = |r: S3Result<BucketDefault>| {
            r.err()
                .map(|e| e.code().as_str().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(
            validate(&conf("aws:kms", Some("alias/k"), 1)).ok(),
            Some(BucketDefault {
                algorithm: "aws:kms".into(),
                kms_key_id: Some("alias/k".into()),
                bucket_key: true
            })
        );
        assert!(validate(&conf("AES256", None, 1)).is_ok());
        assert_eq!(
            code(validate(&conf("AES256", Some("k"), 1))),
            "InvalidArgument"
        );
        assert_eq!(
            code(validate(&conf("aws:kms", Some("a b"), 1))),
            "InvalidArgument"
        );
        assert_eq!(code(validate(&conf("DES", None, 1))), "MalformedXML");
        assert_eq!(code(validate(&conf("AES256", None, 0))), "MalformedXML");
        assert_eq!(code(validate(&conf("AES256", None, 2))), "MalformedXML");
    }
}
