//! What the scenario's nodes record for the checkers, written by the
//! cluster (agents' observers, the probe actor) and read by the checks:
//! the one place both sides share, so the checkers never import the
//! cluster's code.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use corral_agent::AgentEvent;
use corral_master::state::MasterState;
use corral_runtime::{Pid, Time};

/// What an agent node told the checker.
#[derive(Debug)]
pub enum AgentNote {
    /// The node (re)booted: everything the agent ran before is gone.
    Booted,
    /// The agent's observer reported this.
    Event(AgentEvent),
}

/// Agent notes by agent index, in order (agents' observers must be `Send`).
pub type AgentNotes = Arc<Mutex<Vec<(usize, AgentNote)>>>;

/// What the probe learnt: each master's last answer about its lead, and the
/// leader's last state.
#[derive(Default)]
pub struct ProbeLog {
    /// Each master's last `Leadership` answer: when, whether it leads.
    pub leading: BTreeMap<Pid, (Time, bool)>,
    /// The last state a leading master gave: when, from whom.
    pub state: Option<(Time, Pid, MasterState)>,
    /// States received so far (the checker reads each once).
    pub states: u64,
}

/// Shared probe log.
pub type SharedProbe = Rc<RefCell<ProbeLog>>;

/// The index of the agent with this hostname.
pub fn agent_index(hostname: &str) -> Option<usize> {
    hostname.strip_prefix("agent-")?.parse().ok()
}
