//! `ai.onnx.ml` LabelEncoder (OrdinalEncoder, LabelEncoder, string SimpleImputer): each value is
//! looked up among the keys and replaced by the value at the same position, else by the default.
//! The ml-opset-2 form (`keys_*`, `values_*`, `default_*`), its opset-4 tensors (`keys_tensor`,
//! `values_tensor`, `default_tensor`) and the opset-1 form (`classes_strings`
//! between strings and their int64 positions).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::attribute;
use lookup::{Lookup, Table};

/// Keys or values: one list of one element type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum List {
    Strings(Vec<String>),
    Ints(Vec<i64>),
    /// float32 values by their bits (so that the list can be hashed and compared).
    Floats(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Form {
    /// Opset 2: keys to values, with a default of the values' type.
    Pairs { keys: List, values: List, default: List },
    /// Opset 1: strings to their positions in `classes`, or positions back to strings.
    Classes {
        classes: Vec<String>,
        default_int: i64,
        default_string: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelEncoder(Form);

fn list(ctx: &ParsingContext, node: &NodeProto, prefix: &str) -> TractResult<Option<List>> {
    if let Some(list) = tensor_list(ctx, node, &format!("{prefix}_tensor"))? {
        return Ok(Some(list));
    }
    if let Some(v) = node.get_attr_opt_vec::<String>(&format!("{prefix}_strings"))? {
        return Ok(Some(List::Strings(v)));
    }
    if let Some(v) = node.get_attr_opt_vec::<i64>(&format!("{prefix}_int64s"))? {
        return Ok(Some(List::Ints(v)));
    }
    if let Some(v) = node.get_attr_opt_vec::<f32>(&format!("{prefix}_floats"))? {
        return Ok(Some(List::Floats(v.iter().map(|f| f.to_bits()).collect())));
    }
    Ok(None)
}

/// A list from an ml-opset-4 `*_tensor` attribute (float64 values are compared as float32).
fn tensor_list(ctx: &ParsingContext, node: &NodeProto, name: &str) -> TractResult<Option<List>> {
    let Some(t) = attribute::tensor(ctx, node, name)? else {
        return Ok(None);
    };
    let datum = t.datum_type();
    Ok(Some(if datum == DatumType::String {
        List::Strings(attribute::values::<String>(&t)?)
    } else if datum.is_signed() || datum.is_unsigned() {
        List::Ints(attribute::values::<i64>(&t)?)
    } else if datum.is_float() {
        List::Floats(
            attribute::values::<f32>(&t)?
                .iter()
                .map(|f| f.to_bits())
                .collect(),
        )
    } else {
        bail!("LabelEncoder: {name} is a tensor of {datum:?}, which it cannot map");
    }))
}

pub fn parse(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let form = match (list(ctx, node, "keys")?, list(ctx, node, "values")?) {
        (Some(keys), Some(values)) => {
            let default = match (list(ctx, node, "default")?, &values) {
                (Some(default), _) => default,
                (None, values) => match values {
                    List::Strings(_) => List::Strings(vec![node
                        .get_attr_opt::<String>("default_string")?
                        .unwrap_or_else(|| "_Unused".to_owned())]),
                    List::Ints(_) => {
                        List::Ints(vec![node.get_attr_opt::<i64>("default_int64")?.unwrap_or(-1)])
                    }
                    List::Floats(_) => List::Floats(vec![node
                        .get_attr_opt::<f32>("default_float")?
                        .unwrap_or(-0.0)
                        .to_bits()]),
                },
            };
            // The lookup answers `default[0]` for a missing key: one value, of the values' type.
            let one_like_values = match (&default, &values) {
                (List::Strings(d), List::Strings(_)) => d.len() == 1,
                (List::Ints(d), List::Ints(_)) => d.len() == 1,
                (List::Floats(d), List::Floats(_)) => d.len() == 1,
                _ => false,
            };
            if !one_like_values {
                bail!("LabelEncoder: default_tensor must hold one value of the values' type");
            }
            Form::Pairs {
                keys,
                values,
                default,
            }
        }
        _ => Form::Classes {
            classes: node
                .get_attr_opt_vec::<String>("classes_strings")?
                .unwrap_or_default(),
            default_int: node.get_attr_opt::<i64>("default_int64")?.unwrap_or(-1),
            default_string: node
                .get_attr_opt::<String>("default_string")?
                .unwrap_or_else(|| "_Unused".to_owned()),
        },
    };
    Ok((expand(LabelEncoder(form)), vec![]))
}

impl LabelEncoder {
    /// The output type for an input of `input` type.
    fn output_type(&self, input: DatumType) -> DatumType {
        match &self.0 {
            Form::Pairs { values, .. } => match values {
                List::Strings(_) => DatumType::String,
                List::Ints(_) => DatumType::I64,
                List::Floats(_) => DatumType::F32,
            },
            Form::Classes { .. } if input == DatumType::String => DatumType::I64,
            Form::Classes { .. } => DatumType::String,
        }
    }
}

impl Expansion for LabelEncoder {
    fn name(&self) -> StaticName {
        "LabelEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)?;
        s.given(&inputs[0].datum_type, move |s, dt| {
            s.equals(&outputs[0].datum_type, self.output_type(dt))
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let input = model.outlet_fact(inputs[0])?.datum_type;
        let (keys, values, default) = match &self.0 {
            Form::Pairs {
                keys,
                values,
                default,
            } => (keys.clone(), values.clone(), default.clone()),
            Form::Classes {
                classes,
                default_int,
                default_string,
            } => {
                let positions: Vec<i64> = (0..classes.len() as i64).collect();
                if input == DatumType::String {
                    (
                        List::Strings(classes.clone()),
                        List::Ints(positions),
                        List::Ints(vec![*default_int]),
                    )
                } else {
                    (
                        List::Ints(positions),
                        List::Strings(classes.clone()),
                        List::Strings(vec![default_string.clone()]),
                    )
                }
            }
        };
        let op = Lookup {
            table: Arc::new(Table::new(&keys)),
            values: Arc::new(values),
            default: Arc::new(default),
        };
        model.wire_node(prefix, op, inputs)
    }
}

mod lookup;

#[cfg(test)]
mod tests {
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::tensor_proto::DataType;
    use tract_onnx::pb::{AttributeProto, TensorProto};

    use super::*;

    fn tensor(
        name: &str,
        data_type: DataType,
        dims: Vec<i64>,
        ints: Vec<i64>,
        strings: Vec<&str>,
    ) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Tensor as i32,
            t: Some(TensorProto {
                dims,
                data_type: data_type as i32,
                int64_data: ints,
                string_data: strings.into_iter().map(|s| s.as_bytes().to_vec()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn encoder(default: AttributeProto) -> NodeProto {
        NodeProto {
            op_type: "LabelEncoder".into(),
            attribute: vec![
                tensor("keys_tensor", DataType::String, vec![2], vec![], vec!["a", "b"]),
                tensor("values_tensor", DataType::Int64, vec![2], vec![1, 2], vec![]),
                default,
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_default_tensor_without_exactly_one_value_of_the_values_type_is_refused() {
        for default in [
            tensor("default_tensor", DataType::Int64, vec![0], vec![], vec![]),
            tensor("default_tensor", DataType::Int64, vec![2], vec![7, 8], vec![]),
            tensor("default_tensor", DataType::String, vec![1], vec![], vec!["x"]),
        ] {
            let error = attribute::parsing(|ctx| parse(ctx, &encoder(default)).map(|_| ()).unwrap_err());
            assert!(
                error.to_string().contains("one value of the values' type"),
                "{error}"
            );
        }
        let one = tensor("default_tensor", DataType::Int64, vec![1], vec![-7], vec![]);
        assert!(attribute::parsing(|ctx| parse(ctx, &encoder(one))).is_ok());
    }

    #[test]
    fn a_tensor_whose_values_do_not_fill_its_dims_is_refused() {
        let short = tensor("default_tensor", DataType::Int64, vec![3], vec![-7], vec![]);
        let error = attribute::parsing(|ctx| parse(ctx, &encoder(short)).map(|_| ()).unwrap_err());
        assert!(
            format!("{error:#}").contains("attribute default_tensor"),
            "{error:#}"
        );
    }
}
