//! The header lines of a payload: the library's, and nothing a request id could smuggle in.

use super::*;

fn capture(request_id: &str) -> Capture {
    Capture {
        collection: Collection::Outputs,
        request_id: request_id.into(),
        time: 1_700_000_000,
        rows: 0,
        columns: Vec::new(),
    }
}

fn lines(capture: &Capture, model_version: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    write_headers(&mut out, capture, model_version);
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("\r\n"), "{text:?}");
    text.split_terminator("\r\n").map(str::to_owned).collect()
}

#[test]
fn a_payload_carries_the_librarys_headers_with_a_new_trace_id_each_time() {
    let capture = capture("join-1");
    let first = lines(&capture, Some("ce-model-version: 3\r\n"));
    let expected = [
        "content-type: application/json",
        "ce-time: 1700000000",
        "ce-type: azureml.inference.model_outputs",
        "ce-collect-data-type: pandas.core.frame.DataFrame",
        &format!("ce-agent: {SERVER_VERSION}"),
        "ce-x-request-id: join-1",
        "ce-model-version: 3",
    ];
    for line in expected {
        assert!(first.iter().any(|l| l == line), "{line} in {first:?}");
    }
    let trace = |lines: &[String]| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("trace-id: ").map(str::to_owned))
    };
    let id = trace(&first).expect("a trace-id line");
    let parsed = uuid::Uuid::parse_str(&id).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4);
    assert_ne!(Some(id), trace(&lines(&capture, None)));
}

#[test]
fn a_request_id_that_is_not_header_text_is_left_out() {
    for id in [
        "",
        "a\r\nx-injected: 1",
        "tab\tinside-is-fine\u{7f}",
        " padded",
        "é",
    ] {
        let lines = lines(&capture(id), None);
        assert!(
            !lines.iter().any(|l| l.starts_with("ce-x-request-id")),
            "{id:?}: {lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("x-injected")),
            "{id:?}: {lines:?}"
        );
    }
    assert!(is_header_text("tab\tinside"));
}
