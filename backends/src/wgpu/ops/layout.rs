//! WGSL kernels for the layout family: zero-copy views for reshapes, host-known outputs for
//! `Shape`/`Size`/`Range`, one generic strided-copy shader for every permutation, slice, pad,
//! tile and join, and index shaders for gather/scatter/one-hot.

mod copy;
mod index;
#[cfg(test)]
mod tests;

use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::LaunchCx;
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::layout::ScatterReduction;
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, KernelError, KernelSpec, Op, Tensor};

/// The generic strided copy (shader 0 of every layout kernel).
const COPY_WGSL: &str = include_str!("../../../../shaders/copy_strided.wgsl");
const FILL_WGSL: &str = include_str!("../../../../shaders/layout_fill.wgsl");
const TRILU_WGSL: &str = include_str!("../../../../shaders/layout_trilu.wgsl");
const EYE_WGSL: &str = include_str!("../../../../shaders/layout_eye.wgsl");
const REVSEQ_WGSL: &str = include_str!("../../../../shaders/layout_revseq.wgsl");
const GATHER_COMMON_WGSL: &str = include_str!("../../../../shaders/gather_common.wgsl");
const GATHER_WGSL: &str = include_str!("../../../../shaders/gather.wgsl");
const GATHER_ELEMENTS_WGSL: &str = include_str!("../../../../shaders/gather_elements.wgsl");
const GATHER_ND_WGSL: &str = include_str!("../../../../shaders/gather_nd.wgsl");
const ONEHOT_WGSL: &str = include_str!("../../../../shaders/gather_onehot.wgsl");
const SCATTER_ELEMENTS_WGSL: &str = include_str!("../../../../shaders/scatter_elements.wgsl");
const SCATTER_ND_WGSL: &str = include_str!("../../../../shaders/scatter_nd.wgsl");

/// A lowered layout op: the op itself (its launch reads shapes and small values) and its shaders.
struct Kernel {
    op: LayoutOp,
    shaders: Vec<Shader>,
}

impl WgslOp for Kernel {
    fn shaders(&self) -> Vec<Shader> {
        self.shaders.clone()
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        use LayoutOp::*;
        let op = &self.op;
        match op {
            Reshape { .. } | Flatten { .. } | Squeeze { .. } | Unsqueeze { .. } | Identity => {
                let shape = infer_shape(cx, op, 0)?;
                cx.alias(0, shape)
            }
            Dropout { .. } => copy::dropout(cx, op),
            Shape { .. } | Size | Range => host_kernel(cx, op),
            ConstantOfShape { value } => {
                let shape = infer_shape(cx, op, 0)?;
                let n: usize = shape.iter().product();
                let out = cx.output(value.dtype(), shape)?;
                cx.dispatch_1d(1, vec![n as u32], &[out], n);
                Ok(())
            }
            EyeLike { k, .. } => {
                let (dt, shape) = infer_one(cx, op)?;
                let n: usize = shape.iter().product();
                let cols = shape.get(1).copied().unwrap_or(1);
                let out = cx.output(dt, shape)?;
                cx.dispatch_1d(1, vec![n as u32, cols as u32, i64_param(*k)?], &[out], n);
                Ok(())
            }
            Trilu { upper } => copy::trilu(cx, *upper),
            ReverseSequence { batch_axis, time_axis } => copy::reverse_sequence(cx, *batch_axis, *time_axis),
            Transpose { perm } => copy::transpose(cx, perm.as_deref()),
            DepthToSpace { blocksize, crd } => copy::depth_to_space(cx, *blocksize, *crd),
            SpaceToDepth { blocksize } => copy::space_to_depth(cx, *blocksize),
            Tile => copy::tile(cx, op),
            Expand => copy::expand(cx, op),
            Pad { mode, pads, value } => copy::pad(cx, *mode, pads.as_deref(), *value),
            CenterCropPad { axes } => copy::center_crop_pad(cx, axes.as_deref()),
            Slice { attrs } => copy::slice(cx, attrs.as_ref()),
            Split { axis, .. } => copy::split(cx, op, *axis),
            Concat { axis } => copy::concat(cx, *axis),
            Gather { axis } => index::gather(cx, *axis),
            GatherElements { axis } => index::gather_elements(cx, *axis),
            GatherND { batch_dims } => index::gather_nd(cx, *batch_dims),
            ScatterElements { axis, .. } => index::scatter_elements(cx, *axis),
            ScatterND { .. } => index::scatter_nd(cx),
            OneHot { axis } => index::one_hot(cx, *axis),
            NonZero | Compress { .. } | Unique { .. } | TensorScatter { .. } => Err(DeviceError::Unsupported {
                kernel: "layout".into(),
                reason: "not lowered".into(),
            }),
        }
    }
}

/// An invalid-input error of `op`.
fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
}

/// A signed value as an `i32` parameter word.
fn i64_param(v: i64) -> Result<u32> {
    i32::try_from(v)
        .map(|v| v as u32)
        .map_err(|_| invalid("layout", format!("{v} does not fit a 32-bit shader parameter")))
}

/// Output `i`'s concrete shape by the op's own inference.
fn infer_shape(cx: &LaunchCx, op: &LayoutOp, i: usize) -> Result<Vec<usize>> {
    let mut outs = cx.infer(&Op::Layout(op.clone()))?;
    if i >= outs.len() {
        return Err(invalid(op_name(op), "inference gave too few outputs"));
    }
    Ok(outs.swap_remove(i).1)
}

/// Output 0's dtype and shape.
fn infer_one(cx: &LaunchCx, op: &LayoutOp) -> Result<(DType, Vec<usize>)> {
    let mut outs = cx.infer(&Op::Layout(op.clone()))?;
    if outs.is_empty() {
        return Err(invalid(op_name(op), "inference gave no output"));
    }
    Ok(outs.swap_remove(0))
}

fn op_name(op: &LayoutOp) -> &'static str {
    Op::Layout(op.clone()).name()
}

/// Ops whose outputs are cheap on the host once their (small) inputs are known.
fn host_kernel(cx: &mut LaunchCx, op: &LayoutOp) -> Result<()> {
    let t = match op {
        LayoutOp::Size => Tensor::scalar(cx.shape(0)?.iter().product::<usize>() as i64),
        LayoutOp::Shape { start, end } => {
            let shape = cx.shape(0)?;
            let r = shape.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let s = clamp(*start);
            let e = clamp(end.unwrap_or(r)).max(s);
            let v: Vec<i64> = shape[s..e].iter().map(|&d| d as i64).collect();
            Tensor::from_vec(vec![v.len()], v).map_err(DeviceError::Kernel)?
        }
        _ => {
            let vals = (0..cx.num_inputs())
                .map(|i| if cx.has(i) { cx.value(i).map(Some) } else { Ok(None) })
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<Option<&Tensor>> = vals.iter().map(|t| t.as_ref()).collect();
            run_one(op, &refs)?
        }
    };
    cx.host_output(t)
}

fn run_one(op: &LayoutOp, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let mut v = Op::Layout(op.clone()).run(inputs).map_err(DeviceError::Kernel)?;
    if v.is_empty() {
        return Err(invalid(op_name(op), "no output"));
    }
    Ok(v.swap_remove(0))
}

/// A WGSL expression of type `T` = `r` holding the first element of `v`, or why it cannot be.
fn literal(v: &Tensor, r: Repr) -> Result<String, String> {
    let host = if r == Repr::F16 { DType::F32 } else { r.host_dtype() };
    let x = v.cast(host).map_err(|e| e.to_string())?;
    fn first<T: suanli_kernels::tensor::HostElem + Copy>(x: &Tensor) -> Result<T, String> {
        x.as_slice::<T>()
            .ok()
            .and_then(|s| s.first().copied())
            .ok_or_else(|| "empty fill value".to_string())
    }
    Ok(match r {
        Repr::F32 => format!("bitcast<f32>({}u)", first::<f32>(&x)?.to_bits()),
        Repr::F16 => format!("f16(bitcast<f32>({}u))", first::<f32>(&x)?.to_bits()),
        Repr::F64 => {
            let f = first::<f64>(&x)?;
            if !f.is_finite() {
                return Err("non-finite f64 fill values".into());
            }
            format!("{f:e}lf")
        }
        Repr::I32 => format!("i32({}i)", first::<i32>(&x)?),
        Repr::U32 => format!("{}u", first::<u32>(&x)?),
        Repr::I64 => match first::<i64>(&x)? {
            i64::MIN => "(-9223372036854775807li - 1li)".into(),
            v => format!("i64({v}li)"),
        },
        Repr::U64 => format!("{}lu", first::<u64>(&x)?),
    })
}

/// The combine function of a scatter reduction, as WGSL over `T`.
fn combine_wgsl(r: ScatterReduction) -> &'static str {
    match r {
        ScatterReduction::None => "fn combine(a: T, b: T) -> T { return b; }\n",
        ScatterReduction::Add => "fn combine(a: T, b: T) -> T { return a + b; }\n",
        ScatterReduction::Mul => "fn combine(a: T, b: T) -> T { return a * b; }\n",
        ScatterReduction::Max => "fn combine(a: T, b: T) -> T { return max(a, b); }\n",
        ScatterReduction::Min => "fn combine(a: T, b: T) -> T { return min(a, b); }\n",
    }
}

/// The representation of spec input `i` (known dtype) or why there is none.
fn in_repr(spec: &KernelSpec, t: &Target, i: usize) -> Result<Repr, String> {
    let ty = spec
        .inputs
        .get(i)
        .and_then(|x| x.as_ref())
        .ok_or_else(|| format!("input {i} is missing"))?;
    t.repr(ty.dtype)
}

/// Lower a layout spec, or say why the wgpu device cannot run it.
pub fn lower(op: &LayoutOp, spec: &KernelSpec, t: &Target) -> Result<Box<dyn WgslOp>, String> {
    use LayoutOp::*;
    let data = |i: usize| in_repr(spec, t, i);
    let out = |i: usize| -> Result<Repr, String> {
        t.repr(spec.outputs.get(i).ok_or_else(|| "missing output".to_string())?.dtype)
    };
    let copy = |r: Repr| shader("copy_strided", &[("T", r)], COPY_WGSL);
    let gather_body = |body: &str| format!("{GATHER_COMMON_WGSL}{body}");
    let shaders = match op {
        Reshape { .. } | Flatten { .. } | Squeeze { .. } | Unsqueeze { .. } | Identity => Vec::new(),
        Shape { .. } | Size | Range => Vec::new(),
        Dropout { mask_bool, .. } => {
            let x = data(0)?;
            let mask = if *mask_bool { Repr::U32 } else { x };
            let one = Tensor::scalar(1.0f32);
            let fill = FILL_WGSL.replace("FILL", &literal(&one, mask)?);
            vec![copy(x), shader("layout_fill", &[("T", mask)], &fill)]
        }
        ConstantOfShape { value } => {
            let r = t.repr(value.dtype())?;
            let fill = FILL_WGSL.replace("FILL", &literal(value, r)?);
            vec![copy(r), shader("layout_fill", &[("T", r)], &fill)]
        }
        EyeLike { .. } => {
            let r = out(0)?;
            vec![copy(r), shader("layout_eye", &[("T", r)], EYE_WGSL)]
        }
        Trilu { .. } => {
            let r = data(0)?;
            vec![copy(r), shader("layout_trilu", &[("T", r)], TRILU_WGSL)]
        }
        ReverseSequence { .. } => {
            let r = data(0)?;
            vec![copy(r), shader("layout_revseq", &[("T", r)], REVSEQ_WGSL)]
        }
        Transpose { .. }
        | DepthToSpace { .. }
        | SpaceToDepth { .. }
        | Tile
        | Expand
        | Pad { .. }
        | CenterCropPad { .. }
        | Slice { .. }
        | Split { .. }
        | Concat { .. } => vec![copy(data(0)?)],
        Gather { .. } | GatherElements { .. } | GatherND { .. } => {
            let (r, i) = (data(0)?, data(1)?);
            let body = match op {
                Gather { .. } => GATHER_WGSL,
                GatherElements { .. } => GATHER_ELEMENTS_WGSL,
                _ => GATHER_ND_WGSL,
            };
            vec![copy(r), shader("gather", &[("T", r), ("I", i)], &gather_body(body))]
        }
        ScatterElements { reduction, .. } | ScatterND { reduction } => {
            let (r, i) = (data(0)?, data(1)?);
            if *reduction != ScatterReduction::None && spec.outputs.first().is_some_and(|o| o.dtype == DType::Bool) {
                return Err("scatter reductions on bool".into());
            }
            let body = match op {
                ScatterElements { .. } => SCATTER_ELEMENTS_WGSL,
                _ => SCATTER_ND_WGSL,
            };
            let src = format!("{}{}", combine_wgsl(*reduction), gather_body(body));
            vec![copy(r), shader("scatter", &[("T", r), ("I", i)], &src)]
        }
        OneHot { .. } => {
            let (i, r) = (data(0)?, data(2)?);
            vec![
                copy(r),
                shader("onehot", &[("T", r), ("I", i)], &gather_body(ONEHOT_WGSL)),
            ]
        }
        NonZero | Compress { .. } | Unique { .. } => {
            return Err(format!("{} has a data-dependent output shape", op_name(op)))
        }
        TensorScatter { .. } => return Err("no WGSL kernel for TensorScatter yet".into()),
    };
    Ok(Box::new(Kernel {
        op: op.clone(),
        shaders,
    }))
}
