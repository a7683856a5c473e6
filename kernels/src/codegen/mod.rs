//! Code generation: the elementwise program (a small SSA list of elementwise ops with numpy
//! broadcasting) written once and rendered per target. The CPU evaluates the same program
//! with its reference kernels; the WGSL renderer turns it into one compute shader, the CUDA
//! renderer into one NVRTC source.

pub mod cuda;
mod cuda_helpers;
#[cfg(test)]
mod cuda_tests;
pub mod elementwise;
pub mod wgsl;

pub use elementwise::{ElementwiseProgram, Inst, Reg};
