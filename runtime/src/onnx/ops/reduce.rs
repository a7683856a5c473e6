//! ONNX → `Op` mapping for the reduce family: Reduce*, ArgMax/ArgMin, CumSum/CumProd, TopK,
//! Softmax/LogSoftmax/Hardmax, NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::reduce::{ArgKind, LossReduction, ReduceKind, ScanKind, SoftmaxKind};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let op = match ctx.op_type() {
        "ReduceSum" => reduce(ctx, ReduceKind::Sum, 13),
        "ReduceMean" => reduce(ctx, ReduceKind::Mean, 18),
        "ReduceMax" => reduce(ctx, ReduceKind::Max, 18),
        "ReduceMin" => reduce(ctx, ReduceKind::Min, 18),
        "ReduceProd" => reduce(ctx, ReduceKind::Prod, 18),
        "ReduceL1" => reduce(ctx, ReduceKind::L1, 18),
        "ReduceL2" => reduce(ctx, ReduceKind::L2, 18),
        "ReduceLogSum" => reduce(ctx, ReduceKind::LogSum, 18),
        "ReduceLogSumExp" => reduce(ctx, ReduceKind::LogSumExp, 18),
        "ReduceSumSquare" => reduce(ctx, ReduceKind::SumSquare, 18),
        "ArgMax" => arg(ctx, ArgKind::Max),
        "ArgMin" => arg(ctx, ArgKind::Min),
        "CumSum" => scan(ctx, ScanKind::Sum),
        "CumProd" => scan(ctx, ScanKind::Prod),
        "TopK" => topk(ctx),
        "Softmax" => softmax(ctx, SoftmaxKind::Softmax),
        "LogSoftmax" => softmax(ctx, SoftmaxKind::LogSoftmax),
        "Hardmax" => softmax(ctx, SoftmaxKind::Hardmax),
        "NegativeLogLikelihoodLoss" => loss(ctx, false),
        "SoftmaxCrossEntropyLoss" => loss(ctx, true),
        _ => return None,
    };
    Some(op.map(Op::Reduce))
}

/// A Reduce* node; `axes_input_since` is the opset from which axes come as input 1.
fn reduce(ctx: &NodeCtx, kind: ReduceKind, axes_input_since: i64) -> Result<ReduceOp> {
    let keepdims = ctx.i("keepdims", 1)? != 0;
    if ctx.opset < axes_input_since {
        // Axes as attribute; absent means all axes.
        let axes = ctx.get_ints("axes")?.unwrap_or_default();
        return Ok(ReduceOp::Reduce { kind, axes: Some(axes), keepdims, noop_with_empty_axes: false });
    }
    if ctx.attr("axes").is_some() {
        return Err(ctx.invalid(format!("axes is an input (not an attribute) from opset {axes_input_since}")));
    }
    let noop_with_empty_axes = ctx.i("noop_with_empty_axes", 0)? != 0;
    Ok(ReduceOp::Reduce { kind, axes: None, keepdims, noop_with_empty_axes })
}

/// ArgMax / ArgMin.
fn arg(ctx: &NodeCtx, kind: ArgKind) -> Result<ReduceOp> {
    Ok(ReduceOp::Arg {
        kind,
        axis: ctx.i("axis", 0)?,
        keepdims: ctx.i("keepdims", 1)? != 0,
        select_last_index: ctx.i("select_last_index", 0)? != 0,
    })
}

/// CumSum / CumProd.
fn scan(ctx: &NodeCtx, kind: ScanKind) -> Result<ReduceOp> {
    Ok(ReduceOp::Scan { kind, exclusive: ctx.i("exclusive", 0)? != 0, reverse: ctx.i("reverse", 0)? != 0 })
}

/// TopK: `k` attribute in opset 1, input from 10; `largest`/`sorted` from 11.
fn topk(ctx: &NodeCtx) -> Result<ReduceOp> {
    let k = if ctx.opset < 10 { Some(ctx.req_i("k")?) } else { None };
    let largest = ctx.i("largest", 1)? != 0;
    let sorted = ctx.i("sorted", 1)? != 0;
    Ok(ReduceOp::TopK { k, axis: ctx.i("axis", -1)?, largest, sorted })
}

/// Softmax family: before opset 13 the input is coerced to 2-D at `axis` (default 1).
fn softmax(ctx: &NodeCtx, kind: SoftmaxKind) -> Result<ReduceOp> {
    let coerce_2d = ctx.opset < 13;
    let axis = ctx.i("axis", if coerce_2d { 1 } else { -1 })?;
    Ok(ReduceOp::Softmax { kind, axis, coerce_2d })
}

/// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss.
fn loss(ctx: &NodeCtx, sce: bool) -> Result<ReduceOp> {
    let reduction = match ctx.s("reduction", "mean")?.as_str() {
        "none" => LossReduction::None,
        "sum" => LossReduction::Sum,
        "mean" => LossReduction::Mean,
        other => return Err(ctx.invalid(format!("unknown reduction {other:?}"))),
    };
    let ignore_index = ctx.get_i("ignore_index")?;
    Ok(if sce {
        ReduceOp::SoftmaxCrossEntropyLoss { reduction, ignore_index }
    } else {
        ReduceOp::NllLoss { reduction, ignore_index }
    })
}
