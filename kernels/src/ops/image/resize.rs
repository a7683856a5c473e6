//! Resize and Upsample: separable interpolation, one axis at a time.

use super::from_f64;
use crate::error::{KernelError, Result};
use crate::op::InferInput;
use crate::shape::{norm_axis, Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{opt, req, req_ty};

/// Interpolation kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpMode {
    /// Nearest neighbour.
    Nearest,
    /// (Bi/tri)linear.
    Linear,
    /// Cubic convolution (Keys).
    Cubic,
}

/// How an output coordinate maps back to an input coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordMode {
    /// `(y + 0.5) / scale - 0.5`.
    HalfPixel,
    /// Half pixel, centred on the input when the output size was rounded.
    HalfPixelSymmetric,
    /// Half pixel, but 0 when the output length is 1.
    PytorchHalfPixel,
    /// Corners of input and output align.
    AlignCorners,
    /// `y / scale`.
    Asymmetric,
    /// `(y + 0.5) / scale` (opset 11 only).
    TfHalfPixelForNn,
    /// Sample inside the `roi` box; outside points get `extrapolation_value`.
    TfCropAndResize,
}

/// Rounding of the nearest mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NearestMode {
    /// Round, halves down.
    RoundPreferFloor,
    /// Round, halves up.
    RoundPreferCeil,
    /// Floor.
    Floor,
    /// Ceil.
    Ceil,
    /// Legacy Upsample / Resize-10 rule: floor when upsampling, ceil when downsampling.
    Simple,
}

/// Resize's `keep_aspect_ratio_policy` for the `sizes` input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAspect {
    /// Use the sizes as given.
    Stretch,
    /// One scale for all axes: the smallest.
    NotLarger,
    /// One scale for all axes: the largest.
    NotSmaller,
}

/// Attributes of Resize (every opset) and Upsample.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeAttrs {
    /// Interpolation kernel.
    pub mode: InterpMode,
    /// Coordinate transformation.
    pub coord: CoordMode,
    /// Nearest rounding.
    pub nearest: NearestMode,
    /// Cubic coefficient `a`.
    pub cubic_coeff_a: f32,
    /// Drop (and renormalise) taps outside the input.
    pub exclude_outside: bool,
    /// Value for points outside the crop box (tf_crop_and_resize).
    pub extrapolation_value: f32,
    /// Widen the linear/cubic kernel when downsampling.
    pub antialias: bool,
    /// The axes that `scales`/`sizes`/`roi` refer to (empty = all).
    pub axes: Vec<i64>,
    /// Aspect ratio policy for `sizes`.
    pub keep_aspect: KeepAspect,
    /// Input index of `roi`, if this version has one.
    pub roi_input: Option<usize>,
    /// Input index of `scales`, if this version has one.
    pub scales_input: Option<usize>,
    /// Input index of `sizes`, if this version has one.
    pub sizes_input: Option<usize>,
    /// Scales given as an attribute (Upsample-7); empty otherwise.
    pub scales_attr: Vec<f32>,
    /// True for the Upsample op (only changes the name).
    pub upsample: bool,
}

impl ResizeAttrs {
    /// Resize with the opset-11+ input layout (roi, scales, sizes at inputs 1, 2, 3) and every
    /// other attribute at its ONNX default.
    pub fn new(mode: InterpMode, coord: CoordMode) -> ResizeAttrs {
        ResizeAttrs {
            mode,
            coord,
            nearest: NearestMode::RoundPreferFloor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
            antialias: false,
            axes: vec![],
            keep_aspect: KeepAspect::Stretch,
            roi_input: Some(1),
            scales_input: Some(2),
            sizes_input: Some(3),
            scales_attr: vec![],
            upsample: false,
        }
    }
}

/// Per-axis plan: output length, scale and ROI bounds.
/// A resolved Resize: the resized axes, output extents, per-axis scales and the full ROI.
/// Public so that devices compute exactly the CPU's taps.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Axes being resized.
    pub axes: Vec<usize>,
    /// Output shape.
    pub out: Vec<usize>,
    /// Scale per dim (1 for untouched dims).
    pub scales: Vec<f64>,
    /// Region of interest, begins then ends, per dim (`tf_crop_and_resize`).
    pub roi: Option<Vec<f64>>,
}

/// A 1-element-or-more input that is present and non-empty.
fn nonempty<'a>(inputs: &[Option<&'a Tensor>], i: Option<usize>) -> Option<&'a Tensor> {
    i.and_then(|i| opt(inputs, i)).filter(|t| !t.is_empty())
}

/// Resolve the output shape and scales from scales or sizes (as the CPU kernel does).
pub fn plan(
    a: &ResizeAttrs,
    op: &str,
    shape: &[usize],
    scales: Option<Vec<f64>>,
    sizes: Option<Vec<i64>>,
    roi: Option<Vec<f64>>,
) -> Result<Plan> {
    let r = shape.len();
    let axes: Vec<usize> = if a.axes.is_empty() {
        (0..r).collect()
    } else {
        a.axes.iter().map(|&ax| norm_axis(op, ax, r)).collect::<Result<_>>()?
    };
    if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
        return Err(KernelError::invalid(op, format!("repeated axes {:?}", a.axes)));
    }
    let mut out = shape.to_vec();
    let mut sc = vec![1.0f64; r];
    match (scales, sizes) {
        (Some(s), None) => {
            if s.len() != axes.len() {
                return Err(KernelError::invalid(
                    op,
                    format!("{} scales for {} axes", s.len(), axes.len()),
                ));
            }
            for (&ax, &v) in axes.iter().zip(&s) {
                if !(v > 0.0 && v.is_finite()) {
                    return Err(KernelError::invalid(op, format!("scale {v} must be positive")));
                }
                sc[ax] = v;
                out[ax] = (v * shape[ax] as f64) as usize;
            }
        }
        (None, Some(s)) => {
            if s.len() != axes.len() {
                return Err(KernelError::invalid(
                    op,
                    format!("{} sizes for {} axes", s.len(), axes.len()),
                ));
            }
            for (&ax, &v) in axes.iter().zip(&s) {
                let v = usize::try_from(v).map_err(|_| KernelError::invalid(op, format!("negative size {v}")))?;
                if shape[ax] == 0 {
                    return Err(KernelError::invalid(op, format!("cannot resize empty axis {ax}")));
                }
                sc[ax] = v as f64 / shape[ax] as f64;
                out[ax] = v;
            }
            if a.keep_aspect != KeepAspect::Stretch {
                let it = axes.iter().map(|&ax| sc[ax]);
                let s = if a.keep_aspect == KeepAspect::NotLarger {
                    it.fold(f64::INFINITY, f64::min)
                } else {
                    it.fold(0.0, f64::max)
                };
                for &ax in &axes {
                    sc[ax] = s;
                    out[ax] = (s * shape[ax] as f64 + 0.5) as usize;
                }
            }
        }
        _ => {
            return Err(KernelError::invalid(
                op,
                "exactly one of scales and sizes must be given",
            ))
        }
    }
    super::checked_len(op, &out)?;
    let roi = match roi {
        None => None,
        Some(v) => {
            if v.len() != 2 * axes.len() {
                return Err(KernelError::invalid(
                    op,
                    format!("roi has {} values for {} axes", v.len(), axes.len()),
                ));
            }
            let mut full: Vec<f64> = vec![0.0; r].into_iter().chain(vec![1.0; r]).collect();
            for (i, &ax) in axes.iter().enumerate() {
                full[ax] = v[i];
                full[r + ax] = v[axes.len() + i];
            }
            Some(full)
        }
    };
    Ok(Plan {
        axes,
        out,
        scales: sc,
        roi,
    })
}

/// Static inference for Resize/Upsample.
pub(super) fn infer(a: &ResizeAttrs, inputs: &[InferInput]) -> Result<TensorType> {
    let op = if a.upsample { "Upsample" } else { "Resize" };
    let x = req_ty(op, inputs, 0)?;
    let konst = |i: Option<usize>| {
        i.and_then(|i| inputs.get(i))
            .and_then(|i| i.value)
            .filter(|t| !t.is_empty())
    };
    let present = |i: Option<usize>| i.and_then(|i| inputs.get(i)).is_some_and(|i| i.ty.is_some());
    let scales = if !a.scales_attr.is_empty() {
        Some(Some(a.scales_attr.iter().map(|&v| v as f64).collect::<Vec<_>>()))
    } else {
        konst(a.scales_input).map(|t| t.to_f64_vec().map(Some)).transpose()?
    };
    let sizes = konst(a.sizes_input).map(|t| t.to_i64_vec()).transpose()?;
    let Some(xs) = x.concrete() else {
        return Ok(TensorType {
            dtype: x.dtype,
            shape: x.rank().map(|r| vec![Dim::Unknown; r]),
        });
    };
    // A non-empty `sizes` wins over `scales`; a runtime `sizes` leaves the shape unknown.
    let sizes_runtime = a
        .sizes_input
        .and_then(|i| inputs.get(i))
        .is_some_and(|i| i.ty.is_some() && i.value.is_none());
    let known = match (scales, sizes) {
        (_, Some(s)) => Some(plan(a, op, &xs, None, Some(s), None)?),
        (Some(s), None) if !sizes_runtime => Some(plan(a, op, &xs, s, None, None)?),
        (None, None) if !present(a.sizes_input) && !present(a.scales_input) && a.scales_attr.is_empty() => {
            return Err(KernelError::invalid(op, "neither scales nor sizes given"))
        }
        _ => None,
    };
    Ok(match known {
        Some(p) => TensorType::known(x.dtype, &p.out),
        None => TensorType::with_rank(x.dtype, xs.len()),
    })
}

/// Taps for one output position: (input index, weight); `None` = extrapolated.
pub type Taps = Option<Vec<(usize, f64)>>;

/// Source coordinate of output index `y`, and whether it falls outside the crop box.
fn source_coord(a: &ResizeAttrs, y: f64, scale: f64, in_len: usize, out_len: usize, roi: (f64, f64)) -> (f64, bool) {
    let inw = in_len as f64;
    let outw = scale * inw;
    match a.coord {
        CoordMode::AlignCorners => (
            if outw == 1.0 {
                0.0
            } else {
                y * (inw - 1.0) / (outw - 1.0)
            },
            false,
        ),
        CoordMode::Asymmetric => (y / scale, false),
        CoordMode::TfCropAndResize => {
            let x = if outw == 1.0 {
                (roi.1 - roi.0) * (inw - 1.0) / 2.0
            } else {
                y * (roi.1 - roi.0) * (inw - 1.0) / (outw - 1.0)
            } + roi.0 * (inw - 1.0);
            (x, x < 0.0 || x > inw - 1.0)
        }
        CoordMode::PytorchHalfPixel => (if outw == 1.0 { -0.5 } else { (y + 0.5) / scale - 0.5 }, false),
        CoordMode::HalfPixel => ((y + 0.5) / scale - 0.5, false),
        CoordMode::HalfPixelSymmetric => {
            let adjustment = out_len as f64 / outw;
            let offset = inw / 2.0 * (1.0 - adjustment);
            (offset + (y + 0.5) / scale - 0.5, false)
        }
        CoordMode::TfHalfPixelForNn => ((y + 0.5) / scale, false),
    }
}

/// Keys cubic kernel weight at distance `x`.
fn cubic_weight(x: f64, a: f64) -> f64 {
    let x = x.abs();
    if x <= 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    } else {
        0.0
    }
}

/// Interpolation coefficients for the fractional position `ratio` in (0, 1].
fn coeffs(a: &ResizeAttrs, ratio: f64, scale: f64) -> Vec<f64> {
    match a.mode {
        InterpMode::Nearest => {
            if ratio == 1.0 {
                return vec![0.0, 1.0];
            }
            let first = match a.nearest {
                NearestMode::RoundPreferFloor => ratio <= 0.5,
                NearestMode::RoundPreferCeil => ratio < 0.5,
                NearestMode::Floor => true,
                NearestMode::Ceil => false,
                NearestMode::Simple => scale >= 1.0,
            };
            if first {
                vec![1.0, 0.0]
            } else {
                vec![0.0, 1.0]
            }
        }
        InterpMode::Linear if a.antialias => {
            let s = scale.min(1.0);
            let start = (-1.0 / s).floor() as i64 + 1;
            let n = 2 - 2 * start;
            let c: Vec<f64> = (start..start + n)
                .map(|i| (1.0 - ((i as f64 - ratio) * s).abs()).clamp(0.0, 1.0))
                .collect();
            normalised(c)
        }
        InterpMode::Linear => vec![1.0 - ratio, ratio],
        InterpMode::Cubic if a.antialias => {
            let s = scale.min(1.0);
            let start = (-2.0 / s).floor() as i64 + 1;
            let c: Vec<f64> = (start..2 - start)
                .map(|i| cubic_weight(s * (i as f64 - ratio), a.cubic_coeff_a as f64))
                .collect();
            normalised(c)
        }
        InterpMode::Cubic => {
            let ca = a.cubic_coeff_a as f64;
            vec![
                cubic_weight(ratio + 1.0, ca),
                cubic_weight(ratio, ca),
                cubic_weight(1.0 - ratio, ca),
                cubic_weight(2.0 - ratio, ca),
            ]
        }
    }
}

/// Divide by the sum (when non-zero).
fn normalised(mut c: Vec<f64>) -> Vec<f64> {
    let s: f64 = c.iter().sum();
    if s != 0.0 {
        c.iter_mut().for_each(|v| *v /= s);
    }
    c
}

/// The taps of every output index along one axis.
/// The taps of every output index along one axis.
pub fn axis_taps(a: &ResizeAttrs, in_len: usize, out_len: usize, scale: f64, roi: (f64, f64)) -> Vec<Taps> {
    (0..out_len)
        .map(|y| {
            let (x, extrapolated) = source_coord(a, y as f64, scale, in_len, out_len, roi);
            if extrapolated {
                return None;
            }
            let xi = x.floor();
            let ratio = if x == xi { 1.0 } else { x - xi };
            let mut c = coeffs(a, ratio, scale);
            let n = c.len() as i64;
            let pad = (n + 1) / 2;
            let xp = x + pad as f64;
            let p = xp.floor();
            let frac = xp - p;
            let off = if n % 2 == 0 {
                if frac == 0.0 {
                    -(n / 2)
                } else {
                    -(n / 2) + 1
                }
            } else if frac <= 0.5 {
                -((n - 1) / 2)
            } else {
                -((n - 1) / 2) + 1
            };
            let start = p as i64 + off - pad;
            let last = in_len as i64 - 1;
            if a.exclude_outside {
                for (k, w) in c.iter_mut().enumerate() {
                    let idx = start + k as i64;
                    if idx < 0 || idx > last {
                        *w = 0.0;
                    }
                }
                let s: f64 = c.iter().sum();
                if s != 0.0 {
                    c.iter_mut().for_each(|v| *v /= s);
                }
            }
            Some(
                c.into_iter()
                    .enumerate()
                    .filter(|&(_, w)| w != 0.0)
                    .map(|(k, w)| ((start + k as i64).clamp(0, last.max(0)) as usize, w))
                    .collect(),
            )
        })
        .collect()
}

/// Resample `data` (shape `shape`) along `axis` with the given taps.
fn apply_axis(data: &[f64], shape: &[usize], axis: usize, taps: &[Taps], extrapolation: f64) -> Vec<f64> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let in_len = shape[axis];
    let out_len = taps.len();
    let mut out = vec![0.0; outer * out_len * inner];
    for o in 0..outer {
        let src = &data[o * in_len * inner..(o + 1) * in_len * inner];
        for (j, t) in taps.iter().enumerate() {
            let dst = &mut out[(o * out_len + j) * inner..(o * out_len + j + 1) * inner];
            match t {
                None => dst.iter_mut().for_each(|v| *v = extrapolation),
                Some(t) => {
                    for &(idx, w) in t {
                        let s = &src[idx * inner..(idx + 1) * inner];
                        dst.iter_mut().zip(s).for_each(|(d, &v)| *d += w * v);
                    }
                }
            }
        }
    }
    out
}

/// Run Resize / Upsample.
pub(super) fn resize(a: &ResizeAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    let op = if a.upsample { "Upsample" } else { "Resize" };
    let x = req(op, inputs, 0)?;
    let scales = if !a.scales_attr.is_empty() {
        Some(a.scales_attr.iter().map(|&v| v as f64).collect())
    } else {
        nonempty(inputs, a.scales_input).map(|t| t.to_f64_vec()).transpose()?
    };
    let sizes = nonempty(inputs, a.sizes_input).map(|t| t.to_i64_vec()).transpose()?;
    let scales = if sizes.is_some() { None } else { scales };
    let roi = if a.coord == CoordMode::TfCropAndResize {
        Some(
            nonempty(inputs, a.roi_input)
                .ok_or_else(|| KernelError::invalid(op, "tf_crop_and_resize needs roi"))?
                .to_f64_vec()?,
        )
    } else {
        None
    };
    let p = plan(a, op, x.shape(), scales, sizes, roi)?;
    let r = x.rank();
    let mut shape = x.shape().to_vec();
    let mut data = x.to_f64_vec()?;
    for &ax in &p.axes {
        let roi = p.roi.as_ref().map_or((0.0, 1.0), |v| (v[ax], v[r + ax]));
        let identity = (p.scales[ax] - 1.0).abs() <= 1e-9
            && p.out[ax] == shape[ax]
            && (roi.0.abs() <= 1e-9 && (roi.1 - 1.0).abs() <= 1e-9);
        if identity {
            continue;
        }
        if shape[ax] == 0 && p.out[ax] > 0 {
            return Err(KernelError::invalid(op, format!("cannot resize empty axis {ax}")));
        }
        let taps = axis_taps(a, shape[ax], p.out[ax], p.scales[ax], roi);
        data = apply_axis(&data, &shape, ax, &taps, a.extrapolation_value as f64);
        shape[ax] = p.out[ax];
    }
    from_f64(op, shape, data, x.dtype())
}
