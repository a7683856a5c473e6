//! A minimal f32 vector abstraction the micro-kernel is written against, with one implementation
//! per ISA (portable arrays, AVX2+FMA, AVX-512F).
//!
//! Every method is `#[inline(always)]`: the methods are only ever called from inside a
//! `#[target_feature]` micro-kernel entry point, where they (and the intrinsics they wrap) are
//! inlined and compiled with that entry point's features.

/// Lanes of f32 with the handful of operations the micro-kernel and its epilogue need.
///
/// # Safety
/// Implementations for x86 must only be used from code compiled with (or running under a CPU
/// check for) their target features; pointer methods require `L` (or `n`) readable/writable
/// floats at the pointer.
pub(crate) unsafe trait Simd {
    /// The vector type.
    type V: Copy;
    /// Lanes per vector.
    const L: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self::V;
    /// Load `L` floats (unaligned).
    unsafe fn load(p: *const f32) -> Self::V;
    /// Store `L` floats (unaligned).
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Load the first `n < L` floats, the other lanes zero.
    unsafe fn load_part(p: *const f32, n: usize) -> Self::V;
    /// Store the first `n < L` lanes.
    unsafe fn store_part(p: *mut f32, v: Self::V, n: usize);
    /// `a·b + c`.
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a + b`.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise maximum.
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise minimum.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// Hint that the cache line holding `p` will be accessed soon (any address is allowed).
    unsafe fn prefetch(_p: *const f32) {}
    /// Hint that the cache line at `p` will be needed soon, into L2 only (no-op by default).
    ///
    /// # Safety
    /// Never faults; callers run with the ISA's target features.
    #[inline(always)]
    unsafe fn prefetch_l2(_p: *const f32) {}
    /// The same vectors seen by the vector maths (transcendental epilogues).
    type Math: crate::vmath::lanes::Lanes<V = Self::V>;
}

/// Portable 8-lane "vector" (plain arrays; the compiler vectorises what it can).
#[derive(Clone, Copy)]
pub(crate) struct Portable;

// SAFETY: plain Rust; the pointer contracts are the trait's.
unsafe impl Simd for Portable {
    type V = [f32; 8];
    const L: usize = 8;
    type Math = crate::vmath::lanes::Portable;
    #[inline(always)]
    unsafe fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        // SAFETY: caller guarantees 8 readable floats.
        unsafe { (p as *const [f32; 8]).read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        // SAFETY: caller guarantees 8 writable floats.
        unsafe { (p as *mut [f32; 8]).write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn load_part(p: *const f32, n: usize) -> [f32; 8] {
        let mut v = [0.0; 8];
        for (i, x) in v.iter_mut().enumerate().take(n) {
            // SAFETY: caller guarantees n readable floats.
            *x = unsafe { *p.add(i) };
        }
        v
    }
    #[inline(always)]
    unsafe fn store_part(p: *mut f32, v: [f32; 8], n: usize) {
        for (i, x) in v.iter().enumerate().take(n) {
            // SAFETY: caller guarantees n writable floats.
            unsafe { *p.add(i) = *x };
        }
    }
    #[inline(always)]
    unsafe fn fmadd(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    unsafe fn add(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    unsafe fn mul(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    unsafe fn max(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    unsafe fn min(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| if a[i] < b[i] { a[i] } else { b[i] })
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// 8 × f32 in a ymm register (AVX2 + FMA).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    /// `MASK[8 - n..16 - n]` has `n` leading all-ones lanes.
    static MASK: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    // SAFETY: only instantiated inside `#[target_feature(enable = "avx2,fma")]` kernels, which
    // run after `is_x86_feature_detected!` confirmed both features.
    unsafe impl Simd for Avx2 {
        type V = __m256;
        const L: usize = 8;
        type Math = crate::vmath::lanes::Avx2;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
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
        unsafe fn load_part(p: *const f32, n: usize) -> __m256 {
            // SAFETY: n < 8 so the mask slice is in bounds; masked-off lanes are not accessed.
            unsafe {
                let m = _mm256_loadu_si256(MASK.as_ptr().add(8 - n) as *const __m256i);
                _mm256_maskload_ps(p, m)
            }
        }
        #[inline(always)]
        unsafe fn store_part(p: *mut f32, v: __m256, n: usize) {
            // SAFETY: as in load_part.
            unsafe {
                let m = _mm256_loadu_si256(MASK.as_ptr().add(8 - n) as *const __m256i);
                _mm256_maskstore_ps(p, m, v)
            }
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn max(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_max_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn min(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_min_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn prefetch(p: *const f32) {
            // SAFETY: prefetches never fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
        #[inline(always)]
        unsafe fn prefetch_l2(p: *const f32) {
            // SAFETY: prefetches never fault.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p as *const i8) }
        }
    }

    /// 16 × f32 in a zmm register (AVX-512F).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY: only instantiated inside `#[target_feature(enable = "avx512f")]` kernels, which run
    // after `is_x86_feature_detected!("avx512f")`.
    unsafe impl Simd for Avx512 {
        type V = __m512;
        const L: usize = 16;
        type Math = crate::vmath::lanes::Avx512;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
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
        unsafe fn load_part(p: *const f32, n: usize) -> __m512 {
            // SAFETY: masked-off lanes are neither read nor fault.
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p) }
        }
        #[inline(always)]
        unsafe fn store_part(p: *mut f32, v: __m512, n: usize) {
            // SAFETY: masked-off lanes are not written.
            unsafe { _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v) }
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn max(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_max_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn min(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_min_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn prefetch(p: *const f32) {
            // SAFETY: prefetches never fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
        }
        #[inline(always)]
        unsafe fn prefetch_l2(p: *const f32) {
            // SAFETY: prefetches never fault.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p as *const i8) }
        }
    }
}
