//! The LabelEncoder's typed op: a table of key positions, and the lookup of every input value.

use std::collections::HashMap;

use tract_onnx::tract_hir::internal::*;

use super::List;

/// Key positions by key.
#[derive(Debug)]
pub(super) enum Table {
    Strings(HashMap<String, usize>),
    Ints(HashMap<i64, usize>),
    Floats(HashMap<u32, usize>),
}

impl Table {
    pub(super) fn new(keys: &List) -> Self {
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

/// The typed op: replaces each value by its key's value or the default (one value of the values'
/// type, as `parse` checked).
#[derive(Debug, Clone)]
pub(super) struct Lookup {
    pub(super) table: Arc<Table>,
    pub(super) values: Arc<List>,
    pub(super) default: Arc<List>,
}

// Built from one node's attributes: the same table is the same op.
super::super::op_by_identity!(Lookup, table, "LabelEncoder");

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
        // `parse` and `wire` give one default of the values' type.
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
