//! AVX-512 3×3 max pools with output rows of at most 32 (the 7×7 to 28×28 stages of
//! Inception and SqueezeNet): each input row is loaded straight from the plane into vectors
//! (masked, −∞ past its end), and its three column taps are made in registers — shifted a lane
//! or two (stride 1), or split into even and odd columns (stride 2) — once for the up to three
//! output rows that read it. No transpose, no padded copy, no scalar border columns.
//!
//! Each output starts from its first valid tap and folds all nine taps in the generic path's
//! (row, column) order with `maxps(v, acc)` (`keep_max`): taps in the padding read −∞ and
//! never replace anything, and the first valid tap folded again changes nothing, so results
//! equal the generic path's bit for bit, NaNs and signed zeros included.

use super::Axis;
use crate::ops::layout::tile::{first_lanes as lanes, row_taps3};
use std::arch::x86_64::*;

/// Output columns the kernel takes: two vectors.
const MAX_COLS: usize = 32;

/// Whether [`plane`] takes the window (`ah`, `aw`) on this CPU: 3×3, stride 1 or 2 (the same
/// on both axes), no dilation, padding before of at most one (the same on both axes), and
/// output rows of at most [`MAX_COLS`].
pub(super) fn supports(ah: &Axis, aw: &Axis) -> bool {
    let ow = aw.lo.len();
    ah.k == 3
        && aw.k == 3
        && ah.d == 1
        && aw.d == 1
        && ah.s == aw.s
        && matches!(aw.s, 1 | 2)
        && ah.pb == aw.pb
        && matches!(aw.pb, 0 | 1)
        && ow > 0
        && ow <= MAX_COLS
        && std::arch::is_x86_feature_detected!("avx512f")
}

/// Max-pool input plane `x` (`ah.n_in × aw.n_in`) into `out` (one row of `aw.lo.len()` per
/// output row), for a window [`supports`] takes.
///
/// # Panics
/// If `x` or `out` is smaller than the window says.
pub(super) fn plane(x: &[f32], ah: &Axis, aw: &Axis, out: &mut [f32]) {
    let (ih, iw, oh, ow) = (ah.n_in, aw.n_in, ah.lo.len(), aw.lo.len());
    assert!(
        x.len() >= ih * iw && out.len() >= oh * ow && supports(ah, aw),
        "max pool plane bounds"
    );
    let dims = (ih, iw, oh, ow);
    // SAFETY: AVX-512F is available (`supports`), and the planes hold the extents read and
    // written (asserted above); the kernel masks every access to the row it belongs to.
    unsafe {
        match (aw.s, aw.pb == 1, ow > 16) {
            (1, true, false) => plane_avx512::<1, 1, 1>(x, dims, out),
            (1, true, true) => plane_avx512::<1, 1, 2>(x, dims, out),
            (1, false, false) => plane_avx512::<1, 0, 1>(x, dims, out),
            (1, false, true) => plane_avx512::<1, 0, 2>(x, dims, out),
            (_, true, false) => plane_avx512::<2, 1, 1>(x, dims, out),
            (_, true, true) => plane_avx512::<2, 1, 2>(x, dims, out),
            (_, false, false) => plane_avx512::<2, 0, 1>(x, dims, out),
            (_, false, true) => plane_avx512::<2, 0, 2>(x, dims, out),
        }
    }
}

/// The kernel with stride `S`, padding before `P` and `NV` output vectors per row: output
/// `(i, j)` reads input rows `S·i − P + r` and columns `S·j − P + t`, `r, t < 3`.
///
/// # Safety
/// AVX-512F must be available; `x` holds `ih × iw` values, `out` `oh × ow`, `ow <= 16·NV`.
#[target_feature(enable = "avx512f")]
unsafe fn plane_avx512<const S: usize, const P: usize, const NV: usize>(
    x: &[f32],
    (ih, iw, oh, ow): (usize, usize, usize, usize),
    out: &mut [f32],
) {
    let ninf = _mm512_set1_ps(f32::NEG_INFINITY);
    // The three column taps of input row `y` for every output column (−∞ for rows outside the
    // plane and columns outside the row).
    let taps = |y: isize| -> [[__m512; NV]; 3] {
        if y < 0 || y >= ih as isize {
            return [[ninf; NV]; 3];
        }
        let row = &x[y as usize * iw..(y as usize + 1) * iw];
        // SAFETY: AVX-512F is available (this function's contract).
        unsafe { row_taps3::<S, P, NV>(row, ninf) }
    };
    // Output column 0's first valid tap is tap 1 when the window starts in the padding.
    let first_col: __mmask16 = if P == 1 { 1 } else { 0 };
    let mut rows = [taps(-(P as isize)), taps(1 - P as isize), taps(2 - P as isize)];
    for i in 0..oh {
        let top = (S * i) as isize - P as isize;
        if i > 0 {
            rows = if S == 1 {
                [rows[1], rows[2], taps(top + 2)]
            } else {
                [rows[2], taps(top + 1), taps(top + 2)]
            };
        }
        // The first window row inside the plane (rows above it are −∞ throughout).
        let rf = usize::from(top < 0);
        for v in 0..NV {
            let at = 16 * v;
            if at >= ow {
                break;
            }
            let mut acc = rows[rf][0][v];
            if v == 0 {
                acc = _mm512_mask_mov_ps(acc, first_col, rows[rf][1][v]);
            }
            // maxps(t, acc) = t > acc ? t : acc: keep_max(acc, t), in (row, column) order.
            for row in &rows {
                for tap in row {
                    acc = _mm512_max_ps(tap[v], acc);
                }
            }
            // SAFETY: the mask covers out[i·ow + at .. (i + 1)·ow], inside `out`.
            unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr().add(i * ow + at), lanes(ow - at), acc) };
        }
    }
}
