//! corral-runtime: the actor runtime every Corral component stands on.
//!
//! Corral's master, allocator, registrar, agents, executors and frameworks are
//! all actors: state plus handlers for typed messages, addressed by a [`Pid`]
//! (`name@host:port`) that works the same whether the actor is in this process
//! or on another machine. This crate holds:
//!
//! - the actor API: [`Actor`], [`Handler`], [`Message`]/[`Request`] and
//!   [`Ctx`], an actor's only door to the world (send, ask, reply, timers,
//!   links, spawn, stop, time, randomness);
//! - the [`Kernel`], a sans-IO core that owns one node's actors, run queue,
//!   timers and links, and that every host drives the same way;
//! - the wire [`codec`] (serde + postcard, length-prefixed frames, size limits);
//! - the production host, [`node`]: one single-threaded actix-rt event loop per
//!   process, QUIC between nodes through quinn and rustls, redb storage, real
//!   OS processes;
//! - the deterministic simulator, [`sim`]: many kernels in one thread on a
//!   virtual clock, a seeded network with partitions and crashes, simulated
//!   disks and processes, invariant checks and a trace hash;
//! - the seams both hosts implement: [`storage`] (a per-node key-value store,
//!   durable after `sync`) and [`process`] (launch, signal, exit).
//!
//! Because actors only ever see [`Ctx`], the same actor code runs on both hosts.
//!
//! # Delivery contract
//! Messages from one actor to another arrive at most once and in the order
//! sent, as long as the two nodes stay connected. Sends are best effort: a
//! message to a missing actor, an unreachable node, over the size limit or past
//! a full backlog is dropped, logged and counted in [`Metrics`]. Protocols that
//! need delivery use acknowledgements and retries, as Mesos does; [`Ctx::link`]
//! tells an actor when a peer stopped or its node was lost. `docs/runtime.md`
//! states these guarantees in full.
//!
//! ```
//! use corral_runtime::{message, Actor, Ctx, Handler, Handlers};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Ping(u64);
//! #[derive(Serialize, Deserialize)]
//! struct Pong(u64);
//! message!(Ping = "doc.Ping" => Pong);
//! message!(Pong = "doc.Pong");
//!
//! struct Ponger;
//! impl Actor for Ponger {
//!     fn handlers(h: &mut Handlers<Self>) {
//!         h.on::<Ping>();
//!     }
//! }
//! impl Handler<Ping> for Ponger {
//!     fn handle(&mut self, Ping(n): Ping, ctx: &mut Ctx<'_, Self>) {
//!         ctx.reply(Pong(n + 1));
//!     }
//! }
//! ```

#![warn(missing_docs)]

mod actor;
mod cell;
pub mod codec;
mod ctx;
mod envelope;
pub mod kernel;
mod message;
mod metrics;
pub mod node;
mod pid;
pub mod process;
pub mod sim;
pub mod storage;
mod time;

#[cfg(test)]
mod kernel_tests;

pub use actor::{Actor, Handler, Handlers};
pub use ctx::{AskError, Ctx, ReplyTo, TimerId};
pub use envelope::DispatchError;
pub use kernel::{Kernel, KernelConfig, SpawnError};
pub use message::{Message, Request};
pub use metrics::{Counter, Metrics, MetricsSnapshot};
pub use node::{Node, NodeConfig, NodeError};
pub use pid::{validate_name, Pid, PidError, MAX_NAME_BYTES};
pub use process::{signal_name, ExitStatus, ProcessId, ProcessRequest, ProcessSpec, Signal};
/// The trait of [`Ctx::rng`]'s random source, re-exported so actor crates
/// need no `rand` dependency of their own.
pub use rand::RngCore;
pub use storage::{MemStorage, Storage, StorageError, Store};
pub use time::Time;
