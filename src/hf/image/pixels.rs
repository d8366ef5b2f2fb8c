//! Decoded RGB pixels to the model's float tensor, as the `transformers` slow image processors
//! do it: resize with Pillow's filter on 8-bit pixels (`pillow`), center crop (padding with zeros when the
//! image is smaller), rescale, normalize, channels first or last.

use super::config::{ImageConfig, Resample, Resize};
use super::decode::{ImageError, Rgb};

/// Where the model wants the channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[N, 3, H, W]`
    ChannelsFirst,
    /// `[N, H, W, 3]`
    ChannelsLast,
}

/// Appends the image's `3 * height * width` floats to `out`, `(height, width)` being the size the
/// steps end at (`ImageConfig::output_size`, or the model's). A resize whose size does not fit
/// `u32` is refused (callers check the size against the pixel limit before decoding).
pub fn to_tensor(
    image: Rgb,
    config: &ImageConfig,
    size: (u32, u32),
    layout: Layout,
    out: &mut Vec<f32>,
) -> Result<(), ImageError> {
    let image = match config.resize {
        Some(resize) => {
            let (height, width) = resized_size(resize, image.height, image.width);
            let (Ok(h), Ok(w)) = (u32::try_from(height), u32::try_from(width)) else {
                return Err(ImageError::ResizedTooLarge {
                    width: image.width,
                    height: image.height,
                    resized_width: width,
                    resized_height: height,
                    limit: u64::from(u32::MAX),
                });
            };
            resize_rgb(image, h, w, config.resample)
        }
        None => image,
    };
    let (height, width) = match config.crop {
        Some(crop) => crop,
        None => size,
    };
    // Python's floor division, as transformers' center_crop computes the offset; negative when
    // the image is smaller than the crop, whose outside is zeros.
    let top = (i64::from(image.height) - i64::from(height)).div_euclid(2);
    let left = (i64::from(image.width) - i64::from(width)).div_euclid(2);
    let scale = config.rescale.unwrap_or(1.0);
    let (mean, std) = config.normalize.unwrap_or(([0.0; 3], [1.0; 3]));
    let value = |channel: usize, y: u32, x: u32| -> f32 {
        let (sy, sx) = (i64::from(y) + top, i64::from(x) + left);
        let raw = if (0..i64::from(image.height)).contains(&sy) && (0..i64::from(image.width)).contains(&sx) {
            image.pixels[((sy as usize * image.width as usize) + sx as usize) * 3 + channel]
        } else {
            0
        };
        (f32::from(raw) * scale - mean[channel]) / std[channel]
    };
    out.reserve(3 * height as usize * width as usize);
    match layout {
        Layout::ChannelsFirst => {
            for channel in 0..3 {
                for y in 0..height {
                    out.extend((0..width).map(|x| value(channel, y, x)));
                }
            }
        }
        Layout::ChannelsLast => {
            for y in 0..height {
                for x in 0..width {
                    out.extend((0..3).map(|channel| value(channel, y, x)));
                }
            }
        }
    }
    Ok(())
}

/// The size after resizing: exact, or the shortest edge scaled with the other edge truncated, as
/// transformers' `get_resize_output_image_size` does. In `u64`: a thin image's long edge can pass
/// `u32` (1 x 19,173,962 to a shortest edge of 224 is 4,294,967,488 long), and a cast would wrap
/// it to a small size that passes the pixel limit.
pub fn resized_size(resize: Resize, height: u32, width: u32) -> (u64, u64) {
    match resize {
        Resize::Exact { height, width } => (u64::from(height), u64::from(width)),
        Resize::ShortestEdge(edge) => {
            let (short, long) = (height.min(width), height.max(width));
            let other = ((u64::from(edge) * u64::from(long)) / u64::from(short.max(1))).max(1);
            let edge = u64::from(edge);
            if height <= width {
                (edge, other)
            } else {
                (other, edge)
            }
        }
    }
}

fn resize_rgb(image: Rgb, height: u32, width: u32, resample: Resample) -> Rgb {
    // Pillow returns a copy for the same size.
    if (height, width) == (image.height, image.width) {
        return image;
    }
    let pixels = super::pillow::resize(&image.pixels, image.width, image.height, width, height, resample);
    Rgb {
        width,
        height,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_edge_is_scaled_and_the_other_truncated() {
        assert_eq!(resized_size(Resize::ShortestEdge(256), 480, 640), (256, 341));
        assert_eq!(resized_size(Resize::ShortestEdge(256), 640, 480), (341, 256));
    }

    #[test]
    fn a_long_edge_past_u32_is_kept_whole_not_wrapped() {
        assert_eq!(
            resized_size(Resize::ShortestEdge(224), 1, 19_173_962),
            (224, 4_294_967_488)
        );
    }

    #[test]
    fn a_crop_larger_than_the_image_pads_with_zeros_around_it() {
        let config = ImageConfig {
            resize: None,
            resample: Resample::Bilinear,
            crop: Some((3, 3)),
            rescale: None,
            normalize: None,
        };
        let image = Rgb {
            width: 1,
            height: 1,
            pixels: vec![9, 9, 9],
        };
        let mut out = Vec::new();
        to_tensor(image, &config, (3, 3), Layout::ChannelsFirst, &mut out).unwrap();
        assert_eq!(&out[..9], &[0., 0., 0., 0., 9., 0., 0., 0., 0.]);
    }
}
