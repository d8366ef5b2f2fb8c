//! Intra-op threads (SPEC 9, `--intra-op-threads`): how many threads one model run may use.
//! tract splits a run's matrix products, element-wise and reduction kernels over a rayon pool of
//! its own (`tract_linalg` feature `multithread-mm`); the pool is made once, at start.

use std::{num::NonZeroUsize, time::Duration};

use tract_linalg::multithread::{multithread_tract_scope, Executor};

/// `auto` is one thread per run, from BENCHMARKS.md ("Deep-learning models against onnxruntime",
/// 2 cores): a pool of 2 cut ResNet-50's single-image latency from 138 to 88 ms but made
/// DenseNet-121's slower (267 to 278 ms, its many small kernels), and cost both 7-9 % of images per
/// second at 8 concurrent requests, where the per-core scoring slots already fill the cores. The
/// warm-up run time does not tell the two apart (DenseNet's is the longer), so `auto` does not
/// split; a latency-bound model like ResNet sets `--intra-op-threads 2`.
///
/// The setting as `config` builds it (at most 256 threads, checked there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntraOpThreads {
    /// `0`: one thread per run, for the reasons above (`resolve` logs it with the warm-up time).
    #[default]
    Auto,
    /// This many threads per run; 1 runs as without the feature.
    Fixed(NonZeroUsize),
}

impl IntraOpThreads {
    /// `0` is `Auto`.
    pub fn from_count(count: usize) -> Self {
        NonZeroUsize::new(count).map_or(IntraOpThreads::Auto, IntraOpThreads::Fixed)
    }

    /// The threads per run and why, for a model whose single-thread warm-up run took `run`.
    pub fn resolve(self, run: Duration) -> (usize, String) {
        match self {
            IntraOpThreads::Fixed(n) => (n.get(), "set by --intra-op-threads".to_owned()),
            IntraOpThreads::Auto => (
                1,
                format!(
                    "auto: one thread per run (warm-up run {} us); splitting a run over a pool \
                     helped some models' latency and cost every model throughput when measured \
                     (BENCHMARKS.md): set --intra-op-threads for a latency-bound model",
                    run.as_micros()
                ),
            ),
        }
    }
}

/// Where a model's runs go: on the calling thread alone, or split over a pool made once.
#[derive(Clone, Default)]
pub struct RunThreads {
    /// `None`: one thread, no scope (as without the feature).
    pool: Option<Executor>,
}

impl std::fmt::Debug for RunThreads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunThreads({})", self.threads())
    }
}

impl RunThreads {
    /// `threads` per run: a pool of that many for more than one.
    pub fn new(threads: usize) -> Self {
        RunThreads {
            pool: (threads > 1).then(|| Executor::multithread_with_name(threads, "intra-op")),
        }
    }

    pub fn threads(&self) -> usize {
        match &self.pool {
            Some(Executor::MultiThread(pool)) => pool.current_num_threads(),
            _ => 1,
        }
    }

    /// Runs `run` with tract's kernels split over the pool, if there is one.
    pub fn scope<T>(&self, run: impl FnOnce() -> T) -> T {
        match &self.pool {
            None => run(),
            Some(pool) => multithread_tract_scope(pool.clone(), run),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_one_thread_and_a_count_is_kept() {
        let auto = IntraOpThreads::from_count(0);
        assert_eq!(auto, IntraOpThreads::Auto);
        assert_eq!(auto.resolve(Duration::from_millis(100)).0, 1);
        assert_eq!(IntraOpThreads::from_count(3).resolve(Duration::ZERO).0, 3);
    }

    #[test]
    fn a_pool_of_one_is_no_pool() {
        assert_eq!(RunThreads::new(1).threads(), 1);
        assert_eq!(RunThreads::new(2).threads(), 2);
        assert_eq!(RunThreads::new(2).scope(|| 7), 7);
    }
}
