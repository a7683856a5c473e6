//! Recording tests of the reduce family: every launch matches its kernel's signature and a
//! valid launch configuration, and the outputs have the CPU reference's dtypes and shapes.

use super::{plan, AxesLayout, STATE_BYTES};
use crate::conformance::{random, spec_for};
use crate::cuda::launch::{Arg, InputDesc, LaunchCx, OutputKind, Step};
use crate::cuda::ops::{lower, signature, CudaSource, Target};
use suanli_kernels::compare::check_tensor;
use suanli_kernels::ops::reduce::{ArgKind, ReduceKind, ScanKind, SoftmaxKind};
use suanli_kernels::ops::ReduceOp;
use suanli_kernels::{DType, KernelSpec, Op, Tensor, TensorType};

/// What a checked case recorded.
pub(crate) struct Recorded {
    pub steps: Vec<Step>,
}

fn rnd(dt: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(random(dt, shape, seed))
}

/// Lower `op` for these inputs, record its launch and check it: signatures, launch
/// configurations, output dtypes and shapes (and values of host outputs) against the CPU.
pub(crate) fn check(op: Op, inputs: Vec<Option<Tensor>>) -> Recorded {
    let refs: Vec<Option<&Tensor>> = inputs.iter().map(|t| t.as_ref()).collect();
    let want = op.run(&refs).unwrap_or_else(|e| panic!("CPU rejected {op:?}: {e}"));
    let spec = spec_for(&op, &inputs).unwrap();
    let what = spec.describe();
    let k = lower(&spec, &Target::SM80).unwrap_or_else(|e| panic!("{what}: not lowered: {e}"));
    let descs = inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| InputDesc {
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
            })
        })
        .collect();
    let value = |i: usize| -> crate::device::Result<Tensor> { Ok(inputs[i].clone().expect("input present")) };
    let mut cx = LaunchCx::new(op.name(), descs, &value);
    k.launch(&mut cx).unwrap_or_else(|e| panic!("{what}: launch: {e}"));
    let sources = k.sources();
    signature::check(&sources, &cx).unwrap_or_else(|e| panic!("{what}: {e}"));
    let outs = cx.outputs();
    assert!(outs.len() >= want.len(), "{what}: {} outputs", outs.len());
    for (o, w) in outs.iter().zip(&want) {
        assert_eq!((o.dtype, o.shape.as_slice()), (w.dtype(), w.shape()), "{what}");
        if let OutputKind::Host(t) = &o.kind {
            check_tensor(t, w, 0.0, 0.0).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
    for step in cx.steps() {
        if let Step::Kernel(l) = step {
            check_config(&sources[l.source], &l.args, l.grid, l.block, l.shared_bytes, &what);
        }
    }
    Recorded {
        steps: cx.steps().to_vec(),
    }
}

/// Launch limits, and the block split the axis kernels and the block scan rely on.
fn check_config(src: &CudaSource, args: &[Arg], grid: [u32; 3], block: [u32; 3], shared: u32, what: &str) {
    assert!(
        block[0] >= 1 && block[0] <= 1024 && block[1] == 1 && block[2] == 1,
        "{what}: {block:?}"
    );
    assert!(
        grid[0] >= 1 && grid[0] <= 65_536 && grid[1] == 1 && grid[2] == 1,
        "{what}: {grid:?}"
    );
    assert!(shared <= Target::SM80.max_shared_bytes, "{what}: {shared} bytes");
    let int = |a: &Arg| match a {
        Arg::I32(v) => *v as u32,
        other => panic!("{what}: expected an int, got {other:?}"),
    };
    let b = block[0];
    if src.source.contains("suanli_axes<St>") {
        let (rt, mode) = (int(&args[args.len() - 2]), int(&args[args.len() - 1]));
        assert!(rt >= 1 && b.is_multiple_of(rt), "{what}: rt {rt}, block {b}");
        if mode == 0 {
            assert!(rt.is_multiple_of(32), "{what}: rows mode with rt {rt}");
            assert!(shared >= b / 32 * STATE_BYTES, "{what}");
        } else {
            assert!(mode == 1 && rt.is_power_of_two(), "{what}: mode {mode}, rt {rt}");
            assert!(rt == 1 || shared >= b * STATE_BYTES, "{what}");
        }
    } else if src.entry == "suanli_scan" && int(args.last().unwrap()) == 1 {
        assert!(b.is_multiple_of(32), "{what}: block scan with {b} threads");
    }
}

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

fn red(kind: ReduceKind, axes: Option<&[i64]>, keepdims: bool, noop: bool) -> Op {
    Op::Reduce(ReduceOp::Reduce {
        kind,
        axes: axes.map(|a| a.to_vec()),
        keepdims,
        noop_with_empty_axes: noop,
    })
}

#[test]
fn layouts_merge_and_split_axes() {
    let l = AxesLayout::new(&[4, 5, 6, 3], &[true, false, false, true]);
    assert_eq!(l.kept, vec![(30, 3)]);
    assert_eq!(l.red, vec![(4, 90), (3, 1)]);
    assert_eq!((l.outputs(), l.reduced(), l.contiguous()), (30, 12, true));
    let l = AxesLayout::new(&[600, 1, 5], &[true, true, false]);
    assert_eq!(
        (l.kept.clone(), l.red.clone(), l.contiguous()),
        (vec![(5, 1)], vec![(600, 5)], false)
    );
    let l = AxesLayout::new(&[], &[]);
    assert_eq!((l.outputs(), l.reduced()), (1, 1));
    assert!(super::axes_words(&AxesLayout::new(&[2; 18], &[true, false].repeat(9)), "x").is_err());
}

#[test]
fn plans_fit_the_kernel() {
    for outs in [1usize, 3, 5, 31, 33, 100, 5000, 9000, 70_000, 1 << 24] {
        for red in [1usize, 2, 3, 5, 15, 16, 33, 100, 600, 1500, 5000, 1 << 20] {
            for contiguous in [false, true] {
                let p = plan(outs, red, contiguous);
                let ob = p.block / p.rt;
                assert!(p.block <= 1024 && p.block.is_multiple_of(p.rt), "{p:?}");
                assert!(p.shared <= 48 * 1024);
                assert!(p.grid as usize * ob as usize >= outs.min(65_536 * ob as usize), "{p:?}");
                if p.mode == 0 {
                    assert!(p.rt.is_multiple_of(32) && contiguous, "{p:?}");
                } else {
                    assert!(p.rt.is_power_of_two(), "{p:?}");
                }
            }
        }
    }
    // Long contiguous rows: warps or whole blocks per row.
    assert_eq!(plan(3, 1500, true).rt, 256);
    assert_eq!(plan(2, 1 << 20, true).block, 1024);
    assert_eq!(plan(1000, 64, true).rt, 32);
    // Columns: adjacent threads on adjacent outputs.
    let p = plan(5, 600, false);
    assert_eq!((p.mode, p.block / p.rt), (1, 8));
    assert_eq!(plan(100_000, 5, false).rt, 1);
}

#[test]
fn every_kind_axis_pattern_and_dtype() {
    let patterns: [(&[usize], &[i64]); 9] = [
        (&[4, 7], &[-1]),
        (&[6, 5], &[0]),
        (&[3, 9, 4], &[1]),
        (&[4, 5, 6, 3], &[0, 3]),
        (&[2, 5, 6, 3], &[1, -2]),
        (&[3, 4, 5], &[0, 1, 2]),
        (&[3, 1500], &[1]),
        (&[600, 5], &[0]),
        (&[2, 1, 300, 1, 3], &[1, 2, 3]),
    ];
    for kind in KINDS {
        for (shape, axes) in patterns {
            for keep in [true, false] {
                check(red(kind, Some(axes), keep, false), vec![rnd(DType::F32, shape, 1)]);
            }
        }
        for dt in [DType::F16, DType::BF16, DType::F64, DType::I32, DType::U64, DType::I8] {
            check(red(kind, Some(&[1]), true, false), vec![rnd(dt, &[3, 300, 2], 4)]);
        }
    }
    for dt in [DType::Bool, DType::U8, DType::I16, DType::U16] {
        for kind in [ReduceKind::Max, ReduceKind::Min] {
            check(red(kind, Some(&[0]), true, false), vec![rnd(dt, &[300, 3], 7)]);
        }
    }
}

#[test]
fn axes_inputs_noop_empty_and_scalars() {
    let x = rnd(DType::F32, &[3, 4, 5], 2);
    let axes = Some(Tensor::from_vec(vec![2], vec![0i64, 2]).unwrap());
    let none = Some(Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap());
    for kind in KINDS {
        check(red(kind, None, false, false), vec![x.clone(), axes.clone()]);
        check(red(kind, None, true, true), vec![x.clone(), none.clone()]);
        check(red(kind, None, false, false), vec![x.clone(), none.clone()]);
        check(red(kind, None, true, false), vec![x.clone()]);
        check(red(kind, Some(&[]), false, false), vec![rnd(DType::F32, &[], 3)]);
        // Nothing to reduce: the constant comes from the host; no output elements: no launch.
        let r = check(red(kind, Some(&[1]), true, false), vec![rnd(DType::F32, &[2, 0, 4], 3)]);
        assert!(r.steps.is_empty());
        let r = check(red(kind, Some(&[1]), false, false), vec![rnd(DType::F32, &[0, 4], 3)]);
        assert!(r.steps.is_empty());
    }
}

#[test]
fn many_outputs_loop_past_the_grid() {
    // Warps per output and a thread per output, more output groups than blocks.
    check(
        red(ReduceKind::Sum, Some(&[1]), false, false),
        vec![rnd(DType::F32, &[600_000, 16], 9)],
    );
    check(
        red(ReduceKind::Max, Some(&[0]), false, false),
        vec![rnd(DType::F32, &[2, 100_000], 9)],
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
                check(arg(kind, -1, keep, last), vec![rnd(DType::F32, &[2, 2000], 1)]);
                check(arg(kind, 0, keep, last), vec![rnd(DType::I32, &[300, 4], 2)]);
                check(arg(kind, 1, keep, last), vec![rnd(DType::I64, &[4, 20], 2)]);
                check(arg(kind, 1, keep, last), vec![rnd(DType::F16, &[5, 6], 2)]);
            }
        }
    }
    check(arg(ArgKind::Max, 0, false, false), vec![rnd(DType::Bool, &[40, 3], 3)]);
    check(arg(ArgKind::Min, 1, true, true), vec![rnd(DType::U8, &[5, 50], 3)]);
}

fn sm(kind: SoftmaxKind, axis: i64, coerce_2d: bool) -> Op {
    Op::Reduce(ReduceOp::Softmax { kind, axis, coerce_2d })
}

#[test]
fn softmax_family() {
    for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax] {
        for coerce in [false, true] {
            for (shape, axis) in [
                (&[3, 4, 5][..], -1i64),
                (&[3, 4, 5], 0),
                (&[3, 4, 5], 1),
                (&[2, 3000], 1),
                (&[2, 400, 3], 1),
            ] {
                check(sm(kind, axis, coerce), vec![rnd(DType::F32, shape, 1)]);
            }
        }
        for dt in [DType::F16, DType::BF16, DType::F64] {
            check(sm(kind, -1, false), vec![rnd(dt, &[4, 500], 2)]);
        }
        check(sm(kind, -1, false), vec![rnd(DType::F32, &[], 2)]);
        let r = check(sm(kind, -1, false), vec![rnd(DType::F32, &[3, 0], 2)]);
        assert!(r.steps.is_empty());
    }
    check(sm(SoftmaxKind::Hardmax, 1, false), vec![rnd(DType::I32, &[6, 5], 3)]);
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
                for (dt, shape, axis) in [
                    (DType::F32, &[3, 4, 5][..], 1i64),
                    (DType::F32, &[3, 4, 5], -3),
                    (DType::F64, &[3, 4, 5], 0),
                    (DType::I32, &[3, 4, 5], 2),
                    (DType::I64, &[3, 4, 5], -1),
                    (DType::F16, &[2, 3000], 1),
                    (DType::U8, &[700, 3], 0),
                ] {
                    let r = check(op.clone(), vec![rnd(dt, shape, 10), Some(Tensor::scalar(axis))]);
                    assert_eq!(r.steps.len(), 1);
                }
            }
        }
    }
}

#[test]
fn unsupported_specs_are_refused() {
    // Specs the CPU would reject too, built by hand (inference refuses them).
    let refuse = |op: Op, dt: DType| {
        let t = TensorType::known(dt, &[3]);
        let spec = KernelSpec {
            op,
            inputs: vec![Some(t.clone())],
            outputs: vec![t],
        };
        assert!(lower(&spec, &Target::SM80).is_err(), "{}", spec.describe());
    };
    refuse(red(ReduceKind::Sum, Some(&[0]), true, false), DType::Bool);
    refuse(sm(SoftmaxKind::Softmax, -1, false), DType::I32);
    refuse(
        Op::Reduce(ReduceOp::Scan {
            kind: ScanKind::Sum,
            exclusive: false,
            reverse: false,
        }),
        DType::F32,
    );
    let topk = ReduceOp::TopK {
        k: Some(1),
        axis: -1,
        largest: true,
        sorted: true,
    };
    refuse(Op::Reduce(topk), DType::F32);
}

/// Every distinct source of both families (all ops × dtypes) written to `$SUANLI_CUDA_DUMP`,
/// for compiling with NVRTC by hand.
#[test]
#[ignore]
fn dump_sources() {
    use suanli_kernels::ops::NormOp;
    let Ok(dir) = std::env::var("SUANLI_CUDA_DUMP") else {
        return;
    };
    let all = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::F64,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::Bool,
    ];
    let mut cases: Vec<(Op, Vec<Option<Tensor>>)> = Vec::new();
    let axis = Some(Tensor::scalar(0i64));
    for dt in all {
        let x = rnd(dt, &[3, 4], 1);
        for kind in KINDS {
            cases.push((red(kind, Some(&[1]), true, false), vec![x.clone()]));
        }
        for kind in [ArgKind::Max, ArgKind::Min] {
            for last in [false, true] {
                cases.push((arg(kind, 1, false, last), vec![x.clone()]));
            }
        }
        for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax] {
            cases.push((sm(kind, 1, false), vec![x.clone()]));
        }
        for kind in [ScanKind::Sum, ScanKind::Prod] {
            for (exclusive, reverse) in [(false, false), (false, true), (true, false), (true, true)] {
                let op = Op::Reduce(ReduceOp::Scan {
                    kind,
                    exclusive,
                    reverse,
                });
                cases.push((op, vec![x.clone(), axis.clone()]));
            }
        }
        if !dt.is_float() {
            continue;
        }
        let x = rnd(dt, &[2, 4, 3], 1);
        for pt in [dt, DType::F32] {
            let p = rnd(pt, &[4], 2);
            let ln = |axis| Op::Norm(NormOp::LayerNorm { axis, epsilon: 1e-5 });
            let tr = rnd(pt, &[3], 2);
            cases.push((ln(-1), vec![x.clone(), tr.clone(), tr.clone()]));
            cases.push((ln(-1), vec![x.clone(), tr.clone()]));
            let rms = Op::Norm(NormOp::RmsNorm {
                axis: -1,
                epsilon: 1e-5,
            });
            cases.push((rms, vec![x.clone(), tr.clone()]));
            let inorm = Op::Norm(NormOp::InstanceNorm { epsilon: 1e-5 });
            cases.push((inorm, vec![x.clone(), p.clone(), p.clone()]));
            let bn = Op::Norm(NormOp::BatchNorm {
                epsilon: 1e-5,
                momentum: 0.9,
                training: false,
            });
            cases.push((bn, vec![x.clone(), p.clone(), p.clone(), p.clone(), p.clone()]));
        }
        let lrn = Op::Norm(NormOp::Lrn {
            size: 3,
            alpha: 1e-4,
            beta: 0.75,
            bias: 1.0,
        });
        cases.push((lrn, vec![x.clone()]));
        for p in [1, 2] {
            cases.push((Op::Norm(NormOp::LpNorm { axis: 1, p }), vec![x.clone()]));
        }
        cases.push((Op::Norm(NormOp::MeanVarianceNorm { axes: vec![0, 2] }), vec![x.clone()]));
    }
    let mut names = std::collections::BTreeSet::new();
    std::fs::create_dir_all(&dir).unwrap();
    for (op, inputs) in cases {
        let Ok(spec) = spec_for(&op, &inputs) else {
            continue;
        };
        let Ok(k) = lower(&spec, &Target::SM80) else {
            continue;
        };
        for s in k.sources() {
            if names.insert(s.name.clone()) {
                std::fs::write(format!("{dir}/{}.cu", s.name), &s.source).unwrap();
            }
        }
    }
    eprintln!("{} sources in {dir}", names.len());
}

/// `shape` filled from `pattern` cycled, as `dt`.
fn cyc(dt: DType, shape: &[usize], pattern: &[f64]) -> Option<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|i| pattern[(i * 7 + i / 5) % pattern.len()]).collect();
    Tensor::from_vec(shape.to_vec(), v).ok()?.cast(dt).ok()
}

#[test]
fn special_values_and_integer_wrapping() {
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let pats: [&[f64]; 4] = [
        &[1.0, -2.0, inf, 0.5, 3.0],
        &[1.0, -inf, 2.0, 2.0, -1.0],
        &[0.5, nan, 1.5, -3.0],
        &[-inf, -inf, -inf],
    ];
    for pat in pats {
        for (shape, axes) in [
            (&[3, 700][..], &[1i64][..]),
            (&[700, 3], &[0]),
            (&[6, 5], &[1]),
            (&[5, 6], &[0]),
        ] {
            for dt in [DType::F32, DType::F16, DType::F64] {
                let x = cyc(dt, shape, pat);
                for kind in [ReduceKind::Max, ReduceKind::Min, ReduceKind::LogSumExp, ReduceKind::Sum] {
                    check(red(kind, Some(axes), false, false), vec![x.clone()]);
                }
                for (kind, last) in [(ArgKind::Max, false), (ArgKind::Max, true), (ArgKind::Min, true)] {
                    check(arg(kind, axes[0], false, last), vec![x.clone()]);
                }
                for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax] {
                    check(sm(kind, axes[0], false), vec![x.clone()]);
                }
            }
        }
    }
    // Ties: ArgMax / Hardmax pick the first (or last) of equal values across threads.
    let ties = cyc(DType::I32, &[2, 3000], &[1.0, 3.0, 3.0, 2.0]);
    for last in [false, true] {
        check(arg(ArgKind::Max, 1, true, last), vec![ties.clone()]);
    }
    check(sm(SoftmaxKind::Hardmax, 1, false), vec![ties]);
    // Integer sums and products wrap like the CPU's i64 accumulator.
    let big = |dt| cyc(dt, &[4, 300], &[2e9, -3e9, 7e8, 1.5e9, 123.0]);
    for dt in [DType::I64, DType::I32, DType::U32, DType::I16, DType::U8] {
        for kind in KINDS {
            check(red(kind, Some(&[1]), false, false), vec![big(dt)]);
            check(red(kind, Some(&[0]), false, false), vec![big(dt)]);
        }
        for kind in [ScanKind::Sum, ScanKind::Prod] {
            let op = Op::Reduce(ReduceOp::Scan {
                kind,
                exclusive: false,
                reverse: true,
            });
            check(op.clone(), vec![big(dt), Some(Tensor::scalar(1i64))]);
            check(op, vec![big(dt), Some(Tensor::scalar(0i64))]);
        }
    }
}
