//! The f32 convolution path: per (image, group), im2col tiles (none for a plain 1×1) times
//! the weights through [`sgemm`], with the bias, a residual add and an activation fused into
//! the GEMM write-back. Weights may be prepacked once ([`PackedConvWeights`]) so that a run
//! only packs the image side. Depthwise groups use the direct kernel, then the epilogue.

use super::forward::depthwise::depthwise;
use super::forward::{is_pointwise, ConvShape, TILE_ELEMS};
use super::geom::Geom;
use super::im2col::im2col;
use crate::error::{KernelError, Result};
use crate::ops::linalg::gemm::MatRef;
use crate::ops::linalg::sgemm::{pack_a, sgemm, AOperand, Activation, BOperand, Bias, Epilogue, PackedA};
use rayon::prelude::*;
use std::cell::RefCell;

/// Conv weights packed once for the GEMM (one panel set per group), or kept plain for
/// depthwise groups.
#[derive(Debug)]
pub struct PackedConvWeights {
    shape: Vec<usize>,
    group: usize,
    packed: Vec<PackedA>,
    plain: Vec<f32>,
}

impl PackedConvWeights {
    /// Pack `w` (`m × c/group × k…`) for `group` groups.
    pub fn new(w: &[f32], shape: &[usize], group: usize) -> Result<PackedConvWeights> {
        let m = shape.first().copied().unwrap_or(0);
        let per: usize = shape.iter().skip(1).product();
        if group == 0 || m % group != 0 || w.len() != m * per || shape.len() < 3 {
            return Err(KernelError::invalid(
                "Conv",
                format!("weights of shape {shape:?} do not split into {group} groups"),
            ));
        }
        let mg = m / group;
        let depthwise = shape[1] == 1;
        let packed = if depthwise {
            Vec::new()
        } else {
            (0..group)
                .map(|g| pack_a(mg, per, MatRef::rows(&w[g * mg * per..(g + 1) * mg * per], 0, per)))
                .collect::<Result<_>>()?
        };
        Ok(PackedConvWeights {
            shape: shape.to_vec(),
            group,
            packed,
            plain: if depthwise { w.to_vec() } else { Vec::new() },
        })
    }

    /// The weights' shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

/// The weights of a call: plain values or prepacked.
#[derive(Clone, Copy, Debug)]
pub enum ConvWeights<'a> {
    /// `m × c/group × k…` values.
    Plain(&'a [f32]),
    /// Packed by [`PackedConvWeights::new`].
    Packed(&'a PackedConvWeights),
}

/// What is applied to the convolution's output: `act(conv + bias + residual)`.
#[derive(Clone, Copy, Debug)]
pub struct ConvEpilogue<'a> {
    /// One value per output channel.
    pub bias: Option<&'a [f32]>,
    /// A tensor of the output's shape added before the activation.
    pub residual: Option<&'a [f32]>,
    /// Applied last.
    pub act: Activation,
}

thread_local! {
    static COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Convolve `x` (`n × c × in`) with the weights, applying `epi`.
pub fn conv_f32(x: &[f32], w: ConvWeights, epi: &ConvEpilogue, cs: &ConvShape) -> Result<Vec<f32>> {
    let g = &cs.geom;
    let (cg, mg) = (cs.c / cs.group, cs.m / cs.group);
    let (in_sz, out_sz, ks) = (g.in_size(), g.out_size(), g.k_size());
    let total = cs.n * cs.m * out_sz;
    let w_ok = match w {
        ConvWeights::Plain(w) => w.len() == cs.m * cg * ks,
        ConvWeights::Packed(p) => {
            p.group == cs.group
                && p.shape.first() == Some(&cs.m)
                && p.shape.iter().skip(1).product::<usize>() == cg * ks
        }
    };
    if x.len() != cs.n * cs.c * in_sz
        || !w_ok
        || epi.bias.is_some_and(|b| b.len() != cs.m)
        || epi.residual.is_some_and(|r| r.len() != total)
    {
        return Err(KernelError::invalid(
            "Conv",
            "operand sizes do not match the convolution shape",
        ));
    }
    let mut out = vec![0.0f32; total];
    if out.is_empty() {
        return Ok(out);
    }
    let item = |(i, dst): (usize, &mut [f32])| -> Result<()> {
        let (b, grp) = (i / cs.group, i % cs.group);
        let xg = &x[(b * cs.c + grp * cg) * in_sz..(b * cs.c + (grp + 1) * cg) * in_sz];
        let bg = epi.bias.map(|bv| &bv[grp * mg..(grp + 1) * mg]);
        let res = epi.residual.map(|r| &r[i * mg * out_sz..(i + 1) * mg * out_sz]);
        if cg == 1 {
            let wg = match w {
                ConvWeights::Plain(w) => &w[grp * mg * ks..(grp + 1) * mg * ks],
                ConvWeights::Packed(p) => &p.plain[grp * mg * ks..(grp + 1) * mg * ks],
            };
            depthwise(xg, wg, bg, dst, g, mg);
            finish(dst, res, epi.act);
            return Ok(());
        }
        let a = match w {
            ConvWeights::Plain(w) => {
                let kdim = cg * ks;
                AOperand::Plain(MatRef::rows(&w[grp * mg * kdim..(grp + 1) * mg * kdim], 0, kdim))
            }
            ConvWeights::Packed(p) => AOperand::Packed(&p.packed[grp]),
        };
        group_gemm(xg, a, bg, res, epi.act, dst, g, cg, mg)
    };
    let items = cs.n * cs.group;
    if items > 1 {
        out.par_chunks_mut(mg * out_sz).enumerate().try_for_each(item)?;
    } else {
        out.chunks_mut(mg * out_sz).enumerate().try_for_each(item)?;
    }
    Ok(out)
}

/// Add the residual and apply the activation in place (the depthwise path's epilogue).
fn finish(dst: &mut [f32], res: Option<&[f32]>, act: Activation) {
    if let Some(r) = res {
        for (d, &v) in dst.iter_mut().zip(r) {
            *d += v;
        }
    }
    if act != Activation::None {
        for d in dst.iter_mut() {
            *d = act.apply(*d);
        }
    }
}

/// One group of one image: im2col tiles and sgemm with the epilogue fused.
#[allow(clippy::too_many_arguments)]
fn group_gemm(
    xg: &[f32],
    a: AOperand,
    bias: Option<&[f32]>,
    res: Option<&[f32]>,
    act: Activation,
    dst: &mut [f32],
    g: &Geom,
    cg: usize,
    mg: usize,
) -> Result<()> {
    let (out_sz, kdim) = (g.out_size(), cg * g.k_size());
    let epi = |r0: usize| Epilogue {
        bias: bias.map(Bias::Row).unwrap_or(Bias::None),
        residual: res.map(|r| (&r[r0..], out_sz)),
        act,
    };
    if is_pointwise(g) {
        let b = BOperand::Plain(MatRef::rows(xg, 0, out_sz));
        return sgemm(mg, kdim, out_sz, 1.0, a, b, 0.0, dst, out_sz, &epi(0));
    }
    let rows = g.out[0] * g.out[1];
    let row_len = g.out[2];
    let per_tile = (TILE_ELEMS / (kdim * row_len).max(1)).clamp(1, rows.max(1));
    COLS.with(|cell| {
        let mut cols = cell.borrow_mut();
        let need = kdim * per_tile * row_len;
        if cols.len() < need {
            cols.resize(need, 0.0);
        }
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + per_tile).min(rows);
            let nc = (r1 - r0) * row_len;
            im2col(xg, g, cg, r0, r1, &mut cols);
            let b = BOperand::Plain(MatRef::rows(&cols, 0, nc));
            sgemm(
                mg,
                kdim,
                nc,
                1.0,
                a,
                b,
                0.0,
                &mut dst[r0 * row_len..],
                out_sz,
                &epi(r0 * row_len),
            )?;
            r0 = r1;
        }
        Ok(())
    })
}
