//! QLinearMatMul and QLinearConv: integer accumulation, then requantisation.

use super::{requantize, AutoPad, QuantOp};
use crate::dtype::DType;
use crate::error::{KernelError, Result};
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;
use crate::util::{opt, req};
use half::{bf16, f16};

/// Output shape and the (batch, M, K, N) of a numpy-style matmul of shapes `a` and `b`.
pub(super) fn matmul_shape(op: &str, a: &[usize], b: &[usize]) -> Result<(Vec<usize>, [usize; 3])> {
    if a.is_empty() || b.is_empty() {
        return Err(KernelError::invalid(op, "matmul operands must have rank >= 1"));
    }
    let (m, k) = if a.len() == 1 { (1, a[0]) } else { (a[a.len() - 2], a[a.len() - 1]) };
    let (k2, n) = if b.len() == 1 { (b[0], 1) } else { (b[b.len() - 2], b[b.len() - 1]) };
    if k != k2 {
        return Err(KernelError::invalid(op, format!("inner dims differ: {a:?} x {b:?}")));
    }
    let ba = &a[..a.len().saturating_sub(2)];
    let bb = &b[..b.len().saturating_sub(2)];
    let mut out = broadcast_shapes(op, &[ba, bb])?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok((out, [m, k, n]))
}

/// The single value of a per-tensor quantisation parameter.
fn single(op: &str, what: &str, t: &Tensor) -> Result<f64> {
    if t.len() != 1 {
        return Err(KernelError::unsupported(op, format!("{what} must be a single value (per-tensor), found shape {:?}", t.shape())));
    }
    t.scalar_f64()
}

/// Integer values minus a per-tensor zero point.
fn centered(op: &str, x: &Tensor, zp: Option<&Tensor>) -> Result<Vec<i32>> {
    if !matches!(x.dtype(), DType::U8 | DType::I8) {
        return Err(KernelError::invalid(op, format!("expected u8 or i8 data, found {}", x.dtype())));
    }
    let z = match zp {
        Some(z) => single(op, "zero point", z)? as i32,
        None => 0,
    };
    Ok(x.to_i64_vec()?.into_iter().map(|v| v as i32 - z).collect())
}

/// `a_scale * b_scale / y_scale`, computed in the precision of the scales' dtype.
fn multiplier(dt: DType, a: f64, b: f64, y: f64) -> f64 {
    let r = |v: f32| match dt {
        DType::F16 => f16::from_f32(v).to_f32(),
        DType::BF16 => bf16::from_f32(v).to_f32(),
        _ => v,
    };
    if dt == DType::F64 {
        return a * b / y;
    }
    r(r(a as f32 * b as f32) / y as f32) as f64
}

/// QLinearMatMul with per-tensor parameters.
pub(super) fn qlinear_matmul(inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "QLinearMatMul";
    let a = req(OP, inputs, 0)?;
    let b = req(OP, inputs, 3)?;
    let av = centered(OP, a, opt(inputs, 2))?;
    let bv = centered(OP, b, opt(inputs, 5))?;
    let a_scale = req(OP, inputs, 1)?;
    let mult = multiplier(
        a_scale.dtype(),
        single(OP, "a_scale", a_scale)?,
        single(OP, "b_scale", req(OP, inputs, 4)?)?,
        single(OP, "y_scale", req(OP, inputs, 6)?)?,
    );
    let yzp = opt(inputs, 7);
    let zp = match yzp {
        Some(z) => single(OP, "y_zero_point", z)?,
        None => 0.0,
    };
    let out_dt = yzp.map(|z| z.dtype()).unwrap_or(a.dtype());
    let (out_shape, [m, k, n]) = matmul_shape(OP, a.shape(), b.shape())?;
    let batch_shape = &out_shape[..out_shape.len() - (a.rank() > 1) as usize - (b.rank() > 1) as usize];
    let ba = &a.shape()[..a.rank().saturating_sub(2)];
    let bb = &b.shape()[..b.rank().saturating_sub(2)];
    let sa = crate::shape::broadcast_strides(ba, batch_shape);
    let sb = crate::shape::broadcast_strides(bb, batch_shape);
    let mut vals = Vec::with_capacity(out_shape.iter().product());
    let nb: usize = batch_shape.iter().product();
    let mut offs = Vec::with_capacity(nb);
    crate::shape::for_each_offset(batch_shape, [&sa, &sb], |o| offs.push(o));
    if batch_shape.is_empty() {
        offs = vec![[0, 0]];
    }
    for [oa, ob] in offs {
        let pa = &av[oa * m * k..(oa + 1) * m * k];
        let pb = &bv[ob * k * n..(ob + 1) * k * n];
        for i in 0..m {
            for j in 0..n {
                let acc: i64 = (0..k).map(|p| pa[i * k + p] as i64 * pb[p * n + j] as i64).sum();
                vals.push(acc as f64 * mult + zp);
            }
        }
    }
    requantize(OP, out_shape, vals, out_dt)
}

/// Resolved convolution geometry for concrete shapes.
pub(super) struct ConvGeometry {
    /// Output shape [N, M, spatial...].
    pub out_shape: Vec<usize>,
    /// Begin pads per spatial axis.
    pads_begin: Vec<usize>,
    /// Strides per spatial axis.
    strides: Vec<usize>,
    /// Dilations per spatial axis.
    dilations: Vec<usize>,
    /// Groups.
    group: usize,
}

/// Work out the output shape and padding of a QLinearConv from the input and weight shapes.
pub(super) fn conv_geometry(op: &QuantOp, x: &[usize], w: &[usize]) -> Result<ConvGeometry> {
    const OP: &str = "QLinearConv";
    let QuantOp::QLinearConv { auto_pad, dilations, group, kernel_shape, pads, strides } = op else {
        return Err(KernelError::invalid(OP, "not a convolution"));
    };
    if x.len() < 3 || w.len() != x.len() {
        return Err(KernelError::invalid(OP, format!("bad input/weight ranks: {x:?}, {w:?}")));
    }
    let nsp = x.len() - 2;
    let or1 = |v: &Vec<usize>, what: &str| -> Result<Vec<usize>> {
        match v.len() {
            0 => Ok(vec![1; nsp]),
            l if l == nsp && v.iter().all(|&s| s > 0) => Ok(v.clone()),
            _ => Err(KernelError::invalid(OP, format!("{what} {v:?} does not fit {nsp} spatial axes"))),
        }
    };
    let strides = or1(strides, "strides")?;
    let dilations = or1(dilations, "dilations")?;
    let group = *group;
    if group == 0 || x[1] != w[1] * group || !w[0].is_multiple_of(group) {
        return Err(KernelError::invalid(OP, format!("channels do not fit group {group}: x {x:?}, w {w:?}")));
    }
    let ks = &w[2..];
    if !kernel_shape.is_empty() && kernel_shape.as_slice() != ks {
        return Err(KernelError::invalid(OP, format!("kernel_shape {kernel_shape:?} differs from weights {w:?}")));
    }
    let mut out_shape = vec![x[0], w[0]];
    let mut pads_begin = Vec::with_capacity(nsp);
    for d in 0..nsp {
        let ek = dilations[d] * (ks[d].max(1) - 1) + 1;
        let inp = x[d + 2];
        let (pb, pe) = match auto_pad {
            AutoPad::NotSet => match pads.len() {
                0 => (0, 0),
                l if l == 2 * nsp => (pads[d], pads[d + nsp]),
                _ => return Err(KernelError::invalid(OP, format!("pads {pads:?} do not fit {nsp} spatial axes"))),
            },
            AutoPad::Valid => (0, 0),
            AutoPad::SameUpper | AutoPad::SameLower => {
                let out = inp.div_ceil(strides[d]);
                let total = ((out.saturating_sub(1)) * strides[d] + ek).saturating_sub(inp);
                if *auto_pad == AutoPad::SameUpper {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
        };
        let padded = inp + pb + pe;
        if padded < ek {
            return Err(KernelError::invalid(OP, format!("kernel {ks:?} larger than padded input {x:?}")));
        }
        out_shape.push((padded - ek) / strides[d] + 1);
        pads_begin.push(pb);
    }
    Ok(ConvGeometry { out_shape, pads_begin, strides, dilations, group })
}

/// QLinearConv: direct integer convolution, per-tensor or per-output-channel weight scale.
pub(super) fn qlinear_conv(op: &QuantOp, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "QLinearConv";
    let x = req(OP, inputs, 0)?;
    let w = req(OP, inputs, 3)?;
    let g = conv_geometry(op, x.shape(), w.shape())?;
    let xv = centered(OP, x, opt(inputs, 2))?;
    let m = w.shape()[0];
    // Weight zero point: per tensor or per output channel.
    let wzp: Vec<i32> = match opt(inputs, 5) {
        None => vec![0; m],
        Some(z) if z.len() == 1 => vec![z.scalar_i64()? as i32; m],
        Some(z) if z.len() == m => z.to_i64_vec()?.into_iter().map(|v| v as i32).collect(),
        Some(z) => return Err(KernelError::invalid(OP, format!("w_zero_point shape {:?} does not fit {m} channels", z.shape()))),
    };
    let wraw = centered(OP, w, None)?;
    let wper = wraw.len() / m.max(1);
    let wv: Vec<i32> = wraw.iter().enumerate().map(|(i, &v)| v - wzp[i / wper.max(1)]).collect();
    let x_scale = req(OP, inputs, 1)?;
    let xs = single(OP, "x_scale", x_scale)?;
    let ys = single(OP, "y_scale", req(OP, inputs, 6)?)?;
    let ws = req(OP, inputs, 4)?;
    let wsv = match ws.len() {
        1 => vec![ws.scalar_f64()?; m],
        l if l == m => ws.to_f64_vec()?,
        _ => return Err(KernelError::invalid(OP, format!("w_scale shape {:?} does not fit {m} channels", ws.shape()))),
    };
    let mults: Vec<f64> = wsv.iter().map(|&s| super::qlinear::multiplier(x_scale.dtype(), xs, s, ys)).collect();
    let bias: Vec<i64> = match opt(inputs, 8) {
        None => vec![0; m],
        Some(b) if b.len() == m => b.to_i64_vec()?,
        Some(b) => return Err(KernelError::invalid(OP, format!("bias shape {:?} does not fit {m} channels", b.shape()))),
    };
    let yzp_t = opt(inputs, 7);
    let yzp = match yzp_t {
        Some(z) => single(OP, "y_zero_point", z)?,
        None => 0.0,
    };
    let out_dt = yzp_t.map(|z| z.dtype()).unwrap_or(x.dtype());
    let acc = conv_i32(x.shape(), &xv, w.shape(), &wv, &g);
    let sp: usize = g.out_shape[2..].iter().product();
    let vals = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let c = (i / sp.max(1)) % m;
            (a + bias[c]) as f64 * mults[c] + yzp
        })
        .collect();
    requantize(OP, g.out_shape, vals, out_dt)
}

/// Direct N-D grouped convolution with integer accumulation (no bias).
fn conv_i32(xs: &[usize], xv: &[i32], ws: &[usize], wv: &[i32], g: &ConvGeometry) -> Vec<i64> {
    let nsp = xs.len() - 2;
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    let cg = c / g.group;
    let mg = m / g.group;
    let in_sp = &xs[2..];
    let k_sp = &ws[2..];
    let out_sp = &g.out_shape[2..];
    let in_size: usize = in_sp.iter().product();
    let k_size: usize = k_sp.iter().product();
    let out_size: usize = out_sp.iter().product();
    // Kernel offsets as multi-indices.
    let kidx: Vec<Vec<usize>> = (0..k_size).map(|f| unravel(f, k_sp)).collect();
    let mut out = vec![0i64; n * m * out_size];
    let mut pos = vec![0usize; nsp];
    for o in 0..out_size {
        let oidx = unravel(o, out_sp);
        // Input flat offsets (or None when in padding) for each kernel position.
        let taps: Vec<Option<usize>> = kidx
            .iter()
            .map(|k| {
                for d in 0..nsp {
                    let p = (oidx[d] * g.strides[d] + k[d] * g.dilations[d]) as isize - g.pads_begin[d] as isize;
                    if p < 0 || p as usize >= in_sp[d] {
                        return None;
                    }
                    pos[d] = p as usize;
                }
                Some(pos.iter().zip(in_sp).fold(0, |acc, (&p, &s)| acc * s + p))
            })
            .collect();
        for b in 0..n {
            for oc in 0..m {
                let grp = oc / mg;
                let mut acc = 0i64;
                for ic in 0..cg {
                    let xbase = (b * c + grp * cg + ic) * in_size;
                    let wbase = (oc * cg + ic) * k_size;
                    for (t, tap) in taps.iter().enumerate() {
                        if let Some(off) = tap {
                            acc += xv[xbase + off] as i64 * wv[wbase + t] as i64;
                        }
                    }
                }
                out[(b * m + oc) * out_size + o] = acc;
            }
        }
    }
    out
}

/// Row-major multi-index of flat index `f` in `shape`.
fn unravel(mut f: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        let s = shape[d].max(1);
        idx[d] = f % s;
        f /= s;
    }
    idx
}
