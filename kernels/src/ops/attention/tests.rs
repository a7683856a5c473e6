//! Unit tests for the attention family (values worked out by hand).

use super::*;

fn t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

fn attn(is_causal: bool, num_outputs: usize, qk_mode: QkOutputMode) -> AttentionOp {
    AttentionOp::Attention(AttentionAttrs {
        is_causal,
        scale: None,
        softcap: 0.0,
        q_num_heads: None,
        kv_num_heads: None,
        qk_mode,
        num_outputs,
    })
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn equal_scores_average_values_and_causal_masks() {
    // Two queries, two keys with identical scores: softmax weights are 1/2 each.
    let q = t(&[1, 1, 2, 2], &[1., 0., 1., 0.]);
    let k = t(&[1, 1, 2, 2], &[0., 1., 0., 1.]);
    let v = t(&[1, 1, 2, 1], &[2., 4.]);
    let y = attn(false, 1, QkOutputMode::MatMul).run(&[Some(&q), Some(&k), Some(&v)]).unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[3., 3.]);
    // Causal: query 0 only sees key 0; the qk output in softmax mode shows the weights.
    let y = attn(true, 4, QkOutputMode::Softmax).run(&[Some(&q), Some(&k), Some(&v)]).unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[2., 3.]);
    close(y[3].as_slice::<f32>().unwrap(), &[1., 0., 0.5, 0.5]);
    assert_eq!(y[1].shape(), &[1, 1, 2, 2]);
}

#[test]
fn bool_mask_and_gqa_3d() {
    // 3-D input, 2 query heads sharing 1 kv head; the mask hides key 1.
    let op = AttentionOp::Attention(AttentionAttrs {
        is_causal: false,
        scale: Some(1.0),
        softcap: 0.0,
        q_num_heads: Some(2),
        kv_num_heads: Some(1),
        qk_mode: QkOutputMode::MatMul,
        num_outputs: 1,
    });
    let q = t(&[1, 1, 2], &[1., 1.]);
    let k = t(&[1, 2, 1], &[1., 1.]);
    let v = t(&[1, 2, 1], &[5., 7.]);
    let m = Tensor::from_vec(vec![1, 2], vec![true, false]).unwrap();
    let y = op.run(&[Some(&q), Some(&k), Some(&v), Some(&m)]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 2]);
    close(y[0].as_slice::<f32>().unwrap(), &[5., 5.]);
}

#[test]
fn rotary_rotates_by_quarter_turn() {
    let op = AttentionOp::RotaryEmbedding(RotaryAttrs { interleaved: false, rotary_embedding_dim: 0, num_heads: None });
    let x = t(&[1, 1, 1, 2], &[1., 0.]);
    let cos = t(&[1, 1, 1], &[0.]);
    let sin = t(&[1, 1, 1], &[1.]);
    let y = op.run(&[Some(&x), Some(&cos), Some(&sin)]).unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[0., 1.]);
    // A position id outside the cache is an error, not a panic.
    let cos2 = t(&[1, 1], &[0.]);
    let pos = Tensor::from_vec(vec![1, 1], vec![3i64]).unwrap();
    assert!(op.run(&[Some(&x), Some(&cos2), Some(&cos2), Some(&pos)]).is_err());
}

#[test]
fn causal_conv_and_linear_attention() {
    let op = AttentionOp::CausalConvWithState { activation: ConvActivation::None };
    let x = t(&[1, 1, 3], &[1., 2., 3.]);
    let w = t(&[1, 1, 2], &[1., 1.]);
    let y = op.run(&[Some(&x), Some(&w)]).unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[1., 3., 5.]);
    close(y[1].as_slice::<f32>().unwrap(), &[3.]);

    let la = AttentionOp::LinearAttention(LinearAttentionAttrs {
        update_rule: UpdateRule::Linear,
        q_num_heads: 1,
        kv_num_heads: 1,
        scale: Some(1.0),
    });
    let one = t(&[1, 2, 1], &[1., 1.]);
    let v = t(&[1, 2, 1], &[1., 2.]);
    let y = la.run(&[Some(&one), Some(&one), Some(&v)]).unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[1., 3.]);
    close(y[1].as_slice::<f32>().unwrap(), &[3.]);
}

#[test]
fn mismatched_shapes_are_errors() {
    let q = t(&[1, 1, 2, 2], &[0.; 4]);
    let k = t(&[1, 1, 2, 3], &[0.; 6]);
    assert!(attn(false, 1, QkOutputMode::MatMul).run(&[Some(&q), Some(&k), Some(&k)]).is_err());
    // 3-D inputs without head counts.
    let q3 = t(&[1, 2, 2], &[0.; 4]);
    assert!(attn(false, 1, QkOutputMode::MatMul).run(&[Some(&q3), Some(&q3), Some(&q3)]).is_err());
}
