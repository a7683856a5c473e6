//! Device tests of the layout kernels against the CPU reference.

use crate::wgpu::tests::{check, rnd};
use suanli_kernels::ops::layout::{PadMode, ScatterReduction, SliceAttrs};
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, Op, Tensor};

fn l(op: LayoutOp) -> Op {
    Op::Layout(op)
}

fn ints(v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
}

fn i32s(v: &[i32]) -> Option<Tensor> {
    Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
}

fn scalar(v: i64) -> Option<Tensor> {
    Some(Tensor::scalar(v))
}

const DTYPES: [DType; 7] = [
    DType::F32,
    DType::F16,
    DType::F64,
    DType::I64,
    DType::I32,
    DType::U8,
    DType::Bool,
];

#[test]
fn views() {
    let x = rnd(DType::F32, &[2, 3, 4], 1);
    check(
        l(LayoutOp::Reshape { allowzero: false }),
        vec![x.clone(), ints(&[0, -1])],
    );
    check(l(LayoutOp::Flatten { axis: -1 }), vec![x.clone()]);
    check(
        l(LayoutOp::Squeeze { axes: None }),
        vec![rnd(DType::I64, &[1, 3, 1], 2)],
    );
    check(
        l(LayoutOp::Squeeze { axes: None }),
        vec![rnd(DType::I64, &[1, 3, 1], 2), ints(&[-1])],
    );
    check(l(LayoutOp::Unsqueeze { axes: None }), vec![x.clone(), ints(&[0, -1])]);
    check(l(LayoutOp::Unsqueeze { axes: Some(vec![1]) }), vec![x.clone()]);
    check(l(LayoutOp::Identity), vec![rnd(DType::Bool, &[5], 3)]);
    let dropout = LayoutOp::Dropout {
        ratio: 0.5,
        training: false,
        mask_bool: true,
    };
    check(l(dropout), vec![x.clone()]);
    let dropout = LayoutOp::Dropout {
        ratio: 0.5,
        training: false,
        mask_bool: false,
    };
    check(l(dropout), vec![x.clone()]);
}

#[test]
fn host_outputs_and_fills() {
    let x = rnd(DType::F32, &[2, 3, 4], 1);
    check(l(LayoutOp::Shape { start: 0, end: None }), vec![x.clone()]);
    check(
        l(LayoutOp::Shape {
            start: -2,
            end: Some(-1),
        }),
        vec![x.clone()],
    );
    check(l(LayoutOp::Size), vec![x.clone()]);
    check(l(LayoutOp::Range), vec![scalar(2), scalar(20), scalar(3)]);
    let f = |v: f32| Some(Tensor::scalar(v));
    check(l(LayoutOp::Range), vec![f(1.0), f(-2.0), f(-0.25)]);
    for v in [
        Tensor::scalar(1.5f32),
        Tensor::scalar(-7i64),
        Tensor::scalar(true),
        Tensor::scalar(2.5f64),
    ] {
        check(l(LayoutOp::ConstantOfShape { value: v }), vec![ints(&[3, 70000])]);
    }
    check(
        l(LayoutOp::ConstantOfShape {
            value: Tensor::scalar(i64::MIN),
        }),
        vec![ints(&[2])],
    );
    let h = Tensor::scalar(1.0f32).cast(DType::F16).ok();
    if let Some(h) = h {
        check(l(LayoutOp::ConstantOfShape { value: h }), vec![ints(&[4, 0])]);
    }
    for k in [-2, 0, 1, 7] {
        check(
            l(LayoutOp::EyeLike { dtype: None, k }),
            vec![rnd(DType::F32, &[4, 5], 1)],
        );
    }
    check(
        l(LayoutOp::EyeLike {
            dtype: Some(DType::I64),
            k: 1,
        }),
        vec![rnd(DType::F32, &[3, 3], 1)],
    );
}

#[test]
fn transpose_variants() {
    for dt in DTYPES {
        check(l(LayoutOp::Transpose { perm: None }), vec![rnd(dt, &[3, 5, 7], 1)]);
        check(
            l(LayoutOp::Transpose {
                perm: Some(vec![0, 2, 1]),
            }),
            vec![rnd(dt, &[2, 33, 17], 2)],
        );
    }
    check(
        l(LayoutOp::Transpose {
            perm: Some(vec![-1, 0, 2, 1]),
        }),
        vec![rnd(DType::F32, &[2, 3, 4, 5], 3)],
    );
    check(l(LayoutOp::Transpose { perm: None }), vec![rnd(DType::F32, &[], 3)]);
    check(l(LayoutOp::Transpose { perm: None }), vec![rnd(DType::F32, &[0, 3], 3)]);
    let perm = Some(vec![8, 7, 6, 5, 4, 3, 2, 1, 0]);
    check(
        l(LayoutOp::Transpose { perm }),
        vec![rnd(DType::I32, &[2, 1, 3, 2, 1, 2, 3, 2, 2], 4)],
    );
    // More than 65535 workgroups.
    check(
        l(LayoutOp::Transpose { perm: None }),
        vec![rnd(DType::U8, &[4100, 4100], 5)],
    );
}

#[test]
fn depth_space() {
    let x = rnd(DType::F32, &[2, 8, 3, 5], 1);
    check(
        l(LayoutOp::DepthToSpace {
            blocksize: 2,
            crd: false,
        }),
        vec![x.clone()],
    );
    check(
        l(LayoutOp::DepthToSpace {
            blocksize: 2,
            crd: true,
        }),
        vec![x],
    );
    check(
        l(LayoutOp::SpaceToDepth { blocksize: 3 }),
        vec![rnd(DType::I64, &[1, 2, 6, 9], 2)],
    );
}

#[test]
fn slices() {
    let x = rnd(DType::F32, &[5, 7, 9], 1);
    let s = |a: &[i64], b: &[i64], ax: Option<&[i64]>, st: Option<&[i64]>| {
        vec![x.clone(), ints(a), ints(b), ax.and_then(ints), st.and_then(ints)]
    };
    let op = l(LayoutOp::Slice { attrs: None });
    check(op.clone(), s(&[1], &[4], None, None));
    check(op.clone(), s(&[1, -3], &[100, -1], Some(&[2, 0]), None));
    check(op.clone(), s(&[-1], &[i64::MIN], Some(&[1]), Some(&[-2])));
    check(op.clone(), s(&[8, 0], &[-100, 7], Some(&[-1, 1]), Some(&[-3, 2])));
    check(op.clone(), s(&[3], &[1], Some(&[0]), Some(&[1])));
    check(
        op.clone(),
        s(&[0, 0, 0], &[i64::MAX, i64::MAX, i64::MAX], None, Some(&[2, 3, 4])),
    );
    let i32_inputs = vec![x.clone(), i32s(&[1]), i32s(&[-1]), i32s(&[2]), None];
    check(op.clone(), i32_inputs);
    let attrs = SliceAttrs {
        starts: vec![0, 1],
        ends: vec![2, 10],
        axes: Some(vec![0, -1]),
    };
    check(
        l(LayoutOp::Slice { attrs: Some(attrs) }),
        vec![rnd(DType::I64, &[5, 7, 9], 2)],
    );
}

#[test]
fn splits_and_concats() {
    let x = rnd(DType::F32, &[4, 7, 3], 1);
    let split = |axis, split: Option<Vec<i64>>, n, uneven| LayoutOp::Split {
        axis,
        split,
        num_outputs: n,
        uneven,
    };
    check(l(split(1, Some(vec![2, 0, 5]), 3, false)), vec![x.clone()]);
    check(l(split(-2, None, 4, true)), vec![x.clone()]);
    check(l(split(0, None, 2, false)), vec![x.clone()]);
    check(l(split(2, None, 2, false)), vec![x.clone(), ints(&[1, 2])]);
    for dt in DTYPES {
        let ins = vec![
            rnd(dt, &[2, 3, 4], 1),
            rnd(dt, &[2, 1, 4], 2),
            rnd(dt, &[2, 0, 4], 3),
            rnd(dt, &[2, 5, 4], 4),
        ];
        check(l(LayoutOp::Concat { axis: 1 }), ins);
    }
    check(
        l(LayoutOp::Concat { axis: -1 }),
        vec![rnd(DType::F32, &[3, 2], 1), rnd(DType::F32, &[3, 5], 2)],
    );
    check(l(LayoutOp::Concat { axis: 0 }), vec![rnd(DType::I64, &[3], 1)]);
    let many: Vec<_> = (0..12).map(|i| rnd(DType::F32, &[2, i % 3 + 1], i as u64)).collect();
    check(l(LayoutOp::Concat { axis: 1 }), many);
}

#[test]
fn expand_tile() {
    for dt in DTYPES {
        check(l(LayoutOp::Expand), vec![rnd(dt, &[3, 1], 1), ints(&[2, 1, 6])]);
        check(l(LayoutOp::Tile), vec![rnd(dt, &[2, 3], 2), ints(&[3, 2])]);
    }
    check(
        l(LayoutOp::Expand),
        vec![rnd(DType::F32, &[1, 4, 1], 1), ints(&[3, 1, 5])],
    );
    check(l(LayoutOp::Expand), vec![rnd(DType::F32, &[2, 3], 1), ints(&[1])]);
    check(
        l(LayoutOp::Tile),
        vec![rnd(DType::F32, &[2, 3, 1], 2), ints(&[1, 0, 4])],
    );
}

#[test]
fn pads() {
    let x = rnd(DType::F32, &[3, 4, 5], 1);
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap] {
        let op = l(LayoutOp::Pad {
            mode,
            pads: None,
            value: 0.0,
        });
        check(op.clone(), vec![x.clone(), ints(&[1, 0, 2, 0, 3, 1]), None, None]);
        check(op.clone(), vec![x.clone(), ints(&[-1, 2, 0, 1, -2, 3]), None, None]);
        check(op.clone(), vec![x.clone(), ints(&[3, 7]), None, ints(&[-1])]);
        let op = l(LayoutOp::Pad {
            mode,
            pads: Some(vec![0, 2, 1, 0, 3, 2]),
            value: 1.5,
        });
        check(op, vec![rnd(DType::I64, &[3, 4, 5], 2)]);
    }
    let op = l(LayoutOp::Pad {
        mode: PadMode::Constant,
        pads: None,
        value: 0.0,
    });
    check(
        op.clone(),
        vec![x.clone(), ints(&[1, 1, 1, 1, 1, 1]), Some(Tensor::scalar(2.5f32)), None],
    );
    let xi = rnd(DType::I64, &[4, 2], 3);
    check(
        op.clone(),
        vec![xi, ints(&[1, 2, 3, 4]), Some(Tensor::scalar(-9i64)), None],
    );
    check(op, vec![rnd(DType::F32, &[0, 2], 3), ints(&[1, 0, 1, 0]), None, None]);
    check(
        l(LayoutOp::CenterCropPad { axes: None }),
        vec![x.clone(), ints(&[2, 7, 5])],
    );
    check(l(LayoutOp::CenterCropPad { axes: Some(vec![-1]) }), vec![x, ints(&[2])]);
}

#[test]
fn trilu_reverse() {
    for upper in [true, false] {
        for k in [-9, -1, 0, 2, 9] {
            check(
                l(LayoutOp::Trilu { upper }),
                vec![rnd(DType::F32, &[2, 4, 5], 1), scalar(k)],
            );
        }
        check(l(LayoutOp::Trilu { upper }), vec![rnd(DType::I64, &[3, 3], 1)]);
    }
    let op = |b, t| {
        l(LayoutOp::ReverseSequence {
            batch_axis: b,
            time_axis: t,
        })
    };
    check(op(1, 0), vec![rnd(DType::F32, &[4, 3, 2], 1), ints(&[4, 1, 3])]);
    check(op(0, 1), vec![rnd(DType::I32, &[3, 4], 1), ints(&[0, 2, 4])]);
}

fn idx(shape: &[usize], v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).ok()
}

#[test]
fn gathers() {
    for dt in DTYPES {
        check(
            l(LayoutOp::Gather { axis: 1 }),
            vec![rnd(dt, &[3, 5, 2], 1), idx(&[2, 2], &[0, -1, 4, 2])],
        );
    }
    check(
        l(LayoutOp::Gather { axis: 0 }),
        vec![rnd(DType::F32, &[5, 3], 1), i32s(&[4, -5, 1])],
    );
    check(
        l(LayoutOp::Gather { axis: -1 }),
        vec![rnd(DType::F32, &[5, 3], 1), scalar(-1)],
    );
    let x = rnd(DType::F32, &[3, 4], 2);
    check(
        l(LayoutOp::GatherElements { axis: 1 }),
        vec![x.clone(), idx(&[3, 2], &[0, 3, -1, 2, 1, 1])],
    );
    check(
        l(LayoutOp::GatherElements { axis: -2 }),
        vec![x.clone(), idx(&[2, 4], &[0, 2, 1, -3, 2, 2, 0, 1])],
    );
    let d = rnd(DType::I64, &[2, 3, 4], 3);
    check(
        l(LayoutOp::GatherND { batch_dims: 0 }),
        vec![d.clone(), idx(&[2, 2], &[0, 1, 1, -1])],
    );
    check(
        l(LayoutOp::GatherND { batch_dims: 0 }),
        vec![d.clone(), idx(&[2, 1, 3], &[0, 1, 3, 1, 2, 0])],
    );
    check(
        l(LayoutOp::GatherND { batch_dims: 1 }),
        vec![d.clone(), idx(&[2, 1], &[2, 0])],
    );
    check(
        l(LayoutOp::GatherND { batch_dims: 1 }),
        vec![d, idx(&[2, 2, 2], &[0, 1, 2, 3, 1, 0, -1, -1])],
    );
}

#[test]
fn scatters() {
    let reds = [
        ScatterReduction::None,
        ScatterReduction::Add,
        ScatterReduction::Mul,
        ScatterReduction::Max,
        ScatterReduction::Min,
    ];
    for reduction in reds {
        for dt in [DType::F32, DType::I64, DType::I32] {
            let op = l(LayoutOp::ScatterElements { axis: 1, reduction });
            let ins = vec![
                rnd(dt, &[3, 4], 1),
                idx(&[2, 3], &[1, 1, -1, 0, 2, 0]),
                rnd(dt, &[2, 3], 2),
            ];
            check(op, ins);
            let op = l(LayoutOp::ScatterND { reduction });
            let ins = vec![rnd(dt, &[4, 3], 1), idx(&[3, 1], &[1, 3, 1]), rnd(dt, &[3, 3], 2)];
            check(op.clone(), ins);
            let ins = vec![rnd(dt, &[4, 3], 1), idx(&[2, 2], &[1, 2, -1, 0]), rnd(dt, &[2], 2)];
            check(op, ins);
        }
    }
    let op = l(LayoutOp::ScatterElements {
        axis: 0,
        reduction: ScatterReduction::None,
    });
    check(
        op,
        vec![
            rnd(DType::Bool, &[3, 2], 1),
            idx(&[1, 2], &[2, -3]),
            rnd(DType::Bool, &[1, 2], 2),
        ],
    );
}

#[test]
fn one_hot() {
    let values = Tensor::from_vec(vec![2], vec![0.5f32, 3.0]).ok();
    for axis in [-1, 0, 1] {
        check(
            l(LayoutOp::OneHot { axis }),
            vec![idx(&[2, 3], &[0, 1, -1, 4, 2, 9]), scalar(5), values.clone()],
        );
    }
    let fi = Tensor::from_vec(vec![3], vec![1.0f32, 0.0, 2.7]).ok();
    let vi = Tensor::from_vec(vec![2], vec![0i64, 1]).ok();
    check(
        l(LayoutOp::OneHot { axis: -1 }),
        vec![fi, Some(Tensor::scalar(3.0f32)), vi],
    );
}
