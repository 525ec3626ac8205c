//! corral-executor: the executor library and the command executor that the
//! agent launches to run one task and report its status.
//!
//! Placeholder: the scheduling milestone builds it on `corral-runtime`.
