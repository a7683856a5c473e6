//! ONNX → `Op` mapping for the quantisation family.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::quant::{AutoPad, QuantOp};
use suanli_kernels::{DType, Op};

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let r = match ctx.op_type() {
        "QuantizeLinear" => quantize(ctx),
        "DequantizeLinear" => dequantize(ctx),
        "DynamicQuantizeLinear" => Ok(QuantOp::DynamicQuantizeLinear),
        "QLinearMatMul" => Ok(QuantOp::QLinearMatMul),
        "QLinearConv" => qlinear_conv(ctx),
        _ => return None,
    };
    Some(r.map(Op::Quant))
}

/// The `block_size` attribute (opset 21+), validated.
fn block_size(ctx: &NodeCtx) -> Result<usize> {
    let b = ctx.i("block_size", 0)?;
    usize::try_from(b).map_err(|_| ctx.invalid(format!("block_size {b} is negative")))
}

/// An `output_dtype` attribute as a supported dtype (0 = unset).
fn output_dtype(ctx: &NodeCtx, allowed: &[DType]) -> Result<Option<DType>> {
    match ctx.i("output_dtype", 0)? {
        0 => Ok(None),
        code => match DType::from_onnx_code(code as i32) {
            Some(d) if allowed.contains(&d) => Ok(Some(d)),
            _ => Err(ctx.unsupported(format!("output_dtype {}", DType::onnx_code_name(code as i32)))),
        },
    }
}

fn quantize(ctx: &NodeCtx) -> Result<QuantOp> {
    if let Some(p) = ctx.get_i("precision")? {
        if p != 0 && p != DType::F32.onnx_code() as i64 {
            return Err(ctx.unsupported(format!("precision {}", DType::onnx_code_name(p as i32))));
        }
    }
    if ctx.i("saturate", 1)? != 1 {
        // saturate only matters for float8 outputs, which are not supported anyway.
        return Err(ctx.unsupported("saturate=0 (float8 outputs)"));
    }
    Ok(QuantOp::QuantizeLinear {
        axis: ctx.i("axis", 1)?,
        block_size: block_size(ctx)?,
        output_dtype: output_dtype(ctx, &[DType::U8, DType::I8, DType::U16, DType::I16])?,
    })
}

fn dequantize(ctx: &NodeCtx) -> Result<QuantOp> {
    Ok(QuantOp::DequantizeLinear {
        axis: ctx.i("axis", 1)?,
        block_size: block_size(ctx)?,
        output_dtype: output_dtype(ctx, &[DType::F32, DType::F16, DType::BF16])?,
    })
}

/// A list of non-negative ints attribute (empty when absent).
fn usizes(ctx: &NodeCtx, name: &str) -> Result<Vec<usize>> {
    ctx.get_ints(name)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| ctx.invalid(format!("{name} has a negative value {v}"))))
        .collect()
}

fn qlinear_conv(ctx: &NodeCtx) -> Result<QuantOp> {
    let auto_pad = match ctx.s("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" => AutoPad::NotSet,
        "SAME_UPPER" => AutoPad::SameUpper,
        "SAME_LOWER" => AutoPad::SameLower,
        "VALID" => AutoPad::Valid,
        other => return Err(ctx.invalid(format!("unknown auto_pad {other:?}"))),
    };
    let group = ctx.i("group", 1)?;
    Ok(QuantOp::QLinearConv {
        auto_pad,
        dilations: usizes(ctx, "dilations")?,
        group: usize::try_from(group).map_err(|_| ctx.invalid(format!("group {group} is negative")))?,
        kernel_shape: usizes(ctx, "kernel_shape")?,
        pads: usizes(ctx, "pads")?,
        strides: usizes(ctx, "strides")?,
    })
}
