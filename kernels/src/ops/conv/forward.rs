//! Forward convolution: im2col + gemm per (image, group), depthwise direct, 1×1 without copies.

use super::geom::Geom;
use super::im2col::im2col;
use crate::error::{KernelError, Result};
use crate::ops::linalg::gemm::{GemmElem, MatRef};
use rayon::prelude::*;

// Declared here rather than in `conv/mod.rs`; the file sits next to this one.
#[path = "depthwise.rs"]
pub mod depthwise;

/// Elements of one im2col tile (bounds the scratch memory per gemm call).
pub(super) const TILE_ELEMS: usize = 1 << 20;

/// Shapes of one convolution call (all already validated against each other).
#[derive(Clone, Debug)]
pub struct ConvShape {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub m: usize,
    /// Groups.
    pub group: usize,
    /// Resolved window.
    pub geom: Geom,
}

/// Convolve `x` (`n × c × in`) with `w` (`m × c/group × k`) plus optional `bias` (`m`).
pub fn conv<T: GemmElem>(x: &[T], w: &[T], bias: Option<&[T]>, cs: &ConvShape) -> Result<Vec<T>> {
    let g = &cs.geom;
    let (cg, mg) = (cs.c / cs.group, cs.m / cs.group);
    let (in_sz, out_sz, ks) = (g.in_size(), g.out_size(), g.k_size());
    if x.len() != cs.n * cs.c * in_sz || w.len() != cs.m * cg * ks || bias.is_some_and(|b| b.len() != cs.m) {
        return Err(KernelError::invalid(
            "Conv",
            "operand sizes do not match the convolution shape",
        ));
    }
    let mut out = vec![T::default(); cs.n * cs.m * out_sz];
    if out.is_empty() {
        return Ok(out);
    }
    let item = |(i, dst): (usize, &mut [T])| -> Result<()> {
        let (b, grp) = (i / cs.group, i % cs.group);
        let xg = &x[(b * cs.c + grp * cg) * in_sz..(b * cs.c + (grp + 1) * cg) * in_sz];
        let wg = &w[grp * mg * cg * ks..(grp + 1) * mg * cg * ks];
        let bg = bias.map(|bv| &bv[grp * mg..(grp + 1) * mg]);
        if cg == 1 {
            depthwise::depthwise(xg, wg, bg, dst, g, mg);
            return Ok(());
        }
        if let Some(bg) = bg {
            for (row, &bv) in dst.chunks_mut(out_sz).zip(bg) {
                row.fill(bv);
            }
        }
        let beta = if bg.is_some() { T::one() } else { T::default() };
        group_gemm(xg, wg, dst, g, cg, mg, beta)
    };
    let items = cs.n * cs.group;
    if items > 1 {
        out.par_chunks_mut(mg * out_sz).enumerate().try_for_each(item)?;
    } else {
        out.chunks_mut(mg * out_sz).enumerate().try_for_each(item)?;
    }
    Ok(out)
}

/// True when the window is a plain 1×1 (no padding, unit stride): the input is its own im2col.
pub(super) fn is_pointwise(g: &Geom) -> bool {
    g.k == [1, 1, 1] && g.s == [1, 1, 1] && g.pb == [0, 0, 0] && g.pe == [0, 0, 0]
}

/// One group of one image through im2col tiles and gemm.
fn group_gemm<T: GemmElem>(xg: &[T], wg: &[T], dst: &mut [T], g: &Geom, cg: usize, mg: usize, beta: T) -> Result<()> {
    let (out_sz, kdim) = (g.out_size(), cg * g.k_size());
    if is_pointwise(g) {
        return T::gemm(
            mg,
            kdim,
            out_sz,
            T::one(),
            MatRef::rows(wg, 0, kdim),
            MatRef::rows(xg, 0, out_sz),
            beta,
            dst,
            out_sz,
        );
    }
    let rows = g.out[0] * g.out[1];
    let row_len = g.out[2];
    let per_tile = (TILE_ELEMS / (kdim * row_len).max(1)).clamp(1, rows.max(1));
    let mut cols = vec![T::default(); kdim * per_tile * row_len];
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + per_tile).min(rows);
        let nc = (r1 - r0) * row_len;
        im2col(xg, g, cg, r0, r1, &mut cols);
        T::gemm(
            mg,
            kdim,
            nc,
            T::one(),
            MatRef::rows(wg, 0, kdim),
            MatRef::rows(&cols, 0, nc),
            beta,
            &mut dst[r0 * row_len..],
            out_sz,
        )?;
        r0 = r1;
    }
    Ok(())
}
