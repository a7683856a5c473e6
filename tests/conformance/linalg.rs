//! Conformance cases for the linalg family.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::linalg::GemmArgs;
use suanli_kernels::ops::LinalgOp;
use suanli_kernels::{DType, Op};

fn mm(name: &str, dt: DType, a: &[usize], b: &[usize]) -> Case {
    let c = Case::new(
        format!("linalg/matmul/{name}"),
        Op::Linalg(LinalgOp::MatMul),
        vec![Some(random(dt, a, 1)), Some(random(dt, b, 2))],
    );
    match dt {
        DType::F16 => c.tol(1e-2, 5e-2),
        _ => c.tol(1e-4, 1e-4),
    }
}

fn gemm(name: &str, a: &[usize], b: &[usize], c: Option<&[usize]>, g: GemmArgs) -> Case {
    Case::new(
        format!("linalg/gemm/{name}"),
        Op::Linalg(LinalgOp::Gemm(g)),
        vec![
            Some(random(DType::F32, a, 3)),
            Some(random(DType::F32, b, 4)),
            c.map(|c| random(DType::F32, c, 5)),
        ],
    )
    .tol(1e-4, 1e-4)
}

fn args(alpha: f32, beta: f32, trans_a: bool, trans_b: bool) -> GemmArgs {
    GemmArgs {
        alpha,
        beta,
        trans_a,
        trans_b,
    }
}

/// Every linalg case.
pub fn cases() -> Vec<Case> {
    vec![
        mm("f32_square_tile", DType::F32, &[64, 64], &[64, 64]),
        mm("f32_tails", DType::F32, &[67, 45], &[45, 130]),
        mm("f32_vec_mat", DType::F32, &[45], &[45, 30]),
        mm("f32_mat_vec", DType::F32, &[20, 45], &[45]),
        mm("f32_dot", DType::F32, &[45], &[45]),
        mm("f32_batched", DType::F32, &[4, 33, 17], &[4, 17, 70]),
        mm("f32_broadcast_b", DType::F32, &[4, 33, 17], &[17, 70]),
        mm("f32_broadcast_both", DType::F32, &[2, 1, 5, 7], &[3, 7, 9]),
        mm("f32_attention_like", DType::F32, &[2, 4, 10, 16], &[2, 4, 16, 10]),
        mm("f32_long_k", DType::F32, &[3, 700], &[700, 5]),
        mm("f32_empty_k", DType::F32, &[3, 0], &[0, 4]),
        mm("f16", DType::F16, &[37, 70], &[70, 41]),
        mm("f64", DType::F64, &[2, 37, 70], &[70, 41]),
        mm("i32", DType::I32, &[2, 37, 70], &[70, 41]),
        mm("i64", DType::I64, &[37, 20], &[2, 20, 41]),
        gemm("plain", &[29, 37], &[37, 70], None, args(1.0, 1.0, false, false)),
        gemm(
            "trans_a",
            &[37, 29],
            &[37, 70],
            Some(&[29, 70]),
            args(0.5, 2.0, true, false),
        ),
        gemm(
            "trans_b",
            &[29, 37],
            &[70, 37],
            Some(&[29, 70]),
            args(1.0, 1.0, false, true),
        ),
        gemm(
            "trans_ab",
            &[37, 29],
            &[70, 37],
            Some(&[29, 70]),
            args(2.0, 0.5, true, true),
        ),
        gemm(
            "bias_row",
            &[29, 37],
            &[37, 70],
            Some(&[70]),
            args(1.0, 1.0, false, false),
        ),
        gemm(
            "bias_col",
            &[29, 37],
            &[37, 70],
            Some(&[29, 1]),
            args(1.0, -1.0, false, false),
        ),
        gemm(
            "bias_scalar",
            &[29, 37],
            &[37, 70],
            Some(&[]),
            args(1.0, 3.0, false, false),
        ),
        gemm(
            "beta_zero",
            &[29, 37],
            &[37, 70],
            Some(&[29, 70]),
            args(1.5, 0.0, false, false),
        ),
        gemm(
            "fc_layer",
            &[1, 2048],
            &[1000, 2048],
            Some(&[1000]),
            args(1.0, 1.0, false, true),
        ),
    ]
}
