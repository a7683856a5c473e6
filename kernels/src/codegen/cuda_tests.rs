//! Tests of the CUDA dialect: golden sources, `params`, and op × dtype coverage (at least
//! what the WGSL renderer covers, and everything the CPU kernels accept but strings).

use super::cuda::{params, render, storage_type, MAX_INPUTS, MAX_RANK};
use super::elementwise::{ElementwiseProgram, Inst};
use super::wgsl;
use crate::dtype::DType;
use crate::op::{InferInput, OpImpl};
use crate::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};
use crate::shape::TensorType;
use std::path::PathBuf;

fn inst(op: ElementwiseOp, args: &[usize], dtype: DType) -> Inst {
    Inst {
        op,
        args: args.iter().map(|&a| Some(a)).collect(),
        dtype,
    }
}

fn un(u: UnaryOp) -> ElementwiseOp {
    ElementwiseOp::Unary(u)
}

fn bin(b: BinaryOp) -> ElementwiseOp {
    ElementwiseOp::Binary(b)
}

/// The representative programs checked against `golden/cuda/<name>.cu`.
fn golden_programs() -> Vec<(&'static str, ElementwiseProgram)> {
    use DType::*;
    let f32_chain = ElementwiseProgram {
        inputs: vec![F32, F32],
        insts: vec![
            inst(un(UnaryOp::Sigmoid), &[0], F32),
            inst(bin(BinaryOp::Mul), &[0, 2], F32),
            inst(bin(BinaryOp::Add), &[3, 1], F32),
            inst(un(UnaryOp::Relu), &[4], F32),
        ],
        outputs: vec![5],
    };
    let f16 = ElementwiseProgram {
        inputs: vec![F16, F16],
        insts: vec![
            inst(bin(BinaryOp::Mul), &[0, 1], F16),
            inst(un(UnaryOp::Gelu { tanh: true }), &[2], F16),
        ],
        outputs: vec![3],
    };
    let bf16 = ElementwiseProgram {
        inputs: vec![BF16, BF16],
        insts: vec![
            inst(bin(BinaryOp::Add), &[0, 1], BF16),
            inst(un(UnaryOp::Exp), &[2], BF16),
        ],
        outputs: vec![3],
    };
    let i8s = ElementwiseProgram {
        inputs: vec![I8, I8],
        insts: vec![
            inst(bin(BinaryOp::Mul), &[0, 1], I8),
            inst(bin(BinaryOp::Div), &[2, 1], I8),
            inst(bin(BinaryOp::Mod { fmod: false }), &[3, 1], I8),
        ],
        outputs: vec![4],
    };
    let where_bool = ElementwiseProgram {
        inputs: vec![Bool, F32, F32],
        insts: vec![
            inst(ElementwiseOp::Where, &[0, 1, 2], F32),
            inst(un(UnaryOp::Not), &[0], Bool),
        ],
        outputs: vec![3, 4],
    };
    vec![
        (
            "add_f32",
            ElementwiseProgram::single(&bin(BinaryOp::Add), &[Some(F32), Some(F32)], F32),
        ),
        ("silu_bias_relu_f32", f32_chain),
        ("mul_gelu_f16", f16),
        ("add_exp_bf16", bf16),
        ("mul_div_mod_i8", i8s),
        (
            "cast_f32_i32",
            ElementwiseProgram::single(&ElementwiseOp::Cast { to: I32 }, &[Some(F32)], I32),
        ),
        ("where_not_bool", where_bool),
    ]
}

/// The first difference between two texts, with a little context.
fn diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let k = (0..e.len().max(a.len()))
        .find(|&k| e.get(k) != a.get(k))
        .unwrap_or(e.len().min(a.len()));
    let mut msg = format!("first difference at line {}:\n", k + 1);
    for l in &e[k.saturating_sub(2)..k] {
        msg += &format!("    {l}\n");
    }
    for l in e.iter().skip(k).take(3) {
        msg += &format!("  - {l}\n");
    }
    for l in a.iter().skip(k).take(3) {
        msg += &format!("  + {l}\n");
    }
    if e.len() != a.len() {
        msg += &format!("(expected {} lines, rendered {})\n", e.len(), a.len());
    }
    Some(msg)
}

#[test]
fn golden_sources() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/codegen/golden/cuda");
    let bless = std::env::var("SUANLI_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for (name, p) in golden_programs() {
        let src = render(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = dir.join(format!("{name}.cu"));
        if bless {
            std::fs::create_dir_all(&dir).expect("golden dir");
            std::fs::write(&path, &src).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Err(e) => failures.push(format!("{name}: cannot read {}: {e}", path.display())),
            Ok(expected) => {
                if let Some(d) = diff(&expected, &src) {
                    failures.push(format!("{name}.cu differs from the rendered source, {d}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nrerun with SUANLI_BLESS=1 to accept the rendered sources",
        failures.join("\n")
    );
}

#[test]
fn diff_reports_the_first_changed_line() {
    assert!(diff("a\nb\n", "a\nb\n").is_none());
    let d = diff("a\nb\nc\n", "a\nx\nc\n").unwrap();
    assert!(d.contains("line 2") && d.contains("- b") && d.contains("+ x"), "{d}");
    let d = diff("a\n", "a\nb\n").unwrap();
    assert!(d.contains("line 2") && d.contains("+ b"), "{d}");
}

/// Split a params vector into (n, rank, strided, dims, strides per input).
fn split(w: &[i64]) -> (i64, i64, i64, &[i64], Vec<&[i64]>) {
    let strides = w[3 + MAX_RANK..].chunks(MAX_RANK).collect();
    (w[0], w[1], w[2], &w[3..3 + MAX_RANK], strides)
}

#[test]
fn params_broadcast_strides_and_mask() {
    let w = params(&[2, 3, 4], &[&[2, 3, 4], &[4], &[3, 1], &[1, 3, 4], &[]]);
    assert_eq!(w.len(), 3 + MAX_RANK + 5 * MAX_RANK);
    let (n, rank, mask, dims, st) = split(&w);
    assert_eq!((n, rank), (24, 3));
    assert_eq!(dims, &[2, 3, 4, 0, 0, 0, 0, 0]);
    // Only the first input has the output's shape.
    assert_eq!(mask, 0b11110);
    assert_eq!(st[0], &[12, 4, 1, 0, 0, 0, 0, 0]);
    assert_eq!(st[1], &[0, 0, 1, 0, 0, 0, 0, 0]);
    assert_eq!(st[2], &[0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(st[3], &[0, 4, 1, 0, 0, 0, 0, 0]);
    assert_eq!(st[4], &[0; 8]);
}

#[test]
fn params_left_padded_same_shape_is_not_strided() {
    // [6] and [1, 6] broadcast to [1, 6] with the same linear layout.
    let w = params(&[1, 6], &[&[6], &[1, 6], &[1, 1]]);
    let (n, rank, mask, dims, st) = split(&w);
    assert_eq!((n, rank, mask), (6, 2, 0b100));
    assert_eq!(&dims[..2], &[1, 6]);
    assert_eq!(&st[0][..2], &[0, 1]);
    assert_eq!(&st[2][..2], &[0, 0]);
}

#[test]
fn params_without_inputs_and_at_full_rank() {
    let w = params(&[], &[]);
    assert_eq!(w, {
        let mut v = vec![1, 0, 0];
        v.extend([0; 2 * MAX_RANK]);
        v
    });
    let out = [2, 1, 3, 1, 2, 1, 2, 5];
    let w = params(&out, &[&out, &[5], &[2, 1, 1, 1, 1, 1, 1, 1]]);
    let (n, rank, mask, dims, st) = split(&w);
    assert_eq!((n, rank, mask), (120, 8, 0b110));
    assert_eq!(dims, &[2, 1, 3, 1, 2, 1, 2, 5]);
    assert_eq!(st[0], &[60, 0, 20, 0, 10, 0, 5, 1]);
    assert_eq!(st[1], &[0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(st[2], &[1, 0, 0, 0, 0, 0, 0, 0]);
    // Zero-size outputs still describe their dims.
    let w = params(&[3, 0], &[&[1, 0]]);
    let (n, _, mask, dims, _) = split(&w);
    assert_eq!((n, mask, &dims[..2]), (0, 1, &[3i64, 0][..]));
}

#[test]
fn abi_text() {
    let p = ElementwiseProgram::single(&bin(BinaryOp::Add), &[Some(DType::F16), Some(DType::F16)], DType::F16);
    let s = render(&p).unwrap();
    assert!(!s.contains("#include"));
    assert!(s.contains("long long strides[2][8];"), "{s}");
    assert!(s.contains(
        "extern \"C\" __global__ void suanli_ew(const SuanliEwParams p, const unsigned short* __restrict__ in0, \
         const unsigned short* __restrict__ in1, unsigned short* __restrict__ out0)"
    ));
    assert!(s.contains("cvt.rn.f16.f32") && s.contains("cvt.f32.f16"));
    // No inputs: the params struct still has one strides row.
    let p = ElementwiseProgram {
        inputs: vec![],
        insts: vec![],
        outputs: vec![],
    };
    assert!(render(&p).unwrap().contains("long long strides[1][8];"));
}

#[test]
fn errors_name_op_and_dtype() {
    let e = render(&ElementwiseProgram::single(
        &un(UnaryOp::Sqrt),
        &[Some(DType::I32)],
        DType::I32,
    ))
    .unwrap_err();
    assert!(e.contains("Sqrt") && e.contains("i32"), "{e}");
    let e = render(&ElementwiseProgram::single(
        &bin(BinaryOp::Equal),
        &[Some(DType::Str), Some(DType::Str)],
        DType::Bool,
    ))
    .unwrap_err();
    assert!(e.contains("str"), "{e}");
    assert!(storage_type(DType::Str).is_err());
    let many = vec![Some(DType::F32); MAX_INPUTS + 1];
    let e = render(&ElementwiseProgram::single(
        &ElementwiseOp::Variadic(VariadicOp::Sum),
        &many,
        DType::F32,
    ))
    .unwrap_err();
    assert!(e.contains("33 inputs"), "{e}");
    let many = vec![Some(DType::F32); MAX_INPUTS];
    render(&ElementwiseProgram::single(
        &ElementwiseOp::Variadic(VariadicOp::Sum),
        &many,
        DType::F32,
    ))
    .unwrap();
}

#[test]
fn dead_instructions_emit_nothing() {
    let p = ElementwiseProgram {
        inputs: vec![DType::F32, DType::I64],
        insts: vec![
            inst(un(UnaryOp::Sigmoid), &[0], DType::F32),
            inst(un(UnaryOp::Abs), &[0], DType::F32),
        ],
        outputs: vec![3],
    };
    let s = render(&p).unwrap();
    assert!(
        !s.contains("sigmoid") && !s.contains("r2") && !s.contains("r1 ="),
        "{s}"
    );
    assert!(s.contains("const long long* __restrict__ in1"));
}

/// Every unary op (with representative attributes).
fn unary_ops() -> Vec<UnaryOp> {
    use UnaryOp::*;
    let all = vec![
        Abs,
        Neg,
        Reciprocal,
        Sqrt,
        Exp,
        Log,
        Sin,
        Cos,
        Tan,
        Asin,
        Acos,
        Atan,
        Sinh,
        Cosh,
        Asinh,
        Acosh,
        Atanh,
        Ceil,
        Floor,
        Round,
        Sign,
        Erf,
        Not,
        BitwiseNot,
        IsNaN,
        IsInf {
            detect_positive: true,
            detect_negative: true,
        },
        IsInf {
            detect_positive: false,
            detect_negative: true,
        },
        Relu,
        Sigmoid,
        Tanh,
        Softsign,
        Softplus,
        LeakyRelu { alpha: 0.01 },
        Elu { alpha: 1.0 },
        Selu {
            alpha: 1.6732632,
            gamma: 1.050701,
        },
        Celu { alpha: 1.5 },
        HardSigmoid { alpha: 0.2, beta: 0.5 },
        HardSwish,
        ThresholdedRelu { alpha: 1.0 },
        Shrink {
            lambd: 0.5,
            bias: -0.25,
        },
        Gelu { tanh: false },
        Gelu { tanh: true },
        Mish,
        Swish { alpha: 1.0 },
    ];
    // A new variant fails to compile here until it is added to the list above.
    for u in &all {
        match u {
            Abs
            | Neg
            | Reciprocal
            | Sqrt
            | Exp
            | Log
            | Sin
            | Cos
            | Tan
            | Asin
            | Acos
            | Atan
            | Sinh
            | Cosh
            | Asinh
            | Acosh
            | Atanh
            | Ceil
            | Floor
            | Round
            | Sign
            | Erf
            | Not
            | BitwiseNot
            | IsNaN
            | IsInf { .. }
            | Relu
            | Sigmoid
            | Tanh
            | Softsign
            | Softplus
            | LeakyRelu { .. }
            | Elu { .. }
            | Selu { .. }
            | Celu { .. }
            | HardSigmoid { .. }
            | HardSwish
            | ThresholdedRelu { .. }
            | Shrink { .. }
            | Gelu { .. }
            | Mish
            | Swish { .. } => {}
        }
    }
    all
}

fn binary_ops() -> Vec<BinaryOp> {
    use BinaryOp::*;
    let all = vec![
        Add,
        Sub,
        Mul,
        Div,
        Pow,
        Mod { fmod: false },
        Mod { fmod: true },
        Equal,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
        And,
        Or,
        Xor,
        BitwiseAnd,
        BitwiseOr,
        BitwiseXor,
        BitShift { left: true },
        BitShift { left: false },
        PRelu,
    ];
    for b in &all {
        match b {
            Add
            | Sub
            | Mul
            | Div
            | Pow
            | Mod { .. }
            | Equal
            | Less
            | LessOrEqual
            | Greater
            | GreaterOrEqual
            | And
            | Or
            | Xor
            | BitwiseAnd
            | BitwiseOr
            | BitwiseXor
            | BitShift { .. }
            | PRelu => {}
        }
    }
    all
}

/// Every single-op program shape worth rendering: each op over every dtype (and dtype pair
/// where an op mixes them), with the CPU's output dtype, or `None` when the CPU rejects it.
fn single_op_cases() -> Vec<(String, ElementwiseOp, Vec<Option<DType>>)> {
    let all = DType::ALL;
    let mut cases = Vec::new();
    let mut add = |op: ElementwiseOp, ins: Vec<Option<DType>>| {
        let tag: Vec<&str> = ins.iter().map(|d| d.map_or("none", |d| d.name())).collect();
        cases.push((format!("{op:?} ({})", tag.join(", ")), op, ins));
    };
    for u in unary_ops() {
        for d in all {
            add(un(u.clone()), vec![Some(d)]);
        }
    }
    for b in binary_ops() {
        for x in all {
            for y in all {
                if x == y || b == BinaryOp::Pow {
                    add(bin(b.clone()), vec![Some(x), Some(y)]);
                }
            }
        }
    }
    for v in [VariadicOp::Sum, VariadicOp::Mean, VariadicOp::Max, VariadicOp::Min] {
        match v {
            VariadicOp::Sum | VariadicOp::Mean | VariadicOp::Max | VariadicOp::Min => {}
        }
        for d in all {
            for n in 1..=3 {
                add(ElementwiseOp::Variadic(v.clone()), vec![Some(d); n]);
            }
        }
    }
    for x in all {
        add(ElementwiseOp::Where, vec![Some(DType::Bool), Some(x), Some(x)]);
        for to in all {
            add(ElementwiseOp::Cast { to }, vec![Some(x)]);
            add(ElementwiseOp::CastLike, vec![Some(x), Some(to)]);
        }
        let attr = |min, max| ElementwiseOp::Clip { min, max };
        add(attr(Some(-1.5), Some(2.5)), vec![Some(x)]);
        add(attr(Some(0.25), None), vec![Some(x)]);
        add(attr(None, Some(f32::INFINITY)), vec![Some(x)]);
        add(attr(None, None), vec![Some(x)]);
        add(attr(None, None), vec![Some(x), Some(x), Some(x)]);
        add(attr(None, None), vec![Some(x), None, Some(x)]);
        add(attr(None, None), vec![Some(x), Some(DType::F32), Some(DType::I64)]);
    }
    cases
}

/// The CPU's output dtype for a single-op case, `None` when it rejects the inputs.
fn cpu_out(op: &ElementwiseOp, ins: &[Option<DType>]) -> Option<DType> {
    let tys: Vec<Option<TensorType>> = ins
        .iter()
        .map(|d| d.map(|dtype| TensorType { dtype, shape: None }))
        .collect();
    let inputs: Vec<InferInput> = tys
        .iter()
        .map(|t| InferInput {
            ty: t.as_ref(),
            value: None,
        })
        .collect();
    OpImpl::infer(op, &inputs).ok().map(|o| o[0].dtype)
}

/// The programs of every case the CPU accepts.
fn valid_programs() -> Vec<(String, ElementwiseProgram)> {
    single_op_cases()
        .into_iter()
        .filter_map(|(name, op, ins)| cpu_out(&op, &ins).map(|out| (name, ElementwiseProgram::single(&op, &ins, out))))
        .collect()
}

#[test]
fn covers_every_op_and_dtype_wgsl_and_the_cpu_cover() {
    let (mut total, mut wgsl_ok, mut cuda_ok) = (0, 0, 0);
    let mut missing = Vec::new();
    for (name, p) in valid_programs() {
        total += 1;
        let w = wgsl::render(&p).is_ok();
        wgsl_ok += usize::from(w);
        let c = render(&p);
        cuda_ok += usize::from(c.is_ok());
        let strings = p.inputs.contains(&DType::Str) || p.output_dtypes().contains(&DType::Str);
        match c {
            Ok(src) => assert!(!src.contains("#include"), "{name}"),
            // Everything WGSL renders, and every CPU kernel but those on strings.
            Err(e) if w || !strings => missing.push(format!("{name}: {e}")),
            Err(_) => {}
        }
    }
    println!("{total} CPU-valid single-op programs: WGSL renders {wgsl_ok}, CUDA {cuda_ok}");
    assert!(
        missing.is_empty(),
        "CUDA misses {}:\n{}",
        missing.len(),
        missing.join("\n")
    );
    assert!(wgsl_ok > 500 && cuda_ok > wgsl_ok, "{total} {wgsl_ok} {cuda_ok}");
}

#[test]
fn rejects_exactly_what_the_cpu_rejects() {
    for (name, op, ins) in single_op_cases() {
        if cpu_out(&op, &ins).is_some() {
            continue;
        }
        let out = ins[0].unwrap_or(DType::F32);
        let e = render(&ElementwiseProgram::single(&op, &ins, out)).expect_err(&name);
        assert!(e.contains(OpImpl::name(&op)), "{name}: {e}");
    }
    // A declared dtype other than the kernel's.
    let p = ElementwiseProgram::single(&bin(BinaryOp::Less), &[Some(DType::F32), Some(DType::F32)], DType::F32);
    let e = render(&p).unwrap_err();
    assert!(e.contains("Less produces bool"), "{e}");
}
