//! Strided matrix-multiply core shared by MatMul, Gemm, Einsum and the convolutions.
//!
//! `f32` goes through suanli's own [`sgemm`](super::sgemm) (cache-blocked, packed, AVX2 / AVX-512
//! micro-kernels, parallel over the current rayon pool); `f64` through the `matrixmultiply` crate
//! (single-threaded); `i64` uses a plain loop with wrapping arithmetic (ONNX integer MatMul wraps).

use crate::dtype::{DType, Elem};
use crate::error::{KernelError, Result};
use crate::tensor::{HostElem, Tensor};
use std::borrow::Cow;

/// A strided, read-only matrix operand: `data[off + r*rs + c*cs]` is element `(r, c)`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    /// Backing storage.
    pub data: &'a [T],
    /// Offset of element (0, 0).
    pub off: usize,
    /// Row stride in elements.
    pub rs: usize,
    /// Column stride in elements.
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major contiguous `rows × cols` matrix starting at `off`.
    pub fn rows(data: &'a [T], off: usize, cols: usize) -> Self {
        MatRef {
            data,
            off,
            rs: cols,
            cs: 1,
        }
    }
    /// The same storage read transposed.
    pub fn t(self) -> Self {
        MatRef {
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// Fail unless every element of a `rows × cols` strided view lies inside `len`.
pub(crate) fn check_view(len: usize, off: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|a| (cols - 1).checked_mul(cs).and_then(|b| a.checked_add(b)))
        .and_then(|x| x.checked_add(off));
    match last {
        Some(l) if l < len => Ok(()),
        _ => Err(KernelError::invalid(
            "gemm",
            format!("strided view out of bounds ({rows}x{cols}, rs {rs}, cs {cs}, off {off}, len {len})"),
        )),
    }
}

/// Element types with a matrix-multiply kernel: `C = alpha·A·B + beta·C`.
pub trait GemmElem: Elem {
    /// Multiply `a` (`m × k`) by `b` (`k × n`) into `c` (`m × n`, row stride `rsc`, unit column
    /// stride, starting at `c[0]`). With `beta == 0` the old contents of `c` are ignored.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: MatRef<Self>,
        b: MatRef<Self>,
        beta: Self,
        c: &mut [Self],
        rsc: usize,
    ) -> Result<()>;
    /// `a·b + c` (wrapping for integers).
    fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `a + b` (wrapping for integers).
    fn add(a: Self, b: Self) -> Self;
}

/// Validate the three operands of a gemm call.
fn check_all<T>(m: usize, k: usize, n: usize, a: &MatRef<T>, b: &MatRef<T>, clen: usize, rsc: usize) -> Result<()> {
    check_view(a.data.len(), a.off, m, k, a.rs, a.cs)?;
    check_view(b.data.len(), b.off, k, n, b.rs, b.cs)?;
    check_view(clen, 0, m, n, rsc, 1)
}

macro_rules! mm_float {
    ($t:ty, $f:ident) => {
        impl GemmElem for $t {
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: $t,
                a: MatRef<$t>,
                b: MatRef<$t>,
                beta: $t,
                c: &mut [$t],
                rsc: usize,
            ) -> Result<()> {
                check_all(m, k, n, &a, &b, c.len(), rsc)?;
                if m == 0 || n == 0 {
                    return Ok(());
                }
                if k == 0 {
                    for r in 0..m {
                        for v in &mut c[r * rsc..r * rsc + n] {
                            *v = if beta == 0.0 { 0.0 } else { *v * beta };
                        }
                    }
                    return Ok(());
                }
                // SAFETY: check_all proved that every (row, col) the kernel touches in a, b and c
                // lies inside the respective slices; strides fit isize because they index slices.
                unsafe {
                    matrixmultiply::$f(
                        m,
                        k,
                        n,
                        alpha,
                        a.data.as_ptr().add(a.off),
                        a.rs as isize,
                        a.cs as isize,
                        b.data.as_ptr().add(b.off),
                        b.rs as isize,
                        b.cs as isize,
                        beta,
                        c.as_mut_ptr(),
                        rsc as isize,
                        1,
                    );
                }
                Ok(())
            }
            #[inline]
            fn mul_add(a: $t, b: $t, c: $t) -> $t {
                a * b + c
            }
            #[inline]
            fn add(a: $t, b: $t) -> $t {
                a + b
            }
        }
    };
}
impl GemmElem for f32 {
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: MatRef<f32>,
        b: MatRef<f32>,
        beta: f32,
        c: &mut [f32],
        rsc: usize,
    ) -> Result<()> {
        use super::sgemm::{sgemm, AOperand, BOperand, Epilogue};
        sgemm(
            m,
            k,
            n,
            alpha,
            AOperand::Plain(a),
            BOperand::Plain(b),
            beta,
            c,
            rsc,
            &Epilogue::none(),
        )
    }
    #[inline]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline]
    fn add(a: f32, b: f32) -> f32 {
        a + b
    }
}
mm_float!(f64, dgemm);

impl GemmElem for i64 {
    #[inline]
    fn mul_add(a: i64, b: i64, c: i64) -> i64 {
        a.wrapping_mul(b).wrapping_add(c)
    }
    #[inline]
    fn add(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: i64,
        a: MatRef<i64>,
        b: MatRef<i64>,
        beta: i64,
        c: &mut [i64],
        rsc: usize,
    ) -> Result<()> {
        check_all(m, k, n, &a, &b, c.len(), rsc)?;
        let mut acc = vec![0i64; n];
        for r in 0..m {
            acc.iter_mut().for_each(|v| *v = 0);
            for kk in 0..k {
                let av = a.data[a.off + r * a.rs + kk * a.cs];
                if av == 0 {
                    continue;
                }
                let brow = b.off + kk * b.rs;
                for (j, v) in acc.iter_mut().enumerate() {
                    *v = v.wrapping_add(av.wrapping_mul(b.data[brow + j * b.cs]));
                }
            }
            let row = &mut c[r * rsc..r * rsc + n];
            for (o, &v) in row.iter_mut().zip(&acc) {
                let prod = alpha.wrapping_mul(v);
                *o = if beta == 0 {
                    prod
                } else {
                    prod.wrapping_add(beta.wrapping_mul(*o))
                };
            }
        }
        Ok(())
    }
}

/// The arithmetic type a dtype is computed in: halves and f32 in f32, f64 in f64, integers in
/// wrapping i64 (which gives the same low bits as wrapping arithmetic in the narrower type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompKind {
    /// f32 (also for f16 / bf16, rounded at the end).
    F32,
    /// f64.
    F64,
    /// Wrapping i64 (every integer dtype).
    I64,
}

/// The compute kind of a dtype, `None` for bool and strings.
pub fn comp_kind(dt: DType) -> Option<CompKind> {
    match dt {
        DType::F32 | DType::F16 | DType::BF16 => Some(CompKind::F32),
        DType::F64 => Some(CompKind::F64),
        d if d.is_int() => Some(CompKind::I64),
        _ => None,
    }
}

/// A compute type: loads any numeric tensor as a slice of itself and stores results back.
pub trait Compute: GemmElem + HostElem {
    /// The tensor's elements in this type (borrowed when the dtype already matches).
    fn load(t: &Tensor) -> Result<Cow<'_, [Self]>>;
    /// Wrap results as a tensor of dtype `dt` (rounding / wrapping as needed).
    fn store(v: Vec<Self>, dt: DType, shape: Vec<usize>) -> Result<Tensor>;
}

fn store_f32_as<T: HostElem>(v: Vec<f32>, shape: Vec<usize>) -> Result<Tensor> {
    Tensor::from_vec(shape, v.into_iter().map(|x| T::from_f64(x as f64)).collect::<Vec<T>>())
}

fn store_f64_as<T: HostElem>(v: Vec<f64>, shape: Vec<usize>) -> Result<Tensor> {
    Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>())
}

fn store_int<T: HostElem>(v: Vec<i64>, shape: Vec<usize>) -> Result<Tensor> {
    Tensor::from_vec(shape, v.into_iter().map(T::from_i64).collect::<Vec<T>>())
}

fn bad_store(dt: DType) -> Result<Tensor> {
    Err(KernelError::unsupported("gemm", format!("dtype {dt}")))
}

impl Compute for f32 {
    fn load(t: &Tensor) -> Result<Cow<'_, [f32]>> {
        match t.as_slice::<f32>() {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => Ok(Cow::Owned(t.to_f32_vec()?)),
        }
    }
    fn store(v: Vec<f32>, dt: DType, shape: Vec<usize>) -> Result<Tensor> {
        if dt == DType::F32 {
            return Tensor::from_vec(shape, v);
        }
        crate::dispatch_dtype!(dt, store_f32_as(v, shape), str => bad_store(dt))
    }
}

impl Compute for f64 {
    fn load(t: &Tensor) -> Result<Cow<'_, [f64]>> {
        match t.as_slice::<f64>() {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => Ok(Cow::Owned(t.to_f64_vec()?)),
        }
    }
    fn store(v: Vec<f64>, dt: DType, shape: Vec<usize>) -> Result<Tensor> {
        if dt == DType::F64 {
            return Tensor::from_vec(shape, v);
        }
        crate::dispatch_dtype!(dt, store_f64_as(v, shape), str => bad_store(dt))
    }
}

impl Compute for i64 {
    fn load(t: &Tensor) -> Result<Cow<'_, [i64]>> {
        match t.as_slice::<i64>() {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => Ok(Cow::Owned(t.to_i64_vec()?)),
        }
    }
    fn store(v: Vec<i64>, dt: DType, shape: Vec<usize>) -> Result<Tensor> {
        if dt == DType::I64 {
            return Tensor::from_vec(shape, v);
        }
        crate::dispatch_dtype!(dt, store_int(v, shape), str => bad_store(dt))
    }
}

/// Store f64 results as a tensor of dtype `dt` (rounding for narrower floats, truncating for ints).
pub fn store_f64(v: Vec<f64>, dt: DType, shape: Vec<usize>) -> Result<Tensor> {
    <f64 as Compute>::store(v, dt, shape)
}
