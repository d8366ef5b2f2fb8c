//! How a node compares a feature with its threshold, and the comparison chosen at compile time
//! so that a forest whose branches share one mode runs a loop without a `match`.

use super::float::Float;

/// How a node compares a feature with its threshold (ONNX `nodes_modes`), or that it is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Mode {
    Leq = 0,
    Lt = 1,
    Gte = 2,
    Gt = 3,
    Eq = 4,
    Neq = 5,
    Leaf = 7,
}

impl Mode {
    /// The opset-3 name (`BRANCH_LEQ`, ..., `LEAF`).
    pub fn parse(name: &str) -> Option<Mode> {
        Some(match name {
            "BRANCH_LEQ" => Mode::Leq,
            "BRANCH_LT" => Mode::Lt,
            "BRANCH_GTE" => Mode::Gte,
            "BRANCH_GT" => Mode::Gt,
            "BRANCH_EQ" => Mode::Eq,
            "BRANCH_NEQ" => Mode::Neq,
            "LEAF" => Mode::Leaf,
            _ => return None,
        })
    }

    /// The opset-5 number of a branch mode (its MEMBER, 6, becomes EQ nodes before this).
    pub fn from_v5(code: i64) -> Option<Mode> {
        Some(match code {
            0 => Mode::Leq,
            1 => Mode::Lt,
            2 => Mode::Gte,
            3 => Mode::Gt,
            4 => Mode::Eq,
            5 => Mode::Neq,
            _ => return None,
        })
    }

    /// Whether `x` takes the true branch against `threshold` (never for a leaf).
    #[inline(always)]
    pub fn holds<T: Float>(self, x: T, threshold: T) -> bool {
        match self {
            Mode::Leq => x <= threshold,
            Mode::Lt => x < threshold,
            Mode::Gte => x >= threshold,
            Mode::Gt => x > threshold,
            Mode::Eq => x == threshold,
            Mode::Neq => x != threshold,
            Mode::Leaf => false,
        }
    }
}

/// A node's comparison, fixed at compile time or read from the node.
pub trait Compare {
    fn holds<T: Float>(mode: Mode, x: T, threshold: T) -> bool;
}

/// Every branch compares with the mode numbered `M`: the `match` folds away.
pub struct Fixed<const M: u8>;

impl<const M: u8> Fixed<M> {
    const MODE: Mode = match M {
        0 => Mode::Leq,
        1 => Mode::Lt,
        2 => Mode::Gte,
        3 => Mode::Gt,
        4 => Mode::Eq,
        5 => Mode::Neq,
        _ => panic!("Fixed takes a branch mode"),
    };
}

impl<const M: u8> Compare for Fixed<M> {
    #[inline(always)]
    fn holds<T: Float>(_: Mode, x: T, threshold: T) -> bool {
        Self::MODE.holds(x, threshold)
    }
}

/// Any mode, read from the node.
pub struct Mixed;

impl Compare for Mixed {
    #[inline(always)]
    fn holds<T: Float>(mode: Mode, x: T, threshold: T) -> bool {
        mode.holds(x, threshold)
    }
}
