//! `suanli-kernels`: the vocabulary shared by suanli's runtime and devices — element types,
//! shapes, host tensors, the closed [`Op`] set with typed attributes, [`KernelSpec`]s — and the
//! CPU kernels that are the reference every device is checked against.

pub mod buffers;
pub mod cast;
pub mod codegen;
pub mod compare;
pub mod dtype;
pub mod error;
pub mod op;
pub mod ops;
pub mod peak;
pub mod shape;
pub mod spec;
pub mod tensor;
pub mod util;
pub mod vmath;

pub use dtype::{DType, Elem};
pub use error::{KernelError, Result};
pub use op::{InferInput, Op, OpImpl};
pub use shape::{Dim, TensorType};
pub use spec::KernelSpec;
pub use tensor::{HostElem, SharedTensor, Tensor, TensorData};

#[doc(hidden)]
pub use half;
