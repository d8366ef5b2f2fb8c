//! The image model as a `Predictor`: each item's pixels charged from its header before anything
//! is decoded, then decoded and preprocessed on the scoring thread when it runs.

use super::{decode, read_header, ImageError, ImageModel};
use crate::hf::config::ModelConfig;
use crate::model::{Batch, InputError, ModelSpec, PredictError, Predictions, Predictor, Values};

fn items(batch: &Batch) -> Result<&[String], PredictError> {
    match batch.inputs.as_slice() {
        [Values::String(items)] => Ok(items),
        _ => Err(PredictError::engine(
            "an image model's batch holds one string input",
        )),
    }
}

fn item_error(index: usize, error: &ImageError) -> String {
    format!("image {index} of the request {error}")
}

impl Predictor for ImageModel {
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn labels(&self) -> Option<&ModelConfig> {
        self.labels.as_ref()
    }

    fn predict(&self, batch: Batch) -> Result<Predictions, PredictError> {
        let tensor = self
            .tensor(items(&batch)?)
            .map_err(|(index, e)| PredictError::BadItem(item_error(index, &e)))?;
        let inner = Batch {
            rows: batch.rows,
            inputs: vec![Values::F32(tensor)],
            shapes: vec![self.item_shape()],
        };
        self.inner.predict(inner)
    }

    /// Each image's decoded pixels and its tensor, from its header, before anything is decoded:
    /// a bad or too large item is refused here, naming it.
    fn decoded_bytes(&self, batch: &Batch) -> Result<u64, InputError> {
        let Ok(items) = items(batch) else { return Ok(0) };
        let (h, w) = self.size;
        let tensor = 3 * 4 * u64::from(h) * u64::from(w);
        let mut total = 0u64;
        for (index, item) in items.iter().enumerate() {
            // Only the header is read here (of a base64 item, only as much as it takes): the
            // whole item is decoded once, when it runs.
            let charge = read_header(item.as_bytes()).and_then(|header| {
                let pixels = decode::check_pixels(header.width, header.height, self.max_pixels)?;
                let resized = self.check_resized(header.width, header.height)?;
                // The file's bytes, the decoder's buffer in its own format (twice when EXIF turns
                // it), its RGB copy, the resize's copy and working buffers, and the tensor.
                Ok(header.file + header.decoded + pixels * 3 + resized + tensor)
            });
            total += charge.map_err(|e| InputError::BadItem(item_error(index, &e)))?;
        }
        Ok(total)
    }
}
