//! C1M in simulation: a million tasks placed on 5,000 agents through the
//! real master (with its allocator and registrar), real agents, the real
//! command executor and the batch framework of `corral-examples`, all on
//! the simulated network (`corral sim --scenario c1m`). After HashiCorp's
//! C1M (a million containers on 5,000 hosts in under 5 minutes).
//!
//! `--nodes N` sets the agents (default 5,000); the batch has 200 tasks per
//! agent, and each agent's resources (`cpus:50;mem:102400`) hold exactly 200
//! tasks (`cpus:0.25;mem:512`, amounts exact in binary so the packing is
//! exact too). Each task runs `sleep 86400`: it never ends during the run,
//! so the cluster ends full, nothing is placed twice by recycling, and the
//! master holds every task at the end, as C1M's cluster did.
//!
//! **Placed** means the framework received TASK_RUNNING for the task. The
//! [`ledger`] counts distinct task ids that reached RUNNING at the
//! framework's observer, and from the agents' observers checks that no task
//! is launched twice (on one agent or two) and that no agent runs more
//! tasks than its resources hold; no task may end. The run ends when every
//! task is placed, or fails after an hour of virtual time.
//!
//! Figures (`figure <name> <value> <unit>`):
//! - `c1m_virtual_s`: virtual time from the framework's subscription to the
//!   last task placed. The simulator charges no virtual time for work done
//!   in a handler, so this is the chain of network latencies (one allocation
//!   pass offers the whole cluster), not a cost: the wall time is;
//! - `c1m_wall_s`: wall time of the same stretch (the cluster's start and
//!   the agents' registration before it are not counted);
//! - `placements_per_s`: tasks placed per second of that wall time;
//! - `c1m_cpu_s`, `placements_per_cpu_s`: the same stretch's time on a CPU
//!   (Linux's schedstat; absent elsewhere), for shared machines;
//! - `master_bytes_per_agent`, `master_bytes_per_task`: the master node's
//!   heap (see [`measure`]) with every agent registered and no task, less an
//!   empty master's, per agent; and at the end, less the former, per task.
//!   Only when the binary counts allocations ([`Params::live_bytes`]); the
//!   agents-only cluster is then built and run once more for the reading;
//! - `alloc_pass_ms`: one allocation pass of the allocator core offering
//!   every agent, at this size (see [`measure::alloc_pass_ms`]).
//!
//! Planted bug `free-at-running` (the master's, as in the chaos scenario):
//! the master frees a task's resources when it starts running, and the
//! batch asks for one agent's worth of tasks more than the cluster holds,
//! so the freed resources are offered and taken again; the ledger must
//! find an agent running more than it holds. (The framework cannot launch
//! a task twice to test the once-only check end to end: the scheduler
//! driver, the master and the agent each refuse a task id in use; the
//! ledger's unit tests cover that check.)

#![allow(clippy::disallowed_methods)] // the scenario measures real wall time

pub mod cluster;
pub mod ledger;
pub mod measure;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_api::resources::Resources;
use corral_master::master::{MasterBug, MasterConfig};
use corral_runtime::sim::{Sim, Violation};
use corral_runtime::Time;

use crate::nodes;
use crate::runner::{Figure, Outcome, Params};
use cluster::{lock, Shape, SharedLedger};
use ledger::Ledger;

/// Agents by default: C1M's 5,000 hosts.
pub const DEFAULT_AGENTS: usize = 5_000;
/// Tasks per agent: 1,000,000 tasks on 5,000 agents.
pub const TASKS_PER_AGENT: usize = 200;
/// The bugs `--plant-bug` knows.
pub const BUGS: [&str; 1] = ["free-at-running"];
/// How long the agents have to register.
const REGISTRATION_WITHIN: Duration = Duration::from_secs(120);
/// How long the tasks have to be placed.
const PLACEMENT_WITHIN: Duration = Duration::from_secs(3600);
/// How long an agents-only cluster runs on before its master is weighed.
const SETTLE: Duration = Duration::from_secs(5);

fn shape(seed: u64, agents: usize) -> Shape {
    let parse = |s: &str| {
        s.parse::<Resources>()
            .unwrap_or_else(|e| unreachable!("fixed resources {s}: {e}"))
    };
    Shape {
        seed,
        agents,
        agent: parse("cpus:50;mem:102400"),
        task: parse("cpus:0.25;mem:512"),
        command: "sleep 86400",
    }
}

fn master_config(free_at_running: bool) -> MasterConfig {
    let mut cfg = nodes::master_config();
    cfg.planted = free_at_running.then_some(MasterBug::FreeAtRunning);
    cfg
}

/// Steps `sim` until `done` holds, the ledger fails, or virtual time
/// passes `within`; the violation if it did not end well.
fn run_until(
    sim: &mut Sim,
    ledger: &SharedLedger,
    within: Duration,
    what: &str,
    done: impl Fn(&Ledger) -> bool,
) -> Option<Violation> {
    let deadline = sim.now() + within;
    let violation = |sim: &Sim, check: &str, detail: String| Violation {
        at: sim.now(),
        step: sim.steps(),
        check: check.to_owned(),
        detail,
    };
    loop {
        {
            let l = lock(ledger);
            if let Some((check, detail)) = &l.violation {
                return Some(violation(sim, check, detail.clone()));
            }
            if done(&l) {
                return None;
            }
        }
        let due = sim.next_event_time().is_some_and(|t| t <= deadline);
        if !due || !sim.step() {
            let detail = format!("not done within {within:?} of virtual time");
            return Some(violation(sim, what, detail));
        }
    }
}

/// The master node's heap with `agents` agents registered and no
/// framework.
fn agents_only_heap(p: &Params, agents: usize, live_bytes: fn() -> u64) -> Option<u64> {
    let shape = shape(p.seed, agents);
    let ledger = Arc::new(Mutex::new(Ledger::new(0, agents, TASKS_PER_AGENT)));
    let mut sim = cluster::build(&shape, &master_config(false), &ledger);
    let registered = |l: &Ledger| l.registered_agents == agents;
    if run_until(
        &mut sim,
        &ledger,
        REGISTRATION_WITHIN,
        "registration",
        registered,
    )
    .is_some()
    {
        return None;
    }
    // Let the election (with no agents, nothing waited for it), the
    // registry writes and the first allocation passes settle.
    let settle = sim.now() + SETTLE;
    sim.run_until(settle);
    measure::master_heap(&mut sim, live_bytes)
}

/// Runs one seed of c1m. See the module doc.
pub fn run(p: &Params) -> Outcome {
    let agents = p.nodes.unwrap_or(DEFAULT_AGENTS);
    let planted = p.plant_bug.as_deref() == Some(BUGS[0]);
    // With the bug, one agent's worth more than fits: only the bug places it.
    let tasks = (agents + usize::from(planted)) * TASKS_PER_AGENT;
    let shape = shape(p.seed, agents);
    let ledger = Arc::new(Mutex::new(Ledger::new(tasks, agents, TASKS_PER_AGENT)));
    let mut sim = cluster::build(&shape, &master_config(planted), &ledger);
    sim.record_trace(p.trace);
    let registered = |l: &Ledger| l.registered_agents == agents;
    if let Some(v) = run_until(
        &mut sim,
        &ledger,
        REGISTRATION_WITHIN,
        "c1m-registration",
        registered,
    ) {
        return Outcome::of(&sim, p, Some(v));
    }
    let list = cluster::batch_tasks(&shape, tasks);
    cluster::add_framework(&mut sim, list, &ledger);
    let subscribed = |l: &Ledger| l.subscribed;
    if let Some(v) = run_until(
        &mut sim,
        &ledger,
        REGISTRATION_WITHIN,
        "c1m-subscription",
        subscribed,
    ) {
        return Outcome::of(&sim, p, Some(v));
    }
    let started: Time = sim.now();
    let started_wall = Instant::now();
    let started_cpu = measure::thread_cpu_ns();
    let placed = |l: &Ledger| l.placed == tasks;
    let mut violation = run_until(
        &mut sim,
        &ledger,
        PLACEMENT_WITHIN,
        ledger::ALL_PLACED,
        placed,
    );
    let wall = started_wall.elapsed().as_secs_f64();
    let cpu = measure::thread_cpu_ns()
        .zip(started_cpu)
        .map(|(end, start)| end.saturating_sub(start) as f64 / 1e9);
    let virtual_s = (sim.now().as_nanos() - started.as_nanos()) as f64 / 1e9;
    if violation.is_none() {
        let mut l = lock(&ledger);
        l.check_all_placed();
        violation = l.violation.clone().map(|(check, detail)| Violation {
            at: sim.now(),
            step: sim.steps(),
            check: check.to_owned(),
            detail,
        });
    }
    let mut outcome = Outcome::of(&sim, p, violation);
    let placed = lock(&ledger).placed;
    outcome.notes.push(format!(
        "c1m: {agents} agents, {tasks} tasks, {placed} placed in {virtual_s:.3} s virtual, {wall:.2} s wall"
    ));
    if outcome.violation.is_some() {
        return outcome;
    }
    let fig = |name, unit, value| Figure { name, unit, value };
    outcome.figures.push(fig("c1m_virtual_s", "s", virtual_s));
    outcome.figures.push(fig("c1m_wall_s", "s", wall));
    outcome.figures.push(fig(
        "placements_per_s",
        "placements/s",
        tasks as f64 / wall.max(1e-9),
    ));
    if let Some(cpu) = cpu {
        outcome.figures.push(fig("c1m_cpu_s", "s", cpu));
        let per_cpu_s = tasks as f64 / cpu.max(1e-9);
        outcome
            .figures
            .push(fig("placements_per_cpu_s", "placements/s", per_cpu_s));
    }
    if let Some(live_bytes) = p.live_bytes {
        let full = measure::master_heap(&mut sim, live_bytes);
        drop(sim);
        let empty = agents_only_heap(p, 0, live_bytes);
        let with_agents = agents_only_heap(p, agents, live_bytes);
        if let (Some(full), Some(empty), Some(with_agents)) = (full, empty, with_agents) {
            let per_agent = with_agents.saturating_sub(empty) as f64 / agents as f64;
            let per_task = full.saturating_sub(with_agents) as f64 / tasks as f64;
            outcome
                .figures
                .push(fig("master_bytes_per_agent", "bytes", per_agent));
            outcome
                .figures
                .push(fig("master_bytes_per_task", "bytes", per_task));
            outcome.notes.push(format!(
                "c1m: master heap {empty} bytes empty, {with_agents} with the agents, {full} at the end"
            ));
        }
    }
    outcome.figures.push(fig(
        "alloc_pass_ms",
        "ms",
        measure::alloc_pass_ms(agents, &shape.agent),
    ));
    outcome
}
