//! Host tensors: a dtype, a shape and a typed, row-major (C-order) buffer.

use crate::dtype::{DType, Elem};
use crate::error::{KernelError, Result};
use half::{bf16, f16};
use std::sync::Arc;

/// The typed storage of a host tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

/// Apply a generic expression to the typed vector inside a [`TensorData`], for every
/// dtype except strings. `$v` binds the `Vec<T>` (or a reference to it, following `$data`).
/// The string case evaluates `$str`.
#[macro_export]
macro_rules! match_data {
    ($data:expr, $v:ident => $body:expr, str => $str:expr) => {
        match $data {
            $crate::TensorData::F32($v) => $body,
            $crate::TensorData::F16($v) => $body,
            $crate::TensorData::BF16($v) => $body,
            $crate::TensorData::F64($v) => $body,
            $crate::TensorData::I8($v) => $body,
            $crate::TensorData::U8($v) => $body,
            $crate::TensorData::I16($v) => $body,
            $crate::TensorData::U16($v) => $body,
            $crate::TensorData::I32($v) => $body,
            $crate::TensorData::U32($v) => $body,
            $crate::TensorData::I64($v) => $body,
            $crate::TensorData::U64($v) => $body,
            $crate::TensorData::Bool($v) => $body,
            $crate::TensorData::Str(_) => $str,
        }
    };
}

/// Call a generic function `$f::<T>(args...)` with `T` chosen by a runtime [`DType`]
/// (every dtype except `Str`, which evaluates `$str`).
#[macro_export]
macro_rules! dispatch_dtype {
    ($dt:expr, $f:ident ( $($arg:expr),* ), str => $str:expr) => {
        match $dt {
            $crate::DType::F32 => $f::<f32>($($arg),*),
            $crate::DType::F16 => $f::<$crate::half::f16>($($arg),*),
            $crate::DType::BF16 => $f::<$crate::half::bf16>($($arg),*),
            $crate::DType::F64 => $f::<f64>($($arg),*),
            $crate::DType::I8 => $f::<i8>($($arg),*),
            $crate::DType::U8 => $f::<u8>($($arg),*),
            $crate::DType::I16 => $f::<i16>($($arg),*),
            $crate::DType::U16 => $f::<u16>($($arg),*),
            $crate::DType::I32 => $f::<i32>($($arg),*),
            $crate::DType::U32 => $f::<u32>($($arg),*),
            $crate::DType::I64 => $f::<i64>($($arg),*),
            $crate::DType::U64 => $f::<u64>($($arg),*),
            $crate::DType::Bool => $f::<bool>($($arg),*),
            $crate::DType::Str => $str,
        }
    };
}

/// Like [`dispatch_dtype!`] but only for the float dtypes; other dtypes evaluate `$other`.
#[macro_export]
macro_rules! dispatch_float {
    ($dt:expr, $f:ident ( $($arg:expr),* ), other => $other:expr) => {
        match $dt {
            $crate::DType::F32 => $f::<f32>($($arg),*),
            $crate::DType::F16 => $f::<$crate::half::f16>($($arg),*),
            $crate::DType::BF16 => $f::<$crate::half::bf16>($($arg),*),
            $crate::DType::F64 => $f::<f64>($($arg),*),
            _ => $other,
        }
    };
}

impl TensorData {
    /// The dtype of this storage.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::U16(_) => DType::U16,
            TensorData::I32(_) => DType::I32,
            TensorData::U32(_) => DType::U32,
            TensorData::I64(_) => DType::I64,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
            TensorData::Str(_) => DType::Str,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match_data!(self, v => v.len(), str => match self { TensorData::Str(s) => s.len(), _ => 0 })
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` default (zero / false / empty-string) elements of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> TensorData {
        fn z<T: Elem + HostElem>(n: usize) -> TensorData {
            T::wrap(vec![T::zero(); n])
        }
        dispatch_dtype!(dtype, z(n), str => TensorData::Str(vec![String::new(); n]))
    }
}

/// Element types that can be wrapped into and viewed out of [`TensorData`].
pub trait HostElem: Elem {
    /// Wrap a vector.
    fn wrap(v: Vec<Self>) -> TensorData;
    /// View the vector if the data has this type.
    fn view(d: &TensorData) -> Option<&Vec<Self>>;
    /// Mutable view if the data has this type.
    fn view_mut(d: &mut TensorData) -> Option<&mut Vec<Self>>;
    /// Take the vector if the data has this type.
    fn unwrap_data(d: TensorData) -> std::result::Result<Vec<Self>, TensorData>;
}

macro_rules! host_elem {
    ($t:ty, $var:ident) => {
        impl HostElem for $t {
            #[inline]
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$var(v)
            }
            #[inline]
            fn view(d: &TensorData) -> Option<&Vec<Self>> {
                match d {
                    TensorData::$var(v) => Some(v),
                    _ => None,
                }
            }
            #[inline]
            fn view_mut(d: &mut TensorData) -> Option<&mut Vec<Self>> {
                match d {
                    TensorData::$var(v) => Some(v),
                    _ => None,
                }
            }
            #[inline]
            fn unwrap_data(d: TensorData) -> std::result::Result<Vec<Self>, TensorData> {
                match d {
                    TensorData::$var(v) => Ok(v),
                    other => Err(other),
                }
            }
        }
    };
}
host_elem!(f32, F32);
host_elem!(f16, F16);
host_elem!(bf16, BF16);
host_elem!(f64, F64);
host_elem!(i8, I8);
host_elem!(u8, U8);
host_elem!(i16, I16);
host_elem!(u16, U16);
host_elem!(i32, I32);
host_elem!(u32, U32);
host_elem!(i64, I64);
host_elem!(u64, U64);
host_elem!(bool, Bool);

/// A host tensor: row-major data of a known dtype and concrete shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// A tensor from a shape and typed data; fails if the element count differs.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(KernelError::invalid(
                "tensor",
                format!("shape {:?} holds {} elements but {} were given", shape, n, data.len()),
            ));
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor from a shape and a typed vector.
    pub fn from_vec<T: HostElem>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor> {
        Tensor::new(shape, T::wrap(v))
    }

    /// A string tensor.
    pub fn from_strings(shape: Vec<usize>, v: Vec<String>) -> Result<Tensor> {
        Tensor::new(shape, TensorData::Str(v))
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar<T: HostElem>(v: T) -> Tensor {
        Tensor {
            shape: vec![],
            data: T::wrap(vec![v]),
        }
    }

    /// A tensor of zeros (false, empty strings).
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        Tensor {
            shape,
            data: TensorData::zeros(dtype, n),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The rank (number of dims).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Size of the data in bytes.
    pub fn byte_size(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// The typed storage.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// Mutable typed storage.
    pub fn data_mut(&mut self) -> &mut TensorData {
        &mut self.data
    }

    /// Split into shape and data.
    pub fn into_parts(self) -> (Vec<usize>, TensorData) {
        (self.shape, self.data)
    }

    /// Give the tensor a new shape with the same element count, in place (no allocation
    /// for ranks up to the shape vector's capacity).
    pub fn set_shape(&mut self, shape: &[usize]) -> Result<()> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(KernelError::invalid(
                "tensor",
                format!("cannot give {:?} the shape {:?}", self.shape, shape),
            ));
        }
        self.shape.clear();
        self.shape.extend_from_slice(shape);
        Ok(())
    }

    /// The same data under a new shape with the same element count.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Tensor> {
        Tensor::new(shape, self.data)
    }

    /// The data as a slice of `T`; fails with a dtype error otherwise.
    pub fn as_slice<T: HostElem>(&self) -> Result<&[T]> {
        T::view(&self.data).map(|v| v.as_slice()).ok_or_else(|| {
            KernelError::invalid("tensor", format!("expected dtype {}, found {}", T::DTYPE, self.dtype()))
        })
    }

    /// The data as a mutable slice of `T`.
    pub fn as_mut_slice<T: HostElem>(&mut self) -> Result<&mut [T]> {
        let dt = self.dtype();
        T::view_mut(&mut self.data)
            .map(|v| v.as_mut_slice())
            .ok_or_else(|| KernelError::invalid("tensor", format!("expected dtype {}, found {}", T::DTYPE, dt)))
    }

    /// Take the data as a `Vec<T>`.
    pub fn into_vec<T: HostElem>(self) -> Result<Vec<T>> {
        T::unwrap_data(self.data)
            .map_err(|d| KernelError::invalid("tensor", format!("expected dtype {}, found {}", T::DTYPE, d.dtype())))
    }

    /// The strings of a string tensor.
    pub fn as_strings(&self) -> Result<&[String]> {
        match &self.data {
            TensorData::Str(v) => Ok(v),
            d => Err(KernelError::invalid(
                "tensor",
                format!("expected dtype str, found {}", d.dtype()),
            )),
        }
    }

    /// Every element converted to f64 (bools as 0/1; strings fail).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        match_data!(&self.data, v => Ok(v.iter().map(|x| x.to_f64()).collect()),
            str => Err(KernelError::invalid("tensor", "cannot read a string tensor as numbers")))
    }

    /// Every element converted to f32.
    pub fn to_f32_vec(&self) -> Result<Vec<f32>> {
        if let TensorData::F32(v) = &self.data {
            return Ok(v.clone());
        }
        Ok(self.to_f64_vec()?.into_iter().map(|x| x as f32).collect())
    }

    /// Every element converted to i64 (floats truncate). Used for shape/axes/index inputs.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        match_data!(&self.data, v => Ok(v.iter().map(|x| x.to_i64()).collect()),
            str => Err(KernelError::invalid("tensor", "cannot read a string tensor as integers")))
    }

    /// The single element of a one-element tensor as f64.
    pub fn scalar_f64(&self) -> Result<f64> {
        if self.len() != 1 {
            return Err(KernelError::invalid(
                "tensor",
                format!("expected one element, found shape {:?}", self.shape),
            ));
        }
        Ok(self.to_f64_vec()?[0])
    }

    /// The single element of a one-element tensor as i64.
    pub fn scalar_i64(&self) -> Result<i64> {
        if self.len() != 1 {
            return Err(KernelError::invalid(
                "tensor",
                format!("expected one element, found shape {:?}", self.shape),
            ));
        }
        Ok(self.to_i64_vec()?[0])
    }

    /// Row-major strides in elements.
    pub fn strides(&self) -> Vec<usize> {
        crate::shape::strides(&self.shape)
    }

    /// A view as an ndarray `ArrayViewD<T>`.
    pub fn view<T: HostElem>(&self) -> Result<ndarray::ArrayViewD<'_, T>> {
        let s = self.as_slice::<T>()?;
        ndarray::ArrayViewD::from_shape(self.shape.clone(), s)
            .map_err(|e| KernelError::invalid("tensor", e.to_string()))
    }

    /// Little-endian raw bytes of a numeric tensor (bools as 0/1 bytes).
    pub fn to_le_bytes(&self) -> Result<Vec<u8>> {
        fn bytes<T: bytemuck::Pod>(v: &[T]) -> Vec<u8> {
            bytemuck::cast_slice(v).to_vec()
        }
        Ok(match &self.data {
            TensorData::F32(v) => bytes(v),
            TensorData::F16(v) => bytes(v),
            TensorData::BF16(v) => bytes(v),
            TensorData::F64(v) => bytes(v),
            TensorData::I8(v) => bytes(v),
            TensorData::U8(v) => v.clone(),
            TensorData::I16(v) => bytes(v),
            TensorData::U16(v) => bytes(v),
            TensorData::I32(v) => bytes(v),
            TensorData::U32(v) => bytes(v),
            TensorData::I64(v) => bytes(v),
            TensorData::U64(v) => bytes(v),
            TensorData::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            TensorData::Str(_) => return Err(KernelError::invalid("tensor", "string tensors have no raw byte form")),
        })
    }

    /// A tensor from little-endian raw bytes.
    pub fn from_le_bytes(dtype: DType, shape: Vec<usize>, bytes: &[u8]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if dtype == DType::Str {
            return Err(KernelError::invalid("tensor", "string tensors have no raw byte form"));
        }
        if bytes.len() != n * dtype.size() {
            return Err(KernelError::invalid(
                "tensor",
                format!(
                    "{} bytes do not hold {} elements of {} (shape {:?})",
                    bytes.len(),
                    n,
                    dtype,
                    shape
                ),
            ));
        }
        fn read<T: bytemuck::Pod>(b: &[u8]) -> Vec<T> {
            // pod_collect_to_vec copies, so unaligned input is fine.
            bytemuck::pod_collect_to_vec(b)
        }
        let data = match dtype {
            DType::F32 => TensorData::F32(read(bytes)),
            DType::F16 => TensorData::F16(read(bytes)),
            DType::BF16 => TensorData::BF16(read(bytes)),
            DType::F64 => TensorData::F64(read(bytes)),
            DType::I8 => TensorData::I8(read(bytes)),
            DType::U8 => TensorData::U8(bytes.to_vec()),
            DType::I16 => TensorData::I16(read(bytes)),
            DType::U16 => TensorData::U16(read(bytes)),
            DType::I32 => TensorData::I32(read(bytes)),
            DType::U32 => TensorData::U32(read(bytes)),
            DType::I64 => TensorData::I64(read(bytes)),
            DType::U64 => TensorData::U64(read(bytes)),
            DType::Bool => TensorData::Bool(bytes.iter().map(|&b| b != 0).collect()),
            DType::Str => unreachable!("rejected above"),
        };
        Tensor::new(shape, data)
    }

    /// Convert every element to `to` (ONNX Cast semantics for numeric types: float→int
    /// truncates toward zero, int→narrower int wraps, →bool is `!= 0`; strings parse/print).
    pub fn cast(&self, to: DType) -> Result<Tensor> {
        if self.dtype() == to {
            return Ok(crate::buffers::clone_tensor(self));
        }
        let data = crate::cast::cast_data(&self.data, to)?;
        Tensor::new(crate::buffers::dims(&self.shape), data)
    }
}

impl<T: HostElem> From<ndarray::ArrayD<T>> for Tensor {
    fn from(a: ndarray::ArrayD<T>) -> Tensor {
        let shape = a.shape().to_vec();
        let v: Vec<T> = if a.is_standard_layout() {
            a.into_raw_vec_and_offset().0
        } else {
            a.iter().copied().collect()
        };
        Tensor {
            shape,
            data: T::wrap(v),
        }
    }
}

impl Tensor {
    /// Convert into an ndarray `ArrayD<T>`; fails if the dtype is not `T`.
    pub fn into_ndarray<T: HostElem>(self) -> Result<ndarray::ArrayD<T>> {
        let shape = self.shape.clone();
        let v = self.into_vec::<T>()?;
        ndarray::ArrayD::from_shape_vec(shape, v).map_err(|e| KernelError::invalid("tensor", e.to_string()))
    }
}

/// A cheaply clonable, shared host tensor.
pub type SharedTensor = Arc<Tensor>;
