//! ONNX → `Op` mapping for the recurrent family (RNN, GRU, LSTM).

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::rnn::{default_activations, Activation, Direction, RnnConfig, RnnOp};
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" || !matches!(ctx.op_type(), "RNN" | "GRU" | "LSTM") {
        return None;
    }
    Some(import_rnn(ctx).map(Op::Rnn))
}

fn import_rnn(ctx: &NodeCtx) -> Result<RnnOp> {
    let op_type = ctx.op_type();
    if ctx.opset < 7 {
        return Err(ctx.unsupported("recurrent ops before opset 7 (output_sequence attribute)"));
    }
    let direction = match ctx.s("direction", "forward")?.as_str() {
        "forward" => Direction::Forward,
        "reverse" => Direction::Reverse,
        "bidirectional" => Direction::Bidirectional,
        other => return Err(ctx.invalid(format!("unknown direction {other:?}"))),
    };
    let hidden = ctx.get_i("hidden_size")?.ok_or_else(|| ctx.invalid("missing hidden_size"))?;
    let hidden_size = usize::try_from(hidden).ok().filter(|&h| h > 0).ok_or_else(|| ctx.invalid(format!("bad hidden_size {hidden}")))?;
    let layout = ctx.i("layout", 0)?;
    if layout != 0 && layout != 1 {
        return Err(ctx.invalid(format!("bad layout {layout}")));
    }
    let per_dir = default_activations(op_type);
    let activations = match ctx.get_strings("activations")? {
        None => per_dir.iter().cycle().take(per_dir.len() * direction.count()).copied().collect(),
        Some(names) => {
            if names.len() != per_dir.len() * direction.count() {
                return Err(ctx.invalid(format!("expected {} activations, found {}", per_dir.len() * direction.count(), names.len())));
            }
            let mut alphas = ctx.get_floats("activation_alpha")?.unwrap_or_default().into_iter();
            let mut betas = ctx.get_floats("activation_beta")?.unwrap_or_default().into_iter();
            names.iter().map(|n| activation(ctx, n, &mut alphas, &mut betas)).collect::<Result<Vec<_>>>()?
        }
    };
    let clip = ctx.get_f("clip")?;
    if clip.is_some_and(|c| c.is_nan() || c < 0.0) {
        return Err(ctx.invalid("clip must be non-negative"));
    }
    let cfg = RnnConfig { direction, hidden_size, activations, clip, batch_first: layout == 1 };
    Ok(match op_type {
        "RNN" => RnnOp::Rnn(cfg),
        "GRU" => RnnOp::Gru { cfg, linear_before_reset: ctx.i("linear_before_reset", 0)? != 0 },
        _ => RnnOp::Lstm { cfg, input_forget: ctx.i("input_forget", 0)? != 0 },
    })
}

/// Parse one activation name, consuming alpha/beta values in order for functions that take them.
fn activation(
    ctx: &NodeCtx,
    name: &str,
    alphas: &mut impl Iterator<Item = f32>,
    betas: &mut impl Iterator<Item = f32>,
) -> Result<Activation> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "relu" => Activation::Relu,
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "softsign" => Activation::Softsign,
        "softplus" => Activation::Softplus,
        "affine" => Activation::Affine { alpha: alphas.next().unwrap_or(1.0), beta: betas.next().unwrap_or(0.0) },
        "leakyrelu" => Activation::LeakyRelu { alpha: alphas.next().unwrap_or(0.01) },
        "thresholdedrelu" => Activation::ThresholdedRelu { alpha: alphas.next().unwrap_or(1.0) },
        "scaledtanh" => Activation::ScaledTanh { alpha: alphas.next().unwrap_or(1.0), beta: betas.next().unwrap_or(1.0) },
        "hardsigmoid" => Activation::HardSigmoid { alpha: alphas.next().unwrap_or(0.2), beta: betas.next().unwrap_or(0.5) },
        "elu" => Activation::Elu { alpha: alphas.next().unwrap_or(1.0) },
        _ => return Err(ctx.unsupported(format!("activation {name:?}"))),
    })
}
