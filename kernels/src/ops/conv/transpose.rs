//! ConvTranspose (gemm + col2im), the Col2Im op, and the ConvTranspose geometry.

use super::geom::{pad3, AutoPad, Geom, Window};
use super::im2col::col2im;
use crate::error::{KernelError, Result};
use crate::ops::linalg::gemm::{GemmElem, MatRef};
use rayon::prelude::*;

/// Resolve a ConvTranspose window: returns the col2im geometry whose `inp` is the output image
/// and whose `out` is the input grid.
pub fn transpose_geom(op: &str, w: &Window, inp: &[usize], kernel: &[usize], output_padding: &[usize], output_shape: Option<&[usize]>) -> Result<Geom> {
    let nd = inp.len();
    if nd == 0 || nd > 3 || kernel.len() != nd {
        return Err(KernelError::unsupported(op, format!("{nd} spatial dims with a {}-D kernel", kernel.len())));
    }
    let per = |v: &[usize], what: &str, def: usize| -> Result<Vec<usize>> {
        match v.len() {
            0 => Ok(vec![def; nd]),
            l if l == nd => Ok(v.to_vec()),
            l => Err(KernelError::invalid(op, format!("{what} has {l} values for {nd} spatial dims"))),
        }
    };
    let s = per(&w.strides, "strides", 1)?;
    let d = per(&w.dilations, "dilations", 1)?;
    let opad = per(output_padding, "output_padding", 0)?;
    let mut pb = vec![0isize; nd];
    let mut pe = vec![0isize; nd];
    let mut out = vec![0usize; nd];
    let natural = |i: usize| (s[i] * (inp[i].max(1) - 1) + opad[i] + (kernel[i] - 1) * d[i] + 1) as isize;
    let target: Option<Vec<usize>> = match output_shape {
        Some(os) if os.len() >= nd => Some(os[os.len() - nd..].to_vec()),
        Some(os) => return Err(KernelError::invalid(op, format!("output_shape {os:?} has fewer than {nd} dims"))),
        None if matches!(w.auto_pad, AutoPad::SameUpper | AutoPad::SameLower) => Some((0..nd).map(|i| inp[i] * s[i]).collect()),
        None => None,
    };
    for i in 0..nd {
        if kernel[i] == 0 || s[i] == 0 || d[i] == 0 {
            return Err(KernelError::invalid(op, "kernel, strides and dilations must be positive"));
        }
        match &target {
            Some(t) => {
                let total = natural(i) - t[i] as isize;
                let half = total.div_euclid(2);
                (pb[i], pe[i]) = if w.auto_pad == AutoPad::SameUpper { (half, total - half) } else { (total - half, half) };
                out[i] = t[i];
            }
            None => {
                if w.auto_pad == AutoPad::NotSet && !w.pads.is_empty() {
                    if w.pads.len() != 2 * nd {
                        return Err(KernelError::invalid(op, format!("pads has {} values for {nd} spatial dims", w.pads.len())));
                    }
                    pb[i] = w.pads[i] as isize;
                    pe[i] = w.pads[nd + i] as isize;
                }
                let o = natural(i) - pb[i] - pe[i];
                if o < 0 {
                    return Err(KernelError::invalid(op, "pads exceed the output extent"));
                }
                out[i] = o as usize;
            }
        }
    }
    Ok(Geom { nd, inp: pad3(&out, 1), k: pad3(kernel, 1), out: pad3(inp, 1), s: pad3(&s, 1), d: pad3(&d, 1), pb: pad3(&pb, 0), pe: pad3(&pe, 0) })
}

/// ConvTranspose of `x` (`n × c × grid`) with `w` (`c × m/group × k`): output `n × m × image`.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose<T: GemmElem>(x: &[T], w: &[T], bias: Option<&[T]>, n: usize, c: usize, m: usize, group: usize, g: &Geom) -> Result<Vec<T>> {
    let (cg, mg) = (c / group, m / group);
    let (grid, img, ks) = (g.out_size(), g.in_size(), g.k_size());
    if x.len() != n * c * grid || w.len() != c * mg * ks || bias.is_some_and(|b| b.len() != m) {
        return Err(KernelError::invalid("ConvTranspose", "operand sizes do not match the convolution shape"));
    }
    let mut out = vec![T::default(); n * m * img];
    if out.is_empty() {
        return Ok(out);
    }
    let item = |(i, dst): (usize, &mut [T])| -> Result<()> {
        let (b, grp) = (i / group, i % group);
        if let Some(bv) = bias {
            for (row, &v) in dst.chunks_mut(img).zip(&bv[grp * mg..(grp + 1) * mg]) {
                row.fill(v);
            }
        }
        let mut cols = vec![T::default(); mg * ks * grid];
        let wt = MatRef::rows(w, grp * cg * mg * ks, mg * ks).t();
        let xg = MatRef::rows(x, (b * c + grp * cg) * grid, grid);
        T::gemm(mg * ks, cg, grid, T::one(), wt, xg, T::default(), &mut cols, grid)?;
        col2im(&cols, g, mg, dst);
        Ok(())
    };
    if n * group > 1 {
        out.par_chunks_mut(mg * img).enumerate().try_for_each(item)?;
    } else {
        out.chunks_mut(mg * img).enumerate().try_for_each(item)?;
    }
    Ok(out)
}

/// Col2Im geometry: image extents, block extents and the window attributes.
pub fn col2im_geom(op: &str, w: &Window, image: &[usize], block: &[usize]) -> Result<Geom> {
    w.resolve(op, image, block, false)
}

/// Col2Im of `data` (`n × c·k × L`) into `n × c × image`.
pub fn col2im_op<T: GemmElem>(data: &[T], n: usize, c: usize, g: &Geom) -> Vec<T> {
    let (img, cols) = (g.in_size(), c * g.k_size() * g.out_size());
    let mut out = vec![T::default(); n * c * img];
    if img == 0 || cols == 0 {
        return out;
    }
    for (b, dst) in out.chunks_mut(c * img).enumerate() {
        col2im(&data[b * cols..(b + 1) * cols], g, c, dst);
    }
    out
}
