//! WGSL kernels for the norm family.
//!
//! Layer, RMS, Instance and Group normalisation share one kernel over contiguous groups (one
//! workgroup per group, two-pass mean/variance in workgroup memory). BatchNormalization
//! (inference) and LRN are elementwise; LpNormalization reuses the softmax lane kernel and
//! MeanVarianceNormalization the reduce family's axis kernel.

use super::reduce::{axes_params, axis_shaders, dispatch_axes, AxesLayout, AxisKind, Lane};
use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{grid_1d, Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::NormOp;
use suanli_kernels::shape::norm_axis;
use suanli_kernels::{DType, KernelError, KernelSpec, OpImpl};

const GROUPS_WGSL: &str = include_str!("../../../../shaders/norm_groups.wgsl");
const BATCH_WGSL: &str = include_str!("../../../../shaders/norm_batch.wgsl");
const LRN_WGSL: &str = include_str!("../../../../shaders/norm_lrn.wgsl");

/// Broadcast dims the group kernel maps parameters through.
const MAX_PARAM_DIMS: usize = 8;

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg.into()))
}

/// Which grouping a [`Groups`] kernel uses.
#[derive(Clone, Copy, PartialEq)]
enum GroupKind {
    /// LayerNormalization (center, optional bias, mean / inv-std outputs) or RMS (neither).
    Trailing { axis: i64, center: bool },
    /// InstanceNormalization.
    Instance,
    /// GroupNormalization.
    Group { num_groups: usize, per_channel: bool },
}

/// Contiguous-group normalisation.
struct Groups {
    name: &'static str,
    kind: GroupKind,
    eps: f32,
    has_bias: bool,
    t: Repr,
    ts: Repr,
    tb: Repr,
}

/// `[N, C, spatial]` of a channel-first shape.
fn nc_spatial(op: &str, s: &[usize]) -> Result<(usize, usize, usize)> {
    if s.len() < 2 {
        return Err(invalid(op, format!("input must have rank >= 2, found shape {s:?}")));
    }
    Ok((s[0], s[1], s[2..].iter().product()))
}

/// Right-aligned strides of a parameter of shape `p` broadcast to `to`, or an error.
fn bcast_strides(op: &str, p: &[usize], to: &[usize]) -> Result<Vec<usize>> {
    if p.len() > to.len() {
        return Err(invalid(
            op,
            format!("parameter shape {p:?} does not broadcast to {to:?}"),
        ));
    }
    let mut st = vec![0usize; to.len()];
    let mut acc = 1;
    for k in 0..p.len() {
        let (pi, ti) = (p.len() - 1 - k, to.len() - 1 - k);
        if p[pi] == to[ti] {
            st[ti] = acc;
        } else if p[pi] != 1 {
            return Err(invalid(
                op,
                format!("parameter shape {p:?} does not broadcast to {to:?}"),
            ));
        }
        acc *= p[pi];
    }
    Ok(st)
}

impl WgslOp for Groups {
    fn shaders(&self) -> Vec<Shader> {
        let stats = matches!(self.kind, GroupKind::Trailing { center: true, .. });
        let center = !matches!(self.kind, GroupKind::Trailing { center: false, .. });
        let mut h = format!(
            "const CENTER: bool = {center};
@group(0) @binding(0) var<storage, read> P: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<T>;
@group(0) @binding(2) var<storage, read> S: array<TS>;
"
        );
        let mut b = 3;
        if self.has_bias {
            h.push_str("@group(0) @binding(3) var<storage, read> B: array<TB>;\n");
            h.push_str("fn bias_at(p: u32) -> A { return A(B[p]); }\n");
            b += 1;
        } else {
            h.push_str("fn bias_at(p: u32) -> A { return A(0); }\n");
        }
        h.push_str(&format!(
            "@group(0) @binding({b}) var<storage, read_write> Y: array<T>;\n"
        ));
        if stats {
            h.push_str(&format!(
                "@group(0) @binding({}) var<storage, read_write> M: array<f32>;
@group(0) @binding({}) var<storage, read_write> I: array<f32>;
fn store_stats(g: u32, mean: A, inv: A) {{ M[g] = f32(mean); I[g] = f32(inv); }}
",
                b + 1,
                b + 2
            ));
        } else {
            h.push_str("fn store_stats(g: u32, mean: A, inv: A) {}\n");
        }
        let a = if self.t == Repr::F64 { Repr::F64 } else { Repr::F32 };
        let al = [("T", self.t), ("A", a), ("TS", self.ts), ("TB", self.tb)];
        vec![shader("norm_groups", &al, &format!("{h}{GROUPS_WGSL}"))]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let op = self.name;
        let shape = cx.shape(0)?.to_vec();
        let ps = cx.shape(1)?.to_vec();
        let pb = if self.has_bias {
            Some(cx.shape(2)?.to_vec())
        } else {
            None
        };
        // (groups, len, cycle, rep) and the broadcast description of the parameters.
        let mut bdims: Vec<usize> = Vec::new();
        let (mut ss, mut bs) = (Vec::new(), Vec::new());
        let need = |p: &[usize], n: usize, what: &str| -> Result<()> {
            if p.iter().product::<usize>() != n || p.len() != 1 {
                return Err(invalid(op, format!("{what} has shape {p:?}, expected [{n}]")));
            }
            Ok(())
        };
        let (groups, len, cycle, rep) = match self.kind {
            GroupKind::Trailing { axis, .. } => {
                let a = norm_axis(op, axis, shape.len())?;
                let trail = &shape[a..];
                let len: usize = trail.iter().product();
                let s_st = bcast_strides(op, &ps, trail)?;
                let b_st = match &pb {
                    Some(p) => bcast_strides(op, p, trail)?,
                    None => s_st.clone(),
                };
                let direct = ps.iter().product::<usize>() == len
                    && pb.as_ref().is_none_or(|p| p.iter().product::<usize>() == len);
                if !direct {
                    if trail.len() > MAX_PARAM_DIMS {
                        return Err(DeviceError::Unsupported {
                            kernel: op.into(),
                            reason: format!("parameters broadcast over more than {MAX_PARAM_DIMS} dims"),
                        });
                    }
                    bdims = trail.to_vec();
                    ss = s_st;
                    bs = b_st;
                }
                (shape[..a].iter().product::<usize>(), len, 1, 1)
            }
            GroupKind::Instance => {
                let (n, c, sp) = nc_spatial(op, &shape)?;
                need(&ps, c, "scale")?;
                need(pb.as_deref().unwrap_or(&[]), c, "bias")?;
                (n * c, sp, c, sp.max(1))
            }
            GroupKind::Group {
                num_groups: g,
                per_channel,
            } => {
                let (n, c, sp) = nc_spatial(op, &shape)?;
                if g == 0 || c % g != 0 {
                    return Err(invalid(op, format!("{c} channels cannot be split into {g} groups")));
                }
                let per = if per_channel { c } else { g };
                need(&ps, per, "scale")?;
                need(pb.as_deref().unwrap_or(&[]), per, "bias")?;
                let len = c / g * sp;
                (n * g, len, g, if per_channel { sp.max(1) } else { len.max(1) })
            }
        };
        let mut params = vec![0u32; 6 + 3 * MAX_PARAM_DIMS];
        params[0] = groups as u32;
        params[1] = len as u32;
        params[2] = cycle as u32;
        params[3] = rep as u32;
        params[4] = self.eps.to_bits();
        params[5] = bdims.len() as u32;
        for i in 0..bdims.len() {
            params[6 + i] = bdims[i] as u32;
            params[6 + MAX_PARAM_DIMS + i] = ss[i] as u32;
            params[6 + 2 * MAX_PARAM_DIMS + i] = bs[i] as u32;
        }
        let mut bufs = vec![Buf::In(0), Buf::In(1)];
        if self.has_bias {
            bufs.push(Buf::In(2));
        }
        let dt = cx.dtype(0)?;
        bufs.push(cx.output(dt, shape.clone())?);
        if let GroupKind::Trailing { axis, center: true } = self.kind {
            let a = norm_axis(op, axis, shape.len())?;
            let st: Vec<usize> = shape
                .iter()
                .enumerate()
                .map(|(i, &d)| if i < a { d } else { 1 })
                .collect();
            bufs.push(cx.output(DType::F32, st.clone())?);
            bufs.push(cx.output(DType::F32, st)?);
        }
        cx.dispatch(0, params, &bufs, grid_1d(groups, 1));
        Ok(())
    }
}

/// BatchNormalization in inference mode.
struct Batch {
    eps: f32,
    reprs: [Repr; 5],
}

impl WgslOp for Batch {
    fn shaders(&self) -> Vec<Shader> {
        let r = self.reprs;
        let a = if r[0] == Repr::F64 { Repr::F64 } else { Repr::F32 };
        let al = [
            ("T", r[0]),
            ("TS", r[1]),
            ("TB", r[2]),
            ("TM", r[3]),
            ("TV", r[4]),
            ("A", a),
        ];
        vec![shader("norm_batch", &al, BATCH_WGSL)]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let op = "BatchNormalization";
        let shape = cx.shape(0)?.to_vec();
        let (n, c, sp) = nc_spatial(op, &shape)?;
        for (i, what) in [(1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")] {
            let s = cx.shape(i)?;
            if s.iter().product::<usize>() != c {
                return Err(invalid(op, format!("{what} has shape {s:?}, expected [{c}]")));
            }
        }
        let y = cx.output(cx.dtype(0)?, shape)?;
        let total = n * c * sp;
        let bufs = [Buf::In(0), Buf::In(1), Buf::In(2), Buf::In(3), Buf::In(4), y];
        cx.dispatch_1d(
            0,
            vec![total as u32, c as u32, sp.max(1) as u32, self.eps.to_bits()],
            &bufs,
            total,
        );
        Ok(())
    }
}

/// Local response normalisation.
struct Lrn {
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
    t: Repr,
}

impl WgslOp for Lrn {
    fn shaders(&self) -> Vec<Shader> {
        vec![shader("norm_lrn", &[("T", self.t)], LRN_WGSL)]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shape = cx.shape(0)?.to_vec();
        let (n, c, sp) = nc_spatial("LRN", &shape)?;
        let y = cx.output(cx.dtype(0)?, shape)?;
        let total = n * c * sp;
        let p = vec![
            total as u32,
            c as u32,
            sp.max(1) as u32,
            self.size as u32,
            self.alpha.to_bits(),
            self.beta.to_bits(),
            self.bias.to_bits(),
        ];
        cx.dispatch_1d(0, p, &[Buf::In(0), y], total);
        Ok(())
    }
}

/// MeanVarianceNormalization over an axis set.
struct Mvn {
    axes: Vec<i64>,
    shaders: Vec<Shader>,
}

impl WgslOp for Mvn {
    fn shaders(&self) -> Vec<Shader> {
        self.shaders.clone()
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let op = "MeanVarianceNormalization";
        let shape = cx.shape(0)?.to_vec();
        let mut is_red = vec![false; shape.len()];
        for &a in &self.axes {
            is_red[norm_axis(op, a, shape.len())?] = true;
        }
        let lay = AxesLayout::new(&shape, &is_red);
        let y = cx.output(cx.dtype(0)?, shape)?;
        if lay.reduced() == 0 {
            return Ok(());
        }
        let params = axes_params(&lay, op)?;
        dispatch_axes(cx, &lay, params, &[Buf::In(0), y], false);
        Ok(())
    }
}

/// Lower a norm spec, or say why the wgpu device cannot run it.
pub fn lower(op: &NormOp, spec: &KernelSpec, target: &Target) -> Result<Box<dyn WgslOp>, String> {
    let name = op.name();
    let ty = |i: usize| -> Result<Repr, String> {
        let t = spec
            .inputs
            .get(i)
            .and_then(|t| t.as_ref())
            .ok_or_else(|| format!("input {i} is missing"))?;
        target.repr(t.dtype)
    };
    let has = |i: usize| spec.inputs.get(i).is_some_and(|t| t.is_some());
    let t = ty(0)?;
    if !t.is_float() {
        return Err(format!("{name} needs float input"));
    }
    let no_f64 = || {
        if t == Repr::F64 {
            Err(format!("{name} on f64 needs transcendentals Vulkan lacks for f64"))
        } else {
            Ok(())
        }
    };
    let groups = |kind: GroupKind, eps: f32, has_bias: bool| -> Result<Box<dyn WgslOp>, String> {
        Ok(Box::new(Groups {
            name,
            kind,
            eps,
            has_bias,
            t,
            ts: ty(1)?,
            tb: if has_bias { ty(2)? } else { t },
        }))
    };
    match op {
        NormOp::BatchNorm { training: true, .. } => Err("BatchNormalization training mode has no WGSL kernel".into()),
        NormOp::BatchNorm { epsilon, .. } => Ok(Box::new(Batch {
            eps: *epsilon,
            reprs: [t, ty(1)?, ty(2)?, ty(3)?, ty(4)?],
        })),
        NormOp::InstanceNorm { epsilon } => groups(GroupKind::Instance, *epsilon, true),
        NormOp::GroupNorm {
            num_groups,
            epsilon,
            per_channel,
        } => groups(
            GroupKind::Group {
                num_groups: *num_groups,
                per_channel: *per_channel,
            },
            *epsilon,
            true,
        ),
        NormOp::LayerNorm { axis, epsilon } => groups(
            GroupKind::Trailing {
                axis: *axis,
                center: true,
            },
            *epsilon,
            has(2),
        ),
        NormOp::RmsNorm { axis, epsilon } => groups(
            GroupKind::Trailing {
                axis: *axis,
                center: false,
            },
            *epsilon,
            false,
        ),
        NormOp::Lrn {
            size,
            alpha,
            beta,
            bias,
        } => {
            no_f64()?;
            if *size == 0 {
                return Err("LRN size must be positive".into());
            }
            Ok(Box::new(Lrn {
                size: *size,
                alpha: *alpha,
                beta: *beta,
                bias: *bias,
                t,
            }))
        }
        NormOp::LpNorm { axis, p } => {
            // f64 rows are computed in f32, like the softmax family.
            if *p != 1 && *p != 2 {
                return Err(format!("LpNormalization with p = {p}"));
            }
            Ok(Box::new(Lane {
                kind: 2 + *p as u32,
                axis: *axis,
                coerce_2d: false,
                name,
                repr: t,
            }))
        }
        NormOp::MeanVarianceNorm { axes } => {
            let a = if t == Repr::F64 { Repr::F64 } else { Repr::F32 };
            Ok(Box::new(Mvn {
                axes: axes.clone(),
                shaders: axis_shaders(AxisKind::Mvn, t, a, t),
            }))
        }
    }
}

#[cfg(test)]
#[path = "norm_tests.rs"]
mod tests;
