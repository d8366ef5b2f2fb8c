//! Dynamic batching (off by default): concurrent requests that arrive within a short wait are run
//! as one model call and their answers split back. It pays for models whose per-call cost is high
//! compared with the per-row cost (an MLP), not for a linear model that runs in microseconds.

use std::{
    num::NonZeroUsize,
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

use super::{Batch, Entered, Output, PredictError, Predictions, Predictor, TensorSpec, Values};
use crate::telemetry::Metrics;

/// Dynamic batching settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The most rows one batched model call gathers.
    pub max_rows: NonZeroUsize,
    /// How long the first request of a batch waits for others.
    pub wait: Duration,
}

/// A request waiting for its share of a batched run. The reply is a tokio oneshot so that an
/// async caller awaits it without holding a thread.
struct Job {
    batch: Batch,
    reply: tokio::sync::oneshot::Sender<Result<Predictions, PredictError>>,
    /// The request counted in the scorer's occupancy until its run ends, even if it timed out.
    counted: Entered,
}

/// The queue in front of the batching threads.
pub(super) struct BatchQueue {
    queue: mpsc::Sender<Job>,
}

impl BatchQueue {
    /// Starts `workers` threads that each collect up to `max_rows` rows, waiting at most `wait`
    /// after the first request of a batch, then run them as one call (counted in `metrics`).
    pub(super) fn start(
        inner: Arc<dyn Predictor>,
        settings: Batching,
        workers: usize,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (queue, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers.max(1) {
            let (inner, receiver, metrics) = (inner.clone(), receiver.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("batcher-{index}"))
                .spawn(move || run_worker(inner.as_ref(), &receiver, settings, &metrics))
                .expect("the OS can start a batching thread");
        }
        BatchQueue { queue }
    }

    /// Queues `batch` (its request `counted` until its run ends) and waits for its rows, without
    /// blocking a thread.
    pub(super) async fn run(&self, batch: Batch, counted: Entered) -> Result<Predictions, PredictError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || PredictError::engine("the batching threads stopped");
        let job = Job {
            batch,
            reply,
            counted,
        };
        self.queue.send(job).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// One worker: holds the queue while it gathers a batch (so the other worker runs meanwhile),
/// then releases it and runs the model.
fn run_worker(
    inner: &dyn Predictor,
    receiver: &Mutex<mpsc::Receiver<Job>>,
    settings: Batching,
    metrics: &Metrics,
) {
    let max_rows = settings.max_rows.get();
    loop {
        let jobs = {
            let Ok(queue) = receiver.lock() else { return };
            let Ok(first) = queue.recv() else { return };
            let deadline = Instant::now() + settings.wait;
            let mut rows = first.batch.rows;
            let mut jobs = vec![first];
            // First whatever is already queued, then wait (at most `wait`) for more.
            while rows < max_rows {
                let Ok(job) = queue.try_recv() else { break };
                rows += job.batch.rows;
                jobs.push(job);
            }
            while rows < max_rows {
                let left = deadline.saturating_duration_since(Instant::now());
                match queue.recv_timeout(left) {
                    Ok(job) => {
                        rows += job.batch.rows;
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            jobs
        };
        run_jobs(inner, jobs, metrics);
    }
}

/// Runs the gathered jobs: those whose items have one shape (one sequence length, one image
/// size) share a run; a model with a scalar input (one value per request) runs each alone.
fn run_jobs(inner: &dyn Predictor, mut jobs: Vec<Job>, metrics: &Metrics) {
    if inner.spec().inputs.iter().any(TensorSpec::is_scalar) {
        for job in jobs {
            run_together(inner, vec![job], metrics);
        }
        return;
    }
    // Requests that leave an optional input out (text without `text_pair`) run apart from those
    // that send it: a combined batch must have every input for all of its rows or for none.
    let alike = |a: &Batch, b: &Batch| {
        a.shapes == b.shapes
            && a.inputs
                .iter()
                .map(|values| values.is_empty())
                .eq(b.inputs.iter().map(|values| values.is_empty()))
    };
    while !jobs.is_empty() {
        let first = jobs.remove(0);
        let (mut same, others): (Vec<Job>, Vec<Job>) =
            jobs.into_iter().partition(|job| alike(&job.batch, &first.batch));
        same.insert(0, first);
        run_together(inner, same, metrics);
        jobs = others;
    }
}

fn run_together(inner: &dyn Predictor, mut jobs: Vec<Job>, metrics: &Metrics) {
    if jobs.len() == 1 {
        let job = jobs.pop().expect("the length was just checked");
        metrics.observe_model_call(job.batch.rows);
        let _ = job.reply.send(super::predict_caught(inner, job.batch));
        return;
    }
    let counts: Vec<usize> = jobs.iter().map(|job| job.batch.rows).collect();
    let mut combined = Batch {
        rows: 0,
        inputs: jobs[0]
            .batch
            .inputs
            .iter()
            .map(|input| Values::with_capacity(input.element(), 0))
            .collect(),
        shapes: jobs[0].batch.shapes.clone(),
    };
    let mut replies = Vec::with_capacity(jobs.len());
    // Held until the shared run and its answers are done.
    let mut counted = Vec::with_capacity(jobs.len());
    for job in jobs {
        combined.rows += job.batch.rows;
        for (into, more) in combined.inputs.iter_mut().zip(job.batch.inputs) {
            into.append(more);
        }
        replies.push(job.reply);
        counted.push(job.counted);
    }
    metrics.observe_model_call(combined.rows);
    // Kept to run each request alone if the shared run fails: one request's values (a token id
    // past the vocabulary) must not fail the others it was batched with. A copy of the inputs
    // costs little beside a run heavy enough to batch.
    let kept = combined.clone();
    match super::predict_caught(inner, combined) {
        Ok(predictions) => {
            for (reply, part) in replies.into_iter().zip(split(predictions, &counts)) {
                let _ = reply.send(Ok(part));
            }
        }
        // Refused values, a bad item (an image that does not decode; its index is the combined
        // batch's) or a size limit come from the requests: each request alone gets its own
        // answer or its own error (a limit of the batch's size may not be one request's).
        Err(PredictError::Refused(_) | PredictError::BadItem(_) | PredictError::TooLarge(_)) => {
            for (reply, batch) in replies.into_iter().zip(unbatch(kept, &counts)) {
                if reply.is_closed() {
                    continue;
                }
                metrics.observe_model_call(batch.rows);
                let _ = reply.send(super::predict_caught(inner, batch));
            }
        }
        // The model's or the engine's own failure: every request gets it, unchanged.
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

/// Splits a combined batch back into the requests it was made of, by row counts. Every input
/// holds the same number of values per row (scalar-input models are never combined).
fn unbatch(mut combined: Batch, counts: &[usize]) -> Vec<Batch> {
    let per_row: Vec<usize> = combined
        .inputs
        .iter()
        .map(|input| input.len() / combined.rows.max(1))
        .collect();
    counts
        .iter()
        .map(|&rows| Batch {
            rows,
            inputs: combined
                .inputs
                .iter_mut()
                .zip(&per_row)
                .map(|(input, &width)| input.take_front(rows * width))
                .collect(),
            shapes: combined.shapes.clone(),
        })
        .collect()
}

/// Splits a batched answer back into one answer per request, by row counts.
fn split(mut predictions: Predictions, counts: &[usize]) -> Vec<Predictions> {
    counts
        .iter()
        .map(|&rows| Predictions {
            rows,
            outputs: predictions
                .outputs
                .iter_mut()
                .map(|output| Output {
                    per_row: output.per_row,
                    values: output.values.take_front(rows * output.per_row),
                    shape: output.shape.clone(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
