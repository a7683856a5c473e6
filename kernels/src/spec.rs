//! Kernel specs: what a device is asked to execute.

use crate::op::Op;
use crate::shape::TensorType;

/// One kernel to execute: the op with its attributes and the static types of its operands.
///
/// A backend decides from a spec alone whether it can run it ([`KernelSpec`] never refers to
/// the graph). Dims may be symbolic or unknown; they are bound when the kernel is launched.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelSpec {
    /// The op and its typed attributes.
    pub op: Op,
    /// Input types; `None` for an omitted optional input.
    pub inputs: Vec<Option<TensorType>>,
    /// Output types.
    pub outputs: Vec<TensorType>,
}

impl KernelSpec {
    /// A short human description, e.g. `Conv(f32[1,3,224,224], f32[64,3,7,7]) -> f32[1,64,112,112]`.
    pub fn describe(&self) -> String {
        let ins: Vec<String> = self
            .inputs
            .iter()
            .map(|t| {
                t.as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into())
            })
            .collect();
        let outs: Vec<String> = self.outputs.iter().map(|t| t.to_string()).collect();
        format!(
            "{}({}) -> {}",
            self.op.name(),
            ins.join(", "),
            outs.join(", ")
        )
    }
}
