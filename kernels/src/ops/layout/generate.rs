//! Ops that generate data from shapes or scalars: ConstantOfShape, Range, OneHot, EyeLike, Trilu.

use super::common::{any_dtype, dims, elems, make, numel, to_dim, ty, AnyElem};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{Dim, TensorType};
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::{const_val, opt, req, req_ty};

/// Read a 1-D shape tensor as dims.
fn shape_input(op: &str, t: &Tensor) -> Result<Vec<usize>> {
    t.to_i64_vec()?.into_iter().map(|v| to_dim(op, v)).collect()
}

/// ConstantOfShape kernel.
pub(super) fn run_constant_of_shape(value: &Tensor, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "ConstantOfShape";
    let shape = shape_input(OP, req(OP, inputs, 0)?)?;
    let n = numel(OP, &shape)?;
    fn go<T: AnyElem>(value: &Tensor, shape: Vec<usize>, n: usize) -> Result<Tensor> {
        let v = elems::<T>(OP, value)?.first().cloned().ok_or_else(|| KernelError::invalid(OP, "empty value"))?;
        make(shape, vec![v; n])
    }
    any_dtype!(value.dtype(), go(value, shape, n))
}

/// ConstantOfShape inference.
pub(super) fn infer_constant_of_shape(value: &Tensor, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    const OP: &str = "ConstantOfShape";
    if let Some(s) = const_val(inputs, 0) {
        return Ok(vec![TensorType::known(value.dtype(), &shape_input(OP, s)?)]);
    }
    let rank = req_ty(OP, inputs, 0)?.concrete().and_then(|s| s.first().copied());
    Ok(vec![match rank {
        Some(r) => TensorType::with_rank(value.dtype(), r),
        None => TensorType::unknown(value.dtype()),
    }])
}

fn range_len_int(start: i64, limit: i64, delta: i64) -> Result<usize> {
    if delta == 0 {
        return Err(KernelError::invalid("Range", "delta is zero"));
    }
    let span = limit as i128 - start as i128;
    let d = delta as i128;
    let n = if (span > 0) == (d > 0) && span != 0 { (span + d - d.signum()) / d } else { 0 };
    usize::try_from(n).map_err(|_| KernelError::invalid("Range", "too many elements"))
}

fn range_len_float(start: f64, limit: f64, delta: f64) -> Result<usize> {
    if delta == 0.0 || !(start.is_finite() && limit.is_finite() && delta.is_finite()) {
        return Err(KernelError::invalid("Range", format!("invalid range {start}..{limit} step {delta}")));
    }
    let n = ((limit - start) / delta).ceil().max(0.0);
    if n > 1e12 {
        return Err(KernelError::invalid("Range", "too many elements"));
    }
    Ok(n as usize)
}

/// Range kernel.
pub(super) fn run_range(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Range";
    let (s, l, d) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?, req(OP, inputs, 2)?);
    let dt = s.dtype();
    if dt.is_float() {
        let (s, l, d) = (s.scalar_f64()?, l.scalar_f64()?, d.scalar_f64()?);
        let n = range_len_float(s, l, d)?;
        let v: Vec<f64> = (0..n).map(|i| s + i as f64 * d).collect();
        Tensor::from_vec(vec![n], v)?.cast(dt)
    } else if dt.is_int() {
        let (s, l, d) = (s.scalar_i64()?, l.scalar_i64()?, d.scalar_i64()?);
        let n = range_len_int(s, l, d)?;
        let v: Vec<i64> = (0..n as i64).map(|i| s.wrapping_add(i.wrapping_mul(d))).collect();
        Tensor::from_vec(vec![n], v)?.cast(dt)
    } else {
        Err(KernelError::invalid(OP, format!("unsupported dtype {dt}")))
    }
}

/// Range inference.
pub(super) fn infer_range(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let dt = req_ty("Range", inputs, 0)?.dtype;
    if let (Some(s), Some(l), Some(d)) = (const_val(inputs, 0), const_val(inputs, 1), const_val(inputs, 2)) {
        let out = run_range(&[Some(s), Some(l), Some(d)])?;
        return Ok(vec![TensorType::known(dt, out.shape())]);
    }
    Ok(vec![ty(dt, vec![Dim::Unknown])])
}

fn one_hot_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64 + 1;
    if axis < -r || axis >= r {
        return Err(KernelError::invalid("OneHot", format!("axis {axis} is out of range for output rank {r}")));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// OneHot kernel.
pub(super) fn run_one_hot(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "OneHot";
    let idx = req(OP, inputs, 0)?;
    let depth = req(OP, inputs, 1)?.scalar_f64()?;
    let values = req(OP, inputs, 2)?;
    if values.len() != 2 {
        return Err(KernelError::invalid(OP, "values must hold [off_value, on_value]"));
    }
    if !(depth >= 1.0 && depth < 1e9) {
        return Err(KernelError::invalid(OP, format!("invalid depth {depth}")));
    }
    let depth = depth as usize;
    let a = one_hot_axis(axis, idx.rank())?;
    let iv = idx.to_f64_vec()?;
    let outer: usize = idx.shape()[..a].iter().product();
    let inner: usize = idx.shape()[a..].iter().product();
    let mut shape = idx.shape().to_vec();
    shape.insert(a, depth);
    fn go<T: AnyElem>(values: &Tensor, iv: &[f64], shape: Vec<usize>, outer: usize, inner: usize, depth: usize) -> Result<Tensor> {
        let v = elems::<T>(OP, values)?;
        let (off, on) = (&v[0], &v[1]);
        let mut out = vec![off.clone(); outer * depth * inner];
        for o in 0..outer {
            for i in 0..inner {
                let k = (iv[o * inner + i] as i64).rem_euclid(depth as i64) as usize;
                out[(o * depth + k) * inner + i] = on.clone();
            }
        }
        make(shape, out)
    }
    any_dtype!(values.dtype(), go(values, &iv, shape, outer, inner, depth))
}

/// OneHot inference.
pub(super) fn infer_one_hot(axis: i64, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let idx = req_ty("OneHot", inputs, 0)?;
    let dt = req_ty("OneHot", inputs, 2)?.dtype;
    let Some(d) = dims(idx) else { return Ok(vec![TensorType::unknown(dt)]) };
    let a = one_hot_axis(axis, d.len())?;
    let depth = const_val(inputs, 1).and_then(|t| t.scalar_f64().ok()).map(|v| Dim::Known(v as usize));
    let mut out = d.to_vec();
    out.insert(a, depth.unwrap_or(Dim::Unknown));
    Ok(vec![ty(dt, out)])
}

/// Zero (false, empty string) of a dtype as a one-element tensor's value.
fn zero_of<T: AnyElem>(dt: DType) -> Result<T> {
    let z = TensorData::zeros(dt, 1);
    T::view(&z).and_then(|v| v.first().cloned()).ok_or_else(|| KernelError::invalid("Trilu", "dtype mismatch"))
}

/// Trilu kernel.
pub(super) fn run_trilu(upper: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Trilu";
    let x = req(OP, inputs, 0)?;
    let k = match opt(inputs, 1) {
        Some(t) => t.scalar_i64()?,
        None => 0,
    };
    let r = x.rank();
    if r < 2 {
        return Err(KernelError::invalid(OP, format!("input must have rank >= 2, found {:?}", x.shape())));
    }
    let (rows, cols) = (x.shape()[r - 2], x.shape()[r - 1]);
    fn go<T: AnyElem>(x: &Tensor, rows: usize, cols: usize, k: i64, upper: bool) -> Result<Tensor> {
        let zero = zero_of::<T>(x.dtype())?;
        let mut out = elems::<T>(OP, x)?.to_vec();
        if rows * cols > 0 {
            for mat in out.chunks_mut(rows * cols) {
                for (i, row) in mat.chunks_mut(cols).enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        let d = j as i64 - i as i64;
                        if (upper && d < k) || (!upper && d > k) {
                            *v = zero.clone();
                        }
                    }
                }
            }
        }
        make(x.shape().to_vec(), out)
    }
    any_dtype!(x.dtype(), go(x, rows, cols, k, upper))
}

/// EyeLike kernel.
pub(super) fn run_eye_like(dtype: Option<DType>, k: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "EyeLike";
    let x = req(OP, inputs, 0)?;
    let dt = dtype.unwrap_or(x.dtype());
    let (rows, cols) = match *x.shape() {
        [r, c] => (r, c),
        _ => return Err(KernelError::invalid(OP, format!("input must be 2-D, found {:?}", x.shape()))),
    };
    fn go<T: HostElem>(rows: usize, cols: usize, k: i64) -> Result<Tensor> {
        let mut out = vec![T::zero(); rows * cols];
        for i in 0..rows {
            let j = i as i64 + k;
            if j >= 0 && (j as usize) < cols {
                out[i * cols + j as usize] = T::one();
            }
        }
        Tensor::from_vec(vec![rows, cols], out)
    }
    crate::dispatch_dtype!(dt, go(rows, cols, k), str => Err(KernelError::invalid(OP, "string output is not supported")))
}

/// EyeLike inference.
pub(super) fn infer_eye_like(dtype: Option<DType>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("EyeLike", inputs, 0)?;
    Ok(vec![TensorType { dtype: dtype.unwrap_or(x.dtype), shape: x.shape.clone() }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_values() {
        let t = |v: i32| Tensor::scalar(v);
        let r = run_range(&[Some(&t(10)), Some(&t(4)), Some(&t(-2))]).unwrap();
        assert_eq!(r.as_slice::<i32>().unwrap(), &[10, 8, 6]);
        let f = |v: f32| Tensor::scalar(v);
        let r = run_range(&[Some(&f(1.0)), Some(&f(2.0)), Some(&f(0.25))]).unwrap();
        assert_eq!(r.as_slice::<f32>().unwrap(), &[1.0, 1.25, 1.5, 1.75]);
        assert!(run_range(&[Some(&t(0)), Some(&t(4)), Some(&t(0))]).is_err());
    }

    #[test]
    fn one_hot_and_trilu() {
        let idx = Tensor::from_vec(vec![2], vec![1i64, -1]).unwrap();
        let depth = Tensor::scalar(3i64);
        let vals = Tensor::from_vec(vec![2], vec![0f32, 5.0]).unwrap();
        let y = run_one_hot(-1, &[Some(&idx), Some(&depth), Some(&vals)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0.0, 5.0, 0.0, 0.0, 0.0, 5.0]);
        let x = Tensor::from_vec(vec![2, 2], vec![true; 4]).unwrap();
        let y = run_trilu(true, &[Some(&x)]).unwrap();
        assert_eq!(y.as_slice::<bool>().unwrap(), &[true, true, false, true]);
        let v = Tensor::from_vec(vec![3], vec![1i64, 2, 3]).unwrap();
        assert!(run_trilu(true, &[Some(&v)]).is_err());
    }

    #[test]
    fn eye_like_offset() {
        let x = Tensor::zeros(DType::I32, vec![2, 3]);
        let y = run_eye_like(Some(DType::F64), 1, &[Some(&x)]).unwrap();
        assert_eq!(y.as_slice::<f64>().unwrap(), &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
