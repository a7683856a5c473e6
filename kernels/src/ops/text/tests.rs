//! Unit tests for the text family.

use super::*;

fn s(shape: &[usize], v: &[&str]) -> Tensor {
    Tensor::from_strings(shape.to_vec(), v.iter().map(|x| x.to_string()).collect()).unwrap()
}

#[test]
fn split_like_python() {
    let op = TextOp::StringSplit { delimiter: None, maxsplit: Some(1) };
    let x = s(&[2], &["  a  b c ", ""]);
    let y = op.run(&[Some(&x)]).unwrap();
    assert_eq!(y[0].shape(), &[2, 2]);
    assert_eq!(y[0].as_strings().unwrap(), &["a", "b c ", "", ""]);
    assert_eq!(y[1].as_slice::<i64>().unwrap(), &[2, 0]);
    let op = TextOp::StringSplit { delimiter: Some("-".into()), maxsplit: None };
    let y = op.run(&[Some(&s(&[1], &["a--b"]))]).unwrap();
    assert_eq!(y[0].as_strings().unwrap(), &["a", "", "b"]);
}

#[test]
fn concat_normalize_and_regex() {
    let y = TextOp::StringConcat.run(&[Some(&s(&[2], &["a", "b"])), Some(&s(&[], &["!"]))]).unwrap();
    assert_eq!(y[0].as_strings().unwrap(), &["a!", "b!"]);
    let op = TextOp::StringNormalizer { case: CaseAction::Lower, case_sensitive: false, stopwords: vec!["the".into()] };
    let y = op.run(&[Some(&s(&[1, 3], &["The", "Cat", "SAT"]))]).unwrap();
    assert_eq!(y[0].shape(), &[1, 2]);
    assert_eq!(y[0].as_strings().unwrap(), &["cat", "sat"]);
    let op = TextOp::RegexFullMatch { regex: FullMatchRegex::new("a+b").unwrap() };
    let y = op.run(&[Some(&s(&[3], &["aab", "aabx", "b"]))]).unwrap();
    assert_eq!(y[0].as_slice::<bool>().unwrap(), &[true, false, false]);
    assert!(FullMatchRegex::new("(").is_err());
}

#[test]
fn label_encoder_and_features() {
    let op = TextOp::LabelEncoder {
        keys: s(&[2], &["x", "y"]),
        values: Tensor::from_vec(vec![2], vec![7i64, 9]).unwrap(),
        default: Tensor::scalar(-1i64),
    };
    let y = op.run(&[Some(&s(&[3], &["y", "z", "x"]))]).unwrap();
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[9, -1, 7]);
    let x = Tensor::from_vec(vec![2, 3], vec![0f32, 1., 2., 3., 4., 5.]).unwrap();
    let idx = Tensor::from_vec(vec![1], vec![2i64]).unwrap();
    let y = TextOp::ArrayFeatureExtractor.run(&[Some(&x), Some(&idx)]).unwrap();
    assert_eq!(y[0].shape(), &[2, 1]);
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[2., 5.]);
    let y = TextOp::Binarizer { threshold: 1.5 }.run(&[Some(&x)]).unwrap();
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 0., 1., 1., 1., 1.]);
}

#[test]
fn bad_inputs_are_errors() {
    let x = Tensor::from_vec(vec![2], vec![1f32, 2.]).unwrap();
    assert!(TextOp::StringConcat.run(&[Some(&x), Some(&x)]).is_err());
    let idx = Tensor::from_vec(vec![1], vec![5i64]).unwrap();
    assert!(TextOp::ArrayFeatureExtractor.run(&[Some(&x), Some(&idx)]).is_err());
    let op = TextOp::StringNormalizer { case: CaseAction::None, case_sensitive: true, stopwords: vec![] };
    assert!(op.run(&[Some(&s(&[2, 2], &["a", "b", "c", "d"]))]).is_err());
}
