//! Helpers shared by the `corral` binary's tests.

// Each test binary uses some of them.
#![allow(dead_code)]

pub mod masters;
pub mod procs;
pub mod state;
