//! DeformConv (2-D): bilinear-sampled im2col with per-position offsets and optional mask.

use super::geom::Geom;
use crate::error::{KernelError, Result};
use crate::ops::linalg::gemm::MatRef;
use crate::ops::linalg::gemm::GemmElem;

/// Shapes of a DeformConv call.
#[derive(Clone, Debug)]
pub struct DeformShape {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub m: usize,
    /// Weight groups.
    pub group: usize,
    /// Offset groups.
    pub offset_group: usize,
    /// Resolved window (2-D: `inp[0] == out[0] == 1`).
    pub geom: Geom,
}

/// Bilinear sample of the `h × w` plane at fractional `(y, x)`, zero outside.
fn bilinear(plane: &[f64], h: usize, w: usize, y: f64, x: f64) -> f64 {
    if !(y > -1.0 && y < h as f64 && x > -1.0 && x < w as f64) {
        return 0.0;
    }
    let (y0, x0) = (y.floor(), x.floor());
    let (ly, lx) = (y - y0, x - x0);
    let (y0, x0) = (y0 as isize, x0 as isize);
    let at = |yy: isize, xx: isize| {
        if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
            plane[yy as usize * w + xx as usize]
        } else {
            0.0
        }
    };
    at(y0, x0) * (1.0 - ly) * (1.0 - lx) + at(y0, x0 + 1) * (1.0 - ly) * lx + at(y0 + 1, x0) * ly * (1.0 - lx) + at(y0 + 1, x0 + 1) * ly * lx
}

/// DeformConv in f64: `x` (`n×c×h×w`), `w` (`m×c/group×kh×kw`), `offset` (`n×og·kh·kw·2×oh×ow`),
/// optional `bias` (`m`) and `mask` (`n×og·kh·kw×oh×ow`).
pub fn deform_conv(x: &[f64], w: &[f64], offset: &[f64], bias: Option<&[f64]>, mask: Option<&[f64]>, ds: &DeformShape) -> Result<Vec<f64>> {
    let g = &ds.geom;
    let (h, wd, oh, ow) = (g.inp[1], g.inp[2], g.out[1], g.out[2]);
    let (cg, mg, ks, osz) = (ds.c / ds.group, ds.m / ds.group, g.k_size(), g.out_size());
    let og_ch = ds.c / ds.offset_group;
    if offset.len() != ds.n * ds.offset_group * ks * 2 * osz || mask.is_some_and(|mk| mk.len() != ds.n * ds.offset_group * ks * osz) {
        return Err(KernelError::invalid("DeformConv", "offset or mask shape does not match the output grid"));
    }
    let mut out = vec![0.0f64; ds.n * ds.m * osz];
    let mut cols = vec![0.0f64; cg * ks * osz];
    for b in 0..ds.n {
        for grp in 0..ds.group {
            for ci in 0..cg {
                let c = grp * cg + ci;
                let og = c / og_ch;
                let plane = &x[(b * ds.c + c) * h * wd..(b * ds.c + c + 1) * h * wd];
                for k in 0..ks {
                    let [_, kh, kw] = g.k_index(k);
                    let obase = ((b * ds.offset_group + og) * ks + k) * 2 * osz;
                    let mbase = ((b * ds.offset_group + og) * ks + k) * osz;
                    let row = &mut cols[(ci * ks + k) * osz..(ci * ks + k + 1) * osz];
                    for i in 0..oh {
                        for j in 0..ow {
                            let p = i * ow + j;
                            let y = (i * g.s[1] + kh * g.d[1]) as f64 - g.pb[1] as f64 + offset[obase + p];
                            let xx = (j * g.s[2] + kw * g.d[2]) as f64 - g.pb[2] as f64 + offset[obase + osz + p];
                            let mv = mask.map_or(1.0, |mk| mk[mbase + p]);
                            row[p] = bilinear(plane, h, wd, y, xx) * mv;
                        }
                    }
                }
            }
            let dst = &mut out[(b * ds.m + grp * mg) * osz..(b * ds.m + (grp + 1) * mg) * osz];
            let mut beta = 0.0;
            if let Some(bv) = bias {
                for (r, &v) in dst.chunks_mut(osz).zip(&bv[grp * mg..(grp + 1) * mg]) {
                    r.fill(v);
                }
                beta = 1.0;
            }
            f64::gemm(mg, cg * ks, osz, 1.0, MatRef::rows(w, grp * mg * cg * ks, cg * ks), MatRef::rows(&cols, 0, osz), beta, dst, osz)?;
        }
    }
    Ok(out)
}
