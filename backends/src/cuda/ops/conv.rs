//! CUDA lowering of the conv family: Conv and FusedConv (1-D/2-D/3-D, groups, strides, pads,
//! auto_pad, dilations; bias, residual and activation) for f32, f16, bf16 and f64.
//!
//! - Few output channels per group (depthwise): a direct kernel with the epilogue fused.
//! - 1×1, stride 1, unpadded: X already is the GEMM's right operand, so cuBLAS runs on it.
//! - Otherwise im2col into scratch and one strided-batched GEMM over (image, group).
//!
//! GEMM operands are whole buffers, so a batch over (image, group) needs every operand at a
//! uniform stride: the weights are replicated per image when there are several of both, and
//! inputs whose columns exceed [`SCRATCH_LIMIT`] are done in chunks of output columns
//! whose results go through scratch and a write-back kernel that places them in Y.

use super::linalg::{act_code, epilogue_args, epilogue_source};
use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{Arg, Buf, Copy, Epilogue, Gemm, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::ops::conv::{Geom, Window};
use suanli_kernels::ops::fused::Activation;
use suanli_kernels::ops::{ConvOp, FusedOp};
use suanli_kernels::{DType, KernelError, KernelSpec, OpImpl};

const EPILOGUE_CU: &str = include_str!("../../../../shaders/epilogue.cu");
const IM2COL_CU: &str = include_str!("../../../../shaders/conv_im2col.cu");
const STORE_CU: &str = include_str!("../../../../shaders/conv_store.cu");
const DIRECT_CU: &str = include_str!("../../../../shaders/conv_direct.cu");

/// Output channels per group below which the direct kernel is used.
const DIRECT_BELOW: usize = 8;
/// Bytes one scratch buffer (im2col columns, chunk results, replicated weights) may take.
pub const SCRATCH_LIMIT: usize = 256 << 20;
/// Words of `SuanliConvParams`.
const CONV_WORDS: usize = 4 + 6 * 3;

/// Sources, by index.
const IM2COL: usize = 0;
const STORE: usize = 1;
const DIRECT: usize = 2;
const EPILOGUE: usize = 3;

/// A lowered Conv / FusedConv.
struct Conv {
    window: Window,
    group: usize,
    act: Activation,
    /// Input 3 (of the output's shape) is added before the activation.
    residual: bool,
    dt: DType,
}

fn invalid(msg: String) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid("Conv", msg))
}

/// Validated shapes of one convolution: (N, C, M, resolved window).
fn conv_geom(window: &Window, group: usize, xs: &[usize], ws: &[usize]) -> Result<(usize, usize, usize, Geom)> {
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(invalid(format!(
            "X {xs:?} and W {ws:?} must be [N, C, ...] and [M, C/group, ...] of the same rank >= 3"
        )));
    }
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    if group == 0 || c != ws[1] * group || m % group != 0 {
        return Err(invalid(format!(
            "channels do not match: X {xs:?}, W {ws:?}, group {group}"
        )));
    }
    if let Some(k) = &window.kernel_shape {
        if k[..] != ws[2..] {
            return Err(invalid(format!("kernel_shape {k:?} differs from W's {:?}", &ws[2..])));
        }
    }
    let g = window
        .resolve("Conv", &xs[2..], &ws[2..], false)
        .map_err(DeviceError::Kernel)?;
    Ok((n, c, m, g))
}

/// `SuanliConvParams`.
fn conv_words(n: usize, c: usize, m: usize, group: usize, g: &Geom) -> Vec<i64> {
    let mut w = vec![n as i64, c as i64, m as i64, group as i64];
    for a in [&g.inp, &g.out, &g.k, &g.s, &g.d] {
        w.extend(a.iter().map(|&v| v as i64));
    }
    w.extend(g.pb.iter().map(|&v| v as i64));
    debug_assert_eq!(w.len(), CONV_WORDS);
    w
}

/// A row-major strided-batched GEMM `C[b] = A[b] · B[b]` with dense leading dimensions.
#[allow(clippy::too_many_arguments)]
fn gemm(
    dt: DType,
    m: usize,
    n: usize,
    k: usize,
    batch: usize,
    a: (Buf, usize),
    b: (Buf, usize),
    c: (Buf, usize),
) -> Gemm {
    Gemm {
        dtype: dt,
        m,
        n,
        k,
        batch,
        a: a.0,
        a_off: 0,
        lda: k,
        stride_a: a.1,
        trans_a: false,
        b: b.0,
        b_off: 0,
        ldb: n,
        stride_b: b.1,
        trans_b: false,
        c: c.0,
        c_off: 0,
        ldc: n,
        stride_c: c.1,
        alpha: 1.0,
        beta: 0.0,
        epilogue: Epilogue::None,
        bias: None,
    }
}

impl Conv {
    fn flags(&self, cx: &LaunchCx) -> (Option<Buf>, Option<Buf>) {
        let bias = if cx.has(2) { Some(Buf::In(2)) } else { None };
        let res = if self.residual { Some(Buf::In(3)) } else { None };
        (bias, res)
    }

    /// The epilogue's extra arguments: bias, residual, flags, activation.
    fn tail(&self, cx: &LaunchCx, out: Buf) -> Vec<Arg> {
        let (bias, res) = self.flags(cx);
        let (code, a, b) = act_code(self.act);
        let flags = i32::from(bias.is_some()) | (i32::from(res.is_some()) << 1);
        vec![
            Arg::Ptr(bias.unwrap_or(out)),
            Arg::Ptr(res.unwrap_or(out)),
            Arg::Ptr(out),
            Arg::I32(flags),
            Arg::I32(code),
            Arg::F32(a),
            Arg::F32(b),
        ]
    }

    /// Bias, residual and activation in place on Y, when there are any.
    fn epilogue_in_place(&self, cx: &mut LaunchCx, out: Buf, total: usize, out_sz: usize, m: usize) {
        let (bias, res) = self.flags(cx);
        if bias.is_none() && res.is_none() && self.act == Activation::None {
            return;
        }
        let args = epilogue_args(out, bias, res, out, total, out_sz, m, self.act);
        cx.kernel_1d(EPILOGUE, args, total);
    }

    /// The weights at a uniform stride over `batch = n * group` GEMMs: W itself (stride 0 for
    /// one group, a group's block for one image) or W replicated per image.
    fn weights(&self, cx: &mut LaunchCx, n: usize, m: usize, kk: usize) -> Option<(Buf, usize)> {
        let mg = m / self.group;
        if self.group == 1 {
            return Some((Buf::In(1), 0));
        }
        if n == 1 {
            return Some((Buf::In(1), mg * kk));
        }
        let bytes = m * kk * self.dt.size();
        if n * bytes > SCRATCH_LIMIT {
            return None;
        }
        let rep = cx.scratch(self.dt, n * m * kk);
        for i in 0..n {
            cx.copy(Copy {
                src: Buf::In(1),
                src_offset: 0,
                dst: rep,
                dst_offset: i * bytes,
                bytes,
            });
        }
        Some((rep, mg * kk))
    }
}

impl CudaOp for Conv {
    fn sources(&self) -> Vec<CudaSource> {
        let dt = self.dt;
        let with_act = |body: &str| format!("{EPILOGUE_CU}{body}");
        [
            source(&format!("conv_im2col_{dt}"), "suanli_im2col", &[("T", dt)], IM2COL_CU),
            source(
                &format!("conv_store_{dt}"),
                "suanli_conv_store",
                &[("T", dt)],
                &with_act(STORE_CU),
            ),
            source(
                &format!("conv_direct_{dt}"),
                "suanli_conv_direct",
                &[("T", dt)],
                &with_act(DIRECT_CU),
            ),
            epilogue_source(dt),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let (xs, ws) = (cx.shape(0)?.to_vec(), cx.shape(1)?.to_vec());
        let (n, c, m, g) = conv_geom(&self.window, self.group, &xs, &ws)?;
        if cx.has(2) && cx.shape(2)?.iter().product::<usize>() != m {
            return Err(invalid(format!("B must have {m} elements")));
        }
        let mut shape = vec![n, m];
        shape.extend(g.out_dims());
        if self.residual && cx.shape(3)? != shape.as_slice() {
            return Err(invalid(format!("the residual must have the output's shape {shape:?}")));
        }
        let out = cx.output(self.dt, shape);
        let (cg, mg) = (c / self.group, m / self.group);
        let (out_sz, ks) = (g.out_size(), g.k_size());
        let kk = cg * ks;
        let total = n * m * out_sz;
        if total == 0 {
            return Ok(());
        }
        let words = conv_words(n, c, m, self.group, &g);
        if mg < DIRECT_BELOW || kk == 0 {
            let mut args = vec![Arg::Words(words), Arg::Ptr(Buf::In(0)), Arg::Ptr(Buf::In(1))];
            args.extend(self.tail(cx, out));
            cx.kernel_1d(DIRECT, args, total);
            return Ok(());
        }
        let esz = self.dt.size();
        let batch = n * self.group;
        let pointwise = ks == 1 && g.s == [1; 3] && g.pb == [0; 3] && g.pe == [0; 3];
        if pointwise {
            // X [N, C, out] is already [(n, g)] blocks of [cg, out].
            if let Some(a) = self.weights(cx, n, m, kk) {
                cx.gemm(gemm(
                    self.dt,
                    mg,
                    out_sz,
                    kk,
                    batch,
                    a,
                    (Buf::In(0), kk * out_sz),
                    (out, mg * out_sz),
                ));
                self.epilogue_in_place(cx, out, total, out_sz, m);
                return Ok(());
            }
        }
        let cols_all = n * self.group * kk * out_sz;
        if cols_all * esz <= SCRATCH_LIMIT {
            if let Some(a) = self.weights(cx, n, m, kk) {
                // One im2col in [(n, g), kk, out] layout and one GEMM straight into Y.
                let cols = cx.scratch(self.dt, cols_all);
                let args = vec![
                    Arg::Words(words),
                    Arg::Ptr(Buf::In(0)),
                    Arg::Ptr(cols),
                    Arg::I64(0),
                    Arg::I64((n * out_sz) as i64),
                    Arg::I64(out_sz as i64),
                    Arg::I64((self.group * kk * out_sz) as i64),
                    Arg::I64((kk * out_sz) as i64),
                    Arg::I64(out_sz as i64),
                ];
                cx.kernel_1d(IM2COL, args, cols_all);
                cx.gemm(gemm(
                    self.dt,
                    mg,
                    out_sz,
                    kk,
                    batch,
                    a,
                    (cols, kk * out_sz),
                    (out, mg * out_sz),
                ));
                self.epilogue_in_place(cx, out, total, out_sz, m);
                return Ok(());
            }
        }
        // Chunks of output columns: [g, kk, nc] columns, [g, mg, nc] results, write-back.
        let per_col = (self.group * kk).max(m) * esz;
        let chunk = (SCRATCH_LIMIT / per_col).max(1).min(n * out_sz);
        let cols = cx.scratch(self.dt, self.group * kk * chunk);
        let res = cx.scratch(self.dt, m * chunk);
        let mut q0 = 0;
        while q0 < n * out_sz {
            let nc = chunk.min(n * out_sz - q0);
            let args = vec![
                Arg::Words(words.clone()),
                Arg::Ptr(Buf::In(0)),
                Arg::Ptr(cols),
                Arg::I64(q0 as i64),
                Arg::I64(nc as i64),
                Arg::I64(nc as i64),
                Arg::I64(0),
                Arg::I64((kk * nc) as i64),
                Arg::I64(nc as i64),
            ];
            cx.kernel_1d(IM2COL, args, self.group * kk * nc);
            cx.gemm(gemm(
                self.dt,
                mg,
                nc,
                kk,
                self.group,
                (Buf::In(1), mg * kk),
                (cols, kk * nc),
                (res, mg * nc),
            ));
            let mut args = vec![Arg::Ptr(res)];
            let tail = self.tail(cx, out);
            args.extend(tail[..3].iter().cloned());
            args.extend([
                Arg::I64(q0 as i64),
                Arg::I64(nc as i64),
                Arg::I64(m as i64),
                Arg::I64(out_sz as i64),
            ]);
            args.extend(tail[3..].iter().cloned());
            cx.kernel_1d(STORE, args, m * nc);
            q0 += nc;
        }
        Ok(())
    }
}

/// Check the spec's dtypes and rank; the conv's element type.
fn conv_dtype(spec: &KernelSpec, residual: bool) -> Result<DType, String> {
    let ty = |i: usize| spec.inputs.get(i).and_then(|x| x.as_ref());
    let (Some(x), Some(w)) = (ty(0), ty(1)) else {
        return Err("X and W are required".into());
    };
    let dt = x.dtype;
    let others = [Some(w), ty(2), if residual { ty(3) } else { None }];
    if !dt.is_float() || others.iter().flatten().any(|t| t.dtype != dt) {
        return Err(format!(
            "Conv on the CUDA device needs float inputs of one dtype, got {dt}"
        ));
    }
    if residual && ty(3).is_none() {
        return Err("the residual input is missing".into());
    }
    if let Some(r) = x.rank() {
        if !(3..=5).contains(&r) {
            return Err(format!("Conv with {} spatial dims", r.saturating_sub(2)));
        }
    }
    Ok(dt)
}

/// Lower a conv spec, or say why the CUDA device cannot run it.
pub fn lower(op: &ConvOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let ConvOp::Conv { window, group } = op else {
        return Err(format!("no CUDA kernel for {} (only Conv is implemented)", op.name()));
    };
    Ok(Box::new(Conv {
        window: window.clone(),
        group: *group,
        act: Activation::None,
        residual: false,
        dt: conv_dtype(spec, false)?,
    }))
}

/// Lower FusedConv: `act(Conv(X, W, B) + R)`.
pub fn lower_fused(op: &FusedOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let FusedOp::Conv {
        window,
        group,
        act,
        residual,
    } = op
    else {
        return Err("not a fused convolution".into());
    };
    Ok(Box::new(Conv {
        window: window.clone(),
        group: *group,
        act: *act,
        residual: *residual,
        dt: conv_dtype(spec, *residual)?,
    }))
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;
