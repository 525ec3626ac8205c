//! corral-examples: example frameworks written as actors (batch, long-running
//! service, chaos demo) and the end-to-end benchmarks that drive them.
//!
//! Placeholder: the scheduling milestone fills it.
