//! Comparing results: tolerance checks used by the conformance tests, `demo` and `run`.

use crate::graph::Value;
pub use suanli_kernels::compare::{check_tensor, max_abs_diff};

/// [`check_tensor`] for values, recursing into sequences and optionals.
pub fn check_value(got: &Value, want: &Value, rtol: f64, atol: f64) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(a), Value::Tensor(b)) => check_tensor(a, b, rtol, atol),
        (Value::Sequence(a), Value::Sequence(b)) => {
            if a.len() != b.len() {
                return Err(format!("sequence length {} != expected {}", a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                check_tensor(x, y, rtol, atol).map_err(|e| format!("sequence element {i}: {e}"))?;
            }
            Ok(())
        }
        (Value::Optional(a), Value::Optional(b)) => match (a, b) {
            (None, None) => Ok(()),
            (Some(x), Some(y)) => check_value(x, y, rtol, atol),
            _ => Err(format!("optional {} != expected {}", got.describe(), want.describe())),
        },
        (Value::Optional(Some(x)), y) | (y, Value::Optional(Some(x))) => check_value(x, y, rtol, atol),
        _ => Err(format!("{} != expected {}", got.describe(), want.describe())),
    }
}
