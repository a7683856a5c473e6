//! The `light_*` models from the onnx wheel, run through `suanli run` on every available
//! device: as shipped against the shipped reference, and with seeded random weights
//! (scripts/prepare_light_models.py) against onnxruntime's output. rtol 1e-3, atol 1e-4.

mod common;

use std::path::Path;
use suanli::graph::{Value, ValueType};
use suanli::onnx::tensor::value_from_bytes;

fn read_pb(path: &Path) -> suanli::Tensor {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match value_from_bytes(&bytes, &ValueType::Unknown).expect("decode") {
        Value::Tensor(t) => t,
        other => panic!("expected a tensor, got {}", other.describe()),
    }
}

fn run_cli(model: &Path, input_name: &str, input: &Path, device: &str, out_dir: &Path) -> suanli::Tensor {
    let _ = std::fs::remove_dir_all(out_dir);
    let input_arg = format!("{input_name}={}", input.display());
    let (ok, stdout, stderr) = common::cli(&[
        "run",
        &model.display().to_string(),
        "--device",
        device,
        "--input",
        &input_arg,
        "--output-dir",
        &out_dir.display().to_string(),
        "--output-format",
        "pb",
    ]);
    assert!(ok, "suanli run {} on {device} failed: {stderr}", model.display());
    println!("{}", stdout.trim());
    let mut files: Vec<_> = std::fs::read_dir(out_dir)
        .expect("output dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 1, "one output expected");
    read_pb(&files[0])
}

fn check_model(name: &str) {
    let Some(data) = common::onnx_data() else { return };
    let prepared = data.join("light-prepared");
    if !prepared.join(format!("{name}.random.onnx")).exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{} missing: .ci/run must run scripts/prepare_light_models.py",
                prepared.display()
            );
        }
        println!("SKIPPED: {name}: run scripts/prepare_light_models.py first");
        return;
    }
    let input = prepared.join(format!("{name}.input_0.pb"));
    let input_name = {
        let bytes = std::fs::read(&input).expect("input");
        use prost::Message;
        suanli::onnx::proto::TensorProto::decode(bytes.as_slice())
            .expect("input proto")
            .name
    };
    for device in common::test_devices() {
        let tmp = common::repo_root()
            .join("target")
            .join("light-out")
            .join(format!("{name}-{}", device.replace(':', "")));
        // As shipped (all weights 0.02) against the shipped reference.
        let got = run_cli(
            &data.join("light").join(format!("{name}.onnx")),
            &input_name,
            &input,
            &device,
            &tmp,
        );
        let want = read_pb(&data.join("light").join(format!("{name}_output_0.pb")));
        if let Err(e) = suanli::compare::check_tensor(&got, &want, 1e-3, 1e-4) {
            panic!("{name} as shipped on {device}: {e}");
        }
        // Random weights against onnxruntime.
        let got = run_cli(
            &prepared.join(format!("{name}.random.onnx")),
            &input_name,
            &input,
            &device,
            &tmp,
        );
        let want = read_pb(&prepared.join(format!("{name}.random.output_0.pb")));
        if let Err(e) = suanli::compare::check_tensor(&got, &want, 1e-3, 1e-4) {
            panic!("{name} with random weights on {device}: {e}");
        }
        if device != "cpu" {
            // The plan must put more than 90% of the model's FLOPs on the device itself.
            let session = suanli::Session::builder()
                .devices(&device)
                .build_from_file(data.join("light").join(format!("{name}.onnx")))
                .unwrap_or_else(|e| panic!("{name} on {device}: {e}"));
            let plan = session
                .default_plan()
                .unwrap_or_else(|e| panic!("{name} plan on {device}: {e}"));
            let share = plan
                .flops_share()
                .into_iter()
                .find(|(d, _)| *d == device)
                .map(|(_, f)| f)
                .unwrap_or(0.0);
            println!("{name} on {device}: {:.1}% of FLOPs placed on {device}", share * 100.0);
            assert!(share > 0.9, "{name}: only {:.1}% of FLOPs on {device}", share * 100.0);
        }
        println!("{name} on {device}: shipped and random-weight outputs match");
    }
}

#[test]
fn light_bvlc_alexnet() {
    check_model("light_bvlc_alexnet");
}
#[test]
fn light_densenet121() {
    check_model("light_densenet121");
}
#[test]
fn light_inception_v1() {
    check_model("light_inception_v1");
}
#[test]
fn light_inception_v2() {
    check_model("light_inception_v2");
}
#[test]
fn light_resnet50() {
    check_model("light_resnet50");
}
#[test]
fn light_shufflenet() {
    check_model("light_shufflenet");
}
#[test]
fn light_squeezenet() {
    check_model("light_squeezenet");
}
#[test]
fn light_vgg19() {
    check_model("light_vgg19");
}
#[test]
fn light_zfnet512() {
    check_model("light_zfnet512");
}
