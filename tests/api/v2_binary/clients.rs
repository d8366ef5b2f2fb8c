//! Triton's `tritonclient.http` and the KServe SDK's REST client driving the real binary
//! (`tests/clients/`), and the tritonclient calls the docs show, run as written.

use std::time::Duration;

use super::{TABULAR, TENSORS};
use crate::common::*;

/// Runs `tests/clients/<script>` against `server` with `args` after its URL.
fn python_client(script: &str, url: String, args: &[&str]) -> String {
    let mut all = vec![url.as_str()];
    all.extend_from_slice(args);
    run_client(script, &all)
}

#[tokio::test]
async fn tritonclient_answers_every_datatype_alike_in_binary_json_mixed_and_compressed() {
    for name in [
        "fp16_uint8",
        "fp64_int32_bool",
        "int8_int16",
        "bool_rank0",
        "tiny_bert",
    ] {
        let (server, _) = serve_fixture(TENSORS, name).await;
        let fixture = repo_path(&format!("{TENSORS}/{name}.json"));
        let out = python_client(
            "triton_http.py",
            server.addr.to_string(),
            &["tensors", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: 2 cases")), "{out}");
    }
}

#[tokio::test]
async fn tritonclient_sends_strings_and_several_inputs_and_reads_several_outputs() {
    for name in ["string_classifier", "columns_regressor"] {
        let (server, _) = serve_fixture(TABULAR, name).await;
        let fixture = repo_path(&format!("{TABULAR}/{name}.json"));
        let out = python_client(
            "triton_http.py",
            server.addr.to_string(),
            &["tabular", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: ")), "{out}");
    }
}

#[tokio::test]
async fn tritonclient_gets_our_messages_as_exceptions_and_large_answers_in_every_coding() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let model = "sklearn_regression_model";
    python_client("triton_http.py", server.addr.to_string(), &["errors", model]);
    python_client("triton_http.py", server.addr.to_string(), &["large", model]);
}

#[tokio::test]
async fn the_kserve_rest_client_sends_and_reads_binary_tensors_strings_included() {
    for name in ["fp16_uint8", "fp64_int32_bool"] {
        let (server, _) = serve_fixture(TENSORS, name).await;
        let fixture = repo_path(&format!("{TENSORS}/{name}.json"));
        let out = python_client(
            "kserve_rest.py",
            server.url(""),
            &["tensors", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: 2 cases")), "{out}");
    }
    for name in ["string_classifier", "columns_regressor"] {
        let (server, _) = serve_fixture(TABULAR, name).await;
        let fixture = repo_path(&format!("{TABULAR}/{name}.json"));
        let out = python_client(
            "kserve_rest.py",
            server.url(""),
            &["tabular", fixture.to_str().unwrap()],
        );
        assert!(out.contains(&format!("{name}: ")), "{out}");
    }
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    python_client(
        "kserve_rest.py",
        server.url(""),
        &["errors", "sklearn_regression_model"],
    );
}

/// The ```python blocks of `doc`, each with what it prints: the comment after its `print(...)`,
/// on the same line or on the `# ` lines under it.
fn python_examples(doc: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_path(doc)).unwrap();
    let mut examples = Vec::new();
    for block in text.split("```python\n").skip(1) {
        let block = block.split("```").next().unwrap();
        let mut code = Vec::new();
        let mut printed = Vec::new();
        for line in block.lines() {
            match line.strip_prefix("# ") {
                Some(output) => printed.push(output.to_owned()),
                None => {
                    // A comment after a `print(...)` on its line is what it prints.
                    if let Some((_, output)) = line.split_once(")  ").filter(|_| line.starts_with("print(")) {
                        printed.push(output.trim_start().trim_start_matches("# ").to_owned());
                    }
                    code.push(line.to_owned());
                }
            }
        }
        examples.push((code.join("\n"), printed.join("\n")));
    }
    examples
}

#[tokio::test]
async fn the_documented_tritonclient_calls_print_what_their_comments_say() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    for doc in ["README.md", "docs/http.md"] {
        let examples = python_examples(doc);
        assert!(!examples.is_empty(), "{doc} shows a tritonclient call");
        for (code, printed) in examples {
            let code = code.replace("localhost:5001", &server.addr.to_string());
            let output = std::process::Command::new(repo_path("target/yaml-venv/bin/python"))
                .args(["-c", &code])
                .output()
                .expect("the test venv's Python runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{doc}:\n{code}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(stdout.trim(), printed, "{doc}:\n{code}");
        }
    }
}
