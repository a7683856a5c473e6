//! Device tests of the reduce family against the CPU reference.

use crate::wgpu::tests::{check, check_tol, rnd};
use suanli_kernels::ops::reduce::{ArgKind, ReduceKind, ScanKind, SoftmaxKind};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::{DType, Op, Tensor};

const KINDS: [ReduceKind; 10] = [
    ReduceKind::Sum,
    ReduceKind::Mean,
    ReduceKind::Max,
    ReduceKind::Min,
    ReduceKind::Prod,
    ReduceKind::L1,
    ReduceKind::L2,
    ReduceKind::LogSum,
    ReduceKind::LogSumExp,
    ReduceKind::SumSquare,
];

fn red(kind: ReduceKind, axes: &[i64], keepdims: bool) -> Op {
    Op::Reduce(ReduceOp::Reduce {
        kind,
        axes: Some(axes.to_vec()),
        keepdims,
        noop_with_empty_axes: false,
    })
}

/// Positive data keeps Prod and LogSum well defined.
fn pos(shape: &[usize], seed: u64) -> Option<Tensor> {
    let t = rnd(DType::F32, shape, seed)?;
    let v: Vec<f32> = t.as_slice::<f32>().ok()?.iter().map(|x| x.abs() * 0.5 + 0.75).collect();
    Tensor::from_vec(shape.to_vec(), v).ok()
}

fn check_kind(kind: ReduceKind, shape: &[usize], axes: &[i64], keepdims: bool) {
    let x = if matches!(kind, ReduceKind::Prod | ReduceKind::LogSum) {
        pos(shape, 7)
    } else {
        rnd(DType::F32, shape, 7)
    };
    check_tol(red(kind, axes, keepdims), vec![x], 1e-4, 1e-4);
}

#[test]
fn every_kind_small_and_large_rows() {
    for kind in KINDS {
        // Thread-per-output: a short reduced axis.
        check_kind(kind, &[5, 7, 3], &[1], false);
        // Workgroup-per-output: rows longer than the workgroup, with a tail.
        check_kind(kind, &[3, 1000], &[-1], true);
        check_kind(kind, &[2, 37, 11], &[1], true);
    }
}

#[test]
fn multiple_and_non_adjacent_axes() {
    for kind in [
        ReduceKind::Sum,
        ReduceKind::Max,
        ReduceKind::Mean,
        ReduceKind::LogSumExp,
    ] {
        check_kind(kind, &[4, 5, 6, 7], &[0, 2], false);
        check_kind(kind, &[4, 5, 6, 7], &[3, -3], true);
        check_kind(kind, &[4, 5, 6, 7], &[], true);
        check_kind(kind, &[4, 5, 6, 7], &[], false);
        check_kind(kind, &[2, 1, 300, 1, 3], &[1, 2, 3], false);
    }
}

#[test]
fn axes_as_input_and_noop() {
    let x = rnd(DType::F32, &[3, 4, 5], 1);
    let op = |noop| {
        Op::Reduce(ReduceOp::Reduce {
            kind: ReduceKind::Sum,
            axes: None,
            keepdims: true,
            noop_with_empty_axes: noop,
        })
    };
    let axes = Some(Tensor::from_vec(vec![2], vec![0i64, -1]).unwrap());
    check(op(false), vec![x.clone(), axes]);
    let empty = Some(Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap());
    check(op(true), vec![x.clone(), empty.clone()]);
    check(op(false), vec![x.clone(), empty]);
    check(op(false), vec![x.clone()]);
    check(op(true), vec![x]);
    // noop with a non-trivial post-map (sqrt of squares).
    let l2 = Op::Reduce(ReduceOp::Reduce {
        kind: ReduceKind::L2,
        axes: Some(vec![]),
        keepdims: true,
        noop_with_empty_axes: true,
    });
    check(l2, vec![rnd(DType::F32, &[4, 3], 2)]);
}

#[test]
fn empty_reductions_and_empty_outputs() {
    for kind in KINDS {
        check(red(kind, &[1], true), vec![rnd(DType::F32, &[2, 0, 4], 1)]);
        check(red(kind, &[1], false), vec![rnd(DType::F32, &[0, 3], 1)]);
    }
}

#[test]
fn other_dtypes() {
    for kind in KINDS {
        check_tol(red(kind, &[1], false), vec![rnd(DType::F16, &[3, 300], 3)], 1e-2, 1e-2);
    }
    for dt in [DType::I32, DType::I64, DType::U32, DType::U64, DType::F64] {
        for kind in [
            ReduceKind::Sum,
            ReduceKind::Mean,
            ReduceKind::Max,
            ReduceKind::Min,
            ReduceKind::Prod,
            ReduceKind::L1,
            ReduceKind::SumSquare,
        ] {
            check(red(kind, &[0], false), vec![rnd(dt, &[5, 3], 4)]);
            check(red(kind, &[1], true), vec![rnd(dt, &[2, 400], 4)]);
        }
    }
    for kind in [ReduceKind::L2, ReduceKind::LogSumExp, ReduceKind::LogSum] {
        let x = rnd(DType::F64, &[3, 4, 300], 6).map(|t| {
            let v: Vec<f64> = t.as_slice::<f64>().unwrap().iter().map(|x| x.abs() + 0.5).collect();
            Tensor::from_vec(vec![3, 4, 300], v).unwrap()
        });
        check_tol(red(kind, &[0, 2], true), vec![x.clone()], 1e-6, 1e-6);
        check_tol(red(kind, &[1], false), vec![x], 1e-6, 1e-6);
    }
    for dt in [DType::Bool, DType::I8, DType::U8] {
        check(red(ReduceKind::Max, &[1], false), vec![rnd(dt, &[4, 9], 5)]);
        check(red(ReduceKind::Min, &[0], true), vec![rnd(dt, &[4, 300], 5)]);
    }
}

#[test]
fn many_outputs_past_the_workgroup_limit() {
    // Workgroup per output, more than 65535 outputs.
    check(
        red(ReduceKind::Sum, &[1], false),
        vec![rnd(DType::F32, &[66000, 256], 9)],
    );
    // Invocation per output, more than 65535 * 256 outputs.
    check(
        red(ReduceKind::Max, &[1], false),
        vec![rnd(DType::F32, &[17_000_000, 1], 9)],
    );
}

fn arg(kind: ArgKind, axis: i64, keepdims: bool, last: bool) -> Op {
    Op::Reduce(ReduceOp::Arg {
        kind,
        axis,
        keepdims,
        select_last_index: last,
    })
}

#[test]
fn argmax_argmin() {
    for kind in [ArgKind::Max, ArgKind::Min] {
        for last in [false, true] {
            for keep in [false, true] {
                check(arg(kind, 1, keep, last), vec![rnd(DType::F32, &[3, 7, 5], 1)]);
                check(arg(kind, -1, keep, last), vec![rnd(DType::F32, &[3, 1000], 1)]);
                // Ties everywhere: small ints.
                check(arg(kind, 0, keep, last), vec![rnd(DType::I32, &[300, 6], 2)]);
                check(arg(kind, 1, keep, last), vec![rnd(DType::I64, &[4, 9], 2)]);
            }
        }
    }
    check(arg(ArgKind::Max, 0, true, false), vec![rnd(DType::F16, &[500, 3], 3)]);
    check(arg(ArgKind::Min, 1, false, true), vec![rnd(DType::U8, &[5, 50], 3)]);
}

fn sm(kind: SoftmaxKind, axis: i64, coerce_2d: bool) -> Op {
    Op::Reduce(ReduceOp::Softmax { kind, axis, coerce_2d })
}

#[test]
fn softmax_family() {
    for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax] {
        for coerce in [false, true] {
            check(sm(kind, -1, coerce), vec![rnd(DType::F32, &[3, 4, 5], 1)]);
            check(sm(kind, 1, coerce), vec![rnd(DType::F32, &[3, 4, 5], 1)]);
            check(sm(kind, 0, coerce), vec![rnd(DType::F32, &[3, 4, 5], 1)]);
            check(sm(kind, -1, coerce), vec![rnd(DType::F32, &[2, 3000], 1)]);
            check(sm(kind, 1, coerce), vec![rnd(DType::F32, &[2, 300, 3], 1)]);
        }
        check_tol(sm(kind, -1, false), vec![rnd(DType::F16, &[4, 700], 2)], 1e-2, 1e-3);
        check(sm(kind, 0, false), vec![rnd(DType::F32, &[], 2)]);
        check(sm(kind, 1, false), vec![rnd(DType::F32, &[3, 0, 2], 2)]);
    }
    check(sm(SoftmaxKind::Hardmax, 1, false), vec![rnd(DType::I32, &[6, 5], 3)]);
    for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax] {
        check_tol(sm(kind, 1, false), vec![rnd(DType::F64, &[3, 500], 4)], 1e-5, 1e-6);
    }
}

#[test]
fn cumsum_cumprod() {
    for kind in [ScanKind::Sum, ScanKind::Prod] {
        for exclusive in [false, true] {
            for reverse in [false, true] {
                let op = Op::Reduce(ReduceOp::Scan {
                    kind,
                    exclusive,
                    reverse,
                });
                for axis in [0i64, 1, -1] {
                    let a = Some(Tensor::scalar(axis));
                    check(op.clone(), vec![rnd(DType::F32, &[3, 4, 5], 1), a.clone()]);
                    check(op.clone(), vec![rnd(DType::I32, &[3, 4, 5], 1), a.clone()]);
                    check(op.clone(), vec![rnd(DType::I64, &[3, 4, 5], 1), a]);
                }
            }
        }
    }
}
