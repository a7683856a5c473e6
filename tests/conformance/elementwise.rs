//! Conformance cases for the elementwise family: every op on tails, broadcasting and each
//! dtype it accepts.
use suanli_backends::conformance::{random, Case};
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use suanli_kernels::{DType, Op, Tensor};

fn some(dt: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(random(dt, shape, seed))
}

/// Every elementwise case.
pub fn cases() -> Vec<Case> {
    use UnaryOp::*;
    let mut v = Vec::new();
    let floats_only = [
        Exp,
        Sin,
        Cos,
        Tan,
        Atan,
        Sinh,
        Cosh,
        Asinh,
        Erf,
        Sigmoid,
        Tanh,
        Softsign,
        Softplus,
        HardSwish,
        Mish,
        Reciprocal,
        Ceil,
        Floor,
        Round,
        LeakyRelu { alpha: 0.1 },
        Elu { alpha: 1.5 },
        Selu {
            alpha: 1.67,
            gamma: 1.05,
        },
        Celu { alpha: 0.8 },
        HardSigmoid { alpha: 0.2, beta: 0.5 },
        ThresholdedRelu { alpha: 0.3 },
        Gelu { tanh: false },
        Gelu { tanh: true },
        Swish { alpha: 1.2 },
    ];
    for (k, u) in floats_only.iter().enumerate() {
        for dt in [DType::F32, DType::F16] {
            let tol = if dt == DType::F16 { 2e-3 } else { 2e-5 };
            v.push(
                Case::new(
                    format!("elementwise/{}/{k}/{dt}", u.name()),
                    Op::Elementwise(ElementwiseOp::Unary(u.clone())),
                    vec![some(dt, &[3, 67], k as u64)],
                )
                .tol(tol, tol),
            );
        }
    }
    let pos = Tensor::from_vec(vec![5], vec![0.1f32, 0.5, 1.0, 2.0, 9.0]).ok();
    for u in [Sqrt, Log] {
        v.push(Case::new(
            format!("elementwise/{}", u.name()),
            Op::Elementwise(ElementwiseOp::Unary(u)),
            vec![pos.clone()],
        ));
    }
    for dt in [
        DType::F32,
        DType::F64,
        DType::I8,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U32,
    ] {
        for u in [Abs, Neg, Sign, Relu] {
            v.push(Case::new(
                format!("elementwise/{}/{dt}", u.name()),
                Op::Elementwise(ElementwiseOp::Unary(u)),
                vec![some(dt, &[257], 3)],
            ));
        }
    }
    use BinaryOp::*;
    let numeric = [
        DType::F32,
        DType::F16,
        DType::F64,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::I16,
    ];
    for dt in numeric {
        for b in [Add, Sub, Mul, Div, Equal, Less, Greater, LessOrEqual, GreaterOrEqual] {
            let tol = if dt == DType::F16 { 1e-3 } else { 1e-6 };
            v.push(
                Case::new(
                    format!("elementwise/{}/{dt}/broadcast", b.name()),
                    Op::Elementwise(ElementwiseOp::Binary(b.clone())),
                    vec![some(dt, &[2, 3, 45], 1), some(dt, &[3, 1], 2)],
                )
                .tol(tol, tol),
            );
            v.push(
                Case::new(
                    format!("elementwise/{}/{dt}/scalar", b.name()),
                    Op::Elementwise(ElementwiseOp::Binary(b)),
                    vec![some(dt, &[], 1), some(dt, &[300], 2)],
                )
                .tol(tol, tol),
            );
        }
    }
    for dt in [DType::I32, DType::I64, DType::U8] {
        for b in [
            Mod { fmod: false },
            Mod { fmod: true },
            BitwiseAnd,
            BitwiseOr,
            BitwiseXor,
            BitShift { left: true },
            BitShift { left: false },
        ] {
            v.push(Case::new(
                format!("elementwise/{}/{dt}/{b:?}", b.name()),
                Op::Elementwise(ElementwiseOp::Binary(b)),
                vec![some(dt, &[5, 7], 1), some(dt, &[7], 2)],
            ));
        }
    }
    v.push(Case::new(
        "elementwise/Mod/f32/fmod",
        Op::Elementwise(ElementwiseOp::Binary(Mod { fmod: true })),
        vec![some(DType::F32, &[40], 1), some(DType::F32, &[40], 2)],
    ));
    v.push(Case::new(
        "elementwise/PRelu/f32",
        Op::Elementwise(ElementwiseOp::Binary(PRelu)),
        vec![some(DType::F32, &[2, 3, 4, 5], 1), some(DType::F32, &[3, 1, 1], 2)],
    ));
    v.push(Case::new(
        "elementwise/Pow/f32",
        Op::Elementwise(ElementwiseOp::Binary(Pow)),
        vec![pos.clone(), some(DType::F32, &[5], 2)],
    ));
    v.push(Case::new(
        "elementwise/Pow/i64",
        Op::Elementwise(ElementwiseOp::Binary(Pow)),
        vec![
            some(DType::I64, &[9], 1),
            Tensor::from_vec(vec![9], vec![0i64, 1, 2, 3, 4, 5, 2, 1, 0]).ok(),
        ],
    ));
    for b in [And, Or, Xor, Equal] {
        v.push(Case::new(
            format!("elementwise/{}/bool", b.name()),
            Op::Elementwise(ElementwiseOp::Binary(b)),
            vec![some(DType::Bool, &[4, 1, 6], 1), some(DType::Bool, &[5, 1], 2)],
        ));
    }
    v.push(Case::new(
        "elementwise/Not",
        Op::Elementwise(ElementwiseOp::Unary(Not)),
        vec![some(DType::Bool, &[99], 1)],
    ));
    v.push(Case::new(
        "elementwise/BitwiseNot/i32",
        Op::Elementwise(ElementwiseOp::Unary(BitwiseNot)),
        vec![some(DType::I32, &[99], 1)],
    ));
    let special = Tensor::from_vec(vec![5], vec![1.0f32, f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0]).ok();
    v.push(Case::new(
        "elementwise/IsNaN",
        Op::Elementwise(ElementwiseOp::Unary(IsNaN)),
        vec![special.clone()],
    ));
    v.push(Case::new(
        "elementwise/IsInf",
        Op::Elementwise(ElementwiseOp::Unary(IsInf {
            detect_positive: true,
            detect_negative: false,
        })),
        vec![special],
    ));
    for var in [VariadicOp::Sum, VariadicOp::Mean, VariadicOp::Max, VariadicOp::Min] {
        v.push(Case::new(
            format!("elementwise/{var:?}/3"),
            Op::Elementwise(ElementwiseOp::Variadic(var)),
            vec![
                some(DType::F32, &[3, 4], 1),
                some(DType::F32, &[4], 2),
                some(DType::F32, &[3, 1], 3),
            ],
        ));
    }
    v.push(Case::new(
        "elementwise/Where/f32",
        Op::Elementwise(ElementwiseOp::Where),
        vec![
            some(DType::Bool, &[2, 1, 5], 1),
            some(DType::F32, &[3, 5], 2),
            some(DType::F32, &[1], 3),
        ],
    ));
    v.push(Case::new(
        "elementwise/Where/i64",
        Op::Elementwise(ElementwiseOp::Where),
        vec![
            some(DType::Bool, &[9], 1),
            some(DType::I64, &[9], 2),
            some(DType::I64, &[9], 3),
        ],
    ));
    let all = [
        DType::F32,
        DType::F16,
        DType::F64,
        DType::I8,
        DType::U8,
        DType::I32,
        DType::I64,
        DType::Bool,
    ];
    for from in all {
        for to in all {
            v.push(Case::new(
                format!("elementwise/Cast/{from}/{to}"),
                Op::Elementwise(ElementwiseOp::Cast { to }),
                vec![some(from, &[70], 4)],
            ));
        }
    }
    v.push(Case::new(
        "elementwise/Clip/attrs",
        Op::Elementwise(ElementwiseOp::Clip {
            min: Some(-0.5),
            max: Some(0.7),
        }),
        vec![some(DType::F32, &[300], 1)],
    ));
    v.push(Case::new(
        "elementwise/Clip/inputs",
        Op::Elementwise(ElementwiseOp::Clip { min: None, max: None }),
        vec![
            some(DType::F32, &[300], 1),
            Tensor::from_vec(vec![], vec![-1.0f32]).ok(),
            Tensor::from_vec(vec![], vec![1.5f32]).ok(),
        ],
    ));
    v.push(Case::new(
        "elementwise/Add/large",
        Op::Elementwise(ElementwiseOp::Binary(Add)),
        vec![some(DType::F32, &[70_000, 257], 1), some(DType::F32, &[257], 2)],
    ));
    v
}
