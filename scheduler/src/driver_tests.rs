//! The driver in the simulator against two master doubles (A and B) that
//! record what they get: acknowledgements, reconciliation after a
//! re-subscription and after a scheduler failover, missed heartbeats, and
//! requests that cannot be served. The scheduler under test is a probe
//! that logs what the driver tells it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use corral_api::framework::{
    Accept, Acknowledge, FrameworkInfo, Heartbeat, LeaderElected, Offer, Offers, Operation,
    Reconcile, Subscribe, Subscribed, Update,
};
use corral_api::ids::{AgentId, FrameworkId, OfferId, TaskId};
use corral_api::task::{StatusSource, TaskInfo, TaskState, TaskStatus};
use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Message, Pid};

use super::*;

const SEED: u64 = 11;
const HEARTBEAT: Duration = Duration::from_secs(1);

fn pid(i: u8, name: &str) -> Pid {
    Pid::new(name, SocketAddr::from(([10, 0, 0, i], 5050))).unwrap()
}

fn a() -> Pid {
    pid(1, "master")
}

fn b() -> Pid {
    pid(2, "master")
}

fn framework() -> Pid {
    pid(10, "fw")
}

/// What a master double received.
#[derive(Clone, Debug, PartialEq)]
enum Got {
    Subscribe(Option<FrameworkId>),
    Launch(Vec<TaskId>),
    Ack([u8; 16]),
    Reconcile(Vec<TaskId>),
}

/// What the probe scheduler was told, and what its requests returned.
#[derive(Clone, Debug, PartialEq)]
enum Heard {
    Registered,
    Reregistered,
    Offers,
    /// Offers dropped, and who sent them.
    Ignored(Option<Pid>),
    Update(TaskState),
    Disconnected,
    Refused(DriverError),
}

#[derive(Default)]
struct World {
    got: Vec<(Pid, Got)>,
    heard: Vec<Heard>,
    /// Masters that answer Subscribe.
    answering: Vec<Pid>,
}

type Shared = Rc<RefCell<World>>;

struct MasterDouble {
    world: Shared,
}

impl MasterDouble {
    fn record(&self, ctx: &Ctx<'_, Self>, got: Got) {
        self.world.borrow_mut().got.push((ctx.me().clone(), got));
    }
}

impl Actor for MasterDouble {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Subscribe>()
            .on::<Accept>()
            .on::<Acknowledge>()
            .on::<Reconcile>();
    }
}

impl Handler<Subscribe> for MasterDouble {
    fn handle(&mut self, m: Subscribe, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Subscribe(m.info.id));
        let answers = self.world.borrow().answering.contains(ctx.me());
        if let (true, Some(to)) = (answers, ctx.sender().cloned()) {
            let subscribed = Subscribed {
                framework_id: FrameworkId::from("fw-1"),
                heartbeat_interval: HEARTBEAT,
                term: 1,
            };
            ctx.send(&to, subscribed);
        }
    }
}

impl Handler<Accept> for MasterDouble {
    fn handle(&mut self, m: Accept, ctx: &mut Ctx<'_, Self>) {
        for Operation::Launch(tasks) in m.operations {
            let ids = tasks.into_iter().map(|t| t.task_id).collect();
            self.record(ctx, Got::Launch(ids));
        }
    }
}

impl Handler<Acknowledge> for MasterDouble {
    fn handle(&mut self, m: Acknowledge, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Ack(m.uuid));
    }
}

impl Handler<Reconcile> for MasterDouble {
    fn handle(&mut self, m: Reconcile, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx, Got::Reconcile(m.task_ids));
    }
}

/// Launches task `t1` on the first offer; on registering, tries the
/// requests that cannot be served and logs their errors.
struct Probe {
    world: Shared,
    launched: bool,
}

impl Probe {
    fn hear(&self, heard: Heard) {
        self.world.borrow_mut().heard.push(heard);
    }

    fn refused(&self, result: Result<(), DriverError>) {
        if let Err(e) = result {
            self.hear(Heard::Refused(e));
        }
    }
}

fn task(id: &str) -> TaskInfo {
    TaskInfo {
        task_id: TaskId::from(id),
        name: id.to_owned(),
        command: "true".to_owned(),
        env: Vec::new(),
        resources: "cpus:1".parse().unwrap(),
        container: None,
        executor: None,
    }
}

impl Scheduler for Probe {
    fn registered(&mut self, driver: &mut Driver<'_, '_, Self>, _: &FrameworkId) {
        self.hear(Heard::Registered);
        let offer = OfferId::from("o-0");
        self.refused(driver.launch(&offer, vec![], None));
        self.refused(driver.launch(&offer, vec![task("x"), task("x")], None));
        self.refused(driver.decline(vec![], None));
        let big = vec![0; corral_api::framework::MAX_MESSAGE_DATA_BYTES + 1];
        let agent = AgentId::from("a1");
        self.refused(driver.send_framework_message(&agent, "e", big));
    }

    fn reregistered(&mut self, _: &mut Driver<'_, '_, Self>, _: &FrameworkId) {
        self.hear(Heard::Reregistered);
    }

    fn offers(&mut self, driver: &mut Driver<'_, '_, Self>, offers: Vec<Offer>) {
        self.hear(Heard::Offers);
        if let (false, Some(offer)) = (self.launched, offers.first()) {
            self.launched = true;
            self.refused(driver.launch(&offer.id, vec![task("t1")], None));
            // The same task again: refused, nothing sent.
            self.refused(driver.launch(&offer.id, vec![task("t1")], None));
        }
    }

    fn ignored_offers(&mut self, driver: &mut Driver<'_, '_, Self>, _: &[Offer]) {
        self.hear(Heard::Ignored(driver.sender().cloned()));
    }

    fn update(&mut self, _: &mut Driver<'_, '_, Self>, status: &TaskStatus) {
        self.hear(Heard::Update(status.state));
    }

    fn disconnected(&mut self, driver: &mut Driver<'_, '_, Self>) {
        self.hear(Heard::Disconnected);
        self.refused(driver.kill(&TaskId::from("t1")));
    }
}

struct Harness {
    sim: Sim,
    world: Shared,
}

fn harness(cfg: DriverConfig, answering: &[Pid]) -> Harness {
    let mut sim = Sim::new(SimConfig {
        seed: SEED,
        ..SimConfig::default()
    });
    let world = Shared::default();
    world.borrow_mut().answering = answering.to_vec();
    for m in [a(), b()] {
        let w = world.clone();
        sim.add_node(m.addr(), move |k| {
            k.spawn_actor("master", MasterDouble { world: w.clone() })
                .unwrap();
        })
        .unwrap();
    }
    let w = world.clone();
    sim.add_node(framework().addr(), move |k| {
        let probe = Probe {
            world: w.clone(),
            launched: false,
        };
        let driver = SchedulerDriver::new(cfg.clone(), probe).unwrap();
        k.spawn_actor("fw", driver).unwrap();
    })
    .unwrap();
    Harness { sim, world }
}

fn config() -> DriverConfig {
    DriverConfig::new(vec![a(), b()], FrameworkInfo::new("probe", "*"))
}

impl Harness {
    fn run_for(&mut self, d: Duration) {
        let until = self.sim.now() + d;
        self.sim.run_until(until);
    }

    fn inject<M: Message>(&mut self, from: &Pid, msg: M) {
        self.sim.send(from.clone(), &framework(), msg).unwrap();
    }

    fn got(&self, m: &Pid) -> Vec<Got> {
        let w = self.world.borrow();
        w.got
            .iter()
            .filter(|(p, _)| p == m)
            .map(|(_, g)| g.clone())
            .collect()
    }

    fn heard(&self) -> Vec<Heard> {
        self.world.borrow().heard.clone()
    }

    /// Subscribed with A, offered once: `t1` launched there.
    fn launched_at_a(cfg: DriverConfig) -> Harness {
        let mut h = harness(cfg, &[a(), b()]);
        h.run_for(Duration::from_millis(100));
        h.inject(&a(), offers());
        h.run_for(Duration::from_millis(100));
        assert!(h.got(&a()).contains(&Got::Launch(vec![TaskId::from("t1")])));
        h
    }
}

fn offers() -> Offers {
    Offers {
        offers: vec![Offer {
            id: OfferId::from("o-1"),
            agent_id: AgentId::from("agent-1"),
            hostname: "host-1".to_owned(),
            resources: "cpus:4".parse().unwrap(),
        }],
    }
}

fn update(state: TaskState, uuid: u8) -> Update {
    Update {
        status: TaskStatus {
            task_id: TaskId::from("t1"),
            framework_id: FrameworkId::from("fw-1"),
            agent_id: Some(AgentId::from("agent-1")),
            state,
            source: StatusSource::Executor,
            reason: None,
            message: String::new(),
            timestamp_ms: 0,
            uuid: Some([uuid; 16]),
        },
    }
}

#[test]
fn updates_are_acknowledged_after_the_scheduler_saw_them() {
    let mut h = Harness::launched_at_a(config());
    h.inject(&a(), update(TaskState::Running, 7));
    h.run_for(Duration::from_millis(100));
    assert!(h.heard().contains(&Heard::Update(TaskState::Running)));
    assert!(h.got(&a()).contains(&Got::Ack([7; 16])));
    // An update relayed by a master not followed is neither heard nor
    // acknowledged: its agent resends it through the leader.
    h.inject(&b(), update(TaskState::Finished, 8));
    h.run_for(Duration::from_millis(100));
    assert!(!h.heard().contains(&Heard::Update(TaskState::Finished)));
    assert!(!h.got(&b()).contains(&Got::Ack([8; 16])));
}

#[test]
fn offers_of_a_master_not_followed_are_shown_as_ignored_with_their_sender() {
    let mut h = Harness::launched_at_a(config());
    let offered = h.heard().iter().filter(|e| **e == Heard::Offers).count();
    h.inject(&b(), offers());
    h.run_for(Duration::from_millis(100));
    let heard = h.heard();
    assert_eq!(heard.last(), Some(&Heard::Ignored(Some(b()))));
    let after = heard.iter().filter(|e| **e == Heard::Offers).count();
    assert_eq!(after, offered, "B's offers are not usable");
    // Nothing was launched on them.
    assert!(!h.got(&b()).iter().any(|g| matches!(g, Got::Launch(_))));
}

#[test]
fn explicit_acknowledgements_are_left_to_the_scheduler() {
    let mut h = Harness::launched_at_a(config().explicit_acks());
    h.inject(&a(), update(TaskState::Running, 7));
    h.run_for(Duration::from_secs(1));
    assert!(h.heard().contains(&Heard::Update(TaskState::Running)));
    assert!(!h.got(&a()).iter().any(|g| matches!(g, Got::Ack(_))));
}

#[test]
fn a_new_leader_gets_the_framework_id_and_a_reconciliation_of_live_tasks() {
    let mut h = Harness::launched_at_a(config());
    h.inject(
        &b(),
        LeaderElected {
            leader: b(),
            term: 2,
        },
    );
    h.run_for(Duration::from_millis(100));
    assert_eq!(
        h.got(&b()),
        vec![
            Got::Subscribe(Some(FrameworkId::from("fw-1"))),
            Got::Reconcile(vec![TaskId::from("t1")]),
        ]
    );
    let heard = h.heard();
    let tail: Vec<&Heard> = heard.iter().rev().take(3).rev().collect();
    assert_eq!(
        tail,
        [
            &Heard::Disconnected,
            &Heard::Refused(DriverError::NotSubscribed),
            &Heard::Reregistered
        ],
        "disconnected (a kill then is refused), then reregistered"
    );
    // A task that ended is not reconciled again.
    h.inject(&b(), update(TaskState::Finished, 9));
    h.inject(
        &a(),
        LeaderElected {
            leader: a(),
            term: 3,
        },
    );
    h.run_for(Duration::from_millis(100));
    let at_a = h.got(&a());
    assert_eq!(
        at_a.last(),
        Some(&Got::Subscribe(Some(FrameworkId::from("fw-1"))))
    );
}

#[test]
fn a_failed_over_scheduler_asks_for_all_its_tasks() {
    let mut info = FrameworkInfo::new("probe", "*");
    info.id = Some(FrameworkId::from("fw-1"));
    let mut h = harness(DriverConfig::new(vec![a(), b()], info), &[a()]);
    h.run_for(Duration::from_millis(100));
    assert_eq!(
        h.got(&a()),
        vec![
            Got::Subscribe(Some(FrameworkId::from("fw-1"))),
            Got::Reconcile(vec![]),
        ]
    );
    assert_eq!(h.heard().first(), Some(&Heard::Registered));
}

#[test]
fn a_master_that_stops_sending_heartbeats_is_left_for_the_next() {
    let mut h = harness(config(), &[a(), b()]);
    h.run_for(Duration::from_millis(100));
    // While A's heartbeats come, the framework stays.
    for _ in 0..5 {
        h.inject(&a(), Heartbeat);
        h.run_for(HEARTBEAT);
    }
    assert!(h.got(&b()).is_empty(), "no reason to leave A yet");
    h.run_for(HEARTBEAT * (MISSED_HEARTBEATS + 1));
    assert_eq!(
        h.got(&b()),
        vec![Got::Subscribe(Some(FrameworkId::from("fw-1")))]
    );
    assert!(h.heard().contains(&Heard::Disconnected));
    assert_eq!(h.heard().last(), Some(&Heard::Reregistered));
}

#[test]
fn requests_that_cannot_be_served_are_errors_and_send_nothing() {
    let h = Harness::launched_at_a(config());
    let refused: Vec<DriverError> = h
        .heard()
        .into_iter()
        .filter_map(|e| match e {
            Heard::Refused(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        [
            DriverError::Empty("a launch names no task"),
            DriverError::DuplicateTask(TaskId::from("x")),
            DriverError::Empty("a decline names no offer"),
            DriverError::TooLarge(corral_api::framework::MAX_MESSAGE_DATA_BYTES + 1),
            DriverError::DuplicateTask(TaskId::from("t1")),
        ]
    );
    let launches: Vec<Got> = h
        .got(&a())
        .into_iter()
        .filter(|g| matches!(g, Got::Launch(_)))
        .collect();
    assert_eq!(launches, [Got::Launch(vec![TaskId::from("t1")])]);
}

#[test]
fn a_driver_needs_a_master() {
    let cfg = DriverConfig::new(vec![], FrameworkInfo::new("probe", "*"));
    let world = Shared::default();
    let probe = Probe {
        world,
        launched: false,
    };
    assert_eq!(
        SchedulerDriver::new(cfg, probe).err(),
        Some(DriverError::NoMasters)
    );
}
