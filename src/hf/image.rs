//! Image models exported with Hugging Face's tools: with `preprocessor_config.json` beside the
//! `.onnx` and a `[N, 3, H, W]` (or NHWC) float input, the model is wrapped in a predictor whose
//! one input is a STRING `image` (base64, or raw bytes from the V2 binary extension), so every
//! request form reads it unchanged; its `predict` decodes and preprocesses each item on the
//! scoring thread, one at a time, then runs the ONNX model on the tensor.

mod config;
mod decode;
mod header;
mod pillow;
mod pixels;
mod predictor;
mod raw;

use std::{path::Path, sync::Arc};

use super::{config::ModelConfig, FileError};

pub use config::{Fault, ImageConfig, Resample, Resize};
pub use decode::{decode_rgb, image_bytes, ImageError, Rgb};
pub use header::{read_header, Header};
pub use pixels::{resized_size, to_tensor, Layout};
pub use raw::{images_from_raw, takes_images};

use crate::model::{ElementType, ModelSpec, Predictor, TensorSpec};

/// The file that turns image preprocessing on.
pub const PREPROCESSOR_FILE: &str = "preprocessor_config.json";

/// The name of the request-facing input: AutoML's image column.
pub const IMAGE_INPUT: &str = "image";

/// The default of `--max-image-pixels`.
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// An image model behind its preprocessing.
pub struct ImageModel {
    inner: Arc<dyn Predictor>,
    spec: ModelSpec,
    config: ImageConfig,
    layout: Layout,
    /// `(height, width)` of the tensor each image becomes.
    size: (u32, u32),
    max_pixels: u64,
    /// `config.json`'s labels, when they name the first output's values.
    labels: Option<ModelConfig>,
}

impl ImageModel {
    /// Wraps `inner` when `folder` holds `preprocessor_config.json` and the model takes one image
    /// input; `Ok(None)` when the file is absent. A malformed file, or one that does not fit the
    /// model, is an error naming the file and the field.
    pub fn wrap(
        folder: &Path,
        inner: Arc<dyn Predictor>,
        max_pixels: u64,
    ) -> Result<Option<Self>, FileError> {
        let Some(config) = ImageConfig::read(folder)? else {
            return Ok(None);
        };
        let path = folder.join(PREPROCESSOR_FILE);
        // What does not fit the model: the model's input, or the size the steps end at.
        let fail = |field: &str, reason: String| FileError::new(&path, field, reason);
        let input = match inner.spec().inputs.as_slice() {
            [input] if input.is_image() && input.element == ElementType::F32 => input.clone(),
            _ => {
                return Err(fail(
                    "(file)",
                    format!(
                    "image preprocessing needs a model of one float32 input [N, 3, H, W] or [N, H, W, 3]; \
                     this model takes {}",
                    describe_inputs(inner.spec())
                ),
                ))
            }
        };
        let layout = match (input.shape[1], input.shape[3]) {
            (Some(3), _) => Layout::ChannelsFirst,
            (_, Some(3)) => Layout::ChannelsLast,
            _ => {
                return Err(fail(
                    "(file)",
                    format!(
                        "the model's input {:?} is {}: neither [N, 3, H, W] nor [N, H, W, 3]",
                        input.name,
                        input.shape_text()
                    ),
                ))
            }
        };
        let (h, w) = match layout {
            Layout::ChannelsFirst => (input.shape[2], input.shape[3]),
            Layout::ChannelsLast => (input.shape[1], input.shape[2]),
        };
        let size = match (config.output_size(), h, w) {
            (Some((ch, cw)), Some(mh), Some(mw)) if (ch as usize, cw as usize) != (mh, mw) => {
                let field = if config.crop.is_some() {
                    "crop_size"
                } else {
                    "size"
                };
                return Err(fail(
                    field,
                    format!(
                        "the steps give {ch}x{cw} images, the model's input {:?} takes {mh}x{mw} ({})",
                        input.name,
                        input.shape_text()
                    ),
                ));
            }
            (Some(size), _, _) => size,
            (None, Some(mh), Some(mw)) => (mh as u32, mw as u32),
            (None, _, _) => {
                return Err(fail(
                    "size",
                    "is a shortest edge and nothing crops (do_center_crop), so images would have \
                     different sizes, and the model's input does not fix one"
                        .to_owned(),
                ))
            }
        };
        let labels =
            ModelConfig::read(folder)?.filter(|config| spec_labels_fit(inner.spec(), config.labels.len()));
        let mut spec = inner.spec().clone();
        spec.inputs = vec![TensorSpec::matrix(IMAGE_INPUT, ElementType::String, 1, true)];
        Ok(Some(ImageModel {
            inner,
            spec,
            config,
            layout,
            size,
            max_pixels,
            labels,
        }))
    }

    /// For the start line: what the steps are.
    pub fn describe(&self) -> String {
        format!(
            "images ({}): resize {:?} ({:?}), crop {:?}, rescale {:?}, normalize {}, to {}x{} {}",
            PREPROCESSOR_FILE,
            self.config.resize,
            self.config.resample,
            self.config.crop,
            self.config.rescale,
            self.config.normalize.is_some(),
            self.size.0,
            self.size.1,
            match self.layout {
                Layout::ChannelsFirst => "channels first",
                Layout::ChannelsLast => "channels last",
            }
        )
    }

    /// The model's tensor for `items`, each decoded (from base64 once, its header read once)
    /// and preprocessed in turn.
    pub fn tensor(&self, items: &[String]) -> Result<Vec<f32>, (usize, ImageError)> {
        let mut out = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let image = image_bytes(item.as_bytes())
                .and_then(|bytes| {
                    // The resize's size from the header (EXIF rotation keeps its pixel count).
                    decode::decode_rgb_checked(&bytes, self.max_pixels, |width, height| {
                        self.check_resized(width, height).map(drop)
                    })
                })
                .map_err(|e| (index, e))?;
            to_tensor(image, &self.config, self.size, self.layout, &mut out).map_err(|e| (index, e))?;
        }
        Ok(out)
    }

    /// The bytes resizing an image of `width` x `height` allocates: the resized copy, the
    /// horizontal pass's rows and the weight tables. Refused when the resized image passes the
    /// pixel limit (a thin image resized by its shortest edge grows along the other), or the
    /// working buffers pass what an image at the limit would need (3 bytes a pixel of rows, 4 of
    /// weights): a 1 x 40,000,000 image passes the limit, but its rows at 224 wide are 26.9 GB.
    fn check_resized(&self, width: u32, height: u32) -> Result<u64, ImageError> {
        let Some(resize) = self.config.resize else {
            return Ok(0);
        };
        let (resized_height, resized_width) = resized_size(resize, height, width);
        let pixels = resized_width.saturating_mul(resized_height);
        let too_large = ImageError::ResizedTooLarge {
            width,
            height,
            resized_width,
            resized_height,
            limit: self.max_pixels,
        };
        let (Ok(out_width), Ok(out_height)) = (u32::try_from(resized_width), u32::try_from(resized_height))
        else {
            return Err(too_large);
        };
        if pixels > self.max_pixels {
            return Err(too_large);
        }
        // EXIF rotation may swap the sides before resizing: charge the dearer order.
        let work = [(width, height), (height, width)]
            .into_iter()
            .map(|(w, h)| {
                let (rh, rw) = resized_size(resize, h, w);
                let (rh, rw) = (
                    u32::try_from(rh).unwrap_or(out_height),
                    u32::try_from(rw).unwrap_or(out_width),
                );
                pillow::work_bytes(w, h, rw, rh, self.config.resample)
            })
            .fold(pillow::WorkBytes { rows: 0, tables: 0 }, |a, b| {
                pillow::WorkBytes {
                    rows: a.rows.max(b.rows),
                    tables: a.tables.max(b.tables),
                }
            });
        let (rows_limit, tables_limit) = (
            self.max_pixels.saturating_mul(3),
            self.max_pixels.saturating_mul(4),
        );
        if work.rows > rows_limit || work.tables > tables_limit {
            return Err(ImageError::ResizeTooCostly {
                width,
                height,
                resized_width: out_width,
                resized_height: out_height,
                bytes: work.rows.saturating_add(work.tables),
                limit: rows_limit.saturating_add(tables_limit),
            });
        }
        Ok(pixels
            .saturating_mul(3)
            .saturating_add(work.rows)
            .saturating_add(work.tables))
    }

    fn item_shape(&self) -> Vec<usize> {
        let (h, w) = (self.size.0 as usize, self.size.1 as usize);
        match self.layout {
            Layout::ChannelsFirst => vec![3, h, w],
            Layout::ChannelsLast => vec![h, w, 3],
        }
    }
}

/// Whether the first output is `[N, labels]` floats, one score per label.
fn spec_labels_fit(spec: &ModelSpec, labels: usize) -> bool {
    spec.outputs
        .first()
        .is_some_and(|o| o.element == ElementType::F32 && o.width == Some(labels) && !o.rank1)
}

fn describe_inputs(spec: &ModelSpec) -> String {
    let inputs: Vec<String> = spec
        .inputs
        .iter()
        .map(|i| format!("{} {} {}", i.name, i.element, i.shape_text()))
        .collect();
    inputs.join(", ")
}

#[cfg(test)]
mod fixture_tests;
