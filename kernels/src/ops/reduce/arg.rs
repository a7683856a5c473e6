//! ArgMax / ArgMin: the int64 index of the extreme element along one axis.

use super::{for_rows, is_nan, reduced_dims, split_at_axis, ArgKind};
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{norm_axis, TensorType};
use crate::tensor::{HostElem, Tensor};
use crate::util::{req, req_ty};
use crate::DType;

/// Static inference: int64 output with the axis removed (or kept as 1).
pub(super) fn infer(op: &str, axis: i64, keepdims: bool, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty(op, inputs, 0)?;
    let Some(shape) = &x.shape else {
        return Ok(vec![TensorType::unknown(DType::I64)]);
    };
    let a = norm_axis(op, axis, shape.len())?;
    Ok(vec![TensorType { dtype: DType::I64, shape: Some(reduced_dims(shape, a, keepdims)) }])
}

/// Run ArgMax / ArgMin.
pub(super) fn run(
    op: &str,
    kind: ArgKind,
    axis: i64,
    keepdims: bool,
    last: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>> {
    fn go<T: HostElem>(x: &Tensor, kind: ArgKind, last: bool, dims: (usize, usize, usize)) -> Result<Vec<i64>> {
        let xs = x.as_slice::<T>()?;
        // `better(candidate, best)`: strictly better, or equally good when the last index wins.
        Ok(match (kind, last) {
            (ArgKind::Max, false) => arg_impl(xs, dims, |c, b| !is_nan(b) && (is_nan(c) || c > b)),
            (ArgKind::Max, true) => arg_impl(xs, dims, |c, b| is_nan(c) || (!is_nan(b) && c >= b)),
            (ArgKind::Min, false) => arg_impl(xs, dims, |c, b| !is_nan(b) && (is_nan(c) || c < b)),
            (ArgKind::Min, true) => arg_impl(xs, dims, |c, b| is_nan(c) || (!is_nan(b) && c <= b)),
        })
    }
    let x = req(op, inputs, 0)?;
    if x.rank() == 0 {
        return Err(KernelError::invalid(op, "input must have rank >= 1"));
    }
    let a = norm_axis(op, axis, x.rank())?;
    let dims = split_at_axis(x.shape(), a);
    if dims.1 == 0 && dims.0 * dims.2 > 0 {
        return Err(KernelError::invalid(op, "cannot take the arg-extreme of an empty axis"));
    }
    let idx = crate::dispatch_dtype!(x.dtype(), go(x, kind, last, dims),
        str => Err(KernelError::unsupported(op, "string input")))?;
    let mut shape = x.shape().to_vec();
    if keepdims {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Ok(vec![Tensor::from_vec(shape, idx)?])
}

/// Index of the best element of each `[outer, n, inner]` lane under `better`.
fn arg_impl<T: HostElem>(
    xs: &[T],
    (outer, n, inner): (usize, usize, usize),
    better: impl Fn(T, T) -> bool + Sync,
) -> Vec<i64> {
    let mut out = vec![0i64; outer * inner];
    for_rows(&mut out, inner, xs.len(), |o, row| {
        let base = o * n * inner;
        let mut best: Vec<T> = xs[base..base + inner].to_vec();
        for j in 1..n {
            let start = base + j * inner;
            for ((b, y), &c) in best.iter_mut().zip(row.iter_mut()).zip(&xs[start..start + inner]) {
                if better(c, *b) {
                    *b = c;
                    *y = j as i64;
                }
            }
        }
    });
    out
}
