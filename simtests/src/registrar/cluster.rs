//! A simulated registrar group with a client actor and the checker wired
//! in: the harness of the scenario and of the registrar tests.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use corral_master::registrar::{
    GetLeader, GetRegistry, LeaderInfo, Op, Propose, Proposed, Registrar, RegistrarConfig,
    RegistrySnapshot,
};
use corral_runtime::sim::{Sim, SimConfig, Violation};
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Pid};
use serde::{Deserialize, Serialize};

use super::ledger::Ledger;

const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// Client request: propose `op` to `to`, remember the answer under `tag`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Submit {
    /// The registrar to ask.
    pub to: Pid,
    /// The op.
    pub op: Op,
    /// The caller's name for the request.
    pub tag: u64,
}
message!(Submit = "simtest.registrar.Submit");

/// Client request: ask `to` for its leader and its registry.
#[derive(Debug, Serialize, Deserialize)]
pub struct Inspect {
    /// The registrar to ask.
    pub to: Pid,
}
message!(Inspect = "simtest.registrar.Inspect");

/// Answers the client got, by tag: the committed index or an error.
pub type Answers = Rc<RefCell<BTreeMap<u64, Result<u64, String>>>>;

/// What members said when inspected, by address.
pub type Views = Rc<RefCell<BTreeMap<Pid, (Option<LeaderInfo>, Option<RegistrySnapshot>)>>>;

struct Client {
    answers: Answers,
    views: Views,
}

impl Actor for Client {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Submit>();
        h.on::<Inspect>();
    }
}

impl Handler<Inspect> for Client {
    fn handle(&mut self, i: Inspect, ctx: &mut Ctx<'_, Self>) {
        let (a, b) = (i.to.clone(), i.to.clone());
        ctx.ask(
            &i.to,
            GetLeader,
            ASK_TIMEOUT,
            move |c: &mut Client, r, _| {
                c.views.borrow_mut().entry(a).or_default().0 = r.ok();
            },
        );
        ctx.ask(
            &i.to,
            GetRegistry,
            ASK_TIMEOUT,
            move |c: &mut Client, r, _| {
                c.views.borrow_mut().entry(b).or_default().1 = r.ok();
            },
        );
    }
}

impl Handler<Submit> for Client {
    fn handle(&mut self, s: Submit, ctx: &mut Ctx<'_, Self>) {
        let tag = s.tag;
        ctx.ask(
            &s.to,
            Propose { op: s.op },
            ASK_TIMEOUT,
            move |c: &mut Client, r, _| {
                let answer = match r {
                    Ok(Proposed { result: Ok(i) }) => Ok(i),
                    Ok(Proposed { result: Err(e) }) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                c.answers.borrow_mut().insert(tag, answer);
            },
        );
    }
}

/// Address of registrar `i` (Raft id `i + 1`).
pub fn node_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, i as u8 + 1], 5050))
}

fn client_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 9, 1], 5050))
}

/// The registrar on node `i`.
pub fn registrar_pid(i: usize) -> Pid {
    Pid::new("registrar", node_addr(i)).unwrap_or_else(|e| unreachable!("{e}"))
}

/// A simulated registrar group, its client and its checker.
pub struct Cluster {
    /// The world.
    pub sim: Sim,
    /// Members.
    pub nodes: usize,
    /// What the observers reported.
    pub ledger: Rc<RefCell<Ledger>>,
    /// What the client was told.
    pub answers: Answers,
    /// What inspected members said.
    pub views: Views,
    next_tag: u64,
}

impl Cluster {
    /// `nodes` registrars (ids 1..=nodes) and a client, from `seed`; the
    /// safety checks run after every event. `sync_writes` false plants the
    /// missing-sync bug.
    pub fn new(seed: u64, nodes: usize, sync_writes: bool) -> Cluster {
        Cluster::with_breaks(seed, nodes, sync_writes, 0.0)
    }

    /// Like [`new`](Cluster::new), and each batch sent breaks its
    /// connection with probability `break_probability`.
    pub fn with_breaks(
        seed: u64,
        nodes: usize,
        sync_writes: bool,
        break_probability: f64,
    ) -> Cluster {
        let mut sim = Sim::new(SimConfig {
            seed,
            link_timeout: Duration::from_secs(1),
            max_drift_ppm: 1000,
            break_probability,
            ..SimConfig::default()
        });
        let ledger = Rc::new(RefCell::new(Ledger::default()));
        let peers: Vec<(u64, Pid)> = (0..nodes)
            .map(|i| (i as u64 + 1, registrar_pid(i)))
            .collect();
        for i in 0..nodes {
            let mut cfg = RegistrarConfig::new(i as u64 + 1, peers.clone());
            // Small, so that runs compact, restart from snapshots and send
            // them to members that fell behind.
            cfg.snapshot_every = 16;
            cfg.sync_writes = sync_writes;
            let l = ledger.clone();
            let added = sim.add_node(node_addr(i), move |k| {
                let l = l.clone();
                let r = Registrar::new(cfg.clone())
                    .with_observer(Rc::new(move |e| l.borrow_mut().record(e)));
                // A fresh kernel has no actors: the name is free.
                let _ = k.spawn_actor("registrar", r);
            });
            added.unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
        }
        let answers = Answers::default();
        let views = Views::default();
        let (a, v) = (answers.clone(), views.clone());
        sim.add_node(client_addr(), move |k| {
            let client = Client {
                answers: a.clone(),
                views: v.clone(),
            };
            let _ = k.spawn_actor("client", client);
        })
        .unwrap_or_else(|e| unreachable!("distinct addresses: {e}"));
        let l = ledger.clone();
        sim.add_invariant("registrar-safety", move |_| {
            match l.borrow().violations.first() {
                None => Ok(()),
                Some(v) => Err(v.clone()),
            }
        });
        Cluster {
            sim,
            nodes,
            ledger,
            answers,
            views,
            next_tag: 0,
        }
    }

    /// The index of the up member that leads, if one does.
    pub fn leader(&self) -> Option<usize> {
        let sim = &self.sim;
        let id = self
            .ledger
            .borrow()
            .leader(|id| sim.is_up(node_addr(id as usize - 1)))?;
        Some(id as usize - 1)
    }

    /// Waits (checking) until a member outside `excluded` leads; its index.
    pub fn await_leader_among(&mut self, excluded: &[usize], within: Duration) -> usize {
        let l = self.ledger.clone();
        let ex: Vec<u64> = excluded.iter().map(|i| *i as u64 + 1).collect();
        let found = self
            .sim
            .await_liveness("a-majority-leader", within, move |sim| {
                let l = l.borrow();
                let up = |id: u64| sim.is_up(node_addr(id as usize - 1)) && !ex.contains(&id);
                match l.leader(up) {
                    Some(_) => Ok(()),
                    None => Err("no leader in the majority".into()),
                }
            });
        if let Err(v) = found {
            panic!("{v}");
        }
        let l = self.ledger.borrow();
        let ex: Vec<u64> = excluded.iter().map(|i| *i as u64 + 1).collect();
        let id = l
            .leader(|id| !ex.contains(&id))
            .unwrap_or_else(|| unreachable!("just checked"));
        id as usize - 1
    }

    /// Has the client propose `op` to member `i`; returns the answer's tag.
    pub fn propose(&mut self, i: usize, op: Op) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        let submit = Submit {
            to: registrar_pid(i),
            op,
            tag,
        };
        self.tell_client(submit);
        tag
    }

    /// Has the client ask member `i` for its leader and registry (the
    /// answers land in [`views`](Cluster::views)).
    pub fn inspect(&mut self, i: usize) {
        self.tell_client(Inspect {
            to: registrar_pid(i),
        });
    }

    fn tell_client<M: corral_runtime::Message>(&mut self, msg: M) {
        let client = Pid::new("client", client_addr()).unwrap_or_else(|e| unreachable!("{e}"));
        let outside = Pid::new("outside", SocketAddr::from(([10, 255, 255, 254], 1)))
            .unwrap_or_else(|e| unreachable!("{e}"));
        let _ = self.sim.send(outside, &client, msg);
    }

    /// The answer to `tag`, if it came.
    pub fn answer(&self, tag: u64) -> Option<Result<u64, String>> {
        self.answers.borrow().get(&tag).cloned()
    }

    /// Runs for `d` of virtual time, checking safety after every event.
    pub fn run_for(&mut self, d: Duration) -> Result<(), Violation> {
        let until = self.sim.now() + d;
        self.sim.run_until_checked(until)
    }

    /// Waits (checking) until an up member leads.
    pub fn await_leader(&mut self, within: Duration) -> Result<usize, Violation> {
        let l = self.ledger.clone();
        self.sim
            .await_liveness("a-leader-is-elected", within, move |sim| {
                match l
                    .borrow()
                    .leader(|id| sim.is_up(node_addr(id as usize - 1)))
                {
                    Some(_) => Ok(()),
                    None => Err("no up member leads".into()),
                }
            })?;
        Ok(self
            .leader()
            .unwrap_or_else(|| unreachable!("just checked")))
    }

    /// Waits (checking) for the answer to `tag`.
    pub fn await_answer(
        &mut self,
        tag: u64,
        within: Duration,
    ) -> Result<Result<u64, String>, Violation> {
        let a = self.answers.clone();
        self.sim
            .await_liveness("the-client-gets-an-answer", within, move |_| {
                match a.borrow().contains_key(&tag) {
                    true => Ok(()),
                    false => Err(format!("no answer to request {tag}")),
                }
            })?;
        Ok(self
            .answer(tag)
            .unwrap_or_else(|| unreachable!("just checked")))
    }

    /// Proposes `op` to the leader until it commits (re-electing as
    /// needed), within `within`; the committed index.
    pub fn commit(&mut self, op: Op, within: Duration) -> Result<u64, Violation> {
        let deadline = self.sim.now() + within;
        loop {
            let left = Duration::from_nanos(
                deadline
                    .as_nanos()
                    .saturating_sub(self.sim.now().as_nanos()),
            );
            let leader = self.await_leader(left)?;
            let tag = self.propose(leader, op.clone());
            if let Ok(index) = self.await_answer(tag, ASK_TIMEOUT * 2)? {
                return Ok(index);
            }
            if self.sim.now() >= deadline {
                return Err(Violation {
                    at: self.sim.now(),
                    step: self.sim.steps(),
                    check: "a-proposal-commits".into(),
                    detail: format!("nothing committed within {within:?}"),
                });
            }
            self.run_for(Duration::from_millis(200))?;
        }
    }

    /// Waits (checking) until every member applied every acknowledged entry.
    pub fn await_all_applied(&mut self, within: Duration) -> Result<(), Violation> {
        let l = self.ledger.clone();
        let nodes = self.nodes as u64;
        self.sim.await_liveness(
            "every-member-applies-what-was-acknowledged",
            within,
            move |_| {
                let l = l.borrow();
                let want = l.acked.keys().next_back().copied().unwrap_or(0);
                for id in 1..=nodes {
                    let got = l.applied_upto.get(&id).copied().unwrap_or(0);
                    if got < want {
                        return Err(format!("member {id} applied {got} of {want}"));
                    }
                }
                Ok(())
            },
        )
    }

    /// Heals every link, clears disk faults, and restarts every member that
    /// is down or whose registrar stopped on a storage failure.
    pub fn heal_all(&mut self) {
        let failed = std::mem::take(&mut self.ledger.borrow_mut().failed);
        for i in 0..self.nodes {
            let a = node_addr(i);
            let _ = self.sim.set_write_failure(a, 0.0);
            if failed.contains(&(i as u64 + 1)) && self.sim.is_up(a) {
                let _ = self.sim.crash(a);
            }
            if !self.sim.is_up(a) {
                let _ = self.sim.restart(a);
            }
            for j in 0..self.nodes {
                if i != j {
                    self.sim.heal(a, node_addr(j));
                }
            }
            self.sim.heal_both(a, client_addr());
        }
    }
}

/// An op tagged with a number, so every proposal is distinct.
pub fn op(n: u64) -> Op {
    Op::AdmitAgent {
        id: format!("agent-{n}").as_str().into(),
        hostname: format!("host-{n}"),
        pid: Pid::new(
            "agent",
            SocketAddr::from(([10, 0, 2, (n % 250) as u8 + 1], 5051)),
        )
        .unwrap_or_else(|e| unreachable!("{e}")),
    }
}
