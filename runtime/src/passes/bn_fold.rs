//! BatchNormalization folding: an inference-mode BatchNormalization whose input is a Conv with
//! constant weights (and nothing else reads the Conv) becomes part of that Conv:
//! `W'[m] = W[m]·s[m]`, `B'[m] = (B[m] − mean[m])·s[m] + beta[m]` with
//! `s = scale / sqrt(var + epsilon)`, computed in f64 and rounded to the weights' dtype.

use super::{add_constant, batch_norm_affine, const_input, inference_batch_norm, kernel_op, producers, use_counts};
use crate::error::{Error, Result};
use crate::graph::Graph;
use suanli_kernels::ops::conv::ConvOp;
use suanli_kernels::{DType, Op, Tensor};

/// Fold every foldable BatchNormalization into its Conv. Returns how many were folded.
pub fn fold_batch_norms(g: &mut Graph) -> Result<usize> {
    let uses = use_counts(g);
    let prod = producers(g);
    let mut remove = vec![false; g.nodes.len()];
    let mut folded = 0;
    for bi in 0..g.nodes.len() {
        let Some(eps) = inference_batch_norm(&g.nodes[bi], &uses) else {
            continue;
        };
        let bn = &g.nodes[bi];
        let Some(y) = bn.inputs[0] else { continue };
        let Some(ci) = prod[y.0] else { continue };
        if uses[y.0] != 1 || remove[ci] || !matches!(kernel_op(g, ci), Some(Op::Conv(ConvOp::Conv { .. }))) {
            continue;
        }
        let conv = &g.nodes[ci];
        let (Some(wid), bias) = (
            conv.inputs.get(1).copied().flatten(),
            conv.inputs.get(2).copied().flatten(),
        ) else {
            continue;
        };
        let Some(w) = const_input(g, Some(wid)) else { continue };
        let in_place = uses[wid.0] == 1 && w.dtype() == DType::F32;
        let b = match bias {
            Some(_) => match const_input(g, bias) {
                Some(b) => Some(b.clone()),
                None => continue,
            },
            None => None,
        };
        let stats: Option<Vec<_>> = (1..5).map(|k| const_input(g, bn.inputs[k]).cloned()).collect();
        let Some(stats) = stats else { continue };
        let name = conv.name.clone();
        let err = |e| Error::kernel(&name, "Conv", e);
        let Some((scale, b2)) = affine(w, b.as_deref(), &stats, eps).map_err(err)? else {
            continue;
        };
        // A weight only this conv reads is scaled where it lies (no second copy of the model's
        // weights, and no page faults on one); a shared one gets a scaled copy.
        let wv = match g.constants.get_mut(&wid) {
            Some(w) if in_place => {
                scale_rows(std::sync::Arc::make_mut(w), &scale).map_err(err)?;
                wid
            }
            Some(w) => {
                let w2 = scaled(w, &scale).map_err(err)?;
                add_constant(g, format!("{name}.W_bn"), w2)
            }
            None => continue,
        };
        let bv = add_constant(g, format!("{name}.B_bn"), b2);
        let out = g.nodes[bi].outputs[0];
        let conv = &mut g.nodes[ci];
        conv.inputs.truncate(1);
        conv.inputs.extend([Some(wv), Some(bv)]);
        conv.formal_inputs = 3;
        conv.outputs = vec![out];
        remove[bi] = true;
        folded += 1;
    }
    super::splice(g, &remove, Default::default());
    Ok(folded)
}

/// The folded weights and bias, or `None` when the shapes do not line up (left unfolded).
/// The per-output-channel scale for `w` and the folded bias, or `None` where the shapes or
/// types do not allow folding.
fn affine(
    w: &Tensor,
    b: Option<&Tensor>,
    stats: &[std::sync::Arc<Tensor>],
    eps: f64,
) -> suanli_kernels::Result<Option<(Vec<f64>, Tensor)>> {
    let m = w.shape().first().copied().unwrap_or(0);
    let dt = w.dtype();
    if !dt.is_float()
        || m == 0
        || stats.iter().any(|t| t.len() != m || t.dtype() != dt)
        || b.is_some_and(|b| b.len() != m)
    {
        return Ok(None);
    }
    let stats = stats
        .iter()
        .map(|t| t.to_f64_vec())
        .collect::<suanli_kernels::Result<Vec<_>>>()?;
    let (s, t) = batch_norm_affine(&stats, eps);
    let b0 = match b {
        Some(b) => b.to_f64_vec()?,
        None => vec![0.0; m],
    };
    let bv: Vec<f64> = (0..m).map(|c| b0[c] * s[c] + t[c]).collect();
    let b2 = Tensor::from_vec(vec![m], bv)?.cast(dt)?;
    Ok(Some((s, b2)))
}

/// Multiply output channel `c` of an f32 weight by `s[c]`, in place.
fn scale_rows(w: &mut Tensor, s: &[f64]) -> suanli_kernels::Result<()> {
    let per = (w.len() / s.len()).max(1);
    for (row, &sc) in w.as_mut_slice::<f32>()?.chunks_exact_mut(per).zip(s) {
        for x in row {
            *x = (*x as f64 * sc) as f32;
        }
    }
    Ok(())
}

/// `w` with output channel `c` multiplied by `s[c]`, in `w`'s type.
fn scaled(w: &Tensor, s: &[f64]) -> suanli_kernels::Result<Tensor> {
    if w.dtype() == DType::F32 {
        let mut w2 = w.clone();
        scale_rows(&mut w2, s)?;
        return Ok(w2);
    }
    let per = (w.len() / s.len()).max(1);
    let wv: Vec<f64> = w
        .to_f64_vec()?
        .into_iter()
        .enumerate()
        .map(|(i, x)| x * s[i / per])
        .collect();
    Tensor::from_vec(w.shape().to_vec(), wv)?.cast(w.dtype())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::builder::GraphBuilder;
    use crate::passes::testing::{assert_same_outputs, batch_norm, conv_op, op_names, rnd};
    use suanli_kernels::{DType, Dim};

    /// x → Conv(3×3, pad 1, bias) → BatchNorm → y, and a second BN reading a graph input.
    fn graph() -> Graph {
        let mut b = GraphBuilder::new();
        let x = b.input(
            "x",
            DType::F32,
            vec![Dim::Known(1), Dim::Known(3), Dim::Known(8), Dim::Known(8)],
        );
        let w = b.constant("w", rnd(&[4, 3, 3, 3], 1, -0.5));
        let bias = b.constant("b", rnd(&[4], 2, -0.5));
        let c = b.op(conv_op(1), &[x, w, bias]);
        let y = batch_norm(&mut b, c, 4, 10);
        let z = batch_norm(&mut b, x, 3, 20);
        b.output(y, "y");
        b.output(z, "z");
        b.build().unwrap()
    }

    #[test]
    fn conv_batchnorm_becomes_one_conv_with_the_same_outputs() {
        let before = graph();
        assert_eq!(op_names(&before), ["Conv", "BatchNormalization", "BatchNormalization"]);
        let mut after = before.clone();
        assert_eq!(fold_batch_norms(&mut after).unwrap(), 1);
        // Only the BN after the Conv folds; the one reading a graph input stays.
        assert_eq!(op_names(&after), ["Conv", "BatchNormalization"]);
        assert_same_outputs(before, after, &[("x", rnd(&[1, 3, 8, 8], 99, -1.0))]);
    }

    #[test]
    fn a_weight_two_convs_share_is_copied_not_scaled_in_place() {
        // Two convs read one weight, each followed by its own BatchNorm: both fold, each into
        // its own scaled copy, and the shared weight keeps its values.
        let mut b = GraphBuilder::new();
        let x = b.input(
            "x",
            DType::F32,
            vec![Dim::Known(1), Dim::Known(3), Dim::Known(6), Dim::Known(6)],
        );
        let w = b.constant("w", rnd(&[3, 3, 3, 3], 1, -0.5));
        let mut outs = Vec::new();
        for seed in [10, 20] {
            let c = b.op(conv_op(1), &[x, w]);
            outs.push(batch_norm(&mut b, c, 3, seed));
        }
        b.output(outs[0], "y0");
        b.output(outs[1], "y1");
        let before = b.build().unwrap();
        let mut after = before.clone();
        assert_eq!(fold_batch_norms(&mut after).unwrap(), 2);
        assert_eq!(op_names(&after), ["Conv", "Conv"]);
        let w_before = &before.constants[&w];
        let w_after = &after.constants[&w];
        assert_eq!(w_before.as_slice::<f32>().unwrap(), w_after.as_slice::<f32>().unwrap());
        assert_same_outputs(before, after, &[("x", rnd(&[1, 3, 6, 6], 99, -1.0))]);
    }

    #[test]
    fn a_conv_read_twice_is_not_folded() {
        let mut g = graph();
        let conv_out = g.nodes[0].outputs[0].unwrap();
        g.outputs.push(conv_out);
        assert_eq!(fold_batch_norms(&mut g).unwrap(), 0);
        assert_eq!(op_names(&g), ["Conv", "BatchNormalization", "BatchNormalization"]);
    }
}
