//! The CUDA device: GEMM f32/f16/bf16 at 1024–8192 and resnet50 (light, random weights from the
//! prepared test data) at batch 1 and 32. GPU work is synchronised inside the timed closure.
//! PyTorch's `torch.matmul` and a resnet50 of the same shapes are measured beside it by
//! `scripts/compare_torch.py` (read the ratio; absolute times on shared machines drift).
//! Without a CUDA device every bench prints SKIPPED.
//!
//! `cargo bench --bench cuda` (add `-- gemm` to run one group).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use suanli::Session;
use suanli_backends::conformance::{random, spec_for};
use suanli_backends::Device;
use suanli_kernels::ops::LinalgOp;
use suanli_kernels::{DType, Op, Tensor};

fn cuda() -> Option<Arc<dyn Device>> {
    match suanli_backends::open("cuda:0", &Default::default()) {
        Ok(d) => Some(d),
        Err(e) => {
            println!("SKIPPED: cuda benches: {e}");
            None
        }
    }
}

fn bench_gemm(c: &mut Criterion) {
    let Some(dev) = cuda() else { return };
    for dt in [DType::F32, DType::F16, DType::BF16] {
        let mut g = c.benchmark_group(format!("gemm_{dt}"));
        g.sample_size(10);
        for n in [1024usize, 2048, 4096, 8192] {
            g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
            let inputs: Vec<Option<Tensor>> = vec![Some(random(dt, &[n, n], 1)), Some(random(dt, &[n, n], 2))];
            let spec = spec_for(&Op::Linalg(LinalgOp::MatMul), &inputs).expect("spec");
            let kernel = dev.compile(&spec).expect("compile");
            let args: Vec<_> = inputs
                .iter()
                .flatten()
                .map(|t| dev.upload(t).expect("upload"))
                .collect();
            let refs: Vec<_> = args.iter().map(Some).collect();
            g.bench_with_input(BenchmarkId::new("cuda:0", n), &(), |b, _| {
                b.iter(|| {
                    let out = dev.launch(kernel.as_ref(), &refs).expect("launch");
                    dev.synchronize().expect("sync");
                    out
                })
            });
        }
        g.finish();
    }
}

fn bench_resnet50(c: &mut Criterion) {
    if cuda().is_none() {
        return;
    }
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/onnx/light-prepared/light_resnet50.random.onnx");
    if !model.exists() {
        println!(
            "SKIPPED: resnet50: {} not found (run scripts/test.sh once)",
            model.display()
        );
        return;
    }
    let mut g = c.benchmark_group("resnet50");
    g.sample_size(10);
    for batch in [1usize, 32] {
        let session = Session::builder()
            .devices("cuda:0")
            .build_from_file(&model)
            .expect("session");
        let input = session.inputs()[0].0.clone();
        let x = random(DType::F32, &[batch, 3, 224, 224], 3);
        if let Err(e) = session.run(&[(input.as_str(), x.clone())]) {
            println!("SKIPPED: resnet50 batch {batch}: {e}");
            continue;
        }
        // `run` returns host tensors: the device's work is complete when it returns.
        g.bench_function(BenchmarkId::new("cuda:0", batch), |b| {
            b.iter(|| session.run(&[(input.as_str(), x.clone())]).expect("run"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_gemm, bench_resnet50);
criterion_main!(benches);
