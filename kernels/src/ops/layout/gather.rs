//! Index-driven reads: Gather, GatherElements, GatherND.

use super::common::{any_dtype, axis, dims, elems, index, make, prod, read_indices, ty, AnyElem};
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{for_each_offset, strides, Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{req, req_ty};

/// Gather kernel.
pub(super) fn run_gather(ax: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Gather";
    let x = req(OP, inputs, 0)?;
    let it = req(OP, inputs, 1)?;
    let a = axis(OP, ax, x.rank())?;
    let s = x.shape();
    let n = s[a];
    let raw = read_indices(OP, it)?;
    let mut idx = crate::buffers::with_capacity::<u64>(raw.len());
    for &i in &raw {
        idx.push(index(OP, i, n)? as u64);
    }
    crate::buffers::give(raw);
    let mut shape = crate::buffers::dims(&s[..a]);
    shape.extend_from_slice(it.shape());
    shape.extend_from_slice(&s[a + 1..]);
    let (outer, inner) = (prod(&s[..a]), prod(&s[a + 1..]));
    fn go<T: AnyElem>(
        x: &Tensor,
        idx: &[u64],
        shape: Vec<usize>,
        outer: usize,
        n: usize,
        inner: usize,
    ) -> Result<Tensor> {
        let v = elems::<T>(OP, x)?;
        let mut out = T::with_capacity(outer * idx.len() * inner);
        for o in 0..outer {
            let base = o * n;
            if inner == 1 {
                out.extend(idx.iter().map(|&i| v[base + i as usize].clone()));
            } else {
                for &i in idx {
                    let s = (base + i as usize) * inner;
                    out.extend_from_slice(&v[s..s + inner]);
                }
            }
        }
        make(shape, out)
    }
    let out = any_dtype!(x.dtype(), go(x, &idx, shape, outer, n, inner));
    crate::buffers::give(idx);
    out
}

/// Gather inference.
pub(super) fn infer_gather(ax: i64, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Gather", inputs, 0)?;
    let it = req_ty("Gather", inputs, 1)?;
    let (Some(d), Some(id)) = (dims(x), dims(it)) else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    let a = axis("Gather", ax, d.len())?;
    let mut out = d[..a].to_vec();
    out.extend_from_slice(id);
    out.extend_from_slice(&d[a + 1..]);
    Ok(vec![ty(x.dtype, out)])
}

/// GatherElements kernel.
pub(super) fn run_gather_elements(ax: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "GatherElements";
    let x = req(OP, inputs, 0)?;
    let it = req(OP, inputs, 1)?;
    let a = axis(OP, ax, x.rank())?;
    if it.rank() != x.rank() {
        return Err(KernelError::invalid(
            OP,
            format!("indices rank {} differs from data rank {}", it.rank(), x.rank()),
        ));
    }
    for d in 0..x.rank() {
        if d != a && it.shape()[d] > x.shape()[d] {
            return Err(KernelError::invalid(
                OP,
                format!("indices shape {:?} exceeds data shape {:?}", it.shape(), x.shape()),
            ));
        }
    }
    let n = x.shape()[a];
    let idx: Vec<usize> = read_indices(OP, it)?
        .into_iter()
        .map(|i| index(OP, i, n))
        .collect::<Result<_>>()?;
    let mut xs = x.strides();
    let sa = xs[a];
    xs[a] = 0;
    let ids = strides(it.shape());
    fn go<T: AnyElem>(
        x: &Tensor,
        shape: &[usize],
        xs: &[usize],
        ids: &[usize],
        idx: &[usize],
        sa: usize,
    ) -> Result<Tensor> {
        let v = elems::<T>(OP, x)?;
        let mut out = Vec::with_capacity(idx.len());
        for_each_offset(shape, [xs, ids], |[o, k]| out.push(v[o + idx[k] * sa].clone()));
        make(shape.to_vec(), out)
    }
    any_dtype!(x.dtype(), go(x, it.shape(), &xs, &ids, &idx, sa))
}

/// GatherElements inference: the output has the indices' shape.
pub(super) fn infer_gather_elements(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("GatherElements", inputs, 0)?;
    let it = req_ty("GatherElements", inputs, 1)?;
    Ok(vec![TensorType {
        dtype: x.dtype,
        shape: it.shape.clone(),
    }])
}

/// Validated GatherND/ScatterND addressing: for each index tuple, the flat offset of its slice.
pub(super) struct NdIndex {
    /// Offset into the data of each addressed slice, in index order.
    pub offsets: Vec<usize>,
    /// Elements per addressed slice.
    pub chunk: usize,
    /// Tuple length.
    pub k: usize,
}

/// Resolve the index tuples of `it` (shape `[..., k]`) against `data_shape` after `b` batch dims.
pub(super) fn nd_index(op: &str, data_shape: &[usize], it: &Tensor, b: usize) -> Result<NdIndex> {
    let q = it.rank();
    let r = data_shape.len();
    if q < 1 || b >= q || (b > 0 && b >= r) {
        return Err(KernelError::invalid(
            op,
            format!("batch_dims {b} is invalid for data rank {r} and indices rank {q}"),
        ));
    }
    let k = it.shape()[q - 1];
    if b + k > r {
        return Err(KernelError::invalid(
            op,
            format!("index tuples of length {k} are too long for data rank {r} with {b} batch dims"),
        ));
    }
    if it.shape()[..b] != data_shape[..b] {
        return Err(KernelError::invalid(op, "batch dims of data and indices differ"));
    }
    let raw = read_indices(op, it)?;
    let ds = strides(data_shape);
    let batches = prod(&data_shape[..b]);
    let batch_stride = prod(&data_shape[b..]);
    let tuples = raw.len().checked_div(k).unwrap_or_else(|| prod(&it.shape()[..q - 1]));
    let per_batch = tuples.checked_div(batches).unwrap_or(0);
    let mut offsets = Vec::with_capacity(tuples);
    for t in 0..tuples {
        let batch = t.checked_div(per_batch).unwrap_or(0);
        let mut off = batch * batch_stride;
        for j in 0..k {
            off += index(op, raw[t * k + j], data_shape[b + j])? * ds[b + j];
        }
        offsets.push(off);
    }
    Ok(NdIndex {
        offsets,
        chunk: prod(&data_shape[b + k..]),
        k,
    })
}

/// GatherND kernel.
pub(super) fn run_gather_nd(b: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "GatherND";
    let x = req(OP, inputs, 0)?;
    let it = req(OP, inputs, 1)?;
    let nd = nd_index(OP, x.shape(), it, b)?;
    let mut shape = it.shape()[..it.rank() - 1].to_vec();
    shape.extend_from_slice(&x.shape()[b + nd.k..]);
    fn go<T: AnyElem>(x: &Tensor, nd: &NdIndex, shape: Vec<usize>) -> Result<Tensor> {
        let v = elems::<T>(OP, x)?;
        let mut out = Vec::with_capacity(nd.offsets.len() * nd.chunk);
        for &o in &nd.offsets {
            out.extend_from_slice(&v[o..o + nd.chunk]);
        }
        make(shape, out)
    }
    any_dtype!(x.dtype(), go(x, &nd, shape))
}

/// GatherND inference.
pub(super) fn infer_gather_nd(b: usize, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("GatherND", inputs, 0)?;
    let it = req_ty("GatherND", inputs, 1)?;
    let (Some(d), Some(id)) = (dims(x), dims(it)) else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    let Some((Dim::Known(k), lead)) = id.split_last() else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    if b + k > d.len() {
        return Err(KernelError::invalid(
            "GatherND",
            "index tuples are too long for the data rank",
        ));
    }
    let mut out = lead.to_vec();
    out.extend_from_slice(&d[b + k..]);
    Ok(vec![ty(x.dtype, out)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Vec<usize>, v: Vec<i64>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn gather_axis1_negative() {
        let x = t(vec![2, 3], vec![1, 2, 3, 4, 5, 6]);
        let y = run_gather(1, &[Some(&x), Some(&t(vec![2], vec![-1, 0]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[3, 1, 6, 4]);
        assert!(run_gather(1, &[Some(&x), Some(&t(vec![1], vec![3]))]).is_err());
    }

    #[test]
    fn gather_elements_and_nd() {
        let x = t(vec![2, 2], vec![1, 2, 3, 4]);
        let y = run_gather_elements(1, &[Some(&x), Some(&t(vec![2, 2], vec![0, 0, 1, 0]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 1, 4, 3]);
        let y = run_gather_nd(0, &[Some(&x), Some(&t(vec![2, 2], vec![0, 0, 1, 1]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 4]);
        let y = run_gather_nd(1, &[Some(&x), Some(&t(vec![2, 1], vec![1, 0]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[2, 3]);
        assert!(run_gather_nd(0, &[Some(&x), Some(&t(vec![1, 2], vec![2, 0]))]).is_err());
    }
}
