//! Vectorised f32 transcendental maths for the CPU hot paths: eˣ, ln x, erf, tanh, sigmoid,
//! SiLU and exact-erf GELU over slices, plus the row reductions softmax needs.
//!
//! Each function is written once against the [`Lanes`](lanes::Lanes) abstraction and compiled
//! per ISA (AVX-512F, AVX2 + FMA, portable), chosen at run time from
//! [`Isa::detect`](crate::ops::linalg::sgemm::Isa::detect). Kernels that already run inside a
//! `#[target_feature]` function (the GEMM write-back) call the lane functions in [`funcs`]
//! directly.
//!
//! Accuracy (asserted by the tests over dense sweeps of every binade, measured maxima in
//! brackets): exp ≤ 2 ulp (1.2), ln ≤ 2 (1.8), tanh ≤ 2 (1.3), sigmoid ≤ 4 (2.6), SiLU ≤ 4
//! (3.1; below x = −87 its sigmoid factor is subnormal and the error is up to 4·2⁻¹⁴⁹·|x|),
//! erf ≤ 6 ulp (5.9, i.e. ≤ 3.6e-7 relative, reached just below 1), GELU ≤ 6 ulp for x ≥ 0
//! and ≤ 6·max(ulp, 2⁻²⁴·|x|) below zero, where its `1 + erf` cancels as in the scalar
//! formula (3.1). NaN propagates, ±∞ and overflow / underflow give the limits, and ±0 keep
//! their sign where the function is odd.

pub(crate) mod funcs;
pub(crate) mod lanes;

use crate::ops::linalg::sgemm::Isa;
use lanes::{Lanes, Portable};

/// A unary function over f32 lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// eˣ.
    Exp,
    /// ln x.
    Log,
    /// erf x.
    Erf,
    /// tanh x.
    Tanh,
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid,
    /// `x · sigmoid(x)`.
    Silu,
    /// `x·(1 + erf(x/√2))/2`.
    Gelu,
}

impl Func {
    /// Every function.
    pub const ALL: [Func; 7] = [
        Func::Exp,
        Func::Log,
        Func::Erf,
        Func::Tanh,
        Func::Sigmoid,
        Func::Silu,
        Func::Gelu,
    ];
}

/// `dst[i] = f(src[i])` for `i < min(src.len(), dst.len())` (like `zip`).
pub fn map(f: Func, src: &[f32], dst: &mut [f32]) {
    map_isa_unchecked(Isa::detect(), f, src, dst)
}

/// `x[i] = f(x[i])` for every element.
pub fn map_inplace(f: Func, x: &mut [f32]) {
    let n = x.len();
    let p = x.as_mut_ptr();
    // SAFETY: `p` covers `n` readable and writable floats; the kernels read element i before
    // writing element i and never touch an element after writing it, so aliasing src and dst
    // is sound.
    unsafe { dispatch_map(Isa::detect(), f, p, p, n) }
}

/// [`map`] with an explicit ISA; `None` when this CPU cannot run it.
pub fn map_isa(isa: Isa, f: Func, src: &[f32], dst: &mut [f32]) -> Option<()> {
    Isa::available()
        .contains(&isa)
        .then(|| map_isa_unchecked(isa, f, src, dst))
}

/// [`map`] for an ISA known to be available.
fn map_isa_unchecked(isa: Isa, f: Func, src: &[f32], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    // SAFETY: both pointers cover `n` floats; distinct borrows cannot overlap.
    unsafe { dispatch_map(isa, f, src.as_ptr(), dst.as_mut_ptr(), n) }
}

/// Largest element of `x`, ignoring NaN (−∞ when empty or all NaN), as `f32::max` folds.
pub fn max(x: &[f32]) -> f32 {
    // SAFETY: `x` covers `x.len()` readable floats.
    unsafe {
        match Isa::detect() {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::max_avx512(x.as_ptr(), x.len()),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => x86::max_avx2(x.as_ptr(), x.len()),
            _ => max_impl::<Portable>(x.as_ptr(), x.len()),
        }
    }
}

/// `y[i] = e^(x[i] − shift)` for `i < min(x.len(), y.len())`; returns the sum of those `y`.
pub fn exp_shift_sum(x: &[f32], shift: f32, y: &mut [f32]) -> f32 {
    let n = x.len().min(y.len());
    // SAFETY: both pointers cover `n` floats.
    unsafe {
        match Isa::detect() {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::exp_shift_sum_avx512(x.as_ptr(), shift, y.as_mut_ptr(), n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => x86::exp_shift_sum_avx2(x.as_ptr(), shift, y.as_mut_ptr(), n),
            _ => exp_shift_sum_impl::<Portable>(x.as_ptr(), shift, y.as_mut_ptr(), n),
        }
    }
}

/// `x[i] = e^(x[i] − shift)` in place; returns the sum (the softmax row step).
pub fn exp_shift_sum_inplace(x: &mut [f32], shift: f32) -> f32 {
    let (n, p) = (x.len(), x.as_mut_ptr());
    // SAFETY: `p` covers `n` floats; each vector is loaded before it is stored, so the kernels
    // may read and write the same floats.
    unsafe {
        match Isa::detect() {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::exp_shift_sum_avx512(p, shift, p, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => x86::exp_shift_sum_avx2(p, shift, p, n),
            _ => exp_shift_sum_impl::<Portable>(p, shift, p, n),
        }
    }
}

/// Run the map kernel of `isa` (which must be available).
///
/// # Safety
/// `src` has `n` readable floats, `dst` `n` writable ones; they are equal or do not overlap.
unsafe fn dispatch_map(isa: Isa, f: Func, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: forwarded contract; the x86 kernels are only chosen when `isa` is available.
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::map_avx512(f, src, dst, n),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => x86::map_avx2(f, src, dst, n),
            _ => map_impl::<Portable>(f, src, dst, n),
        }
    }
}

/// Dispatch on `f` once, outside the loop.
///
/// # Safety
/// As [`dispatch_map`], under `S`'s target features.
#[inline(always)]
unsafe fn map_impl<S: Lanes>(f: Func, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: forwarded contract; the closures run under the same target features.
    unsafe {
        match f {
            Func::Exp => map_loop::<S>(|v| funcs::exp::<S>(v), src, dst, n),
            Func::Log => map_loop::<S>(|v| funcs::log::<S>(v), src, dst, n),
            Func::Erf => map_loop::<S>(|v| funcs::erf::<S>(v), src, dst, n),
            Func::Tanh => map_loop::<S>(|v| funcs::tanh::<S>(v), src, dst, n),
            Func::Sigmoid => map_loop::<S>(|v| funcs::sigmoid::<S>(v), src, dst, n),
            Func::Silu => map_loop::<S>(|v| funcs::silu::<S>(v), src, dst, n),
            Func::Gelu => map_loop::<S>(|v| funcs::gelu::<S>(v), src, dst, n),
        }
    }
}

/// Whole vectors straight from memory, the tail through a padded stack buffer.
///
/// # Safety
/// As [`dispatch_map`], under `S`'s target features.
#[inline(always)]
unsafe fn map_loop<S: Lanes>(f: impl Fn(S::V) -> S::V, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: every access is below `n`; see the contract.
    unsafe {
        let mut i = 0;
        while i + S::L <= n {
            S::store(dst.add(i), f(S::load(src.add(i))));
            i += S::L;
        }
        if i < n {
            let mut buf = [0.0f32; 16];
            let rest = n - i;
            std::ptr::copy_nonoverlapping(src.add(i), buf.as_mut_ptr(), rest);
            S::store(buf.as_mut_ptr(), f(S::load(buf.as_ptr())));
            std::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(i), rest);
        }
    }
}

/// See [`max`].
///
/// # Safety
/// `x` has `n` readable floats; `S`'s target features are enabled.
#[inline(always)]
unsafe fn max_impl<S: Lanes>(x: *const f32, n: usize) -> f32 {
    // SAFETY: every access is below `n`.
    unsafe {
        // `max(new, acc)` keeps `acc` where `new` is NaN.
        let mut acc = [S::splat(f32::NEG_INFINITY); 4];
        let mut i = 0;
        while i + 4 * S::L <= n {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = S::max(S::load(x.add(i + k * S::L)), *a);
            }
            i += 4 * S::L;
        }
        while i + S::L <= n {
            acc[0] = S::max(S::load(x.add(i)), acc[0]);
            i += S::L;
        }
        let v = S::max(S::max(acc[0], acc[1]), S::max(acc[2], acc[3]));
        let mut m = S::hmax(v);
        while i < n {
            m = m.max(*x.add(i));
            i += 1;
        }
        m
    }
}

/// See [`exp_shift_sum`].
///
/// # Safety
/// `x` has `n` readable floats, `y` `n` writable ones; `S`'s target features are enabled.
#[inline(always)]
unsafe fn exp_shift_sum_impl<S: Lanes>(x: *const f32, shift: f32, y: *mut f32, n: usize) -> f32 {
    // SAFETY: every access is below `n`.
    unsafe {
        let sh = S::splat(shift);
        let mut acc = [S::splat(0.0); 2];
        let mut i = 0;
        while i + S::L <= n {
            let e = funcs::exp::<S>(S::sub(S::load(x.add(i)), sh));
            S::store(y.add(i), e);
            let a = &mut acc[(i / S::L) & 1];
            *a = S::add(*a, e);
            i += S::L;
        }
        let mut s = S::hsum(S::add(acc[0], acc[1]));
        if i < n {
            // Pad with −∞ so the padding lanes add e^−∞ = 0.
            let mut buf = [f32::NEG_INFINITY; 16];
            let rest = n - i;
            std::ptr::copy_nonoverlapping(x.add(i), buf.as_mut_ptr(), rest);
            let e = funcs::exp::<S>(S::sub(S::load(buf.as_ptr()), sh));
            S::store(buf.as_mut_ptr(), e);
            std::ptr::copy_nonoverlapping(buf.as_ptr(), y.add(i), rest);
            s += buf[..rest].iter().sum::<f32>();
        }
        s
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::lanes::{Avx2, Avx512};
    use super::{exp_shift_sum_impl, map_impl, max_impl, Func};

    macro_rules! entries {
        ($simd:ty, $feat:literal, $map:ident, $max:ident, $ess:ident) => {
            /// [`map_impl`] compiled for this ISA.
            ///
            /// # Safety
            /// `map_impl`'s contract; the CPU has the enabled features.
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn $map(f: Func, src: *const f32, dst: *mut f32, n: usize) {
                // SAFETY: forwarded contract.
                unsafe { map_impl::<$simd>(f, src, dst, n) }
            }

            /// [`max_impl`] compiled for this ISA.
            ///
            /// # Safety
            /// `max_impl`'s contract; the CPU has the enabled features.
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn $max(x: *const f32, n: usize) -> f32 {
                // SAFETY: forwarded contract.
                unsafe { max_impl::<$simd>(x, n) }
            }

            /// [`exp_shift_sum_impl`] compiled for this ISA.
            ///
            /// # Safety
            /// `exp_shift_sum_impl`'s contract; the CPU has the enabled features.
            #[target_feature(enable = $feat)]
            pub(super) unsafe fn $ess(x: *const f32, shift: f32, y: *mut f32, n: usize) -> f32 {
                // SAFETY: forwarded contract.
                unsafe { exp_shift_sum_impl::<$simd>(x, shift, y, n) }
            }
        };
    }

    entries!(Avx2, "avx2,fma", map_avx2, max_avx2, exp_shift_sum_avx2);
    entries!(Avx512, "avx512f", map_avx512, max_avx512, exp_shift_sum_avx512);
}

#[cfg(test)]
mod tests;
