//! The element types of model inputs and outputs, and the conversion of JSON numbers to the
//! numeric ones.

use std::fmt;

use tract_onnx::prelude::f16;

/// Element types supported for model input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    F32,
    F64,
    /// Half precision: float32 at the JSON edges, rounded to the nearest half on the way in.
    F16,
    I8,
    U8,
    I16,
    I32,
    I64,
    Bool,
    String,
}

impl ElementType {
    /// Whether JSON numbers are this type's values.
    pub fn is_numeric(self) -> bool {
        !matches!(self, ElementType::Bool | ElementType::String)
    }

    /// Whether the tabular parsers (rows, records, columns; the byte scanner) read this type.
    pub fn is_tabular(self) -> bool {
        !matches!(
            self,
            ElementType::F16 | ElementType::I8 | ElementType::U8 | ElementType::I16
        )
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElementType::F32 => "float32",
            ElementType::F64 => "float64",
            ElementType::F16 => "float16",
            ElementType::I8 => "int8",
            ElementType::U8 => "uint8",
            ElementType::I16 => "int16",
            ElementType::I32 => "int32",
            ElementType::I64 => "int64",
            ElementType::Bool => "bool",
            ElementType::String => "string",
        })
    }
}

/// Values of one tensor in its element type, row-major: a model input, or an output as the model
/// produced it.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    F16(Vec<f16>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    String(Vec<String>),
}

/// Applies `$body` to the vector inside any `Values`, bound as `$v`.
macro_rules! each_values {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            Values::F32($v) => $body,
            Values::F64($v) => $body,
            Values::F16($v) => $body,
            Values::I8($v) => $body,
            Values::U8($v) => $body,
            Values::I16($v) => $body,
            Values::I32($v) => $body,
            Values::I64($v) => $body,
            Values::Bool($v) => $body,
            Values::String($v) => $body,
        }
    };
}

impl Values {
    pub fn len(&self) -> usize {
        each_values!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The memory the values hold (a string's text included).
    pub fn bytes(&self) -> usize {
        let text = match self {
            Values::String(v) => v.iter().map(String::capacity).sum(),
            _ => 0,
        };
        each_values!(self, v => std::mem::size_of_val(v.as_slice())) + text
    }

    pub fn element(&self) -> ElementType {
        match self {
            Values::F32(_) => ElementType::F32,
            Values::F64(_) => ElementType::F64,
            Values::F16(_) => ElementType::F16,
            Values::I8(_) => ElementType::I8,
            Values::U8(_) => ElementType::U8,
            Values::I16(_) => ElementType::I16,
            Values::I32(_) => ElementType::I32,
            Values::I64(_) => ElementType::I64,
            Values::Bool(_) => ElementType::Bool,
            Values::String(_) => ElementType::String,
        }
    }

    /// An empty buffer of `element`, with room for `capacity` values.
    pub fn with_capacity(element: ElementType, capacity: usize) -> Self {
        match element {
            ElementType::F32 => Values::F32(Vec::with_capacity(capacity)),
            ElementType::F64 => Values::F64(Vec::with_capacity(capacity)),
            ElementType::F16 => Values::F16(Vec::with_capacity(capacity)),
            ElementType::I8 => Values::I8(Vec::with_capacity(capacity)),
            ElementType::U8 => Values::U8(Vec::with_capacity(capacity)),
            ElementType::I16 => Values::I16(Vec::with_capacity(capacity)),
            ElementType::I32 => Values::I32(Vec::with_capacity(capacity)),
            ElementType::I64 => Values::I64(Vec::with_capacity(capacity)),
            ElementType::Bool => Values::Bool(Vec::with_capacity(capacity)),
            ElementType::String => Values::String(Vec::with_capacity(capacity)),
        }
    }

    /// Appends `more`, which holds the same element type (both come from one model's tensor).
    pub fn append(&mut self, more: Values) {
        match (self, more) {
            (Values::F32(a), Values::F32(b)) => a.extend(b),
            (Values::F64(a), Values::F64(b)) => a.extend(b),
            (Values::F16(a), Values::F16(b)) => a.extend(b),
            (Values::I8(a), Values::I8(b)) => a.extend(b),
            (Values::U8(a), Values::U8(b)) => a.extend(b),
            (Values::I16(a), Values::I16(b)) => a.extend(b),
            (Values::I32(a), Values::I32(b)) => a.extend(b),
            (Values::I64(a), Values::I64(b)) => a.extend(b),
            (Values::Bool(a), Values::Bool(b)) => a.extend(b),
            (Values::String(a), Values::String(b)) => a.extend(b),
            _ => unreachable!("values of one tensor share its element type"),
        }
    }

    /// A copy of the values `range` (one item of a batch).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Values {
        each_values!(self, v => Values::from(v[range].to_vec()))
    }

    /// Splits off the first `count` values.
    pub fn take_front(&mut self, count: usize) -> Values {
        each_values!(self, v => {
            let rest = v.split_off(count.min(v.len()));
            Values::from(std::mem::replace(v, rest))
        })
    }
}

macro_rules! values_from {
    ($($ty:ty => $variant:ident),*) => {$(
        impl From<Vec<$ty>> for Values {
            fn from(values: Vec<$ty>) -> Self {
                Values::$variant(values)
            }
        }
    )*};
}
values_from!(
    f32 => F32, f64 => F64, f16 => F16, i8 => I8, u8 => U8, i16 => I16, i32 => I32, i64 => I64,
    bool => Bool, String => String
);

/// Conversion of one JSON number into an element type; `None` means it does not fit.
pub trait Element: Copy {
    const TYPE: ElementType;
    fn from_f64(value: f64) -> Option<Self>;
    fn from_i64(value: i64) -> Option<Self>;
    fn from_u64(value: u64) -> Option<Self>;
    fn wrap(values: Vec<Self>) -> Values;
    /// A parsed JSON number, kept as the integer or float serde_json read it (so that every
    /// parser converts the same text to the same bits).
    fn from_json(number: &serde_json::Number) -> Option<Self> {
        if let Some(i) = number.as_i64() {
            Self::from_i64(i)
        } else if let Some(u) = number.as_u64() {
            Self::from_u64(u)
        } else {
            Self::from_f64(number.as_f64()?)
        }
    }
}

impl Element for f64 {
    const TYPE: ElementType = ElementType::F64;
    fn from_f64(value: f64) -> Option<Self> {
        value.is_finite().then_some(value)
    }
    fn from_i64(value: i64) -> Option<Self> {
        Some(value as f64)
    }
    fn from_u64(value: u64) -> Option<Self> {
        Some(value as f64)
    }
    fn wrap(values: Vec<Self>) -> Values {
        Values::F64(values)
    }
}

impl Element for f32 {
    const TYPE: ElementType = ElementType::F32;
    fn from_f64(value: f64) -> Option<Self> {
        // Rounding to the nearest float32 is expected; overflowing to infinity is not.
        let narrowed = value as f32;
        narrowed.is_finite().then_some(narrowed)
    }
    fn from_i64(value: i64) -> Option<Self> {
        Some(value as f32)
    }
    fn from_u64(value: u64) -> Option<Self> {
        Some(value as f32)
    }
    fn wrap(values: Vec<Self>) -> Values {
        Values::F32(values)
    }
}

impl Element for f16 {
    const TYPE: ElementType = ElementType::F16;
    fn from_f64(value: f64) -> Option<Self> {
        // As for float32: rounding is expected, overflowing (past 65504) to infinity is not.
        let narrowed = f16::from_f64(value);
        narrowed.is_finite().then_some(narrowed)
    }
    fn from_i64(value: i64) -> Option<Self> {
        <Self as Element>::from_f64(value as f64)
    }
    fn from_u64(value: u64) -> Option<Self> {
        <Self as Element>::from_f64(value as f64)
    }
    fn wrap(values: Vec<Self>) -> Values {
        Values::F16(values)
    }
}

macro_rules! integer_element {
    ($ty:ty, $variant:ident) => {
        impl Element for $ty {
            const TYPE: ElementType = ElementType::$variant;
            fn from_f64(value: f64) -> Option<Self> {
                // Only whole numbers in range: 1.0 is accepted for an integer model, 1.5 is not.
                // The upper bound is MAX + 1, exclusive: `i64::MAX as f64` rounds up to 2^63,
                // which an inclusive bound would take (and `as` saturate to MAX).
                let in_range = value >= <$ty>::MIN as f64 && value < <$ty>::MAX as f64 + 1.0;
                (value.fract() == 0.0 && in_range).then_some(value as $ty)
            }
            fn from_i64(value: i64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
            fn from_u64(value: u64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
            fn wrap(values: Vec<Self>) -> Values {
                Values::$variant(values)
            }
        }
    };
}

integer_element!(i8, I8);
integer_element!(u8, U8);
integer_element!(i16, I16);
integer_element!(i32, I32);
integer_element!(i64, I64);
