//! Conformance cases for the image family.
use suanli_backends::conformance::{random, Case};
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

/// Every image case.
pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let x = Some(random(DType::F32, &[1, 2, 4, 5], 1));
    let coords = [
        ("half_pixel", CoordMode::HalfPixel),
        ("half_pixel_symmetric", CoordMode::HalfPixelSymmetric),
        ("pytorch_half_pixel", CoordMode::PytorchHalfPixel),
        ("align_corners", CoordMode::AlignCorners),
        ("asymmetric", CoordMode::Asymmetric),
        ("tf_half_pixel_for_nn", CoordMode::TfHalfPixelForNn),
    ];
    let modes = [
        ("nearest", InterpMode::Nearest),
        ("linear", InterpMode::Linear),
        ("cubic", InterpMode::Cubic),
    ];
    let mut add = |name: String, a: ResizeAttrs, ins: Vec<Option<Tensor>>| {
        v.push(Case::new(format!("image/resize/{name}"), Op::Image(ImageOp::Resize(a)), ins).tol(1e-4, 1e-4));
    };
    for (mn, mode) in modes {
        for (cn, coord) in coords {
            add(
                format!("{mn}/{cn}/up_scales"),
                attrs(mode, coord),
                vec![x.clone(), None, f32s(&[1.0, 1.0, 2.0, 1.5]), None],
            );
            add(
                format!("{mn}/{cn}/down_scales"),
                attrs(mode, coord),
                vec![x.clone(), None, f32s(&[1.0, 1.0, 0.6, 0.5]), None],
            );
            add(
                format!("{mn}/{cn}/sizes"),
                attrs(mode, coord),
                vec![x.clone(), None, None, i64s(&[1, 2, 7, 3])],
            );
        }
    }
    for (nn, nearest) in [
        ("round_prefer_floor", NearestMode::RoundPreferFloor),
        ("round_prefer_ceil", NearestMode::RoundPreferCeil),
        ("floor", NearestMode::Floor),
        ("ceil", NearestMode::Ceil),
    ] {
        let a = ResizeAttrs {
            nearest,
            ..attrs(InterpMode::Nearest, CoordMode::HalfPixel)
        };
        add(
            format!("nearest/mode_{nn}"),
            a,
            vec![x.clone(), None, None, i64s(&[1, 2, 8, 8])],
        );
    }
    let ex = ResizeAttrs {
        exclude_outside: true,
        cubic_coeff_a: -0.5,
        ..attrs(InterpMode::Cubic, CoordMode::HalfPixel)
    };
    add(
        "cubic/exclude_outside".into(),
        ex,
        vec![x.clone(), None, f32s(&[1.0, 1.0, 0.8, 0.8]), None],
    );
    for (mn, mode) in [("linear", InterpMode::Linear), ("cubic", InterpMode::Cubic)] {
        let aa = ResizeAttrs {
            antialias: true,
            ..attrs(mode, CoordMode::HalfPixel)
        };
        add(
            format!("{mn}/antialias"),
            aa,
            vec![x.clone(), None, None, i64s(&[1, 2, 3, 2])],
        );
    }
    let crop = ResizeAttrs {
        extrapolation_value: 10.0,
        ..attrs(InterpMode::Linear, CoordMode::TfCropAndResize)
    };
    let roi = f32s(&[0.0, 0.0, 0.4, 0.6, 1.0, 1.0, 1.2, 1.7]);
    add(
        "linear/tf_crop_and_resize".into(),
        crop,
        vec![x.clone(), roi, None, i64s(&[1, 2, 3, 3])],
    );
    for (kn, keep) in [
        ("not_larger", KeepAspect::NotLarger),
        ("not_smaller", KeepAspect::NotSmaller),
    ] {
        let a = ResizeAttrs {
            axes: vec![2, 3],
            keep_aspect: keep,
            ..attrs(InterpMode::Nearest, CoordMode::HalfPixel)
        };
        add(
            format!("nearest/keep_aspect_{kn}"),
            a,
            vec![x.clone(), None, None, i64s(&[7, 8])],
        );
    }
    for dt in [DType::U8, DType::I32, DType::F16] {
        let xd = Some(random(dt, &[1, 1, 4, 4], 2));
        let a = attrs(InterpMode::Linear, CoordMode::HalfPixel);
        add(
            format!("linear/{dt}"),
            a,
            vec![xd, None, f32s(&[1.0, 1.0, 1.5, 1.5]), None],
        );
    }
    v
}
