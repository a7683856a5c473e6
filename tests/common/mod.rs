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
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next()? == key)
                .then(|| it.next()?.parse().ok())
                .flatten()
        })
}
