//! SignalOp family: `DFT` (opset 17 and 20), `STFT`, the `Hann`/`Hamming`/`Blackman` windows
//! and `MelWeightMatrix`. Transforms run in f64 (radix-2 FFT for power-of-two lengths, a
//! table-driven DFT otherwise) and round to the input dtype at the end.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{norm_axis, Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{const_val, opt, req, req_ty};
use rayon::prelude::*;
use std::f64::consts::PI;

/// The window functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// `sin²(πn/N)`.
    Hann,
    /// `25/46 − 21/46·cos(2πn/N)`.
    Hamming,
    /// `0.42 − 0.5·cos(2πn/N) + 0.08·cos(4πn/N)`.
    Blackman,
}

/// The signal ops.
#[derive(Clone, Debug, PartialEq)]
pub enum SignalOp {
    /// ONNX `DFT`. `axis` is the attribute (opset 17); `None` reads input 2 (opset 20, default −2).
    Dft {
        /// Inverse transform (scaled by 1/n).
        inverse: bool,
        /// Real-to-half-spectrum (forward) or half-spectrum-to-real (inverse).
        onesided: bool,
        /// Axis attribute of opset 17, or `None` for the opset-20 axis input.
        axis: Option<i64>,
    },
    /// ONNX `STFT` (opset 17).
    Stft {
        /// Return only the `n/2 + 1` non-redundant bins.
        onesided: bool,
    },
    /// ONNX `HannWindow` / `HammingWindow` / `BlackmanWindow` (opset 17).
    Window {
        /// Which window.
        kind: WindowKind,
        /// Periodic (length `size + 1`, truncated) instead of symmetric.
        periodic: bool,
        /// Output dtype.
        dtype: DType,
    },
    /// ONNX `MelWeightMatrix` (opset 17).
    MelWeightMatrix {
        /// Output dtype.
        dtype: DType,
    },
}

/// A complex number as (re, im).
type C = (f64, f64);

fn cmul(a: C, b: C) -> C {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// Precomputed transform of one length: twiddles `e^{sign·2πik/n}` for `k < n`.
struct Plan {
    n: usize,
    tw: Vec<C>,
}

impl Plan {
    fn new(n: usize, inverse: bool) -> Plan {
        let sign = if inverse { 1.0 } else { -1.0 };
        let tw = (0..n).map(|k| {
            let a = sign * 2.0 * PI * k as f64 / n as f64;
            (a.cos(), a.sin())
        });
        Plan { n, tw: tw.collect() }
    }

    /// Unscaled transform of `x` (length `n`) in place.
    fn run(&self, x: &mut Vec<C>) {
        let n = self.n;
        if n <= 1 {
            return;
        }
        if n.is_power_of_two() {
            self.radix2(x);
        } else {
            let out: Vec<C> = (0..n)
                .map(|k| {
                    let mut acc = (0.0, 0.0);
                    for (m, &v) in x.iter().enumerate() {
                        let w = self.tw[(k * m) % n];
                        let p = cmul(v, w);
                        acc.0 += p.0;
                        acc.1 += p.1;
                    }
                    acc
                })
                .collect();
            *x = out;
        }
    }

    /// Iterative radix-2 Cooley–Tukey.
    fn radix2(&self, x: &mut [C]) {
        let n = self.n;
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if j > i {
                x.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= n {
            let step = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..len / 2 {
                    let w = self.tw[k * step];
                    let a = x[start + k];
                    let b = cmul(x[start + k + len / 2], w);
                    x[start + k] = (a.0 + b.0, a.1 + b.1);
                    x[start + k + len / 2] = (a.0 - b.0, a.1 - b.1);
                }
            }
            len <<= 1;
        }
    }
}

/// Read a scalar integer input.
fn scalar_input(op: &str, inputs: &[Option<&Tensor>], i: usize, what: &str) -> Result<i64> {
    let t = req(op, inputs, i)?;
    t.scalar_i64().map_err(|_| KernelError::invalid(op, format!("{what} must be a scalar, found shape {:?}", t.shape())))
}

/// A positive length from an i64.
fn positive(op: &str, what: &str, v: i64) -> Result<usize> {
    if v <= 0 {
        return Err(KernelError::invalid(op, format!("{what} must be positive, found {v}")));
    }
    Ok(v as usize)
}

/// Resolve the DFT axis against the full input rank (the last dim holds re/im and is excluded).
fn dft_axis(axis: i64, rank: usize) -> Result<usize> {
    let a = norm_axis("DFT", axis, rank)?;
    if rank < 2 || a == rank - 1 {
        return Err(KernelError::invalid("DFT", format!("axis {axis} is not a signal axis of a rank-{rank} input")));
    }
    Ok(a)
}

/// Geometry of a DFT call: lanes `outer × inner` of length `len` along `axis`, `c` components.
struct Lanes {
    outer: usize,
    len: usize,
    inner: usize,
    c: usize,
}

impl Lanes {
    fn of(shape: &[usize], axis: usize) -> Lanes {
        let r = shape.len();
        Lanes {
            outer: shape[..axis].iter().product(),
            len: shape[axis],
            inner: shape[axis + 1..r - 1].iter().product(),
            c: shape[r - 1],
        }
    }
}

/// The DFT kernel over f64 data of `shape`; returns the output data and shape.
fn dft(x: &[f64], shape: &[usize], axis: usize, n: usize, inverse: bool, onesided: bool) -> Result<(Vec<f64>, Vec<usize>)> {
    let lanes = Lanes::of(shape, axis);
    if lanes.c != 1 && lanes.c != 2 {
        return Err(KernelError::invalid("DFT", format!("last dim must be 1 (real) or 2 (complex), found {}", lanes.c)));
    }
    if onesided && !inverse && lanes.c == 2 {
        return Err(KernelError::invalid("DFT", "onesided forward DFT needs real input"));
    }
    let Lanes { outer, len, inner, c } = lanes;
    let (out_len, out_c) = match (inverse, onesided) {
        (false, true) => (n / 2 + 1, 2),
        (true, true) => (n, 1),
        _ => (n, 2),
    };
    let plan = Plan::new(n, inverse);
    let scale = if inverse { 1.0 / n as f64 } else { 1.0 };
    // One lane per (outer, inner) pair, computed in parallel.
    let lanes_out: Vec<Vec<C>> = (0..outer * inner)
        .into_par_iter()
        .map(|l| {
            let (o, i) = (l / inner, l % inner);
            let at = |m: usize| -> C {
                let base = ((o * len + m) * inner + i) * c;
                (x[base], if c == 2 { x[base + 1] } else { 0.0 })
            };
            let mut buf = vec![(0.0, 0.0); n];
            if inverse && onesided {
                // Rebuild the Hermitian spectrum from the first n/2+1 bins.
                for k in 0..(n / 2 + 1).min(len) {
                    buf[k] = at(k);
                    if k > 0 && n - k > n / 2 {
                        let v = at(k);
                        buf[n - k] = (v.0, -v.1);
                    }
                }
            } else {
                for (m, b) in buf.iter_mut().enumerate().take(len.min(n)) {
                    *b = at(m);
                }
            }
            plan.run(&mut buf);
            buf.truncate(out_len);
            buf.iter_mut().for_each(|v| *v = (v.0 * scale, v.1 * scale));
            buf
        })
        .collect();
    let mut out = vec![0.0; outer * out_len * inner * out_c];
    for (l, lane) in lanes_out.iter().enumerate() {
        let (o, i) = (l / inner, l % inner);
        for (k, v) in lane.iter().enumerate() {
            let base = ((o * out_len + k) * inner + i) * out_c;
            out[base] = v.0;
            if out_c == 2 {
                out[base + 1] = v.1;
            }
        }
    }
    let mut oshape = shape.to_vec();
    oshape[axis] = out_len;
    oshape[shape.len() - 1] = out_c;
    Ok((out, oshape))
}

fn run_dft(inverse: bool, onesided: bool, axis_attr: Option<i64>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "DFT";
    let x = req(OP, inputs, 0)?;
    if !x.dtype().is_float() {
        return Err(KernelError::invalid(OP, format!("input must be float, found {}", x.dtype())));
    }
    let axis = match axis_attr {
        Some(a) => a,
        None => match opt(inputs, 2) {
            Some(t) => t.scalar_i64()?,
            None => -2,
        },
    };
    let axis = dft_axis(axis, x.rank())?;
    let len = x.shape()[axis];
    let n = match opt(inputs, 1) {
        Some(t) => positive(OP, "dft_length", t.scalar_i64()?)?,
        None if inverse && onesided => 2 * len.saturating_sub(1),
        None => len,
    };
    if n == 0 {
        return Err(KernelError::invalid(OP, "the transform length is zero"));
    }
    let (y, shape) = dft(&x.to_f64_vec()?, x.shape(), axis, n, inverse, onesided)?;
    Ok(vec![Tensor::from_vec(shape, y)?.cast(x.dtype())?])
}

fn run_stft(onesided: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "STFT";
    let x = req(OP, inputs, 0)?;
    let [b, l, c] = *x.shape() else {
        return Err(KernelError::invalid(OP, format!("signal must be [batch, length, 1|2], found {:?}", x.shape())));
    };
    if c != 1 && c != 2 {
        return Err(KernelError::invalid(OP, format!("signal's last dim must be 1 or 2, found {c}")));
    }
    if onesided && c == 2 {
        return Err(KernelError::invalid(OP, "onesided STFT needs a real signal"));
    }
    let step = positive(OP, "frame_step", scalar_input(OP, inputs, 1, "frame_step")?)?;
    let window = opt(inputs, 2).map(|w| w.to_f64_vec()).transpose()?;
    if let (Some(w), Some(wt)) = (&window, opt(inputs, 2)) {
        if wt.rank() != 1 || w.is_empty() {
            return Err(KernelError::invalid(OP, format!("window must be a non-empty vector, found {:?}", wt.shape())));
        }
    }
    let fl = match (opt(inputs, 3), &window) {
        (Some(t), w) => {
            let fl = positive(OP, "frame_length", t.scalar_i64()?)?;
            if w.as_ref().is_some_and(|w| w.len() != fl) {
                return Err(KernelError::invalid(OP, "frame_length differs from the window length"));
            }
            fl
        }
        (None, Some(w)) => w.len(),
        (None, None) => l,
    };
    if fl > l {
        return Err(KernelError::invalid(OP, format!("frame length {fl} exceeds the signal length {l}")));
    }
    let frames = 1 + (l - fl) / step;
    let xv = x.to_f64_vec()?;
    let bins = if onesided { fl / 2 + 1 } else { fl };
    let plan = Plan::new(fl, false);
    let mut out = vec![0.0; b * frames * bins * 2];
    out.par_chunks_mut(bins * 2).enumerate().for_each(|(bf, o)| {
        let (bi, f) = (bf / frames, bf % frames);
        let mut buf: Vec<C> = (0..fl)
            .map(|m| {
                let base = (bi * l + f * step + m) * c;
                let w = window.as_ref().map_or(1.0, |w| w[m]);
                (xv[base] * w, if c == 2 { xv[base + 1] * w } else { 0.0 })
            })
            .collect();
        plan.run(&mut buf);
        for (k, v) in buf.iter().take(bins).enumerate() {
            o[2 * k] = v.0;
            o[2 * k + 1] = v.1;
        }
    });
    Ok(vec![Tensor::from_vec(vec![b, frames, bins, 2], out)?.cast(x.dtype())?])
}

/// Window values of length `size`.
fn window(kind: WindowKind, periodic: bool, size: usize) -> Vec<f64> {
    let n1 = if periodic { size } else { size.saturating_sub(1) };
    if n1 == 0 {
        return vec![1.0; size];
    }
    let n1 = n1 as f64;
    (0..size)
        .map(|i| {
            let t = i as f64 / n1;
            match kind {
                WindowKind::Hann => (PI * t).sin().powi(2),
                WindowKind::Hamming => 25.0 / 46.0 - (21.0 / 46.0) * (2.0 * PI * t).cos(),
                WindowKind::Blackman => 0.42 - 0.5 * (2.0 * PI * t).cos() + 0.08 * (4.0 * PI * t).cos(),
            }
        })
        .collect()
}

/// The mel filter bank `[dft_length/2 + 1, num_mel_bins]` (HTK mel scale, triangular filters).
fn mel_weights(op: &str, mel: usize, dft_len: usize, rate: usize, lo: f64, hi: f64) -> Result<Vec<f64>> {
    let spec = dft_len / 2 + 1;
    let to_mel = |hz: f64| 2595.0 * (1.0 + hz / 700.0).log10();
    let (lm, hm) = (to_mel(lo), to_mel(hi));
    let step = (hm - lm) / (mel + 2) as f64;
    let bins: Vec<i64> = (0..mel + 2)
        .map(|i| {
            let hz = 700.0 * (10f64.powf((i as f64 * step + lm) / 2595.0) - 1.0);
            (((dft_len + 1) as f64 * hz) / rate as f64).floor() as i64
        })
        .collect();
    let mut out = vec![0.0; spec * mel];
    let idx = |j: i64| -> Result<usize> {
        usize::try_from(j)
            .ok()
            .filter(|&j| j < spec)
            .ok_or_else(|| KernelError::invalid(op, format!("mel band edge bin {j} is outside 0..{spec}")))
    };
    for i in 0..mel {
        let (l, ce, h) = (bins[i], bins[i + 1], bins[i + 2]);
        if ce == l {
            out[idx(ce)? * mel + i] = 1.0;
        } else {
            for j in l..=ce {
                out[idx(j)? * mel + i] = (j - l) as f64 / (ce - l) as f64;
            }
        }
        if h > ce {
            for j in ce..h {
                out[idx(j)? * mel + i] = (h - j) as f64 / (h - ce) as f64;
            }
        }
    }
    Ok(out)
}

fn run_mel(dtype: DType, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "MelWeightMatrix";
    let mel = positive(OP, "num_mel_bins", scalar_input(OP, inputs, 0, "num_mel_bins")?)?;
    let dft_len = positive(OP, "dft_length", scalar_input(OP, inputs, 1, "dft_length")?)?;
    let rate = positive(OP, "sample_rate", scalar_input(OP, inputs, 2, "sample_rate")?)?;
    let lo = req(OP, inputs, 3)?.scalar_f64()?;
    let hi = req(OP, inputs, 4)?.scalar_f64()?;
    if !(0.0..=hi).contains(&lo) {
        return Err(KernelError::invalid(OP, format!("need 0 <= lower_edge_hertz ({lo}) <= upper_edge_hertz ({hi})")));
    }
    let w = mel_weights(OP, mel, dft_len, rate, lo, hi)?;
    Ok(vec![Tensor::from_vec(vec![dft_len / 2 + 1, mel], w)?.cast(dtype)?])
}

/// A known non-negative scalar integer input value during inference.
fn const_scalar(inputs: &[InferInput], i: usize) -> Option<i64> {
    const_val(inputs, i).and_then(|t| t.scalar_i64().ok())
}

impl SignalOp {
    fn infer_dft(&self, inverse: bool, onesided: bool, axis: Option<i64>, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let x = req_ty("DFT", inputs, 0)?;
        let Some(dims) = &x.shape else { return Ok(vec![TensorType::unknown(x.dtype)]) };
        let axis = match axis {
            Some(a) => Some(a),
            None if inputs.get(2).is_some_and(|i| i.ty.is_some()) => const_scalar(inputs, 2),
            None => Some(-2),
        };
        let Some(axis) = axis else { return Ok(vec![TensorType::with_rank(x.dtype, dims.len())]) };
        let a = dft_axis(axis, dims.len())?;
        let n = if inputs.get(1).is_some_and(|i| i.ty.is_some()) {
            const_scalar(inputs, 1).filter(|&n| n > 0).map(|n| Dim::Known(n as usize)).unwrap_or(Dim::Unknown)
        } else if inverse && onesided {
            dims[a].known().map(|l| Dim::Known(2 * l.saturating_sub(1))).unwrap_or(Dim::Unknown)
        } else {
            dims[a].clone()
        };
        let mut out = dims.clone();
        out[a] = match (inverse, onesided, n.known()) {
            (false, true, Some(n)) => Dim::Known(n / 2 + 1),
            (false, true, None) => Dim::Unknown,
            _ => n,
        };
        let last = out.len() - 1;
        out[last] = Dim::Known(if inverse && onesided { 1 } else { 2 });
        Ok(vec![TensorType { dtype: x.dtype, shape: Some(out) }])
    }

    fn infer_stft(&self, onesided: bool, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let x = req_ty("STFT", inputs, 0)?;
        let sig = x.shape.as_ref().filter(|s| s.len() == 3);
        let len = sig.and_then(|s| s[1].known());
        let step = const_scalar(inputs, 1).filter(|&s| s > 0).map(|s| s as usize);
        let fl = match const_scalar(inputs, 3) {
            Some(f) if f > 0 => Some(f as usize),
            _ => match inputs.get(2).and_then(|i| i.ty) {
                Some(w) => w.concrete().and_then(|s| s.first().copied()),
                None if inputs.get(3).is_some_and(|i| i.ty.is_some()) => None,
                None => len,
            },
        };
        let frames = match (len, fl, step) {
            (Some(l), Some(f), Some(s)) if f <= l => Dim::Known(1 + (l - f) / s),
            _ => Dim::Unknown,
        };
        let bins = fl.map(|f| Dim::Known(if onesided { f / 2 + 1 } else { f })).unwrap_or(Dim::Unknown);
        let batch = sig.map(|s| s[0].clone()).unwrap_or(Dim::Unknown);
        Ok(vec![TensorType { dtype: x.dtype, shape: Some(vec![batch, frames, bins, Dim::Known(2)]) }])
    }
}

impl OpImpl for SignalOp {
    fn name(&self) -> &'static str {
        match self {
            SignalOp::Dft { .. } => "DFT",
            SignalOp::Stft { .. } => "STFT",
            SignalOp::Window { kind: WindowKind::Hann, .. } => "HannWindow",
            SignalOp::Window { kind: WindowKind::Hamming, .. } => "HammingWindow",
            SignalOp::Window { kind: WindowKind::Blackman, .. } => "BlackmanWindow",
            SignalOp::MelWeightMatrix { .. } => "MelWeightMatrix",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        match self {
            SignalOp::Dft { inverse, onesided, axis } => self.infer_dft(*inverse, *onesided, *axis, inputs),
            SignalOp::Stft { onesided } => self.infer_stft(*onesided, inputs),
            SignalOp::Window { dtype, .. } => {
                let n = const_scalar(inputs, 0).filter(|&n| n >= 0).map(|n| Dim::Known(n as usize));
                Ok(vec![TensorType { dtype: *dtype, shape: Some(vec![n.unwrap_or(Dim::Unknown)]) }])
            }
            SignalOp::MelWeightMatrix { dtype } => {
                let spec = const_scalar(inputs, 1).filter(|&n| n > 0).map(|n| Dim::Known(n as usize / 2 + 1));
                let mel = const_scalar(inputs, 0).filter(|&n| n > 0).map(|n| Dim::Known(n as usize));
                Ok(vec![TensorType {
                    dtype: *dtype,
                    shape: Some(vec![spec.unwrap_or(Dim::Unknown), mel.unwrap_or(Dim::Unknown)]),
                }])
            }
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        match self {
            SignalOp::Dft { inverse, onesided, axis } => run_dft(*inverse, *onesided, *axis, inputs),
            SignalOp::Stft { onesided } => run_stft(*onesided, inputs),
            SignalOp::Window { kind, periodic, dtype } => {
                let size = scalar_input(self.name(), inputs, 0, "size")?;
                let size = usize::try_from(size)
                    .map_err(|_| KernelError::invalid(self.name(), format!("size must be >= 0, found {size}")))?;
                Ok(vec![Tensor::from_vec(vec![size], window(*kind, *periodic, size))?.cast(*dtype)?])
            }
            SignalOp::MelWeightMatrix { dtype } => run_mel(*dtype, inputs),
        }
    }

    fn flops(&self, _inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        let n: u64 = outputs.iter().map(|s| s.iter().product::<usize>() as u64).sum();
        match self {
            SignalOp::Dft { .. } | SignalOp::Stft { .. } => n * 5 * 16,
            _ => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dft_op(inverse: bool, onesided: bool) -> SignalOp {
        SignalOp::Dft { inverse, onesided, axis: Some(1) }
    }

    #[test]
    fn dft_of_impulse_and_constant() {
        // x = [1, 2, 3, 4] real: X = [10, -2+2i, -2, -2-2i].
        let x = Tensor::from_vec(vec![1, 4, 1], vec![1f32, 2., 3., 4.]).unwrap();
        let y = dft_op(false, false).run(&[Some(&x)]).unwrap().remove(0);
        assert_eq!(y.shape(), &[1, 4, 2]);
        let v = y.as_slice::<f32>().unwrap();
        let want = [10., 0., -2., 2., -2., 0., -2., -2.];
        for (a, b) in v.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{v:?}");
        }
        // Non-power-of-two length, onesided: x = [1, 1, 1] → [3, 0].
        let x = Tensor::from_vec(vec![1, 3, 1], vec![1f64, 1., 1.]).unwrap();
        let y = dft_op(false, true).run(&[Some(&x)]).unwrap().remove(0);
        assert_eq!(y.shape(), &[1, 2, 2]);
        let v = y.as_slice::<f64>().unwrap();
        assert!((v[0] - 3.0).abs() < 1e-12 && v[1..].iter().all(|x| x.abs() < 1e-12));
    }

    #[test]
    fn inverse_round_trip_and_irfft() {
        let x = Tensor::from_vec(vec![1, 6, 1], vec![0.5f64, -1., 2., 3., 0.25, 7.]).unwrap();
        let f = dft_op(false, true).run(&[Some(&x)]).unwrap().remove(0);
        let back = dft_op(true, true).run(&[Some(&f)]).unwrap().remove(0);
        assert_eq!(back.shape(), &[1, 6, 1]);
        for (a, b) in back.as_slice::<f64>().unwrap().iter().zip(x.as_slice::<f64>().unwrap()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn windows_match_numpy() {
        // numpy.hanning(5) (symmetric) = [0, .5, 1, .5, 0].
        let w = window(WindowKind::Hann, false, 5);
        for (a, b) in w.iter().zip([0.0, 0.5, 1.0, 0.5, 0.0]) {
            assert!((a - b).abs() < 1e-12);
        }
        // Periodic blackman of 4: [0, 0.34, 1, 0.34] (≈ -1.4e-17 at 0).
        let w = window(WindowKind::Blackman, true, 4);
        assert!((w[1] - 0.34).abs() < 1e-12 && (w[2] - 1.0).abs() < 1e-12 && w[0].abs() < 1e-12);
    }

    #[test]
    fn bad_axis_is_an_error() {
        let x = Tensor::from_vec(vec![1, 4, 1], vec![1f32, 2., 3., 4.]).unwrap();
        let op = SignalOp::Dft { inverse: false, onesided: false, axis: Some(2) };
        assert!(op.run(&[Some(&x)]).is_err());
        let bad = Tensor::from_vec(vec![1, 4, 3], vec![0f32; 12]).unwrap();
        assert!(dft_op(false, false).run(&[Some(&bad)]).is_err());
    }
}
