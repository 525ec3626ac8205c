//! The agent's operator protocol: one ask, [`GetAgentState`], answered
//! with an [`AgentSnapshot`] built from the actor's accessors. Wire names
//! `agent.*`. The agent's HTTP `/state` and `/metrics` stand on it.

use corral_api::ids::AgentId;
use corral_api::resources::Resources;
use corral_runtime::{message, Ctx, Handler};
use serde::{Deserialize, Serialize};

use crate::agent::Agent;
use crate::tasks::TaskSummary;

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
    /// Tasks supervised now.
    pub tasks: Vec<TaskSummary>,
    /// Tasks whose last update was acknowledged, oldest first.
    pub completed: Vec<TaskSummary>,
    /// Status updates not yet acknowledged.
    pub pending_updates: u64,
}

message!(GetAgentState = "agent.GetAgentState" => AgentSnapshot);
message!(AgentSnapshot = "agent.AgentSnapshot");

impl Handler<GetAgentState> for Agent {
    fn handle(&mut self, _: GetAgentState, ctx: &mut Ctx<'_, Self>) {
        let cfg = self.config();
        let snapshot = AgentSnapshot {
            id: self.agent_id().cloned(),
            hostname: cfg.hostname.clone(),
            pid: ctx.me().to_string(),
            master: self.master().to_string(),
            registered: self.is_registered(),
            resources: cfg.resources.clone(),
            used: self.used_resources().clone(),
            work_dir: cfg.work_dir.display().to_string(),
            tasks: self.tasks().collect(),
            completed: self.completed_tasks().cloned().collect(),
            pending_updates: self.pending_updates() as u64,
        };
        ctx.reply(snapshot);
    }
}
