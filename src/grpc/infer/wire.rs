//! A walk over an encoded `ModelInferRequest`'s fields, before prost decodes it: what decoding
//! would allocate, counted from the wire. Decoding multiplies small wire entries (an empty
//! `inputs` entry is 2 bytes on the wire and a few hundred decoded), so the counts are checked
//! and the worst case charged before `decode` allocates it.

use std::mem::size_of;

use prost::encoding::decode_varint;

use crate::grpc::messages::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use crate::grpc::messages::InferParameter;

/// What decoding an encoded `ModelInferRequest` allocates at most.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Census {
    pub inputs: usize,
    pub outputs: usize,
    pub raw_input_contents: usize,
    /// Bytes decoding allocates at most, beyond the message itself: the entries above, each
    /// typed `contents` varint widened (to 8 bytes at most), each `bytes_contents` entry its
    /// own `Vec`, and twice that, for vectors that grow by doubling.
    pub decoded_bytes: u64,
}

/// `ModelInferRequest` fields.
const REQUEST_PARAMETERS: u32 = 4;
const INPUTS: u32 = 5;
const OUTPUTS: u32 = 6;
const RAW_INPUT_CONTENTS: u32 = 7;
/// `InferInputTensor` fields.
const SHAPE: u32 = 3;
const INPUT_PARAMETERS: u32 = 4;
const CONTENTS: u32 = 5;
/// `InferRequestedOutputTensor.parameters`.
const OUTPUT_PARAMETERS: u32 = 2;
/// `InferTensorContents.bytes_contents`; its other fields (1 to 7) are numbers.
const BYTES_CONTENTS: u32 = 8;

/// What one `parameters` map entry decodes to at most beyond its wire bytes (its key and string
/// value are at most those): a slot of the map and its control byte.
const PARAMETER_ENTRY: u64 = (size_of::<(String, InferParameter)>() + 1) as u64;

/// What the `parameters` entry `entry` decodes to at most.
fn parameter_bytes(entry: &[u8]) -> u64 {
    PARAMETER_ENTRY + entry.len() as u64
}

/// The widest value a numeric field decodes to, from at least one byte on the wire.
const WIDEST: u64 = 8;

/// How many times its wire bytes an `InferTensorContents` number field decodes to at most:
/// varints widen (a 1-byte int64 is 8 bytes decoded), fixed-width floats and bools do not.
fn widening(field: u32) -> u64 {
    match field {
        // int_contents, uint_contents: 32-bit varints.
        2 | 4 => 4,
        // int64_contents, uint64_contents: 64-bit varints.
        3 | 5 => 8,
        // bool_contents (1 byte each), fp32_contents, fp64_contents (fixed width).
        _ => 1,
    }
}

/// The census of `message`, or why it is not a valid protobuf message.
pub(super) fn census(message: &[u8]) -> Result<Census, String> {
    let mut census = Census::default();
    let mut heap = 0u64;
    for field in Fields(message) {
        let (number, value) = field?;
        match (number, value) {
            (INPUTS, Some(input)) => {
                census.inputs += 1;
                heap += size_of::<InferInputTensor>() as u64;
                for field in Fields(input) {
                    match field? {
                        (SHAPE, Some(shape)) => heap += shape.len() as u64 * WIDEST,
                        (INPUT_PARAMETERS, Some(entry)) => heap += parameter_bytes(entry),
                        (CONTENTS, Some(contents)) => heap += contents_bytes(contents)?,
                        _ => {}
                    }
                }
            }
            (OUTPUTS, Some(output)) => {
                census.outputs += 1;
                heap += size_of::<InferRequestedOutputTensor>() as u64;
                for field in Fields(output) {
                    if let (OUTPUT_PARAMETERS, Some(entry)) = field? {
                        heap += parameter_bytes(entry);
                    }
                }
            }
            (REQUEST_PARAMETERS, Some(entry)) => heap += parameter_bytes(entry),
            (RAW_INPUT_CONTENTS, Some(_)) => {
                census.raw_input_contents += 1;
                heap += size_of::<bytes::Bytes>() as u64;
            }
            // A numeric value of a repeated field sent unpacked: at most one more entry.
            (SHAPE, None) => heap += WIDEST,
            _ => {}
        }
    }
    census.decoded_bytes = heap.saturating_mul(2);
    Ok(census)
}

/// What one `InferTensorContents` decodes to at most.
fn contents_bytes(contents: &[u8]) -> Result<u64, String> {
    let mut heap = 0u64;
    for field in Fields(contents) {
        heap += match field? {
            (BYTES_CONTENTS, Some(entry)) => (size_of::<Vec<u8>>() + entry.len()) as u64,
            (number, Some(packed)) => packed.len() as u64 * widening(number),
            // One number sent unpacked (after its key): at most one value.
            (_, None) => WIDEST,
        };
    }
    Ok(heap)
}

/// The fields of an encoded message: number, and the bytes of a length-delimited value (`None`
/// for a number).
struct Fields<'a>(&'a [u8]);

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Option<&'a [u8]>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            // One error ends the walk.
            self.0 = &[];
        }
        Some(field)
    }
}

impl<'a> Fields<'a> {
    fn field(&mut self) -> Result<(u32, Option<&'a [u8]>), String> {
        let malformed = |what: &str| format!("the ModelInferRequest message is malformed: {what}");
        let key = decode_varint(&mut self.0).map_err(|_| malformed("a field key is cut short"))?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("a field number is out of range"))?;
        let skip = match key & 7 {
            0 => {
                decode_varint(&mut self.0).map_err(|_| malformed("a varint is cut short"))?;
                return Ok((number, None));
            }
            1 => 8,
            5 => 4,
            2 => {
                let len = decode_varint(&mut self.0).map_err(|_| malformed("a length is cut short"))?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > self.0.len() {
                    return Err(malformed("a field is longer than the message"));
                }
                let (value, rest) = self.0.split_at(len);
                self.0 = rest;
                return Ok((number, Some(value)));
            }
            _ => return Err(malformed("a field has an unsupported wire type")),
        };
        if skip > self.0.len() {
            return Err(malformed("a field is cut short"));
        }
        self.0 = &self.0[skip..];
        Ok((number, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_empty_inputs_without_decoding_them() {
        let message = [0x2a, 0x00].repeat(1000);
        let census = census(&message).expect("valid");
        assert_eq!(census.inputs, 1000);
        assert!(census.decoded_bytes >= 1000 * size_of::<InferInputTensor>() as u64);
    }

    #[test]
    fn counts_outputs_and_raw_entries() {
        let message = [[0x32, 0x00].repeat(3), [0x3a, 0x00].repeat(5)].concat();
        let census = census(&message).expect("valid");
        assert_eq!((census.outputs, census.raw_input_contents), (3, 5));
    }

    #[test]
    fn charges_each_empty_bytes_contents_entry_a_vec() {
        // inputs { contents { bytes_contents: "" x 50 } }
        let contents = [0x42, 0x00].repeat(50);
        let input = [vec![0x2a, contents.len() as u8], contents].concat();
        let message = [vec![0x2a, input.len() as u8], input].concat();
        let census = census(&message).expect("valid");
        assert!(census.decoded_bytes >= 50 * size_of::<Vec<u8>>() as u64);
    }

    #[test]
    fn charges_packed_integers_at_eight_bytes_each() {
        // inputs { contents { int64_contents: [1; 100] } }
        let contents = [vec![0x1a, 100], vec![1; 100]].concat();
        let input = [vec![0x2a, contents.len() as u8], contents].concat();
        let message = [vec![0x2a, input.len() as u8], input].concat();
        assert!(census(&message).expect("valid").decoded_bytes >= 800);
    }

    #[test]
    fn charges_packed_floats_at_their_wire_size() {
        // inputs { contents { fp32_contents: [0.0; 25] } }
        let contents = [vec![0x32, 100], vec![0; 100]].concat();
        let input = [vec![0x2a, contents.len() as u8], contents].concat();
        let message = [vec![0x2a, input.len() as u8], input].concat();
        let decoded = census(&message).expect("valid").decoded_bytes;
        let tensor = size_of::<InferInputTensor>() as u64;
        assert_eq!(decoded, 2 * (tensor + 100));
    }

    #[test]
    fn charges_each_parameters_entry_a_map_slot() {
        // parameters { "": {} } x 50 on the request, on an input and on an output
        let entries = [0x22, 0x00].repeat(50);
        let input = [vec![0x2a, entries.len() as u8], entries.clone()].concat();
        let output_entries = [0x12, 0x00].repeat(50);
        let output = [vec![0x32, output_entries.len() as u8], output_entries].concat();
        let message = [entries, input, output].concat();
        let decoded = census(&message).expect("valid").decoded_bytes;
        assert!(decoded >= 150 * PARAMETER_ENTRY, "{decoded}");
    }

    #[test]
    fn refuses_a_field_longer_than_the_message() {
        assert!(census(&[0x2a, 0x05, 0x00]).is_err());
    }
}
