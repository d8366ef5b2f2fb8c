//! The API's settings, as `config` builds them: body limits, the in-flight memory budget, the
//! default scoring method and the access log.

use clap::ValueEnum;

use super::{AccessLogSettings, BodyLimits, CorsOrigins};

/// Everything the HTTP layer is configured with, one value per concern.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub body: BodyLimits,
    pub inflight: InflightLimit,
    /// What `/score` answers when the request does not say.
    pub score_method: ScoreMethod,
    pub access_log: AccessLogSettings,
    /// The origins browsers may call from (`AML_CORS_ORIGINS`); `None`: no CORS headers at all.
    pub cors: Option<CorsOrigins>,
}

/// What `/score` answers, as scikit-learn names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScoreMethod {
    /// The first output: labels for classifiers, values for regressors.
    #[value(name = "predict")]
    Predict,
    /// A classifier's probabilities, one list per row in class order.
    #[value(name = "predict_proba")]
    PredictProba,
    /// A text model's sentence embeddings: hidden states mean-pooled over the attention mask,
    /// L2-normalized (SPEC 10).
    #[value(name = "embed")]
    Embed,
}

/// The size of the in-flight memory budget (`budget::InflightBudget`), and what chose it (logged
/// at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InflightLimit {
    pub bytes: u64,
    pub chosen_by: String,
}

/// The budget without a container memory limit.
const UNLIMITED_DEFAULT: u64 = 1 << 30;

impl InflightLimit {
    /// Half the container's memory limit (the model, the runtime and answers need the rest), or
    /// 1 GiB without one.
    pub fn default_for(memory_limit: Option<u64>) -> Self {
        match memory_limit {
            Some(limit) => InflightLimit {
                bytes: (limit / 2).max(1 << 20),
                chosen_by: format!("half the container memory limit of {limit} bytes"),
            },
            None => InflightLimit {
                bytes: UNLIMITED_DEFAULT,
                chosen_by: "no container memory limit: 1 GiB".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_half_the_memory_limit_at_least_1_mib_or_1_gib_without_one() {
        assert_eq!(InflightLimit::default_for(Some(4 << 30)).bytes, 2 << 30);
        assert_eq!(InflightLimit::default_for(None).bytes, 1 << 30);
        // A limit too small to halve usefully still leaves 1 MiB.
        assert_eq!(InflightLimit::default_for(Some(1000)).bytes, 1 << 20);
    }
}
