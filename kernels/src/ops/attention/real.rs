//! A tiny float abstraction so the attention kernels run in f32 (or f64 for f64 inputs).

use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

/// The accumulation type of an attention kernel: `f32` or `f64`.
pub(crate) trait Real:
    Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + 'static
{
    /// Negative infinity.
    const NEG_INF: Self;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// From f64 (rounding).
    fn of(v: f64) -> Self;
    /// To f64.
    fn f64(self) -> f64;
    /// e^x.
    fn exp(self) -> Self;
    /// tanh(x).
    fn tanh(self) -> Self;
    /// Read any numeric tensor as a flat vector of this type.
    fn load(t: &Tensor) -> Result<Vec<Self>>;
    /// Build a tensor of `dtype` (rounding from this type).
    fn store(shape: Vec<usize>, v: Vec<Self>, dtype: DType) -> Result<Tensor>;
}

impl Real for f32 {
    const NEG_INF: f32 = f32::NEG_INFINITY;
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    fn of(v: f64) -> f32 {
        v as f32
    }
    fn f64(self) -> f64 {
        self as f64
    }
    fn exp(self) -> f32 {
        f32::exp(self)
    }
    fn tanh(self) -> f32 {
        f32::tanh(self)
    }
    fn load(t: &Tensor) -> Result<Vec<f32>> {
        t.to_f32_vec()
    }
    fn store(shape: Vec<usize>, v: Vec<f32>, dtype: DType) -> Result<Tensor> {
        Tensor::from_vec(shape, v)?.cast(dtype)
    }
}

impl Real for f64 {
    const NEG_INF: f64 = f64::NEG_INFINITY;
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    fn of(v: f64) -> f64 {
        v
    }
    fn f64(self) -> f64 {
        self
    }
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    fn tanh(self) -> f64 {
        f64::tanh(self)
    }
    fn load(t: &Tensor) -> Result<Vec<f64>> {
        t.to_f64_vec()
    }
    fn store(shape: Vec<usize>, v: Vec<f64>, dtype: DType) -> Result<Tensor> {
        Tensor::from_vec(shape, v)?.cast(dtype)
    }
}

/// Dot product of two equal-length slices.
#[inline]
pub(crate) fn dot<R: Real>(a: &[R], b: &[R]) -> R {
    let mut acc = R::ZERO;
    for (&x, &y) in a.iter().zip(b) {
        acc += x * y;
    }
    acc
}

/// Transpose `[b, s, h, d]` (row-major) into `[b, h, s, d]`; also the inverse with `s`/`h` swapped.
pub(crate) fn swap_mid<T: Copy>(x: &[T], b: usize, s: usize, h: usize, d: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(x.len());
    for bi in 0..b {
        for hi in 0..h {
            for si in 0..s {
                let o = ((bi * s + si) * h + hi) * d;
                out.extend_from_slice(&x[o..o + d]);
            }
        }
    }
    out
}

/// Exact-or-known helpers for static inference on dims.
pub(crate) mod dims {
    use crate::shape::Dim;

    /// `a * b` when both are known.
    pub fn mul(a: &Dim, b: &Dim) -> Dim {
        match (a.known(), b.known()) {
            (Some(x), Some(y)) => Dim::Known(x * y),
            _ => Dim::Unknown,
        }
    }
    /// `a / n` when `a` is known and divisible.
    pub fn div(a: &Dim, n: usize) -> Dim {
        match a.known() {
            Some(x) if n > 0 && x % n == 0 => Dim::Known(x / n),
            _ => Dim::Unknown,
        }
    }
    /// `a + b` when both are known.
    pub fn add(a: &Dim, b: &Dim) -> Dim {
        match (a.known(), b.known()) {
            (Some(x), Some(y)) => Dim::Known(x + y),
            _ => Dim::Unknown,
        }
    }
}
