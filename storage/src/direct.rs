//! `O_DIRECT` for large blobs, shared by both local backends.
//!
//! Writing a large blob through the page cache costs a memory copy per byte plus writeback, and on this
//! project's machines the copy into fresh page-cache pages is the most expensive part of a 64 MiB PUT
//! (about twice the MD5 of the ETag). With `O_DIRECT` the disk reads the (page-aligned) write buffers
//! directly. The last block is zero-padded to the alignment and the file is then truncated back to its real
//! size; the fdatasync that follows makes that size (and the extent metadata) durable, exactly as for a
//! buffered write. Bodies that fit in one write buffer are still written through the page cache, in one
//! linked write→fdatasync.
//!
//! Not every filesystem takes `O_DIRECT` (ramfs, older tmpfs, some FUSE and network filesystems), and some
//! that take it refuse some I/O. The blob file is therefore created without it and switched to `O_DIRECT`
//! with `fcntl(F_SETFL)`, which fails cleanly where the filesystem has no direct I/O. (An `open` with
//! `O_CREAT | O_DIRECT` there fails with `EINVAL` *after* creating the file.) A write refused later turns
//! `O_DIRECT` off again and is retried through the page cache. A refusal by the filesystem (rather than of an
//! unaligned remainder) makes the backend stop trying `O_DIRECT`, logged once.

use std::io;
use std::os::fd::{AsFd, AsRawFd as _};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::buf::ALIGN;

/// Whether large puts use `O_DIRECT`: configured on, and not refused by the filesystem so far.
#[derive(Debug)]
pub(crate) struct DirectIo(AtomicBool);

impl DirectIo {
    pub(crate) fn new(on: bool) -> Self {
        Self(AtomicBool::new(on))
    }

    /// Whether the next large put should try `O_DIRECT`.
    pub(crate) fn enabled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The filesystem refused `O_DIRECT` (`e`): use the page cache from now on.
    pub(crate) fn refused(&self, backend: &str, e: &io::Error) {
        if self.0.swap(false, Ordering::Relaxed) {
            tracing::warn!(backend, error = %e, "filesystem refuses O_DIRECT; large blobs go through the page cache");
        }
    }
}

/// Whether `e`, from switching a file to `O_DIRECT` or from a write in that mode, means `O_DIRECT` is refused
/// (rather than a real I/O error).
pub(crate) fn is_refusal(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// Whether a write of `len` bytes from buffer position `start` (the buffer itself is `ALIGN`-aligned) to file
/// `offset` meets `O_DIRECT`'s alignment: if so, a refusal is the filesystem's, and later puts should not
/// try `O_DIRECT` either; if not (the remainder of a short write), only this file leaves `O_DIRECT`.
pub(crate) fn aligned(start: usize, offset: u64, len: usize) -> bool {
    start.is_multiple_of(ALIGN) && offset.is_multiple_of(ALIGN as u64) && len.is_multiple_of(ALIGN)
}

/// Turns `O_DIRECT` on or off on an open file. Turning it on fails with `EINVAL` (see [`is_refusal`]) where
/// the filesystem has no direct I/O.
pub(crate) fn set_direct(fd: impl AsFd, on: bool) -> io::Result<()> {
    let fd = fd.as_fd().as_raw_fd();
    // SAFETY: fcntl with F_GETFL/F_SETFL on a descriptor that `fd`'s owner keeps open for this call; no
    // memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
