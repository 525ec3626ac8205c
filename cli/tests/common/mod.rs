//! Helpers shared by the `corral` binary's tests.

pub mod procs;
