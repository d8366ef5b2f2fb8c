//! Intra-op threads (`--intra-op-threads`): a model served with a pool of 2, or with auto (a
//! request alone splits over the cores), answers exactly as with 1 thread on the same plans, and as
//! onnxruntime does; the start log says how many threads a run uses and why.

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

/// Starts allowed for a pair of servers to find the same plans.
const STARTS_TO_MATCH_PLANS: usize = 8;

/// A 1-thread server and one with `threads`, on the same plans: the one that did not start last
/// is started again until they are (the choice can flip on a busy machine, on either side).
async fn pair_on_the_same_plans(threads: &str) -> (Server, Server) {
    let (mut one, mut other) = (serve("1").await, serve(threads).await);
    for start in 1..STARTS_TO_MATCH_PLANS {
        if plans(&other) == plans(&one) {
            break;
        }
        if start % 2 == 1 {
            one = serve("1").await;
        } else {
            other = serve(threads).await;
        }
    }
    assert_eq!(
        plans(&other),
        plans(&one),
        "{STARTS_TO_MATCH_PLANS} starts chose other plans"
    );
    (one, other)
}

/// The plans a server chose at load: whether one-item requests run on a plan typed for one
/// item, and where several items run, as its start line says (`None` without that line). The
/// choice is timed at warm-up (SPEC 3: a plan per shape only where measured faster), so two
/// starts of one model can choose differently, and two plans can differ in the last bits (their
/// matrix kernels sum in another order): only servers on the same plans must answer alike.
fn plans(server: &Server) -> Option<String> {
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|line| line.contains("plan typed for exactly one item"))?;
    let several = line
        .split("\"several_items\":")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"));
    Some(several.split(',').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_model_served_with_two_intra_op_threads_or_auto_answers_exactly_as_with_one() {
    let text = std::fs::read_to_string(repo_path(&format!("{DIR}/cnn_dynamic_batch.json"))).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Auto ("0"): a request alone, as each is here, runs over the pool of all the cores.
    let pairs = [
        pair_on_the_same_plans("2").await,
        pair_on_the_same_plans("0").await,
    ];
    for name in ["n1", "n3"] {
        let case = case(&fixture, name);
        let body = json!({ "data": case["inputs"]["image"]["data"] }).to_string();
        for ((one, other), threads) in pairs.iter().zip(["2", "auto"]) {
            let by_one = post(one, body.clone()).await;
            let by_other = post(other, body.clone()).await;
            assert_answer(&by_other, &case["outputs"]["logits"]["data"]);
            assert_eq!(by_one.body, by_other.body, "{name}: {threads} answer as 1 thread");
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let fixed = "set by --intra-op-threads";
    let servers = [(&pairs[0].0, 1, fixed), (&pairs[0].1, 2, fixed)];
    for (server, threads, reason) in servers.into_iter().chain([(&pairs[1].1, cores, "auto")]) {
        let logs = server.logs();
        let line = logs
            .lines()
            .find(|line| line.contains("intra-op threads per model run"))
            .unwrap_or_else(|| panic!("no intra-op threads line in {logs}"));
        assert!(line.contains(&format!("\"threads\":{threads}")), "{line}");
        assert!(line.contains(reason), "{line}");
    }
}
