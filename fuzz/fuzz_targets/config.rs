//! The `--config` TOML file of `corral master` and `corral agent`,
//! layered under a command line (`corral::config::layered`, the binary's
//! own code), for a stand-in subcommand with a flag of each kind the
//! daemons have: a string, a number, a flag without a value, and a
//! boolean that takes one (`--switch-user`).
//!
//! The input is one byte choosing the flags the command line sets, then
//! the file's text.
//!
//! Holds: nothing panics (clap's debug assertions on); a flag the command
//! line sets keeps its value; a file that gives only strings to the
//! string flag and booleans to the boolean ones is taken, with its values.
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsString;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [choice, text @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let command = corral::config::stand_in_command();
    let mut args: Vec<OsString> = vec!["corral".into(), "daemon".into()];
    let port_given = choice & 1 != 0;
    if port_given {
        args.extend(["--port".into(), "7".into()]);
    }
    if choice & 2 != 0 {
        args.push("--verbose".into());
    }
    let Ok(matches) = command.clone().try_get_matches_from(&args) else {
        unreachable!("the stand-in command line parses");
    };
    let layered = corral::config::layered(&command, args, &matches, text, "fuzz.toml");
    // What the file says, read apart, to check the answer against.
    let table = toml::from_str::<toml::Table>(text).ok();
    let plain = table.as_ref().is_some_and(|t| {
        t.iter().all(|(k, v)| match (k.as_str(), v) {
            ("weights", toml::Value::String(_)) => true,
            ("verbose" | "switch-user" | "switch_user", toml::Value::Boolean(_)) => true,
            _ => false,
        })
    });
    let m = match layered {
        Ok(all) => all,
        Err(e) => {
            assert!(!plain, "a plain file was refused: {e:#}\n{text:?}");
            return;
        }
    };
    let Some(m) = m.subcommand_matches("daemon") else {
        unreachable!("the daemon subcommand is matched");
    };
    if port_given {
        assert_eq!(m.get_one::<i64>("port"), Some(&7), "{text:?}");
    }
    if let Some(toml::Value::String(w)) = table.as_ref().and_then(|t| t.get("weights")) {
        assert_eq!(m.get_one::<String>("weights"), Some(w), "{text:?}");
    }
});
