//! The agent's operator protocol: one ask, [`GetAgentState`], answered
//! with an [`AgentSnapshot`] (by the agent, in `agent/operator.rs`). Wire names
//! `agent.*`. The agent's HTTP `/state` and `/metrics` stand on it.

use corral_api::ids::AgentId;
use corral_api::resources::Resources;
use corral_runtime::message;
use serde::{Deserialize, Serialize};

use crate::core::TaskSummary;

/// Ask an agent for a snapshot of itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetAgentState;

/// An agent as it sees itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentSnapshot {
    /// The id the master gave, once registered.
    pub id: Option<AgentId>,
    /// Its host name.
    pub hostname: String,
    /// Its actor.
    pub pid: String,
    /// The master it registers with now (the leader, once registered).
    pub master: String,
    /// Whether the master has admitted it and the link holds.
    pub registered: bool,
    /// Everything it offers.
    pub resources: Resources,
    /// What its live tasks use.
    pub used: Resources,
    /// Where its sandboxes live (absolute).
    pub work_dir: String,
    /// Its attributes (Mesos's text).
    pub attributes: String,
    /// Tasks supervised now.
    pub tasks: Vec<TaskSummary>,
    /// Tasks whose last update was acknowledged, oldest first.
    pub completed: Vec<TaskSummary>,
    /// Status updates not yet acknowledged.
    pub pending_updates: u64,
}

message!(GetAgentState = "agent.GetAgentState" => AgentSnapshot);
message!(AgentSnapshot = "agent.AgentSnapshot");
