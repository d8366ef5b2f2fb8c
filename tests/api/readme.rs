//! The README's "Tabular models" examples, run as written: each `sh` block that starts a model
//! has its `curl -d '<body>' <url>` lines sent to that model, and each answer must be the
//! `# <answer>` line under it.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// One example: the body, the path with its query, and the answer the README shows.
struct Example {
    body: String,
    path: String,
    answer: String,
}

/// The model file and examples of each `sh` block of the section that starts a model.
fn examples() -> Vec<(String, Vec<Example>)> {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let section = readme
        .split("## Tabular models")
        .nth(1)
        .expect("the README has a Tabular models section");
    let section = section.split("\n## ").next().unwrap();
    let mut blocks = Vec::new();
    for block in section.split("```sh").skip(1) {
        let block = block.split("```").next().unwrap();
        let lines: Vec<&str> = block.lines().collect();
        let Some(model) = lines.iter().find_map(|l| l.split("--model-file ").nth(1)) else {
            continue;
        };
        let model = model.split_whitespace().next().unwrap().to_owned();
        let mut examples = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("curl -d '") else {
                continue;
            };
            let (body, url) = rest.split_once("' ").unwrap();
            let url = url.trim().trim_matches('\'');
            let path = url
                .strip_prefix("localhost:5001")
                .expect("examples call localhost:5001");
            let answer = lines[index + 1]
                .strip_prefix("# ")
                .expect("an answer line follows");
            examples.push(Example {
                body: body.to_owned(),
                path: path.to_owned(),
                answer: answer.to_owned(),
            });
        }
        blocks.push((model, examples));
    }
    blocks
}

#[tokio::test]
async fn the_tabular_examples_of_the_readme_answer_as_written() {
    let blocks = examples();
    assert!(blocks.len() >= 2, "both example blocks are found");
    for (model, examples) in blocks {
        assert!(!examples.is_empty(), "{model} has examples");
        let server = Server::start(
            &["--model-dir", "tests/fixtures/tabular", "--model-file", &model],
            &[],
        );
        server.wait_ready(Duration::from_secs(20)).await;
        for example in examples {
            let answer = post_to(&server, &example.path, example.body.clone()).await;
            assert_eq!(answer.status, 200, "{}: {}", example.body, answer.body);
            let expected: Value = serde_json::from_str(&example.answer).unwrap();
            assert_eq!(answer.json(), expected, "{} {}", example.path, example.body);
        }
    }
}
