//! The same model run differently: on tract's plan alone, with a fresh state per run, or
//! over more threads (benchmarks compare them; the server sets its threads).

use super::{OnnxModel, RunThreads};

impl OnnxModel {
    /// The same model with a fresh run state per run (tract's `SimplePlan::run`), as before the
    /// state pool: the baseline of the `state_reuse` benchmark.
    #[doc(hidden)]
    pub fn with_fresh_state_per_run(self) -> Self {
        OnnxModel {
            reuse_states: false,
            single: self
                .single
                .map(|single| Box::new(single.with_fresh_state_per_run())),
            ..self
        }
    }

    /// The same model with every run on tract's plan (no linear shortcut): benchmarks of tract.
    #[doc(hidden)]
    pub fn on_plan_only(self) -> Self {
        OnnxModel { linear: None, ..self }
    }

    /// The same model with its runs split over `threads` threads (1: on the calling thread).
    pub fn with_threads(self, threads: RunThreads) -> Self {
        OnnxModel {
            single: self
                .single
                .map(|single| Box::new(single.with_threads(threads.clone()))),
            threads,
            ..self
        }
    }
}
