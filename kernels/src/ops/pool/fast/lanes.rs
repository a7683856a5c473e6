//! Pools over small planes, eight planes at a time with the planes as the vector lanes (AVX2).
//!
//! The eight planes are transposed position-major into a scratch tile, each output folds its
//! valid taps with one vector op per tap, and the results are transposed back. A row kernel
//! pays a setup per output row and masks or scalar code at the borders; here the valid taps of
//! an output are the same for all eight lanes, so no border needs either, and a 7×7 plane costs
//! 49 vector folds instead of seven short rows. Taps are folded in the generic path's
//! (row, column) order from the first valid one, so max results equal the generic path's bit
//! for bit (NaNs and signed zeros included); averages divide by the same counts.

use super::{Axis, FastKind};

/// Planes per group (the lanes of one vector).
pub(super) const LANES: usize = 8;

/// True when groups of planes go through [`group`]: AVX2, at least one full group, and output
/// rows short enough that a row kernel's per-row setup would dominate. `row_kernel` says
/// whether the AVX-512 row kernel takes the window; it is faster from 16 columns at stride 2
/// (`pool_timing`: 27 columns 0.067 vs 0.082 ms, 28 columns of a 2×2 average 0.058 vs 0.073),
/// this kernel up to 32 at stride 1 (28 columns 0.100 vs 0.120 ms).
pub(super) fn supports(planes: usize, aw: &Axis, row_kernel: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let ow = aw.lo.len();
        let short = ow <= 16 || (ow <= 32 && (aw.s == 1 || !row_kernel));
        planes >= LANES && short && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (planes, aw, row_kernel);
        false
    }
}

/// Pool the `LANES` planes of `x` (`LANES × isz`) into `out` (`LANES × osz`); `tile` is
/// scratch, grown to `LANES · (isz + osz)` values.
///
/// Callers check [`supports`] first.
pub(super) fn group(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32], tile: &mut Vec<f32>) {
    let (isz, osz) = (ah.n_in * aw.n_in, ah.lo.len() * aw.lo.len());
    if x.len() < LANES * isz || out.len() < LANES * osz {
        return;
    }
    if tile.len() < LANES * (isz + osz) {
        tile.resize(LANES * (isz + osz), 0.0);
    }
    let (t_in, t_out) = tile.split_at_mut(LANES * isz);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 is available (`supports`); `x` holds LANES planes of `isz` values and `out`
    // LANES of `osz` (checked above), `t_in` holds LANES·isz values and `t_out` at least
    // LANES·osz, so both transposes read at most (rows - 1) + (cols - 1)·cs < LANES·size
    // values; every valid tap of an output lies inside its input plane (`Axis` bounds).
    unsafe {
        use crate::ops::layout::tile::block_avx2;
        // t_in[p·LANES + l] = x[l·isz + p]; then out[l·osz + p] = t_out[p·LANES + l].
        block_avx2(x, 0, 0, LANES, isz, &mut t_in[..LANES * isz]);
        fold(t_in, ah, aw, kind, t_out);
        block_avx2(t_out, 0, 0, osz, LANES, &mut out[..LANES * osz]);
    }
}

/// Every output position of the lane-major planes `t` into `o`, in the generic tap order.
///
/// # Safety
/// AVX2; `t` holds the `LANES`-wide input positions of the planes the axes describe, `o` at
/// least `LANES` per output position.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fold(t: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, o: &mut [f32]) {
    use std::arch::x86_64::*;
    let (iw, ow) = (aw.n_in, aw.lo.len());
    let at = |p: usize| -> __m256 {
        debug_assert!((p + 1) * LANES <= t.len());
        // SAFETY: p is an input position of the plane (a valid tap), t holds LANES per position.
        unsafe { _mm256_loadu_ps(t.as_ptr().add(p * LANES)) }
    };
    let max = kind == FastKind::Max;
    let step = |acc: __m256, v: __m256| {
        // maxps(v, acc) = v > acc ? v : acc: the generic path's keep_max(acc, v).
        if max {
            _mm256_max_ps(v, acc)
        } else {
            _mm256_add_ps(acc, v)
        }
    };
    let count = |oh: usize, j: usize, include_pad: bool| {
        let (h, w) = if include_pad {
            (ah.padded[oh], aw.padded[j])
        } else {
            (ah.hi[oh] - ah.lo[oh], aw.hi[j] - aw.lo[j])
        };
        h * w
    };
    let finish = |acc: __m256, oh: usize, j: usize| match kind {
        FastKind::Max => acc,
        FastKind::Avg { include_pad } => _mm256_div_ps(acc, _mm256_set1_ps(count(oh, j, include_pad) as f32)),
    };
    // Output (oh, j) over its valid taps only.
    let edge = |oh: usize, j: usize| -> __m256 {
        let ((h0, h1), (w0, w1)) = ((ah.lo[oh], ah.hi[oh]), (aw.lo[j], aw.hi[j]));
        if h0 >= h1 || w0 >= w1 {
            // No valid tap: the generic path's -inf, or 0 / count (NaN for a zero count).
            return match kind {
                FastKind::Max => _mm256_set1_ps(f32::NEG_INFINITY),
                FastKind::Avg { include_pad } => {
                    _mm256_set1_ps(if count(oh, j, include_pad) == 0 { f32::NAN } else { 0.0 })
                }
            };
        }
        let mut acc = at(ah.at(oh, h0) * iw + aw.at(j, w0));
        for th in h0..h1 {
            let row = ah.at(oh, th) * iw;
            for tw in if th == h0 { w0 + 1 } else { w0 }..w1 {
                acc = step(acc, at(row + aw.at(j, tw)));
            }
        }
        finish(acc, oh, j)
    };
    // Offsets of the full window's taps from its first, in tap order (inline up to 32 taps).
    let mut taps = smallvec::SmallVec::<[usize; 32]>::new();
    if ah.k * aw.k <= 32 {
        taps.extend((0..ah.k).flat_map(|th| (0..aw.k).map(move |tw| th * ah.d * iw + tw * aw.d)));
    }
    let store = |o: &mut [f32], oh: usize, j: usize, v: __m256| {
        // SAFETY: output position oh·ow + j < o.len() / LANES.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr().add((oh * ow + j) * LANES), v) };
    };
    let (a, b) = (aw.int_lo, aw.int_hi);
    for oh in 0..ah.lo.len() {
        if taps.is_empty() || ah.lo[oh] != 0 || ah.hi[oh] != ah.k || a >= b {
            (0..ow).for_each(|j| store(o, oh, j, edge(oh, j)));
            continue;
        }
        (0..a).chain(b..ow).for_each(|j| store(o, oh, j, edge(oh, j)));
        // Interior: every tap valid, four outputs at a time for independent chains.
        let first = |j: usize| ah.at(oh, 0) * iw + aw.at(j, 0);
        let mut j = a;
        while j + 4 <= b {
            let base = [first(j), first(j + 1), first(j + 2), first(j + 3)];
            let mut acc = base.map(|p| at(p + taps[0]));
            for &off in &taps[1..] {
                for q in 0..4 {
                    acc[q] = step(acc[q], at(base[q] + off));
                }
            }
            for (q, &v) in acc.iter().enumerate() {
                store(o, oh, j + q, finish(v, oh, j + q));
            }
            j += 4;
        }
        for j in j..b {
            let base = first(j);
            let acc = taps[1..]
                .iter()
                .fold(at(base + taps[0]), |acc, &off| step(acc, at(base + off)));
            store(o, oh, j, finish(acc, oh, j));
        }
    }
}
