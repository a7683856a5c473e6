//! Every WGSL source the wgpu device can produce — generated elementwise programs and the
//! hand-written shaders in `shaders/` — parsed and validated by naga. Needs no GPU: the shaders
//! are rendered for a target with every optional feature (f16, f64, int64).

#[path = "conformance/conv.rs"]
mod conv;
#[path = "conformance/elementwise.rs"]
mod elementwise;
#[path = "conformance/image.rs"]
mod image;
#[path = "conformance/layout.rs"]
mod layout;
#[path = "conformance/linalg.rs"]
mod linalg;
#[path = "conformance/norm.rs"]
mod norm;
#[path = "conformance/pool.rs"]
mod pool;
#[path = "conformance/reduce.rs"]
mod reduce;

use std::collections::BTreeMap;
use suanli_backends::conformance::spec_for;
use suanli_backends::wgpu::ops::{lower, Target};

fn validate(name: &str, source: &str) -> Result<(), String> {
    let module =
        naga::front::wgsl::parse_str(source).map_err(|e| format!("{name}: parse: {}", e.emit_to_string(source)))?;
    let caps = naga::valid::Capabilities::FLOAT64
        | naga::valid::Capabilities::SHADER_INT64
        | naga::valid::Capabilities::SHADER_FLOAT16;
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| format!("{name}: validate: {}", e.emit_to_string(source)))?;
    Ok(())
}

#[test]
fn every_wgsl_source_validates_with_naga() {
    let mut cases = Vec::new();
    for f in [
        elementwise::cases,
        layout::cases,
        reduce::cases,
        norm::cases,
        linalg::cases,
        conv::cases,
        pool::cases,
        image::cases,
    ] {
        cases.extend(f());
    }
    // Distinct sources only: many cases share a shader.
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut lowered = 0;
    for c in &cases {
        let Ok(spec) = spec_for(&c.op, &c.inputs) else { continue };
        let Ok(op) = lower(&spec, &Target::ANY) else { continue };
        lowered += 1;
        for s in op.shaders() {
            sources
                .entry(s.source)
                .or_insert_with(|| format!("{} ({})", s.name, c.name));
        }
    }
    let mut errors = Vec::new();
    for (src, name) in &sources {
        if let Err(e) = validate(name, src) {
            errors.push(e);
        }
    }
    println!(
        "{} distinct WGSL sources from {lowered} lowered cases validated",
        sources.len()
    );
    assert!(
        errors.is_empty(),
        "{} invalid shaders:\n{}",
        errors.len(),
        errors.join("\n\n")
    );

    // Every hand-written shader is part of some validated source.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut unused = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("shaders/ exists").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let text = std::fs::read_to_string(&path).expect("readable shader");
            // Some files are templates with a placeholder or two filled in at lowering: a file is
            // covered when a validated source holds all of its lines but at most two.
            let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let covered = sources
                .keys()
                .any(|s| lines.iter().filter(|l| !s.contains(**l)).count() <= 2.min(lines.len() / 4));
            if !covered {
                unused.push(path.display().to_string());
            }
        }
    }
    assert!(
        unused.is_empty(),
        "hand-written shaders no conformance case renders: {unused:?}"
    );
    assert!(sources.len() >= 10, "suspiciously few shaders: {}", sources.len());
}
