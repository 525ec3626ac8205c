//! The agent in the simulator, between a master double and an executor
//! double, on virtual time.
//!
//! Three nodes: the master double (node 1) records what the agent sends and
//! answers registrations (when told to, or refuses them as a master that
//! does not lead) and acknowledges updates (when told to); the agent (node
//! 2) under test; an executor double (node 3) that
//! records what the agent sends executors. The test plays the executor's and
//! the master's other parts by injecting their messages with their pids as
//! senders. The agent's executor processes are simulated by a process model
//! that records each launch and runs until signalled (or as a test says).
//!
//! Failover tests (`failover`) add more master doubles, each with its own
//! log and controls, and give the agent the list of them.
//!
//! Every wait is on an event with a virtual-time limit; a failure names the
//! seed.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::cell::Cell;

use corral_agent::{Agent, AgentConfig, AgentEvent, RecoverMode};
use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, StatusSource, TaskState, TaskStatus};
use corral_runtime::sim::{Sim, SimConfig, SimProcess};
use corral_runtime::{message, Actor, Ctx, Handler, Handlers, Message, Pid, ProcessSpec, Time};
use serde::{Deserialize, Serialize};

type Shared<T> = Rc<RefCell<T>>;

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 5050))
}

fn master_pid() -> Pid {
    Pid::new("master", addr(1)).unwrap()
}

fn agent_pid() -> Pid {
    Pid::new(Agent::NAME, addr(2)).unwrap()
}

fn executor_pid() -> Pid {
    Pid::new("executor", addr(3)).unwrap()
}

fn stranger_pid() -> Pid {
    Pid::new("stranger", addr(9)).unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn fw() -> FrameworkId {
    FrameworkId::from("fw-1")
}

const AGENT_ID: &str = "agent-1";
const WORK_DIR: &str = "/var/lib/corral";
const EXECUTOR_COMMAND: &str = "exec '/usr/bin/corral-executor'";

/// What the doubles saw.
#[derive(Default)]
struct Log {
    registrations: Vec<(Time, master::RegisterAgent)>,
    updates: Vec<(Time, TaskStatus)>,
    pongs: Vec<Time>,
    to_executor: Vec<(Time, ToExecutor)>,
    launched: Vec<ProcessSpec>,
}

impl Log {
    fn updates_of(&self, task: &str) -> Vec<TaskStatus> {
        self.updates
            .iter()
            .filter(|(_, s)| s.task_id.0 == task)
            .map(|(_, s)| s.clone())
            .collect()
    }

    fn has_state(&self, task: &str, state: TaskState) -> bool {
        self.updates_of(task).iter().any(|s| s.state == state)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum ToExecutor {
    RunTask(TaskId),
    Kill(TaskId, Duration),
    Ack(TaskId, [u8; 16]),
    Shutdown,
    Reregistered(String),
}

/// How the master double behaves (tests flip these).
struct Control {
    answer_registrations: bool,
    auto_ack: bool,
    /// Some: answer registrations with `NotLeader` naming this leader.
    not_leader: Option<Option<Pid>>,
    /// Ping admitted agents every 15 s, as a master does.
    pings: bool,
    /// The tasks named in `AgentRegistered`.
    expected: Vec<master::ExpectedTask>,
    /// The term `AgentRegistered` names.
    term: u64,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            answer_registrations: true,
            pings: true,
            expected: Vec::new(),
            auto_ack: false,
            not_leader: None,
            term: 0,
        }
    }
}

/// Tells the master double to ping the agent.
#[derive(Debug, Serialize, Deserialize)]
struct DoPing;
message!(DoPing = "agenttest.DoPing");

struct MasterDouble {
    log: Shared<Log>,
    control: Shared<Control>,
    /// Its ping loop runs (started by its first admission, as a master
    /// pings the agents it admitted).
    pinging: bool,
}

impl MasterDouble {
    fn ping_loop(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.control.borrow().pings {
            ctx.ask(
                &agent_pid(),
                master::Ping,
                secs(15),
                |a: &mut Self, r, ctx| {
                    if r.is_ok() {
                        a.log.borrow_mut().pongs.push(ctx.now());
                    }
                },
            );
        }
        ctx.delay(secs(15), |a: &mut Self, ctx| a.ping_loop(ctx));
    }
}

impl Actor for MasterDouble {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<master::RegisterAgent>()
            .on::<master::StatusUpdate>()
            .on::<DoPing>();
    }
}

impl Handler<master::RegisterAgent> for MasterDouble {
    fn handle(&mut self, msg: master::RegisterAgent, ctx: &mut Ctx<'_, Self>) {
        let pid = msg.pid.clone();
        self.log.borrow_mut().registrations.push((ctx.now(), msg));
        let not_leader = self.control.borrow().not_leader.clone();
        if let Some(leader) = not_leader {
            ctx.send(&pid, master::NotLeader { leader });
        } else if self.control.borrow().answer_registrations {
            let reply = master::AgentRegistered {
                agent_id: AgentId::from(AGENT_ID),
                ping_interval: secs(15),
                tasks: self.control.borrow().expected.clone(),
                term: self.control.borrow().term,
            };
            ctx.send(&pid, reply);
            if !std::mem::replace(&mut self.pinging, true) {
                ctx.delay(secs(15), |a: &mut Self, ctx| a.ping_loop(ctx));
            }
        }
    }
}

impl Handler<master::StatusUpdate> for MasterDouble {
    fn handle(&mut self, msg: master::StatusUpdate, ctx: &mut Ctx<'_, Self>) {
        let status = msg.status;
        self.log
            .borrow_mut()
            .updates
            .push((ctx.now(), status.clone()));
        if self.control.borrow().auto_ack {
            if let (Some(uuid), Some(from)) = (status.uuid, ctx.sender().cloned()) {
                let ack = master::StatusAck {
                    framework_id: status.framework_id,
                    task_id: status.task_id,
                    uuid,
                };
                ctx.send(&from, ack);
            }
        }
    }
}

impl Handler<DoPing> for MasterDouble {
    fn handle(&mut self, _: DoPing, ctx: &mut Ctx<'_, Self>) {
        ctx.ask(
            &agent_pid(),
            master::Ping,
            secs(5),
            |a: &mut Self, r, ctx| {
                if r.is_ok() {
                    a.log.borrow_mut().pongs.push(ctx.now());
                }
            },
        );
    }
}

/// Records what the agent sends executors.
struct ExecutorDouble {
    log: Shared<Log>,
}

impl Actor for ExecutorDouble {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<exec::RunTask>()
            .on::<exec::KillTask>()
            .on::<exec::UpdateAck>()
            .on::<exec::ShutdownExecutor>()
            .on::<exec::ExecutorReregistered>();
    }
}

impl Handler<exec::ExecutorReregistered> for ExecutorDouble {
    fn handle(&mut self, msg: exec::ExecutorReregistered, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx.now(), ToExecutor::Reregistered(msg.executor_id));
    }
}

impl ExecutorDouble {
    fn record(&self, now: Time, seen: ToExecutor) {
        self.log.borrow_mut().to_executor.push((now, seen));
    }
}

impl Handler<exec::RunTask> for ExecutorDouble {
    fn handle(&mut self, msg: exec::RunTask, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx.now(), ToExecutor::RunTask(msg.task.task_id));
    }
}

impl Handler<exec::KillTask> for ExecutorDouble {
    fn handle(&mut self, msg: exec::KillTask, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx.now(), ToExecutor::Kill(msg.task_id, msg.grace));
    }
}

impl Handler<exec::UpdateAck> for ExecutorDouble {
    fn handle(&mut self, msg: exec::UpdateAck, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx.now(), ToExecutor::Ack(msg.task_id, msg.uuid));
    }
}

impl Handler<exec::ShutdownExecutor> for ExecutorDouble {
    fn handle(&mut self, _: exec::ShutdownExecutor, ctx: &mut Ctx<'_, Self>) {
        self.record(ctx.now(), ToExecutor::Shutdown);
    }
}

/// A master double: its pid, what it saw, and its controls.
struct MasterHandle {
    pid: Pid,
    log: Shared<Log>,
    control: Shared<Control>,
}

/// Adds a node holding a master double at `pid`.
fn add_master(sim: &mut Sim, pid: &Pid, log: &Shared<Log>, control: &Shared<Control>) {
    let (l, c, name) = (log.clone(), control.clone(), pid.name().to_owned());
    sim.add_node(pid.addr(), move |k| {
        let double = MasterDouble {
            pinging: false,
            log: l.clone(),
            control: c.clone(),
        };
        k.spawn_actor(&name, double).unwrap();
    })
    .unwrap();
}

/// The simulated world around one agent.
struct World {
    sim: Sim,
    seed: u64,
    /// What the first master double (node 1), the executor double and the
    /// process model saw.
    log: Shared<Log>,
    control: Shared<Control>,
    /// The master doubles after the first, in the agent's list order.
    others: Vec<MasterHandle>,
    events: Arc<Mutex<Vec<AgentEvent>>>,
    /// The recover mode the agent boots with (at each restart too).
    recover: Rc<Cell<RecoverMode>>,
}

/// Executor processes run this long unless signalled (or the test says).
const FOREVER: Duration = Duration::from_secs(1_000_000);

fn world(seed: u64, executor_runs: SimProcess) -> World {
    world_with_masters(seed, executor_runs, &[])
}

/// A world whose agent has the masters `[master_pid(), others...]`, each a
/// master double on its own node.
fn world_with_masters(seed: u64, executor_runs: SimProcess, others: &[Pid]) -> World {
    let mut sim = Sim::new(SimConfig {
        seed,
        ..SimConfig::default()
    });
    let log: Shared<Log> = Shared::default();
    let control: Shared<Control> = Shared::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let model_log = log.clone();
    sim.set_process_model(Box::new(move |spec, _| {
        model_log.borrow_mut().launched.push(spec.clone());
        executor_runs
    }));
    add_master(&mut sim, &master_pid(), &log, &control);
    let others: Vec<MasterHandle> = others
        .iter()
        .map(|pid| {
            let handle = MasterHandle {
                pid: pid.clone(),
                log: Shared::default(),
                control: Shared::default(),
            };
            add_master(&mut sim, pid, &handle.log, &handle.control);
            handle
        })
        .collect();
    let masters: Vec<Pid> = std::iter::once(master_pid())
        .chain(others.iter().map(|m| m.pid.clone()))
        .collect();
    let l = log.clone();
    sim.add_node(addr(3), move |k| {
        k.spawn_actor("executor", ExecutorDouble { log: l.clone() })
            .unwrap();
    })
    .unwrap();
    let ev = events.clone();
    let recover = Rc::new(Cell::new(RecoverMode::Reconnect));
    let mode = recover.clone();
    sim.add_node(addr(2), move |k| {
        let ev = ev.clone();
        let mut cfg = config().with_masters(masters.clone());
        cfg.recover = mode.get();
        cfg.recovery_timeout = RECOVERY_TIMEOUT;
        let agent = Agent::new(cfg).with_observer(move |e| ev.lock().unwrap().push(e));
        k.spawn_actor(Agent::NAME, agent).unwrap();
    })
    .unwrap();
    World {
        sim,
        seed,
        log,
        control,
        others,
        events,
        recover,
    }
}

/// The agents' recovery timeout in these tests.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);

fn config() -> AgentConfig {
    AgentConfig::new(
        master_pid(),
        "host-2".into(),
        Resources::parse("cpus:4;mem:4096;ports:[31000-32000]").unwrap(),
        PathBuf::from(WORK_DIR),
        EXECUTOR_COMMAND.into(),
    )
}

fn runs_forever() -> SimProcess {
    SimProcess {
        runs_for: FOREVER,
        exit_code: 0,
    }
}

fn task(id: &str) -> TaskInfo {
    TaskInfo {
        task_id: TaskId::from(id),
        name: format!("task {id}"),
        command: "sleep 100".into(),
        env: vec![],
        resources: Resources::parse("cpus:1;mem:128").unwrap(),
        container: None,
        executor: None,
    }
}

fn framework(checkpoint: bool) -> FrameworkInfo {
    let mut info = FrameworkInfo::new("test", "*");
    info.checkpoint = checkpoint;
    info.id = Some(fw());
    info
}

fn status(task: &str, state: TaskState, uuid: u8) -> TaskStatus {
    TaskStatus {
        task_id: TaskId::from(task),
        framework_id: fw(),
        agent_id: None,
        state,
        source: StatusSource::Executor,
        reason: None,
        message: String::new(),
        timestamp_ms: 0,
        uuid: Some([uuid; 16]),
    }
}

impl World {
    /// Runs until `cond` holds on the log, failing after `within`.
    fn wait(&mut self, what: &'static str, within: Duration, cond: impl Fn(&Log) -> bool) {
        let log = self.log.clone();
        let seed = self.seed;
        self.sim
            .await_liveness(what, within, move |_| {
                if cond(&log.borrow()) {
                    Ok(())
                } else {
                    Err("not yet".into())
                }
            })
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }

    /// Runs until the agent reports an event matching `cond`.
    fn wait_event(
        &mut self,
        what: &'static str,
        within: Duration,
        cond: impl Fn(&AgentEvent) -> bool,
    ) {
        let events = self.events.clone();
        let seed = self.seed;
        self.sim
            .await_liveness(what, within, move |_| {
                if events.lock().unwrap().iter().any(&cond) {
                    Ok(())
                } else {
                    Err("no such event yet".into())
                }
            })
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.sim.now() + d;
        self.sim.run_until(until);
    }

    fn from<M: Message>(&mut self, from: Pid, msg: M) {
        self.sim.send(from, &agent_pid(), msg).unwrap();
    }

    /// Makes the agent register again (its master went quiet) and waits
    /// for the admission.
    fn registered_again(&mut self) {
        let n = self.log.borrow().registrations.len();
        self.control.borrow_mut().pings = false;
        self.wait("a second registration", secs(60), move |l| {
            l.registrations.len() > n
        });
        self.control.borrow_mut().pings = true;
        self.run_for(secs(1));
    }

    fn registered(&mut self) {
        self.wait_event("agent registered", secs(5), |e| {
            matches!(e, AgentEvent::Registered { .. })
        });
    }

    /// Sends one RunTasks for `ids` and waits until their executor started
    /// (command tasks launched together share one).
    fn run_tasks(&mut self, ids: &[&str]) {
        let before = self.log.borrow().launched.len();
        let msg = master::RunTasks {
            framework_id: fw(),
            framework: framework(true),
            tasks: ids.iter().map(|id| task(id)).collect(),
        };
        self.from(master_pid(), msg);
        let n = before + 1;
        self.wait("executor launched", secs(1), move |l| l.launched.len() >= n);
    }

    fn register_executor(&mut self, task: &str) {
        let msg = exec::RegisterExecutor {
            framework_id: fw(),
            executor_id: task.into(),
        };
        self.from(executor_pid(), msg);
        let t = TaskId::from(task);
        self.wait("RunTask sent", secs(1), move |l| {
            l.to_executor
                .iter()
                .any(|(_, s)| *s == ToExecutor::RunTask(t.clone()))
        });
    }

    fn executor_update(&mut self, task: &str, state: TaskState, uuid: u8) {
        let msg = exec::ExecutorUpdate {
            status: status(task, state, uuid),
        };
        self.from(executor_pid(), msg);
    }

    fn ack(&mut self, task: &str, uuid: [u8; 16]) {
        let msg = master::StatusAck {
            framework_id: fw(),
            task_id: TaskId::from(task),
            uuid,
        };
        self.from(master_pid(), msg);
    }

    fn kill(&mut self, task: &str) {
        let msg = master::KillTask {
            framework_id: fw(),
            task_id: TaskId::from(task),
        };
        self.from(master_pid(), msg);
    }

    fn executor_acks(&self, task: &str) -> Vec<[u8; 16]> {
        self.log
            .borrow()
            .to_executor
            .iter()
            .filter_map(|(_, s)| match s {
                ToExecutor::Ack(t, u) if t.0 == task => Some(*u),
                _ => None,
            })
            .collect()
    }

    fn agent_processes(&self) -> usize {
        self.sim.running_processes(addr(2))
    }
}

fn env_of(spec: &ProcessSpec, name: &str) -> Option<String> {
    spec.env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[test]
fn registration_is_retried_with_backoff_until_the_master_answers() {
    let mut w = world(1, runs_forever());
    w.control.borrow_mut().answer_registrations = false;
    w.run_for(secs(100));
    let times: Vec<Time> = w
        .log
        .borrow()
        .registrations
        .iter()
        .map(|(t, _)| *t)
        .collect();
    assert!(
        times.len() >= 7 && times.len() <= 10,
        "{} attempts",
        times.len()
    );
    let slack = Duration::from_millis(10);
    for (i, pair) in times.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let backoff = secs(1 << i.min(6)).min(secs(60));
        assert!(
            gap + slack >= backoff / 2 && gap <= backoff + slack,
            "gap {i} is {gap:?}, backoff {backoff:?}"
        );
    }
    for (_, r) in w.log.borrow().registrations.iter() {
        assert_eq!(r.id, None);
        assert_eq!(r.pid, agent_pid());
        assert_eq!(r.hostname, "host-2");
        assert_eq!(r.resources, config().resources);
    }
    // The master appears: the next attempt (within the 60 s cap) succeeds.
    w.control.borrow_mut().answer_registrations = true;
    w.wait_event("registered", secs(61), |e| {
        *e == AgentEvent::Registered {
            agent_id: AgentId::from(AGENT_ID),
        }
    });
    let n = w.log.borrow().registrations.len();
    w.run_for(secs(300));
    assert_eq!(
        w.log.borrow().registrations.len(),
        n,
        "no attempts once registered"
    );
}

#[test]
fn an_agent_the_master_stops_pinging_registers_again() {
    let mut w = world(3, runs_forever());
    w.registered();
    // Pinged as usual: no new registration for a long while.
    w.run_for(secs(120));
    assert_eq!(w.log.borrow().registrations.len(), 1);
    // The master goes quiet (it wrote the agent off, or a one-way cut).
    w.control.borrow_mut().pings = false;
    let quiet_from = w.sim.now();
    w.run_for(secs(61));
    let again: Vec<Time> = w.log.borrow().registrations[1..]
        .iter()
        .map(|(t, _)| *t)
        .collect();
    let first = *again.first().expect("the agent registered again");
    let waited = first - quiet_from;
    assert!(
        waited >= secs(30) && waited <= secs(46),
        "registered again {waited:?} after the last ping (3 intervals of 15 s)"
    );
    let r = &w.log.borrow().registrations[1].1;
    assert_eq!(r.id, Some(AgentId::from(AGENT_ID)), "under its id");
}

#[test]
fn tasks_the_master_expects_but_the_agent_never_got_are_reported_dropped_or_lost() {
    let mut w = world(4, runs_forever());
    let expect = |task: &str, aware: bool| master::ExpectedTask {
        framework_id: fw(),
        task_id: TaskId::from(task),
        partition_aware: aware,
    };
    w.control.borrow_mut().expected =
        vec![expect("never-got-1", true), expect("never-got-2", false)];
    w.registered();
    w.wait("the two unknown tasks reported", secs(5), |l| {
        l.has_state("never-got-1", TaskState::Dropped)
            && l.has_state("never-got-2", TaskState::Lost)
    });
    // t1 arrives; a later answer names it, and the first two again.
    w.run_tasks(&["t1"]);
    w.control.borrow_mut().expected.push(expect("t1", false));
    w.registered_again();
    w.run_for(secs(5));
    let log = w.log.borrow();
    // Distinct updates: the same one is resent until acknowledged.
    let reported = |task: &str, state| {
        log.updates_of(task)
            .iter()
            .filter(|s| s.state == state)
            .map(|s| s.uuid)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert_eq!(
        reported("t1", TaskState::Lost),
        0,
        "a task the agent has is not reported lost"
    );
    assert_eq!(
        reported("never-got-2", TaskState::Lost),
        1,
        "reported once, then known"
    );
    let status = &log.updates_of("never-got-1")[0];
    assert_eq!(status.reason, Some(StatusReason::Reconciliation));
    assert_eq!(status.source, StatusSource::Agent);
}

/// A launch that reaches an agent while it registers again is not run: it
/// may come from a deposed leader the next one never hears from (chaos
/// seed 35582). The master that still expects the task names it in its
/// answer, and the agent reports it DROPPED.
#[test]
fn a_launch_that_arrives_while_registering_is_dropped_not_run() {
    let mut w = world(5, runs_forever());
    w.registered();
    // The master goes quiet; the agent registers again, unanswered.
    let n = w.registrations();
    w.control.borrow_mut().answer_registrations = false;
    w.control.borrow_mut().pings = false;
    w.wait("registering again", secs(60), move |l| {
        l.registrations.len() > n
    });
    let launched = w.log.borrow().launched.len();
    let msg = master::RunTasks {
        framework_id: fw(),
        framework: framework(true),
        tasks: vec![task("late")],
    };
    w.from(master_pid(), msg);
    w.run_for(secs(1));
    assert_eq!(w.log.borrow().launched.len(), launched, "not launched");
    w.control.borrow_mut().expected = vec![master::ExpectedTask {
        framework_id: fw(),
        task_id: TaskId::from("late"),
        partition_aware: true,
    }];
    w.control.borrow_mut().answer_registrations = true;
    w.control.borrow_mut().pings = true;
    w.wait("the launch reported dropped", secs(60), |l| {
        l.has_state("late", TaskState::Dropped)
    });
    assert_eq!(
        w.log.borrow().launched.len(),
        launched,
        "still not launched"
    );
}

/// A task of a shut-down framework whose launch never arrived is reported
/// too: the master holds what it would use until it hears it ended.
#[test]
fn a_shut_down_frameworks_task_that_never_arrived_is_reported_lost() {
    let mut w = world(15, runs_forever());
    w.registered();
    w.from(
        master_pid(),
        master::ShutdownFramework { framework_id: fw() },
    );
    w.control.borrow_mut().expected = vec![master::ExpectedTask {
        framework_id: fw(),
        task_id: TaskId::from("lost-launch"),
        partition_aware: false,
    }];
    w.registered_again();
    w.wait("the lost launch reported", secs(5), |l| {
        l.has_state("lost-launch", TaskState::Lost)
    });
}

#[test]
fn pings_are_answered() {
    let mut w = world(2, runs_forever());
    w.registered();
    w.sim.send(stranger_pid(), &master_pid(), DoPing).unwrap();
    w.wait("pong", secs(1), |l| !l.pongs.is_empty());
}

#[test]
fn run_tasks_launches_an_executor_with_its_environment_and_sends_it_the_task() {
    let mut w = world(3, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    let spec = w.log.borrow().launched[0].clone();
    let sandbox = format!("{WORK_DIR}/frameworks/fw-1/tasks/t1");
    assert_eq!(spec.command, EXECUTOR_COMMAND);
    assert_eq!(spec.cwd, Some(PathBuf::from(&sandbox)));
    // The command executor's own lines go apart from its task's output.
    let log = Some(PathBuf::from(format!("{sandbox}/executor.log")));
    assert_eq!((&spec.stdout, &spec.stderr), (&log, &log));
    let expect = [
        ("CORRAL_AGENT_PID", agent_pid().to_string()),
        ("CORRAL_FRAMEWORK_ID", "fw-1".into()),
        ("CORRAL_EXECUTOR_ID", "t1".into()),
        ("CORRAL_SANDBOX", sandbox.clone()),
        ("CORRAL_AGENT_ID", AGENT_ID.into()),
        ("CORRAL_EXECUTOR_IP", "10.0.0.2".into()),
        ("MESOS_FRAMEWORK_ID", "fw-1".into()),
        ("MESOS_EXECUTOR_ID", "t1".into()),
        ("MESOS_SANDBOX", sandbox.clone()),
        ("MESOS_DIRECTORY", sandbox),
        ("MESOS_SLAVE_ID", AGENT_ID.into()),
        ("MESOS_AGENT_ID", AGENT_ID.into()),
        ("MESOS_CHECKPOINT", "1".into()),
        ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs".into()),
    ];
    for (name, value) in expect {
        assert_eq!(env_of(&spec, name), Some(value), "{name}");
    }
    assert_eq!(env_of(&spec, "CORRAL_LOG"), None);
    w.register_executor("t1");
    // A repeated registration is answered again (the RunTask may be lost).
    w.from(
        executor_pid(),
        exec::RegisterExecutor {
            framework_id: fw(),
            executor_id: "t1".into(),
        },
    );
    w.wait("RunTask resent", secs(1), |l| {
        l.to_executor
            .iter()
            .filter(|(_, s)| matches!(s, ToExecutor::RunTask(_)))
            .count()
            == 2
    });
    // An unknown executor is ignored.
    w.from(
        executor_pid(),
        exec::RegisterExecutor {
            framework_id: fw(),
            executor_id: "nope".into(),
        },
    );
    w.run_for(secs(1));
    assert_eq!(w.log.borrow().to_executor.len(), 2);
}

#[test]
fn executor_updates_reach_the_master_in_order_one_at_a_time_until_acknowledged() {
    let mut w = world(4, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Starting, 1);
    w.executor_update("t1", TaskState::Running, 2);
    w.executor_update("t1", TaskState::Starting, 1); // a resend
    w.wait("acks to the executor", secs(1), |l| {
        l.to_executor
            .iter()
            .filter(|(_, s)| matches!(s, ToExecutor::Ack(..)))
            .count()
            == 3
    });
    assert_eq!(w.executor_acks("t1"), vec![[1; 16], [2; 16], [1; 16]]);
    w.wait("first update", secs(1), |l| !l.updates.is_empty());
    let first = w.log.borrow().updates[0].clone();
    assert_eq!(first.1.uuid, Some([1; 16]));
    assert_eq!(first.1.agent_id, Some(AgentId::from(AGENT_ID)));
    // Unacknowledged: only the head is retried, after 10 s then 20 s.
    w.run_for(secs(35));
    let log = w.log.borrow();
    let uuids: Vec<u8> = log
        .updates
        .iter()
        .map(|(_, s)| s.uuid.unwrap()[0])
        .collect();
    assert_eq!(uuids, vec![1, 1, 1]);
    let t: Vec<Time> = log.updates.iter().map(|(t, _)| *t).collect();
    let near = |d: Duration, want: Duration| {
        d + Duration::from_millis(10) >= want && d <= want + Duration::from_millis(10)
    };
    assert!(near(t[1] - t[0], secs(10)), "{:?}", t[1] - t[0]);
    assert!(near(t[2] - t[1], secs(20)), "{:?}", t[2] - t[1]);
    drop(log);
    // A stale ack changes nothing; the head's ack sends the next at once.
    w.ack("t1", [2; 16]);
    w.run_for(secs(1));
    assert_eq!(w.log.borrow().updates.len(), 3);
    w.ack("t1", [1; 16]);
    w.wait("second update", secs(1), |l| l.updates.len() == 4);
    assert_eq!(w.log.borrow().updates[3].1.uuid, Some([2; 16]));
    assert_eq!(w.log.borrow().updates[3].1.state, TaskState::Running);
    w.ack("t1", [2; 16]);
    // Nothing more: the duplicate was dropped.
    w.run_for(secs(120));
    assert_eq!(w.log.borrow().updates.len(), 4);
}

#[test]
fn the_agent_registers_again_after_the_master_restarts_and_resends_pending_updates() {
    let mut w = world(5, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Running, 7);
    w.wait("update", secs(1), |l| !l.updates.is_empty());
    w.sim.crash(addr(1)).unwrap();
    w.run_for(secs(3));
    w.sim.restart(addr(1)).unwrap();
    w.wait("re-registration", secs(30), |l| {
        l.registrations.iter().any(|(_, r)| r.id.is_some())
    });
    let (at, again) = w
        .log
        .borrow()
        .registrations
        .iter()
        .find(|(_, r)| r.id.is_some())
        .cloned()
        .unwrap();
    assert_eq!(again.id, Some(AgentId::from(AGENT_ID)));
    w.wait("update resent after re-registering", secs(1), move |l| {
        l.updates
            .iter()
            .any(|(t, s)| *t > at && s.uuid == Some([7; 16]))
    });
    let disconnected = w
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| **e == AgentEvent::Disconnected)
        .count();
    assert_eq!(disconnected, 1);
}

#[test]
fn a_kill_before_the_executor_registers_kills_the_process_and_reports_task_killed() {
    let mut w = world(6, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    assert_eq!(w.agent_processes(), 1);
    w.kill("t1");
    w.wait("TASK_KILLED", secs(1), |l| {
        l.has_state("t1", TaskState::Killed)
    });
    let killed = w.log.borrow().updates_of("t1")[0].clone();
    assert_eq!(killed.source, StatusSource::Agent);
    assert_eq!(killed.reason, Some(StatusReason::KilledByFramework));
    assert_eq!(killed.agent_id, Some(AgentId::from(AGENT_ID)));
    assert!(killed.uuid.is_some());
    w.run_for(secs(1));
    assert_eq!(w.agent_processes(), 0);
    // A late registration is told to shut down, not given the task.
    w.from(
        executor_pid(),
        exec::RegisterExecutor {
            framework_id: fw(),
            executor_id: "t1".into(),
        },
    );
    w.wait("shutdown", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| *s == ToExecutor::Shutdown)
    });
    assert!(!w
        .log
        .borrow()
        .to_executor
        .iter()
        .any(|(_, s)| matches!(s, ToExecutor::RunTask(_))));
}

#[test]
fn a_kill_goes_to_the_executor_and_an_executor_that_ignores_it_is_sigkilled() {
    let mut w = world(7, runs_forever());
    w.control.borrow_mut().auto_ack = true;
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    let start = w.sim.now();
    w.kill("t1");
    w.wait("KillTask to the executor", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| *s == ToExecutor::Kill(TaskId::from("t1"), secs(5)))
    });
    w.run_for(secs(9));
    assert_eq!(w.agent_processes(), 1, "the executor has its grace");
    assert!(!w.log.borrow().has_state("t1", TaskState::Killed));
    w.wait("TASK_KILLED", secs(2), |l| {
        l.has_state("t1", TaskState::Killed)
    });
    let (at, killed) = w.log.borrow().updates[0].clone();
    assert!(at - start >= secs(10), "killed after {:?}", at - start);
    assert_eq!(killed.source, StatusSource::Agent);
    assert!(killed.message.contains("did not end"), "{}", killed.message);
    assert_eq!(w.agent_processes(), 0);
    // Acknowledged: the task is done and forgotten.
    w.wait_event("completed", secs(1), |e| {
        matches!(
            e,
            AgentEvent::TaskCompleted {
                state: TaskState::Killed,
                ..
            }
        )
    });
}

#[test]
fn a_kill_answered_by_the_executor_needs_no_sigkill() {
    let mut w = world(8, runs_forever());
    w.control.borrow_mut().auto_ack = true;
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    w.kill("t1");
    w.run_for(secs(1));
    w.executor_update("t1", TaskState::Killed, 3);
    w.wait("executor's TASK_KILLED", secs(1), |l| {
        l.has_state("t1", TaskState::Killed)
    });
    w.run_for(secs(8));
    let updates = w.log.borrow().updates_of("t1");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0].source, StatusSource::Executor);
    // The task is forgotten; its executor lingers past the margin, so it is
    // asked to shut down and, as it still lingers, SIGKILLed after the
    // grace and another margin.
    assert!(w
        .log
        .borrow()
        .to_executor
        .iter()
        .any(|(_, s)| *s == ToExecutor::Shutdown));
    assert_eq!(w.agent_processes(), 1);
    w.run_for(secs(11));
    assert_eq!(w.agent_processes(), 0);
}

#[test]
fn an_executor_that_exits_without_a_terminal_update_fails_its_task() {
    let exits_early = SimProcess {
        runs_for: secs(3),
        exit_code: 1,
    };
    let mut w = world(9, exits_early);
    w.control.borrow_mut().auto_ack = true;
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Running, 1);
    w.wait("TASK_FAILED", secs(5), |l| {
        l.has_state("t1", TaskState::Failed)
    });
    let updates = w.log.borrow().updates_of("t1");
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].state, TaskState::Running);
    let failed = &updates[1];
    assert_eq!(failed.source, StatusSource::Agent);
    assert_eq!(failed.reason, Some(StatusReason::ExecutorTerminated));
    assert!(
        failed.message.contains("exited with status 1"),
        "{}",
        failed.message
    );
}

#[test]
fn an_unsafe_task_id_gets_task_error_and_nothing_is_launched() {
    let mut w = world(10, runs_forever());
    w.registered();
    let msg = master::RunTasks {
        framework_id: fw(),
        framework: framework(false),
        tasks: vec![task("../x"), task("..")],
    };
    w.from(master_pid(), msg);
    w.control.borrow_mut().auto_ack = true;
    w.wait("TASK_ERROR", secs(1), |l| {
        l.has_state("../x", TaskState::Error) && l.has_state("..", TaskState::Error)
    });
    let error = w.log.borrow().updates_of("../x")[0].clone();
    assert_eq!(error.source, StatusSource::Agent);
    assert_eq!(error.reason, Some(StatusReason::InvalidTask));
    assert!(w.log.borrow().launched.is_empty());
    assert_eq!(w.agent_processes(), 0);
}

#[test]
fn an_executor_that_never_registers_is_killed_and_its_task_fails() {
    let mut w = world(11, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    let start = w.sim.now();
    w.run_for(secs(59));
    assert!(w.log.borrow().updates.is_empty());
    w.wait("TASK_FAILED", secs(2), |l| {
        l.has_state("t1", TaskState::Failed)
    });
    let (at, failed) = w.log.borrow().updates[0].clone();
    assert!(at - start >= secs(60));
    assert_eq!(failed.reason, Some(StatusReason::ExecutorTerminated));
    assert!(
        failed.message.contains("did not register within 60 s"),
        "{}",
        failed.message
    );
    w.run_for(secs(1));
    assert_eq!(w.agent_processes(), 0);
}

#[test]
fn a_kill_of_an_unknown_task_reports_it_lost() {
    let mut w = world(12, runs_forever());
    w.registered();
    w.kill("ghost");
    w.wait("TASK_LOST", secs(1), |l| {
        l.has_state("ghost", TaskState::Lost)
    });
    let lost = w.log.borrow().updates_of("ghost")[0].clone();
    assert_eq!(lost.message, "unknown task");
    assert_eq!(lost.source, StatusSource::Agent);
}

#[test]
fn messages_from_strangers_are_ignored() {
    let mut w = world(13, runs_forever());
    w.registered();
    let msg = master::RunTasks {
        framework_id: fw(),
        framework: framework(false),
        tasks: vec![task("t1")],
    };
    w.from(stranger_pid(), msg);
    w.from(
        stranger_pid(),
        master::ShutdownAgent {
            message: "not from the master".into(),
        },
    );
    w.run_for(secs(2));
    assert!(w.log.borrow().launched.is_empty());
    // Updates for a task from a pid that is not its executor are dropped.
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    w.from(
        stranger_pid(),
        exec::ExecutorUpdate {
            status: status("t1", TaskState::Finished, 9),
        },
    );
    w.run_for(secs(2));
    assert!(w.log.borrow().updates.is_empty());
    let shutdowns = w
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, AgentEvent::ShutDown { .. }))
        .count();
    assert_eq!(shutdowns, 0);
}

/// The master keeps what a shut-down framework's tasks use from offers
/// until it hears they ended, so each task's end is still sent (and the
/// master acknowledges it itself); nothing else is.
#[test]
fn shutdown_framework_kills_its_tasks_and_sends_only_their_ends() {
    let mut w = world(14, runs_forever());
    w.registered();
    // Two launches: two executors, only t1's registered.
    w.run_tasks(&["t1"]);
    w.run_tasks(&["t2"]);
    w.register_executor("t1");
    w.from(
        master_pid(),
        master::ShutdownFramework { framework_id: fw() },
    );
    w.wait("KillTask to t1's executor", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| matches!(s, ToExecutor::Kill(..)))
    });
    w.executor_update("t1", TaskState::Killed, 4);
    w.wait("both tasks' ends at the master", secs(5), |l| {
        ["t1", "t2"]
            .iter()
            .all(|t| l.updates_of(t).iter().any(|s| s.state == TaskState::Killed))
    });
    let sent: Vec<TaskStatus> = w
        .log
        .borrow()
        .updates
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    assert!(
        sent.iter().all(|s| s.state == TaskState::Killed),
        "only the ends: {sent:?}"
    );
    for s in &sent {
        w.ack(&s.task_id.0, s.uuid.unwrap());
    }
    w.run_for(secs(20));
    assert_eq!(w.agent_processes(), 0, "t2 killed at once, t1 reaped");
    let completed = w
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, AgentEvent::TaskCompleted { .. }))
        .count();
    assert_eq!(completed, 2);
}

#[test]
fn shutdown_agent_drops_everything_and_registers_as_a_new_agent() {
    let mut w = world(15, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    w.from(
        master_pid(),
        master::ShutdownAgent {
            message: "removed".into(),
        },
    );
    w.wait("registers anew", secs(5), |l| l.registrations.len() >= 2);
    assert_eq!(w.log.borrow().registrations[1].1.id, None);
    w.run_for(secs(1));
    assert_eq!(w.agent_processes(), 0);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = |seed| {
        let mut w = world(seed, runs_forever());
        w.control.borrow_mut().auto_ack = true;
        w.registered();
        w.run_tasks(&["t1", "t2"]);
        w.register_executor("t1");
        w.executor_update("t1", TaskState::Running, 1);
        w.kill("t2");
        w.run_for(secs(120));
        w.sim.trace_hash()
    };
    assert_eq!(run(21), run(21));
}

#[test]
fn a_reused_task_id_gets_task_error_and_stops_the_task_holding_it() {
    let mut w = world(16, runs_forever());
    w.control.borrow_mut().auto_ack = true;
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    let msg = master::RunTasks {
        framework_id: fw(),
        framework: framework(false),
        tasks: vec![task("t1")],
    };
    w.from(master_pid(), msg);
    w.wait("TASK_ERROR", secs(1), |l| {
        l.has_state("t1", TaskState::Error)
    });
    let error = w.log.borrow().updates_of("t1")[0].clone();
    assert_eq!(error.reason, Some(StatusReason::InvalidTask));
    w.run_for(secs(1));
    assert_eq!(w.log.borrow().launched.len(), 1, "nothing new launched");
    assert_eq!(w.agent_processes(), 0, "the task holding the id is stopped");
    // Updates of the stopped task come after its terminal update: dropped.
    w.executor_update("t1", TaskState::Running, 5);
    w.run_for(secs(1));
    assert_eq!(w.log.borrow().updates_of("t1").len(), 1);
}

// ---- agent restarts (checkpointing and recovery) ----

impl World {
    /// t1 of a checkpointing framework runs; its executor registered and
    /// its RUNNING update (uuid 1) was acknowledged to the executor, not by
    /// the framework. Returns the update's uuid.
    fn running_task_with_unacked_update(&mut self) -> [u8; 16] {
        self.registered();
        self.run_tasks(&["t1"]);
        self.register_executor("t1");
        self.executor_update("t1", TaskState::Running, 1);
        self.wait("executor's update acknowledged", secs(1), |l| {
            l.to_executor
                .iter()
                .any(|(_, s)| *s == ToExecutor::Ack(TaskId::from("t1"), [1; 16]))
        });
        [1; 16]
    }

    /// Crashes the agent's node right now (unsynced writes are lost) and
    /// boots it again on its disk.
    fn crash_and_restart_agent(&mut self) {
        self.sim.crash(addr(2)).unwrap();
        self.run_for(secs(1));
        self.sim.restart(addr(2)).unwrap();
    }

    fn registrations(&self) -> usize {
        self.log.borrow().registrations.len()
    }

    fn reregister_executor(&mut self, task: &str) {
        let msg = exec::ReregisterExecutor {
            framework_id: fw(),
            executor_id: task.into(),
            task_id: Some(TaskId::from(task)),
        };
        self.from(executor_pid(), msg);
    }
}

#[test]
fn a_restarted_agent_comes_back_under_its_id_resends_and_takes_its_executor_back() {
    let mut w = world(21, runs_forever());
    let uuid = w.running_task_with_unacked_update();
    let before = w.registrations();
    // Crash at once: what the executor was told is safe must be on disk.
    w.crash_and_restart_agent();
    w.wait("re-registration under the old id", secs(5), move |l| {
        l.registrations.len() > before
            && l.registrations[before..]
                .iter()
                .all(|(_, r)| r.id == Some(AgentId::from(AGENT_ID)))
    });
    w.wait_event(
        "recovered t1",
        secs(1),
        |e| matches!(e, AgentEvent::Recovered { tasks, .. } if tasks == &[TaskId::from("t1")]),
    );
    // The unacknowledged update reaches the master again after the restart.
    w.wait("RUNNING resent", secs(5), move |l| {
        l.updates_of("t1")
            .iter()
            .filter(|s| s.uuid == Some(uuid))
            .count()
            >= 2
    });
    // The executor comes back and is taken back.
    w.reregister_executor("t1");
    w.wait("executor taken back", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| *s == ToExecutor::Reregistered("t1".into()))
    });
    // The task is still the agent's: a kill reaches the executor, and its
    // answer reaches the master.
    w.kill("t1");
    w.wait("kill sent to the executor", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| matches!(s, ToExecutor::Kill(t, _) if t.0 == "t1"))
    });
    w.ack("t1", uuid);
    w.executor_update("t1", TaskState::Killed, 2);
    w.wait("TASK_KILLED forwarded", secs(5), |l| {
        l.has_state("t1", TaskState::Killed)
    });
    // No restart timeout fires for a task whose executor came back.
    w.ack("t1", [2; 16]);
    w.run_for(RECOVERY_TIMEOUT * 2);
    assert!(!w.log.borrow().has_state("t1", TaskState::Failed));
}

#[test]
fn a_task_whose_executor_never_reconnects_fails_after_the_recovery_timeout() {
    let mut w = world(22, runs_forever());
    w.running_task_with_unacked_update();
    w.crash_and_restart_agent();
    w.run_for(RECOVERY_TIMEOUT - secs(5));
    assert!(!w.log.borrow().has_state("t1", TaskState::Failed));
    w.control.borrow_mut().auto_ack = true;
    w.wait("TASK_FAILED after the recovery timeout", secs(30), |l| {
        l.updates_of("t1").iter().any(|s| {
            s.state == TaskState::Failed
                && s.reason == Some(StatusReason::ExecutorTerminated)
                && s.message.contains("did not reconnect")
        })
    });
    // Its executor, should it still live, is told to go.
    assert!(w
        .log
        .borrow()
        .to_executor
        .iter()
        .any(|(_, s)| *s == ToExecutor::Shutdown));
}

#[test]
fn cleanup_mode_shuts_old_executors_down_and_reports_their_tasks_killed() {
    let mut w = world(23, runs_forever());
    w.running_task_with_unacked_update();
    w.recover.set(RecoverMode::Cleanup);
    w.crash_and_restart_agent();
    w.control.borrow_mut().auto_ack = true;
    w.wait("TASK_KILLED after cleanup", secs(10), |l| {
        l.has_state("t1", TaskState::Killed)
    });
    assert!(w
        .log
        .borrow()
        .to_executor
        .iter()
        .any(|(_, s)| *s == ToExecutor::Shutdown));
    // Once acknowledged the task is gone: a re-registering executor is
    // shut down rather than taken back.
    w.wait_event(
        "t1 completed",
        secs(30),
        |e| matches!(e, AgentEvent::TaskCompleted { task_id, .. } if task_id.0 == "t1"),
    );
    w.reregister_executor("t1");
    w.run_for(secs(1));
    assert!(!w
        .log
        .borrow()
        .to_executor
        .iter()
        .any(|(_, s)| matches!(s, ToExecutor::Reregistered(_))));
}

#[test]
fn an_acknowledged_and_forgotten_task_is_not_recovered() {
    let mut w = world(24, runs_forever());
    w.control.borrow_mut().auto_ack = true;
    w.registered();
    w.run_tasks(&["t1", "t2"]);
    w.register_executor("t1");
    w.executor_update("t1", TaskState::Running, 1);
    w.executor_update("t1", TaskState::Finished, 2);
    w.wait_event(
        "t1 completed",
        secs(5),
        |e| matches!(e, AgentEvent::TaskCompleted { task_id, .. } if task_id.0 == "t1"),
    );
    // Forgetting it is synced once the agent's turn ends (group commit);
    // a crash before that would bring it back, to be acknowledged again.
    w.run_for(Duration::from_millis(1));
    w.crash_and_restart_agent();
    w.wait_event(
        "recovered only t2",
        secs(5),
        |e| matches!(e, AgentEvent::Recovered { tasks, .. } if tasks == &[TaskId::from("t2")]),
    );
}

#[test]
fn tasks_of_a_framework_that_does_not_checkpoint_fail_when_the_agent_restarts() {
    let mut w = world(25, runs_forever());
    w.registered();
    let msg = master::RunTasks {
        framework_id: fw(),
        framework: framework(false),
        tasks: vec![task("t1")],
    };
    w.from(master_pid(), msg);
    w.wait("executor launched", secs(1), |l| !l.launched.is_empty());
    assert_eq!(
        env_of(&w.log.borrow().launched[0], "MESOS_CHECKPOINT").as_deref(),
        Some("0")
    );
    w.register_executor("t1");
    w.crash_and_restart_agent();
    w.wait("TASK_FAILED at once", secs(5), |l| {
        l.updates_of("t1")
            .iter()
            .any(|s| s.state == TaskState::Failed && s.message.contains("does not checkpoint"))
    });
}

#[test]
fn executors_of_checkpointing_frameworks_are_told_the_recovery_timeout() {
    let mut w = world(26, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    let spec = w.log.borrow().launched[0].clone();
    assert_eq!(env_of(&spec, "MESOS_CHECKPOINT").as_deref(), Some("1"));
    assert_eq!(
        env_of(&spec, "MESOS_RECOVERY_TIMEOUT").as_deref(),
        Some("60secs")
    );
}

#[test]
fn an_update_is_not_acknowledged_to_the_executor_until_it_is_on_disk() {
    let mut w = world(27, runs_forever());
    w.registered();
    w.run_tasks(&["t1"]);
    w.register_executor("t1");
    // The disk refuses writes: the agent must not tell the executor it
    // holds the update (the executor keeps it and resends).
    w.sim.set_write_failure(addr(2), 1.0).unwrap();
    w.executor_update("t1", TaskState::Running, 1);
    w.run_for(secs(2));
    assert!(w.executor_acks("t1").is_empty(), "acked without a sync");
    // The disk recovers; the executor's resend is acknowledged, and a crash
    // right after does not lose the update.
    w.sim.set_write_failure(addr(2), 0.0).unwrap();
    w.executor_update("t1", TaskState::Running, 1);
    w.wait("ack after the sync", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| *s == ToExecutor::Ack(TaskId::from("t1"), [1; 16]))
    });
    let before = w.log.borrow().updates_of("t1").len();
    w.crash_and_restart_agent();
    w.wait("RUNNING resent after the crash", secs(5), move |l| {
        l.updates_of("t1").len() > before
            && l.updates_of("t1").iter().any(|s| s.uuid == Some([1; 16]))
    });
}

#[path = "sim/failover.rs"]
mod failover;

/// Task `id` of the framework's own executor `executor` started by `command`.
fn custom_task(id: &str, executor: &str, command: &str) -> TaskInfo {
    let mut t = task(id);
    t.executor = Some(corral_api::task::ExecutorInfo {
        executor_id: executor.into(),
        command: command.into(),
        env: vec![("EXTRA".into(), "1".into())],
    });
    t
}

/// Tasks t1 and t2, both on executor `procs`.
fn two_on_procs() -> Vec<TaskInfo> {
    ["t1", "t2"]
        .map(|t| custom_task(t, "procs", "/opt/ex"))
        .to_vec()
}

fn run_custom(w: &mut World, tasks: Vec<TaskInfo>) {
    let msg = master::RunTasks {
        framework_id: fw(),
        framework: framework(true),
        tasks,
    };
    w.from(master_pid(), msg);
}

#[test]
fn tasks_naming_one_executor_share_its_process_and_registration() {
    let mut w = world(21, runs_forever());
    w.registered();
    run_custom(&mut w, two_on_procs());
    w.run_for(secs(1));
    // One process, started by the executor's command in its own sandbox.
    let launched = w.log.borrow().launched.clone();
    assert_eq!(launched.len(), 1, "{launched:?}");
    let spec = &launched[0];
    assert_eq!(spec.command, "/opt/ex");
    let sandbox = format!("{WORK_DIR}/frameworks/fw-1/executors/procs");
    assert_eq!(spec.cwd, Some(PathBuf::from(&sandbox)));
    assert_eq!(env_of(spec, "CORRAL_EXECUTOR_ID").as_deref(), Some("procs"));
    assert_eq!(env_of(spec, "EXTRA").as_deref(), Some("1"));
    assert_eq!(
        spec.stderr,
        Some(PathBuf::from(format!("{sandbox}/stderr")))
    );
    // A kill before it registers ends that task alone: the process lives.
    w.kill("t1");
    w.wait("t1 KILLED", secs(1), |l| {
        l.has_state("t1", TaskState::Killed)
    });
    assert_eq!(w.agent_processes(), 1);
    // Its registration gets the live task only.
    w.from(
        executor_pid(),
        exec::RegisterExecutor {
            framework_id: fw(),
            executor_id: "procs".into(),
        },
    );
    w.wait("RunTask t2", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| *s == ToExecutor::RunTask(TaskId::from("t2")))
    });
    // A third task naming it goes to the registered executor at once.
    run_custom(&mut w, vec![custom_task("t3", "procs", "/opt/ex")]);
    w.wait("RunTask t3", secs(1), |l| {
        l.to_executor
            .iter()
            .any(|(_, s)| *s == ToExecutor::RunTask(TaskId::from("t3")))
    });
    let log = w.log.borrow();
    assert_eq!(log.launched.len(), 1, "no second process");
    assert!(!log
        .to_executor
        .iter()
        .any(|(_, s)| *s == ToExecutor::RunTask(TaskId::from("t1"))));
}

#[test]
fn another_executor_under_a_running_executors_id_gets_task_error() {
    let mut w = world(22, runs_forever());
    w.registered();
    run_custom(&mut w, vec![custom_task("t1", "procs", "/opt/ex")]);
    run_custom(&mut w, vec![custom_task("t2", "procs", "/opt/other")]);
    w.wait("t2 refused", secs(1), |l| {
        l.has_state("t2", TaskState::Error)
    });
    let refused = w.log.borrow().updates_of("t2")[0].clone();
    assert!(
        refused
            .message
            .contains("executor procs runs here with another"),
        "{}",
        refused.message
    );
    assert_eq!(w.log.borrow().launched.len(), 1);
}

#[test]
fn the_death_of_a_shared_executor_fails_each_of_its_tasks() {
    let mut w = world(
        23,
        SimProcess {
            runs_for: secs(5),
            exit_code: 3,
        },
    );
    w.registered();
    run_custom(&mut w, two_on_procs());
    w.from(
        executor_pid(),
        exec::RegisterExecutor {
            framework_id: fw(),
            executor_id: "procs".into(),
        },
    );
    w.wait("both failed", secs(10), |l| {
        l.has_state("t1", TaskState::Failed) && l.has_state("t2", TaskState::Failed)
    });
    for t in ["t1", "t2"] {
        let failed = w.log.borrow().updates_of(t)[0].clone();
        assert_eq!(failed.reason, Some(StatusReason::ExecutorTerminated), "{t}");
        assert!(
            failed.message.contains("exited with status 3"),
            "{t}: {}",
            failed.message
        );
    }
}

/// The tasks of one launch share one command executor; the checkpoint says
/// so, and a restarted agent takes every one of them back from it.
#[test]
fn a_restarted_agent_takes_every_task_of_a_shared_executor_back() {
    let mut w = world(26, runs_forever());
    w.control.borrow_mut().auto_ack = true;
    w.registered();
    w.run_tasks(&["t1", "t2"]);
    w.register_executor("t1");
    w.wait("both tasks sent to the one executor", secs(1), |l| {
        l.to_executor
            .iter()
            .filter(|(_, s)| matches!(s, ToExecutor::RunTask(_)))
            .count()
            == 2
    });
    w.executor_update("t1", TaskState::Running, 1);
    w.executor_update("t2", TaskState::Running, 2);
    w.wait("both running at the master", secs(5), |l| {
        l.has_state("t1", TaskState::Running) && l.has_state("t2", TaskState::Running)
    });
    w.crash_and_restart_agent();
    w.reregister_executor("t1");
    // Past the re-registration deadline, neither task was given up.
    w.run_for(secs(60));
    for t in ["t1", "t2"] {
        let states: Vec<TaskState> = w
            .log
            .borrow()
            .updates_of(t)
            .iter()
            .map(|s| s.state)
            .collect();
        assert_eq!(states.last(), Some(&TaskState::Running), "{t}: {states:?}");
    }
    w.executor_update("t2", TaskState::Finished, 3);
    w.wait("t2's end at the master", secs(5), |l| {
        l.has_state("t2", TaskState::Finished)
    });
}
