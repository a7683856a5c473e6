//! The `suanli` command line: devices, inspect, run, bench, demo.

use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use suanli::graph::{Value, ValueType};
use suanli::{Error, Policy, Result, Session};
use suanli_kernels::{DType, Dim, Tensor};

/// The demo model: a small CNN shipped in the binary (scripts/make_demo_model.py).
const DEMO_MODEL: &[u8] = include_bytes!("../../assets/demo.onnx");

#[derive(Parser)]
#[command(name = "suanli", version, about = "suanli (算力): a portable AI kernel runtime")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where and how a model runs (shared by `run` and `bench`).
#[derive(clap::Args)]
struct Target {
    /// cpu, wgpu, wgpu:N, cuda:N, auto, or a comma list (preferred first).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// What to do with nodes the device cannot run: allow, warn or deny.
    #[arg(long, default_value = "allow")]
    policy: Policy,
    /// CPU worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Idle CPU workers sleep between kernels instead of spinning for work during a run.
    #[arg(long)]
    no_spin: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// List every device kind with its state and capabilities.
    Devices {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show a model's inputs, outputs, op histogram, parameters and unsupported ops per device.
    Inspect {
        model: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run a model on inputs from .npy or .pb files.
    Run {
        model: PathBuf,
        #[command(flatten)]
        target: Target,
        /// NAME=FILE (.npy or ONNX TensorProto .pb), repeatable.
        #[arg(long = "input", value_name = "NAME=FILE")]
        inputs: Vec<String>,
        #[arg(long)]
        output_dir: Option<PathBuf>,
        #[arg(long, default_value = "npy", value_parser = ["npy", "pb"])]
        output_format: String,
        /// Print the placement and memory plan.
        #[arg(long)]
        plan: bool,
    },
    /// Measure latency (min / median / p90).
    Bench {
        model: PathBuf,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        opts: BenchOpts,
    },
    /// Run the embedded demo model on every available device (or only on `--device`).
    Demo {
        /// Run only on this device (checked against the CPU).
        #[arg(long)]
        device: Option<String>,
        /// What to do with nodes the device cannot run: allow, warn or deny.
        #[arg(long, default_value = "allow")]
        policy: Policy,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Devices { json } => devices(json),
        Cmd::Inspect { model, json } => inspect(&model, json),
        Cmd::Run {
            model,
            target,
            inputs,
            output_dir,
            output_format,
            plan,
        } => run(&model, &target, &inputs, output_dir.as_deref(), &output_format, plan),
        Cmd::Bench { model, target, opts } => bench(&model, &target, &opts),
        Cmd::Demo { device, policy } => demo(device.as_deref(), policy),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = e.to_string().replace('\n', " ");
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}

fn devices(json: bool) -> Result<()> {
    let list = suanli_backends::enumerate();
    if json {
        let arr: Vec<serde_json::Value> = list
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "kind": e.kind,
                    "available": e.available,
                    "reason": e.reason,
                    "description": e.info.as_ref().map(|i| i.description.clone()),
                    "capabilities": e.info.as_ref().map(|i| i.capabilities.clone()).unwrap_or_default(),
                    "peak_gflops": e.info.as_ref().map(|i| i.peak_gflops),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&arr).unwrap_or_default());
        return Ok(());
    }
    for e in list {
        let state = if e.available { "available" } else { "absent" };
        println!("{:<10} {:<8} {:<10} {}", e.name, e.kind, state, e.reason);
        if let Some(i) = e.info {
            println!("{:<10} capabilities: {}", "", i.capabilities.join(", "));
        }
    }
    Ok(())
}

fn describe_type(t: &ValueType) -> String {
    t.to_string()
}

fn inspect(model: &Path, json: bool) -> Result<()> {
    let m = suanli::onnx::load_file(model)?;
    let g = &m.graph;
    let ins: Vec<(String, String)> = g
        .inputs
        .iter()
        .map(|v| (g.name(*v).to_string(), describe_type(&g.values[v.0].ty)))
        .collect();
    let outs: Vec<(String, String)> = g
        .outputs
        .iter()
        .map(|v| (g.name(*v).to_string(), describe_type(&g.values[v.0].ty)))
        .collect();
    let hist = g.op_histogram();
    let params = g.parameter_count();
    let mut per_device = Vec::new();
    for e in suanli_backends::enumerate() {
        if !e.available {
            per_device.push((e.name.clone(), Err(format!("absent: {}", e.reason))));
            continue;
        }
        let r = Session::builder()
            .devices(&e.name)
            .optimize(false)
            .build_from_graph(g.clone())
            .and_then(|s| s.default_plan())
            .map(|p| {
                let mut bad: std::collections::BTreeMap<String, usize> = Default::default();
                for pl in &p.placements {
                    if pl.device != e.name {
                        *bad.entry(pl.op.clone()).or_default() += 1;
                    }
                }
                bad.into_iter().collect::<Vec<_>>()
            })
            .map_err(|e| e.to_string());
        per_device.push((e.name.clone(), r));
    }
    if json {
        let dev: Vec<serde_json::Value> = per_device
            .iter()
            .map(|(n, r)| match r {
                Ok(v) => serde_json::json!({"device": n, "unsupported": v.iter().map(|(o, c)| serde_json::json!({"op": o, "count": c})).collect::<Vec<_>>()}),
                Err(e) => serde_json::json!({"device": n, "error": e}),
            })
            .collect();
        let j = serde_json::json!({
            "inputs": ins.iter().map(|(n, t)| serde_json::json!({"name": n, "type": t})).collect::<Vec<_>>(),
            "outputs": outs.iter().map(|(n, t)| serde_json::json!({"name": n, "type": t})).collect::<Vec<_>>(),
            "ops": hist.iter().map(|(o, c)| serde_json::json!({"op": o, "count": c})).collect::<Vec<_>>(),
            "parameters": params,
            "opsets": m.opsets,
            "devices": dev,
        });
        println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
        return Ok(());
    }
    println!(
        "model: {} (IR {}, producer {:?})",
        model.display(),
        m.ir_version,
        m.producer
    );
    let mut ops: Vec<_> = m.opsets.iter().collect();
    ops.sort();
    println!(
        "opsets: {}",
        ops.iter()
            .map(|(d, v)| format!("{d} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("inputs:");
    for (n, t) in &ins {
        println!("  {n}: {t}");
    }
    println!("outputs:");
    for (n, t) in &outs {
        println!("  {n}: {t}");
    }
    println!("parameters: {params}");
    println!("ops ({} nodes):", hist.iter().map(|h| h.1).sum::<usize>());
    for (o, c) in &hist {
        println!("  {o:<28} {c}");
    }
    println!("ops each device cannot run:");
    for (n, r) in per_device {
        match r {
            Ok(v) if v.is_empty() => println!("  {n}: none (all nodes run natively)"),
            Ok(v) => println!(
                "  {n}: {}",
                v.iter()
                    .map(|(o, c)| format!("{o} x{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => println!("  {n}: {e}"),
        }
    }
    Ok(())
}

fn read_input(spec: &str, session: &Session) -> Result<(String, Value)> {
    let (name, file) = spec
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("--input {spec:?}: expected NAME=FILE")))?;
    let path = Path::new(file);
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: file.to_string(),
        source: e,
    })?;
    let v = if path.extension().is_some_and(|e| e == "npy") {
        Value::Tensor(suanli::npy::read_npy(&bytes)?)
    } else {
        let ty = session
            .inputs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .unwrap_or(ValueType::Unknown);
        suanli::onnx::tensor::value_from_bytes(&bytes, &ty)?
    };
    Ok((name.to_string(), v))
}

fn open_session(model: &Path, t: &Target) -> Result<Session> {
    Session::builder()
        .devices(&t.device)
        .policy(t.policy)
        .threads(t.threads)
        .allow_spinning(!t.no_spin)
        .build_from_file(model)
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn run(
    model: &Path,
    target: &Target,
    inputs: &[String],
    out_dir: Option<&Path>,
    fmt: &str,
    show_plan: bool,
) -> Result<()> {
    let session = open_session(model, target)?;
    let device = target.device.as_str();
    let vals = inputs
        .iter()
        .map(|s| read_input(s, &session))
        .collect::<Result<Vec<_>>>()?;
    if show_plan {
        let sig: Vec<ValueType> = bind_sig(&session, &vals);
        print!("{}", session.plan_for(&sig)?.report());
    }
    let t0 = Instant::now();
    let outs = session.run_values(vals)?;
    let dt = t0.elapsed();
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
    }
    for (name, v) in &outs {
        println!("{name}: {}", v.describe());
        if let Some(dir) = out_dir {
            let path = dir.join(format!("{}.{fmt}", sanitize(name)));
            let bytes = match (fmt, v) {
                ("npy", Value::Tensor(t)) => suanli::npy::write_npy(t),
                ("npy", other) => {
                    return Err(Error::Usage(format!(
                        "output {name:?} is a {}: use --output-format pb",
                        other.describe()
                    )))
                }
                _ => suanli::onnx::tensor::value_to_bytes(v, name),
            };
            std::fs::write(&path, bytes).map_err(|e| Error::Io {
                path: path.display().to_string(),
                source: e,
            })?;
        }
    }
    println!("time: {:.3} ms on {device}", dt.as_secs_f64() * 1e3);
    Ok(())
}

fn bind_sig(session: &Session, vals: &[(String, Value)]) -> Vec<ValueType> {
    session
        .inputs()
        .iter()
        .map(|(n, ty)| match vals.iter().find(|(m, _)| m == n).map(|x| &x.1) {
            Some(Value::Tensor(t)) => ValueType::Tensor(suanli_kernels::TensorType::known(t.dtype(), t.shape())),
            _ => ty.clone(),
        })
        .collect()
}

/// Deterministic pseudo-random tensor (xorshift), values in [0, 1) for floats, small ints.
fn random_tensor(dtype: DType, shape: Vec<usize>, seed: u64) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let f: Vec<f64> = (0..n).map(|_| next()).collect();
    let t = Tensor::from_vec(shape.clone(), f)?;
    if dtype.is_float() {
        Ok(t.cast(dtype)?)
    } else if dtype == DType::Str {
        Err(Error::Usage("cannot make random string inputs; pass --input".into()))
    } else {
        let ints: Vec<f64> = t.to_f64_vec()?.iter().map(|x| (x * 4.0).floor()).collect();
        Ok(Tensor::from_vec(shape, ints)?.cast(dtype)?)
    }
}

/// Options of `suanli bench`.
#[derive(clap::Args)]
struct BenchOpts {
    #[arg(long = "input", value_name = "NAME=FILE")]
    inputs: Vec<String>,
    /// NAME=1x3x224x224: random input of this shape.
    #[arg(long = "shape", value_name = "NAME=DIMS")]
    shapes: Vec<String>,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[arg(long, default_value_t = 20)]
    iters: usize,
    #[arg(long)]
    json: bool,
    /// Also profile: per-op time, FLOPs, bytes moved, GFLOP/s and % of the measured peak.
    #[arg(long)]
    profile: bool,
    /// Slowest steps listed by --profile.
    #[arg(long, default_value_t = 25)]
    top: usize,
}

/// Peak resident set size of this process in bytes (Linux; `None` elsewhere).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn bench(model: &Path, target: &Target, opts: &BenchOpts) -> Result<()> {
    let BenchOpts {
        inputs,
        shapes,
        warmup,
        iters,
        json,
        ..
    } = opts;
    let (warmup, iters, json) = (*warmup, *iters, *json);
    let t_build = Instant::now();
    let session = open_session(model, target)?;
    let device = target.device.as_str();
    let build_ms = t_build.elapsed().as_secs_f64() * 1e3;
    let mut vals = inputs
        .iter()
        .map(|s| read_input(s, &session))
        .collect::<Result<Vec<_>>>()?;
    for (i, (name, ty)) in session.inputs().into_iter().enumerate() {
        if vals.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let ValueType::Tensor(tt) = ty else {
            return Err(Error::Usage(format!(
                "input {name:?} is not a tensor: pass it with --input"
            )));
        };
        let given = shapes
            .iter()
            .filter_map(|s| s.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d);
        let shape: Vec<usize> = match given {
            Some(d) => d
                .split('x')
                .map(|x| {
                    x.trim().parse::<usize>().map_err(|_| {
                        Error::Usage(format!("--shape {name}={d}: dims must be integers like 1x3x224x224"))
                    })
                })
                .collect::<Result<_>>()?,
            None => tt
                .shape
                .as_ref()
                .map(|s| s.iter().map(|d| if let Dim::Known(k) = d { *k } else { 1 }).collect())
                .unwrap_or_default(),
        };
        vals.push((name, Value::Tensor(random_tensor(tt.dtype, shape, i as u64 + 1)?)));
    }
    let tty = std::io::stderr().is_terminal() && !json;
    for _ in 0..warmup {
        session.run_values(vals.clone())?;
    }
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters.max(1) {
        let v = vals.clone();
        let t0 = Instant::now();
        session.run_values(v)?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        if tty {
            let w = 30;
            let done = (i + 1) * w / iters.max(1);
            eprint!(
                "\r[{}{}] {}/{}",
                "#".repeat(done),
                " ".repeat(w - done),
                i + 1,
                iters.max(1)
            );
            let _ = std::io::stderr().flush();
        }
    }
    if tty {
        eprintln!();
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let (min, med, p90) = (times[0], pct(0.5), pct(0.9));
    let rss = peak_rss_bytes();
    let prof = if opts.profile {
        Some(suanli::profile::profile(&session, &vals, 1, iters.clamp(1, 10))?)
    } else {
        None
    };
    if json {
        let mut j = serde_json::json!({
            "model": model.display().to_string(), "device": device, "iters": times.len(), "warmup": warmup,
            "min_ms": min, "median_ms": med, "p90_ms": p90, "build_ms": build_ms, "peak_rss_bytes": rss,
        });
        if let Some(p) = &prof {
            j["profile"] = p.to_json();
        }
        println!("{j}");
    } else {
        println!(
            "{} on {device}: min {min:.3} ms, median {med:.3} ms, p90 {p90:.3} ms ({} iters, build {build_ms:.1} ms, peak RSS {})",
            model.display(),
            times.len(),
            rss.map(|b| suanli::plan::human_bytes(b as usize)).unwrap_or_else(|| "unknown".into())
        );
        if let Some(p) = &prof {
            print!("{}", p.report(opts.top));
        }
    }
    Ok(())
}

fn demo(only: Option<&str>, policy: Policy) -> Result<()> {
    let image = random_tensor(DType::F32, vec![1, 3, 32, 32], 7)?;
    println!("suanli demo: a small CNN (conv-relu-pool-conv-relu-gap-gemm-softmax) on a 1x3x32x32 image");
    let cpu = Session::builder().devices("cpu").build_from_bytes(DEMO_MODEL)?;
    let reference = cpu.run(&[("image", image.clone())])?;
    let probs = &reference[0].1;
    let v = probs.to_f32_vec()?;
    let (best, p) = v
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |a, (i, &x)| if x > a.1 { (i, x) } else { a });
    println!(
        "cpu result: class {best} with probability {p:.4} (sum {:.4})",
        v.iter().sum::<f32>()
    );
    let names: Vec<String> = match only {
        Some(d) => vec![d.to_string()],
        None => suanli_backends::enumerate()
            .into_iter()
            .filter_map(|e| {
                if !e.available {
                    println!("{:<8} skipped: {}", e.name, e.reason);
                }
                e.available.then_some(e.name)
            })
            .collect(),
    };
    for name in names {
        let s = Session::builder()
            .devices(&name)
            .policy(policy)
            .build_from_bytes(DEMO_MODEL)?;
        let out = s.run(&[("image", image.clone())])?;
        let agree = suanli::compare::check_tensor(&out[0].1, probs, 1e-3, 1e-5);
        let diff = suanli::compare::max_abs_diff(&out[0].1, probs).unwrap_or(f64::NAN);
        let mut times = Vec::new();
        for _ in 0..20 {
            let t0 = Instant::now();
            s.run(&[("image", image.clone())])?;
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{:<8} agrees with cpu: {} (max |diff| {diff:.2e}); median latency {:.3} ms over {} runs",
            name,
            if agree.is_ok() { "yes" } else { "NO" },
            times[times.len() / 2],
            times.len()
        );
        if let Ok(plan) = s.default_plan() {
            let share: Vec<String> = plan
                .flops_share()
                .iter()
                .map(|(d, f)| format!("{d} {:.1}%", f * 100.0))
                .collect();
            println!("{:<8} FLOPs placed: {}", "", share.join(", "));
        }
        if let Err(m) = agree {
            return Err(Error::Usage(format!("device {name} disagrees with the CPU: {m}")));
        }
    }
    Ok(())
}
