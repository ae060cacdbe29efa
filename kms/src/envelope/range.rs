//! Range reads of a sealed stream: which sealed bytes hold a plaintext range ([`plan_range`]) and their
//! decryption ([`RangeOpener`]), copying (`update`) or in place in the buffers read from storage
//! (`update_bytes`, which hands out the plaintext as slices of them).

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::{
    ChunkCipher, EnvelopeError, HEADER_LEN, Header, TAG_LEN, aead_key, check_chunk_size,
    chunk_count, chunk_index, sealed_len,
};

/// What to read and decrypt for a plaintext byte range of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlan {
    /// Bytes of the stream holding the header (always `0..HEADER_LEN`; the header may also be kept elsewhere).
    pub header: Range<u64>,
    /// Bytes of the stream holding the chunks that cover the range (offsets within the stream).
    pub sealed: Range<u64>,
    /// Index of the first chunk in `sealed`.
    pub first_chunk: u64,
    /// Index of the last chunk of the whole stream (the one sealed with the final flag).
    pub last_chunk: u64,
    /// Plaintext bytes to drop from the start of the first chunk.
    pub skip: u64,
    /// Plaintext bytes to return.
    pub len: u64,
}

/// Maps the plaintext range `range` of a stream of `plain_len` bytes to the sealed bytes to read. An empty
/// range (start == end) is allowed anywhere in `0..=plain_len` and reads one chunk (kept simple: S3 never
/// asks for one).
pub fn plan_range(
    range: Range<u64>,
    plain_len: u64,
    chunk_size: u32,
) -> Result<RangePlan, EnvelopeError> {
    if range.start > range.end || range.end > plain_len {
        return Err(EnvelopeError::Range {
            start: range.start,
            end: range.end,
            len: plain_len,
        });
    }
    check_chunk_size(chunk_size)?;
    let cs = u64::from(chunk_size);
    let full = cs + TAG_LEN as u64;
    let last_chunk = chunk_count(plain_len, chunk_size) - 1;
    let first = (range.start / cs).min(last_chunk);
    let end_chunk = if range.end > range.start {
        (range.end - 1) / cs
    } else {
        first
    };
    let start_off = HEADER_LEN as u64 + first * full;
    let end_off = if end_chunk == last_chunk {
        sealed_len(plain_len, chunk_size)
    } else {
        HEADER_LEN as u64 + (end_chunk + 1) * full
    };
    Ok(RangePlan {
        header: 0..HEADER_LEN as u64,
        sealed: start_off..end_off,
        first_chunk: first,
        last_chunk,
        skip: range.start - first * cs,
        len: range.end - range.start,
    })
}

/// Incremental decryptor of the chunks a [`RangePlan`] names: feed exactly the bytes of `plan.sealed`, get
/// exactly the `plan.len` plaintext bytes of the range.
pub struct RangeOpener {
    cipher: ChunkCipher,
    plan: RangePlan,
    buf: Vec<u8>,
    index: u64,
    /// Plaintext bytes still to drop / still to give.
    skip: u64,
    left: u64,
    scratch: Vec<u8>,
    end_index: u64,
}

impl RangeOpener {
    /// A range decryptor for part `part_number` (0 for a single PUT) given the stream's header bytes.
    pub fn new(
        data_key: &[u8],
        part_number: u32,
        header: &[u8],
        plan: &RangePlan,
    ) -> Result<RangeOpener, EnvelopeError> {
        let header = Header::parse(header)?;
        let full = u64::from(header.chunk_size) + TAG_LEN as u64;
        let chunks = (plan.sealed.end - plan.sealed.start).div_ceil(full);
        Ok(RangeOpener {
            cipher: ChunkCipher {
                key: aead_key(data_key)?,
                header,
                part_number,
            },
            plan: plan.clone(),
            buf: Vec::new(),
            index: plan.first_chunk,
            skip: plan.skip,
            left: plan.len,
            scratch: Vec::new(),
            end_index: plan.first_chunk + chunks,
        })
    }

    /// Decrypts `data` (the next bytes of `plan.sealed`), appending plaintext of the range to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        let full = self.cipher.header.chunk_size as usize + TAG_LEN;
        while !data.is_empty() {
            if self.index >= self.end_index {
                return Err(EnvelopeError::Length);
            }
            // A whole chunk in `data` that the range takes whole: opened straight into `out`.
            let cs = full - TAG_LEN;
            if self.buf.is_empty() && data.len() >= full && self.skip == 0 && self.left >= cs as u64
            {
                let last = self.index == self.plan.last_chunk;
                self.cipher
                    .open_chunk(chunk_index(self.index)?, last, &data[..full], out)?;
                self.index += 1;
                self.left -= cs as u64;
                data = &data[full..];
                continue;
            }
            let take = (full - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            // Every chunk but the stream's last is full; the last one ends with the planned range.
            if self.buf.len() == full {
                self.open_buffered(out)?;
            }
        }
        Ok(())
    }

    /// Decrypts `data` (the next bytes of `plan.sealed`) like `update`, but in place: the chunks whole in
    /// `data` are opened in its own buffer (when nothing else holds it; else it is copied once) and their
    /// plaintext of the range is handed out as slices of it. Only a chunk split across two inputs is
    /// copied. Every chunk is authenticated before any of its bytes are handed out.
    pub fn update_bytes(&mut self, data: Bytes, out: &mut Vec<Bytes>) -> Result<(), EnvelopeError> {
        let full = self.cipher.header.chunk_size as usize + TAG_LEN;
        let mut data = data;
        if !self.buf.is_empty() {
            // Complete the chunk an earlier input began.
            let take = (full - self.buf.len()).min(data.len());
            if self.index >= self.end_index {
                return Err(EnvelopeError::Length);
            }
            self.buf.extend_from_slice(&data[..take]);
            data = data.slice(take..);
            if self.buf.len() == full {
                let mut plain = Vec::with_capacity(full);
                self.open_buffered(&mut plain)?;
                if !plain.is_empty() {
                    out.push(Bytes::from(plain));
                }
            }
            if data.is_empty() {
                return Ok(());
            }
        }
        let mut rest = data
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        while rest.len() >= full {
            if self.index >= self.end_index {
                return Err(EnvelopeError::Length);
            }
            let mut chunk = rest.split_to(full);
            let last = self.index == self.plan.last_chunk;
            let n =
                self.cipher
                    .open_chunk_in_place(chunk_index(self.index)?, last, &mut chunk[..])?;
            chunk.truncate(n);
            self.index += 1;
            let mut plain = chunk.freeze();
            let skip = (self.skip as usize).min(plain.len());
            self.skip -= skip as u64;
            let give = ((plain.len() - skip) as u64).min(self.left) as usize;
            self.left -= give as u64;
            if give > 0 {
                out.push(plain.split_off(skip).split_to(give));
            }
        }
        if !rest.is_empty() {
            if self.index >= self.end_index {
                return Err(EnvelopeError::Length);
            }
            self.buf.extend_from_slice(&rest);
        }
        Ok(())
    }

    fn open_buffered(&mut self, out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        let last = self.index == self.plan.last_chunk;
        self.scratch.clear();
        self.cipher
            .open_chunk(chunk_index(self.index)?, last, &self.buf, &mut self.scratch)?;
        self.buf.clear();
        self.index += 1;
        let plain = &self.scratch[..];
        let skip = (self.skip as usize).min(plain.len());
        self.skip -= skip as u64;
        let give = ((plain.len() - skip) as u64).min(self.left) as usize;
        out.extend_from_slice(&plain[skip..skip + give]);
        self.left -= give as u64;
        Ok(())
    }

    /// Opens a short last chunk still buffered; fails unless every planned byte was given.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), EnvelopeError> {
        if !self.buf.is_empty() || self.index < self.end_index {
            if self.index + 1 != self.end_index || self.index != self.plan.last_chunk {
                return Err(EnvelopeError::Length);
            }
            self.open_buffered(out)?;
        }
        if self.left != 0 {
            return Err(EnvelopeError::Length);
        }
        Ok(())
    }
}

/// Decrypts a plaintext range in memory: `header` is the stream's header, `sealed` the bytes of `plan.sealed`.
pub fn open_range(
    data_key: &[u8],
    part_number: u32,
    header: &[u8],
    plan: &RangePlan,
    sealed: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut o = RangeOpener::new(data_key, part_number, header, plan)?;
    let mut out = Vec::with_capacity(plan.len as usize);
    o.update(sealed, &mut out)?;
    o.finish(&mut out)?;
    Ok(out)
}
