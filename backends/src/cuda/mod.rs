//! The CUDA device (cargo feature `cuda`): cudarc with every library loaded at run time, so
//! the crate builds and runs on machines without CUDA and reports the device absent with the
//! reason.
//!
//! Kernels come from [`ops`]: fused elementwise programs rendered by the kernels crate's CUDA C
//! dialect and hand-written sources from `shaders/*.cu`, compiled with NVRTC (PTX cached per
//! source in memory and on disk), GEMMs through cuBLAS / cuBLASLt.

pub mod blas;
pub mod compile;
pub mod device;
pub mod launch;
pub mod loader;
pub mod ops;

pub use device::{device_count, CudaDevice};
