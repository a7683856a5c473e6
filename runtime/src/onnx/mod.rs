//! ONNX import: protobuf decoding, tensor conversion and the per-family op mapping.

pub mod file;
pub mod import;
pub mod node;
pub mod ops;
pub mod proto;
pub mod tensor;

pub use import::{load_bytes, load_file, Model};
