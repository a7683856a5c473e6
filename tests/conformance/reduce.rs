//! Conformance cases for the reduce family.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::reduce::{ArgKind, ReduceKind, ScanKind, SoftmaxKind};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::{DType, Op, Tensor};

const KINDS: [(ReduceKind, &str); 10] = [
    (ReduceKind::Sum, "sum"),
    (ReduceKind::Mean, "mean"),
    (ReduceKind::Max, "max"),
    (ReduceKind::Min, "min"),
    (ReduceKind::Prod, "prod"),
    (ReduceKind::L1, "l1"),
    (ReduceKind::L2, "l2"),
    (ReduceKind::LogSum, "logsum"),
    (ReduceKind::LogSumExp, "logsumexp"),
    (ReduceKind::SumSquare, "sumsquare"),
];

fn red(kind: ReduceKind, axes: Option<&[i64]>, keepdims: bool, noop: bool) -> Op {
    Op::Reduce(ReduceOp::Reduce {
        kind,
        axes: axes.map(|a| a.to_vec()),
        keepdims,
        noop_with_empty_axes: noop,
    })
}

/// Random data; positive (in [0.75, 1.75)) for the kinds that need it.
fn data(kind: ReduceKind, dt: DType, shape: &[usize], seed: u64) -> Tensor {
    let t = random(dt, shape, seed);
    if !matches!(kind, ReduceKind::Prod | ReduceKind::LogSum) || !dt.is_float() {
        return t;
    }
    let v: Vec<f64> = t
        .to_f64_vec()
        .unwrap_or_default()
        .iter()
        .map(|x| x.abs() * 0.5 + 0.75)
        .collect();
    Tensor::from_vec(shape.to_vec(), v)
        .and_then(|t| t.cast(dt))
        .unwrap_or(t)
}

fn dt_name(dt: DType) -> String {
    format!("{dt}").to_lowercase()
}

/// Every reduce case.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    // Every kind × axis pattern × keepdims on f32.
    let patterns: [(&str, &[usize], &[i64]); 8] = [
        ("last", &[4, 7], &[-1]),
        ("first", &[6, 5], &[0]),
        ("middle", &[3, 9, 4], &[1]),
        ("outer_inner", &[4, 5, 6, 3], &[0, 3]),
        ("two_middle", &[2, 5, 6, 3], &[1, -2]),
        ("all_explicit", &[3, 4, 5], &[0, 1, 2]),
        ("long_row", &[3, 1500], &[1]),
        ("long_strided", &[600, 5], &[0]),
    ];
    for (kind, kn) in KINDS {
        for (pn, shape, axes) in patterns {
            for keep in [true, false] {
                let k = if keep { "keep" } else { "drop" };
                v.push(
                    Case::new(
                        format!("reduce/{kn}/{pn}_{k}/f32"),
                        red(kind, Some(axes), keep, false),
                        vec![Some(data(kind, DType::F32, shape, 1))],
                    )
                    .tol(1e-4, 1e-4),
                );
            }
        }
        // Default axes (all), axes as input, noop, empty set, empty output.
        let x = Some(data(kind, DType::F32, &[3, 4, 5], 2));
        v.push(
            Case::new(
                format!("reduce/{kn}/default_axes/f32"),
                red(kind, Some(&[]), true, false),
                vec![x.clone()],
            )
            .tol(1e-4, 1e-4),
        );
        let axes_in = Some(Tensor::from_vec(vec![2], vec![0i64, 2]).unwrap_or_else(|_| Tensor::scalar(0i64)));
        v.push(
            Case::new(
                format!("reduce/{kn}/axes_input/f32"),
                red(kind, None, false, false),
                vec![x.clone(), axes_in],
            )
            .tol(1e-4, 1e-4),
        );
        let no_axes = Some(Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap_or_else(|_| Tensor::scalar(0i64)));
        v.push(
            Case::new(
                format!("reduce/{kn}/noop_empty_axes/f32"),
                red(kind, None, true, true),
                vec![x.clone(), no_axes.clone()],
            )
            .tol(1e-4, 1e-4),
        );
        v.push(
            Case::new(
                format!("reduce/{kn}/empty_axes_input_all/f32"),
                red(kind, None, false, false),
                vec![x.clone(), no_axes],
            )
            .tol(1e-4, 1e-4),
        );
        v.push(
            Case::new(
                format!("reduce/{kn}/no_axes_input/f32"),
                red(kind, None, true, false),
                vec![x],
            )
            .tol(1e-4, 1e-4),
        );
        v.push(Case::new(
            format!("reduce/{kn}/empty_set/f32"),
            red(kind, Some(&[1]), true, false),
            vec![Some(random(DType::F32, &[2, 0, 4], 3))],
        ));
        v.push(Case::new(
            format!("reduce/{kn}/empty_output/f32"),
            red(kind, Some(&[1]), false, false),
            vec![Some(random(DType::F32, &[0, 4], 3))],
        ));
        v.push(
            Case::new(
                format!("reduce/{kn}/scalar/f32"),
                red(kind, Some(&[]), false, false),
                vec![Some(data(kind, DType::F32, &[], 3))],
            )
            .tol(1e-4, 1e-4),
        );
        // f16 and f64.
        v.push(
            Case::new(
                format!("reduce/{kn}/middle/f16"),
                red(kind, Some(&[1]), true, false),
                vec![Some(data(kind, DType::F16, &[3, 300, 2], 4))],
            )
            .tol(1e-2, 1e-2),
        );
        v.push(
            Case::new(
                format!("reduce/{kn}/two_axes/f64"),
                red(kind, Some(&[0, 2]), false, false),
                vec![Some(data(kind, DType::F64, &[3, 4, 70], 5))],
            )
            .tol(1e-6, 1e-6),
        );
    }
    // Integer and bool inputs.
    for dt in [DType::I32, DType::I64, DType::U32, DType::U64] {
        for (kind, kn) in KINDS
            .iter()
            .filter(|k| !matches!(k.0, ReduceKind::L2 | ReduceKind::LogSum | ReduceKind::LogSumExp))
        {
            for (pn, shape, axes) in [
                ("last", &[5, 3][..], &[-1i64][..]),
                ("long", &[2, 700], &[1]),
                ("two", &[3, 4, 5], &[0, 2]),
            ] {
                let x = if *kind == ReduceKind::Prod {
                    random(dt, shape, 6)
                        .cast(DType::I64)
                        .ok()
                        .and_then(|t| {
                            let v: Vec<i64> = t
                                .as_slice::<i64>()
                                .ok()?
                                .iter()
                                .map(|x| if x.rem_euclid(3) == 0 { -1 } else { 1 })
                                .collect();
                            Tensor::from_vec(shape.to_vec(), v).ok()?.cast(dt).ok()
                        })
                        .unwrap_or_else(|| random(dt, shape, 6))
                } else {
                    random(dt, shape, 6)
                };
                v.push(Case::new(
                    format!("reduce/{kn}/{pn}/{}", dt_name(dt)),
                    red(*kind, Some(axes), true, false),
                    vec![Some(x)],
                ));
            }
        }
    }
    for dt in [DType::Bool, DType::I8, DType::U8, DType::I16] {
        for (kind, kn) in [(ReduceKind::Max, "max"), (ReduceKind::Min, "min")] {
            v.push(Case::new(
                format!("reduce/{kn}/rows/{}", dt_name(dt)),
                red(kind, Some(&[1]), false, false),
                vec![Some(random(dt, &[4, 9], 7))],
            ));
            v.push(Case::new(
                format!("reduce/{kn}/cols/{}", dt_name(dt)),
                red(kind, Some(&[0]), true, false),
                vec![Some(random(dt, &[300, 3], 7))],
            ));
        }
    }
    // ArgMax / ArgMin.
    for (kind, kn) in [(ArgKind::Max, "argmax"), (ArgKind::Min, "argmin")] {
        for last in [false, true] {
            for keep in [false, true] {
                for (pn, dt, shape, axis) in [
                    ("axis0", DType::F32, &[4, 5][..], 0i64),
                    ("axis1", DType::F32, &[3, 4, 5], 1),
                    ("neg_axis", DType::F32, &[3, 4, 5], -1),
                    ("long", DType::F32, &[2, 2000], 1),
                    ("ties", DType::I32, &[300, 4], 0),
                    ("ties", DType::I64, &[4, 20], 1),
                    ("f16", DType::F16, &[5, 6], 1),
                ] {
                    let name = format!(
                        "reduce/{kn}/{pn}_{}_{}/{}",
                        if keep { "keep" } else { "drop" },
                        if last { "last" } else { "first" },
                        dt_name(dt)
                    );
                    let op = Op::Reduce(ReduceOp::Arg {
                        kind,
                        axis,
                        keepdims: keep,
                        select_last_index: last,
                    });
                    v.push(Case::new(name, op, vec![Some(random(dt, shape, 8))]));
                }
            }
        }
    }
    // Softmax family.
    for (kind, kn) in [
        (SoftmaxKind::Softmax, "softmax"),
        (SoftmaxKind::LogSoftmax, "logsoftmax"),
        (SoftmaxKind::Hardmax, "hardmax"),
    ] {
        for coerce in [false, true] {
            let c = if coerce { "2d" } else { "axis" };
            for (pn, shape, axis) in [
                ("last", &[3, 4, 5][..], -1i64),
                ("first", &[3, 4, 5], 0),
                ("middle", &[3, 4, 5], 1),
                ("long", &[2, 3000], 1),
                ("long_strided", &[2, 400, 3], 1),
            ] {
                let op = Op::Reduce(ReduceOp::Softmax {
                    kind,
                    axis,
                    coerce_2d: coerce,
                });
                v.push(Case::new(
                    format!("reduce/{kn}/{c}_{pn}/f32"),
                    op,
                    vec![Some(random(DType::F32, shape, 9))],
                ));
            }
        }
        let op = Op::Reduce(ReduceOp::Softmax {
            kind,
            axis: -1,
            coerce_2d: false,
        });
        v.push(
            Case::new(
                format!("reduce/{kn}/rows/f16"),
                op.clone(),
                vec![Some(random(DType::F16, &[4, 500], 9))],
            )
            .tol(1e-2, 1e-3),
        );
        v.push(
            Case::new(
                format!("reduce/{kn}/rows/f64"),
                op.clone(),
                vec![Some(random(DType::F64, &[4, 50], 9))],
            )
            .tol(1e-5, 1e-6),
        );
        v.push(Case::new(
            format!("reduce/{kn}/scalar/f32"),
            op.clone(),
            vec![Some(random(DType::F32, &[], 9))],
        ));
        v.push(Case::new(
            format!("reduce/{kn}/empty/f32"),
            op,
            vec![Some(random(DType::F32, &[3, 0], 9))],
        ));
    }
    // CumSum / CumProd.
    for (kind, kn) in [(ScanKind::Sum, "cumsum"), (ScanKind::Prod, "cumprod")] {
        for exclusive in [false, true] {
            for reverse in [false, true] {
                let op = Op::Reduce(ReduceOp::Scan {
                    kind,
                    exclusive,
                    reverse,
                });
                let var = format!(
                    "{}{}",
                    if exclusive { "excl" } else { "incl" },
                    if reverse { "_rev" } else { "" }
                );
                for (dt, axis) in [
                    (DType::F32, 1i64),
                    (DType::F32, -3),
                    (DType::F64, 0),
                    (DType::I32, 2),
                    (DType::I64, -1),
                ] {
                    v.push(Case::new(
                        format!("reduce/{kn}/{var}_axis{axis}/{}", dt_name(dt)),
                        op.clone(),
                        vec![Some(random(dt, &[3, 4, 5], 10)), Some(Tensor::scalar(axis))],
                    ));
                }
            }
        }
    }
    v
}
