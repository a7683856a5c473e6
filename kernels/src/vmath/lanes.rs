//! The f32 lane abstraction the vector maths is written against, with one implementation per
//! ISA: [`Portable`] (plain arrays), [`Avx2`] (AVX2 + FMA) and [`Avx512`] (AVX-512F).
//!
//! Every method is `#[inline(always)]`: they are only called from inside `#[target_feature]`
//! entry points (or kernels that are themselves inlined into one), where they and the intrinsics
//! they wrap are compiled with that entry point's features.

/// Lanes of f32 with the operations the transcendental functions need.
///
/// # Safety
/// Implementations for x86 must only be used from code compiled with (or running under a CPU
/// check for) their target features; `load` / `store` require `L` readable / writable floats.
pub(crate) unsafe trait Lanes {
    /// The vector type.
    type V: Copy;
    /// Lanes per vector.
    const L: usize;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self::V;
    /// Load `L` floats (unaligned).
    unsafe fn load(p: *const f32) -> Self::V;
    /// Store `L` floats (unaligned).
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a + b`.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b` (correctly rounded).
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c` (fused where the ISA has FMA).
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise `a < b ? a : b`: where either is NaN the result is `b`.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `a > b ? a : b`: where either is NaN the result is `b`.
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// `|a|`.
    unsafe fn abs(a: Self::V) -> Self::V;
    /// Round to the nearest integer, ties to even (for `|a| < 2²²`).
    unsafe fn round(a: Self::V) -> Self::V;
    /// `2ⁿ` for lanes holding integers `n` in `[-126, 127]`.
    unsafe fn pow2i(n: Self::V) -> Self::V;
    /// The magnitude of `mag` with the sign bit of `sign`.
    unsafe fn copysign(mag: Self::V, sign: Self::V) -> Self::V;
    /// Lane-wise `a < b ? x : y` (`y` where either comparand is NaN).
    unsafe fn select_lt(a: Self::V, b: Self::V, x: Self::V, y: Self::V) -> Self::V;
    /// `x` where `x` is NaN, else `y`.
    unsafe fn nan_or(x: Self::V, y: Self::V) -> Self::V;
    /// For positive normal finite `x`: `(m, e)` with `m ∈ [1, 2)`, `e` integral, `x = m·2ᵉ`.
    unsafe fn frexp(x: Self::V) -> (Self::V, Self::V);
    /// Sum of the lanes.
    unsafe fn hsum(v: Self::V) -> f32;
    /// Largest lane (NaN lanes ignored unless all are NaN).
    unsafe fn hmax(v: Self::V) -> f32;
}

/// Portable 8-lane "vector" (plain arrays; the compiler vectorises what it can).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

type P8 = [f32; 8];

#[inline(always)]
fn lanewise(a: P8, f: impl Fn(f32) -> f32) -> P8 {
    std::array::from_fn(|i| f(a[i]))
}

#[inline(always)]
fn lanewise2(a: P8, b: P8, f: impl Fn(f32, f32) -> f32) -> P8 {
    std::array::from_fn(|i| f(a[i], b[i]))
}

// SAFETY: plain Rust; the pointer contracts are the trait's.
unsafe impl Lanes for Portable {
    type V = P8;
    const L: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: f32) -> P8 {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> P8 {
        // SAFETY: caller guarantees 8 readable floats.
        unsafe { (p as *const P8).read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: P8) {
        // SAFETY: caller guarantees 8 writable floats.
        unsafe { (p as *mut P8).write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn add(a: P8, b: P8) -> P8 {
        lanewise2(a, b, |x, y| x + y)
    }
    #[inline(always)]
    unsafe fn sub(a: P8, b: P8) -> P8 {
        lanewise2(a, b, |x, y| x - y)
    }
    #[inline(always)]
    unsafe fn mul(a: P8, b: P8) -> P8 {
        lanewise2(a, b, |x, y| x * y)
    }
    #[inline(always)]
    unsafe fn div(a: P8, b: P8) -> P8 {
        lanewise2(a, b, |x, y| x / y)
    }
    #[inline(always)]
    unsafe fn fmadd(a: P8, b: P8, c: P8) -> P8 {
        // Unfused: `f32::mul_add` is a libm call on targets without hardware FMA.
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    unsafe fn min(a: P8, b: P8) -> P8 {
        lanewise2(a, b, |x, y| if x < y { x } else { y })
    }
    #[inline(always)]
    unsafe fn max(a: P8, b: P8) -> P8 {
        lanewise2(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    unsafe fn abs(a: P8) -> P8 {
        lanewise(a, f32::abs)
    }
    #[inline(always)]
    unsafe fn round(a: P8) -> P8 {
        lanewise(a, f32::round_ties_even)
    }
    #[inline(always)]
    unsafe fn pow2i(n: P8) -> P8 {
        lanewise(n, |v| f32::from_bits(((v as i32 + 127) as u32) << 23))
    }
    #[inline(always)]
    unsafe fn copysign(mag: P8, sign: P8) -> P8 {
        lanewise2(mag, sign, f32::copysign)
    }
    #[inline(always)]
    unsafe fn select_lt(a: P8, b: P8, x: P8, y: P8) -> P8 {
        std::array::from_fn(|i| if a[i] < b[i] { x[i] } else { y[i] })
    }
    #[inline(always)]
    unsafe fn nan_or(x: P8, y: P8) -> P8 {
        lanewise2(x, y, |p, q| if p.is_nan() { p } else { q })
    }
    #[inline(always)]
    unsafe fn frexp(x: P8) -> (P8, P8) {
        let m = lanewise(x, |v| f32::from_bits((v.to_bits() & 0x007F_FFFF) | 0x3F80_0000));
        let e = lanewise(x, |v| ((v.to_bits() >> 23) as i32 - 127) as f32);
        (m, e)
    }
    #[inline(always)]
    unsafe fn hsum(v: P8) -> f32 {
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
    #[inline(always)]
    unsafe fn hmax(v: P8) -> f32 {
        v.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use std::arch::x86_64::*;

    /// Round to nearest, suppress exceptions.
    const NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

    /// 8 × f32 in a ymm register (AVX2 + FMA).
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx2;

    // SAFETY: only used inside `#[target_feature(enable = "avx2,fma")]` functions, which run
    // after `is_x86_feature_detected!` confirmed both features.
    unsafe impl Lanes for Avx2 {
        type V = __m256;
        const L: usize = 8;
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            // SAFETY: caller guarantees 8 readable floats.
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            // SAFETY: caller guarantees 8 writable floats.
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn div(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_div_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn min(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_min_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn max(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_max_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn abs(a: __m256) -> __m256 {
            unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
        }
        #[inline(always)]
        unsafe fn round(a: __m256) -> __m256 {
            unsafe { _mm256_round_ps::<NEAREST>(a) }
        }
        #[inline(always)]
        unsafe fn pow2i(n: __m256) -> __m256 {
            unsafe {
                let i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
                _mm256_castsi256_ps(_mm256_slli_epi32::<23>(i))
            }
        }
        #[inline(always)]
        unsafe fn copysign(mag: __m256, sign: __m256) -> __m256 {
            unsafe {
                let s = _mm256_set1_ps(-0.0);
                _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sign))
            }
        }
        #[inline(always)]
        unsafe fn select_lt(a: __m256, b: __m256, x: __m256, y: __m256) -> __m256 {
            unsafe { _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_LT_OQ>(a, b)) }
        }
        #[inline(always)]
        unsafe fn nan_or(x: __m256, y: __m256) -> __m256 {
            unsafe { _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x)) }
        }
        #[inline(always)]
        unsafe fn frexp(x: __m256) -> (__m256, __m256) {
            unsafe {
                let bits = _mm256_castps_si256(x);
                let m = _mm256_or_si256(
                    _mm256_and_si256(bits, _mm256_set1_epi32(0x007F_FFFF)),
                    _mm256_set1_epi32(0x3F80_0000),
                );
                let e = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127));
                (_mm256_castsi256_ps(m), _mm256_cvtepi32_ps(e))
            }
        }
        #[inline(always)]
        unsafe fn hsum(v: __m256) -> f32 {
            unsafe {
                let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
            }
        }
        #[inline(always)]
        unsafe fn hmax(v: __m256) -> f32 {
            let mut a = [0.0f32; 8];
            // SAFETY: `a` has 8 writable floats.
            unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) };
            a.iter().fold(f32::NEG_INFINITY, |m, &b| m.max(b))
        }
    }

    /// 16 × f32 in a zmm register (AVX-512F).
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx512;

    // SAFETY: only used inside `#[target_feature(enable = "avx512f")]` functions, which run
    // after `is_x86_feature_detected!("avx512f")`.
    unsafe impl Lanes for Avx512 {
        type V = __m512;
        const L: usize = 16;
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            // SAFETY: caller guarantees 16 readable floats.
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            // SAFETY: caller guarantees 16 writable floats.
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_sub_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn div(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_div_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn min(a: __m512, b: __m512) -> __m512 {
            // `vminps` semantics (second operand on NaN), as the trait documents.
            unsafe { _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b), b, a) }
        }
        #[inline(always)]
        unsafe fn max(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b), b, a) }
        }
        #[inline(always)]
        unsafe fn abs(a: __m512) -> __m512 {
            unsafe { _mm512_abs_ps(a) }
        }
        #[inline(always)]
        unsafe fn round(a: __m512) -> __m512 {
            unsafe { _mm512_roundscale_ps::<NEAREST>(a) }
        }
        #[inline(always)]
        unsafe fn pow2i(n: __m512) -> __m512 {
            unsafe {
                let i = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
                _mm512_castsi512_ps(_mm512_slli_epi32::<23>(i))
            }
        }
        #[inline(always)]
        unsafe fn copysign(mag: __m512, sign: __m512) -> __m512 {
            unsafe {
                let s = _mm512_set1_epi32(i32::MIN);
                let m = _mm512_andnot_si512(s, _mm512_castps_si512(mag));
                let g = _mm512_and_si512(s, _mm512_castps_si512(sign));
                _mm512_castsi512_ps(_mm512_or_si512(m, g))
            }
        }
        #[inline(always)]
        unsafe fn select_lt(a: __m512, b: __m512, x: __m512, y: __m512) -> __m512 {
            unsafe { _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b), y, x) }
        }
        #[inline(always)]
        unsafe fn nan_or(x: __m512, y: __m512) -> __m512 {
            unsafe { _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x), y, x) }
        }
        #[inline(always)]
        unsafe fn frexp(x: __m512) -> (__m512, __m512) {
            unsafe {
                let bits = _mm512_castps_si512(x);
                let m = _mm512_or_si512(
                    _mm512_and_si512(bits, _mm512_set1_epi32(0x007F_FFFF)),
                    _mm512_set1_epi32(0x3F80_0000),
                );
                let e = _mm512_sub_epi32(_mm512_srli_epi32::<23>(bits), _mm512_set1_epi32(127));
                (_mm512_castsi512_ps(m), _mm512_cvtepi32_ps(e))
            }
        }
        #[inline(always)]
        unsafe fn hsum(v: __m512) -> f32 {
            unsafe {
                let lo = _mm512_castps512_ps256(v);
                let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
                let s = _mm256_add_ps(lo, hi);
                let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
            }
        }
        #[inline(always)]
        unsafe fn hmax(v: __m512) -> f32 {
            let mut a = [0.0f32; 16];
            // SAFETY: `a` has 16 writable floats.
            unsafe { _mm512_storeu_ps(a.as_mut_ptr(), v) };
            a.iter().fold(f32::NEG_INFINITY, |m, &b| m.max(b))
        }
    }
}
