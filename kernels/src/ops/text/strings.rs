//! String kernels: normalisation, concatenation, splitting and regex matching.

use crate::error::{KernelError, Result};
use crate::shape::{broadcast_shapes, broadcast_strides, for_each_offset};
use crate::tensor::Tensor;
use crate::util::req;

/// `StringNormalizer`'s `case_change_action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseAction {
    /// Keep case.
    None,
    /// Lowercase.
    Lower,
    /// Uppercase.
    Upper,
}

/// A regex anchored to match whole strings; compares equal by its source pattern.
#[derive(Clone, Debug)]
pub struct FullMatchRegex {
    pattern: String,
    re: regex::Regex,
}

impl FullMatchRegex {
    /// Compile `pattern` (RE2-like syntax) so that it must match the whole input.
    pub fn new(pattern: &str) -> Result<FullMatchRegex> {
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| KernelError::invalid("RegexFullMatch", format!("invalid pattern {pattern:?}: {e}")))?;
        Ok(FullMatchRegex { pattern: pattern.to_string(), re })
    }
    /// The source pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl PartialEq for FullMatchRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

/// `StringNormalizer`: remove stopword elements, then change case. Input `[C]` or `[1, C]`.
pub(crate) fn normalize(case: CaseAction, sensitive: bool, stops: &[String], inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "StringNormalizer";
    let x = req(OP, inputs, 0)?;
    let two_d = match x.shape() {
        [_] => false,
        [1, _] => true,
        s => return Err(KernelError::invalid(OP, format!("input must be [C] or [1, C], found {s:?}"))),
    };
    let lowered: Vec<String> = if sensitive { Vec::new() } else { stops.iter().map(|s| s.to_lowercase()).collect() };
    let is_stop = |s: &str| {
        if sensitive {
            stops.iter().any(|w| w == s)
        } else {
            let l = s.to_lowercase();
            lowered.iter().any(|w| *w == l)
        }
    };
    let mut out: Vec<String> = x
        .as_strings()?
        .iter()
        .filter(|s| !is_stop(s))
        .map(|s| match case {
            CaseAction::None => s.clone(),
            CaseAction::Lower => s.to_lowercase(),
            CaseAction::Upper => s.to_uppercase(),
        })
        .collect();
    if out.is_empty() {
        out.push(String::new());
    }
    let shape = if two_d { vec![1, out.len()] } else { vec![out.len()] };
    Ok(vec![Tensor::from_strings(shape, out)?])
}

/// `StringConcat` with numpy broadcasting.
pub(crate) fn concat(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    const OP: &str = "StringConcat";
    let (a, b) = (req(OP, inputs, 0)?, req(OP, inputs, 1)?);
    let (av, bv) = (a.as_strings()?, b.as_strings()?);
    let shape = broadcast_shapes(OP, &[a.shape(), b.shape()])?;
    let (sa, sb) = (broadcast_strides(a.shape(), &shape), broadcast_strides(b.shape(), &shape));
    let mut out = Vec::with_capacity(shape.iter().product());
    for_each_offset(&shape, [&sa, &sb], |[i, j]| out.push(format!("{}{}", av[i], bv[j])));
    Ok(vec![Tensor::from_strings(shape, out)?])
}

/// Python `str.split(sep, maxsplit)` semantics.
fn split_one(s: &str, delimiter: Option<&str>, maxsplit: Option<usize>) -> Vec<String> {
    match delimiter {
        Some(d) => match maxsplit {
            Some(m) => s.splitn(m + 1, d).map(str::to_string).collect(),
            None => s.split(d).map(str::to_string).collect(),
        },
        None => {
            // Runs of whitespace separate; leading/trailing whitespace yields no empty pieces.
            let mut parts = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if maxsplit.is_some_and(|m| parts.len() == m) {
                    parts.push(rest.to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                parts.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            parts
        }
    }
}

/// `StringSplit`: substrings padded with `""` to the longest split, and the counts.
pub(crate) fn split(delimiter: Option<&str>, maxsplit: Option<usize>, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = req("StringSplit", inputs, 0)?;
    let parts: Vec<Vec<String>> = x.as_strings()?.iter().map(|s| split_one(s, delimiter, maxsplit)).collect();
    let width = parts.iter().map(Vec::len).max().unwrap_or(0);
    let counts: Vec<i64> = parts.iter().map(|p| p.len() as i64).collect();
    let mut flat = Vec::with_capacity(parts.len() * width);
    for mut p in parts {
        p.resize(width, String::new());
        flat.extend(p);
    }
    let mut shape = x.shape().to_vec();
    shape.push(width);
    Ok(vec![Tensor::from_strings(shape, flat)?, Tensor::from_vec(x.shape().to_vec(), counts)?])
}

/// `RegexFullMatch`: whether each string matches the whole pattern.
pub(crate) fn full_match(re: &FullMatchRegex, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = req("RegexFullMatch", inputs, 0)?;
    let out: Vec<bool> = x.as_strings()?.iter().map(|s| re.re.is_match(s)).collect();
    Ok(vec![Tensor::from_vec(x.shape().to_vec(), out)?])
}
