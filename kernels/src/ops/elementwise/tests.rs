//! Unit tests for the elementwise family (values checked by hand or against numpy).

use super::*;
use crate::op::OpImpl;
use half::f16;

fn t<T: crate::tensor::HostElem>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn run1(op: ElementwiseOp, inputs: &[&Tensor]) -> Result<Tensor> {
    let ins: Vec<Option<&Tensor>> = inputs.iter().map(|x| Some(*x)).collect();
    Ok(op.run(&ins)?.remove(0))
}

#[test]
fn add_broadcast_rows_and_columns() {
    let a = t(&[2, 1], vec![1.0f32, 2.0]);
    let b = t(&[3], vec![10.0f32, 20.0, 30.0]);
    let y = run1(ElementwiseOp::Binary(BinaryOp::Add), &[&a, &b]).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
}

#[test]
fn broadcast_large_parallel_matches_serial() {
    // [64, 1, 1024] * [1, 8, 1024] exercises the parallel row engine.
    let a: Vec<f32> = (0..64 * 1024).map(|i| i as f32).collect();
    let b: Vec<f32> = (0..8 * 1024).map(|i| (i % 7) as f32).collect();
    let (ta, tb) = (t(&[64, 1, 1024], a.clone()), t(&[1, 8, 1024], b.clone()));
    let y = run1(ElementwiseOp::Binary(BinaryOp::Mul), &[&ta, &tb]).unwrap();
    let yv = y.as_slice::<f32>().unwrap();
    for i in [0usize, 1, 1023, 1024, 8 * 1024 + 5, 64 * 8 * 1024 - 1] {
        let (n, m, k) = (i / (8 * 1024), (i / 1024) % 8, i % 1024);
        assert_eq!(yv[i], a[n * 1024 + k] * b[m * 1024 + k], "at {i}");
    }
}

#[test]
fn int_div_truncates_and_mod_follows_divisor() {
    let a = t(&[4], vec![-3i32, 3, -3, 3]);
    let b = t(&[4], vec![2i32, 2, -2, -2]);
    let d = run1(ElementwiseOp::Binary(BinaryOp::Div), &[&a, &b]).unwrap();
    assert_eq!(d.as_slice::<i32>().unwrap(), &[-1, 1, 1, -1]);
    let a = t(&[6], vec![-4i32, 7, 5, 4, -7, 8]);
    let b = t(&[6], vec![2i32, -3, 8, -2, 3, 5]);
    let m = run1(ElementwiseOp::Binary(BinaryOp::Mod { fmod: false }), &[&a, &b]).unwrap();
    assert_eq!(m.as_slice::<i32>().unwrap(), &[0, -2, 5, 0, 2, 3]);
    let f = run1(ElementwiseOp::Binary(BinaryOp::Mod { fmod: true }), &[&a, &b]).unwrap();
    assert_eq!(f.as_slice::<i32>().unwrap(), &[0, 1, 5, 0, -1, 3]);
    // Division by zero does not panic.
    let z = t(&[1], vec![0i32]);
    assert!(run1(ElementwiseOp::Binary(BinaryOp::Div), &[&a, &z]).is_ok());
}

#[test]
fn pow_mixed_types() {
    let a = t(&[3], vec![1i32, 2, 3]);
    let b = t(&[3], vec![4.0f32, 5.0, 6.0]);
    let y = run1(ElementwiseOp::Binary(BinaryOp::Pow), &[&a, &b]).unwrap();
    assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 32, 729]);
    let e = t(&[3], vec![4i64, 5, 6]);
    let y = run1(ElementwiseOp::Binary(BinaryOp::Pow), &[&b, &e]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[256.0, 3125.0, 46656.0]);
}

#[test]
fn unary_activations() {
    let x = t(&[5], vec![-2.0f32, -0.5, 0.0, 0.5, 2.5]);
    let r = run1(ElementwiseOp::Unary(UnaryOp::Relu), &[&x]).unwrap();
    assert_eq!(r.as_slice::<f32>().unwrap(), &[0.0, 0.0, 0.0, 0.5, 2.5]);
    let r = run1(ElementwiseOp::Unary(UnaryOp::Round), &[&x]).unwrap();
    assert_eq!(r.as_slice::<f32>().unwrap(), &[-2.0, -0.0, 0.0, 0.0, 2.0]);
    let s = run1(ElementwiseOp::Unary(UnaryOp::Sigmoid), &[&x]).unwrap();
    assert!((s.as_slice::<f32>().unwrap()[4] - 0.924_141_8).abs() < 1e-6);
    // numpy: 0.5 * x * (1 + erf(x / sqrt(2))) at x = 2.5 → 2.48447...
    let g = run1(ElementwiseOp::Unary(UnaryOp::Gelu { tanh: false }), &[&x]).unwrap();
    assert!((g.as_slice::<f32>().unwrap()[4] - 2.484_466_2).abs() < 1e-5);
    let l = run1(ElementwiseOp::Unary(UnaryOp::LeakyRelu { alpha: 0.1 }), &[&x]).unwrap();
    assert_eq!(l.as_slice::<f32>().unwrap()[0], -0.2);
}

#[test]
fn half_computes_in_f32() {
    let x = t(&[2], vec![f16::from_f32(4.0), f16::from_f32(2.25)]);
    let y = run1(ElementwiseOp::Unary(UnaryOp::Sqrt), &[&x]).unwrap();
    assert_eq!(y.as_slice::<f16>().unwrap(), &[f16::from_f32(2.0), f16::from_f32(1.5)]);
    let m = run1(ElementwiseOp::Variadic(VariadicOp::Max), &[&x, &t(&[1], vec![f16::from_f32(3.0)])]).unwrap();
    assert_eq!(m.as_slice::<f16>().unwrap(), &[f16::from_f32(4.0), f16::from_f32(3.0)]);
}

#[test]
fn variadic_mean_and_where_and_clip() {
    let a = t(&[3], vec![3.0f32, 0.0, 2.0]);
    let b = t(&[3], vec![1.0f32, 3.0, 4.0]);
    let c = t(&[3], vec![2.0f32, 6.0, 0.0]);
    let m = run1(ElementwiseOp::Variadic(VariadicOp::Mean), &[&a, &b, &c]).unwrap();
    assert_eq!(m.as_slice::<f32>().unwrap(), &[2.0, 3.0, 2.0]);
    let cond = t(&[2, 1], vec![true, false]);
    let w = run1(ElementwiseOp::Where, &[&cond, &a, &b]).unwrap();
    assert_eq!(w.as_slice::<f32>().unwrap(), &[3.0, 0.0, 2.0, 1.0, 3.0, 4.0]);
    let lo = Tensor::scalar(1.0f32);
    let y = ElementwiseOp::Clip { min: None, max: None }.run(&[Some(&c), Some(&lo), None]).unwrap();
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[2.0, 6.0, 1.0]);
    let y = run1(ElementwiseOp::Clip { min: Some(0.5), max: Some(2.5) }, &[&c]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[2.0, 2.5, 0.5]);
}

#[test]
fn string_equal_and_bitshift() {
    let a = Tensor::from_strings(vec![2], vec!["x".into(), "y".into()]).unwrap();
    let b = Tensor::from_strings(vec![1], vec!["x".into()]).unwrap();
    let e = run1(ElementwiseOp::Binary(BinaryOp::Equal), &[&a, &b]).unwrap();
    assert_eq!(e.as_slice::<bool>().unwrap(), &[true, false]);
    let x = t(&[3], vec![16u8, 4, 1]);
    let s = t(&[3], vec![1u8, 2, 9]);
    let y = run1(ElementwiseOp::Binary(BinaryOp::BitShift { left: false }), &[&x, &s]).unwrap();
    assert_eq!(y.as_slice::<u8>().unwrap(), &[8, 1, 0]);
}

#[test]
fn errors_instead_of_panics() {
    let a = t(&[2, 3], vec![0.0f32; 6]);
    let b = t(&[4], vec![0.0f32; 4]);
    assert!(run1(ElementwiseOp::Binary(BinaryOp::Add), &[&a, &b]).is_err());
    let i = t(&[1], vec![1i32]);
    assert!(run1(ElementwiseOp::Binary(BinaryOp::Add), &[&a, &i]).is_err());
    assert!(run1(ElementwiseOp::Unary(UnaryOp::Sqrt), &[&i]).is_err());
    assert!(ElementwiseOp::Binary(BinaryOp::Add).run(&[Some(&a)]).is_err());
    assert!(run1(ElementwiseOp::Variadic(VariadicOp::Sum), &[]).is_err());
    assert!(run1(ElementwiseOp::Where, &[&a, &a, &a]).is_err());
}

#[test]
fn infer_broadcasts_symbolic_dims() {
    let a = TensorType { dtype: DType::F32, shape: Some(vec![Dim::Sym("n".into()), Dim::Known(1)]) };
    let b = TensorType::known(DType::F32, &[3]);
    let ins = [InferInput { ty: Some(&a), value: None }, InferInput { ty: Some(&b), value: None }];
    let out = ElementwiseOp::Binary(BinaryOp::Less).infer(&ins).unwrap();
    assert_eq!(out[0].dtype, DType::Bool);
    assert_eq!(out[0].shape, Some(vec![Dim::Sym("n".into()), Dim::Known(3)]));
}
