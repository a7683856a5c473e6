//! Bad input never panics: malformed models, wrong inputs and unsupported ops give typed
//! errors whose messages name what is wrong — in the library and in the CLI.

mod common;

use common::onnx_build::{model, node, tensor_info};
use suanli::{Error, Session, Tensor};

const DEMO: &[u8] = include_bytes!("../runtime/assets/demo.onnx");

fn demo_session() -> Session {
    Session::builder().build_from_bytes(DEMO).expect("demo model loads")
}

#[test]
fn truncated_and_garbage_models_are_decode_errors() {
    for cut in [DEMO.len() / 2, DEMO.len() - 3, 7] {
        let e = Session::builder()
            .build_from_bytes(&DEMO[..cut])
            .err()
            .expect("truncated model must fail");
        assert!(matches!(e, Error::Decode { .. } | Error::InvalidModel(_)), "{e:?}");
        assert!(!e.to_string().is_empty());
    }
    let e = Session::builder()
        .build_from_bytes(b"this is not a model")
        .err()
        .expect("garbage must fail");
    assert!(matches!(e, Error::Decode { .. } | Error::InvalidModel(_)), "{e:?}");
    let e = Session::builder().build_from_bytes(&[]).err().expect("empty must fail");
    assert!(e.to_string().contains("no graph"), "{e}");
}

#[test]
fn corrupted_models_never_panic() {
    // Flip bytes at seeded positions; every outcome must be Ok or a typed error.
    let mut s = 0x2545F4914F6CDD1Du64;
    for _ in 0..300 {
        let mut bytes = DEMO.to_vec();
        for _ in 0..4 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let i = (s as usize) % bytes.len();
            bytes[i] ^= (s >> 32) as u8 | 1;
        }
        let r = std::panic::catch_unwind(|| {
            if let Ok(sess) = Session::builder().build_from_bytes(&bytes) {
                let x = Tensor::zeros(suanli::DType::F32, vec![1, 3, 32, 32]);
                let _ = sess.run(&[("image", x)]);
            }
        });
        assert!(r.is_ok(), "a corrupted model panicked");
    }
}

#[test]
fn wrong_inputs_are_named() {
    let s = demo_session();
    let good = Tensor::zeros(suanli::DType::F32, vec![1, 3, 32, 32]);
    let e = s.run(&[]).unwrap_err();
    assert!(matches!(&e, Error::MissingInput { name, .. } if name == "image"), "{e}");
    let e = s.run(&[("imag", good.clone())]).unwrap_err();
    assert!(matches!(&e, Error::UnknownInput { name, .. } if name == "imag"), "{e}");
    assert!(e.to_string().contains("image"), "message lists the real inputs: {e}");
    let e = s
        .run(&[("image", Tensor::zeros(suanli::DType::F64, vec![1, 3, 32, 32]))])
        .unwrap_err();
    assert!(matches!(&e, Error::InputDtype { .. }), "{e}");
    assert!(e.to_string().contains("f32") && e.to_string().contains("f64"), "{e}");
    let e = s
        .run(&[("image", Tensor::zeros(suanli::DType::F32, vec![3, 32, 32]))])
        .unwrap_err();
    assert!(matches!(&e, Error::InputShape { .. }), "{e}");
    let e = s
        .run(&[("image", Tensor::zeros(suanli::DType::F32, vec![1, 4, 32, 32]))])
        .unwrap_err();
    assert!(matches!(&e, Error::InputShape { .. }), "{e}");
    assert!(e.to_string().contains("image"), "{e}");
    let e = s.run(&[("image", good.clone()), ("image", good)]).unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
}

#[test]
fn unsupported_op_names_node_op_domain_and_opset() {
    let bytes = model(
        vec![node("NoSuchOp", "mystery", &["x"], &["y"])],
        vec![tensor_info("x", 1, &[2])],
        vec![tensor_info("y", 1, &[2])],
        vec![],
    );
    let e = Session::builder()
        .build_from_bytes(&bytes)
        .err()
        .expect("unsupported op must fail");
    let msg = e.to_string();
    assert!(matches!(e, Error::UnsupportedOp { .. }), "{msg}");
    for part in ["mystery", "NoSuchOp", "ai.onnx", "17"] {
        assert!(msg.contains(part), "{msg} should mention {part}");
    }
    let mut n = node("Foo", "custom", &["x"], &["y"]);
    n.domain = "com.example".into();
    let bytes = model(
        vec![n],
        vec![tensor_info("x", 1, &[2])],
        vec![tensor_info("y", 1, &[2])],
        vec![],
    );
    let msg = Session::builder()
        .build_from_bytes(&bytes)
        .err()
        .expect("unknown domain")
        .to_string();
    assert!(msg.contains("com.example") && msg.contains("Foo"), "{msg}");
}

#[test]
fn dangling_values_are_invalid_models() {
    let bytes = model(
        vec![node("Relu", "r", &["missing"], &["y"])],
        vec![tensor_info("x", 1, &[2])],
        vec![tensor_info("y", 1, &[2])],
        vec![],
    );
    let msg = Session::builder()
        .build_from_bytes(&bytes)
        .err()
        .expect("dangling input")
        .to_string();
    assert!(msg.contains("missing") && msg.contains('r'), "{msg}");
    let bytes = model(
        vec![],
        vec![tensor_info("x", 1, &[2])],
        vec![tensor_info("nowhere", 1, &[2])],
        vec![],
    );
    let msg = Session::builder()
        .build_from_bytes(&bytes)
        .err()
        .expect("dangling output")
        .to_string();
    assert!(msg.contains("nowhere"), "{msg}");
}

#[test]
fn cli_errors_are_one_line_and_nonzero() {
    let dir = common::repo_root().join("target").join("cli-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("truncated.onnx");
    std::fs::write(&bad, &DEMO[..DEMO.len() / 3]).unwrap();
    let demo = dir.join("demo.onnx");
    std::fs::write(&demo, DEMO).unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["run".into(), bad.display().to_string()],
        vec!["inspect".into(), dir.join("nope.onnx").display().to_string()],
        vec![
            "run".into(),
            demo.display().to_string(),
            "--input".into(),
            "wrong=x.npy".into(),
        ],
        vec![
            "run".into(),
            demo.display().to_string(),
            "--device".into(),
            "tpu:3".into(),
        ],
        vec!["run".into(), demo.display().to_string()],
    ];
    for args in cases {
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (ok, _out, err) = common::cli(&refs);
        assert!(!ok, "{args:?} should fail");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: expected one error line, got {err:?}");
        assert!(lines[0].starts_with("error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn model_local_functions_and_external_data_load() {
    use common::onnx_build::{model, node, tensor_info};
    use prost::Message;
    use suanli::onnx::proto::{FunctionProto, ModelProto, OperatorSetIdProto, StringStringEntryProto, TensorProto};
    // A model-local function `Twice(x) = Add(x, x)` applied to an input, plus an initializer whose
    // data lives in an external file.
    let dir = common::repo_root().join("target").join("external-data");
    std::fs::create_dir_all(&dir).unwrap();
    let weights: Vec<u8> = [1.0f32, 2.0, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut blob = vec![0u8; 8];
    blob.extend_from_slice(&weights);
    std::fs::write(dir.join("w.bin"), &blob).unwrap();
    let w = TensorProto {
        name: "w".into(),
        dims: vec![3],
        data_type: 1,
        data_location: 1,
        external_data: vec![
            StringStringEntryProto {
                key: "location".into(),
                value: "w.bin".into(),
            },
            StringStringEntryProto {
                key: "offset".into(),
                value: "8".into(),
            },
            StringStringEntryProto {
                key: "length".into(),
                value: "12".into(),
            },
        ],
        ..Default::default()
    };
    let mut call = node("Twice", "twice", &["x"], &["t"]);
    call.domain = "local".into();
    let bytes = model(
        vec![call, node("Mul", "mul", &["t", "w"], &["y"])],
        vec![tensor_info("x", 1, &[3])],
        vec![tensor_info("y", 1, &[3])],
        vec![w],
    );
    let mut m = ModelProto::decode(bytes.as_slice()).unwrap();
    m.opset_import.push(OperatorSetIdProto {
        domain: "local".into(),
        version: 1,
    });
    m.functions.push(FunctionProto {
        name: "Twice".into(),
        domain: "local".into(),
        input: vec!["a".into()],
        output: vec!["b".into()],
        node: vec![node("Add", "add", &["a", "a"], &["b"])],
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        ..Default::default()
    });
    let path = dir.join("model.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    let s = Session::builder()
        .build_from_file(&path)
        .expect("model with a local function and external data");
    let x = Tensor::from_vec(vec![3], vec![1.0f32, -1.0, 0.5]).unwrap();
    let y = s.run(&[("x", x)]).unwrap();
    assert_eq!(y[0].1.as_slice::<f32>().unwrap(), &[2.0, -4.0, 3.0]);
    // External data that points outside the model's folder is refused.
    let mut bad = m.clone();
    bad.graph.as_mut().unwrap().initializer[0].external_data[0].value = "../escape.bin".into();
    std::fs::write(dir.join("bad.onnx"), bad.encode_to_vec()).unwrap();
    let e = Session::builder()
        .build_from_file(dir.join("bad.onnx"))
        .err()
        .expect("escape must fail");
    assert!(e.to_string().contains("inside the model's folder"), "{e}");
}

#[test]
fn absent_wgpu_adapter_is_a_clear_error() {
    // Restrict wgpu to a backend this OS does not have: no adapter can be found.
    let backend = if cfg!(target_os = "windows") { "metal" } else { "dx12" };
    let env = [("WGPU_BACKEND", backend)];
    let (ok, _, stderr) = common::cli_env(&["demo", "--device", "wgpu"], &env);
    assert!(!ok, "demo on an absent adapter must fail");
    assert!(stderr.contains("wgpu is absent"), "{stderr}");
    assert!(stderr.contains("no Vulkan, Metal or DX12 adapter"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    let (_, text, _) = common::cli_env(&["devices"], &env);
    assert!(
        text.lines().any(|l| l.starts_with("wgpu") && l.contains("absent")),
        "{text}"
    );
}

#[test]
fn cuda_device_absence_names_the_missing_library() {
    // Wherever CUDA's libraries are missing (CI and this project's CPU machines), the device is
    // listed as absent with the libraries named, and using it is one clear error, not a panic.
    let entry = suanli_backends::enumerate()
        .into_iter()
        .find(|e| e.kind == "cuda")
        .expect("the cuda kind is always listed");
    if entry.available {
        println!(
            "SKIPPED: a CUDA device is present ({}); the absence path is not exercised",
            entry.reason
        );
        return;
    }
    assert!(
        entry.reason.contains("lib"),
        "the reason names libraries: {}",
        entry.reason
    );
    let (ok, _, stderr) = common::cli_env(&["demo", "--device", "cuda:0"], &[]);
    assert!(!ok, "demo on an absent CUDA device must fail");
    assert!(stderr.contains("cuda:0 is absent"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    let (_, text, _) = common::cli_env(&["devices"], &[]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("cuda:0") && l.contains("absent") && l.contains("not found")),
        "{text}"
    );
}
