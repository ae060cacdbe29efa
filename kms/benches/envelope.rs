//! Seal/open throughput of the SSE object format: 64 MiB (streamed through `Sealer`/`Opener` in 1 MiB
//! writes, as a PUT body arrives) and 4 KiB (one small object), plus a 1 MiB range read of the 64 MiB object.
//!
//! `cargo bench -p gatehouse-kms --bench envelope`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_kms::envelope::*;
use rand::RngCore;

const KEY: [u8; 32] = [0x5a; 32];

fn body(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

fn seal_streamed(plain: &[u8], write: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut s = Sealer::new(&KEY).expect("sealer");
    for piece in plain.chunks(write) {
        s.update(piece, out).expect("update");
    }
    s.finish(out).expect("finish");
}

fn open_streamed(sealed: &[u8], write: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut o = Opener::new(&KEY).expect("opener");
    for piece in sealed.chunks(write) {
        o.update(piece, out).expect("update");
    }
    o.finish(out).expect("finish");
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope");
    for (name, len, write) in [("64MiB", 64 << 20, 1 << 20), ("4KiB", 4 << 10, 4 << 10)] {
        let plain = body(len);
        let mut sealed = Vec::with_capacity(sealed_len(len as u64, DEFAULT_CHUNK_SIZE) as usize);
        seal_streamed(&plain, write, &mut sealed);
        let mut out = Vec::with_capacity(len + 4096);
        g.throughput(Throughput::Bytes(len as u64));
        if len > 1 << 20 {
            g.sample_size(20);
        } else {
            g.sample_size(100);
        }
        g.bench_function(BenchmarkId::new("seal", name), |b| {
            b.iter(|| seal_streamed(&plain, write, &mut out))
        });
        g.bench_function(BenchmarkId::new("open", name), |b| {
            b.iter(|| open_streamed(&sealed, write, &mut out))
        });
        if len > 1 << 20 {
            let plan =
                plan_range(10_000_000..11_048_576, len as u64, DEFAULT_CHUNK_SIZE).expect("plan");
            let part = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
            g.throughput(Throughput::Bytes(plan.len));
            g.bench_function(BenchmarkId::new("open_range", "1MiB_of_64MiB"), |b| {
                b.iter(|| open_range(&KEY, 0, &sealed[..HEADER_LEN], &plan, part).expect("range"))
            });
        }
    }
    // AES-256-GCM itself over one chunk held in cache, for comparison with the streamed figures above.
    {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).expect("key"));
        let mut chunk = body(DEFAULT_CHUNK_SIZE as usize);
        g.throughput(Throughput::Bytes(chunk.len() as u64));
        g.sample_size(100);
        g.bench_function(BenchmarkId::new("aes_gcm_hot", "64KiB"), |b| {
            b.iter(|| {
                key.seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([7; 12]),
                    Aad::empty(),
                    &mut chunk,
                )
                .expect("seal")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
