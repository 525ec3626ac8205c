//! Every message type a node decodes from its peers. The input is a wire
//! name, a NUL, then the body; the frame goes through the kernel as a
//! peer's would: header, handler lookup in the sink's table (every
//! registered message, `corral_fuzz::NAMES`), body decode, handler. Seeds
//! are real messages (`fuzz/corpus/messages`, written by corral-master's
//! `fuzz_seeds` test).
//!
//! Holds: nothing panics; a frame is delivered or dropped for a name no
//! handler has; what decodes encodes again to bytes that decode to the
//! same encoding (checked by the sink), or it is counted as undecodable.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use corral_fuzz::{counters, feed_stream, kernel, message_frame, MAX_MESSAGE_BYTES};
use corral_runtime::codec::Corr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(nul) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let Ok(name) = std::str::from_utf8(&data[..nul]) else {
        return;
    };
    let body = &data[nul + 1..];
    let frame = message_frame(name, Corr::Tell, body);
    let mut k = kernel(MAX_MESSAGE_BYTES);
    let before = counters(&k);
    let fed = feed_stream(&mut k, &frame, frame.len(), MAX_MESSAGE_BYTES);
    assert_eq!(fed, 1, "one frame in, one frame read");
    let after = counters(&k);
    let delivered = after.delivered - before.delivered;
    let unhandled = after.dropped_no_handler - before.dropped_no_handler;
    assert_eq!(
        delivered + unhandled,
        1,
        "{name:?} was neither delivered nor dropped"
    );
    assert!(after.decode_errors <= before.decode_errors + delivered);
});
