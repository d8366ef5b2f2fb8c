//! Compressed messages (`grpc-encoding: gzip | deflate`) over a raw HTTP/2 client: inflated as
//! REST inflates a compressed body, charged to the in-flight budget while they inflate and never
//! past the message limit, so that zip bombs, alone or many at once, leave memory bounded.

use std::io::Write;
use std::time::Duration;

use aml_scorer::grpc::messages::ModelInferResponse;
use bytes::Bytes;
use flate2::{write::GzEncoder, Compression};
use prost::Message;

use super::raw::{frame_of, rows_request, start_call_with};
use crate::common::*;

const MIB: usize = 1 << 20;

/// `compressed` framed as a compressed message.
fn compressed_frame(compressed: &[u8]) -> Vec<u8> {
    let mut frame = vec![1];
    frame.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
    frame.extend_from_slice(compressed);
    frame
}

/// A `ModelInfer` message of `rows` rows, encoded.
fn message(rows: usize) -> Vec<u8> {
    frame_of(&rows_request(rows)).split_off(5)
}

/// A call's `grpc-status`, its message, and its answer's bytes (after the prefix).
struct Finished {
    code: String,
    message: String,
    answer: Vec<u8>,
}

/// Sends `frames` as the body of a `ModelInfer` call with `metadata`, and reads its answer.
async fn call(server: &Server, metadata: &[(&str, &str)], frames: Vec<Bytes>) -> Finished {
    let (response, mut body) = start_call_with(server.grpc_addr(), metadata).await;
    let last = frames.len().saturating_sub(1);
    for (i, frame) in frames.into_iter().enumerate() {
        // The server may answer (and reset the stream) before every frame is sent.
        if body.send_data(frame, i == last).is_err() {
            break;
        }
    }
    let (parts, mut body) = tokio::time::timeout(Duration::from_secs(30), response)
        .await
        .expect("answered")
        .unwrap()
        .into_parts();
    let (mut status, mut answer) = (parts.headers, Vec::new());
    if !status.contains_key("grpc-status") {
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            answer.extend_from_slice(&chunk);
        }
        status = body.trailers().await.unwrap().unwrap_or_default();
    }
    let text = |name: &str| {
        let value = status.get(name).map_or("", |v| v.to_str().unwrap());
        percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    Finished {
        code: text("grpc-status"),
        message: text("grpc-message"),
        answer: answer.get(5..).unwrap_or_default().to_vec(),
    }
}

/// The sample model's answer to `rows_request(2)`, through a call with `metadata`.
async fn assert_answers_two_rows(server: &Server, metadata: &[(&str, &str)], frames: Vec<Bytes>) {
    let finished = call(server, metadata, frames).await;
    assert_eq!(finished.code, "0", "{}", finished.message);
    let answer = ModelInferResponse::decode(&finished.answer[..]).unwrap();
    assert_eq!(answer.outputs[0].shape, [2, 1]);
}

#[tokio::test]
async fn a_zip_bomb_is_resource_exhausted_after_at_most_the_limit_is_inflated() {
    let server = Server::start(
        &[
            "--max-body-bytes",
            &MIB.to_string(),
            "--max-inflight-bytes",
            &(256 * MIB).to_string(),
        ],
        &[],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    // 256 gzip members of 1 MiB of zeros each (gzip reads on after a member): 256 MiB inflated
    // from about 256 KB.
    let member = {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&vec![0; MIB]).unwrap();
        encoder.finish().unwrap()
    };
    let bomb = Bytes::from(compressed_frame(&member.repeat(256)));
    assert!(bomb.len() < MIB / 2, "{}", bomb.len());
    let before = server.peak_rss();

    let calls = (0..8).map(|_| call(&server, &[("grpc-encoding", "gzip")], vec![bomb.clone()]));
    let refused = futures_util::future::join_all(calls).await;

    let grown = server.peak_rss().saturating_sub(before);
    for refused in refused {
        assert_eq!(refused.code, "8", "RESOURCE_EXHAUSTED: {}", refused.message);
        assert_eq!(
            refused.message,
            "the request body is larger than the limit of 1048576 bytes (AML_SCORER_MAX_BODY_BYTES)"
        );
    }
    assert!(grown < 64 << 20, "the peak memory grew by {grown} bytes");
    // The log reader takes the server's lines as they come: the answer can arrive first.
    assert!(
        server.wait_for_log(
            r#""route":"grpc:ModelInfer","status":413"#,
            Duration::from_secs(5)
        ),
        "{}",
        server.logs()
    );
    assert_answers_two_rows(&server, &[], vec![Bytes::from(frame_of(&rows_request(2)))]).await;
}

#[tokio::test]
async fn compressed_calls_are_charged_while_they_inflate_not_once_inflated() {
    // The message limit lets every call below through: only the budget stops them.
    let budget = 2 * MIB;
    let server = Server::start(
        &[
            "--max-body-bytes",
            &(64 * MIB).to_string(),
            "--max-inflight-bytes",
            &budget.to_string(),
        ],
        &[],
    );
    server.wait_ready(Duration::from_secs(20)).await;
    // About 12 MiB of rows, a few hundred KB gzipped.
    let plain = message(150_000);
    let packed = Bytes::from(compressed_frame(&gzip(&plain)));
    let as_budget = |finished: &Finished| {
        assert_eq!(finished.code, "8", "RESOURCE_EXHAUSTED: {}", finished.message);
        assert!(
            finished
                .message
                .contains(&format!("memory budget of {budget} bytes")),
            "{}",
            finished.message
        );
    };

    // Many at once, each refused once its inflated part passes the budget: memory stays within
    // about the budget, not a whole inflated message per call.
    let before = server.peak_rss();
    let calls = (0..8).map(|_| call(&server, &[("grpc-encoding", "gzip")], vec![packed.clone()]));
    let refused = futures_util::future::join_all(calls).await;
    let grown = server.peak_rss().saturating_sub(before);
    // Alone, as the same message sent uncompressed is.
    let alone = call(&server, &[("grpc-encoding", "gzip")], vec![packed]).await;
    let mut sent_plain = vec![0];
    sent_plain.extend_from_slice(&(plain.len() as u32).to_be_bytes());
    sent_plain.extend_from_slice(&plain);
    let uncompressed = call(&server, &[], vec![Bytes::from(sent_plain)]).await;

    refused.iter().for_each(as_budget);
    assert!(grown < 32 << 20, "the peak memory grew by {grown} bytes");
    as_budget(&alone);
    as_budget(&uncompressed);
    let needs_more = "more than the whole in-flight memory budget";
    assert!(alone.message.contains(needs_more), "{}", alone.message);
    assert!(
        uncompressed.message.contains(needs_more),
        "{}",
        uncompressed.message
    );
    assert_answers_two_rows(&server, &[], vec![Bytes::from(frame_of(&rows_request(2)))]).await;
}

#[tokio::test]
async fn compressed_messages_sent_in_many_small_frames_answer_as_sent_whole() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let message = message(2);

    for (coding, compressed) in [("gzip", gzip(&message)), ("deflate", zlib(&message))] {
        let frame = compressed_frame(&compressed);
        let small: Vec<Bytes> = frame.chunks(7).map(Bytes::copy_from_slice).collect();
        assert!(small.len() > 10, "{}", small.len());
        assert_answers_two_rows(&server, &[("grpc-encoding", coding)], small).await;
        assert_answers_two_rows(&server, &[("grpc-encoding", coding)], vec![Bytes::from(frame)]).await;
    }
    // A coding tonic does not take is answered as it always was.
    let zstd = call(
        &server,
        &[("grpc-encoding", "zstd")],
        vec![Bytes::from(compressed_frame(&gzip(&message)))],
    )
    .await;
    assert_eq!(zstd.code, "12", "UNIMPLEMENTED: {}", zstd.message);
}
