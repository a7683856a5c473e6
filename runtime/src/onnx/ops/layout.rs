//! ONNX → `Op` mapping for the layout family (data movement ops), across opset versions.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::layout::{LayoutOp, PadMode, ScatterReduction, SliceAttrs};
use suanli_kernels::{DType, Op, Tensor};

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let r = match ctx.op_type() {
        "Reshape" => reshape(ctx),
        "Flatten" => ctx.i("axis", 1).map(|axis| LayoutOp::Flatten { axis }),
        "Squeeze" => axes_attr(ctx, false).map(|axes| LayoutOp::Squeeze { axes }),
        "Unsqueeze" => axes_attr(ctx, true).map(|axes| LayoutOp::Unsqueeze { axes }),
        "Transpose" => ctx.get_ints("perm").map(|perm| LayoutOp::Transpose { perm }),
        "Identity" => Ok(LayoutOp::Identity),
        "Dropout" => dropout(ctx),
        "Shape" => shape(ctx),
        "Size" => Ok(LayoutOp::Size),
        "ConstantOfShape" => constant_of_shape(ctx),
        "Range" => Ok(LayoutOp::Range),
        "OneHot" => ctx.i("axis", -1).map(|axis| LayoutOp::OneHot { axis }),
        "Trilu" => ctx.i("upper", 1).map(|u| LayoutOp::Trilu { upper: u != 0 }),
        "EyeLike" => eye_like(ctx),
        "NonZero" => Ok(LayoutOp::NonZero),
        "Compress" => ctx.get_i("axis").map(|axis| LayoutOp::Compress { axis }),
        "Unique" => unique(ctx),
        "DepthToSpace" => depth_to_space(ctx),
        "SpaceToDepth" => blocksize(ctx).map(|blocksize| LayoutOp::SpaceToDepth { blocksize }),
        "ReverseSequence" => (|| {
            Ok(LayoutOp::ReverseSequence { batch_axis: ctx.i("batch_axis", 1)?, time_axis: ctx.i("time_axis", 0)? })
        })(),
        "Tile" if ctx.opset < 6 => Err(ctx.unsupported("Tile before opset 6 (tiles/axis inputs)")),
        "Tile" => Ok(LayoutOp::Tile),
        "Expand" => Ok(LayoutOp::Expand),
        "Pad" => pad(ctx),
        "CenterCropPad" => ctx.get_ints("axes").map(|axes| LayoutOp::CenterCropPad { axes }),
        "Slice" => slice(ctx),
        "Split" => split(ctx),
        "Concat" => concat(ctx),
        "Gather" => ctx.i("axis", 0).map(|axis| LayoutOp::Gather { axis }),
        "GatherElements" => ctx.i("axis", 0).map(|axis| LayoutOp::GatherElements { axis }),
        "GatherND" => gather_nd(ctx),
        "Scatter" => ctx.i("axis", 0).map(|axis| LayoutOp::ScatterElements { axis, reduction: ScatterReduction::None }),
        "ScatterElements" => (|| {
            Ok(LayoutOp::ScatterElements { axis: ctx.i("axis", 0)?, reduction: reduction(ctx)? })
        })(),
        "ScatterND" => reduction(ctx).map(|reduction| LayoutOp::ScatterND { reduction }),
        "TensorScatter" => tensor_scatter(ctx),
        _ => return None,
    };
    Some(r.map(Op::Layout))
}

fn reshape(ctx: &NodeCtx) -> Result<LayoutOp> {
    if ctx.opset < 5 {
        return Err(ctx.unsupported("Reshape before opset 5 (shape attribute)"));
    }
    Ok(LayoutOp::Reshape { allowzero: ctx.i("allowzero", 0)? != 0 })
}

/// Squeeze/Unsqueeze axes: an attribute before opset 13, an input from 13.
fn axes_attr(ctx: &NodeCtx, required: bool) -> Result<Option<Vec<i64>>> {
    if ctx.opset >= 13 {
        if required && !ctx.has_input(1) {
            return Err(ctx.invalid("missing axes input"));
        }
        return Ok(None);
    }
    let axes = ctx.get_ints("axes")?;
    if required && axes.is_none() {
        return Err(ctx.invalid("missing required attribute \"axes\""));
    }
    Ok(axes)
}

fn dropout(ctx: &NodeCtx) -> Result<LayoutOp> {
    let mask_bool = ctx.opset >= 10;
    if ctx.opset < 7 {
        let training = ctx.i("is_test", 0)? == 0;
        return Ok(LayoutOp::Dropout { ratio: ctx.f("ratio", 0.5)?, training, mask_bool });
    }
    if ctx.opset < 12 {
        return Ok(LayoutOp::Dropout { ratio: ctx.f("ratio", 0.5)?, training: false, mask_bool });
    }
    Ok(LayoutOp::Dropout { ratio: 0.5, training: false, mask_bool })
}

fn shape(ctx: &NodeCtx) -> Result<LayoutOp> {
    Ok(LayoutOp::Shape { start: ctx.i("start", 0)?, end: ctx.get_i("end")? })
}

fn constant_of_shape(ctx: &NodeCtx) -> Result<LayoutOp> {
    let value = match ctx.get_tensor("value")? {
        Some(t) if t.len() == 1 => t.reshaped(vec![]).map_err(|e| ctx.invalid(e.to_string()))?,
        Some(t) => return Err(ctx.invalid(format!("value must hold one element, found shape {:?}", t.shape()))),
        None => Tensor::scalar(0f32),
    };
    Ok(LayoutOp::ConstantOfShape { value })
}

fn dtype_attr(ctx: &NodeCtx, name: &str) -> Result<Option<DType>> {
    match ctx.get_i(name)? {
        None => Ok(None),
        Some(code) => DType::from_onnx_code(code as i32)
            .map(Some)
            .ok_or_else(|| ctx.unsupported(format!("{name} {}", DType::onnx_code_name(code as i32)))),
    }
}

fn eye_like(ctx: &NodeCtx) -> Result<LayoutOp> {
    Ok(LayoutOp::EyeLike { dtype: dtype_attr(ctx, "dtype")?, k: ctx.i("k", 0)? })
}

fn unique(ctx: &NodeCtx) -> Result<LayoutOp> {
    Ok(LayoutOp::Unique { axis: ctx.get_i("axis")?, sorted: ctx.i("sorted", 1)? != 0 })
}

fn blocksize(ctx: &NodeCtx) -> Result<usize> {
    let b = ctx.req_i("blocksize")?;
    usize::try_from(b).ok().filter(|&b| b > 0).ok_or_else(|| ctx.invalid(format!("invalid blocksize {b}")))
}

fn depth_to_space(ctx: &NodeCtx) -> Result<LayoutOp> {
    let crd = match ctx.s("mode", "DCR")?.as_str() {
        "DCR" => false,
        "CRD" => true,
        m => return Err(ctx.unsupported(format!("mode {m:?}"))),
    };
    Ok(LayoutOp::DepthToSpace { blocksize: blocksize(ctx)?, crd })
}

fn pad(ctx: &NodeCtx) -> Result<LayoutOp> {
    let mode = match ctx.s("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        m => return Err(ctx.unsupported(format!("pad mode {m:?}"))),
    };
    if ctx.opset >= 11 {
        return Ok(LayoutOp::Pad { mode, pads: None, value: 0.0 });
    }
    let pads = match ctx.get_ints("pads")? {
        Some(p) => p,
        None => ctx.get_ints("paddings")?.ok_or_else(|| ctx.invalid("missing required attribute \"pads\""))?,
    };
    Ok(LayoutOp::Pad { mode, pads: Some(pads), value: ctx.f("value", 0.0)? })
}

fn slice(ctx: &NodeCtx) -> Result<LayoutOp> {
    if ctx.opset >= 10 {
        return Ok(LayoutOp::Slice { attrs: None });
    }
    let starts = ctx.get_ints("starts")?.ok_or_else(|| ctx.invalid("missing required attribute \"starts\""))?;
    let ends = ctx.get_ints("ends")?.ok_or_else(|| ctx.invalid("missing required attribute \"ends\""))?;
    Ok(LayoutOp::Slice { attrs: Some(SliceAttrs { starts, ends, axes: ctx.get_ints("axes")? }) })
}

fn split(ctx: &NodeCtx) -> Result<LayoutOp> {
    let axis = ctx.i("axis", 0)?;
    let outputs = ctx.num_outputs();
    let split = if ctx.opset < 13 { ctx.get_ints("split")? } else { None };
    if let Some(s) = &split {
        if s.len() != outputs {
            return Err(ctx.invalid(format!("split has {} entries for {outputs} outputs", s.len())));
        }
    }
    let num = if ctx.opset >= 18 { ctx.get_i("num_outputs")? } else { None };
    if let Some(n) = num {
        if n as usize != outputs {
            return Err(ctx.invalid(format!("num_outputs {n} but the node lists {outputs} outputs")));
        }
    }
    Ok(LayoutOp::Split { axis, split, num_outputs: outputs, uneven: num.is_some() })
}

fn concat(ctx: &NodeCtx) -> Result<LayoutOp> {
    let axis = if ctx.opset < 4 { ctx.i("axis", 1)? } else { ctx.req_i("axis")? };
    Ok(LayoutOp::Concat { axis })
}

fn gather_nd(ctx: &NodeCtx) -> Result<LayoutOp> {
    let b = ctx.i("batch_dims", 0)?;
    let batch_dims = usize::try_from(b).map_err(|_| ctx.invalid(format!("invalid batch_dims {b}")))?;
    Ok(LayoutOp::GatherND { batch_dims })
}

fn reduction(ctx: &NodeCtx) -> Result<ScatterReduction> {
    Ok(match ctx.s("reduction", "none")?.as_str() {
        "none" => ScatterReduction::None,
        "add" => ScatterReduction::Add,
        "mul" => ScatterReduction::Mul,
        "max" => ScatterReduction::Max,
        "min" => ScatterReduction::Min,
        r => return Err(ctx.unsupported(format!("reduction {r:?}"))),
    })
}

fn tensor_scatter(ctx: &NodeCtx) -> Result<LayoutOp> {
    let circular = match ctx.s("mode", "linear")?.as_str() {
        "linear" => false,
        "circular" => true,
        m => return Err(ctx.unsupported(format!("mode {m:?}"))),
    };
    Ok(LayoutOp::TensorScatter { axis: ctx.i("axis", -2)?, circular })
}
