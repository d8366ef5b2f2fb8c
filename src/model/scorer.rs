//! The scoring service both protocols call: it owns the choice of where a request runs (inline,
//! on a blocking thread, or through the dynamic batcher), the bound on blocking work, the scoring
//! timeout and the model-run metrics. Protocols only translate bodies, through a `Codec`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use tokio::sync::Semaphore;

pub use super::batcher::Batching;
use super::{
    batcher::BatchQueue, threads::RunThreads, Batch, Entered, InputError, Occupancy, OutputError,
    PredictError, Predictions, Predictor,
};
use crate::telemetry::Metrics;
use collecting::Collecting;
pub use collecting::{Answered, Collect, Draw, Enqueue};

/// Bodies up to this size are decoded on the request's own task (and, when the model is cheap,
/// run and encoded there too): that is faster than a thread hand-off.
const INLINE_MAX_BYTES: usize = 16 * 1024;

/// How requests are scored, as `config` builds it.
#[derive(Debug, Clone, Copy)]
pub struct ScorerSettings {
    /// The longest one request may spend waiting for and running the model.
    pub timeout: Duration,
    /// `None`: dynamic batching off.
    pub batching: Option<Batching>,
    /// Threads one model run may use (`--intra-op-threads`).
    pub intra_op_threads: super::IntraOpThreads,
    /// Which kernels the server's own convolution and max pool run on (`--direct-kernels`).
    pub direct_kernels: super::DirectKernels,
}

/// How a protocol turns its body into a batch and predictions into its answer. Both run on
/// whichever thread the scorer picks; `decode` may keep what `encode` needs (a request id).
pub trait Codec: Send + 'static {
    type Answer: Send + 'static;
    type Error: From<ScoreError> + Send + 'static;
    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, Self::Error>;
    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<Self::Answer, Self::Error>;
    /// What `encode` answers (known once `decode` ran), for data collection: every output
    /// unless the codec says otherwise. A codec that wraps another forwards it.
    fn answered(&self, model: &dyn Predictor) -> Answered {
        Answered::all(model.spec())
    }
    /// The names the request gave the features of a model's one matrix input (the split
    /// form's `columns`), for data collection; only asked of requests whose inputs are
    /// collected. None by default.
    fn feature_names(&self, _body: &[u8], _model: &dyn Predictor) -> Option<Vec<String>> {
        None
    }
}

/// Why a request was not scored, apart from what its codec reports.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Predict(#[from] PredictError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("scoring took longer than the scoring timeout of {} ms (SCORING_TIMEOUT_MS)", .0.as_millis())]
    Timeout(Duration),
    /// The blocking task panicked or was cancelled.
    #[error("the scoring task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// A scored request: the codec's answer, the rows scored and the time it took.
#[derive(Debug)]
pub struct Scored<A> {
    pub answer: A,
    pub rows: usize,
    pub elapsed: Duration,
}

/// Runs requests on one model.
pub struct Scorer {
    predictor: Arc<dyn Predictor>,
    /// `Some` when dynamic batching is on: model runs go through it.
    batcher: Option<BatchQueue>,
    /// Bounds blocking work to the cores: further requests wait for a permit (within their
    /// timeout) instead of piling threads onto the CPU. Never closed.
    slots: Arc<Semaphore>,
    timeout: Duration,
    metrics: Arc<Metrics>,
    /// Where sampled requests' inputs and outputs go (`None`: data collection off).
    collection: Option<Arc<dyn Collect>>,
    /// The requests being scored, which the model's intra-op threads read on `auto`.
    occupancy: Occupancy,
    /// The model's intra-op threads, which a large body's decoding takes as its run does.
    threads: RunThreads,
}

impl Scorer {
    /// A scorer over `predictor`, whose runs go where `threads` says; with `batching`,
    /// concurrent requests share model runs. It counts the requests it holds in the occupancy of
    /// `threads` (`auto` intra-op threads), else in one of its own.
    pub fn new(
        predictor: Arc<dyn Predictor>,
        timeout: Duration,
        batching: Option<Batching>,
        metrics: Arc<Metrics>,
        threads: RunThreads,
    ) -> Self {
        let occupancy = threads.occupancy().cloned().unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let batcher =
            batching.map(|settings| BatchQueue::start(predictor.clone(), settings, cores, metrics.clone()));
        Scorer {
            predictor,
            batcher,
            slots: Arc::new(Semaphore::new(cores)),
            timeout,
            metrics,
            collection: None,
            occupancy,
            threads,
        }
    }

    /// This scorer, sending the requests `score_as` scores to `sink` as its draws say.
    pub fn with_collection(mut self, sink: Option<Arc<dyn Collect>>) -> Self {
        self.collection = sink;
        self
    }

    /// The model, for protocols that describe it.
    pub fn model(&self) -> &dyn Predictor {
        self.predictor.as_ref()
    }

    /// Counts a request from its arrival, before its body is read, until its work ends (give it
    /// to `score_as`): on `auto` intra-op threads, a run that starts while another request's body
    /// still streams in is then not alone, and does not take the cores that request will need.
    pub fn arrived(&self) -> Entered {
        self.occupancy.enter()
    }

    /// Decodes `body`, runs the model and encodes the answer, within the scoring timeout. A
    /// timed-out blocking run finishes in the background but keeps its slot until then, so
    /// timeouts cannot oversubscribe the CPU.
    pub async fn score<C: Codec>(&self, body: Bytes, codec: C) -> Result<Scored<C::Answer>, C::Error> {
        self.score_counted(self.occupancy.enter(), body, codec).await
    }

    /// `score` for a request counted since `counted` was taken.
    async fn score_counted<C: Codec>(
        &self,
        counted: Entered,
        body: Bytes,
        codec: C,
    ) -> Result<Scored<C::Answer>, C::Error> {
        let started = Instant::now();
        let (answer, rows) = tokio::time::timeout(self.timeout, self.run(body, codec, counted))
            .await
            .map_err(|_| ScoreError::Timeout(self.timeout))??;
        Ok(Scored {
            answer,
            rows,
            elapsed: started.elapsed(),
        })
    }

    /// Whether requests scored with `score_as` may be collected.
    pub fn collects(&self) -> bool {
        self.collection.is_some()
    }

    /// `score` for a request with an id (every transport's), counted from `arrived` (the guard
    /// `arrived()` gave when it arrived): when data collection is on and the request is sampled,
    /// its inputs and answered outputs are collected under `request_id`.
    pub async fn score_as<C: Codec>(
        &self,
        arrived: Entered,
        request_id: &str,
        body: Bytes,
        codec: C,
    ) -> Result<Scored<C::Answer>, C::Error> {
        let Some(sink) = &self.collection else {
            return self.score_counted(arrived, body, codec).await;
        };
        let draw = sink.draw();
        if draw == Draw::default() {
            return self.score_counted(arrived, body, codec).await;
        }
        let codec = Collecting {
            codec,
            sink: sink.clone(),
            request_id: Arc::from(request_id),
            draw,
        };
        self.score_counted(arrived, body, codec).await
    }

    /// `counted` goes with the request's work, so that a run that outlives its request's timeout
    /// (on a blocking thread, or queued for the batcher) counts until it ends.
    async fn run<C: Codec>(
        &self,
        body: Bytes,
        mut codec: C,
        counted: Entered,
    ) -> Result<(C::Answer, usize), C::Error> {
        let small = body.len() <= INLINE_MAX_BYTES;
        let large = body.len() >= crate::memory::LARGE_BODY_BYTES;
        let Some(batcher) = &self.batcher else {
            if small && self.predictor.is_cheap() {
                return whole(
                    self.predictor.as_ref(),
                    &self.metrics,
                    &body,
                    codec,
                    &self.threads,
                );
            }
            let (predictor, metrics, threads) =
                (self.predictor.clone(), self.metrics.clone(), self.threads.clone());
            let work = move || {
                let _counted = counted;
                whole(predictor.as_ref(), &metrics, &body, codec, &threads)
            };
            return self.blocking(large, work).await?;
        };
        // Batched: decode (off the executor when large), then await the batcher holding no
        // thread, then encode.
        let (batch, codec) = if small {
            (codec.decode(&body, self.predictor.as_ref())?, codec)
        } else {
            let predictor = self.predictor.clone();
            self.blocking(large, move || {
                codec
                    .decode(&body, predictor.as_ref())
                    .map(|batch| (batch, codec))
            })
            .await??
        };
        let rows = batch.rows;
        let started = Instant::now();
        let predictions = batcher.run(batch, counted).await.map_err(ScoreError::from)?;
        self.metrics.observe_model_run(rows, started.elapsed());
        Ok((codec.encode(predictions, self.predictor.as_ref())?, rows))
    }

    /// Runs `work` on a blocking thread holding one of the slots; after `large` work (its body
    /// dropped), gives the thread's freed memory back.
    async fn blocking<T: Send + 'static>(
        &self,
        large: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ScoreError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the model slots are never closed");
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let done = work();
            if large {
                crate::memory::give_back();
            }
            done
        })
        .await
        .map_err(ScoreError::Task)
    }
}

/// Decode, run and encode on the current thread; decoding may split over `threads` when its
/// request is alone on `auto`.
fn whole<C: Codec>(
    predictor: &dyn Predictor,
    metrics: &Metrics,
    body: &[u8],
    mut codec: C,
    threads: &RunThreads,
) -> Result<(C::Answer, usize), C::Error> {
    let batch = threads.scope_when_alone(|| codec.decode(body, predictor))?;
    let rows = batch.rows;
    let started = Instant::now();
    metrics.observe_model_call(rows);
    let predictions = super::predict_caught(predictor, batch).map_err(ScoreError::from)?;
    metrics.observe_model_run(rows, started.elapsed());
    Ok((codec.encode(predictions, predictor)?, rows))
}

mod collecting;
#[cfg(test)]
mod tests;
