use super::*;
use crate::codegen::elementwise::Inst;
use crate::dtype::DType;
use crate::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp, VariadicOp};

fn rnd(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn inst(op: ElementwiseOp, args: &[usize]) -> Inst {
    Inst {
        op,
        args: args.iter().map(|&a| Some(a)).collect(),
        dtype: DType::F32,
    }
}

/// `relu(x·s + b)` then `· sigmoid(that)`, `max(that, y)`, clipped: exercises each form.
fn program() -> ElementwiseProgram {
    use ElementwiseOp::*;
    ElementwiseProgram {
        inputs: vec![DType::F32; 4],
        insts: vec![
            inst(Binary(BinaryOp::Mul), &[0, 1]),             // 4
            inst(Binary(BinaryOp::Add), &[4, 2]),             // 5
            inst(Unary(UnaryOp::Relu), &[5]),                 // 6
            inst(Unary(UnaryOp::Sigmoid), &[6]),              // 7
            inst(Binary(BinaryOp::Mul), &[6, 7]),             // 8
            inst(Variadic(VariadicOp::Max), &[8, 3]),         // 9
            inst(Unary(UnaryOp::Gelu { tanh: false }), &[9]), // 10
            inst(
                Clip {
                    min: Some(-0.5),
                    max: Some(1.5),
                },
                &[10],
            ), // 11
        ],
        outputs: vec![11, 6],
    }
}

fn check(p: &ElementwiseProgram, xs: &[Tensor]) {
    let refs: Vec<&Tensor> = xs.iter().collect();
    let want = p.eval(&refs).unwrap();
    let fast = FastProgram::new(p).expect("fast form");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let got = pool.install(|| fast.eval(&refs)).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.shape(), w.shape());
            let (g, w) = (g.to_f32_vec().unwrap(), w.to_f32_vec().unwrap());
            for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "element {i}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn fast_program_matches_the_reference_kernels_with_broadcasting() {
    let p = program();
    // Per-channel scale and shift (NCHW), a row vector and a full tensor.
    check(
        &p,
        &[
            rnd(&[2, 3, 17, 19], 1),
            rnd(&[3, 1, 1], 2),
            rnd(&[3, 1, 1], 3),
            rnd(&[19], 4),
        ],
    );
    // Big enough to split across threads, with scalar operands.
    check(
        &p,
        &[
            rnd(&[4, 64, 33, 31], 5),
            rnd(&[], 6),
            rnd(&[1], 7),
            rnd(&[4, 64, 33, 31], 8),
        ],
    );
    // Broadcasting in the leading operand too.
    check(
        &p,
        &[rnd(&[5, 1], 9), rnd(&[1, 7], 10), rnd(&[5, 7], 11), rnd(&[7], 12)],
    );
}

#[test]
fn fused_op_runs_and_infers() {
    let op = FusedOp::Elementwise(program());
    let xs = [rnd(&[2, 3, 4], 1), rnd(&[3, 1], 2), rnd(&[4], 3), rnd(&[2, 3, 4], 4)];
    let ins: Vec<Option<&Tensor>> = xs.iter().map(Some).collect();
    let out = op.run(&ins).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].shape(), &[2, 3, 4]);
    let tys: Vec<TensorType> = xs.iter().map(|t| TensorType::known(t.dtype(), t.shape())).collect();
    let inf: Vec<InferInput> = tys
        .iter()
        .map(|t| InferInput {
            ty: Some(t),
            value: None,
        })
        .collect();
    let t = op.infer(&inf).unwrap();
    assert_eq!(t[0], TensorType::known(DType::F32, &[2, 3, 4]));
}

#[test]
fn unsupported_ops_and_bad_inputs() {
    // Integer programs have no fast form but still run through the reference path.
    let p = ElementwiseProgram::single(
        &ElementwiseOp::Binary(BinaryOp::Add),
        &[Some(DType::I32), Some(DType::I32)],
        DType::I32,
    );
    assert!(FastProgram::new(&p).is_none());
    let op = FusedOp::Elementwise(p);
    let a = Tensor::from_vec(vec![2], vec![1i32, 2]).unwrap();
    assert_eq!(
        op.run(&[Some(&a), Some(&a)]).unwrap()[0].to_i64_vec().unwrap(),
        vec![2, 4]
    );
    // Wrong input count and non-broadcastable shapes are errors, not panics.
    let fast = FastProgram::new(&program()).unwrap();
    let x = rnd(&[3, 4], 1);
    assert!(fast.eval(&[&x]).is_err());
    let y = rnd(&[5], 2);
    assert!(fast.eval(&[&x, &y, &x, &x]).is_err());
}

#[test]
fn transcendental_instructions_match_the_reference_kernels() {
    use ElementwiseOp::*;
    // x · 5 spans [-10, 10] (saturation and tails); every transcendental instruction reads it.
    let un = |u: UnaryOp, a: usize| inst(Unary(u), &[a]);
    let p = ElementwiseProgram {
        inputs: vec![DType::F32; 2],
        insts: vec![
            inst(Binary(BinaryOp::Mul), &[0, 1]), // 2
            un(UnaryOp::Exp, 2),                  // 3
            un(UnaryOp::Tanh, 2),                 // 4
            un(UnaryOp::Sigmoid, 2),              // 5
            un(UnaryOp::Erf, 2),                  // 6
            un(UnaryOp::Gelu { tanh: false }, 2), // 7
            un(UnaryOp::Gelu { tanh: true }, 2),  // 8
            un(UnaryOp::Swish { alpha: 1.0 }, 2), // 9
            un(UnaryOp::Swish { alpha: 0.5 }, 2), // 10
            un(UnaryOp::Abs, 2),                  // 11
            un(UnaryOp::Log, 11),                 // 12
        ],
        outputs: (3..13).filter(|&r| r != 11).collect(),
    };
    let five = Tensor::from_vec(vec![], vec![5.0f32]).unwrap();
    check(&p, &[rnd(&[3, 7, 301], 21), five.clone()]);
    check(&p, &[rnd(&[5, 3], 22), five]);
}

/// `[relu](x·a + b)` in the given operand orders.
fn affine_program(x_first: bool, add_first: bool, relu: bool) -> ElementwiseProgram {
    use ElementwiseOp::*;
    let mul = if x_first { [0, 1] } else { [1, 0] };
    let add = if add_first { [2, 3] } else { [3, 2] };
    let mut insts = vec![inst(Binary(BinaryOp::Mul), &mul), inst(Binary(BinaryOp::Add), &add)];
    if relu {
        insts.push(inst(Unary(UnaryOp::Relu), &[4]));
    }
    let out = 2 + insts.len();
    ElementwiseProgram {
        inputs: vec![DType::F32; 3],
        insts,
        outputs: vec![out],
    }
}

#[test]
fn per_channel_affine_programs_take_the_row_path_and_match_bit_for_bit() {
    for (x_first, add_first, relu) in [(true, true, true), (false, false, true), (true, false, false)] {
        let p = affine_program(x_first, add_first, relu);
        let fast = FastProgram::new(&p).unwrap();
        assert!(fast.is_row_affine(), "{x_first} {add_first} {relu}: detected");
        // Per-channel operands (the row path), a full-tensor multiplier (the block path: `a`
        // runs along the rows), and rows too short for the row path.
        for shapes in [
            [&[2, 24, 7, 9][..], &[24, 1, 1][..], &[1, 24, 1, 1][..]],
            [&[1, 64, 56, 56][..], &[1, 64, 1, 1][..], &[64, 1, 1][..]],
            [&[3, 5, 11][..], &[3, 5, 11][..], &[5, 1][..]],
            [&[6, 4, 1][..], &[4, 1][..], &[4, 1][..]],
        ] {
            let xs = [rnd(shapes[0], 1), rnd(shapes[1], 2), rnd(shapes[2], 3)];
            let refs: Vec<&Tensor> = xs.iter().collect();
            let want = p.eval(&refs).unwrap();
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| fast.eval(&refs)).unwrap();
                assert_eq!(got[0].shape(), want[0].shape());
                let (g, w) = (got[0].as_slice::<f32>().unwrap(), want[0].as_slice::<f32>().unwrap());
                assert!(
                    g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{shapes:?} relu={relu} threads={threads}: differs from the reference"
                );
            }
        }
    }
    // Not the pattern: an extra instruction, or the add not consuming the product.
    use ElementwiseOp::*;
    let mut p = affine_program(true, true, true);
    p.insts.push(inst(Unary(UnaryOp::Neg), &[5]));
    p.outputs = vec![6];
    assert!(!FastProgram::new(&p).unwrap().is_row_affine());
    let p = ElementwiseProgram {
        inputs: vec![DType::F32; 3],
        insts: vec![
            inst(Binary(BinaryOp::Mul), &[0, 1]),
            inst(Binary(BinaryOp::Add), &[0, 2]),
        ],
        outputs: vec![4],
    };
    assert!(!FastProgram::new(&p).unwrap().is_row_affine());
}
