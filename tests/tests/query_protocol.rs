//! The query protocol (IAM, STS) on the S3 listener: the Rust SDK's STS client, and raw requests for what
//! an SDK will not send (a body changed after signing, an old signature, a presigned GET, a wrong secret).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

use common::Server;

async fn sts_client(s: &Server, ak: &str, sk: &str) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(&s.endpoint)
        .credentials_provider(Credentials::new(ak, sk, None, None, "test"))
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

async fn caller_identity(s: &Server) {
    let c = sts_client(s, common::ROOT_AK, common::ROOT_SK).await;
    let id = c
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    let account = id.account().unwrap().to_owned();
    assert_eq!(account.len(), 12);
    assert_eq!(
        id.arn(),
        Some(format!("arn:aws:iam::{account}:root").as_str())
    );
    assert_eq!(id.user_id(), Some(account.as_str()));
    // Another account's root sees its own account.
    let (ak, sk) = s.new_account("other");
    let other = sts_client(s, &ak, &sk)
        .await
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_ne!(other.account(), Some(account.as_str()));
    // A wrong secret: SignatureDoesNotMatch, 403.
    let e = sts_client(
        s,
        common::ROOT_AK,
        "wrong-secret-0000000000000000000000000000",
    )
    .await
    .get_caller_identity()
    .send()
    .await
    .unwrap_err();
    use aws_sdk_sts::error::ProvideErrorMetadata as _;
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"), "{e:?}");
}
matrix!(caller_identity);

/// Signs a query-protocol request; `presign` puts the signature in the query.
fn signed(
    s: &Server,
    service: &str,
    method: &str,
    query: &str,
    body: &str,
    time: SystemTime,
    presign: Option<Duration>,
) -> http::Request<Vec<u8>> {
    let url = if query.is_empty() {
        format!("{}/", s.endpoint)
    } else {
        format!("{}/?{query}", s.endpoint)
    };
    let mut req = http::Request::builder().method(method).uri(&url);
    if !body.is_empty() {
        req = req.header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        );
    }
    let host = url.split('/').nth(2).unwrap().to_owned();
    req = req.header("host", host);
    let mut req = req.body(body.as_bytes().to_vec()).unwrap();
    let identity = Credentials::new(common::ROOT_AK, common::ROOT_SK, None, None, "t").into();
    let mut settings = SigningSettings::default();
    if let Some(exp) = presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(exp);
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut req);
    req
}

const GCI: &str = "Action=GetCallerIdentity&Version=2011-06-15";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_verified() {
    let s = Server::start(common::Opts::new(common::Db::Sqlite, common::Store::Std)).unwrap();
    let now = SystemTime::now();

    let (st, body) = common::sign::execute(signed(&s, "sts", "POST", "", GCI, now, None)).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("<GetCallerIdentityResult>"), "{body}");

    // The body changed after signing.
    let mut req = signed(&s, "sts", "POST", "", GCI, now, None);
    *req.body_mut() = b"Action=GetCallerIdentity&Version=2011-06-15&X=1".to_vec();
    let (st, body) = common::sign::execute(req).await;
    assert_eq!(st, 403, "{body}");
    assert!(
        body.contains("<ErrorResponse") && body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    assert!(
        body.contains("<Type>Sender</Type>") && body.contains("<RequestId>"),
        "{body}"
    );

    // Signed 20 minutes ago.
    let old = now - Duration::from_secs(20 * 60);
    let (st, body) = common::sign::execute(signed(&s, "sts", "POST", "", GCI, old, None)).await;
    assert_eq!(st, 403);
    assert!(body.contains("Signature expired"), "{body}");

    // Presigned GET: works within its lifetime, refused after it.
    let (st, body) = common::sign::execute(signed(
        &s,
        "sts",
        "GET",
        GCI,
        "",
        now,
        Some(Duration::from_secs(300)),
    ))
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = common::sign::execute(signed(
        &s,
        "sts",
        "GET",
        GCI,
        "",
        now - Duration::from_secs(600),
        Some(Duration::from_secs(300)),
    ))
    .await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("RequestExpired"), "{body}");

    // An unknown action, and a missing one.
    let (st, body) = common::sign::execute(signed(
        &s,
        "sts",
        "POST",
        "",
        "Action=NoSuchThing&Version=2011-06-15",
        now,
        None,
    ))
    .await;
    assert_eq!(st, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    let (st, body) = common::sign::execute(signed(
        &s,
        "sts",
        "POST",
        "",
        "Version=2011-06-15",
        now,
        None,
    ))
    .await;
    assert_eq!(st, 400);
    assert!(body.contains("<Code>MissingAction</Code>"), "{body}");

    // An S3 bucket named like a local endpoint is still S3, and S3 still works beside the query protocol.
    let c = s.client();
    c.create_bucket().bucket("health").send().await.unwrap();
    c.head_bucket().bucket("health").send().await.unwrap();
    let listed = c.list_buckets().send().await.unwrap();
    assert_eq!(listed.buckets().len(), 1);
}
