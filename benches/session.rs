//! End-to-end latency of the embedded demo model on every available device, and the cost of
//! building a session. (Per-kernel benches arrive with the CPU-speed and GPU issues.)

use criterion::{criterion_group, criterion_main, Criterion};
use suanli::{Session, Tensor};

const DEMO: &[u8] = include_bytes!("../runtime/assets/demo.onnx");

fn bench_demo(c: &mut Criterion) {
    let image = Tensor::from_vec(
        vec![1, 3, 32, 32],
        (0..3 * 32 * 32).map(|i| (i % 17) as f32 / 17.0).collect::<Vec<_>>(),
    )
    .expect("image");
    for e in suanli_backends::enumerate() {
        if !e.available {
            println!("SKIPPED: {}: {}", e.name, e.reason);
            continue;
        }
        let session = Session::builder()
            .devices(&e.name)
            .build_from_bytes(DEMO)
            .expect("session");
        c.bench_function(&format!("demo_cnn/{}", e.name), |b| {
            // `run` returns host tensors, so device work is synchronised inside the closure.
            b.iter(|| session.run(&[("image", image.clone())]).expect("run"))
        });
    }
    c.bench_function("demo_cnn/session_build", |b| {
        b.iter(|| Session::builder().build_from_bytes(DEMO).expect("session"))
    });
}

criterion_group!(benches, bench_demo);
criterion_main!(benches);
