//! Our own `ai.onnx.ml` operators, registered in tract's ONNX op registry, and the check that
//! names an operator nobody implements before tract fails on it with a less helpful message.

/// `PartialEq`, `Eq` and `Op` for a typed op built from one node's attributes, which it holds
/// behind the `Arc` named `$field`: the same `Arc` is the same op.
macro_rules! op_by_identity {
    ($op:ty, $field:tt, $name:literal) => {
        impl PartialEq for $op {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.$field, &other.$field)
            }
        }

        impl Eq for $op {}

        impl Op for $op {
            fn name(&self) -> StaticName {
                $name.into()
            }

            op_as_typed_op!();
        }
    };
}
use op_by_identity;

mod attribute;
mod binarizer;
mod conv;
mod feature_vectorizer;
mod flatten;
mod imputer;
mod label_encoder;
mod labels;
mod limit;
mod linear_classifier;
mod lrn;
mod normalizer;
mod one_hot_encoder;
mod reduce_log_sum_exp;
mod scaler;
mod string_normalizer;
mod svm;
mod tfidf;
mod tokenizer;
mod trees;
mod zipmap;

pub use conv::substitute as direct_convolutions;
pub use conv::substitute_max_pools as direct_max_pools;
pub use conv::{choose_kernels, DirectKernels, Isa};
pub use labels::class_labels;
pub use limit::RequestLimit;
pub use zipmap::unwrap as unwrap_zipmap;

use tract_onnx::pb::ModelProto;
use tract_onnx::Onnx;

/// `values` as a `[1, len]` tensor: one value per column, broadcast over the rows.
fn row<T: tract_onnx::prelude::Datum + Copy>(
    values: &[T],
) -> tract_onnx::prelude::TractResult<std::sync::Arc<tract_onnx::prelude::Tensor>> {
    use tract_onnx::prelude::IntoArcTensor;
    Ok(tract_onnx::prelude::tensor1(values)
        .into_shape(&[1, values.len()])?
        .into_arc_tensor())
}

/// A tensor's values, row-major: borrowed when tract holds them contiguously (the usual case),
/// copied only otherwise.
fn row_major<T: tract_onnx::prelude::Datum + Copy>(
    tensor: &tract_onnx::prelude::Tensor,
) -> tract_onnx::prelude::TractResult<std::borrow::Cow<'_, [T]>> {
    let view = tensor.to_plain_array_view::<T>()?;
    Ok(match view.to_slice() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(view.iter().copied().collect()),
    })
}

/// `x` as float32, cast when it is another type (ORT's ML operators compute in float32).
fn to_f32(
    model: &mut tract_onnx::prelude::TypedModel,
    name: String,
    x: tract_onnx::prelude::OutletId,
) -> tract_onnx::prelude::TractResult<tract_onnx::prelude::OutletId> {
    use tract_onnx::tract_hir::internal::*;
    if model.outlet_fact(x)?.datum_type == f32::datum_type() {
        return Ok(x);
    }
    let cast = tract_onnx::tract_core::ops::cast::cast(DatumType::F32);
    Ok(model.wire_node(name, cast, &[x])?[0])
}

/// Builds one of our operators from its ONNX node.
type Parse = fn(
    &tract_onnx::model::ParsingContext,
    &tract_onnx::pb::NodeProto,
) -> tract_onnx::prelude::TractResult<(
    Box<dyn tract_onnx::tract_hir::infer::InferenceOp>,
    Vec<String>,
)>;

/// Our operators, by ONNX name (model/README.md lists them; a test keeps the two in step).
const OURS: [(&str, Parse); 19] = [
    ("SVMRegressor", svm::parse_regressor),
    ("SVMClassifier", svm::parse_classifier),
    ("Binarizer", binarizer::parse),
    ("LinearClassifier", linear_classifier::parse),
    ("TreeEnsembleRegressor", trees::parse_regressor),
    ("TreeEnsembleClassifier", trees::parse_classifier),
    ("TreeEnsemble", trees::parse_v5),
    ("Scaler", scaler::parse),
    ("Imputer", imputer::parse),
    ("FeatureVectorizer", feature_vectorizer::parse),
    ("OneHotEncoder", one_hot_encoder::parse),
    ("LabelEncoder", label_encoder::parse),
    ("Normalizer", normalizer::parse),
    ("StringNormalizer", string_normalizer::parse),
    ("Tokenizer", tokenizer::parse),
    ("TfIdfVectorizer", tfidf::parse),
    ("Flatten", flatten::parse),
    ("ReduceLogSumExp", reduce_log_sum_exp::parse),
    ("LRN", lrn::parse),
];

/// The ONNX framework with our operators added (replacing tract's where it has one).
pub fn onnx() -> Onnx {
    let mut onnx = tract_onnx::onnx();
    for (name, parse) in OURS {
        onnx.op_register.insert(name, parse);
    }
    onnx
}

/// An operator of the model that neither tract nor this server implements, or implements wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub op: String,
    pub domain: String,
    pub node: String,
    /// How to export the model without it, when a converter option avoids it.
    pub hint: Option<&'static str>,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = if self.domain.is_empty() {
            "ai.onnx"
        } else {
            &self.domain
        };
        write!(
            f,
            "operator {} (domain {domain}, node {:?}) is not supported",
            self.op, self.node
        )?;
        match self.hint {
            Some(hint) => write!(f, "; {hint}"),
            None => Ok(()),
        }
    }
}

/// The first operator of the graph that the server cannot run as onnxruntime would.
pub fn unsupported(onnx: &Onnx, proto: &ModelProto) -> Option<Unsupported> {
    let graph = proto.graph.as_ref()?;
    if let Some(node) = graph.node.iter().find(|node| normalizes_in_a_scan(node)) {
        return Some(Unsupported {
            op: node.op_type.clone(),
            domain: node.domain.clone(),
            node: node.name.clone(),
            hint: Some(KEEP_EMPTY_STRING),
        });
    }
    let node = graph
        .node
        .iter()
        .find(|node| !onnx.op_register.0.contains_key(node.op_type.as_str()))?;
    Some(Unsupported {
        op: node.op_type.clone(),
        domain: node.domain.clone(),
        node: node.name.clone(),
        hint: export_option(&node.op_type),
    })
}

/// What skl2onnx's `keep_empty_string` option makes, and how to do without it.
const KEEP_EMPTY_STRING: &str = "a StringNormalizer inside a Scan is skl2onnx's `keep_empty_string` \
     option of text vectorizers: export without it (the default), which answers the same unless \
     stop words fill a whole document";

/// A Scan whose body runs a StringNormalizer (tract's Scan does not carry the string rows).
fn normalizes_in_a_scan(node: &tract_onnx::pb::NodeProto) -> bool {
    node.op_type == "Scan"
        && node.attribute.iter().any(|a| {
            a.g.as_ref()
                .is_some_and(|body| body.node.iter().any(|n| n.op_type == "StringNormalizer"))
        })
}

/// The converter option that exports a model without `op`, where one exists.
fn export_option(op: &str) -> Option<&'static str> {
    match op {
        "DictVectorizer" => Some(
            "export the model after the DictVectorizer with one input per feature (skl2onnx \
             `to_onnx(model, X=dataframe)`) and send records: the server maps their keys to inputs",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_answers;
