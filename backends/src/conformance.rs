//! One op, one device, against the CPU reference: the building block of the op conformance
//! suite (`tests/conformance.rs`) and of each device's own tests.

use crate::device::Device;
use suanli_kernels::compare::check_tensor;
use suanli_kernels::{InferInput, KernelSpec, Op, Tensor, TensorType};

/// How one case went on one device.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The device's outputs match the CPU reference.
    Pass,
    /// The device does not run this spec (its `supports` answer).
    Unsupported(String),
    /// The device ran it and got it wrong, or failed.
    Fail(String),
}

/// The kernel spec a graph would hand a device for `op` on these inputs: types only, no values.
pub fn spec_for(op: &Op, inputs: &[Option<Tensor>]) -> Result<KernelSpec, String> {
    let types: Vec<Option<TensorType>> = inputs
        .iter()
        .map(|t| t.as_ref().map(|t| TensorType::known(t.dtype(), t.shape())))
        .collect();
    let infer: Vec<InferInput> = types
        .iter()
        .map(|t| InferInput {
            ty: t.as_ref(),
            value: None,
        })
        .collect();
    let outputs = op.infer(&infer).map_err(|e| format!("inference failed: {e}"))?;
    Ok(KernelSpec {
        op: op.clone(),
        inputs: types,
        outputs,
    })
}

/// Run `op` on `dev` and on the CPU kernel; compare every output within `rtol`/`atol`.
pub fn check_op(dev: &dyn Device, op: &Op, inputs: &[Option<Tensor>], rtol: f64, atol: f64) -> Outcome {
    let refs: Vec<Option<&Tensor>> = inputs.iter().map(|t| t.as_ref()).collect();
    let want = match op.run(&refs) {
        Ok(w) => w,
        Err(e) => return Outcome::Fail(format!("the CPU reference rejected the case: {e}")),
    };
    let spec = match spec_for(op, inputs) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(e),
    };
    if let crate::Support::Unsupported(why) = dev.supports(&spec) {
        return Outcome::Unsupported(why);
    }
    let run = || -> Result<Vec<Tensor>, String> {
        let k = dev.compile(&spec).map_err(|e| format!("compile: {e}"))?;
        let mut ins = Vec::new();
        for t in inputs {
            ins.push(match t {
                Some(t) => Some(dev.upload(t).map_err(|e| format!("upload: {e}"))?),
                None => None,
            });
        }
        let args: Vec<_> = ins.iter().map(|t| t.as_ref()).collect();
        let outs = dev.launch(k.as_ref(), &args).map_err(|e| format!("launch: {e}"))?;
        outs.iter()
            .map(|o| dev.download(o).map_err(|e| format!("download: {e}")))
            .collect()
    };
    let got = match run() {
        Ok(g) => g,
        Err(e) => return Outcome::Fail(e),
    };
    if got.len() < want.len() {
        return Outcome::Fail(format!("{} outputs, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if let Err(e) = check_tensor(g, w, rtol, atol) {
            return Outcome::Fail(format!("output {i}: {e}"));
        }
    }
    Outcome::Pass
}

/// Deterministic test data: floats in [-2, 2), signed ints in [-5, 5], unsigned in [0, 10],
/// bools half true.
pub fn random(dtype: suanli_kernels::DType, shape: &[usize], seed: u64) -> Tensor {
    use suanli_kernels::cast::cast_data;
    use suanli_kernels::{DType, TensorData};
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let data = match dtype {
        DType::Bool => TensorData::Bool((0..n).map(|_| next() < 0.5).collect()),
        d if d.is_float() => TensorData::F64((0..n).map(|_| next() * 4.0 - 2.0).collect()),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => {
            TensorData::I64((0..n).map(|_| (next() * 11.0) as i64).collect())
        }
        _ => TensorData::I64((0..n).map(|_| (next() * 11.0) as i64 - 5).collect()),
    };
    let data = if data.dtype() == dtype {
        data
    } else {
        // Invariant: every numeric dtype is reachable from f64/i64 by cast_data.
        cast_data(&data, dtype).expect("numeric cast")
    };
    Tensor::new(shape.to_vec(), data).expect("length matches shape")
}

/// One conformance case: an op, its inputs and the tolerance its outputs must meet.
#[derive(Clone, Debug)]
pub struct Case {
    /// Unique name, `family/op/variant`.
    pub name: String,
    /// The op with its attributes.
    pub op: Op,
    /// Inputs (`None` for an omitted optional input).
    pub inputs: Vec<Option<Tensor>>,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Case {
    /// A case with the default tolerances (rtol 1e-4, atol 1e-5).
    pub fn new(name: impl Into<String>, op: Op, inputs: Vec<Option<Tensor>>) -> Case {
        Case {
            name: name.into(),
            op,
            inputs,
            rtol: 1e-4,
            atol: 1e-5,
        }
    }

    /// Override the tolerances.
    pub fn tol(mut self, rtol: f64, atol: f64) -> Case {
        self.rtol = rtol;
        self.atol = atol;
        self
    }

    /// Run on `dev`.
    pub fn check(&self, dev: &dyn Device) -> Outcome {
        check_op(dev, &self.op, &self.inputs, self.rtol, self.atol)
    }
}
