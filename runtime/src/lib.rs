//! `suanli`: a portable AI kernel runtime. Load an ONNX model (or build a graph in Rust),
//! and run it on whichever devices the machine has.

pub mod error;
pub mod onnx;

pub use error::{Error, Result};
pub use suanli_backends as backends;
pub use suanli_kernels as kernels;
pub use suanli_kernels::{DType, Tensor};
