use std::io::Write;
use std::time::Duration;

use axum::{body::Body, http::HeaderValue, response::Response};
use flate2::{
    write::{DeflateEncoder, GzEncoder, ZlibEncoder},
    Compression,
};

use super::answer::COMPRESS_MIN_BYTES;
use super::*;
use crate::telemetry::MAX_ATTACHED_RESPONSE;

fn headers(name: header::HeaderName, values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(&name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn content_encoding(values: &[&str]) -> Result<Option<Encoding>, ApiError> {
    request_encoding(&headers(header::CONTENT_ENCODING, values))
}

#[test]
fn gzip_and_deflate_bodies_are_read_and_any_other_coding_is_a_415() {
    assert_eq!(content_encoding(&[]).unwrap(), None);
    assert_eq!(content_encoding(&["identity"]).unwrap(), None);
    assert_eq!(content_encoding(&["GZIP"]).unwrap(), Some(Encoding::Gzip));
    assert_eq!(content_encoding(&["x-gzip"]).unwrap(), Some(Encoding::Gzip));
    assert_eq!(content_encoding(&["deflate"]).unwrap(), Some(Encoding::Deflate));
    assert_eq!(
        content_encoding(&["identity, gzip"]).unwrap(),
        Some(Encoding::Gzip)
    );
    let br = content_encoding(&["br"]).unwrap_err();
    assert_eq!(br.status(), 415);
    assert_eq!(
        br.to_string(),
        "Content-Encoding \"br\" is not supported; send the body as it is, or in gzip or deflate"
    );
    let stacked = content_encoding(&["gzip", "deflate"]).unwrap_err();
    assert_eq!(stacked.status(), 415);
    assert!(stacked.to_string().starts_with("2 stacked"), "{stacked}");
}

#[test]
fn accept_encoding_picks_gzip_or_deflate_by_weight() {
    let accepted = |values: &[&str]| accepted(&headers(header::ACCEPT_ENCODING, values));
    assert_eq!(accepted(&[]), None);
    assert_eq!(accepted(&["gzip"]), Some(Encoding::Gzip));
    assert_eq!(accepted(&["deflate"]), Some(Encoding::Deflate));
    assert_eq!(accepted(&["deflate, gzip"]), Some(Encoding::Gzip));
    assert_eq!(accepted(&["gzip;q=0.5, deflate"]), Some(Encoding::Deflate));
    assert_eq!(accepted(&["gzip;q=0"]), None);
    assert_eq!(accepted(&["br, zstd"]), None);
    assert_eq!(accepted(&["*"]), Some(Encoding::Gzip));
    assert_eq!(accepted(&["identity"]), None);
}

#[test]
fn a_star_does_not_cover_a_coding_refused_by_name() {
    let accepted = |values: &[&str]| accepted(&headers(header::ACCEPT_ENCODING, values));
    assert_eq!(accepted(&["gzip;q=0, *"]), Some(Encoding::Deflate));
    assert_eq!(accepted(&["*", "gzip;q=0"]), Some(Encoding::Deflate));
    assert_eq!(accepted(&["gzip;q=0, deflate;q=0, *"]), None);
    assert_eq!(accepted(&["deflate, *;q=0.5"]), Some(Encoding::Deflate));
}

fn compressed(encoding: &str, bytes: &[u8]) -> Bytes {
    let out = match encoding {
        "gzip" => {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        "zlib" => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        _ => {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
    };
    Bytes::from(out)
}

fn budget() -> InflightBudget {
    InflightBudget::new(64 << 20, 1 << 20, Duration::from_millis(10))
}

#[tokio::test]
async fn gzip_zlib_and_raw_deflate_inflate_to_the_body() {
    // More than one blocking step, and bytes that do not repeat much.
    let body: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for (format, encoding) in [
        ("gzip", Encoding::Gzip),
        ("zlib", Encoding::Deflate),
        ("raw", Encoding::Deflate),
    ] {
        let budget = InflightBudget::new(64 << 20, 8 << 20, Duration::from_millis(10));
        let mut charge = Charge::none();
        let inflated = inflate(encoding, compressed(format, &body), 8 << 20, &budget, &mut charge)
            .await
            .unwrap();
        assert!(inflated == body, "{format}");
        // Charged for what it holds, the inflated body counted.
        assert!(budget.available() <= (64 << 20) - body.len() as u64, "{format}");
    }
}

#[tokio::test]
async fn a_zip_bomb_is_a_413_after_at_most_the_limit_is_inflated() {
    // 16 MiB of zeros in about 16 KiB of gzip, against a 1 MiB limit.
    let bomb = compressed("gzip", &vec![0u8; 16 << 20]);
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    let budget = budget();
    let mut charge = Charge::none();
    let error = inflate(Encoding::Gzip, bomb.clone(), 1 << 20, &budget, &mut charge)
        .await
        .unwrap_err();
    assert_eq!(error.status(), 413);
    assert!(error.to_string().contains("limit of 1048576 bytes"), "{error}");
    let mut inflater = Inflater::new("Content-Encoding", Encoding::Gzip, bomb, 1 << 20);
    while let Ok(false) = inflater.step(CHUNK) {}
    assert_eq!(inflater.out.len(), (1 << 20) + 1);
    assert!(
        inflater.out.capacity() <= (1 << 20) + CHUNK,
        "{}",
        inflater.out.capacity()
    );
    // A body exactly at the limit is fine.
    let at_limit = compressed("gzip", &vec![7u8; 1 << 20]);
    let inflated = inflate(Encoding::Gzip, at_limit, 1 << 20, &budget, &mut Charge::none())
        .await
        .unwrap();
    assert_eq!(inflated.len(), 1 << 20);
}

#[tokio::test]
async fn inflating_past_the_in_flight_budget_is_refused_while_inflating() {
    // A budget of 1 MiB cannot hold 4 MiB inflated, whatever the body limit.
    let budget = InflightBudget::new(1 << 20, 8 << 20, Duration::from_millis(10));
    let bomb = compressed("gzip", &vec![0u8; 4 << 20]);
    let error = inflate(Encoding::Gzip, bomb, 8 << 20, &budget, &mut Charge::none())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 413);
    assert!(
        error.to_string().contains("AML_SCORER_MAX_INFLIGHT_BYTES"),
        "{error}"
    );
}

#[tokio::test]
async fn a_small_body_is_charged_about_its_size_not_a_chunk_ahead() {
    // 6 KiB inflated within a 20 KiB budget: charged twice over for steps of 4 KiB and 4 KiB (a
    // whole 64 KiB step charged ahead would not fit).
    let budget = InflightBudget::new(20 << 10, 1 << 20, Duration::from_millis(10));
    let mut charge = Charge::none();
    let body = vec![b'7'; 6 << 10];
    let inflated = inflate(
        Encoding::Gzip,
        compressed("gzip", &body),
        1 << 20,
        &budget,
        &mut charge,
    )
    .await
    .unwrap();
    assert_eq!(inflated, body);
    assert_eq!(budget.available(), 4 << 10);
}

#[tokio::test]
async fn a_broken_stream_is_a_400_naming_the_coding() {
    let mut broken = compressed("gzip", b"{\"data\": [[1, 2]]}").to_vec();
    broken.truncate(broken.len() - 12);
    for (encoding, bytes) in [
        (Encoding::Gzip, Bytes::from(broken)),
        (Encoding::Gzip, Bytes::from_static(b"{\"data\": 1}")),
        (Encoding::Deflate, Bytes::from_static(&[0xff; 40])),
    ] {
        let error = inflate(encoding, bytes, 1 << 20, &budget(), &mut Charge::none())
            .await
            .unwrap_err();
        assert_eq!(error.status(), 400, "{error}");
        let expected = format!("the request body is not valid {} data", encoding.name());
        assert!(error.to_string().starts_with(&expected), "{error}");
    }
}

#[tokio::test]
async fn answers_over_the_threshold_are_compressed_and_every_answer_varies_by_accept_encoding() {
    let answer = |len: usize| Response::new(Body::from(vec![b'1'; len]));
    let small = compress_answer(Some(Encoding::Gzip), false, answer(COMPRESS_MIN_BYTES - 1))
        .await
        .unwrap();
    assert_eq!(small.headers()[header::VARY], "accept-encoding");
    assert!(!small.headers().contains_key(header::CONTENT_ENCODING));
    let unasked = compress_answer(None, false, answer(100_000)).await.unwrap();
    assert_eq!(unasked.headers()[header::VARY], "accept-encoding");
    assert!(!unasked.headers().contains_key(header::CONTENT_ENCODING));
    for (encoding, len) in [(Encoding::Gzip, 2000), (Encoding::Deflate, 200_000)] {
        let response = compress_answer(Some(encoding), false, answer(len)).await.unwrap();
        assert_eq!(response.headers()[header::CONTENT_ENCODING], encoding.name());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let mut back = Vec::new();
        match encoding {
            Encoding::Gzip => MultiGzDecoder::new(&bytes[..]).read_to_end(&mut back),
            Encoding::Deflate => ZlibDecoder::new(&bytes[..]).read_to_end(&mut back),
        }
        .unwrap();
        assert_eq!(back, vec![b'1'; len]);
    }
}

#[tokio::test]
async fn only_a_small_compressed_body_starts_inflating_on_the_request_task() {
    // Empty gzip members inflate to nothing: bounding the inline step's output does not bound
    // the input it parses, so a body of many of them must go to a blocking thread whole.
    let empty_member = compressed("gzip", b"");
    let members = empty_member.repeat(100_000 / empty_member.len());

    assert!(inflates_inline(16 * 1024));
    assert!(!inflates_inline(16 * 1024 + 1));
    assert!(!inflates_inline(members.len()));
    let inflated = inflate(
        Encoding::Gzip,
        Bytes::from(members),
        1 << 20,
        &budget(),
        &mut Charge::none(),
    )
    .await
    .unwrap();
    assert!(inflated.is_empty());
}

#[tokio::test]
async fn the_uncompressed_head_is_kept_only_when_spans_attach_answers() {
    let answer = |len: usize| Response::new(Body::from(vec![b'1'; len]));
    let attached = compress_answer(Some(Encoding::Gzip), true, answer(100_000))
        .await
        .unwrap();
    let head = attached
        .extensions()
        .get::<UncompressedHead>()
        .expect("kept for the span");
    assert_eq!(head.0.len(), MAX_ATTACHED_RESPONSE);
    let plain = compress_answer(Some(Encoding::Gzip), false, answer(100_000))
        .await
        .unwrap();
    assert!(plain.extensions().get::<UncompressedHead>().is_none());
}
