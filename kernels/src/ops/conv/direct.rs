//! 2-D and 1-D convolutions without im2col: the input is copied once into a zero-padded image
//! (split into column phases when the column stride is above 1, so every window row is
//! contiguous), and every kernel position (tap) is a GEMM whose right operand is that image
//! shifted, read in place by the micro-kernel ([`sgemm_taps`]). The im2col path
//! writes and re-reads `k_size` copies of the input; this reads one, which matters most when
//! there are few output channels to spread the copy over (DenseNet's 32-channel 3×3 convs).

use super::fast::{transposed_epilogue, untranspose, ConvEpilogue};
use super::forward::is_pointwise;
use super::geom::Geom;
use crate::error::Result;
use crate::ops::linalg::sgemm::{
    sgemm_taps, sgemm_taps_t, with_scratch, Bias, Epilogue, PackedA, PackedB, Scratch, TapGrid,
};
use rayon::prelude::*;

/// Whether the direct path suits geometry `g` with `nr`-column micro-tiles: at most two spatial
/// dims, no cropping, not a plain 1×1, and output rows long enough that the last micro-tile of
/// each row wastes at most a fifth of the row.
pub(super) fn suits(g: &Geom, nr: usize) -> bool {
    let cols = g.out[2];
    g.inp[0] == 1
        && g.k[0] == 1
        && g.out[0] == 1
        && g.pb.iter().chain(&g.pe).all(|&p| p >= 0)
        && !is_pointwise(g)
        && cols > 0
        && cols.div_ceil(nr) * nr * 4 <= cols * 5
}

/// Whether the positions-as-rows direct path ([`direct_t_gemm`]) takes geometry `g`: at most
/// two spatial dims and no cropping.
pub(super) fn suits_t(g: &Geom) -> bool {
    g.inp[0] == 1 && g.k[0] == 1 && g.out[0] == 1 && g.pb.iter().chain(&g.pe).all(|&p| p >= 0)
}

/// The padded image's layout: per channel, `s` column phases (phase `p` holds padded columns
/// `p, p + s, p + 2s, …`, so a stride-`s` window row is contiguous in one phase) of `hp` rows ×
/// `wq` columns.
struct Padded {
    hp: usize,
    wq: usize,
    s: usize,
}

impl Padded {
    fn new(g: &Geom) -> Padded {
        let hp = (g.inp[1] as isize + g.pb[1] + g.pe[1]) as usize;
        let wp = (g.inp[2] as isize + g.pb[2] + g.pe[2]) as usize;
        let s = g.s[2].max(1);
        Padded {
            hp,
            wq: wp.div_ceil(s),
            s,
        }
    }

    /// Floats per channel.
    fn plane(&self) -> usize {
        self.s * self.hp * self.wq
    }

    /// Offset of kernel position `(kh, kw)`'s window for output (0, 0) within a channel.
    fn tap(&self, g: &Geom, kh: usize, kw: usize) -> usize {
        let col = kw * g.d[2];
        (col % self.s) * self.hp * self.wq + kh * g.d[1] * self.wq + col / self.s
    }

    /// The grid of the output rows over the padded planes `img` with tap offsets `offsets`.
    fn grid<'a>(&self, g: &Geom, img: &'a [f32], offsets: &'a [usize]) -> TapGrid<'a> {
        TapGrid {
            data: img,
            plane: self.plane(),
            rows: g.out[1],
            cols: g.out[2],
            row_step: g.s[1] * self.wq,
            offsets,
        }
    }

    /// Fill one channel's plane `p` from the channel's input `src` (`h × w`), zeros around.
    fn fill(&self, g: &Geom, src: &[f32], p: &mut [f32]) {
        let (h, w) = (g.inp[1], g.inp[2]);
        let (pt, pl) = (g.pb[1] as usize, g.pb[2] as usize);
        for (phase, ph) in p.chunks_exact_mut(self.hp * self.wq).enumerate() {
            for (y, row) in ph.chunks_exact_mut(self.wq).enumerate() {
                let Some(iy) = y.checked_sub(pt).filter(|&iy| iy < h) else {
                    row.fill(0.0);
                    continue;
                };
                let line = &src[iy * w..(iy + 1) * w];
                if self.s == 1 {
                    let end = (pl + w).min(row.len());
                    row[..pl].fill(0.0);
                    row[pl..end].copy_from_slice(&line[..end - pl]);
                    row[end..].fill(0.0);
                } else {
                    // Column j holds input column j·s + phase − pl: zeros, then every s-th input
                    // value from the first column in range, then zeros.
                    let s = self.s;
                    let j0 = pl.saturating_sub(phase).div_ceil(s).min(row.len());
                    let j1 = (w + pl).saturating_sub(phase).div_ceil(s).clamp(j0, row.len());
                    row[..j0].fill(0.0);
                    row[j1..].fill(0.0);
                    if j1 > j0 {
                        let (dst, src) = (&mut row[j0..j1], &line[j0 * s + phase - pl..]);
                        if s == 2 {
                            // Whole pairs (vectorised), then the last value alone when the
                            // line ends mid-pair.
                            let whole = (src.len() / 2).min(dst.len());
                            for (v, pair) in dst.iter_mut().zip(src.chunks_exact(2)) {
                                *v = pair[0];
                            }
                            if whole < dst.len() {
                                dst[whole] = src[2 * whole];
                            }
                        } else {
                            for (v, &x) in dst.iter_mut().zip(src.iter().step_by(s)) {
                                *v = x;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A 1×1 kernel without padding (any strides, dilation irrelevant).
fn is_strided_pointwise(g: &Geom) -> bool {
    g.k == [1, 1, 1] && g.pb == [0, 0, 0] && g.pe == [0, 0, 0]
}

/// Copy the input positions a strided 1×1 reads (`g.out_size()` per channel, row-major) from
/// `xg` (`cg` channels) into `img`, zeroing the rest of `img`.
fn sample(xg: &[f32], g: &Geom, cg: usize, img: &mut [f32]) {
    let (n, in_sz) = (g.out_size(), g.in_size());
    let [_, oh, ow] = g.out;
    let [_, sh, sw] = g.s;
    let w = g.inp[2];
    let fill = |(c, dst): (usize, &mut [f32])| {
        let src = &xg[c * in_sz..(c + 1) * in_sz];
        for (y, row) in dst.chunks_exact_mut(ow.max(1)).take(oh).enumerate() {
            let line = &src[y * sh * w..];
            for (v, x) in row.iter_mut().zip(line.iter().step_by(sw.max(1))) {
                *v = *x;
            }
        }
    };
    fill_planes(img, cg, n, fill);
}

/// Fill the first `count` planes of `plane` floats of `img` with `fill(channel, plane)` (in
/// parallel when large) and zero the rest of `img` (the slack the kernels may read).
fn fill_planes(img: &mut [f32], count: usize, plane: usize, fill: impl Fn((usize, &mut [f32])) + Sync + Send) {
    let (planes, rest) = img.split_at_mut(count * plane);
    if count * plane >= 1 << 16 && rayon::current_num_threads() > 1 {
        planes.par_chunks_mut(plane).enumerate().for_each(fill);
    } else {
        planes.chunks_mut(plane).enumerate().for_each(fill);
    }
    rest.fill(0.0);
}

/// Copy `xg` (`cg` channels) into the padded planes of `pad` at the start of `img` (borders
/// zeroed, the scratch is reused), zero the rest of `img`, and return the tap offsets (inline
/// for kernels up to 11×11, so a warm run allocates nothing).
fn pad_image(xg: &[f32], g: &Geom, cg: usize, pad: &Padded, img: &mut [f32]) -> smallvec::SmallVec<[usize; 128]> {
    let plane = pad.plane();
    let (h, w) = (g.inp[1], g.inp[2]);
    let fill = |(c, p): (usize, &mut [f32])| pad.fill(g, &xg[c * h * w..(c + 1) * h * w], p);
    fill_planes(img, cg, plane, fill);
    (0..g.k[1] * g.k[2])
        .map(|t| pad.tap(g, t / g.k[2], t % g.k[2]))
        .collect()
}

/// One group of one image (`xg`: `cg` channels; `ge`: the group's epilogue) into `dst` (`mg`
/// channels of output), with `taps` the packed `mg × (k_size·cg)` weights, kernel position
/// major.
pub(super) fn direct_gemm(
    xg: &[f32],
    taps: &PackedA,
    ge: &ConvEpilogue,
    dst: &mut [f32],
    g: &Geom,
    cg: usize,
    mg: usize,
) -> Result<()> {
    let pad = Padded::new(g);
    let len = cg * pad.plane() + TapGrid::slack();
    with_scratch(Scratch::Cols, len, |img| {
        let offsets = pad_image(xg, g, cg, &pad, img);
        let grid = pad.grid(g, img, &offsets);
        let out_sz = g.out_size();
        let epi = Epilogue {
            bias: ge.bias.map(Bias::Row).unwrap_or(Bias::None),
            residual: ge.residual.map(|r| (r, out_sz)),
            act: ge.act,
        };
        sgemm_taps(mg, cg, taps, &grid, dst, out_sz, &epi)
    })
}

/// One group of one image as `Cᵀ` (output positions as rows, read in place from the padded
/// input, or from `xg` itself for a plain 1×1) into scratch, then transposed into `dst` with the
/// residual and activation. `taps_t` is the packed `(k_size·cg) × mg` weights, kernel position
/// major.
pub(super) fn direct_t_gemm(
    xg: &[f32],
    taps_t: &PackedB,
    ge: &ConvEpilogue,
    dst: &mut [f32],
    g: &Geom,
    cg: usize,
    mg: usize,
) -> Result<()> {
    let n = g.out_size();
    let epi = transposed_epilogue(ge);
    // A plain 1×1 reads its positions straight from the input planes; a strided 1×1 from a
    // copy of the positions it reads (a quarter of the input at stride 2, where the padded
    // image would copy all of it); anything else from the padded image.
    let pointwise = is_pointwise(g);
    let in_place = pointwise && TapGrid::row_slack(n) == 0;
    let sampled = !pointwise && is_strided_pointwise(g);
    let pad = Padded::new(g);
    let img_len = if in_place {
        0
    } else if sampled {
        cg * n + TapGrid::slack()
    } else {
        cg * pad.plane() + TapGrid::slack()
    };
    with_scratch(Scratch::Cols, img_len + n * mg, |buf| {
        let (img, ct) = buf.split_at_mut(img_len);
        if in_place || sampled {
            let data = if in_place {
                xg
            } else {
                sample(xg, g, cg, img);
                img
            };
            let grid = TapGrid {
                data,
                plane: n,
                rows: 1,
                cols: n,
                row_step: 0,
                offsets: &[0],
            };
            sgemm_taps_t(mg, cg, taps_t, &grid, ct, mg, &epi)?;
        } else {
            let offsets = pad_image(xg, g, cg, &pad, img);
            sgemm_taps_t(mg, cg, taps_t, &pad.grid(g, img, &offsets), ct, mg, &epi)?;
        }
        untranspose(ct, dst, mg, n, ge);
        Ok(())
    })
}
