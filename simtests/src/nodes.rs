//! The simulated cluster's machines, shared by the chaos scenario and the
//! public [`harness`](crate::harness): where each node lives, and how a
//! master node (registrar + master, as `corral master` runs them) and an
//! agent node boot — on every (re)start, from their disks.
//!
//! Agents run the real command executor: the simulator's process-actor
//! hook ([`Sim::set_process_actors`]) turns each executor process an agent
//! launches into a `corral_executor` actor on the agent's node, configured
//! from the environment the agent set, as `corral-executor` would read it.
//! The executor runs its task's command as a simulated process.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use corral_agent::{Agent, AgentConfig, AgentEvent};
use corral_api::resources::Resources;
use corral_executor::command::{CommandExecutor, Site};
use corral_executor::env;
use corral_executor_sdk::{actor_name, ExecutorConfig, ExecutorDriver};
use corral_master::allocator::AllocatorActorConfig;
use corral_master::master::{Master, MasterConfig};
use corral_master::registrar::{Registrar, RegistrarConfig};
use corral_runtime::sim::Sim;
use corral_runtime::{Kernel, Pid, ProcessSpec};

use crate::registrar::Ledger;

/// Address of master node `i`.
pub fn master_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, i as u8 + 1], 5050))
}

/// Address of agent node `i`.
pub fn agent_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 2, i as u8 + 1], 5051))
}

/// Address of framework node `i`.
pub fn framework_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 3, i as u8 + 1], 5050))
}

pub(crate) fn pid(name: &str, addr: SocketAddr) -> Pid {
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

/// The masters' allocation interval.
pub const ALLOCATION_INTERVAL: Duration = Duration::from_millis(500);

/// The masters' settings: Mesos's, with shorter waits so a run converges
/// in a minute of virtual time.
pub fn master_config() -> MasterConfig {
    MasterConfig {
        allocator: AllocatorActorConfig {
            interval: ALLOCATION_INTERVAL,
            ..AllocatorActorConfig::default()
        },
        heartbeat_interval: Duration::from_secs(5),
        agent_ping_timeout: Duration::from_secs(5),
        max_missed_pings: 3,
        default_refuse: Duration::from_secs(1),
        agent_reregister_timeout: Duration::from_secs(60),
        ..MasterConfig::default()
    }
}

/// Adds `n` master nodes, each a registrar (its Raft reports recorded in
/// `ledger`) and a master on it; `registrar` adjusts node `i`'s registrar
/// settings.
pub(crate) fn add_masters(
    sim: &mut Sim,
    n: usize,
    ledger: &Rc<RefCell<Ledger>>,
    mcfg: &MasterConfig,
    registrar: impl Fn(&mut RegistrarConfig),
) {
    let peers: Vec<(u64, Pid)> = (0..n).map(|i| (i as u64 + 1, registrar_pid(i))).collect();
    for i in 0..n {
        let mut rcfg = RegistrarConfig::new(i as u64 + 1, peers.clone());
        registrar(&mut rcfg);
        let mcfg = mcfg.clone();
        let l = ledger.clone();
        sim.add_node(master_addr(i), move |k| {
            let l = l.clone();
            let r = Registrar::new(rcfg.clone())
                .with_observer(Rc::new(move |e| l.borrow_mut().record(e)));
            // A fresh kernel has no actors: the names are free.
            let _ = k.spawn_actor("registrar", r);
            let master = Master::replicated(mcfg.clone(), registrar_pid(i));
            let _ = k.spawn_actor(Master::NAME, master);
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
    }
}

/// What to tell about agent node `i`: `booted` on every boot, `event`
/// with each of its agent's events.
pub(crate) trait AgentWatcher: Clone + Send + 'static {
    fn booted(&self, i: usize);
    fn event(&self, i: usize, e: AgentEvent);
}

/// Adds agent node `i` running an agent configured by `cfg`.
pub(crate) fn add_agent(sim: &mut Sim, i: usize, cfg: AgentConfig, watcher: impl AgentWatcher) {
    sim.add_node(agent_addr(i), move |k| {
        watcher.booted(i);
        let w = watcher.clone();
        let agent = Agent::new(cfg.clone()).with_observer(move |e| w.event(i, e));
        let _ = k.spawn_actor(Agent::NAME, agent);
    })
    .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
}

/// Agent `i`'s settings in a cluster of `masters` masters: Mesos's, with
/// shorter waits so a run converges in a minute of virtual time.
pub fn agent_config(i: usize, masters: usize, resources: Resources) -> AgentConfig {
    let masters = (0..masters).map(master_pid).collect();
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

/// A framework's own executor for the simulator: spawns, on the agent's
/// node under the given name, the executor actor for a configuration.
pub type SpawnCustom = Box<dyn Fn(&ExecutorConfig, &str, &mut Kernel) -> Result<(), String>>;

/// Framework executors by the command their `ExecutorInfo` names; any
/// other executor process is the command executor.
pub type CustomExecutors = BTreeMap<String, SpawnCustom>;

/// The executor configuration a launched process's environment gives, as
/// an executor program reads it; None for a process that is no executor.
fn executor_config(spec: &ProcessSpec) -> Option<ExecutorConfig> {
    corral_executor_sdk::env::config_from(|name| Ok(spec_var(spec, name))).ok()
}

/// A launched process's variable, as an executor reads its environment:
/// None when unset or empty.
fn spec_var(spec: &ProcessSpec, name: &str) -> Option<String> {
    spec.env
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// Spawns the executor an agent launched on the agent's node (the
/// simulator's process-actor hook): the framework's own if `custom` has
/// its command, else the command executor, as `corral-executor` would
/// build itself from its environment.
pub(crate) fn spawn_executor(
    spec: &ProcessSpec,
    kernel: &mut Kernel,
    custom: &CustomExecutors,
) -> Option<String> {
    let common = executor_config(spec)?;
    let name = actor_name(&common.executor_id);
    if let Some(spawn) = custom.get(&spec.command) {
        if let Err(e) = spawn(&common, &name, kernel) {
            tracing::warn!(command = %spec.command, "cannot start the executor: {e}");
            return None;
        }
        return Some(name);
    }
    let dir = |name| spec_var(spec, name).map(PathBuf::from);
    let site = Site::of(&common, dir(env::WORK_DIR), dir(env::TASKS_DIR));
    let command = CommandExecutor::new(site);
    let executor = ExecutorDriver::new(common, command, Box::new(|_| {})).ok()?;
    kernel.spawn_actor(&name, executor).ok()?;
    Some(name)
}
