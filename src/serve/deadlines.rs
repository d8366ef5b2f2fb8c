//! The connection-level deadlines, kept by the connection's own reads and writes: a request head
//! must arrive within the head timeout (counted from its first byte, or from the connection's
//! start), an idle keep-alive connection waits for its next request at most the idle timeout,
//! and a response the client stops reading is dropped after the send timeout. hyper has one
//! timer for the first two and none for the last.
//!
//! The phase follows the bytes: a head is complete at its blank line; a response (not a
//! `100 Continue`) starts the idle wait. Pipelined requests (which clients do not send) are
//! followed only approximately; every phase still has a deadline, or a handler's own bound.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The bounds a connection keeps.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub head: Duration,
    pub idle: Duration,
    pub send: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head (or its first byte on a fresh connection).
    Head,
    /// A response was sent; waiting for the next request.
    Idle,
    /// The head is in; the handler and its own bounds (body, scoring) have the request.
    Busy,
}

/// A TCP stream that fails its reads (and writes) with `TimedOut` when a deadline passes.
pub struct Watched {
    stream: TcpStream,
    timeouts: Timeouts,
    phase: Phase,
    read_deadline: Pin<Box<Sleep>>,
    /// Armed while a write makes no progress.
    write_deadline: Option<Pin<Box<Sleep>>>,
    head: HeadScan,
}

/// How far the current head has come: its request line, and whether the last line ended.
#[derive(Default)]
struct HeadScan {
    text: bool,
    request_line: bool,
    at_line_start: bool,
}

impl HeadScan {
    /// Reads `bytes`; true when they complete the head (its blank line).
    fn complete(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            match byte {
                // Empty lines before the request line are allowed and are not a head.
                b'\n' if self.at_line_start && self.text => return true,
                b'\n' => {
                    self.at_line_start = true;
                    self.request_line |= self.text;
                }
                b'\r' => {}
                _ => {
                    self.text = true;
                    self.at_line_start = false;
                }
            }
        }
        false
    }
}

/// The answer to a head that started (its request line arrived) but did not finish in time.
fn head_timeout_answer(timeout: Duration) -> String {
    let body = format!(
        "{{\"message\":\"the request head did not arrive within {} ms (AML_SCORER_HEAD_TIMEOUT_MS)\"}}",
        timeout.as_millis()
    );
    format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

/// True for an error this module returned.
pub fn is_deadline(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
}

impl Watched {
    pub fn new(stream: TcpStream, timeouts: Timeouts) -> Self {
        Watched {
            stream,
            timeouts,
            phase: Phase::Head,
            read_deadline: Box::pin(tokio::time::sleep(timeouts.head)),
            write_deadline: None,
            head: HeadScan::default(),
        }
    }

    /// Moves to `phase` and sets its deadline. The deadline is polled at once so that it wakes
    /// this connection's task when it passes: hyper may not read again on its own (its last
    /// read may have been refused before the phase changed).
    fn enter(&mut self, phase: Phase, cx: &mut Context<'_>) {
        self.phase = phase;
        let wait = match phase {
            Phase::Head => self.timeouts.head,
            Phase::Idle => self.timeouts.idle,
            Phase::Busy => return,
        };
        self.read_deadline.as_mut().reset(Instant::now() + wait);
        let _ = self.read_deadline.as_mut().poll(cx);
    }

    /// The read deadline passed: log which, answer 408 when a request line was read.
    fn read_expired(&mut self) -> io::Error {
        if self.phase == Phase::Idle {
            tracing::debug!(
                idle_ms = self.timeouts.idle.as_millis() as u64,
                "idle keep-alive connection closed"
            );
            return timed_out("idle timeout");
        }
        tracing::debug!(
            head_ms = self.timeouts.head.as_millis() as u64,
            request_line = self.head.request_line,
            "request head timed out; connection closed"
        );
        if self.head.request_line {
            // Small enough for the socket's buffer; if it does not fit, the close says enough.
            let _ = self
                .stream
                .try_write(head_timeout_answer(self.timeouts.head).as_bytes());
        }
        timed_out("head timeout")
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if this.phase == Phase::Idle && !read.is_empty() {
                    this.head = HeadScan::default();
                    this.enter(Phase::Head, cx);
                }
                if this.phase == Phase::Head && this.head.complete(read) {
                    this.enter(Phase::Busy, cx);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                if this.phase != Phase::Busy && this.read_deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(this.read_expired()));
                }
                Poll::Pending
            }
        }
    }
}

impl Watched {
    /// A write's result, with the send deadline kept: armed at the first stall, cleared by
    /// progress, fatal when it passes.
    fn written(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<usize>>,
        starts_response: bool,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Ready(Ok(written)) => {
                self.write_deadline = None;
                if written > 0 && self.phase != Phase::Idle && starts_response {
                    self.enter(Phase::Idle, cx);
                }
                Poll::Ready(Ok(written))
            }
            Poll::Pending => {
                let send = self.timeouts.send;
                let deadline = self
                    .write_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(send)));
                ready!(deadline.as_mut().poll(cx));
                tracing::debug!(
                    send_ms = send.as_millis() as u64,
                    "the client stopped reading its answer; connection closed"
                );
                Poll::Ready(Err(timed_out("send timeout")))
            }
            other => other,
        }
    }
}

/// False for an interim `100 Continue`, after which the body, not a new request, follows.
fn starts_response(bytes: &[u8]) -> bool {
    !bytes.starts_with(b"HTTP/1.1 100 ")
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.written(cx, result, starts_response(buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        let starts = starts_response(first);
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.written(cx, result, starts)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_complete_at_its_blank_line_in_any_split() {
        let head = b"\r\nPOST /score HTTP/1.1\r\nHost: a\r\n\r\n{\"data\"";
        for split in 0..head.len() {
            let mut scan = HeadScan::default();
            let done = scan.complete(&head[..split]) || scan.complete(&head[split..]);
            assert!(done, "split at {split}");
        }
        let mut blank_lines = HeadScan::default();
        assert!(!blank_lines.complete(b"\r\n\r\n\n\n"));
        assert!(!blank_lines.request_line);
        let mut partial = HeadScan::default();
        assert!(!partial.complete(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        assert!(partial.request_line);
    }
}
