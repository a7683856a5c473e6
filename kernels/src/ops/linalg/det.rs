//! Det: batched determinants by LU decomposition with partial pivoting.

use crate::error::{KernelError, Result};
use crate::shape::TensorType;
use crate::tensor::Tensor;

const OP: &str = "Det";

/// Determinant of one row-major `n × n` matrix (destroys `a`).
fn det_one(a: &mut [f64], n: usize) -> f64 {
    let mut det = 1.0;
    for c in 0..n {
        let mut p = c;
        for r in c + 1..n {
            if a[r * n + c].abs() > a[p * n + c].abs() {
                p = r;
            }
        }
        let piv = a[p * n + c];
        if piv == 0.0 {
            return 0.0;
        }
        if p != c {
            for j in 0..n {
                a.swap(p * n + j, c * n + j);
            }
            det = -det;
        }
        det *= piv;
        for r in c + 1..n {
            let f = a[r * n + c] / piv;
            if f != 0.0 {
                for j in c + 1..n {
                    a[r * n + j] -= f * a[c * n + j];
                }
            }
        }
    }
    det
}

/// Det kernel: `[..., n, n]` → `[...]`, float dtypes only.
pub fn det(x: &Tensor) -> Result<Tensor> {
    let s = x.shape();
    if s.len() < 2 || s[s.len() - 1] != s[s.len() - 2] {
        return Err(KernelError::invalid(OP, format!("input must be [..., n, n], got {s:?}")));
    }
    if !x.dtype().is_float() {
        return Err(KernelError::invalid(OP, format!("dtype {} is not a float type", x.dtype())));
    }
    let n = s[s.len() - 1];
    let mut v = x.to_f64_vec()?;
    let out: Vec<f64> = if n == 0 { vec![1.0; s[..s.len() - 2].iter().product()] } else { v.chunks_mut(n * n).map(|m| det_one(m, n)).collect() };
    let shape = s[..s.len() - 2].to_vec();
    super::gemm::store_f64(out, x.dtype(), shape)
}

/// Det inference: drop the last two dims.
pub fn infer_det(x: &TensorType) -> Result<TensorType> {
    let shape = match &x.shape {
        None => None,
        Some(s) if s.len() >= 2 => Some(s[..s.len() - 2].to_vec()),
        Some(s) => return Err(KernelError::invalid(OP, format!("input must have rank >= 2, got {}", s.len()))),
    };
    Ok(TensorType { dtype: x.dtype, shape })
}
