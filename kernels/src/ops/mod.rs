//! Op families: each file holds one family's typed attributes, inference and CPU kernels.

pub mod attention;
pub mod conv;
pub mod elementwise;
pub mod fused;
pub mod image;
pub mod layout;
pub mod linalg;
pub mod norm;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod rnn;
pub mod signal;
pub mod text;

pub use attention::AttentionOp;
pub use conv::ConvOp;
pub use elementwise::ElementwiseOp;
pub use fused::FusedOp;
pub use image::ImageOp;
pub use layout::LayoutOp;
pub use linalg::LinalgOp;
pub use norm::NormOp;
pub use pool::PoolOp;
pub use quant::QuantOp;
pub use reduce::ReduceOp;
pub use rnn::RnnOp;
pub use signal::SignalOp;
pub use text::TextOp;
