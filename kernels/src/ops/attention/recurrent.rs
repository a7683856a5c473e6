//! Recurrent sequence mixers: `LinearAttention` and `CausalConvWithState` (opset 27).

use super::real::{dot, swap_mid, Real};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// The state update rule of `LinearAttention`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateRule {
    /// `S += k vᵀ`.
    Linear,
    /// `S = exp(g) S + k vᵀ`.
    Gated,
    /// `S += k (β (v − Sᵀk))ᵀ`.
    Delta,
    /// Decay, then the delta rule.
    GatedDelta,
}

/// Typed attributes of `LinearAttention`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearAttentionAttrs {
    /// The recurrence.
    pub update_rule: UpdateRule,
    /// Query heads.
    pub q_num_heads: usize,
    /// Key/value heads.
    pub kv_num_heads: usize,
    /// Output scale; `None` means `1/sqrt(d_k)`.
    pub scale: Option<f32>,
}

/// Fused activation of `CausalConvWithState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvActivation {
    /// Identity.
    None,
    /// `x * sigmoid(x)` (also spelled `swish`).
    Silu,
}

/// Round `x` through `dtype` (used where the reference rounds intermediates to the I/O type).
fn round_through(dtype: DType, x: f64) -> f64 {
    match dtype {
        DType::F16 => half::f16::from_f64(x).to_f64(),
        DType::BF16 => half::bf16::from_f64(x).to_f64(),
        DType::F32 => x as f32 as f64,
        _ => x,
    }
}

/// A rank-3 `[b, t, heads * per]` gate tensor read as `[b, heads, t, per]`, where `per` is
/// `full` or 1 (broadcast). Returns the values and `per`.
fn gate<R: Real>(op: &str, what: &str, g: &Tensor, b: usize, t: usize, heads: usize, full: usize) -> Result<(Vec<R>, usize, usize)> {
    let sh = g.shape();
    if sh.len() != 3 || sh[0] != b || sh[1] != t {
        return Err(KernelError::invalid(op, format!("{what} must be [{b}, {t}, _], found {sh:?}")));
    }
    let last = sh[2];
    let (gh, per) = if last == heads {
        (heads, 1)
    } else if last == heads * full && full > 1 {
        (heads, full)
    } else if last == 1 {
        (1, 1)
    } else {
        return Err(KernelError::invalid(op, format!("{what} last dim {last} must be {heads}, {} or 1", heads * full)));
    };
    Ok((swap_mid(&R::load(g)?, b, t, gh, per), gh, per))
}

/// Run `LinearAttention` in type `R`.
pub(crate) fn linear_attention<R: Real>(a: &LinearAttentionAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "LinearAttention";
    let q = crate::util::req(OP, inputs, 0)?;
    let k = crate::util::req(OP, inputs, 1)?;
    let v = crate::util::req(OP, inputs, 2)?;
    let past = crate::util::opt(inputs, 3);
    let decay = crate::util::opt(inputs, 4);
    let beta = crate::util::opt(inputs, 5);
    let (hq, hkv) = (a.q_num_heads, a.kv_num_heads);
    if hq == 0 || hkv == 0 || hq % hkv != 0 {
        return Err(KernelError::invalid(OP, format!("q_num_heads {hq} must be a positive multiple of kv_num_heads {hkv}")));
    }
    let gating = matches!(a.update_rule, UpdateRule::Gated | UpdateRule::GatedDelta);
    let delta = matches!(a.update_rule, UpdateRule::Delta | UpdateRule::GatedDelta);
    if gating != decay.is_some() || delta != beta.is_some() {
        return Err(KernelError::invalid(OP, format!("{:?} needs decay={gating} and beta={delta}", a.update_rule)));
    }
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    if qs.len() != 3 || ks.len() != 3 || vs.len() != 3 {
        return Err(KernelError::invalid(OP, "query, key and value must have rank 3"));
    }
    let (b, t) = (qs[0], qs[1]);
    if ks[..2] != [b, t] || vs[..2] != [b, t] || qs[2] % hq != 0 || vs[2] % hkv != 0 {
        return Err(KernelError::invalid(OP, format!("inconsistent shapes {qs:?} {ks:?} {vs:?}")));
    }
    let (dk, dv) = (qs[2] / hq, vs[2] / hkv);
    if ks[2] != hkv * dk {
        return Err(KernelError::invalid(OP, format!("key hidden size {} must be {hkv} * {dk}", ks[2])));
    }
    let group = hq / hkv;
    let qv = swap_mid(&R::load(q)?, b, t, hq, dk);
    let kv = swap_mid(&R::load(k)?, b, t, hkv, dk);
    let vv = swap_mid(&R::load(v)?, b, t, hkv, dv);
    let decay = decay.map(|g| gate::<R>(OP, "decay", g, b, t, hkv, dk)).transpose()?;
    if let Some((_, gh, _)) = &decay {
        if *gh != hkv {
            return Err(KernelError::invalid(OP, "decay must have kv_num_heads or kv_num_heads*d_k entries"));
        }
    }
    let beta = beta.map(|g| gate::<R>(OP, "beta", g, b, t, hkv, 1)).transpose()?;
    let state0 = match past {
        Some(p) => {
            if p.shape() != [b, hkv, dk, dv] {
                return Err(KernelError::invalid(OP, format!("past_state {:?} must be [{b}, {hkv}, {dk}, {dv}]", p.shape())));
            }
            R::load(p)?
        }
        None => vec![R::ZERO; b * hkv * dk * dv],
    };
    let scale = R::of(a.scale.map(|s| s as f64).unwrap_or(1.0 / (dk as f64).sqrt()));
    // Per (batch, kv head): the outputs of its query-head group `[group, t, dv]` and the final state.
    let per: Vec<(Vec<R>, Vec<R>)> = (0..b * hkv)
        .into_par_iter()
        .map(|bh| {
            let (bi, kh) = (bh / hkv, bh % hkv);
            let mut st = state0[bh * dk * dv..(bh + 1) * dk * dv].to_vec();
            let mut out = vec![R::ZERO; group * t * dv];
            let mut vt = vec![R::ZERO; dv];
            for ti in 0..t {
                let kt = &kv[(bh * t + ti) * dk..(bh * t + ti + 1) * dk];
                vt.copy_from_slice(&vv[(bh * t + ti) * dv..(bh * t + ti + 1) * dv]);
                if let Some((g, _, per)) = &decay {
                    let base = (bh * t + ti) * per;
                    for d in 0..dk {
                        let f = g[base + if *per == 1 { 0 } else { d }].exp();
                        st[d * dv..(d + 1) * dv].iter_mut().for_each(|x| *x = *x * f);
                    }
                }
                if let Some((bt, bhh, _)) = &beta {
                    let bval = bt[((if *bhh == 1 { bi } else { bh }) * t) + ti];
                    for (m, x) in vt.iter_mut().enumerate() {
                        let mut r = R::ZERO;
                        for (d, &kd) in kt.iter().enumerate() {
                            r += st[d * dv + m] * kd;
                        }
                        *x = bval * (*x - r);
                    }
                }
                for (d, &kd) in kt.iter().enumerate() {
                    for (s, &x) in st[d * dv..(d + 1) * dv].iter_mut().zip(&vt) {
                        *s += kd * x;
                    }
                }
                for g in 0..group {
                    let qh = bi * hq + kh * group + g;
                    let qt = &qv[(qh * t + ti) * dk..(qh * t + ti + 1) * dk];
                    let o = &mut out[(g * t + ti) * dv..(g * t + ti + 1) * dv];
                    for (d, &qd) in qt.iter().enumerate() {
                        for (oo, &s) in o.iter_mut().zip(&st[d * dv..(d + 1) * dv]) {
                            *oo += qd * s;
                        }
                    }
                    o.iter_mut().for_each(|x| *x = *x * scale);
                }
            }
            (out, st)
        })
        .collect();
    // Assemble [b, hq, t, dv] then repack to [b, t, hq*dv].
    let mut y = Vec::with_capacity(b * hq * t * dv);
    let mut state = Vec::with_capacity(b * hkv * dk * dv);
    for (o, s) in per {
        y.extend(o);
        state.extend(s);
    }
    let y = swap_mid(&y, b, hq, t, dv);
    let state_dtype = past.map(|p| p.dtype()).unwrap_or(q.dtype());
    Ok(vec![R::store(vec![b, t, hq * dv], y, q.dtype())?, R::store(vec![b, hkv, dk, dv], state, state_dtype)?])
}

/// Run `CausalConvWithState` (depthwise causal conv1d with carried state) in type `R`.
pub(crate) fn causal_conv<R: Real>(act: ConvActivation, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "CausalConvWithState";
    let x = crate::util::req(OP, inputs, 0)?;
    let w = crate::util::req(OP, inputs, 1)?;
    let bias = crate::util::opt(inputs, 2);
    let past = crate::util::opt(inputs, 3);
    let [b, c, l] = *x.shape() else {
        return Err(KernelError::invalid(OP, format!("input must be [batch, channels, length], found {:?}", x.shape())));
    };
    let [wc, 1, kw] = *w.shape() else {
        return Err(KernelError::invalid(OP, format!("weight must be [channels, 1, k], found {:?}", w.shape())));
    };
    if wc != c || kw == 0 {
        return Err(KernelError::invalid(OP, format!("weight {:?} does not match {c} channels", w.shape())));
    }
    let p = kw - 1;
    if let Some(bs) = bias {
        if bs.shape() != [c] {
            return Err(KernelError::invalid(OP, format!("bias must be [{c}], found {:?}", bs.shape())));
        }
    }
    if let Some(ps) = past {
        if ps.shape() != [b, c, p] {
            return Err(KernelError::invalid(OP, format!("past_state must be [{b}, {c}, {p}], found {:?}", ps.shape())));
        }
    }
    let xv = R::load(x)?;
    let wv = R::load(w)?;
    let bv = bias.map(R::load).transpose()?;
    let pv = past.map(R::load).transpose()?;
    let dt = x.dtype();
    let n = l + p;
    let mut y = Vec::with_capacity(b * c * l);
    let mut state = Vec::with_capacity(b * c * p);
    let mut padded = vec![R::ZERO; n];
    for bc in 0..b * c {
        let ch = bc % c;
        match &pv {
            Some(pv) => padded[..p].copy_from_slice(&pv[bc * p..(bc + 1) * p]),
            None => padded[..p].iter_mut().for_each(|x| *x = R::ZERO),
        }
        padded[p..].copy_from_slice(&xv[bc * l..(bc + 1) * l]);
        let wk = &wv[ch * kw..(ch + 1) * kw];
        let b0 = bv.as_ref().map(|bv| bv[ch]).unwrap_or(R::ZERO);
        for i in 0..l {
            let conv = dot(wk, &padded[i..i + kw]) + b0;
            let out = match act {
                ConvActivation::None => conv,
                ConvActivation::Silu => {
                    let z = R::of(round_through(dt, conv.f64()));
                    z / (R::ONE + (-z).exp())
                }
            };
            y.push(out);
        }
        state.extend_from_slice(&padded[n - p..]);
    }
    Ok(vec![R::store(vec![b, c, l], y, dt)?, R::store(vec![b, c, p], state, dt)?])
}
