//! Unary kernels: float maths and activations, integer Abs/Neg/Sign/Relu, logic and predicates.

use super::engine::unary;
use super::num::{dispatch_int, Int, Real};
use super::{bad_dtype, UnaryOp};
use crate::dispatch_float;
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::tensor::{HostElem, Tensor};

/// Run unary op `op` on `x`.
pub(super) fn run(op: &UnaryOp, x: &Tensor) -> Result<Tensor> {
    let name = op.name();
    op.out_dtype(x.dtype())?;
    match op {
        UnaryOp::Not => return unary(x, |v: bool| !v),
        UnaryOp::BitwiseNot => return dispatch_int!(x.dtype(), bit_not(x), other => Err(bad_dtype(name, x.dtype()))),
        UnaryOp::IsNaN => return dispatch_float!(x.dtype(), is_nan(x), other => Err(bad_dtype(name, x.dtype()))),
        UnaryOp::IsInf { detect_positive, detect_negative } => {
            let (p, n) = (*detect_positive, *detect_negative);
            return dispatch_float!(x.dtype(), is_inf(x, p, n), other => Err(bad_dtype(name, x.dtype())));
        }
        _ => {}
    }
    match x.dtype() {
        DType::F32 => float::<f32>(op, x),
        DType::F64 => float::<f64>(op, x),
        DType::F16 | DType::BF16 => float::<f32>(op, &x.cast(DType::F32)?)?.cast(x.dtype()),
        dt => dispatch_int!(dt, int(op, x), other => Err(bad_dtype(name, dt))),
    }
}

fn bit_not<T: Int>(x: &Tensor) -> Result<Tensor> {
    unary(x, |v: T| !v)
}

fn is_nan<T: HostElem>(x: &Tensor) -> Result<Tensor> {
    unary(x, |v: T| v.to_f64().is_nan())
}

fn is_inf<T: HostElem>(x: &Tensor, pos: bool, neg: bool) -> Result<Tensor> {
    unary(x, move |v: T| {
        let v = v.to_f64();
        (pos && v == f64::INFINITY) || (neg && v == f64::NEG_INFINITY)
    })
}

/// Numerically stable logistic function.
#[inline]
fn sigmoid<F: Real>(v: F) -> F {
    let one = F::one();
    if v >= F::zero() {
        one / (one + (-v).exp())
    } else {
        let e = v.exp();
        e / (one + e)
    }
}

/// Numerically stable ln(1 + e^x).
#[inline]
fn softplus<F: Real>(v: F) -> F {
    if v > F::zero() {
        v + (-v).exp().ln_1p()
    } else {
        v.exp().ln_1p()
    }
}

/// Float kernels (f32/f64); dispatches on the op once, then maps a tight closure.
fn float<F: Real>(op: &UnaryOp, x: &Tensor) -> Result<Tensor> {
    use UnaryOp::*;
    let c = |v: f32| F::c(v as f64);
    let (zero, one) = (F::zero(), F::one());
    match *op {
        Abs => unary(x, |v: F| v.abs()),
        Neg => unary(x, |v: F| -v),
        Reciprocal => unary(x, |v: F| one / v),
        Sqrt => unary(x, |v: F| v.sqrt()),
        Exp => unary(x, |v: F| v.exp()),
        Log => unary(x, |v: F| v.ln()),
        Sin => unary(x, |v: F| v.sin()),
        Cos => unary(x, |v: F| v.cos()),
        Tan => unary(x, |v: F| v.tan()),
        Asin => unary(x, |v: F| v.asin()),
        Acos => unary(x, |v: F| v.acos()),
        Atan => unary(x, |v: F| v.atan()),
        Sinh => unary(x, |v: F| v.sinh()),
        Cosh => unary(x, |v: F| v.cosh()),
        Asinh => unary(x, |v: F| v.asinh()),
        Acosh => unary(x, |v: F| v.acosh()),
        Atanh => unary(x, |v: F| v.atanh()),
        Ceil => unary(x, |v: F| v.ceil()),
        Floor => unary(x, |v: F| v.floor()),
        Round => unary(x, |v: F| v.round_even()),
        Sign => unary(x, move |v: F| if v > zero { one } else if v < zero { -one } else { v }),
        Erf => unary(x, |v: F| v.erf()),
        Relu => unary(x, move |v: F| if v < zero { zero } else { v }),
        Sigmoid => unary(x, sigmoid::<F>),
        Tanh => unary(x, |v: F| v.tanh()),
        Softsign => unary(x, move |v: F| v / (one + v.abs())),
        Softplus => unary(x, softplus::<F>),
        LeakyRelu { alpha } => {
            let a = c(alpha);
            unary(x, move |v: F| if v < zero { a * v } else { v })
        }
        Elu { alpha } => {
            let a = c(alpha);
            unary(x, move |v: F| if v < zero { a * (v.exp() - one) } else { v })
        }
        Selu { alpha, gamma } => {
            let (a, g) = (c(alpha), c(gamma));
            unary(x, move |v: F| if v > zero { g * v } else { g * (a * v.exp() - a) })
        }
        Celu { alpha } => {
            let a = c(alpha);
            unary(x, move |v: F| if v > zero { v } else { a * ((v / a).exp() - one) })
        }
        HardSigmoid { alpha, beta } => {
            let (a, b) = (c(alpha), c(beta));
            unary(x, move |v: F| clamp01(a * v + b))
        }
        HardSwish => {
            let (a, b) = (F::c(1.0 / 6.0), F::c(0.5));
            unary(x, move |v: F| v * clamp01(a * v + b))
        }
        ThresholdedRelu { alpha } => {
            let a = c(alpha);
            unary(x, move |v: F| if v > a { v } else { zero })
        }
        Shrink { lambd, bias } => {
            let (l, b) = (c(lambd), c(bias));
            unary(x, move |v: F| if v < -l { v + b } else if v > l { v - b } else { zero })
        }
        Gelu { tanh: false } => {
            let (h, r) = (F::c(0.5), F::c(std::f64::consts::FRAC_1_SQRT_2));
            unary(x, move |v: F| h * v * (one + (v * r).erf()))
        }
        Gelu { tanh: true } => {
            let (h, k, s) = (F::c(0.5), F::c(0.044715), F::c((2.0 / std::f64::consts::PI).sqrt()));
            unary(x, move |v: F| h * v * (one + (s * (v + k * v * v * v)).tanh()))
        }
        Mish => unary(x, |v: F| v * softplus(v).tanh()),
        Swish { alpha } => {
            let a = c(alpha);
            unary(x, move |v: F| v * sigmoid(a * v))
        }
        Not | BitwiseNot | IsNaN | IsInf { .. } => Err(KernelError::invalid(op.name(), "not a float kernel")),
    }
}

/// `max(0, min(1, v))`, keeping NaN.
#[inline]
fn clamp01<F: Real>(v: F) -> F {
    if v < F::zero() {
        F::zero()
    } else if v > F::one() {
        F::one()
    } else {
        v
    }
}

/// Integer kernels for the ops that accept integers.
fn int<T: Int>(op: &UnaryOp, x: &Tensor) -> Result<Tensor> {
    match *op {
        UnaryOp::Abs => unary(x, |v: T| v.wabs()),
        UnaryOp::Neg => unary(x, |v: T| v.wneg()),
        UnaryOp::Sign => unary(x, |v: T| v.sign()),
        UnaryOp::Relu => unary(x, |v: T| if v < T::zero() { T::zero() } else { v }),
        UnaryOp::Shrink { lambd, bias } => {
            let (l, b) = (lambd as f64, bias as f64);
            unary(x, move |v: T| {
                let v = v.to_f64();
                T::from_f64(if v < -l { v + b } else if v > l { v - b } else { 0.0 })
            })
        }
        _ => Err(bad_dtype(op.name(), T::DTYPE)),
    }
}
