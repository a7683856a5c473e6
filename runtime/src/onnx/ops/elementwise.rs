//! ONNX → `Op` mapping for the elementwise family.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use suanli_kernels::{DType, Op};

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let op = ctx.op_type();
    let r = if let Some(u) = unary(ctx, op) {
        u.map(ElementwiseOp::Unary)
    } else if let Some(b) = binary(ctx, op) {
        b.map(ElementwiseOp::Binary)
    } else if let Some(v) = variadic(op) {
        Ok(ElementwiseOp::Variadic(v))
    } else {
        match op {
            "Where" => Ok(ElementwiseOp::Where),
            "Cast" => cast(ctx),
            "CastLike" => Ok(ElementwiseOp::CastLike),
            "Clip" => clip(ctx),
            _ => return None,
        }
    };
    Some(r.map(Op::Elementwise))
}

/// The unary ops; `None` when `op` is not one.
fn unary(ctx: &NodeCtx, op: &str) -> Option<Result<UnaryOp>> {
    use UnaryOp::*;
    let plain = match op {
        "Abs" => Abs,
        "Neg" => Neg,
        "Reciprocal" => Reciprocal,
        "Sqrt" => Sqrt,
        "Exp" => Exp,
        "Log" => Log,
        "Sin" => Sin,
        "Cos" => Cos,
        "Tan" => Tan,
        "Asin" => Asin,
        "Acos" => Acos,
        "Atan" => Atan,
        "Sinh" => Sinh,
        "Cosh" => Cosh,
        "Asinh" => Asinh,
        "Acosh" => Acosh,
        "Atanh" => Atanh,
        "Ceil" => Ceil,
        "Floor" => Floor,
        "Round" => Round,
        "Sign" => Sign,
        "Erf" => Erf,
        "Not" => Not,
        "BitwiseNot" => BitwiseNot,
        "IsNaN" => IsNaN,
        "Relu" => Relu,
        "Sigmoid" => Sigmoid,
        "Tanh" => Tanh,
        "Softsign" => Softsign,
        "Softplus" => Softplus,
        "HardSwish" => HardSwish,
        "Mish" => Mish,
        _ => return unary_with_attrs(ctx, op),
    };
    Some(Ok(plain))
}

/// The unary ops that carry attributes.
fn unary_with_attrs(ctx: &NodeCtx, op: &str) -> Option<Result<UnaryOp>> {
    let r = (|| -> Result<UnaryOp> {
        Ok(match op {
            "IsInf" => UnaryOp::IsInf {
                detect_positive: ctx.i("detect_positive", 1)? != 0,
                detect_negative: ctx.i("detect_negative", 1)? != 0,
            },
            "LeakyRelu" => UnaryOp::LeakyRelu { alpha: ctx.f("alpha", 0.01)? },
            "Elu" => UnaryOp::Elu { alpha: ctx.f("alpha", 1.0)? },
            "Selu" => {
                // Opset 1 had rounded defaults.
                let (a, g) = if ctx.opset < 6 { (1.6732, 1.0507) } else { (1.673_263_2, 1.050_701) };
                UnaryOp::Selu { alpha: ctx.f("alpha", a)?, gamma: ctx.f("gamma", g)? }
            }
            "Celu" => UnaryOp::Celu { alpha: ctx.f("alpha", 1.0)? },
            "HardSigmoid" => UnaryOp::HardSigmoid { alpha: ctx.f("alpha", 0.2)?, beta: ctx.f("beta", 0.5)? },
            "ThresholdedRelu" => UnaryOp::ThresholdedRelu { alpha: ctx.f("alpha", 1.0)? },
            "Shrink" => UnaryOp::Shrink { lambd: ctx.f("lambd", 0.5)?, bias: ctx.f("bias", 0.0)? },
            "Gelu" => match ctx.s("approximate", "none")?.as_str() {
                "none" => UnaryOp::Gelu { tanh: false },
                "tanh" => UnaryOp::Gelu { tanh: true },
                other => return Err(ctx.unsupported(format!("approximate={other:?}"))),
            },
            "Swish" => UnaryOp::Swish { alpha: ctx.f("alpha", 1.0)? },
            _ => return Err(ctx.invalid("not a unary op")),
        })
    })();
    match op {
        "IsInf" | "LeakyRelu" | "Elu" | "Selu" | "Celu" | "HardSigmoid" | "ThresholdedRelu" | "Shrink" | "Gelu"
        | "Swish" => Some(r),
        _ => None,
    }
}

/// The binary ops; `None` when `op` is not one.
fn binary(ctx: &NodeCtx, op: &str) -> Option<Result<BinaryOp>> {
    use BinaryOp::*;
    let b = match op {
        "Add" => Add,
        "Sub" => Sub,
        "Mul" => Mul,
        "Div" => Div,
        "Pow" => Pow,
        "Mod" => match ctx.i("fmod", 0) {
            Ok(f) => Mod { fmod: f != 0 },
            Err(e) => return Some(Err(e)),
        },
        "Equal" => Equal,
        "Less" => Less,
        "LessOrEqual" => LessOrEqual,
        "Greater" => Greater,
        "GreaterOrEqual" => GreaterOrEqual,
        "And" => And,
        "Or" => Or,
        "Xor" => Xor,
        "BitwiseAnd" => BitwiseAnd,
        "BitwiseOr" => BitwiseOr,
        "BitwiseXor" => BitwiseXor,
        "BitShift" => match ctx.s("direction", "").map(|s| s.to_ascii_uppercase()) {
            Ok(d) if d == "LEFT" => BitShift { left: true },
            Ok(d) if d == "RIGHT" => BitShift { left: false },
            Ok(d) => return Some(Err(ctx.invalid(format!("direction must be LEFT or RIGHT, found {d:?}")))),
            Err(e) => return Some(Err(e)),
        },
        "PRelu" => PRelu,
        _ => return None,
    };
    Some(legacy_broadcast(ctx).map(|()| b))
}

/// Before opset 7, binary ops broadcast only with `broadcast=1`, aligned at `axis`. Without
/// `axis` that is a suffix match, which numpy broadcasting reproduces; `axis` is not supported.
fn legacy_broadcast(ctx: &NodeCtx) -> Result<()> {
    if ctx.opset < 7 && ctx.i("broadcast", 0)? != 0 && ctx.get_i("axis")?.is_some() {
        return Err(ctx.unsupported("legacy broadcast with an axis attribute"));
    }
    Ok(())
}

/// The variadic ops.
fn variadic(op: &str) -> Option<VariadicOp> {
    Some(match op {
        "Sum" => VariadicOp::Sum,
        "Mean" => VariadicOp::Mean,
        "Max" => VariadicOp::Max,
        "Min" => VariadicOp::Min,
        _ => return None,
    })
}

/// Cast: `to` is an ONNX type code; `saturate` and `round_mode` only affect float8/float4
/// targets, which suanli does not have.
fn cast(ctx: &NodeCtx) -> Result<ElementwiseOp> {
    let code = ctx.req_i("to")?;
    let to = i32::try_from(code)
        .ok()
        .and_then(DType::from_onnx_code)
        .ok_or_else(|| ctx.unsupported(format!("cast to {}", DType::onnx_code_name(code as i32))))?;
    Ok(ElementwiseOp::Cast { to })
}

/// Clip: bounds are attributes before opset 11 and optional inputs from 11 on.
fn clip(ctx: &NodeCtx) -> Result<ElementwiseOp> {
    if ctx.opset < 11 {
        Ok(ElementwiseOp::Clip { min: ctx.get_f("min")?, max: ctx.get_f("max")? })
    } else {
        Ok(ElementwiseOp::Clip { min: None, max: None })
    }
}
