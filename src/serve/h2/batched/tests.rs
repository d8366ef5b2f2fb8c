use super::*;
use hyper::rt::Executor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A connection stand-in: on its first poll it queues `calls`, then answers `then`; later
/// polls answer Pending.
struct QueuesCalls {
    executor: Deferred,
    calls: Vec<Call>,
    then: Poll<()>,
    polls: Arc<AtomicUsize>,
}

impl Future for QueuesCalls {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let first = self.polls.fetch_add(1, Ordering::SeqCst) == 0;
        if !first {
            return Poll::Pending;
        }
        for call in std::mem::take(&mut self.calls) {
            self.executor.execute(call);
        }
        self.then
    }
}

fn counting(done: &Arc<AtomicUsize>) -> Call {
    let done = done.clone();
    Box::pin(async move {
        done.fetch_add(1, Ordering::SeqCst);
    })
}

fn connection(calls: Vec<Call>, then: Poll<()>) -> (Batched<QueuesCalls>, Deferred, Arc<AtomicUsize>) {
    let executor = Deferred::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let stand_in = QueuesCalls {
        executor: executor.clone(),
        calls,
        then,
        polls: polls.clone(),
    };
    (Batched::new(stand_in, executor.clone()), executor, polls)
}

fn poll_once(connection: &mut Batched<QueuesCalls>) -> Poll<()> {
    Pin::new(connection).poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test]
async fn ready_calls_run_in_the_connection_poll_and_waiting_ones_are_spawned() {
    let done = Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (finished, finished_seen) = tokio::sync::oneshot::channel::<()>();
    let waiting = done.clone();
    let calls: Vec<Call> = vec![
        counting(&done),
        Box::pin(async move {
            released.await.unwrap();
            waiting.fetch_add(1, Ordering::SeqCst);
            finished.send(()).unwrap();
        }),
    ];
    let (mut connection, executor, polls) = connection(calls, Poll::Pending);
    assert!(poll_once(&mut connection).is_pending());
    assert_eq!(done.load(Ordering::SeqCst), 1, "the ready call ran in the poll");
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "the connection was polled again after its calls"
    );
    assert!(executor.queue().calls.is_empty(), "nothing is left queued");
    release.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), finished_seen)
        .await
        .expect("the waiting call, spawned, is woken and completes")
        .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn calls_queued_as_the_connection_ends_still_run() {
    let done = Arc::new(AtomicUsize::new(0));
    let (mut connection, _, polls) = connection(vec![counting(&done), counting(&done)], Poll::Ready(()));
    assert!(poll_once(&mut connection).is_ready());
    assert_eq!(done.load(Ordering::SeqCst), 2);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "an ended connection is not polled again"
    );
}

#[tokio::test]
async fn a_panicking_call_is_dropped_alone() {
    let done = Arc::new(AtomicUsize::new(0));
    let calls: Vec<Call> = vec![Box::pin(async { panic!("a handler's bug") }), counting(&done)];
    let (mut connection, _, _) = connection(calls, Poll::Pending);
    assert!(poll_once(&mut connection).is_pending(), "the connection goes on");
    assert_eq!(done.load(Ordering::SeqCst), 1, "the other call ran");
}

#[tokio::test]
async fn a_call_queued_from_another_task_wakes_the_connection() {
    let (mut connection, executor, _) = connection(Vec::new(), Poll::Pending);
    let woken = Arc::new(Woken::default());
    let waker = Waker::from(woken.clone());
    assert!(Pin::new(&mut connection)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(woken.0.load(Ordering::SeqCst), 0);
    executor.execute(async {});
    assert_eq!(
        woken.0.load(Ordering::SeqCst),
        1,
        "the connection's task is woken to run it"
    );
}

#[derive(Default)]
struct Woken(AtomicUsize);

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_call_queued_while_calls_run_runs_in_the_same_poll_without_a_wake() {
    let done = Arc::new(AtomicUsize::new(0));
    let executor = Deferred::default();
    let (queuing, later) = (executor.clone(), counting(&done));
    let first: Call = Box::pin(async move { queuing.execute(later) });
    let polls = Arc::new(AtomicUsize::new(0));
    let stand_in = QueuesCalls {
        executor: executor.clone(),
        calls: vec![first],
        then: Poll::Pending,
        polls,
    };
    let mut connection = Batched::new(stand_in, executor);
    let woken = Arc::new(Woken::default());
    let waker = Waker::from(woken.clone());
    assert!(Pin::new(&mut connection)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert_eq!(done.load(Ordering::SeqCst), 1, "the call queued by a call ran");
    assert_eq!(woken.0.load(Ordering::SeqCst), 0, "no wake while the calls ran");
}
