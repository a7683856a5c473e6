//! ONNX → `Op` mapping for the pool family: MaxPool, AveragePool, LpPool, the global pools,
//! MaxUnpool.

use super::conv::window;
use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::conv::Window;
use suanli_kernels::ops::pool::PoolOp;
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let op = match ctx.op_type() {
        "MaxPool" => max_pool(ctx),
        "AveragePool" => pool_window(ctx).and_then(|w| {
            Ok(PoolOp::AveragePool { window: w, ceil_mode: ctx.i("ceil_mode", 0)? != 0, count_include_pad: ctx.i("count_include_pad", 0)? != 0 })
        }),
        "LpPool" => pool_window(ctx).and_then(|w| Ok(PoolOp::LpPool { window: w, ceil_mode: ctx.i("ceil_mode", 0)? != 0, p: p_attr(ctx)? })),
        "GlobalAveragePool" => Ok(PoolOp::GlobalAveragePool),
        "GlobalMaxPool" => Ok(PoolOp::GlobalMaxPool),
        "GlobalLpPool" => p_attr(ctx).map(|p| PoolOp::GlobalLpPool { p }),
        "MaxUnpool" => pool_window(ctx).map(|w| PoolOp::MaxUnpool { window: w }),
        _ => return None,
    };
    Some(op.map(Op::Pool))
}

/// The window of a pool, which must name its kernel shape.
fn pool_window(ctx: &NodeCtx) -> Result<Window> {
    let w = window(ctx)?;
    match &w.kernel_shape {
        Some(k) if !k.is_empty() && !k.contains(&0) => Ok(w),
        _ => Err(ctx.invalid("kernel_shape is required and must be positive")),
    }
}

/// LpPool's `p`: a float attribute in opset 1, an int from opset 2 on (default 2).
fn p_attr(ctx: &NodeCtx) -> Result<f32> {
    let p = if ctx.opset < 2 { ctx.f("p", 2.0)? } else { ctx.i("p", 2)? as f32 };
    if p <= 0.0 {
        return Err(ctx.invalid(format!("p must be positive, got {p}")));
    }
    Ok(p)
}

fn max_pool(ctx: &NodeCtx) -> Result<PoolOp> {
    let w = pool_window(ctx)?;
    let order = ctx.i("storage_order", 0)?;
    if order != 0 && order != 1 {
        return Err(ctx.invalid(format!("storage_order must be 0 or 1, got {order}")));
    }
    Ok(PoolOp::MaxPool { window: w, ceil_mode: ctx.i("ceil_mode", 0)? != 0, col_major: order == 1, with_indices: ctx.has_output(1) })
}
