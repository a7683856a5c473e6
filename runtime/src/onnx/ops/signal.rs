//! ONNX → `Op` mapping for the signal family.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::signal::{SignalOp, WindowKind};
use suanli_kernels::{DType, Op};

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let r = match ctx.op_type() {
        "DFT" => dft(ctx),
        "STFT" => since17(ctx).and_then(|_| Ok(SignalOp::Stft { onesided: ctx.i("onesided", 1)? != 0 })),
        "HannWindow" => window(ctx, WindowKind::Hann),
        "HammingWindow" => window(ctx, WindowKind::Hamming),
        "BlackmanWindow" => window(ctx, WindowKind::Blackman),
        "MelWeightMatrix" => since17(ctx).and_then(|_| Ok(SignalOp::MelWeightMatrix { dtype: out_dtype(ctx)? })),
        _ => return None,
    };
    Some(r.map(Op::Signal))
}

fn since17(ctx: &NodeCtx) -> Result<()> {
    if ctx.opset < 17 {
        return Err(ctx.unsupported(format!("{} exists from opset 17", ctx.op_type())));
    }
    Ok(())
}

/// The `output_datatype` attribute (default float).
fn out_dtype(ctx: &NodeCtx) -> Result<DType> {
    let code = ctx.i("output_datatype", 1)?;
    match DType::from_onnx_code(code as i32) {
        Some(d) if d.is_numeric() => Ok(d),
        _ => Err(ctx.unsupported(format!("output_datatype {}", DType::onnx_code_name(code as i32)))),
    }
}

fn dft(ctx: &NodeCtx) -> Result<SignalOp> {
    since17(ctx)?;
    let axis = if ctx.opset < 20 {
        if ctx.has_input(2) {
            return Err(ctx.invalid("the axis input needs opset 20"));
        }
        Some(ctx.i("axis", 1)?)
    } else {
        if ctx.attr("axis").is_some() {
            return Err(ctx.invalid("from opset 20 the axis is an input, not an attribute"));
        }
        None
    };
    Ok(SignalOp::Dft { inverse: ctx.i("inverse", 0)? != 0, onesided: ctx.i("onesided", 0)? != 0, axis })
}

fn window(ctx: &NodeCtx, kind: WindowKind) -> Result<SignalOp> {
    since17(ctx)?;
    Ok(SignalOp::Window { kind, periodic: ctx.i("periodic", 1)? != 0, dtype: out_dtype(ctx)? })
}
