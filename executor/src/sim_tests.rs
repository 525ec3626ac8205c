//! The command executor in the simulator: a fake agent on one node, the
//! executor on another, simulated processes, virtual time.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_api::container::ContainerInfo;
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState, TaskStatus};
use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid, Time};

use super::{CommandExecutor, Site};
use crate::docker::actor::{DriverActor, DRIVER_NAME};
use corral_api::executor::{
    ExecutorReregistered, ExecutorUpdate, KillTask, RegisterExecutor, ReregisterExecutor, RunTask,
    ShutdownExecutor, UpdateAck,
};
use corral_executor_sdk::{ExecutorConfig, ExecutorDriver, Outcome};

const AGENT_NODE: u8 = 1;
const EXECUTOR_NODE: u8 = 2;

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 5051))
}

fn agent_pid() -> Pid {
    Pid::new("agent", addr(AGENT_NODE)).unwrap()
}

fn executor_pid() -> Pid {
    Pid::new("executor", addr(EXECUTOR_NODE)).unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// What the fake agent saw.
#[derive(Default)]
struct Log {
    /// Each update once, in the order its first acknowledged copy came.
    updates: Vec<TaskStatus>,
    /// Copies dropped on purpose.
    dropped: usize,
    /// `RegisterExecutor` messages received.
    registrations: usize,
    /// `ReregisterExecutor` messages received.
    reregistrations: usize,
}

/// A test double of the agent: answers registrations with the task (unless
/// told not to) and acknowledges updates, optionally dropping the first
/// copy of each.
struct FakeAgent {
    task: TaskInfo,
    answer: bool,
    drop_first_copy: bool,
    seen: BTreeSet<[u8; 16]>,
    acked: BTreeSet<[u8; 16]>,
    log: Rc<RefCell<Log>>,
}

impl Actor for FakeAgent {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RegisterExecutor>()
            .on::<ReregisterExecutor>()
            .on::<ExecutorUpdate>();
    }
}

impl Handler<ReregisterExecutor> for FakeAgent {
    fn handle(&mut self, msg: ReregisterExecutor, ctx: &mut Ctx<'_, Self>) {
        self.log.borrow_mut().reregistrations += 1;
        if let Some(from) = ctx.sender().cloned() {
            let executor_id = msg.executor_id;
            ctx.send(&from, ExecutorReregistered { executor_id });
        }
    }
}

impl Handler<RegisterExecutor> for FakeAgent {
    fn handle(&mut self, msg: RegisterExecutor, ctx: &mut Ctx<'_, Self>) {
        self.log.borrow_mut().registrations += 1;
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        if self.answer {
            let task = self.task.clone();
            let framework_id = msg.framework_id;
            ctx.send(&from, RunTask { framework_id, task });
        }
    }
}

impl Handler<ExecutorUpdate> for FakeAgent {
    fn handle(&mut self, msg: ExecutorUpdate, ctx: &mut Ctx<'_, Self>) {
        let (Some(from), Some(uuid)) = (ctx.sender().cloned(), msg.status.uuid) else {
            panic!("an executor update without sender or uuid");
        };
        if self.seen.insert(uuid) && self.drop_first_copy {
            self.log.borrow_mut().dropped += 1;
            return;
        }
        if self.acked.insert(uuid) {
            self.log.borrow_mut().updates.push(msg.status.clone());
        }
        let task_id = msg.status.task_id;
        ctx.send(&from, UpdateAck { task_id, uuid });
    }
}

struct World {
    sim: Sim,
    seed: u64,
    log: Rc<RefCell<Log>>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

#[derive(Clone, Copy)]
struct Options {
    answer: bool,
    drop_first_copy: bool,
    /// The framework checkpoints (recovery timeout 30 s).
    checkpoint: bool,
}

const NORMAL: Options = Options {
    answer: true,
    drop_first_copy: false,
    checkpoint: false,
};

fn task(command: &str) -> TaskInfo {
    TaskInfo {
        task_id: "task-1".into(),
        name: "task".into(),
        command: command.into(),
        env: vec![],
        resources: Resources::default(),
        container: None,
        executor: None,
    }
}

fn world(seed: u64, command: &str, opts: Options) -> World {
    world_with(seed, task(command), opts, None)
}

fn world_with(
    seed: u64,
    task: TaskInfo,
    opts: Options,
    containers: Option<tokio::sync::mpsc::UnboundedSender<crate::container::DriverCommand>>,
) -> World {
    let mut sim = Sim::new(SimConfig {
        seed,
        ..SimConfig::default()
    });
    let log = Rc::new(RefCell::new(Log::default()));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let agent_log = log.clone();
    sim.add_node(addr(AGENT_NODE), move |k| {
        let agent = FakeAgent {
            task: task.clone(),
            answer: opts.answer,
            drop_first_copy: opts.drop_first_copy,
            seen: BTreeSet::new(),
            acked: BTreeSet::new(),
            log: agent_log.clone(),
        };
        k.spawn_actor("agent", agent).unwrap();
    })
    .unwrap();
    let mut cfg = ExecutorConfig::new(
        agent_pid(),
        FrameworkId::from("fw-1"),
        "task-1",
        "/var/corral/sandbox/task-1",
    );
    cfg.checkpoint = opts.checkpoint;
    cfg.recovery_timeout = secs(30);
    let done = outcomes.clone();
    let on_done = Box::new(move |o| done.lock().unwrap().push(o));
    let tasks = PathBuf::from("/var/corral/sandbox");
    let mut command = CommandExecutor::new(Site::of(&cfg, None, Some(tasks)));
    if containers.is_some() {
        command = command.with_containers(driver_pid());
    }
    let mut executor = Some(ExecutorDriver::new(cfg, command, on_done).unwrap());
    let mut driver = containers.map(DriverActor::new);
    sim.add_node(addr(EXECUTOR_NODE), move |k| {
        if let Some(d) = driver.take() {
            k.spawn_actor(DRIVER_NAME, d).unwrap();
        }
        if let Some(e) = executor.take() {
            k.spawn_actor("executor", e).unwrap();
        }
    })
    .unwrap();
    World {
        sim,
        seed,
        log,
        outcomes,
    }
}

impl World {
    /// Steps until `goal` holds; fails if nothing is left to happen or
    /// virtual time would pass `limit` first.
    fn run_until(&mut self, limit: Duration, what: &str, mut goal: impl FnMut(&World) -> bool) {
        let deadline = Time::ZERO + limit;
        while !goal(self) {
            let next = self.sim.next_event_time();
            assert!(
                next.is_some_and(|t| t <= deadline),
                "seed {}: no {what} by {limit:?} (next event at {next:?}); states so far {:?}",
                self.seed,
                self.states()
            );
            self.sim.step();
        }
    }

    fn run_to_outcome(&mut self, limit: Duration) -> Outcome {
        self.run_until(limit, "outcome", |w| w.outcome().is_some());
        self.outcome().unwrap()
    }

    fn outcome(&self) -> Option<Outcome> {
        self.outcomes.lock().unwrap().first().copied()
    }

    fn states(&self) -> Vec<TaskState> {
        self.log.borrow().updates.iter().map(|s| s.state).collect()
    }

    /// The states reported for task `id`, in order.
    fn states_of(&self, id: &str) -> Vec<TaskState> {
        let log = self.log.borrow();
        let of = log.updates.iter().filter(|s| s.task_id.0 == id);
        of.map(|s| s.state).collect()
    }

    fn last_update(&self) -> TaskStatus {
        self.log.borrow().updates.last().cloned().unwrap()
    }

    fn running_processes(&self) -> usize {
        self.sim.running_processes(addr(EXECUTOR_NODE))
    }
}

#[test]
fn true_reports_starting_running_finished_and_stops_once() {
    let mut w = world(1, "true", NORMAL);
    assert_eq!(w.run_to_outcome(secs(30)), Outcome::Finished);
    assert_eq!(
        w.states(),
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
    let end = w.last_update();
    assert_eq!(end.message, "Command exited with status 0");
    assert_eq!(end.reason, Some(StatusReason::CommandExited));
    // Nothing more happens: no resends, no second outcome.
    let later = w.sim.now() + secs(120);
    w.sim.run_until(later);
    assert_eq!(w.states().len(), 3);
    assert_eq!(w.outcomes.lock().unwrap().len(), 1);
}

#[test]
fn a_nonzero_exit_fails_with_its_status() {
    let mut w = world(2, "exit 3", NORMAL);
    assert_eq!(w.run_to_outcome(secs(30)), Outcome::Finished);
    assert_eq!(
        w.states(),
        [TaskState::Starting, TaskState::Running, TaskState::Failed]
    );
    let end = w.last_update();
    assert!(end.message.contains("status 3"), "{}", end.message);
    assert_eq!(end.reason, Some(StatusReason::CommandExited));
}

#[test]
fn a_kill_during_a_long_sleep_reports_killed_at_once() {
    let mut w = world(3, "sleep 100", NORMAL);
    w.run_until(secs(30), "TASK_RUNNING", |w| {
        w.states().contains(&TaskState::Running)
    });
    let kill = KillTask {
        task_id: TaskId::from("task-1"),
        grace: secs(1),
    };
    w.sim.send(agent_pid(), &executor_pid(), kill).unwrap();
    assert_eq!(w.run_to_outcome(secs(30)), Outcome::Finished);
    assert_eq!(
        w.states(),
        [TaskState::Starting, TaskState::Running, TaskState::Killed]
    );
    let end = w.last_update();
    assert_eq!(end.reason, Some(StatusReason::KilledByFramework));
    assert!(end.message.contains("SIGTERM"), "{}", end.message);
    assert_eq!(w.running_processes(), 0);
}

#[test]
fn dropped_first_copies_are_resent_and_still_arrive_in_order() {
    let lossy = Options {
        answer: true,
        drop_first_copy: true,
        checkpoint: false,
    };
    for seed in 0..20 {
        let mut w = world(seed, "sleep 2", lossy);
        assert_eq!(w.run_to_outcome(secs(60)), Outcome::Finished, "seed {seed}");
        assert_eq!(
            w.states(),
            [TaskState::Starting, TaskState::Running, TaskState::Finished],
            "seed {seed}"
        );
        assert_eq!(w.log.borrow().dropped, 3, "seed {seed}");
    }
}

#[test]
fn without_a_task_registration_times_out_after_a_minute() {
    let silent = Options {
        answer: false,
        drop_first_copy: false,
        checkpoint: false,
    };
    let mut w = world(4, "true", silent);
    assert_eq!(w.run_to_outcome(secs(120)), Outcome::RegistrationTimedOut);
    assert!(w.sim.now() >= Time::ZERO + secs(60), "{:?}", w.sim.now());
    let registrations = w.log.borrow().registrations;
    assert!((59..=60).contains(&registrations), "{registrations}");
    assert!(w.states().is_empty());
}

#[test]
fn shutdown_before_a_task_stops_the_executor() {
    let silent = Options {
        answer: false,
        drop_first_copy: false,
        checkpoint: false,
    };
    let mut w = world(5, "true", silent);
    w.run_until(secs(10), "registration", |w| {
        w.log.borrow().registrations > 0
    });
    let shutdown = ShutdownExecutor { grace: secs(5) };
    w.sim.send(agent_pid(), &executor_pid(), shutdown).unwrap();
    assert_eq!(w.run_to_outcome(secs(10)), Outcome::Shutdown);
}

#[test]
fn losing_the_agent_kills_the_command_and_ends_with_agent_lost() {
    let mut w = world(6, "sleep 100", NORMAL);
    w.run_until(secs(30), "TASK_RUNNING", |w| {
        w.states().contains(&TaskState::Running)
    });
    assert_eq!(w.running_processes(), 1);
    let crashed_at = w.sim.now();
    w.sim.crash(addr(AGENT_NODE)).unwrap();
    assert_eq!(w.run_to_outcome(secs(60)), Outcome::AgentLost);
    assert_eq!(w.running_processes(), 0, "the command was killed");
    // Noticed after the link timeout (10 s), killed at once by SIGTERM.
    let took = w.sim.now() - crashed_at;
    assert!(took <= secs(11), "{took:?}");
}

#[test]
fn tasks_given_together_run_side_by_side_and_a_kill_stops_one_alone() {
    let mut w = world(7, "sleep 100", NORMAL);
    w.run_until(secs(30), "TASK_RUNNING", |w| {
        w.states().contains(&TaskState::Running)
    });
    let stranger = Pid::new("mallory", addr(9)).unwrap();
    let kill = |id: &str| KillTask {
        task_id: TaskId::from(id),
        grace: Duration::ZERO,
    };
    w.sim
        .send(stranger, &executor_pid(), kill("task-1"))
        .unwrap();
    let given = |id: &str, container: Option<ContainerInfo>| RunTask {
        framework_id: "fw-1".into(),
        task: TaskInfo {
            task_id: id.into(),
            container,
            ..task("sleep 100")
        },
    };
    w.sim
        .send(agent_pid(), &executor_pid(), given("task-2", None))
        .unwrap();
    w.run_until(secs(60), "the second task running", |w| {
        w.states_of("task-2") == [TaskState::Starting, TaskState::Running]
    });
    assert_eq!(w.running_processes(), 2);
    // Its driver runs one container: a container task runs alone.
    let boxed = Some(ContainerInfo::docker("busybox"));
    w.sim
        .send(agent_pid(), &executor_pid(), given("task-3", boxed))
        .unwrap();
    w.sim
        .send(agent_pid(), &executor_pid(), kill("task-2"))
        .unwrap();
    w.run_until(secs(90), "the second task killed", |w| {
        w.states_of("task-2").last() == Some(&TaskState::Killed)
    });
    let refused = w.states_of("task-3");
    assert_eq!(refused, [TaskState::Error]);
    assert_eq!(
        w.states_of("task-1"),
        [TaskState::Starting, TaskState::Running]
    );
    assert_eq!(w.running_processes(), 1, "the first task runs on");
    assert_eq!(w.outcome(), None);
    // It stops with its last task.
    assert_eq!(w.run_to_outcome(secs(200)), Outcome::Finished);
    assert_eq!(
        w.states_of("task-1"),
        [TaskState::Starting, TaskState::Running, TaskState::Finished]
    );
}

#[test]
fn a_seed_replays_to_the_same_trace() {
    let lossy = Options {
        answer: true,
        drop_first_copy: true,
        checkpoint: false,
    };
    let trace = |seed| {
        let mut w = world(seed, "sleep 1; exit 2", lossy);
        w.run_to_outcome(secs(60));
        w.sim.trace_hash()
    };
    assert_eq!(trace(11), trace(11));
}

/// The pid a node's own handle sends as (what the driver thread reports
/// to its actor as).
fn executor_node_handle() -> Pid {
    Pid::new("$node", addr(EXECUTOR_NODE)).unwrap()
}

/// The container driver's actor, beside the executor.
fn driver_pid() -> Pid {
    Pid::new(DRIVER_NAME, addr(EXECUTOR_NODE)).unwrap()
}

#[test]
fn a_container_task_runs_through_the_driver_actor_which_believes_only_its_thread() {
    use crate::container::{ContainerExit, ContainerExited, ContainerStarted, DriverCommand};
    let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel();
    let mut t = task("echo in a container");
    t.container = Some(corral_api::container::ContainerInfo::docker("img"));
    let mut w = world_with(8, t, NORMAL, Some(tx));
    let mut seen = Vec::new();
    w.run_until(secs(30), "the container start and TASK_STARTING", |w| {
        while let Ok(c) = commands.try_recv() {
            seen.push(c);
        }
        !seen.is_empty() && !w.states().is_empty()
    });
    assert!(matches!(
        seen[0],
        DriverCommand::Start(ref spec) if spec.command.as_deref() == Some("echo in a container")
    ));
    assert_eq!(w.states(), [TaskState::Starting]);
    // Reports from anyone but the driver thread (through the node's own
    // handle to the driver's actor) are dropped, whether sent to the
    // driver's actor or straight to the executor.
    let started = ContainerStarted { name: "c".into() };
    for (from, to) in [
        (agent_pid(), driver_pid()),
        (agent_pid(), executor_pid()),
        (executor_node_handle(), executor_pid()),
    ] {
        w.sim.send(from, &to, started.clone()).unwrap();
    }
    let later = w.sim.now() + secs(5);
    w.sim.run_until(later);
    assert_eq!(w.states(), [TaskState::Starting]);
    w.sim
        .send(executor_node_handle(), &driver_pid(), started)
        .unwrap();
    w.run_until(secs(60), "TASK_RUNNING", |w| {
        w.states().contains(&TaskState::Running)
    });
    let exit = ContainerExit {
        code: Some(0),
        ..ContainerExit::default()
    };
    w.sim
        .send(
            executor_node_handle(),
            &driver_pid(),
            ContainerExited { exit },
        )
        .unwrap();
    assert_eq!(w.run_to_outcome(secs(90)), Outcome::Finished);
    assert_eq!(w.running_processes(), 0, "no process was launched");
}

#[test]
fn without_a_driver_a_container_task_fails_plainly() {
    let mut t = task("true");
    t.container = Some(corral_api::container::ContainerInfo::docker("img"));
    let mut w = world_with(9, t, NORMAL, None);
    assert_eq!(w.run_to_outcome(secs(30)), Outcome::Finished);
    let end = w.last_update();
    assert_eq!(end.reason, Some(StatusReason::ContainerLaunchFailed));
    assert!(
        end.message.contains("no container driver"),
        "{}",
        end.message
    );
}

const CHECKPOINTED: Options = Options {
    checkpoint: true,
    ..NORMAL
};

#[test]
fn a_checkpointing_executor_outlives_an_agent_restart_and_reregisters() {
    let mut w = world(31, "sleep 1000", CHECKPOINTED);
    w.run_until(secs(30), "TASK_RUNNING", |w| {
        w.states().contains(&TaskState::Running)
    });
    w.sim.crash(addr(AGENT_NODE)).unwrap();
    let back_at = w.sim.now() + secs(15);
    w.sim.run_until(back_at);
    assert_eq!(w.running_processes(), 1, "the task keeps running");
    assert_eq!(w.outcome(), None);
    w.sim.restart(addr(AGENT_NODE)).unwrap();
    w.run_until(secs(60), "re-registration", |w| {
        w.log.borrow().reregistrations > 0
    });
    // Taken back: it stops asking, and the task runs on past the
    // recovery timeout.
    let later = w.sim.now() + secs(60);
    w.sim.run_until(later);
    let asked = w.log.borrow().reregistrations;
    assert!(asked <= 2, "kept re-registering: {asked}");
    assert_eq!(w.running_processes(), 1);
    assert_eq!(w.outcome(), None);
}

#[test]
fn a_checkpointing_executor_gives_up_when_the_agent_stays_away() {
    let mut w = world(32, "sleep 1000", CHECKPOINTED);
    w.run_until(secs(30), "TASK_RUNNING", |w| {
        w.states().contains(&TaskState::Running)
    });
    let crashed_at = w.sim.now();
    w.sim.crash(addr(AGENT_NODE)).unwrap();
    assert_eq!(w.run_to_outcome(secs(120)), Outcome::AgentLost);
    assert_eq!(w.running_processes(), 0, "the command was killed");
    // Link timeout (10 s) + recovery timeout (30 s), then SIGTERM.
    let took = w.sim.now() - crashed_at;
    assert!(took >= secs(40) && took <= secs(41), "{took:?}");
}
