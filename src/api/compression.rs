//! Compressed bodies on the scoring routes: `Content-Encoding: gzip | deflate` requests are
//! inflated, and answers are compressed for a client whose `Accept-Encoding` asks for it.
//!
//! Inflating is bounded: the output grows in chunks, each charged to the in-flight budget before
//! it is inflated and counted against the body limit, so a zip bomb is refused (413) after at
//! most the limit is inflated, and nothing is ever allocated from a size the stream claims.
//! Only a small body starts inflating on the request's own task; after its first 64 KiB, and
//! from the start for a larger body, inflating and deflating run on blocking threads, so that a
//! large body does not hold an executor thread.

use std::io::{Cursor, Read};

use axum::{
    body::Bytes,
    http::{header, HeaderMap},
};
use flate2::bufread::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

use super::body::CHARGE_PER_BODY_BYTE;
use super::budget::{Charge, InflightBudget};
use super::ApiError;
use crate::model::ScoreError;

mod answer;

pub(super) use answer::compress_answer;
pub use answer::UncompressedHead;

/// A content coding the server reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    /// The zlib format, as RFC 9110 defines `deflate` and `tritonclient` sends it; a request in
    /// raw deflate (which some clients send under the same name) is read too.
    Deflate,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }

    fn parse(coding: &str) -> Option<Self> {
        let is = |name: &str| coding.eq_ignore_ascii_case(name);
        // RFC 9110 8.4.1.3: `x-gzip` is the same coding.
        if is("gzip") || is("x-gzip") {
            Some(Encoding::Gzip)
        } else if is("deflate") {
            Some(Encoding::Deflate)
        } else {
            None
        }
    }
}

/// The request body's coding: `None` for none (or `identity`); 415 for any coding the server does
/// not read, and for several stacked.
pub(super) fn request_encoding(headers: &HeaderMap) -> Result<Option<Encoding>, ApiError> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        codings.extend(
            text.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
                .map(str::to_owned),
        );
    }
    let unsupported = |what: String| ApiError::UnsupportedEncoding(what);
    match codings.as_slice() {
        [] => Ok(None),
        [one] => Encoding::parse(one).map(Some).ok_or_else(|| {
            // The coding is the client's text, quoted and cut short so that it cannot flood a log.
            unsupported(format!(
                "Content-Encoding {} is not supported",
                super::error::client_text(one)
            ))
        }),
        _ => Err(unsupported(format!(
            "{} stacked Content-Encodings are not supported",
            codings.len()
        ))),
    }
}

/// The output inflated on the request's own task (in the first steps) before the rest moves to
/// a blocking thread: small enough (well under a millisecond) not to hold the executor.
const INLINE_CHUNK: usize = 64 * 1024;
/// The largest compressed body whose first steps are inflated on the request's own task. The
/// output bound alone does not bound the work: 100 MB of empty gzip members inflate to nothing,
/// and would all be parsed inline.
const INLINE_INPUT_MAX: usize = 16 * 1024;

/// Whether a compressed body of `len` bytes starts inflating on the request's own task (every
/// step of a larger one runs on a blocking thread).
fn inflates_inline(len: usize) -> bool {
    len <= INLINE_INPUT_MAX
}
/// The output inflated per step on a blocking thread: each step is charged to the budget first.
const CHUNK: usize = 1024 * 1024;
/// The first inline step's output. Inline steps double from it (each as large as the output so
/// far), so that a small body is charged about its size rather than a whole chunk ahead: a small
/// budget still takes a small compressed body (a gRPC message of a few rows). Blocking steps do
/// not: more, smaller steps spread the output over more blocking threads' heaps, and the peak
/// memory of concurrent zip bombs grew threefold.
const FIRST_STEP: usize = 4 * 1024;

/// A stream being inflated into `out`, which never holds more than `limit + 1` bytes.
struct Inflater {
    decoder: Box<dyn Read + Send>,
    encoding: Encoding,
    /// The header that named the coding, quoted in a 400.
    header: &'static str,
    out: Vec<u8>,
    limit: usize,
}

impl Inflater {
    fn new(header: &'static str, encoding: Encoding, compressed: Bytes, limit: usize) -> Self {
        let input = Cursor::new(compressed);
        let decoder: Box<dyn Read + Send> = match encoding {
            Encoding::Gzip => Box::new(MultiGzDecoder::new(input)),
            Encoding::Deflate if is_zlib(input.get_ref()) => Box::new(ZlibDecoder::new(input)),
            Encoding::Deflate => Box::new(DeflateDecoder::new(input)),
        };
        Inflater {
            decoder,
            encoding,
            header,
            out: Vec::new(),
            limit,
        }
    }

    /// Inflates up to `chunk` more bytes: true once the stream has ended; 413 past the limit.
    fn step(&mut self, chunk: usize) -> Result<bool, ApiError> {
        // One byte past the limit tells a body over it from one exactly at it.
        let room = self
            .limit
            .saturating_add(1)
            .saturating_sub(self.out.len())
            .min(chunk);
        // Capacity doubles (as `reserve` would), never past the limit: growing by one chunk at a
        // time would copy the body once per chunk.
        if self.out.capacity() - self.out.len() < room {
            let target = self
                .out
                .capacity()
                .saturating_mul(2)
                .clamp(self.out.len() + room, self.limit.saturating_add(1));
            self.out.reserve_exact(target - self.out.len());
        }
        let read = (&mut self.decoder)
            .take(room as u64)
            .read_to_end(&mut self.out)
            .map_err(|error| {
                ApiError::BadRequest(format!(
                    "the request body is not valid {} data ({}): {error}",
                    self.encoding.name(),
                    self.header
                ))
            })?;
        if self.out.len() > self.limit {
            return Err(ApiError::TooLarge { limit: self.limit });
        }
        Ok(read < room)
    }
}

/// A zlib stream starts with a header whose two bytes are a multiple of 31 (RFC 1950), method 8.
fn is_zlib(bytes: &[u8]) -> bool {
    let [cmf, flg, ..] = *bytes else {
        return false;
    };
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

/// Inflates `compressed`, charging `charge` for each chunk before it is inflated: 413 once the
/// output passes `limit` or the budget, 400 when the stream is not valid, 429 when the budget
/// stays full.
pub(super) async fn inflate(
    encoding: Encoding,
    compressed: Bytes,
    limit: usize,
    budget: &InflightBudget,
    charge: &mut Charge,
) -> Result<Bytes, ApiError> {
    inflate_coded("Content-Encoding", encoding, compressed, limit, budget, charge).await
}

/// `inflate`, for a coding named by `header` (gRPC's `grpc-encoding` inflates each message so).
pub(crate) async fn inflate_coded(
    header: &'static str,
    encoding: Encoding,
    compressed: Bytes,
    limit: usize,
    budget: &InflightBudget,
    charge: &mut Charge,
) -> Result<Bytes, ApiError> {
    let inline = inflates_inline(compressed.len());
    let mut inflater = Inflater::new(header, encoding, compressed, limit);
    let mut done = false;
    while inline && !done && inflater.out.len() < INLINE_CHUNK {
        let inflated = inflater.out.len();
        let step = inflated.max(FIRST_STEP).min(INLINE_CHUNK - inflated);
        budget.grow(charge, step as u64 * CHARGE_PER_BODY_BYTE).await?;
        done = inflater.step(step)?;
    }
    while !done {
        budget.grow(charge, CHUNK as u64 * CHARGE_PER_BODY_BYTE).await?;
        let (back, stepped) = tokio::task::spawn_blocking(move || {
            let stepped = inflater.step(CHUNK);
            (inflater, stepped)
        })
        .await
        .map_err(|e| ApiError::Score(ScoreError::Task(e)))?;
        inflater = back;
        done = stepped?;
    }
    Ok(Bytes::from(inflater.out))
}

/// The coding the client accepts for its answer (`Accept-Encoding`): gzip before deflate at the
/// same weight, none when it accepts neither (`q=0` refuses a coding). `*` stands only for the
/// codings the header does not name (RFC 9110 12.5.3): `gzip;q=0, *` refuses gzip.
pub(super) fn accepted(headers: &HeaderMap) -> Option<Encoding> {
    let (mut gzip, mut deflate, mut any) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let weight = parts
                .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())
                .unwrap_or(0.0);
            let slot = match coding {
                "*" => &mut any,
                coding => match Encoding::parse(coding) {
                    Some(Encoding::Gzip) => &mut gzip,
                    Some(Encoding::Deflate) => &mut deflate,
                    None => continue,
                },
            };
            *slot = Some(weight);
        }
    }
    let gzip = gzip.or(any).unwrap_or(0.0);
    let deflate = deflate.or(any).unwrap_or(0.0);
    match (gzip, deflate) {
        (g, d) if g > 0.0 && g >= d => Some(Encoding::Gzip),
        (_, d) if d > 0.0 => Some(Encoding::Deflate),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
