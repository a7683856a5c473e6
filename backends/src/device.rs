//! The Device trait: what every chip's port implements. A device never sees the graph, only
//! kernel specs and the tensors living in its memory.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use suanli_kernels::{DType, KernelError, KernelSpec, Tensor};
use thiserror::Error;

/// Errors a device reports.
#[derive(Debug, Error)]
pub enum DeviceError {
    /// The device cannot be used on this machine.
    #[error("{device} is absent: {reason}")]
    Absent { device: String, reason: String },
    /// The device name is not one suanli knows.
    #[error("unknown device {0:?} (expected cpu, wgpu, wgpu:N, cuda:N, auto, or a comma list)")]
    UnknownDevice(String),
    /// The device does not implement this kernel.
    #[error("kernel {kernel} is not supported: {reason}")]
    Unsupported { kernel: String, reason: String },
    /// Allocation failed.
    #[error("out of memory allocating {bytes} bytes")]
    OutOfMemory { bytes: usize },
    /// A tensor handed to the device belongs to another device.
    #[error("tensor belongs to {owner}, not to this device")]
    ForeignTensor { owner: String },
    /// The kernel itself rejected its inputs.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// Anything else the driver reported.
    #[error("{0}")]
    Driver(String),
}

/// Result with [`DeviceError`].
pub type Result<T, E = DeviceError> = std::result::Result<T, E>;

/// What a device is, for enumeration, reports and the cost model.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// The name accepted by `--device` (`cpu`, `wgpu:0`, `cuda:0`).
    pub name: String,
    /// The device kind (`cpu`, `wgpu`, `cuda`, `ascend`, `mlu`).
    pub kind: String,
    /// A human description (CPU model, adapter name, driver).
    pub description: String,
    /// Device memory in bytes, where known.
    pub memory_bytes: Option<u64>,
    /// Peak arithmetic throughput estimate in GFLOP/s (cost model).
    pub peak_gflops: f64,
    /// Memory bandwidth estimate in GB/s (cost model).
    pub bandwidth_gbs: f64,
    /// Fixed cost of one kernel launch in microseconds (cost model).
    pub launch_us: f64,
    /// Bandwidth of copies to and from the host in GB/s (0 for the host itself).
    pub link_gbs: f64,
    /// Free-form capability lines (`threads=16`, `shader-f16`, limits).
    pub capabilities: Vec<String>,
}

/// The answer to [`Device::supports`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// The device runs this kernel itself.
    Native,
    /// It does not, and why.
    Unsupported(String),
}

impl Support {
    /// True for [`Support::Native`].
    pub fn is_native(&self) -> bool {
        matches!(self, Support::Native)
    }
}

/// A tensor resident on a device: its type, shape and the device's opaque storage.
#[derive(Clone)]
pub struct DeviceTensor {
    /// Element type.
    pub dtype: DType,
    /// Concrete shape.
    pub shape: Vec<usize>,
    /// Name of the device owning the storage.
    pub device: Arc<str>,
    /// Device-specific storage (the CPU device keeps an `Arc<Tensor>`).
    pub storage: Arc<dyn Any + Send + Sync>,
}

impl DeviceTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes occupied by the elements.
    pub fn byte_size(&self) -> usize {
        self.len() * self.dtype.size()
    }
    /// The host tensor behind this handle, when the storage is host memory.
    pub fn host(&self) -> Option<&Tensor> {
        self.storage.downcast_ref::<Tensor>()
    }
}

impl fmt::Debug for DeviceTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceTensor({}, {}{:?})", self.device, self.dtype, self.shape)
    }
}

/// A compiled kernel, ready to launch on the device that compiled it.
pub trait Kernel: Send + Sync {
    /// Required. The spec it was compiled from.
    fn spec(&self) -> &KernelSpec;
    /// Required. Downcasting hook for the owning device.
    fn as_any(&self) -> &dyn Any;
}

/// A compute device. Implement this in any crate to add a chip; nothing in the runtime changes.
pub trait Device: Send + Sync {
    /// Required. Name, kind and cost-model figures.
    fn info(&self) -> &DeviceInfo;
    /// Required. Whether this device runs `spec` natively. Cheap and pure: no compilation.
    fn supports(&self, spec: &KernelSpec) -> Support;
    /// Required. Copy a host tensor into device memory.
    fn upload(&self, t: &Tensor) -> Result<DeviceTensor>;
    /// Required. Copy a device tensor back to the host (waits for pending work on it).
    fn download(&self, t: &DeviceTensor) -> Result<Tensor>;
    /// Required. Compile (or fetch from cache) a device program for `spec`.
    fn compile(&self, spec: &KernelSpec) -> Result<Arc<dyn Kernel>>;
    /// Optional. Compile `spec` knowing the values of its constant inputs (`consts[i]` is
    /// input `i` when it is a graph constant), so the device can transform weights once —
    /// the CPU device packs GEMM and conv weights here. The constants are still passed to
    /// every launch. The default ignores them and calls [`Device::compile`].
    fn compile_with(&self, spec: &KernelSpec, consts: &[Option<&Tensor>]) -> Result<Arc<dyn Kernel>> {
        let _ = consts;
        self.compile(spec)
    }
    /// Required. Launch a compiled kernel; outputs are allocated by the device. May return
    /// before the work completes (the outputs are then valid for later launches and downloads).
    /// `inputs[i]` is `None` for an omitted optional input.
    fn launch(&self, kernel: &dyn Kernel, inputs: &[Option<&DeviceTensor>]) -> Result<Vec<DeviceTensor>>;
    /// Optional. Launch like [`Device::launch`], appending the outputs to `outputs`, with the
    /// inputs lent by value. The device may take (`Option::take`) input `i` only where
    /// `last_use[i]`: the session reads that value here for the last time, so the device may
    /// reuse its storage (the CPU device recycles it into later outputs). What is left in
    /// `inputs` goes back to the session. The default calls [`Device::launch`].
    fn launch_owned(
        &self,
        kernel: &dyn Kernel,
        inputs: &mut [Option<DeviceTensor>],
        last_use: &[bool],
        outputs: &mut Vec<DeviceTensor>,
    ) -> Result<()> {
        let _ = last_use;
        let refs: Vec<Option<&DeviceTensor>> = inputs.iter().map(|t| t.as_ref()).collect();
        outputs.extend(self.launch(kernel, &refs)?);
        Ok(())
    }
    /// Optional. A value the session no longer needs; the device may keep its storage for later
    /// outputs. The default drops it.
    fn release(&self, t: DeviceTensor) {
        drop(t)
    }
    /// Optional. Take ownership of a host tensor as a device tensor; the default uploads a
    /// copy (the CPU device overrides it to wrap the tensor without copying).
    fn adopt(&self, t: Tensor) -> Result<DeviceTensor> {
        self.upload(&t)
    }
    /// Optional. Make a constant the caller keeps (a model's weights) available on the device;
    /// the default uploads a copy (the CPU device overrides it to share the tensor, so a model's
    /// weights are not held twice in host memory). The result must never be written.
    fn upload_shared(&self, t: &Arc<Tensor>) -> Result<DeviceTensor> {
        self.upload(t)
    }
    /// Optional. The device's arithmetic peak in GFLOP/s as measured on this machine (profiles
    /// report kernels against it); `None` where it has not been measured.
    fn measured_peak_gflops(&self) -> Option<f64> {
        None
    }
    /// Optional. Run `f` (one whole session run) in the device's execution context, so that
    /// per-launch set-up such as entering a thread pool happens once per run rather than once
    /// per kernel. The default just calls `f`.
    fn run_scope(&self, f: &mut (dyn FnMut() + Send)) {
        f()
    }
    /// Optional. A session's plan peaks at `bytes` of intermediates on this device: a device
    /// with a memory pool grows it once here, so runs do not wait on the driver for memory.
    /// The default does nothing.
    fn reserve(&self, bytes: usize) -> Result<()> {
        let _ = bytes;
        Ok(())
    }
    /// Optional. Wait until all enqueued work has finished; the default does nothing
    /// (right for synchronous devices).
    fn synchronize(&self) -> Result<()> {
        Ok(())
    }
}
