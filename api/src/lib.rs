//! corral-api: the vocabulary and wire contract every Corral component
//! shares, and all a framework, executor or tool needs to talk to a
//! cluster. It depends on serde (with serde_json, toml and base64 for
//! credentials and ACLs) and the runtime's message trait only, so a
//! framework built on it pulls in none of the master's machinery (Raft,
//! storage, the HTTP server).
//!
//! - [`ids`], [`resources`] (one agent's bundle, Mesos's syntax and
//!   arithmetic, and the [`resources::Quantities`] summed across agents),
//!   [`task`] (what to run, its states and status updates) and
//!   [`container`] (Docker container tasks);
//! - one module per protocol, each reading like a spec: [`framework`]
//!   (framework ↔ master), [`agent`] (agent ↔ master) and [`executor`]
//!   (executor ↔ agent, with [`executor_env`], the environment an executor
//!   is started with);
//! - [`leader`]: how agents and frameworks find the leading master and tell
//!   it from a deposed one;
//! - [`auth`]: credentials, and the master's list of them;
//! - [`acls`]: authorization rules in Mesos's ACL shape (`--acls`), which
//!   masters and agents enforce.
//!
//! Wire names are stable (`master.*`, `executor.*`): renaming one breaks
//! every peer of another version.

pub mod acls;
pub mod agent;
pub mod auth;
pub mod container;
pub mod executor;
pub mod executor_env;
pub mod framework;
pub mod ids;
pub mod leader;
pub mod resources;
pub mod task;
