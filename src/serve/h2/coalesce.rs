//! One write for the answers of several calls of one HTTP/2 connection. hyper runs each call in
//! its own task, and a call that finishes wakes the connection's task, which tokio runs next
//! (its LIFO slot): without this, the connection writes each answer alone, one `writev` per call,
//! and on a busy connection that system call (with the client's wake-up it causes) is a quarter of
//! the server's CPU (BENCHMARKS.md, gRPC). Here a flush while other calls of the connection are
//! still open yields once instead: the connection's task goes to the back of the run queue, the
//! calls ready to run finish first, and the first flush after the task runs again writes all their
//! answers together (h2 flushes several times in one poll of the connection: those flushes wait
//! too). One yield per flush, so nothing waits on a slow call; a lone call is written at once.
//! Large writes (a big tensor) go straight to the socket, never copied here.

use std::{
    io::{self, IoSlice},
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::activity::Activity;

/// The most bytes held for a later write; a write that would pass it sends what is held first.
const MAX_HELD_BYTES: usize = 64 * 1024;
/// Writes from this size on (a large answer's DATA frames) are not held: no copy, and few enough
/// that one system call each costs little.
const DIRECT_BYTES: usize = 16 * 1024;

/// A connection's socket whose small writes are held until a flush, and whose flush is deferred
/// once while other calls are open.
pub(super) struct Coalesced<T> {
    io: T,
    activity: Arc<Activity>,
    /// Bytes accepted from writes and not yet on the socket, from `sent` on.
    held: Vec<u8>,
    sent: usize,
    /// The connection task's poll (`Activity::polls`) in which the current flush yielded.
    deferred_in: Option<u64>,
}

impl<T> Coalesced<T> {
    pub(super) fn new(io: T, activity: Arc<Activity>) -> Self {
        Coalesced {
            io,
            activity,
            held: Vec::new(),
            sent: 0,
            deferred_in: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> Coalesced<T> {
    /// Writes what is held to the socket.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.held[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.held.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Coalesced<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalesced<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len: usize = bufs.iter().map(|buf| buf.len()).sum();
        if len < DIRECT_BYTES && this.held.len() + len <= MAX_HELD_BYTES {
            for buf in bufs {
                this.held.extend_from_slice(buf);
            }
            return Poll::Ready(Ok(len));
        }
        // Large, or too much to hold: what is held goes first, then these bytes straight from
        // the caller.
        ready!(this.poll_send_held(cx))?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.sent < this.held.len() && this.activity.open_calls() > 0 {
            let poll = this.activity.polls();
            match this.deferred_in {
                // Woken by itself, the task is queued behind the tasks already ready (not in the
                // LIFO slot): the open calls that can finish now do, then this flush sends all.
                None => {
                    this.deferred_in = Some(poll);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // Another flush in the same poll: the task is already woken.
                Some(deferred) if deferred == poll => return Poll::Pending,
                Some(_) => {}
            }
        }
        ready!(this.poll_send_held(cx))?;
        this.deferred_in = None;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_held(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::activity::{Open, Polled};
    use super::*;
    use std::future::Future;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_writes_reach_the_peer_only_at_the_flush_and_in_order() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 20);
        let mut io = Coalesced::new(ours, Arc::new(Activity::new()));
        io.write_all(b"one ").await.unwrap();
        io.write_all(b"two").await.unwrap();
        let mut buf = [0u8; 16];
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), theirs.read(&mut buf)).await;
        assert!(early.is_err(), "nothing is sent before the flush");
        io.flush().await.unwrap();
        let n = theirs.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"one two");
    }

    #[tokio::test]
    async fn a_large_write_goes_out_at_once_after_what_is_held() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 20);
        let mut io = Coalesced::new(ours, Arc::new(Activity::new()));
        io.write_all(b"head").await.unwrap();
        let big = vec![7u8; DIRECT_BYTES];
        io.write_all(&big).await.unwrap();
        // No flush: a large write is not held.
        let mut got = vec![0u8; 4 + big.len()];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..4], b"head");
        assert!(got[4..].iter().all(|&b| b == 7));
    }

    #[tokio::test]
    async fn a_flush_with_open_calls_waits_for_the_next_poll_of_the_connection_then_sends() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 20);
        let activity = Arc::new(Activity::new());
        let _open = Open::new(activity.clone());
        let mut connection = Polled {
            inner: Box::pin(std::future::pending::<()>()),
            activity: activity.clone(),
        };
        let mut io = Coalesced::new(ours, activity);
        io.write_all(b"answer").await.unwrap();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let _ = Pin::new(&mut connection).poll(&mut cx);
        let mut flush = std::pin::pin!(io.flush());
        assert!(flush.as_mut().poll(&mut cx).is_pending(), "deferred");
        assert!(
            flush.as_mut().poll(&mut cx).is_pending(),
            "still in the same poll"
        );
        let _ = Pin::new(&mut connection).poll(&mut cx);
        assert!(
            flush.as_mut().poll(&mut cx).is_ready(),
            "sent once the connection ran again"
        );
        let mut buf = [0u8; 16];
        let n = theirs.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"answer");
    }
}
