//! corral-agent: the agent, the actor on each machine that offers the
//! machine's resources to the master and runs the tasks the master places on
//! it.
//!
//! # Its place
//! The master decides; agents carry out. An [`Agent`] registers with the
//! leading master of its list (retrying with backoff, moving on to the next
//! master when one does not answer and to the leader a master names, until
//! admitted; and again under the same id, reporting its tasks, whenever the
//! link breaks or a new leader announces itself), answers its pings, and
//! for each task in a `RunTasks` starts an executor process
//! (`corral-executor`, the command executor) in a sandbox directory. The executor registers back, receives
//! its task, runs it and reports each state change. The agent acknowledges
//! those reports at once and then owns them: its status update manager
//! ([`updates`]) forwards them to the master strictly in order per task, one
//! in flight, retrying with backoff until the framework's acknowledgement
//! comes back through the master — Mesos's at-least-once, ordered delivery.
//! When an executor misbehaves (never registers, ignores a kill, dies) the
//! agent ends the task itself with a terminal update of its own.
//!
//! # Its loop
//! The actor is driven only by messages (master, executors), its timers
//! (registration retries, update retries, registration and kill deadlines)
//! and process exits, all through `corral_runtime::Ctx`; it reads no
//! clock, file or OS state itself, so the simulator runs it unchanged. Its
//! decisions are a sans-IO core, [`core::AgentCore`]: inputs are `handle_*`
//! methods taking the moment and the sender, outputs are
//! [`core::Action`]s the actor carries out in order. What
//! touches the machine sits at the binary edge: [`detect_resources`] and
//! [`hostname`] fill an [`AgentConfig`] before the actor starts.
//!
//! # Operators
//! [`state::GetAgentState`] asks the actor for a snapshot of itself; the
//! agent's HTTP API ([`http::serve`]: `/state`, `/metrics`, sandbox files)
//! stands on it, on a thread beside the node. So does sandbox collection
//! ([`gc`]): finished tasks' sandboxes stay for operators to read, until
//! `--gc-delay` passes (sooner as the disk fills), then a sweeper thread
//! removes them.
//!
//! # Containers
//! A task with a Docker container description runs when the agent offers
//! the docker containerizer ([`AgentConfig::containerizers`]) and Docker
//! answered at start ([`prepare_docker`], at the binary edge); otherwise
//! it gets TASK_ERROR naming why. The executor runs the container (see
//! `corral_executor::docker`); the agent treats it like any other task.
//!
//! # Restarts
//! The agent checkpoints its id and, per task, the framework, the task, its
//! executor's pid, its latest state and its unacknowledged updates in the
//! node's store ([`checkpoint`]), synced before an executor's update is
//! acknowledged. Restarted on the same store (and address), it re-registers
//! under its old id, resends the pending updates, and waits
//! `recovery_timeout` for the executors to re-register
//! (`ReregisterExecutor`); tasks whose executor does not come back fail.
//! With [`RecoverMode::Cleanup`] it shuts the old executors down instead.
//!
//! # Not yet
//! cgroup limits for process tasks, and a framework's own executor's
//! resources (docs/architecture.md, Agent).

#![warn(missing_docs)]

mod agent;
pub mod checkpoint;
mod config;
pub mod containerizer;
pub mod containerizers;
pub mod core;
mod detect;
mod error;
mod events;
pub mod gc;
pub mod http;
pub mod sandbox;
pub mod state;
pub mod updates;

pub use agent::Agent;
pub use config::{AgentBug, AgentConfig, RecoverMode};
pub use containerizers::{prepare_docker, Containerizer, DockerCheck};
pub use core::TaskSummary;
pub use detect::{detect_resources, hostname};
pub use error::{AgentError, ConfigError};
pub use events::{AgentEvent, Observer};
