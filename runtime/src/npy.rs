//! Reading and writing NumPy `.npy` files (v1–v3, C order) for CLI inputs and outputs.

use crate::error::{Error, Result};
use half::{bf16, f16};
use suanli_kernels::{DType, Tensor, TensorData};

fn bad(msg: impl Into<String>) -> Error {
    Error::Decode {
        what: ".npy file".into(),
        msg: msg.into(),
    }
}

/// Parse a `.npy` file. Strings (`<U`), bools, all ints and floats are supported.
pub fn read_npy(bytes: &[u8]) -> Result<Tensor> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + hlen)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let descr = dict_str(header, "descr").ok_or_else(|| bad("header has no descr"))?;
    if header.contains("'fortran_order': True") {
        return Err(bad(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape = dict_shape(header).ok_or_else(|| bad("header has no shape"))?;
    let body = &bytes[start + hlen..];
    let n: usize = shape.iter().product();
    if descr.starts_with('>') && !descr.ends_with("1") {
        return Err(bad(format!("big-endian dtype {descr} is not supported")));
    }
    let kind = &descr[1..];
    if let Some(w) = kind.strip_prefix('U') {
        let width: usize = w
            .parse()
            .map_err(|_| bad(format!("bad string width in {descr}")))?;
        let need = n * width * 4;
        if body.len() < need {
            return Err(bad("data shorter than the shape says"));
        }
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let mut s = String::new();
            for c in 0..width {
                let o = (i * width + c) * 4;
                let code = u32::from_le_bytes([body[o], body[o + 1], body[o + 2], body[o + 3]]);
                if code == 0 {
                    break;
                }
                s.push(char::from_u32(code).ok_or_else(|| bad("invalid unicode in string data"))?);
            }
            v.push(s);
        }
        return Tensor::from_strings(shape, v).map_err(|e| bad(e.to_string()));
    }
    let dtype = match kind {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "f2" => DType::F16,
        "i1" => DType::I8,
        "u1" => DType::U8,
        "i2" => DType::I16,
        "u2" => DType::U16,
        "i4" => DType::I32,
        "u4" => DType::U32,
        "i8" => DType::I64,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        _ => return Err(bad(format!("unsupported dtype {descr}"))),
    };
    let need = n * dtype.size();
    let data = body
        .get(..need)
        .ok_or_else(|| bad("data shorter than the shape says"))?;
    Tensor::from_le_bytes(dtype, shape, data).map_err(|e| bad(e.to_string()))
}

fn dict_str<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    let i = h.find(&format!("'{key}'"))?;
    let rest = &h[i + key.len() + 2..];
    let q1 = rest.find('\'')?;
    let rest = &rest[q1 + 1..];
    let q2 = rest.find('\'')?;
    Some(&rest[..q2])
}

fn dict_shape(h: &str) -> Option<Vec<usize>> {
    let i = h.find("'shape'")?;
    let rest = &h[i..];
    let a = rest.find('(')?;
    let b = rest.find(')')?;
    rest[a + 1..b]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
}

/// Encode a tensor as `.npy`. bf16 has no NumPy dtype and is written as f32.
pub fn write_npy(t: &Tensor) -> Vec<u8> {
    let (descr, body): (String, Vec<u8>) = match t.data() {
        TensorData::Str(v) => {
            let width = v
                .iter()
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
                .max(1);
            let mut b = Vec::with_capacity(v.len() * width * 4);
            for s in v {
                let mut k = 0;
                for c in s.chars() {
                    b.extend_from_slice(&(c as u32).to_le_bytes());
                    k += 1;
                }
                b.resize(b.len() + (width - k) * 4, 0);
            }
            (format!("<U{width}"), b)
        }
        TensorData::BF16(v) => {
            let f: Vec<f32> = v.iter().map(|x| bf16::to_f32(*x)).collect();
            ("<f4".into(), bytemuck::cast_slice(&f).to_vec())
        }
        TensorData::F16(v) => ("<f2".into(), bytemuck::cast_slice::<f16, u8>(v).to_vec()),
        _ => {
            let d = match t.dtype() {
                DType::F32 => "<f4",
                DType::F64 => "<f8",
                DType::I8 => "|i1",
                DType::U8 => "|u1",
                DType::I16 => "<i2",
                DType::U16 => "<u2",
                DType::I32 => "<i4",
                DType::U32 => "<u4",
                DType::I64 => "<i8",
                DType::U64 => "<u8",
                _ => "|b1",
            };
            (d.into(), t.to_le_bytes().unwrap_or_default())
        }
    };
    let shape = match t.shape() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(read_npy(&write_npy(&t)).unwrap(), t);
        let s = Tensor::from_strings(vec![2], vec!["ab".into(), "中文".into()]).unwrap();
        assert_eq!(read_npy(&write_npy(&s)).unwrap(), s);
        let sc = Tensor::scalar(7i64);
        assert_eq!(read_npy(&write_npy(&sc)).unwrap(), sc);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read_npy(b"hello").is_err());
        let mut b = write_npy(&Tensor::from_vec(vec![4], vec![1i32, 2, 3, 4]).unwrap());
        b.truncate(b.len() - 3);
        assert!(read_npy(&b).is_err());
    }
}
