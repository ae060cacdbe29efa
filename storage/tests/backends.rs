//! One test suite, run against every local backend (and the memory backend where it makes sense).
#![allow(clippy::unwrap_used)]

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use gatehouse_storage::{
    Backend, ByteStream, MemoryBackend, StdBackend, UringBackend, sweep_orphans,
};

const MIB: usize = 1 << 20;

/// Deterministic, non-repeating-ish test data.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A body delivered in pieces of `piece` bytes (odd sizes exercise buffer boundaries).
fn body(bytes: &[u8], piece: usize) -> ByteStream {
    let chunks: Vec<io::Result<Bytes>> = bytes
        .chunks(piece.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

/// `good` bytes, then an error.
fn failing_body(good: usize) -> ByteStream {
    let d = data(good, 9);
    let mut items: Vec<io::Result<Bytes>> = d
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    items.push(Err(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "client went away",
    )));
    Box::pin(futures::stream::iter(items))
}

async fn read_all(b: &dyn Backend, loc: &str, range: Option<(u64, u64)>) -> io::Result<Vec<u8>> {
    let mut s = b.get(loc, range).await?;
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        assert!(chunk.len() <= MIB, "chunk of {} bytes", chunk.len());
        assert!(!chunk.is_empty(), "empty chunk");
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Every regular file under `root`.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

async fn roundtrip(b: &dyn Backend, len: usize, piece: usize) {
    let d = data(len, len as u64);
    let info = b.put(body(&d, piece)).await.unwrap();
    assert_eq!(info.size, len as u64);
    assert!(
        read_all(b, &info.locator, None).await.unwrap() == d,
        "roundtrip of {len} bytes differs"
    );
}

async fn t_roundtrips(b: Arc<dyn Backend>) {
    roundtrip(&*b, 0, 1).await;
    roundtrip(&*b, 1, 1).await;
    roundtrip(&*b, 4096, 4096).await;
    roundtrip(&*b, 10_000, 333).await;
    roundtrip(&*b, MIB, 64 * 1024).await; // exactly one buffer: the small path
    roundtrip(&*b, MIB + 1, 64 * 1024).await;
    roundtrip(&*b, 4 * MIB, MIB).await; // aligned large
    roundtrip(&*b, 5 * MIB + 123, 7919).await; // unaligned tail
    // A body that arrives as one huge chunk must still be written through bounded buffers.
    roundtrip(&*b, 9 * MIB + 5, 9 * MIB + 5).await;
}

/// Sizes around the `O_DIRECT` alignment (4096) and the write-buffer size (1 MiB), delivered in several piece
/// sizes: byte-exact read back, and the file on disk has exactly the blob's size (no padding left).
async fn t_alignment_sizes(b: Arc<dyn Backend>, root: Option<PathBuf>) {
    const K4: usize = 4096;
    let sizes = [
        0,
        1,
        K4 - 1,
        K4,
        K4 + 1,
        MIB - 1,
        MIB,
        MIB + 1,
        MIB + K4 - 1,
        MIB + K4,
        MIB + K4 + 1,
        2 * MIB - 1,
        2 * MIB,
        3 * MIB + 512,
        5 * MIB + 1,
        8 * MIB + K4 - 1,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let d = data(len, 100 + i as u64);
        for piece in [K4, 7919, MIB + 3, len.max(1)] {
            let info = b.put(body(&d, piece)).await.unwrap();
            assert_eq!(
                info.size, len as u64,
                "size of {len} in {piece}-byte pieces"
            );
            assert!(
                read_all(&*b, &info.locator, None).await.unwrap() == d,
                "{len} bytes in {piece}-byte pieces read back differently"
            );
            if let Some(root) = &root {
                let on_disk = std::fs::metadata(root.join(&info.locator)).unwrap().len();
                assert_eq!(on_disk, len as u64, "file size of a {len}-byte blob");
            }
            // The tail, across the last alignment boundary.
            if len > K4 + 10 {
                let (s, e) = ((len - K4 - 10) as u64, len as u64);
                let got = read_all(&*b, &info.locator, Some((s, e))).await.unwrap();
                assert!(got == d[s as usize..], "tail of {len}");
            }
            b.delete(&info.locator).await.unwrap();
        }
    }
}

async fn t_ranges(b: Arc<dyn Backend>) {
    let len = 3 * MIB + 777;
    let d = data(len, 3);
    let loc = b.put(body(&d, 100_000)).await.unwrap().locator;
    let l = len as u64;
    for (s, e) in [
        (0, 1),
        (l - 1, l),
        (0, l),
        (0, 0),
        (l, l),
        (5, 5),
        (1000, MIB as u64 + 1000),
        (MIB as u64 - 1, l - 2),
    ] {
        let got = read_all(&*b, &loc, Some((s, e))).await.unwrap();
        assert!(got == d[s as usize..e as usize], "range {s}..{e}");
    }
    for (s, e) in [(0, l + 1), (10, 5), (l + 1, l + 1)] {
        let err = b.get(&loc, Some((s, e))).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "range {s}..{e}");
    }
    let small = b.put(body(b"hello", 5)).await.unwrap().locator;
    assert_eq!(read_all(&*b, &small, Some((1, 4))).await.unwrap(), b"ell");
    assert_eq!(read_all(&*b, &small, Some((0, 0))).await.unwrap(), b"");
}

async fn t_missing_and_delete(b: Arc<dyn Backend>) {
    let missing = "ab/cd/abcd0123456789abcdef0123456789ab";
    assert_eq!(
        b.get(missing, None).await.err().unwrap().kind(),
        io::ErrorKind::NotFound
    );
    b.delete(missing).await.unwrap();
    let loc = b.put(body(b"x", 1)).await.unwrap().locator;
    b.delete(&loc).await.unwrap();
    assert_eq!(
        b.get(&loc, None).await.err().unwrap().kind(),
        io::ErrorKind::NotFound
    );
    b.delete(&loc).await.unwrap();
}

async fn t_hostile(b: Arc<dyn Backend>) {
    for loc in [
        "",
        "..",
        "../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../etc/passwd",
        "ab/cd/abcd0123456789abcdef012345678/",
        "AB/CD/ABCD0123456789ABCDEF0123456789",
        "ab/cd/ffff0123456789abcdef0123456789",
        "ab/cd/abcd0123456789abcdef012345678\0",
        "ab//cd/abcd0123456789abcdef012345678",
    ] {
        let e = b.get(loc, None).await.err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "get {loc:?}");
        let e = b.delete(loc).await.err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "delete {loc:?}");
    }
}

async fn t_stream_error(b: Arc<dyn Backend>, root: Option<PathBuf>) {
    for good in [
        0,
        10,
        MIB - 1,
        MIB + 1,
        2 * MIB + 4097,
        3 * MIB + 5,
        6 * MIB,
    ] {
        let e = b.put(failing_body(good)).await.err().unwrap();
        assert_eq!(
            e.kind(),
            io::ErrorKind::ConnectionReset,
            "after {good} bytes"
        );
        if let Some(root) = &root {
            assert!(
                files(root).is_empty(),
                "left behind after {good} bytes: {:?}",
                files(root)
            );
        }
    }
    assert!(b.list().await.unwrap().is_empty());
}

async fn t_cancelled_put(b: Arc<dyn Backend>, root: Option<PathBuf>) {
    // 3 MiB, then a body that never ends: the put is dropped mid-stream.
    let d = data(3 * MIB, 4);
    let head = futures::stream::iter(
        d.chunks(MIB)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let s: ByteStream = Box::pin(head.chain(futures::stream::pending()));
    let r = tokio::time::timeout(Duration::from_millis(300), b.put(s)).await;
    assert!(r.is_err(), "put of a never-ending body finished");
    if let Some(root) = root {
        for _ in 0..200 {
            if files(&root).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("cancelled put left {:?}", files(&root));
    }
}

async fn t_concurrent(b: Arc<dyn Backend>) {
    let mut tasks = Vec::new();
    for i in 0..64usize {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let len = [0, 17, 4096, 100_000, MIB + 3][i % 5];
            let d = data(len, i as u64);
            let info = b.put(body(&d, 8192)).await.unwrap();
            for _ in 0..3 {
                assert!(read_all(&*b, &info.locator, None).await.unwrap() == d);
            }
            info.locator
        }));
    }
    let mut locs = Vec::new();
    for t in tasks {
        locs.push(t.await.unwrap());
    }
    locs.sort();
    locs.dedup();
    assert_eq!(locs.len(), 64);
    let mut listed: Vec<String> = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.locator)
        .collect();
    listed.sort();
    assert_eq!(listed, locs);
}

async fn t_list_sweep(b: Arc<dyn Backend>) {
    let keep = b.put(body(b"keep", 4)).await.unwrap().locator;
    let orphan1 = b.put(body(b"orphan1", 7)).await.unwrap().locator;
    let orphan2 = b.put(body(&data(2 * MIB, 1), MIB)).await.unwrap().locator;
    let mut listed: Vec<String> = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.locator)
        .collect();
    listed.sort();
    let mut want = vec![keep.clone(), orphan1.clone(), orphan2.clone()];
    want.sort();
    assert_eq!(listed, want);
    // Everything is young: nothing is even considered.
    let k = keep.clone();
    let n = sweep_orphans(&*b, Duration::from_secs(3600), |l| {
        let k = k.clone();
        async move { Ok(l == k) }
    })
    .await
    .unwrap();
    assert_eq!(n, 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let k = keep.clone();
    let n = sweep_orphans(&*b, Duration::from_millis(5), |l| {
        let k = k.clone();
        async move { Ok(l == k) }
    })
    .await
    .unwrap();
    assert_eq!(n, 2);
    let listed: Vec<String> = b
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.locator)
        .collect();
    assert_eq!(listed, vec![keep.clone()]);
    // An index error stops the sweep and deletes nothing.
    let e = sweep_orphans(&*b, Duration::ZERO, |_| async {
        Err(io::Error::other("db down"))
    })
    .await;
    assert!(e.is_err());
    assert_eq!(read_all(&*b, &keep, None).await.unwrap(), b"keep");
}

macro_rules! suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            async fn make() -> Option<(Arc<dyn Backend>, Option<PathBuf>, tempfile::TempDir)> {
                let dir = tempfile::tempdir().unwrap();
                let root = dir.path().join("blobs");
                let mk: fn(
                    PathBuf,
                ) -> futures::future::BoxFuture<
                    'static,
                    io::Result<Option<Arc<dyn Backend>>>,
                > = $make;
                let b = mk(root.clone()).await.unwrap()?;
                let root = if b.name() == "memory" {
                    None
                } else {
                    Some(root)
                };
                Some((b, root, dir))
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn roundtrips() {
                let Some((b, _, _d)) = make().await else {
                    return;
                };
                t_roundtrips(b).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn alignment_sizes() {
                let Some((b, root, _d)) = make().await else {
                    return;
                };
                t_alignment_sizes(b, root).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ranges() {
                let Some((b, _, _d)) = make().await else {
                    return;
                };
                t_ranges(b).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn missing_and_delete() {
                let Some((b, _, _d)) = make().await else {
                    return;
                };
                t_missing_and_delete(b).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hostile_locators() {
                let Some((b, _, _d)) = make().await else {
                    return;
                };
                t_hostile(b).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stream_error_leaves_nothing() {
                let Some((b, root, _d)) = make().await else {
                    return;
                };
                t_stream_error(b, root).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cancelled_put_leaves_nothing() {
                let Some((b, root, _d)) = make().await else {
                    return;
                };
                t_cancelled_put(b, root).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_64() {
                let Some((b, _, _d)) = make().await else {
                    return;
                };
                t_concurrent(b).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn list_and_sweep() {
                let Some((b, _, _d)) = make().await else {
                    return;
                };
                t_list_sweep(b).await;
            }
        }
    };
}

suite!(std_backend, |root| Box::pin(async move {
    Ok(Some(
        Arc::new(StdBackend::open(&root).await?) as Arc<dyn Backend>
    ))
}));

/// Whether io_uring tests run here: skips (loudly) where the kernel refuses io_uring, unless
/// GATEHOUSE_REQUIRE_IO_URING=1.
fn uring_ok() -> io::Result<bool> {
    if let Err(e) = gatehouse_storage::io_uring_available() {
        if std::env::var_os("GATEHOUSE_REQUIRE_IO_URING").is_some() {
            return Err(e);
        }
        eprintln!("SKIPPED: io_uring unavailable on this machine: {e}");
        return Ok(false);
    }
    Ok(true)
}

suite!(std_buffered, |root| Box::pin(async move {
    Ok(Some(
        Arc::new(StdBackend::open_with(&root, false).await?) as Arc<dyn Backend>
    ))
}));

suite!(uring_backend, |root| Box::pin(async move {
    if !uring_ok()? {
        return Ok(None);
    }
    Ok(Some(
        Arc::new(UringBackend::open(&root).await?) as Arc<dyn Backend>
    ))
}));

suite!(uring_buffered, |root| Box::pin(async move {
    if !uring_ok()? {
        return Ok(None);
    }
    Ok(Some(
        Arc::new(UringBackend::open_with(&root, false).await?) as Arc<dyn Backend>
    ))
}));

suite!(memory_backend, |_root| Box::pin(async move {
    Ok(Some(Arc::new(MemoryBackend::new()) as Arc<dyn Backend>))
}));

#[tokio::test]
async fn open_local_kinds() {
    use gatehouse_storage::{LocalKind, open_local};
    let dir = tempfile::tempdir().unwrap();
    let s = open_local(&dir.path().join("s"), LocalKind::Std, true)
        .await
        .unwrap();
    assert_eq!(s.name(), "std");
    assert!(s.direct_io());
    let s0 = open_local(&dir.path().join("s0"), LocalKind::Std, false)
        .await
        .unwrap();
    assert!(!s0.direct_io());
    let a = open_local(&dir.path().join("a"), LocalKind::Auto, true)
        .await
        .unwrap();
    assert!(a.direct_io());
    let u = open_local(&dir.path().join("u"), LocalKind::IoUring, false).await;
    match gatehouse_storage::io_uring_available() {
        Ok(()) => {
            assert_eq!(a.name(), "io_uring");
            let u = u.unwrap();
            assert_eq!(u.name(), "io_uring");
            assert!(!u.direct_io());
        }
        Err(_) => {
            assert_eq!(a.name(), "std");
            assert!(u.is_err());
        }
    }
}

/// Blobs written by one backend are readable by the other (same on-disk layout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_share_layout() {
    if gatehouse_storage::io_uring_available().is_err() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = StdBackend::open(dir.path()).await.unwrap();
    let u = UringBackend::open(dir.path()).await.unwrap();
    let d = data(2 * MIB + 9, 5);
    let a = s.put(body(&d, 5000)).await.unwrap().locator;
    let b = u.put(body(&d, 5000)).await.unwrap().locator;
    assert!(read_all(&u, &a, None).await.unwrap() == d);
    assert!(read_all(&s, &b, None).await.unwrap() == d);
}

/// Whether the filesystem of `dir` takes `O_DIRECT` (ext4, xfs, btrfs, tmpfs since Linux 6.6 do).
fn fs_takes_o_direct(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt as _;
    let p = dir.join("probe");
    std::fs::write(&p, b"").unwrap();
    let ok = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(&p)
        .is_ok();
    std::fs::remove_file(&p).unwrap();
    ok
}

/// By default both backends write large blobs with `O_DIRECT` where the filesystem takes it, and keep doing
/// so after puts of every alignment; `open_with(.., false)` never does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_io_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let takes = fs_takes_o_direct(dir.path());
    let s = StdBackend::open(&dir.path().join("s")).await.unwrap();
    let s_off = StdBackend::open_with(&dir.path().join("s0"), false)
        .await
        .unwrap();
    let mut all: Vec<(Arc<dyn Backend>, bool, bool)> = vec![
        (Arc::new(s.clone()), true, s.direct_io()),
        (Arc::new(s_off.clone()), false, s_off.direct_io()),
    ];
    let uring = if uring_ok().unwrap() {
        let u = UringBackend::open(&dir.path().join("u")).await.unwrap();
        let u_off = UringBackend::open_with(&dir.path().join("u0"), false)
            .await
            .unwrap();
        all.push((Arc::new(u.clone()), true, u.direct_io()));
        all.push((Arc::new(u_off.clone()), false, u_off.direct_io()));
        Some((u, u_off))
    } else {
        None
    };
    for (b, asked, before) in &all {
        assert_eq!(*before, *asked, "{} before any put", b.name());
        for len in [MIB + 1, 3 * MIB, 4 * MIB + 4095] {
            roundtrip(&**b, len, 65_536).await;
        }
    }
    assert_eq!(s.direct_io(), takes, "std after large puts");
    assert!(!s_off.direct_io());
    if let Some((u, u_off)) = uring {
        assert_eq!(u.direct_io(), takes, "io_uring after large puts");
        assert!(!u_off.direct_io());
    }
}

/// On a filesystem without direct I/O both backends fall back to the page cache (and say so), store every
/// size intact, and leave nothing behind on failure. Needs such a directory, e.g. a ramfs
/// (`mount -t ramfs ramfs /mnt/ramfs`): set GATEHOUSE_TEST_NO_ODIRECT_DIR to it; skipped otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_io_falls_back_where_refused() {
    let Some(base) = std::env::var_os("GATEHOUSE_TEST_NO_ODIRECT_DIR") else {
        eprintln!(
            "SKIPPED: set GATEHOUSE_TEST_NO_ODIRECT_DIR to a directory on a filesystem without O_DIRECT"
        );
        return;
    };
    let dir = tempfile::tempdir_in(base).unwrap();
    assert!(
        !fs_takes_o_direct(dir.path()),
        "GATEHOUSE_TEST_NO_ODIRECT_DIR takes O_DIRECT"
    );
    let s = StdBackend::open(&dir.path().join("s")).await.unwrap();
    let mut all: Vec<(Arc<dyn Backend>, PathBuf)> =
        vec![(Arc::new(s.clone()), dir.path().join("s"))];
    let u = if uring_ok().unwrap() {
        let u = UringBackend::open(&dir.path().join("u")).await.unwrap();
        all.push((Arc::new(u.clone()), dir.path().join("u")));
        Some(u)
    } else {
        None
    };
    for (b, root) in all {
        t_alignment_sizes(b.clone(), Some(root.clone())).await;
        t_stream_error(b, Some(root)).await;
    }
    assert!(!s.direct_io());
    if let Some(u) = u {
        assert!(!u.direct_io());
    }
}
