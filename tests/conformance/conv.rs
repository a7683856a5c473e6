//! Conformance cases for the conv family.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::conv::{AutoPad, Window};
use suanli_kernels::ops::ConvOp;
use suanli_kernels::{DType, Op};

fn win(s: &[usize], pads: &[usize], d: &[usize], auto_pad: AutoPad) -> Window {
    Window {
        kernel_shape: None,
        strides: s.to_vec(),
        dilations: d.to_vec(),
        pads: pads.to_vec(),
        auto_pad,
    }
}

fn conv(name: &str, dt: DType, x: &[usize], w: &[usize], bias: bool, group: usize, window: Window) -> Case {
    let c = Case::new(
        format!("conv/conv/{name}"),
        Op::Conv(ConvOp::Conv { window, group }),
        vec![
            Some(random(dt, x, 1)),
            Some(random(dt, w, 2)),
            bias.then(|| random(dt, &[w[0]], 3)),
        ],
    );
    if dt == DType::F16 {
        c.tol(1e-2, 5e-2)
    } else {
        c.tol(1e-4, 1e-4)
    }
}

/// Every conv case.
pub fn cases() -> Vec<Case> {
    use AutoPad::*;
    let f = DType::F32;
    vec![
        conv(
            "stem_7x7_s2_p3",
            f,
            &[1, 3, 64, 64],
            &[64, 3, 7, 7],
            true,
            1,
            win(&[2, 2], &[3, 3, 3, 3], &[], NotSet),
        ),
        conv(
            "3x3_p1",
            f,
            &[1, 64, 16, 16],
            &[64, 64, 3, 3],
            false,
            1,
            win(&[], &[1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "3x3_s2_odd",
            f,
            &[1, 20, 13, 11],
            &[70, 20, 3, 3],
            true,
            1,
            win(&[2, 2], &[1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "1x1",
            f,
            &[2, 64, 9, 9],
            &[256, 64, 1, 1],
            true,
            1,
            win(&[], &[], &[], NotSet),
        ),
        conv(
            "1x1_s2",
            f,
            &[1, 64, 15, 15],
            &[128, 64, 1, 1],
            true,
            1,
            win(&[2, 2], &[], &[], NotSet),
        ),
        conv(
            "asym_pads",
            f,
            &[1, 8, 13, 11],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[2, 1], &[1, 0, 2, 1], &[], NotSet),
        ),
        conv(
            "depthwise_3x3",
            f,
            &[1, 32, 14, 14],
            &[32, 1, 3, 3],
            true,
            32,
            win(&[], &[1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "depthwise_mult2_s2",
            f,
            &[2, 16, 15, 15],
            &[32, 1, 3, 3],
            true,
            16,
            win(&[2, 2], &[1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "grouped_4",
            f,
            &[1, 64, 10, 10],
            &[64, 16, 3, 3],
            false,
            4,
            win(&[], &[1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "grouped_small",
            f,
            &[1, 6, 10, 10],
            &[4, 3, 3, 3],
            true,
            2,
            win(&[], &[], &[], NotSet),
        ),
        conv(
            "dilation_2",
            f,
            &[1, 8, 20, 20],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[], &[2, 2, 2, 2], &[2, 2], NotSet),
        ),
        conv(
            "same_upper",
            f,
            &[1, 8, 17, 20],
            &[16, 8, 3, 4],
            true,
            1,
            win(&[2, 3], &[], &[], SameUpper),
        ),
        conv(
            "same_lower",
            f,
            &[1, 8, 17, 20],
            &[16, 8, 4, 3],
            false,
            1,
            win(&[2, 2], &[], &[], SameLower),
        ),
        conv(
            "valid_dilated",
            f,
            &[1, 8, 17, 20],
            &[16, 8, 3, 3],
            false,
            1,
            win(&[2, 2], &[], &[1, 2], Valid),
        ),
        conv(
            "1d",
            f,
            &[2, 5, 31],
            &[17, 5, 4],
            true,
            1,
            win(&[2], &[1, 2], &[], NotSet),
        ),
        conv(
            "3d",
            f,
            &[1, 4, 6, 7, 8],
            &[16, 4, 3, 3, 3],
            true,
            1,
            win(&[1, 2, 1], &[1, 1, 1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "3d_depthwise",
            f,
            &[1, 4, 6, 7, 8],
            &[4, 1, 2, 2, 2],
            false,
            4,
            win(&[], &[], &[2, 1, 1], NotSet),
        ),
        conv(
            "f16",
            DType::F16,
            &[1, 8, 9, 9],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[], &[1, 1, 1, 1], &[], NotSet),
        ),
        conv(
            "f64",
            DType::F64,
            &[1, 8, 9, 9],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[], &[1, 1, 1, 1], &[], NotSet),
        ),
    ]
}
