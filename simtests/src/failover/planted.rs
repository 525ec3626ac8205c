//! Known bugs the chaos scenario can switch on in the real components
//! (`corral sim --scenario chaos --plant-bug NAME`), to show that its
//! checks find each within a bounded number of seeds. Each is a plain
//! config field of its component, off unless set.

use corral_agent::AgentBug;
use corral_master::master::MasterBug;
use corral_master::registrar::RegistrarBug;

/// A bug to plant, and where it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// Master: a task's resources are freed when it starts running
    /// (invariants 1 and 2: they are offered while the task holds them).
    FreeAtRunning,
    /// Master: expired offers are rescinded without telling the framework
    /// (invariant 2: the framework still holds what is offered again).
    SilentRescind,
    /// Agent: a task's second pending update is sent ahead of its first
    /// (invariant 3: updates out of the order the agent produced them).
    ReorderUpdates,
    /// Registrar: tells its master the term before its own while it leads
    /// (invariant 4: two masters make offers in one term).
    StaleTerm,
    /// Master: `Revive` is ignored (invariant 5: a framework that wants
    /// work is never offered any again).
    IgnoreRevive,
}

/// Every planted bug, with its name on the command line.
pub const PLANTED: [(&str, PlantedBug); 5] = [
    ("free-at-running", PlantedBug::FreeAtRunning),
    ("silent-rescind", PlantedBug::SilentRescind),
    ("reorder-updates", PlantedBug::ReorderUpdates),
    ("stale-term", PlantedBug::StaleTerm),
    ("ignore-revive", PlantedBug::IgnoreRevive),
];

impl PlantedBug {
    /// The bug named `name` on the command line.
    pub fn named(name: &str) -> Option<PlantedBug> {
        PLANTED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        PLANTED
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("?", |(n, _)| n)
    }

    /// The master's part, if it is the master's bug.
    pub fn master(self) -> Option<MasterBug> {
        match self {
            PlantedBug::FreeAtRunning => Some(MasterBug::FreeAtRunning),
            PlantedBug::SilentRescind => Some(MasterBug::SilentRescind),
            PlantedBug::IgnoreRevive => Some(MasterBug::IgnoreRevive),
            _ => None,
        }
    }

    /// The agent's part, if it is the agent's bug.
    pub fn agent(self) -> Option<AgentBug> {
        (self == PlantedBug::ReorderUpdates).then_some(AgentBug::ReorderUpdates)
    }

    /// The registrar's part, if it is the registrar's bug.
    pub fn registrar(self) -> Option<RegistrarBug> {
        (self == PlantedBug::StaleTerm).then_some(RegistrarBug::StaleTerm)
    }
}
