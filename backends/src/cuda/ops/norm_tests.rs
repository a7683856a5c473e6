//! Recording tests of the norm family (see `reduce_tests.rs` for what a check covers).

use crate::conformance::{random, spec_for};
use crate::cuda::launch::Step;
use crate::cuda::ops::reduce::tests::check;
use crate::cuda::ops::{lower, Target};
use suanli_kernels::ops::NormOp;
use suanli_kernels::{DType, Op, Tensor};

fn r(dt: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(random(dt, shape, seed))
}

fn var(dt: DType, c: usize) -> Option<Tensor> {
    let v: Vec<f64> = (0..c).map(|i| 0.25 + (i % 7) as f64 * 0.3).collect();
    Tensor::from_vec(vec![c], v).ok()?.cast(dt).ok()
}

const FLOATS: [DType; 4] = [DType::F32, DType::F16, DType::BF16, DType::F64];

#[test]
fn layer_and_rms_norm() {
    for dt in FLOATS {
        for (shape, axis, ps) in [
            (&[4, 6][..], -1i64, &[6][..]),
            (&[4, 6], 0, &[4, 6]),
            (&[2, 3, 5], 1, &[3, 5]),
            (&[2, 3, 4, 5], 2, &[4, 5]),
            (&[3, 1100], -1, &[1100]),
            (&[2, 3, 5], 1, &[5]),
            (&[2, 3, 5], 1, &[1, 5]),
            (&[3, 0], -1, &[0]),
        ] {
            let op = Op::Norm(NormOp::LayerNorm { axis, epsilon: 1e-5 });
            let x = r(dt, shape, 1);
            let rec = check(op.clone(), vec![x.clone(), r(dt, ps, 2), r(dt, ps, 3)]);
            assert_eq!(rec.steps.len(), usize::from(shape[0] > 0));
            check(op, vec![x.clone(), r(dt, ps, 2)]);
            check(Op::Norm(NormOp::RmsNorm { axis, epsilon: 0.5 }), vec![x, r(dt, ps, 2)]);
        }
    }
    // Parameters of another dtype than the input.
    let op = Op::Norm(NormOp::LayerNorm {
        axis: -1,
        epsilon: 1e-5,
    });
    check(
        op,
        vec![
            r(DType::F16, &[4, 64], 1),
            r(DType::F32, &[64], 2),
            r(DType::F32, &[64], 3),
        ],
    );
}

#[test]
fn instance_and_group_norm() {
    for dt in FLOATS {
        for shape in [&[2, 3, 5][..], &[2, 4, 9, 9], &[3, 4], &[1, 2, 40, 40]] {
            let c = shape[1];
            check(
                Op::Norm(NormOp::InstanceNorm { epsilon: 1e-5 }),
                vec![r(dt, shape, 1), r(dt, &[c], 2), r(dt, &[c], 3)],
            );
            for g in [1, 2, c] {
                if c % g != 0 {
                    continue;
                }
                for per_channel in [false, true] {
                    let p = if per_channel { c } else { g };
                    let op = Op::Norm(NormOp::GroupNorm {
                        num_groups: g,
                        epsilon: 1e-5,
                        per_channel,
                    });
                    check(op, vec![r(dt, shape, 1), r(dt, &[p], 2), r(dt, &[p], 3)]);
                }
            }
        }
    }
}

#[test]
fn batch_norm_lrn_lp_mvn() {
    for dt in FLOATS {
        for shape in [&[2, 3, 4, 5][..], &[5, 3], &[2, 7, 11]] {
            let c = shape[1];
            let op = Op::Norm(NormOp::BatchNorm {
                epsilon: 1e-5,
                momentum: 0.9,
                training: false,
            });
            let rec = check(
                op,
                vec![
                    r(dt, shape, 1),
                    r(dt, &[c], 2),
                    r(dt, &[c], 3),
                    r(dt, &[c], 4),
                    var(dt, c),
                ],
            );
            assert_eq!(rec.steps.len(), 2);
            assert!(matches!(&rec.steps[1], Step::Kernel(k) if k.source == 1));
        }
        for size in [1usize, 2, 3, 5] {
            let op = Op::Norm(NormOp::Lrn {
                size,
                alpha: 1e-4,
                beta: 0.75,
                bias: 1.0,
            });
            check(op, vec![r(dt, &[2, 7, 3, 4], 1)]);
        }
        for p in [1i64, 2] {
            for (shape, axis) in [(&[3, 4, 5][..], -1i64), (&[3, 4, 5], 0), (&[2, 1500], 1), (&[], 0)] {
                check(Op::Norm(NormOp::LpNorm { axis, p }), vec![r(dt, shape, 1)]);
            }
        }
        for axes in [vec![0i64, 2, 3], vec![1], vec![-1], vec![0, 1, 2, 3]] {
            check(
                Op::Norm(NormOp::MeanVarianceNorm { axes }),
                vec![r(dt, &[3, 4, 5, 6], 1)],
            );
        }
        check(
            Op::Norm(NormOp::MeanVarianceNorm { axes: vec![0, 2] }),
            vec![r(dt, &[2, 3, 700], 1)],
        );
    }
}

#[test]
fn unsupported_specs_are_refused() {
    let refuse = |op: Op, inputs: Vec<Option<Tensor>>| {
        let spec = spec_for(&op, &inputs).unwrap();
        assert!(lower(&spec, &Target::SM80).is_err(), "{}", spec.describe());
    };
    let c = 3;
    refuse(
        Op::Norm(NormOp::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: true,
        }),
        vec![
            r(DType::F32, &[2, c], 1),
            r(DType::F32, &[c], 2),
            r(DType::F32, &[c], 3),
            r(DType::F32, &[c], 4),
            var(DType::F32, c),
        ],
    );
    refuse(Op::Norm(NormOp::LpNorm { axis: 0, p: 3 }), vec![r(DType::F32, &[3], 1)]);
}
