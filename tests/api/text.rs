//! Text classifiers from scikit-learn (tests/fixtures/text, made by tests/models/make_text.py):
//! TF-IDF and count pipelines with StringNormalizer, Tokenizer, TfIdfVectorizer and Normalizer,
//! each answering as onnxruntime does through `/score` (`predict` and `predict_proba`, records)
//! and V2 (BYTES): labels equal, probabilities within 1e-5; for requests with upper case,
//! punctuation, unknown words, an empty string, non-ASCII text and a 10,000-word document.

use serde_json::{json, Value};

use crate::common::*;

const TEXT: &str = "tests/fixtures/text";

async fn assert_text_model_answers_as_onnxruntime(name: &str) {
    let (server, fixture) = serve_fixture(TEXT, name).await;
    let label = fixture["label"].as_str().expect("the label output");
    let probabilities = fixture["probabilities"]
        .as_str()
        .expect("the probabilities output");
    for case in fixture["cases"].as_array().expect("cases") {
        let outputs = &case["outputs"];
        let body = case["request"].to_string();
        let answer = post(&server, body.clone()).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        assert_eq!(answer.json(), outputs[label], "{name} labels for {body:.200}");
        let answer = post_to(&server, "/score?method=predict_proba", body.clone()).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        assert_close_to(&answer.json(), &outputs[probabilities]);

        let inputs: Vec<Value> = case["v2"]["inputs"]
            .as_object()
            .expect("V2 inputs by name")
            .iter()
            .map(|(input, t)| json!({ "name": input, "shape": t["shape"], "datatype": t["datatype"], "data": t["data"] }))
            .collect();
        let path = format!("/v2/models/{name}/infer");
        let answer = post_to(&server, &path, json!({ "inputs": inputs }).to_string()).await;
        assert_eq!(answer.status, 200, "{name} V2: {}", answer.body);
        let answered = answer.json()["outputs"].as_array().expect("V2 outputs").clone();
        let output = |wanted: &str| {
            answered
                .iter()
                .find(|o| o["name"] == wanted)
                .unwrap_or_else(|| panic!("{name} V2 answers {wanted}: {answered:?}"))["data"]
                .clone()
        };
        let labels: Vec<Value> = outputs[label].as_array().unwrap().clone();
        assert_eq!(output(label), Value::Array(labels), "{name} V2 labels");
        assert_close_to(&output(probabilities), &outputs[probabilities]);
    }
}

/// A single-text-column model takes the documents as a plain list too, in every form that carries
/// one (`data`, MLflow `instances` and `inputs`), and answers as for the records.
#[tokio::test]
async fn a_plain_list_of_documents_is_one_document_per_row() {
    let (server, fixture) = serve_fixture(TEXT, "tfidf_logistic").await;
    let label = fixture["label"].as_str().expect("the label output");
    let case = &fixture["cases"][0];
    let documents: Vec<Value> = case["request"]["data"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| record["text"].clone())
        .collect();
    assert!(documents.len() > 1, "the case has several documents");
    for (form, body) in [
        ("data", json!({ "data": documents })),
        ("instances", json!({ "instances": documents })),
        ("inputs", json!({ "inputs": documents })),
    ] {
        let answer = post(&server, body.to_string()).await;
        assert_eq!(answer.status, 200, "{form}: {}", answer.body);
        let labels = answer.json();
        let labels = labels.get("predictions").unwrap_or(&labels);
        assert_eq!(labels, &case["outputs"][label], "{form}");
    }
}

/// A request past one of the text operators' size limits (here the Tokenizer's padded output:
/// one 5,000-word document among 900 empty ones) is a 400 that names the limit, and the server
/// answers the next request.
#[tokio::test]
async fn a_request_past_a_text_operators_limit_is_400_naming_it() {
    let (server, fixture) = serve_fixture(TEXT, "tfidf_logistic").await;
    let long = vec!["refund"; 5_000].join(" ");
    let mut documents = vec![long.as_str()];
    documents.extend(std::iter::repeat_n("", 900));
    let answer = post(&server, json!({ "data": documents }).to_string()).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.message();
    assert!(message.contains("MAX_TOKEN_CELLS"), "{message}");
    let case = &fixture["cases"][0];
    let again = post(&server, case["request"].to_string()).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

macro_rules! text_zoo {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                assert_text_model_answers_as_onnxruntime(stringify!($name)).await;
            }
        )*

        /// Every text fixture has its test above.
        #[test]
        fn every_text_model_is_tested() {
            let tested = [$(stringify!($name)),*];
            for entry in std::fs::read_dir(repo_path(TEXT)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    assert!(tested.contains(&stem.as_str()), "{stem} has no test");
                }
            }
        }
    };
}

text_zoo! {
    tfidf_logistic,
    count_bigrams_nb,
    tfidf_sublinear_l1_logistic,
    tfidf_sgd_hinge,
    text_column_forest,
}

/// skl2onnx's `keep_empty_string` option (a Scan over StringNormalizer) stops start-up (exit 3)
/// naming the node and the option to export without.
#[test]
fn the_keep_empty_string_export_option_names_itself_at_start() {
    let args = [
        "--model-dir",
        "tests/fixtures/text/unsupported",
        "--model-file",
        "keep_empty_string.onnx",
    ];
    let mut server = Server::start(&args, &[]);
    let status = server
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("init fails");
    let logs = server.logs();
    assert_eq!(status.code(), Some(3), "{logs}");
    assert!(logs.contains("operator Scan (domain ai.onnx, node"), "{logs}");
    assert!(logs.contains("`keep_empty_string`"), "{logs}");
}
