//! [`CudaDevice`]: one GPU through the driver API.
//!
//! - **Streams.** Each thread that launches work gets its own stream (a "lane" with its cuBLAS
//!   handles and pinned staging buffer). A session run executes on the calling thread, so every
//!   run has its own stream, and kernels are enqueued back to back with no host
//!   synchronisation; only [`Device::download`] waits. cudarc's event tracking orders a buffer
//!   written on one stream before its use on another.
//! - **Memory.** Buffers come from the device's stream-ordered pool (`cuMemAllocAsync`) whose
//!   release threshold is raised so freed memory stays in the pool; `reserve` grows it once
//!   to a session's planned peak.
//! - **Transfers** go through a page-locked staging buffer per lane.

use super::blas::{self, LtHandle};
use super::compile::cached_ptx;
use super::launch::{Arg, Buf, InputDesc, LaunchCx, OutputKind, Step};
use super::loader::require_all;
use super::ops::{lower, CudaOp, Target};
use crate::device::{Device, DeviceError, DeviceInfo, DeviceTensor, Kernel, Result, Support};
use cudarc::driver::sys::{CUdevice_attribute as Attr, CUdeviceptr};
use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DevicePtrMut};
use std::any::Any;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use suanli_kernels::{KernelSpec, Tensor};

fn driver(what: &str, e: impl std::fmt::Debug) -> DeviceError {
    DeviceError::Driver(format!("{what}: {e:?}"))
}

/// Device memory behind a [`DeviceTensor`] (at least one byte, so empty tensors have an address).
pub struct CudaStorage {
    pub(crate) buf: CudaSlice<u8>,
    /// The bytes in use (the buffer may be larger).
    pub(crate) bytes: usize,
}

/// Per-thread execution resources.
struct Lane {
    stream: Arc<CudaStream>,
    blas: cudarc::cublas::CudaBlas,
    lt: LtHandle,
    _lt_workspace: CudaSlice<u8>,
    staging: Staging,
}

/// A grow-only page-locked host buffer and the event marking its last transfer.
struct Staging {
    ptr: *mut u8,
    cap: usize,
    done: Option<cudarc::driver::CudaEvent>,
}

// SAFETY: the staging buffer is only touched by the lane's owner, behind the lane's mutex.
unsafe impl Send for Staging {}

impl Staging {
    /// A host slice of `n` bytes that no transfer is still reading or writing.
    fn get(&mut self, n: usize) -> Result<&mut [u8]> {
        if n == 0 {
            return Ok(&mut []);
        }
        if let Some(e) = &self.done {
            e.synchronize()
                .map_err(|e| driver("waiting for a staging transfer", e))?;
        }
        if n > self.cap {
            if !self.ptr.is_null() {
                // SAFETY: allocated by malloc_host below; no transfer is pending (waited above).
                unsafe { cudarc::driver::result::free_host(self.ptr as *mut c_void) }
                    .map_err(|e| driver("cuMemFreeHost", e))?;
                self.ptr = std::ptr::null_mut();
                self.cap = 0;
            }
            let cap = n.next_power_of_two().max(1 << 20);
            // SAFETY: plain page-locked allocation.
            let p = unsafe { cudarc::driver::result::malloc_host(cap, 0) }
                .map_err(|_| DeviceError::OutOfMemory { bytes: cap })?;
            self.ptr = p as *mut u8;
            self.cap = cap;
        }
        // SAFETY: ptr is non-null and valid for cap >= n bytes, and exclusively ours.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, n) })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(e) = &self.done {
            let _ = e.synchronize();
        }
        if !self.ptr.is_null() {
            // SAFETY: allocated by malloc_host; no transfer pending.
            let _ = unsafe { cudarc::driver::result::free_host(self.ptr as *mut c_void) };
        }
    }
}

/// A compiled CUDA kernel: the lowered op and its loaded functions.
pub struct CudaKernel {
    spec: KernelSpec,
    op: Box<dyn CudaOp>,
    functions: Vec<CudaFunction>,
}

impl Kernel for CudaKernel {
    fn spec(&self) -> &KernelSpec {
        &self.spec
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One NVIDIA GPU.
pub struct CudaDevice {
    info: DeviceInfo,
    ctx: Arc<CudaContext>,
    target: Target,
    name: Arc<str>,
    /// Loaded functions by (source text, entry).
    functions: Mutex<HashMap<(String, String), CudaFunction>>,
    lanes: Mutex<HashMap<ThreadId, Arc<Mutex<Lane>>>>,
}

/// Number of CUDA GPUs, or why there are none. Never panics.
pub fn device_count() -> std::result::Result<usize, String> {
    require_all()?;
    cudarc::driver::result::init().map_err(|e| format!("cuInit failed: {e:?} (is the NVIDIA driver loaded?)"))?;
    let n = CudaContext::device_count().map_err(|e| format!("cuDeviceGetCount failed: {e:?}"))?;
    Ok(n.max(0) as usize)
}

impl CudaDevice {
    /// Open GPU `ordinal`.
    pub fn open(ordinal: usize) -> Result<CudaDevice> {
        let name = format!("cuda:{ordinal}");
        let absent = |reason: String| DeviceError::Absent {
            device: name.clone(),
            reason,
        };
        let count = device_count().map_err(absent)?;
        if ordinal >= count {
            return Err(absent(format!("this machine has {count} CUDA device(s)")));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| absent(format!("creating a context failed: {e:?}")))?;
        let attr = |a: Attr| ctx.attribute(a).ok().map(|v| v as f64);
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| driver("cuDeviceGetAttribute", e))?;
        if major < 8 {
            return Err(absent(format!(
                "compute capability {major}.{minor}: suanli's CUDA kernels need sm_80 (Ampere) or newer"
            )));
        }
        let sms = attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).unwrap_or(0.0);
        let clock_khz = attr(Attr::CU_DEVICE_ATTRIBUTE_CLOCK_RATE).unwrap_or(1.5e6);
        let mem_khz = attr(Attr::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
        let bus = attr(Attr::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
        let smem = attr(Attr::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK).unwrap_or(48.0 * 1024.0);
        // 128 FP32 lanes per SM from Ampere on, 2 flops per fused multiply-add.
        let peak = (sms * clock_khz * 1e3 * 128.0 * 2.0 / 1e9).max(1000.0);
        let bandwidth = match (mem_khz, bus) {
            (Some(k), Some(b)) if k > 0.0 && b > 0.0 => k * 1e3 * 2.0 * b / 8.0 / 1e9,
            _ => 1000.0,
        };
        let memory = ctx.total_mem().ok().map(|m| m as u64);
        let gpu = ctx.name().unwrap_or_else(|_| "NVIDIA GPU".into());
        let (nv_major, nv_minor) = super::compile::nvrtc_version().map_err(absent)?;
        let info = DeviceInfo {
            name: name.clone(),
            kind: "cuda".into(),
            description: format!("{gpu} (sm_{major}{minor}, {sms:.0} SMs, NVRTC {nv_major}.{nv_minor})"),
            memory_bytes: memory,
            peak_gflops: peak,
            bandwidth_gbs: bandwidth,
            launch_us: 5.0,
            link_gbs: 20.0,
            capabilities: vec![format!("sm_{major}{minor}"), "f16".into(), "bf16".into(), "f64".into()],
        };
        // Keep freed memory in the stream-ordered pool instead of returning it to the driver.
        // SAFETY: the device handle comes from a live context; the value is a u64 as required.
        unsafe {
            if let Ok(pool) = cudarc::driver::result::device::get_default_mem_pool(ctx.cu_device()) {
                let mut threshold = u64::MAX;
                let _ = cudarc::driver::result::mem_pool::set_attribute(
                    pool,
                    cudarc::driver::sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                    &mut threshold as *mut u64 as *mut c_void,
                );
            }
        }
        Ok(CudaDevice {
            info,
            ctx,
            target: Target {
                sm: (major as u32, minor as u32),
                max_shared_bytes: smem as u32,
            },
            name: name.into(),
            functions: Mutex::new(HashMap::new()),
            lanes: Mutex::new(HashMap::new()),
        })
    }

    /// What the lowering assumes about this GPU.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
        m.lock()
            .map_err(|_| DeviceError::Driver("CUDA device state poisoned by an earlier panic".into()))
    }

    /// The calling thread's lane, created on first use.
    fn lane(&self) -> Result<Arc<Mutex<Lane>>> {
        let id = std::thread::current().id();
        if let Some(l) = Self::lock(&self.lanes)?.get(&id) {
            return Ok(l.clone());
        }
        let stream = self.ctx.new_stream().map_err(|e| driver("cuStreamCreate", e))?;
        let blas = cudarc::cublas::CudaBlas::new(stream.clone()).map_err(|e| driver("cublasCreate", e))?;
        let handle = cudarc::cublaslt::result::create_handle().map_err(|e| driver("cublasLtCreate", e))?;
        let ws_bytes = 32 << 20;
        // SAFETY: uninitialised workspace memory is what cuBLASLt expects.
        let mut ws =
            unsafe { stream.alloc::<u8>(ws_bytes) }.map_err(|_| DeviceError::OutOfMemory { bytes: ws_bytes })?;
        let (ws_ptr, _sync) = ws.device_ptr_mut(&stream);
        drop(_sync);
        let lane = Arc::new(Mutex::new(Lane {
            stream,
            blas,
            lt: LtHandle {
                handle,
                workspace: ws_ptr,
                workspace_bytes: ws_bytes,
            },
            _lt_workspace: ws,
            staging: Staging {
                ptr: std::ptr::null_mut(),
                cap: 0,
                done: None,
            },
        }));
        Self::lock(&self.lanes)?.insert(id, lane.clone());
        Ok(lane)
    }

    fn storage<'t>(&self, t: &'t DeviceTensor) -> Result<&'t CudaStorage> {
        if *t.device != *self.name {
            return Err(DeviceError::ForeignTensor {
                owner: t.device.to_string(),
            });
        }
        t.storage
            .downcast_ref::<CudaStorage>()
            .ok_or_else(|| DeviceError::ForeignTensor {
                owner: t.device.to_string(),
            })
    }

    fn alloc(&self, stream: &Arc<CudaStream>, bytes: usize) -> Result<CudaSlice<u8>> {
        // SAFETY: the memory is written by the kernel or copy that produces it before any read.
        unsafe { stream.alloc::<u8>(bytes.max(1)) }.map_err(|e| {
            if format!("{e:?}").contains("OUT_OF_MEMORY") {
                DeviceError::OutOfMemory { bytes }
            } else {
                driver("cuMemAllocAsync", e)
            }
        })
    }

    fn wrap(&self, t: &Tensor, buf: CudaSlice<u8>, bytes: usize) -> DeviceTensor {
        DeviceTensor {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            device: self.name.clone(),
            storage: Arc::new(CudaStorage { buf, bytes }),
        }
    }

    /// Upload on the calling thread's lane.
    fn upload_on(&self, lane: &mut Lane, t: &Tensor) -> Result<DeviceTensor> {
        let bytes = t.to_le_bytes().map_err(DeviceError::Kernel)?;
        let mut buf = self.alloc(&lane.stream, bytes.len())?;
        if !bytes.is_empty() {
            let stage = lane.staging.get(bytes.len())?;
            stage.copy_from_slice(&bytes);
            let (dst, _sync) = buf.device_ptr_mut(&lane.stream);
            // SAFETY: dst holds at least bytes.len() bytes; the staging buffer stays untouched
            // until the event recorded below has completed (`Staging::get` waits on it).
            unsafe { cudarc::driver::result::memcpy_htod_async(dst, stage, lane.stream.cu_stream()) }
                .map_err(|e| driver("cuMemcpyHtoDAsync", e))?;
            drop(_sync);
            let ev = lane.stream.record_event(None).map_err(|e| driver("cuEventRecord", e))?;
            lane.staging.done = Some(ev);
        }
        Ok(self.wrap(t, buf, bytes.len()))
    }
}

impl Device for CudaDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn supports(&self, spec: &KernelSpec) -> Support {
        match lower(spec, &self.target) {
            Ok(_) => Support::Native,
            Err(why) => Support::Unsupported(why),
        }
    }

    fn upload(&self, t: &Tensor) -> Result<DeviceTensor> {
        let lane = self.lane()?;
        let mut lane = Self::lock(&lane)?;
        self.upload_on(&mut lane, t)
    }

    fn download(&self, t: &DeviceTensor) -> Result<Tensor> {
        let s = self.storage(t)?;
        let lane = self.lane()?;
        let mut lane = Self::lock(&lane)?;
        let stream = lane.stream.clone();
        let n = t.byte_size();
        if n > s.bytes {
            return Err(DeviceError::Driver(format!(
                "{t:?} is larger than its {}-byte buffer",
                s.bytes
            )));
        }
        let stage = lane.staging.get(n)?;
        if n > 0 {
            let (src, _sync) = s.buf.device_ptr(&stream);
            // SAFETY: src holds at least n bytes; the stream is synchronised before reading.
            unsafe { cudarc::driver::result::memcpy_dtoh_async(stage, src, stream.cu_stream()) }
                .map_err(|e| driver("cuMemcpyDtoHAsync", e))?;
            drop(_sync);
        }
        stream.synchronize().map_err(|e| driver("cuStreamSynchronize", e))?;
        Tensor::from_le_bytes(t.dtype, t.shape.clone(), stage).map_err(DeviceError::Kernel)
    }

    fn compile(&self, spec: &KernelSpec) -> Result<Arc<dyn Kernel>> {
        let op = lower(spec, &self.target).map_err(|reason| DeviceError::Unsupported {
            kernel: spec.describe(),
            reason,
        })?;
        let arch = self.target.arch();
        let mut functions = Vec::new();
        for src in op.sources() {
            let key = (src.source.clone(), src.entry.clone());
            if let Some(f) = Self::lock(&self.functions)?.get(&key) {
                functions.push(f.clone());
                continue;
            }
            let ptx = cached_ptx(&src, &arch).map_err(|e| DeviceError::Driver(format!("NVRTC: {e}")))?;
            let module = self
                .ctx
                .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
                .map_err(|e| driver(&format!("loading the PTX of {}", src.name), e))?;
            let f = module
                .load_function(&src.entry)
                .map_err(|e| driver(&format!("finding {} in {}", src.entry, src.name), e))?;
            Self::lock(&self.functions)?.insert(key, f.clone());
            functions.push(f);
        }
        Ok(Arc::new(CudaKernel {
            spec: spec.clone(),
            op,
            functions,
        }))
    }

    fn launch(&self, kernel: &dyn Kernel, inputs: &[Option<&DeviceTensor>]) -> Result<Vec<DeviceTensor>> {
        let k = kernel
            .as_any()
            .downcast_ref::<CudaKernel>()
            .ok_or_else(|| DeviceError::Driver("kernel was compiled by another device".into()))?;
        let mut stores = Vec::with_capacity(inputs.len());
        let mut descs = Vec::with_capacity(inputs.len());
        for t in inputs {
            match t {
                Some(t) => {
                    stores.push(Some(self.storage(t)?));
                    descs.push(Some(InputDesc {
                        dtype: t.dtype,
                        shape: t.shape.clone(),
                    }));
                }
                None => {
                    stores.push(None);
                    descs.push(None);
                }
            }
        }
        let value_of = |i: usize| -> Result<Tensor> {
            let t = inputs
                .get(i)
                .copied()
                .flatten()
                .ok_or_else(|| DeviceError::Driver(format!("input {i} is missing")))?;
            self.download(t)
        };
        let name = k.spec.op.name();
        let mut cx = LaunchCx::new(name, descs, &value_of);
        k.op.launch(&mut cx)?;

        let lane = self.lane()?;
        let mut lane = Self::lock(&lane)?;
        let stream = lane.stream.clone();
        // Fresh buffers for outputs and scratch.
        let mut fresh: Vec<Option<CudaSlice<u8>>> = Vec::with_capacity(cx.outputs.len());
        let mut hosts: Vec<Option<DeviceTensor>> = Vec::with_capacity(cx.outputs.len());
        for o in &cx.outputs {
            let bytes = o.shape.iter().product::<usize>() * o.dtype.size();
            match &o.kind {
                OutputKind::New => {
                    fresh.push(Some(self.alloc(&stream, bytes)?));
                    hosts.push(None);
                }
                OutputKind::Host(t) => {
                    fresh.push(None);
                    hosts.push(Some(self.upload_on(&mut lane, t)?));
                }
                OutputKind::Alias(_) => {
                    fresh.push(None);
                    hosts.push(None);
                }
            }
        }
        let mut scratch = Vec::with_capacity(cx.scratch.len());
        for (dt, len) in &cx.scratch {
            scratch.push(self.alloc(&stream, dt.size() * len)?);
        }
        {
            // Device addresses for every buffer; the guards record cudarc's events when
            // dropped, after all steps are enqueued.
            let mut guards = Vec::new();
            let mut ins = vec![0 as CUdeviceptr; stores.len()];
            for (i, s) in stores.iter().enumerate() {
                if let Some(s) = s {
                    let (p, g) = s.buf.device_ptr(&stream);
                    ins[i] = p;
                    guards.push(g);
                }
            }
            let mut outs = vec![0 as CUdeviceptr; fresh.len()];
            for (i, b) in fresh.iter_mut().enumerate() {
                if let Some(b) = b {
                    let (p, g) = b.device_ptr_mut(&stream);
                    outs[i] = p;
                    guards.push(g);
                }
            }
            for (i, o) in cx.outputs.iter().enumerate() {
                if let OutputKind::Alias(j) = o.kind {
                    outs[i] = ins.get(j).copied().unwrap_or(0);
                }
            }
            let mut scr = vec![0 as CUdeviceptr; scratch.len()];
            for (i, b) in scratch.iter_mut().enumerate() {
                let (p, g) = b.device_ptr_mut(&stream);
                scr[i] = p;
                guards.push(g);
            }
            let addr = |b: Buf| -> Result<CUdeviceptr> {
                let p = match b {
                    Buf::In(i) => ins.get(i).copied(),
                    Buf::Out(i) => outs.get(i).copied(),
                    Buf::Scratch(i) => scr.get(i).copied(),
                };
                p.filter(|&p| p != 0)
                    .ok_or_else(|| DeviceError::Driver(format!("{name}: the launch refers to a missing buffer {b:?}")))
            };
            for step in &cx.steps {
                match step {
                    Step::Kernel(l) => {
                        let f = k.functions.get(l.source).ok_or_else(|| {
                            DeviceError::Driver(format!("{name}: launch of source {} that was not compiled", l.source))
                        })?;
                        // Argument values live in `vals`; the driver reads them through `params`.
                        let mut vals: Vec<Vec<u8>> = Vec::with_capacity(l.args.len());
                        for a in &l.args {
                            vals.push(match a {
                                Arg::Ptr(b) => addr(*b)?.to_ne_bytes().to_vec(),
                                Arg::I64(v) => v.to_ne_bytes().to_vec(),
                                Arg::I32(v) => v.to_ne_bytes().to_vec(),
                                Arg::F32(v) => v.to_ne_bytes().to_vec(),
                                Arg::F64(v) => v.to_ne_bytes().to_vec(),
                                Arg::Words(w) => w.iter().flat_map(|v| v.to_ne_bytes()).collect(),
                            });
                        }
                        let mut params: Vec<*mut c_void> =
                            vals.iter_mut().map(|v| v.as_mut_ptr() as *mut c_void).collect();
                        // SAFETY: the arguments match the kernel's signature (checked without a
                        // GPU by `ops::signature::check` in the tests) and every buffer is live
                        // until the guards drop.
                        unsafe {
                            cudarc::driver::result::launch_kernel(
                                f.cu_function(),
                                (l.grid[0], l.grid[1], l.grid[2]),
                                (l.block[0], l.block[1], l.block[2]),
                                l.shared_bytes,
                                stream.cu_stream(),
                                &mut params,
                            )
                        }
                        .map_err(|e| driver(&format!("launching {name}"), e))?;
                    }
                    Step::Gemm(g) => {
                        let es = g.dtype.size() as u64;
                        let (a, b, c) = (
                            addr(g.a)? + g.a_off as u64 * es,
                            addr(g.b)? + g.b_off as u64 * es,
                            addr(g.c)? + g.c_off as u64 * es,
                        );
                        // SAFETY: extents verified by `signature::check` in the tests; buffers
                        // live until the guards drop; both handles are bound to this stream.
                        unsafe {
                            if g.epilogue == super::launch::Epilogue::None {
                                blas::gemm(*lane.blas.handle(), g, a, b, c)?;
                            } else {
                                let bias = g.bias.map(&addr).transpose()?;
                                blas::gemm_lt(&lane.lt, stream.cu_stream(), g, a, b, c, bias)?;
                            }
                        }
                    }
                    Step::Copy(c) => {
                        let (src, dst) = (addr(c.src)?, addr(c.dst)?);
                        // SAFETY: offsets and sizes verified against the buffers by the tests.
                        unsafe {
                            cudarc::driver::result::memcpy_dtod_async(
                                dst + c.dst_offset as u64,
                                src + c.src_offset as u64,
                                c.bytes,
                                stream.cu_stream(),
                            )
                        }
                        .map_err(|e| driver("cuMemcpyDtoDAsync", e))?;
                    }
                }
            }
            drop(guards);
        }
        drop(scratch);
        let mut out = Vec::with_capacity(cx.outputs.len());
        for ((o, f), h) in cx.outputs.iter().zip(fresh).zip(hosts) {
            let bytes = o.shape.iter().product::<usize>() * o.dtype.size();
            out.push(match (&o.kind, f, h) {
                (_, Some(buf), _) => DeviceTensor {
                    dtype: o.dtype,
                    shape: o.shape.clone(),
                    device: self.name.clone(),
                    storage: Arc::new(CudaStorage { buf, bytes }),
                },
                (_, None, Some(t)) => t,
                (OutputKind::Alias(j), None, None) => {
                    let src = inputs
                        .get(*j)
                        .copied()
                        .flatten()
                        .ok_or_else(|| DeviceError::Driver(format!("{name}: alias of missing input {j}")))?;
                    DeviceTensor {
                        dtype: o.dtype,
                        shape: o.shape.clone(),
                        ..src.clone()
                    }
                }
                _ => return Err(DeviceError::Driver(format!("{name}: output without storage"))),
            });
        }
        Ok(out)
    }

    fn reserve(&self, bytes: usize) -> Result<()> {
        if bytes == 0 {
            return Ok(());
        }
        let lane = self.lane()?;
        let lane = Self::lock(&lane)?;
        // Allocating and freeing on the stream leaves the memory in the pool (its release
        // threshold was raised at open).
        drop(self.alloc(&lane.stream, bytes)?);
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        let lanes: Vec<_> = Self::lock(&self.lanes)?.values().cloned().collect();
        for l in lanes {
            let l = Self::lock(&l)?;
            l.stream.synchronize().map_err(|e| driver("cuStreamSynchronize", e))?;
        }
        Ok(())
    }
}
