//! WGSL kernels for the conv family: Conv (1-D/2-D/3-D, groups, strides, pads, auto_pad,
//! dilations, bias) as an implicit GEMM (`shaders/conv_gemm.wgsl`, tiled like the matmul and
//! gathering input patches on the fly) or, for few output channels per group (depthwise), a
//! direct kernel (`shaders/conv_direct.wgsl`).

use super::linalg::{acc_repr, GEMM_TILE_WGSL, TILE};
use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::conv::{Geom, Window};
use suanli_kernels::ops::ConvOp;
use suanli_kernels::{KernelError, KernelSpec, OpImpl};

const GEMM_WGSL: &str = include_str!("../../../../shaders/conv_gemm.wgsl");
const DIRECT_WGSL: &str = include_str!("../../../../shaders/conv_direct.wgsl");

/// Output channels per group below which the direct kernel is used.
const DIRECT_BELOW: usize = 8;

/// A lowered Conv.
struct Conv {
    window: Window,
    group: usize,
    t: Repr,
    acc: Repr,
    bias: bool,
}

fn invalid(msg: String) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid("Conv", msg))
}

/// The bias prelude: binding 4 when present.
fn bias_wgsl(bias: bool) -> &'static str {
    if bias {
        "@group(0) @binding(4) var<storage, read> Bias: array<T>;\nfn bias_at(ch: u32) -> A { return A(Bias[ch]); }\n"
    } else {
        "fn bias_at(ch: u32) -> A { return A(0); }\n"
    }
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
    if g.pb.iter().any(|&p| p < 0) {
        return Err(invalid("negative pads".into()));
    }
    Ok((n, c, m, g))
}

/// The geometry params shared by both shaders: in, out, kernel, strides, dilations, pads.
fn geom_params(g: &Geom) -> Vec<u32> {
    let mut p = Vec::with_capacity(18);
    for a in [&g.inp, &g.out, &g.k, &g.s, &g.d] {
        p.extend(a.iter().map(|&v| v as u32));
    }
    p.extend(g.pb.iter().map(|&v| (v as i32) as u32));
    p
}

impl WgslOp for Conv {
    fn shaders(&self) -> Vec<Shader> {
        let aliases = [("T", self.t), ("A", self.acc)];
        let b = bias_wgsl(self.bias);
        let name = |k: &str| format!("conv_{k}_{}{}", self.t.wgsl(), if self.bias { "_bias" } else { "" });
        vec![
            shader(&name("gemm"), &aliases, &format!("{b}{GEMM_TILE_WGSL}{GEMM_WGSL}")),
            shader(&name("direct"), &aliases, &format!("{b}{DIRECT_WGSL}")),
        ]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let (xs, ws) = (cx.shape(0)?.to_vec(), cx.shape(1)?.to_vec());
        let (n, c, m, g) = conv_geom(&self.window, self.group, &xs, &ws)?;
        if self.bias && cx.shape(2)?.iter().product::<usize>() != m {
            return Err(invalid(format!("B must have {m} elements")));
        }
        let mut shape = vec![n, m];
        shape.extend(g.out_dims());
        let out = cx.output(cx.dtype(0)?, shape)?;
        let (cg, mg) = (c / self.group, m / self.group);
        let (out_sz, ks) = (g.out_size(), g.k_size());
        let total = n * m * out_sz;
        let big = [n * c * g.in_size(), total, m * cg * ks];
        if big.iter().any(|&v| v > u32::MAX as usize) {
            return Err(invalid("an operand exceeds the device's 32-bit indexing".into()));
        }
        let mut bufs = vec![Buf::In(0), Buf::In(1), out];
        if self.bias {
            bufs.push(Buf::In(2));
        }
        if total == 0 {
            return Ok(());
        }
        let u = |v: usize| v as u32;
        if mg < DIRECT_BELOW {
            let mut p = vec![u(total), u(mg), u(cg), u(c), u(m)];
            p.extend(geom_params(&g));
            cx.dispatch_1d(1, p, &bufs, total);
            return Ok(());
        }
        let ncol = n * out_sz;
        let (gx, gy) = (ncol.div_ceil(TILE), mg.div_ceil(TILE));
        let max = cx.max_workgroups() as usize;
        if gx > max || gy > max {
            return Err(DeviceError::Unsupported {
                kernel: "Conv".into(),
                reason: "the output needs more workgroups than the adapter allows".into(),
            });
        }
        let mut p = vec![u(mg), u(ncol), u(cg * ks), u(c), u(m), 0];
        p.extend(geom_params(&g));
        let mut base = 0;
        while base < self.group {
            let z = (self.group - base).min(max);
            p[5] = base as u32;
            cx.dispatch(0, p.clone(), &bufs, [gx as u32, gy as u32, z as u32]);
            base += z;
        }
        Ok(())
    }
}

/// Lower a conv spec, or say why the wgpu device cannot run it.
pub fn lower(op: &ConvOp, spec: &KernelSpec, t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let ConvOp::Conv { window, group } = op else {
        return Err(format!("no WGSL kernel for {} (only Conv is implemented)", op.name()));
    };
    let ty = |i: usize| spec.inputs.get(i).and_then(|x| x.as_ref());
    let (Some(x), Some(w)) = (ty(0), ty(1)) else {
        return Err("X and W are required".into());
    };
    let dt = x.dtype;
    if !dt.is_float() || w.dtype != dt || ty(2).is_some_and(|b| b.dtype != dt) {
        return Err(format!(
            "Conv on the wgpu device needs float inputs of one dtype, got {dt}"
        ));
    }
    if let Some(r) = x.rank() {
        if !(3..=5).contains(&r) {
            return Err(format!("Conv with {} spatial dims", r.saturating_sub(2)));
        }
    }
    let repr = t.repr(dt)?;
    let acc = acc_repr(repr).ok_or_else(|| format!("no WGSL Conv for {dt}"))?;
    Ok(Box::new(Conv {
        window: window.clone(),
        group: *group,
        t: repr,
        acc,
        bias: ty(2).is_some(),
    }))
}

#[cfg(test)]
mod tests {
    use crate::wgpu::tests::{check_tol, rnd};
    use suanli_kernels::ops::conv::{AutoPad, Window};
    use suanli_kernels::ops::ConvOp;
    use suanli_kernels::{DType, Op};

    fn win(s: &[usize], pads: &[usize], d: &[usize], auto_pad: AutoPad) -> Window {
        Window {
            kernel_shape: None,
            strides: s.to_vec(),
            dilations: d.to_vec(),
            pads: pads.to_vec(),
            auto_pad,
        }
    }

    fn conv(x: &[usize], w: &[usize], bias: bool, group: usize, window: Window) {
        conv_dt(DType::F32, x, w, bias, group, window)
    }

    fn conv_dt(dt: DType, x: &[usize], w: &[usize], bias: bool, group: usize, window: Window) {
        let (rtol, atol) = if dt == DType::F16 { (1e-2, 5e-2) } else { (1e-4, 1e-4) };
        check_tol(
            Op::Conv(ConvOp::Conv { window, group }),
            vec![
                rnd(dt, x, 1),
                rnd(dt, w, 2),
                if bias { rnd(dt, &[w[0]], 3) } else { None },
            ],
            rtol,
            atol,
        );
    }

    #[test]
    fn conv2d_resnet_shapes() {
        let n = AutoPad::NotSet;
        conv(
            &[1, 3, 64, 64],
            &[64, 3, 7, 7],
            true,
            1,
            win(&[2, 2], &[3, 3, 3, 3], &[], n),
        );
        conv(
            &[1, 64, 16, 16],
            &[64, 64, 3, 3],
            false,
            1,
            win(&[], &[1, 1, 1, 1], &[], n),
        );
        conv(&[2, 64, 9, 9], &[256, 64, 1, 1], true, 1, win(&[], &[], &[], n));
        conv(&[1, 64, 15, 15], &[128, 64, 1, 1], true, 1, win(&[2, 2], &[], &[], n));
        conv(
            &[1, 20, 13, 11],
            &[70, 20, 3, 3],
            true,
            1,
            win(&[2, 1], &[1, 0, 2, 1], &[], n),
        );
    }

    #[test]
    fn conv2d_groups_and_depthwise() {
        let n = AutoPad::NotSet;
        conv(
            &[1, 32, 14, 14],
            &[32, 1, 3, 3],
            true,
            32,
            win(&[], &[1, 1, 1, 1], &[], n),
        );
        conv(
            &[2, 16, 15, 15],
            &[32, 1, 3, 3],
            true,
            16,
            win(&[2, 2], &[1, 1, 1, 1], &[], n),
        );
        conv(
            &[1, 64, 10, 10],
            &[64, 16, 3, 3],
            false,
            4,
            win(&[], &[1, 1, 1, 1], &[], n),
        );
        conv(&[1, 6, 10, 10], &[4, 3, 3, 3], true, 2, win(&[], &[], &[], n));
    }

    #[test]
    fn conv_dilation_auto_pad_and_ranks() {
        conv(
            &[1, 8, 20, 20],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[], &[2, 2, 2, 2], &[2, 2], AutoPad::NotSet),
        );
        conv(
            &[1, 8, 17, 20],
            &[16, 8, 3, 4],
            true,
            1,
            win(&[2, 3], &[], &[], AutoPad::SameUpper),
        );
        conv(
            &[1, 8, 17, 20],
            &[16, 8, 4, 3],
            false,
            1,
            win(&[2, 2], &[], &[], AutoPad::SameLower),
        );
        conv(
            &[1, 8, 17, 20],
            &[16, 8, 3, 3],
            false,
            1,
            win(&[2, 2], &[], &[1, 2], AutoPad::Valid),
        );
        conv(
            &[2, 5, 31],
            &[17, 5, 4],
            true,
            1,
            win(&[2], &[1, 2], &[], AutoPad::NotSet),
        );
        conv(
            &[1, 4, 6, 7, 8],
            &[16, 4, 3, 3, 3],
            true,
            1,
            win(&[1, 2, 1], &[1, 1, 1, 1, 1, 1], &[], AutoPad::NotSet),
        );
        conv(
            &[1, 4, 6, 7, 8],
            &[4, 1, 2, 2, 2],
            false,
            4,
            win(&[], &[], &[2, 1, 1], AutoPad::NotSet),
        );
    }

    #[test]
    fn conv_dtypes() {
        let n = AutoPad::NotSet;
        conv_dt(
            DType::F16,
            &[1, 8, 9, 9],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[], &[1, 1, 1, 1], &[], n),
        );
        conv_dt(
            DType::F64,
            &[1, 8, 9, 9],
            &[16, 8, 3, 3],
            true,
            1,
            win(&[], &[1, 1, 1, 1], &[], n),
        );
        conv_dt(
            DType::F64,
            &[1, 8, 9, 9],
            &[8, 1, 3, 3],
            true,
            8,
            win(&[], &[1, 1, 1, 1], &[], n),
        );
    }

    #[test]
    fn conv_empty_batch() {
        conv(
            &[0, 3, 8, 8],
            &[16, 3, 3, 3],
            true,
            1,
            win(&[], &[], &[], AutoPad::NotSet),
        );
    }
}
