//! One request item to RGB pixels: base64 (line breaks as `base64.encodebytes` writes them
//! accepted), the format guessed from its bytes (JPEG, PNG, WebP, BMP, GIF's first frame), the
//! size read from the header and bounded before anything is decoded, the EXIF orientation applied.

use std::io::Cursor;

use base64::Engine;
use image::{ImageDecoder, ImageReader};

/// An image's RGB pixels, row-major, three bytes each.
#[derive(Debug, Clone)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

/// Why an item is not an image we take; the caller names the item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageError {
    #[error("is not base64 ({0})")]
    NotBase64(String),
    #[error("is not an image in a format the server reads (JPEG, PNG, WebP, BMP, GIF): {0}")]
    Undecodable(String),
    #[error(
        "is a {width}x{height} image ({pixels} pixels), more than the {limit} pixels an image may have \
         (--max-image-pixels, AML_SCORER_MAX_IMAGE_PIXELS)"
    )]
    TooLarge {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error(
        "is a {width}x{height} image that its resize (size.shortest_edge) would make {resized_width}x{resized_height}, \
         more than the {limit} pixels an image may have (--max-image-pixels, AML_SCORER_MAX_IMAGE_PIXELS)"
    )]
    ResizedTooLarge {
        width: u32,
        height: u32,
        resized_width: u64,
        resized_height: u64,
        limit: u64,
    },
    #[error(
        "is a {width}x{height} image whose resize to {resized_width}x{resized_height} would need {bytes} bytes of \
         working buffers, more than the {limit} an image at the pixel limit may use (--max-image-pixels, \
         AML_SCORER_MAX_IMAGE_PIXELS)"
    )]
    ResizeTooCostly {
        width: u32,
        height: u32,
        resized_width: u32,
        resized_height: u32,
        bytes: u64,
        limit: u64,
    },
}

/// The bytes of an item: base64 text, or raw image bytes (as the V2 binary extension carries
/// them) when they start like an image rather than like base64.
pub fn image_bytes(item: &[u8]) -> Result<Vec<u8>, ImageError> {
    if is_raw(item) {
        return Ok(item.to_vec());
    }
    let text: Vec<u8> = item
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| ImageError::NotBase64(e.to_string()))
}

/// Whether `item` is raw image bytes rather than base64 text.
pub fn is_raw(item: &[u8]) -> bool {
    image::guess_format(item).is_ok() && !looks_like_base64(item)
}

fn looks_like_base64(item: &[u8]) -> bool {
    item.iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') || b.is_ascii_whitespace())
}

/// From the image's header, without decoding its pixels: its width and height, and what decoding
/// it takes before its RGB copy (the decoder's buffer in its own format, 8 bytes a pixel for
/// 16-bit RGBA, twice when an EXIF rotation or flip copies it).
pub fn header_facts(bytes: &[u8]) -> Result<(u32, u32, u64), ImageError> {
    let mut decoder = reader(bytes)?
        .into_decoder()
        .map_err(|e| ImageError::Undecodable(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let copies = if orientation == image::metadata::Orientation::NoTransforms {
        1
    } else {
        2
    };
    Ok((width, height, decoder.total_bytes().saturating_mul(copies)))
}

/// Decodes `bytes` to upright RGB, refusing an image of more than `max_pixels` from its header.
pub fn decode_rgb(bytes: &[u8], max_pixels: u64) -> Result<Rgb, ImageError> {
    decode_rgb_checked(bytes, max_pixels, |_, _| Ok(()))
}

/// `decode_rgb`, with `check` of the header's width and height before the pixels are decoded.
pub fn decode_rgb_checked(
    bytes: &[u8],
    max_pixels: u64,
    check: impl FnOnce(u32, u32) -> Result<(), ImageError>,
) -> Result<Rgb, ImageError> {
    let mut decoder = reader(bytes)?
        .into_decoder()
        .map_err(|e| ImageError::Undecodable(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Undecodable(format!("it is {width}x{height} pixels")));
    }
    check_pixels(width, height, max_pixels)?;
    check(width, height)?;
    // An unreadable orientation tag is no orientation, as Pillow's exif_transpose treats it.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image =
        image::DynamicImage::from_decoder(decoder).map_err(|e| ImageError::Undecodable(e.to_string()))?;
    image.apply_orientation(orientation);
    let rgb = image.into_rgb8();
    Ok(Rgb {
        width: rgb.width(),
        height: rgb.height(),
        pixels: rgb.into_raw(),
    })
}

/// Refuses an image of more than `max_pixels`.
pub fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<u64, ImageError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge {
            width,
            height,
            pixels,
            limit: max_pixels,
        });
    }
    Ok(pixels)
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ImageError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Undecodable(e.to_string()))?;
    if reader.format().is_none() {
        return Err(ImageError::Undecodable("the format is not recognised".to_owned()));
    }
    Ok(reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_line_breaks_and_raw_bytes_give_the_same_image() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
        ];
        let text = base64::engine::general_purpose::STANDARD.encode(png);
        let wrapped = format!("{}\n{}\n", &text[..8], &text[8..]);
        assert_eq!(image_bytes(wrapped.as_bytes()).unwrap(), png);
        assert_eq!(image_bytes(&png).unwrap(), png);
    }

    #[test]
    fn text_that_is_not_base64_is_refused() {
        assert!(matches!(
            image_bytes(b"not an image!"),
            Err(ImageError::NotBase64(_))
        ));
    }

    #[test]
    fn too_many_pixels_are_refused_with_the_limit() {
        let error = check_pixels(100, 100, 9_999).unwrap_err();
        assert!(error.to_string().contains("AML_SCORER_MAX_IMAGE_PIXELS"));
        assert_eq!(check_pixels(100, 100, 10_000), Ok(10_000));
    }
}
