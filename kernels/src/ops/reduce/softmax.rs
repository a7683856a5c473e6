//! Softmax, LogSoftmax and Hardmax along one axis (or, before opset 13, over the trailing
//! block of a 2-D coercion at `axis`).
//!
//! f32 runs natively (the hot path in transformer models), f64 natively, f16/bf16 in f32.

use super::{for_rows, is_nan, split_at_axis, SoftmaxKind};
use crate::error::{KernelError, Result};
use crate::shape::norm_axis;
use crate::tensor::{HostElem, Tensor, TensorData};
use crate::util::req;
use crate::DType;
use std::ops::{Add, Mul, Sub};

/// Run a softmax-family node.
pub(super) fn run(op: &str, kind: SoftmaxKind, axis: i64, coerce_2d: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
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
    Ok(vec![Tensor::new(shape.to_vec(), data)?])
}

/// The float types softmax computes in.
pub(crate) trait Real:
    HostElem + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
    /// -∞.
    const NEG_INF: Self;
    /// 0.
    const ZERO: Self;
    /// eˣ.
    fn exp(self) -> Self;
    /// ln x.
    fn ln(self) -> Self;
    /// 1 / x.
    fn recip(self) -> Self;
    /// The larger of two values (NaN-ignoring, like `f32::max`).
    fn max(self, o: Self) -> Self;
}

impl Real for f32 {
    const NEG_INF: f32 = f32::NEG_INFINITY;
    const ZERO: f32 = 0.0;
    #[inline]
    fn exp(self) -> f32 {
        f32::exp(self)
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

/// Softmax (or log-softmax) of every `[outer, n, inner]` lane.
pub(crate) fn softmax_real<R: Real>(xs: &[R], log: bool, (outer, n, inner): (usize, usize, usize)) -> Vec<R> {
    let mut out = vec![R::ZERO; outer * n * inner];
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
            for (((yv, &xv), &m), s) in yr.iter_mut().zip(xr).zip(&mx).zip(sum.iter_mut()) {
                let e = (xv - m).exp();
                *s = *s + e;
                *yv = if log { xv - m } else { e };
            }
        }
        let fin: Vec<R> = sum.iter().map(|&s| if log { s.ln() } else { s.recip() }).collect();
        for yr in y.chunks_exact_mut(inner) {
            for (yv, &f) in yr.iter_mut().zip(&fin) {
                *yv = if log { *yv - f } else { *yv * f };
            }
        }
    });
    out
}

/// Softmax of one contiguous row.
#[inline]
fn softmax_row<R: Real>(x: &[R], y: &mut [R], log: bool) {
    let m = x.iter().fold(R::NEG_INF, |a, &b| a.max(b));
    if log {
        let s = x.iter().fold(R::ZERO, |a, &v| a + (v - m).exp());
        let shift = m + s.ln();
        y.iter_mut().zip(x).for_each(|(o, &v)| *o = v - shift);
    } else {
        let mut s = R::ZERO;
        for (o, &v) in y.iter_mut().zip(x) {
            let e = (v - m).exp();
            *o = e;
            s = s + e;
        }
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
