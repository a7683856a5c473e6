//! What a lowered kernel sees at launch: concrete input shapes, host values where a shape
//! depends on them, output allocation and the dispatches to record.

use super::memory::{Repr, Storage};
use super::WgpuDevice;
use crate::device::{DeviceError, DeviceTensor, Result};
use std::sync::Arc;
use suanli_kernels::{DType, InferInput, KernelError, Op, Tensor, TensorType};

/// A buffer argument of a dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buf {
    /// The kernel's input `i`.
    In(usize),
    /// The kernel's output `i`.
    Out(usize),
    /// Scratch buffer `i` (freed when the launch's work completes).
    Scratch(usize),
}

/// One recorded dispatch.
pub struct Dispatch {
    /// Index into the op's shaders.
    pub shader: usize,
    /// Contents of the parameter buffer (binding 0).
    pub params: Vec<u32>,
    /// Bindings 1.. in order.
    pub bufs: Vec<Buf>,
    /// Workgroup counts.
    pub grid: [u32; 3],
}

/// Launch context handed to [`super::ops::WgslOp::launch`].
pub struct LaunchCx<'a> {
    pub(super) dev: &'a WgpuDevice,
    pub(super) inputs: &'a [Option<&'a DeviceTensor>],
    pub(super) outputs: Vec<DeviceTensor>,
    pub(super) scratch: Vec<Arc<Storage>>,
    pub(super) dispatches: Vec<Dispatch>,
    pub(super) op_name: &'static str,
}

impl<'a> LaunchCx<'a> {
    fn missing(&self, i: usize) -> DeviceError {
        DeviceError::Kernel(KernelError::invalid(self.op_name, format!("input {i} is missing")))
    }

    /// Number of input slots (omitted optional inputs included).
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// True when input `i` is present.
    pub fn has(&self, i: usize) -> bool {
        matches!(self.inputs.get(i), Some(Some(_)))
    }

    /// Input `i`'s tensor handle.
    pub fn input(&self, i: usize) -> Result<&DeviceTensor> {
        self.inputs.get(i).copied().flatten().ok_or_else(|| self.missing(i))
    }

    /// Input `i`'s shape.
    pub fn shape(&self, i: usize) -> Result<&[usize]> {
        Ok(&self.input(i)?.shape)
    }

    /// Input `i`'s dtype.
    pub fn dtype(&self, i: usize) -> Result<DType> {
        Ok(self.input(i)?.dtype)
    }

    /// Input `i`'s device representation.
    pub fn repr(&self, i: usize) -> Result<Repr> {
        let t = self.input(i)?;
        Ok(self.dev.storage(t)?.repr)
    }

    /// Input `i`'s values on the host: its mirror when it came from the host, otherwise a
    /// read-back (which waits for pending work). Used for shape-determining inputs only.
    pub fn value(&self, i: usize) -> Result<Tensor> {
        let t = self.input(i)?;
        if let Some(m) = &self.dev.storage(t)?.mirror {
            return Ok(m.clone());
        }
        self.dev.read_back(t)
    }

    /// Output shapes by static inference on the concrete input shapes; the values of small
    /// integer inputs are supplied when the shapes depend on them.
    pub fn infer(&self, op: &Op) -> Result<Vec<(DType, Vec<usize>)>> {
        let types: Vec<Option<TensorType>> = self
            .inputs
            .iter()
            .map(|t| t.map(|t| TensorType::known(t.dtype, &t.shape)))
            .collect();
        let first: Vec<InferInput> = types
            .iter()
            .map(|t| InferInput {
                ty: t.as_ref(),
                value: None,
            })
            .collect();
        let out = op.infer(&first).map_err(DeviceError::Kernel)?;
        if let Some(done) = concrete(&out) {
            return Ok(done);
        }
        let mut values = Vec::with_capacity(self.inputs.len());
        for (i, t) in self.inputs.iter().enumerate() {
            let small_int = t.is_some_and(|t| t.dtype.is_int() && t.len() <= 4096);
            values.push(if small_int { Some(self.value(i)?) } else { None });
        }
        let second: Vec<InferInput> = types
            .iter()
            .zip(&values)
            .map(|(t, v)| InferInput {
                ty: t.as_ref(),
                value: v.as_ref(),
            })
            .collect();
        let out = op.infer(&second).map_err(DeviceError::Kernel)?;
        concrete(&out).ok_or_else(|| {
            DeviceError::Kernel(KernelError::invalid(
                self.op_name,
                "output shape depends on data the wgpu device does not compute",
            ))
        })
    }

    /// Allocate output `self.outputs.len()` and return its buffer reference.
    pub fn output(&mut self, dtype: DType, shape: Vec<usize>) -> Result<Buf> {
        let t = self.dev.alloc(dtype, shape)?;
        self.outputs.push(t);
        Ok(Buf::Out(self.outputs.len() - 1))
    }

    /// Make the next output a view of input `i` with a new shape (same element count): no copy.
    pub fn alias(&mut self, i: usize, shape: Vec<usize>) -> Result<()> {
        let t = self.input(i)?.clone();
        if shape.iter().product::<usize>() != t.len() {
            return Err(DeviceError::Kernel(KernelError::invalid(
                self.op_name,
                format!("cannot view {:?} as {:?}", t.shape, shape),
            )));
        }
        self.outputs.push(DeviceTensor { shape, ..t });
        Ok(())
    }

    /// Make the next output a tensor whose value is known on the host (e.g. `Shape`): it is
    /// uploaded and keeps a mirror.
    pub fn host_output(&mut self, t: Tensor) -> Result<()> {
        let d = self.dev.upload_mirrored(&t)?;
        self.outputs.push(d);
        Ok(())
    }

    /// A scratch buffer of `len` elements of `dtype`, freed once the launch's work is done.
    pub fn scratch(&mut self, dtype: DType, len: usize) -> Result<Buf> {
        let t = self.dev.alloc(dtype, vec![len])?;
        let s = self.dev.storage_arc(&t)?;
        self.scratch.push(s);
        Ok(Buf::Scratch(self.scratch.len() - 1))
    }

    /// The shape of output `i` allocated so far.
    pub fn out_shape(&self, i: usize) -> Option<&[usize]> {
        self.outputs.get(i).map(|t| t.shape.as_slice())
    }

    /// Record a dispatch of shader `shader` with `params` over `grid` workgroups. Grids with a
    /// zero count are skipped (empty tensors).
    pub fn dispatch(&mut self, shader: usize, params: Vec<u32>, bufs: &[Buf], grid: [u32; 3]) {
        if grid.contains(&0) {
            return;
        }
        self.dispatches.push(Dispatch {
            shader,
            params,
            bufs: bufs.to_vec(),
            grid,
        });
    }

    /// Record a 1-D dispatch of `n` invocations (workgroups of 256, split over y past 65535).
    pub fn dispatch_1d(&mut self, shader: usize, params: Vec<u32>, bufs: &[Buf], n: usize) {
        self.dispatch(shader, params, bufs, grid_1d(n, 256));
    }

    /// The adapter's workgroup-count limit per dimension.
    pub fn max_workgroups(&self) -> u32 {
        self.dev.device.limits().max_compute_workgroups_per_dimension
    }
}

fn concrete(out: &[TensorType]) -> Option<Vec<(DType, Vec<usize>)>> {
    out.iter().map(|t| t.concrete().map(|s| (t.dtype, s))).collect()
}

/// Workgroup counts covering `n` invocations with workgroups of `wg`: x up to 65535, the rest
/// on y. Shaders rebuild the linear index as `(wid.y * nwg.x + wid.x) * wg + lid.x`.
pub fn grid_1d(n: usize, wg: usize) -> [u32; 3] {
    let groups = n.div_ceil(wg);
    if groups == 0 {
        return [0, 1, 1];
    }
    let x = groups.min(65535);
    let y = groups.div_ceil(x);
    [x as u32, y as u32, 1]
}

/// Shape dims as params (u32).
pub fn dims_u32(shape: &[usize]) -> impl Iterator<Item = u32> + '_ {
    shape.iter().map(|&d| d as u32)
}

#[cfg(test)]
mod tests {
    use super::grid_1d;

    #[test]
    fn grids_split_past_the_workgroup_limit() {
        assert_eq!(grid_1d(0, 256), [0, 1, 1]);
        assert_eq!(grid_1d(256, 256), [1, 1, 1]);
        assert_eq!(grid_1d(257, 256), [2, 1, 1]);
        let g = grid_1d(65536 * 256, 256);
        assert!(g[0] <= 65535 && (g[0] as usize * g[1] as usize) * 256 >= 65536 * 256);
    }
}
