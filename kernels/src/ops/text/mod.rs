//! TextOp family: string ops (`StringNormalizer`, `StringConcat`, `StringSplit`,
//! `RegexFullMatch`) and the small `ai.onnx.ml` table ops (`LabelEncoder`,
//! `ArrayFeatureExtractor`, `Binarizer`).

mod ml;
mod strings;
#[cfg(test)]
mod tests;

pub use strings::{CaseAction, FullMatchRegex};

use crate::dtype::DType;
use crate::error::Result;
use crate::op::{InferInput, OpImpl};
use crate::shape::{broadcast_dims, Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::req_ty;

/// The text ops.
#[derive(Clone, Debug, PartialEq)]
pub enum TextOp {
    /// ONNX `StringNormalizer` (opset 10): drop stopwords, then change case.
    StringNormalizer {
        /// Case change applied to the kept strings.
        case: CaseAction,
        /// Whether stopwords match case-sensitively.
        case_sensitive: bool,
        /// Elements equal to one of these are removed.
        stopwords: Vec<String>,
    },
    /// ONNX `StringConcat` (opset 20), with broadcasting.
    StringConcat,
    /// ONNX `StringSplit` (opset 20).
    StringSplit {
        /// Separator; `None` splits on runs of whitespace.
        delimiter: Option<String>,
        /// At most this many splits per string.
        maxsplit: Option<usize>,
    },
    /// ONNX `RegexFullMatch` (opset 20).
    RegexFullMatch {
        /// The compiled, fully anchored pattern.
        regex: FullMatchRegex,
    },
    /// `ai.onnx.ml::LabelEncoder` (opset 2–4): map keys to values, else a default.
    LabelEncoder {
        /// 1-D keys (strings, integers or floats).
        keys: Tensor,
        /// 1-D values of the output dtype, as many as keys.
        values: Tensor,
        /// Scalar default, of the values' dtype.
        default: Tensor,
    },
    /// `ai.onnx.ml::ArrayFeatureExtractor` (opset 1): gather along the last axis.
    ArrayFeatureExtractor,
    /// `ai.onnx.ml::Binarizer` (opset 1): `x > threshold ? 1 : 0`.
    Binarizer {
        /// The threshold.
        threshold: f32,
    },
}

impl OpImpl for TextOp {
    fn name(&self) -> &'static str {
        match self {
            TextOp::StringNormalizer { .. } => "StringNormalizer",
            TextOp::StringConcat => "StringConcat",
            TextOp::StringSplit { .. } => "StringSplit",
            TextOp::RegexFullMatch { .. } => "RegexFullMatch",
            TextOp::LabelEncoder { .. } => "LabelEncoder",
            TextOp::ArrayFeatureExtractor => "ArrayFeatureExtractor",
            TextOp::Binarizer { .. } => "Binarizer",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let x = req_ty(self.name(), inputs, 0)?;
        let shape = x.shape.clone();
        Ok(match self {
            TextOp::StringNormalizer { .. } => {
                let dims = match x.rank() {
                    Some(2) => vec![Dim::Known(1), Dim::Unknown],
                    _ => vec![Dim::Unknown],
                };
                vec![TensorType { dtype: DType::Str, shape: Some(dims) }]
            }
            TextOp::StringConcat => {
                let y = req_ty(self.name(), inputs, 1)?;
                let shape = match (&x.shape, &y.shape) {
                    (Some(a), Some(b)) => Some(broadcast_dims(self.name(), &[a, b])?),
                    _ => None,
                };
                vec![TensorType { dtype: DType::Str, shape }]
            }
            TextOp::StringSplit { .. } => {
                let parts = shape.clone().map(|mut s| {
                    s.push(Dim::Unknown);
                    s
                });
                vec![TensorType { dtype: DType::Str, shape: parts }, TensorType { dtype: DType::I64, shape }]
            }
            TextOp::RegexFullMatch { .. } => vec![TensorType { dtype: DType::Bool, shape }],
            TextOp::LabelEncoder { values, .. } => vec![TensorType { dtype: values.dtype(), shape }],
            TextOp::ArrayFeatureExtractor => vec![ml::infer_array_feature_extractor(x, inputs.get(1).and_then(|i| i.ty))],
            TextOp::Binarizer { .. } => vec![x.clone()],
        })
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        match self {
            TextOp::StringNormalizer { case, case_sensitive, stopwords } => {
                strings::normalize(*case, *case_sensitive, stopwords, inputs)
            }
            TextOp::StringConcat => strings::concat(inputs),
            TextOp::StringSplit { delimiter, maxsplit } => strings::split(delimiter.as_deref(), *maxsplit, inputs),
            TextOp::RegexFullMatch { regex } => strings::full_match(regex, inputs),
            TextOp::LabelEncoder { keys, values, default } => ml::label_encode(keys, values, default, inputs),
            TextOp::ArrayFeatureExtractor => ml::array_feature_extractor(inputs),
            TextOp::Binarizer { threshold } => ml::binarize(*threshold, inputs),
        }
    }
}
