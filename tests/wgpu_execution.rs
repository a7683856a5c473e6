//! How the wgpu device executes a model: buffers stay on the device, a warmed-up run reuses
//! pooled buffers (no new allocations) and is recorded into very few submissions.

use std::sync::Arc;
use suanli::{Session, Tensor};
use suanli_backends::wgpu::WgpuDevice;

const DEMO: &[u8] = include_bytes!("../runtime/assets/demo.onnx");

#[test]
fn warm_runs_reuse_buffers_and_batch_submissions() {
    let dev = match WgpuDevice::open(0) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            println!("SKIPPED: no wgpu adapter: {e}");
            return;
        }
    };
    let session = Session::builder()
        .device(dev.clone())
        .policy(suanli::Policy::Deny)
        .build_from_bytes(DEMO)
        .expect("every node of the demo model runs on wgpu");
    let image = Tensor::from_vec(
        vec![1, 3, 32, 32],
        (0..3072).map(|i| (i % 13) as f32 / 13.0).collect::<Vec<_>>(),
    )
    .expect("image");
    let want = Session::builder()
        .build_from_bytes(DEMO)
        .expect("cpu")
        .run(&[("image", image.clone())])
        .expect("cpu run");
    for _ in 0..2 {
        session.run(&[("image", image.clone())]).expect("warm-up");
    }
    let (buffers, submits) = (dev.buffers_created(), dev.submissions());
    let got = session.run(&[("image", image.clone())]).expect("run");
    suanli::compare::check_tensor(&got[0].1, &want[0].1, 1e-4, 1e-5).expect("same result as the CPU");
    assert_eq!(
        dev.buffers_created(),
        buffers,
        "a warm run allocated new device buffers"
    );
    let per_run = dev.submissions() - submits;
    println!("warm run: {per_run} submission(s), 0 new buffers");
    assert!(per_run <= 2, "a run took {per_run} submissions");
}
