//! The c1m cluster: one master node (registrar + master, as `corral master`
//! runs them), thousands of agent nodes running the real command executor,
//! and a node for the batch framework, added once the agents have
//! registered. Every observer feeds the [`Ledger`].

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use corral_agent::Agent;
use corral_api::framework::FrameworkInfo;
use corral_api::resources::Resources;
use corral_examples::batch::{Batch, BatchConfig, BatchTask};
use corral_master::master::MasterConfig;
use corral_runtime::sim::{Sim, SimConfig};

use super::ledger::{task_id, Ledger};
use crate::nodes::{self, CustomExecutors};
use crate::registrar::Ledger as RaftLedger;

/// The ledger, shared with observers that must be `Send`.
pub type SharedLedger = Arc<Mutex<Ledger>>;

/// Locks the ledger; a poisoned lock still holds what was recorded.
pub fn lock(l: &SharedLedger) -> std::sync::MutexGuard<'_, Ledger> {
    l.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Agent `i`'s address: the shared [`nodes::agent_addr`] numbers only 250
/// agents, c1m needs thousands.
pub fn agent_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 2, (i / 250) as u8, (i % 250) as u8 + 1], 5051))
}

/// What the cluster is made of.
pub struct Shape {
    /// The seed.
    pub seed: u64,
    /// Agents.
    pub agents: usize,
    /// Each agent's resources.
    pub agent: Resources,
    /// Each task's resources.
    pub task: Resources,
    /// The task's command: long enough that it still runs when the run
    /// ends, so a task is placed once and holds its place.
    pub command: &'static str,
}

/// A world with the master node and `shape.agents` agent nodes, their
/// observers writing to `ledger`; no framework yet.
pub fn build(shape: &Shape, master: &MasterConfig, ledger: &SharedLedger) -> Sim {
    let mut sim = Sim::new(SimConfig {
        seed: shape.seed,
        ..SimConfig::default()
    });
    let executors = CustomExecutors::new();
    sim.set_process_actors(Box::new(move |spec, k| {
        nodes::spawn_executor(spec, k, &executors)
    }));
    let raft = Rc::new(RefCell::new(RaftLedger::default()));
    nodes::add_masters(&mut sim, 1, &raft, master, |_| {});
    for i in 0..shape.agents {
        let cfg = nodes::agent_config(i, 1, shape.agent.clone());
        let l = ledger.clone();
        sim.add_node(agent_addr(i), move |k| {
            let l = l.clone();
            let agent = Agent::new(cfg.clone()).with_observer(move |e| lock(&l).agent(i, &e));
            // A fresh kernel has no actors: the name is free.
            let _ = k.spawn_actor(Agent::NAME, agent);
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
    }
    sim
}

/// The batch's tasks: `tasks` of them, ids `t0`...
pub fn batch_tasks(shape: &Shape, tasks: usize) -> Vec<BatchTask> {
    (0..tasks)
        .map(|n| BatchTask {
            id: task_id(n),
            command: shape.command.to_owned(),
            resources: shape.task.clone(),
        })
        .collect()
}

/// Adds the framework node, running the batch framework over `tasks`.
pub fn add_framework(sim: &mut Sim, tasks: Vec<BatchTask>, ledger: &SharedLedger) {
    let master = nodes::master_pid(0);
    let mut cfg = BatchConfig::uniform(
        master,
        FrameworkInfo::new("c1m", "*"),
        "unused",
        0,
        "",
        Resources::empty(),
    );
    cfg.tasks = tasks;
    // Long tasks never end: nothing to tear down.
    cfg.teardown_when_done = false;
    let mut cfg = Some(cfg);
    let l = ledger.clone();
    sim.add_node(nodes::framework_addr(0), move |k| {
        // The node boots once: a restart (none in c1m) would start nothing.
        let Some(cfg) = cfg.take() else { return };
        let l = l.clone();
        let batch = Batch::new(cfg, Box::new(move |e| lock(&l).framework(&e)));
        let _ = k.spawn_actor("c1m", batch.into_framework());
    })
    .unwrap_or_else(|e| unreachable!("a fresh address: {e}"));
}
