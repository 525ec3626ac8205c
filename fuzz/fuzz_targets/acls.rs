//! The `--acls` file of masters and agents (Mesos's JSON ACL shape), and the decisions
//! read from it. The input is the file, then optionally a NUL and a
//! principal, a NUL and a role or user to ask about.
//!
//! Holds: nothing panics; a file that reads answers every question, the
//! same way twice.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use corral_api::acls::Acls;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.split('\0');
    let text = parts.next().unwrap_or_default();
    let principal = parts.next();
    let object = parts.next().unwrap_or("*");
    let Ok(acls) = Acls::parse(text) else {
        return;
    };
    for p in [principal, None] {
        let register = acls.may_register(p, object);
        let run = acls.may_run_as(p, object);
        let sandbox = acls.may_access_sandbox(p, Some(object));
        assert_eq!(register, acls.may_register(p, object));
        assert_eq!(run, acls.may_run_as(p, object));
        assert_eq!(sandbox, acls.may_access_sandbox(p, Some(object)));
        // Without rules of its own, permissive decides every sandbox.
        if !acls.restricts_sandboxes() {
            assert!(sandbox && acls.may_access_sandbox(p, None));
        }
        let _ = acls.may_access_log(p);
    }
    assert_eq!(Acls::parse(text).as_ref(), Ok(&acls));
});
