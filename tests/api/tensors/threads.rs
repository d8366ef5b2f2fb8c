//! Intra-op threads (`--intra-op-threads`): a model served with a pool of 2 answers exactly as
//! with 1 thread, and as onnxruntime does; the start log says how many threads a run uses.

use serde_json::json;

use super::{assert_answer, case, DIR};
use crate::common::{post, repo_path, Server};

async fn serve(threads: &str) -> Server {
    let args = [
        "--model-dir",
        DIR,
        "--model-file",
        "cnn_dynamic_batch.onnx",
        "--intra-op-threads",
        threads,
    ];
    let server = Server::start(&args, &[]);
    server.wait_ready(std::time::Duration::from_secs(20)).await;
    server
}

#[tokio::test]
async fn a_model_served_with_two_intra_op_threads_answers_exactly_as_with_one() {
    let text = std::fs::read_to_string(repo_path(&format!("{DIR}/cnn_dynamic_batch.json"))).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (one, two) = (serve("1").await, serve("2").await);
    for name in ["n1", "n3"] {
        let case = case(&fixture, name);
        let body = json!({ "data": case["inputs"]["image"]["data"] }).to_string();
        let (by_one, by_two) = (post(&one, body.clone()).await, post(&two, body).await);
        assert_answer(&by_two, &case["outputs"]["logits"]["data"]);
        assert_eq!(by_one.body, by_two.body, "{name}: 2 threads answer as 1");
    }
    for (server, threads) in [(&one, 1), (&two, 2)] {
        let logs = server.logs();
        let line = logs
            .lines()
            .find(|line| line.contains("intra-op threads per model run"))
            .unwrap_or_else(|| panic!("no intra-op threads line in {logs}"));
        assert!(line.contains(&format!("\"threads\":{threads}")), "{line}");
        assert!(line.contains("--intra-op-threads"), "{line}");
    }
}
