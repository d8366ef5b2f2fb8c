//! `ai.onnx.ml` LabelEncoder (OrdinalEncoder, LabelEncoder, string SimpleImputer): each value is
//! looked up among the keys and replaced by the value at the same position, else by the default.
//! The ml-opset-2 form (`keys_*`, `values_*`, `default_*`), its opset-4 tensors (`keys_tensor`,
//! `values_tensor`, `default_tensor`) and the opset-1 form (`classes_strings`
//! between strings and their int64 positions).

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{NodeProto, TensorProto};
use tract_onnx::tract_hir::internal::*;

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

fn list(node: &NodeProto, prefix: &str) -> TractResult<Option<List>> {
    if let Some(t) = node.get_attr_opt::<&TensorProto>(&format!("{prefix}_tensor"))? {
        return tensor_list(t).map(Some);
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
fn tensor_list(t: &TensorProto) -> TractResult<List> {
    const FLOAT: i32 = 1;
    const INT32: i32 = 6;
    const INT64: i32 = 7;
    const STRING: i32 = 8;
    const DOUBLE: i32 = 11;
    fn raw<const N: usize, T>(bytes: &[u8], read: fn([u8; N]) -> T) -> Vec<T> {
        bytes
            .chunks_exact(N)
            .map(|b| read(b.try_into().expect("N bytes")))
            .collect()
    }
    let floats = |values: Vec<f32>| List::Floats(values.iter().map(|f| f.to_bits()).collect());
    Ok(match t.data_type {
        STRING => List::Strings(
            t.string_data
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect(),
        ),
        INT64 if t.raw_data.is_empty() => List::Ints(t.int64_data.clone()),
        INT64 => List::Ints(raw(&t.raw_data, i64::from_le_bytes)),
        INT32 if t.raw_data.is_empty() => List::Ints(t.int32_data.iter().map(|v| i64::from(*v)).collect()),
        INT32 => List::Ints(raw(&t.raw_data, |b| i64::from(i32::from_le_bytes(b)))),
        FLOAT if t.raw_data.is_empty() => floats(t.float_data.clone()),
        FLOAT => floats(raw(&t.raw_data, f32::from_le_bytes)),
        DOUBLE if t.raw_data.is_empty() => floats(t.double_data.iter().map(|v| *v as f32).collect()),
        DOUBLE => floats(raw(&t.raw_data, |b| f64::from_le_bytes(b) as f32)),
        other => bail!("LabelEncoder: a tensor of ONNX type {other} is not supported"),
    })
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let form = match (list(node, "keys")?, list(node, "values")?) {
        (Some(keys), Some(values)) => {
            let default = match (list(node, "default")?, &values) {
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

/// Key positions by key.
#[derive(Debug)]
enum Table {
    Strings(HashMap<String, usize>),
    Ints(HashMap<i64, usize>),
    Floats(HashMap<u32, usize>),
}

impl Table {
    fn new(keys: &List) -> Self {
        fn index<K: std::hash::Hash + Eq + Clone>(keys: &[K]) -> HashMap<K, usize> {
            // The first occurrence of a key wins, as onnxruntime's map insertion keeps it.
            let mut map = HashMap::with_capacity(keys.len());
            for (at, key) in keys.iter().enumerate() {
                map.entry(key.clone()).or_insert(at);
            }
            map
        }
        match keys {
            List::Strings(k) => Table::Strings(index(k)),
            List::Ints(k) => Table::Ints(index(k)),
            List::Floats(k) => Table::Floats(index(k)),
        }
    }

    /// The position of every input value's key, `None` where it has none.
    fn positions(&self, input: &Tensor) -> TractResult<Vec<Option<usize>>> {
        Ok(match self {
            Table::Strings(map) => input
                .to_plain_array_view::<String>()?
                .iter()
                .map(|v| map.get(v).copied())
                .collect(),
            Table::Ints(map) => {
                let input = input.cast_to::<i64>()?;
                input
                    .to_plain_array_view::<i64>()?
                    .iter()
                    .map(|v| map.get(v).copied())
                    .collect()
            }
            Table::Floats(map) => {
                let input = input.cast_to::<f32>()?;
                input
                    .to_plain_array_view::<f32>()?
                    .iter()
                    .map(|v| map.get(&v.to_bits()).copied())
                    .collect()
            }
        })
    }
}

/// The typed op: replaces each value by its key's value or the default.
#[derive(Debug, Clone)]
struct Lookup {
    table: Arc<Table>,
    values: Arc<List>,
    default: Arc<List>,
}

// Built from one node's attributes: the same table is the same op.
super::op_by_identity!(Lookup, table, "LabelEncoder");

impl EvalOp for Lookup {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let positions = self.table.positions(&input)?;
        fn pick<T: Datum + Clone>(
            positions: &[Option<usize>],
            values: &[T],
            default: &T,
            shape: &[usize],
        ) -> TractResult<Tensor> {
            let out: Vec<T> = positions
                .iter()
                .map(|p| p.and_then(|at| values.get(at)).unwrap_or(default).clone())
                .collect();
            Ok(tract_ndarray::ArrayD::from_shape_vec(shape, out)?.into())
        }
        let shape = input.shape();
        let tensor = match (&*self.values, &*self.default) {
            (List::Strings(v), List::Strings(d)) => pick(&positions, v, &d[0], shape)?,
            (List::Ints(v), List::Ints(d)) => pick(&positions, v, &d[0], shape)?,
            (List::Floats(v), List::Floats(d)) => {
                let v: Vec<f32> = v.iter().map(|b| f32::from_bits(*b)).collect();
                pick(&positions, &v, &f32::from_bits(d[0]), shape)?
            }
            _ => bail!("LabelEncoder: the default's type differs from the values'"),
        };
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for Lookup {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let datum = match &*self.values {
            List::Strings(_) => DatumType::String,
            List::Ints(_) => DatumType::I64,
            List::Floats(_) => DatumType::F32,
        };
        Ok(tvec!(datum.fact(inputs[0].shape.clone())))
    }

    as_op!();
}
