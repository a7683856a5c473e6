//! The closed op vocabulary shared by the runtime (graph nodes) and the backends (kernel specs).
//!
//! `Op` is a closed enum of op families; each family is a closed enum with typed attributes
//! defined in `ops/<family>.rs`, next to its shape inference and its CPU kernel.

use crate::error::Result;
use crate::ops::*;
use crate::shape::TensorType;
use crate::tensor::Tensor;
use std::fmt;

/// What static inference knows about one input of a node.
#[derive(Clone, Copy, Debug)]
pub struct InferInput<'a> {
    /// The input's type, or `None` when the optional input is omitted.
    pub ty: Option<&'a TensorType>,
    /// The input's value when it is a compile-time constant (initializer or folded).
    pub value: Option<&'a Tensor>,
}

/// What every op family implements: a name, static inference and the CPU reference kernel.
pub trait OpImpl: fmt::Debug + Send + Sync {
    /// The op's name (ONNX spelling where one exists), for messages and reports.
    fn name(&self) -> &'static str;
    /// Required. Output types from input types (and constant input values, where the
    /// output shape depends on them). Unknown dims are `Dim::Unknown`, an unknown shape `None`.
    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>>;
    /// Required. The CPU kernel: the reference every device is checked against.
    /// `inputs[i]` is `None` when an optional input is omitted.
    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>>;
    /// Optional. Floating-point operations for the cost model given concrete input shapes;
    /// the default estimates one op per output element.
    fn flops(&self, _inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        outputs.iter().map(|s| s.iter().product::<usize>() as u64).sum()
    }
}

/// Every op suanli knows, grouped by family.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// Unary/binary/variadic elementwise maths, comparisons, logic, casts, activations.
    Elementwise(ElementwiseOp),
    /// Reductions, arg-reductions, scans, top-k, softmax family.
    Reduce(ReduceOp),
    /// Data movement: reshape, transpose, slice, concat, gather/scatter, pad, tile, …
    Layout(LayoutOp),
    /// MatMul, Gemm, Einsum and other linear algebra.
    Linalg(LinalgOp),
    /// Convolutions.
    Conv(ConvOp),
    /// Pooling.
    Pool(PoolOp),
    /// Normalisations.
    Norm(NormOp),
    /// Resize, grid sampling, ROI and detection ops.
    Image(ImageOp),
    /// Recurrent networks.
    Rnn(RnnOp),
    /// Attention and transformer helpers.
    Attention(AttentionOp),
    /// Quantise / dequantise and integer kernels.
    Quant(QuantOp),
    /// Signal processing (DFT, windows).
    Signal(SignalOp),
    /// String ops.
    Text(TextOp),
    /// Ops made by the graph passes (fused elementwise chains).
    Fused(FusedOp),
}

impl Op {
    /// The family implementation behind this op.
    pub fn imp(&self) -> &dyn OpImpl {
        match self {
            Op::Elementwise(o) => o,
            Op::Reduce(o) => o,
            Op::Layout(o) => o,
            Op::Linalg(o) => o,
            Op::Conv(o) => o,
            Op::Pool(o) => o,
            Op::Norm(o) => o,
            Op::Image(o) => o,
            Op::Rnn(o) => o,
            Op::Attention(o) => o,
            Op::Quant(o) => o,
            Op::Signal(o) => o,
            Op::Text(o) => o,
            Op::Fused(o) => o,
        }
    }

    /// The op's name.
    pub fn name(&self) -> &'static str {
        self.imp().name()
    }

    /// Static inference, see [`OpImpl::infer`].
    pub fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        self.imp().infer(inputs)
    }

    /// Run the CPU kernel, see [`OpImpl::run`].
    pub fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        self.imp().run(inputs)
    }
}
