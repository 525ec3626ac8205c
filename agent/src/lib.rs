//! corral-agent: the agent actor that offers a machine's resources to the
//! master and runs tasks through containerizers, with checkpointed recovery.
//!
//! Placeholder: the scheduling milestone builds it on `corral-runtime`.
