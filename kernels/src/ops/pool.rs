//! PoolOp family: (to be filled in).

use crate::error::Result;
use crate::op::{InferInput, OpImpl};
use crate::shape::TensorType;
use crate::tensor::Tensor;

/// The pool ops.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolOp {}

impl OpImpl for PoolOp {
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
