//! CUDA kernels for the layout family: zero-copy views for reshapes, host-known outputs for
//! `Shape`/`Size`/`Range`, one strided-copy kernel over element bits for every permutation,
//! slice, pad, tile, join and fill, and index kernels for gather/scatter/one-hot.
//!
//! Data movement does not look at values, so the copies and gathers are compiled per element
//! width (1/2/4/8-byte unsigned types) and serve every dtype; only scatter reductions are
//! compiled for the real dtype.

mod copy;
mod index;
mod pad;
#[cfg(test)]
mod tests;

use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{Arg, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::ops::layout::ScatterReduction;
use suanli_kernels::ops::LayoutOp;
use suanli_kernels::{DType, KernelError, KernelSpec, Op, Tensor};

const COPY_CU: &str = include_str!("../../../../shaders/copy_strided.cu");
const TILED_CU: &str = include_str!("../../../../shaders/copy_tiled.cu");
const EYE_CU: &str = include_str!("../../../../shaders/layout_eye.cu");
const TRILU_CU: &str = include_str!("../../../../shaders/layout_trilu.cu");
const REVSEQ_CU: &str = include_str!("../../../../shaders/layout_revseq.cu");
const GATHER_COMMON_CU: &str = include_str!("../../../../shaders/gather_common.cu");
const GATHER_CU: &str = include_str!("../../../../shaders/gather.cu");
const GATHER_ELEMENTS_CU: &str = include_str!("../../../../shaders/gather_elements.cu");
const GATHER_ND_CU: &str = include_str!("../../../../shaders/gather_nd.cu");
const ONEHOT_CU: &str = include_str!("../../../../shaders/gather_onehot.cu");
const SCATTER_ELEMENTS_CU: &str = include_str!("../../../../shaders/scatter_elements.cu");
const SCATTER_ND_CU: &str = include_str!("../../../../shaders/scatter_nd.cu");

/// The unsigned type of `dt`'s width, which moves its elements bit for bit.
pub fn width_dtype(dt: DType) -> Result<DType, String> {
    super::storage_type(dt)?;
    Ok(match dt.size() {
        1 => DType::U8,
        2 => DType::U16,
        4 => DType::U32,
        _ => DType::U64,
    })
}

/// The strided copy for elements of `dt` (source 0 of every layout kernel).
pub fn copy_source(dt: DType) -> Result<CudaSource, String> {
    let w = width_dtype(dt)?;
    source(
        &format!("copy_strided_{w}"),
        "suanli_copy_strided",
        &[("T", w)],
        COPY_CU,
    )
}

/// The bits of the first element of `v` cast to `dt`, little-endian in the low bytes of a word.
pub fn bits_of(v: &Tensor, dt: DType) -> Result<i64, String> {
    let b = v.cast(dt).and_then(|t| t.to_le_bytes()).map_err(|e| e.to_string())?;
    if b.len() < dt.size() {
        return Err("empty fill value".into());
    }
    let mut w = [0u8; 8];
    w[..dt.size()].copy_from_slice(&b[..dt.size()]);
    Ok(i64::from_le_bytes(w))
}

/// A lowered layout op: the op itself (its launch reads shapes and small values) and its
/// sources (0: the strided copy, 1: the op's own kernel, if any).
struct Kernel {
    op: LayoutOp,
    sources: Vec<CudaSource>,
}

impl CudaOp for Kernel {
    fn sources(&self) -> Vec<CudaSource> {
        self.sources.clone()
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
                let dt = value.dtype();
                let bits = bits_of(value, dt).map_err(|e| invalid(op_name(op), e))?;
                let out = cx.output(dt, shape);
                copy::fill(cx, out, dt, n, bits)
            }
            EyeLike { k, .. } => {
                let (dt, shape) = infer_one(cx, op)?;
                if shape.len() != 2 {
                    return Err(invalid("EyeLike", format!("input must be 2-D, found {shape:?}")));
                }
                let n: usize = shape.iter().product();
                let cols = shape[1];
                let one = bits_of(&Tensor::scalar(1.0f64), dt).map_err(|e| invalid("EyeLike", e))?;
                let out = cx.output(dt, shape);
                let args = vec![
                    Arg::Ptr(out),
                    Arg::I64(n as i64),
                    Arg::I64(cols.max(1) as i64),
                    Arg::I64(*k),
                    Arg::I64(one),
                ];
                cx.kernel_1d(1, args, n);
                Ok(())
            }
            Trilu { upper } => copy::trilu(cx, *upper),
            ReverseSequence { batch_axis, time_axis } => copy::reverse_sequence(cx, *batch_axis, *time_axis),
            Transpose { perm } => copy::transpose(cx, perm.as_deref()),
            DepthToSpace { blocksize, crd } => copy::depth_to_space(cx, *blocksize, *crd),
            SpaceToDepth { blocksize } => copy::space_to_depth(cx, *blocksize),
            Tile => copy::tile(cx, op),
            Expand => copy::expand(cx, op),
            Pad { mode, pads, value } => pad::pad(cx, *mode, pads.as_deref(), *value),
            CenterCropPad { axes } => pad::center_crop_pad(cx, axes.as_deref()),
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
                kernel: op_name(op).into(),
                reason: "not lowered to CUDA".into(),
            }),
        }
    }
}

/// An invalid-input error of `op`.
fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
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
            let mut v = Op::Layout(op.clone()).run(&refs).map_err(DeviceError::Kernel)?;
            if v.is_empty() {
                return Err(invalid(op_name(op), "no output"));
            }
            v.swap_remove(0)
        }
    };
    cx.host_output(t);
    Ok(())
}

/// `suanli_combine(a, b)` over `T` for a scatter reduction on `dt` (integers wrap like the CPU).
fn combine_cu(r: ScatterReduction, dt: DType) -> String {
    let body = match r {
        ScatterReduction::None => "return b;",
        ScatterReduction::Add if dt.is_float() => "return T_st(T_ld(a) + T_ld(b));",
        ScatterReduction::Mul if dt.is_float() => "return T_st(T_ld(a) * T_ld(b));",
        ScatterReduction::Add => "return (T)((unsigned long long)(long long)a + (unsigned long long)(long long)b);",
        ScatterReduction::Mul => "return (T)((unsigned long long)(long long)a * (unsigned long long)(long long)b);",
        ScatterReduction::Max => "return T_ld(b) > T_ld(a) ? b : a;",
        ScatterReduction::Min => "return T_ld(b) < T_ld(a) ? b : a;",
    };
    format!("__device__ __forceinline__ T suanli_combine(T a, T b) {{ {body} }}\n")
}

/// Spec input `i`'s dtype, or why there is none.
fn in_dtype(spec: &KernelSpec, i: usize) -> Result<DType, String> {
    spec.inputs
        .get(i)
        .and_then(|x| x.as_ref())
        .map(|t| t.dtype)
        .ok_or_else(|| format!("input {i} is missing"))
}

/// An index input's dtype: any integer type (the CPU rejects the rest).
fn index_dtype(spec: &KernelSpec, i: usize) -> Result<DType, String> {
    let dt = in_dtype(spec, i)?;
    if !dt.is_int() {
        return Err(format!("indices must be integers, found {dt}"));
    }
    Ok(dt)
}

/// Lower a layout spec, or say why the CUDA device cannot run it.
pub fn lower(op: &LayoutOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    use LayoutOp::*;
    let out = |i: usize| -> Result<DType, String> {
        Ok(spec.outputs.get(i).ok_or_else(|| "missing output".to_string())?.dtype)
    };
    let one = |name: &str, entry: &str, aliases: &[(&str, DType)], body: &str| source(name, entry, aliases, body);
    let gather = |body: &str| format!("{GATHER_COMMON_CU}{body}");
    let sources = match op {
        Reshape { .. } | Flatten { .. } | Squeeze { .. } | Unsqueeze { .. } | Identity => Vec::new(),
        Shape { .. } | Size | Range => Vec::new(),
        Dropout { mask_bool, .. } => {
            let x = in_dtype(spec, 0)?;
            let mask = if *mask_bool { DType::Bool } else { x };
            vec![copy_source(mask)?]
        }
        ConstantOfShape { value } => vec![copy_source(value.dtype())?],
        EyeLike { .. } => {
            let w = width_dtype(out(0)?)?;
            vec![
                copy_source(w)?,
                one(&format!("eye_{w}"), "suanli_eye", &[("T", w)], EYE_CU)?,
            ]
        }
        Trilu { .. } => {
            let w = width_dtype(in_dtype(spec, 0)?)?;
            vec![
                copy_source(w)?,
                one(&format!("trilu_{w}"), "suanli_trilu", &[("T", w)], TRILU_CU)?,
            ]
        }
        ReverseSequence { .. } => {
            let w = width_dtype(in_dtype(spec, 0)?)?;
            let i = index_dtype(spec, 1)?;
            vec![
                copy_source(w)?,
                one(
                    &format!("reverse_sequence_{w}_{i}"),
                    "suanli_reverse_sequence",
                    &[("T", w), ("I", i)],
                    REVSEQ_CU,
                )?,
            ]
        }
        Transpose { .. } | DepthToSpace { .. } | SpaceToDepth { .. } => {
            let w = width_dtype(in_dtype(spec, 0)?)?;
            vec![
                copy_source(w)?,
                one(&format!("copy_tiled_{w}"), "suanli_copy_tiled", &[("T", w)], TILED_CU)?,
            ]
        }
        Tile | Expand | Pad { .. } | CenterCropPad { .. } | Slice { .. } | Split { .. } | Concat { .. } => {
            vec![copy_source(in_dtype(spec, 0)?)?]
        }
        Gather { .. } | GatherElements { .. } | GatherND { .. } => {
            let (w, i) = (width_dtype(in_dtype(spec, 0)?)?, index_dtype(spec, 1)?);
            let (name, entry, body) = match op {
                Gather { .. } => ("gather", "suanli_gather", GATHER_CU),
                GatherElements { .. } => ("gather_elements", "suanli_gather_elements", GATHER_ELEMENTS_CU),
                _ => ("gather_nd", "suanli_gather_nd", GATHER_ND_CU),
            };
            vec![
                copy_source(w)?,
                one(&format!("{name}_{w}_{i}"), entry, &[("T", w), ("I", i)], &gather(body))?,
            ]
        }
        ScatterElements { reduction, .. } | ScatterND { reduction } => {
            let (dt, i) = (in_dtype(spec, 0)?, index_dtype(spec, 1)?);
            if *reduction != ScatterReduction::None && !dt.is_numeric() {
                return Err(format!("scatter reductions on {dt}"));
            }
            // Plain scatters move bits; reductions compute in the real dtype.
            let t = if *reduction == ScatterReduction::None {
                width_dtype(dt)?
            } else {
                dt
            };
            let (name, entry, body) = match op {
                ScatterElements { .. } => ("scatter_elements", "suanli_scatter_elements", SCATTER_ELEMENTS_CU),
                _ => ("scatter_nd", "suanli_scatter_nd", SCATTER_ND_CU),
            };
            let text = format!("{}{}", combine_cu(*reduction, dt), gather(body));
            vec![
                copy_source(dt)?,
                one(
                    &format!("{name}_{t}_{i}_{reduction:?}"),
                    entry,
                    &[("T", t), ("I", i)],
                    &text,
                )?,
            ]
        }
        OneHot { .. } => {
            let (i, v) = (in_dtype(spec, 0)?, width_dtype(in_dtype(spec, 2)?)?);
            if !i.is_numeric() {
                return Err(format!("OneHot indices of {i}"));
            }
            vec![
                copy_source(v)?,
                one(
                    &format!("one_hot_{v}_{i}"),
                    "suanli_one_hot",
                    &[("T", v), ("I", i)],
                    ONEHOT_CU,
                )?,
            ]
        }
        NonZero | Compress { .. } | Unique { .. } => {
            return Err(format!("{} has a data-dependent output shape", op_name(op)))
        }
        TensorScatter { .. } => return Err("no CUDA kernel for TensorScatter yet".into()),
    };
    Ok(Box::new(Kernel {
        op: op.clone(),
        sources,
    }))
}
