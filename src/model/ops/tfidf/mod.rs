//! `ai.onnx` TfIdfVectorizer (the n-gram counter of skl2onnx's text vectorizers): counts the pool's
//! n-grams in each row of tokens (`[C]` gives `[width]`, `[B, C]` gives `[B, width]`, the width
//! being the largest of `ngram_indexes` plus one) and weights them by `mode`, as onnxruntime does.

mod count;
mod pool;

#[cfg(test)]
mod tests;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use count::{Counter, Mode};
use pool::{Pool, Values};

/// The longest n-gram: the counting loop runs this many items per start.
pub const MAX_GRAM_LENGTH: i64 = 32;
/// The most tokens an n-gram may skip between items: the counting loop runs once per count.
pub const MAX_SKIP_COUNT: i64 = 64;
/// The widest output row: every row allocates this many counts.
pub const MAX_WIDTH: i64 = 1 << 24;
/// The most output cells (rows × width) one evaluation may write: the dense output is 4 bytes a
/// cell, so a request of many short documents on a wide vocabulary would otherwise size an
/// allocation of its rows times the vocabulary (10,000 empty documents on 50,000 words: 2 GB).
pub const MAX_OUTPUT_CELLS: usize = 1 << 26;

pub fn parse(_: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mode = match node.get_attr::<String>("mode")?.as_str() {
        "TF" => Mode::Tf,
        "IDF" => Mode::Idf,
        "TFIDF" => Mode::TfIdf,
        other => bail!("TfIdfVectorizer: unknown mode {other:?} (TF, IDF or TFIDF)"),
    };
    let shortest = node.get_attr::<i64>("min_gram_length")?;
    let longest = node.get_attr::<i64>("max_gram_length")?;
    let max_skip = node.get_attr::<i64>("max_skip_count")?;
    if shortest < 1 || longest < shortest || longest > MAX_GRAM_LENGTH {
        bail!("TfIdfVectorizer: n-grams of {shortest} to {longest} items (1 to MAX_GRAM_LENGTH {MAX_GRAM_LENGTH})");
    }
    if !(0..=MAX_SKIP_COUNT).contains(&max_skip) {
        bail!("TfIdfVectorizer: max_skip_count {max_skip} (0 to MAX_SKIP_COUNT {MAX_SKIP_COUNT})");
    }
    let counts = super::attribute::ints(node, "ngram_counts")?;
    if counts.is_empty() || counts.len() < longest as usize {
        bail!("TfIdfVectorizer: ngram_counts must cover every length up to max_gram_length");
    }
    let indexes = super::attribute::ints(node, "ngram_indexes")?;
    let width = indexes.iter().max().map_or(0, |m| m + 1);
    if indexes.is_empty() || indexes.iter().any(|&i| i < 0) || width > MAX_WIDTH {
        bail!("TfIdfVectorizer: ngram_indexes must be 0 to MAX_WIDTH {MAX_WIDTH} and not empty");
    }
    let weights = node.get_attr_opt_vec::<f32>("weights")?;
    if let Some(weights) = &weights {
        if weights.len() != indexes.len() {
            bail!(
                "TfIdfVectorizer: {} weights for {} n-grams",
                weights.len(),
                indexes.len()
            );
        }
    }
    // By output column: the weight of the n-gram counted there.
    let weights = weights.map(|weights| {
        let mut by_column = vec![0f32; width as usize];
        for (&column, &weight) in indexes.iter().zip(&weights) {
            by_column[column as usize] = weight;
        }
        by_column
    });
    let values = match node.get_attr_opt_vec::<String>("pool_strings")? {
        Some(strings) if !strings.is_empty() => Values::Strings(strings),
        _ => match node.get_attr_opt_vec::<i64>("pool_int64s")? {
            Some(ints) if !ints.is_empty() => Values::Ints(ints),
            _ => bail!("TfIdfVectorizer: pool_strings or pool_int64s is required"),
        },
    };
    let lengths = (shortest as usize, longest as usize);
    let counter = Counter {
        pool: Pool::new(values, &counts, &indexes, lengths)?,
        lengths,
        max_skip: max_skip as usize,
        mode,
        weights,
        width: width as usize,
    };
    Ok((expand(TfIdfVectorizer(Arc::new(counter))), vec![]))
}

#[derive(Debug, Clone)]
pub struct TfIdfVectorizer(Arc<Counter>);

super::op_by_identity!(TfIdfVectorizer, 0, "TfIdfVectorizer");

impl EvalOp for TfIdfVectorizer {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let counter = &*self.0;
        let (rows, row_len, shape) = match *input.shape() {
            [] => (1, 1, tvec![counter.width]),
            [c] => (1, c, tvec![counter.width]),
            [b, c] if b > 0 => (b, c, tvec![b, counter.width]),
            _ => bail!(
                "TfIdfVectorizer takes [C] or [B, C] tokens with B > 0, not {:?}",
                input.shape()
            ),
        };
        let mut ids = Vec::with_capacity(input.len());
        if input.len() > 0 {
            counter.pool.ids(&input, &mut ids)?;
        }
        let mut counts = vec![0u32; output_cells(rows, counter.width)?];
        let mut sample = Vec::with_capacity(counter.lengths.1);
        if row_len > 0 {
            for (row, out) in ids
                .chunks_exact(row_len)
                .zip(counts.chunks_exact_mut(counter.width))
            {
                counter.count(row, out, &mut sample);
            }
        }
        let width = counter.width.max(1);
        // Consumed in place (a u32 and an f32 are the same size): one buffer of the output's
        // size at a time, not two.
        let values: Vec<f32> = counts
            .into_iter()
            .enumerate()
            .map(|(at, count)| counter.weigh(count, at % width))
            .collect();
        Ok(tvec!(
            tract_ndarray::ArrayD::from_shape_vec(&*shape, values)?.into_tvalue()
        ))
    }
}

/// The output's cells for `rows` rows of `width` columns, refused past `MAX_OUTPUT_CELLS`.
fn output_cells(rows: usize, width: usize) -> TractResult<usize> {
    match rows.checked_mul(width) {
        Some(cells) if cells <= MAX_OUTPUT_CELLS => Ok(cells),
        _ => Err(super::RequestLimit(format!(
            "the request is too large for the model's TfIdfVectorizer: {rows} rows of {width} columns is \
             over MAX_OUTPUT_CELLS ({MAX_OUTPUT_CELLS}): send fewer documents per request"
        ))
        .into()),
    }
}

impl TypedOp for TfIdfVectorizer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let width = self.0.width.to_dim();
        Ok(tvec!(match inputs[0].rank() {
            2 => f32::fact([inputs[0].shape[0].clone(), width]),
            _ => f32::fact([width]),
        }))
    }

    as_op!();
}

impl Expansion for TfIdfVectorizer {
    fn name(&self) -> StaticName {
        "TfIdfVectorizer".into()
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
        let width = self.0.width.to_dim();
        s.given(&inputs[0].rank, move |s, rank| {
            if rank == 2 {
                s.equals(&outputs[0].rank, 2)?;
                s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
                s.equals(&outputs[0].shape[1], width.clone())
            } else {
                s.equals(&outputs[0].rank, 1)?;
                s.equals(&outputs[0].shape[0], width.clone())
            }
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}
