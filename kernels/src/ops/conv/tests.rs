//! Unit tests for the conv family (values from the ONNX operator docs or computed by hand).

use super::*;

fn t32(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn win(pads: &[usize]) -> Window {
    Window {
        kernel_shape: None,
        strides: vec![],
        dilations: vec![],
        pads: pads.to_vec(),
        auto_pad: AutoPad::NotSet,
    }
}

fn run(op: &ConvOp, ins: &[Option<&Tensor>]) -> Result<Tensor> {
    Ok(op.run(ins)?.remove(0))
}

#[test]
fn conv_basic_with_and_without_padding() {
    let x = t32(&[1, 1, 5, 5], (0..25).map(|v| v as f32).collect());
    let w = t32(&[1, 1, 3, 3], vec![1.0; 9]);
    let op = ConvOp::Conv {
        window: win(&[1, 1, 1, 1]),
        group: 1,
    };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.shape(), &[1, 1, 5, 5]);
    assert_eq!(
        &y.as_slice::<f32>().unwrap()[..10],
        &[12., 21., 27., 33., 24., 33., 54., 63., 72., 51.]
    );
    let op = ConvOp::Conv {
        window: win(&[]),
        group: 1,
    };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(
        y.as_slice::<f32>().unwrap(),
        &[54., 63., 72., 99., 108., 117., 144., 153., 162.]
    );
}

#[test]
fn conv_multichannel_bias_matches_direct() {
    // 2 input channels, 3 output channels, stride 2, pad 1: check against a naive loop.
    let (c, m, h, wd) = (2usize, 3usize, 5usize, 4usize);
    let x: Vec<f32> = (0..c * h * wd).map(|v| (v as f32 * 0.37).sin()).collect();
    let w: Vec<f32> = (0..m * c * 9).map(|v| (v as f32 * 0.11).cos()).collect();
    let b = vec![0.5f32, -1.0, 2.0];
    let mut window = win(&[1, 1, 1, 1]);
    window.strides = vec![2, 2];
    let op = ConvOp::Conv { window, group: 1 };
    let (xt, wt, bt) = (
        t32(&[1, c, h, wd], x.clone()),
        t32(&[m, c, 3, 3], w.clone()),
        t32(&[m], b.clone()),
    );
    let y = run(&op, &[Some(&xt), Some(&wt), Some(&bt)]).unwrap();
    let (oh, ow) = (3usize, 2usize);
    assert_eq!(y.shape(), &[1, m, oh, ow]);
    let yv = y.as_slice::<f32>().unwrap();
    for mo in 0..m {
        for i in 0..oh {
            for j in 0..ow {
                let mut acc = b[mo];
                for ci in 0..c {
                    for ki in 0..3 {
                        for kj in 0..3 {
                            let (yy, xx) = ((i * 2 + ki) as isize - 1, (j * 2 + kj) as isize - 1);
                            if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd {
                                acc +=
                                    w[((mo * c + ci) * 3 + ki) * 3 + kj] * x[(ci * h + yy as usize) * wd + xx as usize];
                            }
                        }
                    }
                }
                assert!((yv[(mo * oh + i) * ow + j] - acc).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn conv_depthwise() {
    let x = t32(&[1, 2, 3, 3], (0..18).map(|v| v as f32).collect());
    let w = t32(&[2, 1, 2, 2], vec![1., 1., 1., 1., 2., 2., 2., 2.]);
    let op = ConvOp::Conv {
        window: win(&[]),
        group: 2,
    };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[8., 12., 20., 24., 88., 96., 112., 120.]);
}

#[test]
fn conv_transpose_basic() {
    let x = t32(&[1, 1, 3, 3], (0..9).map(|v| v as f32).collect());
    let w = t32(&[1, 2, 3, 3], vec![1.0; 18]);
    let op = ConvOp::ConvTranspose {
        window: win(&[]),
        group: 1,
        output_padding: vec![],
        output_shape: None,
    };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.shape(), &[1, 2, 5, 5]);
    let v = y.as_slice::<f32>().unwrap();
    assert_eq!(&v[..10], &[0., 1., 3., 3., 2., 3., 8., 15., 12., 7.]);
    assert_eq!(&v[20..25], &[6., 13., 21., 15., 8.]);
    assert_eq!(&v[..25], &v[25..]);
}

#[test]
fn conv_auto_pad_same_lower_shape() {
    let mut window = win(&[]);
    window.auto_pad = AutoPad::SameLower;
    window.strides = vec![2, 2];
    let g = window.resolve("Conv", &[5, 5], &[3, 3], false).unwrap();
    assert_eq!(g.out_dims(), vec![3, 3]);
    assert_eq!((g.pb[1], g.pe[1]), (1, 1));
    let g = window.resolve("Conv", &[4, 4], &[3, 3], false).unwrap();
    assert_eq!((g.pb[2], g.pe[2]), (1, 0));
}

#[test]
fn conv_errors() {
    let x = t32(&[1, 3, 4, 4], vec![0.0; 48]);
    let w = t32(&[2, 2, 3, 3], vec![0.0; 36]);
    let op = ConvOp::Conv {
        window: win(&[]),
        group: 1,
    };
    assert!(run(&op, &[Some(&x), Some(&w)]).is_err());
    assert!(run(&op, &[Some(&x)]).is_err());
    let w = t32(&[2, 3, 5, 5], vec![0.0; 150]);
    assert!(run(&op, &[Some(&x), Some(&w)]).is_err());
}

#[test]
fn im2col_panels_match_im2col_then_packing() {
    use super::geom::Geom;
    use super::im2col::{im2col, im2col_panels};
    // (input dims, kernel, strides, dilations, pads begin+end)
    let cases: &[(&[usize], &[usize], &[usize], &[usize], &[usize])] = &[
        (&[7, 9], &[3, 3], &[1, 1], &[1, 1], &[1, 1, 1, 1]),
        (&[11, 5], &[3, 3], &[2, 2], &[1, 1], &[1, 1, 1, 1]),
        (&[10, 13], &[7, 7], &[2, 2], &[1, 1], &[3, 3, 3, 3]),
        (&[9, 9], &[3, 2], &[3, 1], &[2, 2], &[2, 0, 1, 3]),
        (&[4, 40], &[1, 5], &[1, 1], &[1, 1], &[0, 2, 0, 2]),
        (&[19], &[4], &[1], &[1], &[2, 1]),
        (&[3, 4, 5], &[2, 3, 3], &[1, 2, 1], &[1, 1, 1], &[1, 1, 1, 0, 1, 1]),
        (&[2, 1], &[1, 1], &[1, 1], &[1, 1], &[1, 1, 1, 1]),
    ];
    for &(inp, k, s, d, pads) in cases {
        let mut window = win(pads);
        window.strides = s.to_vec();
        window.dilations = d.to_vec();
        let g: Geom = window.resolve("Conv", inp, k, false).unwrap();
        let ch = 3;
        let x: Vec<f32> = (0..ch * g.in_size()).map(|v| (v as f32 * 0.73).sin()).collect();
        let (kdim, n) = (ch * g.k_size(), g.out_size());
        let mut cols = vec![f32::NAN; kdim * n];
        im2col(&x, &g, ch, 0, g.out[0] * g.out[1], &mut cols);
        for nr in [8usize, 16, 32, 5] {
            for (q0, nq) in [(0, n), (n / 3, n - n / 3), (n.saturating_sub(1), 1.min(n))] {
                let mut panels = vec![f32::NAN; nq.div_ceil(nr) * kdim * nr];
                im2col_panels(&x, &g, ch, q0, nq, nr, &mut panels);
                for (i, &v) in panels.iter().enumerate() {
                    let (jp, p, j) = (i / (kdim * nr), (i / nr) % kdim, i % nr);
                    let q = q0 + jp * nr + j;
                    let want = if jp * nr + j < nq { cols[p * n + q] } else { 0.0 };
                    assert_eq!(
                        v.to_bits(),
                        want.to_bits(),
                        "{inp:?} k{k:?} s{s:?} nr {nr} q0 {q0}: panel {jp} row {p} lane {j}"
                    );
                }
            }
        }
    }
}

#[test]
fn f32_conv_paths_match_f64_reference() {
    use crate::ops::linalg::sgemm::Activation;
    // (input c×h×w, m, group, kernel, stride, pads): normal and transposed orientations (few
    // output positions), per-position taps over the padded input with positions as columns
    // (strides 1 and 2, rows of 14 to 60 columns) or as rows, pointwise and 1×1 / 3×3 / 5×5 /
    // 7×7, grouped.
    let cases: &[([usize; 3], usize, usize, usize, usize, usize)] = &[
        ([32, 7, 7], 64, 1, 1, 1, 0),
        ([128, 14, 14], 32, 1, 3, 1, 1),
        ([20, 28, 28], 40, 2, 3, 1, 1),
        ([9, 12, 30], 7, 1, 5, 1, 2),
        ([3, 5, 60], 13, 1, 3, 1, 0),
        ([3, 30, 64], 16, 1, 7, 2, 3),
        ([8, 15, 29], 12, 1, 3, 2, 1),
        ([16, 28, 28], 24, 1, 1, 2, 0),
        ([24, 7, 7], 96, 1, 3, 1, 1),
        ([16, 9, 9], 128, 2, 3, 2, 1),
        ([40, 13, 13], 48, 1, 1, 1, 0),
        ([8, 20, 23], 24, 1, 3, 1, 1),
        ([12, 4, 4], 160, 4, 1, 1, 0),
        ([6, 1, 1], 64, 1, 1, 1, 0),
        // Positions as rows over the padded input: a channel-reducing 1×1 over many positions,
        // stride 2 over odd sizes (column phases), rows of 3 positions (a kernel taller than
        // the row), a stride-2 1×1 (its sampled positions).
        ([160, 20, 20], 64, 1, 1, 1, 0),
        ([40, 15, 17], 32, 1, 3, 2, 1),
        ([64, 5, 3], 32, 1, 3, 1, 1),
        ([24, 15, 13], 40, 1, 1, 2, 0),
        // Short tiles of a large panel: the taps run in passes that accumulate in C.
        ([256, 14, 14], 64, 1, 3, 1, 1),
        // Depthwise 3×3 (planes in tasks, residual and activation fused): strides 1 and 2,
        // channel multiplier 2, no padding.
        ([64, 14, 14], 64, 64, 3, 1, 1),
        ([8, 28, 28], 16, 8, 3, 2, 1),
        ([24, 7, 9], 24, 24, 3, 1, 0),
    ];
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for &([c, h, wd], m, group, k, s, p) in cases {
        let x: Vec<f32> = (0..c * h * wd).map(|v| ((v * 7 % 23) as f32 - 11.0) * 0.1).collect();
        let w: Vec<f32> = (0..m * (c / group) * k * k)
            .map(|v| ((v * 5 % 17) as f32 - 8.0) * 0.05)
            .collect();
        let bias: Vec<f32> = (0..m).map(|v| v as f32 * 0.01 - 0.2).collect();
        let mut window = win(&[p, p, p, p]);
        window.strides = vec![s, s];
        let op = ConvOp::Conv {
            window: window.clone(),
            group,
        };
        let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        let x64 = Tensor::from_vec(vec![1, c, h, wd], to64(&x)).unwrap();
        let w64 = Tensor::from_vec(vec![m, c / group, k, k], to64(&w)).unwrap();
        let b64 = Tensor::from_vec(vec![m], to64(&bias)).unwrap();
        let want = run(&op, &[Some(&x64), Some(&w64), Some(&b64)]).unwrap();
        let want = want.as_slice::<f64>().unwrap();
        let res: Vec<f32> = (0..want.len()).map(|v| ((v * 3 % 13) as f32 - 6.0) * 0.1).collect();
        let (xt, wshape) = (t32(&[1, c, h, wd], x.clone()), [m, c / group, k, k]);
        let packed = fast::PackedConvWeights::new(&w, &wshape, group).unwrap();
        // Packed for the orientation this geometry uses (the others derived on demand).
        let geom = |hw: usize| super::conv_geometry(&window, group, &[1, c, hw, hw * 5], &wshape).unwrap();
        let here = super::conv_geometry(&window, group, &[1, c, h, wd], &wshape).unwrap();
        let oriented = fast::PackedConvWeights::for_geometry(&w, &wshape, group, Some(&here)).unwrap();
        // Packed for other input sizes (a shape change between runs): one output position
        // packs Wᵀ when there are enough channels, 12×60 packs per-position taps at unit
        // stride; a run with this geometry derives its own orientation from them.
        let few = fast::PackedConvWeights::for_geometry(&w, &wshape, group, Some(&geom(k))).unwrap();
        let wide = fast::PackedConvWeights::for_geometry(&w, &wshape, group, Some(&geom(12))).unwrap();
        for weights in [
            fast::ConvWeights::Plain(&w),
            fast::ConvWeights::Packed(&packed),
            fast::ConvWeights::Packed(&oriented),
            fast::ConvWeights::Packed(&few),
            fast::ConvWeights::Packed(&wide),
        ] {
            let epi = fast::ConvEpilogue {
                bias: Some(&bias),
                residual: Some(&res),
                act: Activation::Relu,
            };
            // On the test pool and on one thread (different task splits: one thread's tasks
            // hold every position tile, so short tiles of a large panel run in passes).
            for got in [
                conv_f32_with(&xt, weights, &wshape, &epi, &window, group).unwrap(),
                one_thread.install(|| conv_f32_with(&xt, weights, &wshape, &epi, &window, group).unwrap()),
            ] {
                for (i, (&g, &r)) in got.as_slice::<f32>().unwrap().iter().zip(want).enumerate() {
                    let r = (r + res[i] as f64).max(0.0);
                    assert!(
                        (g as f64 - r).abs() <= 1e-4 * (1.0 + r.abs()),
                        "{c}x{h}x{wd} m{m} g{group} k{k}: [{i}] {g} vs {r}"
                    );
                }
            }
        }
    }
}
