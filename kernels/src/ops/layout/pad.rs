//! Ops that grow, crop or repeat data: Pad, CenterCropPad, Tile, Expand, ReverseSequence.

use super::common::{any_dtype, axes, axis, copy_view, dims, elems, make, numel, prod, to_dim, ty, AnyElem};
use super::PadMode;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{broadcast_dims, broadcast_shapes, broadcast_strides, Dim, TensorType};
use crate::tensor::{Tensor, TensorData};
use crate::util::{const_val, opt, req, req_ty};

/// A run of the innermost output dim: fill values, or a contiguous source run.
#[derive(Clone, Copy, Debug)]
enum Seg {
    Fill(usize),
    Run(usize, usize),
}

/// Source offsets (already multiplied by `stride`) of each output index along one padded dim;
/// `None` where the constant fills.
fn pad_table(op: &str, n: usize, begin: i64, end: i64, mode: PadMode, stride: usize) -> Result<Vec<Option<usize>>> {
    let out = n as i64 + begin + end;
    if out < 0 {
        return Err(KernelError::invalid(op, format!("pads {begin},{end} remove more than the dim {n}")));
    }
    if n == 0 && out > 0 && mode != PadMode::Constant {
        return Err(KernelError::invalid(op, "cannot pad an empty dim in reflect/edge/wrap mode"));
    }
    let m = n as i64;
    Ok((0..out)
        .map(|o| {
            let i = o - begin;
            let src = match mode {
                PadMode::Constant => (0..m).contains(&i).then_some(i),
                PadMode::Edge => Some(i.clamp(0, m - 1)),
                PadMode::Wrap => Some(i.rem_euclid(m)),
                PadMode::Reflect if m == 1 => Some(0),
                PadMode::Reflect => {
                    let p = 2 * (m - 1);
                    let r = i.rem_euclid(p);
                    Some(if r < m { r } else { p - r })
                }
            };
            src.map(|s| s as usize * stride)
        })
        .collect())
}

/// Pad (or crop) `v` of `shape` by per-dim `begins`/`ends`.
fn pad_core<T: Clone>(op: &str, v: &[T], shape: &[usize], begins: &[i64], ends: &[i64], mode: PadMode, fill: T) -> Result<(Vec<usize>, Vec<T>)> {
    let st = crate::shape::strides(shape);
    let tables: Vec<Vec<Option<usize>>> =
        (0..shape.len()).map(|d| pad_table(op, shape[d], begins[d], ends[d], mode, st[d])).collect::<Result<_>>()?;
    let out_shape: Vec<usize> = tables.iter().map(|t| t.len()).collect();
    let total = numel(op, &out_shape)?;
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return Ok((out_shape, out));
    }
    let Some((inner, outer)) = tables.split_last() else {
        out.extend_from_slice(v);
        return Ok((out_shape, out));
    };
    // Segments of the innermost dim (its stride is 1, so consecutive sources form runs).
    let mut segs: Vec<Seg> = Vec::new();
    for e in inner {
        match (segs.last_mut(), e) {
            (Some(Seg::Fill(n)), None) => *n += 1,
            (Some(Seg::Run(s, n)), Some(i)) if *s + *n == *i => *n += 1,
            (_, None) => segs.push(Seg::Fill(1)),
            (_, Some(i)) => segs.push(Seg::Run(*i, 1)),
        }
    }
    let outer_count: usize = outer.iter().map(|t| t.len()).product();
    let mut idx = vec![0usize; outer.len()];
    for _ in 0..outer_count {
        let base: Option<usize> = outer.iter().zip(&idx).map(|(t, &i)| t[i]).sum();
        match base {
            None => out.extend(std::iter::repeat(fill.clone()).take(inner.len())),
            Some(b) => {
                for s in &segs {
                    match *s {
                        Seg::Fill(n) => out.extend(std::iter::repeat(fill.clone()).take(n)),
                        Seg::Run(s, n) => out.extend_from_slice(&v[b + s..b + s + n]),
                    }
                }
            }
        }
        let mut d = outer.len();
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            if idx[d] < outer[d].len() {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok((out_shape, out))
}

/// Per-dim begin/end pads from an ONNX pads list over `axes` (all dims when `None`).
fn pads_per_dim(op: &str, pads: &[i64], ax: Option<&[i64]>, rank: usize) -> Result<(Vec<i64>, Vec<i64>)> {
    let ax: Vec<usize> = match ax {
        Some(a) => axes(op, a, rank)?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * ax.len() {
        return Err(KernelError::invalid(op, format!("pads {pads:?} must hold 2 values per padded axis ({} axes)", ax.len())));
    }
    let (mut b, mut e) = (vec![0i64; rank], vec![0i64; rank]);
    for (i, &a) in ax.iter().enumerate() {
        b[a] = pads[i];
        e[a] = pads[i + ax.len()];
    }
    Ok((b, e))
}

/// Pad kernel.
pub(super) fn run_pad(mode: PadMode, pads_attr: Option<&[i64]>, value: f32, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Pad";
    let x = req(OP, inputs, 0)?;
    let (pads, fill, ax) = match pads_attr {
        Some(p) => {
            let fill = Tensor::scalar(value).cast(x.dtype())?;
            (p.to_vec(), fill, None)
        }
        None => {
            let pads = req(OP, inputs, 1)?.to_i64_vec()?;
            let fill = match opt(inputs, 2) {
                Some(c) if !c.is_empty() => {
                    if c.dtype() != x.dtype() {
                        return Err(KernelError::invalid(OP, "constant_value must have the input's dtype"));
                    }
                    c.clone()
                }
                _ => Tensor::new(vec![], TensorData::zeros(x.dtype(), 1))?,
            };
            (pads, fill, opt(inputs, 3).map(|t| t.to_i64_vec()).transpose()?)
        }
    };
    let (b, e) = pads_per_dim(OP, &pads, ax.as_deref(), x.rank())?;
    pad_tensor(OP, x, &b, &e, mode, &fill)
}

fn pad_tensor(op: &str, x: &Tensor, b: &[i64], e: &[i64], mode: PadMode, fill: &Tensor) -> Result<Tensor> {
    fn go<T: AnyElem>(op: &str, x: &Tensor, b: &[i64], e: &[i64], mode: PadMode, fill: &Tensor) -> Result<Tensor> {
        let f = elems::<T>(op, fill)?.first().cloned().ok_or_else(|| KernelError::invalid(op, "empty pad value"))?;
        let (shape, out) = pad_core(op, elems::<T>(op, x)?, x.shape(), b, e, mode, f)?;
        make(shape, out)
    }
    any_dtype!(x.dtype(), go(op, x, b, e, mode, fill))
}

/// Pad inference.
pub(super) fn infer_pad(pads_attr: Option<&[i64]>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Pad", inputs, 0)?;
    let Some(d) = dims(x) else { return Ok(vec![TensorType::unknown(x.dtype)]) };
    let pads = match pads_attr {
        Some(p) => Some(p.to_vec()),
        None => const_val(inputs, 1).map(|t| t.to_i64_vec()).transpose()?,
    };
    let has_axes = inputs.get(3).is_some_and(|i| i.ty.is_some());
    let ax = const_val(inputs, 3).map(|t| t.to_i64_vec()).transpose()?;
    let (Some(pads), true) = (pads, ax.is_some() || !has_axes) else {
        return Ok(vec![TensorType::with_rank(x.dtype, d.len())]);
    };
    let (b, e) = pads_per_dim("Pad", &pads, ax.as_deref(), d.len())?;
    let out = d
        .iter()
        .enumerate()
        .map(|(i, dim)| match dim {
            Dim::Known(n) => Dim::Known((*n as i64 + b[i] + e[i]).max(0) as usize),
            other if b[i] == 0 && e[i] == 0 => other.clone(),
            _ => Dim::Unknown,
        })
        .collect();
    Ok(vec![ty(x.dtype, out)])
}

/// CenterCropPad kernel.
pub(super) fn run_center_crop_pad(ax: Option<&[i64]>, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "CenterCropPad";
    let x = req(OP, inputs, 0)?;
    let target = req(OP, inputs, 1)?.to_i64_vec()?;
    let ax: Vec<usize> = match ax {
        Some(a) => axes(OP, a, x.rank())?,
        None => (0..x.rank()).collect(),
    };
    if target.len() != ax.len() {
        return Err(KernelError::invalid(OP, format!("shape {target:?} does not match {} axes", ax.len())));
    }
    let (mut b, mut e) = (vec![0i64; x.rank()], vec![0i64; x.rank()]);
    for (&a, &t) in ax.iter().zip(&target) {
        let t = to_dim(OP, t)? as i64;
        let diff = x.shape()[a] as i64 - t;
        if diff > 0 {
            b[a] = -(diff / 2);
            e[a] = -(diff - diff / 2);
        } else {
            let p = -diff;
            b[a] = p / 2;
            e[a] = p - p / 2;
        }
    }
    let zero = Tensor::new(vec![], TensorData::zeros(x.dtype(), 1))?;
    pad_tensor(OP, x, &b, &e, PadMode::Constant, &zero)
}

/// CenterCropPad inference.
pub(super) fn infer_center_crop_pad(ax: Option<&[i64]>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("CenterCropPad", inputs, 0)?;
    let Some(d) = dims(x) else { return Ok(vec![TensorType::unknown(x.dtype)]) };
    let Some(target) = const_val(inputs, 1) else { return Ok(vec![TensorType::with_rank(x.dtype, d.len())]) };
    let target = target.to_i64_vec()?;
    let ax: Vec<usize> = match ax {
        Some(a) => axes("CenterCropPad", a, d.len())?,
        None => (0..d.len()).collect(),
    };
    let mut out = d.to_vec();
    for (&a, &t) in ax.iter().zip(&target) {
        out[a] = Dim::Known(to_dim("CenterCropPad", t)?);
    }
    Ok(vec![ty(x.dtype, out)])
}

/// Copy a view given by shape and strides into a new tensor of `x`'s dtype.
fn view_copy(op: &str, x: &Tensor, shape: &[usize], strides: &[isize], out_shape: Vec<usize>) -> Result<Tensor> {
    fn go<T: AnyElem>(op: &str, x: &Tensor, shape: &[usize], strides: &[isize], out_shape: Vec<usize>) -> Result<Tensor> {
        let mut out = Vec::with_capacity(prod(&out_shape));
        copy_view(elems::<T>(op, x)?, shape, strides, 0, &mut out);
        make(out_shape, out)
    }
    any_dtype!(x.dtype(), go(op, x, shape, strides, out_shape))
}

fn repeats_of(op: &str, t: &Tensor, rank: usize) -> Result<Vec<usize>> {
    let r = t.to_i64_vec()?;
    if r.len() != rank {
        return Err(KernelError::invalid(op, format!("repeats {r:?} do not match rank {rank}")));
    }
    r.into_iter().map(|v| to_dim(op, v)).collect()
}

/// Tile kernel.
pub(super) fn run_tile(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Tile";
    let x = req(OP, inputs, 0)?;
    let reps = repeats_of(OP, req(OP, inputs, 1)?, x.rank())?;
    let st = x.strides();
    let mut shape = Vec::with_capacity(2 * x.rank());
    let mut strides = Vec::with_capacity(2 * x.rank());
    for (d, &r) in reps.iter().enumerate() {
        shape.extend([r, x.shape()[d]]);
        strides.extend([0, st[d] as isize]);
    }
    let out_shape: Vec<usize> = reps.iter().zip(x.shape()).map(|(r, d)| r * d).collect();
    numel(OP, &out_shape)?;
    view_copy(OP, x, &shape, &strides, out_shape)
}

/// Tile inference.
pub(super) fn infer_tile(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Tile", inputs, 0)?;
    let Some(d) = dims(x) else { return Ok(vec![TensorType::unknown(x.dtype)]) };
    let Some(r) = const_val(inputs, 1) else { return Ok(vec![TensorType::with_rank(x.dtype, d.len())]) };
    let reps = repeats_of("Tile", r, d.len())?;
    let out = d
        .iter()
        .zip(&reps)
        .map(|(dim, &r)| match dim {
            Dim::Known(n) => Dim::Known(n * r),
            other if r == 1 => other.clone(),
            _ => Dim::Unknown,
        })
        .collect();
    Ok(vec![ty(x.dtype, out)])
}

/// Expand kernel.
pub(super) fn run_expand(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Expand";
    let x = req(OP, inputs, 0)?;
    let target: Vec<usize> = req(OP, inputs, 1)?.to_i64_vec()?.into_iter().map(|v| to_dim(OP, v)).collect::<Result<_>>()?;
    let out_shape = broadcast_shapes(OP, &[x.shape(), &target])?;
    numel(OP, &out_shape)?;
    if out_shape == x.shape() {
        return Ok(x.clone());
    }
    let strides: Vec<isize> = broadcast_strides(x.shape(), &out_shape).into_iter().map(|s| s as isize).collect();
    view_copy(OP, x, &out_shape, &strides, out_shape.clone())
}

/// Expand inference.
pub(super) fn infer_expand(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
    let x = req_ty("Expand", inputs, 0)?;
    let Some(target) = const_val(inputs, 1) else {
        return Ok(vec![TensorType::unknown(x.dtype)]);
    };
    let target: Vec<Dim> =
        target.to_i64_vec()?.into_iter().map(|v| to_dim("Expand", v).map(Dim::Known)).collect::<Result<_>>()?;
    match dims(x) {
        Some(d) => Ok(vec![ty(x.dtype, broadcast_dims("Expand", &[d, &target])?)]),
        None => Ok(vec![TensorType::unknown(x.dtype)]),
    }
}

/// ReverseSequence kernel.
pub(super) fn run_reverse_sequence(batch_axis: i64, time_axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "ReverseSequence";
    let x = req(OP, inputs, 0)?;
    let lens = req(OP, inputs, 1)?.to_i64_vec()?;
    if x.rank() < 2 {
        return Err(KernelError::invalid(OP, "input must have rank >= 2"));
    }
    let (ba, ta) = (axis(OP, batch_axis, x.rank())?, axis(OP, time_axis, x.rank())?);
    if ba > 1 || ta > 1 || ba == ta {
        return Err(KernelError::invalid(OP, "batch_axis and time_axis must be 0 and 1 in some order"));
    }
    let (nb, nt) = (x.shape()[ba], x.shape()[ta]);
    if lens.len() != nb {
        return Err(KernelError::invalid(OP, format!("sequence_lens has {} entries for batch {nb}", lens.len())));
    }
    let lens: Vec<usize> = lens
        .iter()
        .map(|&l| match usize::try_from(l) {
            Ok(l) if l <= nt => Ok(l),
            _ => Err(KernelError::invalid(OP, format!("sequence length {l} is outside 0..={nt}"))),
        })
        .collect::<Result<_>>()?;
    let st = x.strides();
    let inner = prod(&x.shape()[2..]);
    let (sb, stt) = (st[ba], st[ta]);
    fn go<T: AnyElem>(x: &Tensor, lens: &[usize], sb: usize, stt: usize, inner: usize) -> Result<Tensor> {
        let v = elems::<T>(OP, x)?;
        let mut out = v.to_vec();
        for (b, &len) in lens.iter().enumerate() {
            for t in 0..len {
                let dst = b * sb + t * stt;
                let src = b * sb + (len - 1 - t) * stt;
                out[dst..dst + inner].clone_from_slice(&v[src..src + inner]);
            }
        }
        make(x.shape().to_vec(), out)
    }
    any_dtype!(x.dtype(), go(x, &lens, sb, stt, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Vec<usize>, v: Vec<i64>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn pad_modes() {
        let x = t(vec![3], vec![1, 2, 3]);
        let pads = t(vec![2], vec![2, 2]);
        let run = |m| run_pad(m, None, 0.0, &[Some(&x), Some(&pads)]).unwrap().into_vec::<i64>().unwrap();
        assert_eq!(run(PadMode::Constant), vec![0, 0, 1, 2, 3, 0, 0]);
        assert_eq!(run(PadMode::Reflect), vec![3, 2, 1, 2, 3, 2, 1]);
        assert_eq!(run(PadMode::Edge), vec![1, 1, 1, 2, 3, 3, 3]);
        assert_eq!(run(PadMode::Wrap), vec![2, 3, 1, 2, 3, 1, 2]);
        let bad = t(vec![2], vec![-2, -2]);
        assert!(run_pad(PadMode::Constant, None, 0.0, &[Some(&x), Some(&bad)]).is_err());
    }

    #[test]
    fn tile_expand() {
        let x = t(vec![1, 2], vec![1, 2]);
        let y = run_tile(&[Some(&x), Some(&t(vec![2], vec![2, 2]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 2, 1, 2, 1, 2, 1, 2]);
        let y = run_expand(&[Some(&x), Some(&t(vec![3], vec![2, 1, 1]))]).unwrap();
        assert_eq!(y.shape(), &[2, 1, 2]);
        assert!(run_expand(&[Some(&x), Some(&t(vec![1], vec![3]))]).is_err());
    }

    #[test]
    fn center_crop_pad_and_reverse() {
        let x = t(vec![4], vec![1, 2, 3, 4]);
        let y = run_center_crop_pad(None, &[Some(&x), Some(&t(vec![1], vec![2]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[2, 3]);
        let y = run_center_crop_pad(None, &[Some(&x), Some(&t(vec![1], vec![7]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, 2, 3, 4, 0, 0]);
        let x = t(vec![3, 2], vec![1, 2, 3, 4, 5, 6]);
        let y = run_reverse_sequence(1, 0, &[Some(&x), Some(&t(vec![2], vec![3, 1]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[5, 2, 3, 4, 1, 6]);
        assert!(run_reverse_sequence(1, 0, &[Some(&x), Some(&t(vec![2], vec![4, 1]))]).is_err());
    }
}
