//! im2col (gather windows into columns) and col2im (scatter-add columns into an image) over the
//! 3-D normalised geometry. Column index = flat output position; row = (channel, kernel pos).

use super::geom::{valid_range, Geom};
use rayon::prelude::*;
use crate::ops::linalg::gemm::GemmElem;

/// Fill `cols` (`channels·k_size` rows × `(r1-r0)·out[2]` columns) with the windows of output
/// rows `r0..r1` (a row is one `(od, oh)` pair) of `x` (`channels × in_size`, contiguous).
pub fn im2col<T: Copy + Default + Send + Sync>(x: &[T], g: &Geom, channels: usize, r0: usize, r1: usize, cols: &mut [T]) {
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
        img[..channels * in_sz].par_chunks_mut(in_sz).enumerate().for_each(per_channel);
    } else {
        img[..channels * in_sz].chunks_mut(in_sz).enumerate().for_each(per_channel);
    }
}
