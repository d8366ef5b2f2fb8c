//! HTTP/2 calls run where they arrive, in their connection's task, in batches: the calls whose
//! headers came in the connection's last reads are run after those reads, and their answers are
//! written together (one write, unless they outgrow h2's write buffer).
//!
//! hyper's HTTP/2 server hands each stream to its executor as soon as the stream's headers are
//! decoded, and by then the connection has decoded every frame the socket had, so a small
//! call's whole message is there. Spawning a task per call (hyper-util's `TokioExecutor`) made
//! each answer wake the connection and leave in a write of its own (a gRPC client with 8 streams
//! on a connection sends several calls per write, and got one write per answer back). Here the
//! executor only queues the call ([`Deferred`]); [`Batched`] polls the connection, then each
//! queued call once (a cheap call, decoded, scored and encoded in place by `Scorer::run`,
//! completes and queues its frames), then the connection again, which flushes them all at once
//! and reads what came meanwhile. A call that waits (its message still arriving, a run on the
//! blocking pool, the batcher, a full send window) is spawned and polled again by its own task,
//! which registers that task's waker wherever it waits. This is how HTTP/1.1 runs a request too:
//! inside its connection's task. The cost: a connection's cheap calls share its one thread, and
//! the first answer of a batch waits for the batch's other cheap calls.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A connection's executor: it queues the connection's calls for [`Batched`] to run.
#[derive(Clone, Default)]
pub(super) struct Deferred {
    queue: Arc<Mutex<Queue>>,
}

#[derive(Default)]
struct Queue {
    calls: Vec<Call>,
    /// The connection's task, woken when a call is queued from elsewhere (hyper queues an
    /// upgraded stream's task from the stream's own task).
    connection: Option<Waker>,
    /// `Batched` is polling the connection or running calls, and takes the queue again after:
    /// no wake needed.
    draining: bool,
}

impl Deferred {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<F> hyper::rt::Executor<F> for Deferred
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, call: F) {
        let mut queue = self.queue();
        queue.calls.push(Box::pin(call));
        if let (false, Some(connection)) = (queue.draining, &queue.connection) {
            connection.wake_by_ref();
        }
    }
}

/// A connection driven with the calls its executor queued.
pub(super) struct Batched<C> {
    connection: Pin<Box<C>>,
    calls: Deferred,
    /// The calls being run, in a vector kept for its capacity.
    running: Vec<Call>,
}

impl<C: Future> Batched<C> {
    /// `connection` must have been built with `calls` as its executor.
    pub(super) fn new(connection: C, calls: Deferred) -> Self {
        Batched {
            connection: Box::pin(connection),
            calls,
            running: Vec::new(),
        }
    }
}

impl<C: Future> Future for Batched<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let this = &mut *self;
        {
            let mut queue = this.calls.queue();
            if !queue
                .connection
                .as_ref()
                .is_some_and(|known| known.will_wake(cx.waker()))
            {
                queue.connection = Some(cx.waker().clone());
            }
            // Calls queued from here on (by the connection's poll, or by calls running) are
            // taken below: no wake needed until the queue is found empty.
            queue.draining = true;
        }
        // Each turn needs new frames from the socket, so the loop ends when the client pauses,
        // or when tokio's cooperative budget makes the socket read Pending.
        loop {
            let polled = this.connection.as_mut().poll(cx);
            {
                let mut queue = this.calls.queue();
                std::mem::swap(&mut queue.calls, &mut this.running);
                queue.draining = !this.running.is_empty() && polled.is_pending();
            }
            if this.running.is_empty() {
                return polled;
            }
            for call in this.running.drain(..) {
                run_or_spawn(call);
            }
            if polled.is_ready() {
                return polled;
            }
        }
    }
}

impl<C> Drop for Batched<C> {
    fn drop(&mut self) {
        // Queued calls hold the executor, and so their queue: dropped here, not kept by a cycle.
        drop(std::mem::take(&mut self.calls.queue().calls));
    }
}

/// Polls `call` once and spawns it if it is not done. A waker that does nothing is enough for
/// that poll: the spawned task polls the call again at once. A call that panics is dropped,
/// which resets its stream alone (as a panic in a spawned call's task does), not the connection
/// and its other calls.
fn run_or_spawn(mut call: Call) {
    let polled = catch_unwind(AssertUnwindSafe(|| {
        call.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }));
    match polled {
        Ok(Poll::Ready(())) => {}
        Ok(Poll::Pending) => drop(tokio::spawn(call)),
        Err(_) => tracing::error!("an HTTP/2 call panicked; its stream is reset"),
    }
}

#[cfg(test)]
mod tests;
