//! Conformance cases for the pool family.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::conv::{AutoPad, Window};
use suanli_kernels::ops::PoolOp;
use suanli_kernels::{DType, Op};

fn win(k: &[usize], s: &[usize], pads: &[usize], d: &[usize], auto_pad: AutoPad) -> Window {
    Window {
        kernel_shape: Some(k.to_vec()),
        strides: s.to_vec(),
        dilations: d.to_vec(),
        pads: pads.to_vec(),
        auto_pad,
    }
}

fn case(name: &str, op: PoolOp, dt: DType, x: &[usize]) -> Case {
    let c = Case::new(format!("pool/{name}"), Op::Pool(op), vec![Some(random(dt, x, 7))]);
    if dt == DType::F16 {
        c.tol(1e-2, 1e-2)
    } else {
        c.tol(1e-4, 1e-4)
    }
}

fn max(window: Window, ceil_mode: bool, col_major: bool, with_indices: bool) -> PoolOp {
    PoolOp::MaxPool {
        window,
        ceil_mode,
        col_major,
        with_indices,
    }
}

fn avg(window: Window, ceil_mode: bool, count_include_pad: bool) -> PoolOp {
    PoolOp::AveragePool {
        window,
        ceil_mode,
        count_include_pad,
    }
}

/// Every pool case.
pub fn cases() -> Vec<Case> {
    use AutoPad::*;
    let f = DType::F32;
    let x = [2, 3, 17, 19];
    let k3s2p1 = || win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[], NotSet);
    vec![
        case(
            "maxpool/resnet_3x3_s2_p1",
            max(k3s2p1(), false, false, false),
            f,
            &[1, 64, 32, 32],
        ),
        case(
            "maxpool/ceil",
            max(win(&[3, 3], &[2, 2], &[], &[], NotSet), true, false, false),
            f,
            &x,
        ),
        case(
            "maxpool/dilated",
            max(
                win(&[2, 3], &[1, 2], &[0, 1, 1, 0], &[2, 1], NotSet),
                false,
                false,
                false,
            ),
            f,
            &x,
        ),
        case(
            "maxpool/same_upper",
            max(win(&[3, 3], &[2, 2], &[], &[], SameUpper), false, false, false),
            f,
            &x,
        ),
        case(
            "maxpool/same_lower",
            max(win(&[3, 3], &[2, 2], &[], &[], SameLower), false, false, false),
            f,
            &x,
        ),
        case("maxpool/indices_row_major", max(k3s2p1(), true, false, true), f, &x),
        case(
            "maxpool/indices_col_major",
            max(win(&[2, 2], &[2, 2], &[], &[], NotSet), false, true, true),
            f,
            &x,
        ),
        case(
            "maxpool/1d",
            max(win(&[3], &[2], &[1, 1], &[], NotSet), false, false, false),
            f,
            &[2, 3, 20],
        ),
        case(
            "maxpool/3d",
            max(win(&[2, 2, 2], &[2, 1, 2], &[], &[], NotSet), true, false, false),
            f,
            &[1, 2, 5, 6, 7],
        ),
        case(
            "maxpool/f16",
            max(k3s2p1(), false, false, false),
            DType::F16,
            &[1, 4, 9, 9],
        ),
        case(
            "maxpool/f64",
            max(k3s2p1(), false, false, false),
            DType::F64,
            &[1, 4, 9, 9],
        ),
        case(
            "maxpool/u8",
            max(win(&[2, 2], &[1, 1], &[], &[], NotSet), false, false, false),
            DType::U8,
            &[1, 4, 9, 9],
        ),
        case(
            "maxpool/i8",
            max(win(&[2, 2], &[1, 1], &[], &[], NotSet), false, false, false),
            DType::I8,
            &[1, 4, 9, 9],
        ),
        case("averagepool/exclude_pad", avg(k3s2p1(), false, false), f, &x),
        case("averagepool/include_pad", avg(k3s2p1(), false, true), f, &x),
        case(
            "averagepool/ceil_exclude",
            avg(win(&[3, 3], &[2, 2], &[1, 0, 2, 1], &[], NotSet), true, false),
            f,
            &x,
        ),
        case(
            "averagepool/ceil_include",
            avg(win(&[3, 3], &[2, 2], &[1, 0, 2, 1], &[], NotSet), true, true),
            f,
            &x,
        ),
        case(
            "averagepool/dilated",
            avg(win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[2, 2], NotSet), false, true),
            f,
            &x,
        ),
        case(
            "averagepool/1d",
            avg(win(&[4], &[2], &[2, 2], &[], NotSet), false, true),
            f,
            &[2, 3, 11],
        ),
        case(
            "averagepool/3d",
            avg(
                win(&[2, 3, 2], &[1, 2, 2], &[1, 1, 1, 0, 0, 0], &[], NotSet),
                false,
                false,
            ),
            f,
            &[1, 2, 4, 7, 6],
        ),
        case("averagepool/f16", avg(k3s2p1(), false, true), DType::F16, &[1, 3, 9, 9]),
        case(
            "averagepool/f64",
            avg(k3s2p1(), false, false),
            DType::F64,
            &[1, 3, 9, 9],
        ),
        case(
            "lppool/p2",
            PoolOp::LpPool {
                window: k3s2p1(),
                ceil_mode: false,
                p: 2.0,
            },
            f,
            &x,
        ),
        case(
            "lppool/p3",
            PoolOp::LpPool {
                window: win(&[2, 2], &[1, 1], &[], &[], NotSet),
                ceil_mode: false,
                p: 3.0,
            },
            f,
            &x,
        ),
        case(
            "globalaveragepool/resnet",
            PoolOp::GlobalAveragePool,
            f,
            &[1, 2048, 7, 7],
        ),
        case(
            "globalaveragepool/large_plane",
            PoolOp::GlobalAveragePool,
            f,
            &[1, 3, 300, 301],
        ),
        case(
            "globalaveragepool/f16",
            PoolOp::GlobalAveragePool,
            DType::F16,
            &[2, 5, 10],
        ),
        case(
            "globalaveragepool/f64",
            PoolOp::GlobalAveragePool,
            DType::F64,
            &[2, 5, 10],
        ),
        case("globalmaxpool/2d", PoolOp::GlobalMaxPool, f, &x),
        case("globalmaxpool/3d", PoolOp::GlobalMaxPool, f, &[2, 2, 3, 4, 5]),
        case("globallppool/p2", PoolOp::GlobalLpPool { p: 2.0 }, f, &x),
    ]
}
