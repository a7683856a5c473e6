//! f32 fast paths for 1-D / 2-D NCHW MaxPool and AveragePool and for the global pools.
//!
//! 3×3 max pools of stride 1 or 2 with padding zero or one and output rows of at most 32 run
//! the AVX-512 plane kernel in `small` (straight from the plane, bit-exact). Other windowed
//! pools run the AVX-512 row kernel in `direct`, groups of small planes the planes-as-lanes
//! kernel in [`lanes`], and the rest the separable kernel in [`separable`]. Max rows whose result could depend
//! on the tap order (NaN or `-0.0` taps) fall back to the exact row kernel here: per output row,
//! the interior columns (every tap in bounds) are computed in
//! register blocks of 8 (or 4) outputs that walk the taps with constant-stride loads (vectorised);
//! border columns and rows walk only their valid taps. Taps are visited in the same (row, column) order as the generic path, and a max only
//! replaces on a strictly greater value, so MaxPool results (NaNs and signed zeros included) are
//! identical to the generic path. Averages are summed in f32.

#[cfg(target_arch = "x86_64")]
mod direct;
mod lanes;
mod separable;
#[cfg(target_arch = "x86_64")]
mod small;

use crate::ops::conv::geom::Geom;
use rayon::prelude::*;
use separable::Scratch;

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
    lo: PerOut,
    /// One past the last valid tap per output index (`lo == hi` when none is valid).
    hi: PerOut,
    /// Taps that fall inside the explicitly padded range, per output index.
    padded: PerOut,
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

/// Per-output-index values of one axis, inline for up to 256 outputs (no allocation).
type PerOut = smallvec::SmallVec<[usize; 256]>;

/// Row buffers for [`pool_plane`] (grow-only).
static SCRATCH: crate::buffers::Scratch<Scratch> = crate::buffers::Scratch::new();

/// Run `f` with a scratch value (the largest free one: its rows hold any plane's).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    crate::buffers::with_scratch(&SCRATCH, usize::MAX, f)
}

impl Axis {
    /// Resolve spatial dim `j` (0..3) of `g`.
    fn new(g: &Geom, j: usize) -> Axis {
        let (n_in, k, s, d, pb, pe) = (g.inp[j], g.k[j], g.s[j], g.d[j], g.pb[j], g.pe[j]);
        let (mut lo, mut hi, mut padded) = (PerOut::new(), PerOut::new(), PerOut::new());
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
    if osz == 0 || isz == 0 || x.len() < planes * isz {
        return crate::buffers::zeroed::<f32>(planes * osz);
    }
    // An average window covering the whole unpadded plane (ResNet's 7×7 AveragePool) is the
    // global mean.
    let whole = (1..3).all(|j| g.k[j] == g.inp[j] && g.d[j] == 1 && g.pb[j] == 0 && g.pe[j] == 0);
    if osz == 1 && whole && matches!(kind, FastKind::Avg { .. }) {
        return global(x, planes, isz, false);
    }
    // Every output is written below (by the lane, row, separable or exact kernel).
    let mut out = crate::buffers::overwritten::<f32>(planes * osz);
    let (ah, aw) = (Axis::new(g, 1), Axis::new(g, 2));
    #[cfg(target_arch = "x86_64")]
    if kind == FastKind::Max && small::supports(&ah, &aw) {
        let one = |(p, o): (usize, &mut [f32])| small::plane(&x[p * isz..(p + 1) * isz], &ah, &aw, o);
        if planes > 1 && planes * osz * g.k_size() > PAR_WORK {
            out.par_chunks_mut(osz).enumerate().for_each(one);
        } else {
            out.chunks_mut(osz).enumerate().for_each(one);
        }
        return out;
    }
    // Small planes in groups of eight with the planes as lanes; the rest one plane at a time.
    #[cfg(target_arch = "x86_64")]
    let row_kernel = direct::supports(&aw);
    #[cfg(not(target_arch = "x86_64"))]
    let row_kernel = false;
    let grouped = if lanes::supports(planes, &aw, row_kernel) {
        planes - planes % lanes::LANES
    } else {
        0
    };
    let (head, tail) = out.split_at_mut(grouped * osz);
    let (gx, gsz) = (&x[..grouped * isz], lanes::LANES * isz);
    let group = |sc: &mut Scratch, (gi, o): (usize, &mut [f32])| {
        lanes::group(&gx[gi * gsz..(gi + 1) * gsz], &ah, &aw, kind, o, &mut sc.tile)
    };
    let plane = |sc: &mut Scratch, (p, o): (usize, &mut [f32])| {
        let p = grouped + p;
        pool_plane(&x[p * isz..(p + 1) * isz], &ah, &aw, kind, o, sc)
    };
    if planes > 1 && planes * osz * g.k_size() > PAR_WORK {
        head.par_chunks_mut(lanes::LANES * osz)
            .enumerate()
            .for_each(|go| with_scratch(|sc| group(sc, go)));
        tail.par_chunks_mut(osz)
            .enumerate()
            .for_each(|po| with_scratch(|sc| plane(sc, po)));
    } else {
        with_scratch(|sc| {
            head.chunks_mut(lanes::LANES * osz)
                .enumerate()
                .for_each(|go| group(sc, go));
            tail.chunks_mut(osz).enumerate().for_each(|po| plane(sc, po));
        });
    }
    out
}

/// [`pool2d`] with every row taken by the exact row kernel (the previous fast path), for tests
/// and timing comparisons.
#[cfg(test)]
pub(super) fn pool2d_exact(x: &[f32], planes: usize, g: &Geom, kind: FastKind) -> Vec<f32> {
    let (isz, osz) = (g.in_size(), g.out_size());
    let mut out = vec![0.0f32; planes * osz];
    let (ah, aw) = (Axis::new(g, 1), Axis::new(g, 2));
    let ow = aw.lo.len();
    for (p, o) in out.chunks_mut(osz).enumerate() {
        for (oh, orow) in o.chunks_exact_mut(ow.max(1)).enumerate() {
            exact_row(&x[p * isz..(p + 1) * isz], &ah, &aw, kind, oh, orow);
        }
    }
    out
}

/// [`pool2d`] with every plane taken by the separable kernel (the path of CPUs without
/// AVX-512), for tests and timing comparisons.
#[cfg(test)]
pub(super) fn pool2d_separable(x: &[f32], planes: usize, g: &Geom, kind: FastKind) -> Vec<f32> {
    let (isz, osz) = (g.in_size(), g.out_size());
    let mut out = vec![0.0f32; planes * osz];
    let (ah, aw) = (Axis::new(g, 1), Axis::new(g, 2));
    let mut sc = Scratch::default();
    for (p, o) in out.chunks_mut(osz).enumerate() {
        pool_plane_separable(&x[p * isz..(p + 1) * isz], &ah, &aw, kind, o, &mut sc);
    }
    out
}

/// One plane: the AVX-512 register kernel where it applies, else the separable kernel (with
/// AVX2 code generation where the CPU has it).
fn pool_plane(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32], sc: &mut Scratch) {
    #[cfg(target_arch = "x86_64")]
    if direct::supports(aw) {
        return direct::plane(x, ah, aw, kind, out, |oh, orow, ab| {
            border_cols(x, ah, aw, kind, oh, orow, ab)
        });
    }
    pool_plane_separable(x, ah, aw, kind, out, sc)
}

/// One plane through the separable kernel, with AVX2 code generation where the CPU has it.
fn pool_plane_separable(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32], sc: &mut Scratch) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (detected just above), the only requirement of
        // `pool_plane_avx2`.
        return unsafe { pool_plane_avx2(x, ah, aw, kind, out, sc) };
    }
    pool_plane_impl(x, ah, aw, kind, out, sc)
}

/// [`pool_plane_impl`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn pool_plane_avx2(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32], sc: &mut Scratch) {
    pool_plane_impl(x, ah, aw, kind, out, sc)
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

/// The separable kernel, with the exact row kernel for the rows it hands back.
#[inline(always)]
fn pool_plane_impl(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, out: &mut [f32], sc: &mut Scratch) {
    separable::plane(x, ah, aw, kind, out, sc, |oh, orow| {
        exact_row(x, ah, aw, kind, oh, orow)
    });
}

/// One output row in the generic path's exact tap order; the common strides 1 and 2 get
/// constant-stride loads.
fn exact_row(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, oh: usize, orow: &mut [f32]) {
    match aw.s {
        1 => row_s::<1>(x, ah, aw, kind, oh, orow),
        2 => row_s::<2>(x, ah, aw, kind, oh, orow),
        _ => row_s::<0>(x, ah, aw, kind, oh, orow),
    }
}

/// Reduce the window of the `L` consecutive outputs starting at column `j0` (every tap in
/// bounds) over the input rows starting at offsets `rows`; taps in (row, column) order.
#[inline(always)]
fn block<const L: usize, const S: usize>(x: &[f32], rows: &[usize], aw: &Axis, j0: usize, max: bool) -> [f32; L] {
    let s = if S == 0 { aw.s } else { S };
    let span = (L - 1) * s + 1;
    let col0 = aw.at(j0, 0);
    let load = |base: usize| -> [f32; L] {
        let src = &x[base..base + span];
        std::array::from_fn(|l| src[l * s])
    };
    let mut acc = load(rows[0] + col0);
    for (ri, &r) in rows.iter().enumerate() {
        for tw in usize::from(ri == 0)..aw.k {
            let v = load(r + col0 + tw * aw.d);
            for l in 0..L {
                acc[l] = if max { keep_max(acc[l], v[l]) } else { acc[l] + v[l] };
            }
        }
    }
    acc
}

/// Outputs `[a, b)` (`b - a >= L`) of one row in blocks of `L`; the last block overlaps the
/// previous one instead of leaving a remainder. Averages are divided by `cnt`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn blocks<const L: usize, const S: usize>(
    x: &[f32],
    rows: &[usize],
    aw: &Axis,
    (a, b): (usize, usize),
    max: bool,
    cnt: f32,
    orow: &mut [f32],
) {
    let mut j = a;
    loop {
        let j0 = j.min(b - L);
        let mut acc = block::<L, S>(x, rows, aw, j0, max);
        if !max {
            acc.iter_mut().for_each(|v| *v /= cnt);
        }
        orow[j0..j0 + L].copy_from_slice(&acc);
        if j0 + L >= b {
            break;
        }
        j += L;
    }
}

fn row_s<const S: usize>(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, oh: usize, orow: &mut [f32]) {
    let iw = aw.n_in;
    let (h0, h1) = (ah.lo[oh], ah.hi[oh]);
    let rows: Vec<usize> = (h0..h1).map(|th| ah.at(oh, th) * iw).collect();
    // Interior columns at least four wide: register blocks of 8 (or 4) outputs.
    let (mut a, mut b) = (aw.int_lo, aw.int_hi);
    if h0 >= h1 || b - a < 4 {
        (a, b) = (0, 0);
    } else {
        let (max, cnt) = match kind {
            FastKind::Max => (true, 1.0),
            FastKind::Avg { include_pad } => {
                let h = if include_pad { ah.padded[oh] } else { h1 - h0 };
                (false, (h * aw.k) as f32)
            }
        };
        if b - a >= 8 {
            blocks::<8, S>(x, &rows, aw, (a, b), max, cnt, orow);
        } else {
            blocks::<4, S>(x, &rows, aw, (a, b), max, cnt, orow);
        }
    }
    border_cols(x, ah, aw, kind, oh, orow, (a, b));
}

/// The columns of output row `oh` outside `[a, b)`, over their valid taps only.
fn border_cols(x: &[f32], ah: &Axis, aw: &Axis, kind: FastKind, oh: usize, orow: &mut [f32], (a, b): (usize, usize)) {
    let (iw, ow_n) = (aw.n_in, aw.lo.len());
    let (h0, h1) = (ah.lo[oh], ah.hi[oh]);
    let border = (0..ow_n).filter(|&ow| ow < a || ow >= b);
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

/// Global max (`max`) or mean of each contiguous plane of `sz` values.
pub(super) fn global(x: &[f32], planes: usize, sz: usize, max: bool) -> Vec<f32> {
    let mut out = crate::buffers::zeroed::<f32>(planes);
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
