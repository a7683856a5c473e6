//! Register-tiled transposes of 4-byte elements (f32, i32, u32) for the permutations whose
//! innermost output dim reads the source with a stride while the next output dim reads it
//! contiguously: 8×8 tiles are loaded as eight contiguous source rows, transposed in AVX2
//! registers and stored as eight contiguous output rows. Elements are moved as bits.
//!
//! The register shuffles are shared with the kernels that lay data out the same way: the pools
//! over planes-as-lanes ([`block_avx2`]), and the stride-2 pools and depthwise convolutions that
//! split rows into even and odd columns ([`even_odd`], [`deinterleave`]); and, on AVX-512, the
//! lane window ([`down`]) and the three column taps of a 3-wide window over one row
//! ([`row_taps3`]) that the small-plane pool and depthwise kernels build each input row's
//! taps with.

use rayon::prelude::*;
use std::any::TypeId;

/// Output rows per cache block (and per parallel task).
const BLOCK: usize = 32;

/// True when `T` is a plain 4-byte element this module may move as `f32` bits.
fn four_byte<T: 'static>() -> bool {
    [TypeId::of::<f32>(), TypeId::of::<i32>(), TypeId::of::<u32>()].contains(&TypeId::of::<T>())
}

/// Fill `dst` (`bases.len()` planes of `rows × cols`) with
/// `dst[p][i][j] = src[bases[p] + i + j·cs]`. Returns false, writing nothing, when `T` is not a
/// 4-byte element, the CPU lacks AVX2, or a plane would read outside `src`.
pub(crate) fn transpose_planes<T: 'static + Send + Sync>(
    src: &[T],
    bases: &[isize],
    (rows, cols, cs): (usize, usize, usize),
    dst: &mut [T],
) -> bool {
    let plane = rows * cols;
    if !four_byte::<T>() || plane == 0 || dst.len() != bases.len() * plane {
        return false;
    }
    // Largest index a plane reads, relative to its base.
    let Some(reach) = (cols - 1).checked_mul(cs).and_then(|v| v.checked_add(rows - 1)) else {
        return false;
    };
    if bases
        .iter()
        .any(|&b| b < 0 || (b as usize).checked_add(reach).is_none_or(|e| e >= src.len()))
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `T` is f32, i32 or u32 (checked above): same size and alignment as f32, every
        // bit pattern valid, so both slices can be viewed as f32 over exactly their memory.
        let (s, d) = unsafe {
            (
                std::slice::from_raw_parts(src.as_ptr().cast::<f32>(), src.len()),
                std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<f32>(), dst.len()),
            )
        };
        d.par_chunks_mut(plane).zip(bases.par_iter()).for_each(|(pd, &b)| {
            pd.par_chunks_mut(BLOCK * cols).enumerate().for_each(|(bi, blk)| {
                // SAFETY: AVX2 is available (detected above); the plane reads
                // src[b ..= b + reach] (checked in bounds above) and `blk` holds whole rows.
                unsafe { block_avx2(s, b as usize, bi * BLOCK, cols, cs, blk) }
            });
        });
        return true;
    }
    false
}

/// `dst[i·cols + j] = s[base + i0 + i + j·cs]` for the rows `dst` holds: [`block_avx2`] where
/// AVX2 is available, element by element elsewhere. Used to transpose weights while packing.
///
/// # Panics
/// If the source range is outside `s` (callers pass ranges of a tensor they have checked).
pub(crate) fn transpose_block(s: &[f32], base: usize, i0: usize, cols: usize, cs: usize, dst: &mut [f32]) {
    let nrows = dst.len() / cols.max(1);
    if nrows == 0 || cols == 0 {
        return;
    }
    assert!(
        base + i0 + (nrows - 1) + (cols - 1) * cs < s.len(),
        "transpose_block: source range"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available and the range was checked above.
        unsafe { block_avx2(s, base, i0, cols, cs, dst) };
        return;
    }
    for (i, row) in dst.chunks_exact_mut(cols).enumerate() {
        for (j, d) in row.iter_mut().enumerate() {
            *d = s[base + i0 + i + j * cs];
        }
    }
}

/// Output rows `i0..` (as many as `dst` holds) of one plane whose source starts at `base`:
/// `dst[i·cols + j] = s[base + i0 + i + j·cs]`, on the calling thread.
///
/// # Safety
/// AVX2 must be available, and `base + (i0 + dst.len() / cols - 1) + (cols - 1)·cs < s.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn block_avx2(s: &[f32], base: usize, i0: usize, cols: usize, cs: usize, dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let nrows = dst.len() / cols;
    let sp = s.as_ptr().add(base + i0);
    let dp = dst.as_mut_ptr();
    let full_cols = cols - cols % 8;
    for j0 in (0..full_cols).step_by(8) {
        let mut i = 0;
        while i + 8 <= nrows {
            // SAFETY: reads source rows j0..j0+8 at elements i..i+8 and writes output rows
            // i..i+8 at columns j0..j0+8, all inside the stated bounds.
            let ld = |jj: usize| _mm256_loadu_ps(sp.add(i + (j0 + jj) * cs));
            let r = transpose8([ld(0), ld(1), ld(2), ld(3), ld(4), ld(5), ld(6), ld(7)]);
            for (ii, v) in r.into_iter().enumerate() {
                _mm256_storeu_ps(dp.add((i + ii) * cols + j0), v);
            }
            i += 8;
        }
        for ii in i..nrows {
            for jj in j0..j0 + 8 {
                dst[ii * cols + jj] = *sp.add(ii + jj * cs);
            }
        }
    }
    for ii in 0..nrows {
        for jj in full_cols..cols {
            dst[ii * cols + jj] = *sp.add(ii + jj * cs);
        }
    }
}

/// The 8×8 transpose of the rows `r`: lane `j` of output `i` is lane `i` of `r[j]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn transpose8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    let [r0, r1, r2, r3, r4, r5, r6, r7] = r;
    let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
    let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
    let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
    let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
    let (u0, u1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
    let (u2, u3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
    let (u4, u5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
    let (u6, u7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// The even and the odd elements of the 16 values `a ‖ b`, each in order (callable only where
/// AVX2 is enabled or detected).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn even_odd(
    a: std::arch::x86_64::__m256,
    b: std::arch::x86_64::__m256,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    // Within each 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; then order the 64-bit halves.
    let e = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
    let o = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
    let order = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
    (order(e), order(o))
}

/// `even[q] = u[2q]`, `odd[q] = u[2q + 1]` (`even.len() == ceil(n/2)`, `odd.len() == n/2`).
#[inline(always)]
pub(crate) fn deinterleave(u: &[f32], even: &mut [f32], odd: &mut [f32]) {
    let pairs = u.len() / 2;
    let mut q = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && even.len() >= pairs && odd.len() >= pairs {
        // SAFETY: AVX2 is available (detected just above); `u` holds 2·pairs values and both
        // halves hold at least `pairs` (checked above), the only memory touched.
        q = unsafe { deinterleave_avx2(u, even, odd, pairs) };
    }
    for q in q..pairs {
        even[q] = u[2 * q];
        odd[q] = u[2 * q + 1];
    }
    if u.len() % 2 == 1 {
        even[pairs] = u[2 * pairs];
    }
}

/// The first `8·⌊pairs/8⌋` pairs of [`deinterleave`]; returns how many pairs it wrote.
///
/// # Safety
/// The CPU must support AVX2; `u.len() >= 2·pairs`, `even.len() >= pairs`, `odd.len() >= pairs`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave_avx2(u: &[f32], even: &mut [f32], odd: &mut [f32], pairs: usize) -> usize {
    use std::arch::x86_64::*;
    let (up, ep, op) = (u.as_ptr(), even.as_mut_ptr(), odd.as_mut_ptr());
    let mut q = 0;
    while q + 8 <= pairs {
        // SAFETY: reads u[2q..2q+16] and writes even/odd[q..q+8], all within the stated bounds.
        let (e, o) = even_odd(_mm256_loadu_ps(up.add(2 * q)), _mm256_loadu_ps(up.add(2 * q + 8)));
        _mm256_storeu_ps(ep.add(q), e);
        _mm256_storeu_ps(op.add(q), o);
        q += 8;
    }
    q
}

/// Lanes `N..16` of `lo` followed by lanes `0..N` of `hi` (`valignd`): a 16-lane window
/// sliding over `lo ‖ hi`, shared by the AVX-512 pool and depthwise kernels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) fn down<const N: i32>(
    hi: std::arch::x86_64::__m512,
    lo: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    _mm512_castsi512_ps(_mm512_alignr_epi32::<N>(
        _mm512_castps_si512(hi),
        _mm512_castps_si512(lo),
    ))
}

/// The mask of the first `n` of 16 lanes (all of them from 16 on).
#[cfg(target_arch = "x86_64")]
pub(crate) fn first_lanes(n: usize) -> std::arch::x86_64::__mmask16 {
    if n >= 16 {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as u16
    }
}

/// The three column taps of one input row for up to `16·NV` outputs of a 3-wide window of
/// stride `S` (1 or 2) with padding `P` (0 or 1) before it: tap `t` of output `j` is column
/// `S·j − P + t` of `row`, and columns outside the row read as `fill`. Shared by the AVX-512
/// small-plane pool and depthwise kernels, which make each input row's taps once.
///
/// # Safety
/// AVX-512F must be available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn row_taps3<const S: usize, const P: usize, const NV: usize>(
    row: &[f32],
    fill: std::arch::x86_64::__m512,
) -> [[std::arch::x86_64::__m512; NV]; 3] {
    use std::arch::x86_64::*;
    let iw = row.len();
    // Columns 16·v.. of the row, `fill` past its end (no load at all past it: a masked load of
    // lanes beyond the plane may need a slow fault-suppression assist).
    let ld = |v: usize| -> __m512 {
        let at = 16 * v;
        if at >= iw {
            fill
        } else {
            // SAFETY: the mask covers row[at..iw].
            unsafe { _mm512_mask_loadu_ps(fill, first_lanes(iw - at), row.as_ptr().add(at)) }
        }
    };
    if S == 1 {
        // Column j + t − P of output j, from vectors v and v + 1.
        let c: [__m512; NV] = std::array::from_fn(ld);
        let next = |v: usize| if v + 1 < NV { c[v + 1] } else { ld(NV) };
        if P == 1 {
            let l = std::array::from_fn(|v| down::<15>(c[v], if v == 0 { fill } else { c[v - 1] }));
            let r = std::array::from_fn(|v| down::<1>(next(v), c[v]));
            [l, c, r]
        } else {
            let r1 = std::array::from_fn(|v| down::<1>(next(v), c[v]));
            let r2 = std::array::from_fn(|v| down::<2>(next(v), c[v]));
            [c, r1, r2]
        }
    } else {
        // Columns 2j − P + t: the even and odd columns of each pair of vectors.
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
        let pairs: [(__m512, __m512); NV] = std::array::from_fn(|v| (ld(2 * v), ld(2 * v + 1)));
        let e = pairs.map(|(a, b)| _mm512_permutex2var_ps(a, even, b));
        let o = pairs.map(|(a, b)| _mm512_permutex2var_ps(a, odd, b));
        if P == 1 {
            let l = std::array::from_fn(|v| down::<15>(o[v], if v == 0 { fill } else { o[v - 1] }));
            [l, e, o]
        } else {
            // Column 2j + 2: the even columns moved down a lane, the next pair's first after.
            let e2 = std::array::from_fn(|v| down::<1>(if v + 1 < NV { e[v + 1] } else { ld(2 * NV) }, e[v]));
            [e, o, e2]
        }
    }
}
