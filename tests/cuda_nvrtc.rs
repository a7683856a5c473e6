//! The CUDA device without a GPU: every CUDA C source it can produce — generated elementwise
//! programs and the hand-written kernels in `shaders/*.cu` — compiled by NVRTC for sm_80 and
//! sm_90, and every launch the lowering records for the op suite checked against its kernel's
//! signature and its buffers' extents.

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

use rayon::prelude::*;
use std::collections::BTreeMap;
use suanli_backends::conformance::{random, spec_for, Case};
use suanli_backends::cuda::compile::compile_ptx;
use suanli_backends::cuda::launch::{InputDesc, LaunchCx};
use suanli_backends::cuda::loader::{require, Lib};
use suanli_backends::cuda::ops::{lower, signature, CudaSource, Target};
use suanli_backends::DeviceError;
use suanli_kernels::codegen::{ElementwiseProgram, Inst};
use suanli_kernels::ops::elementwise::{BinaryOp, ElementwiseOp, UnaryOp};
use suanli_kernels::ops::fused::{Activation, FusedOp};
use suanli_kernels::ops::linalg::GemmArgs;
use suanli_kernels::{DType, Op, Tensor};

/// Fused ops the graph passes produce, which the op suite does not list.
fn fused_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for dt in [DType::F32, DType::F16, DType::BF16] {
        for act in [
            Activation::None,
            Activation::Relu,
            Activation::Gelu,
            Activation::Clip(0.0, 6.0),
        ] {
            v.push(Case::new(
                format!("fused/matmul/{dt}/{act:?}"),
                Op::Fused(FusedOp::MatMul { act }),
                vec![
                    Some(random(dt, &[2, 5, 8], 1)),
                    Some(random(dt, &[8, 6], 2)),
                    Some(random(dt, &[6], 3)),
                ],
            ));
            let args = GemmArgs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            };
            v.push(Case::new(
                format!("fused/gemm/{dt}/{act:?}"),
                Op::Fused(FusedOp::Gemm { args, act }),
                vec![
                    Some(random(dt, &[3, 8], 1)),
                    Some(random(dt, &[6, 8], 2)),
                    Some(random(dt, &[6], 3)),
                ],
            ));
        }
    }
    // relu(x * sigmoid(x) + b): the shape the elementwise-fusion pass produces.
    for dt in [DType::F32, DType::F16, DType::BF16] {
        let inst = |op, args: Vec<usize>| Inst {
            op,
            args: args.into_iter().map(Some).collect(),
            dtype: dt,
        };
        let prog = ElementwiseProgram {
            inputs: vec![dt, dt],
            insts: vec![
                inst(ElementwiseOp::Unary(UnaryOp::Sigmoid), vec![0]),
                inst(ElementwiseOp::Binary(BinaryOp::Mul), vec![0, 2]),
                inst(ElementwiseOp::Binary(BinaryOp::Add), vec![3, 1]),
                inst(ElementwiseOp::Unary(UnaryOp::Relu), vec![4]),
            ],
            outputs: vec![5],
        };
        v.push(Case::new(
            format!("fused/elementwise/{dt}"),
            Op::Fused(FusedOp::Elementwise(prog)),
            vec![Some(random(dt, &[2, 3, 4, 5], 1)), Some(random(dt, &[3, 1, 1], 2))],
        ));
    }
    v
}

fn all_cases() -> Vec<Case> {
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
        fused_cases,
    ] {
        cases.extend(f());
    }
    cases
}

/// Record the launch of `case` on the lowered op and check it against the sources.
fn record(case: &Case, op: &dyn suanli_backends::cuda::ops::CudaOp, sources: &[CudaSource]) -> Result<(), String> {
    let descs: Vec<Option<InputDesc>> = case
        .inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| InputDesc {
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
            })
        })
        .collect();
    let value_of = |i: usize| -> Result<Tensor, DeviceError> {
        case.inputs
            .get(i)
            .cloned()
            .flatten()
            .ok_or_else(|| DeviceError::Driver(format!("input {i} missing")))
    };
    let mut cx = LaunchCx::new("case", descs, &value_of);
    if let Err(e) = op.launch(&mut cx) {
        // The CPU reference accepts the case, so the CUDA lowering must too.
        return Err(format!("launch recording failed: {e}"));
    }
    signature::check(sources, &cx)?;
    // Output types as the CPU computes them.
    let refs: Vec<Option<&Tensor>> = case.inputs.iter().map(|t| t.as_ref()).collect();
    if let Ok(want) = case.op.run(&refs) {
        let got: Vec<(DType, Vec<usize>)> = cx.outputs().iter().map(|o| (o.dtype, o.shape.clone())).collect();
        let want: Vec<(DType, Vec<usize>)> = want.iter().map(|t| (t.dtype(), t.shape().to_vec())).collect();
        if got != want {
            return Err(format!("outputs {got:?}, the CPU gives {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn cuda_launches_match_kernel_signatures() {
    let cases = all_cases();
    let mut lowered = 0;
    let mut errors = Vec::new();
    for c in &cases {
        let Ok(spec) = spec_for(&c.op, &c.inputs) else { continue };
        let Ok(op) = lower(&spec, &Target::SM80) else { continue };
        lowered += 1;
        if let Err(e) = record(c, op.as_ref(), &op.sources()) {
            errors.push(format!("{}: {e}", c.name));
        }
    }
    println!(
        "{lowered} of {} cases lower to CUDA; their launches were recorded and checked",
        cases.len()
    );
    assert!(
        errors.is_empty(),
        "{} bad launches:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(lowered >= 40, "suspiciously few cases lower to CUDA: {lowered}");
}

#[test]
fn every_cuda_source_compiles_with_nvrtc() {
    if let Err(why) = require(&[Lib::Nvrtc]) {
        println!("SKIPPED: libnvrtc cannot be loaded, so CUDA sources are not compiled: {why}");
        return;
    }
    let mut sources: BTreeMap<String, CudaSource> = BTreeMap::new();
    for c in all_cases() {
        let Ok(spec) = spec_for(&c.op, &c.inputs) else { continue };
        let Ok(op) = lower(&spec, &Target::SM80) else { continue };
        for s in op.sources() {
            sources.entry(s.source.clone()).or_insert(s);
        }
    }
    let jobs: Vec<(&CudaSource, &str)> = sources
        .values()
        .flat_map(|s| [(s, "compute_80"), (s, "compute_90")])
        .collect();
    let errors: Vec<String> = jobs
        .par_iter()
        .filter_map(|(s, arch)| compile_ptx(s, arch).err())
        .collect();
    println!(
        "{} distinct CUDA sources compiled with NVRTC {:?} for sm_80 and sm_90",
        sources.len(),
        suanli_backends::cuda::compile::nvrtc_version()
    );
    assert!(
        errors.is_empty(),
        "{} NVRTC failures:\n{}",
        errors.len(),
        errors.join("\n\n")
    );
    assert!(sources.len() >= 10, "suspiciously few CUDA sources: {}", sources.len());

    // Every hand-written kernel is part of some compiled source.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut unused = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("shaders/ exists").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "cu") {
            let text = std::fs::read_to_string(&path).expect("readable source");
            let covered = sources.keys().any(|s| s.contains(text.trim()));
            if !covered {
                unused.push(path.display().to_string());
            }
        }
    }
    assert!(
        unused.is_empty(),
        "hand-written CUDA sources no case compiles: {unused:?}"
    );
}
