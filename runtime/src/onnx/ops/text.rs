//! ONNX → `Op` mapping for the text family (string ops and a few `ai.onnx.ml` table ops).

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::text::{CaseAction, FullMatchRegex, TextOp};
use suanli_kernels::{Op, Tensor};

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    let r = match (ctx.domain(), ctx.op_type()) {
        ("ai.onnx", "StringNormalizer") => string_normalizer(ctx),
        ("ai.onnx", "StringConcat") => since20(ctx).map(|_| TextOp::StringConcat),
        ("ai.onnx", "StringSplit") => string_split(ctx),
        ("ai.onnx", "RegexFullMatch") => regex_full_match(ctx),
        ("ai.onnx.ml", "LabelEncoder") => label_encoder(ctx),
        ("ai.onnx.ml", "ArrayFeatureExtractor") => Ok(TextOp::ArrayFeatureExtractor),
        ("ai.onnx.ml", "Binarizer") => ctx.f("threshold", 0.0).map(|threshold| TextOp::Binarizer { threshold }),
        _ => return None,
    };
    Some(r.map(Op::Text))
}

fn since20(ctx: &NodeCtx) -> Result<()> {
    if ctx.opset < 20 {
        return Err(ctx.unsupported(format!("{} exists from opset 20", ctx.op_type())));
    }
    Ok(())
}

fn string_normalizer(ctx: &NodeCtx) -> Result<TextOp> {
    let case = match ctx.s("case_change_action", "NONE")?.as_str() {
        "NONE" => CaseAction::None,
        "LOWER" => CaseAction::Lower,
        "UPPER" => CaseAction::Upper,
        other => return Err(ctx.invalid(format!("case_change_action {other:?}"))),
    };
    Ok(TextOp::StringNormalizer {
        case,
        case_sensitive: ctx.i("is_case_sensitive", 0)? != 0,
        stopwords: ctx.get_strings("stopwords")?.unwrap_or_default(),
    })
}

fn string_split(ctx: &NodeCtx) -> Result<TextOp> {
    since20(ctx)?;
    let delimiter = ctx.get_s("delimiter")?.filter(|d| !d.is_empty());
    let maxsplit = match ctx.get_i("maxsplit")? {
        None => None,
        Some(m) if m >= 0 => Some(m as usize),
        Some(m) => return Err(ctx.invalid(format!("maxsplit must be >= 0, found {m}"))),
    };
    Ok(TextOp::StringSplit { delimiter, maxsplit })
}

fn regex_full_match(ctx: &NodeCtx) -> Result<TextOp> {
    since20(ctx)?;
    let pattern = ctx.get_s("pattern")?.ok_or_else(|| ctx.invalid("missing required attribute \"pattern\""))?;
    let regex = FullMatchRegex::new(&pattern).map_err(|e| ctx.invalid(e.to_string()))?;
    Ok(TextOp::RegexFullMatch { regex })
}

/// A 1-D tensor from a list attribute.
fn vec_tensor<T: suanli_kernels::HostElem>(ctx: &NodeCtx, v: Vec<T>) -> Result<Tensor> {
    Tensor::from_vec(vec![v.len()], v).map_err(|e| ctx.invalid(e.to_string()))
}

/// The keys or values of a `LabelEncoder`: exactly one of `<prefix>_{strings,int64s,floats,tensor}`.
fn table(ctx: &NodeCtx, prefix: &str) -> Result<Tensor> {
    let mut found = Vec::new();
    if let Some(s) = ctx.get_strings(&format!("{prefix}_strings"))? {
        found.push(Tensor::from_strings(vec![s.len()], s).map_err(|e| ctx.invalid(e.to_string()))?);
    }
    if let Some(v) = ctx.get_ints(&format!("{prefix}_int64s"))? {
        found.push(vec_tensor(ctx, v)?);
    }
    if let Some(v) = ctx.get_floats(&format!("{prefix}_floats"))? {
        found.push(vec_tensor(ctx, v)?);
    }
    if let Some(t) = ctx.get_tensor(&format!("{prefix}_tensor"))? {
        if ctx.opset < 4 {
            return Err(ctx.invalid(format!("{prefix}_tensor needs ai.onnx.ml opset 4")));
        }
        let n = t.len();
        found.push(t.reshaped(vec![n]).map_err(|e| ctx.invalid(e.to_string()))?);
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ctx.invalid(format!("LabelEncoder needs one of the {prefix}_* attributes"))),
        _ => Err(ctx.invalid(format!("LabelEncoder has several {prefix}_* attributes"))),
    }
}

fn label_encoder(ctx: &NodeCtx) -> Result<TextOp> {
    if ctx.opset < 2 {
        return Err(ctx.unsupported("LabelEncoder opset 1 (classes_strings) is not implemented"));
    }
    let keys = table(ctx, "keys")?;
    let values = table(ctx, "values")?;
    let dt = values.dtype();
    let default = match ctx.get_tensor("default_tensor")? {
        Some(t) if ctx.opset >= 4 => {
            if t.len() != 1 {
                return Err(ctx.invalid("default_tensor must hold one element"));
            }
            t.cast(dt).map_err(|e| ctx.invalid(e.to_string()))?.reshaped(vec![]).map_err(|e| ctx.invalid(e.to_string()))?
        }
        Some(_) => return Err(ctx.invalid("default_tensor needs ai.onnx.ml opset 4")),
        None if dt == suanli_kernels::DType::Str => {
            Tensor::from_strings(vec![], vec![ctx.s("default_string", "_Unused")?]).map_err(|e| ctx.invalid(e.to_string()))?
        }
        None if dt.is_float() => Tensor::scalar(ctx.f("default_float", -0.0)?).cast(dt).map_err(|e| ctx.invalid(e.to_string()))?,
        None => Tensor::scalar(ctx.i("default_int64", -1)?).cast(dt).map_err(|e| ctx.invalid(e.to_string()))?,
    };
    Ok(TextOp::LabelEncoder { keys, values, default })
}
