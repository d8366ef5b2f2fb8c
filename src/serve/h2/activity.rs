//! One HTTP/2 connection's calls, for its idle and stall bounds: counted as open from the request
//! until the response body's end, with a count of their progress.

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
/// and a count of their progress (a call opened, answered, sent a frame, closed).
///
/// Progress is counted, not timed: a call makes it three or more times, and reading the clock
/// each time cost more than the rest of the bookkeeping (gRPC's small calls run at 80,000 a
/// second). `expired` looks at the count four times per bound instead (the shorter bound's, in
/// either state), so a connection is closed between 1 and 1.25 times its bound after its last
/// progress.
pub(super) struct Activity {
    open: AtomicUsize,
    progress: AtomicU64,
}

/// How many times per bound `expired` looks at the progress count.
const LOOKS_PER_BOUND: u32 = 4;

impl Activity {
    pub(super) fn new() -> Self {
        Activity {
            open: AtomicUsize::new(0),
            progress: AtomicU64::new(0),
        }
    }

    fn progressed(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// Resolves when the connection has had no call for `idle`, or open calls and no progress
    /// for `busy`, with which of the two.
    pub(super) async fn expired(&self, idle: Duration, busy: Duration) -> &'static str {
        let mut seen = self.progress.load(Ordering::Relaxed);
        // When progress was last seen (it happened at most one look before).
        let mut since = Instant::now();
        loop {
            let (bound, why) = if self.open.load(Ordering::Acquire) == 0 {
                (idle, "idle")
            } else {
                (busy, "calls made no progress")
            };
            let deadline = since + bound;
            let now = Instant::now();
            if now >= deadline {
                return why;
            }
            let look = idle.min(busy) / LOOKS_PER_BOUND;
            tokio::time::sleep_until(deadline.min(now + look)).await;
            let progress = self.progress.load(Ordering::Relaxed);
            if progress != seen {
                seen = progress;
                since = Instant::now();
            }
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

    /// Progress every `every` for `times` times, from now.
    fn progress(activity: &Arc<Activity>, every: Duration, times: u32) -> tokio::task::JoinHandle<()> {
        let activity = activity.clone();
        tokio::spawn(async move {
            for _ in 0..times {
                tokio::time::sleep(every).await;
                activity.progressed();
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn progress_holds_a_busy_connection_which_closes_within_a_quarter_bound_after_it_stops() {
        let activity = Arc::new(Activity::new());
        let _open = Open::new(activity.clone());
        let started = Instant::now();
        let progressing = progress(&activity, BUSY / 2, 6);
        assert_eq!(activity.expired(IDLE, BUSY).await, "calls made no progress");
        let last_progress = started + 3 * BUSY;
        let after = Instant::now() - last_progress;
        assert!(after >= BUSY && after <= BUSY + IDLE / 4, "{after:?}");
        progressing.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_whose_last_call_ends_closes_within_a_quarter_idle_bound_after() {
        let activity = Arc::new(Activity::new());
        let open = Open::new(activity.clone());
        let started = Instant::now();
        let progressing = progress(&activity, BUSY / 2, 4);
        let closing = tokio::spawn(async move {
            tokio::time::sleep(2 * BUSY).await;
            drop(open);
        });
        assert_eq!(activity.expired(IDLE, BUSY).await, "idle");
        let after = Instant::now() - (started + 2 * BUSY);
        assert!(after >= IDLE && after <= IDLE + IDLE / 4, "{after:?}");
        progressing.await.unwrap();
        closing.await.unwrap();
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
