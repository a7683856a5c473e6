use crate::wgpu::tests::{check, check_tol, rnd};
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use suanli_kernels::{DType, Op, Tensor};

fn un(u: UnaryOp) -> Op {
    Op::Elementwise(ElementwiseOp::Unary(u))
}
fn bin(b: BinaryOp) -> Op {
    Op::Elementwise(ElementwiseOp::Binary(b))
}

#[test]
fn float_unary_ops() {
    use UnaryOp::*;
    for u in [
        Abs,
        Neg,
        Sqrt,
        Exp,
        Log,
        Sin,
        Cos,
        Tan,
        Atan,
        Sinh,
        Cosh,
        Asinh,
        Ceil,
        Floor,
        Round,
        Sign,
        Erf,
        Relu,
        Sigmoid,
        Tanh,
        Softsign,
        Softplus,
        HardSwish,
        Mish,
        Reciprocal,
        LeakyRelu { alpha: 0.1 },
        Elu { alpha: 1.5 },
        Selu {
            alpha: 1.67,
            gamma: 1.05,
        },
        Celu { alpha: 0.8 },
        HardSigmoid { alpha: 0.2, beta: 0.5 },
        ThresholdedRelu { alpha: 0.3 },
        Shrink { lambd: 0.5, bias: 0.1 },
        Gelu { tanh: false },
        Gelu { tanh: true },
        Swish { alpha: 1.2 },
    ] {
        let x = rnd(DType::F32, &[3, 257], 7);
        // sqrt/log of negatives give NaN on both sides.
        check_tol(un(u), vec![x], 2e-5, 2e-6);
    }
    for u in [Asin, Acos, Atanh] {
        let x = Tensor::from_vec(vec![5], vec![-0.9f32, -0.3, 0.0, 0.4, 0.99]).ok();
        check_tol(un(u), vec![x], 2e-5, 2e-6);
    }
    let x = Tensor::from_vec(vec![4], vec![1.0f32, 1.5, 3.0, 10.0]).ok();
    check_tol(un(Acosh), vec![x], 2e-5, 2e-6);
}

#[test]
fn predicates_and_integers() {
    let x = Tensor::from_vec(vec![5], vec![1.0f32, f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0]).ok();
    check(un(UnaryOp::IsNaN), vec![x.clone()]);
    for (p, n) in [(true, true), (true, false), (false, true)] {
        check(
            un(UnaryOp::IsInf {
                detect_positive: p,
                detect_negative: n,
            }),
            vec![x.clone()],
        );
    }
    for dt in [
        DType::I8,
        DType::U8,
        DType::I16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
    ] {
        for u in [UnaryOp::Abs, UnaryOp::Neg, UnaryOp::Sign, UnaryOp::BitwiseNot] {
            check(un(u), vec![rnd(dt, &[100], 3)]);
        }
    }
    check(un(UnaryOp::Not), vec![rnd(DType::Bool, &[33], 1)]);
}

#[test]
fn binary_broadcasting_all_dtypes() {
    use BinaryOp::*;
    for dt in [
        DType::F32,
        DType::F16,
        DType::F64,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::I8,
        DType::U16,
        DType::U32,
    ] {
        for b in [
            Add,
            Sub,
            Mul,
            Div,
            Mod { fmod: true },
            Equal,
            Less,
            LessOrEqual,
            Greater,
            GreaterOrEqual,
            PRelu,
        ] {
            if b == (Mod { fmod: true }) && !dt.is_float() {
                continue;
            }
            let tol = if dt == DType::F16 { 1e-3 } else { 1e-6 };
            check_tol(
                bin(b.clone()),
                vec![rnd(dt, &[2, 3, 33], 1), rnd(dt, &[3, 1], 2)],
                tol,
                tol,
            );
            check_tol(bin(b), vec![rnd(dt, &[], 5), rnd(dt, &[4, 5], 6)], tol, tol);
        }
        if !dt.is_float() {
            for b in [
                Mod { fmod: false },
                Mod { fmod: true },
                BitwiseAnd,
                BitwiseOr,
                BitwiseXor,
            ] {
                check(bin(b), vec![rnd(dt, &[7, 9], 1), rnd(dt, &[9], 2)]);
            }
        }
    }
    for b in [And, Or, Xor, Equal] {
        check(bin(b), vec![rnd(DType::Bool, &[4, 4], 1), rnd(DType::Bool, &[4, 1], 2)]);
    }
}

#[test]
fn pow_shift_and_wrapping() {
    let x = Tensor::from_vec(vec![6], vec![-2.0f32, -1.5, 0.0, 1.5, 2.0, 3.0]).ok();
    let e = Tensor::from_vec(vec![6], vec![3.0f32, 2.0, 2.0, 0.5, -1.0, 2.5]).ok();
    check(bin(BinaryOp::Pow), vec![x.clone(), e]);
    let ei = Tensor::from_vec(vec![6], vec![3i64, 2, 0, 1, 2, 3]).ok();
    check(bin(BinaryOp::Pow), vec![x, ei.clone()]);
    let xi = Tensor::from_vec(vec![6], vec![-2i32, 3, 0, 7, -1, 2]).ok();
    check(bin(BinaryOp::Pow), vec![xi, ei]);
    let a = Tensor::from_vec(vec![4], vec![16u8, 200, 1, 255]).ok();
    let s = Tensor::from_vec(vec![4], vec![1u8, 1, 7, 9]).ok();
    check(bin(BinaryOp::BitShift { left: true }), vec![a.clone(), s.clone()]);
    check(bin(BinaryOp::BitShift { left: false }), vec![a.clone(), s]);
    // u8 arithmetic wraps.
    check(bin(BinaryOp::Add), vec![a.clone(), a.clone()]);
    check(bin(BinaryOp::Mul), vec![a.clone(), a]);
    let z = Tensor::from_vec(vec![3], vec![7i32, -7, 5]).ok();
    let d = Tensor::from_vec(vec![3], vec![0i32, 2, -3]).ok();
    check(bin(BinaryOp::Div), vec![z.clone(), d.clone()]);
    check(bin(BinaryOp::Mod { fmod: false }), vec![z, d]);
}

#[test]
fn variadic_where_cast_clip() {
    for v in [VariadicOp::Sum, VariadicOp::Mean, VariadicOp::Max, VariadicOp::Min] {
        check(
            Op::Elementwise(ElementwiseOp::Variadic(v)),
            vec![
                rnd(DType::F32, &[3, 4], 1),
                rnd(DType::F32, &[4], 2),
                rnd(DType::F32, &[3, 1], 3),
            ],
        );
    }
    check(
        Op::Elementwise(ElementwiseOp::Where),
        vec![
            rnd(DType::Bool, &[2, 1, 5], 1),
            rnd(DType::F32, &[3, 5], 2),
            rnd(DType::F32, &[1], 3),
        ],
    );
    check(
        Op::Elementwise(ElementwiseOp::Where),
        vec![
            rnd(DType::Bool, &[9], 1),
            rnd(DType::I64, &[9], 2),
            rnd(DType::I64, &[9], 3),
        ],
    );
    let all = [
        DType::F32,
        DType::F16,
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
    for from in all {
        for to in all {
            check(Op::Elementwise(ElementwiseOp::Cast { to }), vec![rnd(from, &[40], 9)]);
        }
    }
    let big = Tensor::from_vec(vec![5], vec![300.7f32, -300.2, f32::NAN, 1e20, -1e20]).ok();
    for to in [DType::U8, DType::I8, DType::I32, DType::I64, DType::U32] {
        check(Op::Elementwise(ElementwiseOp::Cast { to }), vec![big.clone()]);
    }
    check(
        Op::Elementwise(ElementwiseOp::Clip {
            min: Some(-0.5),
            max: Some(0.7),
        }),
        vec![rnd(DType::F32, &[50], 1)],
    );
    let lo = Tensor::from_vec(vec![], vec![-1i32]).ok();
    check(
        Op::Elementwise(ElementwiseOp::Clip { min: None, max: None }),
        vec![rnd(DType::I32, &[50], 1), lo, None],
    );
}

#[test]
fn large_and_empty() {
    check(un(UnaryOp::Relu), vec![rnd(DType::F32, &[70_000, 260], 1)]);
    check(
        bin(BinaryOp::Add),
        vec![rnd(DType::F32, &[0, 3], 1), rnd(DType::F32, &[3], 2)],
    );
}
