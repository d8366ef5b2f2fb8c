//! `preprocessor_config.json` of a Hugging Face image processor, read with bounds into the steps
//! the `transformers` slow (Pillow) processors take: resize, center crop, rescale, normalize.

use std::path::Path;

use serde_json::{Map, Value};

use crate::hf::{read_optional, FileError};

/// An image side larger than this in a configuration is a mistake, not a model.
const MAX_SIDE: u64 = 8192;

/// Image processors whose integer `size` means the shortest edge (transformers calls their
/// `get_size_dict` with `default_to_square=False`); other processors read it as a square.
const SHORTEST_EDGE_PROCESSORS: &[&str] = &[
    "CLIPImageProcessor",
    "ConvNextImageProcessor",
    "BitImageProcessor",
    "MobileNetV1ImageProcessor",
    "MobileNetV2ImageProcessor",
    "ChineseCLIPImageProcessor",
];

/// Pillow's resampling filters, by the codes `resample` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    Nearest,
    Lanczos,
    Bilinear,
    Bicubic,
    Box,
    Hamming,
}

/// How an image is resized before cropping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resize {
    /// To exactly this height and width.
    Exact { height: u32, width: u32 },
    /// The shortest edge to this length, the other edge in proportion (truncated, as
    /// transformers computes it).
    ShortestEdge(u32),
}

/// Every step, as the file configures it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    pub resize: Option<Resize>,
    pub resample: Resample,
    /// `(height, width)` of the center crop.
    pub crop: Option<(u32, u32)>,
    pub rescale: Option<f32>,
    pub normalize: Option<([f32; 3], [f32; 3])>,
}

/// A field that cannot be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub field: String,
    pub reason: String,
}

fn fault(field: impl Into<String>, reason: impl Into<String>) -> Fault {
    Fault {
        field: field.into(),
        reason: reason.into(),
    }
}

impl ImageConfig {
    /// Reads and checks `folder/preprocessor_config.json`; `None` when it is absent.
    pub fn read(folder: &Path) -> Result<Option<Self>, FileError> {
        let file = folder.join(super::PREPROCESSOR_FILE);
        let Some(text) = read_optional(&file)? else {
            return Ok(None);
        };
        let fields: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| FileError::new(&file, "(file)", format!("is not a JSON object: {e}")))?;
        Self::from_fields(&fields)
            .map(Some)
            .map_err(|Fault { field, reason }| FileError::new(&file, field, reason))
    }

    /// The steps from the file's fields, with transformers' defaults for those it leaves out.
    pub fn from_fields(fields: &Map<String, Value>) -> Result<Self, Fault> {
        let processor = fields
            .get("image_processor_type")
            .and_then(Value::as_str)
            .unwrap_or("");
        let crop_pct = optional_f32(fields, "crop_pct")?;
        let shortest_by_default = crop_pct.is_some() || SHORTEST_EDGE_PROCESSORS.contains(&processor);
        let resize = if flag(fields, "do_resize", true)? {
            let size = fields
                .get("size")
                .ok_or_else(|| fault("size", "is missing, and do_resize is on"))?;
            Some(size_of(size, "size", shortest_by_default)?)
        } else {
            None
        };
        // ConvNeXT's rule: below 384, resize the shortest edge to size / crop_pct and crop
        // back to size; from 384 on, warp to a square with no crop.
        let (resize, crop_from_pct) = match (resize, crop_pct) {
            (Some(Resize::ShortestEdge(edge)), Some(pct)) if edge < 384 => {
                if !(pct > 0.0 && pct <= 1.0) {
                    return Err(fault("crop_pct", format!("is {pct}, not in (0, 1]")));
                }
                // A tiny crop_pct would make the edge past any image (and a cast saturates it).
                let scaled = f64::from(edge) / f64::from(pct);
                if scaled > MAX_SIDE as f64 {
                    return Err(fault(
                        "crop_pct",
                        format!(
                            "is {pct}: size {edge} / crop_pct is a shortest edge of {scaled:.0}, more than {MAX_SIDE} pixels"
                        ),
                    ));
                }
                (Some(Resize::ShortestEdge(scaled as u32)), Some((edge, edge)))
            }
            (Some(Resize::ShortestEdge(edge)), Some(_)) => (
                Some(Resize::Exact {
                    height: edge,
                    width: edge,
                }),
                None,
            ),
            (resize, _) => (resize, None),
        };
        let crop = match crop_from_pct {
            Some(crop) => Some(crop),
            None if flag(fields, "do_center_crop", false)? => {
                let size = fields
                    .get("crop_size")
                    .ok_or_else(|| fault("crop_size", "is missing, and do_center_crop is on"))?;
                match size_of(size, "crop_size", false)? {
                    Resize::Exact { height, width } => Some((height, width)),
                    Resize::ShortestEdge(_) => return Err(fault("crop_size", "must give height and width")),
                }
            }
            None => None,
        };
        let resample = match fields.get("resample") {
            None | Some(Value::Null) => Resample::Bilinear,
            Some(value) => match value.as_u64() {
                Some(0) => Resample::Nearest,
                Some(1) => Resample::Lanczos,
                Some(2) => Resample::Bilinear,
                Some(3) => Resample::Bicubic,
                Some(4) => Resample::Box,
                Some(5) => Resample::Hamming,
                _ => {
                    return Err(fault(
                        "resample",
                        format!("is {value}, not one of Pillow's filters 0 to 5"),
                    ))
                }
            },
        };
        let rescale = if flag(fields, "do_rescale", true)? {
            Some(optional_f32(fields, "rescale_factor")?.unwrap_or(1.0 / 255.0))
        } else {
            None
        };
        let normalize = if flag(fields, "do_normalize", true)? {
            let mean = triple(fields, "image_mean")?;
            let std = triple(fields, "image_std")?;
            if let Some(zero) = std.iter().position(|s| *s <= 0.0) {
                return Err(fault(
                    format!("image_std[{zero}]"),
                    format!("is {}, not positive", std[zero]),
                ));
            }
            Some((mean, std))
        } else {
            None
        };
        Ok(ImageConfig {
            resize,
            resample,
            crop,
            rescale,
            normalize,
        })
    }

    /// The `(height, width)` every image has after the steps, when the steps fix it.
    pub fn output_size(&self) -> Option<(u32, u32)> {
        match (self.crop, self.resize) {
            (Some(crop), _) => Some(crop),
            (None, Some(Resize::Exact { height, width })) => Some((height, width)),
            _ => None,
        }
    }
}

fn flag(fields: &Map<String, Value>, name: &str, default: bool) -> Result<bool, Fault> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(fault(name, format!("is {other}, not true or false"))),
    }
}

fn optional_f32(fields: &Map<String, Value>, name: &str) -> Result<Option<f32>, Fault> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(v) if v.is_finite() => Ok(Some(v as f32)),
            _ => Err(fault(name, format!("is {value}, not a number"))),
        },
    }
}

fn triple(fields: &Map<String, Value>, name: &str) -> Result<[f32; 3], Fault> {
    let value = fields
        .get(name)
        .ok_or_else(|| fault(name, "is missing, and do_normalize is on"))?;
    let numbers: Option<Vec<f32>> = match value {
        Value::Array(items) => items.iter().map(|v| v.as_f64().map(|v| v as f32)).collect(),
        Value::Number(n) => n.as_f64().map(|v| vec![v as f32; 3]),
        _ => None,
    };
    match numbers.as_deref() {
        Some(&[a, b, c]) => Ok([a, b, c]),
        _ => Err(fault(
            name,
            format!("is {value}, not three numbers (one per channel)"),
        )),
    }
}

/// `size` / `crop_size`: an integer, `{"shortest_edge"}` or `{"height", "width"}`.
fn size_of(value: &Value, name: &str, shortest_by_default: bool) -> Result<Resize, Fault> {
    let side = |v: Option<&Value>, field: &str| -> Result<u32, Fault> {
        match v.and_then(Value::as_u64) {
            Some(n) if (1..=MAX_SIDE).contains(&n) => Ok(n as u32),
            _ => Err(fault(
                format!("{name}{field}"),
                format!(
                    "is {}, not a side of 1 to {MAX_SIDE} pixels",
                    v.map_or("missing".to_owned(), Value::to_string)
                ),
            )),
        }
    };
    match value {
        Value::Number(_) if shortest_by_default => Ok(Resize::ShortestEdge(side(Some(value), "")?)),
        Value::Number(_) => {
            let n = side(Some(value), "")?;
            Ok(Resize::Exact { height: n, width: n })
        }
        Value::Object(dims) if dims.contains_key("shortest_edge") => {
            if dims.get("longest_edge").is_some_and(|v| !v.is_null()) {
                return Err(fault(format!("{name}.longest_edge"), "is not supported"));
            }
            Ok(Resize::ShortestEdge(side(
                dims.get("shortest_edge"),
                ".shortest_edge",
            )?))
        }
        Value::Object(dims) => Ok(Resize::Exact {
            height: side(dims.get("height"), ".height")?,
            width: side(dims.get("width"), ".width")?,
        }),
        other => Err(fault(
            name,
            format!("is {other}, not an integer, {{\"shortest_edge\"}} or {{\"height\", \"width\"}}"),
        )),
    }
}

#[cfg(test)]
mod tests;
