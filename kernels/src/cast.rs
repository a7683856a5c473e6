//! Element-type conversion (the `Cast` kernel's core, also used by tensor I/O).

use crate::dtype::{DType, Elem};
use crate::error::{KernelError, Result};
use crate::tensor::{HostElem, TensorData};
use crate::{dispatch_dtype, match_data};

fn convert<S: Elem, D: HostElem>(src: &[S]) -> TensorData {
    let out: Vec<D> = if S::DTYPE.is_float() || D::DTYPE.is_float() || D::DTYPE == DType::Bool {
        if D::DTYPE == DType::Bool {
            src.iter()
                .map(|x| D::from_f64((x.to_f64() != 0.0) as u8 as f64))
                .collect_recycled(src.len())
        } else if S::DTYPE.is_float() && D::DTYPE.is_int() {
            // Truncate toward zero; NaN becomes 0 (Rust `as` semantics, saturating).
            src.iter()
                .map(|x| D::from_f64(x.to_f64().trunc()))
                .collect_recycled(src.len())
        } else if S::DTYPE.is_int() && D::DTYPE.is_float() && matches!(S::DTYPE, DType::I64 | DType::U64) {
            src.iter()
                .map(|x| {
                    if S::DTYPE == DType::U64 {
                        D::from_f64(x.to_i64() as u64 as f64)
                    } else {
                        D::from_f64(x.to_i64() as f64)
                    }
                })
                .collect_recycled(src.len())
        } else {
            src.iter().map(|x| D::from_f64(x.to_f64())).collect_recycled(src.len())
        }
    } else {
        // Integer (or bool) to integer: wrap like a C cast.
        src.iter().map(|x| D::from_i64(x.to_i64())).collect_recycled(src.len())
    };
    D::wrap(out)
}

/// Collect into recycled storage (see [`crate::buffers`]).
trait CollectRecycled<T: HostElem>: Iterator<Item = T> + Sized {
    fn collect_recycled(self, len: usize) -> Vec<T> {
        let mut v = crate::buffers::with_capacity(len);
        v.extend(self);
        v
    }
}

impl<T: HostElem, I: Iterator<Item = T>> CollectRecycled<T> for I {}

fn to_strings<S: Elem>(src: &[S]) -> Vec<String> {
    src.iter()
        .map(|x| {
            if S::DTYPE == DType::Bool {
                (if x.to_f64() != 0.0 { "1" } else { "0" }).to_string()
            } else if S::DTYPE.is_float() {
                format_float(x.to_f64(), S::DTYPE)
            } else if S::DTYPE == DType::U64 {
                (x.to_i64() as u64).to_string()
            } else {
                x.to_i64().to_string()
            }
        })
        .collect()
}

/// Format a float the way numpy's `str()` does for the common cases (shortest round-trip).
pub fn format_float(v: f64, dt: DType) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "INF".into() } else { "-INF".into() };
    }
    let s = match dt {
        DType::F32 => format!("{}", v as f32),
        _ => format!("{}", v),
    };
    s
}

fn from_strings<D: HostElem>(src: &[String]) -> Result<TensorData> {
    let mut out = Vec::with_capacity(src.len());
    for s in src {
        let t = s.trim();
        let v = if D::DTYPE.is_float() {
            match t.to_ascii_lowercase().as_str() {
                "nan" => f64::NAN,
                "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
                "-inf" | "-infinity" => f64::NEG_INFINITY,
                _ => t
                    .parse::<f64>()
                    .map_err(|_| KernelError::invalid("Cast", format!("cannot parse {:?} as {}", s, D::DTYPE)))?,
            }
        } else if D::DTYPE == DType::Bool {
            match t {
                "true" | "True" | "1" => 1.0,
                "false" | "False" | "0" | "" => 0.0,
                _ => t
                    .parse::<f64>()
                    .map_err(|_| KernelError::invalid("Cast", format!("cannot parse {:?} as bool", s)))?,
            }
        } else {
            let i = t
                .parse::<i64>()
                .or_else(|_| t.parse::<f64>().map(|f| f as i64))
                .map_err(|_| KernelError::invalid("Cast", format!("cannot parse {:?} as {}", s, D::DTYPE)))?;
            out.push(D::from_i64(i));
            continue;
        };
        out.push(D::from_f64(v));
    }
    Ok(D::wrap(out))
}

fn cast_from<S: Elem>(src: &[S], to: DType) -> TensorData {
    fn go<D: HostElem, S: Elem>(src: &[S]) -> TensorData {
        convert::<S, D>(src)
    }
    match to {
        DType::F32 => go::<f32, S>(src),
        DType::F16 => go::<half::f16, S>(src),
        DType::BF16 => go::<half::bf16, S>(src),
        DType::F64 => go::<f64, S>(src),
        DType::I8 => go::<i8, S>(src),
        DType::U8 => go::<u8, S>(src),
        DType::I16 => go::<i16, S>(src),
        DType::U16 => go::<u16, S>(src),
        DType::I32 => go::<i32, S>(src),
        DType::U32 => go::<u32, S>(src),
        DType::I64 => go::<i64, S>(src),
        DType::U64 => go::<u64, S>(src),
        DType::Bool => go::<bool, S>(src),
        DType::Str => TensorData::Str(to_strings(src)),
    }
}

/// Convert typed data to another dtype.
pub fn cast_data(src: &TensorData, to: DType) -> Result<TensorData> {
    if let TensorData::Str(s) = src {
        if to == DType::Str {
            return Ok(src.clone());
        }
        return dispatch_dtype!(to, from_strings(s), str => unreachable!("handled above"));
    }
    Ok(match_data!(src, v => cast_from(v, to), str => unreachable!("handled above")))
}
