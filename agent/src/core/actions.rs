//! What the agent core asks its shell to do ([`Action`]), and the names it
//! gives the timers ([`Timer`]) and processes ([`LaunchId`]) it asks for.

use std::time::Duration;

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::ids::AgentId;
use corral_runtime::{Pid, ProcessSpec, Signal};

use crate::checkpoint::TaskRecord;
use crate::events::AgentEvent;
use crate::updates::TaskKey;

/// The core's name for an executor process it asked to launch. The shell
/// maps it to the host's process id, which the core never sees, and back
/// when the process exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaunchId(pub u64);

/// The core's timers. Setting one that is set replaces it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The next status update retry.
    Retry,
    /// The next scheduled registration attempt.
    Registration,
    /// The master has not pinged for a while.
    Watchdog,
    /// The executor of a task (launch number) had its time to register.
    ExecutorRegistration(TaskKey, u64),
    /// The executor of a killed task (launch number) had its time to end it.
    Kill(TaskKey, u64),
    /// Recovered tasks' executors had their time to re-register.
    Recovery,
    /// The next step of reaping an executor whose tasks are forgotten.
    Orphan(LaunchId),
}

/// A message the agent sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    /// To a master: register.
    RegisterAgent(master::RegisterAgent),
    /// To the master: a status update.
    StatusUpdate(master::StatusUpdate),
    /// To an executor: run a task.
    RunTask(exec::RunTask),
    /// To an executor: kill a task.
    KillTask(exec::KillTask),
    /// To an executor: stop.
    ShutdownExecutor(exec::ShutdownExecutor),
    /// To an executor: it was taken back.
    ExecutorReregistered(exec::ExecutorReregistered),
    /// To an executor: the agent holds its update.
    UpdateAck(exec::UpdateAck),
    /// To an executor: bytes from its framework.
    FrameworkMessage(exec::FrameworkMessage),
    /// To the master: bytes from an executor for its framework.
    ExecutorToFramework(master::ExecutorToFramework),
    /// To the master: a framework's own executor ended.
    ExitedExecutor(master::ExitedExecutor),
}

/// What the core asks its shell to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send `msg` to `to`.
    Send {
        /// The receiver.
        to: Pid,
        /// The message.
        msg: Outgoing,
    },
    /// Answer the ping being handled.
    Pong,
    /// Watch `Pid` (its loss comes back as
    /// [`handle_exited`](super::AgentCore::handle_exited)).
    Link(Pid),
    /// Stop watching `Pid`.
    Unlink(Pid),
    /// Call [`handle_timer`](super::AgentCore::handle_timer) with `timer`
    /// after `after`, replacing that timer if it is set.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// How long from now.
        after: Duration,
    },
    /// Cancel `Timer` if it is set.
    CancelTimer(Timer),
    /// Start an executor process, named `launch` from now on.
    Launch {
        /// The core's name for it.
        launch: LaunchId,
        /// What to run.
        spec: ProcessSpec,
    },
    /// Signal a launched process.
    Signal {
        /// Which.
        process: LaunchId,
        /// The signal.
        signal: Signal,
    },
    /// Write these task records (each deleted when it holds nothing) and
    /// sync. Records of an earlier write of this drain that failed are
    /// written again with them. Once durable, send `then` (an executor's
    /// update is acknowledged only once the agent cannot lose it). A write
    /// that fails is reported back through
    /// [`handle_checkpoint_failed`](super::AgentCore::handle_checkpoint_failed).
    Checkpoint {
        /// The records, in key order (may be empty: then only a retry of
        /// failed records, if any, happens).
        records: Vec<TaskRecord>,
        /// The message to send once they are durable.
        then: Option<(Pid, Outgoing)>,
    },
    /// Write (and sync) the agent's id and its master's term.
    SaveRegistration {
        /// The id.
        agent_id: AgentId,
        /// The latest leader's term followed.
        term: Option<u64>,
    },
    /// Delete the whole checkpoint (and sync).
    ClearCheckpoint,
    /// Tell the observer.
    Notify(AgentEvent),
    /// Tell the observer that `launch` was started for a task.
    NotifyLaunched {
        /// The task.
        key: TaskKey,
        /// Its executor process.
        launch: LaunchId,
    },
}
