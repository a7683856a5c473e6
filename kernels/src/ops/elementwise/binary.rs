//! Binary kernels with numpy broadcasting: arithmetic, Pow, Mod, comparisons, logic, bitwise.

use super::engine::{binary, binary_ref};
use super::num::{dispatch_int, Int, Real};
use super::{bad_dtype, BinaryOp};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::tensor::{HostElem, Tensor};

/// The arithmetic kernels shared by binary and variadic ops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Mod { fmod: bool },
    PRelu,
    Max,
    Min,
}

/// Run binary op `op` on `a` and `b`.
pub(super) fn run(op: &BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    op.out_dtype(a.dtype(), b.dtype())?;
    let arith_op = match *op {
        BinaryOp::Add => Arith::Add,
        BinaryOp::Sub => Arith::Sub,
        BinaryOp::Mul => Arith::Mul,
        BinaryOp::Div => Arith::Div,
        BinaryOp::Mod { fmod } => Arith::Mod { fmod },
        BinaryOp::PRelu => Arith::PRelu,
        BinaryOp::Pow => return pow(a, b),
        BinaryOp::Equal | BinaryOp::Less | BinaryOp::LessOrEqual | BinaryOp::Greater | BinaryOp::GreaterOrEqual => {
            return compare(op, a, b)
        }
        BinaryOp::And => return binary(name, a, b, |x: bool, y: bool| x & y),
        BinaryOp::Or => return binary(name, a, b, |x: bool, y: bool| x | y),
        BinaryOp::Xor => return binary(name, a, b, |x: bool, y: bool| x ^ y),
        BinaryOp::BitwiseAnd | BinaryOp::BitwiseOr | BinaryOp::BitwiseXor | BinaryOp::BitShift { .. } => {
            return dispatch_int!(a.dtype(), bitwise(op, a, b), other => Err(bad_dtype(name, a.dtype())))
        }
    };
    arith(name, arith_op, a, b)
}

/// Arithmetic on two tensors of the same numeric dtype.
pub(super) fn arith(name: &str, op: Arith, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype() != b.dtype() {
        return Err(KernelError::invalid(name, format!("inputs have different dtypes {} and {}", a.dtype(), b.dtype())));
    }
    match a.dtype() {
        DType::F32 => float::<f32>(name, op, a, b),
        DType::F64 => float::<f64>(name, op, a, b),
        DType::F16 | DType::BF16 => {
            float::<f32>(name, op, &a.cast(DType::F32)?, &b.cast(DType::F32)?)?.cast(a.dtype())
        }
        dt => dispatch_int!(dt, int(name, op, a, b), other => Err(bad_dtype(name, dt))),
    }
}

/// Float arithmetic kernels (f32/f64).
fn float<F: Real>(name: &str, op: Arith, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let zero = F::zero();
    match op {
        Arith::Add => binary(name, a, b, |x: F, y: F| x + y),
        Arith::Sub => binary(name, a, b, |x: F, y: F| x - y),
        Arith::Mul => binary(name, a, b, |x: F, y: F| x * y),
        Arith::Div => binary(name, a, b, |x: F, y: F| x / y),
        Arith::Pow => binary(name, a, b, |x: F, y: F| x.powf(y)),
        Arith::Mod { fmod: true } => binary(name, a, b, |x: F, y: F| x % y),
        Arith::Mod { fmod: false } => binary(name, a, b, move |x: F, y: F| {
            let r = x % y;
            if r != zero && ((r < zero) != (y < zero)) {
                r + y
            } else {
                r
            }
        }),
        Arith::PRelu => binary(name, a, b, move |x: F, s: F| if x < zero { s * x } else { x }),
        // NaN propagates, as in numpy's maximum/minimum.
        Arith::Max => binary(name, a, b, |x: F, y: F| if x.is_nan() || x >= y { x } else { y }),
        Arith::Min => binary(name, a, b, |x: F, y: F| if x.is_nan() || x <= y { x } else { y }),
    }
}

/// Integer arithmetic kernels (wrapping; division truncates toward zero).
fn int<T: Int>(name: &str, op: Arith, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    match op {
        Arith::Add => binary(name, a, b, |x: T, y: T| x.wadd(y)),
        Arith::Sub => binary(name, a, b, |x: T, y: T| x.wsub(y)),
        Arith::Mul => binary(name, a, b, |x: T, y: T| x.wmul(y)),
        Arith::Div => binary(name, a, b, |x: T, y: T| x.tdiv(y)),
        Arith::Pow => binary(name, a, b, |x: T, y: T| int_pow(x, y.to_i64())),
        Arith::Mod { fmod: true } => binary(name, a, b, |x: T, y: T| x.trem(y)),
        Arith::Mod { fmod: false } => binary(name, a, b, |x: T, y: T| {
            let r = x.trem(y);
            if r != T::zero() && ((r < T::zero()) != (y < T::zero())) {
                r.wadd(y)
            } else {
                r
            }
        }),
        Arith::PRelu => binary(name, a, b, |x: T, s: T| if x < T::zero() { s.wmul(x) } else { x }),
        Arith::Max => binary(name, a, b, |x: T, y: T| x.max(y)),
        Arith::Min => binary(name, a, b, |x: T, y: T| x.min(y)),
    }
}

/// Integer power; a negative exponent goes through f64 and truncates.
#[inline]
fn int_pow<T: Int>(x: T, e: i64) -> T {
    if e >= 0 {
        x.wpow(e as u64)
    } else {
        T::from_f64(x.to_f64().powf(e as f64).trunc())
    }
}

/// Pow with possibly different base and exponent dtypes; the output has the base's dtype.
fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = "Pow";
    let (ba, eb) = (a.dtype(), b.dtype());
    if ba == eb {
        return arith(name, Arith::Pow, a, b);
    }
    if ba.is_float() {
        // Compute in the base's compute type (f64 for f64, f32 otherwise).
        let ct = if ba == DType::F64 { DType::F64 } else { DType::F32 };
        return arith(name, Arith::Pow, &a.cast(ct)?, &b.cast(ct)?)?.cast(ba);
    }
    if eb.is_int() {
        let e = b.cast(DType::I64)?;
        return dispatch_int!(ba, int_pow_i64(a, &e), other => Err(bad_dtype(name, ba)));
    }
    // Integer base, float exponent: compute in f64, truncate back to the base type.
    arith(name, Arith::Pow, &a.cast(DType::F64)?, &b.cast(DType::F64)?)?.cast(ba)
}

fn int_pow_i64<T: Int>(a: &Tensor, e: &Tensor) -> Result<Tensor> {
    binary("Pow", a, e, |x: T, y: i64| int_pow(x, y))
}

/// Comparisons with a bool output (Equal also takes strings and bools).
fn compare(op: &BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    if a.dtype() != b.dtype() {
        return Err(KernelError::invalid(name, format!("inputs have different dtypes {} and {}", a.dtype(), b.dtype())));
    }
    if matches!(a.dtype(), DType::F16 | DType::BF16) {
        // Exact in f32, and faster than comparing half values directly.
        return compare(op, &a.cast(DType::F32)?, &b.cast(DType::F32)?);
    }
    dispatch_dtype!(a.dtype(), compare_t(op, a, b), str => compare_str(op, a, b))
}

fn compare_t<T: HostElem>(op: &BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    match op {
        BinaryOp::Equal => binary(name, a, b, |x: T, y: T| x == y),
        BinaryOp::Less => binary(name, a, b, |x: T, y: T| x < y),
        BinaryOp::LessOrEqual => binary(name, a, b, |x: T, y: T| x <= y),
        BinaryOp::Greater => binary(name, a, b, |x: T, y: T| x > y),
        BinaryOp::GreaterOrEqual => binary(name, a, b, |x: T, y: T| x >= y),
        _ => Err(KernelError::invalid(name, "not a comparison")),
    }
}

fn compare_str(op: &BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if *op != BinaryOp::Equal {
        return Err(bad_dtype(op.name(), DType::Str));
    }
    let (shape, v) = binary_ref(op.name(), a.as_strings()?, a.shape(), b.as_strings()?, b.shape(), |x, y| x == y)?;
    Tensor::from_vec(shape, v)
}

/// Bitwise and shift kernels for integers.
fn bitwise<T: Int>(op: &BinaryOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = op.name();
    match op {
        BinaryOp::BitwiseAnd => binary(name, a, b, |x: T, y: T| x & y),
        BinaryOp::BitwiseOr => binary(name, a, b, |x: T, y: T| x | y),
        BinaryOp::BitwiseXor => binary(name, a, b, |x: T, y: T| x ^ y),
        // Shift amounts: negative (signed) amounts wrap to huge values and give 0.
        BinaryOp::BitShift { left: true } => binary(name, a, b, |x: T, y: T| x.shl(y.to_i64() as u64)),
        BinaryOp::BitShift { left: false } => binary(name, a, b, |x: T, y: T| x.shr(y.to_i64() as u64)),
        _ => Err(KernelError::invalid(name, "not a bitwise op")),
    }
}
