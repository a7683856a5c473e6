//! ConvOp family: Conv, ConvInteger, ConvTranspose, DeformConv, Col2Im, CausalConvWithState.

pub mod deform;
mod direct;
pub mod fast;
pub mod forward;
pub mod geom;
pub mod im2col;
pub mod transpose;

use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::op::{InferInput, OpImpl};
use crate::ops::linalg::gemm::{comp_kind, CompKind, Compute};
use crate::shape::{Dim, TensorType};
use crate::tensor::Tensor;
use crate::util::{const_val, opt, req, req_ty};
pub use geom::{AutoPad, Geom, Window};

/// The convolution ops.
#[derive(Clone, Debug, PartialEq)]
pub enum ConvOp {
    /// Float convolution with groups, optional bias.
    Conv {
        /// Window attributes.
        window: Window,
        /// Groups.
        group: usize,
    },
    /// u8/i8 convolution with zero points, producing i32.
    ConvInteger {
        /// Window attributes.
        window: Window,
        /// Groups.
        group: usize,
    },
    /// Transposed convolution.
    ConvTranspose {
        /// Window attributes.
        window: Window,
        /// Groups.
        group: usize,
        /// Extra extent added at the end of each spatial dim.
        output_padding: Vec<usize>,
        /// Requested output spatial shape (pads are then derived).
        output_shape: Option<Vec<usize>>,
    },
    /// Deformable convolution (2-D).
    DeformConv {
        /// Window attributes.
        window: Window,
        /// Weight groups.
        group: usize,
        /// Offset groups.
        offset_group: usize,
    },
    /// Rearrange column blocks into an image, summing overlaps.
    Col2Im {
        /// Window attributes (`kernel_shape` unused: the block shape is an input).
        window: Window,
    },
    /// Causal depthwise 1-D convolution carrying a state (opset 27).
    CausalConvWithState {
        /// Apply SiLU (`x·sigmoid(x)`) to the output.
        silu: bool,
    },
}

/// Validate `x`/`w` shapes of a (grouped) convolution and resolve its window.
fn conv_shape(op: &str, window: &Window, group: usize, xs: &[usize], ws: &[usize]) -> Result<forward::ConvShape> {
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(KernelError::invalid(
            op,
            format!("X {xs:?} and W {ws:?} must be [N, C, ...] and [M, C/group, ...] of the same rank >= 3"),
        ));
    }
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    if group == 0 || c != ws[1] * group || m % group != 0 {
        return Err(KernelError::invalid(
            op,
            format!("channels do not match: X {xs:?}, W {ws:?}, group {group}"),
        ));
    }
    let kernel = &ws[2..];
    check_kernel_shape(op, window.kernel_shape.as_deref(), kernel)?;
    let geom = window.resolve(op, &xs[2..], kernel, false)?;
    Ok(forward::ConvShape { n, c, m, group, geom })
}

/// The resolved window of a convolution of input shape `xs` with weights of shape `ws`.
pub(crate) fn conv_geometry(window: &Window, group: usize, xs: &[usize], ws: &[usize]) -> Result<Geom> {
    Ok(conv_shape("Conv", window, group, xs, ws)?.geom)
}

fn conv_in<C: Compute>(x: &Tensor, w: &Tensor, b: Option<&Tensor>, cs: &forward::ConvShape) -> Result<Tensor> {
    let (xv, wv) = (C::load(x)?, C::load(w)?);
    let bv = b.map(C::load).transpose()?;
    let out = forward::conv::<C>(&xv, &wv, bv.as_deref(), cs)?;
    let mut shape = vec![cs.n, cs.m];
    shape.extend(cs.geom.out_dims());
    C::store(out, x.dtype(), shape)
}

/// Fail unless `t` is a float tensor of dtype `dt`.
fn float_like(op: &str, t: &Tensor, dt: DType) -> Result<()> {
    if t.dtype() != dt || !dt.is_float() {
        return Err(KernelError::invalid(
            op,
            format!("expected float inputs of one dtype, got {} and {}", dt, t.dtype()),
        ));
    }
    Ok(())
}

fn run_conv(window: &Window, group: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Conv";
    let (x, w, b) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?, opt(inputs, 2));
    float_like(OP, w, x.dtype())?;
    if let Some(b) = b {
        float_like(OP, b, x.dtype())?;
    }
    let cs = conv_shape(OP, window, group, x.shape(), w.shape())?;
    if b.is_some_and(|b| b.len() != cs.m) {
        return Err(KernelError::invalid(OP, format!("B must have {} elements", cs.m)));
    }
    match comp_kind(x.dtype()) {
        Some(CompKind::F64) => conv_in::<f64>(x, w, b, &cs),
        _ if x.dtype() == DType::F32 => {
            let epi = fast::ConvEpilogue {
                bias: b.map(|b| b.as_slice::<f32>()).transpose()?,
                residual: None,
                act: crate::ops::linalg::sgemm::Activation::None,
            };
            conv_f32_with(
                x,
                fast::ConvWeights::Plain(w.as_slice::<f32>()?),
                w.shape(),
                &epi,
                window,
                group,
            )
        }
        _ => conv_in::<f32>(x, w, b, &cs),
    }
}

/// The f32 Conv of `x` with weights of shape `w_shape` (plain or prepacked), applying `epi`
/// (bias, residual of the output's shape, activation).
pub fn conv_f32_with(
    x: &Tensor,
    w: fast::ConvWeights,
    w_shape: &[usize],
    epi: &fast::ConvEpilogue,
    window: &Window,
    group: usize,
) -> Result<Tensor> {
    const OP: &str = "Conv";
    let cs = conv_shape(OP, window, group, x.shape(), w_shape)?;
    let out = fast::conv_f32(x.as_slice::<f32>()?, w, epi, &cs)?;
    let mut shape = crate::buffers::dims(&[cs.n, cs.m]);
    shape.extend_from_slice(cs.geom.out_slice());
    Tensor::from_vec(shape, out)
}

/// Values of an integer tensor minus a zero point (scalar, or one per `per`-sized block).
fn minus_zp(op: &str, t: &Tensor, zp: Option<&Tensor>, blocks: usize) -> Result<Vec<f64>> {
    if !matches!(t.dtype(), DType::U8 | DType::I8) {
        return Err(KernelError::invalid(
            op,
            format!("inputs must be u8 or i8, got {}", t.dtype()),
        ));
    }
    let z = match zp {
        None => vec![0],
        Some(z) => z.to_i64_vec()?,
    };
    if z.len() != 1 && z.len() != blocks {
        return Err(KernelError::invalid(
            op,
            format!("zero point has {} values, expected 1 or {blocks}", z.len()),
        ));
    }
    let per = (t.len() / blocks.max(1)).max(1);
    Ok(t.to_i64_vec()?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            (v - if z.len() == 1 {
                z[0]
            } else {
                z[(i / per).min(z.len() - 1)]
            }) as f64
        })
        .collect())
}

fn run_conv_integer(window: &Window, group: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "ConvInteger";
    let (x, w) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?);
    let cs = conv_shape(OP, window, group, x.shape(), w.shape())?;
    if opt(inputs, 2).is_some_and(|z| z.len() != 1) {
        return Err(KernelError::unsupported(OP, "x_zero_point must be a scalar"));
    }
    let xv = minus_zp(OP, x, opt(inputs, 2), 1)?;
    let wv = minus_zp(OP, w, opt(inputs, 3), cs.m)?;
    let out = forward::conv::<f64>(&xv, &wv, None, &cs)?;
    let mut shape = vec![cs.n, cs.m];
    shape.extend(cs.geom.out_dims());
    Tensor::from_vec(shape, out.into_iter().map(|v| v as i64 as i32).collect::<Vec<i32>>())
}

fn transpose_setup(
    window: &Window,
    group: usize,
    op_pad: &[usize],
    os: Option<&[usize]>,
    xs: &[usize],
    ws: &[usize],
) -> Result<(usize, usize, usize, Geom)> {
    const OP: &str = "ConvTranspose";
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(KernelError::invalid(
            OP,
            format!("X {xs:?} and W {ws:?} must be [N, C, ...] and [C, M/group, ...] of the same rank >= 3"),
        ));
    }
    if group == 0 || xs[1] != ws[0] || !xs[1].is_multiple_of(group) {
        return Err(KernelError::invalid(
            OP,
            format!("channels do not match: X {xs:?}, W {ws:?}, group {group}"),
        ));
    }
    let kernel = &ws[2..];
    check_kernel_shape(OP, window.kernel_shape.as_deref(), kernel)?;
    let g = transpose::transpose_geom(OP, window, &xs[2..], kernel, op_pad, os)?;
    Ok((xs[0], xs[1], ws[1] * group, g))
}

fn ct_in<C: Compute>(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    dims: (usize, usize, usize),
    group: usize,
    g: &Geom,
) -> Result<Tensor> {
    let (n, c, m) = dims;
    let (xv, wv) = (C::load(x)?, C::load(w)?);
    let bv = b.map(C::load).transpose()?;
    let out = transpose::conv_transpose::<C>(&xv, &wv, bv.as_deref(), n, c, m, group, g)?;
    let mut shape = vec![n, m];
    shape.extend_from_slice(&g.inp[3 - g.nd..]);
    C::store(out, x.dtype(), shape)
}

fn run_conv_transpose(
    window: &Window,
    group: usize,
    op_pad: &[usize],
    os: Option<&[usize]>,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor> {
    const OP: &str = "ConvTranspose";
    let (x, w, b) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?, opt(inputs, 2));
    float_like(OP, w, x.dtype())?;
    let (n, c, m, g) = transpose_setup(window, group, op_pad, os, x.shape(), w.shape())?;
    if let Some(b) = b {
        float_like(OP, b, x.dtype())?;
        if b.len() != m {
            return Err(KernelError::invalid(OP, format!("B must have {m} elements")));
        }
    }
    match comp_kind(x.dtype()) {
        Some(CompKind::F64) => ct_in::<f64>(x, w, b, (n, c, m), group, &g),
        _ => ct_in::<f32>(x, w, b, (n, c, m), group, &g),
    }
}

fn run_deform(window: &Window, group: usize, offset_group: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "DeformConv";
    let (x, w, off) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?, req(OP, inputs, 2)?);
    let (b, mask) = (opt(inputs, 3), opt(inputs, 4));
    for t in [Some(w), Some(off), b, mask].into_iter().flatten() {
        float_like(OP, t, x.dtype())?;
    }
    if x.rank() != 4 {
        return Err(KernelError::unsupported(
            OP,
            "only 2-D deformable convolution is implemented",
        ));
    }
    let cs = conv_shape(OP, window, group, x.shape(), w.shape())?;
    if offset_group == 0 || cs.c % offset_group != 0 {
        return Err(KernelError::invalid(
            OP,
            format!("offset_group {offset_group} does not divide {} channels", cs.c),
        ));
    }
    let os = off.shape();
    if os.len() != 4 || os[0] != cs.n || os[2..] != cs.geom.out_dims()[..] {
        return Err(KernelError::invalid(
            OP,
            format!(
                "offset shape {os:?} does not match the output grid {:?}",
                cs.geom.out_dims()
            ),
        ));
    }
    if b.is_some_and(|b| b.len() != cs.m) {
        return Err(KernelError::invalid(OP, format!("B must have {} elements", cs.m)));
    }
    let ds = deform::DeformShape {
        n: cs.n,
        c: cs.c,
        m: cs.m,
        group,
        offset_group,
        geom: cs.geom.clone(),
    };
    let bv = b.map(|t| t.to_f64_vec()).transpose()?;
    let mv = mask.map(|t| t.to_f64_vec()).transpose()?;
    let out = deform::deform_conv(
        &x.to_f64_vec()?,
        &w.to_f64_vec()?,
        &off.to_f64_vec()?,
        bv.as_deref(),
        mv.as_deref(),
        &ds,
    )?;
    let mut shape = vec![cs.n, cs.m];
    shape.extend(cs.geom.out_dims());
    crate::ops::linalg::gemm::store_f64(out, x.dtype(), shape)
}

/// Positive extents from an i64 shape input.
fn extents(op: &str, t: &Tensor, what: &str) -> Result<Vec<usize>> {
    t.to_i64_vec()?
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| KernelError::invalid(op, format!("{what} has a negative value {v}"))))
        .collect()
}

fn col2im_in<C: Compute>(data: &Tensor, n: usize, c: usize, g: &Geom, shape: Vec<usize>) -> Result<Tensor> {
    let v = C::load(data)?;
    C::store(transpose::col2im_op::<C>(&v, n, c, g), data.dtype(), shape)
}

fn run_col2im(window: &Window, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "Col2Im";
    let (data, img, blk) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?, req(OP, inputs, 2)?);
    let (image, block) = (extents(OP, img, "image_shape")?, extents(OP, blk, "block_shape")?);
    let ds = data.shape();
    let ks: usize = block.iter().product();
    if ds.len() != 3 || ks == 0 || ds[1] % ks != 0 || image.len() != block.len() {
        return Err(KernelError::invalid(
            OP,
            format!("input {ds:?} does not fit block {block:?} and image {image:?}"),
        ));
    }
    let g = transpose::col2im_geom(OP, window, &image, &block)?;
    if g.out_size() != ds[2] {
        return Err(KernelError::invalid(
            OP,
            format!("input has {} blocks, the geometry gives {}", ds[2], g.out_size()),
        ));
    }
    let (n, c) = (ds[0], ds[1] / ks);
    let mut shape = vec![n, c];
    shape.extend_from_slice(&image);
    match comp_kind(data.dtype()) {
        Some(CompKind::F32) => col2im_in::<f32>(data, n, c, &g, shape),
        Some(CompKind::F64) => col2im_in::<f64>(data, n, c, &g, shape),
        Some(CompKind::I64) => col2im_in::<i64>(data, n, c, &g, shape),
        None => Err(KernelError::unsupported(OP, format!("dtype {}", data.dtype()))),
    }
}

fn run_causal(silu: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "CausalConvWithState";
    let (x, w) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?);
    let (b, past) = (opt(inputs, 2), opt(inputs, 3));
    for t in [Some(w), b, past].into_iter().flatten() {
        float_like(OP, t, x.dtype())?;
    }
    let (xs, ws) = (x.shape(), w.shape());
    if xs.len() != 3 || ws.len() != 3 || ws[0] != xs[1] || ws[1] != 1 || ws[2] == 0 {
        return Err(KernelError::invalid(
            OP,
            format!("input {xs:?} and weight {ws:?} must be [B, C, L] and [C, 1, k]"),
        ));
    }
    let (bs, c, l, k) = (xs[0], xs[1], xs[2], ws[2]);
    if b.is_some_and(|b| b.len() != c) || past.is_some_and(|p| p.shape() != [bs, c, k - 1]) {
        return Err(KernelError::invalid(OP, "bias must be [C] and past_state [B, C, k-1]"));
    }
    let (xv, wv) = (x.to_f64_vec()?, w.to_f64_vec()?);
    let bv = b.map(|t| t.to_f64_vec()).transpose()?;
    let pv = past.map(|t| t.to_f64_vec()).transpose()?;
    let pl = l + k - 1;
    let mut out = vec![0.0f64; bs * c * l];
    let mut state = vec![0.0f64; bs * c * (k - 1)];
    let mut padded = vec![0.0f64; pl];
    for bc in 0..bs * c {
        let ch = bc % c;
        padded.fill(0.0);
        if let Some(p) = &pv {
            padded[..k - 1].copy_from_slice(&p[bc * (k - 1)..(bc + 1) * (k - 1)]);
        }
        padded[k - 1..].copy_from_slice(&xv[bc * l..(bc + 1) * l]);
        for t in 0..l {
            let mut acc = bv.as_ref().map_or(0.0, |bb| bb[ch]);
            for j in 0..k {
                acc += wv[ch * k + j] * padded[t + j];
            }
            out[bc * l + t] = if silu { acc / (1.0 + (-acc).exp()) } else { acc };
        }
        state[bc * (k - 1)..(bc + 1) * (k - 1)].copy_from_slice(&padded[pl - (k - 1)..]);
    }
    let dt = x.dtype();
    Ok(vec![
        crate::ops::linalg::gemm::store_f64(out, dt, vec![bs, c, l])?,
        crate::ops::linalg::gemm::store_f64(state, dt, vec![bs, c, k - 1])?,
    ])
}

/// The dim `i` of an input type, or unknown.
fn dim_of(t: &TensorType, i: usize) -> Dim {
    t.shape.as_ref().and_then(|s| s.get(i).cloned()).unwrap_or(Dim::Unknown)
}

/// Known spatial kernel dims: from the attribute, else from W's shape.
fn kernel_dims(window: &Window, w: &TensorType) -> Option<Vec<usize>> {
    window.kernel_shape.clone().or_else(|| {
        w.shape
            .as_ref()
            .and_then(|s| s.get(2..).and_then(|k| k.iter().map(|d| d.known()).collect()))
    })
}

/// Output type of a forward convolution: `[N, M, out...]` (`m` given explicitly).
fn infer_forward(
    op: &str,
    window: &Window,
    x: &TensorType,
    w: &TensorType,
    m: Dim,
    dtype: DType,
) -> Result<TensorType> {
    let Some(xs) = &x.shape else {
        return Ok(TensorType::unknown(dtype));
    };
    if xs.len() < 3 {
        return Err(KernelError::invalid(op, format!("X must have rank >= 3, got {x}")));
    }
    let sp = match kernel_dims(window, w) {
        Some(k) => window.infer_out(op, &xs[2..], &k, false)?,
        None => vec![Dim::Unknown; xs.len() - 2],
    };
    let mut shape = vec![xs[0].clone(), m];
    shape.extend(sp);
    Ok(TensorType {
        dtype,
        shape: Some(shape),
    })
}

impl OpImpl for ConvOp {
    fn name(&self) -> &'static str {
        match self {
            ConvOp::Conv { .. } => "Conv",
            ConvOp::ConvInteger { .. } => "ConvInteger",
            ConvOp::ConvTranspose { .. } => "ConvTranspose",
            ConvOp::DeformConv { .. } => "DeformConv",
            ConvOp::Col2Im { .. } => "Col2Im",
            ConvOp::CausalConvWithState { .. } => "CausalConvWithState",
        }
    }

    fn infer(&self, inputs: &[InferInput]) -> Result<Vec<TensorType>> {
        let op = self.name();
        let x = req_ty(op, inputs, 0)?;
        match self {
            ConvOp::Conv { window, .. } => {
                let w = req_ty(op, inputs, 1)?;
                Ok(vec![infer_forward(op, window, x, w, dim_of(w, 0), x.dtype)?])
            }
            ConvOp::ConvInteger { window, .. } => {
                let w = req_ty(op, inputs, 1)?;
                Ok(vec![infer_forward(op, window, x, w, dim_of(w, 0), DType::I32)?])
            }
            ConvOp::DeformConv { .. } => {
                let (w, off) = (req_ty(op, inputs, 1)?, req_ty(op, inputs, 2)?);
                let shape = match (&x.shape, &off.shape) {
                    (Some(xs), Some(os)) if xs.len() == os.len() => {
                        let mut s = vec![xs[0].clone(), dim_of(w, 0)];
                        s.extend(os[2..].iter().cloned());
                        Some(s)
                    }
                    _ => x.shape.as_ref().map(|s| vec![Dim::Unknown; s.len()]),
                };
                Ok(vec![TensorType { dtype: x.dtype, shape }])
            }
            ConvOp::ConvTranspose {
                window,
                group,
                output_padding,
                output_shape,
            } => {
                let w = req_ty(op, inputs, 1)?;
                let m = match dim_of(w, 1) {
                    Dim::Known(v) => Dim::Known(v * group),
                    _ => Dim::Unknown,
                };
                let Some(xs) = x.shape.as_ref().filter(|s| s.len() >= 3) else {
                    return Ok(vec![TensorType::unknown(x.dtype)]);
                };
                let sp: Option<Vec<usize>> = xs[2..].iter().map(|d| d.known()).collect();
                let out = match (sp, kernel_dims(window, w)) {
                    (Some(sp), Some(k)) => {
                        let g =
                            transpose::transpose_geom(op, window, &sp, &k, output_padding, output_shape.as_deref())?;
                        g.inp[3 - g.nd..].iter().map(|&d| Dim::Known(d)).collect()
                    }
                    _ => vec![Dim::Unknown; xs.len() - 2],
                };
                let mut shape = vec![xs[0].clone(), m];
                shape.extend(out);
                Ok(vec![TensorType {
                    dtype: x.dtype,
                    shape: Some(shape),
                }])
            }
            ConvOp::Col2Im { .. } => {
                let (img, blk) = (const_val(inputs, 1), const_val(inputs, 2));
                match (img, blk, &x.shape) {
                    (Some(img), Some(blk), Some(xs)) if xs.len() == 3 => {
                        let image = extents(op, img, "image_shape")?;
                        let ks: usize = extents(op, blk, "block_shape")?.iter().product();
                        let c = match xs[1].known() {
                            Some(v) if ks > 0 => Dim::Known(v / ks),
                            _ => Dim::Unknown,
                        };
                        let mut shape = vec![xs[0].clone(), c];
                        shape.extend(image.into_iter().map(Dim::Known));
                        Ok(vec![TensorType {
                            dtype: x.dtype,
                            shape: Some(shape),
                        }])
                    }
                    _ => Ok(vec![TensorType::unknown(x.dtype)]),
                }
            }
            ConvOp::CausalConvWithState { .. } => {
                let w = req_ty(op, inputs, 1)?;
                let state = match (&x.shape, dim_of(w, 2)) {
                    (Some(xs), Dim::Known(k)) if xs.len() == 3 && k > 0 => {
                        Some(vec![xs[0].clone(), xs[1].clone(), Dim::Known(k - 1)])
                    }
                    _ => Some(vec![Dim::Unknown; 3]),
                };
                Ok(vec![
                    x.clone(),
                    TensorType {
                        dtype: x.dtype,
                        shape: state,
                    },
                ])
            }
        }
    }

    fn run(&self, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
        Ok(match self {
            ConvOp::Conv { window, group } => vec![run_conv(window, *group, inputs)?],
            ConvOp::ConvInteger { window, group } => vec![run_conv_integer(window, *group, inputs)?],
            ConvOp::ConvTranspose {
                window,
                group,
                output_padding,
                output_shape,
            } => {
                vec![run_conv_transpose(
                    window,
                    *group,
                    output_padding,
                    output_shape.as_deref(),
                    inputs,
                )?]
            }
            ConvOp::DeformConv {
                window,
                group,
                offset_group,
            } => vec![run_deform(window, *group, *offset_group, inputs)?],
            ConvOp::Col2Im { window } => vec![run_col2im(window, inputs)?],
            ConvOp::CausalConvWithState { silu } => run_causal(*silu, inputs)?,
        })
    }

    fn flops(&self, inputs: &[Option<&[usize]>], outputs: &[&[usize]]) -> u64 {
        let prod = |s: &[usize]| s.iter().product::<usize>() as u64;
        let w = inputs.get(1).copied().flatten();
        match (self, w) {
            // Each output element takes C/group · k MACs; W = [M, C/group, k...].
            (ConvOp::Conv { .. } | ConvOp::ConvInteger { .. } | ConvOp::DeformConv { .. }, Some(w)) if w.len() >= 2 => {
                2 * outputs.first().map_or(0, |o| prod(o)) * prod(&w[1..])
            }
            // Each input element feeds M/group · k MACs; W = [C, M/group, k...].
            (ConvOp::ConvTranspose { .. }, Some(w)) if w.len() >= 2 => {
                2 * inputs.first().copied().flatten().map_or(0, prod) * prod(&w[1..])
            }
            (ConvOp::CausalConvWithState { .. }, Some(w)) if w.len() == 3 => {
                2 * outputs.first().map_or(0, |o| prod(o)) * w[2] as u64
            }
            _ => outputs.iter().map(|s| prod(s)).sum(),
        }
    }
}

#[cfg(test)]
mod tests;

/// Fail when an explicit `kernel_shape` attribute disagrees with W's spatial dims.
fn check_kernel_shape(op: &str, declared: Option<&[usize]>, kernel: &[usize]) -> Result<()> {
    match declared {
        Some(k) if k != kernel => Err(KernelError::invalid(
            op,
            format!("kernel_shape {k:?} differs from W's spatial shape {kernel:?}"),
        )),
        _ => Ok(()),
    }
}
