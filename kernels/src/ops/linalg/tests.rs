//! Unit tests for the linalg family (values checked by hand / numpy).

use super::*;

fn t32(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

fn run1(op: LinalgOp, ins: &[&Tensor]) -> Result<Tensor> {
    let v: Vec<Option<&Tensor>> = ins.iter().map(|t| Some(*t)).collect();
    Ok(op.run(&v)?.remove(0))
}

#[test]
fn matmul_2d_and_1d() {
    let a = t32(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let b = t32(&[3, 2], &[7., 8., 9., 10., 11., 12.]);
    let y = run1(LinalgOp::MatMul, &[&a, &b]).unwrap();
    assert_eq!(y.shape(), &[2, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[58., 64., 139., 154.]);
    let v = t32(&[3], &[1., 0., -1.]);
    let y = run1(LinalgOp::MatMul, &[&a, &v]).unwrap();
    assert_eq!(y.shape(), &[2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[-2., -2.]);
}

#[test]
fn matmul_broadcast_batch_int() {
    // a: [2,1,2,2], b: [3,2,2] -> [2,3,2,2]
    let a = Tensor::from_vec(vec![2, 1, 2, 2], vec![1i32, 0, 0, 1, 2, 0, 0, 2]).unwrap();
    let b = Tensor::from_vec(vec![3, 2, 2], (0..12).collect::<Vec<i32>>()).unwrap();
    let y = run1(LinalgOp::MatMul, &[&a, &b]).unwrap();
    assert_eq!(y.shape(), &[2, 3, 2, 2]);
    let v = y.as_slice::<i32>().unwrap();
    assert_eq!(&v[..12], &(0..12).collect::<Vec<i32>>()[..]);
    assert_eq!(&v[12..], &(0..12).map(|x| 2 * x).collect::<Vec<i32>>()[..]);
}

#[test]
fn matmul_shape_error() {
    let a = t32(&[2, 3], &[0.; 6]);
    let b = t32(&[2, 3], &[0.; 6]);
    assert!(run1(LinalgOp::MatMul, &[&a, &b]).is_err());
}

#[test]
fn gemm_trans_and_bias() {
    let a = t32(&[3, 2], &[1., 4., 2., 5., 3., 6.]); // A^T = [[1,2,3],[4,5,6]]
    let b = t32(&[3, 2], &[7., 8., 9., 10., 11., 12.]);
    let c = t32(&[2], &[1., -1.]);
    let g = GemmArgs { alpha: 0.5, beta: 2.0, trans_a: true, trans_b: false };
    let y = run1(LinalgOp::Gemm(g), &[&a, &b, &c]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[31., 30., 71.5, 75.]);
}

#[test]
fn matmul_integer_zero_points() {
    let a = Tensor::from_vec(vec![4, 3], vec![11u8, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]).unwrap();
    let b = Tensor::from_vec(vec![3, 2], vec![1u8, 4, 2, 5, 3, 6]).unwrap();
    let az = Tensor::from_vec(vec![1], vec![12u8]).unwrap();
    let bz = Tensor::from_vec(vec![1], vec![0u8]).unwrap();
    let y = run1(LinalgOp::MatMulInteger, &[&a, &b, &az, &bz]).unwrap();
    assert_eq!(y.as_slice::<i32>().unwrap(), &[-38, -83, -44, -98, -50, -113, -56, -128]);
}

#[test]
fn einsum_cases() {
    let x = t32(&[2, 2], &[1., 2., 3., 4.]);
    let tr = run1(LinalgOp::Einsum(parse_equation("ii").unwrap()), &[&x]).unwrap();
    assert_eq!(tr.as_slice::<f32>().unwrap(), &[5.]);
    let t = run1(LinalgOp::Einsum(parse_equation("ij->ji").unwrap()), &[&x]).unwrap();
    assert_eq!(t.as_slice::<f32>().unwrap(), &[1., 3., 2., 4.]);
    let mm = run1(LinalgOp::Einsum(parse_equation("ij,jk").unwrap()), &[&x, &x]).unwrap();
    assert_eq!(mm.as_slice::<f32>().unwrap(), &[7., 10., 15., 22.]);
    let d = run1(LinalgOp::Einsum(parse_equation("...ii->...i").unwrap()), &[&x]).unwrap();
    assert_eq!(d.as_slice::<f32>().unwrap(), &[1., 4.]);
    let s = run1(LinalgOp::Einsum(parse_equation("ij,ij,ij->").unwrap()), &[&x, &x, &x]).unwrap();
    assert_eq!(s.as_slice::<f32>().unwrap(), &[100.]);
    assert!(parse_equation("i$->i").is_err());
    assert!(run1(LinalgOp::Einsum(parse_equation("ijk->i").unwrap()), &[&x]).is_err());
}

#[test]
fn det_values() {
    let x = t32(&[3, 2, 2], &[1., 2., 3., 4., 1., 2., 2., 1., 1., 3., 3., 1.]);
    let y = run1(LinalgOp::Det, &[&x]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[-2., -3., -8.]);
    let bad = t32(&[2, 3], &[0.; 6]);
    assert!(run1(LinalgOp::Det, &[&bad]).is_err());
}
