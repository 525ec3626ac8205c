//! The framework (scheduler) ↔ master protocol. Each message has a stable
//! wire name `master.*`.
//!
//! A framework subscribes with [`Subscribe`] and is answered [`Subscribed`]
//! (or [`FrameworkError`]); the master then sends [`Offers`], [`Rescind`]s,
//! [`Update`]s (acknowledge each that has a uuid) and [`Heartbeat`]s. The
//! framework answers offers with [`Accept`] or [`Decline`], and may
//! [`Kill`], [`Reconcile`], [`Suppress`], [`Revive`] or [`Teardown`].
//! Framework and executors exchange opaque bytes through the master
//! ([`FrameworkMessage`] down, [`ExecutorMessage`] up), best effort: a
//! message may be dropped and nothing says so. [`Failure`] tells the
//! framework that one of its executors ended or an agent was lost. With
//! several masters it follows the leader ([`NotLeader`], [`LeaderElected`]
//! and the term in [`Subscribed`]; see [`crate::leader`]).
//!
//! Delivery is the runtime's: at most once, in order per sender.
//! Reliability comes from the protocol itself — frameworks re-subscribe,
//! updates are resent until acknowledged — as in Mesos.

use std::time::Duration;

use corral_runtime::message;
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, FrameworkId, OfferId, TaskId};
use crate::resources::Resources;
use crate::task::{TaskInfo, TaskStatus};

pub use crate::leader::{LeaderElected, NotLeader};

// ---- framework -> master ----

impl FrameworkInfo {
    /// A framework called `name` in `role`, with Mesos's defaults: no
    /// failover timeout, no checkpointing, not partition-aware.
    pub fn new(name: &str, role: &str) -> FrameworkInfo {
        FrameworkInfo {
            name: name.to_owned(),
            user: String::new(),
            roles: vec![role.to_owned()],
            failover_timeout: Duration::ZERO,
            checkpoint: false,
            principal: None,
            partition_aware: false,
            id: None,
        }
    }
}

/// What a framework says about itself when it subscribes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    /// Display name.
    pub name: String,
    /// The OS user tasks run as (empty: the agent's user).
    pub user: String,
    /// Roles it receives offers for (one for now).
    pub roles: Vec<String>,
    /// How long the master keeps its tasks after it disconnects. Mesos's
    /// default is 0; production frameworks use weeks.
    pub failover_timeout: Duration,
    /// Whether its tasks survive agent restarts (agents checkpoint them).
    pub checkpoint: bool,
    /// Who it authenticates as.
    pub principal: Option<String>,
    /// Whether it understands TASK_UNREACHABLE, TASK_DROPPED, TASK_GONE and
    /// TASK_UNKNOWN (Mesos's PARTITION_AWARE capability); if not, it is told
    /// TASK_LOST instead.
    pub partition_aware: bool,
    /// Set when re-subscribing after a failover, to get its tasks back.
    pub id: Option<FrameworkId>,
}

/// Subscribe (or re-subscribe with `info.id`); answered with [`Subscribed`]
/// or [`FrameworkError`] sent to the framework's pid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The framework's description.
    pub info: FrameworkInfo,
    /// Proves `info.principal` where the master authenticates frameworks
    /// (see [`crate::auth`]).
    pub credential: Option<crate::auth::Credential>,
}

/// One thing to do with offered resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Operation {
    /// Launch tasks on the offers' agent.
    Launch(Vec<TaskInfo>),
}

/// Use offers (all from one agent) for operations; whatever is not used is
/// declined with `refuse`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accept {
    /// The offers to use.
    pub offer_ids: Vec<OfferId>,
    /// What to do with them.
    pub operations: Vec<Operation>,
    /// Filter for the unused part (Mesos default 5 s).
    pub refuse: Option<Duration>,
}

/// Give offers back; don't offer that agent again for `refuse` (default 5 s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decline {
    /// The offers.
    pub offer_ids: Vec<OfferId>,
    /// How long to keep those agents' resources away.
    pub refuse: Option<Duration>,
}

/// Clear filters and resume offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Revive;

/// Stop offers until revived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suppress;

/// Kill a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kill {
    /// The task.
    pub task_id: TaskId,
}

/// The framework received this status update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acknowledge {
    /// The task.
    pub task_id: TaskId,
    /// The agent that sent it.
    pub agent_id: AgentId,
    /// The update's uuid.
    pub uuid: [u8; 16],
}

/// Ask for the latest state of tasks (empty: all the framework's tasks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reconcile {
    /// Tasks to report; empty for implicit reconciliation.
    pub task_ids: Vec<TaskId>,
}

/// The framework is done: kill its tasks and forget it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Teardown;

/// The most bytes a framework message may carry, either way. A framework
/// message is a small note (Mesos's own examples send a few words), not a
/// data channel; 32 KiB leaves room for its base64 in a v1 call within the
/// HTTP body limit (64 KiB). The master drops a larger one, and counts it
/// as invalid.
pub const MAX_MESSAGE_DATA_BYTES: usize = 32 * 1024;

/// Bytes for one of the framework's executors, relayed by the master to
/// `agent_id` and by that agent to executor `executor_id` (Mesos's
/// `FrameworkToExecutorMessage`). Best effort: nothing acknowledges it, and
/// it is dropped (logged and counted) when the agent or executor is not
/// there or `data` is longer than [`MAX_MESSAGE_DATA_BYTES`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkMessage {
    /// The agent the executor runs on.
    pub agent_id: AgentId,
    /// The executor (a command task's executor has its task's id).
    pub executor_id: String,
    /// What to hand it, opaque to Corral.
    pub data: Vec<u8>,
}

// ---- master -> framework ----

/// Subscription accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The framework's id (keep it to fail over).
    pub framework_id: FrameworkId,
    /// How often the master sends [`Heartbeat`] (Mesos: 15 s).
    pub heartbeat_interval: Duration,
    /// The Raft term the master leads in (0 for a master alone): a
    /// follower of a later term ignores it (see [`crate::leader`]).
    pub term: u64,
}

/// Resources offered to the framework.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The offer's id, for accept or decline.
    pub id: OfferId,
    /// The agent the resources are on.
    pub agent_id: AgentId,
    /// The agent's host name, for display and constraints.
    pub hostname: String,
    /// What is offered.
    pub resources: Resources,
}

/// A batch of offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offers {
    /// The offers.
    pub offers: Vec<Offer>,
}

/// An offer is withdrawn (its agent left, or it timed out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescind {
    /// The offer.
    pub offer_id: OfferId,
}

/// A task's status changed; acknowledge it if it has a uuid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The status.
    pub status: TaskStatus,
}

/// The master is alive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat;

/// A request was refused (bad subscribe, unknown framework, ...), or the
/// framework was removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkError {
    /// What was wrong, in words.
    pub message: String,
    /// The master removed the framework (an operator tore it down): it is
    /// gone for good, and its driver stops following masters.
    #[serde(default)]
    pub removed: bool,
}

/// Bytes from one of the framework's executors (Mesos's
/// `ExecutorToFrameworkMessage`), relayed by its agent and the master.
/// Sent only while the framework is connected; otherwise dropped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorMessage {
    /// The agent the executor runs on.
    pub agent_id: AgentId,
    /// The executor that sent it.
    pub executor_id: String,
    /// What it sent, opaque to Corral.
    pub data: Vec<u8>,
}

/// Something the framework depended on is gone (Mesos's FAILURE event):
/// with `executor_id`, that executor of the framework ended on `agent_id`
/// (its tasks' ends come as updates of their own); without, the agent
/// became unreachable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The agent.
    pub agent_id: AgentId,
    /// The executor that ended, if this is about an executor.
    pub executor_id: Option<String>,
    /// How the executor's process ended, as a Unix wait status (exit code
    /// times 256, or the signal number), when known.
    pub status: Option<i32>,
}

message!(Subscribe = "master.Subscribe");
message!(Accept = "master.Accept");
message!(Decline = "master.Decline");
message!(Revive = "master.Revive");
message!(Suppress = "master.Suppress");
message!(Kill = "master.Kill");
message!(Acknowledge = "master.Acknowledge");
message!(Reconcile = "master.Reconcile");
message!(Teardown = "master.Teardown");
message!(Subscribed = "master.Subscribed");
message!(Offers = "master.Offers");
message!(Rescind = "master.Rescind");
message!(Update = "master.Update");
message!(Heartbeat = "master.Heartbeat");
message!(FrameworkError = "master.FrameworkError");
message!(FrameworkMessage = "master.FrameworkMessage");
message!(ExecutorMessage = "master.ExecutorMessage");
message!(Failure = "master.Failure");
