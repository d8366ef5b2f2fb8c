//! HTTP/2 without TLS (h2c), the transport of gRPC: connections from `serve`'s accept loop,
//! under the same connection cap and graceful shutdown as HTTP/1.1, with the bounds HTTP/2
//! needs instead of the HTTP/1.1 head and idle deadlines: keep-alive pings find dead peers, a
//! connection with no call for the idle timeout is closed, and so is one whose calls make no
//! progress (a handler bounded by its own deadline, a response the client does not read).
//! Calls run in their connection's task first (`batched.rs`).

use std::{error::Error, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http2::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;

mod activity;
mod batched;

use activity::{Activity, Tracked};
use batched::{Batched, Deferred};

/// How often an HTTP/2 connection is pinged, and how long the answer may take: a peer gone
/// without closing (a dropped NAT entry, a killed pod) frees its connection within both.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Calls at once on one connection (gRPC clients multiplex on few connections); each call's
/// memory is bounded by the body limit and the in-flight budget.
const MAX_STREAMS: u32 = 256;
/// Headers of one call: gRPC metadata is small.
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;
/// Flow-control windows large enough that an 18 MB tensor is not sent 64 KiB at a time (the
/// HTTP/2 default), small enough that a client cannot park much unread data per call.
const STREAM_WINDOW_BYTES: u32 = 1 << 20;
const CONNECTION_WINDOW_BYTES: u32 = 4 << 20;
const MAX_FRAME_BYTES: u32 = 256 * 1024;

/// gRPC's part of the accept loop: its listener and service.
pub struct Grpc<S> {
    pub listener: TcpListener,
    pub service: S,
    /// A connection whose calls make no progress for this long is closed: a call's own deadline
    /// and then the send timeout.
    pub busy_bound: Duration,
}

/// HTTP/2 connections with their bounds.
pub(super) struct H2 {
    idle: Duration,
    busy: Duration,
}

impl H2 {
    pub(super) fn new(idle: Duration, busy: Duration) -> Self {
        H2 { idle, busy }
    }

    /// The connection settings, with `calls` as the executor of one connection's calls.
    fn builder(calls: Deferred) -> Builder<Deferred> {
        let mut http = Builder::new(calls);
        http.timer(TokioTimer::new())
            .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL))
            .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
            .max_concurrent_streams(MAX_STREAMS)
            .max_header_list_size(MAX_HEADER_LIST_BYTES)
            .initial_stream_window_size(STREAM_WINDOW_BYTES)
            .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
            .max_frame_size(MAX_FRAME_BYTES)
            // gRPC clients read no `date` (grpc-go and grpc-core servers send none); a new one
            // every second is one more header to HPACK-encode per answer.
            .auto_date_header(false);
        http
    }

    /// Serves `service` on `stream` until the client closes it, `graceful` shuts it down (a
    /// GOAWAY, then its calls finish), or it stays idle or stalled too long; then frees `permit`.
    pub(super) fn serve_connection<S, B>(
        &self,
        stream: TcpStream,
        service: S,
        permit: OwnedSemaphorePermit,
        graceful: &GracefulShutdown,
    ) where
        S: tower::Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn Error + Send + Sync>>,
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn Error + Send + Sync>>,
    {
        let activity = Arc::new(Activity::new());
        let service = TowerToHyperService::new(Tracked {
            inner: service,
            activity: activity.clone(),
        });
        let calls = Deferred::default();
        let connection = Self::builder(calls.clone()).serve_connection(TokioIo::new(stream), service);
        let connection = Batched::new(graceful.watch(connection), calls);
        let (idle, busy) = (self.idle, self.busy);
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(error) = ended {
                    tracing::debug!(%error, "HTTP/2 connection ended with an error");
                },
                why = activity.expired(idle, busy) => tracing::debug!(why, "closing an HTTP/2 connection"),
            }
            drop(permit);
        });
    }
}
