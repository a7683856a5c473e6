//! Register kernel for 2-D f32 pools with stride 1 or 2 and dilation 1, on AVX-512: sixteen
//! outputs of one row per vector, every window tap loaded straight from the input (stride 2:
//! two loads de-interleaved by one two-source permute) and folded in the generic path's
//! (row, column) tap order. Max results therefore equal the generic path's bit for bit, NaNs and
//! signed zeros included, with no checking pass, and averages are summed in the same order as
//! the exact row kernel. One pass over the window rows per output row, no row buffers.
//!
//! Only the interior columns (every column tap in bounds) run here; border columns are handed
//! back to the caller's scalar code.

use super::{Axis, FastKind};
use crate::ops::layout::tile::down;

/// True when [`plane`] handles this window on this CPU.
pub(super) fn supports(aw: &Axis) -> bool {
    matches!(aw.s, 1 | 2)
        && matches!(aw.k, 2 | 3)
        && aw.d == 1
        && aw.int_hi > aw.int_lo
        && std::arch::is_x86_feature_detected!("avx512f")
}

/// Pool one plane: the interior columns of each output row here, every other column through
/// `border(oh, orow, (a, b))`, which must fill the columns outside `[a, b)`.
///
/// Callers check [`supports`] first; without it every column goes to `border`.
pub(super) fn plane(
    x: &[f32],
    ah: &Axis,
    aw: &Axis,
    kind: FastKind,
    out: &mut [f32],
    mut border: impl FnMut(usize, &mut [f32], (usize, usize)),
) {
    let (iw, ow) = (aw.n_in, aw.lo.len());
    if ow == 0 {
        return;
    }
    let ok = supports(aw);
    let (a, b) = (aw.int_lo, aw.int_hi);
    let mut offs = [0usize; MAX_ROWS];
    for (oh, orow) in out.chunks_exact_mut(ow).enumerate() {
        let (h0, h1) = (ah.lo[oh], ah.hi[oh]);
        // Every window row of every interior column must lie inside `x`: rows and columns grow
        // with their index, so the last row's last tap bounds them all.
        let fits = h0 < h1 && h1 - h0 <= MAX_ROWS && ah.at(oh, h1 - 1) * iw + aw.at(b - 1, aw.k - 1) < x.len();
        if !(ok && fits) {
            border(oh, orow, (0, 0));
            continue;
        }
        let n = h1 - h0;
        for (o, th) in offs.iter_mut().zip(h0..h1) {
            *o = ah.at(oh, th) * iw + aw.at(a, 0);
        }
        let cnt = match kind {
            FastKind::Max => 1.0,
            FastKind::Avg { include_pad: true } => (ah.padded[oh] * aw.k) as f32,
            FastKind::Avg { include_pad: false } => (n * aw.k) as f32,
        };
        // SAFETY: AVX-512F is available and the stride and taps are (1 or 2, 2 or 3)
        // (`supports`); every tap of every interior column lies inside `x` (`fits`), and `a..b`
        // are columns of `orow`.
        let (offs, o) = (&offs[..n], &mut orow[a..b]);
        unsafe {
            match (aw.s, aw.k, kind == FastKind::Max) {
                (1, 2, true) => row_avx512::<1, 2, true>(x, offs, cnt, o),
                (1, _, true) => row_avx512::<1, 3, true>(x, offs, cnt, o),
                (2, 2, true) => row_avx512::<2, 2, true>(x, offs, cnt, o),
                (_, _, true) => row_avx512::<2, 3, true>(x, offs, cnt, o),
                (1, 2, false) => row_avx512::<1, 2, false>(x, offs, cnt, o),
                (1, _, false) => row_avx512::<1, 3, false>(x, offs, cnt, o),
                (2, 2, false) => row_avx512::<2, 2, false>(x, offs, cnt, o),
                (_, _, false) => row_avx512::<2, 3, false>(x, offs, cnt, o),
            }
        };
        border(oh, orow, (a, b));
    }
}

/// Window rows the register kernel takes (taller windows go to the border path).
const MAX_ROWS: usize = 16;

/// `o[j]`: the fold (or the mean over `cnt` taps) of the window of output column `j`, whose
/// first tap in window row `r` is `x[offs[r] + j·s]`.
///
/// # Safety
/// AVX-512F must be available; `offs` is non-empty, and for every `r` and `j < o.len()`,
/// `offs[r] + j·S + K - 1 < x.len()`.
#[target_feature(enable = "avx512f")]
unsafe fn row_avx512<const S: usize, const K: usize, const MAX: bool>(
    x: &[f32],
    offs: &[usize],
    cnt: f32,
    o: &mut [f32],
) {
    use std::arch::x86_64::*;
    let (xp, len) = (x.as_ptr(), x.len());
    // Sixteen values from x[at..]; lanes past the end of `x` read as 0. Only lanes that feed
    // dead output lanes can lie past the end (the live ones are in bounds by the contract), and
    // a full load is used whenever it stays inside `x`: partial masks are slow on some cores.
    let load = |at: usize| -> __m512 {
        if at + 16 <= len {
            // SAFETY: x[at..at + 16] is in bounds.
            unsafe { _mm512_loadu_ps(xp.add(at)) }
        } else {
            let live = len.saturating_sub(at).min(16);
            // SAFETY: the mask covers x[at..len] only; masked-off lanes are not accessed.
            unsafe { _mm512_maskz_loadu_ps(((1u32 << live) - 1) as u16, xp.wrapping_add(at)) }
        }
    };
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    // Tap t of the sixteen outputs whose first window value is x[at]: lane l is x[at + l·S + t].
    let taps = |at: usize| -> [__m512; K] {
        let c0 = load(at);
        let c1 = load(at + 16);
        let mut t = [c0; K];
        if S == 1 {
            t[1] = down::<1>(c1, c0);
            if K == 3 {
                t[2] = down::<2>(c1, c0);
            }
        } else {
            let e = _mm512_permutex2var_ps(c0, even, c1);
            t[0] = e;
            t[1] = _mm512_permutex2var_ps(c0, odd, c1);
            if K == 3 {
                // x[at + 2l + 2]: the even values moved down one lane, x[at + 32] last.
                let c2 = load(at + 32);
                t[2] = down::<1>(c2, e);
            }
        }
        t
    };
    let n = o.len();
    let mut j = 0;
    while j < n {
        // Full blocks; the last one overlaps the previous instead of masking (stores the same
        // values again), unless the row is narrower than a block.
        let j0 = if n >= 16 { j.min(n - 16) } else { j };
        let t0 = taps(offs[0] + j0 * S);
        let mut acc = t0[0];
        if MAX {
            // maxps(v, acc) = v > acc ? v : acc: the generic path's keep_max(acc, v), which
            // keeps the earliest maximum and a NaN only in the first tap. Each later window row
            // folds on its own from −∞ (its NaNs dropped, its earliest maximum kept) and then
            // into `acc` in row order: the same result with shorter dependency chains.
            t0[1..].iter().for_each(|&v| acc = _mm512_max_ps(v, acc));
            for &r in &offs[1..] {
                let mut row = _mm512_set1_ps(f32::NEG_INFINITY);
                taps(r + j0 * S).iter().for_each(|&v| row = _mm512_max_ps(v, row));
                acc = _mm512_max_ps(row, acc);
            }
        } else {
            t0[1..].iter().for_each(|&v| acc = _mm512_add_ps(acc, v));
            for &r in &offs[1..] {
                taps(r + j0 * S).iter().for_each(|&v| acc = _mm512_add_ps(acc, v));
            }
        }
        if !MAX {
            // Divided, not scaled by 1/cnt: the exact row kernel's rounding.
            acc = _mm512_div_ps(acc, _mm512_set1_ps(cnt));
        }
        if n >= 16 {
            // SAFETY: j0 + 16 <= n = o.len().
            unsafe { _mm512_storeu_ps(o.as_mut_ptr().add(j0), acc) };
        } else {
            // SAFETY: lanes 0..n of `o`.
            unsafe { _mm512_mask_storeu_ps(o.as_mut_ptr(), ((1u32 << n) - 1) as u16, acc) };
        }
        j = j0 + 16;
    }
}
