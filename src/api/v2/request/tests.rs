use serde::Deserialize;
use serde_json::value::RawValue;

use super::*;

/// The reference: the request as serde's derive reads it, `data` as serde_json's checked text
/// (named as the request's own types, which serde_json's messages name).
mod reference {
    use super::*;

    #[derive(Deserialize)]
    pub struct InferRequest<'a> {
        pub id: Option<String>,
        #[serde(borrow)]
        pub inputs: Vec<InferInput<'a>>,
        pub outputs: Option<Vec<RequestedOutput>>,
        pub parameters: Option<RequestParameters>,
    }

    #[derive(Deserialize)]
    pub struct InferInput<'a> {
        pub name: String,
        pub shape: Vec<i64>,
        pub datatype: String,
        #[serde(borrow)]
        pub data: Option<&'a RawValue>,
        pub parameters: Option<TensorParameters>,
    }
}

use reference::InferRequest as Derived;

/// Everything a request holds, as text, to compare `read`'s with the reference's.
fn summary(
    id: &Option<String>,
    inputs: Vec<String>,
    outputs: &Option<Vec<RequestedOutput>>,
    parameters: &Option<RequestParameters>,
) -> String {
    let outputs: Option<Vec<String>> = outputs.as_ref().map(|outputs| {
        let text = |o: &RequestedOutput| format!("{} {:?}", o.name, tensor_parameters(&o.parameters));
        outputs.iter().map(text).collect()
    });
    let binary = parameters.as_ref().map(|p| p.binary_data_output);
    format!("{id:?} {inputs:?} {outputs:?} {binary:?}")
}

fn tensor_parameters(parameters: &Option<TensorParameters>) -> Option<(Option<u64>, Option<bool>)> {
    parameters.as_ref().map(|p| (p.binary_data_size, p.binary_data))
}

fn input_text(
    name: &str,
    shape: &[i64],
    datatype: &str,
    data: Option<&str>,
    parameters: &Option<TensorParameters>,
) -> String {
    format!(
        "{name} {shape:?} {datatype} {data:?} {:?}",
        tensor_parameters(parameters)
    )
}

fn read_summary(request: &InferRequest<'_>) -> String {
    let inputs = request.inputs.iter();
    let inputs = inputs.map(|i| input_text(&i.name, &i.shape, &i.datatype, i.data, &i.parameters));
    summary(
        &request.id,
        inputs.collect(),
        &request.outputs,
        &request.parameters,
    )
}

fn derived_summary(request: &Derived<'_>) -> String {
    let inputs = request.inputs.iter().map(|i| {
        input_text(
            &i.name,
            &i.shape,
            &i.datatype,
            i.data.map(RawValue::get),
            &i.parameters,
        )
    });
    summary(
        &request.id,
        inputs.collect(),
        &request.outputs,
        &request.parameters,
    )
}

fn error(body: &str) -> String {
    match read(body.as_bytes()) {
        Err(InputError::InvalidJson { detail }) => detail,
        Err(other) => panic!("{other}"),
        Ok(request) => panic!("{body} was read: {}", read_summary(&request)),
    }
}

#[test]
fn valid_requests_read_as_serdes_derive_reads_them() {
    for body in [
        r#"{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1.5, -2]}]}"#,
        // Any order, unknown fields of any kind, nulls as absent, whitespace and escapes.
        "{ \"extra\" : {\"inputs\": [1, [2]]}, \"id\":\"r\\\"1\" ,\n \"inputs\" : [ { \"data\" : [[1, 2],\n [3, 4]] ,\
         \"datatype\":\"INT64\", \"sh\\u0061pe\": [2,2], \"na\\u006de\": \"a\", \"parameters\": null, \"more\": [\"]\"] } ],\
         \"outputs\": [{\"name\": \"y\", \"parameters\": {\"binary_data\": true, \"other\": 1}}], \"parameters\": \
         {\"binary_data_output\": false, \"sequence_id\": 3}}\n",
        r#"{"id": null, "outputs": null, "parameters": null, "inputs": []}"#,
        // `data`: strings holding brackets and escaped quotes, a scalar, an object, null, absent.
        r#"{"inputs": [{"name": "s", "shape": [3], "datatype": "BYTES", "data": ["]", "a\"]\\", "[["]},
                      {"name": "t", "shape": [], "datatype": "FP32", "data": 7},
                      {"name": "u", "shape": [], "datatype": "FP32", "data": {"a": [1]}},
                      {"name": "v", "shape": [1], "datatype": "FP32", "data": null},
                      {"name": "w", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}}]}"#,
    ] {
        let derived: Derived = serde_json::from_str(body).expect("the reference reads it");
        let request = read(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(read_summary(&request), derived_summary(&derived), "{body}");
    }
}

#[test]
fn invalid_requests_are_refused_with_serdes_messages() {
    let input = r#"{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}"#;
    for body in [
        String::new(),
        r#"{"inputs": "x"}"#.to_owned(),
        r#"{"inputs": [{"name": "x", "shape": "s"}]}"#.to_owned(),
        "{\"id\": 1,\n  \"inputs\": []}".to_owned(),
        format!(r#"{{"inputs": [{input}], "inputs": []}}"#),
        r#"{"inputs": [{"name": "x", "name": "y"}]}"#.to_owned(),
        r#"{"id": "a"}"#.to_owned(),
        "{\n\"id\": \"a\"\n}".to_owned(),
        r#"{"inputs": [{"shape": [1], "datatype": "FP32"}]}"#.to_owned(),
        format!(r#"{{"inputs": [{input}]}} x"#),
        format!(r#"{{"inputs": [{input}],}}"#),
        format!(r#"{{"inputs": [{input},]}}"#),
        format!(r#"{{"inputs": [{input}] "id": "a"}}"#),
        r#"{"inputs": [], "outputs": [{"name": 1}]}"#.to_owned(),
        r#"{inputs: []}"#.to_owned(),
        r#"{"inputs" []}"#.to_owned(),
        r#"{"inputs": [], "x": [1, }"#.to_owned(),
        r#"{"inputs": ["#.to_owned(),
        r#"{"inputs""#.to_owned(),
        r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1, 2"#.to_owned(),
        r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"#.to_owned(),
        r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": 1x}]}"#.to_owned(),
        r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1, 2}]}"#.to_owned(),
        r#"{"inputs": [],"#.to_owned(),
        r#"{"inputs": [], "inputs" : []}"#.to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        "{\"inputs\": [], \"id\": \"a\"x}".to_owned(),
    ] {
        let want = serde_json::from_str::<Derived>(&body)
            .err()
            .expect("refused")
            .to_string();
        assert_eq!(error(&body), want, "{body}");
        // Refused by the reader itself: the derive only words the message.
        let mut reader = Reader::new(body.as_bytes());
        let ours = infer_request(&mut reader).and_then(|_| reader.end());
        assert!(ours.is_err(), "the reader took {body}");
    }
    // An object written as an array, which the derive took: refused, as anything not an object
    // is, in the reader's words.
    let body = r#"[null, [["x", [1], "FP32", [1], null]], null, null]"#;
    assert!(serde_json::from_str::<Derived>(body).is_ok());
    assert_eq!(
        error(body),
        "invalid type: sequence, expected a map at line 1 column 0"
    );
}

/// Where serde_json's own message places an error, ours does too: within the whole text, not
/// within the field's value that serde_json read.
#[test]
fn errors_in_a_fields_value_are_placed_in_the_whole_text() {
    for body in [
        r#"{"inputs": [{"name": "x", "shape": "s", "datatype": "FP32"}]}"#,
        "{\"inputs\": [\n  {\"name\": \"x\",\n   \"shape\": [1, \"2\"], \"datatype\": \"FP32\"}]}",
        "{\"inputs\": [], \"parameters\": {\n\"binary_data_output\":\n 3}}",
    ] {
        let want = serde_json::from_str::<Derived>(body)
            .err()
            .expect("refused")
            .to_string();
        assert_eq!(error(body), want, "{body}");
    }
}

/// `data` is matched bracket to bracket only: what is inside is the walk's to check
/// (`leaves::each_leaf`), and its end is found even past brackets in strings.
#[test]
fn data_is_located_not_checked() {
    let request =
        read(br#"{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1 2, "]\"[", +]}]}"#)
            .unwrap();
    assert_eq!(request.inputs[0].data, Some(r#"[1 2, "]\"[", +]"#));
    for body in [
        r#"{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2}]}"#,
        r#"{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": ["1]}]}"#,
        r#"{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": ["\"#,
    ] {
        assert!(error(body).contains(" at line 1 column "), "{body}");
    }
}

/// Nesting past serde_json's recursion limit is only counted (the walk is a loop too).
#[test]
fn deep_data_costs_no_stack() {
    let depth = 100_000;
    let body = format!(
        r#"{{"inputs": [{{"name": "x", "shape": [1], "datatype": "FP32", "data": {}1{}}}]}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let request = read(body.as_bytes()).unwrap();
    assert_eq!(request.inputs[0].data.map(str::len), Some(2 * depth + 1));
}
