//! Conv, MatMul and Gemm with their epilogue fused (bias, residual add, activation), in f32,
//! with weights plain or packed once at session build ([`Packed`]).

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::ops::conv::fast::{ConvEpilogue, ConvWeights, PackedConvWeights};
use crate::ops::conv::{conv_f32_with, Window};
use crate::ops::linalg::gemm::MatRef;
use crate::ops::linalg::matmul::{gemm_dims, GemmArgs};
use crate::ops::linalg::sgemm::{pack_b, sgemm, AOperand, Activation, BOperand, Bias, Epilogue, PackedB};
use crate::shape::broadcast_strides;
use crate::tensor::Tensor;

/// Weights packed once for one of the linear ops.
#[derive(Debug)]
pub enum Packed {
    /// Conv weights, per group.
    Conv(PackedConvWeights),
    /// The right operand of a MatMul / Gemm (after Gemm's `transB`), `k × n`.
    Right(PackedB),
}

fn f32_input<'a>(op: &str, t: &'a Tensor, what: &str) -> Result<&'a [f32]> {
    if t.dtype() != DType::F32 {
        return Err(KernelError::invalid(
            op,
            format!("{what} must be f32, got {}", t.dtype()),
        ));
    }
    t.as_slice::<f32>()
}

/// `act(Conv(x, W, B) + residual)`; `packed` stands in for W's values when given.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    window: &Window,
    group: usize,
    act: Activation,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    residual: Option<&Tensor>,
    packed: Option<&Packed>,
) -> Result<Tensor> {
    const OP: &str = "FusedConv";
    f32_input(OP, x, "X")?;
    let weights = match packed {
        Some(Packed::Conv(p)) if p.shape() == w.shape() => ConvWeights::Packed(p),
        _ => ConvWeights::Plain(f32_input(OP, w, "W")?),
    };
    let epi = ConvEpilogue {
        bias: b.map(|b| f32_input(OP, b, "B")).transpose()?,
        residual: residual.map(|r| f32_input(OP, r, "the residual")).transpose()?,
        act,
    };
    let out = conv_f32_with(x, weights, w.shape(), &epi, window, group)?;
    if let Some(r) = residual {
        if r.shape() != out.shape() {
            return Err(KernelError::invalid(
                OP,
                format!(
                    "residual of shape {:?} differs from the output {:?}",
                    r.shape(),
                    out.shape()
                ),
            ));
        }
    }
    Ok(out)
}

/// Pack a 2-D right operand (`k × n`, or `n × k` read transposed).
pub fn pack_right(b: &Tensor, transposed: bool) -> Result<Packed> {
    let v = f32_input("MatMul", b, "B")?;
    let s = b.shape();
    if s.len() != 2 {
        return Err(KernelError::invalid(
            "MatMul",
            format!("B must be 2-D to pack, got {s:?}"),
        ));
    }
    let view = MatRef::rows(v, 0, s[1]);
    let (k, n, view) = if transposed {
        (s[1], s[0], view.t())
    } else {
        (s[0], s[1], view)
    };
    Ok(Packed::Right(pack_b(k, n, view)?))
}

fn right<'a>(b: &'a Tensor, transposed: bool, k: usize, n: usize, packed: Option<&'a Packed>) -> Result<BOperand<'a>> {
    if let Some(Packed::Right(p)) = packed {
        if p.rows() == k && p.cols() == n {
            return Ok(BOperand::Packed(p));
        }
    }
    let v = f32_input("MatMul", b, "B")?;
    let view = if transposed {
        MatRef::rows(v, 0, k).t()
    } else {
        MatRef::rows(v, 0, n)
    };
    Ok(BOperand::Plain(view))
}

/// `act(A·B + bias)` for A of shape `[…, m, k]` and a 2-D B `k × n` (plain or packed); the
/// bias has `n` values.
pub fn matmul(
    act: Activation,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    packed: Option<&Packed>,
) -> Result<Tensor> {
    const OP: &str = "FusedMatMul";
    let av = f32_input(OP, a, "A")?;
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() < 2 || sb.len() != 2 || sa[sa.len() - 1] != sb[0] {
        return Err(KernelError::invalid(
            OP,
            format!("A {sa:?} must be [..., m, k] and B {sb:?} must be [k, n]"),
        ));
    }
    let (k, n) = (sb[0], sb[1]);
    let rows = av.len() / k.max(1);
    let bv = bias.map(|t| f32_input(OP, t, "the bias")).transpose()?;
    if bv.is_some_and(|v| v.len() != n) {
        return Err(KernelError::invalid(OP, format!("the bias must have {n} values")));
    }
    // The GEMM below (beta 0) writes every output.
    let mut out = crate::buffers::overwritten::<f32>(rows * n);
    let epi = Epilogue {
        bias: bv.map(Bias::Col).unwrap_or(Bias::None),
        residual: None,
        act,
    };
    let bop = right(b, false, k, n, packed)?;
    sgemm(
        rows,
        k,
        n,
        1.0,
        AOperand::Plain(MatRef::rows(av, 0, k)),
        bop,
        0.0,
        &mut out,
        n,
        &epi,
    )?;
    let mut shape = crate::buffers::dims(sa);
    if let Some(last) = shape.last_mut() {
        *last = n;
    }
    Tensor::from_vec(shape, out)
}

/// `act(alpha·op(A)·op(B) + beta·C)`; a C of `n` values (or `1 × n`) is a fused column bias.
pub fn gemm(
    args: &GemmArgs,
    act: Activation,
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    packed: Option<&Packed>,
) -> Result<Tensor> {
    const OP: &str = "FusedGemm";
    let (m, k, n) = gemm_dims(OP, a.shape(), b.shape(), args)?;
    let av = f32_input(OP, a, "A")?;
    let aop = if args.trans_a {
        MatRef::rows(av, 0, m).t()
    } else {
        MatRef::rows(av, 0, k)
    };
    let bop = right(b, args.trans_b, k, n, packed)?;
    // Every element is written: by the GEMM (beta 0 reads nothing), or first by the C copy below.
    let mut out = crate::buffers::overwritten::<f32>(m * n);
    let mut beta = 0.0;
    let mut col_bias = std::borrow::Cow::Borrowed(&[][..]);
    if let (Some(c), true) = (c, args.beta != 0.0) {
        let cv = f32_input(OP, c, "C")?;
        let cs = c.shape();
        if cv.len() == n && (cs.len() == 1 || (cs.len() == 2 && cs[0] == 1)) {
            col_bias = if args.beta == 1.0 {
                std::borrow::Cow::Borrowed(cv)
            } else {
                cv.iter().map(|v| v * args.beta).collect()
            };
        } else {
            if cs.len() > 2 || crate::shape::broadcast_shapes(OP, &[cs, &[m, n]])? != [m, n] {
                return Err(KernelError::invalid(
                    OP,
                    format!("C of shape {cs:?} does not broadcast to [{m}, {n}]"),
                ));
            }
            let st = broadcast_strides(cs, &[m, n]);
            for i in 0..m {
                for j in 0..n {
                    out[i * n + j] = cv[i * st[0] + j * st[1]];
                }
            }
            beta = args.beta;
        }
    }
    let epi = Epilogue {
        bias: if col_bias.is_empty() {
            Bias::None
        } else {
            Bias::Col(&col_bias)
        },
        residual: None,
        act,
    };
    sgemm(m, k, n, args.alpha, AOperand::Plain(aop), bop, beta, &mut out, n, &epi)?;
    Tensor::from_vec(crate::buffers::dims(&[m, n]), out)
}
