//! The accept loop: accepting connections on the HTTP listener and, when gRPC is on, the gRPC
//! one, and serving HTTP/1.1 or HTTP/2 without TLS (h2c, `h2`) on them, with the bounds that slow
//! or numerous clients need (axum's own `serve` has none): deadlines for request heads, idle
//! keep-alive connections and stalled responses (`deadlines`; for HTTP/2 in `h2`), and one cap on
//! open connections for both listeners, past which the server stops accepting (the kernel's
//! backlog then holds new clients) rather than failing.

use std::{sync::Arc, time::Duration};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

mod deadlines;
mod h2;

use deadlines::{is_deadline, Timeouts, Watched};
pub use h2::Grpc;
use h2::H2;

/// How long to wait before accepting again after `accept` failed (out of file descriptors, say):
/// long enough not to spin, short enough to pick up again quickly.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request head (request line and headers) must arrive within this time, counted from
    /// its first byte (from the connection's start for the first request).
    pub head_timeout: Duration,
    /// A keep-alive connection waits this long for its next request.
    pub idle_timeout: Duration,
    /// A response write that makes no progress for this long (the client stopped reading)
    /// ends the connection.
    pub send_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// File descriptors kept for everything but client connections: the model file, logs, the
/// identity and storage clients, the runtime's own.
const RESERVED_FILES: usize = 64;

/// The open-files limit assumed when it is unlimited or unknown (the usual soft default).
const ASSUMED_OPEN_FILES: usize = 1024;

/// The fewest connections the default cap allows, however low the open-files limit.
const MIN_CONNECTIONS: usize = 16;

/// The default connection cap: the soft open-files limit (`open_files_limit`) less the reserve.
pub fn default_max_connections(open_files: Option<usize>) -> usize {
    open_files
        .unwrap_or(ASSUMED_OPEN_FILES)
        .saturating_sub(RESERVED_FILES)
        .max(MIN_CONNECTIONS)
}

/// This process's soft open-files limit (`None` when unlimited or unreadable).
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    soft_open_files(&limits)
}

/// The soft "Max open files" of `/proc/self/limits` (`None` when unlimited or absent).
fn soft_open_files(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A connection accepted, by the listener it came to.
enum Accepted {
    Http(TcpStream),
    Grpc(TcpStream),
}

/// The next connection on either listener and its permit, or `None` once `stop` is cancelled.
/// One loop and one permit for both listeners: at the cap, the server stops calling accept() on
/// both (the kernel's backlog holds new clients).
async fn accept(
    http: &TcpListener,
    grpc: Option<&TcpListener>,
    permits: &Arc<Semaphore>,
    stop: &CancellationToken,
) -> Option<(Accepted, OwnedSemaphorePermit)> {
    let grpc_accept = || async {
        match grpc {
            Some(listener) => listener.accept().await,
            None => std::future::pending().await,
        }
    };
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.ok()?,
            () = stop.cancelled() => return None,
        };
        let accepted = tokio::select! {
            accepted = http.accept() => accepted.map(|(stream, _)| Accepted::Http(stream)),
            accepted = grpc_accept() => accepted.map(|(stream, _)| Accepted::Grpc(stream)),
            () = stop.cancelled() => return None,
        };
        match accepted {
            Ok(accepted) => {
                let (Accepted::Http(stream) | Accepted::Grpc(stream)) = &accepted;
                let _ = stream.set_nodelay(true);
                return Some((accepted, permit));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection; retrying shortly");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Serves `router` over HTTP/1.1 on `listener`, and `grpc` (if on) over h2c on its own listener,
/// until `stop` is cancelled; then stops accepting and waits for the open connections to finish
/// their requests.
pub async fn serve<S, B>(
    listener: TcpListener,
    router: axum::Router,
    grpc: Option<Grpc<S>>,
    limits: ConnectionLimits,
    stop: CancellationToken,
) where
    S: tower::Service<hyper::Request<hyper::body::Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The head, idle and send deadlines are kept by `Watched`; hyper's single header timer
    // would bound the idle wait and the head together.
    http.timer(TokioTimer::new())
        .header_read_timeout(None)
        // A client may shut its side once its request is sent (`nc -N`, some proxies): answer
        // it rather than closing on the early end of its stream.
        .half_close(true)
        .keep_alive(true);
    let timeouts = Timeouts {
        head: limits.head_timeout,
        idle: limits.idle_timeout,
        send: limits.send_timeout,
    };
    let h2 = grpc
        .as_ref()
        .map(|grpc| H2::new(limits.idle_timeout, grpc.busy_bound));
    let grpc_listener = grpc.as_ref().map(|grpc| &grpc.listener);
    while let Some((accepted, permit)) = accept(&listener, grpc_listener, &permits, &stop).await {
        let stream = match (accepted, &grpc, &h2) {
            (Accepted::Http(stream), _, _) => stream,
            (Accepted::Grpc(stream), Some(grpc), Some(h2)) => {
                h2.serve_connection(stream, grpc.service.clone(), permit, &graceful);
                continue;
            }
            (Accepted::Grpc(_), _, _) => unreachable!("gRPC connections come only from its listener"),
        };
        let service = TowerToHyperService::new(router.clone());
        let stream = TokioIo::new(Watched::new(stream, timeouts));
        let connection = graceful.watch(http.serve_connection(stream, service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // A deadline was logged where it fired.
                let deadline = std::error::Error::source(&error).is_some_and(is_deadline);
                if !deadline {
                    tracing::debug!(%error, "connection ended with an error");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    drop(grpc);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_open_files_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max cpu time              unlimited            unlimited            seconds\n\
                      Max open files            1024                 1048576              files\n";
        assert_eq!(soft_open_files(limits), Some(1024));
        assert_eq!(soft_open_files("Max open files  unlimited unlimited files"), None);
    }

    #[test]
    fn the_default_cap_is_the_open_files_limit_less_64_kept_for_the_server() {
        assert_eq!(default_max_connections(Some(1_048_576)), 1_048_512);
        assert_eq!(default_max_connections(Some(4096)), 4032);
    }

    #[test]
    fn an_unlimited_or_unknown_open_files_limit_counts_as_1024() {
        assert_eq!(default_max_connections(None), 960);
    }

    #[test]
    fn a_tiny_open_files_limit_still_allows_16_connections() {
        assert_eq!(default_max_connections(Some(70)), 16);
        assert_eq!(default_max_connections(Some(10)), 16);
    }
}
