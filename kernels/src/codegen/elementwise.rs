//! The elementwise program: inputs, a list of elementwise ops over registers, outputs.

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::ops::elementwise::ElementwiseOp;
use crate::tensor::Tensor;

/// A register: `0..inputs.len()` are the program's inputs, then one per instruction.
pub type Reg = usize;

/// One instruction: apply an elementwise op to registers (`None` for an omitted optional
/// operand, e.g. Clip's bounds), producing a value of `dtype`.
#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    /// The op, with the same semantics as its CPU kernel.
    pub op: ElementwiseOp,
    /// Operand registers.
    pub args: Vec<Option<Reg>>,
    /// Result dtype.
    pub dtype: DType,
}

/// A fused elementwise kernel. Every input broadcasts (numpy rules) to the common output
/// shape; every output has that shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ElementwiseProgram {
    /// Input dtypes.
    pub inputs: Vec<DType>,
    /// Instructions in order; instruction `k` defines register `inputs.len() + k`.
    pub insts: Vec<Inst>,
    /// The registers stored as outputs.
    pub outputs: Vec<Reg>,
}

impl ElementwiseProgram {
    /// The program of a single op. `inputs[i]` is `None` for an omitted optional input; the
    /// present inputs become the program's inputs in order.
    pub fn single(op: &ElementwiseOp, inputs: &[Option<DType>], out: DType) -> ElementwiseProgram {
        let mut present = Vec::new();
        let mut args = Vec::new();
        for d in inputs {
            match d {
                Some(d) => {
                    args.push(Some(present.len()));
                    present.push(*d);
                }
                None => args.push(None),
            }
        }
        let n = present.len();
        ElementwiseProgram {
            inputs: present,
            insts: vec![Inst {
                op: op.clone(),
                args,
                dtype: out,
            }],
            outputs: vec![n],
        }
    }

    /// The dtype held by register `r`.
    pub fn dtype(&self, r: Reg) -> DType {
        if r < self.inputs.len() {
            self.inputs[r]
        } else {
            self.insts[r - self.inputs.len()].dtype
        }
    }

    /// Output dtypes.
    pub fn output_dtypes(&self) -> Vec<DType> {
        self.outputs.iter().map(|&r| self.dtype(r)).collect()
    }

    /// Check that every operand refers to an earlier register.
    pub fn validate(&self) -> Result<()> {
        let n = self.inputs.len();
        for (k, inst) in self.insts.iter().enumerate() {
            if let Some(bad) = inst.args.iter().flatten().find(|&&r| r >= n + k) {
                return Err(KernelError::invalid(
                    "ElementwiseProgram",
                    format!("instruction {k} reads register {bad} before it is defined"),
                ));
            }
        }
        if let Some(bad) = self.outputs.iter().find(|&&r| r >= n + self.insts.len()) {
            return Err(KernelError::invalid(
                "ElementwiseProgram",
                format!("output register {bad} is undefined"),
            ));
        }
        Ok(())
    }

    /// Evaluate on the host with the CPU reference kernels (one pass per instruction).
    pub fn eval(&self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        self.validate()?;
        if inputs.len() != self.inputs.len() {
            return Err(KernelError::invalid(
                "ElementwiseProgram",
                format!("{} inputs given, {} expected", inputs.len(), self.inputs.len()),
            ));
        }
        let mut regs: Vec<Tensor> = inputs.iter().map(|t| (*t).clone()).collect();
        for inst in &self.insts {
            let args: Vec<Option<&Tensor>> = inst.args.iter().map(|a| a.map(|r| &regs[r])).collect();
            let out = crate::op::OpImpl::run(&inst.op, &args)?;
            let first = out
                .into_iter()
                .next()
                .ok_or_else(|| KernelError::invalid(inst.op_name(), "produced no output"))?;
            regs.push(first);
        }
        Ok(self.outputs.iter().map(|&r| regs[r].clone()).collect())
    }
}

impl Inst {
    fn op_name(&self) -> &'static str {
        crate::op::OpImpl::name(&self.op)
    }
}
