use proptest::prelude::*;

use super::*;
use crate::grpc::messages::{model_infer_request::InferInputTensor, InferTensorContents};
use crate::model::{ElementType, ModelSpec, Output, PredictError};

/// A model of two float32 columns that answers its input.
struct Echo(ModelSpec);

impl Predictor for Echo {
    fn spec(&self) -> &ModelSpec {
        &self.0
    }

    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        let values = batch.inputs.into_iter().next().expect("one input");
        Ok(Predictions {
            rows: batch.rows,
            outputs: vec![Output {
                per_row: 2,
                values,
                shape: vec![2],
            }],
        })
    }
}

fn echo() -> Echo {
    let mut spec = ModelSpec::matrix(2, ElementType::F32);
    spec.outputs[0].width = Some(2);
    spec.outputs[0].shape = vec![None, Some(2)];
    Echo(spec)
}

fn codec(request: &ModelInferRequest) -> InferCodec {
    InferCodec {
        body: Bytes::from(request.encode_to_vec()),
        model_name: "m".into(),
        id: String::new(),
        outputs: Vec::new(),
        budget: std::sync::Arc::new(crate::api::InflightBudget::new(
            1 << 30,
            1 << 30,
            std::time::Duration::from_millis(10),
        )),
    }
}

fn request(contents: Option<InferTensorContents>, raw: Vec<Bytes>) -> ModelInferRequest {
    ModelInferRequest {
        model_name: "m".to_owned(),
        id: "call-1".to_owned(),
        inputs: vec![InferInputTensor {
            name: "input".to_owned(),
            datatype: "FP32".to_owned(),
            shape: vec![2, 2],
            contents,
            ..Default::default()
        }],
        raw_input_contents: raw,
        ..Default::default()
    }
}

#[test]
fn raw_and_typed_contents_decode_to_the_same_batch_and_answer_in_raw() {
    let values = [1.5f32, -2.0, 0.25, 8.0];
    let raw: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let typed = InferTensorContents {
        fp32_contents: values.to_vec(),
        ..Default::default()
    };
    let model = echo();
    let mut from_raw = codec(&request(None, vec![Bytes::from(raw.clone())]));
    let mut from_typed = codec(&request(Some(typed), Vec::new()));

    let batch = from_raw.decode(&[], &model).unwrap();
    assert_eq!(from_typed.decode(&[], &model).unwrap(), batch);
    assert_eq!(batch.inputs, [Values::F32(values.to_vec())]);
    let answer = from_raw.encode(model.predict(batch).unwrap(), &model).unwrap();

    assert_eq!(answer.id, "call-1");
    assert_eq!(answer.outputs[0].shape, [2, 2]);
    assert_eq!(answer.outputs[0].datatype, "FP32");
    assert_eq!(answer.raw_output_contents, [Bytes::from(raw)]);
}

#[test]
fn raw_entries_must_match_the_inputs_without_contents() {
    let mut two = request(None, vec![Bytes::new(), Bytes::new()]);
    two.inputs[0].contents = None;
    let error = codec(&two).decode(&[], &echo()).unwrap_err().to_string();
    assert_eq!(
        error,
        "raw_input_contents has 2 entries for the 1 inputs without contents"
    );
}

#[test]
fn another_model_name_is_not_found_and_a_malformed_message_is_a_bad_request() {
    let mut other = request(None, Vec::new());
    other.model_name = "other".to_owned();
    let error = codec(&other).decode(&[], &echo()).unwrap_err();
    assert_eq!(error.status(), 404);
    let mut garbage = codec(&other);
    garbage.body = Bytes::from_static(&[0x0a, 0xff]);
    let error = garbage.decode(&[], &echo()).unwrap_err();
    assert_eq!(error.status(), 400);
    assert!(
        error
            .to_string()
            .contains("ModelInferRequest message is malformed"),
        "{error}"
    );
}

proptest! {
    #[test]
    fn any_bytes_decode_to_a_batch_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut codec = codec(&request(None, Vec::new()));
        codec.body = Bytes::from(bytes);
        let _ = codec.decode(&[], &echo());
    }

    #[test]
    fn any_field_values_decode_to_a_batch_or_an_error(
        shape in proptest::collection::vec(-3i64..5, 0..4),
        datatype in prop::sample::select(vec!["FP32", "FP16", "INT8", "BYTES", "UINT64", ""]),
        raw in proptest::collection::vec(any::<u8>(), 0..64),
        ints in proptest::collection::vec(any::<i32>(), 0..8),
    ) {
        let mut message = request(None, vec![Bytes::from(raw)]);
        message.inputs[0].shape = shape.clone();
        message.inputs[0].datatype = datatype.to_owned();
        let _ = codec(&message).decode(&[], &echo());
        let typed = InferTensorContents { int_contents: ints, ..Default::default() };
        let mut message = request(Some(typed), Vec::new());
        message.inputs[0].shape = shape;
        message.inputs[0].datatype = datatype.to_owned();
        let _ = codec(&message).decode(&[], &echo());
    }
}

#[test]
fn a_message_of_many_empty_inputs_is_refused_before_it_is_decoded() {
    // 1 MB of `2a 00` (an empty `inputs` entry): about 150 MB once decoded.
    let mut many = codec(&request(None, Vec::new()));
    many.body = Bytes::from([0x2a, 0x00].repeat(500_000));
    let error = many.decode(&[], &echo()).unwrap_err();
    assert_eq!(error.status(), 400);
    assert_eq!(
        error.to_string(),
        "the ModelInferRequest has 500000 inputs entries, more than the 64 this model accepts"
    );
}

#[test]
fn the_worst_case_of_decoding_is_charged_before_decoding() {
    // 16 kB of empty `bytes_contents` entries in one input: about 200 kB decoded, more than
    // this budget of 64 KiB, though the message itself fits it.
    let contents = [0x42, 0x00].repeat(8000);
    let input = [
        vec![0x2a],
        varint(contents.len() + 3),
        vec![0x2a],
        varint(contents.len()),
        contents,
    ]
    .concat();
    let mut small = codec(&request(None, Vec::new()));
    small.budget = std::sync::Arc::new(crate::api::InflightBudget::new(
        64 << 10,
        1 << 20,
        std::time::Duration::from_millis(10),
    ));
    small.body = Bytes::from([vec![0x0a, 0x01, b'm'], input].concat());
    let error = small.decode(&[], &echo()).unwrap_err();
    assert_eq!(error.status(), 413, "{error}");
}

fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}
