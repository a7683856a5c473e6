//! im2col (gather windows into columns) and col2im (scatter-add columns into an image) over the
//! 3-D normalised geometry. Column index = flat output position; row = (channel, kernel pos).

use super::geom::{valid_range, Geom};
use crate::ops::linalg::gemm::GemmElem;
use rayon::prelude::*;

/// Fill `cols` (`channels·k_size` rows × `(r1-r0)·out[2]` columns) with the windows of output
/// rows `r0..r1` (a row is one `(od, oh)` pair) of `x` (`channels × in_size`, contiguous).
pub fn im2col<T: Copy + Default + Send + Sync>(
    x: &[T],
    g: &Geom,
    channels: usize,
    r0: usize,
    r1: usize,
    cols: &mut [T],
) {
    let ncols = (r1 - r0) * g.out[2];
    if ncols == 0 {
        return;
    }
    let ks = g.k_size();
    let in_sz = g.in_size();
    let fill = |(row, dst): (usize, &mut [T])| {
        let (c, k) = (row / ks, row % ks);
        let [kd, kh, kw] = g.k_index(k);
        let xc = &x[c * in_sz..(c + 1) * in_sz];
        let offw = (kw * g.d[2]) as isize - g.pb[2];
        let (lo, hi) = valid_range(offw, g.s[2], g.inp[2], g.out[2]);
        for (t, r) in (r0..r1).enumerate() {
            let seg = &mut dst[t * g.out[2]..(t + 1) * g.out[2]];
            let (od, oh) = (r / g.out[1], r % g.out[1]);
            let id = (od * g.s[0] + kd * g.d[0]) as isize - g.pb[0];
            let ih = (oh * g.s[1] + kh * g.d[1]) as isize - g.pb[1];
            if id < 0 || id >= g.inp[0] as isize || ih < 0 || ih >= g.inp[1] as isize || lo >= hi {
                seg.fill(T::default());
                continue;
            }
            let base = (id as usize * g.inp[1] + ih as usize) * g.inp[2];
            seg[..lo].fill(T::default());
            seg[hi..].fill(T::default());
            let start = (base as isize + lo as isize * g.s[2] as isize + offw) as usize;
            if g.s[2] == 1 {
                seg[lo..hi].copy_from_slice(&xc[start..start + (hi - lo)]);
            } else {
                for (j, v) in seg[lo..hi].iter_mut().enumerate() {
                    *v = xc[start + j * g.s[2]];
                }
            }
        }
    };
    let rows = channels * ks;
    if rows * ncols >= 1 << 15 {
        cols[..rows * ncols].par_chunks_mut(ncols).enumerate().for_each(fill);
    } else {
        cols[..rows * ncols].chunks_mut(ncols).enumerate().for_each(fill);
    }
}

/// Scatter-add `cols` (`channels·k_size` rows × `out_size` columns, `out` = the grid of window
/// positions) into `img` (`channels × in_size`, `inp` = the image), which the caller initialises.
pub fn col2im<T: GemmElem>(cols: &[T], g: &Geom, channels: usize, img: &mut [T]) {
    let ks = g.k_size();
    let in_sz = g.in_size();
    let ncols = g.out_size();
    if in_sz == 0 || ncols == 0 {
        return;
    }
    let per_channel = |(c, dst): (usize, &mut [T])| {
        for k in 0..ks {
            let [kd, kh, kw] = g.k_index(k);
            let src = &cols[(c * ks + k) * ncols..(c * ks + k + 1) * ncols];
            let offw = (kw * g.d[2]) as isize - g.pb[2];
            let (lo, hi) = valid_range(offw, g.s[2], g.inp[2], g.out[2]);
            if lo >= hi {
                continue;
            }
            for od in 0..g.out[0] {
                let id = (od * g.s[0] + kd * g.d[0]) as isize - g.pb[0];
                if id < 0 || id >= g.inp[0] as isize {
                    continue;
                }
                for oh in 0..g.out[1] {
                    let ih = (oh * g.s[1] + kh * g.d[1]) as isize - g.pb[1];
                    if ih < 0 || ih >= g.inp[1] as isize {
                        continue;
                    }
                    let base = (id as usize * g.inp[1] + ih as usize) * g.inp[2];
                    let row = &src[(od * g.out[1] + oh) * g.out[2]..];
                    let start = (base as isize + lo as isize * g.s[2] as isize + offw) as usize;
                    for j in 0..hi - lo {
                        let o = &mut dst[start + j * g.s[2]];
                        *o = T::add(*o, row[lo + j]);
                    }
                }
            }
        }
    };
    if channels > 1 && channels * ks * ncols >= 1 << 15 {
        img[..channels * in_sz]
            .par_chunks_mut(in_sz)
            .enumerate()
            .for_each(per_channel);
    } else {
        img[..channels * in_sz]
            .chunks_mut(in_sz)
            .enumerate()
            .for_each(per_channel);
    }
}

/// Widest B panel [`im2col_panels`] fills (the widest micro-kernel's `nr`).
pub(crate) const MAX_PANEL: usize = 32;

/// Write the im2col columns of the flat output positions `q0..q0 + nq` of `x` (`channels ×
/// in_size`, contiguous) straight into GEMM B micro-panels of width `nr ≤ MAX_PANEL` (the
/// layout of `sgemm::BOperand::Panels`): panel `jp` holds row `p = channel·k_size + kernel
/// position` of columns `q0 + jp·nr ..` at `jp·K·nr + p·nr`, lanes past `nq` zero. One pass
/// instead of im2col followed by packing. Panels are independent, so callers may split them
/// over threads.
pub(crate) fn im2col_panels(x: &[f32], g: &Geom, channels: usize, q0: usize, nq: usize, nr: usize, dst: &mut [f32]) {
    match nr {
        8 => fill_panels::<8>(x, g, channels, q0, nq, 8, dst),
        16 => fill_panels::<16>(x, g, channels, q0, nq, 16, dst),
        32 => fill_panels::<32>(x, g, channels, q0, nq, 32, dst),
        _ => fill_panels::<0>(x, g, channels, q0, nq, nr.clamp(1, MAX_PANEL), dst),
    }
}

/// One run of a panel's lanes that lies in a single output row.
#[derive(Clone, Copy, Default)]
struct Seg {
    /// First lane.
    lane: usize,
    /// Output row index (`od·out[1] + oh`).
    row: usize,
    /// First and one-past-last output column.
    ow0: usize,
    ow1: usize,
}

/// Where one kernel tap reads for one segment: the plane offset of output column 0 (`None`
/// when the input row is padding) and the output columns `lo..hi` whose input is in bounds.
#[derive(Clone, Copy, Default)]
struct Tap {
    start: Option<isize>,
    lo: usize,
    hi: usize,
}

/// Split the lanes `qa..qb` into row segments; returns how many (at most `qb - qa`).
fn segments(g: &Geom, qa: usize, qb: usize, segs: &mut [Seg; MAX_PANEL]) -> usize {
    let w = g.out[2].max(1);
    let (mut q, mut n) = (qa, 0);
    while q < qb && n < MAX_PANEL {
        let (row, ow0) = (q / w, q % w);
        let ow1 = (ow0 + (qb - q)).min(w);
        segs[n] = Seg {
            lane: q - qa,
            row,
            ow0,
            ow1,
        };
        n += 1;
        q += ow1 - ow0;
    }
    n
}

/// Fill `d` (one panel row) for one kernel tap of channel plane `xc`.
#[inline(always)]
fn fill_row<const NR: usize>(d: &mut [f32], xc: &[f32], taps: &[Tap], segs: &[Seg], s: usize) {
    // One fully valid unit-stride segment covering every lane: a fixed-size copy.
    if NR > 0 && segs.len() == 1 && s == 1 {
        let (t, sg) = (taps[0], segs[0]);
        if let Some(start) = t.start {
            if t.lo <= sg.ow0 && t.hi >= sg.ow1 && sg.ow1 - sg.ow0 == NR {
                let st = (start + sg.ow0 as isize) as usize;
                d[..NR].copy_from_slice(&xc[st..st + NR]);
                return;
            }
        }
    }
    for (sg, t) in segs.iter().zip(taps) {
        let out = &mut d[sg.lane..sg.lane + (sg.ow1 - sg.ow0)];
        let a = t.lo.clamp(sg.ow0, sg.ow1);
        let b = t.hi.clamp(a, sg.ow1);
        let Some(start) = t.start.filter(|_| a < b) else {
            out.fill(0.0);
            continue;
        };
        out[..a - sg.ow0].fill(0.0);
        out[b - sg.ow0..].fill(0.0);
        // In bounds: columns a..b map into the plane by construction of lo..hi.
        let src0 = (start + (a * s) as isize) as usize;
        let o = &mut out[a - sg.ow0..b - sg.ow0];
        if s == 1 {
            o.copy_from_slice(&xc[src0..src0 + (b - a)]);
        } else {
            for (j, v) in o.iter_mut().enumerate() {
                *v = xc[src0 + j * s];
            }
        }
    }
}

#[inline(always)]
fn fill_panels<const NR: usize>(
    x: &[f32],
    g: &Geom,
    channels: usize,
    q0: usize,
    nq: usize,
    nr: usize,
    dst: &mut [f32],
) {
    let ks = g.k_size();
    let kdim = channels * ks;
    let in_sz = g.in_size();
    let s = g.s[2];
    let mut segs = [Seg::default(); MAX_PANEL];
    let mut taps = [Tap::default(); MAX_PANEL];
    for (jp, panel) in dst.chunks_exact_mut(kdim * nr).take(nq.div_ceil(nr)).enumerate() {
        let qa = q0 + jp * nr;
        let qb = (qa + nr).min(q0 + nq);
        let ns = segments(g, qa, qb, &mut segs);
        let mut tap = 0;
        for kd in 0..g.k[0] {
            for kh in 0..g.k[1] {
                for kw in 0..g.k[2] {
                    let offw = (kw * g.d[2]) as isize - g.pb[2];
                    let (lo, hi) = valid_range(offw, s, g.inp[2], g.out[2]);
                    for (t, sg) in taps.iter_mut().zip(&segs[..ns]) {
                        let (od, oh) = (sg.row / g.out[1].max(1), sg.row % g.out[1].max(1));
                        let id = (od * g.s[0] + kd * g.d[0]) as isize - g.pb[0];
                        let ih = (oh * g.s[1] + kh * g.d[1]) as isize - g.pb[1];
                        let inside = (0..g.inp[0] as isize).contains(&id) && (0..g.inp[1] as isize).contains(&ih);
                        *t = Tap {
                            start: inside.then(|| ((id as usize * g.inp[1] + ih as usize) * g.inp[2]) as isize + offw),
                            lo,
                            hi,
                        };
                    }
                    for c in 0..channels {
                        let row = c * ks + tap;
                        let d = &mut panel[row * nr..(row + 1) * nr];
                        fill_row::<NR>(d, &x[c * in_sz..(c + 1) * in_sz], &taps[..ns], &segs[..ns], s);
                        if qb - qa < nr {
                            d[qb - qa..].fill(0.0);
                        }
                    }
                    tap += 1;
                }
            }
        }
    }
}
