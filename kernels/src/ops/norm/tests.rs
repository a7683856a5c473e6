//! Norm tests: semantics, the f32 fast paths against the generic f64 path, errors.

use super::*;

fn t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

fn close(a: &Tensor, b: &[f32]) {
    let a = a.as_slice::<f32>().unwrap();
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-4 + 1e-4 * y.abs(), "{a:?} vs {b:?}");
    }
}

#[test]
fn layer_norm_with_stats() {
    let x = t(&[2, 2], &[1.0, 3.0, 0.0, 4.0]);
    let s = t(&[2], &[1.0, 2.0]);
    let b = t(&[2], &[0.0, 1.0]);
    let op = NormOp::LayerNorm { axis: -1, epsilon: 0.0 };
    let y = op.run(&[Some(&x), Some(&s), Some(&b)]).unwrap();
    close(&y[0], &[-1.0, 3.0, -1.0, 3.0]);
    close(&y[1], &[2.0, 2.0]);
    assert_eq!(y[1].shape(), &[2, 1]);
    let y = NormOp::RmsNorm { axis: 0, epsilon: 0.0 }
        .run(&[Some(&t(&[2], &[3.0, 4.0])), Some(&t(&[1], &[2.0]))])
        .unwrap();
    let r = (12.5f32).sqrt();
    close(&y[0], &[6.0 / r, 8.0 / r]);
}

#[test]
fn batch_and_instance_norm() {
    let x = t(&[1, 2, 2], &[1.0, 3.0, 10.0, 20.0]);
    let ones = t(&[2], &[1.0, 1.0]);
    let zeros = t(&[2], &[0.0, 0.0]);
    let op = NormOp::BatchNorm {
        epsilon: 0.0,
        momentum: 0.9,
        training: false,
    };
    let y = op
        .run(&[
            Some(&x),
            Some(&ones),
            Some(&zeros),
            Some(&t(&[2], &[1.0, 10.0])),
            Some(&t(&[2], &[4.0, 25.0])),
        ])
        .unwrap();
    close(&y[0], &[0.0, 1.0, 0.0, 2.0]);
    let op = NormOp::BatchNorm {
        epsilon: 0.0,
        momentum: 0.5,
        training: true,
    };
    let y = op
        .run(&[Some(&x), Some(&ones), Some(&zeros), Some(&zeros), Some(&ones)])
        .unwrap();
    close(&y[0], &[-1.0, 1.0, -1.0, 1.0]);
    close(&y[1], &[1.0, 7.5]);
    close(&y[2], &[1.0, 13.0]);
    let op = NormOp::InstanceNorm { epsilon: 0.0 };
    let y = op
        .run(&[Some(&x), Some(&t(&[2], &[1.0, 2.0])), Some(&t(&[2], &[0.0, 1.0]))])
        .unwrap();
    close(&y[0], &[-1.0, 1.0, -1.0, 3.0]);
}

#[test]
fn group_lrn_lp_mvn() {
    let x = t(&[1, 4, 1], &[1.0, 3.0, 5.0, 9.0]);
    let op = NormOp::GroupNorm {
        num_groups: 2,
        epsilon: 0.0,
        per_channel: false,
    };
    let y = op
        .run(&[Some(&x), Some(&t(&[2], &[1.0, 2.0])), Some(&t(&[2], &[0.0, 0.0]))])
        .unwrap();
    close(&y[0], &[-1.0, 1.0, -2.0, 2.0]);
    let op = NormOp::Lrn {
        size: 3,
        alpha: 3.0,
        beta: 1.0,
        bias: 1.0,
    };
    let y = op.run(&[Some(&t(&[1, 2, 1], &[1.0, 2.0]))]).unwrap();
    close(&y[0], &[1.0 / 6.0, 2.0 / 6.0]);
    let y = NormOp::LpNorm { axis: -1, p: 2 }
        .run(&[Some(&t(&[2, 2], &[3.0, 4.0, 0.0, 0.0]))])
        .unwrap();
    close(&y[0], &[0.6, 0.8, 0.0, 0.0]);
    let y = NormOp::MeanVarianceNorm { axes: vec![1] }
        .run(&[Some(&t(&[1, 2], &[1.0, 3.0]))])
        .unwrap();
    close(&y[0], &[-1.0, 1.0]);
}

#[test]
fn norm_errors() {
    let x = t(&[1, 3, 1], &[1.0, 2.0, 3.0]);
    let op = NormOp::GroupNorm {
        num_groups: 2,
        epsilon: 0.0,
        per_channel: true,
    };
    assert!(op
        .run(&[Some(&x), Some(&t(&[3], &[1.0; 3])), Some(&t(&[3], &[0.0; 3]))])
        .is_err());
    let op = NormOp::InstanceNorm { epsilon: 0.0 };
    assert!(op
        .run(&[Some(&x), Some(&t(&[2], &[1.0; 2])), Some(&t(&[3], &[0.0; 3]))])
        .is_err());
    assert!(NormOp::LayerNorm { axis: 3, epsilon: 0.0 }
        .run(&[Some(&x), Some(&t(&[1], &[1.0]))])
        .is_err());
    assert!(NormOp::LpNorm { axis: 0, p: 2 }
        .run(&[Some(&Tensor::from_vec(vec![1], vec![1i32]).unwrap())])
        .is_err());
}

/// Deterministic pseudo-random values in [-lim, lim).
fn vals(n: usize, seed: u64, lim: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * lim
        })
        .collect()
}

/// Run `op` on f32 inputs (fast path) and on the same values as f64 (generic path); compare.
fn check_fast(op: &NormOp, inputs: &[(Vec<usize>, Vec<f32>)], tol: f32) {
    let t32: Vec<Tensor> = inputs.iter().map(|(s, v)| t(s, v)).collect();
    let t64: Vec<Tensor> = inputs
        .iter()
        .map(|(s, v)| Tensor::from_vec(s.clone(), v.iter().map(|&a| a as f64).collect::<Vec<f64>>()).unwrap())
        .collect();
    let y32 = op.run(&t32.iter().map(Some).collect::<Vec<_>>()).unwrap();
    let y64 = op.run(&t64.iter().map(Some).collect::<Vec<_>>()).unwrap();
    for (a, b) in y32.iter().zip(&y64) {
        assert_eq!(a.shape(), b.shape());
        for (i, (&p, &q)) in a
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .zip(b.as_slice::<f64>().unwrap())
            .enumerate()
        {
            let q = q as f32;
            assert!(
                (p - q).abs() <= tol * (1.0 + q.abs()),
                "{op:?} at {i}: fast {p} vs generic {q}"
            );
        }
    }
}

#[test]
fn fast_batch_norm_matches_generic() {
    for (i, shape) in [
        vec![1, 3, 5, 7],
        vec![2, 4, 1, 1],
        vec![3, 5],
        vec![2, 64, 33, 17],
        vec![1, 2, 3, 4, 5],
    ]
    .into_iter()
    .enumerate()
    {
        let c = shape[1];
        let n: usize = shape.iter().product();
        let var: Vec<f32> = vals(c, 5 + i as u64, 1.0).iter().map(|v| v.abs() + 0.1).collect();
        for training in [false, true] {
            let op = NormOp::BatchNorm {
                epsilon: 1e-5,
                momentum: 0.9,
                training,
            };
            let inputs = [
                (shape.clone(), vals(n, i as u64, 3.0)),
                (vec![c], vals(c, 1 + i as u64, 2.0)),
                (vec![c], vals(c, 2 + i as u64, 2.0)),
                (vec![c], vals(c, 3 + i as u64, 1.0)),
                (vec![c], var.clone()),
            ];
            check_fast(&op, &inputs, 2e-6);
        }
    }
}

#[test]
fn fast_lrn_matches_generic() {
    let shapes = [
        vec![1, 7, 3, 5],
        vec![2, 40, 9, 11],
        vec![1, 1, 4, 4],
        vec![1, 3],
        vec![1, 33, 60, 40],
    ];
    for (i, shape) in shapes.into_iter().enumerate() {
        let n: usize = shape.iter().product();
        for (size, beta, bias) in [
            (5, 0.75, 1.0),
            (3, 0.5, 2.0),
            (1, 1.0, 1.0),
            (4, 0.6, 1.5),
            (9, 0.75, 0.5),
        ] {
            let op = NormOp::Lrn {
                size,
                alpha: 0.01,
                beta,
                bias,
            };
            check_fast(&op, &[(shape.clone(), vals(n, i as u64, 10.0))], 2e-6);
        }
    }
}

#[test]
fn fast_paths_fall_back_and_reject() {
    // Non-finite values take the generic LRN path (NaN / inf spread to their neighbours).
    let op = NormOp::Lrn {
        size: 3,
        alpha: 1.0,
        beta: 0.75,
        bias: 1.0,
    };
    let y = op
        .run(&[Some(&t(&[1, 4, 1], &[1.0, f32::INFINITY, 1.0, 1.0]))])
        .unwrap();
    let v = y[0].as_slice::<f32>().unwrap();
    assert_eq!(v[0], 0.0);
    assert!(v[1].is_nan());
    assert!(v[3] > 0.0);
    let zero = NormOp::Lrn {
        size: 0,
        alpha: 1.0,
        beta: 0.75,
        bias: 1.0,
    };
    assert!(zero.run(&[Some(&t(&[1, 2, 1], &[1.0, 2.0]))]).is_err());
    let bn = NormOp::BatchNorm {
        epsilon: 1e-5,
        momentum: 0.9,
        training: false,
    };
    let x = t(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let p2 = t(&[2], &[1.0, 1.0]);
    let p3 = t(&[3], &[1.0; 3]);
    assert!(bn.run(&[Some(&x), Some(&p2), Some(&p2), Some(&p2), Some(&p3)]).is_err());
    assert!(bn.run(&[Some(&x), Some(&p2), Some(&p2), Some(&p2)]).is_err());
}
