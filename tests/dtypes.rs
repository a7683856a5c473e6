//! Host tensor basics: dtype codes and byte round trips.

use suanli_kernels::{DType, Tensor};

#[test]
fn onnx_codes_round_trip() {
    for dt in DType::ALL {
        assert_eq!(DType::from_onnx_code(dt.onnx_code()), Some(dt));
    }
}

#[test]
fn bytes_round_trip() {
    let t = Tensor::from_vec(vec![2, 3], vec![1i64, -2, 3, 4, 5, i64::MIN]).unwrap();
    let b = t.to_le_bytes().unwrap();
    assert_eq!(
        Tensor::from_le_bytes(DType::I64, vec![2, 3], &b).unwrap(),
        t
    );
    assert!(Tensor::from_le_bytes(DType::I64, vec![2, 2], &b).is_err());
}

#[test]
fn cast_truncates_and_wraps() {
    let t = Tensor::from_vec(vec![3], vec![1.9f32, -1.9, 300.0]).unwrap();
    assert_eq!(
        t.cast(DType::I32).unwrap().as_slice::<i32>().unwrap(),
        &[1, -1, 300]
    );
    let s = t.cast(DType::Str).unwrap();
    assert_eq!(s.as_strings().unwrap()[0], "1.9");
}
