//! Intra-op threads (SPEC 9, `--intra-op-threads`): how many threads one model run may use.
//! tract splits a run's matrix products, element-wise and reduction kernels over a rayon pool of
//! its own (`tract_linalg` feature `multithread-mm`), and so does our direct convolution; the pool
//! is made once, at start.

use std::{
    num::NonZeroUsize,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use tract_linalg::multithread::{multithread_tract_scope, Executor};

/// The setting as `config` builds it (at most 256 threads, checked there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntraOpThreads {
    /// `0`: the run of a request alone in the scorer splits over every core (and so does the
    /// reading of its large JSON tensors, when the model is not batched); a run that starts while other requests are there
    /// (waiting, decoding, running) takes one thread. (The
    /// choice is made as a run starts: one that started alone keeps the pool until it ends.)
    /// Measured on 2 cores (BENCHMARKS.md, "Deep-learning models against onnxruntime"): a pool
    /// of 2 cut ResNet-50's single-image latency by about 30 %, and cost 10-35 % of images per
    /// second at 8 concurrent requests when every run split, where the per-core scoring slots
    /// already fill the cores. Splitting only the run that has the machine to itself takes the first without
    /// the second. (Counting runs in flight instead cost DenseNet-121 7 % at 8 concurrent: a run
    /// that started while the other slot decoded its JSON split, then shared the cores with it.)
    #[default]
    Auto,
    /// This many threads per run, whatever else runs; 1 runs as without the feature.
    Fixed(NonZeroUsize),
}

impl IntraOpThreads {
    /// `0` is `Auto`.
    pub fn from_count(count: usize) -> Self {
        NonZeroUsize::new(count).map_or(IntraOpThreads::Auto, IntraOpThreads::Fixed)
    }

    /// Where runs go on a machine of `cores`, and why, for the start log.
    pub fn resolve(self, cores: usize) -> (RunThreads, String) {
        match self {
            IntraOpThreads::Fixed(n) => (RunThreads::new(n.get()), "set by --intra-op-threads".to_owned()),
            IntraOpThreads::Auto if cores > 1 => (
                RunThreads::when_alone(cores, Occupancy::default()),
                format!(
                    "auto: the run of a request alone splits over the {cores} cores, runs of \
                     requests at once take one thread each (BENCHMARKS.md); --intra-op-threads \
                     sets a fixed count"
                ),
            ),
            IntraOpThreads::Auto => (RunThreads::new(1), "auto: one core".to_owned()),
        }
    }
}

/// Where a model's runs go: on the calling thread alone, or split over a pool made once, always
/// or only when its request is alone. Clones share the pool and the occupancy.
#[derive(Clone, Default)]
pub struct RunThreads {
    /// `None`: one thread, no scope (as without the feature).
    pool: Option<Executor>,
    /// `Some` for `auto`: the requests the scorer holds, so that only a request alone takes the
    /// pool.
    occupancy: Option<Occupancy>,
}

impl std::fmt::Debug for RunThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = if self.occupancy.is_some() {
            " when alone"
        } else {
            ""
        };
        write!(f, "RunThreads({}{when})", self.threads())
    }
}

impl RunThreads {
    /// `threads` per run: a pool of that many for more than one.
    pub fn new(threads: usize) -> Self {
        RunThreads {
            pool: (threads > 1).then(|| Executor::multithread_with_name(threads, "intra-op")),
            occupancy: None,
        }
    }

    /// A pool of `threads` that a run takes only while `occupancy` holds at most its own request.
    pub fn when_alone(threads: usize, occupancy: Occupancy) -> Self {
        RunThreads {
            occupancy: Some(occupancy),
            ..RunThreads::new(threads)
        }
    }

    /// The most threads one run uses.
    pub fn threads(&self) -> usize {
        match &self.pool {
            Some(Executor::MultiThread(pool)) => pool.current_num_threads(),
            _ => 1,
        }
    }

    /// The count the scorer keeps for `auto` (`None` for a fixed count).
    pub fn occupancy(&self) -> Option<&Occupancy> {
        self.occupancy.as_ref()
    }

    /// Runs `work` (a request's decoding) split over the pool only on `auto`, when its request is
    /// alone: a fixed pool is left to the runs, so that the decoding of concurrent requests stays
    /// on their own threads rather than queueing for a pool smaller than the machine.
    pub fn scope_when_alone<T>(&self, work: impl FnOnce() -> T) -> T {
        match &self.occupancy {
            Some(_) => self.scope(work),
            None => work(),
        }
    }

    /// Runs `run` with tract's kernels split over the pool, if there is one and this run may
    /// take it.
    pub fn scope<T>(&self, run: impl FnOnce() -> T) -> T {
        let Some(pool) = &self.pool else {
            return run();
        };
        let executor = match &self.occupancy {
            Some(occupancy) if !occupancy.is_alone() => Executor::SingleThread,
            _ => pool.clone(),
        };
        multithread_tract_scope(executor, run)
    }
}

/// The pool of the run scope the caller is in (`RunThreads::scope`: a request alone on `auto`,
/// or a fixed pool), when it has more than one thread: what work within a run splits over.
pub fn current_pool() -> Option<Arc<rayon::ThreadPool>> {
    use tract_linalg::multithread::current_tract_executor;
    match current_tract_executor() {
        Executor::MultiThread(pool) if pool.current_num_threads() > 1 => Some(pool),
        _ => None,
    }
}

/// Whether the caller is in a run scope of more than one thread, where `both` runs its two
/// parts at once.
pub fn both_at_once() -> bool {
    current_pool().is_some()
}

/// Runs `a` and `b` at once on the pool of the run scope the caller is in; one after the other
/// outside a scope or on one thread.
pub fn both<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    match current_pool() {
        Some(pool) => pool.join(a, b),
        None => (a(), b()),
    }
}

/// The requests a scorer holds, from arrival until their work ends (waiting for a slot, decoding,
/// running, encoding; a run that outlives its request's timeout counts until it ends). Clones
/// share the count.
#[derive(Debug, Clone, Default)]
pub struct Occupancy(Arc<AtomicUsize>);

impl Occupancy {
    /// Counts one request until the guard is dropped (wherever its work goes: a blocking thread
    /// or the batcher's queue; a panic drops it too).
    pub fn enter(&self) -> Entered {
        // Relaxed: the count only steers a speed choice; no memory is published through it.
        self.0.fetch_add(1, Ordering::Relaxed);
        Entered(self.0.clone())
    }

    /// The requests held now.
    #[cfg(test)]
    pub fn requests(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// At most one request (the caller's own) is held.
    fn is_alone(&self) -> bool {
        self.0.load(Ordering::Relaxed) <= 1
    }
}

/// One request counted in an [`Occupancy`], until dropped.
#[must_use = "the request is counted only while this is held"]
#[derive(Debug)]
pub struct Entered(Arc<AtomicUsize>);

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_linalg::multithread::current_tract_executor;

    #[test]
    fn auto_splits_a_run_alone_over_the_cores_and_a_count_is_kept() {
        let auto = IntraOpThreads::from_count(0);
        assert_eq!(auto, IntraOpThreads::Auto);
        let (threads, why) = auto.resolve(2);
        assert_eq!(threads.threads(), 2);
        assert!(threads.occupancy().is_some() && why.contains("alone"), "{why}");
        assert_eq!(auto.resolve(1).0.threads(), 1);
        let (fixed, _) = IntraOpThreads::from_count(3).resolve(2);
        assert_eq!(fixed.threads(), 3);
        assert!(fixed.occupancy().is_none());
    }

    #[test]
    fn a_pool_of_one_is_no_pool() {
        assert_eq!(RunThreads::new(1).threads(), 1);
        assert_eq!(RunThreads::new(2).threads(), 2);
        assert_eq!(RunThreads::new(2).scope(|| 7), 7);
    }

    fn on_pool() -> bool {
        matches!(current_tract_executor(), Executor::MultiThread(_))
    }

    #[test]
    fn only_the_run_of_a_request_alone_takes_the_pool() {
        let occupancy = Occupancy::default();
        let threads = RunThreads::when_alone(2, occupancy.clone());
        assert!(threads.scope(on_pool), "no request counted (a warm-up run)");
        let first = occupancy.enter();
        assert!(threads.scope(on_pool), "its own request alone");
        let second = occupancy.enter();
        assert!(!threads.scope(on_pool), "another request held");
        drop(first);
        assert!(threads.clone().scope(on_pool), "alone again");
        drop(second);
        let _many = [occupancy.enter(), occupancy.enter()];
        assert!(!threads.scope(on_pool));
        let fixed = RunThreads::new(2);
        assert!(
            fixed.occupancy().is_none() && fixed.scope(on_pool),
            "a fixed count always splits"
        );
    }
}
