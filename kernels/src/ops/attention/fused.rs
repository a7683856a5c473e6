//! The fused scaled dot-product attention the graph passes make of exported
//! `MatMul(Q, Kᵀ) → Div/Mul scale → [Add mask] → Softmax → MatMul(·, V)` chains.
//!
//! Per (leading-index) block, in parallel: `scores = scale·Q·Kᵀ + mask` by the crate's sgemm
//! (Kᵀ read through a strided view, the mask added in the GEMM write-back when it is
//! contiguous along keys), an unnormalised softmax in place over each row of the score block
//! (which stays cache-resident), `out = P·V` by sgemm, and each output row scaled by
//! `1 / Σ exp` (cheaper than normalising the `S × T` probabilities when `dv < T`).

use crate::buffers;
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::ops::linalg::gemm::MatRef;
use crate::ops::linalg::sgemm::{sgemm, AOperand, BOperand, Epilogue};
use crate::shape::{broadcast_strides_small, SmallDims};
use crate::tensor::Tensor;
use crate::util::{expect_dtype, opt, req};
use rayon::prelude::*;

const OP: &str = "FusedAttention";

/// Typed attributes of the fused attention op.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FusedAttentionAttrs {
    /// Multiplier of Q·Kᵀ (the reciprocal of an exported `Div` constant).
    pub scale: f32,
    /// Input 1 holds Kᵀ (`[…, d, T]`) instead of K (`[…, T, d]`).
    pub k_transposed: bool,
}

/// Problem sizes of one call: `blocks` independent `(S × d)·(d × T)` then `(S × T)·(T × dv)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub blocks: usize,
    pub s: usize,
    pub t: usize,
    pub d: usize,
    pub dv: usize,
}

fn bad(msg: String) -> KernelError {
    KernelError::invalid(OP, msg)
}

/// Check the shapes of Q, K (or Kᵀ), V: same rank ≥ 2, equal leading dims, matching d and T.
pub(crate) fn sizes(q: &[usize], k: &[usize], v: &[usize], k_transposed: bool) -> Result<Sizes> {
    let r = q.len();
    if r < 2 || k.len() != r || v.len() != r {
        return Err(bad(format!(
            "Q, K and V must have one rank of at least 2, found {q:?}, {k:?}, {v:?}"
        )));
    }
    let lead = &q[..r - 2];
    if &k[..r - 2] != lead || &v[..r - 2] != lead {
        return Err(bad(format!(
            "Q, K and V must have the same leading dims, found {q:?}, {k:?}, {v:?}"
        )));
    }
    let (s, d) = (q[r - 2], q[r - 1]);
    let (t, kd) = if k_transposed {
        (k[r - 1], k[r - 2])
    } else {
        (k[r - 2], k[r - 1])
    };
    if kd != d || v[r - 2] != t {
        return Err(bad(format!(
            "head sizes do not match: Q {q:?}, K{} {k:?}, V {v:?}",
            if k_transposed { "ᵀ" } else { "" }
        )));
    }
    Ok(Sizes {
        blocks: lead.iter().product(),
        s,
        t,
        d,
        dv: v[r - 1],
    })
}

/// Run the fused attention on f32 inputs `[Q, K or Kᵀ, V, optional additive mask]`.
pub(crate) fn fused_attention(a: &FusedAttentionAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (q, k, v) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?, req(OP, inputs, 2)?);
    let mask = opt(inputs, 3);
    for t in [Some(q), Some(k), Some(v), mask].into_iter().flatten() {
        expect_dtype(OP, "every input", t, DType::F32)?;
    }
    let z = sizes(q.shape(), k.shape(), v.shape(), a.k_transposed)?;
    let r = q.rank();
    let mut out_shape = buffers::dims(&q.shape()[..r - 2]);
    out_shape.extend([z.s, z.dv]);
    let mut scores_shape = SmallDims::from_slice(&out_shape);
    scores_shape[r - 1] = z.t;
    // Mask strides over the scores' shape (0 along broadcast dims).
    let mask = match mask {
        Some(m) => {
            let ms = m.shape();
            let fits = ms.len() <= r
                && ms
                    .iter()
                    .rev()
                    .zip(scores_shape.iter().rev())
                    .all(|(&a, &b)| a == b || a == 1);
            if !fits {
                return Err(bad(format!(
                    "the mask {ms:?} does not broadcast to the scores {scores_shape:?}"
                )));
            }
            Some((m.as_slice::<f32>()?, broadcast_strides_small(ms, &scores_shape)))
        }
        None => None,
    };
    let (qd, kd, vd) = (q.as_slice::<f32>()?, k.as_slice::<f32>()?, v.as_slice::<f32>()?);
    // Every element is written: by each block's P·V product (beta 0), or zeroed here.
    let mut out = buffers::overwritten::<f32>(z.blocks * z.s * z.dv);
    if out.is_empty() || z.t == 0 {
        // No keys: every probability row is empty and P·V is zero.
        out.fill(0.0);
        return Ok(buffers::one(Tensor::from_vec(out_shape, out)?));
    }
    let lead_dims = &scores_shape[..r - 2];
    out.par_chunks_mut(z.s * z.dv).enumerate().try_for_each(|(bh, o)| {
        // Mask offset of this block: decompose the flat block index over the leading dims.
        let mask_rows = mask.as_ref().map(|(m, st)| {
            let (mut rest, mut off) = (bh, 0);
            for (ax, &n) in lead_dims.iter().enumerate().rev() {
                off += (rest % n) * st[ax];
                rest /= n;
            }
            (&m[off..], st[r - 2], st[r - 1])
        });
        with_scratch(z.s * z.t + z.s, |scratch| {
            block(a, z, bh, qd, kd, vd, mask_rows, scratch, o)
        })
    })?;
    Ok(buffers::one(Tensor::from_vec(out_shape, out)?))
}

/// Score blocks (grow-only).
static SCRATCH: buffers::Scratch<Vec<f32>> = buffers::Scratch::new();

/// Run `f` with a score block.
fn with_scratch<R>(need: usize, f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    buffers::with_scratch(&SCRATCH, need, f)
}

/// One (batch, head) block: `o = softmax(scale·Q·Kᵀ + mask)·V`. `mask` is the block's mask
/// data with its row and column strides.
#[allow(clippy::too_many_arguments)]
fn block(
    a: &FusedAttentionAttrs,
    z: Sizes,
    bh: usize,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<(&[f32], usize, usize)>,
    scratch: &mut Vec<f32>,
    o: &mut [f32],
) -> Result<()> {
    let Sizes { s, t, d, dv, .. } = z;
    // Stale contents are fine: the scores are written by the first product (or filled), and
    // every row's inverse sum below.
    if scratch.len() < s * t + s {
        scratch.resize(s * t + s, 0.0);
    }
    let (sc, inv) = scratch[..s * t + s].split_at_mut(s * t);
    let qv = MatRef::rows(q, bh * s * d, d);
    // The (d × T) right operand: Kᵀ as stored, or K read transposed.
    let kv = if a.k_transposed {
        MatRef::rows(k, bh * d * t, t)
    } else {
        MatRef::rows(k, bh * t * d, d).t()
    };
    // A mask contiguous along keys is added in the write-back; a mask broadcast along keys
    // (one value per row) is added below.
    let mut epi = Epilogue::none();
    if let Some((m, rs, 1)) = mask {
        epi.residual = Some((m, rs));
    }
    if d == 0 {
        sc.fill(0.0);
        if let Some((m, rs, 1)) = mask {
            for (i, row) in sc.chunks_exact_mut(t).enumerate() {
                row.copy_from_slice(&m[i * rs..i * rs + t]);
            }
        }
    } else {
        sgemm(
            s,
            d,
            t,
            a.scale,
            AOperand::Plain(qv),
            BOperand::Plain(kv),
            0.0,
            sc,
            t,
            &epi,
        )?;
    }
    for (i, row) in sc.chunks_exact_mut(t).enumerate() {
        if let Some((m, rs, cs)) = mask {
            if cs != 1 {
                let add = m[i * rs];
                row.iter_mut().for_each(|x| *x += add);
            }
        }
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        inv[i] = 1.0 / exp_shifted_sum(row, max);
    }
    sgemm(
        s,
        t,
        dv,
        1.0,
        AOperand::Plain(MatRef::rows(sc, 0, t)),
        BOperand::Plain(MatRef::rows(v, bh * t * dv, dv)),
        0.0,
        o,
        dv,
        &Epilogue::none(),
    )?;
    for (row, &f) in o.chunks_exact_mut(dv).zip(inv.iter()) {
        row.iter_mut().for_each(|x| *x *= f);
    }
    Ok(())
}

/// `row[j] = exp(row[j] − max)` in place; returns the sum (vectorised exp).
#[inline]
pub(crate) fn exp_shifted_sum(row: &mut [f32], max: f32) -> f32 {
    crate::vmath::exp_shift_sum_inplace(row, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_row_step_matches_f64() {
        let mut row: Vec<f32> = (0..37).map(|i| -(i as f32) * 2.7).collect();
        row.push(f32::NEG_INFINITY);
        let want: Vec<f64> = row.iter().map(|&x| (x as f64 + 1.5).exp()).collect();
        let sum = exp_shifted_sum(&mut row, -1.5);
        for (g, w) in row.iter().zip(&want) {
            assert!((*g as f64 - w).abs() <= 2.5e-7 * w + 1e-37, "{g} vs {w}");
        }
        assert!((sum as f64 - want.iter().sum::<f64>()).abs() < 1e-5);
    }

    #[test]
    fn sizes_reject_mismatched_heads() {
        assert!(sizes(&[2, 4, 3], &[2, 5, 3], &[2, 5, 6], false).is_ok());
        assert!(sizes(&[2, 4, 3], &[2, 3, 5], &[2, 5, 6], true).is_ok());
        assert!(sizes(&[2, 4, 3], &[2, 5, 3], &[2, 5, 6], true).is_err());
        assert!(sizes(&[2, 4, 3], &[3, 5, 3], &[3, 5, 6], false).is_err());
        assert!(sizes(&[4], &[4], &[4], false).is_err());
    }
}
