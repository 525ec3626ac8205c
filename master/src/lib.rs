//! corral-master: the master node's actors — the master (agents, frameworks,
//! offers, tasks), the DRF allocator and the replicated registrar. The
//! vocabulary and wire protocols it shares with agents, executors and
//! frameworks are `corral-api`'s.
//!
//! - [`state`]: the operator protocol (state snapshot, metrics, operator
//!   kills);
//! - [`board`]: where the master publishes its state for HTTP readers;
//! - [`events`]: the changes it announces to subscribed operators;
//! - [`allocator`]: hierarchical DRF as a pure core plus the actor that runs
//!   it once per interval;
//! - [`acls`]: authorization rules in Mesos's ACL shape (`--acls`),
//!   `corral-api`'s (agents enforce them too), re-exported here;
//! - [`core`]: the master's decisions as a sans-IO core, with the offer
//!   book and Mesos's accept validation;
//! - [`master`]: the master actor, a thin shell that runs the core and
//!   spawns the allocator beside it;
//! - [`http`]: the master's HTTP API (`/state`, `/metrics`, `/health`,
//!   operator kills) and web UI, on a thread beside the node;
//! - [`registrar`]: the registry replicated over Raft (raft-rs), which
//!   elects the leading master and keeps what must survive failover.

pub use corral_api::acls;
pub mod allocator;
pub mod board;
pub mod core;
pub mod events;
pub mod group;
pub mod http;
pub mod master;
pub mod registrar;
pub mod state;
mod state_tasks;

#[cfg(test)]
mod fuzz_seeds;
