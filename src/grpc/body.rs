//! The inference request as it arrives: its encoded bytes, decoded later by the scorer's codec.

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{skip_field, DecodeContext, WireType};
use prost::DecodeError;

/// A `ModelInferRequest`, undecoded. tonic hands the service this instead of the decoded
/// message (see `tools/grpc-codegen`), so that the scorer decodes it where it decodes every body:
/// on the request's task when small, on a blocking thread when large, within the scoring timeout
/// and after the in-flight budget has been charged for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferBody(pub Bytes);

impl prost::Message for InferBody {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    /// Only reached when the message is nested in another, which none is: the whole message is
    /// taken by `merge`.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        skip_field(wire_type, tag, buf, ctx)
    }

    fn merge(&mut self, mut buf: impl Buf) -> Result<(), DecodeError> {
        // tonic's buffer hands its bytes over without a copy.
        self.0 = buf.copy_to_bytes(buf.remaining());
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}
