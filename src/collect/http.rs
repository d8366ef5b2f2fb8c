//! The sender's HTTP/1.1 client: one keep-alive connection to the sidecar, one request at a
//! time, each written with one `write` and its answer read into a reused buffer. A general
//! client (reqwest, built for size here) spent a task, a header map, a URL parse and a
//! connection-pool checkout on every payload, on the scoring core; this is what the sidecar
//! needs and no more. No pipelining: the payloads are POSTs, which HTTP/1.1 asks clients not
//! to pipeline.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer's head, at most: the sidecar answers a status and a few headers.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// An answer body read to keep the connection; past this, the connection is closed instead.
const MAX_KEPT_BODY_BYTES: usize = 64 * 1024;
/// A body this small is copied after the head and both go in one `write`.
const COPIED_BODY_BYTES: usize = 16 * 1024;

/// The sidecar's address and the connection to it, when one is open.
pub struct Client {
    /// `host:port`, as connected to and sent as `Host`.
    authority: String,
    connect_timeout: Duration,
    open: Option<TcpStream>,
    /// The request being written, then the answer being read.
    buffer: Vec<u8>,
}

impl Client {
    pub fn new(authority: String, connect_timeout: Duration) -> Self {
        Client {
            authority,
            connect_timeout,
            open: None,
            buffer: Vec::with_capacity(4096),
        }
    }

    /// `POST path` with the header lines `headers` (each ending in CRLF) and `body`, within
    /// `timeout`; the answer's status. A kept connection that the sidecar has closed meanwhile
    /// is replaced once within the same try: nothing of an answer had arrived. Any failure
    /// closes the connection.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &[u8],
        body: &[u8],
        timeout: Duration,
    ) -> io::Result<u16> {
        let reused = self.open.is_some();
        let exchange = async {
            match self.exchange(path, headers, body).await {
                Err(error) if reused && is_stale(&error) => self.exchange(path, headers, body).await,
                done => done,
            }
        };
        let answer = tokio::time::timeout(timeout, exchange).await;
        answer.unwrap_or_else(|_| {
            // Cut off mid-exchange: the connection's state is unknown.
            self.open = None;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the sidecar did not answer in time",
            ))
        })
    }

    async fn exchange(&mut self, path: &str, headers: &[u8], body: &[u8]) -> io::Result<u16> {
        let answer = self.try_exchange(path, headers, body).await;
        if !matches!(answer, Ok((_, true))) {
            self.open = None;
        }
        answer.map(|(status, _)| status)
    }

    /// The status, and whether the connection may carry the next request.
    async fn try_exchange(&mut self, path: &str, headers: &[u8], body: &[u8]) -> io::Result<(u16, bool)> {
        // A kept connection with bytes nobody asked for (a late answer) or at its end is not
        // reused: those bytes would be read as this payload's answer.
        if let Some(kept) = &self.open {
            let mut probe = [0u8; 1];
            if !matches!(kept.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                self.open = None;
            }
        }
        let stream = match &mut self.open {
            Some(stream) => stream,
            open => {
                let connect = TcpStream::connect(self.authority.as_str());
                let stream = tokio::time::timeout(self.connect_timeout, connect)
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connecting to the sidecar"))??;
                stream.set_nodelay(true)?;
                open.insert(stream)
            }
        };
        let buffer = &mut self.buffer;
        buffer.clear();
        write_head(buffer, path, &self.authority, headers, body.len());
        if body.len() <= COPIED_BODY_BYTES {
            buffer.extend_from_slice(body);
            stream.write_all(buffer).await?;
        } else {
            stream.write_all(buffer).await?;
            stream.write_all(body).await?;
        }
        buffer.clear();
        read_answer(stream, buffer).await
    }
}

fn write_head(out: &mut Vec<u8>, path: &str, authority: &str, headers: &[u8], length: usize) {
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(authority.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(headers);
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// Reads one final answer (interim 1xx answers skipped) and its body when it has a length; the
/// status and whether the connection is still usable.
async fn read_answer(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<(u16, bool)> {
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if buffer.len() > MAX_HEAD_BYTES {
                return Err(invalid("an answer head longer than 16 KiB"));
            }
            if stream.read_buf(buffer).await? == 0 {
                // Closed before any answer: what a stale keep-alive connection does, and the
                // one case the payload is sent again. Closed within a head: the sidecar may
                // have taken the payload, so it is not.
                let kind = if buffer.is_empty() {
                    io::ErrorKind::ConnectionReset
                } else {
                    io::ErrorKind::UnexpectedEof
                };
                return Err(io::Error::new(kind, "the sidecar closed the connection"));
            }
        };
        let head = Head::parse(&buffer[..head_end])?;
        if (100..200).contains(&head.status) {
            buffer.drain(..head_end);
            continue;
        }
        let length = match head.framing {
            Framing::Length(length) if length <= MAX_KEPT_BODY_BYTES => length,
            // Chunked, read to the end, or too long to bother: the status is all we need, and
            // the connection goes.
            _ => return Ok((head.status, false)),
        };
        while buffer.len() < head_end + length {
            if stream.read_buf(buffer).await? == 0 {
                return Ok((head.status, false));
            }
        }
        // Bytes past the answer were not asked for: the connection is not trusted with more.
        let clean = buffer.len() == head_end + length;
        return Ok((head.status, head.keep_alive && clean));
    }
}

/// What the sender reads of an answer's head.
#[derive(Debug, PartialEq)]
struct Head {
    status: u16,
    framing: Framing,
    keep_alive: bool,
}

#[derive(Debug, PartialEq)]
enum Framing {
    Length(usize),
    /// Chunked, or until the connection closes.
    Other,
}

impl Head {
    fn parse(head: &[u8]) -> io::Result<Head> {
        let text = std::str::from_utf8(head).map_err(|_| invalid("an answer head that is not text"))?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status: u16 = parts
            .next()
            .and_then(|code| code.parse().ok())
            .filter(|code| (100..600).contains(code))
            .ok_or_else(|| invalid("an answer without a status"))?;
        let mut keep_alive = version == "HTTP/1.1";
        if !version.starts_with("HTTP/1.") {
            return Err(invalid("an answer that is not HTTP/1.x"));
        }
        let mut declared = None;
        let mut chunked = false;
        for line in lines.filter(|line| !line.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid("a header line without ':'"))?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                // Digits only (`usize::parse` takes a `+`), and one length: two are a framing
                // this reader would have to guess between.
                let length = value
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| value.parse().ok())
                    .flatten()
                    .ok_or_else(|| invalid("a content-length that is not a number"))?;
                if declared.replace(length).is_some() {
                    return Err(invalid("two content-length headers"));
                }
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = true;
            } else if name.eq_ignore_ascii_case("connection") {
                keep_alive = !value.eq_ignore_ascii_case("close");
            }
        }
        let framing = match declared {
            // 204 and 304 have no body whatever they say.
            _ if matches!(status, 204 | 304) => Framing::Length(0),
            _ if chunked => Framing::Other,
            Some(length) => Framing::Length(length),
            None => Framing::Other,
        };
        Ok(Head {
            status,
            framing,
            keep_alive,
        })
    }
}

/// What writing to or reading from a connection the other end has closed gives.
fn is_stale(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted
    )
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("the sidecar sent {what}"))
}

#[cfg(test)]
mod tests;
