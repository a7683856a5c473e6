//! Unit tests for the conv family (values from the ONNX operator docs or computed by hand).

use super::*;

fn t32(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn win(pads: &[usize]) -> Window {
    Window { kernel_shape: None, strides: vec![], dilations: vec![], pads: pads.to_vec(), auto_pad: AutoPad::NotSet }
}

fn run(op: &ConvOp, ins: &[Option<&Tensor>]) -> Result<Tensor> {
    Ok(op.run(ins)?.remove(0))
}

#[test]
fn conv_basic_with_and_without_padding() {
    let x = t32(&[1, 1, 5, 5], (0..25).map(|v| v as f32).collect());
    let w = t32(&[1, 1, 3, 3], vec![1.0; 9]);
    let op = ConvOp::Conv { window: win(&[1, 1, 1, 1]), group: 1 };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.shape(), &[1, 1, 5, 5]);
    assert_eq!(&y.as_slice::<f32>().unwrap()[..10], &[12., 21., 27., 33., 24., 33., 54., 63., 72., 51.]);
    let op = ConvOp::Conv { window: win(&[]), group: 1 };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[54., 63., 72., 99., 108., 117., 144., 153., 162.]);
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
    let (xt, wt, bt) = (t32(&[1, c, h, wd], x.clone()), t32(&[m, c, 3, 3], w.clone()), t32(&[m], b.clone()));
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
                                acc += w[((mo * c + ci) * 3 + ki) * 3 + kj] * x[(ci * h + yy as usize) * wd + xx as usize];
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
    let op = ConvOp::Conv { window: win(&[]), group: 2 };
    let y = run(&op, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[8., 12., 20., 24., 88., 96., 112., 120.]);
}

#[test]
fn conv_transpose_basic() {
    let x = t32(&[1, 1, 3, 3], (0..9).map(|v| v as f32).collect());
    let w = t32(&[1, 2, 3, 3], vec![1.0; 18]);
    let op = ConvOp::ConvTranspose { window: win(&[]), group: 1, output_padding: vec![], output_shape: None };
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
    let op = ConvOp::Conv { window: win(&[]), group: 1 };
    assert!(run(&op, &[Some(&x), Some(&w)]).is_err());
    assert!(run(&op, &[Some(&x)]).is_err());
    let w = t32(&[2, 3, 5, 5], vec![0.0; 150]);
    assert!(run(&op, &[Some(&x), Some(&w)]).is_err());
}
