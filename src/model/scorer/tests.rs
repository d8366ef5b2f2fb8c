use std::{num::NonZeroUsize, sync::Mutex};

use super::*;
use crate::model::{ElementType, ModelSpec, Output, Values};

/// Returns each row's one value; sleeps `pause` per run and records the batch sizes it saw.
struct Echo {
    pause: Duration,
    runs: Mutex<Vec<usize>>,
    spec: ModelSpec,
}

impl Predictor for Echo {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        self.runs.lock().unwrap().push(batch.rows);
        std::thread::sleep(self.pause);
        let values = batch.inputs.into_iter().next().expect("the spec has one input");
        Ok(Predictions {
            rows: batch.rows,
            outputs: vec![Output {
                per_row: 1,
                values,
                shape: Vec::new(),
            }],
        })
    }
}

/// The body is one number, the answer that number back.
struct OneNumber;

impl Codec for OneNumber {
    type Answer = f64;
    type Error = ScoreError;
    fn decode(&mut self, body: &[u8], _: &dyn Predictor) -> Result<Batch, ScoreError> {
        let value: f64 = std::str::from_utf8(body).unwrap().parse().unwrap();
        Ok(Batch {
            rows: 1,
            inputs: vec![Values::F64(vec![value])],
            shapes: Vec::new(),
        })
    }
    fn encode(self, predictions: Predictions, _: &dyn Predictor) -> Result<f64, ScoreError> {
        let Values::F64(values) = &predictions.outputs[0].values else {
            unreachable!("the model answers float64")
        };
        Ok(values[0])
    }
}

fn scorer(pause: Duration, timeout: Duration, batching: Option<Batching>) -> (Arc<Scorer>, Arc<Echo>) {
    counting_scorer(pause, timeout, batching, Occupancy::default())
}

fn counting_scorer(
    pause: Duration,
    timeout: Duration,
    batching: Option<Batching>,
    occupancy: Occupancy,
) -> (Arc<Scorer>, Arc<Echo>) {
    let echo = Arc::new(Echo {
        pause,
        runs: Mutex::new(Vec::new()),
        spec: ModelSpec::matrix(1, ElementType::F64),
    });
    let scorer = Scorer::new(
        echo.clone(),
        timeout,
        batching,
        Arc::new(Metrics::default()),
        RunThreads::when_alone(1, occupancy),
    );
    (Arc::new(scorer), echo)
}

#[tokio::test]
async fn a_run_past_the_timeout_is_a_timeout_error() {
    let (scorer, _) = scorer(Duration::from_millis(300), Duration::from_millis(50), None);
    let error = scorer.score(Bytes::from("1"), OneNumber).await.unwrap_err();
    assert!(matches!(error, ScoreError::Timeout(_)), "{error:?}");
}

#[tokio::test]
async fn with_batching_more_waiting_requests_than_cores_share_runs_and_get_their_answers() {
    let batching = Batching {
        max_rows: NonZeroUsize::new(64).unwrap(),
        wait: Duration::from_millis(20),
    };
    let (scorer, echo) = scorer(Duration::from_millis(20), Duration::from_secs(5), Some(batching));
    let requests: Vec<_> = (0..32)
        .map(|i| {
            let scorer = scorer.clone();
            tokio::spawn(async move { scorer.score(Bytes::from(i.to_string()), OneNumber).await })
        })
        .collect();
    for (i, request) in requests.into_iter().enumerate() {
        let scored = request.await.unwrap().unwrap();
        assert_eq!((scored.answer, scored.rows), (i as f64, 1));
    }
    let runs = echo.runs.lock().unwrap().clone();
    assert!(runs.len() < 32, "requests were batched: {runs:?}");
}

/// What a sink was given: request id, collection, the one value.
type Seen = Arc<Mutex<Vec<(String, &'static str, f64)>>>;

/// Records what it is given.
#[derive(Default)]
struct Recording {
    seen: Seen,
}

fn first(values: &Values) -> f64 {
    let Values::F64(values) = values else {
        unreachable!("the model takes and answers float64")
    };
    values[0]
}

impl Collect for Recording {
    fn draw(&self) -> Draw {
        Draw {
            inputs: true,
            outputs: true,
        }
    }
    fn inputs(
        &self,
        id: &Arc<str>,
        batch: &Batch,
        _: &ModelSpec,
        _: &dyn Fn() -> Option<Vec<String>>,
        _: bool,
    ) {
        let value = first(&batch.inputs[0]);
        self.seen.lock().unwrap().push((id.to_string(), "inputs", value));
    }
    fn outputs(
        &self,
        id: &Arc<str>,
        predictions: &Predictions,
        _: &dyn Fn() -> Answered,
        _: &dyn Predictor,
    ) -> Option<Enqueue> {
        let (seen, id, value) = (
            self.seen.clone(),
            id.to_string(),
            first(&predictions.outputs[0].values),
        );
        Some(Box::new(move || {
            seen.lock().unwrap().push((id, "outputs", value))
        }))
    }
}

/// `OneNumber`, whose answer fails for a negative number.
struct PositiveOnly;

impl Codec for PositiveOnly {
    type Answer = f64;
    type Error = ScoreError;
    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, ScoreError> {
        OneNumber.decode(body, model)
    }
    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<f64, ScoreError> {
        match OneNumber.encode(predictions, model)? {
            negative if negative < 0.0 => Err(ScoreError::Timeout(Duration::ZERO)),
            positive => Ok(positive),
        }
    }
}

#[tokio::test]
async fn score_as_collects_inputs_and_answered_outputs_under_the_id_inline_and_batched() {
    let batched = Batching {
        max_rows: NonZeroUsize::new(8).unwrap(),
        wait: Duration::from_millis(1),
    };
    for batching in [None, Some(batched)] {
        let (scorer, _) = scorer(Duration::ZERO, Duration::from_secs(5), batching);
        let recording = Recording::default();
        let seen = recording.seen.clone();
        let scorer = Arc::into_inner(scorer)
            .unwrap()
            .with_collection(Some(Arc::new(recording)));
        scorer
            .score_as(scorer.arrived(), "id-1", Bytes::from("4"), PositiveOnly)
            .await
            .unwrap();
        scorer
            .score_as(scorer.arrived(), "id-2", Bytes::from("-2"), PositiveOnly)
            .await
            .unwrap_err();
        scorer.score(Bytes::from("7"), PositiveOnly).await.unwrap();
        let expected = [
            ("id-1".to_owned(), "inputs", 4.0),
            ("id-1".to_owned(), "outputs", 4.0),
            // A failed answer's outputs are not collected; `score` collects nothing.
            ("id-2".to_owned(), "inputs", -2.0),
        ];
        assert_eq!(*seen.lock().unwrap(), expected, "batching {batching:?}");
    }
}

/// Every request counts from arrival until its work ends: those waiting for a slot, and a run
/// that outlives its request's timeout until it ends (on a blocking thread or in the batcher), so
/// that `auto` intra-op threads never split a run beside runs still going.
#[tokio::test]
async fn the_occupancy_counts_each_request_until_its_work_ends() {
    let batching = Batching {
        max_rows: NonZeroUsize::new(1).unwrap(),
        wait: Duration::ZERO,
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for batching in [None, Some(batching)] {
        let occupancy = Occupancy::default();
        let pause = Duration::from_millis(400);
        let (scorer, _) = counting_scorer(pause, Duration::from_millis(150), batching, occupancy.clone());
        let requests: Vec<_> = (0..cores + 1)
            .map(|i| {
                let scorer = scorer.clone();
                tokio::spawn(async move { scorer.score(Bytes::from(i.to_string()), OneNumber).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            occupancy.requests(),
            cores + 1,
            "running and waiting alike ({batching:?})"
        );
        for request in requests {
            let timed_out = request.await.unwrap();
            assert!(matches!(timed_out, Err(ScoreError::Timeout(_))), "{timed_out:?}");
        }
        // The runs go on past their requests' timeouts; a request that timed out waiting for a
        // slot (or in the batcher's queue, behind them) no longer counts once its run is done.
        assert!(occupancy.requests() >= cores.min(2), "{batching:?}");
        tokio::time::sleep(pause * 3).await;
        assert_eq!(occupancy.requests(), 0, "{batching:?}");
    }
}

/// A request counted from its arrival (before its body is read) is counted once, by that count,
/// until its work ends.
#[tokio::test]
async fn a_request_counted_on_arrival_is_counted_once() {
    let occupancy = Occupancy::default();
    let pause = Duration::from_millis(200);
    let (scorer, _) = counting_scorer(pause, Duration::from_secs(5), None, occupancy.clone());
    let arrived = scorer.arrived();
    assert_eq!(occupancy.requests(), 1, "counted before its body");
    let request = {
        let scorer = scorer.clone();
        tokio::spawn(async move { scorer.score_as(arrived, "id", Bytes::from("1"), OneNumber).await })
    };
    tokio::time::sleep(pause / 2).await;
    assert_eq!(occupancy.requests(), 1, "while it runs, once");
    request.await.unwrap().unwrap();
    assert_eq!(occupancy.requests(), 0);
}
