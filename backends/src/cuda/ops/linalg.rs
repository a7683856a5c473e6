//! MatMul and Gemm through cuBLAS: the lowering turns numpy/ONNX semantics (1-D promotion,
//! batch broadcasting, transposes, the broadcast C of Gemm, fused activations) into row-major
//! strided-batched GEMM steps, plus the shared epilogue kernel where cuBLASLt has no epilogue.

use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{Arg, Buf, Epilogue, Gemm, LaunchCx};
use crate::device::Result;
use suanli_kernels::ops::fused::Activation;
use suanli_kernels::ops::{FusedOp, LinalgOp};
use suanli_kernels::{DType, KernelSpec};

const EPILOGUE: &str = include_str!("../../../../shaders/epilogue.cu");

/// dtypes cuBLAS multiplies here (tensor cores for f16/bf16, TF32 is not enabled for f32).
fn gemm_dtype(dt: DType) -> bool {
    matches!(dt, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
}

/// The code and parameters `shaders/epilogue.cu` takes for an activation.
pub fn act_code(act: Activation) -> (i32, f32, f32) {
    match act {
        Activation::None => (0, 0.0, 0.0),
        Activation::Relu => (1, 0.0, 0.0),
        Activation::LeakyRelu(a) => (2, a, 0.0),
        Activation::Clip(lo, hi) => (3, lo, hi),
        Activation::Sigmoid => (4, 0.0, 0.0),
        Activation::Tanh => (5, 0.0, 0.0),
        Activation::Gelu => (6, 0.0, 0.0),
        Activation::Silu => (7, 0.0, 0.0),
    }
}

/// The epilogue kernel for dtype `dt`.
pub fn epilogue_source(dt: DType) -> Result<CudaSource, String> {
    source(&format!("epilogue_{dt}"), "suanli_epilogue", &[("T", dt)], EPILOGUE)
}

/// Arguments of `suanli_epilogue`: `out = act(x + bias[(i / inner) % channels] + res)`.
#[allow(clippy::too_many_arguments)]
pub fn epilogue_args(
    x: Buf,
    bias: Option<Buf>,
    res: Option<Buf>,
    out: Buf,
    n: usize,
    inner: usize,
    channels: usize,
    act: Activation,
) -> Vec<Arg> {
    let (code, a, b) = act_code(act);
    let flags = i32::from(bias.is_some()) | (i32::from(res.is_some()) << 1);
    vec![
        Arg::Ptr(x),
        Arg::Ptr(bias.unwrap_or(x)),
        Arg::Ptr(res.unwrap_or(x)),
        Arg::Ptr(out),
        Arg::I64(n as i64),
        Arg::I64(inner.max(1) as i64),
        Arg::I64(channels.max(1) as i64),
        Arg::I32(flags),
        Arg::I32(code),
        Arg::F32(a),
        Arg::F32(b),
    ]
}

/// numpy matmul, optionally `act(A·B + bias)` (FusedMatMul).
struct MatMul {
    dtype: DType,
    act: Activation,
}

/// Strides of a batch shape broadcast to `out` (0 where broadcast), in matrices.
fn batch_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let off = out.len() - shape.len();
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        strides[off + i] = if shape[i] == 1 && out[off + i] != 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// One stride describing a whole broadcast batch, when there is one: every dim contiguous
/// (stride = matrices below it) or every dim broadcast (stride 0).
fn uniform_stride(strides: &[usize], out: &[usize], matrix: usize) -> Option<usize> {
    if strides.iter().all(|&s| s == 0) {
        return Some(0);
    }
    let mut expect = 1;
    for i in (0..out.len()).rev() {
        if out[i] != 1 && strides[i] != expect {
            return None;
        }
        expect *= out[i];
    }
    Some(matrix)
}

impl CudaOp for MatMul {
    fn sources(&self) -> Vec<CudaSource> {
        epilogue_source(self.dtype).into_iter().collect()
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let (sa, sb) = (cx.shape(0)?.to_vec(), cx.shape(1)?.to_vec());
        let a2 = if sa.len() == 1 { vec![1, sa[0]] } else { sa.clone() };
        let b2 = if sb.len() == 1 { vec![sb[0], 1] } else { sb.clone() };
        let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
        let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
        if k != kb {
            return Err(cx.invalid(format!("inner dimensions differ: {sa:?} x {sb:?}")));
        }
        let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
        let rank = ba.len().max(bb.len());
        let mut out_batch = vec![1; rank];
        for i in 0..rank {
            let da = if i + ba.len() >= rank {
                ba[i + ba.len() - rank]
            } else {
                1
            };
            let db = if i + bb.len() >= rank {
                bb[i + bb.len() - rank]
            } else {
                1
            };
            out_batch[i] = match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => return Err(cx.invalid(format!("batch dimensions do not broadcast: {sa:?} x {sb:?}"))),
            };
        }
        let batch: usize = out_batch.iter().product();
        // The output shape as numpy gives it (promoted dims dropped).
        let out_shape = cx.infer(&suanli_kernels::Op::Linalg(LinalgOp::MatMul))?[0].1.clone();
        let fused = self.act != Activation::None || cx.has(2);
        let out = cx.output(self.dtype, out_shape);
        let target = if fused {
            cx.scratch(self.dtype, batch * m * n)
        } else {
            out
        };
        let (stride_a, stride_b) = (
            uniform_stride(&batch_strides(ba, &out_batch), &out_batch, m * k),
            uniform_stride(&batch_strides(bb, &out_batch), &out_batch, k * n),
        );
        match (stride_a, stride_b) {
            // B shared by every batch and A contiguous: one tall GEMM.
            (Some(sa_), Some(0)) if sa_ != 0 || batch == 1 => cx.gemm(gemm(
                self.dtype,
                batch * m,
                n,
                k,
                1,
                Buf::In(0),
                0,
                Buf::In(1),
                0,
                target,
            )),
            (Some(sa_), Some(sb_)) => cx.gemm(gemm(
                self.dtype,
                m,
                n,
                k,
                batch,
                Buf::In(0),
                sa_,
                Buf::In(1),
                sb_,
                target,
            )),
            _ => {
                // General broadcast: one strided batch over the innermost batch dim per index
                // of the outer ones.
                let (st_a, st_b) = (batch_strides(ba, &out_batch), batch_strides(bb, &out_batch));
                let last = out_batch.len() - 1;
                let inner = out_batch[last];
                let outer: usize = out_batch[..last].iter().product();
                for o in 0..outer {
                    let (mut rem, mut off_a, mut off_b) = (o, 0, 0);
                    for d in (0..last).rev() {
                        let i = rem % out_batch[d];
                        rem /= out_batch[d];
                        off_a += i * st_a[d];
                        off_b += i * st_b[d];
                    }
                    let mut g = gemm(
                        self.dtype,
                        m,
                        n,
                        k,
                        inner,
                        Buf::In(0),
                        st_a[last] * m * k,
                        Buf::In(1),
                        st_b[last] * k * n,
                        target,
                    );
                    g.a_off = off_a * m * k;
                    g.b_off = off_b * k * n;
                    g.c_off = o * inner * m * n;
                    cx.gemm(g);
                }
            }
        }
        if fused {
            let bias = if cx.has(2) { Some(Buf::In(2)) } else { None };
            cx.kernel_1d(
                0,
                epilogue_args(target, bias, None, out, batch * m * n, 1, n, self.act),
                batch * m * n,
            );
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    dtype: DType,
    m: usize,
    n: usize,
    k: usize,
    batch: usize,
    a: Buf,
    stride_a: usize,
    b: Buf,
    stride_b: usize,
    c: Buf,
) -> Gemm {
    Gemm {
        dtype,
        m,
        n,
        k,
        batch,
        a,
        a_off: 0,
        lda: k,
        stride_a,
        trans_a: false,
        b,
        b_off: 0,
        ldb: n,
        stride_b,
        trans_b: false,
        c,
        c_off: 0,
        ldc: n,
        stride_c: m * n,
        alpha: 1.0,
        beta: 0.0,
        epilogue: Epilogue::None,
        bias: None,
    }
}

/// ONNX Gemm, optionally followed by an activation (FusedGemm).
struct GemmOp {
    dtype: DType,
    args: suanli_kernels::ops::linalg::GemmArgs,
    act: Activation,
}

impl CudaOp for GemmOp {
    fn sources(&self) -> Vec<CudaSource> {
        epilogue_source(self.dtype).into_iter().collect()
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let (sa, sb) = (cx.shape(0)?.to_vec(), cx.shape(1)?.to_vec());
        if sa.len() != 2 || sb.len() != 2 {
            return Err(cx.invalid(format!("Gemm operands must be 2-D, got {sa:?} and {sb:?}")));
        }
        let g = self.args;
        let (m, k) = if g.trans_a { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
        let (kb, n) = if g.trans_b { (sb[1], sb[0]) } else { (sb[0], sb[1]) };
        if k != kb {
            return Err(cx.invalid(format!("inner dimensions differ: {sa:?} x {sb:?}")));
        }
        let out = cx.output(self.dtype, vec![m, n]);
        let c_shape = if cx.has(2) { Some(cx.shape(2)?.to_vec()) } else { None };
        let with_c = c_shape.is_some() && g.beta != 0.0;
        // C of one value per column with beta 1 is a bias: cuBLASLt adds it in the epilogue.
        let row_bias = c_shape
            .as_ref()
            .is_some_and(|s| s.iter().product::<usize>() == n && s.last() == Some(&n) && g.beta == 1.0);
        let act_in_blas = matches!(self.act, Activation::None | Activation::Relu);
        let needs_kernel = (with_c && !row_bias) || !act_in_blas;
        let target = if needs_kernel {
            cx.scratch(self.dtype, m * n)
        } else {
            out
        };
        let mut call = gemm(self.dtype, m, n, k, 1, Buf::In(0), 0, Buf::In(1), 0, target);
        call.lda = sa[1];
        call.ldb = sb[1];
        call.trans_a = g.trans_a;
        call.trans_b = g.trans_b;
        call.alpha = f64::from(g.alpha);
        if row_bias && !needs_kernel {
            call.bias = Some(Buf::In(2));
            call.epilogue = if self.act == Activation::Relu {
                Epilogue::BiasRelu
            } else {
                Epilogue::Bias
            };
        } else if !needs_kernel && self.act == Activation::Relu {
            call.epilogue = Epilogue::Relu;
        }
        cx.gemm(call);
        if needs_kernel {
            // out = act(alpha·A·B + C) (beta is 1 here): C is the epilogue's bias, indexed per
            // element, per column, per row or as one value.
            let res = if with_c { Some(Buf::In(2)) } else { None };
            let (inner, channels) = match &c_shape {
                Some(s) if s.iter().product::<usize>() == m * n => (1, m * n),
                Some(s) if s.iter().product::<usize>() == 1 => (m * n, 1),
                Some(s) if s.last() == Some(&n) => (1, n),
                // [M, 1]: one value per row.
                Some(_) => (n, m),
                None => (1, 1),
            };
            cx.kernel_1d(
                0,
                epilogue_args(target, res, None, out, m * n, inner, channels, self.act),
                m * n,
            );
        }
        Ok(())
    }
}

/// Lower MatMul / Gemm.
pub fn lower(op: &LinalgOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let dtype = spec.outputs.first().ok_or("the spec has no output")?.dtype;
    if !gemm_dtype(dtype) {
        return Err(format!(
            "{} on {dtype}: cuBLAS multiplies f32, f16, bf16 and f64 only",
            op_name(op)
        ));
    }
    match op {
        LinalgOp::MatMul => Ok(Box::new(MatMul {
            dtype,
            act: Activation::None,
        })),
        LinalgOp::Gemm(args) => {
            check_gemm_c(spec, args.beta)?;
            Ok(Box::new(GemmOp {
                dtype,
                args: *args,
                act: Activation::None,
            }))
        }
        other => Err(format!("no CUDA kernel for {} yet", op_name(other))),
    }
}

/// Lower FusedMatMul / FusedGemm.
pub fn lower_fused(op: &FusedOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let dtype = spec.outputs.first().ok_or("the spec has no output")?.dtype;
    if !gemm_dtype(dtype) {
        return Err(format!(
            "fused GEMM on {dtype}: cuBLAS multiplies f32, f16, bf16 and f64 only"
        ));
    }
    match op {
        FusedOp::MatMul { act } => Ok(Box::new(MatMul { dtype, act: *act })),
        FusedOp::Gemm { args, act } => {
            check_gemm_c(spec, args.beta)?;
            Ok(Box::new(GemmOp {
                dtype,
                args: *args,
                act: *act,
            }))
        }
        _ => Err("not a GEMM".into()),
    }
}

/// Gemm's C must be added with beta 1 unless it is absent (other betas stay on the CPU).
fn check_gemm_c(spec: &KernelSpec, beta: f32) -> Result<(), String> {
    if spec.inputs.get(2).is_some_and(|c| c.is_some()) && beta != 0.0 && beta != 1.0 {
        return Err(format!("Gemm with beta = {beta} is not lowered to CUDA"));
    }
    Ok(())
}

fn op_name(op: &LinalgOp) -> &'static str {
    suanli_kernels::OpImpl::name(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_strides_broadcast() {
        assert_eq!(batch_strides(&[3], &[2, 3]), vec![0, 1]);
        assert_eq!(uniform_stride(&batch_strides(&[2, 3], &[2, 3]), &[2, 3], 12), Some(12));
        assert_eq!(uniform_stride(&batch_strides(&[], &[2, 3]), &[2, 3], 12), Some(0));
        assert_eq!(uniform_stride(&batch_strides(&[3], &[2, 3]), &[2, 3], 12), None);
        assert_eq!(uniform_stride(&batch_strides(&[1, 3], &[1, 3]), &[1, 3], 5), Some(5));
    }
}
