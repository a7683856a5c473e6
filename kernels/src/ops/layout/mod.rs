//! LayoutOp family: data movement — reshapes, transposes, slicing, concatenation, padding,
//! tiling, gather/scatter, index generation. Every kernel is generic over the element type and
//! works for all dtypes, bool and strings included (except where an op does arithmetic).

mod common;
mod gather;
mod generate;
mod pad;
mod permute;
mod reshape;
mod scatter;
mod select;
mod slice;
pub(crate) mod tile;
pub use slice::slice_axis;

use crate::dtype::DType;
use crate::error::Result;
use crate::op::{InferInput, OpImpl};
use crate::shape::TensorType;
use crate::tensor::Tensor;

/// How `Pad` fills the border.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value.
    Constant,
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge value.
    Edge,
    /// Wrap around (periodic).
    Wrap,
}

/// How scatter ops combine an update with the existing value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScatterReduction {
    /// Overwrite.
    None,
    /// Add.
    Add,
    /// Multiply.
    Mul,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

/// `Slice` parameters given as attributes (opset 1).
#[derive(Clone, Debug, PartialEq)]
pub struct SliceAttrs {
    /// Start indices.
    pub starts: Vec<i64>,
    /// End indices (exclusive).
    pub ends: Vec<i64>,
    /// Axes the starts/ends apply to; `None` means `0..starts.len()`.
    pub axes: Option<Vec<i64>>,
}

/// The layout ops.
#[derive(Clone, Debug, PartialEq)]
pub enum LayoutOp {
    /// Reshape to the shape in input 1 (`0` copies the input dim unless `allowzero`, `-1` infers).
    Reshape { allowzero: bool },
    /// Flatten to 2-D at `axis`.
    Flatten { axis: i64 },
    /// Remove unit dims: `axes` from the attribute (opset < 13), else input 1, else all unit dims.
    Squeeze { axes: Option<Vec<i64>> },
    /// Insert unit dims: `axes` from the attribute (opset < 13), else input 1.
    Unsqueeze { axes: Option<Vec<i64>> },
    /// Permute dims (`None` reverses them).
    Transpose { perm: Option<Vec<i64>> },
    /// Copy the input.
    Identity,
    /// Inference-mode dropout: output = input, optional all-true mask (bool, or of the input's
    /// dtype when `!mask_bool`, opset < 10). `ratio`/`training` are the attribute values of old
    /// opsets; from opset 12 inputs 1 and 2 override them.
    Dropout {
        ratio: f32,
        training: bool,
        mask_bool: bool,
    },
    /// The input's shape as i64, sliced to `start..end`.
    Shape { start: i64, end: Option<i64> },
    /// The input's element count as an i64 scalar.
    Size,
    /// A tensor of the shape in input 0 filled with `value` (one element).
    ConstantOfShape { value: Tensor },
    /// `start, start+delta, …` below `limit`.
    Range,
    /// One-hot encoding of indices along `axis`.
    OneHot { axis: i64 },
    /// Upper or lower triangle of the last two dims, diagonal offset from input 1.
    Trilu { upper: bool },
    /// A 2-D identity-like matrix of the input's shape, diagonal `k`.
    EyeLike { dtype: Option<DType>, k: i64 },
    /// Indices of the non-zero elements, shape `[rank, count]`.
    NonZero,
    /// Select slices along `axis` (or of the flattened input) where the condition holds.
    Compress { axis: Option<i64> },
    /// Unique elements (or slices along `axis`) with indices, inverse indices and counts.
    Unique { axis: Option<i64>, sorted: bool },
    /// Move depth blocks into spatial blocks (`crd` selects the CRD ordering, else DCR).
    DepthToSpace { blocksize: usize, crd: bool },
    /// Move spatial blocks into depth.
    SpaceToDepth { blocksize: usize },
    /// Reverse the first `len[b]` time steps of each batch entry.
    ReverseSequence { batch_axis: i64, time_axis: i64 },
    /// Repeat the input `repeats[d]` times along each dim.
    Tile,
    /// Broadcast the input to the shape in input 1 (bidirectionally).
    Expand,
    /// Pad (or crop with negative pads). `pads`/`value` are the opset < 11 attributes;
    /// from opset 11 pads, constant value and axes are inputs 1, 2, 3.
    Pad {
        mode: PadMode,
        pads: Option<Vec<i64>>,
        value: f32,
    },
    /// Strided slice; parameters from attributes (opset 1) or inputs 1..=4.
    Slice { attrs: Option<SliceAttrs> },
    /// Split along `axis` into `num_outputs` parts: sizes from the attribute (`split`), input 1,
    /// or equal chunks (`uneven` allows a smaller last chunk, opset 18 `num_outputs`).
    Split {
        axis: i64,
        split: Option<Vec<i64>>,
        num_outputs: usize,
        uneven: bool,
    },
    /// Concatenate along `axis`.
    Concat { axis: i64 },
    /// Gather slices along `axis`.
    Gather { axis: i64 },
    /// Gather single elements along `axis`.
    GatherElements { axis: i64 },
    /// Gather slices addressed by index tuples, after `batch_dims` leading batch dims.
    GatherND { batch_dims: usize },
    /// Scatter single elements along `axis` (also ONNX `Scatter`).
    ScatterElements { axis: i64, reduction: ScatterReduction },
    /// Scatter slices addressed by index tuples.
    ScatterND { reduction: ScatterReduction },
    /// KV-cache update: write `update` into `past` along `axis` at per-batch write indices.
    TensorScatter { axis: i64, circular: bool },
    /// Center crop or zero-pad to the shape in input 1 along `axes`.
    CenterCropPad { axes: Option<Vec<i64>> },
}

impl OpImpl for LayoutOp {
    fn name(&self) -> &'static str {
        use LayoutOp::*;
        match self {
            Reshape { .. } => "Reshape",
            Flatten { .. } => "Flatten",
            Squeeze { .. } => "Squeeze",
            Unsqueeze { .. } => "Unsqueeze",
            Transpose { .. } => "Transpose",
            Identity => "Identity",
            Dropout { .. } => "Dropout",
            Shape { .. } => "Shape",
            Size => "Size",
            ConstantOfShape { .. } => "ConstantOfShape",
            Range => "Range",
            OneHot { .. } => "OneHot",
            Trilu { .. } => "Trilu",
            EyeLike { .. } => "EyeLike",
            NonZero => "NonZero",
            Compress { .. } => "Compress",
            Unique { .. } => "Unique",
            DepthToSpace { .. } => "DepthToSpace",
            SpaceToDepth { .. } => "SpaceToDepth",
            ReverseSequence { .. } => "ReverseSequence",
            Tile => "Tile",
            Expand => "Expand",
            Pad { .. } => "Pad",
            Slice { .. } => "Slice",
            Split { .. } => "Split",
            Concat { .. } => "Concat",
            Gather { .. } => "Gather",
            GatherElements { .. } => "GatherElements",
            GatherND { .. } => "GatherND",
            ScatterElements { .. } => "ScatterElements",
            ScatterND { .. } => "ScatterND",
            TensorScatter { .. } => "TensorScatter",
            CenterCropPad { .. } => "CenterCropPad",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        use LayoutOp::*;
        match self {
            Reshape { allowzero } => reshape::infer_reshape(*allowzero, inputs),
            Flatten { axis } => reshape::infer_flatten(*axis, inputs),
            Squeeze { axes } => reshape::infer_squeeze(axes.as_deref(), inputs),
            Unsqueeze { axes } => reshape::infer_unsqueeze(axes.as_deref(), inputs),
            Identity => reshape::infer_identity(inputs),
            Dropout { mask_bool, .. } => reshape::infer_dropout(*mask_bool, inputs),
            Shape { start, end } => reshape::infer_shape(*start, *end, inputs),
            Size => reshape::infer_size(inputs),
            Transpose { perm } => permute::infer_transpose(perm.as_deref(), inputs),
            DepthToSpace { blocksize, .. } => permute::infer_depth_to_space(*blocksize, inputs),
            SpaceToDepth { blocksize } => permute::infer_space_to_depth(*blocksize, inputs),
            ConstantOfShape { value } => generate::infer_constant_of_shape(value, inputs),
            Range => generate::infer_range(inputs),
            OneHot { axis } => generate::infer_one_hot(*axis, inputs),
            Trilu { .. } => reshape::infer_identity(inputs),
            EyeLike { dtype, .. } => generate::infer_eye_like(*dtype, inputs),
            NonZero => select::infer_non_zero(inputs),
            Compress { axis } => select::infer_compress(*axis, inputs),
            Unique { axis, .. } => select::infer_unique(*axis, inputs),
            ReverseSequence { .. } => reshape::infer_identity(inputs),
            Tile => pad::infer_tile(inputs),
            Expand => pad::infer_expand(inputs),
            Pad { pads, .. } => pad::infer_pad(pads.as_deref(), inputs),
            CenterCropPad { axes } => pad::infer_center_crop_pad(axes.as_deref(), inputs),
            Slice { attrs } => slice::infer_slice(attrs.as_ref(), inputs),
            Split {
                axis,
                split,
                num_outputs,
                uneven,
            } => slice::infer_split(*axis, split.as_deref(), *num_outputs, *uneven, inputs),
            Concat { axis } => slice::infer_concat(*axis, inputs),
            Gather { axis } => gather::infer_gather(*axis, inputs),
            GatherElements { .. } => gather::infer_gather_elements(inputs),
            GatherND { batch_dims } => gather::infer_gather_nd(*batch_dims, inputs),
            ScatterElements { .. } | ScatterND { .. } | TensorScatter { .. } => reshape::infer_identity(inputs),
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        use LayoutOp::*;
        let one = |t: Result<Tensor>| t.map(crate::buffers::one);
        match self {
            Reshape { allowzero } => one(reshape::run_reshape(*allowzero, inputs)),
            Flatten { axis } => one(reshape::run_flatten(*axis, inputs)),
            Squeeze { axes } => one(reshape::run_squeeze(axes.as_deref(), inputs)),
            Unsqueeze { axes } => one(reshape::run_unsqueeze(axes.as_deref(), inputs)),
            Identity => one(reshape::run_identity(inputs)),
            Dropout {
                ratio,
                training,
                mask_bool,
            } => reshape::run_dropout(*ratio, *training, *mask_bool, inputs),
            Shape { start, end } => one(reshape::run_shape(*start, *end, inputs)),
            Size => one(reshape::run_size(inputs)),
            Transpose { perm } => one(permute::run_transpose(perm.as_deref(), inputs)),
            DepthToSpace { blocksize, crd } => one(permute::run_depth_to_space(*blocksize, *crd, inputs)),
            SpaceToDepth { blocksize } => one(permute::run_space_to_depth(*blocksize, inputs)),
            ConstantOfShape { value } => one(generate::run_constant_of_shape(value, inputs)),
            Range => one(generate::run_range(inputs)),
            OneHot { axis } => one(generate::run_one_hot(*axis, inputs)),
            Trilu { upper } => one(generate::run_trilu(*upper, inputs)),
            EyeLike { dtype, k } => one(generate::run_eye_like(*dtype, *k, inputs)),
            NonZero => one(select::run_non_zero(inputs)),
            Compress { axis } => one(select::run_compress(*axis, inputs)),
            Unique { axis, sorted } => select::run_unique(*axis, *sorted, inputs),
            ReverseSequence { batch_axis, time_axis } => {
                one(pad::run_reverse_sequence(*batch_axis, *time_axis, inputs))
            }
            Tile => one(pad::run_tile(inputs)),
            Expand => one(pad::run_expand(inputs)),
            Pad { mode, pads, value } => one(pad::run_pad(*mode, pads.as_deref(), *value, inputs)),
            CenterCropPad { axes } => one(pad::run_center_crop_pad(axes.as_deref(), inputs)),
            Slice { attrs } => one(slice::run_slice(attrs.as_ref(), inputs)),
            Split {
                axis,
                split,
                num_outputs,
                uneven,
            } => slice::run_split(*axis, split.as_deref(), *num_outputs, *uneven, inputs),
            Concat { axis } => one(slice::run_concat(*axis, inputs)),
            Gather { axis } => one(gather::run_gather(*axis, inputs)),
            GatherElements { axis } => one(gather::run_gather_elements(*axis, inputs)),
            GatherND { batch_dims } => one(gather::run_gather_nd(*batch_dims, inputs)),
            ScatterElements { axis, reduction } => one(scatter::run_scatter_elements(*axis, *reduction, inputs)),
            ScatterND { reduction } => one(scatter::run_scatter_nd(*reduction, inputs)),
            TensorScatter { axis, circular } => one(scatter::run_tensor_scatter(*axis, *circular, inputs)),
        }
    }

    fn flops(&self, _inputs: &[Option<&[usize]>], _outputs: &[&[usize]]) -> u64 {
        // Data movement does no arithmetic worth modelling.
        0
    }
}
