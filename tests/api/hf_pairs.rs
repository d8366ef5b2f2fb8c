//! Sentence pairs to a text model (SPEC 10; tests/fixtures/hf_text/classifier, made by
//! tests/models/make_hf_text.py): `[text, text_pair]` rows, `{"text", "text_pair"}` records,
//! columns, split frames and V2's optional second BYTES input `text_pair` are encoded as
//! `transformers`' `tokenizer(texts, text_pairs, truncation=True, padding=True)` encodes them
//! (ids and segment ids equal, longest-first truncation to model_max_length), and answered with
//! onnxruntime's logits through softmax; a pair of the wrong arity, a member that is not a string
//! and a request that mixes pairs and strings are 400s naming the item.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

const CLASSIFIER: &str = "tests/fixtures/hf_text/classifier";

async fn serve() -> Server {
    let server = Server::start(&["--model-dir", CLASSIFIER, "--model-file", "model.onnx"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

/// The pair cases: one pair, then four (short, first text truncated, both truncated, accents).
fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(repo_path("tests/fixtures/hf_text/expected.json")).unwrap();
    let all: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    all["classifier_pairs"].as_array().expect("pair cases").clone()
}

fn column(case: &Value, member: usize) -> Vec<Value> {
    let pairs = case["pairs"].as_array().unwrap();
    pairs.iter().map(|pair| pair[member].clone()).collect()
}

/// Every form a client may send the case's pairs in.
fn bodies(case: &Value) -> Vec<Value> {
    let pairs = case["pairs"].clone();
    let (texts, text_pairs) = (column(case, 0), column(case, 1));
    let records: Vec<Value> = texts
        .iter()
        .zip(&text_pairs)
        .map(|(text, pair)| json!({ "text": text, "text_pair": pair }))
        .collect();
    let swapped: Vec<Value> = texts
        .iter()
        .zip(&text_pairs)
        .map(|(t, p)| json!([p, t]))
        .collect();
    vec![
        json!({ "data": pairs }),
        json!({ "input_data": pairs }),
        json!({ "data": records }),
        json!({ "data": { "text": texts, "text_pair": text_pairs } }),
        json!({ "input_data": { "columns": ["text_pair", "text"], "data": swapped } }),
    ]
}

fn assert_labels(answer: &Value, case: &Value) {
    let answer = answer
        .as_array()
        .unwrap_or_else(|| panic!("a list of labels: {answer}"));
    let ranked = case["labels"].as_array().unwrap();
    assert_eq!(answer.len(), ranked.len(), "{answer:?}");
    for (got, ranked) in answer.iter().zip(ranked) {
        let want = &ranked[0];
        assert_eq!(got["label"], want["label"], "{got} vs {want}");
        let (got, want) = (got["score"].as_f64().unwrap(), want["score"].as_f64().unwrap());
        assert!((got - want).abs() <= 1e-5, "score {got} vs {want}");
    }
}

#[tokio::test]
async fn pairs_in_every_form_answer_labels_as_transformers_and_onnxruntime_do() {
    let server = serve().await;
    for case in cases() {
        for body in bodies(&case) {
            let answer = post(&server, body.to_string()).await;
            assert_eq!(answer.status, 200, "{body}: {}", answer.body);
            assert_labels(&answer.json(), &case);
        }
    }
}

/// The model echoes the ids and segment ids it was given: pairs joined by the template
/// (`[CLS] a [SEP] b [SEP]`, segment 1 for `b`), truncated longest-first to 16 tokens and padded
/// to the longest, id for id as `transformers` encodes them.
#[tokio::test]
async fn pair_ids_and_segment_ids_equal_transformers_truncated_longest_first() {
    let server = serve().await;
    for case in cases() {
        for body in bodies(&case) {
            let answer = post_to(&server, "/score?outputs=token_ids,type_ids", body.to_string()).await;
            assert_eq!(answer.status, 200, "{body}: {}", answer.body);
            let answered = answer.json();
            assert_eq!(answered["token_ids"], case["input_ids"], "{body}");
            assert_eq!(answered["type_ids"], case["token_type_ids"], "{body}");
        }
    }
    let case = &cases()[1];
    let both_cut = case["token_type_ids"][2].as_array().unwrap();
    assert_eq!(both_cut.len(), 16, "the fixture truncates");
    assert!(both_cut.contains(&json!(1)), "the second text keeps tokens too");
}

#[tokio::test]
async fn v2_takes_pairs_as_an_optional_second_bytes_input_text_pair() {
    let server = serve().await;
    let case = &cases()[1];
    let (texts, text_pairs) = (column(case, 0), column(case, 1));
    let n = texts.len();
    let body = json!({ "inputs": [
        { "name": "text", "shape": [n], "datatype": "BYTES", "data": texts },
        { "name": "text_pair", "shape": [n], "datatype": "BYTES", "data": text_pairs },
    ] });
    let answer = post_to(&server, "/v2/models/model/infer", body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let outputs = answer.json()["outputs"].as_array().unwrap().clone();
    let output = |name: &str| {
        outputs
            .iter()
            .find(|o| o["name"] == name)
            .expect("answered")
            .clone()
    };
    assert_close_to(&output("logits")["data"], &case["logits"]);
    let flat = |rows: &Value| -> Value {
        rows.as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().clone())
            .collect()
    };
    assert_eq!(output("type_ids")["data"], flat(&case["token_type_ids"]));
    // The metadata lists the second input beside the first.
    let metadata: Value = serde_json::from_str(&get_text(&server, "/v2/models/model").await).unwrap();
    assert_eq!(
        metadata["inputs"],
        json!([
            { "name": "text", "datatype": "BYTES", "shape": [-1] },
            { "name": "text_pair", "datatype": "BYTES", "shape": [-1] },
        ])
    );
    // A text_pair of another length than text is refused, naming it.
    let body = json!({ "inputs": [
        { "name": "text", "shape": [n], "datatype": "BYTES", "data": texts },
        { "name": "text_pair", "shape": [1], "datatype": "BYTES", "data": ["one"] },
    ] });
    let answer = post_to(&server, "/v2/models/model/infer", body.to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("text_pair"), "{}", answer.body);
}

#[tokio::test]
async fn tritonclient_sends_pairs_in_binary_over_http_and_grpc() {
    let server = serve().await;
    let case = &cases()[1];
    let (http, grpc) = (server.addr.to_string(), server.grpc_addr().to_string());
    let pairs = case["pairs"].to_string();
    let args = [http.as_str(), grpc.as_str(), "model", pairs.as_str()];
    let out = run_client("hf_pairs_triton.py", &args);
    let answers: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    for protocol in ["http", "grpc"] {
        let answered = &answers[protocol];
        assert_close_to(&answered["logits"], &case["logits"]);
        assert_eq!(answered["token_ids"], case["input_ids"], "{protocol}");
        assert_eq!(answered["type_ids"], case["token_type_ids"], "{protocol}");
    }
    // The same texts without text_pair are single sentences: segment 0 throughout.
    let single = &answers["grpc_single"]["type_ids"];
    assert!(
        single
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .all(|t| *t == 0),
        "{single}"
    );
}

#[tokio::test]
async fn a_bad_pair_is_a_400_naming_the_item_and_the_server_goes_on() {
    let server = serve().await;
    let cases = [
        (r#"{"data": [["a", "b"], ["c", "d", "e"]]}"#, "row 1 has 3 values"),
        (r#"{"data": [["a", "b"], ["c", 5]]}"#, "\"text_pair\", row 1"),
        (r#"{"data": [[["a"], "b"]]}"#, "\"text\", row 0"),
        (r#"{"data": ["a", ["b", "c"]]}"#, "data[1]"),
        (r#"{"data": [["a", "b"], "c"]}"#, "data[1]"),
        (r#"{"data": [["a", "b"], ["c"]]}"#, "data[1]"),
        (
            r#"{"data": [{"text": "a", "text_pair": "b"}, {"text": "c"}]}"#,
            "data[1]",
        ),
        (r#"{"data": [{"text_pair": "b"}]}"#, "no column \"text\""),
    ];
    for (body, names) in cases {
        let answer = post(&server, body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        let message = answer.message();
        assert!(message.contains(names), "{body}: {message}");
    }
    let answer = post(
        &server,
        r#"{"data": [["the service was quick", "the staff were friendly"]]}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// OpenAPI documents text_pair as an optional string column beside the required text.
#[tokio::test]
async fn openapi_documents_text_pair_as_an_optional_column() {
    let server = serve().await;
    let doc: Value = serde_json::from_str(&get_text(&server, "/swagger.json").await).unwrap();
    let record = &doc["paths"]["/score"]["post"]["parameters"][0]["schema"]["properties"]["data"]["items"];
    assert_eq!(record["properties"]["text_pair"]["type"], "string", "{record}");
    assert_eq!(record["required"], json!(["text"]), "{record}");
}

/// With dynamic batching, requests of pairs and requests of single texts that arrive together
/// are never run as one batch (a batch holds text_pair for all of its items or none): each
/// answers its own ids.
#[tokio::test]
async fn batched_requests_of_pairs_and_of_single_texts_each_answer_their_own_ids() {
    let args = [
        "--model-dir",
        CLASSIFIER,
        "--model-file",
        "model.onnx",
        "--batch-max-rows",
        "64",
        "--batch-wait-us",
        "200000",
    ];
    let server = Server::start(&args, &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let case = &cases()[1];
    let pairs = json!({ "data": case["pairs"] }).to_string();
    let singles = json!({ "data": column(case, 0) }).to_string();
    let path = "/score?outputs=type_ids";
    let (paired, single, paired_again) = tokio::join!(
        post_to(&server, path, pairs.clone()),
        post_to(&server, path, singles),
        post_to(&server, path, pairs),
    );
    for answer in [&paired, &paired_again] {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["type_ids"], case["token_type_ids"]);
    }
    assert_eq!(single.status, 200, "{}", single.body);
    let types = single.json()["type_ids"].clone();
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .all(|t| *t == 0),
        "{types}"
    );
    // The two requests of pairs ran as one batch, the single texts as another: two model calls.
    let metrics = get_text(&server, "/metrics").await;
    let calls = metrics
        .lines()
        .find_map(|line| line.strip_prefix("aml_scorer_batch_rows_count "))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert_eq!(calls, "2", "{metrics}");
}
