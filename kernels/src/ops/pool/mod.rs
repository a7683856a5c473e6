//! PoolOp family: MaxPool (with Indices), AveragePool, LpPool, their global forms, MaxUnpool.
//!
//! Windows use the conv geometry (`ops::conv::geom`), normalised to 3 spatial dims. f32 Max and
//! Average pools of at most two spatial dims (without Indices) and the f32 global Max / Average
//! pools run the kernels in `fast`; everything else is pooled in f64 and stored back in the input
//! dtype (exact for every supported input type).

mod fast;
#[cfg(test)]
mod tests;

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::ops::conv::geom::{Geom, Window};
use crate::ops::linalg::gemm::store_f64;
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{const_val, req, req_ty};
use rayon::prelude::*;

/// The pooling ops.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolOp {
    /// Max over each window; optionally also the flat index of the maximum.
    MaxPool {
        /// Window (kernel_shape required).
        window: Window,
        /// Round the output extent up.
        ceil_mode: bool,
        /// Indices in column-major spatial order (`storage_order = 1`).
        col_major: bool,
        /// Whether the node asks for the Indices output.
        with_indices: bool,
    },
    /// Mean over each window.
    AveragePool {
        /// Window (kernel_shape required).
        window: Window,
        /// Round the output extent up.
        ceil_mode: bool,
        /// Count padded positions in the divisor.
        count_include_pad: bool,
    },
    /// `(Σ|x|^p)^(1/p)` over each window.
    LpPool {
        /// Window (kernel_shape required).
        window: Window,
        /// Round the output extent up.
        ceil_mode: bool,
        /// The norm's exponent.
        p: f32,
    },
    /// Mean over all spatial dims.
    GlobalAveragePool,
    /// Max over all spatial dims.
    GlobalMaxPool,
    /// Lp norm over all spatial dims.
    GlobalLpPool {
        /// The norm's exponent.
        p: f32,
    },
    /// Scatter values back to the positions recorded by MaxPool's Indices.
    MaxUnpool {
        /// Window of the MaxPool being inverted (kernel_shape required).
        window: Window,
    },
}

/// What a windowed pool computes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Max,
    Avg { include_pad: bool },
    Lp(f64),
}

/// Per spatial dim, per output index: the valid input indices and how many window positions
/// fall inside the explicitly padded range.
struct Taps {
    idx: [Vec<Vec<usize>>; 3],
    padded: [Vec<usize>; 3],
}

fn taps(g: &Geom) -> Taps {
    let mut idx: [Vec<Vec<usize>>; 3] = Default::default();
    let mut padded: [Vec<usize>; 3] = Default::default();
    for j in 0..3 {
        for o in 0..g.out[j] {
            let start = (o * g.s[j]) as isize - g.pb[j];
            let mut v = Vec::new();
            let mut cnt = 0;
            for k in 0..g.k[j] {
                let i = start + (k * g.d[j]) as isize;
                if i >= -g.pb[j] && i < g.inp[j] as isize + g.pe[j] {
                    cnt += 1;
                }
                if i >= 0 && (i as usize) < g.inp[j] {
                    v.push(i as usize);
                }
            }
            idx[j].push(v);
            padded[j].push(cnt);
        }
    }
    Taps { idx, padded }
}

/// Pool one `(n, c)` plane; writes values and (for max) flat spatial argmax indices.
fn pool_plane(x: &[f64], g: &Geom, t: &Taps, kind: Kind, out: &mut [f64], arg: &mut [i64], col_major: bool) {
    let (ih, iw) = (g.inp[1], g.inp[2]);
    let mut p = 0;
    for od in 0..g.out[0] {
        for oh in 0..g.out[1] {
            for ow in 0..g.out[2] {
                let (ld, lh, lw) = (&t.idx[0][od], &t.idx[1][oh], &t.idx[2][ow]);
                let n = ld.len() * lh.len() * lw.len();
                match kind {
                    Kind::Max => {
                        let mut best = f64::NEG_INFINITY;
                        let mut bi = -1i64;
                        for &d in ld {
                            for &h in lh {
                                for &w in lw {
                                    let v = x[(d * ih + h) * iw + w];
                                    if bi < 0 || v > best {
                                        best = v;
                                        bi = if col_major {
                                            (d + h * g.inp[0] + w * g.inp[0] * ih) as i64
                                        } else {
                                            ((d * ih + h) * iw + w) as i64
                                        };
                                    }
                                }
                            }
                        }
                        out[p] = best;
                        if let Some(a) = arg.get_mut(p) {
                            *a = bi;
                        }
                    }
                    Kind::Avg { include_pad } => {
                        let mut s = 0.0;
                        for &d in ld {
                            for &h in lh {
                                for &w in lw {
                                    s += x[(d * ih + h) * iw + w];
                                }
                            }
                        }
                        let cnt = if include_pad {
                            t.padded[0][od] * t.padded[1][oh] * t.padded[2][ow]
                        } else {
                            n
                        };
                        out[p] = if cnt == 0 { f64::NAN } else { s / cnt as f64 };
                    }
                    Kind::Lp(pw) => {
                        let mut s = 0.0;
                        for &d in ld {
                            for &h in lh {
                                for &w in lw {
                                    s += x[(d * ih + h) * iw + w].abs().powf(pw);
                                }
                            }
                        }
                        out[p] = s.powf(1.0 / pw);
                    }
                }
                p += 1;
            }
        }
    }
}

/// Check a pool input: `[N, C, spatial...]` of an allowed dtype.
fn check_input(op: &str, x: &Tensor, ints_ok: bool) -> Result<()> {
    let dt = x.dtype();
    if !(dt.is_float() || ints_ok && matches!(dt, DType::U8 | DType::I8)) {
        return Err(KernelError::invalid(op, format!("unsupported input dtype {dt}")));
    }
    if x.rank() < 3 {
        return Err(KernelError::invalid(
            op,
            format!("input must be [N, C, spatial...], got {:?}", x.shape()),
        ));
    }
    Ok(())
}

/// Windowed pooling of `x`; returns values and, for max pooling, the Indices tensor.
fn run_window(
    op: &str,
    x: &Tensor,
    w: &Window,
    ceil_mode: bool,
    kind: Kind,
    col_major: bool,
    want_idx: bool,
) -> Result<Vec<Tensor>> {
    check_input(op, x, kind == Kind::Max)?;
    let kernel = w
        .kernel_shape
        .as_ref()
        .ok_or_else(|| KernelError::invalid(op, "kernel_shape is required"))?;
    let g = w.resolve(op, &x.shape()[2..], kernel, ceil_mode)?;
    let planes = x.shape()[0] * x.shape()[1];
    let mut shape = crate::buffers::dims(&x.shape()[..2]);
    shape.extend_from_slice(g.out_slice());
    let fast_kind = match kind {
        Kind::Max => Some(fast::FastKind::Max),
        Kind::Avg { include_pad } => Some(fast::FastKind::Avg { include_pad }),
        Kind::Lp(_) => None,
    };
    if let (Some(fk), DType::F32, false) = (fast_kind, x.dtype(), want_idx) {
        if fast::supports(&g) {
            let y = fast::pool2d(x.as_slice::<f32>()?, planes, &g, fk);
            return Ok(crate::buffers::one(Tensor::from_vec(shape, y)?));
        }
    }
    let t = taps(&g);
    let (isz, osz) = (g.in_size(), g.out_size());
    let xv = x.to_f64_vec()?;
    let mut out = vec![0.0f64; planes * osz];
    let mut arg = vec![0i64; if want_idx { planes * osz } else { 0 }];
    if osz > 0 && isz > 0 {
        let plane = |pi: usize, o: &mut [f64], a: &mut [i64]| {
            pool_plane(&xv[pi * isz..(pi + 1) * isz], &g, &t, kind, o, a, col_major);
            // Indices are flat over the whole input tensor.
            a.iter_mut().for_each(|v| *v += (pi * isz) as i64);
        };
        if want_idx {
            out.par_chunks_mut(osz)
                .zip(arg.par_chunks_mut(osz))
                .enumerate()
                .for_each(|(pi, (o, a))| plane(pi, o, a));
        } else {
            out.par_chunks_mut(osz)
                .enumerate()
                .for_each(|(pi, o)| plane(pi, o, &mut []));
        }
    }
    let mut res = vec![store_f64(out, x.dtype(), shape.clone())?];
    if want_idx {
        res.push(Tensor::from_vec(shape, arg)?);
    }
    Ok(res)
}

/// Global pooling: reduce every spatial dim to 1.
fn run_global(op: &str, x: &Tensor, kind: Kind) -> Result<Tensor> {
    check_input(op, x, false)?;
    let planes = x.shape()[0] * x.shape()[1];
    let sz: usize = x.shape()[2..].iter().product();
    let mut shape = crate::buffers::dims(&x.shape()[..2]);
    shape.extend(std::iter::repeat_n(1, x.rank() - 2));
    if x.dtype() == DType::F32 && matches!(kind, Kind::Max | Kind::Avg { .. }) {
        let y = fast::global(x.as_slice::<f32>()?, planes, sz, kind == Kind::Max);
        return Tensor::from_vec(shape, y);
    }
    let xv = x.to_f64_vec()?;
    let out: Vec<f64> = (0..planes)
        .map(|p| {
            let v = &xv[p * sz..(p + 1) * sz];
            match kind {
                Kind::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Kind::Avg { .. } => v.iter().sum::<f64>() / sz as f64,
                Kind::Lp(pw) => v.iter().map(|a| a.abs().powf(pw)).sum::<f64>().powf(1.0 / pw),
            }
        })
        .collect();
    store_f64(out, x.dtype(), shape)
}

/// The shape MaxUnpool infers from X's spatial dims: `(in-1)·s - pads + k`.
fn unpool_shape(op: &str, w: &Window, xs: &[usize]) -> Result<Vec<usize>> {
    let nd = xs.len().saturating_sub(2);
    let k = w
        .kernel_shape
        .as_ref()
        .ok_or_else(|| KernelError::invalid(op, "kernel_shape is required"))?;
    if xs.len() < 3 || k.len() != nd {
        return Err(KernelError::invalid(
            op,
            format!("input {xs:?} does not fit kernel {k:?}"),
        ));
    }
    let mut out = xs[..2].to_vec();
    for i in 0..nd {
        let s = w.strides.get(i).copied().unwrap_or(1);
        let (pb, pe) = if w.pads.len() == 2 * nd {
            (w.pads[i], w.pads[nd + i])
        } else {
            (0, 0)
        };
        let v = (xs[2 + i].max(1) - 1) * s + k[i];
        out.push(
            v.checked_sub(pb + pe)
                .ok_or_else(|| KernelError::invalid(op, "pads exceed the unpooled extent"))?,
        );
    }
    Ok(out)
}

fn run_unpool(w: &Window, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "MaxUnpool";
    let (x, idx) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?);
    if idx.shape() != x.shape() {
        return Err(KernelError::invalid(
            OP,
            format!("indices shape {:?} differs from X {:?}", idx.shape(), x.shape()),
        ));
    }
    let inferred = unpool_shape(OP, w, x.shape())?;
    let total: usize = inferred.iter().product();
    let mut y = vec![0.0f64; total];
    for (v, i) in x.to_f64_vec()?.into_iter().zip(idx.to_i64_vec()?) {
        let i = usize::try_from(i)
            .ok()
            .filter(|&i| i < total)
            .ok_or_else(|| KernelError::invalid(OP, format!("index {i} is out of range for {inferred:?}")))?;
        y[i] = v;
    }
    let out_shape = match inputs.get(2).copied().flatten() {
        None => inferred.clone(),
        Some(s) => s
            .to_i64_vec()?
            .into_iter()
            .map(|v| {
                usize::try_from(v).map_err(|_| KernelError::invalid(OP, format!("negative output_shape value {v}")))
            })
            .collect::<Result<Vec<_>>>()?,
    };
    if out_shape.len() != inferred.len() {
        return Err(KernelError::invalid(
            OP,
            format!("output_shape {out_shape:?} has the wrong rank"),
        ));
    }
    if out_shape == inferred {
        return store_f64(y, x.dtype(), out_shape);
    }
    // Place the unpooled block at the origin of the requested shape (as the ONNX reference does).
    let common: Vec<usize> = out_shape.iter().zip(&inferred).map(|(a, b)| *a.min(b)).collect();
    let mut out = vec![0.0f64; out_shape.iter().product()];
    let (so, si) = (crate::shape::strides(&out_shape), crate::shape::strides(&inferred));
    crate::shape::for_each_offset(&common, [&so, &si], |[o, i]| out[o] = y[i]);
    store_f64(out, x.dtype(), out_shape)
}

/// Output type of a windowed pool.
fn infer_window(op: &str, x: &TensorType, w: &Window, ceil_mode: bool) -> Result<TensorType> {
    let Some(xs) = x.shape.as_ref() else {
        return Ok(TensorType::unknown(x.dtype));
    };
    if xs.len() < 3 {
        return Err(KernelError::invalid(
            op,
            format!("input must be [N, C, spatial...], got {x}"),
        ));
    }
    let k = w
        .kernel_shape
        .as_ref()
        .ok_or_else(|| KernelError::invalid(op, "kernel_shape is required"))?;
    let mut shape = xs[..2].to_vec();
    shape.extend(w.infer_out(op, &xs[2..], k, ceil_mode)?);
    Ok(TensorType {
        dtype: x.dtype,
        shape: Some(shape),
    })
}

impl OpImpl for PoolOp {
    fn name(&self) -> &'static str {
        match self {
            PoolOp::MaxPool { .. } => "MaxPool",
            PoolOp::AveragePool { .. } => "AveragePool",
            PoolOp::LpPool { .. } => "LpPool",
            PoolOp::GlobalAveragePool => "GlobalAveragePool",
            PoolOp::GlobalMaxPool => "GlobalMaxPool",
            PoolOp::GlobalLpPool { .. } => "GlobalLpPool",
            PoolOp::MaxUnpool { .. } => "MaxUnpool",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let op = self.name();
        let x = req_ty(op, inputs, 0)?;
        match self {
            PoolOp::MaxPool {
                window,
                ceil_mode,
                with_indices,
                ..
            } => {
                let y = infer_window(op, x, window, *ceil_mode)?;
                let mut out = vec![y.clone()];
                if *with_indices {
                    out.push(TensorType {
                        dtype: DType::I64,
                        shape: y.shape,
                    });
                }
                Ok(out)
            }
            PoolOp::AveragePool { window, ceil_mode, .. } | PoolOp::LpPool { window, ceil_mode, .. } => {
                Ok(vec![infer_window(op, x, window, *ceil_mode)?])
            }
            PoolOp::GlobalAveragePool | PoolOp::GlobalMaxPool | PoolOp::GlobalLpPool { .. } => {
                let shape = x.shape.as_ref().map(|s| {
                    s.iter()
                        .enumerate()
                        .map(|(i, d)| if i < 2 { d.clone() } else { Dim::Known(1) })
                        .collect()
                });
                Ok(vec![TensorType { dtype: x.dtype, shape }])
            }
            PoolOp::MaxUnpool { window } => {
                if let Some(os) = const_val(inputs, 2) {
                    let v: Vec<usize> = os.to_i64_vec()?.into_iter().map(|d| d.max(0) as usize).collect();
                    return Ok(vec![TensorType::known(x.dtype, &v)]);
                }
                if inputs.get(2).is_some_and(|i| i.ty.is_some()) {
                    return Ok(vec![TensorType {
                        dtype: x.dtype,
                        shape: x.rank().map(|r| vec![Dim::Unknown; r]),
                    }]);
                }
                match x.concrete() {
                    Some(xs) => Ok(vec![TensorType::known(x.dtype, &unpool_shape(op, window, &xs)?)]),
                    None => Ok(vec![TensorType {
                        dtype: x.dtype,
                        shape: x.rank().map(|r| vec![Dim::Unknown; r]),
                    }]),
                }
            }
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let op = self.name();
        let x = req(op, inputs, 0)?;
        match self {
            PoolOp::MaxPool {
                window,
                ceil_mode,
                col_major,
                with_indices,
            } => run_window(op, x, window, *ceil_mode, Kind::Max, *col_major, *with_indices),
            PoolOp::AveragePool {
                window,
                ceil_mode,
                count_include_pad,
            } => run_window(
                op,
                x,
                window,
                *ceil_mode,
                Kind::Avg {
                    include_pad: *count_include_pad,
                },
                false,
                false,
            ),
            PoolOp::LpPool { window, ceil_mode, p } => {
                run_window(op, x, window, *ceil_mode, Kind::Lp(*p as f64), false, false)
            }
            PoolOp::GlobalAveragePool => Ok(crate::buffers::one(run_global(
                op,
                x,
                Kind::Avg { include_pad: false },
            )?)),
            PoolOp::GlobalMaxPool => Ok(crate::buffers::one(run_global(op, x, Kind::Max)?)),
            PoolOp::GlobalLpPool { p } => Ok(vec![run_global(op, x, Kind::Lp(*p as f64))?]),
            PoolOp::MaxUnpool { window } => Ok(vec![run_unpool(window, inputs)?]),
        }
    }

    fn flops(&self, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        let out: u64 = outputs.first().map_or(0, |s| s.iter().product::<usize>() as u64);
        match self {
            PoolOp::MaxPool { window, .. } | PoolOp::AveragePool { window, .. } | PoolOp::LpPool { window, .. } => {
                out * window
                    .kernel_shape
                    .as_ref()
                    .map_or(1, |k| k.iter().product::<usize>() as u64)
            }
            _ => inputs
                .first()
                .copied()
                .flatten()
                .map_or(out, |s| s.iter().product::<usize>() as u64),
        }
    }
}
