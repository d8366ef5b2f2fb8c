//! Framing errors of the binary tensor extension: each a 400 naming the input (or the header
//! length), after which the same server answers a good framing as it answers the JSON form.

use serde_json::json;

use super::{framed, le, send, TABULAR};
use crate::common::*;

#[tokio::test]
async fn framing_errors_are_400s_that_name_the_input_and_the_server_keeps_answering() {
    let (server, _) = serve_fixture(TABULAR, "columns_regressor").await;
    let path = "/v2/models/columns_regressor/infer";
    let strings = |values: &[&str]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|s| [&(s.len() as u32).to_le_bytes()[..], s.as_bytes()].concat())
            .collect()
    };
    let age = le(&[39.0f32, 52.0], f32::to_le_bytes);
    let hours = le(&[40i64, 45], i64::to_le_bytes);
    let workclass = strings(&["Private", "State-gov"]);
    let inputs = |sizes: [usize; 3]| {
        json!({ "inputs": [
            { "name": "age", "datatype": "FP32", "shape": [2, 1], "parameters": { "binary_data_size": sizes[0] } },
            { "name": "hours", "datatype": "INT64", "shape": [2], "parameters": { "binary_data_size": sizes[1] } },
            { "name": "workclass", "datatype": "BYTES", "shape": [2, 1], "parameters": { "binary_data_size": sizes[2] } },
            { "name": "member", "datatype": "BOOL", "shape": [2, 1], "data": [true, false] },
        ]})
    };
    let binary = [&age[..], &hours, &workclass].concat();
    let good = inputs([8, 16, workclass.len()]);
    let cases: Vec<(Vec<u8>, String, &str)> = vec![
        {
            let (body, _) = framed(&good, &binary);
            (
                body,
                "12 rows".to_owned(),
                "Inference-Header-Content-Length must be the JSON header's length in bytes",
            )
        },
        {
            let (body, _) = framed(&good, &binary);
            let past = (body.len() + 1).to_string();
            (body, past, "past the end of the")
        },
        {
            // The sizes add up to the body, but `hours` takes one byte of `workclass`.
            let (body, length) = framed(&inputs([8, 17, workclass.len() - 1]), &binary);
            (
                body,
                length,
                "input \"hours\" of shape [2]: the tensor holds 17 bytes",
            )
        },
        {
            let (body, length) = framed(&inputs([8, 16, workclass.len() + 1]), &binary);
            (
                body,
                length,
                "input \"workclass\" has binary_data_size 25 at byte 24 of the binary data, past its end",
            )
        },
        {
            // "Private" claims 8 bytes: past its own tensor, though the body goes on.
            let mut bad = workclass.clone();
            bad[0] = 30;
            let (body, length) = framed(&good, &[&age[..], &hours, &bad].concat());
            (
                body,
                length,
                "input \"workclass\" of shape [2, 1]: the tensor has BYTES value 0 of length 30, past the",
            )
        },
    ];
    for (body, length, expected) in cases {
        let answer = send(
            &server,
            path,
            &[("inference-header-content-length", &length)],
            body,
        )
        .await;
        assert_eq!(answer.status, 400, "{}", answer.text());
        let (json, _) = answer.framed();
        let error = json["error"].as_str().unwrap();
        assert!(
            error.starts_with(expected) || error.contains(expected),
            "{error}\nexpected: {expected}"
        );
    }
    let (body, length) = framed(&good, &binary);
    let answer = send(
        &server,
        path,
        &[("inference-header-content-length", &length)],
        body,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let plain = json!({ "data": [
        { "age": 39.0, "hours": 40, "workclass": "Private", "member": true },
        { "age": 52.0, "hours": 45, "workclass": "State-gov", "member": false },
    ]});
    let scored = post(&server, plain.to_string()).await;
    assert_eq!(answer.framed().0["outputs"][0]["data"], scored.json());
}
