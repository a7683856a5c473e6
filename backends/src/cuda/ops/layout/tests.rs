//! Recording tests of the layout kernels: every launch matches its kernel's signature and
//! limits, and the outputs have the CPU's dtypes and shapes (and values, for host outputs).

use crate::cuda::launch::{Buf, Step};
use crate::cuda::ops::testkit::{check, idx, ints, refused, rnd, try_record};
use suanli_kernels::ops::layout::{PadMode, ScatterReduction, SliceAttrs};
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, Op, Tensor};

fn l(op: LayoutOp) -> Op {
    Op::Layout(op)
}

fn scalar(v: i64) -> Option<Tensor> {
    Some(Tensor::scalar(v))
}

const DTYPES: [DType; 9] = [
    DType::F32,
    DType::F16,
    DType::BF16,
    DType::F64,
    DType::I64,
    DType::I32,
    DType::I8,
    DType::U8,
    DType::Bool,
];

#[test]
fn views_alias_the_input() {
    let x = rnd(DType::F32, &[2, 3, 4], 1);
    for (op, extra) in [
        (LayoutOp::Reshape { allowzero: false }, ints(&[0, -1])),
        (LayoutOp::Flatten { axis: -1 }, None),
        (LayoutOp::Unsqueeze { axes: Some(vec![1]) }, None),
        (LayoutOp::Identity, None),
    ] {
        let mut ins = vec![x.clone()];
        if extra.is_some() {
            ins.push(extra);
        }
        let rec = check(&l(op), ins);
        assert!(rec.steps.is_empty(), "a view records no work");
    }
    check(
        &l(LayoutOp::Squeeze { axes: None }),
        vec![rnd(DType::I64, &[1, 3, 1], 2), ints(&[-1])],
    );
    check(&l(LayoutOp::Identity), vec![rnd(DType::Bool, &[0, 5], 3)]);
    for mask_bool in [true, false] {
        let d = LayoutOp::Dropout {
            ratio: 0.5,
            training: false,
            mask_bool,
        };
        check(&l(d), vec![x.clone()]);
    }
}

#[test]
fn host_outputs_and_fills() {
    let x = rnd(DType::F32, &[2, 3, 4], 1);
    check(&l(LayoutOp::Shape { start: 0, end: None }), vec![x.clone()]);
    check(
        &l(LayoutOp::Shape {
            start: -2,
            end: Some(-1),
        }),
        vec![x.clone()],
    );
    check(&l(LayoutOp::Size), vec![x.clone()]);
    check(&l(LayoutOp::Range), vec![scalar(2), scalar(20), scalar(3)]);
    let f = |v: f32| Some(Tensor::scalar(v));
    check(&l(LayoutOp::Range), vec![f(1.0), f(-2.0), f(-0.25)]);
    for v in [
        Tensor::scalar(1.5f32),
        Tensor::scalar(-7i64),
        Tensor::scalar(true),
        Tensor::scalar(2.5f64),
        Tensor::scalar(i64::MIN),
    ] {
        let rec = check(&l(LayoutOp::ConstantOfShape { value: v }), vec![ints(&[3, 700])]);
        assert_eq!(rec.entries(), ["suanli_copy_strided"]);
    }
    let h = Tensor::scalar(1.0f32).cast(DType::F16).unwrap();
    let rec = check(&l(LayoutOp::ConstantOfShape { value: h }), vec![ints(&[4, 0])]);
    assert!(rec.steps.is_empty(), "nothing to fill");
    for k in [-2, 0, 1, 7] {
        check(
            &l(LayoutOp::EyeLike { dtype: None, k }),
            vec![rnd(DType::F32, &[4, 5], 1)],
        );
    }
    for dt in [DType::I64, DType::F16, DType::Bool, DType::BF16] {
        check(
            &l(LayoutOp::EyeLike { dtype: Some(dt), k: 1 }),
            vec![rnd(DType::F32, &[3, 3], 1)],
        );
    }
}

#[test]
fn fill_bits_are_the_dtype_bits() {
    use super::bits_of;
    assert_eq!(bits_of(&Tensor::scalar(1.0f32), DType::F32).unwrap(), 0x3f80_0000);
    assert_eq!(bits_of(&Tensor::scalar(1.0f32), DType::F16).unwrap(), 0x3c00);
    assert_eq!(bits_of(&Tensor::scalar(1.0f32), DType::BF16).unwrap(), 0x3f80);
    assert_eq!(bits_of(&Tensor::scalar(-1.0f32), DType::I8).unwrap(), 0xff);
    assert_eq!(bits_of(&Tensor::scalar(-3i64), DType::I64).unwrap(), -3);
    assert_eq!(bits_of(&Tensor::scalar(1.0f64), DType::Bool).unwrap(), 1);
}

#[test]
fn transposes_and_depth_space() {
    for dt in DTYPES {
        check(&l(LayoutOp::Transpose { perm: None }), vec![rnd(dt, &[3, 5, 7], 1)]);
        check(
            &l(LayoutOp::Transpose {
                perm: Some(vec![0, 2, 1]),
            }),
            vec![rnd(dt, &[2, 33, 17], 2)],
        );
    }
    check(&l(LayoutOp::Transpose { perm: None }), vec![rnd(DType::F32, &[], 3)]);
    // Transposes of long dims go through shared-memory tiles; short ones through the walk.
    let rec = check(
        &l(LayoutOp::Transpose { perm: None }),
        vec![rnd(DType::F32, &[257, 7001], 3)],
    );
    assert_eq!(rec.entries(), ["suanli_copy_tiled"]);
    let rec = check(
        &l(LayoutOp::Transpose {
            perm: Some(vec![0, 2, 3, 1]),
        }),
        vec![rnd(DType::F16, &[2, 64, 7, 9], 3)],
    );
    assert_eq!(rec.entries(), ["suanli_copy_tiled"], "NCHW to NHWC");
    let rec = check(
        &l(LayoutOp::Transpose {
            perm: Some(vec![0, 2, 3, 1]),
        }),
        vec![rnd(DType::F32, &[2, 3, 40, 40], 3)],
    );
    assert_eq!(
        rec.entries(),
        ["suanli_copy_strided"],
        "three channels are too few to tile"
    );
    check(
        &l(LayoutOp::Transpose { perm: None }),
        vec![rnd(DType::F32, &[0, 3], 3)],
    );
    // Rank 9 with unit dims folds to at most 8 walked dims.
    let perm = Some(vec![8, 7, 6, 5, 4, 3, 2, 1, 0]);
    check(
        &l(LayoutOp::Transpose { perm }),
        vec![rnd(DType::I32, &[2, 1, 3, 2, 1, 2, 3, 2, 2], 4)],
    );
    // Nine real dims cannot be walked: refused at launch, never a panic.
    let perm = Some(vec![8, 7, 6, 5, 4, 3, 2, 1, 0]);
    let x = rnd(DType::U8, &[2; 9], 4);
    assert!(try_record(&l(LayoutOp::Transpose { perm }), &[x]).is_err());
    for crd in [false, true] {
        check(
            &l(LayoutOp::DepthToSpace { blocksize: 2, crd }),
            vec![rnd(DType::F16, &[1, 8, 2, 3], 5)],
        );
    }
    check(
        &l(LayoutOp::SpaceToDepth { blocksize: 2 }),
        vec![rnd(DType::F32, &[1, 2, 4, 6], 6)],
    );
}

#[test]
fn slices_splits_and_concats() {
    let x = rnd(DType::F32, &[3, 4, 5], 7);
    let sl = |st: &[i64], en: &[i64], ax: Option<&[i64]>, sp: Option<&[i64]>| {
        vec![x.clone(), ints(st), ints(en), ax.and_then(ints), sp.and_then(ints)]
    };
    let slice = || l(LayoutOp::Slice { attrs: None });
    check(&slice(), sl(&[0, 1, 2], &[3, 3, 4], None, None));
    check(&slice(), sl(&[-2], &[-1], Some(&[-1]), None));
    check(&slice(), sl(&[-1, 1], &[i64::MIN, 4], Some(&[0, 1]), Some(&[-1, 1])));
    check(&slice(), sl(&[3], &[1], Some(&[2]), Some(&[1])));
    check(&slice(), sl(&[0], &[5], Some(&[2]), Some(&[3])));
    // A slice of whole leading rows is one byte copy.
    let rec = check(&slice(), sl(&[1], &[3], Some(&[0]), None));
    assert!(matches!(rec.steps.as_slice(), [Step::Copy(c)] if c.src_offset == 20 * 4 && c.bytes == 40 * 4));
    check(
        &l(LayoutOp::Slice {
            attrs: Some(SliceAttrs {
                starts: vec![1, 0],
                ends: vec![3, -1],
                axes: Some(vec![0, 2]),
            }),
        }),
        vec![x.clone()],
    );
    let split = |axis, split: Option<Vec<i64>>, n, uneven| {
        l(LayoutOp::Split {
            axis,
            split,
            num_outputs: n,
            uneven,
        })
    };
    check(&split(1, Some(vec![1, 3]), 2, false), vec![x.clone()]);
    check(&split(2, None, 3, false), vec![x.clone(), ints(&[2, 2, 1])]);
    check(&split(-1, None, 3, true), vec![x.clone()]);
    check(&split(0, Some(vec![0, 3]), 2, false), vec![x.clone()]);
    for dt in DTYPES {
        check(&split(0, None, 3, false), vec![rnd(dt, &[3, 2], 1)]);
        check(
            &l(LayoutOp::Concat { axis: 1 }),
            vec![rnd(dt, &[2, 3, 4], 1), rnd(dt, &[2, 5, 4], 2)],
        );
    }
    let rec = check(
        &l(LayoutOp::Concat { axis: 0 }),
        vec![x.clone(), rnd(DType::F32, &[1, 4, 5], 14)],
    );
    assert!(
        rec.steps.iter().all(|s| matches!(s, Step::Copy(_))),
        "concatenating along the outer axis is byte copies"
    );
    check(
        &l(LayoutOp::Concat { axis: -1 }),
        vec![
            x.clone(),
            rnd(DType::F32, &[3, 4, 1], 15),
            rnd(DType::F32, &[3, 4, 2], 16),
        ],
    );
    check(
        &l(LayoutOp::Concat { axis: 1 }),
        vec![x.clone(), rnd(DType::F32, &[3, 0, 5], 17)],
    );
    let many: Vec<_> = (0..10).map(|i| rnd(DType::I64, &[2, 2], 20 + i)).collect();
    check(&l(LayoutOp::Concat { axis: 1 }), many);
}

#[test]
fn expand_tile_pad() {
    let x = rnd(DType::F32, &[3, 4, 5], 7);
    for dt in DTYPES {
        check(&l(LayoutOp::Expand), vec![rnd(dt, &[3, 1], 4), ints(&[2, 3, 5])]);
        check(&l(LayoutOp::Tile), vec![rnd(dt, &[2, 3], 1), ints(&[2, 3])]);
        check(
            &l(LayoutOp::Pad {
                mode: PadMode::Reflect,
                pads: None,
                value: 0.0,
            }),
            vec![rnd(dt, &[3, 4], 1), ints(&[1, 2, 2, 3]), None, None],
        );
    }
    check(&l(LayoutOp::Expand), vec![x.clone(), ints(&[1, 5])]);
    check(&l(LayoutOp::Tile), vec![x.clone(), ints(&[1, 0, 1])]);
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap] {
        let pad = l(LayoutOp::Pad {
            mode,
            pads: None,
            value: 0.0,
        });
        check(&pad, vec![x.clone(), ints(&[1, 2, 3, 2, 1, 0]), None, None]);
        check(&pad, vec![x.clone(), ints(&[-1, 0, 2, 0, -2, 1]), None, None]);
        check(&pad, vec![x.clone(), ints(&[2, 3]), None, ints(&[-2])]);
        check(
            &l(LayoutOp::Pad {
                mode,
                pads: Some(vec![1, 0, 0, 1, 2, 0]),
                value: 1.25,
            }),
            vec![x.clone()],
        );
    }
    // A constant value input is read on the device; padding an empty tensor only fills.
    let pad = l(LayoutOp::Pad {
        mode: PadMode::Constant,
        pads: None,
        value: 0.0,
    });
    let rec = check(
        &pad,
        vec![
            x.clone(),
            ints(&[0, 1, 1, 1, 0, 2]),
            Some(Tensor::scalar(-3.5f32)),
            None,
        ],
    );
    assert!(rec
        .steps
        .iter()
        .any(|s| matches!(s, Step::Kernel(k) if k.args.contains(&crate::cuda::launch::Arg::Ptr(Buf::In(2))))));
    check(&pad, vec![rnd(DType::F64, &[0, 2], 1), ints(&[1, 0, 1, 0]), None, None]);
    check(
        &l(LayoutOp::CenterCropPad { axes: None }),
        vec![x.clone(), ints(&[2, 7, 4])],
    );
}

#[test]
fn trilu_and_reverse_sequence() {
    for dt in DTYPES {
        for k in [-5, 0, 5] {
            check(
                &l(LayoutOp::Trilu { upper: true }),
                vec![rnd(dt, &[2, 4, 6], 1), scalar(k)],
            );
        }
        check(&l(LayoutOp::Trilu { upper: false }), vec![rnd(dt, &[5, 5], 1)]);
    }
    check(&l(LayoutOp::Trilu { upper: false }), vec![rnd(DType::F32, &[0, 5], 1)]);
    check(
        &l(LayoutOp::ReverseSequence {
            batch_axis: 1,
            time_axis: 0,
        }),
        vec![rnd(DType::F32, &[4, 4], 2), ints(&[4, 3, 2, 1])],
    );
    check(
        &l(LayoutOp::ReverseSequence {
            batch_axis: 0,
            time_axis: 1,
        }),
        vec![
            rnd(DType::F16, &[3, 4, 2], 2),
            Tensor::from_vec(vec![3], vec![1i32, 2, 4]).ok(),
        ],
    );
}

#[test]
fn gathers() {
    let d = rnd(DType::F32, &[5, 4, 3], 22);
    for dt in DTYPES {
        check(
            &l(LayoutOp::Gather { axis: 1 }),
            vec![rnd(dt, &[2, 3, 4], 1), idx(&[2, 2], &[0, -1, 2, 1])],
        );
    }
    check(&l(LayoutOp::Gather { axis: -1 }), vec![d.clone(), scalar(-1)]);
    check(
        &l(LayoutOp::Gather { axis: 2 }),
        vec![d.clone(), Tensor::from_vec(vec![2], vec![2i32, -3]).ok()],
    );
    check(&l(LayoutOp::Gather { axis: 0 }), vec![d.clone(), idx(&[0], &[])]);
    check(
        &l(LayoutOp::GatherElements { axis: 0 }),
        vec![d.clone(), idx(&[2, 2, 3], &[0, 4, -1, 2, 3, 1, 1, 1, 0, 0, 2, 4])],
    );
    check(
        &l(LayoutOp::GatherElements { axis: -1 }),
        vec![d.clone(), idx(&[1, 4, 2], &[0, 2, 1, -1, 2, 2, 0, 1])],
    );
    check(
        &l(LayoutOp::GatherND { batch_dims: 0 }),
        vec![d.clone(), idx(&[2, 2], &[0, 1, 4, -1])],
    );
    check(
        &l(LayoutOp::GatherND { batch_dims: 0 }),
        vec![d.clone(), idx(&[2, 3], &[0, 1, 2, 4, 3, 0])],
    );
    check(
        &l(LayoutOp::GatherND { batch_dims: 1 }),
        vec![d.clone(), idx(&[5, 1], &[0, 1, 2, 3, -1])],
    );
    // Float indices are refused like on the CPU.
    refused(
        &l(LayoutOp::Gather { axis: 0 }),
        &[d.clone(), Tensor::from_vec(vec![1], vec![0.0f32]).ok()],
    );
    // Out-of-range indices (a CPU error) still record a launch: the kernel clamps.
    assert!(try_record(&l(LayoutOp::Gather { axis: 0 }), &[d, ints(&[9])]).is_ok());
}

#[test]
fn scatters() {
    for red in [
        ScatterReduction::None,
        ScatterReduction::Add,
        ScatterReduction::Mul,
        ScatterReduction::Max,
        ScatterReduction::Min,
    ] {
        for dt in [DType::F32, DType::F16, DType::BF16, DType::I64, DType::U8, DType::F64] {
            check(
                &l(LayoutOp::ScatterElements {
                    axis: 1,
                    reduction: red,
                }),
                vec![
                    rnd(dt, &[3, 5], 23),
                    idx(&[2, 3], &[1, 1, 4, -1, 0, 0]),
                    rnd(dt, &[2, 3], 24),
                ],
            );
            check(
                &l(LayoutOp::ScatterND { reduction: red }),
                vec![
                    rnd(dt, &[4, 4, 3], 25),
                    idx(&[3, 1], &[0, 2, 0]),
                    rnd(dt, &[3, 4, 3], 26),
                ],
            );
        }
        check(
            &l(LayoutOp::ScatterND { reduction: red }),
            vec![
                rnd(DType::I64, &[4, 3], 27),
                idx(&[3, 2], &[1, 2, 3, 0, 1, 2]),
                rnd(DType::I64, &[3], 28),
            ],
        );
    }
    check(
        &l(LayoutOp::ScatterElements {
            axis: 0,
            reduction: ScatterReduction::None,
        }),
        vec![
            rnd(DType::Bool, &[3, 3], 5),
            idx(&[2, 3], &[1, 0, 2, 0, 2, 1]),
            rnd(DType::Bool, &[2, 3], 6),
        ],
    );
    refused(
        &l(LayoutOp::ScatterElements {
            axis: 0,
            reduction: ScatterReduction::Add,
        }),
        &[
            rnd(DType::Bool, &[3, 3], 5),
            idx(&[2, 3], &[1, 0, 2, 0, 2, 1]),
            rnd(DType::Bool, &[2, 3], 6),
        ],
    );
    // No updates: only the copy of the data.
    let rec = check(
        &l(LayoutOp::ScatterND {
            reduction: ScatterReduction::None,
        }),
        vec![
            rnd(DType::F32, &[4, 3], 1),
            idx(&[0, 1], &[]),
            rnd(DType::F32, &[0, 3], 2),
        ],
    );
    assert!(matches!(rec.steps.as_slice(), [Step::Copy(_)]));
}

#[test]
fn one_hot() {
    let values = Tensor::from_vec(vec![2], vec![1.0f32, 5.0]).ok();
    for axis in [-1, 0, 1] {
        check(
            &l(LayoutOp::OneHot { axis }),
            vec![idx(&[2, 2], &[0, 3, -1, 2]), scalar(4), values.clone()],
        );
    }
    check(
        &l(LayoutOp::OneHot { axis: -1 }),
        vec![
            Tensor::from_vec(vec![3], vec![0.0f32, 2.0, 1.5]).ok(),
            Some(Tensor::scalar(3.0f32)),
            Tensor::from_vec(vec![2], vec![0i64, 1]).ok(),
        ],
    );
}

#[test]
fn refusals() {
    let x = [rnd(DType::F32, &[2, 3], 1)];
    refused(&l(LayoutOp::NonZero), &x);
    refused(
        &l(LayoutOp::Unique {
            axis: None,
            sorted: true,
        }),
        &x,
    );
    let strs = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).ok();
    refused(&l(LayoutOp::Transpose { perm: None }), &[strs]);
}
