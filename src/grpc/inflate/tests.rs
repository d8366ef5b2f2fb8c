use std::io::Write;
use std::time::Duration;

use flate2::{
    write::{GzEncoder, ZlibEncoder},
    Compression,
};
use http_body_util::{BodyExt, StreamBody};
use proptest::prelude::*;
use tonic::Code;

use super::super::budget::Handover;
use super::*;

const MIB: usize = 1 << 20;

fn compress(encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
    match encoding {
        Encoding::Gzip => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
        Encoding::Deflate => {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
    }
}

/// `message` framed: compressed with `encoding` when given.
fn framed(encoding: Option<Encoding>, message: &[u8]) -> Vec<u8> {
    let bytes = encoding.map_or_else(|| message.to_vec(), |encoding| compress(encoding, message));
    let mut frame = prefix(encoding.is_some(), bytes.len() as u32).to_vec();
    frame.extend_from_slice(&bytes);
    frame
}

type TestBody = StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Status>>>>;

/// `body` arriving in the frames `cuts` cut it into, then trailers.
fn arriving(body: &[u8], cuts: &[usize]) -> TestBody {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (body.len() + 1)).collect();
    cuts.extend([0, body.len()]);
    cuts.sort_unstable();
    let mut frames: Vec<Result<Frame<Bytes>, Status>> = cuts
        .windows(2)
        .map(|pair| Ok(Frame::data(Bytes::copy_from_slice(&body[pair[0]..pair[1]]))))
        .collect();
    frames.push(Ok(Frame::trailers(HeaderMap::new())));
    StreamBody::new(futures_util::stream::iter(frames))
}

/// What tonic would read: the data handed on, whether trailers came, or the first error.
async fn read_all(mut body: InflatingBody<TestBody>) -> Result<(Vec<u8>, bool), Status> {
    let (mut data, mut trailers) = (Vec::new(), false);
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        match frame.into_data() {
            Ok(bytes) => data.extend_from_slice(&bytes),
            Err(frame) => trailers |= frame.is_trailers(),
        }
    }
    // (Untouched, the body says what the inner one says, which `StreamBody` does not know.)
    assert!(body.encoding.is_none() || body.is_end_stream());
    Ok((data, trailers))
}

/// `body` charged as it arrives, as `Observed` installs it, and where its charge is left.
fn inflating(
    body: TestBody,
    encoding: Option<Encoding>,
    budget: &Arc<InflightBudget>,
    limit: usize,
) -> (InflatingBody<TestBody>, Handover) {
    let handover = Handover::default();
    let charged = ChargedBody::new(body, budget.clone(), handover.clone(), Outcome::default());
    let body = InflatingBody::new(charged, encoding, budget.clone(), limit, Outcome::default());
    (body, handover)
}

fn budget(bytes: usize) -> Arc<InflightBudget> {
    Arc::new(InflightBudget::new(bytes as u64, MIB, Duration::from_millis(50)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn compressed_messages_split_anywhere_reach_tonic_inflated_and_charged(
        messages in proptest::collection::vec((any::<bool>(), proptest::collection::vec(0u8..4, 0..3000)), 1..5),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
        gzip in any::<bool>(),
    ) {
        let encoding = if gzip { Encoding::Gzip } else { Encoding::Deflate };
        // A unary call's body: at most one message compressed (a second is refused, below).
        let first_packed = messages.iter().position(|(packed, _)| *packed);
        let messages: Vec<(bool, Vec<u8>)> = messages
            .into_iter()
            .enumerate()
            .map(|(at, (_, message))| (Some(at) == first_packed, message))
            .collect();
        let sent: Vec<u8> = messages
            .iter()
            .flat_map(|(packed, message)| framed(packed.then_some(encoding), message))
            .collect();
        let plain: Vec<u8> = messages.iter().flat_map(|(_, message)| framed(None, message)).collect();
        let inflated: usize = messages.iter().filter(|(packed, _)| *packed).map(|(_, m)| m.len()).sum();
        let budget = budget(64 * MIB);
        let (body, handover) = inflating(arriving(&sent, &cuts), Some(encoding), &budget, MIB);

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (read, trailers) = runtime.block_on(read_all(body)).unwrap();

        prop_assert_eq!(read, plain);
        prop_assert!(trailers);
        let (charge, charged) = handover.take();
        // One charge: the body as sent, and the messages inflated from it.
        prop_assert_eq!(charged, (sent.len() + inflated) as u64 * CHARGE_PER_BODY_BYTE);
        let held = budget.bytes() - budget.available();
        // Held: what was charged (the budget counts bytes; not a step more).
        prop_assert!(held >= charged && held < charged + 1024, "{} held for {}", held, charged);
        drop(charge);
        prop_assert_eq!(budget.available(), budget.bytes());
    }
}

#[tokio::test]
async fn a_zip_bomb_is_refused_as_too_large_after_at_most_the_limit_is_inflated() {
    let bomb = framed(Some(Encoding::Gzip), &vec![0; 16 * MIB]);
    assert!(bomb.len() < MIB / 8, "{}", bomb.len());
    let budget = budget(64 * MIB);
    let (body, handover) = inflating(arriving(&bomb, &[100, 1000]), Some(Encoding::Gzip), &budget, MIB);

    let refused = read_all(body).await.unwrap_err();

    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(refused.message(), ApiError::TooLarge { limit: MIB }.to_string());
    drop(handover.take());
    assert_eq!(budget.available(), budget.bytes(), "nothing stays charged");
}

#[tokio::test]
async fn a_message_inflating_past_the_budget_is_refused_while_inflating() {
    // The message limit would let it through: the budget does not.
    let big = framed(Some(Encoding::Deflate), &vec![7; 8 * MIB]);
    let budget = budget(2 * MIB);
    let (body, _) = inflating(arriving(&big, &[]), Some(Encoding::Deflate), &budget, 16 * MIB);

    let refused = read_all(body).await.unwrap_err();

    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused
            .message()
            .contains("whole in-flight memory budget of 2097152 bytes"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_broken_stream_is_invalid_argument_naming_grpc_encoding() {
    let mut broken = framed(Some(Encoding::Gzip), b"some message");
    broken.truncate(broken.len() - 6);
    let len = broken.len() as u32 - 5;
    broken[1..5].copy_from_slice(&len.to_be_bytes());
    let budget = budget(MIB);
    let (body, _) = inflating(arriving(&broken, &[]), Some(Encoding::Gzip), &budget, MIB);

    let refused = read_all(body).await.unwrap_err();

    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused
            .message()
            .starts_with("the request body is not valid gzip data (grpc-encoding)"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_second_compressed_message_in_a_unary_call_is_invalid_argument() {
    let mut sent = framed(Some(Encoding::Gzip), b"the call's message");
    sent.extend(framed(Some(Encoding::Gzip), b""));
    let budget = budget(MIB);
    let (body, _) = inflating(arriving(&sent, &[]), Some(Encoding::Gzip), &budget, MIB);

    let refused = read_all(body).await.unwrap_err();

    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        refused.message(),
        "a unary call takes one message; this one sent more"
    );
}

#[tokio::test]
async fn a_small_message_holds_its_charge_not_an_inflating_step_more() {
    // Inflating charges its first step (8 KiB) before it inflates: trimmed once inflated.
    let sent = framed(Some(Encoding::Deflate), b"a small message");
    let budget = budget(MIB);
    let (body, handover) = inflating(arriving(&sent, &[]), Some(Encoding::Deflate), &budget, MIB);

    read_all(body).await.unwrap();

    let (charge, charged) = handover.take();
    let held = budget.bytes() - budget.available();
    assert!(
        held >= charged && held < charged + 1024,
        "{held} held for {charged}"
    );
    drop(charge);
}

#[tokio::test]
async fn without_a_coding_inflated_here_the_body_is_handed_on_untouched() {
    let sent = framed(Some(Encoding::Gzip), b"left for tonic");
    let budget = budget(MIB);
    let (body, handover) = inflating(arriving(&sent, &[3, 9]), None, &budget, MIB);

    let (read, trailers) = read_all(body).await.unwrap();

    assert_eq!(read, sent);
    assert!(trailers);
    assert_eq!(handover.take().1, sent.len() as u64 * CHARGE_PER_BODY_BYTE);
}

#[test]
fn only_the_codings_tonic_accepts_are_inflated_here() {
    let encoding = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-encoding", value.parse().unwrap());
        message_encoding(&headers)
    };
    assert_eq!(encoding("gzip"), Some(Encoding::Gzip));
    assert_eq!(encoding("deflate"), Some(Encoding::Deflate));
    for other in ["identity", "zstd", "GZIP", "x-gzip", "snappy"] {
        assert_eq!(encoding(other), None, "{other}");
    }
    assert_eq!(message_encoding(&HeaderMap::new()), None);
}
