//! The Mesos text syntax of resources and attributes (`--resources`,
//! `--attributes`, `corral execute --cpus ...`): `Resources::parse`,
//! `Attributes::parse`.
//!
//! Holds: nothing panics; whatever parses prints to a text that parses
//! back to the same value and prints the same again; parsed resources
//! survive the wire codec unchanged.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use corral_api::resources::{Attributes, Resources};
use corral_runtime::codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Resources::parse(text) {
        let shown = r.to_string();
        let back = Resources::parse(&shown)
            .unwrap_or_else(|e| panic!("{text:?} parsed, printed as {shown:?}, which fails: {e}"));
        assert_eq!(back, r, "{text:?} -> {shown:?} read back differently");
        assert_eq!(back.to_string(), shown);
        let bytes = codec::encode(&r).unwrap_or_else(|e| panic!("{shown:?} does not encode: {e}"));
        let wire: Resources = codec::decode(&bytes, usize::MAX)
            .unwrap_or_else(|e| panic!("{shown:?} does not decode: {e}"));
        assert_eq!(wire, r, "{shown:?} changed on the wire");
    }
    if let Ok(a) = Attributes::parse(text) {
        let shown = a.to_string();
        let back = Attributes::parse(&shown)
            .unwrap_or_else(|e| panic!("{text:?} parsed, printed as {shown:?}, which fails: {e}"));
        assert_eq!(back, a, "{text:?} -> {shown:?} read back differently");
        assert_eq!(back.to_string(), shown);
    }
});
