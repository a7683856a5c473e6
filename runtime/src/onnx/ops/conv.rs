//! ONNX → `Op` mapping for the conv family: Conv, ConvInteger, ConvTranspose, DeformConv,
//! Col2Im, CausalConvWithState.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::conv::{AutoPad, ConvOp, Window};
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let op = match ctx.op_type() {
        "Conv" => window(ctx).and_then(|w| Ok(ConvOp::Conv { window: w, group: group(ctx)? })),
        "ConvInteger" => window(ctx).and_then(|w| Ok(ConvOp::ConvInteger { window: w, group: group(ctx)? })),
        "ConvTranspose" => conv_transpose(ctx),
        "DeformConv" => window(ctx).and_then(|w| {
            Ok(ConvOp::DeformConv { window: w, group: group(ctx)?, offset_group: positive(ctx, "offset_group", 1)? })
        }),
        "Col2Im" => window(ctx).map(|w| ConvOp::Col2Im { window: w }),
        "CausalConvWithState" => causal(ctx),
        _ => return None,
    };
    Some(op.map(Op::Conv))
}

/// A non-negative ints attribute as extents (empty when absent).
pub fn extents(ctx: &NodeCtx, name: &str) -> Result<Vec<usize>> {
    ctx.get_ints(name)?
        .unwrap_or_default()
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| ctx.invalid(format!("attribute {name:?} has a negative value {v}"))))
        .collect()
}

/// A positive int attribute with a default.
fn positive(ctx: &NodeCtx, name: &str, default: i64) -> Result<usize> {
    let v = ctx.i(name, default)?;
    usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| ctx.invalid(format!("{name} must be positive, got {v}")))
}

fn group(ctx: &NodeCtx) -> Result<usize> {
    positive(ctx, "group", 1)
}

/// The window attributes shared by convolutions and pools.
pub fn window(ctx: &NodeCtx) -> Result<Window> {
    let ap = ctx.s("auto_pad", "NOTSET")?;
    let auto_pad = AutoPad::parse(&ap).ok_or_else(|| ctx.invalid(format!("unknown auto_pad {ap:?}")))?;
    let kernel_shape = match ctx.get_ints("kernel_shape")? {
        None => None,
        Some(_) => Some(extents(ctx, "kernel_shape")?),
    };
    let w = Window {
        kernel_shape,
        strides: extents(ctx, "strides")?,
        dilations: extents(ctx, "dilations")?,
        pads: extents(ctx, "pads")?,
        auto_pad,
    };
    if w.strides.contains(&0) || w.dilations.contains(&0) {
        return Err(ctx.invalid("strides and dilations must be positive"));
    }
    Ok(w)
}

fn conv_transpose(ctx: &NodeCtx) -> Result<ConvOp> {
    let output_shape = match ctx.get_ints("output_shape")? {
        None => None,
        Some(_) => Some(extents(ctx, "output_shape")?),
    };
    Ok(ConvOp::ConvTranspose { window: window(ctx)?, group: group(ctx)?, output_padding: extents(ctx, "output_padding")?, output_shape })
}

fn causal(ctx: &NodeCtx) -> Result<ConvOp> {
    let act = ctx.s("activation", "none")?;
    let silu = match act.as_str() {
        "none" => false,
        "silu" | "swish" => true,
        other => return Err(ctx.unsupported(format!("activation {other:?}"))),
    };
    Ok(ConvOp::CausalConvWithState { silu })
}
