//! Text models exported with Hugging Face's files (SPEC 10; tests/fixtures/hf_text, made by
//! tests/models/make_hf_text.py): strings in every request form are tokenized as the Python
//! `tokenizers` package does (ids equal, padded to the longest, truncated to `model_max_length` or
//! the position table), answered as labels with softmax scores as onnxruntime's logits give them,
//! or as mean-pooled, L2-normalized embeddings (`?method=embed`); bad items and bad files named.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

const CLASSIFIER: &str = "tests/fixtures/hf_text/classifier";
const EMBEDDER: &str = "tests/fixtures/hf_text/embedder";

async fn serve(dir: &str) -> Server {
    let server = Server::start(&["--model-dir", dir, "--model-file", "model.onnx"], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    server
}

fn expected(model: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo_path("tests/fixtures/hf_text/expected.json")).unwrap();
    let all: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    all[model].as_array().expect("cases").clone()
}

/// The best label and its score per item, from the fixture's ranked labels.
fn best(case: &Value) -> Vec<Value> {
    case["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ranked| ranked[0].clone())
        .collect()
}

fn assert_labels(answer: &Value, expected: &[Value]) {
    let answer = answer
        .as_array()
        .unwrap_or_else(|| panic!("a list of labels: {answer}"));
    assert_eq!(answer.len(), expected.len(), "{answer:?}");
    for (got, want) in answer.iter().zip(expected) {
        assert_eq!(got["label"], want["label"], "{got} vs {want}");
        let (got, want) = (got["score"].as_f64().unwrap(), want["score"].as_f64().unwrap());
        assert!((got - want).abs() <= 1e-5, "score {got} vs {want}");
    }
}

#[tokio::test]
async fn strings_in_every_form_answer_labels_as_onnxruntime_and_softmax_do() {
    let server = serve(CLASSIFIER).await;
    assert!(
        server.logs().contains("text preprocessing on"),
        "the start says which preprocessing is on: {}",
        server.logs()
    );
    for case in expected("classifier") {
        let texts = case["texts"].as_array().unwrap().clone();
        let records: Vec<Value> = texts.iter().map(|t| json!({ "text": t })).collect();
        let split: Vec<Value> = texts.iter().map(|t| json!([t])).collect();
        let bodies = [
            json!({ "data": texts }),
            json!({ "input_data": texts }),
            json!({ "data": records }),
            json!({ "input_data": { "columns": ["text"], "data": split } }),
        ];
        for body in bodies {
            let answer = post(&server, body.to_string()).await;
            assert_eq!(answer.status, 200, "{body}: {}", answer.body);
            assert_labels(&answer.json(), &best(&case));
        }
    }
}

#[tokio::test]
async fn v2_bytes_inputs_are_tokenized_and_answer_the_logits() {
    let server = serve(CLASSIFIER).await;
    let case = &expected("classifier")[1];
    let texts = case["texts"].as_array().unwrap();
    let body =
        json!({ "inputs": [{ "name": "text", "shape": [texts.len()], "datatype": "BYTES", "data": texts }] });
    let answer = post_to(&server, "/v2/models/model/infer", body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let outputs = answer.json()["outputs"].as_array().unwrap().clone();
    let logits = outputs
        .iter()
        .find(|o| o["name"] == "logits")
        .expect("logits answered");
    assert_eq!(logits["shape"], json!([texts.len(), 3]));
    assert_close_to(&logits["data"], &case["logits"]);
}

/// The model echoes the ids it was given (`token_ids`): a batch padded to its longest item with
/// the pad token and truncated to tokenizer_config.json's model_max_length (16, below the
/// position table's 32), id for id as Python's `tokenizers` encodes it.
#[tokio::test]
async fn token_ids_equal_the_tokenizers_package_padded_and_truncated() {
    let server = serve(CLASSIFIER).await;
    for case in expected("classifier") {
        let body = json!({ "data": case["texts"] });
        let answer = post_to(&server, "/score?outputs=token_ids", body.to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["token_ids"], case["input_ids"]);
    }
    let case = &expected("classifier")[1];
    let longest = &case["input_ids"][4];
    assert_eq!(longest.as_array().unwrap().len(), 16, "the fixture truncates");
    // A 2 MB item reads only the characters its first tokens can span, and still answers the
    // ids of its beginning.
    let huge = format!("{} ", case["texts"][4].as_str().unwrap()).repeat(20_000);
    let body = json!({ "data": [huge] });
    let answer = post_to(&server, "/score?outputs=token_ids", body.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["token_ids"][0], *longest);
}

#[tokio::test]
async fn top_k_answers_a_list_of_the_best_labels_per_item() {
    let server = serve(CLASSIFIER).await;
    let case = &expected("classifier")[1];
    let body = json!({ "data": case["texts"] }).to_string();
    let answer = post_to(&server, "/score?top_k=2", body.clone()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answered = answer.json();
    for (item, ranked) in answered
        .as_array()
        .unwrap()
        .iter()
        .zip(case["labels"].as_array().unwrap())
    {
        assert_labels(item, &ranked.as_array().unwrap()[..2]);
    }
    let every = post_to(&server, "/score?top_k=10", body.clone()).await.json();
    assert_eq!(
        every[0].as_array().unwrap().len(),
        3,
        "top_k past the labels gives every label"
    );
    for bad in ["/score?top_k=0", "/score?top_k=two"] {
        let answer = post_to(&server, bad, body.clone()).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
        assert!(answer.message().contains("top_k"), "{}", answer.message());
    }
}

/// The embedder's tokenizer_config.json has no length (transformers' "unset" sentinel), so its
/// position table (config.json's max_position_embeddings, 12) bounds the tokens.
#[tokio::test]
async fn embed_mean_pools_over_the_mask_and_normalizes_as_numpy_does() {
    let server = serve(EMBEDDER).await;
    for case in expected("embedder") {
        let body = json!({ "data": case["texts"] }).to_string();
        let answer = post_to(&server, "/score?method=embed", body.clone()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_close_to(&answer.json(), &case["embeddings"]);
        let hidden = post_to(&server, "/score?outputs=last_hidden_state", body)
            .await
            .json();
        let tokens = case["input_ids"][0].as_array().unwrap().len();
        assert_eq!(hidden["last_hidden_state"][0].as_array().unwrap().len(), tokens);
        assert!(tokens <= 12);
    }
    let classifier = serve(CLASSIFIER).await;
    let answer = post_to(&classifier, "/score?method=embed", r#"{"data": ["hello"]}"#).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.message().contains("embed"), "{}", answer.message());
}

/// OpenAPI names the request's column (`text`, a string) and the label answer with its labels.
#[tokio::test]
async fn openapi_documents_the_text_column_and_the_label_answer() {
    let server = serve(CLASSIFIER).await;
    let doc: Value = serde_json::from_str(&get_text(&server, "/swagger.json").await).unwrap();
    let post = &doc["paths"]["/score"]["post"];
    let column = &post["parameters"][0]["schema"]["properties"]["data"]["items"]["properties"]["text"];
    assert_eq!(column["type"], "string", "{post}");
    let item = &post["responses"]["200"]["schema"]["items"]["oneOf"][0];
    assert_eq!(
        item["properties"]["label"]["enum"],
        json!(["negative", "neutral", "positive"]),
        "{post}"
    );
}

#[tokio::test]
async fn an_item_that_is_not_a_string_is_a_400_naming_it_and_the_server_goes_on() {
    let server = serve(CLASSIFIER).await;
    let answer = post(&server, r#"{"data": ["the service was quick", 5]}"#).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.message();
    assert!(message.contains("row 1") && message.contains("text"), "{message}");
    let answer = post(&server, r#"{"data": ["the service was quick"]}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn a_malformed_tokenizer_json_stops_start_up_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("hf-text-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["model.onnx", "config.json", "tokenizer_config.json"] {
        std::fs::copy(repo_path(CLASSIFIER).join(file), dir.join(file)).unwrap();
    }
    std::fs::write(dir.join("tokenizer.json"), r#"{"model": {"type": "WordPiece"}}"#).unwrap();
    let args = ["--model-dir", dir.to_str().unwrap(), "--model-file", "model.onnx"];
    let mut server = Server::start(&args, &[]);
    let status = server.wait_exit(Duration::from_secs(20)).expect("init fails");
    let logs = server.logs();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status.code(), Some(3), "{logs}");
    assert!(logs.contains("tokenizer.json: (file)"), "{logs}");
}

#[tokio::test]
async fn tokenizing_is_charged_to_the_in_flight_budget_before_it_runs() {
    // 20,000 empty items are a 60 KB body, but every row is padded to the longest, up to
    // model_max_length (16) tokens per input: over a 1 MB budget, refused before tokenizing.
    let args = [
        "--model-dir",
        CLASSIFIER,
        "--model-file",
        "model.onnx",
        "--max-inflight-bytes",
        "1000000",
    ];
    let server = Server::start(&args, &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let mut texts = vec![""; 20_000];
    texts[0] = "a sentence long enough to be truncated to sixteen tokens by the tokenizer";
    let answer = post(&server, json!({ "data": texts }).to_string()).await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    let small = post(&server, json!({ "data": ["a short one"] }).to_string()).await;
    assert_eq!(small.status, 200, "{}", small.body);
}
