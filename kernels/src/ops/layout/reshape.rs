//! Ops that only change the shape (or read it): Reshape, Flatten, Squeeze, Unsqueeze, Identity,
//! Dropout (inference), Shape, Size.

use super::common::{axes, dims, dims_prod, numel, ty};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{const_val, opt, req, req_ty};

/// The output shape of `Reshape` for a concrete input shape and shape spec.
pub(super) fn reshape_dims(in_shape: &[usize], spec: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    const OP: &str = "Reshape";
    let total = numel(OP, in_shape)?;
    let mut out = crate::buffers::dims(&[]);
    let mut infer_at = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            -1 => {
                if infer_at.replace(i).is_some() {
                    return Err(KernelError::invalid(OP, format!("shape {spec:?} has more than one -1")));
                }
                out.push(1);
            }
            0 if !allowzero => match in_shape.get(i) {
                Some(&d) => out.push(d),
                None => {
                    return Err(KernelError::invalid(
                        OP,
                        format!("shape {spec:?}: 0 at {i} has no input dim to copy (input {in_shape:?})"),
                    ))
                }
            },
            s if s >= 0 => out.push(s as usize),
            s => return Err(KernelError::invalid(OP, format!("invalid dim {s} in shape {spec:?}"))),
        }
    }
    if allowzero && infer_at.is_some() && spec.contains(&0) {
        return Err(KernelError::invalid(OP, "allowzero shape cannot contain both 0 and -1"));
    }
    let known = numel(OP, &out)?;
    if let Some(i) = infer_at {
        if known == 0 || total % known != 0 {
            return Err(KernelError::invalid(
                OP,
                format!("cannot reshape {in_shape:?} to {spec:?}"),
            ));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(KernelError::invalid(
            OP,
            format!("cannot reshape {in_shape:?} ({total} elements) to {out:?}"),
        ));
    }
    Ok(out)
}

/// Reshape kernel.
pub(super) fn run_reshape(allowzero: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("Reshape", inputs, 0)?;
    let spec = req("Reshape", inputs, 1)?;
    let shape = match spec.as_slice::<i64>() {
        Ok(s) => reshape_dims(x.shape(), s, allowzero)?,
        Err(_) => reshape_dims(x.shape(), &spec.to_i64_vec()?, allowzero)?,
    };
    Tensor::new(shape, crate::buffers::clone_data(x.data()))
}

/// Reshape inference: uses the constant shape input when available.
pub(super) fn infer_reshape(allowzero: bool, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Reshape", inputs, 0)?;
    let Some(spec) = const_val(inputs, 1) else {
        let rank = req_ty("Reshape", inputs, 1)?
            .concrete()
            .and_then(|s| s.first().copied());
        return Ok(vec![match rank {
            Some(r) => TensorType::with_rank(x.dtype, r),
            None => TensorType::unknown(x.dtype),
        }]);
    };
    let spec = spec.to_i64_vec()?;
    if let Some(c) = x.concrete() {
        return Ok(vec![TensorType::known(x.dtype, &reshape_dims(&c, &spec, allowzero)?)]);
    }
    let in_dims = dims(x);
    let mut out: Vec<Dim> = Vec::with_capacity(spec.len());
    for (i, &s) in spec.iter().enumerate() {
        out.push(match s {
            0 if !allowzero => in_dims.and_then(|d| d.get(i).cloned()).unwrap_or(Dim::Unknown),
            s if s >= 0 => Dim::Known(s as usize),
            _ => Dim::Unknown,
        });
    }
    // Resolve a -1 when the input's element count is known.
    if let (Some(total), Some(pos)) = (in_dims.and_then(dims_prod), spec.iter().position(|&s| s == -1)) {
        let others: Option<usize> = out
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != pos)
            .map(|(_, d)| d.known())
            .product();
        if let Some(o) = others.filter(|&o| o > 0 && total % o == 0) {
            out[pos] = Dim::Known(total / o);
        }
    }
    Ok(vec![ty(x.dtype, out)])
}

fn flatten_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis > r {
        return Err(KernelError::invalid(
            "Flatten",
            format!("axis {axis} is out of range for rank {rank}"),
        ));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// Flatten kernel.
pub(super) fn run_flatten(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("Flatten", inputs, 0)?;
    let a = flatten_axis(axis, x.rank())?;
    let shape = crate::buffers::dims(&[x.shape()[..a].iter().product(), x.shape()[a..].iter().product()]);
    Tensor::new(shape, crate::buffers::clone_data(x.data()))
}

/// Flatten inference.
pub(super) fn infer_flatten(axis: i64, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Flatten", inputs, 0)?;
    let Some(d) = dims(x) else {
        return Ok(vec![TensorType::with_rank(x.dtype, 2)]);
    };
    let a = flatten_axis(axis, d.len())?;
    let part = |s: &[Dim]| dims_prod(s).map(Dim::Known).unwrap_or(Dim::Unknown);
    Ok(vec![ty(x.dtype, vec![part(&d[..a]), part(&d[a..])])])
}

/// The axes of Squeeze/Unsqueeze: the attribute, else input 1 (a constant during inference).
fn axes_list(attr: Option<&[i64]>, input: Option<&Tensor>) -> Result<Option<Vec<i64>>> {
    match (attr, input) {
        (Some(a), _) => Ok(Some(a.to_vec())),
        (None, Some(t)) => Ok(Some(t.to_i64_vec()?)),
        (None, None) => Ok(None),
    }
}

/// Squeeze kernel.
pub(super) fn run_squeeze(attr: Option<&[i64]>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("Squeeze", inputs, 0)?;
    let list = axes_list(attr, opt(inputs, 1))?;
    let shape: Vec<Dim> = x.shape().iter().map(|&d| Dim::Known(d)).collect();
    let out = squeeze_dims(&shape, list.as_deref())?;
    let out: Vec<usize> = out.iter().map(|d| d.known().unwrap_or(1)).collect();
    Tensor::new(out, x.data().clone())
}

fn squeeze_dims(shape: &[Dim], list: Option<&[i64]>) -> Result<Vec<Dim>> {
    match list {
        None => Ok(shape.iter().filter(|d| **d != Dim::Known(1)).cloned().collect()),
        Some(list) => {
            let ax = axes("Squeeze", list, shape.len())?;
            for &a in &ax {
                if let Dim::Known(n) = shape[a] {
                    if n != 1 {
                        return Err(KernelError::invalid(
                            "Squeeze",
                            format!("cannot squeeze axis {a} of size {n}"),
                        ));
                    }
                }
            }
            Ok(shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !ax.contains(i))
                .map(|(_, d)| d.clone())
                .collect())
        }
    }
}

/// Squeeze inference.
pub(super) fn infer_squeeze(attr: Option<&[i64]>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Squeeze", inputs, 0)?;
    let has_axes_input = inputs.get(1).is_some_and(|i| i.ty.is_some());
    let list = axes_list(attr, const_val(inputs, 1))?;
    let Some(d) = dims(x) else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    if list.is_none() && (has_axes_input || d.iter().any(|d| d.known().is_none())) {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    }
    Ok(vec![ty(x.dtype, squeeze_dims(d, list.as_deref())?)])
}

fn unsqueeze_dims(shape: &[Dim], list: &[i64]) -> Result<Vec<Dim>> {
    let rank = shape.len() + list.len();
    let ax = axes("Unsqueeze", list, rank)?;
    let mut src = shape.iter();
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        if ax.contains(&i) {
            out.push(Dim::Known(1));
        } else {
            // The output has exactly shape.len() non-inserted positions.
            out.push(src.next().cloned().unwrap_or(Dim::Known(1)));
        }
    }
    Ok(out)
}

/// Unsqueeze kernel.
pub(super) fn run_unsqueeze(attr: Option<&[i64]>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("Unsqueeze", inputs, 0)?;
    let list = axes_list(attr, opt(inputs, 1))?.ok_or_else(|| KernelError::invalid("Unsqueeze", "missing axes"))?;
    let shape: Vec<Dim> = x.shape().iter().map(|&d| Dim::Known(d)).collect();
    let out: Vec<usize> = unsqueeze_dims(&shape, &list)?
        .iter()
        .map(|d| d.known().unwrap_or(1))
        .collect();
    Tensor::new(out, x.data().clone())
}

/// Unsqueeze inference.
pub(super) fn infer_unsqueeze(attr: Option<&[i64]>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Unsqueeze", inputs, 0)?;
    let list = axes_list(attr, const_val(inputs, 1))?;
    match (dims(x), list) {
        (Some(d), Some(list)) => Ok(vec![ty(x.dtype, unsqueeze_dims(d, &list)?)]),
        (Some(d), None) => {
            let n = inputs
                .get(1)
                .and_then(|i| i.ty)
                .and_then(|t| t.concrete())
                .and_then(|s| s.first().copied());
            Ok(vec![match n {
                Some(n) => TensorType::with_rank(x.dtype, d.len() + n),
                None => TensorType::unknown(x.dtype),
            }])
        }
        _ => Ok(vec![TensorType::unknown(x.dtype)]),
    }
}

/// Identity kernel.
pub(super) fn run_identity(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    Ok(crate::buffers::clone_tensor(req("Identity", inputs, 0)?))
}

/// Inference for ops whose single output has the type of input 0.
pub(super) fn infer_identity(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    Ok(vec![req_ty("Identity", inputs, 0)?.clone()])
}

/// Dropout kernel (inference mode only).
pub(super) fn run_dropout(
    ratio: f32,
    training: bool,
    mask_bool: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>> {
    let x = req("Dropout", inputs, 0)?;
    let ratio = match opt(inputs, 1) {
        Some(r) => r.scalar_f64()?,
        None => ratio as f64,
    };
    let training = match opt(inputs, 2) {
        Some(t) => t.scalar_f64()? != 0.0,
        None => training,
    };
    if training && ratio > 0.0 {
        return Err(KernelError::unsupported(
            "Dropout",
            "training mode with a non-zero ratio (random dropout)",
        ));
    }
    let n = x.len();
    let mask = if mask_bool {
        let mut m = crate::buffers::with_capacity::<bool>(n);
        m.resize(n, true);
        Tensor::from_vec(crate::buffers::dims(x.shape()), m)?
    } else {
        // Ones of the input's dtype.
        fn ones<T: crate::tensor::HostElem>(n: usize) -> Option<crate::tensor::TensorData> {
            let mut v = crate::buffers::with_capacity::<T>(n);
            v.resize(n, T::from_f64(1.0));
            Some(T::wrap(v))
        }
        match crate::dispatch_dtype!(x.dtype(), ones(n), str => None) {
            Some(d) => Tensor::new(crate::buffers::dims(x.shape()), d)?,
            None => Tensor::from_vec(x.shape().to_vec(), vec![1.0f32; n])?.cast(x.dtype())?,
        }
    };
    let mut outs = crate::buffers::one(crate::buffers::clone_tensor(x));
    outs.push(mask);
    Ok(outs)
}

/// Dropout inference.
pub(super) fn infer_dropout(mask_bool: bool, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Dropout", inputs, 0)?;
    let mask_dtype = if mask_bool { DType::Bool } else { x.dtype };
    Ok(vec![
        x.clone(),
        TensorType {
            dtype: mask_dtype,
            shape: x.shape.clone(),
        },
    ])
}

fn shape_range(start: i64, end: Option<i64>, rank: usize) -> (usize, usize) {
    let r = rank as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let s = clamp(start);
    let e = clamp(end.unwrap_or(r));
    (s, e.max(s))
}

/// Shape kernel.
pub(super) fn run_shape(start: i64, end: Option<i64>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let x = req("Shape", inputs, 0)?;
    let (s, e) = shape_range(start, end, x.rank());
    let v: Vec<i64> = x.shape()[s..e].iter().map(|&d| d as i64).collect();
    Tensor::from_vec(vec![v.len()], v)
}

/// Shape inference.
pub(super) fn infer_shape(start: i64, end: Option<i64>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Shape", inputs, 0)?;
    Ok(vec![match x.rank() {
        Some(r) => {
            let (s, e) = shape_range(start, end, r);
            TensorType::known(DType::I64, &[e - s])
        }
        None => TensorType::with_rank(DType::I64, 1),
    }])
}

/// Size kernel.
pub(super) fn run_size(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    Ok(Tensor::scalar(req("Size", inputs, 0)?.len() as i64))
}

/// Size inference.
pub(super) fn infer_size(_inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    Ok(vec![TensorType::known(DType::I64, &[])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_semantics() {
        assert_eq!(reshape_dims(&[2, 3, 4], &[0, -1], false).unwrap(), vec![2, 12]);
        assert_eq!(reshape_dims(&[2, 3, 4], &[4, 0, 2], false).unwrap(), vec![4, 3, 2]);
        assert_eq!(reshape_dims(&[0, 3], &[3, 0], true).unwrap(), vec![3, 0]);
        assert!(reshape_dims(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_dims(&[2, 3], &[-1, -1], false).is_err());
    }

    #[test]
    fn squeeze_unsqueeze() {
        let x = Tensor::from_vec(vec![1, 3, 1], vec![1i32, 2, 3]).unwrap();
        let y = run_squeeze(None, &[Some(&x)]).unwrap();
        assert_eq!(y.shape(), &[3]);
        let y = run_unsqueeze(Some(&[0, -1]), &[Some(&y)]).unwrap();
        assert_eq!(y.shape(), &[1, 3, 1]);
        assert!(run_squeeze(Some(&[1]), &[Some(&x)]).is_err());
        assert!(run_unsqueeze(Some(&[5]), &[Some(&x)]).is_err());
    }

    #[test]
    fn shape_slices() {
        let x = Tensor::zeros(DType::Str, vec![2, 3, 4]);
        let s = run_shape(1, Some(-1), &[Some(&x)]).unwrap();
        assert_eq!(s.as_slice::<i64>().unwrap(), &[3]);
        let s = run_shape(-10, Some(10), &[Some(&x)]).unwrap();
        assert_eq!(s.as_slice::<i64>().unwrap(), &[2, 3, 4]);
    }
}
