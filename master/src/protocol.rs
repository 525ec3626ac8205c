//! The master's protocols, in one place so the wire contract reads like a
//! spec: framework (scheduler) ↔ master, and agent ↔ master. Each message has
//! a stable wire name `master.*`; requests name their reply.
//!
//! Delivery is the runtime's: at most once, in order per sender. Reliability
//! comes from the protocols themselves — agents re-register and resend status
//! updates until acknowledged, frameworks re-subscribe — as in Mesos.

use std::time::Duration;

use corral_runtime::{message, Pid};
use serde::{Deserialize, Serialize};

use crate::container::ContainerInfo;
use crate::ids::{AgentId, FrameworkId, OfferId, TaskId};
use crate::resources::Resources;
use crate::task::{TaskState, TaskStatus};

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
}

/// One thing to do with offered resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Operation {
    /// Launch tasks on the offers' agent.
    Launch(Vec<TaskInfo>),
}

/// A task to launch: a shell command and the resources it may use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Unique within the framework.
    pub task_id: TaskId,
    /// Display name.
    pub name: String,
    /// Run with `/bin/sh -c`. May be empty only for a container task, which
    /// then runs its image's default command.
    pub command: String,
    /// Environment for the command.
    pub env: Vec<(String, String)>,
    /// What the task may use; must be inside the accepted offers.
    pub resources: Resources,
    /// Run the command in this (Docker) container instead of as a plain
    /// process; None for a process task.
    pub container: Option<ContainerInfo>,
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

// ---- master -> framework ----

/// Subscription accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The framework's id (keep it to fail over).
    pub framework_id: FrameworkId,
    /// How often the master sends [`Heartbeat`] (Mesos: 15 s).
    pub heartbeat_interval: Duration,
    /// The Raft term the master leads in (0 for a master alone): a
    /// follower of a later term ignores it (see [`crate::terms`]).
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

/// A request was refused (bad subscribe, unknown framework, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkError {
    /// What was wrong, in words.
    pub message: String,
}

// ---- any master -> agents and frameworks ----

/// A master that does not lead answers `Subscribe` and `RegisterAgent` with
/// this, naming the leading master when it knows it; the sender tries that
/// one, or the next master of its list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotLeader {
    /// The leading master, if known.
    pub leader: Option<Pid>,
}

/// A newly elected leader announces itself to the agents and frameworks its
/// registry names, so they re-register and re-subscribe with it at once
/// rather than after noticing the old leader is gone. Receivers accept it
/// only from a master of their configured list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderElected {
    /// The new leading master.
    pub leader: Pid,
    /// The Raft term the master leads in (0 for a master alone): a
    /// follower of a later term ignores it (see [`crate::terms`]).
    pub term: u64,
}

// ---- agent <-> master ----

/// An agent announces itself (first time: no id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterAgent {
    /// Host name for display.
    pub hostname: String,
    /// What the agent offers.
    pub resources: Resources,
    /// `name:value;...` attributes, as given to the agent.
    pub attributes: String,
    /// Its id when re-registering after a master failover or a reconnect.
    pub id: Option<AgentId>,
    /// The agent's actor, for the master's replies and tasks.
    pub pid: Pid,
    /// Base URL of the agent's HTTP API (`http://ip:port`), if it serves
    /// one; the master shows it to operators (see [`http_url_problem`]).
    pub http: Option<String>,
    /// The frameworks (with their ids) of the tasks below, so that a master
    /// that never saw them (it was elected after they subscribed) knows
    /// their role and failover timeout.
    pub frameworks: Vec<FrameworkInfo>,
    /// Every task the agent holds, running or ended with updates not yet
    /// acknowledged: a newly elected master rebuilds its task table and the
    /// allocator's books from these, and offers only what is really free.
    pub tasks: Vec<AgentTask>,
}

/// A task as an agent reports it when it (re-)registers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentTask {
    /// Whose task.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// Its display name.
    pub name: String,
    /// What it holds while not terminal.
    pub resources: Resources,
    /// Its latest state on the agent.
    pub state: TaskState,
}

/// The most tasks one registration may report; more is refused as
/// malformed (a real agent holds far fewer).
pub const MAX_REPORTED_TASKS: usize = 100_000;

/// The longest HTTP base URL an agent may announce, in bytes.
pub const MAX_HTTP_URL_BYTES: usize = 2048;

/// Why `url` cannot be an agent's HTTP base URL, if it cannot: it must start
/// with `http://` or `https://`, name a host, hold no spaces or control
/// characters, and have at most [`MAX_HTTP_URL_BYTES`] bytes. Operators'
/// browsers open it, so nothing else is accepted.
pub fn http_url_problem(url: &str) -> Option<String> {
    if url.len() > MAX_HTTP_URL_BYTES {
        return Some(format!(
            "the HTTP URL is longer than {MAX_HTTP_URL_BYTES} bytes"
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest else {
        return Some(format!(
            "the HTTP URL '{}' does not start with http:// or https://",
            url.escape_default()
        ));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Some("the HTTP URL names no host".to_owned());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "the HTTP URL '{}' holds spaces or control characters",
            url.escape_default()
        ));
    }
    None
}

/// The master admitted the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentRegistered {
    /// The id the agent keeps until removed.
    pub agent_id: AgentId,
    /// How often the master pings it.
    pub ping_interval: Duration,
    /// The live tasks the master holds on this agent. The agent reports
    /// each it does not know as TASK_DROPPED (TASK_LOST when not
    /// `partition_aware`): its launch never reached the agent.
    pub tasks: Vec<ExpectedTask>,
    /// The Raft term the master leads in (0 for a master alone): a
    /// follower of a later term ignores it (see [`crate::terms`]).
    pub term: u64,
}

/// A task the master believes is on the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectedTask {
    /// Whose task.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// Whether its framework understands TASK_DROPPED.
    pub partition_aware: bool,
}

/// Liveness probe from the master; the agent answers [`Pong`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ping;

/// Answer to [`Ping`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pong;

/// Run tasks for a framework on this agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunTasks {
    /// Whose tasks.
    pub framework_id: FrameworkId,
    /// The framework's description (user, checkpoint).
    pub framework: FrameworkInfo,
    /// The tasks.
    pub tasks: Vec<TaskInfo>,
}

/// Kill a task on this agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KillTask {
    /// Whose task.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
}

/// A status update from the agent, retried until acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The status (with a uuid).
    pub status: TaskStatus,
}

/// The framework acknowledged an update (forwarded by the master).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusAck {
    /// Whose task.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// The update's uuid.
    pub uuid: [u8; 16],
}

/// Kill every task of a framework and forget it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutdownFramework {
    /// The framework.
    pub framework_id: FrameworkId,
}

/// The agent was removed: stop its tasks and exit (or re-register anew).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutdownAgent {
    /// Why, in words.
    pub message: String,
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
message!(RegisterAgent = "master.RegisterAgent");
message!(AgentRegistered = "master.AgentRegistered");
message!(Ping = "master.Ping" => Pong);
message!(Pong = "master.Pong");
message!(RunTasks = "master.RunTasks");
message!(KillTask = "master.KillTask");
message!(StatusUpdate = "master.StatusUpdate");
message!(StatusAck = "master.StatusAck");
message!(ShutdownFramework = "master.ShutdownFramework");
message!(ShutdownAgent = "master.ShutdownAgent");
message!(NotLeader = "master.NotLeader");
message!(LeaderElected = "master.LeaderElected");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_http_urls_are_plain_http_urls() {
        for ok in ["http://127.0.0.1:5051", "https://agent-1.example:5051/"] {
            assert_eq!(http_url_problem(ok), None, "{ok}");
        }
        let long = format!("http://{}", "a".repeat(MAX_HTTP_URL_BYTES));
        for bad in [
            "",
            "127.0.0.1:5051",
            "javascript:alert(1)",
            "http://",
            "http:///x",
            "http://a b",
            "http://a\n",
            &long,
        ] {
            assert!(http_url_problem(bad).is_some(), "{bad:?}");
        }
    }
}
