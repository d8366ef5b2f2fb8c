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
    /// `0`: a run alone in the process splits over every core; runs at once take one thread
    /// each. Measured on 2 cores (BENCHMARKS.md, "Deep-learning models against onnxruntime"): a
    /// pool of 2 cut ResNet-50's single-image latency by about 30 %, and cost 14-32 % of images
    /// per second at 8 concurrent requests when every run split, where the per-core scoring slots
    /// already fill the cores. Splitting only the run that has the machine to itself takes the
    /// first without the second.
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
                RunThreads::when_alone(cores),
                format!(
                    "auto: a run alone splits over the {cores} cores, runs at once take one \
                     thread each (BENCHMARKS.md); --intra-op-threads sets a fixed count"
                ),
            ),
            IntraOpThreads::Auto => (RunThreads::new(1), "auto: one core".to_owned()),
        }
    }
}

/// Where a model's runs go: on the calling thread alone, or split over a pool made once, always
/// or only when no other run is in flight. Clones share the pool and the count of runs.
#[derive(Clone, Default)]
pub struct RunThreads {
    /// `None`: one thread, no scope (as without the feature).
    pool: Option<Executor>,
    /// `Some` for `auto`: the runs in flight, so that only a run alone takes the pool.
    in_flight: Option<Arc<AtomicUsize>>,
}

impl std::fmt::Debug for RunThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let when = if self.in_flight.is_some() {
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
            in_flight: None,
        }
    }

    /// A pool of `threads` that a run takes only when it is the only one in flight.
    pub fn when_alone(threads: usize) -> Self {
        RunThreads {
            in_flight: Some(Arc::default()),
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

    /// Runs `run` with tract's kernels split over the pool, if there is one and this run may
    /// take it.
    pub fn scope<T>(&self, run: impl FnOnce() -> T) -> T {
        let Some(pool) = &self.pool else {
            return run();
        };
        let Some(in_flight) = &self.in_flight else {
            return multithread_tract_scope(pool.clone(), run);
        };
        let counted = InFlight::enter(in_flight);
        let executor = if counted.alone {
            pool.clone()
        } else {
            Executor::SingleThread
        };
        multithread_tract_scope(executor, run)
    }
}

/// One run counted in flight until dropped (a run that panics is uncounted too).
struct InFlight<'a> {
    count: &'a AtomicUsize,
    /// No other run was in flight when this one entered.
    alone: bool,
}

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        // Relaxed: the count only steers a speed choice; no memory is published through it.
        let alone = count.fetch_add(1, Ordering::Relaxed) == 0;
        InFlight { count, alone }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
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
        assert!(threads.in_flight.is_some() && why.contains("alone"), "{why}");
        assert_eq!(auto.resolve(1).0.threads(), 1);
        let (fixed, _) = IntraOpThreads::from_count(3).resolve(2);
        assert_eq!(fixed.threads(), 3);
        assert!(fixed.in_flight.is_none());
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
    fn only_a_run_alone_takes_the_pool_and_a_finished_or_panicked_run_leaves_it() {
        let threads = RunThreads::when_alone(2);
        let clone = threads.clone();
        assert!(threads.scope(on_pool), "alone");
        // A run inside another's (as a second scoring slot's run overlaps the first): one thread.
        assert_eq!(threads.scope(|| (on_pool(), clone.scope(on_pool))), (true, false));
        assert!(threads.scope(on_pool), "the count went back to zero");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            threads.scope(|| panic!("a run that panics"))
        }));
        assert!(panicked.is_err());
        assert!(clone.scope(on_pool), "a panicked run is no longer counted");
        assert!(RunThreads::new(2).scope(|| (on_pool(), RunThreads::new(2).scope(on_pool))) == (true, true));
    }
}
