//! Virtual-hosted-style addressing (`--domain`): BUCKET.DOMAIN/KEY reaches the same objects as path style.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::SystemTime;

use aws_sdk_s3::primitives::ByteStream;
use aws_sigv4::http_request::SignableBody;
use common::{Db, Opts, ROOT_AK, ROOT_SK, Server, Store};

async fn vh_request(
    s: &Server,
    method: &str,
    host: &str,
    path: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let port = s.port();
    let url = format!("http://{host}:{port}{path}");
    let mut req = http::Request::builder()
        .method(method)
        .uri(&url)
        .body(body.to_vec())
        .unwrap();
    common::sign::sign_request(
        &mut req,
        ROOT_AK,
        ROOT_SK,
        SignableBody::Bytes(body),
        SystemTime::now(),
    );
    let client = reqwest::Client::builder()
        .resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .unwrap();
    let (parts, b) = req.into_parts();
    let mut rb = client.request(parts.method, url);
    for (k, v) in &parts.headers {
        rb = rb.header(k, v);
    }
    let resp = rb.body(b).send().await.unwrap();
    let st = resp.status().as_u16();
    (st, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_hosted_style() {
    let mut o = Opts::new(Db::Sqlite, Store::Std);
    o.extra = vec!["--domain".into(), "s3.gatehouse.test".into()];
    let s = Server::start(o).unwrap();
    let c = s.client();
    c.create_bucket().bucket("vhost").send().await.unwrap();
    c.put_object()
        .bucket("vhost")
        .key("dir/a.txt")
        .body(ByteStream::from_static(b"hello vh"))
        .send()
        .await
        .unwrap();
    let (st, body) = vh_request(&s, "GET", "vhost.s3.gatehouse.test", "/dir/a.txt", b"").await;
    assert_eq!(st, 200);
    assert_eq!(body, b"hello vh");
    let (st, _) = vh_request(&s, "PUT", "vhost.s3.gatehouse.test", "/b.txt", b"via vhost").await;
    assert_eq!(st, 200);
    let got = c
        .get_object()
        .bucket("vhost")
        .key("b.txt")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(got.as_ref(), b"via vhost");
    let (st, body) = vh_request(&s, "GET", "vhost.s3.gatehouse.test", "/?list-type=2", b"").await;
    assert_eq!(st, 200);
    let xml = String::from_utf8(body).unwrap();
    assert!(
        xml.contains("<Key>b.txt</Key>") && xml.contains("<Key>dir/a.txt</Key>"),
        "{xml}"
    );
    let (st, body) = vh_request(&s, "GET", "nosuchbucket.s3.gatehouse.test", "/k", b"").await;
    assert_eq!(st, 404, "{}", String::from_utf8_lossy(&body));
}
