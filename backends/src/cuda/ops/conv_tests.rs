//! Recording tests of the conv lowering: signatures, launch limits, GEMM extents (checked
//! against the buffers by `signature::check`) and output shapes against the CPU.

use super::SCRATCH_LIMIT;
use crate::cuda::launch::{Buf, Step};
use crate::cuda::ops::testkit::{check, refused, rnd, try_record, Recorded};
use suanli_kernels::ops::conv::{AutoPad, Window};
use suanli_kernels::ops::fused::Activation;
use suanli_kernels::ops::{ConvOp, FusedOp};
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

fn plain() -> Window {
    win(&[], &[], &[], AutoPad::NotSet)
}

fn pad1() -> Window {
    win(&[], &[1, 1, 1, 1], &[], AutoPad::NotSet)
}

fn conv(dt: DType, x: &[usize], w: &[usize], bias: bool, group: usize, window: Window) -> Recorded {
    check(
        &Op::Conv(ConvOp::Conv { window, group }),
        vec![
            rnd(dt, x, 1),
            rnd(dt, w, 2),
            if bias { rnd(dt, &[w[0]], 3) } else { None },
        ],
    )
}

#[test]
fn gemm_paths() {
    let f = DType::F32;
    // im2col + one GEMM straight into Y (+ the bias epilogue).
    let rec = conv(
        f,
        &[1, 3, 64, 64],
        &[64, 3, 7, 7],
        true,
        1,
        win(&[2, 2], &[3, 3, 3, 3], &[], AutoPad::NotSet),
    );
    assert_eq!(rec.entries(), ["suanli_im2col", "suanli_epilogue"]);
    assert_eq!(rec.gemms(), 1);
    let rec = conv(f, &[1, 64, 16, 16], &[64, 64, 3, 3], false, 1, pad1());
    assert_eq!(
        rec.entries(),
        ["suanli_im2col"],
        "no epilogue without bias or activation"
    );
    conv(
        f,
        &[1, 20, 13, 11],
        &[70, 20, 3, 3],
        true,
        1,
        win(&[2, 2], &[1, 1, 1, 1], &[], AutoPad::NotSet),
    );
    conv(
        f,
        &[2, 8, 13, 11],
        &[16, 8, 3, 3],
        true,
        1,
        win(&[2, 1], &[1, 0, 2, 1], &[], AutoPad::NotSet),
    );
    // 1×1 stride 1: no im2col at all.
    let rec = conv(f, &[2, 64, 9, 9], &[256, 64, 1, 1], true, 1, plain());
    assert_eq!(rec.entries(), ["suanli_epilogue"]);
    assert!(matches!(&rec.steps[0], Step::Gemm(g) if g.b == Buf::In(0) && g.batch == 2));
    let rec = conv(
        f,
        &[1, 64, 15, 15],
        &[128, 64, 1, 1],
        true,
        1,
        win(&[2, 2], &[], &[], AutoPad::NotSet),
    );
    assert_eq!(
        rec.entries(),
        ["suanli_im2col", "suanli_epilogue"],
        "1×1 with stride 2 gathers"
    );
}

#[test]
fn groups_and_depthwise() {
    let f = DType::F32;
    for n in [1, 3] {
        let rec = conv(f, &[n, 64, 10, 10], &[64, 16, 3, 3], false, 4, pad1());
        let Some(Step::Gemm(g)) = rec.steps.iter().find(|s| matches!(s, Step::Gemm(_))) else {
            panic!("a GEMM")
        };
        assert_eq!(g.batch, n * 4, "one GEMM over (image, group)");
        let copies = rec.steps.iter().filter(|s| matches!(s, Step::Copy(_))).count();
        assert_eq!(copies, if n == 1 { 0 } else { n }, "weights replicated per image");
        conv(f, &[n, 64, 10, 10], &[64, 16, 1, 1], true, 4, plain());
    }
    for (x, w, g, window) in [
        (&[1, 32, 14, 14][..], &[32, 1, 3, 3][..], 32, pad1()),
        (
            &[2, 16, 15, 15],
            &[32, 1, 3, 3],
            16,
            win(&[2, 2], &[1, 1, 1, 1], &[], AutoPad::NotSet),
        ),
        (&[1, 6, 10, 10], &[4, 3, 3, 3], 2, plain()),
        (
            &[1, 4, 6, 7, 8],
            &[4, 1, 2, 2, 2],
            4,
            win(&[], &[], &[2, 1, 1], AutoPad::NotSet),
        ),
    ] {
        let rec = conv(f, x, w, true, g, window);
        assert_eq!(rec.entries(), ["suanli_conv_direct"]);
    }
}

#[test]
fn windows_ranks_and_dtypes() {
    let f = DType::F32;
    conv(
        f,
        &[1, 8, 20, 20],
        &[16, 8, 3, 3],
        true,
        1,
        win(&[], &[2, 2, 2, 2], &[2, 2], AutoPad::NotSet),
    );
    conv(
        f,
        &[1, 8, 17, 20],
        &[16, 8, 3, 4],
        true,
        1,
        win(&[2, 3], &[], &[], AutoPad::SameUpper),
    );
    conv(
        f,
        &[1, 8, 17, 20],
        &[16, 8, 4, 3],
        false,
        1,
        win(&[2, 2], &[], &[], AutoPad::SameLower),
    );
    conv(
        f,
        &[1, 8, 17, 20],
        &[16, 8, 3, 3],
        false,
        1,
        win(&[2, 2], &[], &[1, 2], AutoPad::Valid),
    );
    conv(
        f,
        &[2, 5, 31],
        &[17, 5, 4],
        true,
        1,
        win(&[2], &[1, 2], &[], AutoPad::NotSet),
    );
    conv(
        f,
        &[1, 4, 6, 7, 8],
        &[16, 4, 3, 3, 3],
        true,
        1,
        win(&[1, 2, 1], &[1; 6], &[], AutoPad::NotSet),
    );
    for dt in [DType::F16, DType::BF16, DType::F64] {
        conv(dt, &[1, 8, 9, 9], &[16, 8, 3, 3], true, 1, pad1());
        conv(dt, &[2, 8, 9, 9], &[8, 1, 3, 3], true, 8, pad1());
        conv(dt, &[2, 8, 9, 9], &[16, 8, 1, 1], true, 1, plain());
    }
}

#[test]
fn empty_inputs() {
    let rec = conv(DType::F32, &[0, 3, 8, 8], &[16, 3, 3, 3], true, 1, plain());
    assert!(rec.steps.is_empty());
    conv(DType::F32, &[1, 3, 8, 8], &[0, 3, 3, 3], false, 1, plain());
}

#[test]
fn large_inputs_are_chunked() {
    // 2 × 512 channels × 3×3 over 128×128: 2.4 GB of columns, done in chunks below the limit.
    let op = Op::Conv(ConvOp::Conv {
        window: pad1(),
        group: 1,
    });
    let rec = try_record(
        &op,
        &[
            rnd(DType::F32, &[2, 512, 128, 128], 1),
            rnd(DType::F32, &[64, 512, 3, 3], 2),
            None,
        ],
    )
    .expect("records");
    assert!(
        rec.scratch.iter().all(|&(dt, n)| n * dt.size() <= SCRATCH_LIMIT),
        "{:?}",
        rec.scratch
    );
    let stores = rec.entries().iter().filter(|e| *e == "suanli_conv_store").count();
    assert!(stores > 1 && rec.gemms() == stores, "{stores} chunks");
    assert_eq!(rec.outputs[0].shape, [2, 64, 128, 128]);
}

#[test]
fn fused_conv() {
    for (act, residual) in [
        (Activation::Relu, false),
        (Activation::Silu, true),
        (Activation::Clip(0.0, 6.0), true),
        (Activation::None, true),
    ] {
        let op = Op::Fused(FusedOp::Conv {
            window: pad1(),
            group: 1,
            act,
            residual,
        });
        let r = |shape: &[usize]| if residual { rnd(DType::F32, shape, 4) } else { None };
        let rec = check(
            &op,
            vec![
                rnd(DType::F32, &[2, 8, 9, 9], 1),
                rnd(DType::F32, &[16, 8, 3, 3], 2),
                rnd(DType::F32, &[16], 3),
                r(&[2, 16, 9, 9]),
            ],
        );
        assert_eq!(rec.entries().last().map(String::as_str), Some("suanli_epilogue"));
        let dw = Op::Fused(FusedOp::Conv {
            window: pad1(),
            group: 8,
            act,
            residual,
        });
        // The CPU fuses f32 only; the CUDA kernels take every float type.
        try_record(
            &dw,
            &[
                rnd(DType::F16, &[1, 8, 9, 9], 1),
                rnd(DType::F16, &[8, 1, 3, 3], 2),
                None,
                if residual {
                    rnd(DType::F16, &[1, 8, 9, 9], 4)
                } else {
                    None
                },
            ],
        )
        .expect("records");
    }
}

#[test]
fn refusals_and_errors() {
    let op = Op::Conv(ConvOp::Conv {
        window: plain(),
        group: 1,
    });
    refused(
        &op,
        &[
            rnd(DType::I32, &[1, 3, 8, 8], 1),
            rnd(DType::I32, &[4, 3, 3, 3], 2),
            None,
        ],
    );
    refused(
        &op,
        &[
            rnd(DType::F32, &[1, 3, 8, 8], 1),
            rnd(DType::F16, &[4, 3, 3, 3], 2),
            None,
        ],
    );
    refused(
        &op,
        &[
            rnd(DType::F32, &[1, 3, 2, 2, 2, 2], 1),
            rnd(DType::F32, &[4, 3, 1, 1, 1, 1], 2),
            None,
        ],
    );
    let t = Op::Conv(ConvOp::ConvTranspose {
        window: plain(),
        group: 1,
        output_padding: vec![],
        output_shape: None,
    });
    refused(
        &t,
        &[
            rnd(DType::F32, &[1, 3, 8, 8], 1),
            rnd(DType::F32, &[3, 4, 3, 3], 2),
            None,
        ],
    );
    // Mismatched channels are the CPU's error, reported by the launch.
    assert!(try_record(
        &op,
        &[
            rnd(DType::F32, &[1, 3, 8, 8], 1),
            rnd(DType::F32, &[4, 2, 3, 3], 2),
            None
        ]
    )
    .is_err());
}
