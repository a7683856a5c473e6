//! MatMul (numpy semantics), Gemm and MatMulInteger.

use super::gemm::{comp_kind, CompKind, Compute, GemmElem, MatRef};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::shape::{broadcast_dims, broadcast_shapes, broadcast_strides, strides, Dim, TensorType};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// How a numpy matmul of two shapes decomposes into batched `m × k · k × n` products.
#[derive(Clone, Debug, PartialEq)]
pub struct MatMulPlan {
    /// Broadcast batch dims.
    pub batch: Vec<usize>,
    /// Rows of each product.
    pub m: usize,
    /// Contracted extent.
    pub k: usize,
    /// Columns of each product.
    pub n: usize,
    /// Final output shape (1-D operands drop their promoted dim).
    pub out_shape: Vec<usize>,
    /// Element strides of A's matrices over the batch dims (0 where broadcast).
    pub a_bstr: Vec<usize>,
    /// Element strides of B's matrices over the batch dims (0 where broadcast).
    pub b_bstr: Vec<usize>,
}

/// Plan a numpy matmul of shapes `a` and `b`.
pub fn plan_matmul(op: &str, a: &[usize], b: &[usize]) -> Result<MatMulPlan> {
    if a.is_empty() || b.is_empty() {
        return Err(KernelError::invalid(op, "operands must have rank >= 1"));
    }
    let a2: Vec<usize> = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
    let b2: Vec<usize> = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
    let (ar, br) = (a2.len(), b2.len());
    let (m, k) = (a2[ar - 2], a2[ar - 1]);
    let (k2, n) = (b2[br - 2], b2[br - 1]);
    if k != k2 {
        return Err(KernelError::invalid(op, format!("inner dims differ: {a:?} x {b:?}")));
    }
    let (ab, bb) = (&a2[..ar - 2], &b2[..br - 2]);
    let batch = broadcast_shapes(op, &[ab, bb])?;
    let a_bstr: Vec<usize> = broadcast_strides(ab, &batch).into_iter().map(|s| s * m * k).collect();
    let b_bstr: Vec<usize> = broadcast_strides(bb, &batch).into_iter().map(|s| s * k * n).collect();
    let mut out_shape = batch.clone();
    if a.len() > 1 {
        out_shape.push(m);
    }
    if b.len() > 1 {
        out_shape.push(n);
    }
    Ok(MatMulPlan { batch, m, k, n, out_shape, a_bstr, b_bstr })
}

/// Static output shape of a numpy matmul (symbolic dims allowed).
pub fn infer_matmul_shape(op: &str, a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>> {
    if a.is_empty() || b.is_empty() {
        return Err(KernelError::invalid(op, "operands must have rank >= 1"));
    }
    let ab = &a[..a.len().saturating_sub(2)];
    let bb = &b[..b.len().saturating_sub(2)];
    let mut out = broadcast_dims(op, &[ab, bb])?;
    if let (Some(ka), Some(kb)) = (a[a.len() - 1].known(), b[b.len().saturating_sub(2)].known()) {
        if ka != kb {
            return Err(KernelError::invalid(op, format!("inner dims differ: {ka} vs {kb}")));
        }
    }
    if a.len() > 1 {
        out.push(a[a.len() - 2].clone());
    }
    if b.len() > 1 {
        out.push(b[b.len() - 1].clone());
    }
    Ok(out)
}

/// Offset of batch number `i` given broadcast batch `shape` and per-dim `strides`.
fn batch_offset(mut i: usize, shape: &[usize], strides: &[usize]) -> usize {
    let mut off = 0;
    for d in (0..shape.len()).rev() {
        let ext = shape[d].max(1);
        off += (i % ext) * strides[d];
        i /= ext;
    }
    off
}

/// Run a planned batched matmul on contiguous operands.
pub fn run_plan<T: GemmElem>(p: &MatMulPlan, a: &[T], b: &[T]) -> Result<Vec<T>> {
    let nb: usize = p.batch.iter().product();
    let (m, k, n) = (p.m, p.k, p.n);
    let mut out = vec![T::default(); nb * m * n];
    if out.is_empty() {
        return Ok(out);
    }
    let one = T::one();
    let zero = T::default();
    // B shared by every batch and A contiguous over the batch: one tall product.
    let a_contig = p.a_bstr == strides(&p.batch).into_iter().map(|s| s * m * k).collect::<Vec<_>>();
    if p.b_bstr.iter().all(|&s| s == 0) && a_contig {
        T::gemm(nb * m, k, n, one, MatRef::rows(a, 0, k), MatRef::rows(b, 0, n), zero, &mut out, n)?;
        return Ok(out);
    }
    let work = |(i, c): (usize, &mut [T])| -> Result<()> {
        let ao = batch_offset(i, &p.batch, &p.a_bstr);
        let bo = batch_offset(i, &p.batch, &p.b_bstr);
        T::gemm(m, k, n, one, MatRef::rows(a, ao, k), MatRef::rows(b, bo, n), zero, c, n)
    };
    if nb > 1 && m * k * n * nb > 1 << 16 {
        out.par_chunks_mut(m * n).enumerate().try_for_each(work)?;
    } else {
        out.chunks_mut(m * n).enumerate().try_for_each(work)?;
    }
    Ok(out)
}

fn matmul_in<C: Compute>(a: &Tensor, b: &Tensor, p: &MatMulPlan) -> Result<Tensor> {
    let (av, bv) = (C::load(a)?, C::load(b)?);
    let out = run_plan::<C>(p, &av, &bv)?;
    C::store(out, a.dtype(), p.out_shape.clone())
}

/// MatMul kernel: numpy-style batched matrix product of two tensors of the same dtype.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    const OP: &str = "MatMul";
    if a.dtype() != b.dtype() {
        return Err(KernelError::invalid(OP, format!("dtypes differ: {} and {}", a.dtype(), b.dtype())));
    }
    let p = plan_matmul(OP, a.shape(), b.shape())?;
    match comp_kind(a.dtype()) {
        Some(CompKind::F32) => matmul_in::<f32>(a, b, &p),
        Some(CompKind::F64) => matmul_in::<f64>(a, b, &p),
        Some(CompKind::I64) => matmul_in::<i64>(a, b, &p),
        None => Err(KernelError::unsupported(OP, format!("dtype {}", a.dtype()))),
    }
}

/// Inference shared by MatMul and MatMulInteger.
pub fn infer_matmul(op: &str, a: &TensorType, b: &TensorType, out: DType) -> Result<Vec<TensorType>> {
    let shape = match (&a.shape, &b.shape) {
        (Some(sa), Some(sb)) => Some(infer_matmul_shape(op, sa, sb)?),
        _ => None,
    };
    Ok(vec![TensorType { dtype: out, shape }])
}

/// Gemm attributes in kernel form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemmArgs {
    /// Scale of A·B.
    pub alpha: f32,
    /// Scale of C.
    pub beta: f32,
    /// Transpose A first.
    pub trans_a: bool,
    /// Transpose B first.
    pub trans_b: bool,
}

/// The (m, k, n) of a Gemm from its operand shapes.
pub fn gemm_dims(op: &str, a: &[usize], b: &[usize], g: &GemmArgs) -> Result<(usize, usize, usize)> {
    if a.len() != 2 || b.len() != 2 {
        return Err(KernelError::invalid(op, format!("A and B must be 2-D, got {a:?} and {b:?}")));
    }
    let (m, k) = if g.trans_a { (a[1], a[0]) } else { (a[0], a[1]) };
    let (k2, n) = if g.trans_b { (b[1], b[0]) } else { (b[0], b[1]) };
    if k != k2 {
        return Err(KernelError::invalid(op, format!("inner dims differ: A {a:?} B {b:?} (transA {}, transB {})", g.trans_a, g.trans_b)));
    }
    Ok((m, k, n))
}

fn gemm_in<C: Compute>(a: &Tensor, b: &Tensor, c: Option<&Tensor>, g: &GemmArgs, dims: (usize, usize, usize)) -> Result<Tensor> {
    let (m, k, n) = dims;
    let (av, bv) = (C::load(a)?, C::load(b)?);
    let mut out = vec![C::default(); m * n];
    let mut beta = from_f32::<C>(0.0);
    if let (Some(c), true) = (c, g.beta != 0.0) {
        if c.rank() > 2 {
            return Err(KernelError::invalid("Gemm", format!("C must have rank <= 2, got {:?}", c.shape())));
        }
        let cv = C::load(c)?;
        let target = [m, n];
        let bs = broadcast_shapes("Gemm", &[c.shape(), &target])?;
        if bs != target {
            return Err(KernelError::invalid("Gemm", format!("C of shape {:?} does not broadcast to [{m}, {n}]", c.shape())));
        }
        let st = broadcast_strides(c.shape(), &target);
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = cv[i * st[0] + j * st[1]];
            }
        }
        beta = from_f32::<C>(g.beta);
    }
    let ma = if g.trans_a { MatRef::rows(&av, 0, m).t() } else { MatRef::rows(&av, 0, k) };
    let mb = if g.trans_b { MatRef::rows(&bv, 0, k).t() } else { MatRef::rows(&bv, 0, n) };
    C::gemm(m, k, n, from_f32::<C>(g.alpha), ma, mb, beta, &mut out, n)?;
    C::store(out, a.dtype(), vec![m, n])
}

/// An f32 attribute value in a compute type (integers truncate, as ONNX Runtime does).
fn from_f32<C: Compute>(v: f32) -> C {
    C::from_f64(v as f64)
}

/// Gemm kernel: `alpha·op(A)·op(B) + beta·C`.
pub fn gemm(a: &Tensor, b: &Tensor, c: Option<&Tensor>, g: &GemmArgs) -> Result<Tensor> {
    const OP: &str = "Gemm";
    if a.dtype() != b.dtype() {
        return Err(KernelError::invalid(OP, format!("dtypes differ: {} and {}", a.dtype(), b.dtype())));
    }
    let dims = gemm_dims(OP, a.shape(), b.shape(), g)?;
    match comp_kind(a.dtype()) {
        Some(CompKind::F32) => gemm_in::<f32>(a, b, c, g, dims),
        Some(CompKind::F64) => gemm_in::<f64>(a, b, c, g, dims),
        Some(CompKind::I64) => gemm_in::<i64>(a, b, c, g, dims),
        None => Err(KernelError::unsupported(OP, format!("dtype {}", a.dtype()))),
    }
}

/// Gemm inference.
pub fn infer_gemm(a: &TensorType, b: &TensorType, g: &GemmArgs) -> Result<Vec<TensorType>> {
    let dim = |t: &TensorType, i: usize| t.shape.as_ref().and_then(|s| s.get(i).cloned()).unwrap_or(Dim::Unknown);
    let m = if g.trans_a { dim(a, 1) } else { dim(a, 0) };
    let n = if g.trans_b { dim(b, 0) } else { dim(b, 1) };
    for t in [a, b] {
        if let Some(r) = t.rank() {
            if r != 2 {
                return Err(KernelError::invalid("Gemm", format!("A and B must be 2-D, got {t}")));
            }
        }
    }
    Ok(vec![TensorType { dtype: a.dtype, shape: Some(vec![m, n]) }])
}

/// Zero point values as i64, checked against the allowed lengths (1 or `per`).
fn zero_points(op: &str, zp: Option<&Tensor>, per: usize, what: &str) -> Result<Vec<i64>> {
    match zp {
        None => Ok(vec![0]),
        Some(t) => {
            if !matches!(t.dtype(), DType::U8 | DType::I8) {
                return Err(KernelError::invalid(op, format!("{what} must be u8 or i8, got {}", t.dtype())));
            }
            let v = t.to_i64_vec()?;
            if v.len() != 1 && v.len() != per {
                return Err(KernelError::unsupported(op, format!("{what} of shape {:?}", t.shape())));
            }
            Ok(v)
        }
    }
}

/// MatMulInteger kernel: `(A - a_zero_point) · (B - b_zero_point)` in i32.
/// A's zero point may be per row (last-but-one dim of A), B's per column.
pub fn matmul_integer(a: &Tensor, b: &Tensor, azp: Option<&Tensor>, bzp: Option<&Tensor>) -> Result<Tensor> {
    const OP: &str = "MatMulInteger";
    for t in [a, b] {
        if !matches!(t.dtype(), DType::U8 | DType::I8) {
            return Err(KernelError::invalid(OP, format!("inputs must be u8 or i8, got {}", t.dtype())));
        }
    }
    let p = plan_matmul(OP, a.shape(), b.shape())?;
    let az = zero_points(OP, azp, p.m, "a_zero_point")?;
    let bz = zero_points(OP, bzp, p.n, "b_zero_point")?;
    let (m, k, n) = (p.m, p.k, p.n);
    // Exact in f64 for any realistic k (|products| < 2^16, sums < 2^53).
    let av: Vec<f64> = a
        .to_i64_vec()?
        .into_iter()
        .enumerate()
        .map(|(i, x)| (x - if az.len() == 1 { az[0] } else { az[(i / k.max(1)) % m] }) as f64)
        .collect();
    let bv: Vec<f64> = b
        .to_i64_vec()?
        .into_iter()
        .enumerate()
        .map(|(i, x)| (x - if bz.len() == 1 { bz[0] } else { bz[i % n.max(1)] }) as f64)
        .collect();
    let out = run_plan::<f64>(&p, &av, &bv)?;
    Tensor::from_vec(p.out_shape, out.into_iter().map(|x| x as i64 as i32).collect::<Vec<i32>>())
}
