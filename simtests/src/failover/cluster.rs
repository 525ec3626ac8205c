//! The simulated cluster of the failover scenario, as its [`Shape`] says:
//! 1, 3 or 5 master nodes (registrar + master each, as `corral master`
//! runs them), agents, frameworks, and a probe that asks the masters about themselves — with
//! the checkers ([`Checks`]) registered as invariants. The nodes boot as
//! [`crate::nodes`] says.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_agent::{AgentConfig, AgentEvent};
use corral_api::task::TaskState;
use corral_master::master::MasterConfig;
use corral_master::state::{GetLeadership, GetState};
use corral_runtime::sim::{Sim, SimConfig, Violation};
use corral_runtime::{Actor, Ctx, Handlers, Pid, Time};

use super::checks::Checks;
use super::framework::{ChaosScheduler, FrameworkLog, SharedLog};
use super::notes::{AgentNote, AgentNotes, SharedProbe};
use super::planted::PlantedBug;
use super::shape::Shape;
use super::traffic::Traffic;
use crate::nodes::{self, AgentWatcher};
pub use crate::nodes::{agent_addr, agent_hostname, framework_addr, master_addr, master_pid};
use crate::registrar::Ledger;

/// Masters in the fixed shape.
pub const MASTERS: usize = 3;
/// Agents by default in the fixed shape.
pub const DEFAULT_AGENTS: usize = 3;
/// How often the probe asks the masters.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Largest clock drift of a node, in parts per million.
const MAX_DRIFT_PPM: u32 = 1000;

fn probe_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 4, 1], 5050))
}

pub use crate::nodes::ALLOCATION_INTERVAL;

/// The masters' settings: [`nodes::master_config`]'s, with weights and
/// offer timeout from the shape.
fn master_config(shape: &Shape, planted: Option<PlantedBug>) -> MasterConfig {
    let mut cfg = nodes::master_config();
    cfg.allocator.weights = shape.weights.clone();
    cfg.offer_timeout = shape.offer_timeout;
    cfg.planted = planted.and_then(PlantedBug::master);
    cfg
}

fn agent_config(i: usize, shape: &Shape, planted: Option<PlantedBug>) -> AgentConfig {
    let a = &shape.agents[i];
    let mut cfg = nodes::agent_config(i, shape.masters, a.resources.clone());
    cfg.attributes = a.attributes.clone();
    cfg.planted = planted.and_then(PlantedBug::agent);
    cfg
}

/// Asks every master whether it leads, and a leading one for its state.
struct Probe {
    masters: Vec<Pid>,
    log: SharedProbe,
}

impl Probe {
    fn round(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.delay(PROBE_EVERY, |p: &mut Self, ctx| p.round(ctx));
        for m in self.masters.clone() {
            let to = m.clone();
            ctx.ask(
                &to,
                GetLeadership,
                PROBE_EVERY,
                move |p: &mut Self, r, ctx| {
                    let Ok(l) = r else { return };
                    let now = ctx.now();
                    p.log
                        .borrow_mut()
                        .leading
                        .insert(m.clone(), (now, l.leading));
                    if !l.leading {
                        return;
                    }
                    let from = m.clone();
                    ctx.ask(&m, GetState, PROBE_EVERY, move |p: &mut Self, r, ctx| {
                        if let Ok(state) = r {
                            let mut log = p.log.borrow_mut();
                            log.state = Some((ctx.now(), from, state));
                            log.states += 1;
                        }
                    });
                },
            );
        }
    }
}

impl Actor for Probe {
    fn handlers(_: &mut Handlers<Self>) {}

    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.round(ctx);
    }
}

/// The failover cluster, its recorders and its checker.
pub struct Cluster {
    /// The world.
    pub sim: Sim,
    /// Its shape.
    pub shape: Shape,
    /// Masters.
    pub masters: usize,
    /// Agents.
    pub agents: usize,
    /// What the registrars reported.
    pub ledger: Rc<RefCell<Ledger>>,
    /// What the first framework saw.
    pub framework: SharedLog,
    /// What each framework saw.
    pub frameworks: Vec<SharedLog>,
    /// What the probe learnt.
    pub probe: SharedProbe,
    /// The checker's state.
    pub checks: Rc<RefCell<Checks>>,
    /// When each agent's machine crashed.
    pub agent_crashes: Rc<RefCell<BTreeMap<usize, Vec<Time>>>>,
}

impl Cluster {
    /// The fixed shape with `agents` agents (see [`Shape::fixed`]), from
    /// `seed`; the safety checks run after every event.
    pub fn new(seed: u64, agents: usize) -> Cluster {
        Cluster::shaped(seed, Shape::fixed(agents), None)
    }

    /// The cluster `shape` describes, from `seed`, with `planted` (if
    /// any) switched on in its components; the safety checks run after
    /// every event.
    pub fn shaped(seed: u64, shape: Shape, planted: Option<PlantedBug>) -> Cluster {
        let mut sim = Sim::new(SimConfig {
            seed,
            link_timeout: Duration::from_secs(2),
            max_drift_ppm: MAX_DRIFT_PPM,
            ..SimConfig::default()
        });
        let commands_only = nodes::CustomExecutors::new();
        sim.set_process_actors(Box::new(move |spec, k| {
            nodes::spawn_executor(spec, k, &commands_only)
        }));
        let ledger = Rc::new(RefCell::new(Ledger::default()));
        add_masters(&mut sim, &ledger, &shape, planted);
        let notes: AgentNotes = Arc::new(Mutex::new(Vec::new()));
        for i in 0..shape.agents.len() {
            add_agent(&mut sim, i, &notes, &shape, planted);
        }
        let traffic = Traffic::default();
        let frameworks = add_frameworks(&mut sim, &shape, &traffic);
        let probe = SharedProbe::default();
        let log = probe.clone();
        let n_masters = shape.masters;
        sim.add_node(probe_addr(), move |k| {
            let masters = (0..n_masters).map(master_pid).collect();
            let p = Probe {
                masters,
                log: log.clone(),
            };
            let _ = k.spawn_actor("probe", p);
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
        let checks = Rc::new(RefCell::new(Checks::new(
            &shape,
            ledger.clone(),
            frameworks.clone(),
            traffic,
            probe.clone(),
            notes,
        )));
        Checks::register(&checks, &mut sim);
        Cluster {
            sim,
            masters: shape.masters,
            agents: shape.agents.len(),
            shape,
            ledger,
            framework: frameworks[0].clone(),
            frameworks,
            probe,
            checks,
            agent_crashes: Rc::default(),
        }
    }

    /// The index of the up master node whose registrar leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let sim = &self.sim;
        let id = self
            .ledger
            .borrow()
            .leader(|id| sim.is_up(master_addr(id as usize - 1)))?;
        Some(id as usize - 1)
    }

    /// Runs for `d` of virtual time, checking safety after every event.
    pub fn run_for(&mut self, d: Duration) -> Result<(), Violation> {
        let until = self.sim.now() + d;
        self.sim.run_until_checked(until)
    }

    /// Crashes agent `i`'s machine (its executors and tasks die with it).
    pub fn crash_agent(&mut self, i: usize) -> bool {
        let now = self.sim.now();
        let crashed = self.sim.crash(agent_addr(i)).is_ok();
        if crashed {
            self.agent_crashes
                .borrow_mut()
                .entry(i)
                .or_default()
                .push(now);
        }
        crashed
    }

    /// Whether agent `i`'s machine crashed at or after `since`, a time read
    /// on the framework's clock: nodes' clocks drift up to `MAX_DRIFT_PPM`
    /// each from the simulator's, so crash times (simulator time) within
    /// twice that of `since` count as after it.
    pub fn agent_crashed_since(&self, hostname: &str, since: Time) -> bool {
        let crashes = self.agent_crashes.borrow();
        let slack = since.as_nanos() / 1_000_000 * 2 * u64::from(MAX_DRIFT_PPM);
        let since = Time::from_nanos(since.as_nanos().saturating_sub(slack));
        (0..self.agents).any(|i| {
            agent_hostname(i) == hostname
                && crashes
                    .get(&i)
                    .is_some_and(|times| times.iter().any(|t| *t >= since))
        })
    }

    /// Heals every link and restarts every node that is down.
    pub fn heal_all(&mut self) {
        let mut nodes: Vec<SocketAddr> = (0..self.masters).map(master_addr).collect();
        nodes.extend((0..self.agents).map(agent_addr));
        for (i, fw) in self.frameworks.iter().enumerate() {
            // A scheduler that quit stays away.
            if !fw.borrow().gone() {
                nodes.push(framework_addr(i));
            }
        }
        nodes.push(probe_addr());
        for a in &nodes {
            if !self.sim.is_up(*a) {
                let _ = self.sim.restart(*a);
            }
            for b in &nodes {
                if a != b {
                    self.sim.heal(*a, *b);
                }
            }
        }
    }

    /// Cuts master `i` off from the other masters, both ways.
    pub fn isolate_master(&mut self, i: usize) {
        for j in (0..self.masters).filter(|j| *j != i) {
            self.sim.partition(master_addr(i), master_addr(j));
        }
    }

    /// Heals master `i`'s links to the other masters.
    pub fn rejoin_master(&mut self, i: usize) {
        for j in (0..self.masters).filter(|j| *j != i) {
            self.sim.heal_both(master_addr(i), master_addr(j));
        }
    }

    /// Cuts agent `i` off from every master, both ways.
    pub fn isolate_agent(&mut self, i: usize) {
        for m in 0..self.masters {
            self.sim.partition(agent_addr(i), master_addr(m));
        }
    }

    /// Heals agent `i`'s links to the masters.
    pub fn rejoin_agent(&mut self, i: usize) {
        for m in 0..self.masters {
            self.sim.heal_both(agent_addr(i), master_addr(m));
        }
    }

    /// Tells the frameworks to stop launching and killing tasks.
    pub fn quiesce(&mut self) {
        for fw in &self.frameworks {
            fw.borrow_mut().quiet = true;
        }
    }

    /// Tasks the frameworks launched, for reports.
    pub fn launched(&self) -> usize {
        self.frameworks
            .iter()
            .map(|f| f.borrow().launched.len())
            .sum()
    }

    /// Crashes master `i`'s machine, telling the checkers its offers are
    /// void; whether it was up.
    pub fn crash_master(&mut self, i: usize) -> bool {
        let crashed = self.sim.crash(master_addr(i)).is_ok();
        if crashed {
            self.checks.borrow().master_down(master_pid(i));
        }
        crashed
    }

    /// Crashes framework `i`'s scheduler's machine; it comes back with
    /// [`restart_framework`](Cluster::restart_framework).
    pub fn crash_framework(&mut self, i: usize) {
        if self.sim.crash(framework_addr(i)).is_ok() {
            self.checks.borrow().framework_down(i);
        }
    }

    /// Restarts framework `i`'s scheduler (under its framework id).
    pub fn restart_framework(&mut self, i: usize) {
        let _ = self.sim.restart(framework_addr(i));
    }

    /// Whether an agent reported a launch it never got to a framework
    /// (DROPPED with the agent's uuid): bug 1's situation.
    pub fn agent_dropped_a_launch(&self) -> bool {
        self.frameworks.iter().any(|f| {
            f.borrow()
                .updates
                .values()
                .flatten()
                .any(|r| r.uuid.is_some() && r.state == TaskState::Dropped)
        })
    }

    /// Whether a task FAILED, not by its own command, on an agent whose
    /// machine crashed only before its launch by the simulator's clock, and
    /// counts as crashed after it only with the clocks' drift allowed for
    /// (seed 3028's situation).
    pub fn failed_by_a_crash_close_to_launch(&self) -> bool {
        let crashes = self.agent_crashes.borrow();
        self.frameworks.iter().any(|f| {
            let f = f.borrow();
            f.launched.iter().any(|(t, l)| {
                let before = (0..self.agents)
                    .filter(|i| agent_hostname(*i) == l.hostname)
                    .filter_map(|i| crashes.get(&i))
                    .all(|times| times.iter().all(|at| *at < l.at));
                !l.fails
                    && f.terminal(t) == Some(TaskState::Failed)
                    && before
                    && self.agent_crashed_since(&l.hostname, l.at)
            })
        })
    }

    /// Hostnames of the agents.
    pub fn hostnames(&self) -> BTreeSet<String> {
        (0..self.agents).map(agent_hostname).collect()
    }
}

fn add_masters(
    sim: &mut Sim,
    ledger: &Rc<RefCell<Ledger>>,
    shape: &Shape,
    planted: Option<PlantedBug>,
) {
    let mcfg = master_config(shape, planted);
    nodes::add_masters(sim, shape.masters, ledger, &mcfg, |rcfg| {
        rcfg.planted = planted.and_then(PlantedBug::registrar);
    });
}

fn add_frameworks(sim: &mut Sim, shape: &Shape, traffic: &Traffic) -> Vec<SharedLog> {
    let mut logs = Vec::new();
    for (i, fs) in shape.frameworks.iter().enumerate() {
        let mut log = FrameworkLog::new(fs.behaviour, fs.failover_timeout);
        if fs.behaviour == super::shape::Behaviour::Batch {
            log.jobs_left = Some(10 + (i as u32 * 7) % 20);
        }
        let log = Rc::new(RefCell::new(log));
        logs.push(log.clone());
        let (fs, traffic, n_masters) = (fs.clone(), traffic.clone(), shape.masters);
        sim.add_node(framework_addr(i), move |k| {
            let masters = (0..n_masters).map(master_pid).collect();
            match ChaosScheduler::driver(i, fs.clone(), masters, log.clone(), traffic.clone()) {
                Ok(driver) => {
                    let _ = k.spawn_actor(ChaosScheduler::NAME, driver);
                }
                Err(e) => unreachable!("the scenario has masters: {e}"),
            }
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
    }
    logs
}

fn add_agent(
    sim: &mut Sim,
    i: usize,
    notes: &AgentNotes,
    shape: &Shape,
    planted: Option<PlantedBug>,
) {
    nodes::add_agent(sim, i, agent_config(i, shape, planted), notes.clone());
}

impl AgentWatcher for AgentNotes {
    fn booted(&self, i: usize) {
        if let Ok(mut n) = self.lock() {
            n.push((i, AgentNote::Booted));
        }
    }

    fn event(&self, i: usize, e: AgentEvent) {
        if let Ok(mut n) = self.lock() {
            n.push((i, AgentNote::Event(e)));
        }
    }
}
