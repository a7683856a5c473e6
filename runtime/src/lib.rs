//! `suanli`: a portable AI kernel runtime. Load an ONNX model (or build a graph in Rust),
//! and run it on whichever devices the machine has.

pub mod compare;
pub mod control;
pub mod error;
pub mod graph;
pub mod memory_plan;
pub mod npy;
pub mod onnx;
pub mod passes;
pub mod placement;
pub mod plan;
pub mod profile;
pub mod session;

pub use error::{Error, Result};
pub use graph::{Graph, Value};
pub use placement::Policy;
pub use session::{Session, SessionBuilder};
pub use suanli_backends as backends;
pub use suanli_kernels as kernels;
pub use suanli_kernels::{DType, Tensor};
