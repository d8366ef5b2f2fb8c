use super::*;
use crate::model::{ElementType, ModelSpec, Occupancy, TensorSpec};

/// Doubles each value after a short pause; records the batch sizes it saw. With `fixed_rows`
/// it refuses other batch sizes, as a model exported with a fixed batch does; it refuses any
/// negative value, as a model refuses a token id past its vocabulary.
struct Doubler {
    runs: Mutex<Vec<usize>>,
    fixed_rows: Option<usize>,
    spec: ModelSpec,
}

impl Doubler {
    fn new(fixed_rows: Option<usize>) -> Arc<Self> {
        let tensor = |name: &str| TensorSpec::matrix(name, ElementType::F64, 1, false);
        Arc::new(Doubler {
            runs: Mutex::new(Vec::new()),
            fixed_rows,
            spec: ModelSpec {
                inputs: vec![tensor("x")],
                outputs: vec![tensor("y")],
                fixed_rows,
                per_item: false,
            },
        })
    }
}

impl Predictor for Doubler {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        self.runs.lock().unwrap().push(batch.rows);
        std::thread::sleep(Duration::from_millis(20));
        if let Some(expected) = self.fixed_rows.filter(|&rows| rows != batch.rows) {
            return Err(PredictError::FixedBatch {
                expected,
                found: batch.rows,
            });
        }
        let [Values::F64(v)] = batch.inputs.as_slice() else {
            unreachable!("the spec says one float64 input")
        };
        if v.iter().any(|x| *x < 0.0) {
            return Err(PredictError::refused("a negative value"));
        }
        if v.iter().any(|x| x.is_nan()) {
            return Err(PredictError::BadItem("a NaN item".to_owned()));
        }
        let values = Values::F64(v.iter().map(|x| x * 2.0).collect());
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

fn settings() -> Batching {
    Batching {
        max_rows: NonZeroUsize::new(1000).unwrap(),
        wait: Duration::from_millis(50),
    }
}

/// Sends eight two-row requests at once and returns their answers in order.
async fn eight_concurrent(queue: Arc<BatchQueue>) -> Vec<Result<Predictions, PredictError>> {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let inputs = vec![Values::F64(vec![i as f64, 100.0 + i as f64])];
                queue
                    .run(Batch::new(2, inputs), Occupancy::default().enter())
                    .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn concurrent_requests_share_a_run_and_get_their_own_rows_back() {
    let inner = Doubler::new(None);
    let queue = Arc::new(BatchQueue::start(
        inner.clone(),
        settings(),
        1,
        Default::default(),
    ));
    for (i, answer) in eight_concurrent(queue).await.into_iter().enumerate() {
        let expected = Values::F64(vec![2.0 * i as f64, 2.0 * (100.0 + i as f64)]);
        assert_eq!(answer.unwrap().outputs[0].values, expected);
    }
    let runs = inner.runs.lock().unwrap().clone();
    assert!(runs.len() < 8, "some requests were batched: {runs:?}");
    assert_eq!(runs.iter().sum::<usize>(), 16);
}

#[tokio::test]
async fn one_refused_request_fails_alone_and_the_requests_batched_with_it_are_answered() {
    one_bad_request_fails_alone(-1.0, |answer| matches!(answer, Err(PredictError::Refused(_)))).await;
}

/// A bad item (an image that does not decode) is one request's, as a refused value is.
#[tokio::test]
async fn one_request_with_a_bad_item_fails_alone() {
    one_bad_request_fails_alone(f64::NAN, |answer| matches!(answer, Err(PredictError::BadItem(_)))).await;
}

async fn one_bad_request_fails_alone(bad: f64, failed: fn(&Result<Predictions, PredictError>) -> bool) {
    let inner = Doubler::new(None);
    let queue = Arc::new(BatchQueue::start(
        inner.clone(),
        settings(),
        1,
        Default::default(),
    ));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let queue = queue.clone();
            // Request 3 carries a value the model refuses.
            let first = if i == 3 { bad } else { i as f64 };
            tokio::spawn(async move {
                queue
                    .run(
                        Batch::new(2, vec![Values::F64(vec![first, 100.0])]),
                        Occupancy::default().enter(),
                    )
                    .await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let answer = task.await.unwrap();
        if i == 3 {
            assert!(failed(&answer), "{answer:?}");
        } else {
            let expected = Values::F64(vec![2.0 * i as f64, 200.0]);
            assert_eq!(
                answer.expect("answered").outputs[0].values,
                expected,
                "request {i}"
            );
        }
    }
    let runs = inner.runs.lock().unwrap().clone();
    assert!(
        runs.iter().any(|&rows| rows > 2),
        "some requests were batched: {runs:?}"
    );
}
