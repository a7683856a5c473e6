//! ONNX model → [`Graph`]: scopes, initializers, constants, subgraphs, model-local functions.

use super::node::NodeCtx;
use super::ops::import_op;
use super::proto::{self, AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, TypeProto, TypeValue};
use super::tensor::tensor_from_proto;
use crate::error::{Error, Result};
use crate::graph::infer::infer_types;
use crate::graph::{Graph, Node, NodeOp, ScanSpec, SeqOp, ValueId, ValueType};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use suanli_kernels::{DType, Dim, Tensor, TensorType};

/// The oldest and newest ai.onnx opsets the importer accepts.
pub const OPSET_RANGE: (i64, i64) = (1, 27);

/// An imported model.
#[derive(Clone, Debug)]
pub struct Model {
    /// The main graph.
    pub graph: Graph,
    /// Opset version per domain (`ai.onnx` for the default domain).
    pub opsets: HashMap<String, i64>,
    /// ONNX IR version.
    pub ir_version: i64,
    /// Producer name and version.
    pub producer: String,
}

/// Read and import an ONNX file (external data is resolved next to it).
pub fn load_file(path: &Path) -> Result<Model> {
    // The initializers' raw data are slices of the mapped file, so the weights are held once
    // (the tensors) besides the page cache, and are copied once.
    let bytes = super::file::read(path, true)?;
    decode_and_import(bytes, path.parent())
}

/// Import an ONNX model from bytes. `base_dir` is where external data files live.
pub fn load_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<Model> {
    decode_and_import(bytes, base_dir)
}

fn decode_and_import(buf: impl bytes::Buf, base_dir: Option<&Path>) -> Result<Model> {
    let mp: ModelProto = proto::decode(buf).map_err(|msg| Error::Decode {
        what: "ONNX model".into(),
        msg,
    })?;
    import_model(&mp, base_dir)
}

/// Import a decoded `ModelProto`.
pub fn import_model(mp: &ModelProto, base_dir: Option<&Path>) -> Result<Model> {
    let gp = mp
        .graph
        .as_ref()
        .ok_or_else(|| Error::InvalidModel("the model has no graph".into()))?;
    let mut opsets = HashMap::new();
    for o in &mp.opset_import {
        opsets.insert(canonical_domain(&o.domain).to_string(), o.version);
    }
    if opsets.is_empty() {
        // IR version 1/2 models carry no opset_import; they are opset 1.
        opsets.insert("ai.onnx".to_string(), 1);
    }
    let functions = mp
        .functions
        .iter()
        .map(|f| ((canonical_domain(&f.domain).to_string(), f.name.clone()), f))
        .collect();
    let mut imp = Importer {
        opsets,
        functions,
        base_dir,
        stack: Vec::new(),
        counter: 0,
        depth: 0,
    };
    let graph = imp.import_graph(gp, true)?;
    Ok(Model {
        graph,
        opsets: imp.opsets,
        ir_version: mp.ir_version,
        producer: format!("{} {}", mp.producer_name, mp.producer_version)
            .trim()
            .to_string(),
    })
}

fn canonical_domain(d: &str) -> &str {
    if d.is_empty() {
        "ai.onnx"
    } else {
        d
    }
}

/// Convert an ONNX type to a [`ValueType`].
pub fn value_type(tp: &TypeProto) -> Result<ValueType> {
    Ok(match &tp.value {
        None => ValueType::Unknown,
        Some(TypeValue::TensorType(t)) | Some(TypeValue::SparseTensorType(t)) => {
            if t.elem_type == 0 {
                return Ok(ValueType::Unknown);
            }
            let dtype = DType::from_onnx_code(t.elem_type).ok_or_else(|| {
                Error::InvalidModel(format!(
                    "element type {} is not supported",
                    DType::onnx_code_name(t.elem_type)
                ))
            })?;
            let shape = t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(proto::DimValue::DimValue(v)) if *v >= 0 => Dim::Known(*v as usize),
                        Some(proto::DimValue::DimParam(p)) if !p.is_empty() => Dim::Sym(p.clone()),
                        _ => Dim::Unknown,
                    })
                    .collect()
            });
            ValueType::Tensor(TensorType { dtype, shape })
        }
        Some(TypeValue::SequenceType(s)) => {
            ValueType::Sequence(s.elem_type.as_ref().map(|e| value_type(e)).transpose()?.map(Box::new))
        }
        Some(TypeValue::OptionalType(o)) => {
            ValueType::Optional(o.elem_type.as_ref().map(|e| value_type(e)).transpose()?.map(Box::new))
        }
        Some(TypeValue::MapType(_)) => return Err(Error::InvalidModel("map types are not supported".into())),
    })
}

struct Scope {
    graph: Graph,
    names: HashMap<String, ValueId>,
}

struct Importer<'a> {
    opsets: HashMap<String, i64>,
    functions: HashMap<(String, String), &'a FunctionProto>,
    base_dir: Option<&'a Path>,
    stack: Vec<Scope>,
    counter: usize,
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl<'a> Importer<'a> {
    fn scope(&mut self) -> &mut Scope {
        // The stack is non-empty while a graph is being imported (pushed in import_graph).
        self.stack.last_mut().expect("scope stack is non-empty during import")
    }

    fn define(&mut self, name: &str, ty: ValueType) -> Result<ValueId> {
        let s = self.scope();
        if s.names.contains_key(name) {
            return Err(Error::InvalidModel(format!("value {name:?} is defined twice")));
        }
        let v = s.graph.add_value(name, ty);
        s.names.insert(name.to_string(), v);
        Ok(v)
    }

    /// Look a name up in the current scope, capturing it from enclosing scopes if needed.
    fn resolve(&mut self, name: &str) -> Option<ValueId> {
        let top = self.stack.len().checked_sub(1)?;
        if let Some(&v) = self.stack[top].names.get(name) {
            return Some(v);
        }
        let found = (0..top).rev().find(|&i| self.stack[i].names.contains_key(name))?;
        // Thread the capture through every scope between the defining one and the current one.
        for i in found + 1..=top {
            let outer_ty = {
                let s = &self.stack[i - 1];
                let v = s.names[name];
                s.graph.values[v.0].ty.clone()
            };
            let s = &mut self.stack[i];
            let v = s.graph.add_value(name, outer_ty);
            s.graph.captures.push((name.to_string(), v));
            s.names.insert(name.to_string(), v);
        }
        self.stack[top].names.get(name).copied()
    }

    fn import_graph(&mut self, gp: &GraphProto, is_main: bool) -> Result<Graph> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::InvalidModel("subgraphs are nested too deeply".into()));
        }
        self.stack.push(Scope {
            graph: Graph::default(),
            names: HashMap::new(),
        });
        let r = self.import_graph_body(gp, is_main);
        self.depth -= 1;
        let scope = self.stack.pop();
        r?;
        scope
            .map(|s| s.graph)
            .ok_or_else(|| Error::InvalidModel("internal: scope stack underflow".into()))
    }

    fn import_graph_body(&mut self, gp: &GraphProto, is_main: bool) -> Result<()> {
        let mut init_names = std::collections::HashSet::new();
        for t in &gp.initializer {
            let tensor = tensor_from_proto(t, self.base_dir)?;
            let v = self.define(
                &t.name,
                ValueType::Tensor(TensorType::known(tensor.dtype(), tensor.shape())),
            )?;
            self.scope().graph.constants.insert(v, Arc::new(tensor));
            init_names.insert(t.name.clone());
        }
        if !gp.sparse_initializer.is_empty() {
            return Err(Error::InvalidModel("sparse initializers are not supported".into()));
        }
        for vi in &gp.input {
            if init_names.contains(&vi.name) {
                continue; // an initializer listed as input (IR < 4): treated as a constant
            }
            let ty = match &vi.r#type {
                Some(t) => value_type(t).map_err(|e| Error::InvalidModel(format!("input {:?}: {e}", vi.name)))?,
                None if is_main => return Err(Error::InvalidModel(format!("input {:?} has no type", vi.name))),
                None => ValueType::Unknown,
            };
            let v = self.define(&vi.name, ty)?;
            self.scope().graph.inputs.push(v);
        }
        for node in &gp.node {
            self.import_node(node)?;
        }
        let mut declared = Vec::new();
        for vi in &gp.output {
            let v = self.resolve(&vi.name).ok_or_else(|| {
                Error::InvalidModel(format!("graph output {:?} is not produced by any node", vi.name))
            })?;
            if let Some(t) = &vi.r#type {
                if let Ok(ty) = value_type(t) {
                    declared.push((v, ty));
                }
            }
            self.scope().graph.outputs.push(v);
        }
        if is_main {
            let g = &mut self.scope().graph;
            let input_types: Vec<ValueType> = g.inputs.iter().map(|v| g.values[v.0].ty.clone()).collect();
            let types = infer_types(g, &input_types)?;
            for (i, t) in types.into_iter().enumerate() {
                if t != ValueType::Unknown {
                    g.values[i].ty = t;
                }
            }
            for (v, ty) in declared {
                if g.values[v.0].ty == ValueType::Unknown {
                    g.values[v.0].ty = ty;
                }
            }
        }
        Ok(())
    }

    fn fresh(&mut self, base: &str) -> String {
        self.counter += 1;
        format!("{base}__{}", self.counter)
    }

    fn import_node(&mut self, node: &NodeProto) -> Result<()> {
        let domain = canonical_domain(&node.domain).to_string();
        let key = (domain.clone(), node.op_type.clone());
        if let Some(f) = self.functions.get(&key).copied() {
            return self.inline_function(node, f);
        }
        let opset = match self.opsets.get(&domain) {
            Some(&v) => v,
            None => {
                return Err(Error::UnsupportedOp {
                    node: node_name(node),
                    op_type: node.op_type.clone(),
                    domain,
                    opset: 0,
                    reason: "the model imports no opset for this domain".into(),
                })
            }
        };
        let ctx = NodeCtx {
            node,
            opset,
            base_dir: self.base_dir,
        };
        if domain == "ai.onnx" && !(OPSET_RANGE.0..=OPSET_RANGE.1).contains(&opset) {
            return Err(ctx.unsupported(format!(
                "ai.onnx opset {opset} is outside {}..={}",
                OPSET_RANGE.0, OPSET_RANGE.1
            )));
        }
        let op = if domain == "ai.onnx" {
            match node.op_type.as_str() {
                "Constant" => return self.import_constant(&ctx),
                "If" => {
                    let then_g = self.subgraph(&ctx, "then_branch")?;
                    let else_g = self.subgraph(&ctx, "else_branch")?;
                    NodeOp::If {
                        then_branch: Arc::new(then_g),
                        else_branch: Arc::new(else_g),
                    }
                }
                "Loop" => NodeOp::Loop {
                    body: Arc::new(self.subgraph(&ctx, "body")?),
                },
                "Scan" => {
                    let body = self.subgraph(&ctx, "body")?;
                    let n = ctx.req_i("num_scan_inputs")?;
                    if n < 0 {
                        return Err(ctx.invalid("num_scan_inputs must be non-negative"));
                    }
                    let n = n as usize;
                    let flags = |name: &str| -> Result<Vec<bool>> {
                        Ok(ctx
                            .get_ints(name)?
                            .unwrap_or_default()
                            .into_iter()
                            .map(|x| x != 0)
                            .collect())
                    };
                    let spec = ScanSpec {
                        num_scan_inputs: n,
                        input_reverse: flags(if opset < 9 {
                            "directions"
                        } else {
                            "scan_input_directions"
                        })?,
                        input_axes: ctx.get_ints("scan_input_axes")?.unwrap_or_default(),
                        output_reverse: flags("scan_output_directions")?,
                        output_axes: ctx.get_ints("scan_output_axes")?.unwrap_or_default(),
                        batched: opset < 9,
                    };
                    NodeOp::Scan {
                        body: Arc::new(body),
                        spec,
                    }
                }
                "SequenceEmpty" => {
                    let code = ctx.i("dtype", 1)? as i32;
                    let dtype = DType::from_onnx_code(code)
                        .ok_or_else(|| ctx.unsupported(format!("dtype {}", DType::onnx_code_name(code))))?;
                    NodeOp::Seq(SeqOp::Empty { dtype })
                }
                "SequenceConstruct" => NodeOp::Seq(SeqOp::Construct),
                "SequenceInsert" => NodeOp::Seq(SeqOp::Insert),
                "SequenceAt" => NodeOp::Seq(SeqOp::At),
                "SequenceErase" => NodeOp::Seq(SeqOp::Erase),
                "SequenceLength" => NodeOp::Seq(SeqOp::Length),
                "SplitToSequence" => NodeOp::Seq(SeqOp::SplitToSequence {
                    axis: ctx.i("axis", 0)?,
                    keepdims: ctx.i("keepdims", 1)? != 0,
                }),
                "ConcatFromSequence" => NodeOp::Seq(SeqOp::ConcatFromSequence {
                    axis: ctx.req_i("axis")?,
                    new_axis: ctx.i("new_axis", 0)? != 0,
                }),
                "SequenceMap" => NodeOp::Seq(SeqOp::Map {
                    body: Arc::new(self.subgraph(&ctx, "body")?),
                }),
                "Optional" => NodeOp::Seq(SeqOp::Optional),
                "OptionalHasElement" => NodeOp::Seq(SeqOp::OptionalHasElement),
                "OptionalGetElement" => NodeOp::Seq(SeqOp::OptionalGetElement),
                _ => match import_op(&ctx)? {
                    Some(op) => NodeOp::Kernel(op),
                    None => return self.inline_spec_function(&ctx),
                },
            }
        } else {
            match import_op(&ctx)? {
                Some(op) => NodeOp::Kernel(op),
                None => return self.inline_spec_function(&ctx),
            }
        };
        self.add_node(node, op)
    }

    /// No native kernel: inline the op's function body from the ONNX spec, if it has one.
    fn inline_spec_function(&mut self, ctx: &NodeCtx) -> Result<()> {
        match spec_function(ctx.domain(), ctx.op_type(), ctx.opset) {
            Some(f) => self.inline_function(ctx.node, f),
            None => Err(ctx.unsupported("no kernel implements this op and the spec defines no function body for it")),
        }
    }

    fn subgraph(&mut self, ctx: &NodeCtx, attr: &str) -> Result<Graph> {
        let g = ctx
            .get_graph(attr)?
            .ok_or_else(|| ctx.invalid(format!("missing graph attribute {attr:?}")))?;
        self.import_graph(g, false)
    }

    fn add_node(&mut self, node: &NodeProto, op: NodeOp) -> Result<()> {
        let name = node_name(node);
        let mut inputs = Vec::with_capacity(node.input.len());
        for i in &node.input {
            if i.is_empty() {
                inputs.push(None);
            } else {
                let v = self.resolve(i).ok_or_else(|| Error::InvalidNode {
                    node: name.clone(),
                    op_type: node.op_type.clone(),
                    msg: format!("input {i:?} is not defined before this node"),
                })?;
                inputs.push(Some(v));
            }
        }
        let formal_inputs = inputs.len();
        // Control-flow nodes read the outer values their subgraphs capture.
        let captured: Vec<String> = match &op {
            NodeOp::If {
                then_branch,
                else_branch,
            } => then_branch
                .captures
                .iter()
                .chain(&else_branch.captures)
                .map(|c| c.0.clone())
                .collect(),
            NodeOp::Loop { body } | NodeOp::Scan { body, .. } | NodeOp::Seq(SeqOp::Map { body }) => {
                body.captures.iter().map(|c| c.0.clone()).collect()
            }
            _ => vec![],
        };
        for c in captured {
            if let Some(v) = self.resolve(&c) {
                if !inputs[formal_inputs..].contains(&Some(v)) {
                    inputs.push(Some(v));
                }
            }
        }
        let mut outputs = Vec::with_capacity(node.output.len());
        for o in &node.output {
            if o.is_empty() {
                outputs.push(None);
            } else {
                outputs.push(Some(self.define(o, ValueType::Unknown)?));
            }
        }
        self.scope().graph.nodes.push(Node {
            name,
            op,
            inputs,
            outputs,
            formal_inputs,
        });
        Ok(())
    }

    fn import_constant(&mut self, ctx: &NodeCtx) -> Result<()> {
        let t = if let Some(t) = ctx.get_tensor("value")? {
            t
        } else if let Some(f) = ctx.get_f("value_float")? {
            Tensor::scalar(f)
        } else if let Some(v) = ctx.get_floats("value_floats")? {
            Tensor::from_vec(vec![v.len()], v).map_err(|e| ctx.invalid(e.to_string()))?
        } else if let Some(i) = ctx.get_i("value_int")? {
            Tensor::scalar(i)
        } else if let Some(v) = ctx.get_ints("value_ints")? {
            Tensor::from_vec(vec![v.len()], v).map_err(|e| ctx.invalid(e.to_string()))?
        } else if let Some(s) = ctx.get_s("value_string")? {
            Tensor::from_strings(vec![], vec![s]).map_err(|e| ctx.invalid(e.to_string()))?
        } else if let Some(v) = ctx.get_strings("value_strings")? {
            Tensor::from_strings(vec![v.len()], v).map_err(|e| ctx.invalid(e.to_string()))?
        } else if ctx.attr("sparse_value").is_some() {
            return Err(ctx.unsupported("sparse constants are not supported"));
        } else {
            return Err(ctx.invalid("Constant has no value attribute"));
        };
        let out = ctx
            .node
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| ctx.invalid("Constant has no output"))?;
        let v = self.define(out, ValueType::Tensor(TensorType::known(t.dtype(), t.shape())))?;
        self.scope().graph.constants.insert(v, Arc::new(t));
        Ok(())
    }

    /// Inline a model-local function: rename its internal values, bind inputs/outputs and
    /// substitute attribute references, then import its nodes under the function's opsets.
    fn inline_function(&mut self, call: &NodeProto, f: &FunctionProto) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::InvalidModel(format!(
                "function {:?} recurses too deeply",
                f.name
            )));
        }
        let prefix = self.fresh(&node_name(call));
        let mut rename: HashMap<&str, String> = HashMap::new();
        for (i, formal) in f.input.iter().enumerate() {
            rename.insert(formal, call.input.get(i).cloned().unwrap_or_default());
        }
        for (i, formal) in f.output.iter().enumerate() {
            let actual = call.output.get(i).cloned().unwrap_or_default();
            let actual = if actual.is_empty() {
                format!("{prefix}/{formal}")
            } else {
                actual
            };
            rename.insert(formal, actual);
        }
        let map = |n: &String, rename: &HashMap<&str, String>| -> String {
            if n.is_empty() {
                return String::new();
            }
            rename
                .get(n.as_str())
                .cloned()
                .unwrap_or_else(|| format!("{prefix}/{n}"))
        };
        let mut attrs: HashMap<&str, &AttributeProto> =
            f.attribute_proto.iter().map(|a| (a.name.as_str(), a)).collect();
        for a in &call.attribute {
            attrs.insert(a.name.as_str(), a);
        }
        let saved = self.opsets.clone();
        for o in &f.opset_import {
            self.opsets.insert(canonical_domain(&o.domain).to_string(), o.version);
        }
        let mut result = Ok(());
        for n in &f.node {
            let mut n2 = n.clone();
            n2.input = n.input.iter().map(|x| map(x, &rename)).collect();
            n2.output = n.output.iter().map(|x| map(x, &rename)).collect();
            n2.name = format!("{prefix}/{}", n.name);
            n2.attribute = n
                .attribute
                .iter()
                .filter_map(|a| {
                    if a.ref_attr_name.is_empty() {
                        Some(a.clone())
                    } else {
                        attrs.get(a.ref_attr_name.as_str()).map(|src| {
                            let mut b = (*src).clone();
                            b.name = a.name.clone();
                            b
                        })
                    }
                })
                .collect();
            result = self.import_node(&n2);
            if result.is_err() {
                break;
            }
        }
        self.opsets = saved;
        self.depth -= 1;
        result
    }
}

/// The ONNX spec's function bodies (scripts/extract_function_bodies.py), decoded once.
static SPEC_FUNCTIONS: &[u8] = include_bytes!("../../assets/onnx_functions.pb");

fn spec_functions() -> &'static [FunctionProto] {
    static CELL: std::sync::OnceLock<Vec<FunctionProto>> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        proto::decode::<ModelProto>(SPEC_FUNCTIONS)
            .map(|m| m.functions)
            .unwrap_or_default()
    })
}

/// The newest spec function body for `domain::op` whose version is at most `opset`.
fn spec_function(domain: &str, op: &str, opset: i64) -> Option<&'static FunctionProto> {
    spec_functions()
        .iter()
        .filter(|f| f.name == op && canonical_domain(&f.domain) == domain)
        .filter_map(|f| f.overload.parse::<i64>().ok().filter(|&v| v <= opset).map(|v| (v, f)))
        .max_by_key(|(v, _)| *v)
        .map(|(_, f)| f)
}

fn node_name(n: &NodeProto) -> String {
    if !n.name.is_empty() {
        n.name.clone()
    } else if let Some(o) = n.output.first() {
        format!("{}({o})", n.op_type)
    } else {
        n.op_type.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_function_bodies_are_embedded_and_versioned() {
        let f = spec_function("ai.onnx", "Softsign", 22).expect("Softsign has a function body");
        let v: i64 = f.overload.parse().expect("since_version");
        assert!(v <= 22 && !f.node.is_empty());
        assert!(
            spec_function("ai.onnx", "Softsign", 0).is_none(),
            "no body before the op existed"
        );
        assert!(spec_function("ai.onnx", "NoSuchOp", 22).is_none());
    }

    #[test]
    fn spec_function_inlines_to_the_same_result_as_the_kernel() {
        // Import Softsign once natively and once through its spec body; the results agree.
        let f = spec_function("ai.onnx", "Softsign", 22).expect("body");
        let node = NodeProto {
            op_type: "Softsign".into(),
            input: vec!["x".into()],
            output: vec!["y".into()],
            ..Default::default()
        };
        let mut imp = Importer {
            opsets: [("ai.onnx".to_string(), 22)].into(),
            functions: HashMap::new(),
            base_dir: None,
            stack: Vec::new(),
            counter: 0,
            depth: 0,
        };
        imp.stack.push(Scope {
            graph: Graph::default(),
            names: HashMap::new(),
        });
        let x = imp
            .define("x", ValueType::Tensor(TensorType::known(DType::F32, &[4])))
            .unwrap();
        imp.scope().graph.inputs.push(x);
        imp.inline_function(&node, f).expect("inline");
        let y = imp.resolve("y").expect("y defined");
        let mut g = imp.stack.pop().unwrap().graph;
        g.outputs.push(y);
        assert!(g.nodes.len() > 1, "the body expands to several nodes");
        let input = Tensor::from_vec(vec![4], vec![-2.0f32, -0.5, 0.0, 3.0]).unwrap();
        let out = crate::control::eval_graph(&g, &[crate::graph::Value::Tensor(input)], &HashMap::new()).unwrap();
        let got = out[0].as_tensor().unwrap().to_f32_vec().unwrap();
        let want: Vec<f32> = [-2.0f32, -0.5, 0.0, 3.0].iter().map(|v| v / (1.0 + v.abs())).collect();
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }
}
