//! Index-driven writes: ScatterElements (and ONNX Scatter), ScatterND, TensorScatter.

use super::common::{any_dtype, axis, elems, index, make, prod, read_indices, same_dtypes, AnyElem};
use super::gather::nd_index;
use super::ScatterReduction;
use crate::dtype::Elem;
use crate::error::{KernelError, Result};
use crate::shape::{for_each_offset, strides};
use crate::tensor::{HostElem, Tensor};
use crate::util::{opt, req};

/// Combine an existing value with an update under a reduction (numeric types).
#[inline]
fn combine<T: Elem>(r: ScatterReduction, a: T, b: T) -> T {
    match r {
        ScatterReduction::None => b,
        ScatterReduction::Add if T::DTYPE.is_float() => T::from_f64(a.to_f64() + b.to_f64()),
        ScatterReduction::Add => T::from_i64(a.to_i64().wrapping_add(b.to_i64())),
        ScatterReduction::Mul if T::DTYPE.is_float() => T::from_f64(a.to_f64() * b.to_f64()),
        ScatterReduction::Mul => T::from_i64(a.to_i64().wrapping_mul(b.to_i64())),
        ScatterReduction::Max => {
            if b > a {
                b
            } else {
                a
            }
        }
        ScatterReduction::Min => {
            if b < a {
                b
            } else {
                a
            }
        }
    }
}

fn scatter_elements_core<T: AnyElem>(
    data: &Tensor,
    idx: &[usize],
    ishape: &[usize],
    updates: &Tensor,
    a: usize,
    f: impl Fn(&mut T, &T),
) -> Result<Tensor> {
    const OP: &str = "ScatterElements";
    let mut out = elems::<T>(OP, data)?.to_vec();
    let u = elems::<T>(OP, updates)?;
    let mut ds = data.strides();
    let sa = ds[a];
    ds[a] = 0;
    let us = strides(ishape);
    for_each_offset(ishape, [&ds, &us], |[o, k]| f(&mut out[o + idx[k] * sa], &u[k]));
    make(data.shape().to_vec(), out)
}

/// ScatterElements kernel.
pub(super) fn run_scatter_elements(ax: i64, red: ScatterReduction, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "ScatterElements";
    let data = req(OP, inputs, 0)?;
    let it = req(OP, inputs, 1)?;
    let updates = req(OP, inputs, 2)?;
    same_dtypes(OP, &[data, updates])?;
    let a = axis(OP, ax, data.rank())?;
    if it.rank() != data.rank() || it.shape() != updates.shape() {
        return Err(KernelError::invalid(OP, format!("indices {:?} and updates {:?} must match and have the data's rank", it.shape(), updates.shape())));
    }
    for d in 0..data.rank() {
        if d != a && it.shape()[d] > data.shape()[d] {
            return Err(KernelError::invalid(OP, format!("indices shape {:?} exceeds data shape {:?}", it.shape(), data.shape())));
        }
    }
    let n = data.shape()[a];
    let idx: Vec<usize> = read_indices(OP, it)?.into_iter().map(|i| index(OP, i, n)).collect::<Result<_>>()?;
    let ishape = it.shape();
    fn plain<T: AnyElem>(d: &Tensor, i: &[usize], s: &[usize], u: &Tensor, a: usize) -> Result<Tensor> {
        scatter_elements_core::<T>(d, i, s, u, a, |x, y| *x = y.clone())
    }
    fn reduce<T: HostElem>(d: &Tensor, i: &[usize], s: &[usize], u: &Tensor, a: usize, r: ScatterReduction) -> Result<Tensor> {
        scatter_elements_core::<T>(d, i, s, u, a, |x, y| *x = combine(r, *x, *y))
    }
    if red == ScatterReduction::None {
        any_dtype!(data.dtype(), plain(data, &idx, ishape, updates, a))
    } else {
        crate::dispatch_dtype!(data.dtype(), reduce(data, &idx, ishape, updates, a, red),
            str => Err(KernelError::unsupported(OP, "reductions on strings")))
    }
}

fn scatter_nd_core<T: AnyElem>(data: &Tensor, offsets: &[usize], chunk: usize, updates: &Tensor, f: impl Fn(&mut T, &T)) -> Result<Tensor> {
    const OP: &str = "ScatterND";
    let mut out = elems::<T>(OP, data)?.to_vec();
    let u = elems::<T>(OP, updates)?;
    for (t, &o) in offsets.iter().enumerate() {
        for (dst, src) in out[o..o + chunk].iter_mut().zip(&u[t * chunk..(t + 1) * chunk]) {
            f(dst, src);
        }
    }
    make(data.shape().to_vec(), out)
}

/// ScatterND kernel.
pub(super) fn run_scatter_nd(red: ScatterReduction, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "ScatterND";
    let data = req(OP, inputs, 0)?;
    let it = req(OP, inputs, 1)?;
    let updates = req(OP, inputs, 2)?;
    same_dtypes(OP, &[data, updates])?;
    let nd = nd_index(OP, data.shape(), it, 0)?;
    let mut expect = it.shape()[..it.rank() - 1].to_vec();
    expect.extend_from_slice(&data.shape()[nd.k..]);
    if updates.shape() != expect.as_slice() {
        return Err(KernelError::invalid(OP, format!("updates shape {:?} should be {:?}", updates.shape(), expect)));
    }
    fn plain<T: AnyElem>(d: &Tensor, o: &[usize], c: usize, u: &Tensor) -> Result<Tensor> {
        scatter_nd_core::<T>(d, o, c, u, |x, y| *x = y.clone())
    }
    fn reduce<T: HostElem>(d: &Tensor, o: &[usize], c: usize, u: &Tensor, r: ScatterReduction) -> Result<Tensor> {
        scatter_nd_core::<T>(d, o, c, u, |x, y| *x = combine(r, *x, *y))
    }
    if red == ScatterReduction::None {
        any_dtype!(data.dtype(), plain(data, &nd.offsets, nd.chunk, updates))
    } else {
        crate::dispatch_dtype!(data.dtype(), reduce(data, &nd.offsets, nd.chunk, updates, red),
            str => Err(KernelError::unsupported(OP, "reductions on strings")))
    }
}

/// TensorScatter kernel.
pub(super) fn run_tensor_scatter(ax: i64, circular: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "TensorScatter";
    let past = req(OP, inputs, 0)?;
    let update = req(OP, inputs, 1)?;
    same_dtypes(OP, &[past, update])?;
    let r = past.rank();
    let a = axis(OP, ax, r)?;
    let (ps, us) = (past.shape(), update.shape());
    if us.len() != r || (0..r).any(|d| d != a && ps[d] != us[d]) || us[a] > ps[a] {
        return Err(KernelError::invalid(OP, format!("update shape {us:?} does not fit cache shape {ps:?} on axis {a}")));
    }
    let batch = ps.first().copied().unwrap_or(1);
    let writes: Vec<i64> = match opt(inputs, 2) {
        Some(w) => {
            let w = read_indices(OP, w)?;
            if a == 0 || w.len() != batch {
                return Err(KernelError::invalid(OP, format!("write_indices must have one entry per batch ({batch})")));
            }
            w
        }
        None => vec![0; batch],
    };
    let (max_len, seq) = (ps[a], us[a]);
    let outer = prod(&ps[..a]);
    let inner = prod(&ps[a + 1..]);
    let per_batch = if a == 0 { outer } else { outer / batch.max(1) };
    let mut plan = Vec::with_capacity(outer * seq);
    for o in 0..outer {
        let b = if a == 0 || per_batch == 0 { 0 } else { o / per_batch };
        for s in 0..seq {
            let pos = writes.get(b).copied().unwrap_or(0) + s as i64;
            let pos = if circular { pos.rem_euclid(max_len.max(1) as i64) } else { pos };
            if pos < 0 || pos as usize >= max_len {
                return Err(KernelError::invalid(OP, format!("write position {pos} is outside the cache length {max_len}")));
            }
            plan.push(((o * max_len + pos as usize) * inner, (o * seq + s) * inner));
        }
    }
    fn go<T: AnyElem>(past: &Tensor, update: &Tensor, plan: &[(usize, usize)], inner: usize) -> Result<Tensor> {
        let mut out = elems::<T>(OP, past)?.to_vec();
        let u = elems::<T>(OP, update)?;
        for &(d, s) in plan {
            out[d..d + inner].clone_from_slice(&u[s..s + inner]);
        }
        make(past.shape().to_vec(), out)
    }
    any_dtype!(past.dtype(), go(past, update, &plan, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Vec<usize>, v: Vec<i64>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn scatter_elements_reductions() {
        let d = t(vec![1, 3], vec![1, 2, 3]);
        let i = t(vec![1, 2], vec![1, 1]);
        let u = t(vec![1, 2], vec![10, 20]);
        let y = run_scatter_elements(1, ScatterReduction::Add, &[Some(&d), Some(&i), Some(&u)]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 32, 3]);
        let y = run_scatter_elements(1, ScatterReduction::None, &[Some(&d), Some(&i), Some(&u)]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 20, 3]);
        let bad = t(vec![1, 2], vec![1, 3]);
        assert!(run_scatter_elements(1, ScatterReduction::None, &[Some(&d), Some(&bad), Some(&u)]).is_err());
    }

    #[test]
    fn scatter_nd_and_tensor_scatter() {
        let d = t(vec![4], vec![1, 2, 3, 4]);
        let i = t(vec![2, 1], vec![3, 0]);
        let u = t(vec![2], vec![9, 8]);
        let y = run_scatter_nd(ScatterReduction::Mul, &[Some(&d), Some(&i), Some(&u)]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[8, 2, 3, 36]);
        let past = t(vec![2, 3], vec![0; 6]);
        let up = t(vec![2, 2], vec![1, 2, 3, 4]);
        let w = t(vec![2], vec![1, 2]);
        let y = run_tensor_scatter(-1, true, &[Some(&past), Some(&up), Some(&w)]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, 2, 4, 0, 3]);
        assert!(run_tensor_scatter(-1, false, &[Some(&past), Some(&up), Some(&w)]).is_err());
    }
}
