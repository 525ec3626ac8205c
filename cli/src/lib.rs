//! The `corral` binary's own code that is pure enough to be reached from
//! outside the binary: the `--config` file's reading ([`config`]), which
//! the `config` fuzz target drives. Everything else of the binary lives
//! in `main.rs`'s modules.

// The config file is read from disk here, as a binary's edge may
// (clippy.toml keeps files out of actor code).
#![allow(clippy::disallowed_methods)]

pub mod config;
