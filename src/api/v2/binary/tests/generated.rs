//! Property tests of the binary framing: generated requests with any of their inputs in binary
//! decode as their JSON form, and random bytes under any header length are a 400, never a panic.

use super::*;

/// One generated input: its datatype and values as JSON leaves and as raw bytes.
#[derive(Debug, Clone)]
struct Generated {
    element: ElementType,
    width: usize,
    values: Values,
}

fn generated() -> impl Strategy<Value = (Vec<Generated>, usize)> {
    let element = prop::sample::select(vec![
        ElementType::F32,
        ElementType::F64,
        ElementType::F16,
        ElementType::I8,
        ElementType::U8,
        ElementType::I16,
        ElementType::I32,
        ElementType::I64,
        ElementType::Bool,
        ElementType::String,
    ]);
    (prop::collection::vec((element, 1usize..4), 1..5), 1usize..4).prop_flat_map(|(kinds, rows)| {
        let inputs: Vec<_> = kinds
            .into_iter()
            .map(|(element, width)| {
                values(element, rows * width).prop_map(move |values| Generated {
                    element,
                    width,
                    values,
                })
            })
            .collect();
        (inputs, Just(rows))
    })
}

/// `count` values of `element` that JSON carries exactly (floats of few binary digits).
fn values(element: ElementType, count: usize) -> BoxedStrategy<Values> {
    let n = count;
    match element {
        ElementType::F32 => prop::collection::vec(any::<i32>().prop_map(|i| i as f32 / 1024.0), n)
            .prop_map(Values::F32)
            .boxed(),
        ElementType::F64 => prop::collection::vec(any::<i64>().prop_map(|i| i as f64 / 3.0), n)
            .prop_map(Values::F64)
            .boxed(),
        ElementType::F16 => {
            prop::collection::vec(any::<i8>().prop_map(|i| f16::from_f32(f32::from(i) / 4.0)), n)
                .prop_map(Values::F16)
                .boxed()
        }
        ElementType::I8 => prop::collection::vec(any::<i8>(), n).prop_map(Values::I8).boxed(),
        ElementType::U8 => prop::collection::vec(any::<u8>(), n).prop_map(Values::U8).boxed(),
        ElementType::I16 => prop::collection::vec(any::<i16>(), n)
            .prop_map(Values::I16)
            .boxed(),
        ElementType::I32 => prop::collection::vec(any::<i32>(), n)
            .prop_map(Values::I32)
            .boxed(),
        ElementType::I64 => prop::collection::vec(any::<i64>(), n)
            .prop_map(Values::I64)
            .boxed(),
        ElementType::Bool => prop::collection::vec(any::<bool>(), n)
            .prop_map(Values::Bool)
            .boxed(),
        ElementType::String => prop::collection::vec(".{0,6}", n)
            .prop_map(Values::String)
            .boxed(),
    }
}

fn json_leaves(values: &Values) -> Value {
    match values {
        Values::F16(v) => json!(v.iter().map(|x| x.to_f32()).collect::<Vec<_>>()),
        Values::F32(v) => json!(v),
        Values::F64(v) => json!(v),
        Values::I8(v) => json!(v),
        Values::U8(v) => json!(v),
        Values::I16(v) => json!(v),
        Values::I32(v) => json!(v),
        Values::I64(v) => json!(v),
        Values::Bool(v) => json!(v),
        Values::String(v) => json!(v),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any request, with any of its inputs in binary, decodes to the same tensors as its JSON form.
    #[test]
    fn any_framed_request_decodes_as_its_json_form(
        (inputs, rows) in generated(),
        in_binary in prop::collection::vec(any::<bool>(), 5),
    ) {
        let spec = ModelSpec {
            inputs: inputs.iter().enumerate()
                .map(|(i, g)| TensorSpec::matrix(&format!("x{i}"), g.element, g.width, false))
                .collect(),
            outputs: vec![TensorSpec::matrix("y", ElementType::F32, 1, false)],
            fixed_rows: None,
            per_item: false,
        };
        let mut json_inputs = Vec::new();
        let mut framed_inputs = Vec::new();
        let mut binary = Vec::new();
        for (i, g) in inputs.iter().enumerate() {
            let head = json!({ "name": format!("x{i}"), "shape": [rows, g.width], "datatype": datatype(g.element) });
            let mut as_json = head.clone();
            as_json["data"] = json_leaves(&g.values);
            json_inputs.push(as_json.clone());
            if in_binary[i] {
                let start = binary.len();
                write_raw(&g.values, &mut binary);
                let mut as_binary = head;
                as_binary["parameters"] = json!({ "binary_data_size": binary.len() - start });
                framed_inputs.push(as_binary);
            } else {
                framed_inputs.push(as_json);
            }
        }
        let (json_body, _) = framed(Value::Array(json_inputs), &[]);
        let (body, length) = framed(Value::Array(framed_inputs), &binary);
        let from_json = decode(&json_body, None, &spec).unwrap();
        let from_binary = decode(&body, Some(length), &spec).unwrap();
        prop_assert_eq!(&from_binary.inputs, &from_json.inputs);
        prop_assert_eq!(from_binary.rows, from_json.rows);
        prop_assert_eq!(&from_binary.shapes, &from_json.shapes);
        for (decoded, g) in from_binary.inputs.iter().zip(&inputs) {
            prop_assert_eq!(decoded, &g.values);
        }
    }

    /// Random bytes under any header length are a 400, never a panic.
    #[test]
    fn random_framed_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        length in prop::option::of(0usize..320),
    ) {
        if let Err(error) = decode(&bytes, length, &two_inputs()) {
            prop_assert_eq!(error.status(), 400);
        }
    }
}
