//! Shared helpers for the integration tests: test-data location and device selection.
#![allow(dead_code)]

use std::path::PathBuf;

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where `scripts/fetch_onnx_tests.sh` extracted the ONNX backend test data, if present.
/// In CI (`CI=true`) missing data is a failure, elsewhere the caller prints SKIPPED.
pub fn onnx_data() -> Option<PathBuf> {
    let dir = std::env::var("SUANLI_ONNX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".cache/onnx"));
    if dir.join("node").is_dir() {
        Some(dir)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "ONNX test data missing at {}: .ci/run must run scripts/fetch_onnx_tests.sh",
            dir.display()
        );
    } else {
        println!(
            "SKIPPED: ONNX test data not found at {} (run scripts/fetch_onnx_tests.sh)",
            dir.display()
        );
        None
    }
}

/// Devices to test: every available device, or `SUANLI_TEST_DEVICES` (comma list).
pub fn test_devices() -> Vec<String> {
    if let Ok(v) = std::env::var("SUANLI_TEST_DEVICES") {
        return v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    let mut out = Vec::new();
    for e in suanli_backends::enumerate() {
        if e.available {
            out.push(e.name.clone());
        } else {
            println!("SKIPPED: device {} is absent: {}", e.name, e.reason);
        }
    }
    out
}

/// The floor recorded for `key` in tests/floors.txt (`key value` lines).
pub fn floor(key: &str) -> Option<usize> {
    let text = std::fs::read_to_string(repo_root().join("tests/floors.txt")).ok()?;
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then(|| it.next()?.parse().ok()).flatten()
    })
}

/// Path of the `suanli` binary next to the test executable (built by `cargo build --release`
/// or by this function when missing).
pub fn suanli_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|p| p.parent()).expect("target dir").to_path_buf();
    let bin = dir.join(format!("suanli{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let release = dir.ends_with("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "suanli", "--bin", "suanli"])
            .current_dir(repo_root());
        if release {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(st.success(), "building the suanli binary failed");
    }
    bin
}

/// Run the CLI; returns (exit success, stdout, stderr).
pub fn cli(args: &[&str]) -> (bool, String, String) {
    cli_env(args, &[])
}

/// [`cli`] with extra environment variables.
pub fn cli_env(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = std::process::Command::new(suanli_bin())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run suanli");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Helpers to build small ONNX models in Rust for tests.
pub mod onnx_build {
    use prost::Message;
    use suanli::onnx::proto::*;

    /// A node.
    pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            name: name.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// A tensor value info with an ONNX element type code and dims (negative = symbolic `N`).
    pub fn tensor_info(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
        let dim = dims
            .iter()
            .map(|&d| Dimension {
                value: Some(if d < 0 {
                    DimValue::DimParam("N".into())
                } else {
                    DimValue::DimValue(d)
                }),
                denotation: String::new(),
            })
            .collect();
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(TypeValue::TensorType(TypeTensor {
                    elem_type: elem,
                    shape: Some(TensorShapeProto { dim }),
                })),
                denotation: String::new(),
            }),
            doc_string: String::new(),
        }
    }

    /// Serialize a model with the given nodes, inputs, outputs and initializers (opset 17).
    pub fn model(
        nodes: Vec<NodeProto>,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
        inits: Vec<TensorProto>,
    ) -> Vec<u8> {
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            graph: Some(GraphProto {
                node: nodes,
                name: "test".into(),
                initializer: inits,
                input: inputs,
                output: outputs,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }
}
