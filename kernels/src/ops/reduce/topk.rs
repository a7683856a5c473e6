//! TopK: the `k` largest (or smallest) elements along an axis, sorted, with their int64
//! indices. Ties keep the lower index first.

use super::{scalar_input, split_at_axis, total_cmp};
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{norm_axis, Dim, TensorType};
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::{req, req_ty};
use crate::DType;
use rayon::prelude::*;
use std::cmp::Ordering;

/// `k` from the attribute or from input 1's constant value, when known.
fn known_k(k_attr: Option<i64>, inputs: &[InferInput]) -> Result<Option<i64>> {
    if k_attr.is_some() {
        return Ok(k_attr);
    }
    match inputs.get(1).and_then(|i| i.value) {
        Some(t) => Ok(Some(scalar_input("TopK", t, "K")?)),
        None => Ok(None),
    }
}

/// Static inference: values like the input, indices int64, with dim `axis` set to `k`.
pub(super) fn infer(op: &str, k_attr: Option<i64>, axis: i64, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty(op, inputs, 0)?;
    let Some(shape) = &x.shape else {
        return Ok(vec![TensorType::unknown(x.dtype), TensorType::unknown(DType::I64)]);
    };
    let a = norm_axis(op, axis, shape.len())?;
    let mut dims = shape.clone();
    dims[a] = match known_k(k_attr, inputs)? {
        Some(k) if k >= 0 => Dim::Known(k as usize),
        Some(k) => return Err(KernelError::invalid(op, format!("k must be >= 0, found {k}"))),
        None => Dim::Unknown,
    };
    Ok(vec![
        TensorType { dtype: x.dtype, shape: Some(dims.clone()) },
        TensorType { dtype: DType::I64, shape: Some(dims) },
    ])
}

/// Run TopK.
pub(super) fn run(op: &str, k_attr: Option<i64>, axis: i64, largest: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    fn go<T: HostElem>(x: &Tensor, k: usize, largest: bool, dims: (usize, usize, usize)) -> Result<(TensorData, Vec<i64>)> {
        let (v, i) = topk_impl(x.as_slice::<T>()?, k, largest, dims);
        Ok((T::wrap(v), i))
    }
    let x = req(op, inputs, 0)?;
    let k = match k_attr {
        Some(k) => k,
        None => scalar_input(op, req(op, inputs, 1)?, "K")?,
    };
    if x.rank() == 0 {
        return Err(KernelError::invalid(op, "input must have rank >= 1"));
    }
    let a = norm_axis(op, axis, x.rank())?;
    let n = x.shape()[a];
    if k < 0 || k as usize > n {
        return Err(KernelError::invalid(op, format!("k = {k} is out of range for axis of size {n}")));
    }
    let k = k as usize;
    let dims = split_at_axis(x.shape(), a);
    let (vals, idx) = crate::dispatch_dtype!(x.dtype(), go(x, k, largest, dims),
        str => Err(KernelError::unsupported(op, "string input")))?;
    let mut shape = x.shape().to_vec();
    shape[a] = k;
    Ok(vec![Tensor::new(shape.clone(), vals)?, Tensor::from_vec(shape, idx)?])
}

/// Select and sort the top `k` of every `[outer, n, inner]` lane.
fn topk_impl<T: HostElem>(xs: &[T], k: usize, largest: bool, (outer, n, inner): (usize, usize, usize)) -> (Vec<T>, Vec<i64>) {
    let lanes = outer * inner;
    // Per lane: the selected (index) list, computed in parallel for big inputs.
    let select = |lane: usize| -> Vec<usize> {
        let (o, i) = (lane / inner.max(1), lane % inner.max(1));
        let at = |j: usize| xs[(o * n + j) * inner + i];
        let cmp = |&a: &usize, &b: &usize| -> Ordering {
            let ord = total_cmp(at(a), at(b));
            let ord = if largest { ord.reverse() } else { ord };
            ord.then(a.cmp(&b))
        };
        let mut idx: Vec<usize> = (0..n).collect();
        if k > 0 && k < n {
            idx.select_nth_unstable_by(k - 1, cmp);
            idx.truncate(k);
        }
        idx.truncate(k);
        idx.sort_unstable_by(cmp);
        idx
    };
    let chosen: Vec<Vec<usize>> = if xs.len() >= 1 << 15 {
        (0..lanes).into_par_iter().map(select).collect()
    } else {
        (0..lanes).map(select).collect()
    };
    let mut vals = vec![T::zero(); outer * k * inner];
    let mut idx = vec![0i64; outer * k * inner];
    for (lane, sel) in chosen.iter().enumerate() {
        let (o, i) = (lane / inner.max(1), lane % inner.max(1));
        for (r, &j) in sel.iter().enumerate() {
            let dst = (o * k + r) * inner + i;
            vals[dst] = xs[(o * n + j) * inner + i];
            idx[dst] = j as i64;
        }
    }
    (vals, idx)
}
