//! Kernel signatures read from CUDA C text, and the check that a recorded launch matches them.
//!
//! Without a GPU nothing runs the launches, so this check is what catches an argument list that
//! drifted from its kernel (a missing pointer, an `int` passed where `long long` is declared, a
//! GEMM reading past its buffer) on every machine.

use super::CudaSource;
use crate::cuda::launch::{Arg, Buf, LaunchCx, Step};

/// The kind of one kernel parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// A pointer.
    Ptr,
    /// A 64-bit integer.
    I64,
    /// A 32-bit integer.
    I32,
    /// `float`.
    F32,
    /// `double`.
    F64,
    /// A struct passed by value.
    Struct,
}

/// The parameters of `entry` in `source`, or why they could not be read.
pub fn parse(source: &str, entry: &str) -> Result<Vec<Param>, String> {
    let head = format!("void {entry}(");
    let at = source
        .match_indices(&head)
        .map(|(i, _)| i)
        .find(|&i| source[..i].trim_end().ends_with("__global__"))
        .ok_or_else(|| format!("no `__global__ void {entry}(` in the source"))?;
    let rest = &source[at + head.len()..];
    let end = rest.find(')').ok_or("unterminated parameter list")?;
    let list = rest[..end].trim();
    if list.is_empty() || list == "void" {
        return Ok(Vec::new());
    }
    list.split(',').map(|p| classify(p.trim())).collect()
}

fn classify(p: &str) -> Result<Param, String> {
    if p.contains('*') {
        return Ok(Param::Ptr);
    }
    let words: Vec<&str> = p
        .split_whitespace()
        .filter(|w| !matches!(*w, "const" | "__restrict__" | "unsigned" | "signed"))
        .collect();
    // The last word is the parameter's name.
    let ty = match words.len() {
        0 | 1 => return Err(format!("cannot read parameter `{p}`")),
        n => words[..n - 1].join(" "),
    };
    Ok(match ty.as_str() {
        "long long" | "long" | "size_t" => Param::I64,
        "int" => Param::I32,
        "float" => Param::F32,
        "double" => Param::F64,
        _ => Param::Struct,
    })
}

fn arg_kind(a: &Arg) -> Param {
    match a {
        Arg::Ptr(_) => Param::Ptr,
        Arg::I64(_) => Param::I64,
        Arg::I32(_) => Param::I32,
        Arg::F32(_) => Param::F32,
        Arg::F64(_) => Param::F64,
        Arg::Words(_) => Param::Struct,
    }
}

/// Elements in a buffer of the recorded launch, or an error when it does not exist.
fn buf_len(cx: &LaunchCx, b: Buf) -> Result<usize, String> {
    match b {
        Buf::In(i) => cx.shape(i).map(|s| s.iter().product()).map_err(|e| e.to_string()),
        Buf::Out(i) => cx
            .outputs()
            .get(i)
            .map(|o| o.shape.iter().product())
            .ok_or_else(|| format!("output {i} was never allocated")),
        Buf::Scratch(i) => cx
            .scratch_buffers()
            .get(i)
            .map(|s| s.1)
            .ok_or_else(|| format!("scratch {i} was never allocated")),
    }
}

/// Elements a row-major (possibly transposed, batched) matrix operand spans.
fn span(batch: usize, stride: usize, rows: usize, cols: usize, ld: usize, trans: bool) -> usize {
    let (r, c) = if trans { (cols, rows) } else { (rows, cols) };
    if r == 0 || c == 0 {
        return 0;
    }
    (batch - 1) * stride + (r - 1) * ld + c
}

/// Check every recorded step of `cx` against `sources`: parameter kinds and count, buffers
/// that exist, GEMM and copy extents within their buffers.
pub fn check(sources: &[CudaSource], cx: &LaunchCx) -> Result<(), String> {
    for (n, step) in cx.steps().iter().enumerate() {
        match step {
            Step::Kernel(k) => {
                let src = sources
                    .get(k.source)
                    .ok_or_else(|| format!("step {n}: source {} does not exist", k.source))?;
                let params = parse(&src.source, &src.entry).map_err(|e| format!("{}: {e}", src.name))?;
                let got: Vec<Param> = k.args.iter().map(arg_kind).collect();
                if got != params {
                    return Err(format!(
                        "step {n}: {} takes {params:?} but the launch passes {got:?}",
                        src.name
                    ));
                }
                for a in &k.args {
                    if let Arg::Ptr(b) = a {
                        buf_len(cx, *b).map_err(|e| format!("step {n} ({}): {e}", src.name))?;
                    }
                }
                if k.block.iter().product::<u32>() > 1024 {
                    return Err(format!(
                        "step {n}: {} launched with {:?} threads per block",
                        src.name, k.block
                    ));
                }
            }
            Step::Gemm(g) => {
                let need = [
                    (
                        g.a,
                        g.a_off + span(g.batch, g.stride_a, g.m, g.k, g.lda, g.trans_a),
                        "A",
                    ),
                    (
                        g.b,
                        g.b_off + span(g.batch, g.stride_b, g.k, g.n, g.ldb, g.trans_b),
                        "B",
                    ),
                    (g.c, g.c_off + span(g.batch, g.stride_c, g.m, g.n, g.ldc, false), "C"),
                ];
                for (buf, elems, what) in need {
                    let have = buf_len(cx, buf).map_err(|e| format!("step {n} (GEMM {what}): {e}"))?;
                    if elems > have {
                        return Err(format!(
                            "step {n}: GEMM {what} spans {elems} elements of a {have}-element buffer ({g:?})"
                        ));
                    }
                }
                if let Some(b) = g.bias {
                    let have = buf_len(cx, b).map_err(|e| format!("step {n} (GEMM bias): {e}"))?;
                    if have < g.n {
                        return Err(format!("step {n}: GEMM bias has {have} of {} elements", g.n));
                    }
                }
            }
            Step::Copy(c) => {
                for (buf, end, what) in [
                    (c.src, c.src_offset + c.bytes, "source"),
                    (c.dst, c.dst_offset + c.bytes, "destination"),
                ] {
                    let dt = match buf {
                        Buf::In(i) => cx.dtype(i).map_err(|e| e.to_string())?,
                        Buf::Out(i) => cx.outputs().get(i).map(|o| o.dtype).ok_or("missing output")?,
                        Buf::Scratch(i) => cx.scratch_buffers().get(i).map(|s| s.0).ok_or("missing scratch")?,
                    };
                    let have = buf_len(cx, buf)? * dt.size();
                    if end > have {
                        return Err(format!("step {n}: copy {what} ends at byte {end} of {have}"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_from_the_entry_point() {
        let src = "struct P { long long n; };\n__device__ void helper(int x) {}\n\
                   extern \"C\" __global__ void k(const P p, const float* __restrict__ a, unsigned short* out, long long n, int axis, float eps) {}";
        assert_eq!(
            parse(src, "k").unwrap(),
            vec![
                Param::Struct,
                Param::Ptr,
                Param::Ptr,
                Param::I64,
                Param::I32,
                Param::F32
            ]
        );
        assert!(parse(src, "helper").is_err(), "only __global__ entry points count");
        assert!(parse(src, "missing").is_err());
    }

    #[test]
    fn gemm_spans_count_transposes_and_batches() {
        assert_eq!(span(1, 0, 2, 3, 3, false), 6);
        assert_eq!(span(1, 0, 2, 3, 2, true), 6);
        assert_eq!(span(4, 6, 2, 3, 3, false), 24);
        assert_eq!(span(4, 0, 2, 3, 3, false), 6, "a zero stride broadcasts one matrix");
    }
}
