use super::*;

fn t32(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

#[test]
fn quantize_per_tensor_rounds_half_even_and_saturates() {
    let op = QuantOp::QuantizeLinear { axis: 1, block_size: 0, output_dtype: None };
    let x = t32(&[6], &[0.0, 2.0, 3.0, 1000.0, -254.0, -1000.0]);
    let s = Tensor::scalar(2.0f32);
    let z = Tensor::scalar(128u8);
    let y = op.run(&[Some(&x), Some(&s), Some(&z)]).unwrap();
    assert_eq!(y[0].as_slice::<u8>().unwrap(), &[128, 129, 130, 255, 1, 0]);
}

#[test]
fn dequantize_blocked() {
    let op = QuantOp::DequantizeLinear { axis: 1, block_size: 2, output_dtype: None };
    let x = Tensor::from_vec(vec![1, 4], vec![1i8, 2, 3, 4]).unwrap();
    let s = t32(&[1, 2], &[0.5, 2.0]);
    let z = Tensor::from_vec(vec![1, 2], vec![1i8, 0]).unwrap();
    let y = op.run(&[Some(&x), Some(&s), Some(&z)]).unwrap();
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0.0, 0.5, 6.0, 8.0]);
}

#[test]
fn dynamic_quantize_matches_numpy() {
    let x = t32(&[6], &[0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
    let y = QuantOp::DynamicQuantizeLinear.run(&[Some(&x)]).unwrap();
    assert_eq!(y[0].as_slice::<u8>().unwrap(), &[153, 255, 0, 26, 221, 179]);
    assert!((y[1].scalar_f64().unwrap() - 0.019_607_844).abs() < 1e-7);
    assert_eq!(y[2].as_slice::<u8>().unwrap(), &[153]);
}

#[test]
fn qlinear_matmul_small() {
    let a = Tensor::from_vec(vec![1, 2], vec![10u8, 20]).unwrap();
    let b = Tensor::from_vec(vec![2, 1], vec![3u8, 4]).unwrap();
    let one = t32(&[1], &[1.0]);
    let z = Tensor::from_vec(vec![1], vec![0u8]).unwrap();
    let y = QuantOp::QLinearMatMul
        .run(&[Some(&a), Some(&one), Some(&z), Some(&b), Some(&one), Some(&z), Some(&one), Some(&z)])
        .unwrap();
    assert_eq!(y[0].shape(), &[1, 1]);
    assert_eq!(y[0].as_slice::<u8>().unwrap(), &[110]);
}

#[test]
fn qlinear_conv_identity_kernel() {
    let op = QuantOp::QLinearConv { auto_pad: AutoPad::NotSet, dilations: vec![], group: 1, kernel_shape: vec![], pads: vec![], strides: vec![] };
    let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![1u8, 2, 3, 4]).unwrap();
    let w = Tensor::from_vec(vec![1, 1, 1, 1], vec![2u8]).unwrap();
    let s = Tensor::scalar(1.0f32);
    let z = Tensor::scalar(0u8);
    let y = op.run(&[Some(&x), Some(&s), Some(&z), Some(&w), Some(&s), Some(&z), Some(&s), Some(&z)]).unwrap();
    assert_eq!(y[0].as_slice::<u8>().unwrap(), &[2, 4, 6, 8]);
}

#[test]
fn bad_scale_shape_is_an_error() {
    let op = QuantOp::QuantizeLinear { axis: 0, block_size: 0, output_dtype: None };
    let x = t32(&[2, 2], &[1.0; 4]);
    let s = t32(&[3], &[1.0; 3]);
    assert!(op.run(&[Some(&x), Some(&s), None]).is_err());
    assert!(op.run(&[Some(&x)]).is_err());
}
