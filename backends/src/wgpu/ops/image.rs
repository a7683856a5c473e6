//! WGSL kernels for the image family: Resize/Upsample. The host computes each axis's taps with
//! the CPU kernel's coordinate rules (so nearest/linear/cubic, antialias, exclude_outside and
//! tf_crop_and_resize all match it) and one shader sums the tap products per output element.

use super::{shader, Shader, Target, WgslOp};
use crate::device::{DeviceError, Result};
use crate::wgpu::launch::{Buf, LaunchCx};
use crate::wgpu::memory::Repr;
use suanli_kernels::ops::image::resize;
use suanli_kernels::ops::image::{CoordMode, ResizeAttrs};
use suanli_kernels::ops::ImageOp;
use suanli_kernels::{DType, KernelError, KernelSpec, Tensor};

const RESIZE_WGSL: &str = include_str!("../../../../shaders/resize.wgsl");

/// A lowered Resize.
struct Resize {
    attrs: ResizeAttrs,
    shader: Shader,
}

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
}

/// `w` as three f32 parts (bits) whose f64 sum is exactly `w`.
fn split_weight(w: f64) -> [u32; 3] {
    let hi = w as f32;
    let r = w - hi as f64;
    let mid = r as f32;
    let lo = (r - mid as f64) as f32;
    [hi.to_bits(), mid.to_bits(), lo.to_bits()]
}

/// Round-and-clamp bounds of an integer output dtype.
fn int_bounds(dt: DType) -> Option<(f32, f32)> {
    Some(match dt {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        DType::I32 => (-2147483648.0, 2147483520.0),
        DType::U32 => (0.0, 4294967040.0),
        DType::I64 => (-9.223372e18, 9.223372e18),
        DType::U64 => (0.0, 1.8446743e19),
        _ => return None,
    })
}

impl WgslOp for Resize {
    fn shaders(&self) -> Vec<Shader> {
        vec![self.shader.clone()]
    }

    fn launch(&self, cx: &mut LaunchCx) -> Result<()> {
        let a = &self.attrs;
        let op = if a.upsample { "Upsample" } else { "Resize" };
        let nonempty = |cx: &LaunchCx, i: Option<usize>| -> Result<Option<Tensor>> {
            match i {
                Some(i) if cx.has(i) && cx.shape(i)?.iter().product::<usize>() > 0 => Ok(Some(cx.value(i)?)),
                _ => Ok(None),
            }
        };
        let scales = if !a.scales_attr.is_empty() {
            Some(a.scales_attr.iter().map(|&v| v as f64).collect())
        } else {
            nonempty(cx, a.scales_input)?.map(|t| t.to_f64_vec()).transpose()?
        };
        let sizes = nonempty(cx, a.sizes_input)?.map(|t| t.to_i64_vec()).transpose()?;
        let scales = if sizes.is_some() { None } else { scales };
        let roi = if a.coord == CoordMode::TfCropAndResize {
            let t = nonempty(cx, a.roi_input)?.ok_or_else(|| invalid(op, "tf_crop_and_resize needs roi"))?;
            Some(t.to_f64_vec()?)
        } else {
            None
        };
        let shape = cx.shape(0)?.to_vec();
        if shape.len() > 8 {
            return Err(DeviceError::Unsupported {
                kernel: op.into(),
                reason: "Resize of rank above 8".into(),
            });
        }
        let p = resize::plan(a, op, &shape, scales, sizes, roi).map_err(DeviceError::Kernel)?;
        let r = shape.len();
        let mut in_strides = vec![1usize; r];
        for d in (0..r.saturating_sub(1)).rev() {
            in_strides[d] = in_strides[d + 1] * shape[d + 1];
        }
        let ext = a.extrapolation_value;
        let dt = cx.dtype(0)?;
        let (int, lo, hi) = match int_bounds(dt) {
            Some((lo, hi)) => (1u32, lo, hi),
            None => (0, 0.0, 0.0),
        };
        let mut head = vec![0u32, r as u32, ext.to_bits(), int, lo.to_bits(), hi.to_bits()];
        let mut tables: Vec<u32> = Vec::new();
        let table_base = 6 + 5 * r;
        let mut out_shape = shape.clone();
        for d in 0..r {
            let roi = p.roi.as_ref().map_or((0.0, 1.0), |v| (v[d], v[r + d]));
            let identity = !p.axes.contains(&d)
                || ((p.scales[d] - 1.0).abs() <= 1e-9
                    && p.out[d] == shape[d]
                    && roi.0.abs() <= 1e-9
                    && (roi.1 - 1.0).abs() <= 1e-9);
            let offset = (table_base + tables.len()) as u32;
            if identity {
                head.extend([shape[d] as u32, in_strides[d] as u32, 1, offset]);
                for y in 0..shape[d] {
                    tables.extend([y as u32, 1.0f32.to_bits(), 0, 0]);
                }
                continue;
            }
            if shape[d] == 0 && p.out[d] > 0 {
                return Err(invalid(op, format!("cannot resize empty axis {d}")));
            }
            let taps = resize::axis_taps(a, shape[d], p.out[d], p.scales[d], roi);
            let k = taps
                .iter()
                .map(|t| t.as_ref().map_or(1, |t| t.len()))
                .max()
                .unwrap_or(1)
                .max(1);
            head.extend([p.out[d] as u32, in_strides[d] as u32, k as u32, offset]);
            for t in &taps {
                match t {
                    None => {
                        for _ in 0..k {
                            tables.extend([u32::MAX, 0, 0, 0]);
                        }
                    }
                    Some(t) => {
                        for j in 0..k {
                            let (i, w) = t.get(j).copied().unwrap_or((0, 0.0));
                            tables.push(i as u32);
                            tables.extend(split_weight(w));
                        }
                    }
                }
            }
            out_shape[d] = p.out[d];
        }
        let n: usize = out_shape.iter().product();
        if n > u32::MAX as usize || tables.len() > (64 << 20) {
            return Err(DeviceError::Unsupported {
                kernel: op.into(),
                reason: "resize too large for one dispatch".into(),
            });
        }
        head[0] = n as u32;
        // Levels: the resized axes in the CPU's order, then the rest (identity passes are exact).
        let mut levels: Vec<u32> = p.axes.iter().map(|&d| d as u32).collect();
        let rest: Vec<u32> = (0..r as u32).filter(|d| !levels.contains(d)).collect();
        levels.extend(rest);
        head.extend(levels);
        head.extend(tables);
        let out = cx.output(dt, out_shape)?;
        cx.dispatch_1d(0, head, &[Buf::In(0), out], n);
        Ok(())
    }
}

/// Lower an image spec, or say why the wgpu device cannot run it.
pub fn lower(op: &ImageOp, spec: &KernelSpec, t: &Target) -> Result<Box<dyn WgslOp>, String> {
    let ImageOp::Resize(attrs) = op else {
        return Err("no WGSL kernel for this image op yet".into());
    };
    let x = spec
        .inputs
        .first()
        .and_then(|x| x.as_ref())
        .ok_or_else(|| "missing input".to_string())?;
    if !x.dtype.is_numeric() {
        return Err(format!("Resize of {}", x.dtype));
    }
    let r = t.repr(x.dtype)?;
    // Integer outputs round: accumulate in f64 where the adapter has it, so ties match the CPU.
    let acc = if r == Repr::F64 || (!x.dtype.is_float() && t.caps.f64) {
        Repr::F64
    } else {
        Repr::F32
    };
    Ok(Box::new(Resize {
        attrs: attrs.clone(),
        shader: shader("resize", &[("T", r), ("A", acc)], RESIZE_WGSL),
    }))
}

#[cfg(test)]
mod tests {
    use crate::wgpu::tests::{check_tol, rnd};
    use suanli_kernels::ops::image::{CoordMode, InterpMode, KeepAspect, NearestMode, ResizeAttrs};
    use suanli_kernels::ops::ImageOp;
    use suanli_kernels::{DType, Op, Tensor};

    fn attrs(mode: InterpMode, coord: CoordMode) -> ResizeAttrs {
        ResizeAttrs::new(mode, coord)
    }

    fn f32s(v: &[f32]) -> Option<Tensor> {
        Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
    }

    fn i64s(v: &[i64]) -> Option<Tensor> {
        Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
    }

    fn run(a: ResizeAttrs, x: Option<Tensor>, roi: Option<Tensor>, scales: Option<Tensor>, sizes: Option<Tensor>) {
        check_tol(Op::Image(ImageOp::Resize(a)), vec![x, roi, scales, sizes], 1e-4, 1e-4);
    }

    const COORDS: [CoordMode; 6] = [
        CoordMode::HalfPixel,
        CoordMode::HalfPixelSymmetric,
        CoordMode::PytorchHalfPixel,
        CoordMode::AlignCorners,
        CoordMode::Asymmetric,
        CoordMode::TfHalfPixelForNn,
    ];

    #[test]
    fn nearest_every_rounding_and_coordinate_mode() {
        let x = rnd(DType::F32, &[1, 2, 5, 7], 1);
        for coord in COORDS {
            for nearest in [
                NearestMode::RoundPreferFloor,
                NearestMode::RoundPreferCeil,
                NearestMode::Floor,
                NearestMode::Ceil,
                NearestMode::Simple,
            ] {
                let a = ResizeAttrs {
                    nearest,
                    ..attrs(InterpMode::Nearest, coord)
                };
                run(a.clone(), x.clone(), None, f32s(&[1.0, 1.0, 2.0, 1.5]), None);
                run(a, x.clone(), None, None, i64s(&[1, 2, 3, 4]));
            }
        }
    }

    #[test]
    fn linear_and_cubic() {
        let x = rnd(DType::F32, &[2, 3, 6, 5], 2);
        for mode in [InterpMode::Linear, InterpMode::Cubic] {
            for coord in COORDS {
                run(attrs(mode, coord), x.clone(), None, f32s(&[1.0, 1.0, 1.7, 0.6]), None);
                run(attrs(mode, coord), x.clone(), None, None, i64s(&[2, 3, 4, 9]));
            }
            let ex = ResizeAttrs {
                exclude_outside: true,
                cubic_coeff_a: -0.5,
                ..attrs(mode, CoordMode::HalfPixel)
            };
            run(ex, x.clone(), None, f32s(&[1.0, 1.0, 2.0, 2.0]), None);
            let aa = ResizeAttrs {
                antialias: true,
                ..attrs(mode, CoordMode::HalfPixel)
            };
            run(aa, x.clone(), None, f32s(&[1.0, 1.0, 0.4, 0.6]), None);
        }
        // 3-D linear (trilinear) over every axis.
        run(
            attrs(InterpMode::Linear, CoordMode::AlignCorners),
            rnd(DType::F32, &[3, 4, 5], 3),
            None,
            f32s(&[2.0, 0.5, 1.5]),
            None,
        );
    }

    #[test]
    fn crop_axes_aspect_and_dtypes() {
        let x = rnd(DType::F32, &[1, 1, 4, 6], 4);
        let crop = ResizeAttrs {
            extrapolation_value: 10.0,
            ..attrs(InterpMode::Linear, CoordMode::TfCropAndResize)
        };
        let roi = f32s(&[0.0, 0.0, 0.4, 0.6, 1.0, 1.0, 1.2, 1.7]);
        run(crop, x.clone(), roi, None, i64s(&[1, 1, 3, 3]));
        let ax = ResizeAttrs {
            axes: vec![-1, 2],
            keep_aspect: KeepAspect::NotLarger,
            ..attrs(InterpMode::Linear, CoordMode::HalfPixel)
        };
        run(ax.clone(), x.clone(), None, None, i64s(&[7, 8]));
        let ax = ResizeAttrs {
            keep_aspect: KeepAspect::NotSmaller,
            ..ax
        };
        run(ax, x.clone(), None, None, i64s(&[7, 8]));
        for dt in [DType::U8, DType::I32, DType::F16, DType::F64, DType::I64] {
            let x = rnd(dt, &[1, 2, 5, 4], 5);
            run(
                attrs(InterpMode::Linear, CoordMode::HalfPixel),
                x.clone(),
                None,
                f32s(&[1.0, 1.0, 1.5, 2.5]),
                None,
            );
            run(
                attrs(InterpMode::Nearest, CoordMode::Asymmetric),
                x,
                None,
                f32s(&[1.0, 1.0, 2.0, 0.5]),
                None,
            );
        }
        let up = ResizeAttrs {
            upsample: true,
            scales_attr: vec![1.0, 1.0, 2.0, 3.0],
            roi_input: None,
            scales_input: None,
            sizes_input: None,
            nearest: NearestMode::Simple,
            ..attrs(InterpMode::Nearest, CoordMode::Asymmetric)
        };
        check_tol(Op::Image(ImageOp::Resize(up)), vec![x], 1e-5, 1e-5);
        // Past 65535 workgroups.
        let big = rnd(DType::F32, &[1, 1, 2048, 2100], 6);
        run(
            attrs(InterpMode::Nearest, CoordMode::Asymmetric),
            big,
            None,
            f32s(&[1.0, 1.0, 2.0, 2.0]),
            None,
        );
    }
}
