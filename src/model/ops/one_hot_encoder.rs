//! `ai.onnx.ml` OneHotEncoder (scikit-learn's OneHotEncoder, one column at a time): each value
//! becomes a float32 row with a 1 at its category's position. An unknown value is all zeros
//! with `zeros=1` (`handle_unknown='ignore'`), else an error, as onnxruntime answers.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

/// The categories, in output order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Categories {
    Strings(Vec<String>),
    Ints(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OneHotEncoder {
    categories: Categories,
    /// Unknown values are all zeros (`true`) or an error.
    zeros: bool,
}

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let strings: Option<Vec<String>> = node.get_attr_opt_vec("cats_strings")?;
    let ints: Option<Vec<i64>> = node.get_attr_opt_vec("cats_int64s")?;
    let categories = match (strings.filter(|s| !s.is_empty()), ints.filter(|i| !i.is_empty())) {
        (Some(strings), _) => Categories::Strings(strings),
        (None, Some(ints)) => Categories::Ints(ints),
        (None, None) => bail!("OneHotEncoder without cats_strings or cats_int64s"),
    };
    let zeros = node.get_attr_opt::<i64>("zeros")?.unwrap_or(1) != 0;
    Ok((expand(OneHotEncoder { categories, zeros }), vec![]))
}

impl OneHotEncoder {
    fn width(&self) -> usize {
        match &self.categories {
            Categories::Strings(s) => s.len(),
            Categories::Ints(i) => i.len(),
        }
    }
}

impl Expansion for OneHotEncoder {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].rank, inputs[0].rank.bex() + 1)?;
        let width = self.width();
        s.given(&inputs[0].rank, move |s, rank| {
            let rank = rank as usize;
            for axis in 0..rank {
                s.equals(&outputs[0].shape[axis], &inputs[0].shape[axis])?;
            }
            s.equals(&outputs[0].shape[rank], width.to_dim())
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let index = match &self.categories {
            Categories::Strings(s) => {
                Index::Strings(s.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect())
            }
            Categories::Ints(v) => Index::Ints(v.iter().enumerate().map(|(i, c)| (*c, i)).collect()),
        };
        let op = Encode {
            index: Arc::new(index),
            width: self.width(),
            zeros: self.zeros,
        };
        model.wire_node(prefix, op, inputs)
    }
}

/// Category positions by value.
#[derive(Debug)]
enum Index {
    Strings(HashMap<String, usize>),
    Ints(HashMap<i64, usize>),
}

/// The typed op: looks every value up and writes its one-hot row.
#[derive(Debug, Clone)]
struct Encode {
    index: Arc<Index>,
    width: usize,
    zeros: bool,
}

impl PartialEq for Encode {
    fn eq(&self, other: &Self) -> bool {
        // Built from one node's attributes: the same index is the same op.
        Arc::ptr_eq(&self.index, &other.index) && self.zeros == other.zeros
    }
}

impl Eq for Encode {}

impl Op for Encode {
    fn name(&self) -> StaticName {
        "OneHotEncoder".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Encode {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let positions: Vec<Option<usize>> = match &*self.index {
            Index::Strings(index) => {
                let values = input.to_plain_array_view::<String>()?;
                values.iter().map(|v| index.get(v).copied()).collect()
            }
            Index::Ints(index) => {
                // Floats are truncated to integers first, as onnxruntime does.
                let values = input.cast_to::<i64>()?;
                let values = values.to_plain_array_view::<i64>()?;
                values.iter().map(|v| index.get(v).copied()).collect()
            }
        };
        let mut out = vec![0f32; positions.len() * self.width];
        for (row, position) in positions.iter().enumerate() {
            match position {
                Some(at) => out[row * self.width + at] = 1.0,
                None if self.zeros => {}
                None => bail!("OneHotEncoder: a value is not one of the categories (and zeros=0)"),
            }
        }
        let mut shape: TVec<usize> = input.shape().into();
        shape.push(self.width);
        Ok(tvec!(Tensor::from_shape(&shape, &out)?.into_tvalue()))
    }
}

impl TypedOp for Encode {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        shape.push(self.width.to_dim());
        Ok(tvec!(f32::fact(&*shape)))
    }

    as_op!();
}
