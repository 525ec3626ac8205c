//! The agent ↔ master protocol. Each message has a stable wire name
//! `master.*`.
//!
//! An agent registers with [`RegisterAgent`] (reporting every task it
//! holds) and is answered [`AgentRegistered`] (naming the tasks the master
//! expects there); the master then pings it ([`Ping`]/[`Pong`]), sends
//! [`RunTasks`], [`KillTask`], [`StatusAck`], [`ShutdownFramework`] and
//! [`ShutdownAgent`]; the agent sends [`StatusUpdate`]s, resent until
//! acknowledged, and [`ExitedExecutor`] when a framework's own executor
//! ends. Framework messages pass through both ways
//! ([`FrameworkToExecutor`], [`ExecutorToFramework`]), best effort. With
//! several masters it follows the leader ([`NotLeader`], [`LeaderElected`]
//! and the term in [`AgentRegistered`]; see [`crate::leader`]).
//!
//! Delivery is the runtime's: at most once, in order per sender.

use std::time::Duration;

use corral_runtime::{message, Pid};
use serde::{Deserialize, Serialize};

use crate::framework::FrameworkInfo;
use crate::ids::{AgentId, FrameworkId, TaskId};
use crate::resources::Resources;
use crate::task::{TaskInfo, TaskState, TaskStatus};

pub use crate::leader::{LeaderElected, NotLeader};

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
    /// Proves the agent's principal where the master authenticates agents
    /// (see [`crate::auth`]).
    pub credential: Option<crate::auth::Credential>,
}

impl RegisterAgent {
    /// An agent's first registration: no id, attributes, HTTP API,
    /// credential or tasks.
    pub fn first(hostname: impl Into<String>, resources: Resources, pid: Pid) -> RegisterAgent {
        RegisterAgent {
            hostname: hostname.into(),
            resources,
            attributes: String::new(),
            id: None,
            pid,
            http: None,
            frameworks: Vec::new(),
            tasks: Vec::new(),
            credential: None,
        }
    }
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
    /// follower of a later term ignores it (see [`crate::leader`]).
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

/// Master → agent: bytes from a framework for its executor (see
/// [`crate::framework::FrameworkMessage`]); dropped if no such executor
/// runs here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkToExecutor {
    /// The framework that sent them.
    pub framework_id: FrameworkId,
    /// The executor they are for.
    pub executor_id: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Agent → master: bytes from an executor running here for its framework
/// (see [`crate::framework::ExecutorMessage`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorToFramework {
    /// The executor's framework.
    pub framework_id: FrameworkId,
    /// The executor that sent them.
    pub executor_id: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Agent → master: a framework's own executor ended (Mesos's
/// `ExitedExecutorMessage`; not sent for command executors, as in Mesos); the master tells its framework with a
/// [`crate::framework::Failure`]. Not retried: a framework that misses it
/// still hears of each task through its updates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExitedExecutor {
    /// The executor's framework.
    pub framework_id: FrameworkId,
    /// The executor.
    pub executor_id: String,
    /// Its Unix wait status, when it exited or was signalled (not when it
    /// failed to start).
    pub status: Option<i32>,
}

/// The agent was removed: stop its tasks and exit (or re-register anew).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutdownAgent {
    /// Why, in words.
    pub message: String,
}

/// The master refuses a registration it will not admit until the agent
/// changes (its credential does not prove a known principal): the agent
/// says why, loudly, and keeps trying, so fixing either side heals it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistrationRefused {
    /// Why, in words.
    pub message: String,
}

message!(RegisterAgent = "master.RegisterAgent");
message!(RegistrationRefused = "master.RegistrationRefused");
message!(AgentRegistered = "master.AgentRegistered");
message!(Ping = "master.Ping" => Pong);
message!(Pong = "master.Pong");
message!(RunTasks = "master.RunTasks");
message!(KillTask = "master.KillTask");
message!(StatusUpdate = "master.StatusUpdate");
message!(StatusAck = "master.StatusAck");
message!(ShutdownFramework = "master.ShutdownFramework");
message!(ShutdownAgent = "master.ShutdownAgent");
message!(FrameworkToExecutor = "master.FrameworkToExecutor");
message!(ExecutorToFramework = "master.ExecutorToFramework");
message!(ExitedExecutor = "master.ExitedExecutor");

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
