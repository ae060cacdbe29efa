//! ListObjects against a reference model: byte order, prefixes with LIKE wildcards, delimiter rollup,
//! markers, max_keys and pagination.

use gatehouse_meta::*;

use crate::both;
use crate::common::*;

const KEYS: &[&str] = &[
    "a",
    "a/",
    "a/1",
    "a/2",
    "a/b/c",
    "a/b/d",
    "a%b",
    "a_b",
    "axb",
    "a%",
    "B",
    "b/x",
    "b/y/z",
    "c//d",
    "c/-/e",
    "é",
    "é/1",
    "z",
    "😀/1",
    "\u{7f}",
    "\u{1}ctl",
    "ab",
    "abc/def",
    "abc/deg",
    "x::y::z",
    "x::w",
    "x:",
    "\u{10FFFF}",
    "\u{10FFFF}/a",
];

/// What S3 returns, computed naively from all keys.
fn model(
    prefix: &str,
    delim: Option<&str>,
    marker: Option<&str>,
    max: usize,
) -> (Vec<String>, Vec<String>, bool) {
    let mut keys: Vec<&str> = KEYS.to_vec();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut entries: Vec<(String, bool)> = Vec::new(); // (name, is_prefix)
    for k in keys {
        if !k.starts_with(prefix) {
            continue;
        }
        let entry = match delim.filter(|d| !d.is_empty()) {
            Some(d) => match k[prefix.len()..].find(d) {
                Some(i) => (k[..prefix.len() + i + d.len()].to_string(), true),
                None => (k.to_string(), false),
            },
            None => (k.to_string(), false),
        };
        if entries.last() != Some(&entry) {
            entries.push(entry);
        }
    }
    let entries: Vec<_> = match marker {
        Some(m) => entries
            .into_iter()
            .filter(|(e, _)| e.as_str() > m)
            .collect(),
        None => entries,
    };
    let truncated = entries.len() > max;
    let page = &entries[..entries.len().min(max)];
    let objs = page.iter().filter(|e| !e.1).map(|e| e.0.clone()).collect();
    let cps = page.iter().filter(|e| e.1).map(|e| e.0.clone()).collect();
    (objs, cps, truncated && max > 0)
}

async fn list_matches_model(m: Meta) {
    bucket(&m, "b").await;
    bucket(&m, "other").await;
    put_keys(&m, "b", KEYS).await;
    put_keys(&m, "other", &["a/zzz", "b"]).await;
    let prefixes = [
        "",
        "a",
        "a/",
        "a%",
        "a_",
        "ab",
        "b",
        "c/",
        "é",
        "x::",
        "\u{10FFFF}",
        "nothing",
    ];
    let delims = [None, Some("/"), Some("::"), Some("b"), Some("")];
    let markers = [
        None,
        Some("a/"),
        Some("a/b/"),
        Some("a/1"),
        Some("a"),
        Some("0"),
        Some("é/0"),
        Some("zz"),
    ];
    for prefix in prefixes {
        for delim in delims {
            for marker in markers {
                for max in [0usize, 1, 2, 3, 1000] {
                    let page = m
                        .list_objects("b", prefix, delim, marker, max)
                        .await
                        .unwrap();
                    let got_objs: Vec<_> = page.objects.iter().map(|o| o.key.clone()).collect();
                    let (objs, cps, truncated) = model(prefix, delim, marker, max);
                    let ctx =
                        format!("prefix {prefix:?} delim {delim:?} marker {marker:?} max {max}");
                    assert_eq!(got_objs, objs, "{ctx}");
                    assert_eq!(page.common_prefixes, cps, "{ctx}");
                    assert_eq!(page.is_truncated, truncated, "{ctx}");
                    assert!(page.objects.iter().all(|o| o.bucket == "b"));
                }
            }
        }
    }
}

/// Following `next_marker` page by page yields exactly the one-shot listing.
async fn pagination_concatenates(m: Meta) {
    bucket(&m, "b").await;
    put_keys(&m, "b", KEYS).await;
    for prefix in ["", "a", "a/"] {
        for delim in [None, Some("/")] {
            let full = m
                .list_objects("b", prefix, delim, None, 1000)
                .await
                .unwrap();
            assert!(!full.is_truncated);
            for max in 1..=4 {
                let (mut objs, mut cps, mut marker) = (Vec::new(), Vec::new(), None::<String>);
                let mut pages = 0;
                loop {
                    let page = m
                        .list_objects("b", prefix, delim, marker.as_deref(), max)
                        .await
                        .unwrap();
                    assert!(page.objects.len() + page.common_prefixes.len() <= max);
                    objs.extend(page.objects.iter().map(|o| o.key.clone()));
                    cps.extend(page.common_prefixes.iter().cloned());
                    pages += 1;
                    assert!(pages < 100);
                    if !page.is_truncated {
                        break;
                    }
                    marker = page.next_marker.clone();
                    assert!(marker.is_some());
                }
                let full_objs: Vec<_> = full.objects.iter().map(|o| o.key.clone()).collect();
                assert_eq!(
                    objs, full_objs,
                    "prefix {prefix:?} delim {delim:?} max {max}"
                );
                assert_eq!(
                    cps, full.common_prefixes,
                    "prefix {prefix:?} delim {delim:?} max {max}"
                );
            }
        }
    }
}

async fn truncation_edges(m: Meta) {
    bucket(&m, "b").await;
    put_keys(&m, "b", &["k1", "k2", "k3"]).await;
    let p = m.list_objects("b", "", None, None, 3).await.unwrap();
    assert_eq!(
        (p.objects.len(), p.is_truncated, p.next_marker.as_deref()),
        (3, false, Some("k3"))
    );
    let p = m.list_objects("b", "", None, None, 2).await.unwrap();
    assert_eq!(
        (p.objects.len(), p.is_truncated, p.next_marker.as_deref()),
        (2, true, Some("k2"))
    );
    let p = m.list_objects("b", "", None, None, 0).await.unwrap();
    assert_eq!(p, ListPage::default());
    let p = m
        .list_objects("empty-or-missing", "", None, None, 10)
        .await
        .unwrap();
    assert_eq!(p, ListPage::default());
    // Common prefix as the last entry of a page, then continue from it.
    put_keys(&m, "b", &["d/1", "d/2", "e"]).await;
    let p = m
        .list_objects("b", "", Some("/"), Some("k0"), 10)
        .await
        .unwrap();
    assert_eq!(p.objects.len(), 3);
    let p = m
        .list_objects("b", "", Some("/"), Some("c"), 1)
        .await
        .unwrap();
    assert_eq!(
        (p.common_prefixes.clone(), p.is_truncated),
        (vec!["d/".to_string()], true)
    );
    assert_eq!(p.next_marker.as_deref(), Some("d/"));
    let p = m
        .list_objects("b", "", Some("/"), Some("d/"), 1)
        .await
        .unwrap();
    assert_eq!(p.objects[0].key, "e");
}

/// More rows than one query batch, and many keys under a rolled-up prefix.
async fn big_listing(m: Meta) {
    bucket(&m, "b").await;
    let keys: Vec<String> = (0..1100)
        .map(|i| format!("deep/{i:05}"))
        .chain(["top".to_string()])
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    put_keys(&m, "b", &refs).await;
    let p = m.list_objects("b", "", None, None, 1050).await.unwrap();
    assert_eq!((p.objects.len(), p.is_truncated), (1050, true));
    let p = m
        .list_objects("b", "", None, Some("deep/00500"), 5000)
        .await
        .unwrap();
    assert_eq!((p.objects.len(), p.is_truncated), (600, false));
    let p = m
        .list_objects("b", "", Some("/"), None, 1000)
        .await
        .unwrap();
    assert_eq!(p.common_prefixes, ["deep/"]);
    assert_eq!(p.objects.len(), 1);
    assert!(!p.is_truncated);
}

both!(
    list_matches_model,
    pagination_concatenates,
    truncation_edges,
    big_listing
);
