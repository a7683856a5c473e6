//! Softmax, LogSoftmax and Hardmax along one axis (or, before opset 13, over the trailing
//! block of a 2-D coercion at `axis`).
//!
//! f32 runs natively (the hot path in transformer models), f64 natively, f16/bf16 in f32.

use super::{for_rows, is_nan, split_at_axis, SoftmaxKind};
use crate::error::{KernelError, Result};
use crate::shape::norm_axis;
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::req;
use crate::vmath;
use crate::DType;
use std::ops::{Add, Mul, Sub};

/// Run a softmax-family node.
pub(super) fn run(
    op: &str,
    kind: SoftmaxKind,
    axis: i64,
    coerce_2d: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>> {
    fn hard<T: HostElem>(x: &Tensor, dims: (usize, usize, usize)) -> Result<TensorData> {
        Ok(T::wrap(hardmax(x.as_slice::<T>()?, dims)))
    }
    let x = req(op, inputs, 0)?;
    let shape = x.shape();
    let rank = shape.len().max(1);
    let a = norm_axis(op, axis, rank)?;
    let dims = if shape.is_empty() {
        (1, 1, 1)
    } else if coerce_2d {
        (shape[..a].iter().product(), shape[a..].iter().product(), 1)
    } else {
        split_at_axis(shape, a)
    };
    let dt = x.dtype();
    let unsupported = || KernelError::unsupported(op, format!("input dtype {dt}"));
    let data = match kind {
        SoftmaxKind::Hardmax if dt.is_numeric() => {
            crate::dispatch_dtype!(dt, hard(x, dims), str => Err(unsupported()))?
        }
        SoftmaxKind::Hardmax => return Err(unsupported()),
        _ => {
            let log = kind == SoftmaxKind::LogSoftmax;
            match dt {
                DType::F32 => TensorData::F32(softmax_real(x.as_slice::<f32>()?, log, dims)),
                DType::F64 => TensorData::F64(softmax_real(x.as_slice::<f64>()?, log, dims)),
                DType::F16 | DType::BF16 => {
                    let y = softmax_real(&x.to_f32_vec()?, log, dims);
                    Tensor::from_vec(shape.to_vec(), y)?.cast(dt)?.into_parts().1
                }
                _ => return Err(unsupported()),
            }
        }
    };
    Ok(crate::buffers::one(Tensor::new(crate::buffers::dims(shape), data)?))
}

/// The float types softmax computes in.
pub(crate) trait Real: HostElem + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {
    /// -∞.
    const NEG_INF: Self;
    /// 0.
    const ZERO: Self;
    /// eˣ (f32: a vectorisable polynomial, within 2 ulp).
    fn exp(self) -> Self;
    /// ln x.
    fn ln(self) -> Self;
    /// 1 / x.
    fn recip(self) -> Self;
    /// The larger of two values (NaN-ignoring, like `f32::max`).
    fn max(self, o: Self) -> Self;
    /// Largest element of a row (NaN-ignoring; −∞ when empty).
    fn row_max(x: &[Self]) -> Self {
        max_lanes(x)
    }
    /// `y[i] = e^(x[i] − m)`; returns `Σ y`.
    fn exp_shift_sum(x: &[Self], m: Self, y: &mut [Self]) -> Self {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - m).exp();
        }
        sum_lanes(y)
    }
    /// `y[i] = e^y[i]`.
    fn exp_inplace(y: &mut [Self]) {
        y.iter_mut().for_each(|v| *v = v.exp());
    }
}

impl Real for f32 {
    const NEG_INF: f32 = f32::NEG_INFINITY;
    const ZERO: f32 = 0.0;
    #[inline]
    fn exp(self) -> f32 {
        exp_f32(self)
    }
    #[inline]
    fn ln(self) -> f32 {
        f32::ln(self)
    }
    #[inline]
    fn recip(self) -> f32 {
        f32::recip(self)
    }
    #[inline]
    fn max(self, o: f32) -> f32 {
        f32::max(self, o)
    }
    fn row_max(x: &[f32]) -> f32 {
        vmath::max(x)
    }
    fn exp_shift_sum(x: &[f32], m: f32, y: &mut [f32]) -> f32 {
        vmath::exp_shift_sum(x, m, y)
    }
    fn exp_inplace(y: &mut [f32]) {
        vmath::map_inplace(vmath::Func::Exp, y)
    }
}

impl Real for f64 {
    const NEG_INF: f64 = f64::NEG_INFINITY;
    const ZERO: f64 = 0.0;
    #[inline]
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    #[inline]
    fn ln(self) -> f64 {
        f64::ln(self)
    }
    #[inline]
    fn recip(self) -> f64 {
        f64::recip(self)
    }
    #[inline]
    fn max(self, o: f64) -> f64 {
        f64::max(self, o)
    }
}

/// eˣ for f32 without libm calls, so loops over it vectorise: x = n·ln2 + r with
/// |r| <= ln2/2, eʳ by a degree-7 polynomial (Cephes `expf` coefficients), 2ⁿ built in the
/// exponent bits. Underflows to 0 below -87.3, saturates to +∞ above 88.72, keeps NaN.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let xc = x.clamp(-87.3, 88.72);
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let er = p * r * r + r + 1.0;
    // The integer n sits in the low mantissa bits of t; 2ⁿ is applied as two normal factors
    // so that n = 128 (x near 88.7) and n = -126 do not leave the exponent range.
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let (h1, h2) = (ni >> 1, ni - (ni >> 1));
    let s1 = f32::from_bits((h1.wrapping_add(127) as u32) << 23);
    let s2 = f32::from_bits((h2.wrapping_add(127) as u32) << 23);
    let y = er * s1 * s2;
    if x.is_nan() {
        x
    } else if x < -87.3 {
        0.0
    } else if x > 88.72 {
        f32::INFINITY
    } else {
        y
    }
}

/// Largest element (NaN-ignoring) with eight independent lanes.
#[inline]
fn max_lanes<R: Real>(x: &[R]) -> R {
    let mut l = [R::NEG_INF; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            l[k] = l[k].max(c[k]);
        }
    }
    let m = it.remainder().iter().fold(R::NEG_INF, |a, &b| a.max(b));
    l.iter().fold(m, |a, &b| a.max(b))
}

/// Sum with eight independent lanes.
#[inline]
fn sum_lanes<R: Real>(x: &[R]) -> R {
    let mut l = [R::ZERO; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            l[k] = l[k] + c[k];
        }
    }
    let s = it.remainder().iter().fold(R::ZERO, |a, &b| a + b);
    l.iter().fold(s, |a, &b| a + b)
}

/// Softmax (or log-softmax) of every `[outer, n, inner]` lane.
pub(crate) fn softmax_real<R: Real>(xs: &[R], log: bool, (outer, n, inner): (usize, usize, usize)) -> Vec<R> {
    let mut out = crate::buffers::zeroed::<R>(outer * n * inner);
    let work = xs.len() * 4;
    if inner == 1 {
        for_rows(&mut out, n, work, |o, y| softmax_row(&xs[o * n..(o + 1) * n], y, log));
        return out;
    }
    for_rows(&mut out, n * inner, work, |o, y| {
        let x = &xs[o * n * inner..(o + 1) * n * inner];
        let mut mx = vec![R::NEG_INF; inner];
        for row in x.chunks_exact(inner) {
            mx.iter_mut().zip(row).for_each(|(m, &v)| *m = m.max(v));
        }
        let mut sum = vec![R::ZERO; inner];
        for (yr, xr) in y.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
            for ((yv, &xv), &m) in yr.iter_mut().zip(xr).zip(&mx) {
                *yv = xv - m;
            }
            R::exp_inplace(yr);
            sum.iter_mut().zip(yr.iter()).for_each(|(s, &e)| *s = *s + e);
        }
        let fin: Vec<R> = sum.iter().map(|&s| if log { s.ln() } else { s.recip() }).collect();
        for (yr, xr) in y.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
            for (((yv, &xv), &m), &f) in yr.iter_mut().zip(xr).zip(&mx).zip(&fin) {
                *yv = if log { xv - m - f } else { *yv * f };
            }
        }
    });
    out
}

/// Softmax of one contiguous row (`y` doubles as the exp buffer).
#[inline]
fn softmax_row<R: Real>(x: &[R], y: &mut [R], log: bool) {
    let m = R::row_max(x);
    let s = R::exp_shift_sum(x, m, y);
    if log {
        let shift = m + s.ln();
        y.iter_mut().zip(x).for_each(|(o, &v)| *o = v - shift);
    } else {
        let r = s.recip();
        y.iter_mut().for_each(|o| *o = *o * r);
    }
}

/// One-hot of the first maximum of every `[outer, n, inner]` lane.
fn hardmax<T: HostElem>(xs: &[T], (outer, n, inner): (usize, usize, usize)) -> Vec<T> {
    let mut out = vec![T::zero(); outer * n * inner];
    for_rows(&mut out, (n * inner).max(1), xs.len(), |o, y| {
        let base = o * n * inner;
        for i in 0..inner {
            if n == 0 {
                break;
            }
            let mut best = 0;
            for j in 1..n {
                let (c, b) = (xs[base + j * inner + i], xs[base + best * inner + i]);
                if !is_nan(b) && (is_nan(c) || c > b) {
                    best = j;
                }
            }
            y[best * inner + i] = T::one();
        }
    });
    out
}
