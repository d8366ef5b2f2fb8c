//! HTTP/2 without TLS (h2c), the transport of gRPC: connections from `serve`'s accept loop,
//! under the same connection cap and graceful shutdown as HTTP/1.1, with the bounds HTTP/2
//! needs instead of the HTTP/1.1 head and idle deadlines: keep-alive pings find dead peers, a
//! connection with no call for the idle timeout is closed, and so is one whose calls make no
//! progress (a handler bounded by its own deadline, a response the client does not read).

use std::{
    error::Error,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http2::Builder;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

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
    http: Builder<TokioExecutor>,
    idle: Duration,
    busy: Duration,
}

impl H2 {
    pub(super) fn new(idle: Duration, busy: Duration) -> Self {
        let mut http = Builder::new(TokioExecutor::new());
        http.timer(TokioTimer::new())
            .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL))
            .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
            .max_concurrent_streams(MAX_STREAMS)
            .max_header_list_size(MAX_HEADER_LIST_BYTES)
            .initial_stream_window_size(STREAM_WINDOW_BYTES)
            .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
            .max_frame_size(MAX_FRAME_BYTES);
        H2 { http, idle, busy }
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
        let connection = graceful.watch(self.http.serve_connection(TokioIo::new(stream), service));
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

/// One connection's calls: how many are open (from the request until the response body's end)
/// and when one last made progress.
struct Activity {
    started: Instant,
    open: AtomicUsize,
    /// Milliseconds from `started`.
    progress_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            started: Instant::now(),
            open: AtomicUsize::new(0),
            progress_ms: AtomicU64::new(0),
        }
    }

    fn progressed(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.progress_ms.fetch_max(now, Ordering::Relaxed);
    }

    fn last_progress(&self) -> Instant {
        self.started + Duration::from_millis(self.progress_ms.load(Ordering::Relaxed))
    }

    /// Resolves when the connection has had no call for `idle`, or open calls and no progress
    /// for `busy`, with which of the two.
    async fn expired(&self, idle: Duration, busy: Duration) -> &'static str {
        loop {
            let (bound, why) = if self.open.load(Ordering::Acquire) == 0 {
                (idle, "idle")
            } else {
                (busy, "calls made no progress")
            };
            let deadline = self.last_progress() + bound;
            if Instant::now() >= deadline {
                return why;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// The connection's service, counting its calls as open until their response bodies end.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

/// An open call: counted until dropped.
struct Open(Arc<Activity>);

impl Open {
    fn new(activity: Arc<Activity>) -> Self {
        activity.open.fetch_add(1, Ordering::AcqRel);
        activity.progressed();
        Open(activity)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.progressed();
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S, B> tower::Service<hyper::Request<Incoming>> for Tracked<S>
where
    S: tower::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes>,
{
    type Response = hyper::Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: hyper::Request<Incoming>) -> Self::Future {
        let open = Open::new(self.activity.clone());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            open.0.progressed();
            Ok(response.map(|body| TrackedBody {
                body,
                open: Some(open),
            }))
        })
    }
}

/// A response body that marks progress with every frame and closes its call at its end.
struct TrackedBody<B> {
    body: B,
    open: Option<Open>,
}

impl<B: Body<Data = Bytes> + Unpin> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        match &frame {
            Poll::Ready(None) => drop(this.open.take()),
            Poll::Ready(Some(_)) => {
                if let Some(open) = &this.open {
                    open.0.progressed();
                }
            }
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_millis(100);
    const BUSY: Duration = Duration::from_millis(400);

    #[tokio::test]
    async fn a_connection_without_calls_expires_after_the_idle_timeout() {
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expired(IDLE, BUSY).await, "idle");
        let waited = started.elapsed();
        assert!(waited >= IDLE && waited < BUSY, "{waited:?}");
    }

    #[tokio::test]
    async fn an_open_call_holds_the_connection_until_it_stops_progressing() {
        let activity = Arc::new(Activity::new());
        let open = Open::new(activity.clone());
        let started = Instant::now();
        assert_eq!(activity.expired(IDLE, BUSY).await, "calls made no progress");
        assert!(started.elapsed() >= BUSY, "{:?}", started.elapsed());
        drop(open);
        let closed = Instant::now();
        assert_eq!(activity.expired(IDLE, BUSY).await, "idle");
        assert!(
            closed.elapsed() >= IDLE && closed.elapsed() < BUSY,
            "{:?}",
            closed.elapsed()
        );
    }
}
