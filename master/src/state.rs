//! The operator protocol: what the master tells observers about the
//! cluster, and what operators may ask of it. Wire names `master.*`.
//!
//! - [`GetState`] → [`MasterState`]: a snapshot of agents, frameworks and
//!   tasks (HTTP `/state`, the CLI views);
//! - [`GetMetrics`] → [`MasterMetrics`]: counters and gauges (HTTP
//!   `/metrics`);
//! - [`OperatorKill`] → [`KillOutcome`]: kill a task as an operator (HTTP
//!   `POST /tasks/{framework_id}/{task_id}/kill`).

use std::sync::Arc;

use corral_runtime::{message, Pid};
use serde::{Deserialize, Serialize};

use crate::allocator::cycles::CycleTimes;
pub use crate::state_tasks::TaskList;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::{Quantities, Resources};
use corral_api::task::TaskState;

/// Ask the master for a snapshot of its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetState;

/// An agent as the master sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// Its id.
    pub id: AgentId,
    /// Its host name.
    pub hostname: String,
    /// Its actor.
    pub pid: String,
    /// Everything it has.
    pub total: Resources,
    /// What its live tasks use.
    pub used: Resources,
    /// What is offered and not yet answered.
    pub offered: Resources,
    /// Its attributes, as given.
    pub attributes: String,
    /// Whether it answers pings.
    pub reachable: bool,
    /// Base URL of its HTTP API (`http://ip:port`), if it serves one.
    pub http: Option<String>,
    /// When this master admitted it, Unix ms.
    pub registered_ms: u64,
}

/// A framework as the master sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkState {
    /// Its id.
    pub id: FrameworkId,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Whether it is connected.
    pub connected: bool,
    /// How much its live tasks use, over all agents.
    pub used: Quantities,
    /// How much is offered to it and not yet answered, over all agents.
    pub offered: Quantities,
    /// When the master removed it (Unix ms); None while it is subscribed.
    pub removed_ms: Option<u64>,
    /// When it subscribed with this master, Unix ms.
    pub registered_ms: u64,
    /// Its scheduler's actor, while connected.
    pub pid: Option<String>,
    /// Its own description (user, failover timeout, checkpointing,
    /// principal, capabilities).
    pub info: corral_api::framework::FrameworkInfo,
}

/// A task as the master sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    /// Its id.
    pub id: TaskId,
    /// Its name.
    pub name: String,
    /// Its framework.
    pub framework_id: FrameworkId,
    /// Its agent.
    pub agent_id: AgentId,
    /// Its latest state.
    pub state: TaskState,
    /// What it uses.
    pub resources: Resources,
    /// Every state it went through, with the master's Unix time in ms.
    pub history: Vec<(TaskState, u64)>,
}

/// A snapshot of the master's view of the cluster.
///
/// Agents and tasks are shared (`Arc`, tasks in chunks): the state the
/// master publishes for HTTP readers shares each one that did not change
/// with the previous publication (`crate::board`). On the wire they are
/// plain values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterState {
    /// The master's software version (the crate's).
    pub version: String,
    /// When the master started (Unix ms).
    pub start_time_ms: u64,
    /// When it took the lead (Unix ms); None while it does not lead.
    pub elected_ms: Option<u64>,
    /// The master's actor.
    pub pid: String,
    /// Admitted agents, by id.
    pub agents: Vec<Arc<AgentState>>,
    /// Subscribed frameworks, by id.
    pub frameworks: Vec<FrameworkState>,
    /// Removed frameworks kept for display, oldest removal first.
    pub completed_frameworks: Vec<FrameworkState>,
    /// Live tasks and the latest completed ones, by framework and id,
    /// then those of the completed frameworks.
    pub tasks: TaskList,
    /// Offers outstanding.
    pub outstanding_offers: usize,
    /// Role weights as configured (roles not listed weigh 1).
    pub role_weights: Vec<(String, f64)>,
}

impl MasterState {
    /// Each framework's role, subscribed and completed, by framework id.
    pub fn roles_by_framework(&self) -> std::collections::BTreeMap<&str, &str> {
        self.frameworks
            .iter()
            .chain(&self.completed_frameworks)
            .map(|f| (f.id.0.as_str(), f.role.as_str()))
            .collect()
    }
}

/// Ask a master whether it leads, and who does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetLeadership;

/// The answer to [`GetLeadership`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leadership {
    /// Whether this master acts as the leader.
    pub leading: bool,
    /// The leading master, if known (this one when leading).
    pub leader: Option<Pid>,
    /// The leader's HTTP base URL, if known.
    pub leader_http: Option<String>,
}

/// Ask the master for its counters and gauges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetMetrics;

/// The master's counters (since it started) and gauges (now).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MasterMetrics {
    /// Offers sent to frameworks.
    pub offers_sent: u64,
    /// Offers frameworks declined explicitly.
    pub offers_declined: u64,
    /// Offers the master withdrew (timed out, or their agent was removed).
    pub offers_rescinded: u64,
    /// Offers outstanding now.
    pub offers_outstanding: u64,
    /// Tasks the master knows (live, and the completed ones it keeps for
    /// display), per state; states with no task are absent.
    pub tasks: Vec<(TaskState, u64)>,
    /// Admitted agents answering pings.
    pub agents_connected: u64,
    /// Agents missing pings, and agents removed for missing too many.
    pub agents_unreachable: u64,
    /// Subscribed frameworks with a live connection.
    pub frameworks_connected: u64,
    /// Subscribed frameworks failing over (disconnected, not yet removed).
    pub frameworks_disconnected: u64,
    /// How long allocation passes took; None if the allocator did not
    /// answer in time.
    pub allocation_cycles: Option<CycleTimes>,
    /// What the admitted agents have, summed.
    pub resources_total: Quantities,
    /// What live tasks use, summed over agents.
    pub resources_used: Quantities,
    /// What is offered and not yet answered, summed over agents.
    pub resources_offered: Quantities,
    /// Whether this master leads.
    pub elected: bool,
    /// When it started, Unix ms.
    pub start_time_ms: u64,
    /// Framework messages relayed and dropped since it started.
    #[serde(default)]
    pub messages: MessageCounts,
}

/// Framework messages a master relayed, and those it dropped (Mesos's
/// `master/messages_*` and `master/invalid_*_messages`), since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// Relayed from a framework to an agent, for an executor.
    pub framework_to_executor: u64,
    /// Relayed from an agent's executor to its framework.
    pub executor_to_framework: u64,
    /// From a framework, dropped: unknown agent, or data over the limit.
    pub invalid_framework_to_executor: u64,
    /// From an agent, dropped: unknown agent, framework not connected, or
    /// data over the limit.
    pub invalid_executor_to_framework: u64,
}

/// Kill a task as an operator (not as its framework). The framework hears
/// of it through the task's status updates (TASK_KILLED), as for its own
/// kills.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorKill {
    /// The task's framework.
    pub framework_id: FrameworkId,
    /// The task.
    pub task_id: TaskId,
    /// The principal the operator proved over HTTP, for `kill_tasks` ACLs.
    #[serde(default)]
    pub principal: Option<String>,
}

/// Tear a framework down as an operator (Mesos's operator `TEARDOWN`): its
/// tasks are shut down and it is forgotten; a connected framework is told
/// with a `FrameworkError`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorTeardown {
    /// The framework.
    pub framework_id: FrameworkId,
    /// The principal the operator proved over HTTP, for
    /// `teardown_frameworks` ACLs.
    #[serde(default)]
    pub principal: Option<String>,
}

/// What became of an [`OperatorKill`] or an [`OperatorTeardown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KillOutcome {
    /// The kill was sent to the task's agent; its end comes as a status
    /// update.
    Accepted,
    /// The master knows no such framework.
    UnknownFramework,
    /// The framework has no such task (live or recently completed).
    UnknownTask,
    /// The task has already ended.
    AlreadyEnded,
    /// This master does not lead (it stepped down while asked).
    NotLeader,
    /// The operator's principal may not (`kill_tasks` or
    /// `teardown_frameworks` ACLs); nothing was done.
    Denied,
}

message!(GetState = "master.GetState" => MasterState);
message!(MasterState = "master.MasterState");
message!(GetMetrics = "master.GetMetrics" => MasterMetrics);
message!(MasterMetrics = "master.MasterMetrics");
message!(GetLeadership = "master.GetLeadership" => Leadership);
message!(Leadership = "master.Leadership");
message!(OperatorKill = "master.OperatorKill" => KillOutcome);
message!(KillOutcome = "master.KillOutcome");
message!(OperatorTeardown = "master.OperatorTeardown" => KillOutcome);
