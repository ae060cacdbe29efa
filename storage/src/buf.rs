//! Page-aligned heap buffers, usable for `O_DIRECT` writes.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

/// Alignment of the buffers and of `O_DIRECT` lengths and offsets (covers 512 and 4096-byte sectors).
pub(crate) const ALIGN: usize = 4096;

/// An owned, page-aligned buffer with a fill length; only the filled prefix is ever read.
pub(crate) struct AlignedBuf {
    ptr: NonNull<u8>,
    cap: usize,
    len: usize,
}

// SAFETY: the buffer is uniquely owned heap memory, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `cap` bytes (rounded up to `ALIGN`), or `None` if the allocation fails.
    pub(crate) fn new(cap: usize) -> Option<Self> {
        let cap = cap.max(ALIGN).div_ceil(ALIGN) * ALIGN;
        let layout = Layout::from_size_align(cap, ALIGN).ok()?;
        // SAFETY: layout has a non-zero size. Not zeroed: untouched pages then cost nothing, and only bytes
        // written by `extend` / `pad_to_align` are ever exposed.
        let ptr = NonNull::new(unsafe { alloc::alloc(layout) })?;
        Some(Self { ptr, cap, len: 0 })
    }

    /// Bytes the buffer can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Bytes filled.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends as much of `data` as fits; returns how much was taken.
    pub(crate) fn extend(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.cap - self.len);
        // SAFETY: `len + n <= cap`, the regions cannot overlap (we own ours exclusively).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(self.len), n) };
        self.len += n;
        n
    }

    /// Zero-pads the fill length up to the next multiple of `ALIGN` (for the last `O_DIRECT` write).
    pub(crate) fn pad_to_align(&mut self) {
        let padded = self.len.div_ceil(ALIGN) * ALIGN;
        // SAFETY: `padded <= cap` because cap is a multiple of ALIGN and `len <= cap`.
        unsafe { std::ptr::write_bytes(self.ptr.as_ptr().add(self.len), 0, padded - self.len) };
        self.len = padded;
    }

    /// The filled bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `extend` / `pad_to_align`, and `len <= cap`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Empties the buffer for reuse.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Pointer to the first byte, for the kernel.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this exact layout (cap is a non-zero multiple of ALIGN).
        unsafe {
            alloc::dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.cap, ALIGN),
            )
        };
    }
}
