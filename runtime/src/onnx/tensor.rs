//! Conversion between ONNX `TensorProto` and host [`Tensor`]s, including external data.

use super::proto::TensorProto;
use crate::error::{Error, Result};
use half::{bf16, f16};
use std::path::Path;
use suanli_kernels::{DType, Tensor, TensorData};

fn bad(name: &str, msg: impl Into<String>) -> Error {
    Error::InvalidModel(format!("tensor {name:?}: {}", msg.into()))
}

/// Decode a `TensorProto` (raw, typed-field or external data) into a host tensor.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor> {
    let name = t.name.as_str();
    let dtype = DType::from_onnx_code(t.data_type).ok_or_else(|| {
        bad(
            name,
            format!("element type {} is not supported", DType::onnx_code_name(t.data_type)),
        )
    })?;
    let mut shape = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        if d < 0 {
            return Err(bad(name, format!("negative dim {d}")));
        }
        shape.push(d as usize);
    }
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(name, "dims overflow"))?;

    if t.data_location == 1 {
        let raw = read_external(t, base_dir)?;
        return Tensor::from_le_bytes(dtype, shape, &raw).map_err(|e| bad(name, e.to_string()));
    }
    if dtype == DType::Str {
        let v: Vec<String> = t
            .string_data
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        return Tensor::from_strings(shape, v).map_err(|e| bad(name, e.to_string()));
    }
    if !t.raw_data.is_empty() || n == 0 {
        return Tensor::from_le_bytes(dtype, shape, &t.raw_data).map_err(|e| bad(name, e.to_string()));
    }
    let count_err = |got: usize| bad(name, format!("shape {:?} needs {n} values, found {got}", t.dims));
    let data = match dtype {
        DType::F32 => TensorData::F32(t.float_data.clone()),
        DType::F64 => TensorData::F64(t.double_data.clone()),
        DType::I64 => TensorData::I64(t.int64_data.clone()),
        DType::U64 => TensorData::U64(t.uint64_data.clone()),
        DType::U32 => TensorData::U32(t.uint64_data.iter().map(|&v| v as u32).collect()),
        DType::I32 => TensorData::I32(t.int32_data.clone()),
        DType::I16 => TensorData::I16(t.int32_data.iter().map(|&v| v as i16).collect()),
        DType::U16 => TensorData::U16(t.int32_data.iter().map(|&v| v as u16).collect()),
        DType::I8 => TensorData::I8(t.int32_data.iter().map(|&v| v as i8).collect()),
        DType::U8 => TensorData::U8(t.int32_data.iter().map(|&v| v as u8).collect()),
        DType::Bool => TensorData::Bool(t.int32_data.iter().map(|&v| v != 0).collect()),
        // f16 / bf16 are stored as their bit patterns in int32_data.
        DType::F16 => TensorData::F16(t.int32_data.iter().map(|&v| f16::from_bits(v as u16)).collect()),
        DType::BF16 => TensorData::BF16(t.int32_data.iter().map(|&v| bf16::from_bits(v as u16)).collect()),
        DType::Str => unreachable!("strings handled above"),
    };
    if data.len() != n {
        return Err(count_err(data.len()));
    }
    Tensor::new(shape, data).map_err(|e| bad(name, e.to_string()))
}

fn read_external(t: &TensorProto, base_dir: Option<&Path>) -> Result<bytes::Bytes> {
    let name = t.name.as_str();
    let mut location = None;
    let mut offset = 0u64;
    let mut length: Option<u64> = None;
    for kv in &t.external_data {
        match kv.key.as_str() {
            "location" => location = Some(kv.value.clone()),
            "offset" => offset = kv.value.parse().map_err(|_| bad(name, "bad external data offset"))?,
            "length" => length = Some(kv.value.parse().map_err(|_| bad(name, "bad external data length"))?),
            _ => {}
        }
    }
    let location = location.ok_or_else(|| bad(name, "external data without a location"))?;
    let rel = Path::new(&location);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(bad(
            name,
            format!("external data location {location:?} must stay inside the model's folder"),
        ));
    }
    let base = base_dir.ok_or_else(|| bad(name, "external data needs the model to be loaded from a file"))?;
    let path = base.join(rel);
    // Mapped without pre-faulting: a tensor reads only its own range of a shared data file.
    let bytes = super::file::read(&path, false)?;
    let start = offset as usize;
    let end = match length {
        Some(l) => start
            .checked_add(l as usize)
            .ok_or_else(|| bad(name, "external data range overflows"))?,
        None => bytes.len(),
    };
    if start > end || end > bytes.len() {
        return Err(bad(
            name,
            format!(
                "external data range {start}..{end} is outside {} ({} bytes)",
                location,
                bytes.len()
            ),
        ));
    }
    Ok(bytes.slice(start..end))
}

/// Encode a host tensor as a `TensorProto` (raw data for numbers, `string_data` for strings).
pub fn tensor_to_proto(t: &Tensor, name: &str) -> TensorProto {
    let mut p = TensorProto {
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: t.dtype().onnx_code(),
        name: name.to_string(),
        ..Default::default()
    };
    match t.data() {
        TensorData::Str(v) => p.string_data = v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        // Only strings lack a byte form, and they are handled above.
        _ => p.raw_data = t.to_le_bytes().unwrap_or_default().into(),
    }
    p
}

/// Decode a serialized value of the given static type: a `TensorProto` for tensors, a
/// `SequenceProto` for sequences, an `OptionalProto` for optionals.
pub fn value_from_bytes(bytes: &[u8], ty: &crate::graph::ValueType) -> Result<crate::graph::Value> {
    use super::proto::{decode, OptionalProto, SequenceProto};
    use crate::graph::{Value, ValueType};
    let err = |msg: String| Error::Decode {
        what: "value".into(),
        msg,
    };
    Ok(match ty {
        ValueType::Sequence(_) => {
            let s: SequenceProto = decode(bytes).map_err(err)?;
            Value::Sequence(
                s.tensor_values
                    .iter()
                    .map(|t| tensor_from_proto(t, None))
                    .collect::<Result<_>>()?,
            )
        }
        ValueType::Optional(inner) => {
            let o: OptionalProto = decode(bytes).map_err(err)?;
            if let Some(t) = &o.tensor_value {
                Value::Optional(Some(Box::new(Value::Tensor(tensor_from_proto(t, None)?))))
            } else if let Some(s) = &o.sequence_value {
                let v = s
                    .tensor_values
                    .iter()
                    .map(|t| tensor_from_proto(t, None))
                    .collect::<Result<_>>()?;
                Value::Optional(Some(Box::new(Value::Sequence(v))))
            } else {
                let _ = inner;
                Value::Optional(None)
            }
        }
        _ => {
            let t: TensorProto = decode(bytes).map_err(err)?;
            Value::Tensor(tensor_from_proto(&t, None)?)
        }
    })
}

/// Encode a value as the matching protobuf message (see [`value_from_bytes`]).
pub fn value_to_bytes(v: &crate::graph::Value, name: &str) -> Vec<u8> {
    use super::proto::{OptionalProto, SequenceProto};
    use crate::graph::Value;
    use prost::Message;
    match v {
        Value::Tensor(t) => tensor_to_proto(t, name).encode_to_vec(),
        Value::Sequence(s) => SequenceProto {
            name: name.into(),
            elem_type: 1,
            tensor_values: s.iter().map(|t| tensor_to_proto(t, "")).collect(),
            ..Default::default()
        }
        .encode_to_vec(),
        Value::Optional(o) => {
            let mut p = OptionalProto {
                name: name.into(),
                ..Default::default()
            };
            match o.as_deref() {
                Some(Value::Tensor(t)) => {
                    p.elem_type = 1;
                    p.tensor_value = Some(tensor_to_proto(t, ""));
                }
                Some(Value::Sequence(s)) => {
                    p.elem_type = 2;
                    p.sequence_value = Some(Box::new(SequenceProto {
                        elem_type: 1,
                        tensor_values: s.iter().map(|t| tensor_to_proto(t, "")).collect(),
                        ..Default::default()
                    }));
                }
                _ => {}
            }
            p.encode_to_vec()
        }
    }
}
