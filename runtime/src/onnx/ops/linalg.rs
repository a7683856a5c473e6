//! ONNX → `Op` mapping for the linalg family: MatMul, Gemm, MatMulInteger, Einsum, Det.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::linalg::{parse_equation, GemmArgs, LinalgOp};
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let op = match ctx.op_type() {
        "MatMul" => Ok(LinalgOp::MatMul),
        "Gemm" => gemm(ctx),
        "MatMulInteger" => Ok(LinalgOp::MatMulInteger),
        "Einsum" => einsum(ctx),
        "Det" => Ok(LinalgOp::Det),
        _ => return None,
    };
    Some(op.map(Op::Linalg))
}

/// Gemm, every opset: before 7 the `broadcast` attribute gated C's broadcasting; broadcasting
/// a C that already has the output shape is the identity, so both settings import the same.
fn gemm(ctx: &NodeCtx) -> Result<LinalgOp> {
    if ctx.opset < 11 && !ctx.has_input(2) {
        return Err(ctx.invalid("Gemm before opset 11 requires input C"));
    }
    Ok(LinalgOp::Gemm(GemmArgs {
        alpha: ctx.f("alpha", 1.0)?,
        beta: ctx.f("beta", 1.0)?,
        trans_a: ctx.i("transA", 0)? != 0,
        trans_b: ctx.i("transB", 0)? != 0,
    }))
}

fn einsum(ctx: &NodeCtx) -> Result<LinalgOp> {
    let eq = ctx.get_s("equation")?.ok_or_else(|| ctx.invalid("missing required attribute \"equation\""))?;
    let spec = parse_equation(&eq).map_err(|e| ctx.invalid(e.to_string()))?;
    if spec.inputs.len() != ctx.num_inputs() {
        return Err(ctx.invalid(format!("equation {eq:?} has {} terms for {} inputs", spec.inputs.len(), ctx.num_inputs())));
    }
    Ok(LinalgOp::Einsum(spec))
}
