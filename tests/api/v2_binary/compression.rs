//! gzip and deflate bodies on `/score` and V2: requests inflated within the body limit, answers
//! compressed as `Accept-Encoding` asks, a zip bomb refused with memory bounded.

use std::io::{Read, Write};
use std::time::Duration;

use flate2::{read::GzDecoder, read::ZlibDecoder, write::DeflateEncoder, write::GzEncoder};
use serde_json::json;

use super::{framed, le, send};
use crate::common::*;

fn raw_deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzip_and_deflate_bodies_score_as_plain_ones_and_other_codings_are_415() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let sample = sample_request().into_bytes();
    for (coding, body) in [
        ("gzip", gzip(&sample)),
        ("deflate", zlib(&sample)),
        // Some clients send raw deflate under the same name.
        ("deflate", raw_deflate(&sample)),
    ] {
        let answer = send(&server, "/score", &[("content-encoding", coding)], body).await;
        let text = answer.text();
        let answer = Answer {
            status: answer.status,
            body: text,
            headers: answer.headers,
        };
        assert_sample_predictions(&answer);
    }
    let v2 = json!({ "inputs": [{ "name": "input", "shape": [1, 10], "datatype": "FP64", "parameters": { "binary_data_size": 80 } }] });
    let row = le(
        &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        f64::to_le_bytes,
    );
    let (body, length) = framed(&v2, &row);
    let path = "/v2/models/sklearn_regression_model/infer";
    let answer = send(
        &server,
        path,
        &[
            ("content-encoding", "gzip"),
            ("inference-header-content-length", &length),
        ],
        gzip(&body),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let expected = reference_prediction(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
    assert_close(
        answer.framed().0["outputs"][0]["data"][0].as_f64().unwrap(),
        expected,
        1e-9,
    );

    let brotli = send(&server, "/score", &[("content-encoding", "br")], sample.clone()).await;
    assert_eq!(brotli.status, 415, "{}", brotli.text());
    assert_eq!(
        brotli.framed().0["message"],
        "Content-Encoding \"br\" is not supported; send the body as it is, or in gzip or deflate"
    );
    let brotli = send(&server, path, &[("content-encoding", "br")], body).await;
    assert_eq!(brotli.status, 415, "{}", brotli.text());
    assert!(
        brotli.framed().0["error"].as_str().unwrap().contains("\"br\""),
        "{}",
        brotli.text()
    );
    let mut broken = gzip(&sample);
    broken.truncate(broken.len() / 2);
    let broken = send(&server, "/score", &[("content-encoding", "gzip")], broken).await;
    assert_eq!(broken.status, 400, "{}", broken.text());
    assert!(broken.text().contains("not valid gzip data"), "{}", broken.text());
    assert_sample_predictions(&post(&server, sample_request()).await);
}

#[tokio::test]
async fn answers_over_1_kib_are_compressed_as_accepted_and_all_vary_by_accept_encoding() {
    let server = Server::start(&[], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let rows: Vec<Vec<f64>> = (0..200)
        .map(|r| (0..10).map(|c| f64::from(r * 10 + c) / 7.0).collect())
        .collect();
    let body = json!({ "data": rows }).to_string().into_bytes();
    let plain = send(&server, "/score", &[], body.clone()).await;
    assert_eq!(plain.status, 200);
    assert!(plain.body.len() > 1024, "{}", plain.body.len());
    assert_eq!(plain.header("vary"), Some("accept-encoding"));
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("br;q=1, deflate;q=0.5, gzip;q=0.1", "deflate"),
    ] {
        let answer = send(&server, "/score", &[("accept-encoding", accept)], body.clone()).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-encoding"), Some(coding), "{accept}");
        assert_eq!(answer.header("vary"), Some("accept-encoding"));
        let mut inflated = Vec::new();
        match coding {
            "gzip" => GzDecoder::new(&answer.body[..]).read_to_end(&mut inflated),
            _ => ZlibDecoder::new(&answer.body[..]).read_to_end(&mut inflated),
        }
        .unwrap();
        assert_eq!(inflated, plain.body, "{accept}");
        assert!(
            answer.body.len() < plain.body.len(),
            "{} of {}",
            answer.body.len(),
            plain.body.len()
        );
    }
    // The sample's answer is under the threshold: sent as it is.
    let small = send(
        &server,
        "/score",
        &[("accept-encoding", "gzip")],
        sample_request().into_bytes(),
    )
    .await;
    assert_eq!(small.header("content-encoding"), None);
    assert_eq!(small.header("vary"), Some("accept-encoding"));
}

#[tokio::test]
async fn a_zip_bomb_is_a_413_after_at_most_the_body_limit_is_inflated() {
    let limit = 1 << 20;
    let server = Server::start(&["--max-body-bytes", &limit.to_string()], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    // 256 MiB of JSON whitespace in about 250 KB of gzip: a few KB per MiB.
    let bomb = {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..256 {
            encoder.write_all(&spaces).unwrap();
        }
        encoder.finish().unwrap()
    };
    assert!(bomb.len() < limit / 2, "{}", bomb.len());
    let before = server.peak_rss();
    for path in ["/score", "/v2/models/sklearn_regression_model/infer"] {
        let answer = send(&server, path, &[("content-encoding", "gzip")], bomb.clone()).await;
        assert_eq!(answer.status, 413, "{path}: {}", answer.text());
        assert!(
            answer.text().contains("limit of 1048576 bytes"),
            "{}",
            answer.text()
        );
    }
    let grown = server.peak_rss().saturating_sub(before);
    assert!(grown < 32 << 20, "the peak memory grew by {grown} bytes");
    assert_sample_predictions(&post(&server, sample_request()).await);
}
