//! ElementwiseOp family: unary maths and activations, broadcasting binary arithmetic,
//! comparisons and logic, variadic Sum/Mean/Max/Min, Where, Cast/CastLike and Clip.
//!
//! Kernels dispatch on dtype and op once, then run a monomorphised closure through the
//! loop engine in `engine.rs` (contiguous fast paths, rayon for large tensors).
//! Float16/bfloat16 are computed in f32 and rounded once at the end.

mod binary;
mod engine;
mod misc;
mod num;
mod unary;

#[cfg(test)]
mod tests;

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{broadcast_dims, Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{opt, req, req_ty};

/// One-input elementwise ops (maths, activations, predicates).
#[derive(Clone, Debug, PartialEq)]
pub enum UnaryOp {
    Abs,
    Neg,
    Reciprocal,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Ceil,
    Floor,
    /// Round half to even.
    Round,
    Sign,
    Erf,
    /// Logical not (bool).
    Not,
    /// Bitwise complement (integers).
    BitwiseNot,
    /// NaN test (bool output).
    IsNaN,
    /// Infinity test (bool output) for the enabled signs.
    IsInf {
        detect_positive: bool,
        detect_negative: bool,
    },
    Relu,
    Sigmoid,
    Tanh,
    Softsign,
    Softplus,
    /// `x < 0 ? alpha * x : x`.
    LeakyRelu {
        alpha: f32,
    },
    /// `x < 0 ? alpha * (exp(x) - 1) : x`.
    Elu {
        alpha: f32,
    },
    /// `gamma * (x > 0 ? x : alpha * (exp(x) - 1))`.
    Selu {
        alpha: f32,
        gamma: f32,
    },
    /// `max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`.
    Celu {
        alpha: f32,
    },
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
    /// `x > alpha ? x : 0`.
    ThresholdedRelu {
        alpha: f32,
    },
    /// `x < -lambd ? x + bias : x > lambd ? x - bias : 0`.
    Shrink {
        lambd: f32,
        bias: f32,
    },
    /// Gaussian error linear unit, exact (`tanh == false`) or tanh-approximated.
    Gelu {
        tanh: bool,
    },
    /// `x * tanh(softplus(x))`.
    Mish,
    /// `x * sigmoid(alpha * x)`.
    Swish {
        alpha: f32,
    },
}

/// Two-input elementwise ops with numpy broadcasting.
#[derive(Clone, Debug, PartialEq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Division; integers truncate toward zero.
    Div,
    /// Power; the exponent may have another dtype, the output has the base's dtype.
    Pow,
    /// Remainder: `fmod` takes the dividend's sign, otherwise the divisor's.
    Mod {
        fmod: bool,
    },
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
    Xor,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    /// Shift of unsigned integers; `left` or right.
    BitShift {
        left: bool,
    },
    /// `x < 0 ? slope * x : x` with the slope broadcast to x.
    PRelu,
}

/// N-input elementwise reductions with numpy broadcasting.
#[derive(Clone, Debug, PartialEq)]
pub enum VariadicOp {
    Sum,
    Mean,
    Max,
    Min,
}

/// The elementwise ops.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementwiseOp {
    /// One input, same shape out.
    Unary(UnaryOp),
    /// Two broadcast inputs.
    Binary(BinaryOp),
    /// One or more broadcast inputs of one dtype.
    Variadic(VariadicOp),
    /// `cond ? x : y` with broadcasting.
    Where,
    /// Convert to a dtype.
    Cast { to: DType },
    /// Convert input 0 to the dtype of input 1.
    CastLike,
    /// Clamp to `[min, max]`: attribute bounds (opset < 11) or optional inputs 1 and 2.
    Clip { min: Option<f32>, max: Option<f32> },
}

impl UnaryOp {
    /// The ONNX op name.
    pub fn name(&self) -> &'static str {
        use UnaryOp::*;
        match self {
            Abs => "Abs",
            Neg => "Neg",
            Reciprocal => "Reciprocal",
            Sqrt => "Sqrt",
            Exp => "Exp",
            Log => "Log",
            Sin => "Sin",
            Cos => "Cos",
            Tan => "Tan",
            Asin => "Asin",
            Acos => "Acos",
            Atan => "Atan",
            Sinh => "Sinh",
            Cosh => "Cosh",
            Asinh => "Asinh",
            Acosh => "Acosh",
            Atanh => "Atanh",
            Ceil => "Ceil",
            Floor => "Floor",
            Round => "Round",
            Sign => "Sign",
            Erf => "Erf",
            Not => "Not",
            BitwiseNot => "BitwiseNot",
            IsNaN => "IsNaN",
            IsInf { .. } => "IsInf",
            Relu => "Relu",
            Sigmoid => "Sigmoid",
            Tanh => "Tanh",
            Softsign => "Softsign",
            Softplus => "Softplus",
            LeakyRelu { .. } => "LeakyRelu",
            Elu { .. } => "Elu",
            Selu { .. } => "Selu",
            Celu { .. } => "Celu",
            HardSigmoid { .. } => "HardSigmoid",
            HardSwish => "HardSwish",
            ThresholdedRelu { .. } => "ThresholdedRelu",
            Shrink { .. } => "Shrink",
            Gelu { .. } => "Gelu",
            Mish => "Mish",
            Swish { .. } => "Swish",
        }
    }

    /// The output dtype for an input dtype, or an error when the op does not take it.
    pub fn out_dtype(&self, dt: DType) -> Result<DType> {
        use UnaryOp::*;
        let ok = match self {
            Not => dt == DType::Bool,
            BitwiseNot => dt.is_int(),
            IsNaN | IsInf { .. } => {
                return if dt.is_float() {
                    Ok(DType::Bool)
                } else {
                    Err(bad_dtype(self.name(), dt))
                }
            }
            Abs | Neg | Sign | Relu | Shrink { .. } => dt.is_numeric(),
            _ => dt.is_float(),
        };
        if ok {
            Ok(dt)
        } else {
            Err(bad_dtype(self.name(), dt))
        }
    }
}

impl BinaryOp {
    /// The ONNX op name.
    pub fn name(&self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "Add",
            Sub => "Sub",
            Mul => "Mul",
            Div => "Div",
            Pow => "Pow",
            Mod { .. } => "Mod",
            Equal => "Equal",
            Less => "Less",
            LessOrEqual => "LessOrEqual",
            Greater => "Greater",
            GreaterOrEqual => "GreaterOrEqual",
            And => "And",
            Or => "Or",
            Xor => "Xor",
            BitwiseAnd => "BitwiseAnd",
            BitwiseOr => "BitwiseOr",
            BitwiseXor => "BitwiseXor",
            BitShift { .. } => "BitShift",
            PRelu => "PRelu",
        }
    }

    /// The output dtype for input dtypes `a` and `b`, or an error when they are not accepted.
    pub fn out_dtype(&self, a: DType, b: DType) -> Result<DType> {
        use BinaryOp::*;
        let name = self.name();
        if !matches!(self, Pow) && a != b {
            return Err(KernelError::invalid(
                name,
                format!("inputs have different dtypes {a} and {b}"),
            ));
        }
        let (ok, out) = match self {
            Add | Sub | Mul | Div | Mod { .. } | PRelu => (a.is_numeric(), a),
            Pow => (a.is_numeric() && b.is_numeric(), a),
            Equal => (true, DType::Bool),
            Less | LessOrEqual | Greater | GreaterOrEqual => (a != DType::Str, DType::Bool),
            And | Or | Xor => (a == DType::Bool, DType::Bool),
            BitwiseAnd | BitwiseOr | BitwiseXor | BitShift { .. } => (a.is_int(), a),
        };
        if ok {
            Ok(out)
        } else {
            Err(bad_dtype(name, if a.is_numeric() || a == DType::Bool { b } else { a }))
        }
    }
}

impl VariadicOp {
    /// The ONNX op name.
    pub fn name(&self) -> &'static str {
        match self {
            VariadicOp::Sum => "Sum",
            VariadicOp::Mean => "Mean",
            VariadicOp::Max => "Max",
            VariadicOp::Min => "Min",
        }
    }

    /// Whether the op accepts dtype `dt`.
    pub fn accepts(&self, dt: DType) -> bool {
        match self {
            VariadicOp::Mean => dt.is_float(),
            _ => dt.is_numeric(),
        }
    }
}

/// An "unsupported dtype" error.
fn bad_dtype(op: &str, dt: DType) -> KernelError {
    KernelError::unsupported(op, format!("dtype {dt} is not supported"))
}

/// Broadcast the shapes of `tys` (unknown when any rank is unknown).
fn broadcast_types(op: &str, tys: &[&TensorType]) -> Result<Option<Vec<Dim>>> {
    let shapes: Option<Vec<&[Dim]>> = tys.iter().map(|t| t.shape.as_deref()).collect();
    match shapes {
        None => Ok(None),
        Some(s) => broadcast_dims(op, &s).map(Some),
    }
}

impl OpImpl for ElementwiseOp {
    fn name(&self) -> &'static str {
        match self {
            ElementwiseOp::Unary(u) => u.name(),
            ElementwiseOp::Binary(b) => b.name(),
            ElementwiseOp::Variadic(v) => v.name(),
            ElementwiseOp::Where => "Where",
            ElementwiseOp::Cast { .. } => "Cast",
            ElementwiseOp::CastLike => "CastLike",
            ElementwiseOp::Clip { .. } => "Clip",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let name = self.name();
        let x = req_ty(name, inputs, 0)?;
        let out = match self {
            ElementwiseOp::Unary(u) => TensorType {
                dtype: u.out_dtype(x.dtype)?,
                shape: x.shape.clone(),
            },
            ElementwiseOp::Binary(b) => {
                let y = req_ty(name, inputs, 1)?;
                TensorType {
                    dtype: b.out_dtype(x.dtype, y.dtype)?,
                    shape: broadcast_types(name, &[x, y])?,
                }
            }
            ElementwiseOp::Variadic(v) => {
                let tys = (0..inputs.len())
                    .map(|i| req_ty(name, inputs, i))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(t) = tys.iter().find(|t| t.dtype != x.dtype) {
                    return Err(KernelError::invalid(
                        name,
                        format!("inputs have different dtypes {} and {}", x.dtype, t.dtype),
                    ));
                }
                if !v.accepts(x.dtype) {
                    return Err(bad_dtype(name, x.dtype));
                }
                TensorType {
                    dtype: x.dtype,
                    shape: broadcast_types(name, &tys)?,
                }
            }
            ElementwiseOp::Where => {
                let (a, b) = (req_ty(name, inputs, 1)?, req_ty(name, inputs, 2)?);
                if x.dtype != DType::Bool {
                    return Err(KernelError::invalid(
                        name,
                        format!("condition must be bool, found {}", x.dtype),
                    ));
                }
                if a.dtype != b.dtype {
                    return Err(KernelError::invalid(
                        name,
                        format!("X and Y have different dtypes {} and {}", a.dtype, b.dtype),
                    ));
                }
                TensorType {
                    dtype: a.dtype,
                    shape: broadcast_types(name, &[x, a, b])?,
                }
            }
            ElementwiseOp::Cast { to } => TensorType {
                dtype: *to,
                shape: x.shape.clone(),
            },
            ElementwiseOp::CastLike => TensorType {
                dtype: req_ty(name, inputs, 1)?.dtype,
                shape: x.shape.clone(),
            },
            ElementwiseOp::Clip { .. } => {
                if !x.dtype.is_numeric() {
                    return Err(bad_dtype(name, x.dtype));
                }
                x.clone()
            }
        };
        Ok(vec![out])
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let name = self.name();
        let x = req(name, inputs, 0)?;
        let out = match self {
            ElementwiseOp::Unary(u) => unary::run(u, x)?,
            ElementwiseOp::Binary(b) => binary::run(b, x, req(name, inputs, 1)?)?,
            ElementwiseOp::Variadic(v) => {
                let ts = (0..inputs.len())
                    .map(|i| req(name, inputs, i))
                    .collect::<Result<Vec<_>>>()?;
                misc::variadic(v, &ts)?
            }
            ElementwiseOp::Where => misc::where_op(x, req(name, inputs, 1)?, req(name, inputs, 2)?)?,
            ElementwiseOp::Cast { to } => x.cast(*to)?,
            ElementwiseOp::CastLike => x.cast(req(name, inputs, 1)?.dtype())?,
            ElementwiseOp::Clip { min, max } => misc::clip(x, opt(inputs, 1), opt(inputs, 2), *min, *max)?,
        };
        Ok(crate::buffers::one(out))
    }
}
