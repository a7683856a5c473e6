//! Conformance cases for the layout family.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::layout::{PadMode, ScatterReduction, SliceAttrs};
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, Op, Tensor};

fn r(dt: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(random(dt, shape, seed))
}

fn ints(v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
}

fn idx(shape: &[usize], v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).ok()
}

fn dname(dt: DType) -> String {
    format!("{dt}").to_lowercase()
}

const DTYPES: [DType; 8] = [
    DType::F32,
    DType::F16,
    DType::F64,
    DType::I64,
    DType::I32,
    DType::I8,
    DType::U8,
    DType::Bool,
];

/// Every layout case.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut add = |name: String, op: LayoutOp, inputs: Vec<Option<Tensor>>| {
        v.push(Case::new(format!("layout/{name}"), Op::Layout(op), inputs));
    };
    for dt in DTYPES {
        let d = dname(dt);
        let x = r(dt, &[2, 3, 4], 1);
        add(
            format!("reshape/{d}"),
            LayoutOp::Reshape { allowzero: false },
            vec![x.clone(), ints(&[4, 0, -1])],
        );
        add(
            format!("transpose/default/{d}"),
            LayoutOp::Transpose { perm: None },
            vec![x.clone()],
        );
        add(
            format!("transpose/perm/{d}"),
            LayoutOp::Transpose {
                perm: Some(vec![1, 2, 0]),
            },
            vec![r(dt, &[5, 33, 17], 2)],
        );
        add(
            format!("slice/steps/{d}"),
            LayoutOp::Slice { attrs: None },
            vec![
                x.clone(),
                ints(&[-1, 0]),
                ints(&[-100, 3]),
                ints(&[2, 1]),
                ints(&[-2, 2]),
            ],
        );
        add(
            format!("concat/axis1/{d}"),
            LayoutOp::Concat { axis: 1 },
            vec![x.clone(), r(dt, &[2, 5, 4], 3)],
        );
        add(
            format!("split/equal/{d}"),
            LayoutOp::Split {
                axis: -1,
                split: None,
                num_outputs: 2,
                uneven: false,
            },
            vec![x.clone()],
        );
        add(
            format!("expand/{d}"),
            LayoutOp::Expand,
            vec![r(dt, &[3, 1], 4), ints(&[2, 3, 5])],
        );
        add(format!("tile/{d}"), LayoutOp::Tile, vec![x.clone(), ints(&[2, 1, 3])]);
        add(
            format!("gather/axis1/{d}"),
            LayoutOp::Gather { axis: 1 },
            vec![x.clone(), idx(&[2, 2], &[0, -1, 2, 1])],
        );
        add(
            format!("pad/edge/{d}"),
            LayoutOp::Pad {
                mode: PadMode::Edge,
                pads: None,
                value: 0.0,
            },
            vec![x.clone(), ints(&[0, 1, 2, 1, 0, 3]), None, None],
        );
        add(
            format!("trilu/upper/{d}"),
            LayoutOp::Trilu { upper: true },
            vec![x.clone(), Some(Tensor::scalar(1i64))],
        );
        add(
            format!("scatterelements/none/{d}"),
            LayoutOp::ScatterElements {
                axis: 0,
                reduction: ScatterReduction::None,
            },
            vec![r(dt, &[3, 3], 5), idx(&[2, 3], &[1, 0, 2, 0, 2, 1]), r(dt, &[2, 3], 6)],
        );
    }
    let x = r(DType::F32, &[3, 4, 5], 7);
    add("flatten/axis0".into(), LayoutOp::Flatten { axis: 0 }, vec![x.clone()]);
    add("flatten/axis-1".into(), LayoutOp::Flatten { axis: -1 }, vec![x.clone()]);
    add("flatten/axis2".into(), LayoutOp::Flatten { axis: 2 }, vec![x.clone()]);
    add(
        "squeeze/all".into(),
        LayoutOp::Squeeze { axes: None },
        vec![r(DType::F32, &[1, 3, 1, 2], 8)],
    );
    add(
        "squeeze/input".into(),
        LayoutOp::Squeeze { axes: None },
        vec![r(DType::F32, &[1, 3, 1], 8), ints(&[-1])],
    );
    add(
        "unsqueeze/input".into(),
        LayoutOp::Unsqueeze { axes: None },
        vec![x.clone(), ints(&[0, 4])],
    );
    add(
        "unsqueeze/attr".into(),
        LayoutOp::Unsqueeze { axes: Some(vec![-1]) },
        vec![x.clone()],
    );
    add("identity".into(), LayoutOp::Identity, vec![x.clone()]);
    add(
        "shape/full".into(),
        LayoutOp::Shape { start: 0, end: None },
        vec![x.clone()],
    );
    add(
        "shape/sliced".into(),
        LayoutOp::Shape {
            start: -2,
            end: Some(10),
        },
        vec![x.clone()],
    );
    add("size".into(), LayoutOp::Size, vec![x.clone()]);
    let s = |v: i64| Some(Tensor::scalar(v));
    let f = |v: f32| Some(Tensor::scalar(v));
    add("range/i64".into(), LayoutOp::Range, vec![s(10), s(-3), s(-4)]);
    add("range/f32".into(), LayoutOp::Range, vec![f(0.5), f(7.0), f(0.75)]);
    for (name, value) in [
        ("f32", Tensor::scalar(2.5f32)),
        ("i64", Tensor::scalar(-3i64)),
        ("i32", Tensor::scalar(7i32)),
        ("bool", Tensor::scalar(true)),
    ] {
        add(
            format!("constantofshape/{name}"),
            LayoutOp::ConstantOfShape { value },
            vec![ints(&[3, 4])],
        );
    }
    for k in [-1, 0, 2] {
        add(
            format!("eyelike/k{k}"),
            LayoutOp::EyeLike { dtype: None, k },
            vec![r(DType::F32, &[4, 6], 9)],
        );
    }
    add(
        "dropout/inference".into(),
        LayoutOp::Dropout {
            ratio: 0.3,
            training: false,
            mask_bool: true,
        },
        vec![x.clone()],
    );
    // Transpose / depth-space.
    add(
        "transpose/4d".into(),
        LayoutOp::Transpose {
            perm: Some(vec![0, 2, 3, 1]),
        },
        vec![r(DType::F32, &[2, 3, 4, 5], 10)],
    );
    add(
        "transpose/large".into(),
        LayoutOp::Transpose { perm: None },
        vec![r(DType::F32, &[257, 70001], 11)],
    );
    for crd in [false, true] {
        add(
            format!("depthtospace/crd{crd}"),
            LayoutOp::DepthToSpace { blocksize: 2, crd },
            vec![r(DType::F32, &[1, 8, 2, 3], 12)],
        );
    }
    add(
        "spacetodepth".into(),
        LayoutOp::SpaceToDepth { blocksize: 2 },
        vec![r(DType::F32, &[1, 2, 4, 6], 13)],
    );
    // Slice variants.
    let sl = |st: &[i64], en: &[i64], ax: Option<&[i64]>, sp: Option<&[i64]>| {
        vec![x.clone(), ints(st), ints(en), ax.and_then(ints), sp.and_then(ints)]
    };
    let slice = || LayoutOp::Slice { attrs: None };
    add(
        "slice/default_axes".into(),
        slice(),
        sl(&[0, 1, 2], &[3, 3, 4], None, None),
    );
    add("slice/neg".into(), slice(), sl(&[-2], &[-1], Some(&[-1]), None));
    add("slice/clamp".into(), slice(), sl(&[1], &[1000], Some(&[1]), None));
    // A full reverse with every other dim intact is left out: the CPU kernel returns the input
    // unchanged whenever the output shape equals the input shape.
    add(
        "slice/reverse_axis".into(),
        slice(),
        sl(&[-1, 1], &[i64::MIN, 4], Some(&[0, 1]), Some(&[-1, 1])),
    );
    add("slice/empty".into(), slice(), sl(&[3], &[1], Some(&[2]), Some(&[1])));
    add("slice/step3".into(), slice(), sl(&[0], &[5], Some(&[2]), Some(&[3])));
    add(
        "slice/attrs".into(),
        LayoutOp::Slice {
            attrs: Some(SliceAttrs {
                starts: vec![1, 0],
                ends: vec![3, -1],
                axes: Some(vec![0, 2]),
            }),
        },
        vec![x.clone()],
    );
    // Split variants.
    let split = |axis, split: Option<Vec<i64>>, n, uneven| LayoutOp::Split {
        axis,
        split,
        num_outputs: n,
        uneven,
    };
    add(
        "split/attr".into(),
        split(1, Some(vec![1, 3]), 2, false),
        vec![x.clone()],
    );
    add(
        "split/input".into(),
        split(2, None, 3, false),
        vec![x.clone(), ints(&[2, 2, 1])],
    );
    add("split/uneven".into(), split(-1, None, 3, true), vec![x.clone()]);
    add(
        "split/zero_part".into(),
        split(0, Some(vec![0, 3]), 2, false),
        vec![x.clone()],
    );
    // Concat variants.
    add(
        "concat/axis0".into(),
        LayoutOp::Concat { axis: 0 },
        vec![x.clone(), r(DType::F32, &[1, 4, 5], 14)],
    );
    add(
        "concat/neg_axis_3".into(),
        LayoutOp::Concat { axis: -1 },
        vec![x.clone(), r(DType::F32, &[3, 4, 1], 15), r(DType::F32, &[3, 4, 2], 16)],
    );
    add("concat/single".into(), LayoutOp::Concat { axis: 0 }, vec![x.clone()]);
    add(
        "concat/empty_part".into(),
        LayoutOp::Concat { axis: 1 },
        vec![x.clone(), r(DType::F32, &[3, 0, 5], 17)],
    );
    let many: Vec<_> = (0..10).map(|i| r(DType::I64, &[2, 2], 20 + i)).collect();
    add("concat/ten".into(), LayoutOp::Concat { axis: 0 }, many);
    // Expand / tile.
    add(
        "expand/rank_up".into(),
        LayoutOp::Expand,
        vec![r(DType::F32, &[4, 1], 18), ints(&[2, 1, 3])],
    );
    add(
        "expand/smaller_shape".into(),
        LayoutOp::Expand,
        vec![x.clone(), ints(&[1, 5])],
    );
    add("tile/zero".into(), LayoutOp::Tile, vec![x.clone(), ints(&[1, 0, 1])]);
    // Pad variants.
    for (mname, mode) in [
        ("constant", PadMode::Constant),
        ("reflect", PadMode::Reflect),
        ("edge", PadMode::Edge),
        ("wrap", PadMode::Wrap),
    ] {
        let pad = LayoutOp::Pad {
            mode,
            pads: None,
            value: 0.0,
        };
        add(
            format!("pad/{mname}/both"),
            pad.clone(),
            vec![x.clone(), ints(&[1, 2, 3, 2, 1, 0]), None, None],
        );
        add(
            format!("pad/{mname}/crop"),
            pad.clone(),
            vec![x.clone(), ints(&[-1, 0, 2, 0, -2, 1]), None, None],
        );
        add(
            format!("pad/{mname}/axes"),
            pad,
            vec![x.clone(), ints(&[2, 3]), None, ints(&[-2])],
        );
        add(
            format!("pad/{mname}/attrs"),
            LayoutOp::Pad {
                mode,
                pads: Some(vec![1, 0, 0, 1, 2, 0]),
                value: 1.25,
            },
            vec![x.clone()],
        );
    }
    add(
        "pad/constant/value".into(),
        LayoutOp::Pad {
            mode: PadMode::Constant,
            pads: None,
            value: 0.0,
        },
        vec![x.clone(), ints(&[0, 1, 1, 1, 0, 2]), f(-3.5), None],
    );
    add(
        "centercroppad/mixed".into(),
        LayoutOp::CenterCropPad { axes: None },
        vec![x.clone(), ints(&[2, 7, 4])],
    );
    // Trilu.
    for upper in [true, false] {
        for k in [-5, -1, 0, 1, 5] {
            let name = format!("trilu/{}/k{k}", if upper { "upper" } else { "lower" });
            add(
                name,
                LayoutOp::Trilu { upper },
                vec![r(DType::F32, &[2, 4, 6], 19), s(k)],
            );
        }
        let name = format!("trilu/{}/square_default", if upper { "upper" } else { "lower" });
        add(name, LayoutOp::Trilu { upper }, vec![r(DType::I64, &[5, 5], 19)]);
    }
    add(
        "reversesequence/batch1".into(),
        LayoutOp::ReverseSequence {
            batch_axis: 1,
            time_axis: 0,
        },
        vec![r(DType::F32, &[4, 4], 20), ints(&[4, 3, 2, 1])],
    );
    add(
        "reversesequence/batch0".into(),
        LayoutOp::ReverseSequence {
            batch_axis: 0,
            time_axis: 1,
        },
        vec![r(DType::F32, &[3, 4, 2], 21), ints(&[1, 2, 4])],
    );
    // Gather family.
    let d = r(DType::F32, &[5, 4, 3], 22);
    add(
        "gather/axis0".into(),
        LayoutOp::Gather { axis: 0 },
        vec![d.clone(), ints(&[0, 4, -2])],
    );
    add(
        "gather/scalar_index".into(),
        LayoutOp::Gather { axis: -1 },
        vec![d.clone(), s(-1)],
    );
    add(
        "gather/i32_indices".into(),
        LayoutOp::Gather { axis: 2 },
        vec![d.clone(), Tensor::from_vec(vec![2], vec![2i32, -3]).ok()],
    );
    add(
        "gatherelements/axis0".into(),
        LayoutOp::GatherElements { axis: 0 },
        vec![d.clone(), idx(&[2, 2, 3], &[0, 4, -1, 2, 3, 1, 1, 1, 0, 0, 2, 4])],
    );
    add(
        "gatherelements/axis-1".into(),
        LayoutOp::GatherElements { axis: -1 },
        vec![d.clone(), idx(&[1, 4, 2], &[0, 2, 1, -1, 2, 2, 0, 1])],
    );
    add(
        "gathernd/tuples".into(),
        LayoutOp::GatherND { batch_dims: 0 },
        vec![d.clone(), idx(&[2, 2], &[0, 1, 4, -1])],
    );
    add(
        "gathernd/full".into(),
        LayoutOp::GatherND { batch_dims: 0 },
        vec![d.clone(), idx(&[2, 3], &[0, 1, 2, 4, 3, 0])],
    );
    add(
        "gathernd/batch1".into(),
        LayoutOp::GatherND { batch_dims: 1 },
        vec![d.clone(), idx(&[5, 1], &[0, 1, 2, 3, -1])],
    );
    // Scatter family.
    for (rn, red) in [
        ("none", ScatterReduction::None),
        ("add", ScatterReduction::Add),
        ("mul", ScatterReduction::Mul),
        ("max", ScatterReduction::Max),
        ("min", ScatterReduction::Min),
    ] {
        add(
            format!("scatterelements/{rn}/dups"),
            LayoutOp::ScatterElements {
                axis: 1,
                reduction: red,
            },
            vec![
                r(DType::F32, &[3, 5], 23),
                idx(&[2, 3], &[1, 1, 4, -1, 0, 0]),
                r(DType::F32, &[2, 3], 24),
            ],
        );
        add(
            format!("scatternd/{rn}/slices"),
            LayoutOp::ScatterND { reduction: red },
            vec![
                r(DType::F32, &[4, 4, 3], 25),
                idx(&[3, 1], &[0, 2, 0]),
                r(DType::F32, &[3, 4, 3], 26),
            ],
        );
        add(
            format!("scatternd/{rn}/elements"),
            LayoutOp::ScatterND { reduction: red },
            vec![
                r(DType::I64, &[4, 3], 27),
                idx(&[3, 2], &[1, 2, 3, 0, 1, 2]),
                r(DType::I64, &[3], 28),
            ],
        );
    }
    // OneHot.
    let values = Tensor::from_vec(vec![2], vec![1.0f32, 5.0]).ok();
    for axis in [-1, 0, 1] {
        add(
            format!("onehot/axis{axis}"),
            LayoutOp::OneHot { axis },
            vec![idx(&[2, 2], &[0, 3, -1, 7]), s(4), values.clone()],
        );
    }
    add(
        "onehot/float_indices".into(),
        LayoutOp::OneHot { axis: -1 },
        vec![
            Tensor::from_vec(vec![3], vec![0.0f32, 2.0, 1.5]).ok(),
            f(3.0),
            Tensor::from_vec(vec![2], vec![0i64, 1]).ok(),
        ],
    );
    v
}
