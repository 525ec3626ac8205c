//! The master ↔ allocator protocol. Wire names `allocator.*`.
//!
//! The master tells the allocator actor about every change it makes to
//! agents, frameworks and offers; the allocator answers only with
//! [`Allocations`] (and, when asked with [`GetCycleTimes`], how long its
//! passes took). Both run on the master's node and messages between two
//! actors arrive in order, so an allocation the master receives reflects
//! every change it sent before the allocator's pass; allocations for an agent
//! or framework the master has since removed are simply dropped (the
//! allocator has forgotten them as well).

use std::time::Duration;

use corral_runtime::message;
use serde::{Deserialize, Serialize};

use super::cycles::CycleTimes;
use super::Allocation;
use corral_api::ids::{AgentId, FrameworkId};
use corral_api::resources::Resources;

/// An agent joined with these resources; allocate soon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddAgent {
    /// The agent.
    pub agent: AgentId,
    /// Everything it has.
    pub total: Resources,
    /// What frameworks already hold there (tasks a re-registering agent
    /// reported to a newly elected master), framework by framework.
    pub used: Vec<(FrameworkId, Resources)>,
    /// What tasks of frameworks the master no longer knows use there,
    /// until the agent reports them ended ([`ReleaseOrphaned`]).
    pub orphaned: Resources,
}

/// An agent left; what it had is gone with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemoveAgent {
    /// The agent.
    pub agent: AgentId,
}

/// A framework subscribed in `role`; allocate soon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddFramework {
    /// The framework.
    pub framework: FrameworkId,
    /// Its role.
    pub role: String,
}

/// A framework is gone; everything it held is available again, except
/// what its live tasks use: that stays held, by nobody, until each task's
/// end is reported ([`ReleaseOrphaned`]), so that nothing is offered that
/// an agent is still running.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemoveFramework {
    /// The framework.
    pub framework: FrameworkId,
    /// Its tasks that have not ended: where they run and what they use.
    pub still_running: Vec<(AgentId, Resources)>,
}

/// Tasks of frameworks the master no longer knows run on `agent` (it
/// reported them): what they use is held from offers until they end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldOrphaned {
    /// The agent.
    pub agent: AgentId,
    /// What the tasks use.
    pub resources: Resources,
}

/// Tasks of a removed framework ended on `agent`: what they used is
/// available again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReleaseOrphaned {
    /// The agent.
    pub agent: AgentId,
    /// What the tasks used.
    pub resources: Resources,
}

/// Resources held by a framework on an agent come back, with an optional
/// filter keeping that agent from the framework for `refuse`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recover {
    /// Who held them.
    pub framework: FrameworkId,
    /// Where they are.
    pub agent: AgentId,
    /// What comes back.
    pub resources: Resources,
    /// Decline filter, if any.
    pub refuse: Option<Duration>,
}

/// Stop offering to a framework.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuppressOffers {
    /// The framework.
    pub framework: FrameworkId,
}

/// Clear a framework's filters and resume its offers; allocate soon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviveOffers {
    /// The framework.
    pub framework: FrameworkId,
}

/// Allocator → master: the decisions of one pass, to turn into offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Allocations {
    /// The decisions, in the order made.
    pub allocations: Vec<Allocation>,
}

/// Master → allocator: how long have the allocation passes taken so far?
/// Answered with [`CycleTimes`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetCycleTimes;

message!(AddAgent = "allocator.AddAgent");
message!(RemoveAgent = "allocator.RemoveAgent");
message!(AddFramework = "allocator.AddFramework");
message!(RemoveFramework = "allocator.RemoveFramework");
message!(Recover = "allocator.Recover");
message!(HoldOrphaned = "allocator.HoldOrphaned");
message!(ReleaseOrphaned = "allocator.ReleaseOrphaned");
message!(SuppressOffers = "allocator.SuppressOffers");
message!(ReviveOffers = "allocator.ReviveOffers");
message!(Allocations = "allocator.Allocations");
message!(GetCycleTimes = "allocator.GetCycleTimes" => CycleTimes);
message!(CycleTimes = "allocator.CycleTimes");
