//! The SSE object format: a plaintext sealed in fixed-size chunks with AES-256-GCM under a per-object data key.
//!
//! Layout of one sealed stream (a single-PUT object, or one part of a multipart upload):
//!
//! ```text
//! header (24 bytes): "GHSE" | version u8 (1) | 3 zero bytes | chunk size u32 BE | nonce base (12 random bytes)
//! chunk 0 .. chunk n-1: ciphertext (chunk size bytes, the last one 0..=chunk size) || GCM tag (16 bytes)
//! ```
//!
//! There is always at least one chunk (an empty plaintext is one empty final chunk), so a stream cut to its
//! header does not pass as an empty object. Chunk `i` of part `p` (0 for a single PUT) uses the nonce
//! `base XOR (0u32 | p u32 | i u32)` and the AAD `"GHSE" | version | chunk size | p | i | final flag`, so:
//! reordering (index in nonce and AAD), truncation at a chunk boundary (the new last chunk lacks the final
//! flag), extension (a chunk after the final one, or a final chunk not at the end), swapping the parts of a
//! multipart upload (part number), and changing the chunk size in the header (AAD) all fail authentication.
//! Each stream has its own random nonce base, so a part uploaded twice under the upload's data key never reuses
//! a nonce.
//!
//! A multipart object is the concatenation of its parts' streams, each with its own header; reading it needs
//! the parts' plaintext sizes (kept in the index), see [`MultipartLayout`].
//!
//! How the S3 paths use it:
//! - PUT: `Sealer::new(data_key)`, `update` per body frame, `finish`; the blob is `sealed_len(size)` bytes.
//! - UploadPart: `Sealer::for_part(upload_data_key, part_number)`; each part is one segment of the object.
//! - GET (whole): `Opener::for_part(key, 0, Some(size))` over the blob (per segment with its part number and
//!   plaintext size for multipart objects); any error, `finish` included, aborts the response.
//! - GET (range): `plan_range(range, size, DEFAULT_CHUNK_SIZE)` (or `MultipartLayout::plan_range`, one plan per
//!   touched part/segment); read `plan.header` and `plan.sealed` of the blob (one read of
//!   `0..plan.sealed.end` when `plan.first_chunk` is 0), feed `plan.sealed` to a `RangeOpener`.

use std::ops::Range;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rand::RngCore;

mod range;
pub use range::{RangeOpener, RangePlan, open_range, plan_range};

/// Errors of the object format. Every one of them means "these bytes are not what was sealed".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The data key is not 32 bytes.
    #[error("data key must be 32 bytes")]
    BadKey,
    /// The header is short, has the wrong magic/version, or an unsupported chunk size.
    #[error("encrypted object header is invalid")]
    BadHeader,
    /// A chunk failed authentication: wrong key, tampered, reordered, truncated or extended data.
    #[error("encrypted object failed authentication (tampered, truncated or wrong key)")]
    Auth,
    /// The ciphertext ended early or went on past the end (lengths disagree with the header or sizes).
    #[error("encrypted object has the wrong length")]
    Length,
    /// A requested plaintext range lies outside the object.
    #[error("range {start}..{end} is outside the object (length {len})")]
    Range { start: u64, end: u64, len: u64 },
    /// The part list of a multipart layout is unusable (no parts, part numbers not increasing).
    #[error("invalid multipart layout")]
    BadLayout,
}

/// Bytes of the per-stream header.
pub const HEADER_LEN: usize = 24;
/// Bytes of a GCM tag appended to every chunk.
pub const TAG_LEN: usize = 16;
/// Default plaintext bytes per chunk.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Smallest accepted chunk size.
pub const MIN_CHUNK_SIZE: u32 = 1024;
/// Largest accepted chunk size.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

const MAGIC: &[u8; 4] = b"GHSE";
const VERSION: u8 = 1;
const AAD_LEN: usize = 4 + 1 + 4 + 4 + 4 + 1;

/// The parsed header of a sealed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
    /// Random per-stream nonce base.
    pub nonce_base: [u8; NONCE_LEN],
}

impl Header {
    /// A header with a fresh random nonce base.
    pub fn random(chunk_size: u32) -> Result<Header, EnvelopeError> {
        check_chunk_size(chunk_size)?;
        let mut nonce_base = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce_base);
        Ok(Header {
            chunk_size,
            nonce_base,
        })
    }

    /// The header's 24 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..4].copy_from_slice(MAGIC);
        b[4] = VERSION;
        b[8..12].copy_from_slice(&self.chunk_size.to_be_bytes());
        b[12..].copy_from_slice(&self.nonce_base);
        b
    }

    /// Parses the first `HEADER_LEN` bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, EnvelopeError> {
        let b = bytes.get(..HEADER_LEN).ok_or(EnvelopeError::BadHeader)?;
        if &b[..4] != MAGIC || b[4] != VERSION || b[5..8] != [0, 0, 0] {
            return Err(EnvelopeError::BadHeader);
        }
        let chunk_size = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
        check_chunk_size(chunk_size).map_err(|_| EnvelopeError::BadHeader)?;
        let mut nonce_base = [0u8; NONCE_LEN];
        nonce_base.copy_from_slice(&b[12..]);
        Ok(Header {
            chunk_size,
            nonce_base,
        })
    }
}

fn check_chunk_size(chunk_size: u32) -> Result<(), EnvelopeError> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(EnvelopeError::BadHeader)
    }
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, EnvelopeError> {
    let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| EnvelopeError::BadKey)?;
    Ok(LessSafeKey::new(unbound))
}

/// Number of chunks of a stream holding `plain_len` bytes (at least one).
pub fn chunk_count(plain_len: u64, chunk_size: u32) -> u64 {
    plain_len.div_ceil(u64::from(chunk_size)).max(1)
}

/// Length of the sealed stream (header, chunks and tags) of a `plain_len`-byte plaintext.
pub fn sealed_len(plain_len: u64, chunk_size: u32) -> u64 {
    HEADER_LEN as u64 + plain_len + chunk_count(plain_len, chunk_size) * TAG_LEN as u64
}

/// The plaintext length of a sealed stream of `sealed` bytes, if such a length exists.
pub fn plain_len(sealed: u64, chunk_size: u32) -> Option<u64> {
    let body = sealed.checked_sub(HEADER_LEN as u64)?;
    let full = u64::from(chunk_size) + TAG_LEN as u64;
    let chunks = body.div_ceil(full).max(1);
    let plain = body.checked_sub(chunks * TAG_LEN as u64)?;
    (sealed_len(plain, chunk_size) == sealed).then_some(plain)
}

/// The sealing state shared by the sealer and the openers: key, header and part number.
struct ChunkCipher {
    key: LessSafeKey,
    header: Header,
    part_number: u32,
}

impl ChunkCipher {
    fn nonce(&self, index: u32) -> Nonce {
        let mut n = self.header.nonce_base;
        for (b, x) in n[4..8].iter_mut().zip(self.part_number.to_be_bytes()) {
            *b ^= x;
        }
        for (b, x) in n[8..12].iter_mut().zip(index.to_be_bytes()) {
            *b ^= x;
        }
        Nonce::assume_unique_for_key(n)
    }

    fn aad(&self, index: u32, last: bool) -> [u8; AAD_LEN] {
        let mut a = [0u8; AAD_LEN];
        a[..4].copy_from_slice(MAGIC);
        a[4] = VERSION;
        a[5..9].copy_from_slice(&self.header.chunk_size.to_be_bytes());
        a[9..13].copy_from_slice(&self.part_number.to_be_bytes());
        a[13..17].copy_from_slice(&index.to_be_bytes());
        a[17] = u8::from(last);
        a
    }

    /// Seals `plain` as chunk `index` and appends ciphertext and tag to `out`.
    fn seal_chunk(&self, index: u32, last: bool, plain: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = self.key.seal_in_place_separate_tag(
            self.nonce(index),
            Aad::from(self.aad(index, last)),
            &mut out[start..],
        );
        match tag {
            Ok(tag) => out.extend_from_slice(tag.as_ref()),
            // Unreachable with a valid key and a chunk far below GCM's length limit; never emit plaintext.
            Err(_) => out.truncate(start),
        }
    }

    /// Opens chunk `index` (ciphertext and tag) and appends its plaintext to `out`.
    fn open_chunk(
        &self,
        index: u32,
        last: bool,
        sealed: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), EnvelopeError> {
        let Some(ct_len) = sealed.len().checked_sub(TAG_LEN) else {
            return Err(EnvelopeError::Length);
        };
        let start = out.len();
        out.resize(start + ct_len, 0);
        let res = self.key.open_separate_gather(
            self.nonce(index),
            Aad::from(self.aad(index, last)),
            &sealed[..ct_len],
            &sealed[ct_len..],
            &mut out[start..],
        );
        if res.is_err() {
            out.truncate(start);
            return Err(EnvelopeError::Auth);
        }
        Ok(())
    }
}

impl ChunkCipher {
    /// Opens chunk `index` (ciphertext and tag) in place; the plaintext is the first `len - TAG_LEN` bytes
    /// of `sealed` (returned), left undefined on failure.
    fn open_chunk_in_place(
        &self,
        index: u32,
        last: bool,
        sealed: &mut [u8],
    ) -> Result<usize, EnvelopeError> {
        if sealed.len() < TAG_LEN {
            return Err(EnvelopeError::Length);
        }
        self.key
            .open_in_place(self.nonce(index), Aad::from(self.aad(index, last)), sealed)
            .map(|p| p.len())
            .map_err(|_| EnvelopeError::Auth)
    }
}

fn chunk_index(i: u64) -> Result<u32, EnvelopeError> {
    u32::try_from(i).map_err(|_| EnvelopeError::Length)
}

/// Incremental encryptor of one stream: feed plaintext with `update`, end with `finish`. Holds at most one
/// chunk of plaintext, so a large PUT streams through it.
pub struct Sealer {
    cipher: ChunkCipher,
    buf: Vec<u8>,
    index: u64,
    header_written: bool,
}

impl Sealer {
    /// A sealer for a single-PUT object with the default chunk size.
    pub fn new(data_key: &[u8]) -> Result<Sealer, EnvelopeError> {
        Self::with_options(data_key, DEFAULT_CHUNK_SIZE, 0)
    }

    /// A sealer for part `part_number` of a multipart upload (1..=10000) with the default chunk size.
    pub fn for_part(data_key: &[u8], part_number: u32) -> Result<Sealer, EnvelopeError> {
        Self::with_options(data_key, DEFAULT_CHUNK_SIZE, part_number)
    }

    /// A sealer with an explicit chunk size and part number (0 for a single PUT).
    pub fn with_options(
        data_key: &[u8],
        chunk_size: u32,
        part_number: u32,
    ) -> Result<Sealer, EnvelopeError> {
        Ok(Sealer {
            cipher: ChunkCipher {
                key: aead_key(data_key)?,
                header: Header::random(chunk_size)?,
                part_number,
            },
            buf: Vec::with_capacity(chunk_size as usize),
            index: 0,
            header_written: false,
        })
    }

    /// The stream's header (also written by the first `update` or `finish`).
    pub fn header(&self) -> Header {
        self.cipher.header
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_written {
            out.extend_from_slice(&self.cipher.header.to_bytes());
            self.header_written = true;
        }
    }

    /// Encrypts `data`, appending the header (first call) and every chunk that is complete and known not to
    /// be the last one to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        self.write_header(out);
        let cs = self.cipher.header.chunk_size as usize;
        // A full buffered chunk is sealed only when more data follows: until then it may be the last.
        while !data.is_empty() {
            if self.buf.len() == cs {
                let index = chunk_index(self.index)?;
                self.cipher.seal_chunk(index, false, &self.buf, out);
                self.buf.clear();
                self.index += 1;
            }
            if self.buf.is_empty() && data.len() > cs {
                // Whole chunks straight from the input, no copy into the buffer.
                let index = chunk_index(self.index)?;
                self.cipher.seal_chunk(index, false, &data[..cs], out);
                data = &data[cs..];
                self.index += 1;
                continue;
            }
            let take = (cs - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals the last chunk and appends it (and the header, if nothing was written yet) to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        self.write_header(out);
        let index = chunk_index(self.index)?;
        self.cipher.seal_chunk(index, true, &self.buf, out);
        Ok(())
    }
}

/// Seals a whole single-PUT plaintext in memory.
pub fn seal(data_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    seal_part(data_key, 0, plaintext)
}

/// Seals a whole part (`part_number` 1..=10000; 0 for a single PUT) in memory.
pub fn seal_part(
    data_key: &[u8],
    part_number: u32,
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut s = Sealer::with_options(data_key, DEFAULT_CHUNK_SIZE, part_number)?;
    let mut out =
        Vec::with_capacity(sealed_len(plaintext.len() as u64, DEFAULT_CHUNK_SIZE) as usize);
    s.update(plaintext, &mut out)?;
    s.finish(&mut out)?;
    Ok(out)
}

/// Incremental decryptor of one whole stream (header first): feed ciphertext with `update`, end with
/// `finish`. Plaintext is released chunk by chunk once each chunk authenticates; a truncated stream is only
/// detected by `finish` (or earlier when `expected_plain_len` was given), so a caller streaming the output
/// must treat an error at any point, `finish` included, as a failed response (abort the connection).
pub struct Opener {
    /// The key until the header arrives, then moved into `cipher`.
    key: Option<LessSafeKey>,
    part_number: u32,
    cipher: Option<ChunkCipher>,
    expected_plain_len: Option<u64>,
    /// Chunk count from `expected_plain_len`, once the header says the chunk size.
    expected_chunks: Option<u64>,
    buf: Vec<u8>,
    index: u64,
    done: bool,
}

impl Opener {
    /// An opener of a single-PUT object's stream.
    pub fn new(data_key: &[u8]) -> Result<Opener, EnvelopeError> {
        Self::for_part(data_key, 0, None)
    }

    /// An opener of part `part_number` (0 for a single PUT); with the plaintext length known (from the
    /// index), truncation and extension are detected at the chunk where they happen.
    pub fn for_part(
        data_key: &[u8],
        part_number: u32,
        expected_plain_len: Option<u64>,
    ) -> Result<Opener, EnvelopeError> {
        Ok(Opener {
            key: Some(aead_key(data_key)?),
            part_number,
            cipher: None,
            expected_plain_len,
            expected_chunks: None,
            buf: Vec::new(),
            index: 0,
            done: false,
        })
    }

    /// Decrypts `data`, appending the plaintext of every chunk that is complete to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        if self.done && !data.is_empty() {
            return Err(EnvelopeError::Length);
        }
        if self.cipher.is_none() {
            let need = HEADER_LEN - self.buf.len();
            let take = need.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() < HEADER_LEN {
                return Ok(());
            }
            let header = Header::parse(&self.buf)?;
            self.buf.clear();
            self.expected_chunks = self
                .expected_plain_len
                .map(|l| chunk_count(l, header.chunk_size));
            self.cipher = Some(ChunkCipher {
                key: self.key.take().ok_or(EnvelopeError::BadHeader)?,
                header,
                part_number: self.part_number,
            });
        }
        let Some(cipher) = &self.cipher else {
            return Ok(());
        };
        let full = cipher.header.chunk_size as usize + TAG_LEN;
        while !data.is_empty() {
            if self.done {
                return Err(EnvelopeError::Length);
            }
            if self.buf.len() == full {
                self.open_buffered(out)?;
                continue;
            }
            let take = (full - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            // With a known chunk count a full chunk's finality is known without waiting for more data.
            if self.buf.len() == full && self.expected_chunks.is_some() {
                self.open_buffered(out)?;
            }
        }
        Ok(())
    }

    /// Opens the buffered full chunk, as the last one only when the expected count says so.
    fn open_buffered(&mut self, out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        let Some(cipher) = &self.cipher else {
            return Err(EnvelopeError::BadHeader);
        };
        let last = self.expected_chunks == Some(self.index + 1);
        if let Some(n) = self.expected_chunks
            && self.index >= n
        {
            return Err(EnvelopeError::Length);
        }
        cipher.open_chunk(chunk_index(self.index)?, last, &self.buf, out)?;
        self.buf.clear();
        self.index += 1;
        self.done = last;
        Ok(())
    }

    /// Opens the last chunk; fails if the stream was truncated or extended.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        if self.done {
            return if self.buf.is_empty() {
                Ok(())
            } else {
                Err(EnvelopeError::Length)
            };
        }
        let Some(cipher) = &self.cipher else {
            return Err(EnvelopeError::BadHeader);
        };
        if let Some(n) = self.expected_chunks
            && self.index + 1 != n
        {
            return Err(EnvelopeError::Length);
        }
        cipher.open_chunk(chunk_index(self.index)?, true, &self.buf, out)?;
        self.buf.clear();
        self.done = true;
        Ok(())
    }
}

/// Opens a whole single-PUT stream in memory.
pub fn open(data_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    open_part(data_key, 0, sealed)
}

/// Opens a whole part stream in memory.
pub fn open_part(
    data_key: &[u8],
    part_number: u32,
    sealed: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut o = Opener::for_part(data_key, part_number, None)?;
    let mut out = Vec::with_capacity(sealed.len());
    o.update(sealed, &mut out)?;
    o.finish(&mut out)?;
    Ok(out)
}

/// One part of a composed (multipart) object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutPart {
    /// The part number the part was sealed with.
    pub part_number: u32,
    /// Plaintext bytes of the part.
    pub plain_len: u64,
    /// Where the part's plaintext starts in the object.
    pub plain_offset: u64,
    /// Where the part's sealed stream starts in the composed object.
    pub sealed_offset: u64,
    /// Bytes of the part's sealed stream.
    pub sealed_len: u64,
}

/// The layout of a multipart object whose parts were sealed under one data key with the same chunk size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartLayout {
    /// Parts in object order.
    pub parts: Vec<LayoutPart>,
    /// Chunk size of every part.
    pub chunk_size: u32,
}

/// The share of one part in a plaintext range of a multipart object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSlice {
    /// Index into `MultipartLayout::parts` (and into the object's segments).
    pub part_index: usize,
    /// Part number to open the part with.
    pub part_number: u32,
    /// The range within the part's own stream (offsets relative to the part's stream start).
    pub plan: RangePlan,
}

impl MultipartLayout {
    /// The layout of parts given as (part number, plaintext size) in object order; part numbers must increase.
    pub fn new(parts: &[(u32, u64)], chunk_size: u32) -> Result<MultipartLayout, EnvelopeError> {
        check_chunk_size(chunk_size)?;
        if parts.is_empty() || parts.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(EnvelopeError::BadLayout);
        }
        let (mut plain_offset, mut sealed_offset) = (0u64, 0u64);
        let parts = parts
            .iter()
            .map(|&(part_number, plain_len)| {
                let p = LayoutPart {
                    part_number,
                    plain_len,
                    plain_offset,
                    sealed_offset,
                    sealed_len: sealed_len(plain_len, chunk_size),
                };
                plain_offset += plain_len;
                sealed_offset += p.sealed_len;
                p
            })
            .collect();
        Ok(MultipartLayout { parts, chunk_size })
    }

    /// Plaintext size of the whole object.
    pub fn plain_len(&self) -> u64 {
        self.parts
            .last()
            .map_or(0, |p| p.plain_offset + p.plain_len)
    }

    /// Sealed size of the whole object.
    pub fn sealed_len(&self) -> u64 {
        self.parts
            .last()
            .map_or(0, |p| p.sealed_offset + p.sealed_len)
    }

    /// The parts (and the ranges within each) that a plaintext range of the object touches, in order.
    pub fn plan_range(&self, range: Range<u64>) -> Result<Vec<PartSlice>, EnvelopeError> {
        let len = self.plain_len();
        if range.start > range.end || range.end > len {
            return Err(EnvelopeError::Range {
                start: range.start,
                end: range.end,
                len,
            });
        }
        let mut out = Vec::new();
        for (i, p) in self.parts.iter().enumerate() {
            let (ps, pe) = (p.plain_offset, p.plain_offset + p.plain_len);
            let (s, e) = (range.start.max(ps), range.end.min(pe));
            if s < e {
                out.push(PartSlice {
                    part_index: i,
                    part_number: p.part_number,
                    plan: plan_range(s - ps..e - ps, p.plain_len, self.chunk_size)?,
                });
            }
        }
        Ok(out)
    }

    /// Decrypts a whole composed object in memory.
    pub fn open_all(&self, data_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if sealed.len() as u64 != self.sealed_len() {
            return Err(EnvelopeError::Length);
        }
        let mut out = Vec::with_capacity(self.plain_len() as usize);
        for p in &self.parts {
            let bytes =
                &sealed[p.sealed_offset as usize..(p.sealed_offset + p.sealed_len) as usize];
            let mut o = Opener::for_part(data_key, p.part_number, Some(p.plain_len))?;
            o.update(bytes, &mut out)?;
            o.finish(&mut out)?;
        }
        Ok(out)
    }

    /// Decrypts a plaintext range of a composed object held in memory (`sealed` is the whole object).
    pub fn open_range(
        &self,
        data_key: &[u8],
        sealed: &[u8],
        range: Range<u64>,
    ) -> Result<Vec<u8>, EnvelopeError> {
        if sealed.len() as u64 != self.sealed_len() {
            return Err(EnvelopeError::Length);
        }
        let mut out = Vec::with_capacity((range.end.saturating_sub(range.start)) as usize);
        for slice in self.plan_range(range)? {
            let base = self.parts[slice.part_index].sealed_offset as usize;
            let header = &sealed[base..base + HEADER_LEN];
            let body = &sealed
                [base + slice.plan.sealed.start as usize..base + slice.plan.sealed.end as usize];
            let mut o = RangeOpener::new(data_key, slice.part_number, header, &slice.plan)?;
            o.update(body, &mut out)?;
            o.finish(&mut out)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];

    #[test]
    fn sizes() {
        let cs = DEFAULT_CHUNK_SIZE;
        assert_eq!(sealed_len(0, cs), (HEADER_LEN + TAG_LEN) as u64);
        assert_eq!(
            sealed_len(u64::from(cs), cs),
            HEADER_LEN as u64 + u64::from(cs) + 16
        );
        assert_eq!(
            sealed_len(u64::from(cs) + 1, cs),
            HEADER_LEN as u64 + u64::from(cs) + 1 + 32
        );
        for n in [0u64, 1, 65535, 65536, 65537, 1 << 20, (1 << 20) + 5] {
            assert_eq!(plain_len(sealed_len(n, cs), cs), Some(n));
        }
        assert_eq!(plain_len(HEADER_LEN as u64 + 10, cs), None);
        assert_eq!(plain_len(3, cs), None);
    }

    #[test]
    fn round_trip_and_header() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let sealed = seal(&KEY, &data).expect("seal");
        assert_eq!(
            sealed.len() as u64,
            sealed_len(data.len() as u64, DEFAULT_CHUNK_SIZE)
        );
        assert_eq!(
            Header::parse(&sealed).expect("header").chunk_size,
            DEFAULT_CHUNK_SIZE
        );
        assert_eq!(open(&KEY, &sealed).expect("open"), data);
        assert_eq!(open(&[8u8; 32], &sealed), Err(EnvelopeError::Auth));
        assert_eq!(open(&KEY, &sealed[..10]), Err(EnvelopeError::BadHeader));
        assert!(seal(&KEY[..31], b"x").is_err());
    }

    #[test]
    fn empty_object_is_one_final_chunk() {
        let sealed = seal(&KEY, b"").expect("seal");
        assert_eq!(sealed.len(), HEADER_LEN + TAG_LEN);
        assert_eq!(open(&KEY, &sealed).expect("open"), b"");
        // Cut to the header alone: not an empty object.
        assert!(open(&KEY, &sealed[..HEADER_LEN]).is_err());
    }

    #[test]
    fn two_seals_differ() {
        assert_ne!(
            seal(&KEY, b"same").expect("a"),
            seal(&KEY, b"same").expect("b")
        );
    }
}
