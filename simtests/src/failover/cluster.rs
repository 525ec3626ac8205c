//! The simulated cluster of the failover scenario: three master nodes
//! (registrar + master each, as `corral master` runs them), agents, one
//! framework, and a probe that asks the masters about themselves — with
//! the checkers ([`Checks`]) registered as invariants.
//!
//! Agents run the real command executor: the simulator's process-actor
//! hook ([`Sim::set_process_actors`]) turns each executor process an agent
//! launches into a `corral_executor` actor on the agent's node, configured
//! from the environment the agent set, as `corral-executor` would read it.
//! The executor runs its task's command as a simulated process.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_agent::{Agent, AgentConfig};
use corral_executor::command::CommandExecutor;
use corral_executor::config::CommandExecutorConfig;
use corral_executor::env;
use corral_master::allocator::AllocatorActorConfig;
use corral_master::ids::{AgentId, FrameworkId};
use corral_master::master::{Master, MasterConfig};
use corral_master::registrar::{Registrar, RegistrarConfig};
use corral_master::resources::Resources;
use corral_master::state::{GetLeadership, GetState, MasterState};
use corral_runtime::sim::{Sim, SimConfig, Violation};
use corral_runtime::{Actor, Ctx, Handlers, Kernel, Pid, ProcessSpec, Time};

use super::checks::{AgentNote, AgentNotes, Checks};
use super::framework::{Framework, FrameworkLog, SharedLog};
use crate::registrar::Ledger;

/// Masters in the scenario.
pub const MASTERS: usize = 3;
/// Agents by default.
pub const DEFAULT_AGENTS: usize = 3;
/// What each agent offers.
pub const AGENT_RESOURCES: &str = "cpus:4;mem:4096";
/// How often the probe asks the masters.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Largest clock drift of a node, in parts per million.
const MAX_DRIFT_PPM: u32 = 1000;

/// Address of master node `i`.
pub fn master_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, i as u8 + 1], 5050))
}

/// Address of agent node `i`.
pub fn agent_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 2, i as u8 + 1], 5051))
}

fn framework_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 3, 1], 5050))
}

fn probe_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 4, 1], 5050))
}

fn pid(name: &str, addr: SocketAddr) -> Pid {
    Pid::new(name, addr).unwrap_or_else(|e| unreachable!("fixed names: {e}"))
}

/// The master on node `i`.
pub fn master_pid(i: usize) -> Pid {
    pid(Master::NAME, master_addr(i))
}

/// The registrar on node `i` (Raft id `i + 1`).
pub fn registrar_pid(i: usize) -> Pid {
    pid("registrar", master_addr(i))
}

/// Hostname of agent `i`.
pub fn agent_hostname(i: usize) -> String {
    format!("agent-{i}")
}

/// The masters' settings: Mesos's, with shorter waits so a run converges
/// in a minute of virtual time.
fn master_config() -> MasterConfig {
    MasterConfig {
        allocator: AllocatorActorConfig {
            interval: Duration::from_millis(500),
            ..AllocatorActorConfig::default()
        },
        heartbeat_interval: Duration::from_secs(5),
        ping_interval: Duration::from_secs(5),
        max_missed_pings: 3,
        default_refuse: Duration::from_secs(1),
        agent_reregister_timeout: Duration::from_secs(60),
        ..MasterConfig::default()
    }
}

fn agent_config(i: usize) -> AgentConfig {
    let resources =
        Resources::parse(AGENT_RESOURCES).unwrap_or_else(|e| unreachable!("a fixed literal: {e}"));
    let masters = (0..MASTERS).map(master_pid).collect();
    let mut cfg = AgentConfig::new(
        master_pid(0),
        agent_hostname(i),
        resources,
        PathBuf::from("/var/lib/corral"),
        "corral-executor".into(),
    )
    .with_masters(masters);
    cfg.registration_backoff_max = Duration::from_secs(4);
    cfg.status_retry_min = Duration::from_secs(1);
    cfg.status_retry_max = Duration::from_secs(8);
    cfg.executor_registration_timeout = Duration::from_secs(10);
    cfg.kill_grace = Duration::from_secs(2);
    // The machine's crash took the executors: do not wait 15 min for them.
    cfg.recovery_timeout = Duration::from_secs(10);
    cfg
}

/// The executor an agent launched, as `corral-executor` builds itself from
/// its environment; None for any other process.
fn executor_from_spec(spec: &ProcessSpec) -> Option<(String, CommandExecutor)> {
    let var = |name: &str| {
        spec.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let agent: Pid = var(env::AGENT_PID)?.parse().ok()?;
    let framework_id = FrameworkId(var(env::FRAMEWORK_ID)?.to_owned());
    let executor_id = var(env::EXECUTOR_ID)?;
    let sandbox = var(env::SANDBOX)?;
    let mut cfg = CommandExecutorConfig::new(agent, framework_id, executor_id, sandbox);
    cfg.agent_id = var(env::AGENT_ID).map(AgentId::from);
    cfg.work_dir = var(env::WORK_DIR).map(PathBuf::from);
    cfg.checkpoint = var(env::CHECKPOINT) == Some("1");
    if let Some(t) = var(env::RECOVERY_TIMEOUT) {
        cfg.recovery_timeout = corral_executor::run::parse_mesos_duration(t)?;
    }
    let name = corral_executor::run::actor_name(executor_id);
    let executor = CommandExecutor::new(cfg, Box::new(|_| {})).ok()?;
    Some((name, executor))
}

/// Spawns the executor an agent launched on the agent's node.
fn spawn_executor(spec: &ProcessSpec, kernel: &mut Kernel) -> Option<String> {
    let (name, executor) = executor_from_spec(spec)?;
    kernel.spawn_actor(&name, executor).ok()?;
    Some(name)
}

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
    /// Agents.
    pub agents: usize,
    /// What the registrars reported.
    pub ledger: Rc<RefCell<Ledger>>,
    /// What the framework saw.
    pub framework: SharedLog,
    /// What the probe learnt.
    pub probe: SharedProbe,
    /// The checker's state.
    pub checks: Rc<RefCell<Checks>>,
    /// When each agent's machine crashed.
    pub agent_crashes: Rc<RefCell<BTreeMap<usize, Vec<Time>>>>,
}

impl Cluster {
    /// Three masters, `agents` agents, the framework and the probe, from
    /// `seed`; the safety checks run after every event.
    pub fn new(seed: u64, agents: usize) -> Cluster {
        let mut sim = Sim::new(SimConfig {
            seed,
            link_timeout: Duration::from_secs(2),
            max_drift_ppm: MAX_DRIFT_PPM,
            ..SimConfig::default()
        });
        sim.set_process_actors(Box::new(spawn_executor));
        let ledger = Rc::new(RefCell::new(Ledger::default()));
        add_masters(&mut sim, &ledger);
        let notes: AgentNotes = Arc::new(Mutex::new(Vec::new()));
        for i in 0..agents {
            add_agent(&mut sim, i, &notes);
        }
        let framework = Rc::new(RefCell::new(FrameworkLog::default()));
        let log = framework.clone();
        sim.add_node(framework_addr(), move |k| {
            let masters = (0..MASTERS).map(master_pid).collect();
            let _ = k.spawn_actor(Framework::NAME, Framework::new(masters, log.clone()));
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
        let probe = SharedProbe::default();
        let log = probe.clone();
        sim.add_node(probe_addr(), move |k| {
            let masters = (0..MASTERS).map(master_pid).collect();
            let p = Probe {
                masters,
                log: log.clone(),
            };
            let _ = k.spawn_actor("probe", p);
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
        let checks = Rc::new(RefCell::new(Checks::new(
            agents,
            ledger.clone(),
            framework.clone(),
            probe.clone(),
            notes,
        )));
        Checks::register(&checks, &mut sim);
        Cluster {
            sim,
            agents,
            ledger,
            framework,
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
        let mut nodes: Vec<SocketAddr> = (0..MASTERS).map(master_addr).collect();
        nodes.extend((0..self.agents).map(agent_addr));
        nodes.push(framework_addr());
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
        for j in (0..MASTERS).filter(|j| *j != i) {
            self.sim.partition(master_addr(i), master_addr(j));
        }
    }

    /// Heals master `i`'s links to the other masters.
    pub fn rejoin_master(&mut self, i: usize) {
        for j in (0..MASTERS).filter(|j| *j != i) {
            self.sim.heal_both(master_addr(i), master_addr(j));
        }
    }

    /// Cuts agent `i` off from every master, both ways.
    pub fn isolate_agent(&mut self, i: usize) {
        for m in 0..MASTERS {
            self.sim.partition(agent_addr(i), master_addr(m));
        }
    }

    /// Heals agent `i`'s links to the masters.
    pub fn rejoin_agent(&mut self, i: usize) {
        for m in 0..MASTERS {
            self.sim.heal_both(agent_addr(i), master_addr(m));
        }
    }

    /// Tells the framework to stop launching and killing tasks.
    pub fn quiesce(&mut self) {
        self.framework.borrow_mut().quiet = true;
    }

    /// Tasks the framework launched, for reports.
    pub fn launched(&self) -> usize {
        self.framework.borrow().launched.len()
    }

    /// Hostnames of the agents.
    pub fn hostnames(&self) -> BTreeSet<String> {
        (0..self.agents).map(agent_hostname).collect()
    }
}

fn add_masters(sim: &mut Sim, ledger: &Rc<RefCell<Ledger>>) {
    let peers: Vec<(u64, Pid)> = (0..MASTERS)
        .map(|i| (i as u64 + 1, registrar_pid(i)))
        .collect();
    for i in 0..MASTERS {
        let rcfg = RegistrarConfig::new(i as u64 + 1, peers.clone());
        let l = ledger.clone();
        sim.add_node(master_addr(i), move |k| {
            let l = l.clone();
            let r = Registrar::new(rcfg.clone())
                .with_observer(Rc::new(move |e| l.borrow_mut().record(e)));
            // A fresh kernel has no actors: the names are free.
            let _ = k.spawn_actor("registrar", r);
            let master = Master::replicated(master_config(), registrar_pid(i));
            let _ = k.spawn_actor(Master::NAME, master);
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
    }
}

fn add_agent(sim: &mut Sim, i: usize, notes: &AgentNotes) {
    let notes = notes.clone();
    sim.add_node(agent_addr(i), move |k| {
        if let Ok(mut n) = notes.lock() {
            n.push((i, AgentNote::Booted));
        }
        let n = notes.clone();
        let agent = Agent::new(agent_config(i)).with_observer(move |e| {
            if let Ok(mut n) = n.lock() {
                n.push((i, AgentNote::Event(e)));
            }
        });
        let _ = k.spawn_actor(Agent::NAME, agent);
    })
    .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
}
