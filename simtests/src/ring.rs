//! The ring scenario: tokens pass around a ring of nodes while nodes crash
//! and restart, links partition, clog and heal, and connections break.
//!
//! Invariant (after every event): no token is created out of nothing — each
//! (token, hop) is handled at most once. Liveness (after faults stop and the
//! world heals): a fresh probe token completes a full round within 10 s.
//! `plant_bug` makes nodes occasionally forward a token twice: the runner
//! must find it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Pid, Time};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::runner::{Outcome, Params};

const DEFAULT_NODES: usize = 5;
const FAULT_PHASE: Duration = Duration::from_secs(3);
const PROBE: u64 = u64::MAX;

/// A token on its way round the ring.
#[derive(Debug, Serialize, Deserialize)]
pub struct Token {
    /// Which token.
    pub id: u64,
    /// How many nodes handled it so far.
    pub hops: u64,
}
message!(Token = "ring.Token");

/// What the checkers see: the furthest hop each token reached, and
/// duplicates. One copy of a token only ever moves forward, so a hop at or
/// below the furthest one means a second copy exists.
#[derive(Default)]
struct Ledger {
    furthest: BTreeMap<u64, u64>,
    duplicates: Vec<(u64, u64)>,
    probe_hops: u64,
}

struct RingNode {
    next: Pid,
    ledger: Rc<RefCell<Ledger>>,
    plant_bug: bool,
}

impl Actor for RingNode {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Token>();
    }
}

impl Handler<Token> for RingNode {
    fn handle(&mut self, t: Token, ctx: &mut Ctx<'_, Self>) {
        {
            let mut ledger = self.ledger.borrow_mut();
            match ledger.furthest.insert(t.id, t.hops) {
                Some(seen) if seen >= t.hops => {
                    ledger.furthest.insert(t.id, seen);
                    ledger.duplicates.push((t.id, t.hops));
                }
                _ => {}
            }
            if t.id == PROBE {
                ledger.probe_hops = ledger.probe_hops.max(t.hops + 1);
            }
        }
        let next = self.next.clone();
        ctx.send(
            &next,
            Token {
                id: t.id,
                hops: t.hops + 1,
            },
        );
        if self.plant_bug && ctx.rng().random_ratio(1, 2000) {
            ctx.send(
                &next,
                Token {
                    id: t.id,
                    hops: t.hops + 1,
                },
            );
        }
    }
}

/// Address of node `i` (0-based): 10.0.x.y:5050, room for thousands.
pub fn node_addr(i: usize) -> SocketAddr {
    let i = i as u32 + 1;
    SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8 + 1], 5050))
}

fn ring_pid(i: usize) -> Pid {
    // node_addr always gives a valid address and "ring" is a valid name.
    Pid::new("ring", node_addr(i)).unwrap_or_else(|e| unreachable!("{e}"))
}

/// Runs the ring scenario for one seed.
pub fn run(p: &Params) -> Outcome {
    let nodes = p.nodes.unwrap_or(DEFAULT_NODES).max(2);
    let tokens = (nodes as u64).max(4);
    let mut sim = Sim::new(SimConfig {
        seed: p.seed,
        link_timeout: Duration::from_millis(500),
        max_drift_ppm: 1000,
        break_probability: 0.0005,
        ..SimConfig::default()
    });
    sim.record_trace(p.trace);
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    for i in 0..nodes {
        let (l, next, plant_bug) = (
            ledger.clone(),
            ring_pid((i + 1) % nodes),
            p.plant_bug.is_some(),
        );
        let added = sim.add_node(node_addr(i), move |k| {
            let node = RingNode {
                next: next.clone(),
                ledger: l.clone(),
                plant_bug,
            };
            // A fresh kernel has no actors: the name is free.
            let _ = k.spawn_actor("ring", node);
        });
        if let Err(e) = added {
            unreachable!("distinct addresses: {e}");
        }
    }
    let l = ledger.clone();
    sim.add_invariant("token-conservation", move |_| {
        match l.borrow().duplicates.first() {
            None => Ok(()),
            Some((id, hops)) => Err(format!("token {id} was handled twice at hop {hops}")),
        }
    });
    let outside = Pid::new("outside", SocketAddr::from(([10, 255, 255, 254], 1)))
        .unwrap_or_else(|e| unreachable!("{e}"));
    for id in 0..tokens {
        let _ = sim.send(
            outside.clone(),
            &ring_pid(id as usize % nodes),
            Token { id, hops: 0 },
        );
    }
    let result = faults(&mut sim, nodes).and_then(|()| {
        heal_all(&mut sim, nodes);
        let _ = sim.send(outside.clone(), &ring_pid(0), Token { id: PROBE, hops: 0 });
        let l = ledger.clone();
        let want = nodes as u64;
        sim.await_liveness(
            "probe-completes-a-round",
            Duration::from_secs(10),
            move |_| {
                let hops = l.borrow().probe_hops;
                if hops >= want {
                    Ok(())
                } else {
                    Err(format!("probe made {hops} of {want} hops"))
                }
            },
        )
    });
    Outcome::of(&sim, p, result.err())
}

fn faults(sim: &mut Sim, nodes: usize) -> Result<(), corral_runtime::sim::Violation> {
    let end = Time::ZERO + FAULT_PHASE;
    while sim.now() < end {
        let pause = Duration::from_millis(sim.rng().random_range(10..200));
        let until = sim.now() + pause;
        sim.run_until_checked(until)?;
        let a = node_addr(sim.rng().random_range(0..nodes));
        let b = node_addr(sim.rng().random_range(0..nodes));
        match sim.rng().random_range(0..12) {
            0 if sim.is_up(a) => {
                let _ = sim.crash(a);
            }
            1 | 2 if !sim.is_up(a) => {
                let _ = sim.restart(a);
            }
            3 if a != b => sim.partition(a, b),
            4 if a != b => sim.cut(a, b),
            5 | 6 => sim.heal_both(a, b),
            7 if a != b => {
                let until = sim.now() + Duration::from_millis(sim.rng().random_range(50..800));
                sim.clog(a, b, until);
            }
            _ => {}
        }
    }
    Ok(())
}

fn heal_all(sim: &mut Sim, nodes: usize) {
    for i in 0..nodes {
        let a = node_addr(i);
        if !sim.is_up(a) {
            let _ = sim.restart(a);
        }
        for j in 0..nodes {
            if i != j {
                sim.heal(a, node_addr(j));
            }
        }
    }
}
