//! The data-collection hook of the scorer: a codec wrapper that hands a sampled request's batch
//! (after `decode`) and its answered outputs (before `encode`) to a `Collect` sink. Every
//! transport gets it through `Scorer::score_as` with the request's id; the sink (the `collect`
//! part) only copies and enqueues here, and encodes off the request's path.

use std::sync::Arc;

use super::Codec;
use crate::model::{Batch, ModelSpec, Predictions, Predictor};

/// What an answer holds, for data collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// These outputs (indices into the model's outputs), each under its own name.
    Outputs(Vec<usize>),
    /// A classifier's probabilities (this output), one column per class.
    Probabilities(usize),
}

impl Answered {
    /// Every output of `spec`, as V2 answers by default.
    pub fn all(spec: &ModelSpec) -> Self {
        Answered::Outputs((0..spec.outputs.len()).collect())
    }
}

/// Which collections one request goes to: one draw per request, so that its inputs and outputs
/// are both collected whenever both rates let them (and join by the request id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Draw {
    pub inputs: bool,
    pub outputs: bool,
}

/// Where sampled requests go. Both calls run on the request's path: they copy what they need
/// and enqueue it without waiting, never failing the request.
pub trait Collect: Send + Sync + 'static {
    /// Samples one request.
    fn draw(&self) -> Draw;
    /// The request's decoded inputs; `features` names a matrix input's features when the
    /// request did (asked only when a copy is made: it may read the body again);
    /// `outputs_follow` when its outputs are collected too.
    fn inputs(
        &self,
        request_id: &Arc<str>,
        batch: &Batch,
        spec: &ModelSpec,
        features: &dyn Fn() -> Option<Vec<String>>,
        outputs_follow: bool,
    );
    /// The model's predictions, of which the request answers `answered` (asked only when a
    /// copy is made): copied now, enqueued by the returned call once the answer is encoded (an
    /// answer that fails is not collected); `None` when they are dropped now (a full queue).
    fn outputs(
        &self,
        request_id: &Arc<str>,
        predictions: &Predictions,
        answered: &dyn Fn() -> Answered,
        model: &dyn Predictor,
    ) -> Option<Enqueue>;
}

/// Enqueues a copy made earlier.
pub type Enqueue = Box<dyn FnOnce() + Send>;

/// A codec whose request is collected as `draw` says.
pub(super) struct Collecting<C> {
    pub codec: C,
    pub sink: Arc<dyn Collect>,
    /// Shared by the request's two captures.
    pub request_id: Arc<str>,
    pub draw: Draw,
}

impl<C: Codec> Codec for Collecting<C> {
    type Answer = C::Answer;
    type Error = C::Error;

    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, C::Error> {
        let batch = self.codec.decode(body, model)?;
        if self.draw.inputs {
            let features = || self.codec.feature_names(body, model);
            self.sink.inputs(
                &self.request_id,
                &batch,
                model.spec(),
                &features,
                self.draw.outputs,
            );
        }
        Ok(batch)
    }

    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<C::Answer, C::Error> {
        let enqueue = self.draw.outputs.then(|| {
            let answered = || self.codec.answered(model);
            self.sink
                .outputs(&self.request_id, &predictions, &answered, model)
        });
        let enqueue = enqueue.flatten();
        let answer = self.codec.encode(predictions, model)?;
        if let Some(enqueue) = enqueue {
            enqueue();
        }
        Ok(answer)
    }

    fn answered(&self, model: &dyn Predictor) -> Answered {
        self.codec.answered(model)
    }

    fn feature_names(&self, body: &[u8], model: &dyn Predictor) -> Option<Vec<String>> {
        self.codec.feature_names(body, model)
    }
}
