//! An input's typed `contents` (the KServe SDK's form) as values of its declared datatype, with
//! the range checks the wider protobuf fields need.

use super::messages::{model_infer_request::InferInputTensor, InferTensorContents};
use crate::api::{client_text, ApiError};
use crate::model::Values;

fn bad(message: String) -> ApiError {
    ApiError::InvalidTensor(message)
}

/// An input's typed `contents` as values of its declared datatype (moved, not copied, where the
/// field's type is the element type); `None` for a datatype no model input has.
pub(super) fn typed_values(input: &mut InferInputTensor) -> Result<Option<Values>, ApiError> {
    // The client's name, cut short: it is not yet checked against the model's inputs.
    let name = &client_text(&input.name);
    let contents = input.contents.take().unwrap_or_default();
    let InferTensorContents {
        bool_contents,
        int_contents,
        int64_contents,
        uint_contents,
        fp32_contents,
        fp64_contents,
        bytes_contents,
        ..
    } = contents;
    let values = match input.datatype.as_str() {
        "BOOL" => Values::Bool(bool_contents),
        "INT8" => Values::I8(narrow(name, "int_contents", &int_contents)?),
        "INT16" => Values::I16(narrow(name, "int_contents", &int_contents)?),
        "INT32" => Values::I32(int_contents),
        "INT64" => Values::I64(int64_contents),
        "UINT8" => Values::U8(narrow(name, "uint_contents", &uint_contents)?),
        "FP32" => Values::F32(fp32_contents),
        "FP64" => Values::F64(fp64_contents),
        "FP16" => {
            return Err(bad(format!(
                "input {name}: FP16 has no typed contents field; send it in raw_input_contents"
            )))
        }
        "BYTES" => Values::String(
            bytes_contents
                .into_iter()
                .enumerate()
                .map(|(index, bytes)| {
                    String::from_utf8(bytes)
                        .map_err(|_| bad(format!("input {name}: bytes_contents[{index}] is not UTF-8 text")))
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Ok(None),
    };
    Ok(Some(values))
}

/// `wide` narrowed to `T`, or an error naming the first value that does not fit.
fn narrow<T: TryFrom<W>, W: Copy + std::fmt::Display>(
    name: &str,
    field: &str,
    wide: &[W],
) -> Result<Vec<T>, ApiError> {
    wide.iter()
        .enumerate()
        .map(|(index, &value)| {
            T::try_from(value).map_err(|_| {
                bad(format!(
                    "input {name}: {field}[{index}] = {value} does not fit the input's {}",
                    std::any::type_name::<T>()
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(datatype: &str, contents: InferTensorContents) -> InferInputTensor {
        InferInputTensor {
            name: "x".to_owned(),
            datatype: datatype.to_owned(),
            shape: vec![2],
            contents: Some(contents),
            ..Default::default()
        }
    }

    #[test]
    fn int_contents_narrow_to_int8_with_a_range_check() {
        let fits = InferTensorContents {
            int_contents: vec![-128, 127],
            ..Default::default()
        };
        assert_eq!(
            typed_values(&mut input("INT8", fits)).unwrap(),
            Some(Values::I8(vec![-128, 127]))
        );
        let over = InferTensorContents {
            int_contents: vec![1, 128],
            ..Default::default()
        };
        let error = typed_values(&mut input("INT8", over)).unwrap_err().to_string();
        assert_eq!(
            error,
            "input \"x\": int_contents[1] = 128 does not fit the input's i8"
        );
    }

    #[test]
    fn bytes_contents_must_be_utf8_text() {
        let text = InferTensorContents {
            bytes_contents: vec![b"abc".to_vec(), vec![0xff]],
            ..Default::default()
        };
        let error = typed_values(&mut input("BYTES", text)).unwrap_err().to_string();
        assert!(error.contains("bytes_contents[1] is not UTF-8"), "{error}");
    }

    #[test]
    fn fp16_has_no_typed_field_and_unknown_datatypes_are_left_to_to_batch() {
        let empty = InferTensorContents::default;
        let error = typed_values(&mut input("FP16", empty())).unwrap_err().to_string();
        assert!(error.contains("raw_input_contents"), "{error}");
        assert_eq!(typed_values(&mut input("UINT32", empty())).unwrap(), None);
    }
}
