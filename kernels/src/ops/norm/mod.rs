//! NormOp family: BatchNormalization, InstanceNormalization, LayerNormalization,
//! GroupNormalization, RMSNormalization, LRN, LpNormalization, MeanVarianceNormalization.
//!
//! Inputs of any float dtype are read element by element into f64, statistics are computed in
//! f64 (two-pass mean/variance), and results are rounded to the input dtype at the end. The
//! per-channel affine of BatchNormalization and LRN have f32 fast paths (`fast`).
//! Most ops normalise contiguous groups (`[groups, len]` after flattening), handled by one
//! shared kernel with a per-group affine transform.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::ops::reduce::{for_rows, reduce_tensor, split_at_axis, sum_f64, ReduceKind};
use crate::shape::{broadcast_strides, for_each_offset, norm_axis, Dim, TensorType};
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::{opt, req, req_ty};
use rayon::prelude::*;

mod fast;
#[cfg(test)]
mod tests;

/// The norm ops.
#[derive(Clone, Debug, PartialEq)]
pub enum NormOp {
    /// BatchNormalization: per-channel affine with given (inference) or batch (training) stats.
    BatchNorm {
        /// Added to the variance.
        epsilon: f32,
        /// Running-statistics momentum (training mode).
        momentum: f32,
        /// Training mode: use batch statistics and also output the running mean / variance.
        training: bool,
    },
    /// InstanceNormalization: per (sample, channel) over the spatial dims.
    InstanceNorm {
        /// Added to the variance.
        epsilon: f32,
    },
    /// LayerNormalization over the dims from `axis` on (outputs Y, Mean, InvStdDev).
    LayerNorm {
        /// First normalised axis.
        axis: i64,
        /// Added to the variance.
        epsilon: f32,
    },
    /// GroupNormalization over channel groups and spatial dims.
    GroupNorm {
        /// Number of channel groups.
        num_groups: usize,
        /// Added to the variance.
        epsilon: f32,
        /// Scale/bias per channel (opset 21) instead of per group (opset 18).
        per_channel: bool,
    },
    /// RMSNormalization over the dims from `axis` on.
    RmsNorm {
        /// First normalised axis.
        axis: i64,
        /// Added to the mean square.
        epsilon: f32,
    },
    /// Local response normalisation across channels.
    Lrn {
        /// Window size (channels).
        size: usize,
        /// Scale of the square sum.
        alpha: f32,
        /// Exponent.
        beta: f32,
        /// Offset.
        bias: f32,
    },
    /// LpNormalization along one axis (p = 1 or 2).
    LpNorm {
        /// The axis.
        axis: i64,
        /// The norm order, 1 or 2.
        p: i64,
    },
    /// MeanVarianceNormalization over `axes`.
    MeanVarianceNorm {
        /// The normalised axes.
        axes: Vec<i64>,
    },
}

impl OpImpl for NormOp {
    fn name(&self) -> &'static str {
        match self {
            NormOp::BatchNorm { .. } => "BatchNormalization",
            NormOp::InstanceNorm { .. } => "InstanceNormalization",
            NormOp::LayerNorm { .. } => "LayerNormalization",
            NormOp::GroupNorm { .. } => "GroupNormalization",
            NormOp::RmsNorm { .. } => "RMSNormalization",
            NormOp::Lrn { .. } => "LRN",
            NormOp::LpNorm { .. } => "LpNormalization",
            NormOp::MeanVarianceNorm { .. } => "MeanVarianceNormalization",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let op = self.name();
        let x = req_ty(op, inputs, 0)?;
        if !x.dtype.is_float() {
            return Err(KernelError::unsupported(op, format!("input dtype {}", x.dtype)));
        }
        match self {
            NormOp::BatchNorm { training: true, .. } => Ok(vec![
                x.clone(),
                req_ty(op, inputs, 3)?.clone(),
                req_ty(op, inputs, 4)?.clone(),
            ]),
            NormOp::LayerNorm { axis, .. } => {
                let stat = match &x.shape {
                    None => TensorType::unknown(DType::F32),
                    Some(s) => {
                        let a = norm_axis(op, *axis, s.len())?;
                        let dims = s
                            .iter()
                            .enumerate()
                            .map(|(i, d)| if i < a { d.clone() } else { Dim::Known(1) });
                        TensorType {
                            dtype: DType::F32,
                            shape: Some(dims.collect()),
                        }
                    }
                };
                Ok(vec![x.clone(), stat.clone(), stat])
            }
            _ => Ok(vec![x.clone()]),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let op = self.name();
        let x = req(op, inputs, 0)?;
        if !x.dtype().is_float() {
            return Err(KernelError::unsupported(op, format!("input dtype {}", x.dtype())));
        }
        match self {
            NormOp::BatchNorm {
                epsilon,
                momentum,
                training,
            } => batch_norm(op, x, inputs, *epsilon, *momentum, *training),
            NormOp::InstanceNorm { epsilon } => instance_norm(op, x, inputs, *epsilon),
            NormOp::LayerNorm { axis, epsilon } => trailing_norm(op, x, inputs, *axis, *epsilon, true),
            NormOp::RmsNorm { axis, epsilon } => trailing_norm(op, x, inputs, *axis, *epsilon, false),
            NormOp::GroupNorm {
                num_groups,
                epsilon,
                per_channel,
            } => group_norm(op, x, inputs, *num_groups, *epsilon, *per_channel),
            NormOp::Lrn {
                size,
                alpha,
                beta,
                bias,
            } => lrn(op, x, *size, *alpha as f64, *beta as f64, *bias as f64),
            NormOp::LpNorm { axis, p } => lp_norm(op, x, *axis, *p),
            NormOp::MeanVarianceNorm { axes } => mvn(op, x, axes),
        }
    }

    fn flops(&self, inputs: &[Option<&[usize]>], _outputs: &[&[usize]]) -> u64 {
        let n = inputs
            .first()
            .copied()
            .flatten()
            .map(|s| s.iter().product::<usize>() as u64)
            .unwrap_or(0);
        match self {
            NormOp::Lrn { size, .. } => n * (*size as u64 + 4),
            _ => n * 5,
        }
    }
}

/// Build a tensor of `dtype` (a float type) from f64 values.
fn from_f64(op: &str, dtype: DType, shape: Vec<usize>, v: Vec<f64>) -> Result<Tensor> {
    fn wrap<T: HostElem>(v: Vec<f64>) -> TensorData {
        T::wrap(v.into_iter().map(T::from_f64).collect())
    }
    let data = crate::dispatch_float!(dtype, wrap(v),
        other => return Err(KernelError::unsupported(op, format!("output dtype {dtype}"))));
    Tensor::new(shape, data)
}

/// A 1-D per-channel parameter of length `c`, as f64.
fn channel_param(op: &str, t: &Tensor, c: usize, what: &str) -> Result<Vec<f64>> {
    if t.len() != c {
        return Err(KernelError::invalid(
            op,
            format!("{what} has shape {:?}, expected [{c}]", t.shape()),
        ));
    }
    t.to_f64_vec()
}

/// `[N, C, spatial]` of a channel-first input of rank >= 2.
fn nc_spatial(op: &str, x: &Tensor) -> Result<(usize, usize, usize)> {
    let s = x.shape();
    if s.len() < 2 {
        return Err(KernelError::invalid(
            op,
            format!("input must have rank >= 2, found shape {s:?}"),
        ));
    }
    Ok((s[0], s[1], s[2..].iter().product()))
}

/// How group `g`'s element `e` finds its scale and bias: index `((g % cycle) * len + e) / rep`.
struct Affine {
    scale: Vec<f64>,
    bias: Option<Vec<f64>>,
    cycle: usize,
    rep: usize,
}

/// `(mean, 1/std)` of one group, or `(0, 1/rms)` without centring, in f64.
fn group_stat<T: HostElem>(s: &[T], eps: f64, center: bool) -> (f64, f64) {
    let n = s.len() as f64;
    if center {
        let mean = sum_f64(s, |v| v.to_f64()) / n;
        let var = sum_f64(s, |v| (v.to_f64() - mean) * (v.to_f64() - mean)) / n;
        (mean, 1.0 / (var + eps).sqrt())
    } else {
        let ms = sum_f64(s, |v| v.to_f64() * v.to_f64()) / n;
        (0.0, 1.0 / (ms + eps).sqrt())
    }
}

/// `y = (x - mean) · inv · scale + bias` over one group, element by element in f64.
fn affine_row<T: HostElem, P: Copy + Into<f64>>(
    y: &mut [T],
    x: &[T],
    (mean, inv): (f64, f64),
    scale: &[P],
    bias: Option<&[P]>,
) {
    match bias {
        Some(b) => {
            for (((o, &v), &s), &bb) in y.iter_mut().zip(x).zip(scale).zip(b) {
                *o = T::from_f64((v.to_f64() - mean) * inv * s.into() + bb.into());
            }
        }
        None => {
            for ((o, &v), &s) in y.iter_mut().zip(x).zip(scale) {
                *o = T::from_f64((v.to_f64() - mean) * inv * s.into());
            }
        }
    }
}

/// Normalise `groups` contiguous groups of `len` elements: centred (mean/variance) or RMS.
/// Returns the output values and each group's (mean, 1/std).
fn norm_groups<T: HostElem>(
    xs: &[T],
    groups: usize,
    len: usize,
    eps: f64,
    center: bool,
    aff: &Affine,
) -> (Vec<T>, Vec<(f64, f64)>) {
    let stats: Vec<(f64, f64)> = (0..groups)
        .into_par_iter()
        .with_min_len(1.max(65536 / len.max(1)))
        .map(|g| group_stat(&xs[g * len..(g + 1) * len], eps, center))
        .collect();
    let mut out = vec![T::zero(); xs.len()];
    let rep = aff.rep.max(1);
    for_rows(&mut out, len, xs.len(), |g, y| {
        let (mean, inv) = stats[g];
        // Index of the parameter of the group's first element.
        let base = (g % aff.cycle.max(1)) * len / rep;
        let x = &xs[g * len..(g + 1) * len];
        if rep == 1 {
            let bias = aff.bias.as_deref().map(|b| &b[base..base + len]);
            affine_row(y, x, (mean, inv), &aff.scale[base..base + len], bias);
            return;
        }
        for (j, (yr, xr)) in y.chunks_mut(rep).zip(x.chunks(rep)).enumerate() {
            let p = base + j;
            let sc = aff.scale[p] * inv;
            let b = aff.bias.as_ref().map_or(0.0, |b| b[p]);
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = T::from_f64((v.to_f64() - mean) * sc + b);
            }
        }
    });
    (out, stats)
}

/// [`norm_groups`] on a float tensor; the output has `x`'s dtype and shape.
fn run_groups(
    op: &str,
    x: &Tensor,
    (groups, len): (usize, usize),
    eps: f32,
    center: bool,
    aff: &Affine,
) -> Result<(Tensor, Vec<(f64, f64)>)> {
    fn go<T: HostElem>(
        x: &Tensor,
        dims: (usize, usize),
        eps: f64,
        center: bool,
        aff: &Affine,
    ) -> Result<(TensorData, Vec<(f64, f64)>)> {
        let (y, st) = norm_groups(x.as_slice::<T>()?, dims.0, dims.1, eps, center, aff);
        Ok((T::wrap(y), st))
    }
    let (data, st) = crate::dispatch_float!(x.dtype(), go(x, (groups, len), eps as f64, center, aff),
        other => Err(KernelError::unsupported(op, format!("input dtype {}", x.dtype()))))?;
    Ok((Tensor::new(x.shape().to_vec(), data)?, st))
}

/// A parameter broadcast (unidirectionally) to `shape`, flattened.
fn broadcast_param(op: &str, t: &Tensor, shape: &[usize]) -> Result<Vec<f64>> {
    let ok = t.rank() <= shape.len()
        && t.shape()
            .iter()
            .rev()
            .zip(shape.iter().rev())
            .all(|(&a, &b)| a == b || a == 1);
    if !ok {
        return Err(KernelError::invalid(
            op,
            format!("parameter shape {:?} does not broadcast to {shape:?}", t.shape()),
        ));
    }
    let v = t.to_f64_vec()?;
    if t.shape() == shape {
        return Ok(v);
    }
    let st = broadcast_strides(t.shape(), shape);
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(shape, [&st], |[i]| out.push(v[i]));
    Ok(out)
}

/// LayerNormalization (`center`) and RMSNormalization over the dims from `axis` on.
fn trailing_norm(
    op: &str,
    x: &Tensor,
    inputs: &[Option<&Tensor>],
    axis: i64,
    eps: f32,
    center: bool,
) -> Result<Vec<Tensor>> {
    let a = norm_axis(op, axis, x.rank())?;
    let shape = x.shape();
    let groups: usize = shape[..a].iter().product();
    let len: usize = shape[a..].iter().product();
    if let Some(outs) = trailing_norm_f32(x, inputs, (a, groups, len), eps, center)? {
        return Ok(outs);
    }
    let scale = broadcast_param(op, req(op, inputs, 1)?, &shape[a..])?;
    let bias = if center {
        opt(inputs, 2)
            .map(|b| broadcast_param(op, b, &shape[a..]))
            .transpose()?
    } else {
        None
    };
    let aff = Affine {
        scale,
        bias,
        cycle: 1,
        rep: 1,
    };
    let (y, stats) = run_groups(op, x, (groups, len), eps, center, &aff)?;
    if !center {
        return Ok(vec![y]);
    }
    let stat_shape: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if i < a { d } else { 1 })
        .collect();
    let mean = Tensor::from_vec(stat_shape.clone(), stats.iter().map(|s| s.0 as f32).collect())?;
    let inv = Tensor::from_vec(stat_shape, stats.iter().map(|s| s.1 as f32).collect())?;
    Ok(vec![y, mean, inv])
}

/// [`trailing_norm`] for f32 tensors whose scale (and bias) have exactly the normalised
/// dims: the same arithmetic as the generic path (f64 statistics), without converting the
/// parameters, and with every output in recycled storage. `None` for any other case.
fn trailing_norm_f32(
    x: &Tensor,
    inputs: &[Option<&Tensor>],
    (a, groups, len): (usize, usize, usize),
    eps: f32,
    center: bool,
) -> Result<Option<Vec<Tensor>>> {
    let shape = x.shape();
    fn param<'t>(t: Option<&'t Tensor>, dims: &[usize]) -> Option<&'t [f32]> {
        t.filter(|t| t.shape() == dims).and_then(|t| t.as_slice::<f32>().ok())
    }
    let param = |t| param(t, &shape[a..]);
    let (Ok(xs), Some(scale)) = (x.as_slice::<f32>(), param(opt(inputs, 1))) else {
        return Ok(None);
    };
    let bias = match (center, opt(inputs, 2)) {
        (true, Some(b)) => match param(Some(b)) {
            Some(b) => Some(b),
            None => return Ok(None),
        },
        _ => None,
    };
    let eps = eps as f64;
    let mut mean = crate::buffers::zeroed::<f64>(groups);
    let mut inv = crate::buffers::zeroed::<f64>(groups);
    mean.par_iter_mut()
        .zip(inv.par_iter_mut())
        .enumerate()
        .with_min_len(1.max(65536 / len.max(1)))
        .for_each(|(g, (m, i))| (*m, *i) = group_stat(&xs[g * len..(g + 1) * len], eps, center));
    let mut out = crate::buffers::zeroed::<f32>(xs.len());
    for_rows(&mut out, len, xs.len(), |g, y| {
        affine_row(y, &xs[g * len..(g + 1) * len], (mean[g], inv[g]), scale, bias)
    });
    let y = Tensor::from_vec(crate::buffers::dims(shape), out)?;
    let mut outs = crate::buffers::one(y);
    if center {
        let mut stat_shape = crate::buffers::dims(shape);
        stat_shape[a..].fill(1);
        let mut m32 = crate::buffers::with_capacity::<f32>(groups);
        m32.extend(mean.iter().map(|&v| v as f32));
        let mut i32 = crate::buffers::with_capacity::<f32>(groups);
        i32.extend(inv.iter().map(|&v| v as f32));
        outs.push(Tensor::from_vec(stat_shape, m32)?);
        outs.push(Tensor::from_vec(crate::buffers::dims(outs[1].shape()), i32)?);
    }
    crate::buffers::give(mean);
    crate::buffers::give(inv);
    Ok(Some(outs))
}

/// InstanceNormalization: groups are (sample, channel), scale/bias per channel.
fn instance_norm(op: &str, x: &Tensor, inputs: &[Option<&Tensor>], eps: f32) -> Result<Vec<Tensor>> {
    let (n, c, sp) = nc_spatial(op, x)?;
    let scale = channel_param(op, req(op, inputs, 1)?, c, "scale")?;
    let bias = Some(channel_param(op, req(op, inputs, 2)?, c, "bias")?);
    let aff = Affine {
        scale,
        bias,
        cycle: c,
        rep: sp,
    };
    Ok(vec![run_groups(op, x, (n * c, sp), eps, true, &aff)?.0])
}

/// GroupNormalization: groups are (sample, channel group).
fn group_norm(
    op: &str,
    x: &Tensor,
    inputs: &[Option<&Tensor>],
    g: usize,
    eps: f32,
    per_channel: bool,
) -> Result<Vec<Tensor>> {
    let (n, c, sp) = nc_spatial(op, x)?;
    if g == 0 || c % g != 0 {
        return Err(KernelError::invalid(
            op,
            format!("{c} channels cannot be split into {g} groups"),
        ));
    }
    let per = if per_channel { c } else { g };
    let scale = channel_param(op, req(op, inputs, 1)?, per, "scale")?;
    let bias = Some(channel_param(op, req(op, inputs, 2)?, per, "bias")?);
    let len = c / g * sp;
    let aff = Affine {
        scale,
        bias,
        cycle: g,
        rep: if per_channel { sp } else { len },
    };
    Ok(vec![run_groups(op, x, (n * g, len), eps, true, &aff)?.0])
}

/// BatchNormalization in inference or training mode.
fn batch_norm(
    op: &str,
    x: &Tensor,
    inputs: &[Option<&Tensor>],
    eps: f32,
    momentum: f32,
    training: bool,
) -> Result<Vec<Tensor>> {
    let (n, c, sp) = nc_spatial(op, x)?;
    let scale = channel_param(op, req(op, inputs, 1)?, c, "scale")?;
    let bias = channel_param(op, req(op, inputs, 2)?, c, "B")?;
    let in_mean = req(op, inputs, 3)?;
    let in_var = req(op, inputs, 4)?;
    let mut mean = channel_param(op, in_mean, c, "input_mean")?;
    let mut var = channel_param(op, in_var, c, "input_var")?;
    let mut running = None;
    if training {
        let xs = x.to_f64_vec()?;
        // Batch statistics per channel over N and the spatial dims.
        let cnt = (n * sp) as f64;
        let (bm, bv): (Vec<f64>, Vec<f64>) = (0..c)
            .map(|ch| {
                let blocks = || (0..n).flat_map(|i| xs[(i * c + ch) * sp..(i * c + ch + 1) * sp].iter());
                let m = blocks().sum::<f64>() / cnt;
                let v = blocks().map(|&v| (v - m) * (v - m)).sum::<f64>() / cnt;
                (m, v)
            })
            .unzip();
        let mo = momentum as f64;
        let rm: Vec<f64> = mean.iter().zip(&bm).map(|(&r, &b)| r * mo + b * (1.0 - mo)).collect();
        let rv: Vec<f64> = var.iter().zip(&bv).map(|(&r, &b)| r * mo + b * (1.0 - mo)).collect();
        running = Some((rm, rv));
        mean = bm;
        var = bv;
    }
    let mul: Vec<f64> = (0..c).map(|ch| scale[ch] / (var[ch] + eps as f64).sqrt()).collect();
    let add: Vec<f64> = (0..c).map(|ch| bias[ch] - mean[ch] * mul[ch]).collect();
    let mut out = vec![channel_affine(op, x, c, sp, &mul, &add)?];
    if let Some((rm, rv)) = running {
        out.push(from_f64(op, in_mean.dtype(), in_mean.shape().to_vec(), rm)?);
        out.push(from_f64(op, in_var.dtype(), in_var.shape().to_vec(), rv)?);
    }
    Ok(out)
}

/// `y = x * mul[c] + add[c]` over a `[N, C, spatial]` float tensor, in its own dtype.
fn channel_affine(op: &str, x: &Tensor, c: usize, sp: usize, mul: &[f64], add: &[f64]) -> Result<Tensor> {
    if x.dtype() == DType::F32 {
        let (m, a): (Vec<f32>, Vec<f32>) = mul.iter().zip(add).map(|(&m, &a)| (m as f32, a as f32)).unzip();
        let y = fast::channel_affine(x.as_slice::<f32>()?, c, sp, &m, &a);
        return Tensor::from_vec(x.shape().to_vec(), y);
    }
    fn go<T: HostElem>(x: &Tensor, c: usize, sp: usize, mul: &[f64], add: &[f64]) -> Result<TensorData> {
        let xs = x.as_slice::<T>()?;
        let mut y = vec![T::zero(); xs.len()];
        for_rows(&mut y, sp, xs.len(), |g, row| {
            let (m, a) = (mul[g % c], add[g % c]);
            for (o, &v) in row.iter_mut().zip(&xs[g * sp..(g + 1) * sp]) {
                *o = T::from_f64(v.to_f64() * m + a);
            }
        });
        Ok(T::wrap(y))
    }
    let data = crate::dispatch_float!(x.dtype(), go(x, c, sp, mul, add),
        other => Err(KernelError::unsupported(op, format!("input dtype {}", x.dtype()))))?;
    Tensor::new(x.shape().to_vec(), data)
}

/// LRN: each element divided by `(bias + alpha/size * Σ x²)^beta` over a channel window.
fn lrn(op: &str, x: &Tensor, size: usize, alpha: f64, beta: f64, bias: f64) -> Result<Vec<Tensor>> {
    let (_, c, sp) = nc_spatial(op, x)?;
    if size == 0 {
        return Err(KernelError::invalid(op, "size must be positive"));
    }
    if x.dtype() == DType::F32 {
        let xs = x.as_slice::<f32>()?;
        if xs.iter().all(|v| v.is_finite()) {
            let p = fast::Lrn {
                size,
                alpha,
                beta,
                bias,
            };
            return Ok(crate::buffers::one(crate::buffers::tensor(
                x.shape(),
                fast::lrn(xs, c, sp, p),
            )?));
        }
    }
    let lo = (size - 1) / 2;
    let hi = size - 1 - lo;
    let xs = x.to_f64_vec()?;
    let mut y = vec![0.0; xs.len()];
    for_rows(&mut y, sp.max(1), xs.len() * size, |g, row| {
        let (i, ch) = (g / c, g % c);
        let (from, to) = (ch.saturating_sub(lo), (ch + hi).min(c - 1));
        let mut sq = vec![0.0; sp];
        for cc in from..=to {
            let src = &xs[(i * c + cc) * sp..(i * c + cc + 1) * sp];
            sq.iter_mut().zip(src).for_each(|(s, &v)| *s += v * v);
        }
        let src = &xs[g * sp..(g + 1) * sp];
        for ((o, &v), &s) in row.iter_mut().zip(src).zip(&sq) {
            *o = v / (bias + alpha / size as f64 * s).powf(beta);
        }
    });
    Ok(vec![from_f64(op, x.dtype(), x.shape().to_vec(), y)?])
}

/// LpNormalization: divide by the L1 or L2 norm along `axis` (zero norms give zeros).
fn lp_norm(op: &str, x: &Tensor, axis: i64, p: i64) -> Result<Vec<Tensor>> {
    if p != 1 && p != 2 {
        return Err(KernelError::unsupported(op, format!("p = {p} (only 1 and 2)")));
    }
    let a = norm_axis(op, axis, x.rank())?;
    let (_, n, inner) = split_at_axis(x.shape(), a);
    let xs = x.to_f64_vec()?;
    let mut y = vec![0.0; xs.len()];
    for_rows(&mut y, (n * inner).max(1), xs.len(), |o, out| {
        let src = &xs[o * n * inner..(o + 1) * n * inner];
        let mut norm = vec![0.0f64; inner];
        for row in src.chunks_exact(inner.max(1)) {
            norm.iter_mut()
                .zip(row)
                .for_each(|(s, &v)| *s += if p == 1 { v.abs() } else { v * v });
        }
        if p == 2 {
            norm.iter_mut().for_each(|s| *s = s.sqrt());
        }
        for (orow, row) in out.chunks_exact_mut(inner.max(1)).zip(src.chunks_exact(inner.max(1))) {
            for ((o, &v), &s) in orow.iter_mut().zip(row).zip(&norm) {
                *o = if s == 0.0 { 0.0 } else { v / s };
            }
        }
    });
    Ok(vec![from_f64(op, x.dtype(), x.shape().to_vec(), y)?])
}

/// MeanVarianceNormalization: `(x - E[x]) / (sqrt(E[x²] - E[x]²) + 1e-9)` over `axes`.
fn mvn(op: &str, x: &Tensor, axes: &[i64]) -> Result<Vec<Tensor>> {
    let rank = x.rank();
    let mut red = axes
        .iter()
        .map(|&a| norm_axis(op, a, rank))
        .collect::<Result<Vec<_>>>()?;
    red.sort_unstable();
    red.dedup();
    let x64 = Tensor::from_vec(x.shape().to_vec(), x.to_f64_vec()?)?;
    let sq = Tensor::from_vec(
        x.shape().to_vec(),
        x64.as_slice::<f64>()?.iter().map(|v| v * v).collect(),
    )?;
    let mean = reduce_tensor(op, ReduceKind::Mean, &x64, &red, true)?;
    let mean_sq = reduce_tensor(op, ReduceKind::Mean, &sq, &red, true)?;
    let (m, m2) = (mean.as_slice::<f64>()?, mean_sq.as_slice::<f64>()?);
    let st = broadcast_strides(mean.shape(), x.shape());
    let xs = x64.as_slice::<f64>()?;
    let mut y = Vec::with_capacity(xs.len());
    let mut k = 0;
    for_each_offset(x.shape(), [&st], |[i]| {
        let std = (m2[i] - m[i] * m[i]).sqrt();
        y.push((xs[k] - m[i]) / (std + 1e-9));
        k += 1;
    });
    Ok(vec![from_f64(op, x.dtype(), x.shape().to_vec(), y)?])
}
