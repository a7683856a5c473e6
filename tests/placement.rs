//! Placement with a second device that supports only a subset of ops: nodes it cannot run
//! fall back to the CPU, copies are inserted at crossings, every node's reason is recorded,
//! results match the CPU, and `Policy::Deny` lists every node the device cannot run.
//!
//! The device is defined here, outside the library, as a third-party port would be.

mod common;

use common::onnx_build::{model, node, tensor_info};
use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use suanli::{Error, Policy, Session, Tensor};
use suanli_backends::{Device, DeviceError, DeviceInfo, DeviceTensor, Kernel, Support};
use suanli_kernels::KernelSpec;

/// Device memory of the toy device: a boxed host tensor it alone can read.
struct ToyBuffer(Tensor);

struct ToyKernel(KernelSpec);
impl Kernel for ToyKernel {
    fn spec(&self) -> &KernelSpec {
        &self.0
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A device that runs only elementwise `Relu` and `Add`.
struct ToyDevice {
    info: DeviceInfo,
    launches: AtomicUsize,
    uploads: AtomicUsize,
}

impl ToyDevice {
    fn new() -> ToyDevice {
        ToyDevice {
            info: DeviceInfo {
                name: "toy".into(),
                kind: "toy".into(),
                description: "test device supporting Relu and Add".into(),
                memory_bytes: Some(1 << 30),
                peak_gflops: 1000.0,
                bandwidth_gbs: 1000.0,
                launch_us: 1.0,
                link_gbs: 10.0,
                capabilities: vec![],
            },
            launches: AtomicUsize::new(0),
            uploads: AtomicUsize::new(0),
        }
    }
    fn get<'a>(&self, t: &'a DeviceTensor) -> Result<&'a Tensor, DeviceError> {
        t.storage.downcast_ref::<ToyBuffer>().map(|b| &b.0).ok_or(DeviceError::ForeignTensor { owner: t.device.to_string() })
    }
}

impl Device for ToyDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }
    fn supports(&self, spec: &KernelSpec) -> Support {
        match spec.op.name() {
            "Relu" | "Add" => Support::Native,
            other => Support::Unsupported(format!("toy has no {other} kernel")),
        }
    }
    fn upload(&self, t: &Tensor) -> Result<DeviceTensor, DeviceError> {
        self.uploads.fetch_add(1, Ordering::SeqCst);
        Ok(DeviceTensor { dtype: t.dtype(), shape: t.shape().to_vec(), device: Arc::from("toy"), storage: Arc::new(ToyBuffer(t.clone())) })
    }
    fn download(&self, t: &DeviceTensor) -> Result<Tensor, DeviceError> {
        Ok(self.get(t)?.clone())
    }
    fn compile(&self, spec: &KernelSpec) -> Result<Arc<dyn Kernel>, DeviceError> {
        match self.supports(spec) {
            Support::Native => Ok(Arc::new(ToyKernel(spec.clone()))),
            Support::Unsupported(reason) => Err(DeviceError::Unsupported { kernel: spec.describe(), reason }),
        }
    }
    fn launch(&self, k: &dyn Kernel, inputs: &[Option<&DeviceTensor>]) -> Result<Vec<DeviceTensor>, DeviceError> {
        self.launches.fetch_add(1, Ordering::SeqCst);
        let host: Vec<Option<&Tensor>> = inputs.iter().map(|t| t.map(|t| self.get(t)).transpose()).collect::<Result<_, _>>()?;
        let outs = k.spec().op.run(&host)?;
        outs.iter().map(|t| self.upload(t)).collect()
    }
}

/// x -> Relu -> Sigmoid -> Add(+x) -> Relu -> y : Sigmoid must fall back to the CPU.
fn test_model() -> Vec<u8> {
    model(
        vec![
            node("Relu", "relu_a", &["x"], &["a"]),
            node("Sigmoid", "sigmoid_b", &["a"], &["b"]),
            node("Add", "add_c", &["b", "x"], &["c"]),
            node("Relu", "relu_y", &["c"], &["y"]),
        ],
        vec![tensor_info("x", 1, &[2, 3])],
        vec![tensor_info("y", 1, &[2, 3])],
        vec![],
    )
}

fn input() -> Tensor {
    Tensor::from_vec(vec![2, 3], vec![-1.0f32, 0.5, 2.0, -3.0, 0.0, 1.5]).unwrap()
}

#[test]
fn subset_device_falls_back_with_copies_and_reasons() {
    let toy = Arc::new(ToyDevice::new());
    let session = Session::builder().device(toy.clone()).build_from_bytes(&test_model()).expect("session");
    let cpu = Session::builder().devices("cpu").build_from_bytes(&test_model()).expect("cpu session");
    let got = session.run(&[("x", input())]).expect("run on toy+cpu");
    let want = cpu.run(&[("x", input())]).expect("run on cpu");
    suanli::compare::check_tensor(&got[0].1, &want[0].1, 1e-6, 1e-7).expect("same result as the CPU");

    let plan = session.default_plan().expect("plan");
    let by_node: std::collections::HashMap<_, _> = plan.placements.iter().map(|p| (p.node.as_str(), p)).collect();
    assert_eq!(by_node["relu_a"].device, "toy");
    assert_eq!(by_node["add_c"].device, "toy");
    assert_eq!(by_node["relu_y"].device, "toy");
    assert_eq!(by_node["sigmoid_b"].device, "cpu");
    assert!(by_node["sigmoid_b"].reason.contains("toy has no Sigmoid kernel"), "{}", by_node["sigmoid_b"].reason);
    for p in &plan.placements {
        assert!(!p.reason.is_empty(), "node {} has no reason", p.node);
    }
    // x goes to toy; a returns to the cpu for Sigmoid; b goes back to toy; y returns to the host.
    assert!(plan.copies.len() >= 3, "copies: {:?}", plan.copies);
    assert!(plan.copies.iter().any(|c| c.starts_with("b: cpu -> toy")), "{:?}", plan.copies);
    assert!(toy.launches.load(Ordering::SeqCst) >= 3);
    let report = plan.report();
    assert!(report.contains("sigmoid_b") && report.contains("copies"), "{report}");
}

#[test]
fn deny_policy_lists_every_unsupported_node() {
    let toy = Arc::new(ToyDevice::new());
    let bytes = model(
        vec![
            node("Sigmoid", "first_sigmoid", &["x"], &["a"]),
            node("Relu", "relu", &["a"], &["b"]),
            node("Tanh", "second_tanh", &["b"], &["y"]),
        ],
        vec![tensor_info("x", 1, &[2, 3])],
        vec![tensor_info("y", 1, &[2, 3])],
        vec![],
    );
    let session = Session::builder().device(toy).policy(Policy::Deny).build_from_bytes(&bytes).expect("session");
    let e = session.run(&[("x", input())]).unwrap_err();
    assert!(matches!(e, Error::PolicyDenied { count: 2, .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("first_sigmoid") && msg.contains("second_tanh") && !msg.contains("relu "), "{msg}");
}

#[test]
fn plans_are_cached_per_shape_signature() {
    let session = Session::builder().build_from_bytes(&test_model()).expect("session");
    let sig = |shape: &[usize]| vec![suanli::graph::ValueType::Tensor(suanli_kernels::TensorType::known(suanli::DType::F32, shape))];
    let a = session.plan_for(&sig(&[2, 3])).unwrap();
    let b = session.plan_for(&sig(&[2, 3])).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let m = &a.memory[0];
    assert!(m.peak_bytes > 0 && m.peak_bytes <= m.total_bytes + 256, "{m:?}");
}

#[test]
fn session_is_send_and_sync_and_runs_from_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Session>();
    let session = Arc::new(Session::builder().build_from_bytes(&test_model()).expect("session"));
    let want = session.run(&[("x", input())]).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = session.clone();
            std::thread::spawn(move || s.run(&[("x", input())]).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap()[0].1, want[0].1);
    }
}
