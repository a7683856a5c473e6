//! Graph passes: small functions `fn(&mut Graph) -> Result<…>`, one per file, each with tests
//! that show the graph before and after and check that outputs are unchanged.
//!
//! [`optimize`] runs them in order at session build.

pub mod bn_affine;
pub mod bn_fold;
pub mod dce;
pub mod fold;
pub mod fold_affine;
pub mod fuse_attention;
pub mod fuse_elementwise;
pub mod fuse_epilogue;
pub mod fuse_gelu;
pub mod fuse_layernorm;
pub mod transpose_elim;

use crate::error::Result;
use crate::graph::{Graph, Node, NodeOp, ValueId};
use std::collections::HashMap;
use std::sync::Arc;
use suanli_kernels::ops::norm::NormOp;
use suanli_kernels::{KernelSpec, Op, Tensor};

/// What the passes did, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Nodes folded into constants.
    pub folded: usize,
    /// BatchNormalization nodes folded into the Conv before them.
    pub bn_folded: usize,
    /// Multiply / add-by-constant nodes folded into a Conv or merged into one multiply-add.
    pub affine_folded: usize,
    /// Transpose / reshape nodes merged into the next one or dropped.
    pub layout_eliminated: usize,
    /// Decomposed LayerNorm patterns rewritten as one LayerNormalization node.
    pub layernorm: usize,
    /// Attention patterns rewritten as one FusedAttention node.
    pub attention: usize,
    /// GELU patterns rewritten as one Gelu node.
    pub gelu: usize,
    /// Nodes absorbed into Conv / MatMul / Gemm epilogues.
    pub fused_epilogues: usize,
    /// BatchNormalization nodes rewritten as a per-channel multiply-add.
    pub bn_affine: usize,
    /// Elementwise nodes absorbed into fused chains.
    pub fused_elementwise: usize,
    /// Nodes removed as dead.
    pub dead: usize,
}

/// Run every pass in order. `accept` says whether every device of the session runs a fused
/// kernel spec natively; fusions it rejects are not made (each device then runs the ops it
/// knows).
pub fn optimize(g: &mut Graph, accept: &dyn Fn(&KernelSpec) -> bool) -> Result<PassStats> {
    let mut st = PassStats {
        folded: fold::fold_constants(g)?,
        ..PassStats::default()
    };
    st.bn_folded = bn_fold::fold_batch_norms(g)?;
    st.affine_folded = fold_affine::fold_affine_chains(g);
    st.layout_eliminated = transpose_elim::eliminate_transposes(g, accept);
    st.layernorm = fuse_layernorm::fuse_layernorm(g, accept);
    st.gelu = fuse_gelu::fuse_gelu(g);
    st.attention = fuse_attention::fuse_attention(g, accept);
    st.fused_epilogues = fuse_epilogue::fuse_epilogues(g, accept);
    if accept(&fuse_elementwise::probe_spec()) {
        st.bn_affine = bn_affine::batch_norm_to_affine(g);
        st.affine_folded += fold_affine::fold_affine_chains(g);
        st.fused_elementwise = fuse_elementwise::fuse_elementwise(g, accept);
    }
    st.dead = dce::eliminate_dead_code(g);
    Ok(st)
}

/// How many node inputs read each value, plus one for every graph output.
pub(crate) fn use_counts(g: &Graph) -> Vec<usize> {
    let mut n = vec![0; g.values.len()];
    for node in &g.nodes {
        for v in node.inputs.iter().flatten() {
            n[v.0] += 1;
        }
    }
    for v in &g.outputs {
        n[v.0] += 1;
    }
    n
}

/// The kernel op of node `i`, if it is one.
pub(crate) fn kernel_op(g: &Graph, i: usize) -> Option<&Op> {
    match &g.nodes[i].op {
        NodeOp::Kernel(op) => Some(op),
        _ => None,
    }
}

/// The constant behind an optional input, if it is a constant.
pub(crate) fn const_input(g: &Graph, v: Option<ValueId>) -> Option<&Arc<Tensor>> {
    v.and_then(|v| g.constants.get(&v))
}

/// For each value, the node producing it.
pub(crate) fn producers(g: &Graph) -> Vec<Option<usize>> {
    let mut p = vec![None; g.values.len()];
    for (i, node) in g.nodes.iter().enumerate() {
        for v in node.outputs.iter().flatten() {
            p[v.0] = Some(i);
        }
    }
    p
}

/// Rebuild the node list: drop the nodes marked in `remove`, put each node of `replace` in
/// place of the node with its index.
pub(crate) fn splice(g: &mut Graph, remove: &[bool], mut replace: HashMap<usize, Node>) {
    let old = std::mem::take(&mut g.nodes);
    for (i, n) in old.into_iter().enumerate() {
        if !remove.get(i).copied().unwrap_or(false) {
            g.nodes.push(replace.remove(&i).unwrap_or(n));
        }
    }
}

/// The epsilon of `n` if it is an inference-mode BatchNormalization with its five inputs
/// whose extra outputs nobody reads.
pub(crate) fn inference_batch_norm(n: &Node, uses: &[usize]) -> Option<f64> {
    let NodeOp::Kernel(Op::Norm(NormOp::BatchNorm {
        epsilon,
        training: false,
        ..
    })) = &n.op
    else {
        return None;
    };
    let extra_read = n.outputs.iter().skip(1).flatten().any(|v| uses[v.0] > 0);
    (n.inputs.len() == 5 && !extra_read).then_some(*epsilon as f64)
}

/// BatchNormalization as `y = x·s + t` per channel, from its constants `[scale, beta, mean,
/// var]`: `s = scale / sqrt(var + eps)`, `t = beta − mean·s`.
pub(crate) fn batch_norm_affine(stats: &[Vec<f64>], eps: f64) -> (Vec<f64>, Vec<f64>) {
    let [scale, beta, mean, var] = [&stats[0], &stats[1], &stats[2], &stats[3]];
    let s: Vec<f64> = scale.iter().zip(var).map(|(g, v)| g / (v + eps).sqrt()).collect();
    let t = beta.iter().zip(mean).zip(&s).map(|((b, m), s)| b - m * s).collect();
    (s, t)
}

/// The two inputs of node `i` if it is the binary elementwise op `op`.
pub(crate) fn binary_inputs(
    g: &Graph,
    i: usize,
    op: suanli_kernels::ops::elementwise::BinaryOp,
) -> Option<(ValueId, ValueId)> {
    use suanli_kernels::ops::elementwise::ElementwiseOp;
    match kernel_op(g, i)? {
        Op::Elementwise(ElementwiseOp::Binary(b)) if *b == op => match g.nodes[i].inputs.as_slice() {
            [Some(a), Some(b)] => Some((*a, *b)),
            _ => None,
        },
        _ => None,
    }
}

/// The value of a one-element constant.
pub(crate) fn scalar_const(g: &Graph, v: ValueId) -> Option<f64> {
    let t = const_input(g, Some(v))?;
    let vals = t.to_f64_vec().ok()?;
    (vals.len() == 1).then(|| vals[0])
}

/// The fully known shape of value `v`.
pub(crate) fn static_shape(g: &Graph, v: ValueId) -> Option<Vec<usize>> {
    g.values.get(v.0)?.ty.tensor()?.concrete()
}

/// The kernel spec node inputs `inputs` and outputs `outputs` would have under `op`, from the
/// values' static types (for `accept`).
pub(crate) fn spec_for(g: &Graph, op: &Op, inputs: &[Option<ValueId>], outputs: &[ValueId]) -> Option<KernelSpec> {
    Some(KernelSpec {
        op: op.clone(),
        inputs: inputs
            .iter()
            .map(|v| v.and_then(|v| g.values[v.0].ty.tensor().cloned()))
            .collect(),
        outputs: outputs
            .iter()
            .map(|v| g.values[v.0].ty.tensor().cloned())
            .collect::<Option<Vec<_>>>()?,
    })
}

/// Add a new constant value and return its id.
pub(crate) fn add_constant(g: &mut Graph, name: String, t: Tensor) -> ValueId {
    let ty = crate::graph::ValueType::Tensor(suanli_kernels::TensorType::known(t.dtype(), t.shape()));
    let v = g.add_value(name, ty);
    g.constants.insert(v, Arc::new(t));
    v
}

/// Helpers for the passes' before/after tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::graph::Graph;
    use crate::session::Session;
    use suanli_kernels::Tensor;

    /// A deterministic f32 tensor with values in `[lo, lo + 1)`.
    pub fn rnd(shape: &[usize], seed: u64, lo: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let mut s = seed;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                lo + ((s >> 40) as f32 / (1u64 << 24) as f32)
            })
            .collect();
        Tensor::from_vec(shape.to_vec(), v).expect("shape matches")
    }

    /// A 2-D Conv (group 1) with `pads` on every side; the kernel comes from the weights.
    pub fn conv_op(pads: usize) -> suanli_kernels::Op {
        use suanli_kernels::ops::conv::{AutoPad, ConvOp, Window};
        suanli_kernels::Op::Conv(ConvOp::Conv {
            window: Window {
                kernel_shape: None,
                strides: vec![],
                dilations: vec![],
                pads: vec![pads; 4],
                auto_pad: AutoPad::NotSet,
            },
            group: 1,
        })
    }

    /// An inference BatchNormalization of `input` over `c` channels; its scale, bias, mean and
    /// variance are constants `bn{seed}_0..3` drawn with seeds `seed..seed + 4` (variance
    /// positive).
    pub fn batch_norm(
        b: &mut crate::graph::builder::GraphBuilder,
        input: crate::graph::ValueId,
        c: usize,
        seed: u64,
    ) -> crate::graph::ValueId {
        use suanli_kernels::ops::norm::NormOp;
        let ps: Vec<_> = (0..4)
            .map(|k| {
                b.constant(
                    &format!("bn{seed}_{k}"),
                    rnd(&[c], seed + k, if k == 3 { 0.5 } else { -0.5 }),
                )
            })
            .collect();
        let op = suanli_kernels::Op::Norm(NormOp::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: false,
        });
        b.op(op, &[input, ps[0], ps[1], ps[2], ps[3]])
    }

    /// The op names of the graph's nodes in order.
    pub fn op_names(g: &Graph) -> Vec<String> {
        g.nodes.iter().map(|n| n.op.name().to_string()).collect()
    }

    /// Run both graphs unoptimised on the CPU and compare every output (rtol/atol 1e-5).
    pub fn assert_same_outputs(before: Graph, after: Graph, inputs: &[(&str, Tensor)]) {
        let run = |g: Graph| {
            let s = Session::builder().optimize(false).build_from_graph(g).expect("session");
            s.run(inputs).expect("run")
        };
        let (r0, r1) = (run(before), run(after));
        assert_eq!(r0.len(), r1.len());
        for ((n0, t0), (n1, t1)) in r0.iter().zip(&r1) {
            assert_eq!(n0, n1);
            assert_eq!(t0.shape(), t1.shape(), "{n0}");
            let (a, b) = (t0.to_f32_vec().expect("f32"), t1.to_f32_vec().expect("f32"));
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!((p - q).abs() <= 1e-5 * (1.0 + q.abs()), "{n0}[{i}]: {p} vs {q}");
            }
        }
    }
}
