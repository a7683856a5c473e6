//! `Session`: what users touch. Load once, run many times from many threads. How a session is
//! configured and built (devices, policy, threads, graph passes) is in [`SessionBuilder`].

mod builder;

pub use builder::{resolve_device_names, SessionBuilder};

use crate::control::run_host_node;
use crate::error::{Error, Result};
use crate::graph::{Graph, Value, ValueId, ValueType};
use crate::placement::Policy;
use crate::plan::{build_plan, Plan, Step};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use suanli_backends::DeviceError;
use suanli_backends::{Device, DeviceTensor};
use suanli_kernels::{Dim, Tensor, TensorType};

/// A loaded model bound to devices. `Send + Sync`: many threads may call [`Session::run`].
pub struct Session {
    graph: Arc<Graph>,
    devices: Vec<Arc<dyn Device>>,
    cpu: usize,
    policy: Policy,
    plans: Mutex<HashMap<Vec<ValueType>, Arc<Plan>>>,
    consts: Mutex<HashMap<(ValueId, usize), DeviceTensor>>,
    /// Bookkeeping of finished runs, reused by later ones (one per concurrent run).
    states: Mutex<Vec<RunState>>,
}

enum Slot {
    Dev(DeviceTensor),
    Host(Value),
}

/// What one run needs besides its values' storage, kept between runs so that a warm run
/// allocates no bookkeeping: the slot table (with the plan's constants left in place), the
/// argument and output lists of a launch.
#[derive(Default)]
struct RunState {
    /// The plan the slot table was laid out for.
    plan: Option<Arc<Plan>>,
    slots: Vec<Option<Slot>>,
    /// The storage of the run's input tensors, held to the end of the run: shared, it is never
    /// written in place nor kept by a device's pool when its slot dies, so a caller's inputs
    /// are freed with the run instead of piling up as spare storage no later run asks for.
    held: Vec<Arc<dyn std::any::Any + Send + Sync>>,
    args: Vec<Option<DeviceTensor>>,
    outs: Vec<DeviceTensor>,
}

impl Session {
    /// A builder.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::new()
    }

    /// The (optimised) graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The devices, preferred first.
    pub fn devices(&self) -> &[Arc<dyn Device>] {
        &self.devices
    }

    /// Input names and types.
    pub fn inputs(&self) -> Vec<(String, ValueType)> {
        self.graph
            .inputs
            .iter()
            .map(|v| (self.graph.name(*v).to_string(), self.graph.values[v.0].ty.clone()))
            .collect()
    }

    /// Output names and types.
    pub fn outputs(&self) -> Vec<(String, ValueType)> {
        self.graph
            .outputs
            .iter()
            .map(|v| (self.graph.name(*v).to_string(), self.graph.values[v.0].ty.clone()))
            .collect()
    }

    /// Run with named tensor inputs; returns the named tensor outputs in model order.
    pub fn run(&self, inputs: &[(&str, Tensor)]) -> Result<Vec<(String, Tensor)>> {
        if let Some(plan) = self.cached_plan(inputs)? {
            return self.run_cached(&plan, inputs);
        }
        let vals: Vec<(String, Value)> = inputs
            .iter()
            .map(|(n, t)| (n.to_string(), Value::Tensor(t.clone())))
            .collect();
        self.run_values(vals)?
            .into_iter()
            .map(|(n, v)| match v {
                Value::Tensor(t) => Ok((n, t)),
                other => Err(Error::Usage(format!(
                    "output {n:?} is a {}, not a tensor: use run_values",
                    other.describe()
                ))),
            })
            .collect()
    }

    /// The cached plan for `inputs` when they name every graph input once, as tensors whose
    /// types are exactly a cached signature (which was checked when it was planned). `None`
    /// sends the run through [`Session::run_values`], which checks, reports and plans.
    fn cached_plan(&self, inputs: &[(&str, Tensor)]) -> Result<Option<Arc<Plan>>> {
        if inputs.len() != self.graph.inputs.len() {
            return Ok(None);
        }
        let plans = self.plans.lock().map_err(|_| poisoned())?;
        let found = plans.iter().find(|(sig, _)| {
            sig.len() == inputs.len()
                && self.graph.inputs.iter().zip(sig.iter()).all(|(v, ty)| {
                    let name = self.graph.name(*v);
                    let mut given = inputs.iter().filter(|(n, _)| *n == name);
                    match (given.next(), given.next(), ty) {
                        (Some((_, t)), None, ValueType::Tensor(tt)) => {
                            tt.dtype == t.dtype()
                                && tt.shape.as_ref().is_some_and(|s| {
                                    s.len() == t.rank() && s.iter().zip(t.shape()).all(|(d, &n)| d.known() == Some(n))
                                })
                        }
                        _ => false,
                    }
                })
        });
        Ok(found.map(|(_, p)| p.clone()))
    }

    /// A run of a cached plan with tensor inputs: the inputs are copied into recycled device
    /// storage and nothing is allocated but the returned outputs.
    fn run_cached(&self, plan: &Arc<Plan>, inputs: &[(&str, Tensor)]) -> Result<Vec<(String, Tensor)>> {
        let mut st = self.take_state(plan)?;
        let cpu = &self.devices[self.cpu];
        let mut result = None;
        let mut once = Some(&mut st);
        self.in_scopes(0, &mut || {
            let Some(st) = once.take() else { return };
            result = Some((|| {
                for (v, &s) in self.graph.inputs.iter().zip(&plan.input_slots) {
                    let name = self.graph.name(*v);
                    let t = inputs
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, t)| t)
                        .ok_or_else(|| Error::InvalidModel(format!("internal: input {name:?} vanished")))?;
                    st.slots[s] = Some(Slot::Dev(cpu.upload(t).map_err(|e| self.dev_err(self.cpu, e))?));
                }
                self.execute(plan, st, None)
            })());
        });
        let outs = result.unwrap_or_else(|| Err(scope_error())).and_then(|()| {
            let mut outs = Vec::with_capacity(plan.output_slots.len());
            for (i, v) in self.graph.outputs.iter().enumerate() {
                let name = self.graph.name(*v);
                match self.output_value(plan, &mut st.slots, i)? {
                    Value::Tensor(t) => outs.push((name.to_string(), t)),
                    other => {
                        return Err(Error::Usage(format!(
                            "output {name:?} is a {}, not a tensor: use run_values",
                            other.describe()
                        )))
                    }
                }
            }
            Ok(outs)
        });
        self.put_state(st);
        outs
    }

    /// Bookkeeping for a run of `plan`: a finished run's, or fresh.
    fn take_state(&self, plan: &Arc<Plan>) -> Result<RunState> {
        let mut st = self.states.lock().map_err(|_| poisoned())?.pop().unwrap_or_default();
        if !st.plan.as_ref().is_some_and(|p| Arc::ptr_eq(p, plan)) {
            st.slots.clear();
            st.slots.resize_with(plan.num_slots, || None);
            for &(v, d, s) in &plan.const_slots {
                st.slots[s] = Some(Slot::Dev(self.const_on(v, d)?));
            }
            st.plan = Some(plan.clone());
        }
        Ok(st)
    }

    /// Return a run's bookkeeping for later runs; values still held go back to their devices.
    fn put_state(&self, mut st: RunState) {
        if let Some(plan) = &st.plan {
            for (slot, &c) in st.slots.iter_mut().zip(&plan.is_const) {
                if !c {
                    self.release(slot.take());
                }
            }
        }
        st.held.clear();
        st.args.clear();
        st.outs.clear();
        if let Ok(mut states) = self.states.lock() {
            states.push(st);
        }
    }

    /// Hand a dead value back to the device holding it.
    fn release(&self, slot: Option<Slot>) {
        if let Some(Slot::Dev(t)) = slot {
            if let Some(d) = self.devices.iter().find(|d| *d.info().name == *t.device) {
                d.release(t);
            }
        }
    }

    /// Run with named values (tensors, sequences, optionals).
    pub fn run_values(&self, inputs: Vec<(String, Value)>) -> Result<Vec<(String, Value)>> {
        Ok(self.run_with(inputs, None)?.0)
    }

    /// Bind the inputs, fetch the plan for their signature and execute it (timing every step
    /// into `times` when given); returns the named outputs and the plan.
    fn run_with(
        &self,
        inputs: Vec<(String, Value)>,
        times: Option<&mut Vec<f64>>,
    ) -> Result<(Vec<(String, Value)>, Arc<Plan>)> {
        let ordered = self.bind_inputs(inputs)?;
        let sig: Vec<ValueType> = ordered.iter().map(value_type_of).collect();
        let plan = self.plan_for(&sig)?;
        let mut st = self.take_state(&plan)?;
        let mut job = Some((ordered, times, &mut st));
        let mut result = None;
        self.in_scopes(0, &mut || {
            if let Some((ordered, times, st)) = job.take() {
                result = Some(self.bind_and_execute(&plan, st, ordered, times));
            }
        });
        let outs = result.unwrap_or_else(|| Err(scope_error()));
        self.put_state(st);
        let outs = outs?;
        let named = self
            .graph
            .outputs
            .iter()
            .map(|v| self.graph.name(*v).to_string())
            .zip(outs)
            .collect();
        Ok((named, plan))
    }

    /// Run `f` inside the run scopes of devices `d..` (each device's `run_scope` wraps the next).
    fn in_scopes(&self, d: usize, f: &mut (dyn FnMut() + Send)) {
        match self.devices.get(d) {
            Some(dev) => dev.run_scope(&mut || self.in_scopes(d + 1, f)),
            None => f(),
        }
    }

    /// The plan for a signature of concrete input types (built once, then cached).
    pub fn plan_for(&self, sig: &[ValueType]) -> Result<Arc<Plan>> {
        if let Some(p) = self.plans.lock().map_err(|_| poisoned())?.get(sig) {
            return Ok(p.clone());
        }
        let plan = Arc::new(build_plan(&self.graph, &self.devices, self.cpu, self.policy, sig)?);
        // Let pooling devices size their pools to the plan's peak once, before the first run.
        for m in &plan.memory {
            if let Some(d) = self.devices.iter().find(|d| d.info().name == m.device) {
                d.reserve(m.peak_bytes).map_err(|source| Error::Device {
                    device: m.device.clone(),
                    source,
                })?;
            }
        }
        self.plans
            .lock()
            .map_err(|_| poisoned())?
            .insert(sig.to_vec(), plan.clone());
        Ok(plan)
    }

    /// The plan for the model's declared input shapes (symbolic dims are bound to 1).
    pub fn default_plan(&self) -> Result<Arc<Plan>> {
        let sig: Vec<ValueType> = self
            .graph
            .inputs
            .iter()
            .map(|v| match &self.graph.values[v.0].ty {
                ValueType::Tensor(t) => ValueType::Tensor(TensorType {
                    dtype: t.dtype,
                    shape: t
                        .shape
                        .as_ref()
                        .map(|s| s.iter().map(|d| Dim::Known(d.known().unwrap_or(1))).collect()),
                }),
                other => other.clone(),
            })
            .collect();
        self.plan_for(&sig)
    }

    /// Check names, dtypes and shapes; return the inputs in graph order.
    fn bind_inputs(&self, inputs: Vec<(String, Value)>) -> Result<Vec<Value>> {
        let names: Vec<String> = self
            .graph
            .inputs
            .iter()
            .map(|v| self.graph.name(*v).to_string())
            .collect();
        let mut slots: Vec<Option<Value>> = vec![None; names.len()];
        for (name, v) in inputs {
            let i = names
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| Error::UnknownInput {
                    name: name.clone(),
                    expected: names.clone(),
                })?;
            if slots[i].is_some() {
                return Err(Error::Usage(format!("input {name:?} is given twice")));
            }
            slots[i] = Some(v);
        }
        let mut syms: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(names.len());
        for (i, slot) in slots.into_iter().enumerate() {
            let ty = &self.graph.values[self.graph.inputs[i].0].ty;
            let v = match slot {
                Some(v) => v,
                None if matches!(ty, ValueType::Optional(_)) => Value::Optional(None),
                None => {
                    return Err(Error::MissingInput {
                        name: names[i].clone(),
                        expected: ty.to_string(),
                    })
                }
            };
            if let (ValueType::Tensor(tt), Value::Tensor(t)) = (ty, &v) {
                check_tensor(&names[i], tt, t, &mut syms)?;
            }
            out.push(v);
        }
        Ok(out)
    }

    fn const_on(&self, v: ValueId, d: usize) -> Result<DeviceTensor> {
        let key = (v, d);
        if let Some(t) = self.consts.lock().map_err(|_| poisoned())?.get(&key) {
            return Ok(t.clone());
        }
        let t = self
            .graph
            .constants
            .get(&v)
            .ok_or_else(|| Error::InvalidModel(format!("constant {:?} is missing", self.graph.name(v))))?;
        let dt = self.devices[d].upload_shared(t).map_err(|e| self.dev_err(d, e))?;
        self.consts.lock().map_err(|_| poisoned())?.insert(key, dt.clone());
        Ok(dt)
    }

    fn dev_err(&self, d: usize, e: suanli_backends::DeviceError) -> Error {
        Error::Device {
            device: self.devices[d].info().name.clone(),
            source: e,
        }
    }

    fn host_value(&self, s: &Slot) -> Result<Value> {
        match s {
            Slot::Host(v) => Ok(v.clone()),
            Slot::Dev(t) => match t.host() {
                Some(h) => Ok(Value::Tensor(h.clone())),
                None => {
                    let d = self
                        .devices
                        .iter()
                        .position(|d| *d.info().name == *t.device)
                        .unwrap_or(self.cpu);
                    Ok(Value::Tensor(
                        self.devices[d].download(t).map_err(|e| self.dev_err(d, e))?,
                    ))
                }
            },
        }
    }

    /// Run node `node` on the host with values from `slots`, storing its outputs there.
    fn host_step(
        &self,
        node: usize,
        inputs: &[Option<usize>],
        outputs: &[Option<usize>],
        slots: &mut [Option<Slot>],
    ) -> Result<()> {
        let n = &self.graph.nodes[node];
        let mut args = Vec::with_capacity(inputs.len());
        for s in inputs {
            args.push(match s {
                None => None,
                Some(s) => {
                    let slot = slots[*s]
                        .as_ref()
                        .ok_or_else(|| Error::InvalidModel(format!("internal: slot {s} is empty")))?;
                    Some(self.host_value(slot)?)
                }
            });
        }
        let cpu = &self.devices[self.cpu];
        for (o, v) in outputs.iter().zip(run_host_node(n, &self.graph, &args)?) {
            if let Some(o) = o {
                slots[*o] = Some(match v {
                    Value::Tensor(t) => Slot::Dev(cpu.adopt(t).map_err(|e| self.dev_err(self.cpu, e))?),
                    other => Slot::Host(other),
                });
            }
        }
        Ok(())
    }

    /// Run once with per-step timing (each step is synchronised on its device, so the times
    /// are the steps' own). Returns the outputs, the plan used and the seconds of every step.
    pub fn run_profiled(&self, inputs: Vec<(String, Value)>) -> Result<(Vec<(String, Value)>, Arc<Plan>, Vec<f64>)> {
        let mut times = Vec::new();
        let (named, plan) = self.run_with(inputs, Some(&mut times))?;
        Ok((named, plan, times))
    }

    /// Put `inputs` into their slots, execute the plan and return the outputs as host values.
    fn bind_and_execute(
        &self,
        plan: &Plan,
        st: &mut RunState,
        inputs: Vec<Value>,
        times: Option<&mut Vec<f64>>,
    ) -> Result<Vec<Value>> {
        let cpu = &self.devices[self.cpu];
        for (&s, v) in plan.input_slots.iter().zip(inputs) {
            st.slots[s] = Some(match v {
                Value::Tensor(t) => {
                    let t = cpu.adopt(t).map_err(|e| self.dev_err(self.cpu, e))?;
                    st.held.push(t.storage.clone());
                    Slot::Dev(t)
                }
                other => Slot::Host(other),
            });
        }
        self.execute(plan, st, times)?;
        let mut results = Vec::with_capacity(plan.output_slots.len());
        for i in 0..plan.output_slots.len() {
            results.push(self.output_value(plan, &mut st.slots, i)?);
        }
        Ok(results)
    }

    /// Graph output `i` as a host value: a CPU tensor nothing else holds moves out of its slot
    /// (no copy); constants, values listed again as a later output and device tensors are
    /// copied.
    fn output_value(&self, plan: &Plan, slots: &mut [Option<Slot>], i: usize) -> Result<Value> {
        let s = plan.output_slots[i].0;
        let listed_later = plan.output_slots[i + 1..].iter().any(|o| o.0 == s);
        if !plan.is_const[s] && !listed_later {
            // The elements move out; the emptied tensor goes back to its device, which keeps
            // such shells for later outputs.
            let moved = match &mut slots[s] {
                Some(Slot::Dev(t)) => Arc::get_mut(&mut t.storage)
                    .and_then(|a| a.downcast_mut::<Tensor>())
                    .map(|h| {
                        let data = std::mem::replace(h.data_mut(), suanli_kernels::TensorData::U8(Vec::new()));
                        Tensor::new(h.shape().to_vec(), data)
                    }),
                _ => None,
            };
            if let Some(out) = moved {
                self.release(slots[s].take());
                return out
                    .map(Value::Tensor)
                    .map_err(|e| Error::InvalidModel(format!("internal: {e}")));
            }
        }
        self.host_value(slots[s].as_ref().ok_or_else(|| empty_slot(s))?)
    }

    /// Execute the plan's steps on the slot table of `st` (inputs and constants in place); the
    /// outputs are left in their slots.
    fn execute(&self, plan: &Plan, st: &mut RunState, mut times: Option<&mut Vec<f64>>) -> Result<()> {
        let g = &self.graph;
        let RunState { slots, args, outs, .. } = st;
        for (i, step) in plan.steps.iter().enumerate() {
            let started = times.as_ref().map(|_| std::time::Instant::now());
            match step {
                Step::Kernel {
                    node, inputs, outputs, ..
                } if inputs
                    .iter()
                    .flatten()
                    .any(|s| matches!(&slots[*s], Some(Slot::Host(v)) if v.as_tensor().is_none())) =>
                {
                    // A kernel node fed a sequence or optional (e.g. Identity): run on the host.
                    self.host_step(*node, inputs, outputs, slots)?;
                }
                Step::Kernel {
                    node,
                    device,
                    kernel,
                    inputs,
                    outputs,
                } => {
                    let n = &g.nodes[*node];
                    // The inputs move out of their slots for the launch and back after it, except
                    // those read here for the last time, which the device may keep.
                    args.clear();
                    for (j, s) in inputs.iter().enumerate() {
                        let Some(s) = *s else {
                            args.push(None);
                            continue;
                        };
                        let repeated = inputs[..j].contains(&Some(s)) || inputs[j + 1..].contains(&Some(s));
                        let on_device = matches!(slots[s].as_ref().ok_or_else(|| empty_slot(s))?, Slot::Dev(_));
                        let t = match (on_device, repeated) {
                            (true, true) => match &slots[s] {
                                Some(Slot::Dev(t)) => t.clone(),
                                _ => return Err(empty_slot(s)),
                            },
                            (true, false) => match slots[s].take() {
                                Some(Slot::Dev(t)) => t,
                                _ => return Err(empty_slot(s)),
                            },
                            (false, _) => {
                                let v = match &slots[s] {
                                    Some(Slot::Host(v)) => v,
                                    _ => return Err(empty_slot(s)),
                                };
                                let t = v.as_tensor().ok_or_else(|| Error::InvalidNode {
                                    node: n.name.clone(),
                                    op_type: n.op.name().into(),
                                    msg: format!("expected a tensor input, got {}", v.describe()),
                                })?;
                                self.devices[*device].upload(t).map_err(|e| self.dev_err(*device, e))?
                            }
                        };
                        args.push(Some(t));
                    }
                    outs.clear();
                    let launched = self.devices[*device]
                        .launch_owned(kernel.as_ref(), args, &plan.last_read[i], outs)
                        .map_err(|e| match e {
                            suanli_backends::DeviceError::Kernel(k) => Error::kernel(&n.name, n.op.name(), k),
                            other => self.dev_err(*device, other),
                        });
                    // Inputs still alive go back to their slots (also after a failed launch).
                    for (s, t) in inputs.iter().zip(args.iter_mut()) {
                        if let (Some(s), Some(t)) = (s, t.take()) {
                            if slots[*s].is_none() {
                                slots[*s] = Some(Slot::Dev(t));
                            } else {
                                self.release(Some(Slot::Dev(t)));
                            }
                        }
                    }
                    launched?;
                    let produced = outs.len();
                    let mut made = outs.drain(..);
                    for (k, o) in outputs.iter().enumerate() {
                        match (o, made.next()) {
                            (Some(o), Some(t)) => slots[*o] = Some(Slot::Dev(t)),
                            (Some(_), None) => {
                                return Err(Error::InvalidNode {
                                    node: n.name.clone(),
                                    op_type: n.op.name().into(),
                                    msg: format!("kernel produced {produced} outputs but output {k} is used"),
                                })
                            }
                            (None, t) => self.release(t.map(Slot::Dev)),
                        }
                    }
                    for t in made {
                        self.release(Some(Slot::Dev(t)));
                    }
                }
                Step::Copy { from, to, src, dst, .. } => {
                    let t = match slots[*src].as_ref().ok_or_else(|| empty_slot(*src))? {
                        Slot::Dev(t) => t.clone(),
                        Slot::Host(_) => return Err(Error::InvalidModel("internal: copy of a host value".into())),
                    };
                    let moved = match t.host() {
                        Some(h) => self.devices[*to].upload(h).map_err(|e| self.dev_err(*to, e))?,
                        None => {
                            let h = self.devices[*from].download(&t).map_err(|e| self.dev_err(*from, e))?;
                            self.devices[*to].adopt(h).map_err(|e| self.dev_err(*to, e))?
                        }
                    };
                    slots[*dst] = Some(Slot::Dev(moved));
                }
                Step::Host { node, inputs, outputs } => self.host_step(*node, inputs, outputs, slots)?,
            }
            if let (Some(times), Some(t0)) = (times.as_deref_mut(), started) {
                let d = match step {
                    Step::Kernel { device, .. } => *device,
                    Step::Copy { to, .. } => *to,
                    Step::Host { .. } => self.cpu,
                };
                self.devices[d].synchronize().map_err(|e| self.dev_err(d, e))?;
                times.push(t0.elapsed().as_secs_f64());
            }
            for &s in &plan.frees[i] {
                self.release(slots[s].take());
            }
        }
        Ok(())
    }
}

fn empty_slot(s: usize) -> Error {
    Error::InvalidModel(format!("internal: slot {s} is empty"))
}

fn scope_error() -> Error {
    Error::Device {
        device: "run scope".into(),
        source: DeviceError::Driver("a device's run scope returned without running the session".into()),
    }
}

fn poisoned() -> Error {
    Error::Usage("a previous run panicked while holding the session's cache".into())
}

fn value_type_of(v: &Value) -> ValueType {
    match v {
        Value::Tensor(t) => ValueType::Tensor(TensorType::known(t.dtype(), t.shape())),
        Value::Sequence(s) => ValueType::Sequence(
            s.first()
                .map(|t| Box::new(ValueType::Tensor(TensorType::unknown(t.dtype())))),
        ),
        Value::Optional(_) => ValueType::Optional(None),
    }
}

fn check_tensor(name: &str, ty: &TensorType, t: &Tensor, syms: &mut HashMap<String, usize>) -> Result<()> {
    if ty.dtype != t.dtype() {
        return Err(Error::InputDtype {
            name: name.into(),
            expected: ty.dtype.to_string(),
            got: t.dtype().to_string(),
        });
    }
    let Some(shape) = &ty.shape else {
        return Ok(());
    };
    let bad = || Error::InputShape {
        name: name.into(),
        expected: ty.to_string(),
        got: t.shape().to_vec(),
    };
    if shape.len() != t.rank() {
        return Err(bad());
    }
    for (d, &n) in shape.iter().zip(t.shape()) {
        match d {
            Dim::Known(k) if *k != n => return Err(bad()),
            Dim::Sym(s) => {
                if let Some(&prev) = syms.get(s) {
                    if prev != n {
                        return Err(bad());
                    }
                } else {
                    syms.insert(s.clone(), n);
                }
            }
            _ => {}
        }
    }
    Ok(())
}
