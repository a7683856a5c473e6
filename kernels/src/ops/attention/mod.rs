//! AttentionOp family: scaled dot-product attention (`Attention`, `FlexAttention`), rotary
//! position embeddings, and the recurrent mixers `LinearAttention` / `CausalConvWithState`.

mod fused;
mod real;
mod recurrent;
mod rotary;
mod sdpa;
#[cfg(test)]
mod tests;

pub use fused::FusedAttentionAttrs;
pub use recurrent::{ConvActivation, LinearAttentionAttrs, UpdateRule};
pub use rotary::RotaryAttrs;
pub use sdpa::{AttentionAttrs, QkOutputMode};

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::req_ty;
use real::dims;

/// The attention ops.
#[derive(Clone, Debug, PartialEq)]
pub enum AttentionOp {
    /// ONNX `Attention` (opset 23/24).
    Attention(AttentionAttrs),
    /// ONNX `RotaryEmbedding` (opset 23).
    RotaryEmbedding(RotaryAttrs),
    /// ONNX `LinearAttention` (opset 27).
    LinearAttention(LinearAttentionAttrs),
    /// ONNX `CausalConvWithState` (opset 27).
    CausalConvWithState {
        /// Fused activation.
        activation: ConvActivation,
    },
    /// `ai.onnx.preview::FlexAttention` without `score_mod` / `prob_mod` subgraphs.
    FlexAttention {
        /// Scale of Q·Kᵀ; `None` means `1/sqrt(head_size)`.
        scale: Option<f32>,
    },
    /// `softmax(scale·Q·Kᵀ + mask)·V` over the last two dims, made by the graph passes from
    /// exported MatMul / Div / Add / Softmax / MatMul chains: inputs Q `[…, S, d]`, K `[…, T, d]`
    /// (or Kᵀ `[…, d, T]`), V `[…, T, dv]` with equal leading dims, and an optional f32 additive
    /// mask broadcastable to `[…, S, T]`; output `[…, S, dv]`. f32 only.
    Fused(FusedAttentionAttrs),
}

/// True when any present input is f64 (then kernels accumulate in f64, else in f32).
fn wide(inputs: &[Option<&Tensor>]) -> bool {
    inputs.iter().flatten().any(|t| t.dtype() == DType::F64)
}

/// Dims of an input type when its rank is `r`, else `None`.
fn dims_of(t: &TensorType, r: usize) -> Option<&[Dim]> {
    t.shape.as_deref().filter(|s| s.len() == r)
}

/// A type of `dtype` with the given dims, or unknown shape when `dims` is `None`.
fn ty(dtype: DType, dims: Option<Vec<Dim>>) -> TensorType {
    TensorType { dtype, shape: dims }
}

impl AttentionOp {
    fn infer_attention(a: &AttentionAttrs, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        const OP: &str = "Attention";
        let q = req_ty(OP, inputs, 0)?;
        let k = req_ty(OP, inputs, 1)?;
        let v = req_ty(OP, inputs, 2)?;
        let past = inputs.get(4).and_then(|i| i.ty).and_then(|t| dims_of(t, 4));
        let r = q.rank();
        // (b, hq, s, hkv, t_new, d, dv)
        let parts = match r {
            Some(4) => match (dims_of(q, 4), dims_of(k, 4), dims_of(v, 4)) {
                (Some(q), Some(k), Some(v)) => Some((
                    q[0].clone(),
                    q[1].clone(),
                    q[2].clone(),
                    k[1].clone(),
                    k[2].clone(),
                    k[3].clone(),
                    v[3].clone(),
                )),
                _ => None,
            },
            Some(3) => match (
                dims_of(q, 3),
                dims_of(k, 3),
                dims_of(v, 3),
                a.q_num_heads,
                a.kv_num_heads,
            ) {
                (Some(q), Some(k), Some(v), Some(hq), Some(hkv)) => Some((
                    q[0].clone(),
                    Dim::Known(hq),
                    q[1].clone(),
                    Dim::Known(hkv),
                    k[1].clone(),
                    dims::div(&k[2], hkv),
                    dims::div(&v[2], hkv),
                )),
                _ => None,
            },
            Some(_) => return Err(KernelError::invalid(OP, format!("Q must have rank 3 or 4, found {q}"))),
            None => None,
        };
        let mut out = Vec::new();
        match parts {
            Some((b, hq, s, hkv, t, d, dv)) => {
                let total = match past {
                    Some(p) => dims::add(&p[2], &t),
                    None => t,
                };
                let y = if r == Some(3) {
                    vec![b.clone(), s.clone(), dims::mul(&hq, &dv)]
                } else {
                    vec![b.clone(), hq.clone(), s.clone(), dv.clone()]
                };
                out.push(ty(q.dtype, Some(y)));
                out.push(ty(k.dtype, Some(vec![b.clone(), hkv.clone(), total.clone(), d])));
                out.push(ty(v.dtype, Some(vec![b.clone(), hkv, total.clone(), dv])));
                out.push(ty(q.dtype, Some(vec![b, hq, s, total])));
            }
            None => {
                out.push(ty(q.dtype, None));
                out.push(TensorType::with_rank(k.dtype, 4));
                out.push(TensorType::with_rank(v.dtype, 4));
                out.push(TensorType::with_rank(q.dtype, 4));
            }
        }
        out.truncate(a.num_outputs.clamp(1, 4));
        Ok(out)
    }

    fn infer_linear(a: &LinearAttentionAttrs, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        const OP: &str = "LinearAttention";
        let q = req_ty(OP, inputs, 0)?;
        let v = req_ty(OP, inputs, 2)?;
        let state_dtype = inputs.get(3).and_then(|i| i.ty).map(|t| t.dtype).unwrap_or(q.dtype);
        let (hq, hkv) = (a.q_num_heads, a.kv_num_heads);
        match (dims_of(q, 3), dims_of(v, 3)) {
            (Some(qd), Some(vd)) => {
                let dv = dims::div(&vd[2], hkv);
                Ok(vec![
                    ty(
                        q.dtype,
                        Some(vec![qd[0].clone(), qd[1].clone(), dims::mul(&Dim::Known(hq), &dv)]),
                    ),
                    ty(
                        state_dtype,
                        Some(vec![qd[0].clone(), Dim::Known(hkv), dims::div(&qd[2], hq), dv]),
                    ),
                ])
            }
            _ => Ok(vec![
                TensorType::with_rank(q.dtype, 3),
                TensorType::with_rank(state_dtype, 4),
            ]),
        }
    }

    fn infer_causal_conv(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        const OP: &str = "CausalConvWithState";
        let x = req_ty(OP, inputs, 0)?;
        let w = req_ty(OP, inputs, 1)?;
        let state = match (dims_of(x, 3), dims_of(w, 3)) {
            (Some(xd), Some(wd)) => {
                let p = match wd[2].known() {
                    Some(k) if k > 0 => Dim::Known(k - 1),
                    _ => Dim::Unknown,
                };
                ty(x.dtype, Some(vec![xd[0].clone(), xd[1].clone(), p]))
            }
            _ => TensorType::with_rank(x.dtype, 3),
        };
        Ok(vec![x.clone(), state])
    }

    fn infer_fused(a: &FusedAttentionAttrs, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        const OP: &str = "FusedAttention";
        let q = req_ty(OP, inputs, 0)?;
        let k = req_ty(OP, inputs, 1)?;
        let v = req_ty(OP, inputs, 2)?;
        if q.dtype != DType::F32 || k.dtype != DType::F32 || v.dtype != DType::F32 {
            return Err(KernelError::invalid(OP, "Q, K and V must be f32"));
        }
        let (Some(qd), Some(kd), Some(vd)) = (q.shape.as_deref(), k.shape.as_deref(), v.shape.as_deref()) else {
            return Ok(vec![ty(q.dtype, None)]);
        };
        // Check what is known statically.
        if let (Some(qs), Some(ks), Some(vs)) = (
            qd.iter().map(Dim::known).collect::<Option<Vec<_>>>(),
            kd.iter().map(Dim::known).collect::<Option<Vec<_>>>(),
            vd.iter().map(Dim::known).collect::<Option<Vec<_>>>(),
        ) {
            fused::sizes(&qs, &ks, &vs, a.k_transposed)?;
        }
        let r = qd.len();
        if r < 2 || vd.len() != r {
            return Err(KernelError::invalid(
                OP,
                format!("Q and V must have one rank of at least 2, found {q} and {v}"),
            ));
        }
        let mut out = qd[..r - 1].to_vec();
        out.push(vd[r - 1].clone());
        Ok(vec![ty(q.dtype, Some(out))])
    }

    fn infer_flex(inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        const OP: &str = "FlexAttention";
        let q = req_ty(OP, inputs, 0)?;
        let v = req_ty(OP, inputs, 2)?;
        Ok(vec![match (dims_of(q, 4), dims_of(v, 4)) {
            (Some(qd), Some(vd)) => ty(
                q.dtype,
                Some(vec![qd[0].clone(), qd[1].clone(), qd[2].clone(), vd[3].clone()]),
            ),
            _ => TensorType::with_rank(q.dtype, 4),
        }])
    }
}

/// Fail unless the first input is a float tensor.
fn float_input(op: &str, inputs: &[Option<&Tensor>]) -> Result<()> {
    let x = crate::util::req(op, inputs, 0)?;
    if !x.dtype().is_float() {
        return Err(KernelError::invalid(
            op,
            format!("expected a float input, found {}", x.dtype()),
        ));
    }
    Ok(())
}

impl OpImpl for AttentionOp {
    fn name(&self) -> &'static str {
        match self {
            AttentionOp::Attention(_) => "Attention",
            AttentionOp::RotaryEmbedding(_) => "RotaryEmbedding",
            AttentionOp::LinearAttention(_) => "LinearAttention",
            AttentionOp::CausalConvWithState { .. } => "CausalConvWithState",
            AttentionOp::FlexAttention { .. } => "FlexAttention",
            AttentionOp::Fused(_) => "FusedAttention",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        match self {
            AttentionOp::Attention(a) => Self::infer_attention(a, inputs),
            AttentionOp::RotaryEmbedding(_) => Ok(vec![req_ty(self.name(), inputs, 0)?.clone()]),
            AttentionOp::LinearAttention(a) => Self::infer_linear(a, inputs),
            AttentionOp::CausalConvWithState { .. } => Self::infer_causal_conv(inputs),
            AttentionOp::FlexAttention { .. } => Self::infer_flex(inputs),
            AttentionOp::Fused(a) => Self::infer_fused(a, inputs),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        float_input(self.name(), inputs)?;
        let w = wide(inputs);
        match self {
            AttentionOp::Attention(a) if w => sdpa::attention::<f64>(a, inputs),
            AttentionOp::Attention(a) => sdpa::attention::<f32>(a, inputs),
            AttentionOp::RotaryEmbedding(a) if w => rotary::rotary::<f64>(a, inputs),
            AttentionOp::RotaryEmbedding(a) => rotary::rotary::<f32>(a, inputs),
            AttentionOp::LinearAttention(a) if w => recurrent::linear_attention::<f64>(a, inputs),
            AttentionOp::LinearAttention(a) => recurrent::linear_attention::<f32>(a, inputs),
            AttentionOp::CausalConvWithState { activation } if w => recurrent::causal_conv::<f64>(*activation, inputs),
            AttentionOp::CausalConvWithState { activation } => recurrent::causal_conv::<f32>(*activation, inputs),
            AttentionOp::FlexAttention { scale } if w => sdpa::flex_attention::<f64>(*scale, inputs),
            AttentionOp::FlexAttention { scale } => sdpa::flex_attention::<f32>(*scale, inputs),
            AttentionOp::Fused(a) => fused::fused_attention(a, inputs),
        }
    }

    fn flops(&self, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        let n = |s: Option<&[usize]>| s.map(|s| s.iter().product::<usize>() as u64).unwrap_or(0);
        match self {
            // Two matmuls: ~2 * (|Q| * T + |P| * Dv) ≈ 4 * |Q| * T for similar head sizes.
            AttentionOp::Attention(_) | AttentionOp::FlexAttention { .. } => {
                let q = n(inputs.first().copied().flatten());
                let t = inputs
                    .get(1)
                    .copied()
                    .flatten()
                    .map(|k| k[k.len().saturating_sub(2)])
                    .unwrap_or(1) as u64;
                4 * q * t
            }
            // (S × d)·(d × T) and (S × T)·(T × dv) per block.
            AttentionOp::Fused(_) => {
                let t = inputs
                    .get(2)
                    .copied()
                    .flatten()
                    .map(|v| v[v.len().saturating_sub(2)])
                    .unwrap_or(1) as u64;
                let q = n(inputs.first().copied().flatten());
                let o = outputs.first().map(|s| n(Some(s))).unwrap_or(0);
                2 * t * (q + o)
            }
            _ => outputs.iter().map(|s| s.iter().product::<usize>() as u64).sum::<u64>() * 4,
        }
    }
}
