//! AVX-512 3×3 depthwise planes with output rows of at most 32 (the 7×7 to 28×28 stages of
//! ShuffleNet and MobileNet): each input row is loaded straight from the plane into one or
//! two vectors (masked, zeros past its end), and its three column taps are made in registers —
//! shifted a lane with zeros shifted in at the borders (stride 1), or split into even and odd
//! columns (stride 2). No padded copy of the plane is made, and each output row is one or two
//! vectors of nine fused multiply-adds, in the generic path's tap order.

use crate::ops::conv::geom::Geom;
use crate::ops::layout::tile::{first_lanes as lanes, row_taps3};
use std::arch::x86_64::*;

/// Output columns the kernel takes: two vectors.
const MAX_COLS: usize = 32;

/// Whether [`plane`] takes geometry `g` (a 3×3 depthwise window of stride `s`, 1 or 2) on
/// this CPU: padding of one on every side and output rows of at most [`MAX_COLS`].
pub(super) fn supports(g: &Geom, s: usize) -> bool {
    g.pb[1..] == [1, 1]
        && g.pe[1..] == [1, 1]
        && g.out[2] <= MAX_COLS
        && g.out[2] > 0
        && (s == 1 || s == 2)
        && std::arch::is_x86_feature_detected!("avx512f")
}

/// One filter `w` (nine taps, row major) with bias `b` over input plane `x` (`ih × iw`) into
/// `out` (`oh × ow`), for a geometry [`supports`] takes with stride `s`.
///
/// # Panics
/// If `x` or `out` is smaller than the geometry says.
pub(super) fn plane(x: &[f32], g: &Geom, s: usize, w: &[f32; 9], b: f32, out: &mut [f32]) {
    let (ih, iw, oh, ow) = (g.inp[1], g.inp[2], g.out[1], g.out[2]);
    assert!(
        x.len() >= ih * iw && out.len() >= oh * ow && supports(g, s),
        "depthwise plane bounds"
    );
    // SAFETY: AVX-512F is available (`supports`), and the planes hold the extents read and
    // written (asserted above); the kernel masks every access to the row it belongs to.
    unsafe {
        match (s, ow > 16) {
            (1, false) => plane_avx512::<1, 1>(x, (ih, iw), w, b, out, (oh, ow)),
            (1, true) => plane_avx512::<1, 2>(x, (ih, iw), w, b, out, (oh, ow)),
            (_, false) => plane_avx512::<2, 1>(x, (ih, iw), w, b, out, (oh, ow)),
            (_, true) => plane_avx512::<2, 2>(x, (ih, iw), w, b, out, (oh, ow)),
        }
    }
}

/// The kernel with stride `S` and `NV` output vectors per row.
///
/// # Safety
/// AVX-512F must be available; `x` holds `ih × iw` values, `out` `oh × ow`, `ow <= 16·NV`,
/// and the window is 3×3 with padding one (so input column `S·j - 1 + t` feeds output `j`).
#[target_feature(enable = "avx512f")]
unsafe fn plane_avx512<const S: usize, const NV: usize>(
    x: &[f32],
    (ih, iw): (usize, usize),
    w: &[f32; 9],
    b: f32,
    out: &mut [f32],
    (oh, ow): (usize, usize),
) {
    let zero = _mm512_setzero_ps();
    // The three column taps of input row `y` for every output column (zeros for rows
    // outside the plane and columns outside the row: the padding).
    let taps = |y: isize| -> [[__m512; NV]; 3] {
        if y < 0 || y >= ih as isize {
            return [[zero; NV]; 3];
        }
        let row = &x[y as usize * iw..(y as usize + 1) * iw];
        // SAFETY: AVX-512F is available (this function's contract).
        unsafe { row_taps3::<S, 1, NV>(row, zero) }
    };
    let wv = w.map(|v| _mm512_set1_ps(v));
    let bv = _mm512_set1_ps(b);
    let mut rows = [taps(-1), taps(0), taps(1)];
    for i in 0..oh {
        if i > 0 {
            let top = (S * i) as isize - 1;
            rows = if S == 1 {
                [rows[1], rows[2], taps(top + 2)]
            } else {
                [rows[2], taps(top + 1), taps(top + 2)]
            };
        }
        for v in 0..NV {
            let at = 16 * v;
            if at >= ow {
                break;
            }
            let mut acc = bv;
            for (r, row) in rows.iter().enumerate() {
                for (t, tap) in row.iter().enumerate() {
                    acc = _mm512_fmadd_ps(wv[3 * r + t], tap[v], acc);
                }
            }
            // SAFETY: the mask covers out[i·ow + at .. (i + 1)·ow], inside `out`.
            unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr().add(i * ow + at), lanes(ow - at), acc) };
        }
    }
}
