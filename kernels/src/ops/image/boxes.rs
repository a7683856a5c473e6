//! RoiAlign and NonMaxSuppression.

use super::{from_f64, ImageOp};
use crate::error::{KernelError, Result};
use crate::tensor::Tensor;
use crate::util::{opt, req};

/// One bilinear sample: four pixel offsets and their weights.
#[derive(Clone, Copy)]
struct Sample {
    pos: [usize; 4],
    w: [f64; 4],
}

/// Bilinear sample at (y, x) in an `h × w` plane (zero weights when far outside).
fn bilinear(y: f64, x: f64, h: usize, w: usize) -> Sample {
    let (hf, wf) = (h as f64, w as f64);
    if y < -1.0 || y > hf || x < -1.0 || x > wf || h == 0 || w == 0 {
        return Sample { pos: [0; 4], w: [0.0; 4] };
    }
    let (mut y, mut x) = (y.max(0.0), x.max(0.0));
    let mut yl = y as usize;
    let mut xl = x as usize;
    let yh;
    let xh;
    if yl >= h - 1 {
        yl = h - 1;
        yh = h - 1;
        y = yl as f64;
    } else {
        yh = yl + 1;
    }
    if xl >= w - 1 {
        xl = w - 1;
        xh = w - 1;
        x = xl as f64;
    } else {
        xh = xl + 1;
    }
    let (ly, lx) = (y - yl as f64, x - xl as f64);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    Sample { pos: [yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh], w: [hy * hx, hy * lx, ly * hx, ly * lx] }
}

/// RoiAlign over `X [N, C, H, W]`, `rois [R, 4]` (x1, y1, x2, y2) and `batch_indices [R]`.
pub(super) fn roi_align(op: &ImageOp, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    const OP: &str = "RoiAlign";
    let ImageOp::RoiAlign { max_mode, output_height: oh, output_width: ow, sampling_ratio, spatial_scale, half_pixel } = *op else {
        return Err(KernelError::invalid(OP, "not a RoiAlign"));
    };
    let x = req(OP, inputs, 0)?;
    let rois = req(OP, inputs, 1)?;
    let bidx = req(OP, inputs, 2)?.to_i64_vec()?;
    let xs = x.shape();
    if xs.len() != 4 || rois.rank() != 2 || rois.shape()[1] != 4 || bidx.len() != rois.shape()[0] {
        return Err(KernelError::invalid(OP, format!("bad shapes X {xs:?}, rois {:?}, batch_indices [{}]", rois.shape(), bidx.len())));
    }
    let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let xv = x.to_f64_vec()?;
    let rv = rois.to_f64_vec()?;
    let nr = bidx.len();
    let scale = spatial_scale as f64;
    let offset = if half_pixel { 0.5 } else { 0.0 };
    let mut out = vec![0.0; nr * c * oh * ow];
    for r in 0..nr {
        let b = usize::try_from(bidx[r]).ok().filter(|&b| b < n).ok_or_else(|| KernelError::invalid(OP, format!("batch index {} out of range", bidx[r])))?;
        let roi = &rv[r * 4..r * 4 + 4];
        let (sw, sh) = (roi[0] * scale - offset, roi[1] * scale - offset);
        let (ew, eh) = (roi[2] * scale - offset, roi[3] * scale - offset);
        let (mut rw, mut rh) = (ew - sw, eh - sh);
        if !half_pixel {
            rw = rw.max(1.0);
            rh = rh.max(1.0);
        }
        let bh = rh / oh as f64;
        let bw = rw / ow as f64;
        let gh = if sampling_ratio > 0 { sampling_ratio } else { (rh / oh as f64).ceil().max(0.0) as usize };
        let gw = if sampling_ratio > 0 { sampling_ratio } else { (rw / ow as f64).ceil().max(0.0) as usize };
        let count = gh
            .checked_mul(gw)
            .filter(|&n| n <= 1 << 24)
            .ok_or_else(|| KernelError::invalid(OP, format!("roi {r} needs too many samples per bin")))?
            .max(1) as f64;
        for ph in 0..oh {
            for pw in 0..ow {
                let samples: Vec<Sample> = (0..gh)
                    .flat_map(|iy| {
                        let y = sh + ph as f64 * bh + (iy as f64 + 0.5) * bh / gh as f64;
                        (0..gw).map(move |ix| (y, sw + pw as f64 * bw + (ix as f64 + 0.5) * bw / gw as f64))
                    })
                    .map(|(y, xx)| bilinear(y, xx, h, w))
                    .collect();
                for ch in 0..c {
                    let plane = &xv[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
                    let v = if max_mode {
                        samples
                            .iter()
                            .map(|s| (0..4).map(|k| s.w[k] * plane[s.pos[k]]).fold(f64::NEG_INFINITY, f64::max))
                            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
                            .unwrap_or(0.0)
                    } else {
                        samples.iter().map(|s| (0..4).map(|k| s.w[k] * plane[s.pos[k]]).sum::<f64>()).sum::<f64>() / count
                    };
                    out[((r * c + ch) * oh + ph) * ow + pw] = v;
                }
            }
        }
    }
    from_f64(OP, vec![nr, c, oh, ow], out, x.dtype())
}

/// Corner form (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
fn corners(b: &[f64], center: bool) -> [f64; 4] {
    if center {
        let (xc, yc, w, h) = (b[0], b[1], b[2], b[3]);
        [yc - h / 2.0, xc - w / 2.0, yc + h / 2.0, xc + w / 2.0]
    } else {
        [b[0].min(b[2]), b[1].min(b[3]), b[0].max(b[2]), b[1].max(b[3])]
    }
}

/// Intersection over union of two corner boxes (0 when either area is empty).
fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let area = |v: &[f64; 4]| (v[2] - v[0]) * (v[3] - v[1]);
    let (aa, ab) = (area(a), area(b));
    if aa <= 0.0 || ab <= 0.0 {
        return 0.0;
    }
    let ih = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iw = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ih * iw;
    inter / (aa + ab - inter)
}

/// NonMaxSuppression: `[num_selected, 3]` rows of (batch, class, box index).
pub(super) fn nms(inputs: &[Option<&Tensor>], center: bool) -> Result<Tensor> {
    const OP: &str = "NonMaxSuppression";
    let boxes = req(OP, inputs, 0)?;
    let scores = req(OP, inputs, 1)?;
    let (bs, ss) = (boxes.shape(), scores.shape());
    if bs.len() != 3 || bs[2] != 4 || ss.len() != 3 || ss[0] != bs[0] || ss[2] != bs[1] {
        return Err(KernelError::invalid(OP, format!("bad shapes boxes {bs:?}, scores {ss:?}")));
    }
    let max_out = match opt(inputs, 2) {
        Some(t) if !t.is_empty() => t.scalar_i64()?.max(0) as usize,
        _ => 0,
    };
    let iou_th = match opt(inputs, 3) {
        Some(t) if !t.is_empty() => t.scalar_f64()?,
        _ => 0.0,
    };
    let score_th = match opt(inputs, 4) {
        Some(t) if !t.is_empty() => Some(t.scalar_f64()?),
        _ => None,
    };
    let (nb, nbox, ncls) = (bs[0], bs[1], ss[1]);
    let bv = boxes.to_f64_vec()?;
    let sv = scores.to_f64_vec()?;
    let mut sel: Vec<i64> = Vec::new();
    for b in 0..nb {
        let cb: Vec<[f64; 4]> = (0..nbox).map(|i| corners(&bv[(b * nbox + i) * 4..(b * nbox + i + 1) * 4], center)).collect();
        for cl in 0..ncls {
            if max_out == 0 {
                break;
            }
            let sc = &sv[(b * ncls + cl) * nbox..(b * ncls + cl + 1) * nbox];
            let mut cand: Vec<usize> = (0..nbox).filter(|&i| score_th.is_none_or(|t| sc[i] > t)).collect();
            // Stable sort: equal scores keep ascending box order.
            cand.sort_by(|&i, &j| sc[j].partial_cmp(&sc[i]).unwrap_or(std::cmp::Ordering::Equal));
            let mut kept: Vec<usize> = Vec::new();
            for i in cand {
                if kept.len() >= max_out {
                    break;
                }
                if kept.iter().all(|&k| iou(&cb[k], &cb[i]) <= iou_th) {
                    kept.push(i);
                    sel.extend_from_slice(&[b as i64, cl as i64, i as i64]);
                }
            }
        }
    }
    let rows = sel.len() / 3;
    Tensor::from_vec(vec![rows, 3], sel)
}
