//! Scaled dot-product attention: ONNX `Attention` (opset 23/24) and `FlexAttention` without
//! modifier subgraphs. Computes per (batch, query head) in parallel, one query row at a time.

use super::real::{dot, swap_mid, Real};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::shape::broadcast_strides;
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Which intermediate the optional 4th `Attention` output holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QkOutputMode {
    /// The scaled Q·Kᵀ product.
    MatMul,
    /// After softcap (before the mask is added).
    Softcap,
    /// After softcap and mask addition.
    Masked,
    /// After softmax.
    Softmax,
}

/// Typed attributes of ONNX `Attention`.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionAttrs {
    /// Apply an upper-left aligned causal mask (shifted by the past length).
    pub is_causal: bool,
    /// Scale of Q·Kᵀ; `None` means `1/sqrt(head_size)`.
    pub scale: Option<f32>,
    /// Softcap value; `0` disables it.
    pub softcap: f32,
    /// Query heads (required for 3-D inputs).
    pub q_num_heads: Option<usize>,
    /// Key/value heads (required for 3-D inputs).
    pub kv_num_heads: Option<usize>,
    /// What the 4th output holds.
    pub qk_mode: QkOutputMode,
    /// Number of outputs the node lists (1..=4); the 4th is computed only when listed.
    pub num_outputs: usize,
}

/// Normalised 4-D problem sizes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub b: usize,
    pub hq: usize,
    pub hkv: usize,
    pub s: usize,
    pub t: usize,
    pub d: usize,
    pub dv: usize,
}

/// Additive bias sources, evaluated lazily per score.
pub(crate) struct Bias<R> {
    /// Mask values (already additive: bool masks become 0 / -inf), strides over
    /// `[b, hq, s, t_mask]` and `t_mask` (keys past it are masked).
    pub mask: Option<(Vec<R>, [usize; 4], usize)>,
    /// Causal masking with this past offset.
    pub causal: Option<usize>,
    /// Per-batch count of valid keys.
    pub nonpad: Option<Vec<usize>>,
}

impl<R: Real> Bias<R> {
    fn none() -> Bias<R> {
        Bias {
            mask: None,
            causal: None,
            nonpad: None,
        }
    }
    #[inline]
    fn at(&self, b: usize, h: usize, i: usize, j: usize) -> R {
        let mut v = R::ZERO;
        if let Some((m, st, tm)) = &self.mask {
            if j >= *tm {
                return R::NEG_INF;
            }
            v = m[b * st[0] + h * st[1] + i * st[2] + j * st[3]];
        }
        if let Some(off) = self.causal {
            if j > i + off {
                return R::NEG_INF;
            }
        }
        if let Some(np) = &self.nonpad {
            if j >= np[b] {
                return R::NEG_INF;
            }
        }
        v
    }
    fn is_empty(&self) -> bool {
        self.mask.is_none() && self.causal.is_none() && self.nonpad.is_none()
    }
}

/// How raw scores become logits, and which intermediate to keep.
pub(crate) struct Scoring<R> {
    /// Multiplier of Q·Kᵀ.
    pub scale: R,
    /// `c·tanh(x/c)` when set.
    pub softcap: Option<R>,
    /// Which intermediate to return as the second result.
    pub qk_mode: Option<QkOutputMode>,
}

/// Core SDPA on 4-D buffers q `[b,hq,s,d]`, k `[b,hkv,t,d]`, v `[b,hkv,t,dv]`.
/// Returns `[b,hq,s,dv]` and, when `qk_mode` is set, the `[b,hq,s,t]` intermediate.
pub(crate) fn sdpa<R: Real>(q: &[R], k: &[R], v: &[R], dm: Dims, sc: &Scoring<R>, bias: &Bias<R>) -> (Vec<R>, Vec<R>) {
    let Scoring {
        scale,
        softcap,
        qk_mode,
    } = *sc;
    let Dims {
        b: _,
        hq,
        hkv,
        s,
        t,
        d,
        dv,
    } = dm;
    let group = (hq / hkv.max(1)).max(1);
    let per_head: Vec<(Vec<R>, Vec<R>)> = (0..dm.b * hq)
        .into_par_iter()
        .map(|bh| {
            let (bi, h) = (bh / hq, bh % hq);
            let kvh = bi * hkv + h / group;
            let qh = &q[bh * s * d..(bh + 1) * s * d];
            let kh = &k[kvh * t * d..(kvh + 1) * t * d];
            let vh = &v[kvh * t * dv..(kvh + 1) * t * dv];
            let mut out = vec![R::ZERO; s * dv];
            let mut qk = if qk_mode.is_some() {
                vec![R::ZERO; s * t]
            } else {
                Vec::new()
            };
            let mut row = vec![R::ZERO; t];
            for i in 0..s {
                let qi = &qh[i * d..(i + 1) * d];
                for (j, r) in row.iter_mut().enumerate() {
                    let mut x = dot(qi, &kh[j * d..(j + 1) * d]) * scale;
                    if qk_mode == Some(QkOutputMode::MatMul) {
                        qk[i * t + j] = x;
                    }
                    if let Some(c) = softcap {
                        x = c * (x / c).tanh();
                    }
                    if qk_mode == Some(QkOutputMode::Softcap) {
                        qk[i * t + j] = x;
                    }
                    if !bias.is_empty() {
                        x += bias.at(bi, h, i, j);
                    }
                    if qk_mode == Some(QkOutputMode::Masked) {
                        qk[i * t + j] = x;
                    }
                    *r = x;
                }
                softmax_in_place(&mut row);
                if qk_mode == Some(QkOutputMode::Softmax) {
                    qk[i * t..(i + 1) * t].copy_from_slice(&row);
                }
                let oi = &mut out[i * dv..(i + 1) * dv];
                for (j, &p) in row.iter().enumerate() {
                    for (o, &x) in oi.iter_mut().zip(&vh[j * dv..(j + 1) * dv]) {
                        *o += p * x;
                    }
                }
            }
            (out, qk)
        })
        .collect();
    let mut out = Vec::with_capacity(dm.b * hq * s * dv);
    let mut qk = Vec::new();
    for (o, m) in per_head {
        out.extend(o);
        qk.extend(m);
    }
    (out, qk)
}

/// Numerically stable softmax (a row of only -inf becomes NaN, like the reference).
fn softmax_in_place<R: Real>(row: &mut [R]) {
    let mut m = R::NEG_INF;
    for &x in row.iter() {
        if x > m {
            m = x;
        }
    }
    let mut sum = R::ZERO;
    for x in row.iter_mut() {
        *x = (*x - m).exp();
        sum += *x;
    }
    for x in row.iter_mut() {
        *x = *x / sum;
    }
}

/// Concatenate `past [bh, p, d]` and `new [bh, t, d]` along the sequence axis.
fn concat_seq<R: Copy>(past: &[R], new: &[R], bh: usize, p: usize, t: usize, d: usize) -> Vec<R> {
    let mut out = Vec::with_capacity(bh * (p + t) * d);
    for i in 0..bh {
        out.extend_from_slice(&past[i * p * d..(i + 1) * p * d]);
        out.extend_from_slice(&new[i * t * d..(i + 1) * t * d]);
    }
    out
}

/// Check that a tensor has the given rank.
fn rank(op: &str, what: &str, t: &Tensor, r: usize) -> Result<()> {
    if t.rank() != r {
        return Err(KernelError::invalid(
            op,
            format!("{what} must have rank {r}, found shape {:?}", t.shape()),
        ));
    }
    Ok(())
}

/// Split `total` into `heads` equal parts.
fn per_head(op: &str, what: &str, total: usize, heads: usize) -> Result<usize> {
    if heads == 0 || !total.is_multiple_of(heads) {
        return Err(KernelError::invalid(
            op,
            format!("{what} hidden size {total} is not divisible by {heads} heads"),
        ));
    }
    Ok(total / heads)
}

/// Build the mask bias from `attn_mask`, right-aligned against `[b, hq, s, t_mask]`.
fn mask_bias<R: Real>(op: &str, m: &Tensor, dm: &Dims) -> Result<(Vec<R>, [usize; 4], usize)> {
    if m.rank() == 0 || m.rank() > 4 {
        return Err(KernelError::invalid(
            op,
            format!("attn_mask must have rank 1..=4, found {:?}", m.shape()),
        ));
    }
    let tm = m.shape()[m.rank() - 1];
    if tm > dm.t {
        return Err(KernelError::invalid(
            op,
            format!("attn_mask has {tm} keys but there are only {}", dm.t),
        ));
    }
    let full = [dm.b, dm.hq, dm.s, tm];
    let off = 4 - m.rank();
    for (i, &d) in m.shape().iter().enumerate() {
        if d != 1 && d != full[off + i] {
            return Err(KernelError::invalid(
                op,
                format!("attn_mask shape {:?} does not broadcast to {:?}", m.shape(), full),
            ));
        }
    }
    let st = broadcast_strides(m.shape(), &full);
    let vals: Vec<R> = if m.dtype() == DType::Bool {
        m.as_slice::<bool>()?
            .iter()
            .map(|&x| if x { R::ZERO } else { R::NEG_INF })
            .collect()
    } else if m.dtype().is_float() {
        R::load(m)?
    } else {
        return Err(KernelError::invalid(
            op,
            format!("attn_mask must be bool or float, found {}", m.dtype()),
        ));
    };
    Ok((vals, [st[0], st[1], st[2], st[3]], tm))
}

/// Run ONNX `Attention` with accumulation type `R`.
pub(crate) fn attention<R: Real>(a: &AttentionAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "Attention";
    let q = crate::util::req(OP, inputs, 0)?;
    let k = crate::util::req(OP, inputs, 1)?;
    let v = crate::util::req(OP, inputs, 2)?;
    let mask = crate::util::opt(inputs, 3);
    let past_k = crate::util::opt(inputs, 4);
    let past_v = crate::util::opt(inputs, 5);
    let nonpad = crate::util::opt(inputs, 6);
    if past_k.is_some() != past_v.is_some() {
        return Err(KernelError::invalid(
            OP,
            "past_key and past_value must be given together",
        ));
    }
    let r = q.rank();
    rank(OP, "K", k, r)?;
    rank(OP, "V", v, r)?;
    let (qv, kv, vv, mut dm) = match r {
        4 => {
            let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
            let dm = Dims {
                b: qs[0],
                hq: qs[1],
                hkv: ks[1],
                s: qs[2],
                t: ks[2],
                d: qs[3],
                dv: vs[3],
            };
            if ks[0] != dm.b || vs[0] != dm.b || vs[1] != dm.hkv || vs[2] != dm.t || ks[3] != dm.d {
                return Err(KernelError::invalid(
                    OP,
                    format!("inconsistent Q/K/V shapes {qs:?} {ks:?} {vs:?}"),
                ));
            }
            (R::load(q)?, R::load(k)?, R::load(v)?, dm)
        }
        3 => {
            let (Some(hq), Some(hkv)) = (a.q_num_heads, a.kv_num_heads) else {
                return Err(KernelError::invalid(OP, "3-D inputs need q_num_heads and kv_num_heads"));
            };
            let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
            let dm = Dims {
                b: qs[0],
                hq,
                hkv,
                s: qs[1],
                t: ks[1],
                d: per_head(OP, "Q", qs[2], hq)?,
                dv: per_head(OP, "V", vs[2], hkv)?,
            };
            if ks[0] != dm.b || vs[0] != dm.b || vs[1] != dm.t || per_head(OP, "K", ks[2], hkv)? != dm.d {
                return Err(KernelError::invalid(
                    OP,
                    format!("inconsistent Q/K/V shapes {qs:?} {ks:?} {vs:?}"),
                ));
            }
            let qv = swap_mid(&R::load(q)?, dm.b, dm.s, hq, dm.d);
            let kv = swap_mid(&R::load(k)?, dm.b, dm.t, hkv, dm.d);
            let vv = swap_mid(&R::load(v)?, dm.b, dm.t, hkv, dm.dv);
            (qv, kv, vv, dm)
        }
        _ => {
            return Err(KernelError::invalid(
                OP,
                format!("Q must have rank 3 or 4, found {:?}", q.shape()),
            ))
        }
    };
    if dm.hkv == 0 || !dm.hq.is_multiple_of(dm.hkv) {
        return Err(KernelError::invalid(
            OP,
            format!("q_num_heads {} is not a multiple of kv_num_heads {}", dm.hq, dm.hkv),
        ));
    }
    // KV cache.
    let mut past_len = 0;
    let (kv, vv) = match (past_k, past_v) {
        (Some(pk), Some(pv)) => {
            rank(OP, "past_key", pk, 4)?;
            rank(OP, "past_value", pv, 4)?;
            let p = pk.shape()[2];
            if pk.shape() != [dm.b, dm.hkv, p, dm.d] || pv.shape() != [dm.b, dm.hkv, p, dm.dv] {
                return Err(KernelError::invalid(
                    OP,
                    format!(
                        "past_key {:?} / past_value {:?} do not match K/V",
                        pk.shape(),
                        pv.shape()
                    ),
                ));
            }
            past_len = p;
            let bh = dm.b * dm.hkv;
            let kc = concat_seq(&R::load(pk)?, &kv, bh, p, dm.t, dm.d);
            let vc = concat_seq(&R::load(pv)?, &vv, bh, p, dm.t, dm.dv);
            dm.t += p;
            (kc, vc)
        }
        _ => (kv, vv),
    };
    let mut bias = Bias::none();
    if let Some(m) = mask {
        bias.mask = Some(mask_bias(OP, m, &dm)?);
    }
    if a.is_causal {
        bias.causal = Some(past_len);
    }
    if let Some(np) = nonpad {
        let n = np.to_i64_vec()?;
        if n.len() != dm.b {
            return Err(KernelError::invalid(
                OP,
                format!("nonpad_kv_seqlen has {} entries for batch {}", n.len(), dm.b),
            ));
        }
        bias.nonpad = Some(n.iter().map(|&x| x.clamp(0, dm.t as i64) as usize).collect());
    }
    let scale = a.scale.map(|s| s as f64).unwrap_or(1.0 / (dm.d as f64).sqrt());
    let softcap = (a.softcap > 0.0).then(|| R::of(a.softcap as f64));
    let qk_mode = (a.num_outputs >= 4).then_some(a.qk_mode);
    let (y, qk) = sdpa(
        &qv,
        &kv,
        &vv,
        dm,
        &Scoring {
            scale: R::of(scale),
            softcap,
            qk_mode,
        },
        &bias,
    );
    let y = if r == 3 {
        R::store(
            vec![dm.b, dm.s, dm.hq * dm.dv],
            swap_mid(&y, dm.b, dm.hq, dm.s, dm.dv),
            q.dtype(),
        )?
    } else {
        R::store(vec![dm.b, dm.hq, dm.s, dm.dv], y, q.dtype())?
    };
    let mut outs = vec![y];
    if a.num_outputs >= 2 {
        outs.push(R::store(vec![dm.b, dm.hkv, dm.t, dm.d], kv, k.dtype())?);
    }
    if a.num_outputs >= 3 {
        outs.push(R::store(vec![dm.b, dm.hkv, dm.t, dm.dv], vv, v.dtype())?);
    }
    if a.num_outputs >= 4 {
        outs.push(R::store(vec![dm.b, dm.hq, dm.s, dm.t], qk, q.dtype())?);
    }
    Ok(outs)
}

/// Run `FlexAttention` without modifier subgraphs (plain SDPA with GQA) in type `R`.
pub(crate) fn flex_attention<R: Real>(scale: Option<f32>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "FlexAttention";
    let q = crate::util::req(OP, inputs, 0)?;
    let k = crate::util::req(OP, inputs, 1)?;
    let v = crate::util::req(OP, inputs, 2)?;
    rank(OP, "Q", q, 4)?;
    rank(OP, "K", k, 4)?;
    rank(OP, "V", v, 4)?;
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    let dm = Dims {
        b: qs[0],
        hq: qs[1],
        hkv: ks[1],
        s: qs[2],
        t: ks[2],
        d: qs[3],
        dv: vs[3],
    };
    if ks[0] != dm.b || vs[0] != dm.b || vs[1] != dm.hkv || vs[2] != dm.t || ks[3] != dm.d {
        return Err(KernelError::invalid(
            OP,
            format!("inconsistent Q/K/V shapes {qs:?} {ks:?} {vs:?}"),
        ));
    }
    if dm.hkv == 0 || !dm.hq.is_multiple_of(dm.hkv) {
        return Err(KernelError::invalid(
            OP,
            format!("{} query heads are not a multiple of {} kv heads", dm.hq, dm.hkv),
        ));
    }
    let scale = scale.map(|s| s as f64).unwrap_or(1.0 / (dm.d as f64).sqrt());
    let sc = Scoring {
        scale: R::of(scale),
        softcap: None,
        qk_mode: None,
    };
    let (y, _) = sdpa(&R::load(q)?, &R::load(k)?, &R::load(v)?, dm, &sc, &Bias::none());
    Ok(vec![R::store(vec![dm.b, dm.hq, dm.s, dm.dv], y, q.dtype())?])
}
