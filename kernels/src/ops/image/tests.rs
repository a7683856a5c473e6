use super::*;

fn t32(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

fn resize_attrs(mode: InterpMode, coord: CoordMode) -> ResizeAttrs {
    ResizeAttrs::new(mode, coord)
}

#[test]
fn resize_nearest_upsample_2x() {
    let op = ImageOp::Resize(resize_attrs(InterpMode::Nearest, CoordMode::Asymmetric));
    let x = t32(&[1, 2], &[1.0, 2.0]);
    let s = t32(&[2], &[1.0, 2.0]);
    let y = op.run(&[Some(&x), None, Some(&s)]).unwrap();
    assert_eq!(y[0].shape(), &[1, 4]);
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1.0, 1.0, 2.0, 2.0]);
}

#[test]
fn resize_linear_half_pixel() {
    // numpy/onnx reference: [1, 1.25, 1.75, 2]
    let op = ImageOp::Resize(resize_attrs(InterpMode::Linear, CoordMode::HalfPixel));
    let x = t32(&[1, 2], &[1.0, 2.0]);
    let sizes = Tensor::from_vec(vec![2], vec![1i64, 4]).unwrap();
    let y = op.run(&[Some(&x), None, None, Some(&sizes)]).unwrap();
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1.0, 1.25, 1.75, 2.0]);
}

#[test]
fn grid_sample_identity_corners() {
    let op = ImageOp::GridSample {
        mode: InterpMode::Linear,
        padding: GridPadding::Zeros,
        align_corners: true,
    };
    let x = t32(&[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
    // (x, y) = (-1,-1) → top-left, (1, 1) → bottom-right, (0, 0) → mean.
    let g = t32(&[1, 1, 3, 2], &[-1.0, -1.0, 1.0, 1.0, 0.0, 0.0]);
    let y = op.run(&[Some(&x), Some(&g)]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 1, 3]);
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1.0, 4.0, 2.5]);
}

#[test]
fn affine_grid_identity() {
    let op = ImageOp::AffineGrid { align_corners: true };
    let theta = t32(&[1, 2, 3], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let size = Tensor::from_vec(vec![4], vec![1i64, 1, 2, 2]).unwrap();
    let y = op.run(&[Some(&theta), Some(&size)]).unwrap();
    assert_eq!(y[0].shape(), &[1, 2, 2, 2]);
    assert_eq!(
        y[0].as_slice::<f32>().unwrap(),
        &[-1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    );
}

#[test]
fn nms_suppresses_overlap() {
    let op = ImageOp::NonMaxSuppression {
        center_point_box: false,
    };
    let boxes = t32(
        &[1, 3, 4],
        &[0.0, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, 10.0, 1.0, 11.0],
    );
    let scores = t32(&[1, 1, 3], &[0.9, 0.8, 0.7]);
    let max = Tensor::from_vec(vec![1], vec![3i64]).unwrap();
    let iou = t32(&[1], &[0.5]);
    let y = op.run(&[Some(&boxes), Some(&scores), Some(&max), Some(&iou)]).unwrap();
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[0, 0, 0, 0, 0, 2]);
}

#[test]
fn roi_align_constant_plane() {
    let op = ImageOp::RoiAlign {
        max_mode: false,
        output_height: 2,
        output_width: 2,
        sampling_ratio: 2,
        spatial_scale: 1.0,
        half_pixel: true,
    };
    let x = t32(&[1, 1, 4, 4], &[3.0; 16]);
    let rois = t32(&[1, 4], &[0.0, 0.0, 3.0, 3.0]);
    let bi = Tensor::from_vec(vec![1], vec![0i64]).unwrap();
    let y = op.run(&[Some(&x), Some(&rois), Some(&bi)]).unwrap();
    assert!(y[0].as_slice::<f32>().unwrap().iter().all(|&v| (v - 3.0).abs() < 1e-6));
}

#[test]
fn bad_inputs_are_errors() {
    let op = ImageOp::Resize(resize_attrs(InterpMode::Linear, CoordMode::HalfPixel));
    let x = t32(&[1, 2], &[1.0, 2.0]);
    let s = t32(&[3], &[1.0, 2.0, 2.0]);
    assert!(op.run(&[Some(&x), None, Some(&s)]).is_err());
    assert!(op.run(&[Some(&x)]).is_err());
    let gs = ImageOp::GridSample {
        mode: InterpMode::Linear,
        padding: GridPadding::Zeros,
        align_corners: false,
    };
    assert!(gs.run(&[Some(&x), Some(&x)]).is_err());
}
