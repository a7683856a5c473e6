//! Test helpers for the CUDA families: lower a spec, record its launch on real inputs, check
//! every step against its kernel's signature and the outputs against the CPU reference.

use super::{lower, signature, CudaSource, Target};
use crate::conformance::spec_for;
use crate::cuda::launch::{Arg, InputDesc, LaunchCx, Output, OutputKind, Step};
use suanli_kernels::{DType, Op, Tensor};

/// What one recorded launch left behind.
pub struct Recorded {
    pub sources: Vec<CudaSource>,
    pub steps: Vec<Step>,
    pub outputs: Vec<Output>,
    pub scratch: Vec<(DType, usize)>,
}

impl Recorded {
    /// The entry points of the kernel steps, in order.
    pub fn entries(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Kernel(k) => Some(self.sources[k.source].entry.clone()),
                _ => None,
            })
            .collect()
    }

    /// Number of GEMM steps.
    pub fn gemms(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Gemm(_))).count()
    }
}

/// Words of the by-value struct `name` declared in `src` (every field `long long`).
fn struct_words(src: &str, name: &str) -> Option<usize> {
    let at = src.find(&format!("struct {name} {{"))?;
    let rest = &src[at..];
    let body = &rest[rest.find('{')? + 1..rest.find("};")?];
    let text: Vec<&str> = body.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
    let mut words = 0;
    for decl in text.join(" ").split(';') {
        let decl = decl.trim();
        if decl.is_empty() {
            continue;
        }
        let fields = decl.strip_prefix("long long")?;
        for f in fields.split(',') {
            let mut n = 1;
            for part in f.split('[').skip(1) {
                n *= part.trim().trim_end_matches(']').trim().parse::<usize>().ok()?;
            }
            words += n;
        }
    }
    Some(words)
}

/// The type names of `entry`'s parameters.
fn param_types(src: &str, entry: &str) -> Vec<String> {
    let head = format!("void {entry}(");
    let at = src.find(&head).expect("entry point") + head.len();
    let list = &src[at..at + src[at..].find(')').expect("parameter list")];
    list.split(',')
        .map(|p| {
            p.split_whitespace()
                .find(|w| !matches!(*w, "const" | "unsigned" | "signed"))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// Check the launch-level limits and the struct sizes of every kernel step.
fn check_steps(rec: &Recorded) {
    for s in &rec.steps {
        let Step::Kernel(k) = s else { continue };
        let threads: u32 = k.block.iter().product();
        assert!(threads <= 1024, "{:?} threads per block", k.block);
        assert!(k.shared_bytes <= 48 * 1024, "{} bytes of shared memory", k.shared_bytes);
        assert!(k.grid[1] <= 65_535 && k.grid[2] <= 65_535, "grid {:?}", k.grid);
        let src = &rec.sources[k.source];
        let types = param_types(&src.source, &src.entry);
        for (a, ty) in k.args.iter().zip(&types) {
            if let Arg::Words(w) = a {
                let want =
                    struct_words(&src.source, ty).unwrap_or_else(|| panic!("{}: cannot size struct {ty}", src.name));
                assert_eq!(w.len(), want, "{}: {} words passed for struct {ty}", src.name, w.len());
            }
        }
    }
}

/// With `CUDA_DUMP=dir` set, write every source to `dir` (named by a hash of its text) for an
/// NVRTC check outside the tests.
fn dump(sources: &[CudaSource]) {
    use std::hash::{Hash, Hasher};
    let Ok(dir) = std::env::var("CUDA_DUMP") else { return };
    let _ = std::fs::create_dir_all(&dir);
    for s in sources {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.source.hash(&mut h);
        let _ = std::fs::write(format!("{dir}/{}_{:016x}.cu", s.name, h.finish()), &s.source);
    }
}

/// Lower `op` for these inputs (their types only), or the lowering's refusal.
pub fn lowered(op: &Op, inputs: &[Option<Tensor>]) -> Result<Box<dyn super::CudaOp>, String> {
    let spec = spec_for(op, inputs)?;
    lower(&spec, &Target::SM80)
}

/// Record `op` on `inputs` (lowering must succeed), or the launch's error.
pub fn try_record(op: &Op, inputs: &[Option<Tensor>]) -> Result<Recorded, String> {
    let k = lowered(op, inputs).unwrap_or_else(|e| panic!("{} does not lower: {e}", op.name()));
    let descs: Vec<Option<InputDesc>> = inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| InputDesc {
                dtype: t.dtype(),
                shape: t.shape().to_vec(),
            })
        })
        .collect();
    let values = |i: usize| -> crate::device::Result<Tensor> {
        inputs[i]
            .clone()
            .ok_or_else(|| crate::device::DeviceError::Driver(format!("input {i} is missing")))
    };
    let mut cx = LaunchCx::new("test", descs, &values);
    k.launch(&mut cx).map_err(|e| e.to_string())?;
    let sources = k.sources();
    dump(&sources);
    signature::check(&sources, &cx)?;
    Ok(Recorded {
        sources,
        steps: cx.steps().to_vec(),
        outputs: cx.outputs().to_vec(),
        scratch: cx.scratch_buffers().to_vec(),
    })
}

/// Record `op` on `inputs` and check it: signatures, launch limits, struct sizes, and output
/// dtypes and shapes (values too, for host outputs) against the CPU kernel.
pub fn check(op: &Op, inputs: Vec<Option<Tensor>>) -> Recorded {
    let rec = try_record(op, &inputs).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
    check_steps(&rec);
    let refs: Vec<Option<&Tensor>> = inputs.iter().map(|t| t.as_ref()).collect();
    let want = op
        .run(&refs)
        .unwrap_or_else(|e| panic!("the CPU rejects the case: {e}"));
    assert!(
        rec.outputs.len() >= want.len(),
        "{}: {} outputs, the CPU gives {}",
        op.name(),
        rec.outputs.len(),
        want.len()
    );
    for (i, (got, w)) in rec.outputs.iter().zip(&want).enumerate() {
        assert_eq!(got.dtype, w.dtype(), "{}: output {i} dtype", op.name());
        assert_eq!(got.shape, w.shape(), "{}: output {i} shape", op.name());
        if let OutputKind::Host(t) = &got.kind {
            assert_eq!(t, w, "{}: host output {i}", op.name());
        }
    }
    rec
}

/// Assert that the lowering refuses `op` on these input types.
pub fn refused(op: &Op, inputs: &[Option<Tensor>]) -> String {
    match lowered(op, inputs) {
        Ok(_) => panic!("{} lowered, expected a refusal", op.name()),
        Err(e) => e,
    }
}

/// Random test data (as the conformance suite's).
pub fn rnd(dt: DType, shape: &[usize], seed: u64) -> Option<Tensor> {
    Some(crate::conformance::random(dt, shape, seed))
}

/// A 1-D i64 tensor.
pub fn ints(v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(vec![v.len()], v.to_vec()).ok()
}

/// An i64 tensor of `shape`.
pub fn idx(shape: &[usize], v: &[i64]) -> Option<Tensor> {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).ok()
}

#[test]
fn struct_words_are_counted() {
    let src = "struct P {\n    long long n, rank; // two\n    long long dim[8][7];\n};\n";
    assert_eq!(struct_words(src, "P"), Some(58));
    assert_eq!(
        param_types("__global__ void k(const P p, const T* x, long long n)", "k"),
        vec!["P", "T*", "long"]
    );
}
