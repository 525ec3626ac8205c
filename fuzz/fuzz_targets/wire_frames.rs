//! The bytes a peer writes on a stream to a node: the frame reader, the
//! header decoder and the kernel's handling of every header kind (links,
//! exits, ask failures, messages to the sink, which holds every wire
//! message type). The first byte sets the read size, so frames split
//! across reads are covered.
//!
//! Holds: nothing panics; the reader hands out the same frames however
//! the stream is split; what the kernel writes back is whole frames.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use corral_fuzz::{feed_stream, kernel, MAX_FRAME_BYTES};
use corral_runtime::codec::{Frame, FrameReader};
use libfuzzer_sys::fuzz_target;

/// The frames of `stream` read in `chunk_bytes` pieces, copied out, with
/// oversized ones as their announced size.
fn frames(stream: &[u8], chunk_bytes: usize) -> (Vec<Result<Vec<u8>, usize>>, usize) {
    let mut reader = FrameReader::new(MAX_FRAME_BYTES);
    let mut out = Vec::new();
    for chunk in stream.chunks(chunk_bytes) {
        reader.push(chunk);
        while let Some(frame) = reader.next_frame() {
            out.push(match frame {
                Frame::Whole(payload) => Ok(payload.to_vec()),
                Frame::Oversized { size_bytes } => Err(size_bytes),
            });
        }
    }
    (out, reader.leftover_bytes())
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk_bytes = usize::from(chunk) + 1;
    let whole = frames(stream, stream.len().max(1));
    let split = frames(stream, chunk_bytes);
    assert_eq!(whole, split, "the frames depend on how the stream is read");
    let mut k = kernel(MAX_FRAME_BYTES);
    feed_stream(&mut k, stream, chunk_bytes, MAX_FRAME_BYTES);
});
