//! ONNX → `Op` mapping for the image family.

use crate::error::Result;
use crate::onnx::node::NodeCtx;
use suanli_kernels::ops::image::{CoordMode, GridPadding, ImageOp, InterpMode, KeepAspect, NearestMode, ResizeAttrs};
use suanli_kernels::Op;

/// Map an ONNX node of this family to an [`Op`]; `None` when the op type is not in this family.
pub fn import(ctx: &NodeCtx) -> Option<Result<Op>> {
    if ctx.domain() != "ai.onnx" {
        return None;
    }
    let r = match ctx.op_type() {
        "Resize" => resize(ctx),
        "Upsample" => upsample(ctx),
        "GridSample" => grid_sample(ctx),
        "AffineGrid" => ctx.i("align_corners", 0).map(|a| ImageOp::AffineGrid { align_corners: a != 0 }),
        "RoiAlign" => roi_align(ctx),
        "NonMaxSuppression" => ctx.i("center_point_box", 0).map(|c| ImageOp::NonMaxSuppression { center_point_box: c != 0 }),
        _ => return None,
    };
    Some(r.map(Op::Image))
}

/// The interpolation `mode` attribute.
fn interp(ctx: &NodeCtx, allow_cubic: bool) -> Result<InterpMode> {
    match ctx.s("mode", "nearest")?.as_str() {
        "nearest" => Ok(InterpMode::Nearest),
        "linear" | "bilinear" => Ok(InterpMode::Linear),
        "cubic" if allow_cubic => Ok(InterpMode::Cubic),
        other => Err(ctx.unsupported(format!("mode {other:?}"))),
    }
}

/// Attributes for the legacy versions (Upsample, Resize-10): asymmetric coordinates.
fn legacy(mode: InterpMode, upsample: bool, scales_input: Option<usize>, scales_attr: Vec<f32>) -> ResizeAttrs {
    ResizeAttrs {
        mode,
        coord: CoordMode::Asymmetric,
        nearest: NearestMode::Simple,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        axes: vec![],
        keep_aspect: KeepAspect::Stretch,
        roi_input: None,
        scales_input,
        sizes_input: None,
        scales_attr,
        upsample,
    }
}

fn upsample(ctx: &NodeCtx) -> Result<ImageOp> {
    if ctx.opset < 7 {
        return Err(ctx.unsupported("Upsample before opset 7 (height_scale/width_scale attributes)"));
    }
    let mode = interp(ctx, false)?;
    if ctx.opset < 9 {
        let scales = ctx.get_floats("scales")?.ok_or_else(|| ctx.invalid("missing scales attribute"))?;
        return Ok(ImageOp::Resize(legacy(mode, true, None, scales)));
    }
    Ok(ImageOp::Resize(legacy(mode, true, Some(1), vec![])))
}

fn resize(ctx: &NodeCtx) -> Result<ImageOp> {
    if ctx.opset < 10 {
        return Err(ctx.unsupported("Resize before opset 10"));
    }
    if ctx.opset == 10 {
        let mode = interp(ctx, false)?;
        return Ok(ImageOp::Resize(legacy(mode, false, Some(1), vec![])));
    }
    let mode = interp(ctx, true)?;
    let coord = match ctx.s("coordinate_transformation_mode", "half_pixel")?.as_str() {
        "half_pixel" => CoordMode::HalfPixel,
        "half_pixel_symmetric" if ctx.opset >= 19 => CoordMode::HalfPixelSymmetric,
        "pytorch_half_pixel" => CoordMode::PytorchHalfPixel,
        "align_corners" => CoordMode::AlignCorners,
        "asymmetric" => CoordMode::Asymmetric,
        "tf_half_pixel_for_nn" if ctx.opset == 11 => CoordMode::TfHalfPixelForNn,
        "tf_crop_and_resize" => CoordMode::TfCropAndResize,
        other => return Err(ctx.unsupported(format!("coordinate_transformation_mode {other:?}"))),
    };
    let nearest = match ctx.s("nearest_mode", "round_prefer_floor")?.as_str() {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(ctx.unsupported(format!("nearest_mode {other:?}"))),
    };
    let keep_aspect = match ctx.s("keep_aspect_ratio_policy", "stretch")?.as_str() {
        "stretch" => KeepAspect::Stretch,
        "not_larger" => KeepAspect::NotLarger,
        "not_smaller" => KeepAspect::NotSmaller,
        other => return Err(ctx.unsupported(format!("keep_aspect_ratio_policy {other:?}"))),
    };
    let antialias = ctx.i("antialias", 0)? != 0;
    if antialias && mode == InterpMode::Nearest {
        return Err(ctx.unsupported("antialias with nearest mode"));
    }
    Ok(ImageOp::Resize(ResizeAttrs {
        mode,
        coord,
        nearest,
        cubic_coeff_a: ctx.f("cubic_coeff_a", -0.75)?,
        exclude_outside: ctx.i("exclude_outside", 0)? != 0,
        extrapolation_value: ctx.f("extrapolation_value", 0.0)?,
        antialias,
        axes: ctx.get_ints("axes")?.unwrap_or_default(),
        keep_aspect,
        roi_input: Some(1),
        scales_input: Some(2),
        sizes_input: Some(3),
        scales_attr: vec![],
        upsample: false,
    }))
}

fn grid_sample(ctx: &NodeCtx) -> Result<ImageOp> {
    let old = ctx.opset < 20;
    let mode = match (ctx.s("mode", if old { "bilinear" } else { "linear" })?.as_str(), old) {
        ("bilinear", true) | ("linear", false) => InterpMode::Linear,
        ("bicubic", true) | ("cubic", false) => InterpMode::Cubic,
        ("nearest", _) => InterpMode::Nearest,
        (other, _) => return Err(ctx.unsupported(format!("mode {other:?}"))),
    };
    let padding = match ctx.s("padding_mode", "zeros")?.as_str() {
        "zeros" => GridPadding::Zeros,
        "border" => GridPadding::Border,
        "reflection" => GridPadding::Reflection,
        other => return Err(ctx.unsupported(format!("padding_mode {other:?}"))),
    };
    Ok(ImageOp::GridSample { mode, padding, align_corners: ctx.i("align_corners", 0)? != 0 })
}

fn roi_align(ctx: &NodeCtx) -> Result<ImageOp> {
    let default_ct = if ctx.opset >= 16 { "half_pixel" } else { "output_half_pixel" };
    let half_pixel = match ctx.s("coordinate_transformation_mode", default_ct)?.as_str() {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => return Err(ctx.unsupported(format!("coordinate_transformation_mode {other:?}"))),
    };
    let max_mode = match ctx.s("mode", "avg")?.as_str() {
        "avg" => false,
        "max" => true,
        other => return Err(ctx.unsupported(format!("mode {other:?}"))),
    };
    let nonneg = |name: &str, default: i64| -> Result<usize> {
        let v = ctx.i(name, default)?;
        usize::try_from(v).map_err(|_| ctx.invalid(format!("{name} {v} is negative")))
    };
    Ok(ImageOp::RoiAlign {
        max_mode,
        output_height: nonneg("output_height", 1)?,
        output_width: nonneg("output_width", 1)?,
        sampling_ratio: nonneg("sampling_ratio", 0)?,
        spatial_scale: ctx.f("spatial_scale", 1.0)?,
        half_pixel,
    })
}
