//! HTTP/2 calls run where they arrive, in their connection's task, in batches: every call whose
//! headers came in one read of the socket is run after that read, and their answers leave in one
//! write.
//!
//! hyper's HTTP/2 server hands each stream to its executor as soon as the stream's headers are
//! decoded, and by then the connection has decoded every frame the read brought, so a small
//! call's whole message is there. Spawning a task per call, as `TokioExecutor` does, made each
//! answer wake the connection and leave in a write of its own (a gRPC client with 8 streams on a
//! connection sends several calls per write, and got one write per answer back). Here the
//! executor only queues the call ([`Deferred`]); [`Batched`] polls the connection, then each
//! queued call once (a cheap call, decoded, scored and encoded in place by `Scorer::run`,
//! completes and queues its frames), then the connection again, which flushes them all at once
//! and reads what came meanwhile. A call that waits (its message still arriving, a run on the
//! blocking pool, the batcher, a full send window) is spawned and polled again by its own task,
//! which registers that task's waker wherever it waits. This is how HTTP/1.1 runs a request too:
//! inside its connection's task.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A connection's executor: it queues the connection's calls for [`Batched`] to run.
#[derive(Clone, Default)]
pub(super) struct Deferred {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Deferred {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<F> hyper::rt::Executor<F> for Deferred
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, call: F) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(call));
    }
}

/// A connection driven with the calls its executor queued.
pub(super) struct Batched<C> {
    connection: Pin<Box<C>>,
    calls: Deferred,
}

impl<C: Future> Batched<C> {
    /// `connection` must have been built with `calls` as its executor.
    pub(super) fn new(connection: C, calls: Deferred) -> Self {
        Batched {
            connection: Box::pin(connection),
            calls,
        }
    }
}

impl<C: Future> Future for Batched<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        // Each turn needs new frames from the socket, so the loop ends when the client pauses,
        // or when tokio's cooperative budget makes the socket read Pending.
        loop {
            let polled = self.connection.as_mut().poll(cx);
            let calls = self.calls.take();
            if calls.is_empty() {
                return polled;
            }
            for mut call in calls {
                // A waker that does nothing is enough for one poll: a call not done is spawned,
                // and its task polls it again at once.
                if call
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_pending()
                {
                    tokio::spawn(call);
                }
            }
            if polled.is_ready() {
                return polled;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Executor;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A connection stand-in: it queues `calls` calls on its first poll, then waits forever.
    struct QueuesCalls {
        executor: Deferred,
        calls: Vec<Call>,
    }

    impl Future for QueuesCalls {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            for call in std::mem::take(&mut self.calls) {
                self.executor.execute(call);
            }
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn ready_calls_run_in_the_connection_poll_and_waiting_ones_are_spawned() {
        let done = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (finished, finished_seen) = tokio::sync::oneshot::channel::<()>();
        let (ready, waiting) = (done.clone(), done.clone());
        let calls: Vec<Call> = vec![
            Box::pin(async move {
                ready.fetch_add(1, Ordering::SeqCst);
            }),
            Box::pin(async move {
                released.await.unwrap();
                waiting.fetch_add(1, Ordering::SeqCst);
                finished.send(()).unwrap();
            }),
        ];
        let executor = Deferred::default();
        let mut connection = Batched::new(
            QueuesCalls {
                executor: executor.clone(),
                calls,
            },
            executor.clone(),
        );
        let polled = Pin::new(&mut connection).poll(&mut Context::from_waker(Waker::noop()));
        assert!(polled.is_pending());
        assert_eq!(done.load(Ordering::SeqCst), 1, "the ready call ran in the poll");
        assert!(executor.take().is_empty(), "nothing is left queued");
        release.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), finished_seen)
            .await
            .expect("the waiting call, spawned, is woken and completes")
            .unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 2);
    }
}
