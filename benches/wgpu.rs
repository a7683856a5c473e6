//! The wgpu device's kernels and an end-to-end model, each beside the CPU device in the same
//! run (the ratio is what to read; absolute times on shared machines drift). GPU work is
//! synchronised inside the timed closure. Without a wgpu adapter the benches print SKIPPED.
//!
//! `cargo bench --bench wgpu` (add `-- matmul` to run one group).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use suanli::{Session, Tensor};
use suanli_backends::conformance::{random, spec_for};
use suanli_backends::Device;
use suanli_kernels::ops::conv::{AutoPad, ConvOp, Window};
use suanli_kernels::ops::LinalgOp;
use suanli_kernels::{DType, Op};

const DEMO: &[u8] = include_bytes!("../runtime/assets/demo.onnx");

fn devices() -> Vec<Arc<dyn Device>> {
    let mut v = vec![];
    for name in ["wgpu", "cpu"] {
        match suanli_backends::open(name, &Default::default()) {
            Ok(d) => v.push(d),
            Err(e) => println!("SKIPPED: {name}: {e}"),
        }
    }
    v
}

/// Time one kernel on every device: upload once, then launch + synchronise per iteration.
fn bench_op(c: &mut Criterion, group: &str, id: &str, flops: u64, op: Op, inputs: Vec<Tensor>) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(flops));
    g.sample_size(10);
    let inputs: Vec<Option<Tensor>> = inputs.into_iter().map(Some).collect();
    let spec = spec_for(&op, &inputs).expect("spec");
    for dev in devices() {
        let name = dev.info().name.clone();
        if let suanli_backends::Support::Unsupported(why) = dev.supports(&spec) {
            println!("SKIPPED: {group}/{id} on {name}: {why}");
            continue;
        }
        let kernel = dev.compile(&spec).expect("compile");
        let args: Vec<_> = inputs
            .iter()
            .map(|t| dev.upload(t.as_ref().expect("input")).expect("upload"))
            .collect();
        let refs: Vec<_> = args.iter().map(Some).collect();
        g.bench_with_input(BenchmarkId::new(&name, id), &(), |b, _| {
            b.iter(|| {
                let out = dev.launch(kernel.as_ref(), &refs).expect("launch");
                dev.synchronize().expect("sync");
                out
            })
        });
    }
    g.finish();
}

fn bench_matmul(c: &mut Criterion) {
    for n in [256usize, 512, 1024, 2048] {
        let (a, b) = (random(DType::F32, &[n, n], 1), random(DType::F32, &[n, n], 2));
        bench_op(
            c,
            "matmul_f32",
            &n.to_string(),
            2 * (n * n * n) as u64,
            Op::Linalg(LinalgOp::MatMul),
            vec![a, b],
        );
    }
}

fn conv(k: usize, stride: usize, pad: usize) -> Op {
    Op::Conv(ConvOp::Conv {
        window: Window {
            kernel_shape: Some(vec![k, k]),
            strides: vec![stride, stride],
            dilations: vec![1, 1],
            pads: vec![pad; 4],
            auto_pad: AutoPad::NotSet,
        },
        group: 1,
    })
}

fn bench_conv(c: &mut Criterion) {
    // resnet50 layers: the 7x7 stem, a 3x3 bottleneck conv and a 1x1 expansion.
    let layers: [(&str, [usize; 4], [usize; 4], usize, usize, usize); 3] = [
        ("stem_7x7s2_3to64_224", [1, 3, 224, 224], [64, 3, 7, 7], 7, 2, 3),
        ("3x3_64to64_56", [1, 64, 56, 56], [64, 64, 3, 3], 3, 1, 1),
        ("1x1_64to256_56", [1, 64, 56, 56], [256, 64, 1, 1], 1, 1, 0),
    ];
    for (id, x, w, k, s, p) in layers {
        let out_hw = (x[2] + 2 * p - k) / s + 1;
        let flops = 2 * (w[0] * w[1] * k * k * out_hw * out_hw) as u64;
        let (xt, wt) = (random(DType::F32, &x, 1), random(DType::F32, &w, 2));
        bench_op(c, "conv_f32", id, flops, conv(k, s, p), vec![xt, wt]);
    }
}

fn bench_model(c: &mut Criterion) {
    let image = random(DType::F32, &[1, 3, 32, 32], 7);
    let mut g = c.benchmark_group("model_demo_cnn");
    g.sample_size(20);
    for dev in devices() {
        let name = dev.info().name.clone();
        let session = Session::builder()
            .devices(&name)
            .build_from_bytes(DEMO)
            .expect("session");
        // `run` returns host tensors: the device's work is complete when it returns.
        g.bench_function(&name, |b| {
            b.iter(|| session.run(&[("image", image.clone())]).expect("run"))
        });
    }
    g.finish();
    let resnet = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/onnx/light/light_resnet50.onnx");
    if !resnet.exists() {
        println!(
            "SKIPPED: model_resnet50: {} not found (run scripts/fetch_onnx_tests.sh)",
            resnet.display()
        );
        return;
    }
    let x = random(DType::F32, &[1, 3, 224, 224], 3);
    let mut g = c.benchmark_group("model_resnet50");
    g.sample_size(10);
    for dev in devices() {
        let name = dev.info().name.clone();
        let session = Session::builder()
            .devices(&name)
            .build_from_file(&resnet)
            .expect("session");
        let input = session.inputs()[0].0.clone();
        g.bench_function(&name, |b| {
            b.iter(|| session.run(&[(input.as_str(), x.clone())]).expect("run"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_matmul, bench_conv, bench_model);
criterion_main!(benches);
