//! The failover scenario's safety checkers, named after the invariants of
//! docs/architecture.md (The simulator and chaos testing). They read the cluster from outside: the registrars'
//! observer reports ([`Ledger`]), what the frameworks received and sent
//! ([`FrameworkLog`](super::FrameworkLog), [`Traffic`]), the agents'
//! observer events ([`AgentNote`]) and the probe's answers
//! ([`ProbeLog`](super::ProbeLog)). Each check after an event looks only at
//! what is new. (Invariant 5, after healing, is in `settle`.)
//!
//! - Invariant 1, `inv1-no-agent-allocated-beyond-its-resources`: the tasks
//!   an agent runs (launched, not yet ended, by its own events) never hold
//!   more than the agent has; and in every state the leader gives, no
//!   agent's used plus offered resources exceed its total.
//! - Invariant 2, `inv2-no-resource-offered-twice`: the [`OfferLedger`],
//!   from the frameworks' offer traffic; and
//!   `inv2-rejected-requests-launch-nothing`: no task of an invalid request
//!   ever reaches an agent.
//! - Invariant 3, `inv3-terminal-final-updates-in-order`: the frameworks'
//!   logs (a terminal state is final), and an outside ledger of the
//!   updates agents produced (queued, with executors' uuids) against those
//!   frameworks received: every update received was produced, and each
//!   first arrives after the ones produced before it.
//! - Invariant 4, `inv4-one-leader-per-term`: one Raft leader per term; the
//!   `Elected` entries committed in a term name one master, the one on the
//!   node whose registrar led that term; and every offer made in a term
//!   (offer ids carry the term) comes from that one master.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use corral_agent::AgentEvent;
use corral_api::ids::TaskId;
use corral_api::resources::Resources;
use corral_master::registrar::Op;
use corral_runtime::sim::Sim;
use corral_runtime::{Pid, Time};

use super::framework::SharedLog;
use super::notes::{agent_index, AgentNote, AgentNotes, SharedProbe};
use super::offer_ledger::{offer_term, overlap, OfferLedger};
use super::shape::Shape;
use super::situations::{Situations, Watch};
use super::traffic::{Seen, Traffic};
use crate::nodes::{agent_hostname, master_addr};
use crate::registrar::Ledger;

/// What one agent runs, as its events say.
#[derive(Default, Debug)]
pub struct AgentView {
    /// Tasks it runs and what they hold.
    pub running: BTreeMap<TaskId, Resources>,
    /// Tasks whose terminal update the agent queued (ever).
    ended: BTreeSet<TaskId>,
}

/// The checkers' state.
pub struct Checks {
    pub(super) ledger: Rc<RefCell<Ledger>>,
    pub(super) frameworks: Vec<SharedLog>,
    traffic: Traffic,
    pub(super) probe: SharedProbe,
    notes: AgentNotes,
    /// What each agent has.
    pub(super) totals: Vec<Resources>,
    pub(super) agents: Vec<AgentView>,
    offers: OfferLedger,
    /// Traffic already read.
    traffic_read: usize,
    /// Agents whose offers or tasks changed since the last check.
    dirty: BTreeSet<String>,
    /// Agents over-offered, since when, and how.
    over: BTreeMap<String, (Time, String)>,
    /// Violations found while reading, first first, by check name.
    found: BTreeMap<&'static str, String>,
    /// Each task's updates in the order its agents produced them.
    produced: BTreeMap<TaskId, Vec<[u8; 16]>>,
    /// Per task, the latest place in `produced` a framework has received.
    received_upto: BTreeMap<TaskId, usize>,
    /// Frameworks whose scheduler quit, whose tasks were let go.
    released: BTreeSet<usize>,
    /// The master each term's `Elected` entries name.
    elected: BTreeMap<u64, Pid>,
    /// Ledger indexes already read.
    applied_read: u64,
    /// The master each term's offers came from.
    offer_masters: BTreeMap<u64, Pid>,
    /// Probe states already read.
    states_read: u64,
    /// The situations the regression seeds must keep meeting.
    watch: Watch,
}

const INV1: &str = "inv1-no-agent-allocated-beyond-its-resources";
const INV2: &str = "inv2-no-resource-offered-twice";
const INV2_REJECTED: &str = "inv2-rejected-requests-launch-nothing";
const INV3: &str = "inv3-terminal-final-updates-in-order";

/// How long an agent's resources may stay offered twice: a rescinded
/// offer's framework hears of it a link's latency after the master offers
/// it again (or, with the master crashed, never).
pub const RESCIND_GRACE: Duration = Duration::from_secs(5);

impl Checks {
    /// A checker of a cluster of `shape` over these recorders.
    pub fn new(
        shape: &Shape,
        ledger: Rc<RefCell<Ledger>>,
        frameworks: Vec<SharedLog>,
        traffic: Traffic,
        probe: SharedProbe,
        notes: AgentNotes,
    ) -> Checks {
        Checks {
            ledger,
            frameworks,
            traffic,
            probe,
            notes,
            totals: shape.agents.iter().map(|a| a.resources.clone()).collect(),
            agents: shape.agents.iter().map(|_| AgentView::default()).collect(),
            offers: OfferLedger::default(),
            traffic_read: 0,
            dirty: BTreeSet::new(),
            over: BTreeMap::new(),
            found: BTreeMap::new(),
            produced: BTreeMap::new(),
            received_upto: BTreeMap::new(),
            released: BTreeSet::new(),
            elected: BTreeMap::new(),
            applied_read: 0,
            offer_masters: BTreeMap::new(),
            states_read: 0,
            watch: Watch::default(),
        }
    }

    /// Registers the invariants with the simulator.
    pub fn register(checks: &Rc<RefCell<Checks>>, sim: &mut Sim) {
        let c = checks.clone();
        sim.add_invariant("inv4-one-leader-per-term", move |_| {
            c.borrow_mut().one_leader_per_term()
        });
        for name in [INV1, INV2, INV2_REJECTED, INV3] {
            let c = checks.clone();
            sim.add_invariant(name, move |sim| {
                let mut c = c.borrow_mut();
                c.absorb(sim.now());
                c.result(name)
            });
        }
    }

    /// How often each bug's situation arose so far.
    pub fn situations(&self) -> &Situations {
        &self.watch.seen
    }

    /// Framework `i`'s scheduler went down: the offers it held are void.
    pub fn framework_down(&self, i: usize) {
        self.traffic.borrow_mut().push(Seen::Down { fw: i });
    }

    /// A master's machine crashed: the offers it made are void.
    pub fn master_down(&self, master: Pid) {
        self.traffic.borrow_mut().push(Seen::MasterDown { master });
    }

    fn result(&mut self, name: &'static str) -> Result<(), String> {
        if name == INV1 {
            self.leader_state_within_totals()?;
        }
        if name == INV3 {
            if let Some(v) = self
                .frameworks
                .iter()
                .find_map(|f| f.borrow().violations.first().cloned())
            {
                return Err(v);
            }
        }
        match self.found.get(name) {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }

    fn flag(&mut self, name: &'static str, detail: String) {
        self.found.entry(name).or_insert(detail);
    }

    /// Reads what is new: agents' notes first (a task an agent took over
    /// is no longer in flight), then the frameworks' traffic.
    fn absorb(&mut self, now: Time) {
        let notes: Vec<(usize, AgentNote)> = match self.notes.lock() {
            Ok(mut n) => std::mem::take(&mut *n),
            Err(e) => std::mem::take(&mut *e.into_inner()),
        };
        let mut changed = BTreeSet::new();
        let term = self
            .ledger
            .borrow()
            .leaders
            .keys()
            .last()
            .copied()
            .unwrap_or(0);
        self.watch.removals(&self.frameworks, now, term);
        for (i, note) in notes {
            self.watch.note(i, &note, &self.frameworks, term);
            self.apply_note(i, note);
            changed.insert(i);
            self.dirty.insert(agent_hostname(i));
        }
        self.release_quitters(now);
        for i in changed {
            self.agent_within_total(i);
        }
        let fresh: Vec<Seen> = self.traffic.borrow()[self.traffic_read..].to_vec();
        self.traffic_read += fresh.len();
        for seen in fresh {
            self.watch.seen(&seen, &self.frameworks);
            match &seen {
                Seen::Updated {
                    task_id,
                    uuid: Some(uuid),
                    ..
                } => self.received(task_id, uuid),
                Seen::Offered { offer, .. } => {
                    self.dirty.insert(offer.hostname.clone());
                }
                Seen::MasterDown { master } => {
                    let hosts = self.offers.hosts_offered_by(master);
                    let over = self.over.keys().filter(|h| hosts.contains(*h)).count();
                    self.watch.seen.over_offered_when_master_crashed += over;
                }
                _ => {}
            }
            self.offers.see(seen);
        }
        self.offered_within_agents(now);
    }

    /// Invariant 2 on every agent whose offers or tasks changed: what the
    /// frameworks hold in offers and launches and what the agent runs fit
    /// in it together, or stop overlapping within [`RESCIND_GRACE`].
    fn offered_within_agents(&mut self, now: Time) {
        // Offers leave with traffic that names no agent: look again at
        // every agent found over.
        self.dirty.extend(self.over.keys().cloned());
        for host in std::mem::take(&mut self.dirty) {
            let Some(i) = agent_index(&host) else {
                continue;
            };
            let (Some(view), Some(total)) = (self.agents.get(i), self.totals.get(i)) else {
                continue;
            };
            let mut held = self.offers.held_on(&host);
            held.extend(
                view.running
                    .iter()
                    .map(|(t, r)| (format!("task {t} running"), r.clone())),
            );
            match overlap(total, &held) {
                None => {
                    self.over.remove(&host);
                }
                Some(why) => {
                    let parts: Vec<String> =
                        held.iter().map(|(w, r)| format!("{w}: {r}")).collect();
                    let detail = format!("on {host}, {why}: {}", parts.join("; "));
                    self.over.entry(host).or_insert((now, detail));
                }
            }
        }
        let late = self
            .over
            .values()
            .find(|(since, _)| now.saturating_since(*since) > RESCIND_GRACE)
            .map(|(since, d)| format!("{d} (since {:.3} s)", since.as_nanos() as f64 / 1e9));
        if let Some(v) = late {
            self.flag(INV2, v);
        }
    }

    fn agent_within_total(&mut self, i: usize) {
        let (Some(view), Some(total)) = (self.agents.get(i), self.totals.get(i)) else {
            return;
        };
        let mut held = Resources::empty();
        for (t, r) in &view.running {
            match held.checked_plus(r) {
                Some(h) => held = h,
                None => {
                    let v = format!(
                        "{} runs {t} on {r}, which others of its tasks hold",
                        agent_hostname(i)
                    );
                    return self.flag(INV1, v);
                }
            }
        }
        if !total.contains(&held) {
            let tasks: Vec<&TaskId> = view.running.keys().collect();
            let v = format!(
                "{} runs {tasks:?}, holding {held}, but has {total}",
                agent_hostname(i)
            );
            self.flag(INV1, v);
        }
    }

    /// What task `t` holds, as its framework asked (invalid requests too,
    /// should one launch after all).
    fn resources_of(&self, t: &TaskId) -> Option<Resources> {
        self.frameworks.iter().find_map(|f| {
            let f = f.borrow();
            f.launched
                .get(t)
                .map(|l| l.resources.clone())
                .or_else(|| f.invalid.get(t).cloned())
        })
    }

    fn is_invalid(&self, t: &TaskId) -> bool {
        self.frameworks
            .iter()
            .any(|f| f.borrow().invalid.contains_key(t))
    }

    fn apply_note(&mut self, i: usize, note: AgentNote) {
        let host = agent_hostname(i);
        match note {
            AgentNote::Booted => self.agent_view(i).running.clear(),
            AgentNote::Event(AgentEvent::TaskLaunched { task_id, .. }) => {
                self.offers.landed(&task_id);
                if self.is_invalid(&task_id) {
                    let v = format!("{host} launched {task_id}, sent in an invalid request");
                    self.flag(INV2_REJECTED, v);
                }
                if let Some(r) = self.resources_of(&task_id) {
                    self.agent_view(i).running.insert(task_id, r);
                }
            }
            AgentNote::Event(AgentEvent::Recovered { tasks, .. }) => {
                for t in tasks {
                    let ended = self.agent_view(i).ended.contains(&t);
                    if let (false, Some(r)) = (ended, self.resources_of(&t)) {
                        self.agent_view(i).running.insert(t, r);
                    }
                }
            }
            AgentNote::Event(AgentEvent::StatusQueued(s)) => {
                self.offers.landed(&s.task_id);
                if let Some(uuid) = s.uuid {
                    self.produced
                        .entry(s.task_id.clone())
                        .or_default()
                        .push(uuid);
                }
                // LOST ends a task as in Mesos, though `is_terminal` leaves
                // it out.
                let ends = s.state.is_terminal() || s.state == corral_api::task::TaskState::Lost;
                if ends {
                    let view = self.agent_view(i);
                    view.running.remove(&s.task_id);
                    view.ended.insert(s.task_id);
                }
            }
            AgentNote::Event(AgentEvent::ShutDown { .. }) => self.agent_view(i).running.clear(),
            AgentNote::Event(_) => {}
        }
    }

    fn agent_view(&mut self, i: usize) -> &mut AgentView {
        if self.agents.len() <= i {
            self.agents.resize_with(i + 1, AgentView::default);
        }
        &mut self.agents[i]
    }

    /// A framework received an agent's update `uuid` for `task`: it must
    /// have been produced, and not before one it already received.
    fn received(&mut self, task: &TaskId, uuid: &[u8; 16]) {
        let Some(place) = self
            .produced
            .get(task)
            .and_then(|p| p.iter().position(|u| u == uuid))
        else {
            let v = format!(
                "task {task}: a framework received update {uuid:02x?}, which no agent produced"
            );
            return self.flag(INV3, v);
        };
        let upto = self.received_upto.entry(task.clone()).or_insert(place);
        if place < *upto {
            let v = format!(
                "task {task}: a framework received the agent's update #{place} after #{}",
                *upto
            );
            return self.flag(INV3, v);
        }
        *upto = place;
    }

    /// A scheduler that quit is torn down once its failover timeout has
    /// passed at the master: its tasks are then killed while the master
    /// already offers what they held, so from (a second before) then the
    /// checker lets them go.
    fn release_quitters(&mut self, now: Time) {
        for i in 0..self.frameworks.len() {
            if self.released.contains(&i) {
                continue;
            }
            let tasks: Vec<TaskId> = {
                let f = self.frameworks[i].borrow();
                let Some(quit) = f.quit_at else { continue };
                let due = quit + f.failover_timeout.saturating_sub(Duration::from_secs(1));
                if now < due {
                    continue;
                }
                f.launched.keys().cloned().collect()
            };
            self.released.insert(i);
            for view in &mut self.agents {
                for t in &tasks {
                    if view.running.remove(t).is_some() {
                        view.ended.insert(t.clone());
                    }
                }
            }
            for t in &tasks {
                self.offers.landed(t);
            }
        }
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
        let traffic = self.traffic.borrow();
        for seen in &traffic[self.offers_term_read()..] {
            let Seen::Offered { offer, from, .. } = seen else {
                continue;
            };
            let id = &offer.id;
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
        Ok(())
    }

    fn offers_term_read(&self) -> usize {
        // Offers are read by this check on every event, before the other
        // checks absorb them: what they have read is what is old.
        self.traffic_read
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
