//! The wgpu device: Vulkan, Metal and DX12 GPUs (and Mesa's lavapipe on the CPU) through WGSL.
//!
//! Tensors live in pooled storage buffers between kernels. Launches are recorded into one
//! command encoder that is submitted only when a value is read back, when the host writes a
//! buffer, or when many dispatches are pending — so a model run is a handful of submissions.
//! Kernels are lowered per op family in [`ops`]; shaders are validated by naga at compile time.

pub mod launch;
pub mod memory;
pub mod ops;
#[cfg(test)]
pub(crate) mod tests;

use crate::device::{Device, DeviceError, DeviceInfo, DeviceTensor, Kernel, Result, Support};
use launch::{Buf, LaunchCx};
use memory::{from_device_bytes, padded_bytes, to_device_bytes, Caps, Pool, Repr, Storage};
use ops::{Target, WgslOp};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use suanli_kernels::{DType, KernelSpec, Tensor};
use wgpu::util::DeviceExt;

/// Dispatches recorded before the encoder is submitted on its own.
const MAX_PENDING: usize = 256;
/// Integer tensors up to this many elements keep a host mirror when uploaded.
const MIRROR_LIMIT: usize = 4096;

/// What `suanli devices` and the registry show for one adapter.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Adapter name.
    pub name: String,
    /// `Vulkan`, `Metal`, `Dx12` …
    pub backend: String,
    /// Driver name and version.
    pub driver: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` …
    pub device_type: String,
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    wgpu::Instance::new(desc)
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn adapters() -> Vec<wgpu::Adapter> {
    let mut list = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    list.retain(|a| a.get_info().backend != wgpu::Backend::Noop);
    list.sort_by_key(|a| rank(a.get_info().device_type));
    list
}

fn summary(i: &wgpu::AdapterInfo) -> AdapterSummary {
    AdapterSummary {
        name: i.name.clone(),
        backend: format!("{:?}", i.backend),
        driver: format!("{} {}", i.driver, i.driver_info).trim().to_string(),
        device_type: format!("{:?}", i.device_type),
    }
}

/// The adapters wgpu finds, best first (discrete, integrated, virtual, CPU). `wgpu:N` opens
/// the N-th. An empty list comes with the reason.
pub fn enumerate_adapters() -> std::result::Result<Vec<AdapterSummary>, String> {
    let list = adapters();
    if list.is_empty() {
        return Err(
            "wgpu found no Vulkan, Metal or DX12 adapter (on Linux without a GPU, install \
                    mesa-vulkan-drivers for the lavapipe software driver)"
                .into(),
        );
    }
    Ok(list.iter().map(|a| summary(&a.get_info())).collect())
}

struct Compiled {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// A kernel lowered to WGSL and compiled into pipelines.
pub struct WgpuKernel {
    spec: KernelSpec,
    op: Box<dyn WgslOp>,
    pipelines: Vec<Arc<Compiled>>,
}

impl Kernel for WgpuKernel {
    fn spec(&self) -> &KernelSpec {
        &self.spec
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[derive(Default)]
struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    dispatches: usize,
}

/// A wgpu adapter opened as a suanli device.
pub struct WgpuDevice {
    info: DeviceInfo,
    name: Arc<str>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    target: Target,
    pool: Arc<Pool>,
    pending: Mutex<Pending>,
    params: Mutex<HashMap<Vec<u32>, wgpu::Buffer>>,
    pipelines: Mutex<HashMap<String, Arc<Compiled>>>,
    readback: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    error: Arc<Mutex<Option<String>>>,
    submissions: std::sync::atomic::AtomicU64,
}

impl WgpuDevice {
    /// Open adapter `index` (in [`enumerate_adapters`] order) as device `wgpu` / `wgpu:N`.
    pub fn open(index: usize) -> Result<WgpuDevice> {
        let name = if index == 0 {
            "wgpu".to_string()
        } else {
            format!("wgpu:{index}")
        };
        let absent = |reason: String| DeviceError::Absent {
            device: name.clone(),
            reason,
        };
        let list = adapters();
        if list.is_empty() {
            return Err(absent(enumerate_adapters().err().unwrap_or_default()));
        }
        let n = list.len();
        let adapter = list
            .into_iter()
            .nth(index)
            .ok_or_else(|| absent(format!("only {n} adapter(s) found")))?;
        let ai = adapter.get_info();
        let have = adapter.features();
        let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::SHADER_F64 | wgpu::Features::SHADER_INT64;
        let features = have & wanted;
        let limits = adapter.limits();
        let mut desc = wgpu::DeviceDescriptor::default();
        desc.label = Some("suanli");
        desc.required_features = features;
        desc.required_limits = limits.clone();
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| absent(format!("{} refused a device: {e}", ai.name)))?;
        let error = Arc::new(Mutex::new(None::<String>));
        let sink = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut s) = sink.lock() {
                s.get_or_insert_with(|| e.to_string());
            }
        }));
        let caps = Caps {
            f16: features.contains(wgpu::Features::SHADER_F16),
            f64: features.contains(wgpu::Features::SHADER_F64),
            int64: features.contains(wgpu::Features::SHADER_INT64),
        };
        let target = Target {
            caps,
            max_storage_buffers: limits.max_storage_buffers_per_shader_stage,
            max_binding_bytes: limits.max_storage_buffer_binding_size.min(limits.max_buffer_size),
        };
        let s = summary(&ai);
        let (peak, bw, link) = match ai.device_type {
            wgpu::DeviceType::DiscreteGpu => (10_000.0, 400.0, 12.0),
            wgpu::DeviceType::IntegratedGpu => (1_000.0, 50.0, 20.0),
            wgpu::DeviceType::Cpu => (30.0, 10.0, 5.0),
            _ => (500.0, 50.0, 10.0),
        };
        let mut capabilities = vec![
            format!("backend={}", s.backend),
            format!("type={}", s.device_type),
            format!("driver={}", s.driver),
        ];
        for (f, on) in [
            ("shader-f16", caps.f16),
            ("shader-f64", caps.f64),
            ("shader-int64", caps.int64),
        ] {
            if on {
                capabilities.push(f.into());
            }
        }
        capabilities.extend([
            format!(
                "max_storage_buffer_binding_size={}",
                limits.max_storage_buffer_binding_size
            ),
            format!("max_buffer_size={}", limits.max_buffer_size),
            format!(
                "max_storage_buffers_per_shader_stage={}",
                limits.max_storage_buffers_per_shader_stage
            ),
            format!(
                "max_compute_workgroups_per_dimension={}",
                limits.max_compute_workgroups_per_dimension
            ),
            format!(
                "max_compute_invocations_per_workgroup={}",
                limits.max_compute_invocations_per_workgroup
            ),
            format!(
                "max_compute_workgroup_storage_size={}",
                limits.max_compute_workgroup_storage_size
            ),
        ]);
        let info = DeviceInfo {
            name: name.clone(),
            kind: "wgpu".into(),
            description: format!("{} ({}, {})", s.name, s.backend, s.driver),
            memory_bytes: None,
            peak_gflops: peak,
            bandwidth_gbs: bw,
            launch_us: 20.0,
            link_gbs: link,
            capabilities,
        };
        Ok(WgpuDevice {
            info,
            name: Arc::from(name.as_str()),
            device,
            queue,
            target,
            pool: Arc::new(Pool::new(2 << 30)),
            pending: Mutex::new(Pending::default()),
            params: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            readback: Mutex::new(HashMap::new()),
            error,
            submissions: Default::default(),
        })
    }

    /// What the lowering may assume about this adapter.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Command buffers submitted since the device opened (a run should need very few).
    pub fn submissions(&self) -> u64 {
        self.submissions.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Storage buffers created (rather than reused from the pool) since the device opened.
    pub fn buffers_created(&self) -> u64 {
        self.pool.created.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
        m.lock()
            .map_err(|_| DeviceError::Driver("wgpu device state poisoned by an earlier panic".into()))
    }

    fn check_error(&self) -> Result<()> {
        match Self::lock(&self.error)?.take() {
            Some(e) => Err(DeviceError::Driver(format!("wgpu reported: {e}"))),
            None => Ok(()),
        }
    }

    pub(crate) fn storage<'t>(&self, t: &'t DeviceTensor) -> Result<&'t Storage> {
        if *t.device != *self.name {
            return Err(DeviceError::ForeignTensor {
                owner: t.device.to_string(),
            });
        }
        t.storage
            .downcast_ref::<Storage>()
            .ok_or_else(|| DeviceError::ForeignTensor {
                owner: t.device.to_string(),
            })
    }

    pub(crate) fn storage_arc(&self, t: &DeviceTensor) -> Result<Arc<Storage>> {
        self.storage(t)?;
        t.storage
            .clone()
            .downcast::<Storage>()
            .map_err(|_| DeviceError::ForeignTensor {
                owner: t.device.to_string(),
            })
    }

    fn repr(&self, dtype: DType) -> Result<Repr> {
        self.target.repr(dtype).map_err(|reason| DeviceError::Unsupported {
            kernel: format!("{dtype} tensor"),
            reason,
        })
    }

    /// A pooled buffer for `shape` elements of `dtype`, checked against the binding limit.
    fn buffer_for(&self, dtype: DType, shape: &[usize]) -> Result<(Repr, wgpu::Buffer)> {
        let repr = self.repr(dtype)?;
        let n: usize = shape.iter().product();
        let bytes = padded_bytes(n, repr);
        if bytes > self.target.max_binding_bytes {
            return Err(DeviceError::Unsupported {
                kernel: format!("{dtype}{shape:?} tensor"),
                reason: format!(
                    "{bytes} bytes exceed the adapter's storage-binding limit of {}",
                    self.target.max_binding_bytes
                ),
            });
        }
        Ok((repr, self.pool.take(&self.device, bytes)?))
    }

    fn tensor(&self, dtype: DType, shape: Vec<usize>, storage: Storage) -> DeviceTensor {
        DeviceTensor {
            dtype,
            shape,
            device: self.name.clone(),
            storage: Arc::new(storage),
        }
    }

    /// A fresh (pooled) buffer for a tensor of `dtype` and `shape`; contents undefined.
    pub(crate) fn alloc(&self, dtype: DType, shape: Vec<usize>) -> Result<DeviceTensor> {
        let (repr, buf) = self.buffer_for(dtype, &shape)?;
        Ok(self.tensor(dtype, shape, Storage::new(buf, self.pool.clone(), repr, None)))
    }

    /// Submit the pending encoder, if any.
    fn flush_locked(&self, p: &mut Pending) -> Result<Option<wgpu::SubmissionIndex>> {
        let Some(enc) = p.encoder.take() else { return Ok(None) };
        p.dispatches = 0;
        let idx = self.queue.submit([enc.finish()]);
        self.submissions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.check_error()?;
        Ok(Some(idx))
    }

    pub(crate) fn upload_mirrored(&self, t: &Tensor) -> Result<DeviceTensor> {
        let bytes = to_device_bytes(t, self.target.caps)?;
        let (repr, buf) = self.buffer_for(t.dtype(), t.shape())?;
        {
            // A pooled buffer may still be read by recorded-but-unsubmitted work; queue writes
            // land before the next submission, so submit that work first.
            let mut p = Self::lock(&self.pending)?;
            self.flush_locked(&mut p)?;
            self.queue.write_buffer(&buf, 0, &bytes);
        }
        let mirror = (t.dtype().is_int() && t.len() <= MIRROR_LIMIT).then(|| t.clone());
        let storage = Storage::new(buf, self.pool.clone(), repr, mirror);
        Ok(self.tensor(t.dtype(), t.shape().to_vec(), storage))
    }

    /// Copy a device tensor to the host, submitting pending work first.
    pub(crate) fn read_back(&self, t: &DeviceTensor) -> Result<Tensor> {
        let s = self.storage(t)?;
        let bytes = padded_bytes(t.len(), s.repr);
        let rb = Self::lock(&self.readback)?.get_mut(&bytes).and_then(|v| v.pop());
        let rb = match rb {
            Some(b) => b,
            None => self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("suanli readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        };
        let idx = {
            let mut p = Self::lock(&self.pending)?;
            let mut enc = p
                .encoder
                .take()
                .unwrap_or_else(|| self.device.create_command_encoder(&Default::default()));
            enc.copy_buffer_to_buffer(s.buffer(), 0, &rb, 0, bytes);
            p.encoder = Some(enc);
            self.flush_locked(&mut p)?
        };
        let slice = rb.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: idx,
                timeout: None,
            })
            .map_err(|e| DeviceError::Driver(format!("waiting for the GPU failed: {e}")))?;
        rx.recv()
            .map_err(|_| DeviceError::Driver("buffer mapping was cancelled".into()))?
            .map_err(|e| DeviceError::Driver(format!("cannot map the read-back buffer: {e}")))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| DeviceError::Driver(format!("cannot read the mapped buffer: {e}")))?;
            from_device_bytes(&view, t.dtype, &t.shape, self.target.caps)
        };
        rb.unmap();
        Self::lock(&self.readback)?.entry(bytes).or_default().push(rb);
        self.check_error()?;
        out
    }

    fn params_buffer(&self, params: &[u32]) -> Result<wgpu::Buffer> {
        let mut cache = Self::lock(&self.params)?;
        if let Some(b) = cache.get(params) {
            return Ok(b.clone());
        }
        if cache.len() > 16_384 {
            cache.clear(); // pending work keeps its buffers alive
        }
        let words: &[u32] = if params.is_empty() { &[0] } else { params };
        let b = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("suanli params"),
            contents: bytemuck::cast_slice(words),
            usage: wgpu::BufferUsages::STORAGE,
        });
        cache.insert(params.to_vec(), b.clone());
        Ok(b)
    }

    fn pipeline(&self, shader: &ops::Shader) -> Result<Arc<Compiled>> {
        if let Some(c) = Self::lock(&self.pipelines)?.get(&shader.source) {
            return Ok(c.clone());
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&shader.name),
            source: wgpu::ShaderSource::Wgsl(shader.source.as_str().into()),
        });
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&shader.name),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(DeviceError::Driver(format!(
                "WGSL shader {} does not compile: {e}",
                shader.name
            )));
        }
        let layout = pipeline.get_bind_group_layout(0);
        let c = Arc::new(Compiled { pipeline, layout });
        Self::lock(&self.pipelines)?.insert(shader.source.clone(), c.clone());
        Ok(c)
    }
}

impl Device for WgpuDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn supports(&self, spec: &KernelSpec) -> Support {
        match ops::lower(spec, &self.target) {
            Ok(_) => Support::Native,
            Err(why) => Support::Unsupported(why),
        }
    }

    fn upload(&self, t: &Tensor) -> Result<DeviceTensor> {
        self.upload_mirrored(t)
    }

    fn download(&self, t: &DeviceTensor) -> Result<Tensor> {
        self.read_back(t)
    }

    fn compile(&self, spec: &KernelSpec) -> Result<Arc<dyn Kernel>> {
        let op = ops::lower(spec, &self.target).map_err(|reason| DeviceError::Unsupported {
            kernel: spec.describe(),
            reason,
        })?;
        let pipelines = op
            .shaders()
            .iter()
            .map(|s| self.pipeline(s))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(WgpuKernel {
            spec: spec.clone(),
            op,
            pipelines,
        }))
    }

    fn launch(&self, kernel: &dyn Kernel, inputs: &[Option<&DeviceTensor>]) -> Result<Vec<DeviceTensor>> {
        let k = kernel
            .as_any()
            .downcast_ref::<WgpuKernel>()
            .ok_or_else(|| DeviceError::Driver("kernel was compiled by another device".into()))?;
        for t in inputs.iter().flatten() {
            self.storage(t)?;
        }
        let mut cx = LaunchCx {
            dev: self,
            inputs,
            outputs: Vec::new(),
            scratch: Vec::new(),
            dispatches: Vec::new(),
            op_name: k.spec.op.name(),
        };
        k.op.launch(&mut cx)?;
        let LaunchCx {
            outputs,
            scratch,
            dispatches,
            ..
        } = cx;
        if dispatches.is_empty() {
            return Ok(outputs);
        }
        // Resolve every binding before taking the encoder lock.
        let mut groups = Vec::with_capacity(dispatches.len());
        for d in &dispatches {
            let c = k.pipelines.get(d.shader).ok_or_else(|| {
                DeviceError::Driver(format!("internal: {} has no shader {}", k.spec.op.name(), d.shader))
            })?;
            let params = self.params_buffer(&d.params)?;
            let mut bufs: Vec<&wgpu::Buffer> = vec![&params];
            for b in &d.bufs {
                bufs.push(match *b {
                    Buf::In(i) => self
                        .storage(inputs.get(i).copied().flatten().ok_or_else(|| {
                            DeviceError::Driver(format!("internal: {} binds missing input {i}", k.spec.op.name()))
                        })?)?
                        .buffer(),
                    Buf::Out(i) => self
                        .storage(outputs.get(i).ok_or_else(|| {
                            DeviceError::Driver(format!("internal: {} binds missing output {i}", k.spec.op.name()))
                        })?)?
                        .buffer(),
                    Buf::Scratch(i) => scratch
                        .get(i)
                        .ok_or_else(|| DeviceError::Driver(format!("internal: missing scratch {i}")))?
                        .buffer(),
                });
            }
            let entries: Vec<wgpu::BindGroupEntry> = bufs
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect();
            let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &c.layout,
                entries: &entries,
            });
            groups.push((c.clone(), group, d.grid));
        }
        let mut p = Self::lock(&self.pending)?;
        let mut enc = p
            .encoder
            .take()
            .unwrap_or_else(|| self.device.create_command_encoder(&Default::default()));
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(k.spec.op.name()),
                timestamp_writes: None,
            });
            for (c, group, grid) in &groups {
                pass.set_pipeline(&c.pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(grid[0], grid[1], grid[2]);
            }
        }
        p.dispatches += groups.len();
        p.encoder = Some(enc);
        if p.dispatches >= MAX_PENDING {
            self.flush_locked(&mut p)?;
        }
        Ok(outputs)
    }

    fn synchronize(&self) -> Result<()> {
        let idx = {
            let mut p = Self::lock(&self.pending)?;
            self.flush_locked(&mut p)?
        };
        if let Some(idx) = idx {
            self.device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(idx),
                    timeout: None,
                })
                .map_err(|e| DeviceError::Driver(format!("waiting for the GPU failed: {e}")))?;
        }
        self.check_error()
    }
}
