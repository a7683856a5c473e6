//! Data-dependent selection: NonZero, Compress, Unique.

use super::common::{any_dtype, axis, dims, elems, make, prod, ty, AnyElem};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{Dim, TensorType};
use crate::tensor::{HostElem, Tensor};
use crate::util::{req, req_ty};
use std::cmp::Ordering;

/// NonZero kernel: `[rank, count]` i64 coordinates of the non-zero elements in row-major order.
pub(super) fn run_non_zero(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("NonZero", inputs, 0)?;
    fn flags<T: HostElem>(x: &Tensor) -> Result<Vec<bool>> {
        Ok(x.as_slice::<T>()?.iter().map(|v| *v != T::zero()).collect())
    }
    let nz: Vec<bool> = crate::dispatch_dtype!(x.dtype(), flags(x),
        str => Ok(x.as_strings()?.iter().map(|s| !s.is_empty()).collect()))?;
    let count = nz.iter().filter(|&&b| b).count();
    let rank = x.rank();
    let st = x.strides();
    let mut out = vec![0i64; rank * count];
    for (k, flat) in nz.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).enumerate() {
        for d in 0..rank {
            out[d * count + k] = ((flat / st[d]) % x.shape()[d]) as i64;
        }
    }
    Tensor::from_vec(vec![rank, count], out)
}

/// NonZero inference.
pub(super) fn infer_non_zero(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("NonZero", inputs, 0)?;
    let r = x.rank().map(Dim::Known).unwrap_or(Dim::Unknown);
    Ok(vec![ty(DType::I64, vec![r, Dim::Unknown])])
}

/// The selected positions of a condition over a dim of size `n`.
fn selected(cond: &Tensor, n: usize) -> Result<Vec<usize>> {
    if cond.rank() != 1 {
        return Err(KernelError::invalid("Compress", format!("condition must be 1-D, found {:?}", cond.shape())));
    }
    let c = cond.to_f64_vec()?;
    let mut sel = Vec::new();
    for (i, v) in c.iter().enumerate() {
        if *v != 0.0 {
            if i >= n {
                return Err(KernelError::invalid("Compress", format!("condition selects index {i} of a dim of size {n}")));
            }
            sel.push(i);
        }
    }
    Ok(sel)
}

/// Copy slices `sel` along the middle dim of an `[outer, n, inner]` view.
fn take_slices<T: Clone>(v: &[T], outer: usize, n: usize, inner: usize, sel: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * sel.len() * inner);
    for o in 0..outer {
        for &j in sel {
            let s = (o * n + j) * inner;
            out.extend_from_slice(&v[s..s + inner]);
        }
    }
    out
}

/// Compress kernel.
pub(super) fn run_compress(ax: Option<i64>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Compress";
    let x = req(OP, inputs, 0)?;
    let cond = req(OP, inputs, 1)?;
    let (outer, n, inner, a) = match ax {
        None => (1, x.len(), 1, None),
        Some(a) => {
            let a = axis(OP, a, x.rank())?;
            let s = x.shape();
            (prod(&s[..a]), s[a], prod(&s[a + 1..]), Some(a))
        }
    };
    let sel = selected(cond, n)?;
    let shape = match a {
        None => vec![sel.len()],
        Some(a) => {
            let mut s = x.shape().to_vec();
            s[a] = sel.len();
            s
        }
    };
    fn go<T: AnyElem>(x: &Tensor, shape: Vec<usize>, outer: usize, n: usize, inner: usize, sel: &[usize]) -> Result<Tensor> {
        make(shape, take_slices(elems::<T>(OP, x)?, outer, n, inner, sel))
    }
    any_dtype!(x.dtype(), go(x, shape, outer, n, inner, &sel))
}

/// Compress inference.
pub(super) fn infer_compress(ax: Option<i64>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Compress", inputs, 0)?;
    Ok(vec![match (ax, dims(x)) {
        (None, _) => ty(x.dtype, vec![Dim::Unknown]),
        (Some(a), Some(d)) => {
            let a = axis("Compress", a, d.len())?;
            let mut d = d.to_vec();
            d[a] = Dim::Unknown;
            ty(x.dtype, d)
        }
        (Some(_), None) => TensorType::unknown(x.dtype),
    }])
}

/// Unique kernel: outputs Y, first-occurrence indices, inverse indices and counts.
pub(super) fn run_unique(ax: Option<i64>, sorted: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "Unique";
    let x = req(OP, inputs, 0)?;
    let a = ax.map(|a| axis(OP, a, x.rank())).transpose()?;
    fn go<T: AnyElem>(x: &Tensor, a: Option<usize>, sorted: bool) -> Result<Vec<Tensor>> {
        let v = elems::<T>(OP, x)?;
        let (outer, n, inner) = match a {
            None => (1, v.len(), 1),
            Some(a) => {
                let s = x.shape();
                (prod(&s[..a]), s[a], prod(&s[a + 1..]))
            }
        };
        let cmp = |p: usize, q: usize| -> Ordering {
            for o in 0..outer {
                for i in 0..inner {
                    let (l, r) = (&v[(o * n + p) * inner + i], &v[(o * n + q) * inner + i]);
                    match l.partial_cmp(r) {
                        Some(Ordering::Equal) | None => {}
                        Some(c) => return c,
                    }
                }
            }
            Ordering::Equal
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&p, &q| cmp(p, q));
        // Groups of equal slices; a stable sort puts each group's first occurrence first.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for &j in &order {
            match groups.last_mut() {
                Some((first, members)) if cmp(*first, j) == Ordering::Equal => members.push(j),
                _ => groups.push((j, vec![j])),
            }
        }
        if !sorted {
            groups.sort_by_key(|g| g.0);
        }
        let firsts: Vec<usize> = groups.iter().map(|g| g.0).collect();
        let mut inverse = vec![0i64; n];
        for (g, (_, members)) in groups.iter().enumerate() {
            for &m in members {
                inverse[m] = g as i64;
            }
        }
        let counts: Vec<i64> = groups.iter().map(|g| g.1.len() as i64).collect();
        let y_shape = match a {
            None => vec![firsts.len()],
            Some(a) => {
                let mut s = x.shape().to_vec();
                s[a] = firsts.len();
                s
            }
        };
        let y = make(y_shape, take_slices(v, outer, n, inner, &firsts))?;
        let g = firsts.len();
        Ok(vec![
            y,
            Tensor::from_vec(vec![g], firsts.iter().map(|&f| f as i64).collect())?,
            Tensor::from_vec(vec![n], inverse)?,
            Tensor::from_vec(vec![g], counts)?,
        ])
    }
    any_dtype!(x.dtype(), go(x, a, sorted))
}

/// Unique inference.
pub(super) fn infer_unique(ax: Option<i64>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Unique", inputs, 0)?;
    let y = match (ax, dims(x)) {
        (None, _) => ty(x.dtype, vec![Dim::Unknown]),
        (Some(a), Some(d)) => {
            let a = axis("Unique", a, d.len())?;
            let mut d = d.to_vec();
            d[a] = Dim::Unknown;
            ty(x.dtype, d)
        }
        (Some(_), None) => TensorType::unknown(x.dtype),
    };
    let v = ty(DType::I64, vec![Dim::Unknown]);
    Ok(vec![y, v.clone(), v.clone(), v])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_zero_coords() {
        let x = Tensor::from_vec(vec![2, 2], vec![1, 0, 1, 1i32]).unwrap();
        let y = run_non_zero(&[Some(&x)]).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, 1, 0, 0, 1]);
    }

    #[test]
    fn compress_axis() {
        let x = Tensor::from_vec(vec![3, 2], vec![1, 2, 3, 4, 5, 6i32]).unwrap();
        let c = Tensor::from_vec(vec![2], vec![false, true]).unwrap();
        let y = run_compress(Some(0), &[Some(&x), Some(&c)]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[3, 4]);
        let c = Tensor::from_vec(vec![4], vec![false, false, false, true]).unwrap();
        assert!(run_compress(Some(0), &[Some(&x), Some(&c)]).is_err());
    }

    #[test]
    fn unique_unsorted() {
        let x = Tensor::from_vec(vec![6], vec![2.0f32, 1.0, 1.0, 3.0, 4.0, 3.0]).unwrap();
        let o = run_unique(None, false, &[Some(&x)]).unwrap();
        assert_eq!(o[0].as_slice::<f32>().unwrap(), &[2.0, 1.0, 3.0, 4.0]);
        assert_eq!(o[1].as_slice::<i64>().unwrap(), &[0, 1, 3, 4]);
        assert_eq!(o[2].as_slice::<i64>().unwrap(), &[0, 1, 1, 2, 3, 2]);
        assert_eq!(o[3].as_slice::<i64>().unwrap(), &[1, 2, 2, 1]);
        let o = run_unique(None, true, &[Some(&x)]).unwrap();
        assert_eq!(o[0].as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(o[1].as_slice::<i64>().unwrap(), &[1, 0, 3, 4]);
    }
}
