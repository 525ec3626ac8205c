//! corral-simtests: deterministic simulation scenarios of whole clusters,
//! their invariant checkers and the seed runner.
//!
//! Placeholder: the simulator milestone fills it.
