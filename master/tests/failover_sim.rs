//! The master's failover and agent-loss behaviour in the simulator, on
//! virtual time: real masters (alone, or three replicated through their
//! registrars) between an agent double and a framework double that record
//! what they receive; the test plays the agent's and the framework's parts
//! by sending their messages with their pids as senders.
//!
//! Every wait is on an event with a virtual-time limit.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use corral_api::agent::{
    AgentRegistered, AgentTask, KillTask, Ping, Pong, RegisterAgent, RunTasks, ShutdownAgent,
    ShutdownFramework, StatusAck, StatusUpdate,
};
use corral_api::framework::{
    Accept, Acknowledge, FrameworkInfo, Offers, Operation, Reconcile, Subscribe, Subscribed, Update,
};
use corral_api::ids::{AgentId, FrameworkId, OfferId, TaskId};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};
use corral_master::master::{Master, MasterConfig};
use corral_master::registrar::{Registrar, RegistrarConfig};
use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Message, Pid, Time};

fn master_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i as u8 + 1], 5050))
}
fn agent_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 1, 1], 5051))
}
fn framework_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 2, 1], 5052))
}
fn master_pid(i: usize) -> Pid {
    Pid::new(Master::NAME, master_addr(i)).unwrap()
}
fn agent_pid() -> Pid {
    Pid::new("agent", agent_addr()).unwrap()
}
fn framework_pid() -> Pid {
    Pid::new("scheduler", framework_addr()).unwrap()
}
fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
fn res(text: &str) -> Resources {
    text.parse().unwrap()
}

/// What a double received, with the sender (some payloads only matter by
/// their kind).
#[allow(dead_code)]
#[derive(Clone, Debug)]
enum Got {
    Registered(AgentRegistered),
    Elected(LeaderElected),
    NotLeader(NotLeader),
    Run(RunTasks),
    Kill(KillTask),
    ShutdownFramework(ShutdownFramework),
    Shutdown(ShutdownAgent),
    Ack(StatusAck),
    Subscribed(Subscribed),
    Offers(Offers),
    Update(Update),
}

type Log = Rc<RefCell<Vec<(Time, Pid, Got)>>>;

/// Records everything; answers pings.
struct Double {
    log: Log,
}

impl Double {
    fn note(&self, got: Got, ctx: &Ctx<'_, Self>) {
        if let Some(from) = ctx.sender() {
            self.log.borrow_mut().push((ctx.now(), from.clone(), got));
        }
    }
}

macro_rules! records {
    ($($msg:ty => $variant:ident),* $(,)?) => {
        $(impl Handler<$msg> for Double {
            fn handle(&mut self, m: $msg, ctx: &mut Ctx<'_, Self>) {
                self.note(Got::$variant(m), ctx);
            }
        })*
        impl Actor for Double {
            fn handlers(h: &mut Handlers<Self>) {
                h.on::<Ping>();
                $(h.on::<$msg>();)*
            }
        }
    };
}

records!(
    AgentRegistered => Registered,
    LeaderElected => Elected,
    NotLeader => NotLeader,
    RunTasks => Run,
    KillTask => Kill,
    ShutdownFramework => ShutdownFramework,
    ShutdownAgent => Shutdown,
    StatusAck => Ack,
    Subscribed => Subscribed,
    Offers => Offers,
    Update => Update,
);

impl Handler<Ping> for Double {
    fn handle(&mut self, _: Ping, ctx: &mut Ctx<'_, Self>) {
        ctx.reply(Pong);
    }
}

/// The first message in `log` after position `seen` that `pick` takes.
fn first_after<T>(log: &Log, seen: usize, pick: impl Fn(&Got) -> Option<T>) -> Option<T> {
    log.borrow()[seen..].iter().find_map(|(_, _, g)| pick(g))
}

struct World {
    sim: Sim,
    agent_log: Log,
    fw_log: Log,
    masters: usize,
    agent_id: Option<AgentId>,
    framework_id: Option<FrameworkId>,
    info: FrameworkInfo,
}

const AGENT_TOTAL: &str = "cpus:4;mem:4096";

impl World {
    /// `masters` replicated masters (1: a master alone, no registrar).
    fn new(seed: u64, masters: usize, cfg: MasterConfig, partition_aware: bool) -> World {
        let mut sim = Sim::new(SimConfig {
            seed,
            ..SimConfig::default()
        });
        let peers: Vec<(u64, Pid)> = (0..masters)
            .map(|i| (i as u64 + 1, Pid::new("registrar", master_addr(i)).unwrap()))
            .collect();
        for i in 0..masters {
            let cfg = cfg.clone();
            let peers = peers.clone();
            sim.add_node(master_addr(i), move |k| {
                if masters == 1 {
                    let _ = k.spawn_actor(Master::NAME, Master::new(cfg.clone()));
                    return;
                }
                let rcfg = RegistrarConfig::new(i as u64 + 1, peers.clone());
                let registrar = k.spawn_actor("registrar", Registrar::new(rcfg)).unwrap();
                let _ = k.spawn_actor(Master::NAME, Master::replicated(cfg.clone(), registrar));
            })
            .unwrap();
        }
        let agent_log = Log::default();
        let fw_log = Log::default();
        for (addr, name, log) in [
            (agent_addr(), "agent", agent_log.clone()),
            (framework_addr(), "scheduler", fw_log.clone()),
        ] {
            sim.add_node(addr, move |k| {
                let _ = k.spawn_actor(name, Double { log: log.clone() });
            })
            .unwrap();
        }
        let mut info = FrameworkInfo::new("test", "*");
        info.partition_aware = partition_aware;
        info.failover_timeout = secs(3600);
        World {
            sim,
            agent_log,
            fw_log,
            masters,
            agent_id: None,
            framework_id: None,
            info,
        }
    }

    /// Steps until `cond` holds, for at most `within` of virtual time.
    fn wait<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut cond: impl FnMut(&World) -> Option<T>,
    ) -> T {
        let deadline = self.sim.now() + within;
        loop {
            if let Some(v) = cond(self) {
                return v;
            }
            assert!(
                self.sim.now() < deadline,
                "timed out ({within:?}) waiting for {what}"
            );
            if !self.sim.step() {
                panic!("the simulation ran out of events waiting for {what}");
            }
        }
    }

    /// Waits for the agent double to receive, after log position `seen`,
    /// a message `pick` takes.
    fn agent_gets<T>(
        &mut self,
        seen: usize,
        within: Duration,
        what: &str,
        pick: impl Fn(&Got) -> Option<T>,
    ) -> T {
        self.wait(within, what, |w| first_after(&w.agent_log, seen, &pick))
    }

    /// [`agent_gets`](Self::agent_gets) for the framework double.
    fn framework_gets<T>(
        &mut self,
        seen: usize,
        within: Duration,
        what: &str,
        pick: impl Fn(&Got) -> Option<T>,
    ) -> T {
        self.wait(within, what, |w| first_after(&w.fw_log, seen, &pick))
    }

    /// Asks `leader` to reconcile (`tasks`, or all if empty) and returns the
    /// state it reports for `task`.
    fn reconciled(&mut self, leader: usize, tasks: Vec<TaskId>, task: &str) -> TaskState {
        let seen = self.fw_log.borrow().len();
        let reconcile = Reconcile { task_ids: tasks };
        self.send(framework_pid(), &master_pid(leader), reconcile);
        self.framework_gets(seen, secs(5), "reconciliation", |g| match g {
            Got::Update(u) if u.status.task_id.0 == task => Some(u.status.state),
            _ => None,
        })
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.sim.now() + d;
        self.sim.run_until(until);
    }

    fn send<M: Message>(&mut self, from: Pid, to: &Pid, msg: M) {
        self.sim.send(from, to, msg).unwrap();
    }

    fn registration(&self, tasks: Vec<AgentTask>) -> RegisterAgent {
        let frameworks = if tasks.is_empty() {
            Vec::new()
        } else {
            vec![FrameworkInfo {
                id: self.framework_id.clone(),
                ..self.info.clone()
            }]
        };
        RegisterAgent {
            credential: None,
            hostname: "host-1".into(),
            resources: res(AGENT_TOTAL),
            attributes: String::new(),
            id: self.agent_id.clone(),
            pid: agent_pid(),
            http: None,
            frameworks,
            tasks,
        }
    }

    /// Registers the agent double with whichever master leads, following
    /// NotLeader hints as an agent does; returns the leader's index.
    fn register_agent(&mut self, tasks: Vec<AgentTask>) -> usize {
        let mut target = 0;
        let deadline = self.sim.now() + secs(30);
        loop {
            let seen = self.agent_log.borrow().len();
            let msg = self.registration(tasks.clone());
            self.send(agent_pid(), &master_pid(target), msg);
            self.run_for(Duration::from_millis(300));
            let answer = self.agent_log.borrow()[seen..]
                .iter()
                .find_map(|(_, from, g)| match g {
                    Got::Registered(r) => Some(Ok((from.clone(), r.agent_id.clone()))),
                    Got::NotLeader(n) => Some(Err(n.leader.clone())),
                    _ => None,
                });
            match answer {
                Some(Ok((from, id))) => {
                    self.agent_id = Some(id);
                    return (0..self.masters).find(|&i| master_pid(i) == from).unwrap();
                }
                Some(Err(Some(leader))) => {
                    target = (0..self.masters)
                        .find(|&i| master_pid(i) == leader)
                        .unwrap();
                }
                _ => target = (target + 1) % self.masters,
            }
            assert!(self.sim.now() < deadline, "the agent found no leader");
        }
    }

    fn subscribe(&mut self, leader: usize) {
        let seen = self.fw_log.borrow().len();
        let info = FrameworkInfo {
            id: self.framework_id.clone(),
            ..self.info.clone()
        };
        self.send(
            framework_pid(),
            &master_pid(leader),
            Subscribe {
                credential: None,
                info,
            },
        );
        let id = self.wait(secs(10), "Subscribed", |w| {
            w.fw_log.borrow()[seen..]
                .iter()
                .find_map(|(_, from, g)| match g {
                    Got::Subscribed(s) if *from == master_pid(leader) => {
                        Some(s.framework_id.clone())
                    }
                    _ => None,
                })
        });
        self.framework_id = Some(id);
    }

    /// The next offer from `leader` after log position `seen`.
    fn offer_after(&mut self, seen: usize, leader: usize) -> (OfferId, Resources) {
        self.wait(secs(10), "an offer", |w| {
            w.fw_log.borrow()[seen..]
                .iter()
                .find_map(|(_, from, g)| match g {
                    Got::Offers(o) if *from == master_pid(leader) => o
                        .offers
                        .first()
                        .map(|o| (o.id.clone(), o.resources.clone())),
                    _ => None,
                })
        })
    }

    /// Launches task `task` (cpus:1;mem:512) through an offer of `leader`
    /// and plays the agent reporting it RUNNING, acknowledged.
    fn launch_running(&mut self, leader: usize, task: &str) {
        let (offer, _) = self.offer_after(0, leader);
        let t = TaskInfo {
            task_id: TaskId::from(task),
            name: task.into(),
            command: "sleep 1000".into(),
            env: Vec::new(),
            resources: res("cpus:1;mem:512"),
            container: None,
            executor: None,
        };
        let accept = Accept {
            offer_ids: vec![offer],
            operations: vec![Operation::Launch(vec![t])],
            refuse: Some(Duration::ZERO),
        };
        let seen = self.agent_log.borrow().len();
        self.send(framework_pid(), &master_pid(leader), accept);
        self.wait(secs(5), "RunTasks at the agent", |w| {
            w.agent_log.borrow()[seen..]
                .iter()
                .any(|(_, _, g)| matches!(g, Got::Run(_)))
                .then_some(())
        });
        self.report(leader, task, TaskState::Running, 1);
        let update = self.wait(secs(5), "RUNNING at the framework", |w| {
            w.update_of(task, TaskState::Running)
        });
        let ack = Acknowledge {
            agent_id: self.agent_id.clone().unwrap(),
            task_id: TaskId::from(task),
            uuid: update.uuid.unwrap(),
        };
        self.send(framework_pid(), &master_pid(leader), ack);
    }

    /// Plays the agent sending a status update for `task`.
    fn report(&mut self, leader: usize, task: &str, state: TaskState, n: u8) {
        let status = TaskStatus {
            task_id: TaskId::from(task),
            framework_id: self.framework_id.clone().unwrap(),
            agent_id: self.agent_id.clone(),
            state,
            source: StatusSource::Executor,
            reason: None,
            message: String::new(),
            timestamp_ms: 0,
            uuid: Some([n; 16]),
        };
        self.send(agent_pid(), &master_pid(leader), StatusUpdate { status });
    }

    fn update_of(&self, task: &str, state: TaskState) -> Option<TaskStatus> {
        self.fw_log.borrow().iter().find_map(|(_, _, g)| match g {
            Got::Update(u) if u.status.task_id.0 == task && u.status.state == state => {
                Some(u.status.clone())
            }
            _ => None,
        })
    }

    fn running_report(&self, task: &str) -> Vec<AgentTask> {
        vec![AgentTask {
            framework_id: self.framework_id.clone().unwrap(),
            task_id: TaskId::from(task),
            name: task.into(),
            resources: res("cpus:1;mem:512"),
            state: TaskState::Running,
        }]
    }
}

fn replicated_cfg() -> MasterConfig {
    let mut cfg = MasterConfig::default();
    cfg.allocator.interval = Duration::from_millis(200);
    cfg
}

#[test]
fn a_new_leader_gets_agent_and_framework_back_keeps_the_task_and_offers_only_what_is_free() {
    let mut w = World::new(7, 3, replicated_cfg(), false);
    let first = w.register_agent(Vec::new());
    w.subscribe(first);
    w.launch_running(first, "t1");

    let crashed_at = w.sim.now();
    w.sim.crash(master_addr(first)).unwrap();
    // The new leader tells both where it is.
    let (elected_at, next) = w.wait(secs(15), "LeaderElected at the agent", |w| {
        w.agent_log
            .borrow()
            .iter()
            .find_map(|(t, from, g)| match g {
                Got::Elected(e) if *t > crashed_at && e.leader == *from => Some((*t, from.clone())),
                _ => None,
            })
    });
    let next = (0..3).find(|&i| master_pid(i) == next).unwrap();
    assert_ne!(next, first);
    w.wait(secs(5), "LeaderElected at the framework", |w| {
        w.fw_log
            .borrow()
            .iter()
            .any(|(t, _, g)| *t > crashed_at && matches!(g, Got::Elected(_)))
            .then_some(())
    });
    eprintln!(
        "failover: LeaderElected {:?} after the crash",
        elected_at - crashed_at
    );
    assert!(elected_at - crashed_at < secs(5), "elected within 5 s");

    let report = w.running_report("t1");
    assert_eq!(
        w.register_agent(report),
        next,
        "the agent re-registers with the new leader"
    );
    let seen = w.fw_log.borrow().len();
    w.subscribe(next);
    let (_, offered) = w.offer_after(seen, next);
    assert_eq!(
        offered,
        res("cpus:3;mem:3584"),
        "the new leader offers the agent minus its running task"
    );

    // The new leader knows the task, as the agent reported it.
    let state = w.reconciled(next, vec![TaskId::from("t1")], "t1");
    assert_eq!(state, TaskState::Running);
    assert!(
        !w.agent_log
            .borrow()
            .iter()
            .any(|(_, _, g)| matches!(g, Got::Kill(_) | Got::Shutdown(_))),
        "no task is killed because a master failed over"
    );

    // The old leader comes back as a standby and points at the new one.
    w.sim.restart(master_addr(first)).unwrap();
    w.run_for(secs(2));
    let seen = w.agent_log.borrow().len();
    let msg = w.registration(Vec::new());
    w.send(agent_pid(), &master_pid(first), msg);
    let hint = w.agent_gets(
        seen,
        secs(5),
        "NotLeader from the old leader",
        |g| match g {
            Got::NotLeader(n) => Some(n.leader.clone()),
            _ => None,
        },
    );
    assert_eq!(hint, Some(master_pid(next)));
}

#[test]
fn an_agent_that_does_not_re_register_after_a_failover_is_removed_and_shut_down_on_return() {
    let mut cfg = replicated_cfg();
    cfg.agent_reregister_timeout = secs(5);
    let mut w = World::new(11, 3, cfg, false);
    let first = w.register_agent(Vec::new());
    w.sim.crash(master_addr(first)).unwrap();
    // The agent stays silent past the re-registration timeout.
    w.run_for(secs(15));
    let seen = w.agent_log.borrow().len();
    w.register_agent_once_somewhere();
    w.agent_gets(seen, secs(5), "ShutdownAgent", |g| {
        matches!(g, Got::Shutdown(_)).then_some(())
    });
}

impl World {
    /// Sends the agent's registration to every live master once.
    fn register_agent_once_somewhere(&mut self) {
        for i in 0..self.masters {
            if self.sim.is_up(master_addr(i)) {
                let msg = self.registration(Vec::new());
                self.send(agent_pid(), &master_pid(i), msg);
            }
        }
    }
}

fn loss_cfg() -> MasterConfig {
    let mut cfg = MasterConfig::default();
    cfg.allocator.interval = Duration::from_millis(200);
    cfg.agent_ping_timeout = secs(1);
    cfg.max_missed_pings = 3;
    cfg.agent_removal_timeout = secs(20);
    cfg
}

/// A master alone with the agent running "t1"; the agent is then cut off
/// until the framework hears `told` for the task, and the cut heals.
fn cut_off_and_back(seed: u64, partition_aware: bool, told: TaskState) -> World {
    let mut w = World::new(seed, 1, loss_cfg(), partition_aware);
    w.register_agent(Vec::new());
    w.subscribe(0);
    w.launch_running(0, "t1");
    w.sim.partition(agent_addr(), master_addr(0));
    w.wait(secs(10), "the task's agent written off", |w| {
        w.update_of("t1", told)
    });
    w.sim.heal_both(agent_addr(), master_addr(0));
    w
}

#[test]
fn an_unreachable_agent_returning_in_time_gets_its_tasks_back_and_later_removal_makes_them_gone() {
    let mut w = cut_off_and_back(3, true, TaskState::Unreachable);
    let report = w.running_report("t1");
    w.register_agent(report);
    let back = w.wait(secs(5), "RUNNING again", |w| {
        w.fw_log
            .borrow()
            .iter()
            .rev()
            .find_map(|(_, _, g)| match g {
                Got::Update(u) if u.status.reason == Some(StatusReason::AgentReregistered) => {
                    Some(u.status.state)
                }
                _ => None,
            })
    });
    assert_eq!(back, TaskState::Running);

    // Cut off again, for longer than the removal timeout.
    w.sim.partition(agent_addr(), master_addr(0));
    let gone = w.wait(secs(40), "TASK_GONE", |w| {
        w.update_of("t1", TaskState::Gone)
    });
    assert_eq!(gone.reason, Some(StatusReason::AgentRemoved));
    w.sim.heal_both(agent_addr(), master_addr(0));
    let seen = w.agent_log.borrow().len();
    let msg = w.registration(w.running_report("t1"));
    w.send(agent_pid(), &master_pid(0), msg);
    w.agent_gets(seen, secs(5), "ShutdownAgent for the removed agent", |g| {
        matches!(g, Got::Shutdown(_)).then_some(())
    });
}

#[test]
fn a_task_reported_lost_to_a_framework_that_is_not_partition_aware_is_killed_when_its_agent_returns(
) {
    let mut w = cut_off_and_back(5, false, TaskState::Lost);
    let seen = w.agent_log.borrow().len();
    let report = w.running_report("t1");
    w.register_agent(report);
    let killed = w.agent_gets(seen, secs(5), "KillTask for the lost task", |g| match g {
        Got::Kill(k) => Some(k.task_id.clone()),
        _ => None,
    });
    assert_eq!(killed, TaskId::from("t1"));
}

#[test]
fn the_same_seed_gives_the_same_failover() {
    let run = |seed| {
        let mut w = World::new(seed, 3, replicated_cfg(), false);
        let first = w.register_agent(Vec::new());
        w.sim.crash(master_addr(first)).unwrap();
        w.run_for(secs(5));
        w.sim.trace_hash()
    };
    assert_eq!(run(21), run(21));
    assert_ne!(run(21), run(22));
}

fn framework_cfg() -> MasterConfig {
    let mut cfg = MasterConfig::default();
    cfg.allocator.interval = Duration::from_millis(200);
    cfg
}

/// The framework's machine dies: the master keeps it and its tasks for its
/// failover timeout.
fn framework_lost(w: &mut World, failover_timeout: Duration) {
    w.info.failover_timeout = failover_timeout;
    w.register_agent(Vec::new());
    w.subscribe(0);
    w.launch_running(0, "t1");
    w.sim.crash(framework_addr()).unwrap();
}

#[test]
fn a_framework_back_within_its_failover_timeout_gets_its_tasks_back() {
    let mut w = World::new(31, 1, framework_cfg(), false);
    framework_lost(&mut w, secs(60));
    w.run_for(secs(30));
    w.sim.restart(framework_addr()).unwrap();
    let before = w.framework_id.clone();
    w.subscribe(0);
    assert_eq!(w.framework_id, before, "the same framework, by its id");
    let state = w.reconciled(0, Vec::new(), "t1");
    assert_eq!(state, TaskState::Running);
    w.run_for(secs(60));
    assert!(
        !w.agent_log
            .borrow()
            .iter()
            .any(|(_, _, g)| matches!(g, Got::Kill(_) | Got::ShutdownFramework(_))),
        "nothing of the framework was killed"
    );
}

#[test]
fn a_framework_gone_past_its_failover_timeout_is_removed_and_its_tasks_shut_down() {
    let mut w = World::new(37, 1, framework_cfg(), false);
    let lost_at = w.sim.now();
    framework_lost(&mut w, secs(20));
    let (at, fw) = w.wait(secs(60), "ShutdownFramework at the agent", |w| {
        w.agent_log.borrow().iter().find_map(|(t, _, g)| match g {
            Got::ShutdownFramework(s) => Some((*t, s.framework_id.clone())),
            _ => None,
        })
    });
    assert_eq!(Some(fw), w.framework_id);
    assert!(
        at - lost_at >= secs(20),
        "not before the failover timeout ({:?})",
        at - lost_at
    );
}

/// A removed framework's task still runs until its agent kills it: what it
/// uses is offered to nobody until the agent reports it ended (Mesos frees
/// it at once, which overcommits the agent while the kill takes its grace
/// period); the master acknowledges that report itself.
#[test]
fn a_removed_frameworks_running_task_is_offered_only_once_its_agent_reports_it_ended() {
    let mut w = World::new(41, 1, framework_cfg(), false);
    framework_lost(&mut w, secs(20));
    let removed = w.framework_id.clone().unwrap();
    w.agent_gets(0, secs(60), "ShutdownFramework at the agent", |g| {
        matches!(g, Got::ShutdownFramework(_)).then_some(())
    });
    // Another framework subscribes: it is offered only what t1 leaves.
    w.sim.restart(framework_addr()).unwrap();
    w.framework_id = None;
    let seen = w.fw_log.borrow().len();
    w.subscribe(0);
    assert_ne!(w.framework_id.as_ref(), Some(&removed));
    let (_, offered) = w.offer_after(seen, 0);
    assert_eq!(offered, res("cpus:3;mem:3584"), "t1 still runs there");
    w.run_for(secs(5));
    let offers_before = w.fw_log.borrow().len();
    // The agent reports t1 killed.
    let seen_agent = w.agent_log.borrow().len();
    let status = TaskStatus {
        task_id: TaskId::from("t1"),
        framework_id: removed,
        agent_id: w.agent_id.clone(),
        state: TaskState::Killed,
        source: StatusSource::Executor,
        reason: None,
        message: String::new(),
        timestamp_ms: 0,
        uuid: Some([9; 16]),
    };
    w.send(agent_pid(), &master_pid(0), StatusUpdate { status });
    w.agent_gets(
        seen_agent,
        secs(5),
        "the master's own acknowledgement",
        |g| matches!(g, Got::Ack(a) if a.task_id.0 == "t1").then_some(()),
    );
    let (_, freed) = w.offer_after(offers_before, 0);
    assert_eq!(freed, res("cpus:1;mem:512"), "what t1 used, offered again");
}
