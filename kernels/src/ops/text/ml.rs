//! The `ai.onnx.ml` table ops: `LabelEncoder`, `ArrayFeatureExtractor`, `Binarizer`.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::shape::{Dim, TensorType};
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::req;
use std::collections::HashMap;

/// A hashable lookup key: strings, integers, or floats by bit pattern (f64).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Int(i64),
    Float(u64),
}

/// The keys of `t` as `Key`s.
fn keys_of(t: &Tensor) -> Result<Vec<Key>> {
    Ok(match t.data() {
        TensorData::Str(v) => v.iter().map(|s| Key::Str(s.clone())).collect(),
        _ if t.dtype().is_float() => t
            .to_f64_vec()?
            .into_iter()
            .map(|f| Key::Float(if f.is_nan() { f64::NAN.to_bits() } else { (f + 0.0).to_bits() }))
            .collect(),
        _ => t.to_i64_vec()?.into_iter().map(Key::Int).collect(),
    })
}

/// Gather `values[idx]` (or the default for `None`) into a tensor of `shape`.
fn gather_values(values: &Tensor, default: &Tensor, idx: &[Option<usize>], shape: Vec<usize>) -> Result<Tensor> {
    fn go<T: HostElem>(v: &[T], d: T, idx: &[Option<usize>]) -> Vec<T> {
        idx.iter().map(|i| i.map_or(d, |i| v[i])).collect()
    }
    fn num<T: HostElem>(values: &Tensor, default: &Tensor, idx: &[Option<usize>]) -> Result<TensorData> {
        let d = default.as_slice::<T>()?.first().copied().unwrap_or_else(T::zero);
        Ok(T::wrap(go(values.as_slice::<T>()?, d, idx)))
    }
    let data = match values.data() {
        TensorData::Str(v) => {
            let d = default.as_strings()?.first().cloned().unwrap_or_default();
            TensorData::Str(idx.iter().map(|i| i.map_or_else(|| d.clone(), |i| v[i].clone())).collect())
        }
        _ => crate::dispatch_dtype!(values.dtype(), num(values, default, idx), str => unreachable!("handled above"))?,
    };
    Tensor::new(shape, data)
}

/// `LabelEncoder`: look every element up in `keys`, emitting the matching value or `default`.
pub(crate) fn label_encode(keys: &Tensor, values: &Tensor, default: &Tensor, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "LabelEncoder";
    let x = req(OP, inputs, 0)?;
    if keys.len() != values.len() {
        return Err(KernelError::invalid(OP, format!("{} keys but {} values", keys.len(), values.len())));
    }
    if (x.dtype() == DType::Str) != (keys.dtype() == DType::Str) {
        return Err(KernelError::invalid(OP, format!("input dtype {} does not match key dtype {}", x.dtype(), keys.dtype())));
    }
    let mut table: HashMap<Key, usize> = HashMap::with_capacity(keys.len());
    for (i, k) in keys_of(keys)?.into_iter().enumerate() {
        table.entry(k).or_insert(i);
    }
    let idx: Vec<Option<usize>> = keys_of(x)?.iter().map(|k| table.get(k).copied()).collect();
    Ok(vec![gather_values(values, default, &idx, x.shape().to_vec())?])
}

/// The flat indices of `ArrayFeatureExtractor`'s second input.
fn feature_indices(op: &str, y: &Tensor, n: usize) -> Result<Vec<usize>> {
    y.to_i64_vec()?
        .into_iter()
        .map(|i| {
            usize::try_from(i)
                .ok()
                .filter(|&u| u < n)
                .ok_or_else(|| KernelError::invalid(op, format!("index {i} out of range 0..{n}")))
        })
        .collect()
}

/// `ArrayFeatureExtractor`: `x[..., idx]`; a 1-D `x` gives a `[1, k]` result.
pub(crate) fn array_feature_extractor(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "ArrayFeatureExtractor";
    let x = req(OP, inputs, 0)?;
    let y = req(OP, inputs, 1)?;
    if x.rank() == 0 {
        return Err(KernelError::invalid(OP, "input must have rank >= 1"));
    }
    let n = x.shape()[x.rank() - 1];
    let idx = feature_indices(OP, y, n)?;
    let rows = x.len() / n.max(1);
    let mut shape = if x.rank() == 1 { vec![1] } else { x.shape()[..x.rank() - 1].to_vec() };
    shape.push(idx.len());
    // Element offsets into x, row-major over (row, index).
    let offs: Vec<usize> = (0..if n == 0 { 0 } else { rows }).flat_map(|r| idx.iter().map(move |&i| r * n + i)).collect();
    fn pick<T: Clone>(v: &[T], offs: &[usize]) -> Vec<T> {
        offs.iter().map(|&o| v[o].clone()).collect()
    }
    let data = crate::match_data!(x.data(), v => HostElem::wrap(pick(v, &offs)),
        str => TensorData::Str(pick(x.as_strings()?, &offs)));
    Ok(vec![Tensor::new(shape, data)?])
}

/// Static type of `ArrayFeatureExtractor`'s output.
pub(crate) fn infer_array_feature_extractor(x: &TensorType, y: Option<&TensorType>) -> TensorType {
    let k = y.and_then(|y| y.concrete()).map(|s| Dim::Known(s.iter().product())).unwrap_or(Dim::Unknown);
    let shape = x.shape.as_ref().map(|s| {
        let mut d = if s.len() <= 1 { vec![Dim::Known(1)] } else { s[..s.len() - 1].to_vec() };
        d.push(k);
        d
    });
    TensorType { dtype: x.dtype, shape }
}

/// `Binarizer`: 1 where `x > threshold`, else 0, in the input dtype.
pub(crate) fn binarize(threshold: f32, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "Binarizer";
    let x = req(OP, inputs, 0)?;
    fn go<T: HostElem>(x: &Tensor, th: f64) -> Result<Tensor> {
        let v: Vec<T> = x.as_slice::<T>()?.iter().map(|&e| if e.to_f64() > th { T::one() } else { T::zero() }).collect();
        Tensor::from_vec(x.shape().to_vec(), v)
    }
    if !x.dtype().is_numeric() {
        return Err(KernelError::invalid(OP, format!("input must be numeric, found {}", x.dtype())));
    }
    Ok(vec![crate::dispatch_dtype!(x.dtype(), go(x, threshold as f64), str => unreachable!("rejected above"))?])
}
