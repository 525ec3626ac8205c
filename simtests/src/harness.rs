//! A simulated cluster for testing your own framework: real masters
//! (replicated through Raft, as `corral master` runs them) and real agents
//! running the real command executor, all on the deterministic simulator,
//! with your framework actor on a node of its own. Inject faults (crash,
//! restart, partition, heal; clock drift from the builder), run until your
//! condition holds or a virtual deadline passes, and check your own
//! invariants after every event. The same seed gives the same run, so a
//! failure replays exactly.
//!
//! ```
//! use std::time::Duration;
//! use corral_simtests::harness::{ClusterBuilder, Node};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut c = ClusterBuilder::new(7)
//!     .masters(3)
//!     .agents(2, "cpus:2;mem:1024".parse()?)
//!     .build()?;
//! c.run_until(Duration::from_secs(30), "a leader", |c| c.leader().is_some())?;
//! let old = c.leader().ok_or("no leader")?;
//! c.crash(Node::Master(old))?;
//! c.run_until(Duration::from_secs(30), "a new leader", |c| {
//!     c.leader().is_some_and(|l| l != old)
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! `examples/examples/simulate_framework.rs` tests a scheduler written on
//! `corral-scheduler` across a leader's crash this way.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use corral_api::resources::Resources;
use corral_master::master::MasterConfig;
use corral_runtime::sim::{Sim, SimConfig, SimError, Violation};
use corral_runtime::{Actor, Pid, Time};

use corral_executor_sdk::{Executor, ExecutorConfig, ExecutorDriver};
use corral_runtime::Kernel;

use crate::nodes::{self, AgentWatcher, CustomExecutors};
use crate::registrar::Ledger;

/// The most nodes of one kind (their addresses end in one byte).
const MAX_NODES: usize = 250;

/// Why the harness could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The cluster described cannot be built.
    #[error("cannot build this cluster: {0}")]
    Shape(String),
    /// The node named is not in this cluster.
    #[error("{0:?} is not in this cluster")]
    NoSuchNode(Node),
    /// The node is already down (crash) or already up (restart).
    #[error("{node:?}: {error}")]
    Node {
        /// The node.
        node: Node,
        /// What the simulator said.
        error: SimError,
    },
    /// The framework actor could not be started under that name.
    #[error("framework actor {name:?}: {why}")]
    Framework {
        /// The actor name asked for.
        name: String,
        /// Why not.
        why: String,
    },
    /// An invariant (yours or the harness's) failed.
    #[error("{0}")]
    Violated(Violation),
    /// The condition awaited did not hold in time.
    #[error("waited {within:?} of virtual time for {what}; it did not happen ({at:.3} s)")]
    TimedOut {
        /// What was awaited, as the caller named it.
        what: String,
        /// How long.
        within: Duration,
        /// Virtual time when the wait gave up, in seconds.
        at: f64,
    },
}

/// A node of the simulated cluster, by kind and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// Master node `i` (its registrar and master).
    Master(usize),
    /// Agent node `i` (its agent, executors and tasks).
    Agent(usize),
    /// The node of framework `i` (in the order added).
    Framework(usize),
}

/// Describes a cluster to build: one master and no agents by default.
pub struct ClusterBuilder {
    seed: u64,
    masters: usize,
    agents: Vec<Resources>,
    max_drift_ppm: u32,
    link_timeout: Duration,
    master: MasterConfig,
    executors: CustomExecutors,
}

impl ClusterBuilder {
    /// A cluster whose every random choice (latencies, clock drift, the
    /// order of simultaneous events) comes from `seed`.
    pub fn new(seed: u64) -> ClusterBuilder {
        ClusterBuilder {
            seed,
            masters: 1,
            agents: Vec::new(),
            max_drift_ppm: 0,
            link_timeout: Duration::from_secs(2),
            master: nodes::master_config(),
            executors: CustomExecutors::new(),
        }
    }

    /// Runs the framework's own executor `make` builds wherever a task's
    /// `ExecutorInfo` names `command`: the agent starts it as a process,
    /// and here it is the executor's driver actor on the agent's node.
    /// Tasks of the command executor run as usual.
    pub fn executor<E: Executor>(
        mut self,
        command: &str,
        make: impl Fn(&ExecutorConfig) -> E + 'static,
    ) -> ClusterBuilder {
        let spawn = move |cfg: &ExecutorConfig, name: &str, k: &mut Kernel| {
            let driver = ExecutorDriver::new(cfg.clone(), make(cfg), Box::new(|_| {}))
                .map_err(|e| e.to_string())?;
            k.spawn_actor(name, driver)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        self.executors.insert(command.to_owned(), Box::new(spawn));
        self
    }

    /// `n` masters, replicating their registry through Raft.
    pub fn masters(mut self, n: usize) -> ClusterBuilder {
        self.masters = n;
        self
    }

    /// One more agent, offering `resources`.
    pub fn agent(mut self, resources: Resources) -> ClusterBuilder {
        self.agents.push(resources);
        self
    }

    /// `n` more agents, each offering `resources`.
    pub fn agents(mut self, n: usize, resources: Resources) -> ClusterBuilder {
        self.agents.extend(std::iter::repeat_n(resources, n));
        self
    }

    /// Each node's clock drifts by up to `ppm` parts per million, drawn
    /// from the seed (none by default).
    pub fn clock_drift_ppm(mut self, ppm: u32) -> ClusterBuilder {
        self.max_drift_ppm = ppm;
        self
    }

    /// How long a silent peer takes to be noticed gone (2 s by default).
    pub fn link_timeout(mut self, d: Duration) -> ClusterBuilder {
        self.link_timeout = d;
        self
    }

    /// Changes the masters' settings (allocation interval, offer timeout,
    /// roles' weights...); the defaults are Mesos's with shorter waits.
    pub fn master_config(mut self, change: impl FnOnce(&mut MasterConfig)) -> ClusterBuilder {
        change(&mut self.master);
        self
    }

    /// Builds the cluster; nothing has run yet.
    pub fn build(self) -> Result<SimCluster, HarnessError> {
        if self.masters == 0 || self.masters > MAX_NODES {
            let n = self.masters;
            return Err(HarnessError::Shape(format!(
                "{n} masters (1 to {MAX_NODES})"
            )));
        }
        if self.agents.len() > MAX_NODES {
            let n = self.agents.len();
            return Err(HarnessError::Shape(format!(
                "{n} agents (at most {MAX_NODES})"
            )));
        }
        let mut sim = Sim::new(SimConfig {
            seed: self.seed,
            link_timeout: self.link_timeout,
            max_drift_ppm: self.max_drift_ppm,
            ..SimConfig::default()
        });
        let ClusterBuilder {
            masters,
            agents,
            master,
            executors,
            ..
        } = self;
        sim.set_process_actors(Box::new(move |spec, k| {
            nodes::spawn_executor(spec, k, &executors)
        }));
        let ledger = Rc::new(RefCell::new(Ledger::default()));
        nodes::add_masters(&mut sim, masters, &ledger, &master, |_| {});
        for (i, resources) in agents.iter().enumerate() {
            let cfg = nodes::agent_config(i, masters, resources.clone());
            nodes::add_agent(&mut sim, i, cfg, Unwatched);
        }
        Ok(SimCluster {
            sim,
            masters,
            agents: agents.len(),
            frameworks: Vec::new(),
            ledger,
        })
    }
}

/// The harness does not watch agents: users check what their framework sees.
#[derive(Clone)]
struct Unwatched;

impl AgentWatcher for Unwatched {
    fn booted(&self, _: usize) {}
    fn event(&self, _: usize, _: corral_agent::AgentEvent) {}
}

/// A simulated cluster built by [`ClusterBuilder`].
pub struct SimCluster {
    sim: Sim,
    masters: usize,
    agents: usize,
    /// Each framework's actor pid.
    frameworks: Vec<Pid>,
    ledger: Rc<RefCell<Ledger>>,
}

impl SimCluster {
    /// The masters' pids, for a framework's list of masters.
    pub fn masters(&self) -> Vec<Pid> {
        (0..self.masters).map(nodes::master_pid).collect()
    }

    /// Agent `i`'s hostname, as offers name it.
    pub fn agent_hostname(&self, i: usize) -> String {
        nodes::agent_hostname(i)
    }

    /// Framework `i`'s actor pid.
    pub fn framework(&self, i: usize) -> Option<&Pid> {
        self.frameworks.get(i)
    }

    /// Adds a framework node running the actor `make` returns under
    /// `name`; `make` runs again at each restart of the node (a restarted
    /// scheduler starts from what `make` gives it, as a real one starts
    /// from its own saved state). Returns the framework's index.
    pub fn add_framework<A: Actor>(
        &mut self,
        name: &str,
        make: impl Fn() -> A + 'static,
    ) -> Result<usize, HarnessError> {
        let i = self.frameworks.len();
        if i >= MAX_NODES {
            return Err(HarnessError::Shape(format!(
                "at most {MAX_NODES} frameworks"
            )));
        }
        let addr = nodes::framework_addr(i);
        let pid = Pid::new(name, addr).map_err(|e| HarnessError::Framework {
            name: name.to_owned(),
            why: e.to_string(),
        })?;
        let owned = name.to_owned();
        self.sim
            .add_node(addr, move |k| {
                // A fresh kernel has no actors, and the name was checked.
                let _ = k.spawn_actor(&owned, make());
            })
            .map_err(|e| HarnessError::Framework {
                name: name.to_owned(),
                why: e.to_string(),
            })?;
        self.frameworks.push(pid);
        Ok(i)
    }

    /// The index of the master that leads now (its node up, its Raft
    /// leading the latest term), if any.
    pub fn leader(&self) -> Option<usize> {
        let sim = &self.sim;
        let id = self
            .ledger
            .borrow()
            .leader(|id| sim.is_up(nodes::master_addr(id as usize - 1)))?;
        Some(id as usize - 1)
    }

    /// The virtual time now.
    pub fn now(&self) -> Time {
        self.sim.now()
    }

    /// The simulator itself, for what the harness does not wrap (latency,
    /// clogged links, disk faults, its trace).
    pub fn sim(&mut self) -> &mut Sim {
        &mut self.sim
    }

    fn addr(&self, node: Node) -> Result<std::net::SocketAddr, HarnessError> {
        match node {
            Node::Master(i) if i < self.masters => Ok(nodes::master_addr(i)),
            Node::Agent(i) if i < self.agents => Ok(nodes::agent_addr(i)),
            Node::Framework(i) if i < self.frameworks.len() => Ok(nodes::framework_addr(i)),
            _ => Err(HarnessError::NoSuchNode(node)),
        }
    }

    /// Crashes `node`'s machine: its actors, timers, processes, unsent
    /// messages and unsynced writes are gone; peers notice after the link
    /// timeout.
    pub fn crash(&mut self, node: Node) -> Result<(), HarnessError> {
        let addr = self.addr(node)?;
        self.sim
            .crash(addr)
            .map_err(|error| HarnessError::Node { node, error })
    }

    /// Boots a crashed node again, on its disk.
    pub fn restart(&mut self, node: Node) -> Result<(), HarnessError> {
        let addr = self.addr(node)?;
        self.sim
            .restart(addr)
            .map_err(|error| HarnessError::Node { node, error })
    }

    /// Cuts the links between `a` and `b` both ways until [`heal`](Self::heal).
    pub fn partition(&mut self, a: Node, b: Node) -> Result<(), HarnessError> {
        let (a, b) = (self.addr(a)?, self.addr(b)?);
        self.sim.partition(a, b);
        Ok(())
    }

    /// Heals the links between `a` and `b`.
    pub fn heal(&mut self, a: Node, b: Node) -> Result<(), HarnessError> {
        let (a, b) = (self.addr(a)?, self.addr(b)?);
        self.sim.heal_both(a, b);
        Ok(())
    }

    /// Checks `check` after every event from now on; a failure ends the
    /// run it happens in with [`HarnessError::Violated`].
    pub fn add_invariant(
        &mut self,
        name: &'static str,
        check: impl FnMut(&Sim) -> Result<(), String> + 'static,
    ) {
        self.sim.add_invariant(name, check);
    }

    /// Runs `d` of virtual time, checking the invariants after every event.
    pub fn run_for(&mut self, d: Duration) -> Result<(), HarnessError> {
        let until = self.sim.now() + d;
        self.sim
            .run_until_checked(until)
            .map_err(HarnessError::Violated)
    }

    /// Runs until `done` holds, checking the invariants after every event;
    /// gives up after `within` of virtual time, naming `what` it awaited.
    /// Returns how long it took.
    pub fn run_until(
        &mut self,
        within: Duration,
        what: &str,
        mut done: impl FnMut(&SimCluster) -> bool,
    ) -> Result<Duration, HarnessError> {
        let start = self.sim.now();
        let deadline = start + within;
        while !done(self) {
            match self.sim.next_event_time() {
                Some(t) if t <= deadline => {
                    self.sim
                        .run_until_checked(t)
                        .map_err(HarnessError::Violated)?;
                }
                _ => {
                    return Err(HarnessError::TimedOut {
                        what: what.to_owned(),
                        within,
                        at: self.sim.now().as_nanos() as f64 / 1e9,
                    })
                }
            }
        }
        Ok(Duration::from_nanos(
            self.sim.now().as_nanos() - start.as_nanos(),
        ))
    }
}
