//! Variadic Sum/Mean/Max/Min, Where and Clip.

use super::binary::{arith, Arith};
use super::engine::{ternary, ternary_ref, unary};
use super::{bad_dtype, VariadicOp};
use crate::dispatch_dtype;
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::tensor::{HostElem, Tensor};

/// Fold `inputs` (one or more, same dtype, broadcast together) with `op`.
pub(super) fn variadic(op: &VariadicOp, inputs: &[&Tensor]) -> Result<Tensor> {
    let name = op.name();
    let (first, rest) = inputs
        .split_first()
        .ok_or_else(|| KernelError::invalid(name, "needs at least one input"))?;
    let dt = first.dtype();
    if !op.accepts(dt) {
        return Err(bad_dtype(name, dt));
    }
    if let Some(t) = rest.iter().find(|t| t.dtype() != dt) {
        return Err(KernelError::invalid(name, format!("inputs have different dtypes {dt} and {}", t.dtype())));
    }
    if matches!(dt, DType::F16 | DType::BF16) {
        // Accumulate in f32 and round once.
        let wide = inputs.iter().map(|t| t.cast(DType::F32)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Tensor> = wide.iter().collect();
        return variadic(op, &refs)?.cast(dt);
    }
    let step = match op {
        VariadicOp::Sum | VariadicOp::Mean => Arith::Add,
        VariadicOp::Max => Arith::Max,
        VariadicOp::Min => Arith::Min,
    };
    let mut acc = (*first).clone();
    for t in rest {
        acc = arith(name, step, &acc, t)?;
    }
    if *op == VariadicOp::Mean && !rest.is_empty() {
        let n = inputs.len() as f64;
        acc = match dt {
            DType::F32 => unary(&acc, move |v: f32| v / n as f32)?,
            DType::F64 => unary(&acc, move |v: f64| v / n)?,
            _ => return Err(bad_dtype(name, dt)),
        };
    }
    Ok(acc)
}

/// `cond ? x : y` with broadcasting over all three inputs.
pub(super) fn where_op(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if cond.dtype() != DType::Bool {
        return Err(KernelError::invalid("Where", format!("condition must be bool, found {}", cond.dtype())));
    }
    if x.dtype() != y.dtype() {
        return Err(KernelError::invalid("Where", format!("X and Y have different dtypes {} and {}", x.dtype(), y.dtype())));
    }
    dispatch_dtype!(x.dtype(), where_t(cond, x, y), str => where_str(cond, x, y))
}

fn where_t<T: HostElem>(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    ternary("Where", cond, x, y, |c: bool, a: T, b: T| if c { a } else { b })
}

fn where_str(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (shape, v) = ternary_ref(
        "Where",
        (cond.as_slice::<bool>()?, cond.shape()),
        (x.as_strings()?, x.shape()),
        (y.as_strings()?, y.shape()),
        |c, a, b| if *c { a.clone() } else { b.clone() },
    )?;
    Tensor::from_strings(shape, v)
}

/// Clamp `x` to `[min, max]` from the optional bound inputs (opset >= 11) or the
/// attribute bounds (opset < 11). A missing bound does not clamp.
pub(super) fn clip(
    x: &Tensor,
    min_in: Option<&Tensor>,
    max_in: Option<&Tensor>,
    min_attr: Option<f32>,
    max_attr: Option<f32>,
) -> Result<Tensor> {
    let dt = x.dtype();
    if !dt.is_numeric() {
        return Err(bad_dtype("Clip", dt));
    }
    let lo = bound(dt, min_in, min_attr)?;
    let hi = bound(dt, max_in, max_attr)?;
    dispatch_dtype!(dt, clip_t(x, lo.as_ref(), hi.as_ref()), str => Err(bad_dtype("Clip", dt)))
}

/// A one-element bound tensor of dtype `dt`, from an input or an attribute.
fn bound(dt: DType, input: Option<&Tensor>, attr: Option<f32>) -> Result<Option<Tensor>> {
    let t = match (input, attr) {
        (Some(t), _) => {
            if t.len() != 1 {
                return Err(KernelError::invalid("Clip", format!("bounds must be scalars, found shape {:?}", t.shape())));
            }
            t.cast(dt)?
        }
        (None, Some(v)) => Tensor::scalar(v).cast(dt)?,
        (None, None) => return Ok(None),
    };
    Ok(Some(t))
}

fn clip_t<T: HostElem>(x: &Tensor, lo: Option<&Tensor>, hi: Option<&Tensor>) -> Result<Tensor> {
    let first = |t: &Tensor| -> Result<T> {
        t.as_slice::<T>()?
            .first()
            .copied()
            .ok_or_else(|| KernelError::invalid("Clip", "empty bound"))
    };
    // Comparisons (not min/max) so NaN passes through; with lo > hi every value becomes hi.
    match (lo.map(first).transpose()?, hi.map(first).transpose()?) {
        (Some(l), Some(h)) => unary(x, move |v: T| {
            let v = if v < l { l } else { v };
            if v > h {
                h
            } else {
                v
            }
        }),
        (Some(l), None) => unary(x, move |v: T| if v < l { l } else { v }),
        (None, Some(h)) => unary(x, move |v: T| if v > h { h } else { v }),
        (None, None) => Ok(x.clone()),
    }
}
