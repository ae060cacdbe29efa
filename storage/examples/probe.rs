//! A/B probe: alternates rounds of `conc` concurrent put+get of `size`-byte blobs between the std and io_uring
//! backends and prints medians (drift on a noisy machine hits both alike).
//! `cargo run --release -p gatehouse-storage --example probe -- SIZE CONC ROUNDS`
#![allow(clippy::unwrap_used, clippy::print_stdout)]
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt as _;
use gatehouse_storage::{Backend, StdBackend, UringBackend};

async fn get_all(b: &Arc<dyn Backend>, l: &str) -> usize {
    let mut s = b.get(l, None).await.unwrap();
    let mut n = 0;
    while let Some(c) = s.next().await {
        n += c.unwrap().len();
    }
    n
}

async fn round(b: &Arc<dyn Backend>, data: &Bytes, conc: usize) -> std::time::Duration {
    let t = Instant::now();
    let hs: Vec<_> = (0..conc)
        .map(|_| {
            let (b, d) = (b.clone(), data.clone());
            tokio::spawn(async move {
                let pieces: Vec<std::io::Result<Bytes>> = (0..d.len())
                    .step_by(65536)
                    .map(|s| Ok(d.slice(s..d.len().min(s + 65536))))
                    .collect();
                let l = b
                    .put(Box::pin(futures::stream::iter(pieces)))
                    .await
                    .unwrap()
                    .locator;
                assert_eq!(get_all(&b, &l).await, d.len());
                l
            })
        })
        .collect();
    let mut ls = vec![];
    for h in hs {
        ls.push(h.await.unwrap());
    }
    let took = t.elapsed();
    for l in &ls {
        b.delete(l).await.unwrap();
    }
    took
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (size, conc, reps): (usize, usize, usize) = (
        args[1].parse().unwrap(),
        args[2].parse().unwrap(),
        args[3].parse().unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir_in("/work/target-storage/tmp").unwrap();
    rt.block_on(async {
        let bs: Vec<(&str, Arc<dyn Backend>)> = vec![
            (
                "std",
                Arc::new(StdBackend::open(&dir.path().join("s")).await.unwrap()),
            ),
            (
                "uring",
                Arc::new(UringBackend::open(&dir.path().join("u")).await.unwrap()),
            ),
        ];
        let data = Bytes::from(
            (0..size)
                .map(|i| (i * 7 + i / 4096) as u8)
                .collect::<Vec<u8>>(),
        );
        let mut times = vec![vec![]; bs.len()];
        for _ in 0..reps {
            for (i, (_, b)) in bs.iter().enumerate() {
                times[i].push(round(b, &data, conc).await);
            }
        }
        for (i, (name, _)) in bs.iter().enumerate() {
            let t = &mut times[i];
            t.sort();
            println!(
                "{name:6} size {size} c{conc}: median {:?} p25 {:?} p75 {:?}",
                t[t.len() / 2],
                t[t.len() / 4],
                t[t.len() * 3 / 4]
            );
        }
    });
}
