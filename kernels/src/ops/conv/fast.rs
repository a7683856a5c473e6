//! The f32 convolution path: per (image, group), im2col tiles (none for a plain 1×1) times
//! the weights through [`sgemm`], with the bias, a residual add and an activation fused into
//! the GEMM write-back. Weights may be prepacked once ([`PackedConvWeights`]) so that a run
//! only packs the image side. Depthwise 3×3 planes run in tasks with the epilogue fused
//! (`depthwise_planes`); other depthwise groups use the direct kernel, then [`finish`].

use super::direct;
use super::forward::depthwise::{self, depthwise};
use super::forward::{is_pointwise, ConvShape, TILE_ELEMS};
use super::geom::Geom;
use super::im2col::{im2col, im2col_panels};
use crate::error::{KernelError, Result};
use crate::ops::linalg::gemm::MatRef;
use crate::ops::linalg::sgemm::{
    pack_a, pack_b, panel_height, panel_width, sgemm, with_scratch, AOperand, Activation, BOperand, Bias, Epilogue,
    PackedA, PackedB, Scratch,
};
use rayon::prelude::*;
use std::sync::OnceLock;

/// How a group's product runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Orientation {
    /// `C = W·cols`: `W` packed as the left operand.
    Normal,
    /// `Cᵀ = colsᵀ·Wᵀ`: `Wᵀ` packed as the right operand (few output positions).
    Transposed,
    /// One GEMM per kernel position over the padded input read in place ([`direct`]).
    Taps,
    /// `Cᵀ` with the positions as rows read in place from the (padded) input, one GEMM per
    /// kernel position, `Wᵀ` packed kernel-position major as the right operand.
    TapsT,
}

/// The orientation for geometry `g` with `cg` input and `mg` output channels per group.
fn orientation(g: &Geom, cg: usize, mg: usize) -> Orientation {
    if direct::suits_t(g) && rows_as_positions_pay(g, cg, mg) {
        Orientation::TapsT
    } else if prefer_transposed(mg, g.out_size()) {
        Orientation::Transposed
    } else if direct::suits(g, panel_width()) {
        Orientation::Taps
    } else {
        Orientation::Normal
    }
}

/// Whether the positions-as-rows direct product beats the others (per-node A/B over resnet50,
/// densenet121, inception_v1 and squeezenet on one thread): always with few output positions;
/// for windowed convolutions (or strided 1×1) whose channels fill the `nr`-wide panels and
/// give each kernel position some depth (DenseNet's 128→32 3×3: 0.40× at 14×14, 0.87× at
/// 56×56; ResNet's 3×3: 0.87–0.89×; the 3-channel stems lose); and for deep 1×1 convolutions
/// whose transposed output stays in L2 (ResNet's 256→64 at 56×56: 0.85×, SqueezeNet's
/// 512→1000 at 13×13: 0.94×). A plain 1×1 with a large output or little depth does better
/// writing `C` directly (ResNet's 64→256 at 56×56: 1.49× this way, DenseNet's 128→128 at
/// 28×28: 1.19×): its output transpose costs more than the in-place reads save.
fn rows_as_positions_pay(g: &Geom, cg: usize, mg: usize) -> bool {
    let nr = panel_width();
    let n = g.out_size();
    prefer_transposed(mg, n)
        || if is_pointwise(g) {
            cg >= 256 && mg >= 2 * nr && n * mg <= 1 << 18
        } else {
            cg >= 8 && mg >= nr
        }
}

/// Conv weights packed once for the GEMM (per group), or kept plain for depthwise groups. Only
/// the orientation the convolution's geometry uses is packed at build time; another one is
/// derived from it on first use if the input shape changes.
#[derive(Debug)]
pub struct PackedConvWeights {
    shape: Vec<usize>,
    group: usize,
    /// Per group, `W` packed as the left operand.
    packed: OnceLock<Vec<PackedA>>,
    /// Per group, `Wᵀ` packed as the right operand (the transposed product).
    transposed: OnceLock<Vec<PackedB>>,
    /// Per group, `W` packed as the left operand with its columns kernel-position major
    /// (`(pos, c)` instead of `(c, pos)`), for the direct path.
    taps: OnceLock<Vec<PackedA>>,
    /// Per group, `Wᵀ` kernel-position major packed as the right operand (rows as positions).
    taps_t: OnceLock<Vec<PackedB>>,
    plain: Vec<f32>,
}

impl PackedConvWeights {
    /// Pack `w` (`m × c/group × k…`) for `group` groups, in the normal orientation.
    pub fn new(w: &[f32], shape: &[usize], group: usize) -> Result<PackedConvWeights> {
        PackedConvWeights::for_geometry(w, shape, group, None)
    }

    /// Pack `w` for the orientation a convolution of geometry `geom` uses (`None`: unknown,
    /// pack the normal one).
    pub fn for_geometry(w: &[f32], shape: &[usize], group: usize, geom: Option<&Geom>) -> Result<PackedConvWeights> {
        let m = shape.first().copied().unwrap_or(0);
        let per: usize = shape.iter().skip(1).product();
        if group == 0 || m % group != 0 || w.len() != m * per || shape.len() < 3 {
            return Err(KernelError::invalid(
                "Conv",
                format!("weights of shape {shape:?} do not split into {group} groups"),
            ));
        }
        let depthwise = shape[1] == 1;
        let p = PackedConvWeights {
            shape: shape.to_vec(),
            group,
            packed: OnceLock::new(),
            transposed: OnceLock::new(),
            taps: OnceLock::new(),
            taps_t: OnceLock::new(),
            plain: if depthwise { w.to_vec() } else { Vec::new() },
        };
        if !depthwise {
            match geom.map_or(Orientation::Normal, |g| orientation(g, shape[1], m / group)) {
                Orientation::Normal => drop(p.packed.set(p.pack_normal(w)?)),
                Orientation::Transposed => drop(p.transposed.set(p.pack_transposed(w)?)),
                Orientation::Taps => drop(p.taps.set(p.pack_taps(w)?)),
                Orientation::TapsT => drop(p.taps_t.set(p.pack_taps_t(w)?)),
            }
        }
        Ok(p)
    }

    /// Output channels per group and the GEMM depth.
    fn dims(&self) -> (usize, usize) {
        (self.shape[0] / self.group.max(1), self.shape.iter().skip(1).product())
    }

    /// Group `grp`'s rows of the plain weights `w` (`mg × kdim`).
    fn group_rows<'a>(&self, w: &'a [f32], grp: usize) -> MatRef<'a, f32> {
        let (mg, kdim) = self.dims();
        MatRef::rows(&w[grp * mg * kdim..(grp + 1) * mg * kdim], 0, kdim)
    }

    fn pack_normal(&self, w: &[f32]) -> Result<Vec<PackedA>> {
        let (mg, kdim) = self.dims();
        (0..self.group)
            .map(|g| pack_a(mg, kdim, self.group_rows(w, g)))
            .collect()
    }

    fn pack_transposed(&self, w: &[f32]) -> Result<Vec<PackedB>> {
        let (mg, kdim) = self.dims();
        (0..self.group)
            .map(|g| pack_b(kdim, mg, self.group_rows(w, g).t()))
            .collect()
    }

    /// Group `grp` of `w` with each row's columns kernel-position major: `(pos, c)` instead of
    /// `(c, pos)`.
    fn tap_major(&self, w: &[f32], grp: usize) -> Vec<f32> {
        let (mg, kdim) = self.dims();
        let cg = self.shape[1];
        let ks = kdim / cg.max(1);
        let wg = &w[grp * mg * kdim..(grp + 1) * mg * kdim];
        let mut r = vec![0.0; mg * kdim];
        for (dst, src) in r.chunks_exact_mut(kdim).zip(wg.chunks_exact(kdim)) {
            // dst[t·cg + c] = src[c·ks + t]
            crate::ops::layout::tile::transpose_block(src, 0, 0, cg, ks, dst);
        }
        r
    }

    fn pack_taps(&self, w: &[f32]) -> Result<Vec<PackedA>> {
        let (mg, kdim) = self.dims();
        (0..self.group)
            .map(|g| pack_a(mg, kdim, MatRef::rows(&self.tap_major(w, g), 0, kdim)))
            .collect()
    }

    fn pack_taps_t(&self, w: &[f32]) -> Result<Vec<PackedB>> {
        let (mg, kdim) = self.dims();
        (0..self.group)
            .map(|g| pack_b(kdim, mg, MatRef::rows(&self.tap_major(w, g), 0, kdim).t()))
            .collect()
    }

    /// The plain weights (`m × c/group × k…`), rebuilt from whichever packing exists.
    fn unpacked(&self) -> Vec<f32> {
        let (mg, kdim) = self.dims();
        let mut w = vec![0.0; self.group * mg * kdim];
        let groups = w.chunks_exact_mut((mg * kdim).max(1));
        if let Some(v) = self.packed.get() {
            for (dst, p) in groups.zip(v) {
                dst.copy_from_slice(&p.unpack());
            }
        } else if let Some(v) = self.transposed.get() {
            for (dst, p) in groups.zip(v) {
                let t = p.unpack(); // kdim × mg
                for (i, row) in dst.chunks_exact_mut(kdim).enumerate() {
                    for (k, x) in row.iter_mut().enumerate() {
                        *x = t[k * mg + i];
                    }
                }
            }
        } else if let Some(v) = self.taps.get() {
            for (dst, p) in groups.zip(v) {
                self.restore_plain(&p.unpack(), (kdim, 1), dst); // mg × kdim
            }
        } else if let Some(v) = self.taps_t.get() {
            for (dst, p) in groups.zip(v) {
                self.restore_plain(&p.unpack(), (1, mg), dst); // kdim × mg
            }
        }
        w
    }

    /// One group's plain weights into `dst` (the inverse of [`Self::tap_major`]): output channel
    /// `i`'s kernel-position-major column `j` is `u[i·rs + j·cs]` (`(kdim, 1)` for the
    /// `mg × kdim` form, `(1, mg)` for the transposed `kdim × mg` one).
    fn restore_plain(&self, u: &[f32], (rs, cs): (usize, usize), dst: &mut [f32]) {
        let (_, kdim) = self.dims();
        let cg = self.shape[1].max(1);
        let ks = kdim / cg;
        for (i, d) in dst.chunks_exact_mut(kdim).enumerate() {
            // d[c·ks + t] = u at column t·cg + c
            for (c, taps) in d.chunks_exact_mut(ks.max(1)).enumerate() {
                for (t, x) in taps.iter_mut().enumerate() {
                    *x = u[i * rs + (t * cg + c) * cs];
                }
            }
        }
    }

    /// Group `grp` of the packing in `cell`, packed from the unpacked weights on first use (a
    /// racing thread may set `cell` first; both pack the same values).
    fn derived<'a, T>(
        &self,
        cell: &'a OnceLock<Vec<T>>,
        grp: usize,
        pack: impl Fn(&[f32]) -> Result<Vec<T>>,
    ) -> Result<&'a T> {
        if cell.get().is_none() {
            let _ = cell.set(pack(&self.unpacked())?);
        }
        cell.get()
            .and_then(|v| v.get(grp))
            .ok_or_else(|| KernelError::invalid("Conv", format!("no packed weights for group {grp}")))
    }

    /// `W` of group `grp` packed as the GEMM left operand.
    fn normal(&self, grp: usize) -> Result<&PackedA> {
        self.derived(&self.packed, grp, |w| self.pack_normal(w))
    }

    /// `Wᵀ` of group `grp` packed as the GEMM right operand.
    fn transposed(&self, grp: usize) -> Result<&PackedB> {
        self.derived(&self.transposed, grp, |w| self.pack_transposed(w))
    }

    /// `Wᵀ` of group `grp` packed kernel-position major (the rows-as-positions right operand).
    fn taps_t(&self, grp: usize) -> Result<&PackedB> {
        self.derived(&self.taps_t, grp, |w| self.pack_taps_t(w))
    }

    /// `W` of group `grp` packed kernel-position major (the direct path's left operand).
    fn taps(&self, grp: usize) -> Result<&PackedA> {
        self.derived(&self.taps, grp, |w| self.pack_taps(w))
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
    // Every path below writes every output (GEMMs with beta 0, the depthwise kernel).
    let mut out = crate::buffers::overwritten::<f32>(total);
    if out.is_empty() {
        return Ok(out);
    }
    if cg == 1 && depthwise::fast_f32(g) {
        let w = match w {
            ConvWeights::Plain(w) => w,
            ConvWeights::Packed(p) => &p.plain[..],
        };
        depthwise_planes(x, w, epi, &mut out, cs);
        return Ok(out);
    }
    let item = |(i, dst): (usize, &mut [f32])| -> Result<()> {
        let (b, grp) = (i / cs.group, i % cs.group);
        let xg = &x[(b * cs.c + grp * cg) * in_sz..(b * cs.c + (grp + 1) * cg) * in_sz];
        // This group's share of the epilogue.
        let ge = ConvEpilogue {
            bias: epi.bias.map(|bv| &bv[grp * mg..(grp + 1) * mg]),
            residual: epi.residual.map(|r| &r[i * mg * out_sz..(i + 1) * mg * out_sz]),
            act: epi.act,
        };
        if cg == 1 {
            let wg = match w {
                ConvWeights::Plain(w) => &w[grp * mg * ks..(grp + 1) * mg * ks],
                ConvWeights::Packed(p) => &p.plain[grp * mg * ks..(grp + 1) * mg * ks],
            };
            depthwise(xg, wg, ge.bias, dst, g, mg);
            finish(dst, ge.residual, ge.act);
            return Ok(());
        }
        let kdim = cg * ks;
        let wrange = grp * mg * kdim..(grp + 1) * mg * kdim;
        let orient = orientation(g, cg, mg);
        if let (Orientation::Taps, ConvWeights::Packed(p)) = (orient, w) {
            return direct::direct_gemm(xg, p.taps(grp)?, &ge, dst, g, cg, mg);
        }
        if let (Orientation::TapsT, ConvWeights::Packed(p)) = (orient, w) {
            return direct::direct_t_gemm(xg, p.taps_t(grp)?, &ge, dst, g, cg, mg);
        }
        if matches!(orient, Orientation::Transposed | Orientation::TapsT) {
            let wt = match w {
                ConvWeights::Plain(w) => BOperand::Plain(MatRef::rows(&w[wrange], 0, kdim).t()),
                ConvWeights::Packed(p) => BOperand::Packed(p.transposed(grp)?),
            };
            return transposed_gemm(xg, wt, &ge, dst, g, cg, mg);
        }
        let a = match w {
            ConvWeights::Plain(w) => AOperand::Plain(MatRef::rows(&w[wrange], 0, kdim)),
            ConvWeights::Packed(p) => AOperand::Packed(p.normal(grp)?),
        };
        group_gemm(xg, a, &ge, dst, g, cg, mg)
    };
    let items = cs.n * cs.group;
    if items > 1 {
        out.par_chunks_mut(mg * out_sz).enumerate().try_for_each(item)?;
    } else {
        out.chunks_mut(mg * out_sz).enumerate().try_for_each(item)?;
    }
    Ok(out)
}

/// Planes (image, channel) per task of the f32 3×3 depthwise path: enough that a task's work
/// (about 9 multiply-adds per output) outweighs handing it to another thread.
const DW_TASK_OUTPUTS: usize = 8 * 1024;

/// The f32 3×3 depthwise path (`cg == 1`) over every plane, in tasks of consecutive planes
/// that each lay out the padded plane once, with the residual and activation fused.
fn depthwise_planes(x: &[f32], w: &[f32], epi: &ConvEpilogue, out: &mut [f32], cs: &ConvShape) {
    let g = &cs.geom;
    let (in_sz, mg) = (g.in_size(), cs.m / cs.group);
    let plane_out = mg * g.out_size();
    let planes = cs.n * cs.group;
    let threads = rayon::current_num_threads();
    let per = if threads > 1 {
        DW_TASK_OUTPUTS.div_ceil(plane_out).clamp(1, planes.div_ceil(threads))
    } else {
        planes
    };
    let task = |(t, dst): (usize, &mut [f32])| {
        let first = t * per;
        let count = dst.len() / plane_out;
        let xs = &x[first * in_sz..(first + count) * in_sz];
        let res = epi.residual.map(|r| &r[first * plane_out..(first + count) * plane_out]);
        depthwise::dw3x3_planes(xs, w, epi.bias, res, epi.act, dst, g, mg, cs.group, first);
    };
    if per < planes {
        out.par_chunks_mut(per * plane_out).enumerate().for_each(task);
    } else {
        task((0, out));
    }
}

/// Add the residual and apply the activation in place (the epilogue of the depthwise paths
/// and of the transposed GEMM).
pub(crate) fn finish(out: &mut [f32], res: Option<&[f32]>, act: Activation) {
    if let Some(r) = res {
        for (d, &v) in out.iter_mut().zip(r) {
            *d += v;
        }
    }
    if act != Activation::None {
        for d in out.iter_mut() {
            *d = act.apply(*d);
        }
    }
}

/// One group of one image (`ge`: the group's epilogue): im2col tiles and sgemm with the epilogue
/// fused.
fn group_gemm(
    xg: &[f32],
    a: AOperand,
    ge: &ConvEpilogue,
    dst: &mut [f32],
    g: &Geom,
    cg: usize,
    mg: usize,
) -> Result<()> {
    let (out_sz, kdim) = (g.out_size(), cg * g.k_size());
    let epi = |r0: usize| Epilogue {
        bias: ge.bias.map(Bias::Row).unwrap_or(Bias::None),
        residual: ge.residual.map(|r| (&r[r0..], out_sz)),
        act: ge.act,
    };
    if is_pointwise(g) {
        let b = BOperand::Plain(MatRef::rows(xg, 0, out_sz));
        return sgemm(mg, kdim, out_sz, 1.0, a, b, 0.0, dst, out_sz, &epi(0));
    }
    // im2col straight into B micro-panels, in column tiles of whole panels (bounded scratch).
    let nr = panel_width();
    let np = out_sz.div_ceil(nr);
    let per = (panel_tile_elems() / (kdim * nr).max(1)).clamp(1, np.max(1));
    with_scratch(Scratch::Cols, per * kdim * nr, |cols| {
        for p0 in (0..np).step_by(per) {
            let q0 = p0 * nr;
            let nq = (per * nr).min(out_sz - q0);
            let len = nq.div_ceil(nr) * kdim * nr;
            let buf = &mut cols[..len];
            if kdim * nq >= 1 << 15 && rayon::current_num_threads() > 1 {
                // Panels are independent: fill them in parallel, a few per task.
                let chunk = nq.div_ceil(nr).div_ceil(4 * rayon::current_num_threads()).max(1);
                buf.par_chunks_mut(chunk * kdim * nr).enumerate().for_each(|(t, d)| {
                    let a = q0 + t * chunk * nr;
                    im2col_panels(xg, g, cg, a, (chunk * nr).min(q0 + nq - a), nr, d)
                });
            } else {
                im2col_panels(xg, g, cg, q0, nq, nr, buf);
            }
            let b = BOperand::Panels { data: buf, nr };
            sgemm(mg, kdim, nq, 1.0, a, b, 0.0, &mut dst[q0..], out_sz, &epi(q0))?;
        }
        Ok(())
    })
}

/// Floats of B panels per im2col tile. On one thread a tile that stays in L2 (512 KiB) measured
/// about 5% faster end to end than 4 MiB tiles (densenet121, resnet50, squeezenet, inception_v1,
/// paired A/B in one process); with more threads the per-tile fork / join costs more than the
/// cache misses, and 4 MiB tiles measured faster.
fn panel_tile_elems() -> usize {
    if rayon::current_num_threads() > 1 {
        TILE_ELEMS
    } else {
        TILE_ELEMS / 8
    }
}

/// Whether a group's product should run transposed (`Cᵀ = colsᵀ·Wᵀ`, positions as rows): with
/// few output positions the last `nr`-wide column panel is mostly padding, while `mr`-row
/// tiles over the positions and `nr`-wide panels over the channels waste little.
fn prefer_transposed(mg: usize, n: usize) -> bool {
    let (mr, nr) = (panel_height(), panel_width());
    let used = |a: usize, r: usize| a as f64 / (a.div_ceil(r) * r) as f64;
    n <= 256 && mg >= 2 * nr && used(n, mr) * used(mg, nr) > 1.05 * used(mg, mr) * used(n, nr)
}

/// One group of one image as `Cᵀ = colsᵀ·Wᵀ` into scratch, then transposed into `dst` with the
/// residual and activation (the bias rides the GEMM as a column bias).
fn transposed_gemm(
    xg: &[f32],
    wt: BOperand,
    ge: &ConvEpilogue,
    dst: &mut [f32],
    g: &Geom,
    cg: usize,
    mg: usize,
) -> Result<()> {
    let (n, kdim) = (g.out_size(), cg * g.k_size());
    let pointwise = is_pointwise(g);
    let cols_len = if pointwise { 0 } else { kdim * n };
    with_scratch(Scratch::Cols, cols_len + n * mg, |buf| {
        let (cols, ct) = buf.split_at_mut(cols_len);
        let x: &[f32] = if pointwise {
            xg
        } else {
            im2col(xg, g, cg, 0, g.out[0] * g.out[1], cols);
            cols
        };
        // colsᵀ: n × kdim, read in place (column-major view of the kdim × n columns).
        let a = AOperand::Plain(MatRef::rows(x, 0, n).t());
        sgemm(n, kdim, mg, 1.0, a, wt, 0.0, ct, mg, &transposed_epilogue(ge))?;
        untranspose(ct, dst, mg, n, ge);
        Ok(())
    })
}

/// The write-back of a positions-major product: the bias per column (output channel), and the
/// activation unless a residual must be added first (after [`untranspose`]).
pub(super) fn transposed_epilogue<'a>(ge: &ConvEpilogue<'a>) -> Epilogue<'a> {
    Epilogue {
        bias: ge.bias.map(Bias::Col).unwrap_or(Bias::None),
        residual: None,
        act: if ge.residual.is_some() {
            Activation::None
        } else {
            ge.act
        },
    }
}

/// `dst` (`mg × n`) from the product `ct` (`n × mg`), then the residual and activation (the
/// write-back of the positions-as-rows products, whose epilogue could fuse only the bias and
/// an activation without a residual).
pub(super) fn untranspose(ct: &[f32], dst: &mut [f32], mg: usize, n: usize, ge: &ConvEpilogue) {
    // dst[i·n + j] = ct[j·mg + i]: AVX2 register tiles, else 8×8 blocks so both sides stay in
    // cache lines.
    const B: usize = 8;
    if !crate::ops::layout::tile::transpose_planes(ct, &[0], (mg, n, mg), &mut dst[..mg * n]) {
        for i0 in (0..mg).step_by(B) {
            for j0 in (0..n).step_by(B) {
                for i in i0..(i0 + B).min(mg) {
                    let row = &mut dst[i * n..(i + 1) * n];
                    for j in j0..(j0 + B).min(n) {
                        row[j] = ct[j * mg + i];
                    }
                }
            }
        }
    }
    if ge.residual.is_some() {
        finish(dst, ge.residual, ge.act);
    }
}
