//! The official ONNX backend node tests (from the onnx==1.22.0 wheel) on every available
//! device, with the official tolerance (rtol 1e-3, atol 1e-7; exact dtype and shape).
//!
//! Writes `target/onnx-node-<device>-<policy>.txt` (per test and per op) and fails when a
//! device's pass count falls below its floor in `tests/floors.txt`.
//! `SUANLI_NODE_FILTER=relu,conv` runs only matching tests and prints each result.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use suanli::graph::Value;
use suanli::onnx::tensor::value_from_bytes;
use suanli::{Error, Policy, Session};

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Pass,
    Wrong(String),
    Unsupported(String),
    Failed(String),
}

fn run_one(dir: &Path, device: &str, policy: Policy) -> Outcome {
    let session = match Session::builder()
        .devices(device)
        .policy(policy)
        .threads(1)
        .build_from_file(dir.join("model.onnx"))
    {
        Ok(s) => s,
        Err(e @ Error::UnsupportedOp { .. }) => return Outcome::Unsupported(e.to_string()),
        Err(e @ Error::PolicyDenied { .. }) => return Outcome::Unsupported(e.to_string()),
        Err(e)
            if e.to_string().contains("not supported") || e.to_string().contains("unsupported") =>
        {
            return Outcome::Unsupported(e.to_string())
        }
        Err(e) => return Outcome::Failed(format!("load: {e}")),
    };
    let mut sets: Vec<_> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    sets.sort();
    for set in sets {
        let mut inputs = Vec::new();
        for (i, (name, ty)) in session.inputs().into_iter().enumerate() {
            let p = set.join(format!("input_{i}.pb"));
            if !p.exists() {
                continue; // omitted optional input
            }
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| value_from_bytes(&b, &ty).map_err(|e| e.to_string()))
            {
                Ok(v) => inputs.push((name, v)),
                Err(e) => return Outcome::Unsupported(format!("input {i}: {e}")),
            }
        }
        let outs = match session.run_values(inputs) {
            Ok(o) => o,
            Err(e @ Error::PolicyDenied { .. }) => return Outcome::Unsupported(e.to_string()),
            Err(e) if e.to_string().contains("unsupported") => {
                return Outcome::Unsupported(e.to_string())
            }
            Err(e) => return Outcome::Failed(format!("run: {e}")),
        };
        for (i, (name, got)) in outs.iter().enumerate() {
            let p = set.join(format!("output_{i}.pb"));
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let ty = session.outputs()[i].1.clone();
            let ty = match got {
                Value::Sequence(_) => suanli::graph::ValueType::Sequence(None),
                Value::Optional(_) => suanli::graph::ValueType::Optional(None),
                _ => ty,
            };
            let want = match value_from_bytes(&bytes, &ty) {
                Ok(v) => v,
                Err(e) => return Outcome::Unsupported(format!("expected output {i}: {e}")),
            };
            if let Err(e) = suanli::compare::check_value(got, &want, 1e-3, 1e-7) {
                return Outcome::Wrong(format!("output {i} ({name}): {e}"));
            }
        }
    }
    Outcome::Pass
}

fn main_op(dir: &Path) -> String {
    // The op under test is named in the test's folder name; the report groups by it.
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.trim_start_matches("test_");
    name.split('_').next().unwrap_or(name).to_string()
}

fn run_suite(
    data: &Path,
    device: &str,
    policy: Policy,
    filter: &Option<Vec<String>>,
) -> (usize, usize) {
    let mut tests: Vec<_> = std::fs::read_dir(data.join("node"))
        .expect("node dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    tests.sort();
    if let Some(f) = filter {
        tests.retain(|t| {
            let n = t
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            f.iter().any(|x| n.contains(x.as_str()))
        });
    }
    let total = tests.len();
    let tests = Arc::new(tests);
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(4);
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (tests, next, results, device) = (
                tests.clone(),
                next.clone(),
                results.clone(),
                device.to_string(),
            );
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(dir) = tests.get(i).cloned() else {
                    break;
                };
                let (tx, rx) = mpsc::channel();
                let (d2, dev2) = (dir.clone(), device.clone());
                std::thread::spawn(move || {
                    let r = std::panic::catch_unwind(|| run_one(&d2, &dev2, policy))
                        .unwrap_or_else(|p| {
                            let msg = p
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                            Outcome::Failed(format!("PANIC: {}", msg.unwrap_or_default()))
                        });
                    let _ = tx.send(r);
                });
                let r = rx
                    .recv_timeout(Duration::from_secs(120))
                    .unwrap_or(Outcome::Failed("timeout after 120 s".into()));
                results.lock().unwrap().push((dir, r));
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut results = Arc::try_unwrap(results).unwrap().into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut per_op: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut lines = String::new();
    let mut pass = 0;
    for (dir, r) in &results {
        let name = dir.file_name().unwrap().to_string_lossy();
        let (k, label, msg) = match r {
            Outcome::Pass => (0, "pass", String::new()),
            Outcome::Wrong(m) => (1, "wrong", m.clone()),
            Outcome::Unsupported(m) => (2, "unsupported", m.clone()),
            Outcome::Failed(m) => (3, "error", m.clone()),
        };
        if k == 0 {
            pass += 1;
        }
        per_op.entry(main_op(dir)).or_default()[k] += 1;
        let msg: String = msg.chars().take(300).collect();
        lines.push_str(&format!("{label:<12} {name} {msg}\n"));
    }
    let policy_name = format!("{policy:?}").to_lowercase();
    let mut report = format!("ONNX node tests on {device} (policy {policy_name}): {pass} / {total} pass\n\nper op: pass wrong unsupported error\n");
    for (op, c) in &per_op {
        report.push_str(&format!(
            "  {op:<28} {:>4} {:>4} {:>4} {:>4}\n",
            c[0], c[1], c[2], c[3]
        ));
    }
    report.push_str("\nper test:\n");
    report.push_str(&lines);
    let out = common::repo_root().join("target").join(format!(
        "onnx-node-{}-{policy_name}.txt",
        device.replace(':', "")
    ));
    let _ = std::fs::create_dir_all(out.parent().unwrap());
    let _ = std::fs::write(&out, &report);
    if filter.is_some() {
        print!("{lines}");
    }
    println!(
        "ONNX node tests on {device} (policy {policy_name}): {pass} / {total} pass; report: {}",
        out.display()
    );
    (pass, total)
}

#[test]
fn onnx_node_suite() {
    let Some(data) = common::onnx_data() else {
        return;
    };
    let filter = std::env::var("SUANLI_NODE_FILTER").ok().map(|f| {
        f.split(',')
            .map(|s| s.trim().to_string())
            .collect::<Vec<_>>()
    });
    let mut failures = Vec::new();
    for device in common::test_devices() {
        let policies: &[Policy] = if device == "cpu" {
            &[Policy::Allow]
        } else {
            &[Policy::Allow, Policy::Deny]
        };
        for &policy in policies {
            let (pass, _total) = run_suite(&data, &device, policy, &filter);
            if filter.is_some() {
                continue;
            }
            let key = format!(
                "onnx_node.{}.{}",
                device.replace(':', ""),
                format!("{policy:?}").to_lowercase()
            );
            match common::floor(&key) {
                Some(f) if pass < f => {
                    failures.push(format!("{key}: {pass} passed, below the floor {f}"))
                }
                Some(f) => println!("{key}: {pass} >= floor {f}"),
                None => failures.push(format!(
                    "{key}: no floor recorded in tests/floors.txt (passed {pass})"
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
