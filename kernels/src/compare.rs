//! Comparing tensors within tolerances: shared by the conformance tests, the runtime's
//! `demo`/`run` checks and every device's self-tests.

use crate::tensor::{Tensor, TensorData};

/// Check `got` against `want`: same dtype and shape; floats within `atol + rtol * |want|`
/// (NaN matches NaN, infinities must match exactly); everything else exactly equal.
pub fn check_tensor(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {} != expected {}", got.dtype(), want.dtype()));
    }
    if got.shape() != want.shape() {
        return Err(format!("shape {:?} != expected {:?}", got.shape(), want.shape()));
    }
    if let (TensorData::Str(a), TensorData::Str(b)) = (got.data(), want.data()) {
        return match a.iter().zip(b).position(|(x, y)| x != y) {
            None => Ok(()),
            Some(i) => Err(format!("element {i}: {:?} != expected {:?}", a[i], b[i])),
        };
    }
    if !got.dtype().is_float() {
        let (a, b) = (
            got.to_i64_vec().map_err(|e| e.to_string())?,
            want.to_i64_vec().map_err(|e| e.to_string())?,
        );
        return match a.iter().zip(&b).position(|(x, y)| x != y) {
            None => Ok(()),
            Some(i) => Err(format!("element {i}: {} != expected {}", a[i], b[i])),
        };
    }
    let (a, b) = (
        got.to_f64_vec().map_err(|e| e.to_string())?,
        want.to_f64_vec().map_err(|e| e.to_string())?,
    );
    let mut worst: Option<(usize, f64)> = None;
    let mut bad = 0usize;
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let ok = if x.is_nan() || y.is_nan() {
            x.is_nan() && y.is_nan()
        } else if x.is_infinite() || y.is_infinite() {
            x == y
        } else {
            (x - y).abs() <= atol + rtol * y.abs()
        };
        if !ok {
            bad += 1;
            let err = (x - y).abs();
            if worst.is_none_or(|(_, e)| err > e || err.is_nan()) {
                worst = Some((i, err));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, e)) => Err(format!(
            "{bad} of {} elements differ; worst at {i}: {} vs expected {} (|diff| {e:.3e})",
            a.len(),
            a[i],
            b[i]
        )),
    }
}

/// Largest absolute difference between two float tensors of the same shape (for reports).
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Option<f64> {
    if a.shape() != b.shape() {
        return None;
    }
    let (x, y) = (a.to_f64_vec().ok()?, b.to_f64_vec().ok()?);
    Some(x.iter().zip(&y).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max))
}
