//! `com.microsoft` Tokenizer (onnxruntime's contrib operator, the second step of skl2onnx's text
//! vectorizers): splits each string of a `[C]` or `[N, C]` input into tokens and answers them
//! padded to the longest row, `[.., C, max_tokens]`, with `pad_value` after the tokens (and after
//! the end mark `\x03` when `mark` adds `\x02` and `\x03` around them). Tokens shorter than
//! `mincharnum` characters are dropped. No token at all in any row gives a last dimension of 0.

mod pattern;
mod split;

#[cfg(test)]
mod tests;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use split::Rule;

/// The most output cells (rows × the longest row's tokens) one evaluation may write: the padded
/// output grows with the longest row times the number of rows, and each cell is a string of its
/// own (some 32 bytes and more), so a few hundred KB of body (one long document and many empty
/// ones) could otherwise cost a gigabyte. 4M cells: 400 documents padded to 10,000 tokens.
pub const MAX_TOKEN_CELLS: usize = 1 << 22;

#[derive(Debug)]
struct Attributes {
    rule: Rule,
    mark: bool,
    pad: String,
    min_chars: usize,
}

pub fn parse(ctx: &ParsingContext, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mark = node.get_attr::<i64>("mark")? != 0;
    let pad = node.get_attr::<String>("pad_value")?;
    let min_chars = node.get_attr::<i64>("mincharnum")?;
    if min_chars < 1 {
        bail!("Tokenizer: mincharnum must be positive, not {min_chars}");
    }
    let separators = node.get_attr_opt_vec::<String>("separators")?;
    let rule = match separators {
        Some(s) if s.len() == 1 && s[0].is_empty() => Rule::Chars,
        Some(s) if s.is_empty() => bail!("Tokenizer: separators must not be empty"),
        Some(s) => Rule::Separators(
            s.iter()
                .map(|s| pattern::Pattern::new(s))
                .collect::<TractResult<_>>()?,
        ),
        None => match node.get_attr_opt::<String>("tokenexp")? {
            Some(e) if e == "." => Rule::Chars,
            Some(e) if !e.is_empty() => Rule::Expression(Box::new(pattern::Pattern::new(&e)?)),
            _ => bail!("Tokenizer: one of separators or tokenexp is required"),
        },
    };
    if matches!(rule, Rule::Chars) && min_chars > 1 {
        bail!("Tokenizer: mincharnum {min_chars} is too big for character tokens");
    }
    let attributes = Attributes {
        rule,
        mark,
        pad,
        min_chars: min_chars as usize,
    };
    let tokens = ctx.template.symbols.new_with_prefix("tokens");
    Ok((expand(Tokenizer(Arc::new(attributes), tokens)), vec![]))
}

#[derive(Debug, Clone)]
pub struct Tokenizer(Arc<Attributes>, Symbol);

super::op_by_identity!(Tokenizer, 0, "Tokenizer");

impl Attributes {
    /// Every string's tokens, as `(tokens, the end of each row in them)`.
    fn split<'t>(&self, strings: &'t [String]) -> (Vec<&'t str>, Vec<usize>) {
        let mut scratch = self.rule.scratch();
        let mut tokens = Vec::new();
        let mut ends = Vec::with_capacity(strings.len());
        for s in strings {
            self.rule.split(s, self.min_chars, &mut scratch, &mut tokens);
            ends.push(tokens.len());
        }
        (tokens, ends)
    }

    /// The padded `[strings, width]` cells.
    fn pad(&self, tokens: &[&str], ends: &[usize]) -> TractResult<(Vec<String>, usize)> {
        let longest = ends
            .iter()
            .scan(0, |start, &end| Some(end - std::mem::replace(start, end)))
            .max()
            .unwrap_or(0);
        if longest == 0 {
            return Ok((vec![], 0));
        }
        let width = longest + if self.mark { 2 } else { 0 };
        let cells = width.saturating_mul(ends.len());
        if cells > MAX_TOKEN_CELLS {
            return Err(super::RequestLimit(format!(
                "the text is too large for the model's Tokenizer: {} rows of up to {width} tokens is over \
                 MAX_TOKEN_CELLS ({MAX_TOKEN_CELLS}): send fewer or shorter documents per request",
                ends.len()
            ))
            .into());
        }
        let mut out = Vec::with_capacity(cells);
        let mut start = 0;
        for &end in ends {
            if self.mark {
                out.push("\u{2}".to_owned());
            }
            out.extend(tokens[start..end].iter().map(|t| (*t).to_owned()));
            if self.mark {
                out.push("\u{3}".to_owned());
            }
            out.extend(std::iter::repeat_n(&self.pad, longest - (end - start)).cloned());
            start = end;
        }
        Ok((out, width))
    }
}

impl EvalOp for Tokenizer {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        if !(1..=2).contains(&input.rank()) {
            bail!("Tokenizer takes [C] or [N, C] strings, not {:?}", input.shape());
        }
        let (tokens, ends) = self.0.split(input.try_as_plain_ram()?.as_slice::<String>()?);
        let (cells, width) = self.0.pad(&tokens, &ends)?;
        let mut shape: TVec<usize> = input.shape().into();
        shape.push(width);
        Ok(tvec!(
            tract_ndarray::ArrayD::from_shape_vec(&*shape, cells)?.into_tvalue()
        ))
    }
}

impl TypedOp for Tokenizer {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        shape.push(self.1.to_dim());
        Ok(tvec!(String::fact(&*shape)))
    }

    as_op!();
}

impl Expansion for Tokenizer {
    fn name(&self) -> StaticName {
        "Tokenizer".into()
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
        s.equals(&outputs[0].rank, inputs[0].rank.bex() + 1)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}
