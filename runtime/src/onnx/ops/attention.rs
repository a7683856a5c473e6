//! ONNX → `Op` mapping for the attention family.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::attention::{
    AttentionAttrs, ConvActivation, LinearAttentionAttrs, QkOutputMode, RotaryAttrs, UpdateRule,
};
use suanli_kernels::ops::AttentionOp;
use suanli_kernels::{DType, Op};

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    let domain = ctx.domain();
    let r = match (domain, ctx.op_type()) {
        ("ai.onnx", "Attention") => attention(ctx),
        ("ai.onnx", "RotaryEmbedding") => rotary(ctx),
        ("ai.onnx", "LinearAttention") => linear_attention(ctx),
        ("ai.onnx", "CausalConvWithState") => causal_conv(ctx),
        ("ai.onnx.preview", "FlexAttention") => flex_attention(ctx),
        _ => return None,
    };
    Some(r.map(Op::Attention))
}

/// A positive optional count attribute.
fn count(ctx: &NodeCtx, name: &str) -> Result<Option<usize>> {
    match ctx.get_i(name)? {
        None | Some(0) => Ok(None),
        Some(n) if n > 0 => Ok(Some(n as usize)),
        Some(n) => Err(ctx.invalid(format!("{name} must be positive, found {n}"))),
    }
}

/// Validate an optional `softmax_precision` attribute (we always accumulate in f32 or wider).
fn softmax_precision(ctx: &NodeCtx) -> Result<()> {
    if let Some(code) = ctx.get_i("softmax_precision")? {
        match DType::from_onnx_code(code as i32) {
            Some(d) if d.is_float() => {}
            _ => return Err(ctx.unsupported(format!("softmax_precision {code}"))),
        }
    }
    Ok(())
}

fn attention(ctx: &NodeCtx) -> Result<AttentionOp> {
    if ctx.opset < 23 {
        return Err(ctx.unsupported("Attention exists from opset 23"));
    }
    if ctx.opset < 24 && ctx.has_input(6) {
        return Err(ctx.invalid("nonpad_kv_seqlen needs opset 24"));
    }
    softmax_precision(ctx)?;
    let qk_mode = match ctx.i("qk_matmul_output_mode", 0)? {
        0 => QkOutputMode::MatMul,
        1 => QkOutputMode::Softcap,
        2 => QkOutputMode::Masked,
        3 => QkOutputMode::Softmax,
        m => return Err(ctx.unsupported(format!("qk_matmul_output_mode {m}"))),
    };
    Ok(AttentionOp::Attention(AttentionAttrs {
        is_causal: ctx.i("is_causal", 0)? != 0,
        scale: ctx.get_f("scale")?,
        softcap: ctx.f("softcap", 0.0)?,
        q_num_heads: count(ctx, "q_num_heads")?,
        kv_num_heads: count(ctx, "kv_num_heads")?,
        qk_mode,
        num_outputs: ctx.num_outputs().clamp(1, 4),
    }))
}

fn rotary(ctx: &NodeCtx) -> Result<AttentionOp> {
    if ctx.opset < 23 {
        return Err(ctx.unsupported("RotaryEmbedding exists from opset 23"));
    }
    let dim = ctx.i("rotary_embedding_dim", 0)?;
    if dim < 0 {
        return Err(ctx.invalid(format!("rotary_embedding_dim must be >= 0, found {dim}")));
    }
    Ok(AttentionOp::RotaryEmbedding(RotaryAttrs {
        interleaved: ctx.i("interleaved", 0)? != 0,
        rotary_embedding_dim: dim as usize,
        num_heads: count(ctx, "num_heads")?,
    }))
}

fn linear_attention(ctx: &NodeCtx) -> Result<AttentionOp> {
    let update_rule = match ctx.s("update_rule", "gated_delta")?.as_str() {
        "linear" => UpdateRule::Linear,
        "gated" => UpdateRule::Gated,
        "delta" => UpdateRule::Delta,
        "gated_delta" => UpdateRule::GatedDelta,
        other => return Err(ctx.unsupported(format!("update_rule {other:?}"))),
    };
    let heads = |name: &str| -> Result<usize> {
        count(ctx, name)?.ok_or_else(|| ctx.invalid(format!("missing required attribute {name:?}")))
    };
    let scale = ctx.f("scale", 0.0)?;
    Ok(AttentionOp::LinearAttention(LinearAttentionAttrs {
        update_rule,
        q_num_heads: heads("q_num_heads")?,
        kv_num_heads: heads("kv_num_heads")?,
        scale: (scale != 0.0).then_some(scale),
    }))
}

fn causal_conv(ctx: &NodeCtx) -> Result<AttentionOp> {
    let activation = match ctx.s("activation", "none")?.as_str() {
        "none" => ConvActivation::None,
        "silu" | "swish" => ConvActivation::Silu,
        other => return Err(ctx.unsupported(format!("activation {other:?}"))),
    };
    Ok(AttentionOp::CausalConvWithState { activation })
}

fn flex_attention(ctx: &NodeCtx) -> Result<AttentionOp> {
    for g in ["score_mod", "prob_mod"] {
        if ctx.attr(g).is_some() {
            return Err(ctx.unsupported(format!("FlexAttention with a {g} subgraph")));
        }
    }
    softmax_precision(ctx)?;
    Ok(AttentionOp::FlexAttention { scale: ctx.get_f("scale")? })
}
