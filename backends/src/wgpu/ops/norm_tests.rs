//! Device tests of the norm family against the CPU reference.

use crate::wgpu::tests::{check_tol, rnd};
use suanli_kernels::ops::NormOp;
use suanli_kernels::{DType, Op, Tensor};

fn c(op: NormOp, inputs: Vec<Option<Tensor>>) {
    check_tol(Op::Norm(op), inputs, 1e-4, 1e-4);
}

#[test]
fn layer_norm() {
    for (shape, axis, pshape) in [
        (vec![3, 5], -1, vec![5]),
        (vec![2, 3, 700], 2, vec![700]),
        (vec![2, 3, 4], 1, vec![3, 4]),
        (vec![2, 3, 4], 0, vec![2, 3, 4]),
        (vec![2, 3, 4], -2, vec![1, 4]),
        (vec![2, 3, 4], 1, vec![4]),
    ] {
        let op = NormOp::LayerNorm { axis, epsilon: 1e-5 };
        let s = rnd(DType::F32, &pshape, 2);
        let b = rnd(DType::F32, &pshape, 3);
        c(op.clone(), vec![rnd(DType::F32, &shape, 1), s.clone(), b]);
        c(op, vec![rnd(DType::F32, &shape, 1), s]);
    }
    let op = NormOp::LayerNorm {
        axis: -1,
        epsilon: 1e-5,
    };
    check_tol(
        Op::Norm(op),
        vec![
            rnd(DType::F16, &[4, 300], 1),
            rnd(DType::F16, &[300], 2),
            rnd(DType::F16, &[300], 3),
        ],
        1e-2,
        1e-2,
    );
}

#[test]
fn rms_norm() {
    for (shape, axis, pshape) in [
        (vec![3, 5], -1, vec![5]),
        (vec![2, 3, 700], -1, vec![700]),
        (vec![2, 3, 4], 1, vec![4]),
    ] {
        let op = NormOp::RmsNorm { axis, epsilon: 1e-5 };
        c(op, vec![rnd(DType::F32, &shape, 1), rnd(DType::F32, &pshape, 2)]);
    }
}

#[test]
fn instance_and_group_norm() {
    for shape in [vec![2, 3, 5], vec![2, 4, 30, 30], vec![1, 4], vec![2, 6, 3, 3]] {
        let ch = shape[1];
        c(
            NormOp::InstanceNorm { epsilon: 1e-5 },
            vec![
                rnd(DType::F32, &shape, 1),
                rnd(DType::F32, &[ch], 2),
                rnd(DType::F32, &[ch], 3),
            ],
        );
        for per_channel in [false, true] {
            for g in [1, ch] {
                let p = if per_channel { ch } else { g };
                let op = NormOp::GroupNorm {
                    num_groups: g,
                    epsilon: 1e-5,
                    per_channel,
                };
                c(
                    op,
                    vec![
                        rnd(DType::F32, &shape, 1),
                        rnd(DType::F32, &[p], 2),
                        rnd(DType::F32, &[p], 3),
                    ],
                );
            }
        }
    }
    let op = NormOp::GroupNorm {
        num_groups: 2,
        epsilon: 1e-5,
        per_channel: false,
    };
    c(
        op,
        vec![
            rnd(DType::F32, &[2, 6, 3, 3], 1),
            rnd(DType::F32, &[2], 2),
            rnd(DType::F32, &[2], 3),
        ],
    );
    check_tol(
        Op::Norm(NormOp::InstanceNorm { epsilon: 1e-5 }),
        vec![
            rnd(DType::F16, &[2, 3, 40], 1),
            rnd(DType::F16, &[3], 2),
            rnd(DType::F16, &[3], 3),
        ],
        1e-2,
        1e-2,
    );
    c(
        NormOp::InstanceNorm { epsilon: 1e-5 },
        vec![
            rnd(DType::F64, &[2, 3, 40], 1),
            rnd(DType::F64, &[3], 2),
            rnd(DType::F64, &[3], 3),
        ],
    );
}

#[test]
fn batch_norm_inference() {
    for shape in [vec![2, 3, 5, 4], vec![2, 3], vec![1, 300, 7]] {
        let ch = shape[1];
        let var = Tensor::from_vec(vec![ch], (0..ch).map(|i| 0.5 + i as f32 * 0.1).collect()).ok();
        let op = NormOp::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: false,
        };
        c(
            op,
            vec![
                rnd(DType::F32, &shape, 1),
                rnd(DType::F32, &[ch], 2),
                rnd(DType::F32, &[ch], 3),
                rnd(DType::F32, &[ch], 4),
                var,
            ],
        );
    }
}

#[test]
fn lrn_lp_mvn() {
    for size in [1, 3, 4, 5] {
        let op = NormOp::Lrn {
            size,
            alpha: 1e-3,
            beta: 0.75,
            bias: 1.0,
        };
        c(op, vec![rnd(DType::F32, &[2, 7, 3, 3], 1)]);
    }
    for p in [1, 2] {
        for axis in [0, 1, -1] {
            c(NormOp::LpNorm { axis, p }, vec![rnd(DType::F32, &[3, 4, 5], 1)]);
        }
        c(NormOp::LpNorm { axis: -1, p }, vec![rnd(DType::F32, &[3, 2000], 1)]);
    }
    for axes in [vec![0, 2, 3], vec![1], vec![-1], vec![0, 1, 2, 3]] {
        c(
            NormOp::MeanVarianceNorm { axes },
            vec![rnd(DType::F32, &[3, 4, 5, 6], 1)],
        );
    }
    c(
        NormOp::MeanVarianceNorm { axes: vec![0, 2] },
        vec![rnd(DType::F32, &[2, 3, 600], 1)],
    );
}
