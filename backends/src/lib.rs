//! `suanli-backends`: the [`Device`] trait and its implementations. A backend sees kernel specs
//! and device tensors, never the graph.

pub mod conformance;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod device;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub mod lowering;
pub mod registry;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use cpu::CpuDevice;
pub use device::{Device, DeviceError, DeviceInfo, DeviceTensor, Kernel, Support};
pub use registry::{enumerate, open, DeviceEntry, OpenOptions};
