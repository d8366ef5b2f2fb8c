//! Fuzzing the scoring routes: valid bodies of every request form and of V2 (JSON and the binary
//! tensor extension), mutated at random (bytes deleted, inserted, duplicated; numbers made huge,
//! negative, strings or null), gzip-compressed before or after the mutation, and random bytes,
//! sent through the real router to real models (the bundled sample; a pipeline of
//! string and float columns into a forest). Every answer is 200 or a 4xx with a JSON message:
//! never a 5xx, a panic or a hang. `PROPTEST_CASES` runs more.

use std::{sync::Arc, time::Duration};

use axum::{
    body::{to_bytes, Body},
    http::Request,
};
use proptest::prelude::*;
use tower::ServiceExt;

use super::*;
use crate::model::{OnnxModel, Scorer};
use crate::telemetry::Metrics;

mod bodies;
mod mutation;

use bodies::{binary_request, gzip, pipeline_binary, sample_binary, PIPELINE, SAMPLE};
use mutation::{mutate, mutation};

/// The state scoring with `model` (a path under the repository), named `fuzz`.
fn scoring_state(model: &str) -> AppState {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(model);
    let loaded = OnnxModel::load(&path).expect("the fuzzed model loads");
    let metrics = Arc::new(Metrics::default());
    let settings = ApiSettings {
        body: BodyLimits {
            max_bytes: 64 * 1024,
            timeout: Duration::from_secs(5),
            min_rate: 0,
        },
        inflight: InflightLimit::default_for(None),
        score_method: ScoreMethod::Predict,
        access_log: Default::default(),
        cors: None,
    };
    let state = AppState::new(settings, "fuzz", metrics.clone());
    state.readiness.start_scoring(Scorer::new(
        Arc::new(loaded),
        Duration::from_secs(5),
        None,
        metrics,
        Default::default(),
    ));
    state
}

/// Sends `body` to `path`; fails unless the answer is 200 or a 4xx with a JSON message.
fn answers_cleanly(runtime: &tokio::runtime::Runtime, state: &AppState, path: &str, body: Vec<u8>) {
    answers_cleanly_with(runtime, state, Request::post(path), body);
}

/// `answers_cleanly` for a request with headers of its own.
fn answers_cleanly_with(
    runtime: &tokio::runtime::Runtime,
    state: &AppState,
    request: axum::http::request::Builder,
    body: Vec<u8>,
) {
    let path = request.uri_ref().expect("a request with a path").to_string();
    let request = request.body(Body::from(body.clone())).unwrap();
    let answer = router(state.clone()).oneshot(request);
    let response = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), answer).await })
        .expect("no hang")
        .expect("the router is infallible");
    let status = response.status();
    let text = runtime
        .block_on(to_bytes(response.into_body(), usize::MAX))
        .unwrap();
    let shown = String::from_utf8_lossy(&body);
    assert!(
        status.is_success() || status.is_client_error(),
        "{status} for {path} {shown}: {}",
        String::from_utf8_lossy(&text)
    );
    if status.is_client_error() {
        let json: serde_json::Value = serde_json::from_slice(&text).expect("a JSON error");
        assert!(
            json.get("message").or_else(|| json.get("error")).is_some(),
            "{json}"
        );
    }
}

/// A runtime, and the states scoring with `models` (built inside it: the scorer spawns its tasks).
fn scoring_states(models: &[&str]) -> (tokio::runtime::Runtime, Vec<AppState>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let states = {
        let _inside = runtime.enter();
        models.iter().map(|m| scoring_state(m)).collect()
    };
    (runtime, states)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_bodies_of_every_form_get_200_or_a_4xx(
        model in 0..2usize,
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..6),
    ) {
        thread_local! {
            static STATES: (tokio::runtime::Runtime, Vec<AppState>) = scoring_states(&[
                "model/sklearn_regression_model.onnx",
                "tests/fixtures/zoo/column_pipeline_forest.onnx",
            ]);
        }
        STATES.with(|(runtime, states)| {
            let bodies = [SAMPLE, PIPELINE][model];
            let (path, body) = bodies[which.index(bodies.len())];
            answers_cleanly(runtime, &states[model], path, mutate(body, &mutations));
        });
    }

    #[test]
    fn random_bytes_get_200_or_a_4xx(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        v2 in any::<bool>(),
    ) {
        thread_local! {
            static STATES: (tokio::runtime::Runtime, Vec<AppState>) =
                scoring_states(&["model/sklearn_regression_model.onnx"]);
        }
        STATES.with(|(runtime, states)| {
            let path = if v2 { "/v2/models/fuzz/infer" } else { "/score" };
            answers_cleanly(runtime, &states[0], path, bytes);
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// Binary framings and gzip bodies, mutated: in the JSON header, the tensor bytes, the
    /// header length, or the compressed stream itself.
    #[test]
    fn mutated_binary_and_gzip_bodies_get_200_or_a_4xx(
        model in 0..2usize,
        binary in any::<bool>(),
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..6),
        length_shift in -3i64..=3,
        compressed in 0..3u8,
    ) {
        thread_local! {
            static STATES: (tokio::runtime::Runtime, Vec<AppState>) = scoring_states(&[
                "model/sklearn_regression_model.onnx",
                "tests/fixtures/zoo/column_pipeline_forest.onnx",
            ]);
        }
        STATES.with(|(runtime, states)| {
            let path = "/v2/models/fuzz/infer";
            if binary {
                let (body, length) = [sample_binary, pipeline_binary][model]();
                // 0: plain, 1: mutated then compressed, 2: compressed then mutated.
                let mutated = match compressed {
                    0 => mutate(&body, &mutations),
                    1 => gzip(&mutate(&body, &mutations)),
                    _ => mutate(gzip(&body), &mutations),
                };
                let request = binary_request(path, length as i64 + length_shift, compressed > 0);
                answers_cleanly_with(runtime, &states[model], request, mutated);
            } else {
                let bodies = [SAMPLE, PIPELINE][model];
                let (path, body) = bodies[which.index(bodies.len())];
                let mutated = match compressed {
                    0 | 1 => gzip(&mutate(body, &mutations)),
                    _ => mutate(gzip(body.as_bytes()), &mutations),
                };
                let request = Request::post(path).header("content-encoding", "gzip");
                answers_cleanly_with(runtime, &states[model], request, mutated);
            }
        });
    }
}

/// The bodies the mutations start from are valid: each answers 200 as it is.
#[test]
fn every_unmutated_body_answers_200() {
    let (runtime, states) = scoring_states(&[
        "model/sklearn_regression_model.onnx",
        "tests/fixtures/zoo/column_pipeline_forest.onnx",
    ]);
    for (state, bodies) in states.iter().zip([SAMPLE, PIPELINE]) {
        for (path, body) in bodies {
            let request = Request::post(*path).body(Body::from(*body)).unwrap();
            let response = runtime.block_on(router(state.clone()).oneshot(request)).unwrap();
            assert_eq!(response.status(), 200, "{path} {body}");
            let request = Request::post(*path)
                .header("content-encoding", "gzip")
                .body(Body::from(gzip(body.as_bytes())))
                .unwrap();
            let response = runtime.block_on(router(state.clone()).oneshot(request)).unwrap();
            assert_eq!(response.status(), 200, "gzip {path} {body}");
        }
    }
    for (state, (body, length)) in states.iter().zip([sample_binary(), pipeline_binary()]) {
        for compressed in [false, true] {
            let body = if compressed { gzip(&body) } else { body.clone() };
            let request = binary_request("/v2/models/fuzz/infer", length as i64, compressed)
                .body(Body::from(body))
                .unwrap();
            let response = runtime.block_on(router(state.clone()).oneshot(request)).unwrap();
            let (status, framed) = (
                response.status(),
                response.headers().contains_key("inference-header-content-length"),
            );
            let text = runtime
                .block_on(to_bytes(response.into_body(), usize::MAX))
                .unwrap();
            assert_eq!(
                status,
                200,
                "binary, gzip {compressed}: {}",
                String::from_utf8_lossy(&text)
            );
            assert!(framed);
        }
    }
}
