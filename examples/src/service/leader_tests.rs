//! A framework following the leader among three master doubles, in the
//! simulator on virtual time: hints, elections, broken links, strangers.
//!
//! Masters A, B and C (nodes 1-3) are doubles that record every message
//! and answer `Subscribe` as each test says; the framework under test is a
//! one-instance [`Service`] on node 10. Tests inject what a master
//! or a stranger (node 9) would send with their pids as senders. Every wait
//! is on an event with a virtual-time limit; a failure names the seed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkInfo, Offer, Offers, Subscribe, Subscribed, Suppress,
    Update,
};
use corral_api::ids::{AgentId, FrameworkId, OfferId};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::task::{StatusSource, TaskState, TaskStatus};
use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Message, Pid, Time};

use crate::service::{Service, ServiceConfig, ServiceEvent};
use corral_scheduler::SUBSCRIBE_RETRY;

const SEED: u64 = 7;

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 5050))
}

fn master(i: u8) -> Pid {
    Pid::new("master", addr(i)).unwrap()
}

fn a() -> Pid {
    master(1)
}

fn b() -> Pid {
    master(2)
}

fn c() -> Pid {
    master(3)
}

fn stranger() -> Pid {
    Pid::new("master", addr(9)).unwrap()
}

fn framework_pid() -> Pid {
    Pid::new("fw", addr(10)).unwrap()
}

fn fw_id() -> FrameworkId {
    FrameworkId::from("fw-1")
}

/// How a master double answers `Subscribe`.
#[derive(Clone, Debug)]
enum Answer {
    Subscribed,
    NotLeader(Option<Pid>),
    Silent,
}

/// What a master double received.
#[derive(Clone, Debug, PartialEq)]
enum Got {
    Subscribe(Option<FrameworkId>),
    Accept,
    Decline,
    Ack,
    Suppress,
}

#[derive(Default)]
struct Shared {
    answers: BTreeMap<Pid, Answer>,
    got: BTreeMap<Pid, Vec<(Time, Got)>>,
}

type World = Rc<RefCell<Shared>>;

struct MasterDouble {
    world: World,
}

impl MasterDouble {
    fn record(&self, ctx: &Ctx<'_, Self>, got: Got) {
        let me = ctx.me().clone();
        let mut w = self.world.borrow_mut();
        w.got.entry(me).or_default().push((ctx.now(), got));
    }
}

impl Actor for MasterDouble {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribe>()
            .on::<Accept>()
            .on::<Decline>()
            .on::<Acknowledge>()
            .on::<Suppress>();
    }
}

impl Handler<Subscribe> for MasterDouble {
    fn handle(&mut self, m: Subscribe, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Subscribe(m.info.id));
        let answer = self.world.borrow().answers.get(ctx.me()).cloned();
        let Some(to) = ctx.sender().cloned() else {
            return;
        };
        match answer.unwrap_or(Answer::Silent) {
            Answer::Subscribed => ctx.send(
                &to,
                Subscribed {
                    framework_id: fw_id(),
                    heartbeat_interval: Duration::from_secs(15),
                    term: 0,
                },
            ),
            Answer::NotLeader(leader) => ctx.send(&to, NotLeader { leader }),
            Answer::Silent => {}
        }
    }
}

impl Handler<Accept> for MasterDouble {
    fn handle(&mut self, _: Accept, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Accept);
    }
}

impl Handler<Decline> for MasterDouble {
    fn handle(&mut self, _: Decline, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Decline);
    }
}

impl Handler<Acknowledge> for MasterDouble {
    fn handle(&mut self, _: Acknowledge, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Ack);
    }
}

impl Handler<Suppress> for MasterDouble {
    fn handle(&mut self, _: Suppress, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Suppress);
    }
}

struct Harness {
    sim: Sim,
    world: World,
    events: Arc<Mutex<Vec<ServiceEvent>>>,
}

/// Three master doubles answering as `answers` says (A, B, C), the
/// framework following them in that order, and a stranger node.
fn harness(answers: [Answer; 3]) -> Harness {
    let mut sim = Sim::new(SimConfig {
        seed: SEED,
        ..SimConfig::default()
    });
    let world = World::default();
    for (pid, answer) in [a(), b(), c()].into_iter().zip(answers) {
        world.borrow_mut().answers.insert(pid.clone(), answer);
        let w = world.clone();
        sim.add_node(pid.addr(), move |k| {
            k.spawn_actor("master", MasterDouble { world: w.clone() })
                .unwrap();
        })
        .unwrap();
    }
    let w = world.clone();
    sim.add_node(stranger().addr(), move |k| {
        k.spawn_actor("master", MasterDouble { world: w.clone() })
            .unwrap();
    })
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    sim.add_node(framework_pid().addr(), move |k| {
        let ev = ev.clone();
        let observe = Box::new(move |e| ev.lock().unwrap().push(e));
        let fw = Service::new(config(), observe)
            .with_masters(vec![a(), b(), c()])
            .into_framework();
        k.spawn_actor("fw", fw).unwrap();
    })
    .unwrap();
    Harness { sim, world, events }
}

fn config() -> ServiceConfig {
    ServiceConfig {
        master: a(),
        info: FrameworkInfo::new("failover", "*"),
        name: "web".to_owned(),
        command: "sleep 600".to_owned(),
        resources: "cpus:1;mem:64".parse().unwrap(),
        instances: 1,
        refuse: Duration::from_secs(5),
        tasks_per_offer: 0,
    }
}

impl Harness {
    /// Steps until `done` holds, failing past `limit` of virtual time.
    fn run_until(&mut self, limit: Duration, what: &str, done: impl Fn(&Harness) -> bool) {
        let until = self.sim.now() + limit;
        while !done(self) {
            let next = self.sim.next_event_time();
            assert!(
                next.is_some_and(|t| t <= until),
                "seed {SEED}: no {what} within {limit:?} of virtual time"
            );
            self.sim.step();
        }
    }

    /// Runs every event due within `d` of virtual time.
    fn run_for(&mut self, d: Duration) {
        let until = self.sim.now() + d;
        self.sim.run_until(until);
    }

    fn got(&self, m: &Pid) -> Vec<Got> {
        let w = self.world.borrow();
        let got = w.got.get(m).map(|v| v.iter().map(|(_, g)| g.clone()));
        got.map(Iterator::collect).unwrap_or_default()
    }

    fn subscribes(&self, m: &Pid) -> Vec<Option<FrameworkId>> {
        self.got(m)
            .into_iter()
            .filter_map(|g| match g {
                Got::Subscribe(id) => Some(id),
                _ => None,
            })
            .collect()
    }

    fn subscribed(&self) -> bool {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .any(|e| matches!(e, ServiceEvent::Subscribed(_)))
    }

    /// Sends `msg` to the framework as if from `from`.
    fn inject<M: Message>(&mut self, from: &Pid, msg: M) {
        self.sim.send(from.clone(), &framework_pid(), msg).unwrap();
    }

    fn answer(&self, m: &Pid, answer: Answer) {
        self.world.borrow_mut().answers.insert(m.clone(), answer);
    }
}

fn offers(id: &str) -> Offers {
    Offers {
        offers: vec![Offer {
            id: OfferId::from(id),
            agent_id: AgentId::from("agent-1"),
            hostname: "host-1".to_owned(),
            resources: "cpus:4;mem:1024".parse().unwrap(),
        }],
    }
}

fn update(uuid: u8) -> Update {
    Update {
        status: TaskStatus {
            task_id: "web-0-1".into(),
            framework_id: fw_id(),
            agent_id: Some(AgentId::from("agent-1")),
            state: TaskState::Running,
            source: StatusSource::Executor,
            reason: None,
            message: String::new(),
            timestamp_ms: 0,
            uuid: Some([uuid; 16]),
        },
    }
}

/// A says B leads; B accepts: subscribed with B, well before any retry.
fn subscribed_with_b() -> Harness {
    let mut h = harness([
        Answer::NotLeader(Some(b())),
        Answer::Subscribed,
        Answer::Subscribed,
    ]);
    h.run_until(SUBSCRIBE_RETRY / 2, "subscription", Harness::subscribed);
    h
}

#[test]
fn a_not_leader_hint_is_followed_at_once() {
    let h = subscribed_with_b();
    assert_eq!(h.subscribes(&a()), vec![None]);
    assert_eq!(h.subscribes(&b()), vec![None]);
    assert!(h.subscribes(&c()).is_empty());
}

#[test]
fn an_unanswered_subscribe_moves_to_the_next_master() {
    let mut h = harness([Answer::Silent, Answer::NotLeader(None), Answer::Subscribed]);
    h.run_until(SUBSCRIBE_RETRY * 3, "subscription", Harness::subscribed);
    assert_eq!(h.subscribes(&a()), vec![None]);
    assert_eq!(h.subscribes(&b()), vec![None]);
    assert_eq!(h.subscribes(&c()), vec![None]);
}

#[test]
fn a_new_leader_gets_a_resubscription_with_the_framework_id() {
    let mut h = subscribed_with_b();
    h.inject(
        &c(),
        LeaderElected {
            leader: c(),
            term: 0,
        },
    );
    h.run_until(SUBSCRIBE_RETRY / 2, "re-subscription", |h| {
        !h.subscribes(&c()).is_empty()
    });
    assert_eq!(h.subscribes(&c()), vec![Some(fw_id())]);
    h.run_for(Duration::from_millis(100));

    // The old leader's offers and updates are not used; the new one's are,
    // and the answers go to it.
    h.inject(&b(), offers("old"));
    h.inject(&b(), update(1));
    h.inject(&c(), offers("new"));
    h.inject(&c(), update(2));
    h.run_for(Duration::from_millis(100));
    assert_eq!(h.got(&b()), vec![Got::Subscribe(None)]);
    let to_c = h.got(&c());
    assert!(to_c.contains(&Got::Accept), "{to_c:?}");
    assert!(to_c.contains(&Got::Ack), "{to_c:?}");
}

#[test]
fn messages_from_strangers_change_nothing() {
    let mut h = subscribed_with_b();
    let s = stranger();
    h.inject(
        &s,
        LeaderElected {
            leader: c(),
            term: 0,
        },
    );
    h.inject(
        &s,
        LeaderElected {
            leader: s.clone(),
            term: 0,
        },
    );
    h.inject(&s, NotLeader { leader: Some(c()) });
    h.inject(&s, offers("stray"));
    h.inject(&s, update(3));
    // A listed master naming an unlisted leader is not believed either.
    h.inject(
        &a(),
        LeaderElected {
            leader: s.clone(),
            term: 0,
        },
    );
    h.run_for(SUBSCRIBE_RETRY * 3);
    assert!(h.got(&s).is_empty(), "{:?}", h.got(&s));
    assert!(h.subscribes(&c()).is_empty());
    assert_eq!(h.got(&b()), vec![Got::Subscribe(None)]);
    // Still following B: its offers are used.
    h.inject(&b(), offers("good"));
    h.run_for(Duration::from_millis(100));
    assert!(h.got(&b()).contains(&Got::Accept));
}

#[test]
fn a_lost_leader_is_replaced_by_the_next_master() {
    let mut h = subscribed_with_b();
    h.sim.crash(b().addr()).unwrap();
    // The link breaks after the simulator's link timeout (10 s).
    h.run_until(Duration::from_secs(30), "re-subscription", |h| {
        !h.subscribes(&c()).is_empty()
    });
    assert_eq!(h.subscribes(&c()), vec![Some(fw_id())]);
}

#[test]
fn masters_naming_each_other_cause_no_storm() {
    let mut h = harness([
        Answer::NotLeader(Some(b())),
        Answer::NotLeader(Some(a())),
        Answer::Silent,
    ]);
    let periods = 10;
    h.run_for(SUBSCRIBE_RETRY * periods);
    let total: usize = [a(), b(), c()].iter().map(|m| h.subscribes(m).len()).sum();
    // At most each master once per retry period, plus the first round.
    let bound = 3 * (periods as usize + 1);
    assert!(total <= bound, "{total} Subscribes in {periods} periods");
    assert!(!h.subscribed());
    // Once B leads, the framework gets there.
    h.answer(&b(), Answer::Subscribed);
    h.run_until(SUBSCRIBE_RETRY * 4, "subscription", Harness::subscribed);
}
