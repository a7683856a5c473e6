//! Separable f32 2-D window pooling: per output row, reduce the window's valid input rows
//! column by column into a padded row (contiguous, vectorises), then reduce that row over the
//! window's columns. Stride 2 splits the row into its even and odd columns first, so every
//! column tap is a contiguous load too.
//!
//! Max pooling folds with [`keep_max`], so a row's result equals the row-major fold of the
//! generic path whenever no tap is NaN in its window's first input row and no tap is `-0.0`
//! (only then can the order of the taps change the result). The vertical pass checks both for
//! each output row, and a row that fails the check is recomputed by the exact row kernel.

use super::{keep_max, Axis, FastKind};
use crate::ops::layout::tile::deinterleave;
#[cfg(target_arch = "x86_64")]
use crate::ops::layout::tile::even_odd;

/// Reusable per-plane buffers.
#[derive(Default)]
pub(super) struct Scratch {
    /// Input row offsets of the current window rows.
    rows: Vec<usize>,
    /// The vertically reduced, padded row.
    u: Vec<f32>,
    /// `u` split into even columns followed by odd columns (stride 2).
    split: Vec<f32>,
    /// Valid (or padded, with `include_pad`) column taps per output column, as f32.
    wcnt: Vec<f32>,
    /// Lane-major planes for the small-plane kernel ([`super::lanes`]).
    pub(super) tile: Vec<f32>,
}

impl crate::buffers::ScratchValue for Scratch {
    fn size(&self) -> usize {
        self.rows.capacity() + self.u.capacity() + self.split.capacity() + self.wcnt.capacity() + self.tile.capacity()
    }
}

/// Columns of the padded row that the windows of one output row touch.
fn span(aw: &Axis) -> usize {
    let ow = aw.lo.len();
    if ow == 0 {
        0
    } else {
        (ow - 1) * aw.s + (aw.k - 1) * aw.d + 1
    }
}

/// Pool one plane; rows failing the max check go to `exact(oh, orow)`.
#[inline(always)]
pub(super) fn plane(
    x: &[f32],
    ah: &Axis,
    aw: &Axis,
    kind: FastKind,
    out: &mut [f32],
    sc: &mut Scratch,
    mut exact: impl FnMut(usize, &mut [f32]),
) {
    let (iw, ow) = (aw.n_in, aw.lo.len());
    if ow == 0 {
        return;
    }
    let len = span(aw);
    // Padded column c holds input column c - pb; [c0, c1) are the columns inside the input.
    let c0 = aw.pb.clamp(0, len as isize) as usize;
    let c1 = (iw as isize + aw.pb).clamp(c0 as isize, len as isize) as usize;
    let xc0 = (c0 as isize - aw.pb) as usize;
    let fill = if kind == FastKind::Max { f32::NEG_INFINITY } else { 0.0 };
    sc.u.clear();
    // Past `len`: room for the fused stride-2 kernel's last (overlapping) block of loads.
    sc.u.resize(len + S2_SLACK, fill);
    #[cfg(target_arch = "x86_64")]
    let fused_s2 =
        kind == FastKind::Max && aw.s == 2 && aw.d == 1 && ow >= 8 && std::arch::is_x86_feature_detected!("avx2");
    if let FastKind::Avg { include_pad } = kind {
        sc.wcnt.clear();
        sc.wcnt.extend((0..ow).map(|j| {
            if include_pad {
                aw.padded[j] as f32
            } else {
                (aw.hi[j] - aw.lo[j]) as f32
            }
        }));
    }
    for (oh, orow) in out.chunks_exact_mut(ow).enumerate() {
        let (h0, h1) = (ah.lo[oh], ah.hi[oh]);
        sc.rows.clear();
        sc.rows.extend((h0..h1).map(|th| ah.at(oh, th) * iw));
        let cols = &mut sc.u[c0..c1];
        match kind {
            FastKind::Max => {
                #[cfg(target_arch = "x86_64")]
                if fused_s2 {
                    // SAFETY: AVX2 is available and the window is stride 2, dilation 1 with at
                    // least 8 outputs (checked above); `u` holds `len + S2_SLACK` values.
                    if unsafe { max_row_s2_avx2(x, &sc.rows, xc0, (c0, c1), &mut sc.u, aw.k, orow) } {
                        exact(oh, orow);
                    }
                    continue;
                }
                if vertical_max(x, &sc.rows, xc0, cols) {
                    exact(oh, orow);
                    continue;
                }
                horizontal::<true>(&sc.u[..len], aw, &mut sc.split, orow);
            }
            FastKind::Avg { include_pad } => {
                vertical_sum(x, &sc.rows, xc0, cols);
                horizontal::<false>(&sc.u[..len], aw, &mut sc.split, orow);
                // An empty window sums to +0 over a zero count, giving NaN as the generic path.
                let hc = if include_pad { ah.padded[oh] } else { h1 - h0 } as f32;
                for (o, &wc) in orow.iter_mut().zip(&sc.wcnt) {
                    *o /= hc * wc;
                }
            }
        }
    }
}

/// Column-wise [`keep_max`] of the input rows at offsets `rows` (columns `xc0..`) into `dst`
/// (`-inf` when there are no rows). True when the row must be recomputed exactly: a tap is
/// `-0.0`, or a column's first value is NaN.
#[inline(always)]
fn vertical_max(x: &[f32], rows: &[usize], xc0: usize, dst: &mut [f32]) -> bool {
    let n = dst.len();
    if rows.is_empty() || n == 0 {
        dst.fill(f32::NEG_INFINITY);
        return false;
    }
    if rows.iter().any(|&r| r + xc0 + n > x.len()) {
        // Unreachable for a resolved geometry; the exact kernel indexes safely.
        return true;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available (detected just above), and every row `r` satisfies
        // `r + xc0 + n <= x.len()` (checked above), the only memory `vertical_max_avx2` reads.
        return unsafe { vertical_max_avx2(x, rows, xc0, dst) };
    }
    let neg0 = |v: &f32| v.to_bits() == 0x8000_0000;
    dst.copy_from_slice(&x[rows[0] + xc0..rows[0] + xc0 + n]);
    let mut bad = dst.iter().any(neg0);
    for &r in &rows[1..] {
        let src = &x[r + xc0..r + xc0 + n];
        bad |= src.iter().any(neg0);
        for (a, &v) in dst.iter_mut().zip(src) {
            *a = keep_max(*a, v);
        }
    }
    bad || dst.iter().any(|v| v.is_nan())
}

/// [`vertical_max`] with AVX2 intrinsics.
///
/// # Safety
/// The CPU must support AVX2, and `r + xc0 + dst.len() <= x.len()` for every `r` in `rows`
/// (`rows` non-empty).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn vertical_max_avx2(x: &[f32], rows: &[usize], xc0: usize, dst: &mut [f32]) -> bool {
    use std::arch::x86_64::*;
    let n = dst.len();
    let xp = x.as_ptr();
    let dp = dst.as_mut_ptr();
    let neg0 = _mm256_set1_epi32(i32::MIN);
    let mut flag = _mm256_setzero_si256();
    let mut i = 0;
    while i + 8 <= n || (i < n && n >= 8) {
        // A last partial block overlaps the previous one (the same values are stored again).
        i = i.min(n - 8);
        // SAFETY (loads and store): i + 8 <= n, and every row holds n values from r + xc0.
        let mut a = _mm256_loadu_ps(xp.add(rows[0] + xc0 + i));
        flag = _mm256_or_si256(flag, _mm256_cmpeq_epi32(_mm256_castps_si256(a), neg0));
        for &r in &rows[1..] {
            let v = _mm256_loadu_ps(xp.add(r + xc0 + i));
            flag = _mm256_or_si256(flag, _mm256_cmpeq_epi32(_mm256_castps_si256(v), neg0));
            // maxps(v, a) = v > a ? v : a: exactly keep_max(a, v).
            a = _mm256_max_ps(v, a);
        }
        flag = _mm256_or_si256(flag, _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(a, a)));
        _mm256_storeu_ps(dp.add(i), a);
        i += 8;
    }
    let mut bad = _mm256_testz_si256(flag, flag) == 0;
    for c in i..n {
        let mut a = x[rows[0] + xc0 + c];
        bad |= a.to_bits() == 0x8000_0000;
        for &r in &rows[1..] {
            let v = x[r + xc0 + c];
            bad |= v.to_bits() == 0x8000_0000;
            a = keep_max(a, v);
        }
        bad |= a.is_nan();
        dst[c] = a;
    }
    bad
}

/// Values past the padded row that [`max_row_s2_avx2`] may read.
const S2_SLACK: usize = 8;

/// One output row of a stride-2, dilation-1 max pool in one pass per vector block: the
/// vertical max of the window rows into `u[c0..c1]`, then `o[j]` = the [`keep_max`] fold of
/// `u[2j + t]` over the `k` column taps, each tap's even or odd columns gathered with shuffles.
/// Returns true when the row must be recomputed exactly (see [`vertical_max`]).
///
/// # Safety
/// The CPU must support AVX2; `o.len() >= 8`; `u` holds the padded row (`-inf` outside
/// `[c0, c1)`) plus [`S2_SLACK`] values, so `u.len() >= 2·(o.len() - 1) + k + S2_SLACK`; the
/// rows satisfy [`vertical_max_avx2`]'s contract for `c1 - c0` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_row_s2_avx2(
    x: &[f32],
    rows: &[usize],
    xc0: usize,
    (c0, c1): (usize, usize),
    u: &mut [f32],
    k: usize,
    o: &mut [f32],
) -> bool {
    use std::arch::x86_64::*;
    let cols = &mut u[c0..c1];
    if cols.is_empty() || rows.is_empty() || rows.iter().any(|&r| r + xc0 + cols.len() > x.len()) {
        return true;
    }
    // SAFETY: AVX2 is available and every row holds the values read (checked above).
    if unsafe { vertical_max_avx2(x, rows, xc0, cols) } {
        return true;
    }
    let ow = o.len();
    let up = u.as_ptr();
    // The even or odd columns of the 16 values at `p`.
    let half = |p: *const f32, odd: bool| -> __m256 {
        // SAFETY: the caller reads 16 values at `p` inside `u` (see the bound below).
        let (e, o) = unsafe { even_odd(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) };
        if odd {
            o
        } else {
            e
        }
    };
    let mut j = 0;
    loop {
        // The last block overlaps the previous one instead of leaving a remainder.
        let j0 = j.min(ow - 8);
        // Tap t reads u[2·j0 + t - (t odd) ..][..16]: at most 2·(ow - 8) + k + 15 <
        // 2·(ow - 1) + k + S2_SLACK values, inside `u`.
        let base = up.wrapping_add(2 * j0);
        let mut acc = half(base, false);
        for t in 1..k {
            let odd = t % 2 == 1;
            // maxps(v, acc) = v > acc ? v : acc: exactly keep_max(acc, v), in tap order.
            acc = _mm256_max_ps(half(base.wrapping_add(t - usize::from(odd)), odd), acc);
        }
        // SAFETY: j0 + 8 <= ow = o.len().
        unsafe { _mm256_storeu_ps(o.as_mut_ptr().add(j0), acc) };
        if j0 + 8 >= ow {
            return false;
        }
        j += 8;
    }
}

/// Column-wise sum of the input rows at offsets `rows` (columns `xc0..`) into `dst`.
#[inline(always)]
fn vertical_sum(x: &[f32], rows: &[usize], xc0: usize, dst: &mut [f32]) {
    let n = dst.len();
    let Some((&first, rest)) = rows.split_first() else {
        dst.fill(0.0);
        return;
    };
    dst.copy_from_slice(&x[first + xc0..first + xc0 + n]);
    for &r in rest {
        for (a, &v) in dst.iter_mut().zip(&x[r + xc0..r + xc0 + n]) {
            *a += v;
        }
    }
}

/// `o[j]` = the max (`MAX`) or sum of `u[j·s + t·d]` over the taps `t`, in tap order.
#[inline(always)]
fn horizontal<const MAX: bool>(u: &[f32], aw: &Axis, split: &mut Vec<f32>, o: &mut [f32]) {
    let (s, d, k, ow) = (aw.s, aw.d, aw.k, o.len());
    let fold = |o: &mut [f32], src: &[f32]| {
        if MAX {
            fold_max(o, src);
        } else {
            for (a, &v) in o.iter_mut().zip(src) {
                *a += v;
            }
        }
    };
    match s {
        1 => {
            o.copy_from_slice(&u[..ow]);
            for t in 1..k {
                fold(o, &u[t * d..t * d + ow]);
            }
        }
        2 => {
            // Column 2j + off lives at index j + off/2 of the even (off even) or odd half.
            let ne = u.len().div_ceil(2);
            split.clear();
            split.resize(u.len(), 0.0);
            let (even, odd) = split.split_at_mut(ne);
            deinterleave(u, even, odd);
            let tap = |off: usize| {
                let h = if off % 2 == 0 { &even[..] } else { &odd[..] };
                &h[off / 2..off / 2 + ow]
            };
            o.copy_from_slice(tap(0));
            for t in 1..k {
                fold(o, tap(t * d));
            }
        }
        _ => {
            for (j, a) in o.iter_mut().enumerate() {
                let w = &u[j * s..];
                let mut acc = w[0];
                for t in 1..k {
                    acc = if MAX { keep_max(acc, w[t * d]) } else { acc + w[t * d] };
                }
                *a = acc;
            }
        }
    }
}

/// `o[j] = keep_max(o[j], src[j])`. Written as a plain loop, LLVM turns the select-and-store
/// into a masked store (store only where `src` is greater), which is microcoded and several
/// times slower on AMD cores; the AVX form stores every lane.
#[inline(always)]
fn fold_max(o: &mut [f32], src: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX is available (detected just above), the only requirement.
        return unsafe { fold_max_avx(o, src) };
    }
    for (a, &v) in o.iter_mut().zip(src) {
        *a = keep_max(*a, v);
    }
}

/// [`fold_max`] with AVX intrinsics.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn fold_max_avx(o: &mut [f32], src: &[f32]) {
    use std::arch::x86_64::*;
    let n = o.len().min(src.len());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices.
        unsafe {
            let a = _mm256_loadu_ps(o.as_ptr().add(i));
            let v = _mm256_loadu_ps(src.as_ptr().add(i));
            // maxps(v, a) = v > a ? v : a: exactly keep_max(a, v).
            _mm256_storeu_ps(o.as_mut_ptr().add(i), _mm256_max_ps(v, a));
        }
        i += 8;
    }
    for j in i..n {
        o[j] = keep_max(o[j], src[j]);
    }
}
