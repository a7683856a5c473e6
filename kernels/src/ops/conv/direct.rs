//! Convolutions with unit column stride (2-D and 1-D) without im2col: the input is copied once
//! into a zero-padded image, and every kernel position (tap) is a GEMM whose right operand is
//! that image shifted, read in place by the micro-kernel ([`sgemm_taps`]). The im2col path
//! writes and re-reads `k_size` copies of the input; this reads one, which matters most when
//! there are few output channels to spread the copy over (DenseNet's 32-channel 3×3 convs).

use super::forward::is_pointwise;
use super::geom::Geom;
use crate::error::Result;
use crate::ops::linalg::sgemm::{sgemm_taps, with_scratch, Activation, Bias, Epilogue, PackedA, Scratch, TapGrid};
use rayon::prelude::*;

/// Whether the direct path suits geometry `g` with `nr`-column micro-tiles: at most two spatial
/// dims, unit column stride, no cropping, not a plain 1×1, and output rows long enough that the
/// last micro-tile of each row wastes at most a fifth of the row.
pub(super) fn suits(g: &Geom, nr: usize) -> bool {
    let cols = g.out[2];
    g.inp[0] == 1
        && g.k[0] == 1
        && g.out[0] == 1
        && g.s[2] == 1
        && g.pb.iter().chain(&g.pe).all(|&p| p >= 0)
        && !is_pointwise(g)
        && cols > 0
        && cols.div_ceil(nr) * nr * 4 <= cols * 5
}

/// Zero-padded rows and columns of the copy of the input.
fn padded(g: &Geom) -> (usize, usize) {
    (
        (g.inp[1] as isize + g.pb[1] + g.pe[1]) as usize,
        (g.inp[2] as isize + g.pb[2] + g.pe[2]) as usize,
    )
}

/// One group of one image (`xg`: `cg` channels) into `dst` (`mg` channels of output), with
/// `taps` the packed `mg × (k_size·cg)` weights, kernel position major.
#[allow(clippy::too_many_arguments)]
pub(super) fn direct_gemm(
    xg: &[f32],
    taps: &PackedA,
    bias: Option<&[f32]>,
    res: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
    g: &Geom,
    cg: usize,
    mg: usize,
) -> Result<()> {
    let (hp, wp) = padded(g);
    let (h, w) = (g.inp[1], g.inp[2]);
    let (pt, pl) = (g.pb[1] as usize, g.pb[2] as usize);
    let plane = hp * wp;
    let len = cg * plane + TapGrid::slack();
    with_scratch(Scratch::Cols, len, |img| {
        // Copy each channel into its padded plane, borders zeroed (the scratch is reused).
        let fill = |(c, p): (usize, &mut [f32])| {
            let src = &xg[c * h * w..(c + 1) * h * w];
            p[..pt * wp].fill(0.0);
            for (r, row) in p[pt * wp..(pt + h) * wp].chunks_exact_mut(wp).enumerate() {
                row[..pl].fill(0.0);
                row[pl..pl + w].copy_from_slice(&src[r * w..(r + 1) * w]);
                row[pl + w..].fill(0.0);
            }
            p[(pt + h) * wp..].fill(0.0);
        };
        let planes = &mut img[..cg * plane];
        if cg * plane >= 1 << 16 && rayon::current_num_threads() > 1 {
            planes.par_chunks_mut(plane).enumerate().for_each(fill);
        } else {
            planes.chunks_mut(plane).enumerate().for_each(fill);
        }
        img[cg * plane..].fill(0.0);
        let offsets: Vec<usize> = (0..g.k[1] * g.k[2])
            .map(|t| (t / g.k[2]) * g.d[1] * wp + (t % g.k[2]) * g.d[2])
            .collect();
        let grid = TapGrid {
            data: img,
            plane,
            rows: g.out[1],
            cols: g.out[2],
            row_step: g.s[1] * wp,
            offsets: &offsets,
        };
        let out_sz = g.out_size();
        let epi = Epilogue {
            bias: bias.map(Bias::Row).unwrap_or(Bias::None),
            residual: res.map(|r| (r, out_sz)),
            act,
        };
        sgemm_taps(mg, cg, taps, &grid, dst, out_sz, &epi)
    })
}
