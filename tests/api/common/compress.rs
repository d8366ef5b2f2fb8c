//! Request bodies and messages compressed as clients send them.

use std::io::Write;

use flate2::{
    write::{GzEncoder, ZlibEncoder},
    Compression,
};

/// `bytes` gzip-compressed (`Content-Encoding` / `grpc-encoding: gzip`).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `bytes` zlib-compressed (`deflate`, as HTTP and gRPC mean it).
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
