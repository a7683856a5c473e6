//! ONNX import: protobuf decoding, tensor conversion and the per-family op mapping.

pub mod node;
pub mod ops;
pub mod proto;
pub mod tensor;
