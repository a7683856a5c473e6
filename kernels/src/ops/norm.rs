//! NormOp family: (to be filled in).

use crate::error::Result;
use crate::op::{InferInput, OpImpl};
use crate::shape::TensorType;
use crate::tensor::Tensor;

/// The norm ops.
#[derive(Clone, Debug, PartialEq)]
pub enum NormOp {}

impl OpImpl for NormOp {
    fn name(&self) -> &'static str {
        match *self {}
    }
    fn infer(&self, _inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        match *self {}
    }
    fn run(&self, _inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        match *self {}
    }
}
