//! The numeric element types the server converts JSON numbers to and from.

use std::fmt;

/// Element types supported for model input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    F32,
    F64,
    I32,
    I64,
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElementType::F32 => "float32",
            ElementType::F64 => "float64",
            ElementType::I32 => "int32",
            ElementType::I64 => "int64",
        })
    }
}

/// Input values in the model's element type, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum InputBuffer {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl InputBuffer {
    pub fn len(&self) -> usize {
        match self {
            InputBuffer::F32(v) => v.len(),
            InputBuffer::F64(v) => v.len(),
            InputBuffer::I32(v) => v.len(),
            InputBuffer::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Output values as the model produced them, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputBuffer {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// Conversion of one JSON number into an element type; `None` means it does not fit.
pub trait Element: Copy {
    const TYPE: ElementType;
    fn from_f64(value: f64) -> Option<Self>;
    fn from_i64(value: i64) -> Option<Self>;
    fn from_u64(value: u64) -> Option<Self>;
    fn wrap(values: Vec<Self>) -> InputBuffer;
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
    fn wrap(values: Vec<Self>) -> InputBuffer {
        InputBuffer::F64(values)
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
    fn wrap(values: Vec<Self>) -> InputBuffer {
        InputBuffer::F32(values)
    }
}

macro_rules! integer_element {
    ($ty:ty, $variant:ident) => {
        impl Element for $ty {
            const TYPE: ElementType = ElementType::$variant;
            fn from_f64(value: f64) -> Option<Self> {
                // Only whole numbers in range: 1.0 is accepted for an integer model, 1.5 is not.
                let in_range = value >= <$ty>::MIN as f64 && value <= <$ty>::MAX as f64;
                (value.fract() == 0.0 && in_range).then_some(value as $ty)
            }
            fn from_i64(value: i64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
            fn from_u64(value: u64) -> Option<Self> {
                <$ty>::try_from(value).ok()
            }
            fn wrap(values: Vec<Self>) -> InputBuffer {
                InputBuffer::$variant(values)
            }
        }
    };
}

integer_element!(i32, I32);
integer_element!(i64, I64);
