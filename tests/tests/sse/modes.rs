//! Every mode with PUT, GET (full, ranges), HEAD, multipart and copy; no plaintext at rest.

use super::*;

/// PUT, full GET, ranged GET (across a chunk boundary), HEAD and the response headers of every mode, on a
/// blob-sized and an inline-sized object; then no encrypted marker is anywhere in the data directory (blobs,
/// SQLite database and WAL), while the plaintext object's marker is (the search works).
async fn modes_round_trip(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("sse").send().await.unwrap();
    for m in MODES {
        let marker = if m == M::Plain {
            "PLAINTEXT-CONTROL-MARKER".to_owned()
        } else {
            format!("SECRET-MARKER-{m:?}")
        };
        for (k, n) in [("big", 200_000usize), ("small", 1000)] {
            let key = format!("{m:?}-{k}");
            let body = marked(&marker, n);
            let put = with_mode!(c.put_object().bucket("sse").key(&key), m)
                .metadata("note", "visible")
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("PUT {key}: {e:?}"));
            let etag = put.e_tag().unwrap().trim_matches('"').to_owned();
            match m {
                M::Plain | M::S3 => assert_eq!(etag, md5_hex(&body), "{m:?}: the MD5 ETag"),
                _ => assert_ne!(etag, md5_hex(&body), "{m:?}: the ETag is not the MD5"),
            }
            let want_sse = match m {
                M::Plain | M::C(_) => None,
                M::S3 => Some(ServerSideEncryption::Aes256),
                M::Kms => Some(ServerSideEncryption::AwsKms),
                M::Dsse => Some(ServerSideEncryption::AwsKmsDsse),
            };
            assert_eq!(put.server_side_encryption(), want_sse.as_ref(), "{m:?}");
            if matches!(m, M::Kms | M::Dsse) {
                let arn = put.ssekms_key_id().unwrap();
                assert!(
                    arn.starts_with("arn:aws:kms:us-east-1:")
                        && arn.ends_with(&format!(":key/{KEY}")),
                    "{arn}"
                );
            } else {
                assert!(put.ssekms_key_id().is_none());
            }
            if let M::C(x) = m {
                assert_eq!(put.sse_customer_algorithm(), Some("AES256"));
                assert_eq!(put.sse_customer_key_md5(), Some(ck(x).1.as_str()));
            }
            assert_eq!(get(&c, "sse", &key, m, None).await, body, "{key}");
            let (a, b) = if n > 1000 {
                (65_530, 131_080)
            } else {
                (10, 900)
            };
            assert_eq!(
                get(&c, "sse", &key, m, Some(&format!("bytes={a}-{b}"))).await,
                &body[a..=b],
                "{key} range"
            );
            assert_eq!(
                get(&c, "sse", &key, m, Some("bytes=-7")).await,
                &body[n - 7..],
                "{key} suffix"
            );
            let h = with_key!(c.head_object().bucket("sse").key(&key), m)
                .send()
                .await
                .unwrap();
            assert_eq!(h.content_length(), Some(n as i64));
            assert_eq!(h.server_side_encryption(), want_sse.as_ref());
            assert_eq!(h.e_tag().unwrap().trim_matches('"'), etag);
            assert_eq!(
                h.metadata().unwrap().get("note").map(String::as_str),
                Some("visible")
            );
            let g = with_key!(c.get_object().bucket("sse").key(&key), m)
                .send()
                .await
                .unwrap();
            assert_eq!(g.server_side_encryption(), want_sse.as_ref());
            assert_eq!(g.ssekms_key_id().is_some(), matches!(m, M::Kms | M::Dsse));
        }
        let found = files_containing(&data_dir(s), marker.as_bytes());
        if m == M::Plain {
            assert!(
                !found.is_empty(),
                "the control marker is stored in the clear"
            );
        } else {
            assert!(found.is_empty(), "{m:?}: plaintext in {found:?}");
        }
    }
    // Listing shows plaintext sizes.
    let l = c.list_objects_v2().bucket("sse").send().await.unwrap();
    for o in l.contents() {
        let want = if o.key().unwrap().ends_with("big") {
            200_000
        } else {
            1000
        };
        assert_eq!(o.size(), Some(want), "{:?}", o.key());
    }
}
sse_matrix!(modes_round_trip);

/// Multipart uploads in each mode: the mode is decided at Create, parts (sealed under the upload's data key)
/// compose without copying, full, ranged (across the part boundary) and partNumber reads decrypt; SSE-C parts
/// need the key; UploadPartCopy from an SSE-C source into the upload.
async fn multipart_modes(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("mpu").send().await.unwrap();
    let p1 = marked("MP-SECRET-ONE", 5 * 1024 * 1024);
    let p2 = marked("MP-SECRET-TWO", 70_000);
    let src = random_bytes(100_000);
    with_mode!(c.put_object().bucket("mpu").key("src"), M::C(9))
        .body(ByteStream::from(src.clone()))
        .send()
        .await
        .unwrap();
    for m in [M::S3, M::Kms, M::C(2)] {
        let key = format!("mp-{m:?}");
        let up = with_mode!(c.create_multipart_upload().bucket("mpu").key(&key), m)
            .send()
            .await
            .unwrap();
        let want_sse = match m {
            M::S3 => Some(ServerSideEncryption::Aes256),
            M::Kms => Some(ServerSideEncryption::AwsKms),
            _ => None,
        };
        assert_eq!(up.server_side_encryption(), want_sse.as_ref());
        let id = up.upload_id().unwrap().to_owned();
        if let M::C(_) = m {
            let e = c
                .upload_part()
                .bucket("mpu")
                .key(&key)
                .upload_id(&id)
                .part_number(1)
                .body(ByteStream::from(p2.clone()))
                .send()
                .await
                .unwrap_err();
            assert_eq!(status(&e), 400, "an SSE-C part needs the key");
            let e = with_key!(
                c.upload_part()
                    .bucket("mpu")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(1),
                M::C(3)
            )
            .body(ByteStream::from(p2.clone()))
            .send()
            .await
            .unwrap_err();
            assert_eq!(status(&e), 403, "an SSE-C part under another key");
        }
        let mut parts = Vec::new();
        for (n, body) in [(1, &p1), (2, &p2)] {
            let r = with_key!(
                c.upload_part()
                    .bucket("mpu")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(n),
                m
            )
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
            assert_eq!(r.server_side_encryption(), want_sse.as_ref());
            if n == 2 {
                // A part sent again with the same bytes keeps its ETag (not the MD5 under SSE-KMS/SSE-C).
                let again = with_key!(
                    c.upload_part()
                        .bucket("mpu")
                        .key(&key)
                        .upload_id(&id)
                        .part_number(n),
                    m
                )
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .unwrap();
                assert_eq!(again.e_tag(), r.e_tag(), "{m:?}");
                assert_eq!(
                    r.e_tag().unwrap().trim_matches('"') == md5_hex(body),
                    m == M::S3,
                    "{m:?}"
                );
            }
            parts.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(r.e_tag().unwrap())
                    .build(),
            );
        }
        // Part 3 copied from the SSE-C source, re-sealed under the upload's key.
        let r = with_src_key!(
            with_key!(
                c.upload_part_copy()
                    .bucket("mpu")
                    .key(&key)
                    .upload_id(&id)
                    .part_number(3)
                    .copy_source("mpu/src")
                    .copy_source_range("bytes=100-50099"),
                m
            ),
            M::C(9)
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("UploadPartCopy {m:?}: {e:?}"));
        parts.push(
            CompletedPart::builder()
                .part_number(3)
                .e_tag(r.copy_part_result().unwrap().e_tag().unwrap())
                .build(),
        );
        // Complete with parts 1 and 3: part 2 (under 5 MiB, so it could not be a middle part) is dropped,
        // and part numbers with a gap still open (each segment keeps the part number it was sealed with).
        let done = c
            .complete_multipart_upload()
            .bucket("mpu")
            .key(&key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(parts[0].clone())
                    .parts(parts[2].clone())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(
            done.e_tag().unwrap().ends_with("-2\""),
            "{:?}",
            done.e_tag()
        );
        assert_eq!(done.server_side_encryption(), want_sse.as_ref());
        let whole = [p1.as_slice(), &src[100..50_100]].concat();
        assert_eq!(get(&c, "mpu", &key, m, None).await, whole, "{key}");
        let edge = p1.len();
        assert_eq!(
            get(
                &c,
                "mpu",
                &key,
                m,
                Some(&format!("bytes={}-{}", edge - 70_000, edge + 30_000))
            )
            .await,
            &whole[edge - 70_000..=edge + 30_000],
            "{key} range across the parts"
        );
        let g = with_key!(c.get_object().bucket("mpu").key(&key).part_number(2), m)
            .send()
            .await
            .unwrap();
        assert_eq!(g.parts_count(), Some(2));
        assert_eq!(
            g.body.collect().await.unwrap().into_bytes().to_vec(),
            &src[100..50_100]
        );
        let h = with_key!(c.head_object().bucket("mpu").key(&key), m)
            .send()
            .await
            .unwrap();
        assert_eq!(h.content_length(), Some(whole.len() as i64));
    }
    if s.db_url.is_none() {
        for marker in ["MP-SECRET-ONE", "MP-SECRET-TWO"] {
            let found = files_containing(&data_dir(s), marker.as_bytes());
            assert!(found.is_empty(), "plaintext parts in {found:?}");
        }
    }
}
sse_matrix!(multipart_modes);

/// CopyObject from every mode to every mode (SSE-C source keys in the copy-source headers).
async fn copy_matrix(s: &Server) {
    create_key(s);
    let c = s.client();
    c.create_bucket().bucket("cpy").send().await.unwrap();
    let modes = [M::Plain, M::S3, M::Kms, M::C(4)];
    let body = random_bytes(150_000);
    for src in modes {
        let sk = format!("src-{src:?}");
        with_mode!(c.put_object().bucket("cpy").key(&sk), src)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        for dst in [M::Plain, M::S3, M::Kms, M::C(5)] {
            let dk = format!("dst-{src:?}-{dst:?}");
            let r = with_src_key!(
                with_mode!(
                    c.copy_object()
                        .bucket("cpy")
                        .key(&dk)
                        .copy_source(format!("cpy/{sk}")),
                    dst
                ),
                src
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {src:?} -> {dst:?}: {e:?}"));
            let want_sse = match dst {
                M::S3 => Some(ServerSideEncryption::Aes256),
                M::Kms => Some(ServerSideEncryption::AwsKms),
                _ => None,
            };
            assert_eq!(r.server_side_encryption(), want_sse.as_ref());
            assert_eq!(get(&c, "cpy", &dk, dst, None).await, body, "{dk}");
        }
    }
    // An SSE-C source without its key, or with another one, cannot be copied.
    let e = c
        .copy_object()
        .bucket("cpy")
        .key("x")
        .copy_source("cpy/src-C(4)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), 400);
    let e = with_src_key!(
        c.copy_object()
            .bucket("cpy")
            .key("x")
            .copy_source("cpy/src-C(4)"),
        M::C(6)
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(status(&e), 403);
    // Copying an object onto itself is allowed when the encryption changes.
    with_src_key!(
        c.copy_object()
            .bucket("cpy")
            .key("src-C(4)")
            .copy_source("cpy/src-C(4)")
            .server_side_encryption(ServerSideEncryption::Aes256),
        M::C(4)
    )
    .send()
    .await
    .unwrap();
    assert_eq!(get(&c, "cpy", "src-C(4)", M::S3, None).await, body);
}
sse_matrix!(copy_matrix);
