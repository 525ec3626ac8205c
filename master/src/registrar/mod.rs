//! The replicated registrar: the registry (admitted agents, role weights,
//! framework ids) kept in a Raft log among 3 or 5 masters with raft-rs.
//!
//! - [`registry`]: the state machine — [`Op`]s and the pure [`Registry::apply`];
//! - [`storage`]: the Raft log raft-rs reads, persisted through a [`Disk`]
//!   (the actor's `ctx.store()`), reloaded on restart;
//! - [`ready`]: the sans-IO Ready handling (write, sync, send, apply);
//! - [`actor`]: the [`Registrar`] actor; [`protocol`]: its messages;
//!   [`events`]: what it reports to an observer.
//!
//! Every `snapshot_every` applied entries the log is replaced by a snapshot
//! of the registry; a restarted member starts from its snapshot, and one
//! that fell behind the leader's snapshot is sent it. Not yet: membership
//! changes (the group is fixed by `--masters`) and read-index reads.

pub mod actor;
pub mod config;
pub mod error;
pub mod events;
pub mod protocol;
pub mod ready;
pub mod registry;
pub mod storage;

pub use actor::Registrar;
pub use config::{RegistrarBug, RegistrarConfig};
pub use error::{ProposeError, RegistrarError};
pub use events::{Observer, RaftEvent, Role};
pub use protocol::{GetLeader, GetRegistry, LeaderInfo, Propose, Proposed, Raft, RegistrySnapshot};
pub use registry::{AgentEntry, FrameworkEntry, LeaderEntry, Op, Registry};
pub use storage::{Disk, LogStore};
