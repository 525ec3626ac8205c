//! The failover scenario's checkers, named after DESIGN.md's invariants.
//! They read the cluster from outside: the registrars' observer reports
//! ([`Ledger`]), what the framework received ([`FrameworkLog`]), the
//! agents' observer events ([`AgentNote`]) and the probe's answers
//! ([`ProbeLog`]). Each check after an event looks only at what is new.
//!
//! - Invariant 1, `inv1-no-agent-allocated-beyond-its-resources`: the tasks
//!   an agent runs (launched, not yet ended, by its own events) never hold
//!   more than the agent has; and in every state the leader gives, no
//!   agent's used plus offered resources exceed its total.
//! - Invariant 3, `inv3-terminal-final-updates-in-order`: checked by the
//!   framework's log as it records (see [`FrameworkLog::record_update`]).
//! - Invariant 4, `inv4-one-leader-per-term`: one Raft leader per term; the
//!   `Elected` entries committed in a term name one master, the one on the
//!   node whose registrar led that term; and every offer made in a term
//!   (offer ids carry the term) comes from that one master.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use corral_agent::AgentEvent;
use corral_master::ids::TaskId;
use corral_master::registrar::Op;
use corral_master::resources::Resources;
use corral_master::task::TaskState;
use corral_runtime::sim::Sim;
use corral_runtime::{Pid, Time};

use super::cluster::{agent_hostname, master_addr, SharedProbe, AGENT_RESOURCES};
use super::framework::SharedLog;
use crate::registrar::Ledger;

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

/// What one agent runs, as its events say.
#[derive(Default, Debug)]
struct AgentView {
    running: BTreeMap<TaskId, Resources>,
    /// Tasks whose terminal update the agent queued (ever).
    ended: BTreeSet<TaskId>,
}

/// The checkers' state.
pub struct Checks {
    ledger: Rc<RefCell<Ledger>>,
    framework: SharedLog,
    probe: SharedProbe,
    notes: AgentNotes,
    total: Resources,
    agents: Vec<AgentView>,
    /// The master each term's `Elected` entries name.
    elected: BTreeMap<u64, Pid>,
    /// Ledger indexes already read.
    applied_read: u64,
    /// The master each term's offers came from.
    offer_masters: BTreeMap<u64, Pid>,
    /// Framework offers already read.
    offers_read: usize,
    /// Probe states already read.
    states_read: u64,
}

impl Checks {
    /// A checker over these recorders.
    pub fn new(
        agents: usize,
        ledger: Rc<RefCell<Ledger>>,
        framework: SharedLog,
        probe: SharedProbe,
        notes: AgentNotes,
    ) -> Checks {
        Checks {
            ledger,
            framework,
            probe,
            notes,
            total: Resources::parse(AGENT_RESOURCES)
                .unwrap_or_else(|e| unreachable!("a fixed literal: {e}")),
            agents: (0..agents).map(|_| AgentView::default()).collect(),
            elected: BTreeMap::new(),
            applied_read: 0,
            offer_masters: BTreeMap::new(),
            offers_read: 0,
            states_read: 0,
        }
    }

    /// Registers the invariants with the simulator.
    pub fn register(checks: &Rc<RefCell<Checks>>, sim: &mut Sim) {
        let c = checks.clone();
        sim.add_invariant("inv4-one-leader-per-term", move |_| {
            c.borrow_mut().one_leader_per_term()
        });
        let c = checks.clone();
        sim.add_invariant("inv1-no-agent-allocated-beyond-its-resources", move |_| {
            c.borrow_mut().no_agent_over_allocated()
        });
        let c = checks.clone();
        sim.add_invariant("inv3-terminal-final-updates-in-order", move |_| {
            match c.borrow().framework.borrow().violations.first() {
                None => Ok(()),
                Some(v) => Err(v.clone()),
            }
        });
    }

    fn one_leader_per_term(&mut self) -> Result<(), String> {
        let ledger = self.ledger.borrow();
        if let Some(v) = ledger.violations.first() {
            return Err(v.clone());
        }
        let fresh: Vec<(u64, u64, Vec<u8>)> = ledger
            .applied
            .range(self.applied_read + 1..)
            .map(|(i, (term, data))| (*i, *term, data.clone()))
            .collect();
        for (index, term, data) in fresh {
            self.applied_read = index;
            let Ok(Op::Elected { master, .. }) = Op::decode(&data) else {
                continue;
            };
            let first = self.elected.entry(term).or_insert_with(|| master.clone());
            if *first != master {
                return Err(format!(
                    "term {term}: both {first} and {master} committed their election"
                ));
            }
            if let Some(node) = ledger.leaders.get(&term) {
                let leader_addr = master_addr(*node as usize - 1);
                if master.addr() != leader_addr {
                    return Err(format!(
                        "term {term}: {master} committed its election, but the registrar of {leader_addr} led that term"
                    ));
                }
            }
        }
        drop(ledger);
        let fw = self.framework.borrow();
        for (_, from, id) in fw.offers.iter().skip(self.offers_read) {
            let Some(term) = offer_term(&id.0) else {
                return Err(format!("offer id {id} names no term"));
            };
            let first = self
                .offer_masters
                .entry(term)
                .or_insert_with(|| from.clone());
            if first != from {
                return Err(format!(
                    "term {term}: offers came from both {first} and {from}"
                ));
            }
            if let Some(elected) = self.elected.get(&term).filter(|e| *e != from) {
                return Err(format!(
                    "term {term}: {from} made offer {id}, but {elected} was elected"
                ));
            }
        }
        self.offers_read = fw.offers.len();
        Ok(())
    }

    fn no_agent_over_allocated(&mut self) -> Result<(), String> {
        let notes: Vec<(usize, AgentNote)> = match self.notes.lock() {
            Ok(mut n) => std::mem::take(&mut *n),
            Err(e) => std::mem::take(&mut *e.into_inner()),
        };
        let mut changed = BTreeSet::new();
        for (i, note) in notes {
            self.apply_note(i, note);
            changed.insert(i);
        }
        for i in changed {
            let view = &self.agents[i];
            let held = view
                .running
                .values()
                .fold(Resources::empty(), |sum, r| sum.plus(r));
            if !self.total.contains(&held) {
                let tasks: Vec<&TaskId> = view.running.keys().collect();
                return Err(format!(
                    "{} runs {tasks:?}, holding {held}, but has {}",
                    agent_hostname(i),
                    self.total
                ));
            }
        }
        self.leader_state_within_totals()
    }

    fn apply_note(&mut self, i: usize, note: AgentNote) {
        let fw = self.framework.borrow();
        let resources_of = |t: &TaskId| fw.launched.get(t).map(|l| l.resources.clone());
        let Some(view) = self.agents.get_mut(i) else {
            return;
        };
        match note {
            AgentNote::Booted => view.running.clear(),
            AgentNote::Event(AgentEvent::TaskLaunched { task_id, .. }) => {
                if let Some(r) = resources_of(&task_id) {
                    view.running.insert(task_id, r);
                }
            }
            AgentNote::Event(AgentEvent::Recovered { tasks, .. }) => {
                for t in tasks.into_iter().filter(|t| !view.ended.contains(t)) {
                    if let Some(r) = resources_of(&t) {
                        view.running.insert(t, r);
                    }
                }
            }
            AgentNote::Event(AgentEvent::StatusQueued(s)) if s.state.is_terminal() => {
                view.running.remove(&s.task_id);
                view.ended.insert(s.task_id);
            }
            AgentNote::Event(AgentEvent::ShutDown { .. }) => view.running.clear(),
            AgentNote::Event(_) => {}
        }
    }

    fn leader_state_within_totals(&mut self) -> Result<(), String> {
        let probe = self.probe.borrow();
        if probe.states == self.states_read {
            return Ok(());
        }
        self.states_read = probe.states;
        let Some((_, from, state)) = &probe.state else {
            return Ok(());
        };
        for a in &state.agents {
            let allocated = a.used.plus(&a.offered);
            if !a.total.contains(&allocated) {
                let tasks: Vec<String> = state
                    .tasks
                    .iter()
                    .filter(|t| t.agent_id == a.id)
                    .map(|t| format!("{} {:?}", t.id, t.state))
                    .collect();
                return Err(format!(
                    "{from} has {} ({}) using {} and offering {}, more than its {}; its tasks there: {}",
                    a.id,
                    a.hostname,
                    a.used,
                    a.offered,
                    a.total,
                    tasks.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// The term in an offer id (`{prefix}t{term}-O{n}`, see the master's
/// `take_lead`).
pub fn offer_term(id: &str) -> Option<u64> {
    let (head, _) = id.rsplit_once("-O")?;
    let (_, term) = head.rsplit_once('t')?;
    term.parse().ok()
}

/// Why the cluster has not converged yet, if it has not: a leader leads
/// (registrar and master agree, the probe heard its state since `since`),
/// every agent is registered with it, the framework is subscribed to it,
/// and every task the framework launched is running on an agent the
/// leader knows, or was reported terminal (or LOST) to the framework, or — launched
/// through a master that failed before the agent got it — is unknown to
/// the leader and to every agent, and the framework was told so.
pub fn converged(
    checks: &Checks,
    leader: Option<usize>,
    hostnames: &BTreeSet<String>,
    since: Time,
) -> Result<(), String> {
    let leader = leader.ok_or("no registrar leads")?;
    let master = super::cluster::master_pid(leader);
    let probe = checks.probe.borrow();
    match probe.leading.get(&master) {
        Some((at, true)) if *at >= since => {}
        other => return Err(format!("{master} does not say it leads ({other:?})")),
    }
    let Some((at, from, state)) = probe
        .state
        .as_ref()
        .filter(|(at, from, _)| *at >= since && *from == master)
    else {
        return Err(format!("no fresh state from {master}"));
    };
    let _ = (at, from);
    let registered: BTreeMap<&str, &corral_master::state::AgentState> = state
        .agents
        .iter()
        .filter(|a| a.reachable)
        .map(|a| (a.hostname.as_str(), a))
        .collect();
    for h in hostnames {
        if !registered.contains_key(h.as_str()) {
            return Err(format!("{h} is not registered with {master}"));
        }
    }
    let fw = checks.framework.borrow();
    if fw.subscribed_to.as_ref() != Some(&master) {
        return Err(format!(
            "the framework is subscribed to {:?}, not {master}",
            fw.subscribed_to
        ));
    }
    let known: BTreeMap<&TaskId, &corral_master::state::TaskView> =
        state.tasks.iter().map(|t| (&t.id, t)).collect();
    let agent_ids: BTreeSet<_> = state.agents.iter().map(|a| &a.id).collect();
    for id in fw.launched.keys() {
        if fw.terminal(id).is_some() {
            continue;
        }
        let told_lost = fw.last_state(id) == Some(TaskState::Lost);
        match known.get(id) {
            Some(t) if t.state == TaskState::Running && agent_ids.contains(&t.agent_id) => {}
            // LOST ends a task as in Mesos (`isTerminalState`), though
            // `TaskState::is_terminal` leaves it out.
            Some(t) if t.state == TaskState::Lost && told_lost => {}
            Some(t) => return Err(format!("task {id} is {:?} at {master}", t.state)),
            None => {
                let on_agent = checks.agents.iter().any(|a| a.running.contains_key(id));
                let told = matches!(
                    fw.last_state(id),
                    Some(TaskState::Unknown | TaskState::Lost)
                );
                if on_agent || !told {
                    return Err(format!(
                        "task {id} is unknown to {master} (on an agent: {on_agent}, framework heard {:?})",
                        fw.last_state(id)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Tasks that ended KILLED or FAILED though the framework did not kill
/// them and their agent's machine stayed up since their launch: killed
/// because a master failed over. `crashed_since(hostname, t)` says whether
/// that agent crashed at or after `t`.
pub fn killed_by_failover(
    framework: &SharedLog,
    crashed_since: impl Fn(&str, Time) -> bool,
) -> Vec<String> {
    let fw = framework.borrow();
    let mut found = Vec::new();
    for (id, launch) in &fw.launched {
        let Some(end) = fw.terminal_update(id) else {
            continue;
        };
        if !matches!(end.state, TaskState::Killed | TaskState::Failed) || fw.kills.contains(id) {
            continue;
        }
        if !crashed_since(&launch.hostname, launch.at) {
            found.push(format!(
                "task {id} on {} ended {:?} ({}), not killed by the framework, its agent up",
                launch.hostname, end.state, end.why
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::offer_term;

    #[test]
    fn offer_ids_carry_their_term() {
        assert_eq!(offer_term("0a1b2c3dt7-O12"), Some(7));
        assert_eq!(offer_term("ffffffff-O3"), None);
        assert_eq!(offer_term("garbage"), None);
    }
}
