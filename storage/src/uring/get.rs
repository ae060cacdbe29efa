//! The get path: a stream of `READ_CHUNK` reads with `READ_AHEAD` in flight ahead of the consumer.

use std::collections::VecDeque;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::Inner;
use super::ring::{Done, Op};
use crate::ByteStream;
use crate::std_backend::READ_CHUNK;

/// Reads one get keeps in flight ahead of its consumer.
const READ_AHEAD: usize = 4;

/// Reads at least this long are handed straight to io-wq workers (`IOSQE_ASYNC`): the page-cache copies of
/// several large gets then run on several CPUs instead of all inline on the one ring thread. Shorter reads
/// stay inline (no worker hop).
const ASYNC_READ_MIN: usize = 256 * 1024;

/// Streams `[start, end)` in `READ_CHUNK` pieces with up to `READ_AHEAD` reads in flight ahead of the consumer.
pub(super) fn read_stream(inner: Arc<Inner>, fd: Arc<OwnedFd>, start: u64, end: u64) -> ByteStream {
    struct St {
        inner: Arc<Inner>,
        fd: Arc<OwnedFd>,
        /// Where the next chunk handed out starts.
        pos: u64,
        /// Where the next read to issue starts.
        issued: u64,
        end: u64,
        inflight: VecDeque<oneshot::Receiver<Vec<Done>>>,
    }
    fn fill_ahead(st: &mut St) -> io::Result<()> {
        while st.issued < st.end && st.inflight.len() < READ_AHEAD {
            let len = (st.end - st.issued).min(READ_CHUNK as u64) as usize;
            let rx = st.inner.ring.start1_with(
                Op::Read {
                    fd: st.fd.clone(),
                    buf: Vec::with_capacity(len),
                    offset: st.issued,
                },
                len >= ASYNC_READ_MIN,
            )?;
            st.inflight.push_back(rx);
            st.issued += len as u64;
        }
        Ok(())
    }
    async fn step(st: &mut St) -> io::Result<Bytes> {
        fill_ahead(st)?;
        let rx = st
            .inflight
            .pop_front()
            .ok_or_else(|| io::Error::other("no read in flight"))?;
        let mut done = rx
            .await
            .map_err(|_| io::Error::other("io_uring thread stopped"))?;
        let d = done.pop().ok_or_else(|| io::Error::other("short batch"))?;
        let n = d.result()? as u64;
        let Op::Read { buf, offset, .. } = d.op else {
            return Err(io::Error::other("op mismatch"));
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "blob shorter than expected",
            ));
        }
        let want = (st.end - offset).min(READ_CHUNK as u64);
        if n < want {
            // Short read (rare): drop the read-ahead and continue right after what we got.
            st.inflight.clear();
            st.issued = offset + n;
        }
        st.pos = offset + n;
        if st.pos < st.end {
            fill_ahead(st)?;
        }
        Ok(Bytes::from(buf))
    }
    let st = St {
        inner,
        fd,
        pos: start,
        issued: start,
        end,
        inflight: VecDeque::new(),
    };
    Box::pin(futures::stream::unfold(st, |mut st| async move {
        if st.pos >= st.end {
            return None;
        }
        let item = step(&mut st).await;
        if item.is_err() {
            st.pos = st.end;
        }
        Some((item, st))
    }))
}
