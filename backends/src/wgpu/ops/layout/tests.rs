//! Device tests of the layout kernels against the CPU reference.

use crate::wgpu::tests::{check, rnd};
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, Op, Tensor};

fn l(op: LayoutOp) -> Op {
    Op::Layout(op)
}

fn ints(v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
}

#[test]
fn transpose_variants() {
    for dt in [DType::F32, DType::F16, DType::I64, DType::U8, DType::Bool, DType::F64] {
        check(l(LayoutOp::Transpose { perm: None }), vec![rnd(dt, &[3, 5, 7], 1)]);
        check(
            l(LayoutOp::Transpose {
                perm: Some(vec![0, 2, 1]),
            }),
            vec![rnd(dt, &[2, 33, 17], 2)],
        );
    }
}
