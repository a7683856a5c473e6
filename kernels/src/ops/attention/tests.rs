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
    let y = attn(false, 1, QkOutputMode::MatMul)
        .run(&[Some(&q), Some(&k), Some(&v)])
        .unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[3., 3.]);
    // Causal: query 0 only sees key 0; the qk output in softmax mode shows the weights.
    let y = attn(true, 4, QkOutputMode::Softmax)
        .run(&[Some(&q), Some(&k), Some(&v)])
        .unwrap();
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
    let op = AttentionOp::RotaryEmbedding(RotaryAttrs {
        interleaved: false,
        rotary_embedding_dim: 0,
        num_heads: None,
    });
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
    let op = AttentionOp::CausalConvWithState {
        activation: ConvActivation::None,
    };
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
    assert!(attn(false, 1, QkOutputMode::MatMul)
        .run(&[Some(&q), Some(&k), Some(&k)])
        .is_err());
    // 3-D inputs without head counts.
    let q3 = t(&[1, 2, 2], &[0.; 4]);
    assert!(attn(false, 1, QkOutputMode::MatMul)
        .run(&[Some(&q3), Some(&q3), Some(&q3)])
        .is_err());
}

/// A deterministic pseudo-random f32 vector in `[-1, 1)`.
fn rnd(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect()
}

/// `softmax(scale·q·kᵀ + mask)·v` in f64 on `[blocks, s, d]` buffers, the mask `[s, t]` shared.
fn naive(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: &[f32],
    dims: (usize, usize, usize, usize, usize),
    scale: f64,
) -> Vec<f32> {
    let (blocks, s, t, d, dv) = dims;
    let mut out = vec![0f32; blocks * s * dv];
    for b in 0..blocks {
        for i in 0..s {
            let logits: Vec<f64> = (0..t)
                .map(|j| {
                    let dot: f64 = (0..d)
                        .map(|x| q[(b * s + i) * d + x] as f64 * k[(b * t + j) * d + x] as f64)
                        .sum();
                    dot * scale + mask[i * t + j] as f64
                })
                .collect();
            let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
            let sum: f64 = e.iter().sum();
            for c in 0..dv {
                let acc: f64 = (0..t).map(|j| e[j] / sum * v[(b * t + j) * dv + c] as f64).sum();
                out[(b * s + i) * dv + c] = acc as f32;
            }
        }
    }
    out
}

#[test]
fn fused_attention_matches_a_naive_softmax_with_k_or_k_transposed_and_masks() {
    // 2 × 3 heads, 37 queries, 45 keys, d = 19, dv = 23: odd sizes hit the GEMM edges.
    let (b, h, s, t, d, dv) = (2, 3, 37, 45, 19, 23);
    let (q, k, v) = (rnd(b * h * s * d, 1), rnd(b * h * t * d, 2), rnd(b * h * t * dv, 3));
    let kt: Vec<f32> = (0..b * h)
        .flat_map(|bh| {
            let k = &k;
            (0..d).flat_map(move |x| (0..t).map(move |j| k[(bh * t + j) * d + x]))
        })
        .collect();
    let row_mask: Vec<f32> = (0..t).map(|j| if j % 7 == 3 { -10000.0 } else { 0.0 }).collect();
    let full_mask = rnd(s * t, 4);
    let scale = 0.3f32;
    let op = |k_transposed| AttentionOp::Fused(FusedAttentionAttrs { scale, k_transposed });
    let (tq, tk, tkt, tv) = (
        t4(&[b, h, s, d], &q),
        t4(&[b, h, t, d], &k),
        t4(&[b, h, d, t], &kt),
        t4(&[b, h, t, dv], &v),
    );
    let dims = (b * h, s, t, d, dv);
    // Key mask [1, 1, 1, T] broadcast over heads and queries, with K read transposed.
    let want = naive(&q, &k, &v, &row_mask.repeat(s), dims, scale as f64);
    let m = t4(&[1, 1, 1, t], &row_mask);
    let y = op(false).run(&[Some(&tq), Some(&tk), Some(&tv), Some(&m)]).unwrap();
    assert_eq!(y[0].shape(), &[b, h, s, dv]);
    close_rel(y[0].as_slice::<f32>().unwrap(), &want);
    // The same with Kᵀ given.
    let y = op(true).run(&[Some(&tq), Some(&tkt), Some(&tv), Some(&m)]).unwrap();
    close_rel(y[0].as_slice::<f32>().unwrap(), &want);
    // A full [S, T] mask (3-D, broadcast over the batch), and no mask at all.
    let want = naive(&q, &k, &v, &full_mask, dims, scale as f64);
    let m = t4(&[1, s, t], &full_mask);
    let y = op(true).run(&[Some(&tq), Some(&tkt), Some(&tv), Some(&m)]).unwrap();
    close_rel(y[0].as_slice::<f32>().unwrap(), &want);
    let want = naive(&q, &k, &v, &vec![0.0; s * t], dims, scale as f64);
    let y = op(false).run(&[Some(&tq), Some(&tk), Some(&tv)]).unwrap();
    close_rel(y[0].as_slice::<f32>().unwrap(), &want);
    // A mask one value per query row ([S, 1]) broadcasts along keys.
    let per_row: Vec<f32> = (0..s).map(|i| i as f32).collect();
    let y = op(false)
        .run(&[Some(&tq), Some(&tk), Some(&tv), Some(&t4(&[s, 1], &per_row))])
        .unwrap();
    close_rel(y[0].as_slice::<f32>().unwrap(), &want);
}

#[test]
fn fused_attention_rejects_bad_shapes_and_dtypes_with_errors() {
    let op = AttentionOp::Fused(FusedAttentionAttrs {
        scale: 1.0,
        k_transposed: false,
    });
    let q = t4(&[1, 2, 3, 4], &[0.0; 24]);
    let k = t4(&[1, 2, 5, 4], &[0.0; 40]);
    let v = t4(&[1, 2, 5, 3], &[0.0; 30]);
    assert!(op.run(&[Some(&q), Some(&k), Some(&v)]).is_ok());
    // V with the wrong number of keys, a mask that does not broadcast, an f64 mask.
    let v_bad = t4(&[1, 2, 4, 3], &[0.0; 24]);
    assert!(op.run(&[Some(&q), Some(&k), Some(&v_bad)]).is_err());
    let m_bad = t4(&[1, 1, 3, 4], &[0.0; 12]);
    assert!(op.run(&[Some(&q), Some(&k), Some(&v), Some(&m_bad)]).is_err());
    let m64 = Tensor::from_vec(vec![5], vec![0.0f64; 5]).unwrap();
    assert!(op.run(&[Some(&q), Some(&k), Some(&v), Some(&m64)]).is_err());
    assert!(op.run(&[Some(&q), Some(&k)]).is_err());
}

fn t4(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

fn close_rel(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 2e-5 * (1.0 + y.abs()), "[{i}]: {x} vs {y}");
    }
}
