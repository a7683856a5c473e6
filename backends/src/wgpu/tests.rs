//! Device-level tests: each runs an op on the wgpu device and on the CPU reference. Without an
//! adapter they print `SKIPPED:` and return.

use super::WgpuDevice;
use crate::conformance::{check_op, random, Outcome};
use std::sync::OnceLock;
use suanli_kernels::{DType, Op, Tensor};

/// The shared device, or `None` (with a SKIPPED line) when no adapter exists.
pub fn device() -> Option<&'static WgpuDevice> {
    static DEV: OnceLock<Result<WgpuDevice, String>> = OnceLock::new();
    match DEV.get_or_init(|| WgpuDevice::open(0).map_err(|e| e.to_string())) {
        Ok(d) => Some(d),
        Err(e) => {
            println!("SKIPPED: no wgpu adapter: {e}");
            None
        }
    }
}

/// Assert `op` on `inputs` matches the CPU on the wgpu device (skips without an adapter).
pub fn check(op: Op, inputs: Vec<Option<Tensor>>) {
    check_tol(op, inputs, 1e-4, 1e-5)
}

/// [`check`] with explicit tolerances.
pub fn check_tol(op: Op, inputs: Vec<Option<Tensor>>, rtol: f64, atol: f64) {
    let Some(dev) = device() else { return };
    match check_op(dev, &op, &inputs, rtol, atol) {
        Outcome::Pass => {}
        other => panic!("{op:?} on {:?}: {other:?}", shapes(&inputs)),
    }
}

/// Random input of `dtype` and `shape`.
pub fn rnd(dtype: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(random(dtype, shape, seed))
}

fn shapes(inputs: &[Option<Tensor>]) -> Vec<String> {
    inputs
        .iter()
        .map(|t| match t {
            Some(t) => format!("{}{:?}", t.dtype(), t.shape()),
            None => "-".into(),
        })
        .collect()
}
