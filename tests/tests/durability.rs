//! Crash and shutdown: kill -9 during concurrent uploads never leaves a partial object and loses no
//! acknowledged one; SIGTERM drains an in-flight upload; orphan blobs are swept.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sigv4::http_request::SignableBody;
use common::{Db, Opts, ROOT_AK, ROOT_SK, Server, Store, random_bytes};

async fn crash_during_uploads(store: Store) {
    let mut s = Server::start(Opts::new(Db::Sqlite, store)).unwrap();
    let c = s.client();
    c.create_bucket().bucket("crash").send().await.unwrap();
    let attempted: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let c = c.clone();
        let attempted = Arc::clone(&attempted);
        let acked = Arc::clone(&acked);
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < deadline {
                let key = format!("t{t}/o{i}");
                let size = [1_000, 70_000, 1_500_000][i % 3];
                let data = random_bytes(size);
                attempted.lock().unwrap().insert(key.clone(), data.clone());
                if c.put_object()
                    .bucket("crash")
                    .key(&key)
                    .body(ByteStream::from(data))
                    .send()
                    .await
                    .is_ok()
                {
                    acked.lock().unwrap().push(key);
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    s.kill9();
    for t in tasks {
        let _ = t.await;
    }
    s.crash_and_restart();
    let c = s.client();
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "the load ran ({} acknowledged)",
        acked.len()
    );
    for k in &acked {
        let got = c
            .get_object()
            .bucket("crash")
            .key(k)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert!(
            got.as_ref() == attempted[k].as_slice(),
            "acknowledged {k} reads back byte-exact"
        );
    }
    let mut visible = Vec::new();
    let mut token = None;
    loop {
        let r = c
            .list_objects_v2()
            .bucket("crash")
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        visible.extend(
            r.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        if r.is_truncated() != Some(true) {
            break;
        }
        token = r.next_continuation_token().map(str::to_owned);
    }
    for k in &visible {
        // A key committed just before the kill may be visible without its acknowledgement having reached the
        // client; it must still be whole.
        let want = attempted.get(k).expect("only attempted keys exist");
        let got = c
            .get_object()
            .bucket("crash")
            .key(k)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert!(got.as_ref() == want.as_slice(), "visible {k} is complete");
    }
    for k in &acked {
        assert!(visible.contains(k), "acknowledged {k} is listed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_during_uploads_uring() {
    crash_during_uploads(Store::IoUring).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_during_uploads_std() {
    crash_during_uploads(Store::Std).await;
}

/// SIGTERM while a slow upload is in flight: the upload completes and the server then exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_upload() {
    let mut s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket().bucket("drain").send().await.unwrap();
    let data = random_bytes(3 * 1024 * 1024);
    let url = format!("{}/drain/slow", s.endpoint);
    let mut req = http::Request::builder()
        .method("PUT")
        .uri(&url)
        .header("content-length", data.len().to_string())
        .body(Vec::new())
        .unwrap();
    common::sign::sign_request(
        &mut req,
        ROOT_AK,
        ROOT_SK,
        SignableBody::UnsignedPayload,
        SystemTime::now(),
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let client = reqwest::Client::new();
    let (parts, _) = req.into_parts();
    let mut rb = client.request(parts.method, parts.uri.to_string());
    for (k, v) in &parts.headers {
        rb = rb.header(k, v);
    }
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let pending = tokio::spawn(rb.body(body).send());
    let chunks: Vec<Vec<u8>> = data.chunks(512 * 1024).map(<[u8]>::to_vec).collect();
    tx.send(Ok(chunks[0].clone())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid_term = std::thread::spawn(move || s.terminate());
    tokio::time::sleep(Duration::from_millis(300)).await;
    for ch in &chunks[1..] {
        tx.send(Ok(ch.clone())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(tx);
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the in-flight upload completes during the drain"
    );
    let exit = pid_term.join().unwrap();
    assert!(
        exit.success(),
        "server exits cleanly after draining: {exit:?}"
    );
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// A blob that no index row references and that is older than a day is swept at start-up; referenced blobs
/// and young blobs stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_blobs_are_swept() {
    let mut s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket().bucket("sweep").send().await.unwrap();
    c.put_object()
        .bucket("sweep")
        .key("keep")
        .body(ByteStream::from_static(b"kept bytes"))
        .send()
        .await
        .unwrap();
    s.kill9();
    let blobs = s.dir.path().join("data").join("blobs");
    let plant = |id: &str| {
        let dir = blobs.join(&id[0..2]).join(&id[2..4]);
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(id);
        std::fs::write(&p, b"orphan").unwrap();
        p
    };
    let old = plant(&"a1".repeat(16));
    let young = plant(&"b2".repeat(16));
    let st = std::process::Command::new("touch")
        .args(["-d", "3 days ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(st.success());
    s.crash_and_restart();
    let t0 = Instant::now();
    while old.exists() && t0.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!old.exists(), "the old orphan is swept");
    assert!(
        young.exists(),
        "a young blob may belong to an upload in progress: kept"
    );
    let c = s.client();
    let got = c
        .get_object()
        .bucket("sweep")
        .key("keep")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(got.as_ref(), b"kept bytes");
}

/// A second server on a data directory already served is refused with a clear message (it would sweep the
/// first one's new blobs and serve stale bucket state); the first keeps serving, and the admin commands still
/// work on the store beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_server_on_one_data_dir_is_refused() {
    let s = Server::start(Opts::new(Db::Sqlite, Store::Std)).unwrap();
    let c = s.client();
    c.create_bucket().bucket("locked").send().await.unwrap();
    let out = std::process::Command::new(common::bin())
        .arg("serve")
        .args(s.store_args())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("GATEHOUSE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a second server started");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another gatehouse server"),
        "unclear refusal: {err}"
    );
    let (ak, _) = s.new_account("beside");
    assert!(ak.starts_with("AKIA"), "{ak}");
    c.put_object()
        .bucket("locked")
        .key("k")
        .body(ByteStream::from_static(b"still served"))
        .send()
        .await
        .unwrap();
}
