//! Every `curl` example of README.md and `docs/*.md`, run as written. The examples are the `curl`
//! commands of the fenced `sh` blocks and of the inline code spans. A block that starts
//! `aml-scorer ARGS` (or `cargo run -- ARGS`), with any `NAME=value` before it, sends its later
//! examples to a server started with those arguments and that environment; any other block
//! (`cargo run --release`, `docker run`, `docker compose up`) to the bundled model at the default
//! settings. The `# ...` lines right under an example are its answer: JSON is compared as JSON
//! (numbers within 1e-14 relative: the last digit of a float64 sum depends on the order of its
//! terms), anything else as text.
//! Every example must answer 2xx.

mod shell;

use std::{collections::BTreeMap, time::Duration};

use serde_json::Value;

use crate::common::*;
use shell::Item;

/// How a block's server is started: the arguments after the binary's name, and the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Launch {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// One `curl` example, where it is written, and the answer written under it.
struct Example {
    at: String,
    method: reqwest::Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    answer: Option<String>,
}

/// README.md, then each page of `docs/` by name: `(path from the repository root, text)`.
fn documents() -> Vec<(String, String)> {
    let mut pages: Vec<String> = std::fs::read_dir(repo_path("docs"))
        .expect("docs/ is at the top level")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    pages.sort();
    assert!(pages.len() > 1, "docs/ holds the reference pages");
    std::iter::once("README.md".to_owned())
        .chain(pages)
        .map(|path| {
            let text = std::fs::read_to_string(repo_path(&path)).unwrap();
            (path, text)
        })
        .collect()
}

/// The launch a command asks for, when it starts the server.
fn launch(words: &[String]) -> Option<Launch> {
    let assignments = words
        .iter()
        .take_while(|w| w.contains('=') && !w.starts_with('-'));
    let env: Vec<(String, String)> = assignments
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .unwrap()
        })
        .collect();
    let command = &words[env.len()..];
    let args = match command {
        [binary, args @ ..] if binary == "aml-scorer" => args.to_vec(),
        [cargo, run, rest @ ..] if cargo == "cargo" && run == "run" => {
            if rest.iter().any(|w| w == "-p" || w == "--package") {
                return None; // another package of the workspace (the local identity endpoint)
            }
            rest.iter().skip_while(|w| *w != "--").skip(1).cloned().collect()
        }
        _ => return None,
    };
    Some(Launch { args, env })
}

/// A `curl` command as a request; the URL must be `localhost:5001`, which the test replaces.
fn example(at: String, words: &[String], answer: Option<String>) -> Example {
    let (mut method, mut url, mut headers, mut body) = (None, None, Vec::new(), None);
    let mut words = words[1..].iter();
    while let Some(word) = words.next() {
        let mut value = || {
            words
                .next()
                .unwrap_or_else(|| panic!("{at}: {word} takes a value"))
                .clone()
        };
        match word.as_str() {
            "-d" | "--data" | "--data-binary" => {
                let data = value();
                body = Some(match data.strip_prefix('@') {
                    Some(file) => std::fs::read_to_string(repo_path(file)).expect("the example's file"),
                    None => data,
                });
            }
            "-X" | "--request" => method = Some(value().parse().expect("an HTTP method")),
            "-H" | "--header" => {
                let header = value();
                let (name, value) = header.split_once(':').expect("a header is `name: value`");
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "-s" | "-S" | "-sS" | "--silent" => {}
            option if option.starts_with('-') || option == "|" => {
                panic!("{at}: the test does not know what curl's `{option}` does; teach it")
            }
            _ if url.is_none() => url = Some(word.clone()),
            _ => panic!("{at}: one URL per example"),
        }
    }
    let url = url.unwrap_or_else(|| panic!("{at}: the example has a URL"));
    let url = url.strip_prefix("http://").unwrap_or(&url);
    let path = ["localhost:5001", "127.0.0.1:5001"]
        .iter()
        .find_map(|host| url.strip_prefix(host))
        .unwrap_or_else(|| panic!("{at}: examples call localhost:5001"));
    let path = if path.is_empty() { "/" } else { path }.to_owned();
    if body.is_some()
        && !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        // What curl sends with -d; the server reads the body as JSON whatever it says.
        headers.push((
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let method = method.unwrap_or(if body.is_some() {
        reqwest::Method::POST
    } else {
        reqwest::Method::GET
    });
    Example {
        at,
        method,
        path,
        headers,
        body,
        answer,
    }
}

/// Every example of every document, by the launch it is sent to.
fn examples() -> BTreeMap<Launch, Vec<Example>> {
    let mut examples: BTreeMap<Launch, Vec<Example>> = BTreeMap::new();
    for (path, text) in documents() {
        for snippet in shell::snippets(&text) {
            let mut server = Launch::default();
            let items = shell::items(&snippet.code, snippet.line);
            for (index, item) in items.iter().enumerate() {
                let Item::Command { line, words } = item else {
                    continue;
                };
                if let Some(launch) = launch(words) {
                    server = launch;
                }
                if words[0] != "curl" {
                    continue;
                }
                let comments = items[index + 1..].iter().map_while(|item| match item {
                    Item::Comment(text) => Some(text.as_str()),
                    Item::Command { .. } => None,
                });
                let answer = comments.collect::<Vec<_>>().join("\n");
                let answer = (!answer.is_empty()).then_some(answer);
                let example = example(format!("{path}:{line}"), words, answer);
                examples.entry(server.clone()).or_default().push(example);
            }
            let written = snippet.code.matches("curl ").count();
            let found = items
                .iter()
                .filter(|i| matches!(i, Item::Command { words, .. } if words[0] == "curl"));
            assert_eq!(
                found.count(),
                written,
                "{path}:{}: every curl is a command",
                snippet.line
            );
        }
    }
    examples
}

/// Numbers within a few float32 ulps (1e-6 relative), anything else equal, at any depth. The
/// examples' models answer in float32, and a slow model may run a one-item request on its
/// single-item plan (docs/models.md), whose sums round otherwise in the last bit.
fn same(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            a == e || ((a - e) / e).abs() <= 1e-6
        }
        (Value::Array(a), Value::Array(e)) => a.len() == e.len() && a.iter().zip(e).all(|(a, e)| same(a, e)),
        (Value::Object(a), Value::Object(e)) => {
            a.len() == e.len() && e.iter().all(|(key, e)| a.get(key).is_some_and(|a| same(a, e)))
        }
        _ => actual == expected,
    }
}

async fn run(server: &Server, example: &Example) {
    let mut request = client().request(example.method.clone(), server.url(&example.path));
    for (name, value) in &example.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &example.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let body = response.text().await.expect("the answer has a body");
    let at = &example.at;
    assert!(status.is_success(), "{at}: {status} {body}");
    let Some(answer) = &example.answer else { return };
    match serde_json::from_str::<Value>(answer) {
        Ok(expected) => {
            let actual: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{at}: {e}: {body}"));
            assert!(
                same(&actual, &expected),
                "{at}: answered\n{actual}\nnot as written\n{expected}"
            );
        }
        Err(_) => assert_eq!(body.trim(), answer.trim(), "{at}"),
    }
}

#[tokio::test]
async fn every_curl_example_of_the_readme_and_docs_answers_as_written() {
    let examples = examples();
    let bundled = &examples[&Launch::default()];
    assert!(
        bundled
            .iter()
            .any(|e| e.at.starts_with("README.md") && e.answer.is_some()),
        "the README's quick start is an answered example"
    );
    assert!(examples.len() >= 3, "the tabular examples start their own models");
    for (launch, examples) in &examples {
        let args: Vec<&str> = launch.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let server = Server::start(&args, &env);
        server.wait_ready(Duration::from_secs(20)).await;
        for example in examples {
            run(&server, example).await;
        }
    }
}
