//! corral-master: the master node's actors — the master (agents, frameworks,
//! offers, tasks), the DRF allocator and the replicated registrar — and the
//! cluster vocabulary they share with agents and frameworks: ids and
//! resources.
//!
//! - [`ids`], [`resources`] (Mesos's syntax and arithmetic) and [`task`]
//!   states: the vocabulary every component shares;
//! - [`protocol`]: the framework ↔ master and agent ↔ master wire contract;
//!   [`state`]: the operator protocol (state snapshot, metrics, operator
//!   kills);
//! - [`allocator`]: hierarchical DRF as a pure core plus the actor that runs
//!   it once per interval;
//! - [`offers`]: the offer book with Mesos's accept validation (pure);
//! - [`master`]: the master actor that ties them together;
//! - [`http`]: the master's HTTP API (`/state`, `/metrics`, `/health`,
//!   operator kills) and web UI, on a thread beside the node;
//! - [`registrar`]: the registry replicated over Raft (raft-rs), which
//!   elects the leading master and keeps what must survive failover;
//! - [`terms`]: how agents and frameworks tell the leader from a deposed
//!   one that has not noticed yet.

pub mod allocator;
pub mod container;
pub mod group;
pub mod http;
pub mod ids;
pub mod master;
pub mod offers;
pub mod protocol;
pub mod registrar;
pub mod resources;
pub mod state;
pub mod task;
pub mod terms;
