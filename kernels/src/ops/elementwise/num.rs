//! Private numeric traits the elementwise kernels are generic over: `Real` (f32, f64) and
//! `Int` (the eight integer types). Half-precision floats are computed through f32.

use crate::tensor::HostElem;
use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Sub};

/// A native float type (f32 or f64) with the maths the kernels need.
pub(super) trait Real:
    HostElem
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
    + Neg<Output = Self>
{
    /// A constant converted from f64.
    fn c(v: f64) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// Natural log.
    fn ln(self) -> Self;
    /// ln(1 + x).
    fn ln_1p(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Arc sine.
    fn asin(self) -> Self;
    /// Arc cosine.
    fn acos(self) -> Self;
    /// Arc tangent.
    fn atan(self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Inverse hyperbolic sine.
    fn asinh(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn acosh(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn atanh(self) -> Self;
    /// Round up.
    fn ceil(self) -> Self;
    /// Round down.
    fn floor(self) -> Self;
    /// Round half to even.
    fn round_even(self) -> Self;
    /// Error function.
    fn erf(self) -> Self;
    /// x^y.
    fn powf(self, y: Self) -> Self;
    /// NaN test.
    fn is_nan(self) -> bool;
}

macro_rules! impl_real {
    ($t:ty, $erf:path) => {
        impl Real for $t {
            #[inline]
            fn c(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline]
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            #[inline]
            fn asin(self) -> Self {
                <$t>::asin(self)
            }
            #[inline]
            fn acos(self) -> Self {
                <$t>::acos(self)
            }
            #[inline]
            fn atan(self) -> Self {
                <$t>::atan(self)
            }
            #[inline]
            fn sinh(self) -> Self {
                <$t>::sinh(self)
            }
            #[inline]
            fn cosh(self) -> Self {
                <$t>::cosh(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline]
            fn asinh(self) -> Self {
                <$t>::asinh(self)
            }
            #[inline]
            fn acosh(self) -> Self {
                <$t>::acosh(self)
            }
            #[inline]
            fn atanh(self) -> Self {
                <$t>::atanh(self)
            }
            #[inline]
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            #[inline]
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            #[inline]
            fn round_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            #[inline]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline]
            fn powf(self, y: Self) -> Self {
                <$t>::powf(self, y)
            }
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
impl_real!(f32, libm::erff);
impl_real!(f64, libm::erf);

/// An integer element type with wrapping arithmetic and bit operations.
pub(super) trait Int:
    HostElem + Ord + BitAnd<Output = Self> + BitOr<Output = Self> + BitXor<Output = Self> + Not<Output = Self>
{
    /// Wrapping a + b.
    fn wadd(self, b: Self) -> Self;
    /// Wrapping a - b.
    fn wsub(self, b: Self) -> Self;
    /// Wrapping a * b.
    fn wmul(self, b: Self) -> Self;
    /// Division truncating toward zero; 0 when dividing by zero.
    fn tdiv(self, b: Self) -> Self;
    /// Remainder with the dividend's sign (C `%`); 0 when dividing by zero.
    fn trem(self, b: Self) -> Self;
    /// Wrapping negation.
    fn wneg(self) -> Self;
    /// Wrapping absolute value (identity for unsigned).
    fn wabs(self) -> Self;
    /// -1, 0 or 1.
    fn sign(self) -> Self;
    /// Shift left by `n` bits (0 when `n` is at least the width).
    fn shl(self, n: u64) -> Self;
    /// Logical/arithmetic shift right by `n` bits (0 when `n` is at least the width).
    fn shr(self, n: u64) -> Self;
    /// Wrapping integer power with a non-negative exponent.
    fn wpow(self, e: u64) -> Self;
}

macro_rules! impl_int {
    ($t:ty) => {
        impl Int for $t {
            #[inline]
            fn wadd(self, b: Self) -> Self {
                self.wrapping_add(b)
            }
            #[inline]
            fn wsub(self, b: Self) -> Self {
                self.wrapping_sub(b)
            }
            #[inline]
            fn wmul(self, b: Self) -> Self {
                self.wrapping_mul(b)
            }
            #[inline]
            fn tdiv(self, b: Self) -> Self {
                if b == 0 {
                    0
                } else {
                    self.wrapping_div(b)
                }
            }
            #[inline]
            fn trem(self, b: Self) -> Self {
                if b == 0 {
                    0
                } else {
                    self.wrapping_rem(b)
                }
            }
            #[inline]
            fn wneg(self) -> Self {
                self.wrapping_neg()
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn wabs(self) -> Self {
                if self < 0 {
                    self.wrapping_neg()
                } else {
                    self
                }
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn sign(self) -> Self {
                if self > 0 {
                    1
                } else if self < 0 {
                    (0 as $t).wrapping_sub(1)
                } else {
                    0
                }
            }
            #[inline]
            fn shl(self, n: u64) -> Self {
                if n >= <$t>::BITS as u64 {
                    0
                } else {
                    self << n
                }
            }
            #[inline]
            fn shr(self, n: u64) -> Self {
                if n >= <$t>::BITS as u64 {
                    0
                } else {
                    self >> n
                }
            }
            #[inline]
            fn wpow(self, e: u64) -> Self {
                let (mut base, mut e, mut acc) = (self, e, 1 as $t);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
        }
    };
}
impl_int!(i8);
impl_int!(u8);
impl_int!(i16);
impl_int!(u16);
impl_int!(i32);
impl_int!(u32);
impl_int!(i64);
impl_int!(u64);

/// Call `$f::<T>(args...)` with `T` the integer type of a runtime dtype; other dtypes
/// evaluate `$other`.
macro_rules! dispatch_int {
    ($dt:expr, $f:ident ( $($arg:expr),* ), other => $other:expr) => {
        match $dt {
            $crate::DType::I8 => $f::<i8>($($arg),*),
            $crate::DType::U8 => $f::<u8>($($arg),*),
            $crate::DType::I16 => $f::<i16>($($arg),*),
            $crate::DType::U16 => $f::<u16>($($arg),*),
            $crate::DType::I32 => $f::<i32>($($arg),*),
            $crate::DType::U32 => $f::<u32>($($arg),*),
            $crate::DType::I64 => $f::<i64>($($arg),*),
            $crate::DType::U64 => $f::<u64>($($arg),*),
            _ => $other,
        }
    };
}
pub(super) use dispatch_int;
