//! f32 fast paths for 1-D / 2-D NCHW MaxPool and AveragePool and for the global pools.
//!
//! Per `(n, c)` plane and output row, the interior columns (every tap in bounds) run one
//! vectorisable pass per tap over the output row; border columns and rows walk only their valid
//! taps. Taps are visited in the same (row, column) order as the generic path, and a max only
//! replaces on a strictly greater value, so MaxPool results (NaNs and signed zeros included) are
//! identical to the generic path. Averages are summed in f32.

use crate::ops::conv::geom::Geom;
use rayon::prelude::*;

/// Work (outputs × taps, or inputs for global pools) below which planes run sequentially.
const PAR_WORK: usize = 1 << 16;

/// What the windowed f32 kernel computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum FastKind {
    /// Maximum over the valid taps.
    Max,
    /// Mean over the valid taps (or over the padded window with `include_pad`).
    Avg {
        /// Count explicitly padded positions in the divisor.
        include_pad: bool,
    },
}

/// One spatial axis of the window, resolved per output index.
struct Axis {
    /// First valid tap per output index.
    lo: Vec<usize>,
    /// One past the last valid tap per output index (`lo == hi` when none is valid).
    hi: Vec<usize>,
    /// Taps that fall inside the explicitly padded range, per output index.
    padded: Vec<usize>,
    /// Output indices `[int_lo, int_hi)` have every tap in bounds.
    int_lo: usize,
    /// End of the interior range.
    int_hi: usize,
    /// Input extent.
    n_in: usize,
    /// Taps.
    k: usize,
    /// Stride.
    s: usize,
    /// Dilation.
    d: usize,
    /// Padding at the start.
    pb: isize,
}

impl Axis {
    /// Resolve spatial dim `j` (0..3) of `g`.
    fn new(g: &Geom, j: usize) -> Axis {
        let (n_in, k, s, d, pb, pe) = (g.inp[j], g.k[j], g.s[j], g.d[j], g.pb[j], g.pe[j]);
        let (mut lo, mut hi, mut padded) = (vec![], vec![], vec![]);
        let (mut int_lo, mut int_hi) = (usize::MAX, 0);
        for o in 0..g.out[j] {
            let start = (o * s) as isize - pb;
            let at = |t: usize| start + (t * d) as isize;
            let l = (0..k).find(|&t| at(t) >= 0).unwrap_or(k);
            let h = (0..k)
                .rev()
                .find(|&t| at(t) < n_in as isize)
                .map_or(0, |t| t + 1)
                .max(l);
            lo.push(l);
            hi.push(h);
            padded.push((0..k).filter(|&t| at(t) >= -pb && at(t) < n_in as isize + pe).count());
            if l == 0 && h == k {
                int_lo = int_lo.min(o);
                int_hi = o + 1;
            }
        }
        if int_lo == usize::MAX {
            (int_lo, int_hi) = (0, 0);
        }
        Axis {
            lo,
            hi,
            padded,
            int_lo,
            int_hi,
            n_in,
            k,
            s,
            d,
            pb,
        }
    }

    /// Input index of tap `t` of output `o` (only meaningful for valid taps).
    #[inline]
    fn at(&self, o: usize, t: usize) -> usize {
        ((o * self.s + t * self.d) as isize - self.pb) as usize
    }
}

/// True when the f32 kernel handles this window: at most two spatial dims.
pub(super) fn supports(g: &Geom) -> bool {
    g.inp[0] == 1 && g.k[0] == 1 && g.out[0] == 1 && g.pb[0] == 0
}

/// Pool every plane of `x` (`planes × in_size`) into a new `planes × out_size` vector.
pub(super) fn pool2d(x: &[f32], planes: usize, g: &Geom, kind: FastKind) -> Vec<f32> {
    let (isz, osz) = (g.in_size(), g.out_size());
    let mut out = vec![0.0f32; planes * osz];
    if osz == 0 || isz == 0 || x.len() < planes * isz {
        return out;
    }
    let (ah, aw) = (Axis::new(g, 1), Axis::new(g, 2));
    let plane = |(p, o): (usize, &mut [f32])| pool_plane(&x[p * isz..(p + 1) * isz], &ah, &aw, kind, o);
    if planes > 1 && planes * osz * g.k_size() > PAR_WORK {
        out.par_chunks_mut(osz).enumerate().for_each(plane);
    } else {
        out.chunks_mut(osz).enumerate().for_each(plane);
    }
    out
}

/// One plane, using AVX2 code generation where the CPU has it.
fn pool_plane(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (detected just above), the only requirement of
        // `pool_plane_avx2`.
        return unsafe { pool_plane_avx2(x, ah, aw, kind, out) };
    }
    pool_plane_impl(x, ah, aw, kind, out)
}

/// [`pool_plane_impl`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pool_plane_avx2(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32]) {
    pool_plane_impl(x, ah, aw, kind, out)
}

/// `o[j] ← f(o[j], src[j·s])` for every `j`; `src` must hold `(o.len() - 1)·s + 1` values.
#[inline(always)]
fn tap_pass(o: &mut [f32], src: &[f32], s: usize, f: impl Fn(f32, f32) -> f32) {
    let n = o.len();
    if n == 0 {
        return;
    }
    let src = &src[..(n - 1) * s + 1];
    match s {
        1 => o.iter_mut().zip(src).for_each(|(a, &v)| *a = f(*a, v)),
        2 => {
            for (a, c) in o.iter_mut().zip(src.chunks_exact(2)) {
                *a = f(*a, c[0]);
            }
            o[n - 1] = f(o[n - 1], src[2 * (n - 1)]);
        }
        _ => o
            .iter_mut()
            .zip(src.iter().step_by(s))
            .for_each(|(a, &v)| *a = f(*a, v)),
    }
}

/// Max that keeps the accumulator unless `v` is strictly greater (the generic path's rule).
#[inline(always)]
fn keep_max(a: f32, v: f32) -> f32 {
    if v > a {
        v
    } else {
        a
    }
}

#[inline(always)]
fn pool_plane_impl(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32]) {
    let (iw, ow_n) = (aw.n_in, aw.lo.len());
    for (oh, orow) in out.chunks_exact_mut(ow_n).enumerate() {
        let (h0, h1) = (ah.lo[oh], ah.hi[oh]);
        // Interior columns: one pass over the row per tap.
        let (a, b) = (aw.int_lo, aw.int_hi);
        if h0 < h1 && a < b {
            let oi = &mut orow[a..b];
            let first = ah.at(oh, h0) * iw + aw.at(a, 0);
            match kind {
                FastKind::Max => tap_pass(oi, &x[first..], aw.s, |_, v| v),
                FastKind::Avg { .. } => {
                    oi.fill(0.0);
                    tap_pass(oi, &x[first..], aw.s, |s, v| s + v);
                }
            }
            for th in h0..h1 {
                let row = ah.at(oh, th) * iw;
                for tw in 0..aw.k {
                    if th == h0 && tw == 0 {
                        continue;
                    }
                    let src = &x[row + aw.at(a, tw)..];
                    match kind {
                        FastKind::Max => tap_pass(oi, src, aw.s, keep_max),
                        FastKind::Avg { .. } => tap_pass(oi, src, aw.s, |s, v| s + v),
                    }
                }
            }
            if let FastKind::Avg { include_pad } = kind {
                let cnt = if include_pad {
                    ah.padded[oh] * aw.k
                } else {
                    (h1 - h0) * aw.k
                };
                let c = cnt as f32;
                oi.iter_mut().for_each(|v| *v /= c);
            }
        }
        // Border columns (and every column of a row without interior): valid taps only.
        let border = (0..ow_n).filter(|&ow| !(h0 < h1 && ow >= a && ow < b));
        for ow in border {
            let (w0, w1) = (aw.lo[ow], aw.hi[ow]);
            let empty = h0 >= h1 || w0 >= w1;
            orow[ow] = match kind {
                FastKind::Max if empty => f32::NEG_INFINITY,
                FastKind::Max => {
                    let mut m = x[ah.at(oh, h0) * iw + aw.at(ow, w0)];
                    for th in h0..h1 {
                        let row = ah.at(oh, th) * iw;
                        for tw in w0..w1 {
                            m = keep_max(m, x[row + aw.at(ow, tw)]);
                        }
                    }
                    m
                }
                FastKind::Avg { include_pad } => {
                    let mut s = 0.0f32;
                    if !empty {
                        for th in h0..h1 {
                            let row = ah.at(oh, th) * iw;
                            for tw in w0..w1 {
                                s += x[row + aw.at(ow, tw)];
                            }
                        }
                    }
                    let cnt = if include_pad {
                        ah.padded[oh] * aw.padded[ow]
                    } else if empty {
                        0
                    } else {
                        (h1 - h0) * (w1 - w0)
                    };
                    if cnt == 0 {
                        f32::NAN
                    } else {
                        s / cnt as f32
                    }
                }
            };
        }
    }
}

/// Global max (`max`) or mean of each contiguous plane of `sz` values.
pub(super) fn global(x: &[f32], planes: usize, sz: usize, max: bool) -> Vec<f32> {
    let mut out = vec![0.0f32; planes];
    if sz == 0 || x.len() < planes * sz {
        out.fill(if max { f32::NEG_INFINITY } else { f32::NAN });
        return out;
    }
    let one = |(p, o): (usize, &mut f32)| {
        let v = &x[p * sz..(p + 1) * sz];
        *o = if max { plane_max(v) } else { plane_sum(v) / sz as f32 };
    };
    if planes > 1 && planes * sz > PAR_WORK {
        out.par_iter_mut().enumerate().for_each(one);
    } else {
        out.iter_mut().enumerate().for_each(one);
    }
    out
}

/// Sum with eight independent lanes (vectorises).
fn plane_sum(v: &[f32]) -> f32 {
    let mut l = [0.0f32; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            l[k] += c[k];
        }
    }
    let r: f32 = it.remainder().iter().sum();
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7])) + r
}

/// Max ignoring NaNs (as `f64::max` folding from -inf does), with eight lanes.
fn plane_max(v: &[f32]) -> f32 {
    let mut l = [f32::NEG_INFINITY; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            l[k] = keep_max(l[k], c[k]);
        }
    }
    let m = it.remainder().iter().fold(f32::NEG_INFINITY, |a, &b| keep_max(a, b));
    l.iter().fold(m, |a, &b| keep_max(a, b))
}
