//! What the in-flight budget needs from an item before anything is decoded, read from the image's
//! header alone. A base64 item is decoded only as far as its header goes (8 KB first, eight
//! times more while EXIF or ICC data come before the header ends), so the whole item is decoded
//! from base64 once, for its pixels (`ImageModel::tensor`).

use base64::Engine;

use super::decode::{header_facts, is_raw, ImageError};

/// The decoded bytes of the first prefix tried; a header that does not end in it is tried again
/// in a prefix `GROWTH` times longer, up to the whole item.
const FIRST_PREFIX: usize = 8 * 1024;
const GROWTH: usize = 8;

/// An item's image as its header describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// The decoder's buffer in the image's own format, twice when an EXIF rotation copies it.
    pub decoded: u64,
    /// The image file's bytes once decoded from base64 (an upper bound for base64 items).
    pub file: u64,
}

/// The header of `item`: raw image bytes as they are, base64 decoded only as far as needed.
pub fn read_header(item: &[u8]) -> Result<Header, ImageError> {
    let header = |bytes: &[u8], file: u64| {
        header_facts(bytes).map(|(width, height, decoded)| Header {
            width,
            height,
            decoded,
            file,
        })
    };
    if is_raw(item) {
        return header(item, item.len() as u64);
    }
    // Four base64 characters are three bytes, and padding only shortens the last group.
    let file = (item.len() as u64).div_ceil(4) * 3;
    let mut limit = FIRST_PREFIX;
    loop {
        let (prefix, whole) = base64_prefix(item, limit)?;
        match header(&prefix, file) {
            Ok(read) => return Ok(read),
            Err(error) if whole => return Err(error),
            // The header goes on past the prefix (or the prefix cut it short): more of it.
            Err(_) => limit = limit.saturating_mul(GROWTH),
        }
    }
}

/// The first `limit` bytes (or a little more) of a base64 item, and whether that is all of it.
fn base64_prefix(item: &[u8], limit: usize) -> Result<(Vec<u8>, bool), ImageError> {
    let chars = limit.div_ceil(3).saturating_mul(4);
    let mut text = Vec::with_capacity(chars.min(item.len()));
    let mut rest = item.iter();
    for &b in rest.by_ref() {
        if b.is_ascii_whitespace() {
            continue;
        }
        text.push(b);
        if text.len() == chars {
            break;
        }
    }
    let whole = rest.all(u8::is_ascii_whitespace);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| ImageError::NotBase64(e.to_string()))?;
    Ok((bytes, whole))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn images() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf_image/images")
    }

    fn encoded(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A JPEG whose header ends past `FIRST_PREFIX` and past the first retry: an APP1 segment of
    /// about 60 KB before it (where cameras put EXIF thumbnails).
    fn jpeg_with_a_large_app1(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let payload = vec![b'x'; 60_000];
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn a_base64_prefix_reads_the_header_the_whole_file_gives() {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(images())
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                (path.display().to_string(), std::fs::read(&path).unwrap())
            })
            .collect();
        let photo = std::fs::read(images().join("photo640x480.jpg")).unwrap();
        files.push(("large APP1".to_owned(), jpeg_with_a_large_app1(&photo)));
        assert!(files.len() >= 10, "every fixture image is read");
        for (name, file) in files {
            let whole = header_facts(&file).unwrap();
            for item in [encoded(&file), encoded(&file).replace('A', "A\n")] {
                let read = read_header(item.as_bytes()).unwrap();
                assert_eq!((read.width, read.height, read.decoded), whole, "{name}");
                assert!(read.file >= file.len() as u64, "{name}");
            }
            let raw = read_header(&file).unwrap();
            assert_eq!((raw.width, raw.height, raw.decoded), whole, "{name}");
        }
    }

    #[test]
    fn only_the_prefix_is_decoded_when_the_header_ends_in_it() {
        // Text past the first prefix that is not base64 is not read here: the header is.
        let photo = std::fs::read(images().join("photo640x480.jpg")).unwrap();
        let mut item = encoded(&photo);
        assert!(item.len() > 4 * FIRST_PREFIX);
        item.truncate(4 * FIRST_PREFIX);
        item.push_str("!!!! not base64");
        let read = read_header(item.as_bytes()).unwrap();
        assert_eq!((read.width, read.height), (640, 480));
    }

    #[test]
    fn an_item_that_is_no_image_is_refused_once_all_of_it_is_read() {
        let text = encoded(&vec![7u8; 100_000]);
        assert!(matches!(
            read_header(text.as_bytes()),
            Err(ImageError::Undecodable(_))
        ));
        assert!(matches!(
            read_header(b"not base64 at all"),
            Err(ImageError::NotBase64(_))
        ));
    }
}
