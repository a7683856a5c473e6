//! CUDA kernels for the image family: Resize/Upsample as separable passes, one per resized
//! axis in the CPU's order (`shaders/resize_axis.cu`). Each pass computes its taps on the device
//! with the CPU kernel's coordinate rules, so nearest/linear/cubic, antialias, exclude_outside
//! and tf_crop_and_resize all match it; intermediate passes are f64, like the CPU's.

use super::{source, CudaOp, CudaSource};
use crate::cuda::launch::{Arg, Buf, Copy, LaunchCx};
use crate::device::{DeviceError, Result};
use suanli_kernels::ops::image::resize;
use suanli_kernels::ops::image::{CoordMode, InterpMode, NearestMode, ResizeAttrs};
use suanli_kernels::ops::ImageOp;
use suanli_kernels::{DType, KernelError, KernelSpec, Tensor};

const RESIZE_CU: &str = include_str!("../../../../shaders/resize_axis.cu");

/// Words of `SuanliResizeParams`.
const RESIZE_WORDS: usize = 17;

/// A lowered Resize: sources for the passes (input type → output type): 0 T → T (the only
/// pass), 1 T → f64 (the first of several), 2 f64 → f64, 3 f64 → T (the last).
struct Resize {
    attrs: ResizeAttrs,
    dt: DType,
}

fn invalid(op: &str, msg: impl Into<String>) -> DeviceError {
    DeviceError::Kernel(KernelError::invalid(op, msg))
}

/// Round-and-clamp bounds of an integer output dtype.
fn int_bounds(dt: DType) -> Option<(f64, f64)> {
    Some(match dt {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        DType::I32 => (-2147483648.0, 2147483647.0),
        DType::U32 => (0.0, 4294967295.0),
        DType::I64 => (i64::MIN as f64, i64::MAX as f64),
        DType::U64 => (0.0, u64::MAX as f64),
        _ => return None,
    })
}

fn codes(a: &ResizeAttrs) -> [i64; 3] {
    let mode = match a.mode {
        InterpMode::Nearest => 0,
        InterpMode::Linear => 1,
        InterpMode::Cubic => 2,
    };
    let coord = match a.coord {
        CoordMode::HalfPixel => 0,
        CoordMode::HalfPixelSymmetric => 1,
        CoordMode::PytorchHalfPixel => 2,
        CoordMode::AlignCorners => 3,
        CoordMode::Asymmetric => 4,
        CoordMode::TfHalfPixelForNn => 5,
        CoordMode::TfCropAndResize => 6,
    };
    let nearest = match a.nearest {
        NearestMode::RoundPreferFloor => 0,
        NearestMode::RoundPreferCeil => 1,
        NearestMode::Floor => 2,
        NearestMode::Ceil => 3,
        NearestMode::Simple => 4,
    };
    [mode, coord, nearest]
}

impl CudaOp for Resize {
    fn sources(&self) -> Vec<CudaSource> {
        let dt = self.dt;
        let f = DType::F64;
        [(dt, dt), (dt, f), (f, f), (f, dt)]
            .iter()
            .filter_map(|&(x, y)| {
                source(
                    &format!("resize_{x}_{y}"),
                    "suanli_resize_axis",
                    &[("X", x), ("Y", y)],
                    RESIZE_CU,
                )
                .ok()
            })
            .collect()
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
        let p = resize::plan(a, op, &shape, scales, sizes, roi).map_err(DeviceError::Kernel)?;
        let r = shape.len();
        // The passes: the resized axes in the CPU's order, skipping the identities it skips.
        let mut passes = Vec::new();
        for &ax in &p.axes {
            let roi = p.roi.as_ref().map_or((0.0, 1.0), |v| (v[ax], v[r + ax]));
            let identity = (p.scales[ax] - 1.0).abs() <= 1e-9
                && p.out[ax] == shape[ax]
                && roi.0.abs() <= 1e-9
                && (roi.1 - 1.0).abs() <= 1e-9;
            if identity {
                continue;
            }
            if shape[ax] == 0 && p.out[ax] > 0 {
                return Err(invalid(op, format!("cannot resize empty axis {ax}")));
            }
            passes.push((ax, roi));
        }
        let dt = self.dt;
        let out = cx.output(dt, p.out.clone());
        if passes.is_empty() {
            let bytes = shape.iter().product::<usize>() * dt.size();
            cx.copy(Copy {
                src: Buf::In(0),
                src_offset: 0,
                dst: out,
                dst_offset: 0,
                bytes,
            });
            return Ok(());
        }
        let [mode, coord, nearest] = codes(a);
        let bounds = int_bounds(dt);
        let mut cur = shape.clone();
        let mut src = Buf::In(0);
        for (i, &(ax, roi)) in passes.iter().enumerate() {
            let (first, last) = (i == 0, i + 1 == passes.len());
            let mut next = cur.clone();
            next[ax] = p.out[ax];
            let n: usize = next.iter().product();
            let dst = if last { out } else { cx.scratch(DType::F64, n) };
            let (lo, hi) = bounds.filter(|_| last).unwrap_or((0.0, 0.0));
            let w = vec![
                n as i64,
                cur[ax] as i64,
                p.out[ax] as i64,
                cur[ax + 1..].iter().product::<usize>() as i64,
                mode,
                coord,
                nearest,
                a.exclude_outside as i64,
                a.antialias as i64,
                (last && bounds.is_some()) as i64,
                p.scales[ax].to_bits() as i64,
                roi.0.to_bits() as i64,
                roi.1.to_bits() as i64,
                (a.cubic_coeff_a as f64).to_bits() as i64,
                (a.extrapolation_value as f64).to_bits() as i64,
                lo.to_bits() as i64,
                hi.to_bits() as i64,
            ];
            debug_assert_eq!(w.len(), RESIZE_WORDS);
            let source = match (first, last) {
                (true, true) => 0,
                (true, false) => 1,
                (false, false) => 2,
                (false, true) => 3,
            };
            cx.kernel_1d(source, vec![Arg::Words(w), Arg::Ptr(src), Arg::Ptr(dst)], n);
            src = dst;
            cur = next;
        }
        Ok(())
    }
}

/// Lower an image spec, or say why the CUDA device cannot run it.
pub fn lower(op: &ImageOp, spec: &KernelSpec) -> Result<Box<dyn CudaOp>, String> {
    let ImageOp::Resize(attrs) = op else {
        return Err("no CUDA kernel for this image op yet".into());
    };
    let x = spec
        .inputs
        .first()
        .and_then(|x| x.as_ref())
        .ok_or_else(|| "missing input".to_string())?;
    if !x.dtype.is_numeric() {
        return Err(format!("Resize of {}", x.dtype));
    }
    Ok(Box::new(Resize {
        attrs: attrs.clone(),
        dt: x.dtype,
    }))
}

#[cfg(test)]
mod tests {
    use crate::cuda::launch::Step;
    use crate::cuda::ops::testkit::{check, ints, refused, rnd};
    use suanli_kernels::ops::image::{CoordMode, InterpMode, KeepAspect, NearestMode, ResizeAttrs};
    use suanli_kernels::ops::ImageOp;
    use suanli_kernels::{DType, Op, Tensor};

    fn f32s(v: &[f32]) -> Option<Tensor> {
        Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
    }

    fn run(
        a: ResizeAttrs,
        x: Option<Tensor>,
        roi: Option<Tensor>,
        scales: Option<Tensor>,
        sizes: Option<Tensor>,
    ) -> super::super::testkit::Recorded {
        check(&Op::Image(ImageOp::Resize(a)), vec![x, roi, scales, sizes])
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
    fn modes_and_coordinates() {
        let x = rnd(DType::F32, &[1, 2, 5, 7], 1);
        for coord in COORDS {
            for mode in [InterpMode::Nearest, InterpMode::Linear, InterpMode::Cubic] {
                let a = ResizeAttrs {
                    nearest: NearestMode::Floor,
                    ..ResizeAttrs::new(mode, coord)
                };
                let rec = run(a.clone(), x.clone(), None, f32s(&[1.0, 1.0, 2.0, 1.5]), None);
                assert_eq!(rec.entries().len(), 2, "one pass per resized axis");
                run(a, x.clone(), None, None, ints(&[1, 2, 3, 4]));
            }
        }
        let aa = ResizeAttrs {
            antialias: true,
            exclude_outside: true,
            ..ResizeAttrs::new(InterpMode::Cubic, CoordMode::HalfPixel)
        };
        run(aa, x.clone(), None, f32s(&[1.0, 1.0, 0.4, 0.6]), None);
        // Nothing to resize: a byte copy.
        let rec = run(
            ResizeAttrs::new(InterpMode::Linear, CoordMode::HalfPixel),
            x.clone(),
            None,
            f32s(&[1.0; 4]),
            None,
        );
        assert!(matches!(rec.steps.as_slice(), [Step::Copy(_)]));
    }

    #[test]
    fn crop_axes_dtypes_and_upsample() {
        let x = rnd(DType::F32, &[1, 1, 4, 6], 4);
        let crop = ResizeAttrs {
            extrapolation_value: 10.0,
            ..ResizeAttrs::new(InterpMode::Linear, CoordMode::TfCropAndResize)
        };
        let roi = f32s(&[0.0, 0.0, 0.4, 0.6, 1.0, 1.0, 1.2, 1.7]);
        run(crop, x.clone(), roi, None, ints(&[1, 1, 3, 3]));
        let ax = ResizeAttrs {
            axes: vec![-1, 2],
            keep_aspect: KeepAspect::NotLarger,
            ..ResizeAttrs::new(InterpMode::Linear, CoordMode::HalfPixel)
        };
        run(ax, x.clone(), None, None, ints(&[7, 8]));
        for dt in [
            DType::U8,
            DType::I8,
            DType::I32,
            DType::I64,
            DType::U64,
            DType::F16,
            DType::BF16,
            DType::F64,
        ] {
            let x = rnd(dt, &[1, 2, 5, 4], 5);
            let rec = run(
                ResizeAttrs::new(InterpMode::Linear, CoordMode::HalfPixel),
                x.clone(),
                None,
                f32s(&[1.0, 2.0, 1.5, 2.5]),
                None,
            );
            assert_eq!(rec.entries().len(), 3);
            assert_eq!(rec.scratch.len(), 2, "f64 between passes");
        }
        let up = ResizeAttrs {
            upsample: true,
            scales_attr: vec![1.0, 1.0, 2.0, 3.0],
            roi_input: None,
            scales_input: None,
            sizes_input: None,
            nearest: NearestMode::Simple,
            ..ResizeAttrs::new(InterpMode::Nearest, CoordMode::Asymmetric)
        };
        check(&Op::Image(ImageOp::Resize(up)), vec![x.clone()]);
        let rec = run(
            ResizeAttrs::new(InterpMode::Nearest, CoordMode::Asymmetric),
            rnd(DType::F32, &[0, 1, 4, 4], 1),
            None,
            f32s(&[1.0, 1.0, 2.0, 2.0]),
            None,
        );
        assert!(rec.steps.is_empty());
    }

    #[test]
    fn refusals() {
        let a = ResizeAttrs::new(InterpMode::Linear, CoordMode::HalfPixel);
        refused(
            &Op::Image(ImageOp::Resize(a)),
            &[
                rnd(DType::Bool, &[1, 1, 2, 2], 1),
                None,
                f32s(&[1.0, 1.0, 2.0, 2.0]),
                None,
            ],
        );
        let g = ImageOp::GridSample {
            mode: InterpMode::Linear,
            padding: suanli_kernels::ops::image::GridPadding::Zeros,
            align_corners: false,
        };
        refused(
            &Op::Image(g),
            &[rnd(DType::F32, &[1, 1, 2, 2], 1), rnd(DType::F32, &[1, 2, 2, 2], 1)],
        );
    }
}
