//! A request too large for one of our operators: its limit, named, is the client's to read.

/// An operator's refusal of a request past one of its named limits (`MAX_OUTPUT_CELLS`,
/// `MAX_TOKEN_CELLS`). The message holds sizes and the limit, never values, so the edge answers
/// it as it is (a 400) instead of the generic refusal.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RequestLimit(pub String);
