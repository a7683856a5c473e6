//! ImageOp family: resizing, grid sampling, ROI pooling and box suppression.

mod boxes;
mod grid;
pub mod resize;

pub use resize::{CoordMode, InterpMode, KeepAspect, NearestMode, ResizeAttrs};

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::req_ty;

/// Padding policy of GridSample for out-of-range sample points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridPadding {
    /// Out-of-range pixels read as 0.
    Zeros,
    /// Coordinates clamp to the border.
    Border,
    /// Coordinates reflect at the border.
    Reflection,
}

/// The image ops.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageOp {
    /// Resize / Upsample: separable nearest, linear or cubic interpolation.
    Resize(ResizeAttrs),
    /// Sample `X` at normalised grid coordinates (2-D and N-D).
    GridSample {
        /// Interpolation (nearest, linear, cubic).
        mode: InterpMode,
        /// Out-of-range policy.
        padding: GridPadding,
        /// Whether -1/1 map to the centres (true) or the edges (false) of the corner pixels.
        align_corners: bool,
    },
    /// Sampling grid of an affine transform `theta` for an output size.
    AffineGrid {
        /// Whether -1/1 map to the centres of the corner pixels.
        align_corners: bool,
    },
    /// Bilinear ROI pooling.
    RoiAlign {
        /// Max pooling instead of average.
        max_mode: bool,
        /// Output height.
        output_height: usize,
        /// Output width.
        output_width: usize,
        /// Samples per bin along each axis (0 = adaptive).
        sampling_ratio: usize,
        /// Scale from ROI coordinates to input pixels.
        spatial_scale: f32,
        /// `half_pixel` (shift by -0.5) rather than `output_half_pixel`.
        half_pixel: bool,
    },
    /// Greedy non-maximum suppression per batch and class.
    NonMaxSuppression {
        /// Boxes are `[x_center, y_center, width, height]` rather than corners.
        center_point_box: bool,
    },
}

impl OpImpl for ImageOp {
    fn name(&self) -> &'static str {
        match self {
            ImageOp::Resize(a) => {
                if a.upsample {
                    "Upsample"
                } else {
                    "Resize"
                }
            }
            ImageOp::GridSample { .. } => "GridSample",
            ImageOp::AffineGrid { .. } => "AffineGrid",
            ImageOp::RoiAlign { .. } => "RoiAlign",
            ImageOp::NonMaxSuppression { .. } => "NonMaxSuppression",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let name = self.name();
        let x = req_ty(name, inputs, 0)?;
        match self {
            ImageOp::Resize(a) => Ok(vec![resize::infer(a, inputs)?]),
            ImageOp::GridSample { .. } => {
                let g = req_ty(name, inputs, 1)?;
                let shape = match (&x.shape, &g.shape) {
                    (Some(xs), Some(gs)) if xs.len() >= 3 && gs.len() == xs.len() => {
                        let mut s = vec![xs[0].clone(), xs[1].clone()];
                        s.extend_from_slice(&gs[1..gs.len() - 1]);
                        Some(s)
                    }
                    (Some(xs), _) => Some(vec![Dim::Unknown; xs.len()]),
                    _ => None,
                };
                Ok(vec![TensorType { dtype: x.dtype, shape }])
            }
            ImageOp::AffineGrid { .. } => {
                let shape = match inputs.get(1).and_then(|i| i.value) {
                    Some(size) => Some(
                        grid::affine_grid_shape(&size.to_i64_vec()?)?
                            .iter()
                            .map(|&d| Dim::Known(d))
                            .collect(),
                    ),
                    None => None,
                };
                Ok(vec![TensorType { dtype: x.dtype, shape }])
            }
            ImageOp::RoiAlign {
                output_height,
                output_width,
                ..
            } => {
                let r = req_ty(name, inputs, 1)?;
                let nr = r
                    .shape
                    .as_ref()
                    .and_then(|s| s.first().cloned())
                    .unwrap_or(Dim::Unknown);
                let c = x.shape.as_ref().and_then(|s| s.get(1).cloned()).unwrap_or(Dim::Unknown);
                Ok(vec![TensorType {
                    dtype: x.dtype,
                    shape: Some(vec![nr, c, Dim::Known(*output_height), Dim::Known(*output_width)]),
                }])
            }
            ImageOp::NonMaxSuppression { .. } => Ok(vec![TensorType {
                dtype: DType::I64,
                shape: Some(vec![Dim::Unknown, Dim::Known(3)]),
            }]),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        let out = match self {
            ImageOp::Resize(a) => resize::resize(a, inputs)?,
            ImageOp::GridSample {
                mode,
                padding,
                align_corners,
            } => grid::grid_sample(inputs, *mode, *padding, *align_corners)?,
            ImageOp::AffineGrid { align_corners } => grid::affine_grid(inputs, *align_corners)?,
            ImageOp::RoiAlign { .. } => boxes::roi_align(self, inputs)?,
            ImageOp::NonMaxSuppression { center_point_box } => boxes::nms(inputs, *center_point_box)?,
        };
        Ok(vec![out])
    }
}

/// Build an output tensor of dtype `dt` from f64 values (integers round half to even and saturate).
fn from_f64(op: &str, shape: Vec<usize>, v: Vec<f64>, dt: DType) -> Result<Tensor> {
    if !dt.is_numeric() {
        return Err(KernelError::invalid(op, format!("unsupported dtype {dt}")));
    }
    let v = if dt.is_int() {
        v.into_iter().map(f64::round_ties_even).collect()
    } else {
        v
    };
    Tensor::from_vec(shape, v)?.cast(dt)
}

/// Element count of an output shape, failing on overflow or absurd sizes (> 2^40 elements).
fn checked_len(op: &str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= 1 << 40)
        .ok_or_else(|| KernelError::invalid(op, format!("output shape {shape:?} is too large")))
}

#[cfg(test)]
mod tests;
