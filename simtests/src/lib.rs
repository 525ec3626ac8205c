//! corral-simtests: deterministic simulation scenarios of whole clusters,
//! their invariant checkers, and the seed runner behind `corral sim`.
//!
//! A scenario builds a [`Sim`](corral_runtime::sim::Sim) from a seed, drives
//! faults from that seed, registers invariants that the simulator checks
//! after every event, and ends with a liveness check once faults stop. The
//! checkers read the cluster from outside the actors (shared recorders), in
//! the manner of TigerBeetle's cluster checkers. [`runner`] runs many seeds
//! (over cores if asked) and reports each failure with the command that
//! replays it.

pub mod c1m;
pub mod failover;
pub mod harness;
pub mod nodes;
pub mod registrar;
pub mod ring;
pub mod runner;
mod scenarios;

pub use runner::{median, run_batch, Batch, Figure, Outcome, Params, Scenario, Summary};
pub use scenarios::{find, scenarios};
