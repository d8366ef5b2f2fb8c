//! `ai.onnx` StringNormalizer (the first step of skl2onnx's text vectorizers): changes the case
//! of every string and drops the stop words, as onnxruntime does. Its input is `[C]` or `[1, C]`;
//! stop words are compared with whole strings (skl2onnx flattens the documents into `[C]`), and
//! when every string is one, the output is one empty string. The `locale` is accepted and not
//! used: onnxruntime's `en_US.UTF-8` maps case as Unicode's simple mappings do.

mod case;

use std::collections::HashSet;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use case::{Case, Filter};

pub fn parse(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let action = node
        .get_attr_opt::<String>("case_change_action")?
        .unwrap_or_else(|| "NONE".into());
    let case = match action.as_str() {
        "LOWER" => Case::Lower,
        "UPPER" => Case::Upper,
        "NONE" => Case::None,
        other => bail!("StringNormalizer: unknown case_change_action {other:?}"),
    };
    let sensitive = node.get_attr_opt::<i64>("is_case_sensitive")?.unwrap_or(0) != 0;
    let compare = (!sensitive).then_some(if case == Case::Upper {
        Case::Upper
    } else {
        Case::Lower
    });
    let mut stopwords = HashSet::new();
    for word in node.get_attr_opt_vec::<String>("stopwords")?.unwrap_or_default() {
        if word.is_empty() {
            bail!("StringNormalizer: an empty stop word (onnxruntime refuses it)");
        }
        let mut key = String::new();
        case::change(compare.unwrap_or(Case::None), &word, &mut key);
        if !stopwords.insert(key) {
            bail!("StringNormalizer: the stop word {word:?} appears twice (onnxruntime refuses it)");
        }
    }
    let filter = Filter {
        case,
        stopwords,
        compare,
    };
    // Without stop words every string stays: the output has the input's shape.
    let kept = (!filter.stopwords.is_empty()).then(|| ctx.template.symbols.new_with_prefix("kept"));
    Ok((expand(StringNormalizer(Arc::new(filter), kept)), vec![]))
}

#[derive(Debug, Clone)]
pub struct StringNormalizer(Arc<Filter>, Option<Symbol>);

super::op_by_identity!(StringNormalizer, 0, "StringNormalizer");

impl EvalOp for StringNormalizer {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape();
        let rows = match shape {
            [c] if *c > 0 => false,
            [1, c] if *c > 0 => true,
            _ => bail!("StringNormalizer takes [C] or [1, C] strings with C > 0, not {shape:?}"),
        };
        let kept = self
            .0
            .apply(input.try_as_plain_ram()?.as_slice::<String>()?.iter());
        let shape: TVec<usize> = if rows {
            tvec![1, kept.len()]
        } else {
            tvec![kept.len()]
        };
        Ok(tvec!(
            tract_ndarray::ArrayD::from_shape_vec(&*shape, kept)?.into_tvalue()
        ))
    }
}

impl TypedOp for StringNormalizer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let Some(kept) = &self.1 else {
            return Ok(tvec!(String::fact(inputs[0].shape.clone())));
        };
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        if let Some(last) = shape.last_mut() {
            *last = kept.to_dim();
        }
        Ok(tvec!(String::fact(&*shape)))
    }

    as_op!();
}

impl Expansion for StringNormalizer {
    fn name(&self) -> StaticName {
        "StringNormalizer".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, String::datum_type())?;
        s.equals(&outputs[0].datum_type, String::datum_type())?;
        s.equals(&outputs[0].rank, &inputs[0].rank)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}
