//! The functions, written once against [`Lanes`].
//!
//! Polynomial and rational coefficients were fitted for suanli (weighted least squares refined
//! to near-minimax relative error by Lawson iterations, in f64, then rounded to f32); the error
//! bounds they reach are asserted by the tests in `tests.rs`.

use super::lanes::Lanes;

/// ln 2 split so that `n · LN2_HI` is exact for `|n| < 2¹⁵`.
const LN2_HI: f32 = 0.693_359_4;
/// `ln 2 − LN2_HI`.
const LN2_LO: f32 = -2.121_944_4e-4;

/// eˣ: `x = n·ln2 + r` with `|r| ≤ ln2/2`, eʳ by its degree-7 Taylor polynomial (truncation
/// below 1e-8 relative), `2ⁿ` applied as two normal factors so that `n ∈ [-150, 129]` neither
/// overflows the exponent field nor loses subnormal results. `x > 88.73` gives +∞,
/// `x < -103.98` gives 0, NaN stays NaN.
#[inline(always)]
pub(crate) unsafe fn exp<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe {
        let xc = S::min(S::max(x, S::splat(-104.0)), S::splat(89.0));
        let n = S::round(S::mul(xc, S::splat(std::f32::consts::LOG2_E)));
        let r = S::fmadd(n, S::splat(-LN2_HI), xc);
        let r = S::fmadd(n, S::splat(-LN2_LO), r);
        let mut p = S::splat(1.0 / 5040.0);
        p = S::fmadd(p, r, S::splat(1.0 / 720.0));
        p = S::fmadd(p, r, S::splat(1.0 / 120.0));
        p = S::fmadd(p, r, S::splat(1.0 / 24.0));
        p = S::fmadd(p, r, S::splat(1.0 / 6.0));
        p = S::fmadd(p, r, S::splat(0.5));
        p = S::fmadd(p, r, S::splat(1.0));
        p = S::fmadd(p, r, S::splat(1.0));
        let n1 = S::round(S::mul(n, S::splat(0.5)));
        let n2 = S::sub(n, n1);
        let y = S::mul(S::mul(p, S::pow2i(n1)), S::pow2i(n2));
        S::nan_or(x, y)
    }
}

/// `1 / (1 + e⁻ˣ)`, evaluated as `s = 1/(1 + e^-|x|)` and `e^-|x|·s` for negative `x`, so that
/// the tail below zero keeps its relative accuracy down to the subnormals.
#[inline(always)]
pub(crate) unsafe fn sigmoid<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe {
        let one = S::splat(1.0);
        let e = exp::<S>(S::sub(S::splat(0.0), S::abs(x)));
        let s = S::div(one, S::add(one, e));
        // NaN fails `x < 0` and takes `s`, which is NaN too.
        S::select_lt(x, S::splat(0.0), S::mul(e, s), s)
    }
}

/// `x · sigmoid(x)`.
#[inline(always)]
pub(crate) unsafe fn silu<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe { S::mul(x, sigmoid::<S>(x)) }
}

/// tanh x: `|x| < 0.625` by the odd polynomial `x + x³·P(x²)` (fitted, 0.15 ulp), above by
/// `1 − 2/(e^{2|x|} + 1)` (cancellation amplifies its error by at most 0.8 there); the sign
/// is copied back, so ±0 and the ±1 saturation are exact.
#[inline(always)]
pub(crate) unsafe fn tanh<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe {
        let a = S::abs(x);
        let t = S::mul(a, a);
        let mut p = S::splat(-5.704_974_3e-3);
        p = S::fmadd(p, t, S::splat(2.063_907_5e-2));
        p = S::fmadd(p, t, S::splat(-5.373_971e-2));
        p = S::fmadd(p, t, S::splat(1.333_144_2e-1));
        p = S::fmadd(p, t, S::splat(-3.333_328e-1));
        let small = S::fmadd(S::mul(p, t), a, a);
        let one = S::splat(1.0);
        let e = exp::<S>(S::add(a, a));
        let large = S::sub(one, S::div(S::splat(2.0), S::add(e, one)));
        let y = S::select_lt(a, S::splat(0.625), small, large);
        S::nan_or(x, S::copysign(y, x))
    }
}

/// erf x: `|x|·P(x²)/Q(x²)` with degree-5 P and Q fitted on `[0, 3.92]` (0.9 ulp with f32
/// coefficients), `|x|` clamped to 3.92 where erf rounds to 1, the sign copied back.
#[inline(always)]
pub(crate) unsafe fn erf<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe {
        let a = S::min(S::abs(x), S::splat(3.92));
        let t = S::mul(a, a);
        let mut p = S::splat(2.050_093e-6);
        p = S::fmadd(p, t, S::splat(2.848_835_7e-4));
        p = S::fmadd(p, t, S::splat(3.765_629e-3));
        p = S::fmadd(p, t, S::splat(5.274_876_2e-2));
        p = S::fmadd(p, t, S::splat(1.904_066_8e-1));
        p = S::fmadd(p, t, S::splat(1.128_379_1));
        let mut q = S::splat(3.809_182e-5);
        q = S::fmadd(q, t, S::splat(1.162_539_6e-3));
        q = S::fmadd(q, t, S::splat(1.496_924e-2));
        q = S::fmadd(q, t, S::splat(1.141_092e-1));
        q = S::fmadd(q, t, S::splat(5.020_763e-1));
        q = S::fmadd(q, t, S::splat(1.0));
        let y = S::min(S::div(S::mul(a, p), q), S::splat(1.0));
        S::nan_or(x, S::copysign(y, x))
    }
}

/// GELU with the exact erf: `x·(1 + erf(x/√2))/2`.
#[inline(always)]
pub(crate) unsafe fn gelu<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe {
        let e = erf::<S>(S::mul(x, S::splat(std::f32::consts::FRAC_1_SQRT_2)));
        let h = S::mul(x, S::splat(0.5));
        S::fmadd(h, e, h)
    }
}

/// ln x: subnormals pre-scaled by 2²³; `x = m·2ᵉ` with `m ∈ [√½, √2)`; with `f = m − 1` and
/// `s = f/(2 + f)`, `ln m = 2s·(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9 + s¹⁰/11)` (|s| ≤ 0.172, series
/// truncation below 2e-9). `ln 0 = −∞`, negative → NaN, `ln ∞ = ∞`, NaN stays NaN.
#[inline(always)]
pub(crate) unsafe fn log<S: Lanes>(x: S::V) -> S::V {
    // SAFETY: pure lane arithmetic under the caller's target features.
    unsafe {
        let zero = S::splat(0.0);
        let one = S::splat(1.0);
        let tiny = S::splat(f32::MIN_POSITIVE);
        let xs = S::select_lt(x, tiny, S::mul(x, S::splat(8_388_608.0)), x);
        let bias = S::select_lt(x, tiny, S::splat(-23.0), zero);
        let (m, e) = S::frexp(xs);
        let big = S::select_lt(S::splat(std::f32::consts::SQRT_2), m, one, zero);
        let m = S::select_lt(S::splat(std::f32::consts::SQRT_2), m, S::mul(m, S::splat(0.5)), m);
        let e = S::add(S::add(e, bias), big);
        let f = S::sub(m, one);
        let s = S::div(f, S::add(f, S::splat(2.0)));
        let z = S::mul(s, s);
        let mut r = S::splat(1.0 / 11.0);
        r = S::fmadd(r, z, S::splat(1.0 / 9.0));
        r = S::fmadd(r, z, S::splat(1.0 / 7.0));
        r = S::fmadd(r, z, S::splat(1.0 / 5.0));
        r = S::fmadd(r, z, S::splat(1.0 / 3.0));
        let s2 = S::add(s, s);
        let lm = S::fmadd(S::mul(s2, z), r, s2);
        let y = S::fmadd(e, S::splat(LN2_HI), S::fmadd(e, S::splat(LN2_LO), lm));
        // Special values: 0 → −∞, x < 0 → NaN, +∞ → +∞ (NaN input handled last).
        let y = S::select_lt(zero, x, y, S::splat(f32::NEG_INFINITY));
        let y = S::select_lt(x, zero, S::splat(f32::NAN), y);
        let y = S::select_lt(x, S::splat(f32::INFINITY), y, x);
        S::nan_or(x, y)
    }
}
