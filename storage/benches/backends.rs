//! std vs io_uring local backends, each with and without `O_DIRECT` for large blobs: concurrent put + get of
//! 4 KiB blobs (c=32) and 64 MiB blobs (c=8), and puts alone of 64 MiB blobs (c=8).
//!
//! `CARGO_TARGET_DIR=/work/target-storage cargo bench -p gatehouse-storage --bench backends`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt as _;
use gatehouse_storage::{Backend, ByteStream, StdBackend, UringBackend};

/// Pseudo-random bytes (blobs must not be trivially compressible).
fn random(len: usize) -> Bytes {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

/// The body as a network would deliver it: 64 KiB pieces (zero-copy slices).
fn body(data: &Bytes) -> ByteStream {
    const PIECE: usize = 64 * 1024;
    let pieces: Vec<std::io::Result<Bytes>> = (0..data.len())
        .step_by(PIECE)
        .map(|s| Ok(data.slice(s..data.len().min(s + PIECE))))
        .collect();
    Box::pin(futures::stream::iter(pieces))
}

/// `conc` tasks each put then (if `get`) fully read back one blob; returns the time of the puts and gets only.
async fn round(b: &Arc<dyn Backend>, data: &Bytes, conc: usize, get: bool) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let (b, data) = (b.clone(), data.clone());
            tokio::spawn(async move {
                let info = b.put(body(&data)).await.unwrap();
                if !get {
                    return info.locator;
                }
                let mut s = b.get(&info.locator, None).await.unwrap();
                let mut n = 0;
                while let Some(c) = s.next().await {
                    n += c.unwrap().len();
                }
                assert_eq!(n, data.len());
                info.locator
            })
        })
        .collect();
    let mut locs = Vec::with_capacity(conc);
    for t in tasks {
        locs.push(t.await.unwrap());
    }
    let took = start.elapsed();
    for l in locs {
        b.delete(&l).await.unwrap();
    }
    took
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backends: Vec<(&str, Arc<dyn Backend>)> = rt.block_on(async {
        let p = |name: &str| dir.path().join(name);
        let mut v: Vec<(&str, Arc<dyn Backend>)> = vec![
            ("std", Arc::new(StdBackend::open(&p("std")).await.unwrap())),
            (
                "std_buffered",
                Arc::new(StdBackend::open_with(&p("std-b"), false).await.unwrap()),
            ),
        ];
        match UringBackend::open(&p("uring")).await {
            Ok(u) => {
                v.push(("io_uring", Arc::new(u)));
                let buffered = UringBackend::open_with(&p("uring-b"), false).await.unwrap();
                v.push(("io_uring_buffered", Arc::new(buffered)));
            }
            Err(e) => eprintln!("io_uring unavailable, benchmarking std only: {e}"),
        }
        for (name, b) in &v {
            eprintln!("{name}: direct_io {}", b.direct_io());
        }
        v
    });

    for (label, size, conc, samples, get) in [
        ("put_get_4KiB_c32", 4096usize, 32usize, 30usize, true),
        ("put_get_64MiB_c8", 64 << 20, 8, 10, true),
        ("put_64MiB_c8", 64 << 20, 8, 10, false),
    ] {
        let data = random(size);
        let mut g = c.benchmark_group(label);
        g.sample_size(samples)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8));
        let ops = if get { 2 } else { 1 };
        g.throughput(Throughput::Bytes((size * conc * ops) as u64));
        for (name, b) in &backends {
            g.bench_with_input(BenchmarkId::from_parameter(name), b, |bn, b| {
                bn.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += round(b, &data, conc, get).await;
                        }
                        total
                    })
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
