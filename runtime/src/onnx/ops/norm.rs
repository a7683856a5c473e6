//! ONNX → `Op` mapping for the norm family: BatchNormalization, InstanceNormalization,
//! LayerNormalization, GroupNormalization, RMSNormalization, LRN, LpNormalization,
//! MeanVarianceNormalization.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::NormOp;
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let op = match ctx.op_type() {
        "BatchNormalization" => batch_norm(ctx),
        "InstanceNormalization" => ctx.f("epsilon", 1e-5).map(|epsilon| NormOp::InstanceNorm { epsilon }),
        "LayerNormalization" => trailing(ctx, true),
        "RMSNormalization" => trailing(ctx, false),
        "GroupNormalization" => group_norm(ctx),
        "LRN" => lrn(ctx),
        "LpNormalization" => lp_norm(ctx),
        "MeanVarianceNormalization" => {
            ctx.get_ints("axes").map(|a| NormOp::MeanVarianceNorm { axes: a.unwrap_or_else(|| vec![0, 2, 3]) })
        }
        _ => return None,
    };
    Some(op.map(Op::Norm))
}

/// Fail unless `stash_type` is float (the only precision the statistics are reported in).
fn check_stash(ctx: &NodeCtx) -> Result<()> {
    let stash = ctx.i("stash_type", 1)?;
    if stash != 1 {
        return Err(ctx.unsupported(format!("stash_type {stash} (only 1 = float)")));
    }
    Ok(())
}

/// BatchNormalization, every opset: inference everywhere, training mode from opset 14.
fn batch_norm(ctx: &NodeCtx) -> Result<NormOp> {
    let epsilon = ctx.f("epsilon", 1e-5)?;
    let momentum = ctx.f("momentum", 0.9)?;
    if ctx.opset < 9 && ctx.i("spatial", 1)? == 0 {
        return Err(ctx.unsupported("spatial = 0 (per-activation statistics)"));
    }
    let extra_outputs = (1..ctx.num_outputs()).any(|i| ctx.has_output(i));
    let training = if ctx.opset >= 14 { ctx.i("training_mode", 0)? != 0 } else { false };
    if ctx.opset < 14 && extra_outputs {
        return Err(ctx.unsupported("training-mode outputs before opset 14"));
    }
    Ok(NormOp::BatchNorm { epsilon, momentum, training })
}

/// LayerNormalization (`center`) or RMSNormalization.
fn trailing(ctx: &NodeCtx, center: bool) -> Result<NormOp> {
    check_stash(ctx)?;
    let axis = ctx.i("axis", -1)?;
    let epsilon = ctx.f("epsilon", 1e-5)?;
    Ok(if center { NormOp::LayerNorm { axis, epsilon } } else { NormOp::RmsNorm { axis, epsilon } })
}

/// GroupNormalization: scale/bias per group in opset 18, per channel from 21.
fn group_norm(ctx: &NodeCtx) -> Result<NormOp> {
    check_stash(ctx)?;
    let g = ctx.req_i("num_groups")?;
    if g <= 0 {
        return Err(ctx.invalid(format!("num_groups must be positive, found {g}")));
    }
    Ok(NormOp::GroupNorm { num_groups: g as usize, epsilon: ctx.f("epsilon", 1e-5)?, per_channel: ctx.opset >= 21 })
}

/// LRN.
fn lrn(ctx: &NodeCtx) -> Result<NormOp> {
    let size = ctx.req_i("size")?;
    if size <= 0 {
        return Err(ctx.invalid(format!("size must be positive, found {size}")));
    }
    Ok(NormOp::Lrn {
        size: size as usize,
        alpha: ctx.f("alpha", 1e-4)?,
        beta: ctx.f("beta", 0.75)?,
        bias: ctx.f("bias", 1.0)?,
    })
}

/// LpNormalization (p = 1 or 2).
fn lp_norm(ctx: &NodeCtx) -> Result<NormOp> {
    let p = ctx.i("p", 2)?;
    if p != 1 && p != 2 {
        return Err(ctx.unsupported(format!("p = {p} (only 1 and 2)")));
    }
    Ok(NormOp::LpNorm { axis: ctx.i("axis", -1)?, p })
}
