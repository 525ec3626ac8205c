//! The wire codec: serde + postcard, length-prefixed frames, size limits.
//!
//! Everything that turns values into bytes or back goes through this module,
//! so the format can be swapped in one place (docs/architecture.md, Dependencies,
//! says why postcard and not bincode). A frame on a stream is a little-endian `u32` length
//! followed by that many bytes: a postcard-encoded [`Header`] and, for
//! messages, the postcard-encoded body right after it.

use std::net::SocketAddr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::pid::Pid;

/// The default largest frame a node sends or accepts: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;

const LEN_BYTES: usize = 4;

/// Why bytes could not be turned into a value or a value into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes do not decode as the expected type (garbage or a different version).
    #[error("undecodable bytes: {0}")]
    Decode(String),
    /// The value could not be encoded (a serde impl refused it).
    #[error("unencodable value: {0}")]
    Encode(String),
    /// The encoded form is larger than the configured limit.
    #[error("message of {size_bytes} bytes exceeds the {max_bytes}-byte limit")]
    TooLarge {
        /// Size of the offending message or frame.
        size_bytes: usize,
        /// The limit in force.
        max_bytes: usize,
    },
}

/// Encodes a value on its own (no frame); for bodies and tests.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_stdvec(value).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes a value from exactly `bytes`, refusing inputs over `max_bytes`.
///
/// Trailing bytes are an error: a frame that decodes with bytes left over is
/// not the message its name claims.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], max_bytes: usize) -> Result<T, CodecError> {
    if bytes.len() > max_bytes {
        return Err(CodecError::TooLarge {
            size_bytes: bytes.len(),
            max_bytes,
        });
    }
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(CodecError::Decode(format!("{} trailing bytes", rest.len()))),
        Err(e) => Err(CodecError::Decode(e.to_string())),
    }
}

/// How a message relates to a request/reply exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Corr {
    /// A one-way message.
    Tell,
    /// A request; the receiver answers with `Reply` carrying the same id.
    Ask(u64),
    /// The answer to the sender's `Ask` with this id.
    Reply(u64),
}

/// Why a node answered an ask with a failure instead of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AskFailure {
    /// No actor of that name runs on the node.
    NoSuchActor,
    /// The actor has no handler for that message name.
    NoHandler,
    /// The body did not decode as the handler's message type.
    Undecodable,
    /// The target's node was lost before it answered (raised by the asking
    /// node itself, never sent).
    Unreachable,
}

/// The first part of every frame: the wire contract between nodes.
///
/// Variants are only ever appended (postcard encodes the variant index), so
/// older nodes keep decoding what they know.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum Header<'a> {
    /// First frame on a stream: who is sending, and which run of that node.
    Hello {
        /// The sender's advertised address.
        addr: SocketAddr,
        /// Random per process start: a new value means the node restarted.
        incarnation: u64,
    },
    /// A message for actor `to`; the body follows the header.
    Msg {
        /// Name of the receiving actor on the receiving node.
        to: &'a str,
        /// The sending actor.
        from: Pid,
        /// The message's wire name.
        name: &'a str,
        /// Its place in an ask/reply exchange.
        corr: Corr,
    },
    /// `watcher` wants `exited` when the local actor `target` stops.
    Link {
        /// The remote actor that links.
        watcher: Pid,
        /// The receiving node's actor it links to.
        target: &'a str,
    },
    /// `watcher` no longer wants to hear about `target`.
    Unlink {
        /// The remote actor that unlinks.
        watcher: Pid,
        /// The receiving node's actor.
        target: &'a str,
    },
    /// The sender's actor `target` stopped (or never existed); tell `watcher`.
    Exited {
        /// The sender's actor that stopped.
        target: &'a str,
        /// The receiving node's actor that linked to it.
        watcher: &'a str,
    },
    /// The ask `id` from `to` failed on the sending node.
    AskFailed {
        /// The receiving node's actor that asked.
        to: &'a str,
        /// The ask's id.
        id: u64,
        /// Why it failed.
        failure: AskFailure,
    },
}

/// Appends one frame (header, then `body` if given) to `buf`; returns the
/// bytes added.
///
/// On error `buf` is left exactly as it was, so one bad message never corrupts
/// the frames queued before it.
pub fn append_frame<B: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    header: &Header<'_>,
    body: Option<&B>,
    max_bytes: usize,
) -> Result<usize, CodecError> {
    let start = buf.len();
    buf.extend_from_slice(&[0; LEN_BYTES]);
    let result = write_parts(buf, header, body).and_then(|()| {
        let size_bytes = buf.len() - start - LEN_BYTES;
        if size_bytes > max_bytes {
            return Err(CodecError::TooLarge {
                size_bytes,
                max_bytes,
            });
        }
        Ok(size_bytes)
    });
    match result {
        Ok(size_bytes) => {
            // size_bytes <= max_bytes, and a configured max fits u32 (validated).
            let len = u32::try_from(size_bytes).map_err(|_| CodecError::TooLarge {
                size_bytes,
                max_bytes: u32::MAX as usize,
            })?;
            buf[start..start + LEN_BYTES].copy_from_slice(&len.to_le_bytes());
            Ok(size_bytes + LEN_BYTES)
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

fn write_parts<B: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    header: &Header<'_>,
    body: Option<&B>,
) -> Result<(), CodecError> {
    let taken = std::mem::take(buf);
    let mut out = postcard::to_extend(header, taken).map_err(|e| CodecError::Encode(e.to_string()));
    if let (Ok(v), Some(body)) = (&mut out, body) {
        let taken = std::mem::take(v);
        out = postcard::to_extend(body, taken).map_err(|e| CodecError::Encode(e.to_string()));
    }
    match out {
        Ok(v) => {
            *buf = v;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Splits a frame payload into its header and the body bytes after it.
pub fn split_frame(payload: &[u8]) -> Result<(Header<'_>, &[u8]), CodecError> {
    postcard::take_from_bytes(payload).map_err(|e| CodecError::Decode(e.to_string()))
}

/// What a [`FrameReader`] found in the bytes it was fed.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole frame payload (without its length prefix), for
    /// [`Kernel::handle_frame`](crate::Kernel::handle_frame).
    Whole(&'a [u8]),
    /// A frame announced as larger than the limit; its bytes are skipped.
    Oversized {
        /// The size the frame's length prefix announced.
        size_bytes: usize,
    },
}

/// Reassembles frames from a byte stream, sans-IO: feed bytes, take frames.
///
/// Oversized frames are skipped without being buffered, so a peer announcing
/// 4 GiB cannot make the node allocate it, and the frames after it still come
/// through.
///
/// Public because it is the first thing a node runs on bytes from a peer:
/// the node host reads QUIC streams with it, and the fuzz targets
/// (`fuzz/`) feed it what a hostile peer could send.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    pos: usize,
    skip_bytes: usize,
    max_bytes: usize,
}

impl FrameReader {
    /// A reader that accepts frames of at most `max_bytes` (without the
    /// length prefix).
    pub fn new(max_bytes: usize) -> FrameReader {
        FrameReader {
            buf: Vec::new(),
            pos: 0,
            skip_bytes: 0,
            max_bytes,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.skip_bytes > 0 {
            let n = self.skip_bytes.min(bytes.len());
            self.skip_bytes -= n;
            bytes = &bytes[n..];
        }
        // Drop consumed bytes before growing; frames handed out earlier are
        // no longer borrowed once the caller can push again.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Takes the next complete frame, if the bytes so far hold one.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        if self.skip_bytes > 0 {
            return None;
        }
        let avail = &self.buf[self.pos..];
        let len_bytes: [u8; LEN_BYTES] = avail.get(..LEN_BYTES)?.try_into().ok()?;
        let size_bytes = u32::from_le_bytes(len_bytes) as usize;
        if size_bytes > self.max_bytes {
            let have = avail.len() - LEN_BYTES;
            let skip_now = have.min(size_bytes);
            self.pos += LEN_BYTES + skip_now;
            self.skip_bytes = size_bytes - skip_now;
            return Some(Frame::Oversized { size_bytes });
        }
        avail.get(LEN_BYTES..LEN_BYTES + size_bytes)?;
        let start = self.pos + LEN_BYTES;
        self.pos = start + size_bytes;
        Some(Frame::Whole(&self.buf[start..self.pos]))
    }

    /// Bytes of a frame that started but never finished; call when the stream ends.
    pub fn leftover_bytes(&self) -> usize {
        (self.buf.len() - self.pos) + self.skip_bytes
    }
}

/// The frames of a buffer known to hold whole frames (a batch the kernel
/// produced), without copying; stops at the first incomplete one.
pub(crate) fn whole_frames(mut bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let len_bytes: [u8; LEN_BYTES] = bytes.get(..LEN_BYTES)?.try_into().ok()?;
        let size_bytes = u32::from_le_bytes(len_bytes) as usize;
        let frame = bytes.get(LEN_BYTES..LEN_BYTES + size_bytes)?;
        bytes = &bytes[LEN_BYTES + size_bytes..];
        Some(frame)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Sample {
        Unit,
        Text { s: String, n: i64 },
        Blob(Vec<u8>, Option<u32>),
        Nested(Vec<(String, f64)>, bool),
    }

    fn sample() -> impl Strategy<Value = Sample> {
        prop_oneof![
            Just(Sample::Unit),
            (any::<String>(), any::<i64>()).prop_map(|(s, n)| Sample::Text { s, n }),
            (
                prop::collection::vec(any::<u8>(), 0..2048),
                any::<Option<u32>>()
            )
                .prop_map(|(b, o)| Sample::Blob(b, o)),
            (
                prop::collection::vec((any::<String>(), -1e9f64..1e9), 0..8),
                any::<bool>()
            )
                .prop_map(|(v, b)| Sample::Nested(v, b)),
        ]
    }

    fn pid() -> Pid {
        "a@127.0.0.1:1".parse().unwrap()
    }

    proptest! {
        #[test]
        fn values_round_trip(v in sample()) {
            let bytes = encode(&v).unwrap();
            prop_assert_eq!(decode::<Sample>(&bytes, usize::MAX).unwrap(), v);
        }

        #[test]
        fn frames_round_trip_through_any_chunking(
            vs in prop::collection::vec(sample(), 1..20),
            cut in 1usize..300,
        ) {
            let mut buf = Vec::new();
            for v in &vs {
                let h = Header::Msg { to: "x", from: pid(), name: "t.S", corr: Corr::Ask(7) };
                append_frame(&mut buf, &h, Some(v), 1 << 20).unwrap();
            }
            let mut r = FrameReader::new(1 << 20);
            let mut got = Vec::new();
            for chunk in buf.chunks(cut) {
                r.push(chunk);
                while let Some(f) = r.next_frame() {
                    let Frame::Whole(payload) = f else { panic!("oversized") };
                    let (h, body) = split_frame(payload).unwrap();
                    let is_ask = matches!(h, Header::Msg { corr: Corr::Ask(7), .. });
                    prop_assert!(is_ask);
                    got.push(decode::<Sample>(body, usize::MAX).unwrap());
                }
            }
            prop_assert_eq!(got, vs);
            prop_assert_eq!(r.leftover_bytes(), 0);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = split_frame(&bytes);
            let _ = decode::<Sample>(&bytes, usize::MAX);
            let mut r = FrameReader::new(256);
            r.push(&bytes);
            while r.next_frame().is_some() {}
        }
    }

    #[test]
    fn oversized_frame_is_skipped_and_the_next_one_survives() {
        let mut buf = Vec::new();
        let h = Header::Exited {
            target: "t",
            watcher: "w",
        };
        append_frame::<()>(&mut buf, &h, None, 1024).unwrap();
        let mut stream = Vec::new();
        stream.extend_from_slice(&5000u32.to_le_bytes());
        stream.extend_from_slice(&[0xAB; 5000]);
        stream.extend_from_slice(&buf);
        let mut r = FrameReader::new(1024);
        let mut frames = Vec::new();
        for chunk in stream.chunks(700) {
            r.push(chunk);
            while let Some(f) = r.next_frame() {
                frames.push(match f {
                    Frame::Whole(p) => Frame::Whole(p.to_vec().leak()),
                    Frame::Oversized { size_bytes } => Frame::Oversized { size_bytes },
                });
            }
        }
        assert_eq!(frames[0], Frame::Oversized { size_bytes: 5000 });
        assert_eq!(frames.len(), 2);
        let Frame::Whole(p) = &frames[1] else {
            panic!("expected a frame")
        };
        assert_eq!(split_frame(p).unwrap().0, h);
    }

    #[test]
    fn truncated_frame_is_reported_as_leftover() {
        let mut buf = Vec::new();
        append_frame(
            &mut buf,
            &Header::Exited {
                target: "t",
                watcher: "w",
            },
            Some(&[1u8; 10][..]),
            1024,
        )
        .unwrap();
        let mut r = FrameReader::new(1024);
        r.push(&buf[..buf.len() - 3]);
        assert_eq!(r.next_frame(), None);
        assert_eq!(r.leftover_bytes(), buf.len() - 3);
    }

    #[test]
    fn too_large_encode_leaves_buffer_untouched() {
        let mut buf = vec![1, 2, 3];
        let err = append_frame(
            &mut buf,
            &Header::Exited {
                target: "t",
                watcher: "w",
            },
            Some(&vec![0u8; 100]),
            50,
        )
        .unwrap_err();
        assert!(matches!(err, CodecError::TooLarge { max_bytes: 50, .. }));
        assert_eq!(buf, vec![1, 2, 3]);
    }

    #[test]
    fn decode_refuses_trailing_bytes_and_oversize() {
        let mut bytes = encode(&7u32).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode::<u32>(&bytes, 100),
            Err(CodecError::Decode(_))
        ));
        assert!(matches!(
            decode::<u32>(&bytes, 1),
            Err(CodecError::TooLarge { .. })
        ));
    }
}
