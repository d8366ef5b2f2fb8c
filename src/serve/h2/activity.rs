//! One HTTP/2 connection's calls, for its idle and stall bounds: counted as open from the request
//! until the response body's end, with the time one last made progress.

use std::{
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
use tokio::time::Instant;

/// One connection's calls: how many are open (from the request until the response body's end)
/// and when one last made progress.
pub(super) struct Activity {
    started: Instant,
    open: AtomicUsize,
    /// Milliseconds from `started`.
    progress_ms: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Self {
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
    pub(super) async fn expired(&self, idle: Duration, busy: Duration) -> &'static str {
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
pub(super) struct Tracked<S> {
    pub inner: S,
    pub activity: Arc<Activity>,
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
pub(super) struct TrackedBody<B> {
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
