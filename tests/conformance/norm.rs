//! Conformance cases for the norm family.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::NormOp;
use suanli_kernels::{DType, Op, Tensor};

fn r(dt: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(random(dt, shape, seed))
}

fn tol(dt: DType) -> (f64, f64) {
    match dt {
        DType::F16 => (1e-2, 1e-2),
        DType::F64 => (1e-9, 1e-9),
        _ => (1e-4, 1e-4),
    }
}

fn dn(dt: DType) -> String {
    format!("{dt}").to_lowercase()
}

/// Positive per-channel variances.
fn var(dt: DType, c: usize) -> Option<Tensor> {
    let v: Vec<f64> = (0..c).map(|i| 0.25 + (i % 7) as f64 * 0.3).collect();
    Tensor::from_vec(vec![c], v).ok()?.cast(dt).ok()
}

/// Every norm case.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for dt in [DType::F32, DType::F16, DType::F64] {
        let (rt, at) = tol(dt);
        let d = dn(dt);
        // LayerNormalization: axis × shape × bias, parameters full or broadcast.
        for (pn, shape, axis, ps) in [
            ("2d_last", &[4, 6][..], -1i64, &[6][..]),
            ("2d_axis0", &[4, 6], 0, &[4, 6]),
            ("3d_axis1", &[2, 3, 5], 1, &[3, 5]),
            ("3d_axis_neg2", &[2, 3, 5], -2, &[3, 5]),
            ("4d_axis2", &[2, 3, 4, 5], 2, &[4, 5]),
            ("4d_axis3", &[2, 3, 4, 5], 3, &[5]),
            ("long_row", &[3, 1100], -1, &[1100]),
            ("bcast_scale", &[2, 3, 5], 1, &[5]),
            ("bcast_ones", &[2, 3, 5], 1, &[1, 5]),
        ] {
            let op = Op::Norm(NormOp::LayerNorm { axis, epsilon: 1e-5 });
            let x = r(dt, shape, 1);
            v.push(
                Case::new(
                    format!("norm/layernorm/{pn}_bias/{d}"),
                    op.clone(),
                    vec![x.clone(), r(dt, ps, 2), r(dt, ps, 3)],
                )
                .tol(rt, at),
            );
            v.push(Case::new(format!("norm/layernorm/{pn}_nobias/{d}"), op, vec![x, r(dt, ps, 2)]).tol(rt, at));
        }
        let op = Op::Norm(NormOp::LayerNorm { axis: -1, epsilon: 0.1 });
        v.push(
            Case::new(
                format!("norm/layernorm/epsilon/{d}"),
                op,
                vec![r(dt, &[3, 4], 1), r(dt, &[4], 2), r(dt, &[4], 3)],
            )
            .tol(rt, at),
        );
        // RMSNormalization.
        for (pn, shape, axis, ps) in [
            ("2d_last", &[4, 6][..], -1i64, &[6][..]),
            ("2d_axis0", &[4, 6], 0, &[4, 6]),
            ("3d_axis1", &[2, 3, 5], 1, &[3, 5]),
            ("4d_axis_neg1", &[2, 3, 4, 5], -1, &[5]),
            ("long_row", &[2, 2100], 1, &[2100]),
            ("bcast", &[2, 3, 5], 1, &[5]),
        ] {
            for eps in [1e-5f32, 0.5] {
                let op = Op::Norm(NormOp::RmsNorm { axis, epsilon: eps });
                let e = if eps < 0.1 { "" } else { "_eps" };
                v.push(
                    Case::new(
                        format!("norm/rmsnorm/{pn}{e}/{d}"),
                        op,
                        vec![r(dt, shape, 1), r(dt, ps, 2)],
                    )
                    .tol(rt, at),
                );
            }
        }
        // InstanceNormalization and GroupNormalization.
        for (pn, shape) in [
            ("3d", &[2, 3, 5][..]),
            ("4d", &[2, 4, 9, 9]),
            ("no_spatial", &[3, 4]),
            ("big", &[1, 2, 40, 40]),
        ] {
            let c = shape[1];
            let op = Op::Norm(NormOp::InstanceNorm { epsilon: 1e-5 });
            v.push(
                Case::new(
                    format!("norm/instancenorm/{pn}/{d}"),
                    op,
                    vec![r(dt, shape, 1), r(dt, &[c], 2), r(dt, &[c], 3)],
                )
                .tol(rt, at),
            );
            let mut gs = vec![1, 2, c];
            gs.retain(|g| c % g == 0);
            gs.dedup();
            for g in gs {
                for per_channel in [false, true] {
                    let p = if per_channel { c } else { g };
                    let op = Op::Norm(NormOp::GroupNorm {
                        num_groups: g,
                        epsilon: 1e-5,
                        per_channel,
                    });
                    let k = if per_channel { "per_channel" } else { "per_group" };
                    v.push(
                        Case::new(
                            format!("norm/groupnorm/{pn}_g{g}_{k}/{d}"),
                            op,
                            vec![r(dt, shape, 1), r(dt, &[p], 2), r(dt, &[p], 3)],
                        )
                        .tol(rt, at),
                    );
                }
            }
        }
        // BatchNormalization (inference).
        for (pn, shape) in [("4d", &[2, 3, 4, 5][..]), ("2d", &[5, 3]), ("3d", &[2, 7, 11])] {
            let c = shape[1];
            for eps in [1e-5f32, 1e-2] {
                let op = Op::Norm(NormOp::BatchNorm {
                    epsilon: eps,
                    momentum: 0.9,
                    training: false,
                });
                let e = if eps < 1e-3 { "" } else { "_eps" };
                v.push(
                    Case::new(
                        format!("norm/batchnorm/{pn}{e}/{d}"),
                        op,
                        vec![
                            r(dt, shape, 1),
                            r(dt, &[c], 2),
                            r(dt, &[c], 3),
                            r(dt, &[c], 4),
                            var(dt, c),
                        ],
                    )
                    .tol(rt, at),
                );
            }
        }
        // LpNormalization.
        for p in [1i64, 2] {
            for (pn, shape, axis) in [
                ("last", &[3, 4, 5][..], -1i64),
                ("first", &[3, 4, 5], 0),
                ("middle", &[3, 4, 5], 1),
                ("long", &[2, 1500], 1),
            ] {
                let op = Op::Norm(NormOp::LpNorm { axis, p });
                v.push(
                    Case::new(format!("norm/lpnorm/p{p}_{pn}/{d}"), op, vec![r(dt, shape, 1)])
                        .tol(rt.max(1e-5), at.max(1e-6)),
                );
            }
        }
        // MeanVarianceNormalization.
        for (pn, axes) in [
            ("default", vec![0i64, 2, 3]),
            ("channel", vec![1]),
            ("last", vec![-1]),
            ("all", vec![0, 1, 2, 3]),
        ] {
            let op = Op::Norm(NormOp::MeanVarianceNorm { axes });
            v.push(Case::new(format!("norm/mvn/{pn}/{d}"), op, vec![r(dt, &[3, 4, 5, 6], 1)]).tol(rt, at));
        }
        let op = Op::Norm(NormOp::MeanVarianceNorm { axes: vec![0, 2] });
        v.push(Case::new(format!("norm/mvn/long/{d}"), op, vec![r(dt, &[2, 3, 700], 1)]).tol(rt, at));
    }
    // LRN (f32, f16).
    for dt in [DType::F32, DType::F16] {
        let (rt, at) = tol(dt);
        for size in [1usize, 2, 3, 5] {
            for (alpha, beta, bias) in [(1e-4f32, 0.75f32, 1.0f32), (0.5, 0.5, 2.0)] {
                let op = Op::Norm(NormOp::Lrn {
                    size,
                    alpha,
                    beta,
                    bias,
                });
                let name = format!("norm/lrn/size{size}_a{alpha}_b{beta}/{}", dn(dt));
                v.push(Case::new(name, op, vec![r(dt, &[2, 7, 3, 4], 1)]).tol(rt, at));
            }
        }
    }
    v
}
