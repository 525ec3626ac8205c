//! The credentials files: the master's `--credentials` (and an agent's
//! `--http-credentials`), JSON or TOML, and one principal's
//! `--credential`, JSON, TOML or Mesos's plain `principal secret`.
//!
//! Holds: nothing panics; a credential that reads is one a master holding
//! it verifies, and its HTTP Basic header is well formed.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use corral_api::auth::{Credential, Credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(all) = Credentials::parse(text) {
        assert!(!all.is_empty(), "a credentials file read with no principal");
    }
    if let Ok(one) = Credential::parse(text) {
        assert!(!one.principal.is_empty() && !one.secret.reveal().is_empty());
        let master = Credentials::from_list(vec![one.clone()])
            .unwrap_or_else(|e| panic!("a credential that read is refused in a list: {e}"));
        assert_eq!(master.verify(&one), Ok(one.principal.clone()));
        let header = one.basic_header();
        assert!(header.starts_with("Basic ") && header.is_ascii());
    }
});
