//! Request bodies: random, unique per object, sliced from one shared random buffer (no per-request big allocation).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// Bytes at the start of every body that make it unique: an 8-byte run nonce and an 8-byte counter.
const PREFIX: usize = 16;
/// Bodies up to this size are copied into one contiguous buffer (one frame, one write with the headers).
const COPY_LIMIT: usize = 256 << 10;

/// Generator of object bodies of one size.
#[derive(Debug)]
pub struct Payloads {
    buf: Bytes,
    size: usize,
    nonce: u64,
    counter: AtomicU64,
}

impl Payloads {
    /// Fills a random buffer (about twice `size`, at least 1 MiB larger) once for bodies of `size` bytes.
    pub fn new(size: u64) -> Result<Self, String> {
        let size = usize::try_from(size)
            .map_err(|_| "object size too large for this platform".to_string())?;
        let len = size.saturating_mul(2).max(size.saturating_add(1 << 20));
        let mut buf = vec![0u8; len];
        let mut rng = rand::thread_rng();
        rng.fill_bytes(&mut buf);
        Ok(Self {
            buf: Bytes::from(buf),
            size,
            nonce: rng.r#gen(),
            counter: AtomicU64::new(0),
        })
    }

    /// Body size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A fresh body: a unique 16-byte prefix followed by a slice of the random buffer at a random offset.
    pub fn next_body(&self, rng: &mut impl Rng) -> ObjectBody {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut prefix = [0u8; PREFIX];
        prefix[..8].copy_from_slice(&self.nonce.to_le_bytes());
        prefix[8..].copy_from_slice(&n.to_le_bytes());
        let head_len = self.size.min(PREFIX);
        let tail_len = self.size - head_len;
        let off = rng.gen_range(0..=self.buf.len() - tail_len);
        let tail = self.buf.slice(off..off + tail_len);
        let mut chunks = VecDeque::with_capacity(2);
        if self.size <= COPY_LIMIT {
            let mut b = BytesMut::with_capacity(self.size);
            b.extend_from_slice(&prefix[..head_len]);
            b.extend_from_slice(&tail);
            chunks.push_back(b.freeze());
        } else {
            chunks.push_back(Bytes::copy_from_slice(&prefix[..head_len]));
            chunks.push_back(tail);
        }
        ObjectBody::new(chunks)
    }
}

/// A request body made of shared `Bytes` chunks with an exact length (so hyper sends `Content-Length`).
#[derive(Debug, Default)]
pub struct ObjectBody {
    chunks: VecDeque<Bytes>,
    remaining: u64,
}

impl ObjectBody {
    /// A body of these chunks, in order.
    pub fn new(chunks: VecDeque<Bytes>) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self { chunks, remaining }
    }

    /// An empty body (GET, bucket creation).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// Lowercase-hex SHA-256 of the whole body (for `--sign-payload`).
    pub fn sha256_hex(&self) -> String {
        let mut h = Sha256::new();
        for c in &self.chunks {
            h.update(c);
        }
        hex::encode(h.finalize())
    }

    /// The body's bytes, concatenated (tests only need this).
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }
}

impl http_body::Body for ObjectBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.chunks.pop_front() {
            Some(c) => {
                self.remaining -= c.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(c))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_unique_and_sized() {
        let mut rng = rand::thread_rng();
        for size in [0u64, 5, 16, 17, 4096, 1 << 20] {
            let p = Payloads::new(size).expect("payloads");
            let a = p.next_body(&mut rng);
            let b = p.next_body(&mut rng);
            assert_eq!(a.len(), size);
            assert_eq!(a.to_vec().len() as u64, size);
            if size >= 16 {
                assert_ne!(a.to_vec(), b.to_vec(), "size {size}");
            }
        }
    }

    #[test]
    fn large_bodies_share_the_buffer() {
        let p = Payloads::new(4 << 20).expect("payloads");
        let body = p.next_body(&mut rand::thread_rng());
        assert_eq!(body.chunks.len(), 2);
        assert_eq!(body.chunks[0].len(), PREFIX);
        let base = p.buf.as_ptr() as usize;
        let tail = body.chunks[1].as_ptr() as usize;
        assert!(tail >= base && tail < base + p.buf.len());
    }
}
