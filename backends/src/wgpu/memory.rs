//! Device memory: how each dtype is stored in WGSL, the buffer pool, and host <-> device
//! byte conversion.
//!
//! WGSL storage is 32-bit granular, so 1- and 2-byte integers and bools are widened to 32 bits
//! on the device (and narrowed back on download). f16, f64 and 64-bit integers are stored
//! natively when the adapter has `shader-f16`, `shader-f64` and `shader-int64`; otherwise
//! [`Repr::of`] answers `None` and `supports` sends the kernel elsewhere. bf16 and strings are
//! never stored on this device.

use crate::device::{DeviceError, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use suanli_kernels::cast::cast_data;
use suanli_kernels::{DType, Tensor, TensorData};

/// Optional adapter features that widen the set of dtypes kept on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// `shader-f16`: f16 storage and arithmetic.
    pub f16: bool,
    /// `shader-f64`: f64 storage and arithmetic.
    pub f64: bool,
    /// `shader-int64`: i64/u64 storage and arithmetic.
    pub int64: bool,
}

impl Caps {
    /// Every optional feature on: what the naga validation test assumes.
    pub const ALL: Caps = Caps {
        f16: true,
        f64: true,
        int64: true,
    };
}

/// The WGSL scalar type a dtype is stored as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Repr {
    F32,
    F16,
    F64,
    I32,
    U32,
    I64,
    U64,
}

impl Repr {
    /// The device representation of `dt`, or `None` when this adapter cannot hold it.
    pub fn of(dt: DType, caps: Caps) -> Option<Repr> {
        Some(match dt {
            DType::F32 => Repr::F32,
            DType::F16 if caps.f16 => Repr::F16,
            DType::F64 if caps.f64 => Repr::F64,
            DType::I32 | DType::I8 | DType::I16 => Repr::I32,
            DType::U32 | DType::U8 | DType::U16 | DType::Bool => Repr::U32,
            DType::I64 if caps.int64 => Repr::I64,
            DType::U64 if caps.int64 => Repr::U64,
            _ => return None,
        })
    }

    /// The WGSL type name.
    pub fn wgsl(self) -> &'static str {
        match self {
            Repr::F32 => "f32",
            Repr::F16 => "f16",
            Repr::F64 => "f64",
            Repr::I32 => "i32",
            Repr::U32 => "u32",
            Repr::I64 => "i64",
            Repr::U64 => "u64",
        }
    }

    /// Bytes per element on the device.
    pub fn size(self) -> usize {
        match self {
            Repr::F16 => 2,
            Repr::F32 | Repr::I32 | Repr::U32 => 4,
            Repr::F64 | Repr::I64 | Repr::U64 => 8,
        }
    }

    /// True for the float representations.
    pub fn is_float(self) -> bool {
        matches!(self, Repr::F32 | Repr::F16 | Repr::F64)
    }

    /// The host dtype whose bytes match this representation.
    pub fn host_dtype(self) -> DType {
        match self {
            Repr::F32 => DType::F32,
            Repr::F16 => DType::F16,
            Repr::F64 => DType::F64,
            Repr::I32 => DType::I32,
            Repr::U32 => DType::U32,
            Repr::I64 => DType::I64,
            Repr::U64 => DType::U64,
        }
    }
}

/// Why `dt` cannot live on this adapter (for `supports` answers).
pub fn unsupported_dtype(dt: DType, caps: Caps) -> Option<String> {
    if Repr::of(dt, caps).is_some() {
        return None;
    }
    Some(match dt {
        DType::F16 => "f16 needs the adapter feature shader-f16".into(),
        DType::F64 => "f64 needs the adapter feature shader-f64".into(),
        DType::I64 | DType::U64 => format!("{dt} needs the adapter feature shader-int64"),
        other => format!("{other} is not stored on wgpu devices"),
    })
}

/// Buffer bytes for `n` elements of `repr`: rounded up to 4 bytes and at least 8, so that even
/// an empty tensor binds as an array of any element type (wgpu rejects smaller bindings).
pub fn padded_bytes(n: usize, repr: Repr) -> u64 {
    (((n * repr.size()).max(8) + 3) & !3) as u64
}

/// Host tensor -> bytes in the device representation.
pub fn to_device_bytes(t: &Tensor, caps: Caps) -> Result<Vec<u8>> {
    let repr = Repr::of(t.dtype(), caps).ok_or_else(|| DeviceError::Unsupported {
        kernel: "upload".into(),
        reason: unsupported_dtype(t.dtype(), caps).unwrap_or_default(),
    })?;
    let data;
    let src = if repr.host_dtype() == t.dtype() {
        t.data()
    } else {
        data = cast_data(t.data(), repr.host_dtype())?;
        &data
    };
    let mut bytes = match src {
        TensorData::F32(v) => bytemuck::cast_slice(v).to_vec(),
        TensorData::F16(v) => bytemuck::cast_slice(v).to_vec(),
        TensorData::F64(v) => bytemuck::cast_slice(v).to_vec(),
        TensorData::I32(v) => bytemuck::cast_slice(v).to_vec(),
        TensorData::U32(v) => bytemuck::cast_slice(v).to_vec(),
        TensorData::I64(v) => bytemuck::cast_slice(v).to_vec(),
        TensorData::U64(v) => bytemuck::cast_slice(v).to_vec(),
        _ => return Err(DeviceError::Driver(format!("internal: no byte view of {}", t.dtype()))),
    };
    bytes.resize(padded_bytes(t.len(), repr) as usize, 0);
    Ok(bytes)
}

/// Bytes in the device representation -> host tensor of `dtype` and `shape`.
pub fn from_device_bytes(bytes: &[u8], dtype: DType, shape: &[usize], caps: Caps) -> Result<Tensor> {
    let repr = Repr::of(dtype, caps).ok_or_else(|| DeviceError::Driver(format!("internal: {dtype} on wgpu")))?;
    let n: usize = shape.iter().product();
    let bytes = &bytes[..n * repr.size()];
    fn read<T: bytemuck::Pod>(b: &[u8]) -> Vec<T> {
        // Copy through pod_collect: the mapped range need not be aligned for T.
        bytemuck::pod_collect_to_vec(b)
    }
    let data = match repr {
        Repr::F32 => TensorData::F32(read(bytes)),
        Repr::F16 => TensorData::F16(read(bytes)),
        Repr::F64 => TensorData::F64(read(bytes)),
        Repr::I32 => TensorData::I32(read(bytes)),
        Repr::U32 => TensorData::U32(read(bytes)),
        Repr::I64 => TensorData::I64(read(bytes)),
        Repr::U64 => TensorData::U64(read(bytes)),
    };
    let data = if repr.host_dtype() == dtype {
        data
    } else if dtype == DType::Bool {
        // Kernels store bools as 0/1; anything else non-zero still reads as true.
        match data {
            TensorData::U32(v) => TensorData::Bool(v.into_iter().map(|x| x != 0).collect()),
            other => cast_data(&other, dtype)?,
        }
    } else {
        cast_data(&data, dtype)?
    };
    Ok(Tensor::new(shape.to_vec(), data)?)
}

/// Recycles storage buffers by exact size so that repeated runs of a model reuse the same
/// allocations. Buffers come back when the last [`Storage`] holding them drops.
pub struct Pool {
    free: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    /// Bytes currently parked in `free`; beyond `limit` returned buffers are released.
    parked: Mutex<u64>,
    limit: u64,
    /// Buffers created (not reused) since the device opened: a test hook for reuse.
    pub created: std::sync::atomic::AtomicU64,
}

impl Pool {
    /// An empty pool that parks at most `limit` bytes of idle buffers.
    pub fn new(limit: u64) -> Pool {
        Pool {
            free: Mutex::new(HashMap::new()),
            parked: Mutex::new(0),
            limit,
            created: Default::default(),
        }
    }

    /// A buffer of exactly `bytes` bytes: reused when one is parked, created otherwise.
    pub fn take(&self, device: &wgpu::Device, bytes: u64) -> Result<wgpu::Buffer> {
        if let Some(b) = self
            .free
            .lock()
            .ok()
            .and_then(|mut f| f.get_mut(&bytes).and_then(|v| v.pop()))
        {
            if let Ok(mut p) = self.parked.lock() {
                *p -= bytes;
            }
            return Ok(b);
        }
        if bytes > device.limits().max_buffer_size {
            return Err(DeviceError::OutOfMemory { bytes: bytes as usize });
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let b = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("suanli tensor"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if pollster::block_on(scope.pop()).is_some() {
            return Err(DeviceError::OutOfMemory { bytes: bytes as usize });
        }
        self.created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(b)
    }

    fn give(&self, b: wgpu::Buffer) {
        let bytes = b.size();
        let Ok(mut parked) = self.parked.lock() else { return };
        if *parked + bytes > self.limit {
            return; // dropped: wgpu frees it once no pending command uses it
        }
        if let Ok(mut f) = self.free.lock() {
            *parked += bytes;
            f.entry(bytes).or_default().push(b);
        }
    }
}

/// The storage behind a wgpu [`crate::DeviceTensor`]: one buffer (shared by views such as
/// reshapes) and, for small integer tensors that came from the host, a host mirror so that
/// kernels whose output shape depends on a value (Reshape, Slice, Expand …) need not read back.
pub struct Storage {
    buffer: Option<wgpu::Buffer>,
    pool: Arc<Pool>,
    /// The element representation.
    pub repr: Repr,
    /// The host copy, when known without a read-back.
    pub mirror: Option<Tensor>,
}

impl Storage {
    /// Wrap a buffer taken from `pool`.
    pub fn new(buffer: wgpu::Buffer, pool: Arc<Pool>, repr: Repr, mirror: Option<Tensor>) -> Storage {
        Storage {
            buffer: Some(buffer),
            pool,
            repr,
            mirror,
        }
    }

    /// The buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        // Invariant: `buffer` is only taken in Drop.
        self.buffer.as_ref().expect("storage buffer present until drop")
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.pool.give(b);
        }
    }
}
