//! The registrar scenario: 3 or 5 replicated registrars (raft-rs) under
//! crashes, restarts, partitions, one-way cuts, clogs, broken connections
//! and disk write failures, with a client proposing registry ops all along.
//!
//! Checked after every event, from the registrars' observer reports
//! ([`Ledger`]): at most one leader per term; no two members apply
//! different entries at one index (so an acknowledged entry is never
//! replaced). Liveness, once faults stop and everything heals and
//! restarts: a leader exists, a fresh proposal commits, and every member
//! applies every acknowledged entry. `plant_bug` makes the registrars skip
//! their syncs: crashes then lose votes and entries, which the checks must
//! catch.

mod cluster;
mod ledger;

use std::time::Duration;

use corral_runtime::sim::Violation;
use corral_runtime::Time;
use rand::Rng;

pub use cluster::{node_addr, op, registrar_pid, Answers, Cluster, Inspect, Submit, Views};
pub use ledger::Ledger;

use crate::runner::{Outcome, Params};

const DEFAULT_NODES: usize = 5;
const FAULT_PHASE: Duration = Duration::from_secs(20);
/// Chance that a batch breaks its connection, in the chaos scenario.
const BREAK_PROBABILITY: f64 = 0.0005;
/// Chance of a fault after each proposal of the fault phase.
const FAULT_PROBABILITY: f64 = 0.3;

/// Runs the registrar scenario for one seed.
pub fn run(p: &Params) -> Outcome {
    let nodes = p.nodes.unwrap_or(DEFAULT_NODES).clamp(3, 9);
    let mut c = Cluster::with_breaks(p.seed, nodes, p.plant_bug.is_none(), BREAK_PROBABILITY);
    c.sim.record_trace(p.trace);
    let result = faults(&mut c).and_then(|()| {
        c.heal_all();
        c.commit(op(u64::MAX), Duration::from_secs(30))?;
        c.await_all_applied(Duration::from_secs(30))
    });
    Outcome::of(&c.sim, p, result.err())
}

fn faults(c: &mut Cluster) -> Result<(), Violation> {
    let end = Time::ZERO + FAULT_PHASE;
    let mut n = 0;
    while c.sim.now() < end {
        let pause = Duration::from_millis(c.sim.rng().random_range(20..300));
        c.run_for(pause)?;
        let target = c
            .leader()
            .filter(|_| c.sim.rng().random_bool(0.8))
            .unwrap_or_else(|| c.sim.rng().random_range(0..c.nodes));
        c.propose(target, op(n));
        n += 1;
        if c.sim.rng().random_bool(FAULT_PROBABILITY) {
            fault(c);
        }
    }
    Ok(())
}

fn fault(c: &mut Cluster) {
    let nodes = c.nodes;
    let rng = c.sim.rng();
    let (i, j) = (rng.random_range(0..nodes), rng.random_range(0..nodes));
    let kind = rng.random_range(0..16);
    let (a, b) = (node_addr(i), node_addr(j));
    let leader = c.leader();
    let sim = &mut c.sim;
    match kind {
        0 | 1 if sim.is_up(a) => {
            let _ = sim.crash(a);
        }
        2 => {
            if let Some(l) = leader {
                let _ = sim.crash(node_addr(l));
            }
        }
        3 | 4 if !sim.is_up(a) => {
            let _ = sim.restart(a);
        }
        5 | 6 if a != b => sim.partition(a, b),
        7 if a != b => sim.cut(a, b),
        8..=10 => sim.heal_both(a, b),
        11 if a != b => {
            let until = sim.now() + Duration::from_millis(sim.rng().random_range(50..1500));
            sim.clog(a, b, until);
        }
        12 => {
            let _ = sim.set_write_failure(a, 0.05);
        }
        13 => {
            let _ = sim.set_write_failure(a, 0.0);
        }
        _ => {}
    }
}
