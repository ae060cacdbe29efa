//! `aws:kms:dsse` is sealed in two layers: two data keys from the KMS per object, the blob an envelope of an
//! envelope (its size says so), and reads of any range decrypt both.

use super::*;

/// Bytes of `n` plaintext bytes in one envelope layer (64 KiB chunks, a 24-byte header, 16-byte tags).
fn layer(n: u64) -> u64 {
    24 + n + 16 * n.div_ceil(65_536).max(1)
}

async fn generated(s: &Server) -> u64 {
    let m = reqwest::get(format!("{}/metrics", s.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    m.lines()
        .find_map(|l| l.strip_prefix("gatehouse_kms_requests_total{op=\"generate_data_key\"} "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Blob sizes under the data directory.
fn blob_sizes(s: &Server) -> Vec<u64> {
    files(&data_dir(s).join("blobs"))
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dsse_has_two_layers() {
    let s = Server::start(http_opts(common::Db::Sqlite)).unwrap();
    create_key(&s);
    let c = s.client();
    c.create_bucket().bucket("dsse").send().await.unwrap();
    let n = 300_000usize;
    let body = marked("DSSE-MARKER", n);
    let g0 = generated(&s).await;
    with_mode!(c.put_object().bucket("dsse").key("two"), M::Dsse)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(generated(&s).await - g0, 2, "a data key per layer");
    let sizes = blob_sizes(&s);
    assert!(
        sizes.contains(&layer(layer(n as u64))),
        "a blob of two layers ({}) among {sizes:?}",
        layer(layer(n as u64))
    );
    assert!(!sizes.contains(&layer(n as u64)), "no one-layer blob");
    let g1 = generated(&s).await;
    with_mode!(c.put_object().bucket("dsse").key("one"), M::Kms)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(generated(&s).await - g1, 1, "aws:kms: one layer");
    assert!(blob_sizes(&s).contains(&layer(n as u64)));
    assert!(files_containing(&data_dir(&s), b"DSSE-MARKER").is_empty());
    // Whole and ranged reads, at the start, across chunk boundaries of both layers, at the end.
    assert_eq!(get(&c, "dsse", "two", M::Dsse, None).await, body);
    for (a, b) in [
        (0, 10),
        (65_500, 65_600),
        (131_000, 200_000),
        (n - 5, n - 1),
        (5, n - 1),
    ] {
        assert_eq!(
            get(&c, "dsse", "two", M::Dsse, Some(&format!("bytes={a}-{b}"))).await,
            &body[a..=b],
            "{a}-{b}"
        );
    }
    // A small (inline) object.
    with_mode!(c.put_object().bucket("dsse").key("small"), M::Dsse)
        .body(ByteStream::from_static(b"tiny dual-layer object"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get(&c, "dsse", "small", M::Dsse, Some("bytes=5-10")).await,
        b"dual-l"
    );
}
