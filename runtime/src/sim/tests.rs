//! Simulator tests: the network model, node faults, and determinism.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Latency, Sim, SimConfig};
use crate::{message, Actor, Ctx, Handler, Handlers, Pid, Time};

#[derive(Debug, Serialize, Deserialize)]
struct Seq(u64);
message!(Seq = "simtest.Seq");

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 5050))
}

fn pid(name: &str, i: u8) -> Pid {
    Pid::new(name, addr(i)).unwrap()
}

type Shared<T> = Rc<RefCell<T>>;

/// Records what reaches it: sequence numbers and `exited` notices.
struct Recorder {
    seen: Shared<Vec<u64>>,
    exited: Shared<Vec<(Time, Pid)>>,
    link_to: Option<Pid>,
}
impl Actor for Recorder {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Seq>();
    }
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(p) = self.link_to.clone() {
            ctx.link(&p);
        }
    }
    fn exited(&mut self, pid: &Pid, ctx: &mut Ctx<'_, Self>) {
        self.exited.borrow_mut().push((ctx.now(), pid.clone()));
    }
}
impl Handler<Seq> for Recorder {
    fn handle(&mut self, Seq(n): Seq, _: &mut Ctx<'_, Self>) {
        self.seen.borrow_mut().push(n);
    }
}

/// Sends `Seq(0..n)` to `to`, one every millisecond.
struct Sender {
    to: Pid,
    next: u64,
    n: u64,
}
impl Sender {
    fn tick(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.next >= self.n {
            return;
        }
        ctx.send(&self.to, Seq(self.next));
        self.next += 1;
        ctx.delay(Duration::from_millis(1), |s: &mut Self, ctx| s.tick(ctx));
    }
}
impl Actor for Sender {
    fn handlers(_: &mut Handlers<Self>) {}
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.tick(ctx);
    }
}

struct Pair {
    sim: Sim,
    seen: Shared<Vec<u64>>,
    exited: Shared<Vec<(Time, Pid)>>,
}

/// Node 1 sends `n` messages to node 2; node 2 links to node 1's sender.
fn pair(cfg: SimConfig, n: u64) -> Pair {
    let mut sim = Sim::new(cfg);
    let seen = Shared::default();
    let exited = Shared::default();
    sim.add_node(addr(1), move |k| {
        k.spawn_actor(
            "sender",
            Sender {
                to: pid("rec", 2),
                next: 0,
                n,
            },
        )
        .unwrap();
    })
    .unwrap();
    let (s, e) = (seen.clone(), exited.clone());
    sim.add_node(addr(2), move |k| {
        let rec = Recorder {
            seen: s.clone(),
            exited: e.clone(),
            link_to: Some(pid("sender", 1)),
        };
        k.spawn_actor("rec", rec).unwrap();
    })
    .unwrap();
    Pair { sim, seen, exited }
}

fn secs(s: u64) -> Time {
    Time::ZERO + Duration::from_secs(s)
}

#[test]
fn frames_keep_order_inside_a_pipe_despite_random_latency() {
    let cfg = SimConfig {
        seed: 3,
        latency: Latency::Uniform {
            min: Duration::from_micros(10),
            max: Duration::from_millis(50),
        },
        ..SimConfig::default()
    };
    let mut p = pair(cfg, 1000);
    p.sim.run_until(secs(5));
    let seen = p.seen.borrow();
    assert_eq!(*seen, (0..1000).collect::<Vec<_>>());
}

#[test]
fn a_short_partition_delays_frames_and_a_long_one_kills_the_connection() {
    let cfg = SimConfig {
        seed: 1,
        link_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    };
    // Short: healed after 1 s (< link timeout): nothing lost, no exited.
    let mut p = pair(cfg.clone(), 3000);
    p.sim.run_until(secs(1));
    p.sim.partition(addr(1), addr(2));
    p.sim.run_until(secs(2));
    let before_heal = p.seen.borrow().len();
    p.sim.heal_both(addr(1), addr(2));
    p.sim.run_until(secs(5));
    assert!(
        before_heal < 1100,
        "frames were held during the cut: {before_heal}"
    );
    assert_eq!(*p.seen.borrow(), (0..3000).collect::<Vec<_>>());
    assert!(p.exited.borrow().is_empty());

    // Long: cut for 3 s (> link timeout): the link fires at cut + 2 s and
    // what was sent during the cut is lost.
    let mut p = pair(cfg, 6000);
    p.sim.run_until(secs(1));
    p.sim.partition(addr(1), addr(2));
    p.sim.run_until(secs(4));
    p.sim.heal_both(addr(1), addr(2));
    p.sim.run_until(secs(8));
    let exited = p.exited.borrow();
    assert_eq!(exited.len(), 1, "{exited:?}");
    assert_eq!(exited[0].0, secs(3));
    assert_eq!(exited[0].1, pid("sender", 1));
    let seen = p.seen.borrow();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "order kept across the reconnect"
    );
    assert!(
        seen.len() < 6000 && seen.len() > 3000,
        "some lost, later ones arrive: {}",
        seen.len()
    );
}

#[test]
fn crash_is_noticed_after_the_link_timeout_and_restart_reboots_actors() {
    let cfg = SimConfig {
        seed: 9,
        link_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let mut p = pair(cfg, 100_000);
    p.sim.run_until(secs(1));
    p.sim.crash(addr(1)).unwrap();
    assert!(!p.sim.is_up(addr(1)));
    p.sim.run_until(secs(2));
    let at_crash = p.seen.borrow().len();
    assert!(p.exited.borrow().is_empty());
    p.sim.run_until(secs(4));
    assert_eq!(p.exited.borrow().len(), 1);
    assert_eq!(p.exited.borrow()[0].0, secs(3));
    // Restart: the booted sender starts over from 0, on a new incarnation.
    p.sim.restart(addr(1)).unwrap();
    p.sim.run_until(secs(5));
    let seen = p.seen.borrow();
    assert_eq!(seen[at_crash], 0, "the restarted sender starts over");
    assert!(seen.len() > at_crash + 900);
}

#[test]
fn a_restarted_peer_fails_old_links_at_once() {
    let cfg = SimConfig {
        seed: 4,
        link_timeout: Duration::from_secs(30),
        ..SimConfig::default()
    };
    let mut p = pair(cfg, 100_000);
    p.sim.run_until(secs(1));
    p.sim.crash(addr(1)).unwrap();
    p.sim.restart(addr(1)).unwrap();
    p.sim.run_until(secs(2));
    // Long before the 30 s timeout: the new incarnation's first frames tell.
    let exited = p.exited.borrow();
    assert_eq!(exited.len(), 1, "{exited:?}");
    assert!(exited[0].0 < secs(2));
}

#[test]
fn drifting_clocks_fire_timers_at_their_own_pace() {
    use super::{global_time, local_time};
    let one_s = secs(1);
    // A clock 10% fast reads 1.1 s at global 1 s, and reaches its own 1 s
    // at global ~0.909 s; a slow one the other way round.
    assert_eq!(local_time(one_s, 100_000), Time::from_nanos(1_100_000_000));
    assert_eq!(global_time(one_s, 100_000), Time::from_nanos(909_090_910));
    assert_eq!(
        global_time(one_s, -100_000),
        Time::from_nanos(1_111_111_112)
    );
    // A timer never fires before its local deadline.
    for drift in [-100_000, -7, 0, 3, 250_000] {
        for t in [1u64, 999, 123_456_789, 10_000_000_007] {
            let local = Time::from_nanos(t);
            assert!(
                local_time(global_time(local, drift), drift) >= local,
                "drift {drift} t {t}"
            );
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Write(u64);
message!(Write = "simtest.Write");

/// Writes `Write(n)` under key n; syncs every `sync_every` writes. On start,
/// records how many keys survived on disk.
struct Writer {
    sync_every: u64,
    recovered: Shared<Vec<usize>>,
    errors: Shared<u64>,
}
impl Actor for Writer {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Write>();
    }
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        let n = ctx.store().scan(b"").map(|rows| rows.len()).unwrap_or(0);
        self.recovered.borrow_mut().push(n);
    }
}
impl Handler<Write> for Writer {
    fn handle(&mut self, Write(n): Write, ctx: &mut Ctx<'_, Self>) {
        let mut store = ctx.store();
        let mut ok = store.put(&n.to_be_bytes(), b"v").is_ok();
        if ok && (n + 1) % self.sync_every == 0 {
            ok = store.sync().is_ok();
        }
        if !ok {
            *self.errors.borrow_mut() += 1;
        }
    }
}

fn writer_sim(seed: u64, sync_every: u64) -> (Sim, Shared<Vec<usize>>, Shared<u64>) {
    let mut sim = Sim::new(SimConfig {
        seed,
        ..SimConfig::default()
    });
    let recovered = Shared::default();
    let errors = Shared::default();
    let (r, e) = (recovered.clone(), errors.clone());
    sim.add_node(addr(1), move |k| {
        let w = Writer {
            sync_every,
            recovered: r.clone(),
            errors: e.clone(),
        };
        k.spawn_actor("writer", w).unwrap();
    })
    .unwrap();
    (sim, recovered, errors)
}

#[test]
fn a_crash_loses_exactly_the_unsynced_writes() {
    let (mut sim, recovered, errors) = writer_sim(1, 10);
    for n in 0..25 {
        sim.send(pid("test", 9), &pid("writer", 1), Write(n))
            .unwrap();
    }
    sim.run_until(secs(1));
    assert_eq!(sim.durable_entries(addr(1)), Some(20));
    sim.crash(addr(1)).unwrap();
    sim.restart(addr(1)).unwrap();
    sim.run_until(secs(2));
    // First boot saw an empty disk; after the crash, the 20 synced writes.
    assert_eq!(*recovered.borrow(), vec![0, 20]);
    assert_eq!(*errors.borrow(), 0);
}

#[test]
fn injected_write_failures_reach_the_actor_and_lose_nothing_synced() {
    let (mut sim, recovered, errors) = writer_sim(2, 1);
    sim.set_write_failure(addr(1), 0.3).unwrap();
    for n in 0..200 {
        sim.send(pid("test", 9), &pid("writer", 1), Write(n))
            .unwrap();
    }
    sim.run_until(secs(1));
    let failures = *errors.borrow();
    assert!(failures > 20 && failures < 180, "failures: {failures}");
    let durable = sim.durable_entries(addr(1)).unwrap();
    sim.crash(addr(1)).unwrap();
    sim.set_write_failure(addr(1), 0.0).unwrap();
    sim.restart(addr(1)).unwrap();
    sim.run_until(secs(2));
    assert_eq!(
        recovered.borrow()[1],
        durable,
        "what was durable survives the crash"
    );
}

/// Launches one process per command on start; records exits with their time.
struct Launcher {
    commands: Vec<&'static str>,
    kill_after: Option<Duration>,
    exits: Shared<Vec<(Time, crate::ExitStatus)>>,
}
impl Actor for Launcher {
    fn handlers(_: &mut Handlers<Self>) {}
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        for c in &self.commands {
            let id = ctx.launch(crate::ProcessSpec {
                command: (*c).into(),
                ..Default::default()
            });
            if let Some(after) = self.kill_after {
                ctx.delay(after, move |_, ctx| {
                    ctx.signal(id, crate::Signal::Term);
                });
            }
        }
    }
    fn process_exited(
        &mut self,
        _: crate::ProcessId,
        status: crate::ExitStatus,
        ctx: &mut Ctx<'_, Self>,
    ) {
        self.exits.borrow_mut().push((ctx.now(), status));
    }
}

fn launcher_sim(
    commands: Vec<&'static str>,
    kill_after: Option<Duration>,
) -> (Sim, Shared<Vec<(Time, crate::ExitStatus)>>) {
    let mut sim = Sim::new(SimConfig::default());
    let exits = Shared::default();
    let e = exits.clone();
    sim.add_node(addr(1), move |k| {
        let l = Launcher {
            commands: commands.clone(),
            kill_after,
            exits: e.clone(),
        };
        k.spawn_actor("launcher", l).unwrap();
    })
    .unwrap();
    (sim, exits)
}

#[test]
fn simulated_processes_run_for_their_time_and_exit_with_their_code() {
    let (mut sim, exits) = launcher_sim(vec!["sleep 2; exit 3", "sleep 1"], None);
    sim.run_until(secs(5));
    assert_eq!(
        *exits.borrow(),
        vec![
            (secs(1), crate::ExitStatus::Exited(0)),
            (secs(2), crate::ExitStatus::Exited(3))
        ]
    );
}

#[test]
fn a_signal_ends_a_simulated_process_once_and_a_crash_takes_them_all() {
    let (mut sim, exits) = launcher_sim(vec!["sleep 10"], Some(Duration::from_secs(1)));
    sim.run_until(secs(20));
    assert_eq!(
        *exits.borrow(),
        vec![(secs(1), crate::ExitStatus::Signaled(15))]
    );

    let (mut sim, exits) = launcher_sim(vec!["sleep 10", "sleep 20"], None);
    sim.run_until(secs(1));
    assert_eq!(sim.running_processes(addr(1)), 2);
    sim.crash(addr(1)).unwrap();
    assert_eq!(sim.running_processes(addr(1)), 0);
    sim.restart(addr(1)).unwrap();
    sim.run_until(secs(15));
    // Only the new run's first process has ended; the old ones never report.
    assert_eq!(
        *exits.borrow(),
        vec![(secs(11), crate::ExitStatus::Exited(0))]
    );
}

#[test]
fn latency_models_draw_within_their_bounds_and_links_can_differ() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(1);
    let (ms, us) = (Duration::from_millis(1), Duration::from_micros(1));
    let uniform = Latency::Uniform {
        min: ms,
        max: 3 * ms,
    };
    let exp = Latency::Exponential {
        min: ms,
        mean: 2 * ms,
    };
    let mut exp_sum = Duration::ZERO;
    for _ in 0..10_000 {
        let u = uniform.sample(&mut rng);
        assert!(u >= ms && u <= 3 * ms);
        let e = exp.sample(&mut rng);
        assert!(e >= ms && e <= ms + 100 * ms);
        exp_sum += e;
    }
    let mean = exp_sum / 10_000;
    assert!(mean > 2900 * us && mean < 3100 * us, "mean {mean:?}");

    // A slow link from 1 to 2: every frame takes at least 500 ms.
    let mut p = pair(SimConfig::default(), 10);
    p.sim.set_latency(
        addr(1),
        addr(2),
        Latency::Uniform {
            min: 500 * ms,
            max: 500 * ms,
        },
    );
    p.sim.run_until(Time::ZERO + 499 * ms);
    assert!(p.seen.borrow().is_empty());
    p.sim.run_until(secs(1));
    assert_eq!(p.seen.borrow().len(), 10);
}

/// Stands in for a process: launches a child, then stops after `life`.
struct StandIn {
    life: Duration,
}
impl Actor for StandIn {
    fn handlers(_: &mut Handlers<Self>) {}
    fn started(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.launch(crate::ProcessSpec {
            command: "sleep 100".into(),
            ..Default::default()
        });
        ctx.delay(self.life, |_, ctx| ctx.stop());
    }
}

/// A launcher whose `actor N` commands are played by a `StandIn` living N s.
fn stand_in_sim(kill_after: Option<Duration>) -> (Sim, Shared<Vec<(Time, crate::ExitStatus)>>) {
    let (mut sim, exits) = launcher_sim(vec!["actor 2", "sleep 3"], kill_after);
    sim.set_process_actors(Box::new(|spec, kernel| {
        let secs: u64 = spec.command.strip_prefix("actor ")?.parse().ok()?;
        let life = Duration::from_secs(secs);
        kernel.spawn_actor("stand-in", StandIn { life }).ok()?;
        Some("stand-in".to_owned())
    }));
    (sim, exits)
}

#[test]
fn an_actor_standing_in_for_a_process_ends_it_when_it_stops() {
    let (mut sim, exits) = stand_in_sim(None);
    sim.run_until(secs(1));
    // The stand-in, its child and the modelled `sleep 3`.
    assert_eq!(sim.running_processes(addr(1)), 3);
    sim.run_until(secs(5));
    assert_eq!(
        *exits.borrow(),
        vec![
            (secs(2), crate::ExitStatus::Exited(0)),
            (secs(3), crate::ExitStatus::Exited(0))
        ]
    );
    // The stand-in's own child still runs: it was not killed.
    assert_eq!(sim.running_processes(addr(1)), 1);
}

#[test]
fn a_signal_kills_a_stand_in_actor_with_its_children() {
    let (mut sim, exits) = stand_in_sim(Some(Duration::from_secs(1)));
    sim.run_until(secs(10));
    assert_eq!(
        *exits.borrow(),
        vec![
            (secs(1), crate::ExitStatus::Signaled(15)),
            (secs(1), crate::ExitStatus::Signaled(15))
        ]
    );
    assert_eq!(sim.running_processes(addr(1)), 0);
}
