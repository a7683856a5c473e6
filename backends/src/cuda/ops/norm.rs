//! CUDA kernels for the norm family.
//!
//! Layer, RMS, Instance and Group normalisation share one kernel over contiguous groups built
//! on the reduction machinery (a block or warps per group, moments in double in one pass,
//! `shaders/norm_groups.cu`). BatchNormalization (inference) folds its parameters per channel
//! and then runs elementwise; LRN is elementwise; LpNormalization reuses the softmax lane
//! kernel and MeanVarianceNormalization the axis layout of the reduce family.

use super::reduce::{axes_source, axes_words, lane_source, launch_axes, AxesLayout, Lane, MAX_DIMS};
use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{Arg, Buf, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::ops::NormOp;
use suanli_kernels::shape::norm_axis;
use suanli_kernels::{DType, KernelError, KernelSpec, OpImpl};

const GROUPS_CU: &str = include_str!("../../../../shaders/norm_groups.cu");
const MVN_CU: &str = include_str!("../../../../shaders/norm_mvn.cu");
const BATCH_CU: &str = include_str!("../../../../shaders/norm_batch.cu");
const LRN_CU: &str = include_str!("../../../../shaders/norm_lrn.cu");

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg.into()))
}

/// Which grouping a [`Groups`] kernel uses.
#[derive(Clone, Copy, PartialEq)]
enum GroupKind {
    /// LayerNormalization (centred, mean / inv-std outputs) or RMS (neither).
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
    src: CudaSource,
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
    let bad = || invalid(op, format!("parameter shape {p:?} does not broadcast to {to:?}"));
    if p.len() > to.len() {
        return Err(bad());
    }
    let mut st = vec![0usize; to.len()];
    let mut acc = 1;
    for k in 0..p.len() {
        let (pi, ti) = (p.len() - 1 - k, to.len() - 1 - k);
        if p[pi] == to[ti] {
            st[ti] = acc;
        } else if p[pi] != 1 {
            return Err(bad());
        }
        acc *= p[pi];
    }
    Ok(st)
}

impl CudaOp for Groups {
    fn sources(&self) -> Vec<CudaSource> {
        vec![self.src.clone()]
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
        let need = |p: &[usize], n: usize, what: &str| -> Result<()> {
            if p.iter().product::<usize>() != n {
                return Err(invalid(op, format!("{what} has shape {p:?}, expected [{n}]")));
            }
            Ok(())
        };
        // (groups, len, cycle, rep) and the parameters' broadcast (dims, scale and bias strides).
        let mut bcast: (Vec<usize>, Vec<usize>, Vec<usize>) = Default::default();
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
                    if trail.len() > MAX_DIMS {
                        return Err(DeviceError::Unsupported {
                            kernel: op.into(),
                            reason: format!("parameters broadcast over more than {MAX_DIMS} dims"),
                        });
                    }
                    bcast = (trail.to_vec(), s_st, b_st);
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
        let mut words = vec![0i64; 5 + 3 * MAX_DIMS];
        words[..5].copy_from_slice(&[
            groups as i64,
            len as i64,
            cycle.max(1) as i64,
            rep as i64,
            bcast.0.len() as i64,
        ]);
        for i in 0..bcast.0.len() {
            words[5 + i] = bcast.0[i] as i64;
            words[5 + MAX_DIMS + i] = bcast.1[i] as i64;
            words[5 + 2 * MAX_DIMS + i] = bcast.2[i] as i64;
        }
        let dt = cx.dtype(0)?;
        let y = cx.output(dt, shape.clone());
        let (mean, inv) = match self.kind {
            GroupKind::Trailing { axis, center: true } => {
                let a = norm_axis(op, axis, shape.len())?;
                let st: Vec<usize> = shape
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if i < a { d } else { 1 })
                    .collect();
                (cx.output(DType::F32, st.clone()), cx.output(DType::F32, st))
            }
            _ => (y, y),
        };
        let bias = if self.has_bias { Buf::In(2) } else { Buf::In(1) };
        let args = vec![
            Arg::Words(words),
            Arg::Ptr(Buf::In(0)),
            Arg::Ptr(Buf::In(1)),
            Arg::Ptr(bias),
            Arg::Ptr(y),
            Arg::Ptr(mean),
            Arg::Ptr(inv),
            Arg::F32(self.eps),
        ];
        launch_axes(cx, 0, args, groups, len, true);
        Ok(())
    }
}

/// BatchNormalization in inference mode: sources 0 (fold parameters) and 1 (apply).
struct Batch {
    eps: f32,
    srcs: Vec<CudaSource>,
}

impl CudaOp for Batch {
    fn sources(&self) -> Vec<CudaSource> {
        self.srcs.clone()
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
        let y = cx.output(cx.dtype(0)?, shape);
        let total = n * c * sp;
        if total == 0 {
            return Ok(());
        }
        let ma = cx.scratch(DType::F64, 2 * c);
        let mut prep: Vec<Arg> = (1..5).map(|i| Arg::Ptr(Buf::In(i))).collect();
        prep.extend([Arg::Ptr(ma), Arg::I64(c as i64), Arg::F32(self.eps)]);
        cx.kernel_1d(0, prep, c);
        let apply = vec![
            Arg::Ptr(Buf::In(0)),
            Arg::Ptr(ma),
            Arg::Ptr(y),
            Arg::I64(total as i64),
            Arg::I64(c as i64),
            Arg::I64(sp.max(1) as i64),
        ];
        cx.kernel_1d(1, apply, total);
        Ok(())
    }
}

/// Local response normalisation.
struct Lrn {
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
    src: CudaSource,
}

impl CudaOp for Lrn {
    fn sources(&self) -> Vec<CudaSource> {
        vec![self.src.clone()]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let shape = cx.shape(0)?.to_vec();
        let (n, c, sp) = nc_spatial("LRN", &shape)?;
        let y = cx.output(cx.dtype(0)?, shape);
        let total = n * c * sp;
        let args = vec![
            Arg::Ptr(Buf::In(0)),
            Arg::Ptr(y),
            Arg::I64(total as i64),
            Arg::I64(c as i64),
            Arg::I64(sp.max(1) as i64),
            Arg::I64(self.size as i64),
            Arg::F32(self.alpha),
            Arg::F32(self.beta),
            Arg::F32(self.bias),
        ];
        cx.kernel_1d(0, args, total);
        Ok(())
    }
}

/// MeanVarianceNormalization over an axis set.
struct Mvn {
    axes: Vec<i64>,
    src: CudaSource,
}

impl CudaOp for Mvn {
    fn sources(&self) -> Vec<CudaSource> {
        vec![self.src.clone()]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let op = "MeanVarianceNormalization";
        let shape = cx.shape(0)?.to_vec();
        let mut is_red = vec![false; shape.len()];
        for &a in &self.axes {
            is_red[norm_axis(op, a, shape.len())?] = true;
        }
        let lay = AxesLayout::new(&shape, &is_red);
        let y = cx.output(cx.dtype(0)?, shape);
        if lay.reduced() * lay.outputs() == 0 {
            return Ok(());
        }
        let args = vec![Arg::Words(axes_words(&lay, op)?), Arg::Ptr(Buf::In(0)), Arg::Ptr(y)];
        launch_axes(cx, 0, args, lay.outputs(), lay.reduced(), lay.contiguous());
        Ok(())
    }
}

/// Lower a norm spec, or say why the CUDA device cannot run it.
pub fn lower(op: &NormOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let name = op.name();
    let ty = |i: usize| -> Result<DType, String> {
        spec.inputs
            .get(i)
            .and_then(|t| t.as_ref())
            .map(|t| t.dtype)
            .ok_or_else(|| format!("{name}: input {i} is missing"))
    };
    let param = |i: usize| -> Result<DType, String> {
        let d = ty(i)?;
        if d.is_numeric() {
            Ok(d)
        } else {
            Err(format!("{name}: parameter {i} of dtype {d}"))
        }
    };
    let has = |i: usize| spec.inputs.get(i).is_some_and(|t| t.is_some());
    let t = ty(0)?;
    if !t.is_float() {
        return Err(format!("{name} needs float input, found {t}"));
    }
    let groups = |kind: GroupKind, eps: f32, has_bias: bool| -> Result<Box<dyn CudaOp>, String> {
        let (center, stats) = match kind {
            GroupKind::Trailing { center, .. } => (center, center),
            _ => (true, false),
        };
        let ts = param(1)?;
        let tb = if has_bias { param(2)? } else { t };
        let src = axes_source(
            &format!(
                "norm_groups{}{}{}_{t}_{ts}_{tb}",
                center as u8, has_bias as u8, stats as u8
            ),
            "suanli_norm_groups",
            &[("T", t), ("TS", ts), ("TB", tb)],
            &[
                ("SUANLI_CENTER", center as i64),
                ("SUANLI_BIAS", has_bias as i64),
                ("SUANLI_STATS", stats as i64),
            ],
            GROUPS_CU,
        )?;
        Ok(Box::new(Groups {
            name,
            kind,
            eps,
            has_bias,
            src,
        }))
    };
    match op {
        NormOp::BatchNorm { training: true, .. } => Err("BatchNormalization training mode has no CUDA kernel".into()),
        NormOp::BatchNorm { epsilon, .. } => {
            let al = [
                ("T", t),
                ("TS", param(1)?),
                ("TB", param(2)?),
                ("TM", param(3)?),
                ("TV", param(4)?),
            ];
            let tag: Vec<String> = al.iter().map(|a| a.1.to_string()).collect();
            let tag = tag.join("_");
            Ok(Box::new(Batch {
                eps: *epsilon,
                srcs: vec![
                    source(&format!("bn_prep_{tag}"), "suanli_bn_prep", &al, BATCH_CU)?,
                    source(&format!("bn_apply_{tag}"), "suanli_bn_apply", &al, BATCH_CU)?,
                ],
            }))
        }
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
            if *size == 0 {
                return Err("LRN size must be positive".into());
            }
            Ok(Box::new(Lrn {
                size: *size,
                alpha: *alpha,
                beta: *beta,
                bias: *bias,
                src: source(&format!("lrn_{t}"), "suanli_lrn", &[("T", t)], LRN_CU)?,
            }))
        }
        NormOp::LpNorm { axis, p } => {
            if *p != 1 && *p != 2 {
                return Err(format!("LpNormalization with p = {p}"));
            }
            Ok(Box::new(Lane {
                name,
                axis: *axis,
                coerce_2d: false,
                src: lane_source(2 + *p, t)?,
            }))
        }
        NormOp::MeanVarianceNorm { axes } => Ok(Box::new(Mvn {
            axes: axes.clone(),
            src: axes_source(&format!("mvn_{t}"), "suanli_mvn", &[("T", t)], &[], MVN_CU)?,
        })),
    }
}

#[cfg(test)]
#[path = "norm_tests.rs"]
mod tests;
