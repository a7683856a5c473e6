//! What a lowered CUDA kernel records at launch: outputs to allocate and the steps to enqueue.
//!
//! Recording needs no GPU: a [`LaunchCx`] is built from input dtypes and shapes, and the device
//! turns the recorded [`Step`]s into driver calls afterwards. Tests use this to check every
//! launch against its kernel's signature on machines without CUDA.

use crate::device::{DeviceError, Result};
use suanli_kernels::{DType, InferInput, KernelError, Op, Tensor, TensorType};

/// A buffer argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buf {
    /// The kernel's input `i`.
    In(usize),
    /// The kernel's output `i`.
    Out(usize),
    /// Scratch buffer `i` (returned to the pool when the launch's work is enqueued; later
    /// work on the same stream is ordered after it).
    Scratch(usize),
}

/// One kernel argument, in the order of the kernel's parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// A device pointer to a buffer's first element.
    Ptr(Buf),
    /// `long long`.
    I64(i64),
    /// `int`.
    I32(i32),
    /// `float`.
    F32(f32),
    /// `double`.
    F64(f64),
    /// A struct of `long long` words passed by value (e.g. the elementwise params).
    Words(Vec<i64>),
}

/// A kernel launch.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelLaunch {
    /// Index into the op's sources.
    pub source: usize,
    /// Arguments in parameter order.
    pub args: Vec<Arg>,
    /// Blocks.
    pub grid: [u32; 3],
    /// Threads per block.
    pub block: [u32; 3],
    /// Dynamic shared memory in bytes.
    pub shared_bytes: u32,
}

/// Fused GEMM epilogue activation (cuBLASLt epilogues).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    /// `C = alpha * op(A) op(B) + beta * C`.
    None,
    /// Add a bias broadcast along rows (one value per output column).
    Bias,
    /// ReLU.
    Relu,
    /// Bias then ReLU.
    BiasRelu,
}

/// A (batched) row-major GEMM: `C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]`, where every
/// matrix is row-major with the given leading dimension and batch stride (0 broadcasts).
#[derive(Clone, Debug, PartialEq)]
pub struct Gemm {
    /// Element type of A, B and C (f32, f16, bf16, f64).
    pub dtype: DType,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub batch: usize,
    pub a: Buf,
    /// First element of A[0] in the buffer (elements).
    pub a_off: usize,
    pub lda: usize,
    pub stride_a: usize,
    pub trans_a: bool,
    pub b: Buf,
    pub b_off: usize,
    pub ldb: usize,
    pub stride_b: usize,
    pub trans_b: bool,
    pub c: Buf,
    pub c_off: usize,
    pub ldc: usize,
    pub stride_c: usize,
    pub alpha: f64,
    pub beta: f64,
    /// Fused epilogue; `Bias*` need `bias` (n elements of `dtype`).
    pub epilogue: Epilogue,
    pub bias: Option<Buf>,
}

/// A byte copy between buffers.
#[derive(Clone, Debug, PartialEq)]
pub struct Copy {
    pub src: Buf,
    pub src_offset: usize,
    pub dst: Buf,
    pub dst_offset: usize,
    pub bytes: usize,
}

/// One recorded step.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Kernel(KernelLaunch),
    Gemm(Gemm),
    Copy(Copy),
}

/// How an output is provided.
#[derive(Clone, Debug)]
pub enum OutputKind {
    /// A fresh buffer.
    New,
    /// A view of input `i` with a new shape (no copy).
    Alias(usize),
    /// A value known on the host (uploaded).
    Host(Tensor),
}

/// A recorded output.
#[derive(Clone, Debug)]
pub struct Output {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub kind: OutputKind,
}

/// An input as the lowering sees it.
#[derive(Clone, Debug)]
pub struct InputDesc {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// Reads an input's values back to the host (only for shape-determining inputs).
pub type ValueFn<'a> = dyn Fn(usize) -> Result<Tensor> + 'a;

/// Launch context handed to [`super::ops::CudaOp::launch`].
pub struct LaunchCx<'a> {
    pub(crate) inputs: Vec<Option<InputDesc>>,
    pub(crate) value_of: &'a ValueFn<'a>,
    pub(crate) outputs: Vec<Output>,
    pub(crate) scratch: Vec<(DType, usize)>,
    pub(crate) steps: Vec<Step>,
    pub(crate) op_name: &'static str,
}

impl<'a> LaunchCx<'a> {
    /// A context for inputs of the given types; `value_of(i)` reads input `i` to the host.
    pub fn new(op_name: &'static str, inputs: Vec<Option<InputDesc>>, value_of: &'a ValueFn<'a>) -> Self {
        LaunchCx {
            inputs,
            value_of,
            outputs: Vec::new(),
            scratch: Vec::new(),
            steps: Vec::new(),
            op_name,
        }
    }

    fn missing(&self, i: usize) -> DeviceError {
        DeviceError::Kernel(KernelError::invalid(self.op_name, format!("input {i} is missing")))
    }

    /// An error naming the op.
    pub fn invalid(&self, msg: impl Into<String>) -> DeviceError {
        DeviceError::Kernel(KernelError::invalid(self.op_name, msg.into()))
    }

    /// Number of input slots (omitted optional inputs included).
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// True when input `i` is present.
    pub fn has(&self, i: usize) -> bool {
        matches!(self.inputs.get(i), Some(Some(_)))
    }

    /// Input `i`'s shape.
    pub fn shape(&self, i: usize) -> Result<&[usize]> {
        match self.inputs.get(i) {
            Some(Some(d)) => Ok(&d.shape),
            _ => Err(self.missing(i)),
        }
    }

    /// Input `i`'s dtype.
    pub fn dtype(&self, i: usize) -> Result<DType> {
        match self.inputs.get(i) {
            Some(Some(d)) => Ok(d.dtype),
            _ => Err(self.missing(i)),
        }
    }

    /// Input `i`'s values on the host (waits for pending work; shape-determining inputs only).
    pub fn value(&self, i: usize) -> Result<Tensor> {
        if !self.has(i) {
            return Err(self.missing(i));
        }
        (self.value_of)(i)
    }

    /// Output shapes by static inference on the concrete input shapes; the values of small
    /// integer inputs are read when the shapes depend on them.
    pub fn infer(&self, op: &Op) -> Result<Vec<(DType, Vec<usize>)>> {
        let types: Vec<Option<TensorType>> = self
            .inputs
            .iter()
            .map(|t| t.as_ref().map(|t| TensorType::known(t.dtype, &t.shape)))
            .collect();
        let first: Vec<InferInput> = types
            .iter()
            .map(|t| InferInput {
                ty: t.as_ref(),
                value: None,
            })
            .collect();
        let out = op.infer(&first).map_err(DeviceError::Kernel)?;
        if let Some(done) = concrete(&out) {
            return Ok(done);
        }
        let mut values = Vec::with_capacity(self.inputs.len());
        for (i, t) in self.inputs.iter().enumerate() {
            let small_int = t
                .as_ref()
                .is_some_and(|t| t.dtype.is_int() && t.shape.iter().product::<usize>() <= 4096);
            values.push(if small_int { Some(self.value(i)?) } else { None });
        }
        let second: Vec<InferInput> = types
            .iter()
            .zip(&values)
            .map(|(t, v)| InferInput {
                ty: t.as_ref(),
                value: v.as_ref(),
            })
            .collect();
        let out = op.infer(&second).map_err(DeviceError::Kernel)?;
        concrete(&out).ok_or_else(|| self.invalid("output shape depends on data the CUDA device does not compute"))
    }

    /// Allocate the next output.
    pub fn output(&mut self, dtype: DType, shape: Vec<usize>) -> Buf {
        self.outputs.push(Output {
            dtype,
            shape,
            kind: OutputKind::New,
        });
        Buf::Out(self.outputs.len() - 1)
    }

    /// Make the next output a view of input `i` with a new shape (same element count).
    pub fn alias(&mut self, i: usize, shape: Vec<usize>) -> Result<()> {
        let (dtype, len) = (self.dtype(i)?, self.shape(i)?.iter().product::<usize>());
        if shape.iter().product::<usize>() != len {
            return Err(self.invalid(format!("cannot view {:?} as {shape:?}", self.shape(i)?)));
        }
        self.outputs.push(Output {
            dtype,
            shape,
            kind: OutputKind::Alias(i),
        });
        Ok(())
    }

    /// Make the next output a tensor whose value is known on the host (e.g. `Shape`).
    pub fn host_output(&mut self, t: Tensor) {
        self.outputs.push(Output {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            kind: OutputKind::Host(t),
        });
    }

    /// A scratch buffer of `len` elements of `dtype`.
    pub fn scratch(&mut self, dtype: DType, len: usize) -> Buf {
        self.scratch.push((dtype, len));
        Buf::Scratch(self.scratch.len() - 1)
    }

    /// The shape of output `i` allocated so far.
    pub fn out_shape(&self, i: usize) -> Option<&[usize]> {
        self.outputs.get(i).map(|t| t.shape.as_slice())
    }

    /// Record a kernel launch; launches with an empty grid are skipped (empty tensors).
    pub fn kernel(&mut self, source: usize, args: Vec<Arg>, grid: [u32; 3], block: [u32; 3], shared_bytes: u32) {
        if grid.contains(&0) || block.contains(&0) {
            return;
        }
        self.steps.push(Step::Kernel(KernelLaunch {
            source,
            args,
            grid,
            block,
            shared_bytes,
        }));
    }

    /// Record a 1-D launch over `n` items with blocks of 256 threads. The kernels use
    /// grid-stride loops, so the grid is capped (large tensors loop inside the kernel).
    pub fn kernel_1d(&mut self, source: usize, args: Vec<Arg>, n: usize) {
        self.kernel(source, args, [grid_1d(n, 256), 1, 1], [256, 1, 1], 0);
    }

    /// Record a GEMM (cuBLAS / cuBLASLt).
    pub fn gemm(&mut self, g: Gemm) {
        if g.m == 0 || g.n == 0 || g.batch == 0 {
            return;
        }
        self.steps.push(Step::Gemm(g));
    }

    /// Record a device-to-device byte copy.
    pub fn copy(&mut self, c: Copy) {
        if c.bytes > 0 {
            self.steps.push(Step::Copy(c));
        }
    }

    /// The recorded outputs.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The recorded steps.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The recorded scratch buffers as (dtype, elements).
    pub fn scratch_buffers(&self) -> &[(DType, usize)] {
        &self.scratch
    }
}

fn concrete(out: &[TensorType]) -> Option<Vec<(DType, Vec<usize>)>> {
    out.iter().map(|t| t.concrete().map(|s| (t.dtype, s))).collect()
}

/// Blocks for a grid-stride loop over `n` items with `block` threads: enough to fill a large
/// GPU several times over, never more than needed.
pub fn grid_1d(n: usize, block: usize) -> u32 {
    n.div_ceil(block.max(1)).min(65_536) as u32
}

#[cfg(test)]
mod tests {
    use super::grid_1d;

    #[test]
    fn grids_cover_small_and_cap_large() {
        assert_eq!(grid_1d(0, 256), 0);
        assert_eq!(grid_1d(257, 256), 2);
        assert_eq!(grid_1d(1 << 40, 256), 65_536);
    }
}
