//! The byte bound: room is taken before the copy and held until the payload is gone.

use std::sync::{atomic::Ordering, Arc};
use std::time::{Duration, Instant};

use super::*;
use crate::model::{ElementType, Output, PredictError, Values};

/// A model that is only its spec: nothing runs.
struct SpecOnly(ModelSpec);

impl Predictor for SpecOnly {
    fn spec(&self) -> &ModelSpec {
        &self.0
    }

    fn predict(&self, _: Batch) -> Result<Predictions, PredictError> {
        Err(PredictError::engine("collection tests run no model"))
    }
}

/// Collects every request's inputs and outputs for a sidecar at `port`.
fn collector(port: u16) -> Arc<Collector> {
    let settings = CollectSettings {
        host: "127.0.0.1".to_owned(),
        port,
        inputs: Some(Percent::ALL),
        outputs: Some(Percent::ALL),
        ..CollectSettings::off()
    };
    Collector::start(settings, Arc::new(Metrics::default())).expect("collection is on")
}

fn queued_bytes(collector: &Collector) -> usize {
    collector.queue.queued_bytes.load(Ordering::Acquire)
}

#[tokio::test]
async fn a_capture_keeps_its_room_until_delivered_not_just_until_taken_off_the_queue() {
    // A sidecar that takes the connection and never answers: the payload stays in flight.
    let sidecar = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = sidecar.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = sidecar.accept().await {
            open.push(stream);
        }
    });
    let collector = collector(port);
    let batch = Batch::new(2, vec![Values::F32(vec![1.0; 8])]);
    collector.inputs(
        &"r1".into(),
        &batch,
        &ModelSpec::matrix(4, ElementType::F32),
        &|| None,
        false,
    );
    let bytes = Capture::input_bytes("r1", &batch);
    assert_eq!(queued_bytes(&collector), bytes);
    let sending = &collector.queue.sending;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sending.capacity() < sending.max_capacity() {
        assert!(Instant::now() < deadline, "the sender takes the capture");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Taken off the queue, being posted: its copy (and soon its JSON) is still held.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(queued_bytes(&collector), bytes);
    held.abort();
}

#[tokio::test]
async fn a_batch_larger_than_the_bound_is_dropped_as_too_large_before_it_is_copied() {
    let collector = collector(9);
    let rows = MAX_QUEUED_BYTES / 4 + 1;
    let batch = Batch::new(rows, vec![Values::F32(vec![0.0; rows])]);
    collector.inputs(
        &"big".into(),
        &batch,
        &ModelSpec::matrix(1, ElementType::F32),
        &|| None,
        false,
    );
    assert_eq!(queued_bytes(&collector), 0);
    assert_eq!(
        collector.queue.sending.capacity(),
        collector.queue.sending.max_capacity()
    );
    let metrics = collector.queue.metrics.render();
    assert!(
        metrics.contains(r#"collection="model_inputs",reason="too_large"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn outputs_that_do_not_fit_beside_those_in_flight_are_not_copied_and_a_failed_answer_gives_its_room_back(
) {
    let collector = collector(9);
    let spec = ModelSpec::matrix(1, ElementType::F32);
    let predictions = Predictions {
        rows: 2,
        outputs: vec![Output {
            per_row: 1,
            values: Values::F32(vec![1.0, 2.0]),
            shape: vec![],
        }],
    };
    let answered = Answered::all(&spec);
    let bytes = Capture::output_bytes("r2", &predictions, &answered);
    collector
        .queue
        .queued_bytes
        .store(MAX_QUEUED_BYTES - bytes + 1, Ordering::Release);
    let model = SpecOnly(spec.clone());
    drop(collector.outputs(&"r2".into(), &predictions, &|| answered.clone(), &model));
    let metrics = collector.queue.metrics.render();
    assert!(
        metrics.contains(r#"collection="model_outputs",reason="queue_full"} 1"#),
        "{metrics}"
    );
    collector.queue.queued_bytes.store(0, Ordering::Release);
    // Copied, then the answer fails: the call is dropped, and the room with it.
    let enqueue = collector.outputs(&"r2".into(), &predictions, &|| answered.clone(), &model);
    assert_eq!(queued_bytes(&collector), bytes);
    drop(enqueue);
    assert_eq!(queued_bytes(&collector), 0);
}

#[tokio::test]
async fn a_full_queue_turns_a_request_away_before_its_names_are_read_or_its_values_copied() {
    let settings = CollectSettings {
        host: "127.0.0.1".to_owned(),
        port: 9,
        inputs: Some(Percent::ALL),
        outputs: Some(Percent::ALL),
        queue_capacity: std::num::NonZeroUsize::MIN,
        ..CollectSettings::off()
    };
    let collector = Collector::start(settings, Arc::new(Metrics::default())).expect("collection is on");
    // The sender's one place, taken by hand: the queue is full.
    let _place = collector
        .queue
        .sending
        .try_reserve()
        .expect("an empty queue has room");
    let spec = ModelSpec::matrix(1, ElementType::F32);
    let batch = Batch::new(1, vec![Values::F32(vec![1.0])]);
    let names = || unreachable!("no names read for a drop");
    collector.inputs(&"r3".into(), &batch, &spec, &names, true);
    let predictions = Predictions {
        rows: 1,
        outputs: vec![Output {
            per_row: 1,
            values: Values::F32(vec![2.0]),
            shape: vec![],
        }],
    };
    let model = SpecOnly(spec);
    let answered = || unreachable!("no answer looked at for a drop");
    assert!(collector
        .outputs(&"r3".into(), &predictions, &answered, &model)
        .is_none());
    assert_eq!(queued_bytes(&collector), 0);
    let metrics = collector.queue.metrics.render();
    for collection in ["model_inputs", "model_outputs"] {
        let line = format!(r#"collection="{collection}",reason="queue_full"}} 1"#);
        assert!(metrics.contains(&line), "{metrics}");
    }
    // Drawn while the queue is full: scored as if nothing were collected, the drops counted.
    assert_eq!(collector.draw(), Draw::default());
    let metrics = collector.queue.metrics.render();
    assert!(
        metrics.contains(r#"collection="model_outputs",reason="queue_full"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn with_one_place_left_a_request_collecting_both_is_turned_away_whole_and_inputs_leave_it_to_outputs() {
    let settings = CollectSettings {
        host: "127.0.0.1".to_owned(),
        port: 9,
        inputs: Some(Percent::ALL),
        outputs: Some(Percent::ALL),
        queue_capacity: std::num::NonZeroUsize::new(2).unwrap(),
        ..CollectSettings::off()
    };
    let collector = Collector::start(settings, Arc::new(Metrics::default())).expect("collection is on");
    let _place = collector
        .queue
        .sending
        .try_reserve()
        .expect("an empty queue has room");
    // One place of two: a pair would be broken.
    assert_eq!(collector.draw(), Draw::default());
    let spec = ModelSpec::matrix(1, ElementType::F32);
    let batch = Batch::new(1, vec![Values::F32(vec![1.0])]);
    collector.inputs(&"r4".into(), &batch, &spec, &|| None, true);
    assert_eq!(
        collector.queue.sending.capacity(),
        1,
        "the place is left to the outputs"
    );
    collector.inputs(&"r5".into(), &batch, &spec, &|| None, false);
    assert_eq!(collector.queue.sending.capacity(), 0, "inputs alone take it");
    let metrics = collector.queue.metrics.render();
    assert!(
        metrics.contains(r#"collection="model_inputs",reason="queue_full"} 2"#)
            && metrics.contains(r#"collection="model_outputs",reason="queue_full"} 1"#),
        "{metrics}"
    );
}
