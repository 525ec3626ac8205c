//! corral-executor: the command executor, the process that runs one command
//! task for an agent and reports its status.
//!
//! # Its place
//! A framework's command task reaches an agent in a `RunTask`. The agent
//! makes a sandbox directory and launches one `corral-executor` process per
//! command task, with the agent's pid and the executor's identity in its
//! environment ([`env`](mod@env)). The executor starts a runtime node of its own,
//! links to the agent and registers with it over the runtime (QUIC), gets its
//! task, runs the task's shell command in the sandbox (output in
//! `sandbox/stdout` and `sandbox/stderr`) and reports each status change
//! until the agent acknowledges it; the agent then owns the update and
//! forwards it to the master and the framework. The agent↔executor protocol
//! is `corral_api::executor`.
//!
//! # Its loop
//! [`lifecycle::Lifecycle`] holds every decision without I/O: inputs
//! (`handle_*`, each with the present time), outputs polled as
//! [`lifecycle::Action`]s, and one deadline ([`lifecycle::Lifecycle::poll_timeout`]).
//! [`command::CommandExecutor`] is the actor around it: it feeds messages,
//! process exits, link failures and timer ticks in, and carries the actions
//! out through `Ctx` (send, launch, signal, stop), so the same code runs on a
//! real node and in the simulator. [`run::run_from_env`] is the binary's edge:
//! it reads the environment, starts the node and waits for the
//! [`command::Outcome`].
//!
//! ```text
//! executor                         agent
//!    | RegisterExecutor (every 1 s)  |
//!    |------------------------------>|
//!    |                       RunTask |
//!    |<------------------------------|
//!    | ExecutorUpdate STARTING       |   each update is resent, in order,
//!    | ExecutorUpdate RUNNING        |   every retry interval until its
//!    | ExecutorUpdate FINISHED/...   |   UpdateAck arrives
//!    |------------------------------>|
//!    |           UpdateAck (per uuid)|
//!    |<------------------------------|
//!    stops once the terminal update is acknowledged
//! ```
//!
//! # Container tasks
//! A task with a `container` (Docker) runs the same way, but the executor's
//! lifecycle asks a container driver to start and stop it instead of
//! launching a process; the driver ([`docker`], bollard on a thread of its
//! own, started by [`run::run_from_env`]) streams the container's output
//! into the sandbox's files and reports back with messages. The agent
//! launches the same binary for both (Mesos has a separate
//! `mesos-docker-executor`).
//!
//! Like Mesos's command executor it registers within a timeout (60 s by
//! default) or gives up, kills its command with SIGTERM then SIGKILL after a
//! grace period on `KillTask`/`ShutdownExecutor`, and kills it when the agent
//! goes away — unless the framework checkpoints (`MESOS_CHECKPOINT=1`): then
//! the task keeps running and the executor sends `ReregisterExecutor` to the
//! same agent pid every second until the restarted agent answers or
//! `MESOS_RECOVERY_TIMEOUT` (15 min) passes.

#![warn(missing_docs)]

pub mod command;
pub mod config;
pub mod container;
pub mod docker;
pub mod env;
pub mod lifecycle;
mod outcome;
pub mod report;
pub mod run;
