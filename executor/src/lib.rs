//! corral-executor: the command executor, the process that runs command
//! tasks for an agent and reports their statuses.
//!
//! # Its place
//! A framework's command tasks reach an agent in a `RunTasks`. The agent
//! makes a sandbox directory per task and launches one `corral-executor`
//! process for the command tasks of that message, with the agent's pid and
//! the executor's identity (named for the first task) in its environment
//! ([`env`](mod@env)). The executor starts a runtime node of its own, links
//! to the agent and registers with it over the runtime (QUIC), gets its
//! tasks, runs each task's shell command in the task's sandbox (output in
//! `sandbox/stdout` and `sandbox/stderr`) and reports each status change
//! until the agent acknowledges it; the agent then owns the update and
//! forwards it to the master and the framework. The agent↔executor protocol
//! is `corral_api::executor`.
//!
//! # Its loop
//! It is an executor like any framework's own, written on the executor
//! SDK ([`corral_executor_sdk`]): the SDK's driver registers with the
//! agent, hands the task over, and sends each status update until the
//! agent holds it, taking a restarted agent back for a checkpointing
//! framework. What is the command executor's own is running its tasks:
//! [`lifecycle::Lifecycle`] holds one task's decisions without I/O (inputs
//! `handle_*`, outputs polled as [`lifecycle::Action`]s, one deadline),
//! and [`command::CommandExecutor`] is the `Executor` around it, carrying
//! the actions out through the driver (update, launch, signal, timers),
//! so the same code runs on a real node and in the simulator.
//! [`run::run_from_env`] is the binary's edge: it reads the environment,
//! starts the node and the container driver, and waits for the driver's
//! outcome.
//!
//! ```text
//! executor                         agent
//!    | RegisterExecutor (every 1 s)  |
//!    |------------------------------>|
//!    |                       RunTask |
//!    |<------------------------------|
//!    | ExecutorUpdate STARTING       |   one update at a time, in order,
//!    |------------------------------>|   resent every retry interval
//!    |           UpdateAck (its uuid)|   until its UpdateAck arrives;
//!    |<------------------------------|   then the next: RUNNING, then
//!    | ExecutorUpdate RUNNING ...    |   FINISHED/FAILED/KILLED
//!    |------------------------------>|
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
pub mod report;
pub mod run;
