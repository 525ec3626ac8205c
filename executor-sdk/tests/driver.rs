//! The executor driver in the simulator, against an agent double that
//! records what the executor sends and answers as the test sets: the
//! driver's side of the executor protocol, on virtual time.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use corral_api::executor::{
    ExecutorMessage, ExecutorReregistered, ExecutorUpdate, FrameworkMessage, KillTask,
    RegisterExecutor, ReregisterExecutor, RunTask, ShutdownExecutor, UpdateAck,
};
use corral_api::framework::MAX_MESSAGE_DATA_BYTES;
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::task::{TaskInfo, TaskState};
use corral_executor_sdk::{actor_name, Control, Executor, ExecutorConfig, ExecutorDriver, Outcome};
use corral_runtime::sim::{Sim, SimConfig};
use corral_runtime::{Actor, Ctx, Handler, Handlers, Pid};

fn agent_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 5051))
}

fn executor_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 5052))
}

fn agent_pid() -> Pid {
    Pid::new("agent", agent_addr()).expect("a valid name")
}

fn fw() -> FrameworkId {
    FrameworkId::from("fw-1")
}

fn task(id: &str) -> TaskInfo {
    TaskInfo::command(
        TaskId(id.into()),
        "work",
        "cpus:0.1".parse().expect("resources"),
    )
}

/// What the agent double saw and how it answers.
#[derive(Default)]
struct Agent {
    registrations: u32,
    reregistrations: u32,
    /// Updates in arrival order: (task, state).
    updates: Vec<(String, TaskState)>,
    /// Answer registrations (with these tasks) after this many.
    answer_after: u32,
    tasks: Vec<TaskInfo>,
    answer_reregistrations: bool,
    auto_ack: bool,
    /// Pending uuids, for acknowledging by hand.
    unacked: Vec<(TaskId, [u8; 16])>,
    /// Framework messages from the executor: (framework, executor, data).
    messages: Vec<(String, String, Vec<u8>)>,
}

type Shared<T> = Rc<RefCell<T>>;

struct AgentDouble(Shared<Agent>);

impl Actor for AgentDouble {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<RegisterExecutor>()
            .on::<ReregisterExecutor>()
            .on::<ExecutorUpdate>()
            .on::<ExecutorMessage>();
    }
}

impl Handler<ExecutorMessage> for AgentDouble {
    fn handle(&mut self, m: ExecutorMessage, _: &mut Ctx<'_, Self>) {
        let got = (m.framework_id.0, m.executor_id, m.data);
        self.0.borrow_mut().messages.push(got);
    }
}

impl Handler<RegisterExecutor> for AgentDouble {
    fn handle(&mut self, _: RegisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let mut a = self.0.borrow_mut();
        a.registrations += 1;
        if a.registrations > a.answer_after {
            for task in a.tasks.clone() {
                ctx.send(
                    &from,
                    RunTask {
                        framework_id: fw(),
                        task,
                    },
                );
            }
        }
    }
}

impl Handler<ReregisterExecutor> for AgentDouble {
    fn handle(&mut self, m: ReregisterExecutor, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let mut a = self.0.borrow_mut();
        a.reregistrations += 1;
        if a.answer_reregistrations {
            ctx.send(
                &from,
                ExecutorReregistered {
                    executor_id: m.executor_id,
                },
            );
        }
    }
}

impl Handler<ExecutorUpdate> for AgentDouble {
    fn handle(&mut self, m: ExecutorUpdate, ctx: &mut Ctx<'_, Self>) {
        let Some(from) = ctx.sender().cloned() else {
            return;
        };
        let mut a = self.0.borrow_mut();
        let s = m.status;
        a.updates.push((s.task_id.0.clone(), s.state));
        let Some(uuid) = s.uuid else { return };
        if a.auto_ack {
            ctx.send(
                &from,
                UpdateAck {
                    task_id: s.task_id,
                    uuid,
                },
            );
        } else if !a.unacked.iter().any(|(_, u)| *u == uuid) {
            a.unacked.push((s.task_id, uuid));
        }
    }
}

/// Reports RUNNING on launch; a kill ends the task KILLED (and, if it
/// `finishes_when_idle`, says its work is done once no task is live).
#[derive(Default)]
struct Worker {
    launched: Shared<Vec<String>>,
    finishes_when_idle: bool,
}

impl Executor for Worker {
    fn launch(&mut self, ex: &mut Control<'_, '_, Self>, task: TaskInfo) {
        self.launched.borrow_mut().push(task.task_id.0.clone());
        let id = task.task_id;
        ex.update(&id, TaskState::Starting, "")
            .expect("a given task");
        ex.update(&id, TaskState::Running, "")
            .expect("a given task");
    }

    /// Answers with the bytes reversed; an oversized answer is refused
    /// and sends nothing.
    fn framework_message(&mut self, ex: &mut Control<'_, '_, Self>, data: &[u8]) {
        let too_big = vec![0; MAX_MESSAGE_DATA_BYTES + 1];
        assert!(ex.send_framework_message(too_big).is_err());
        let answer = data.iter().rev().copied().collect();
        ex.send_framework_message(answer)
            .expect("a registered executor sends");
    }

    fn kill(&mut self, ex: &mut Control<'_, '_, Self>, id: &TaskId, _: Duration) {
        ex.update(id, TaskState::Killed, "").expect("a live task");
        if self.finishes_when_idle && ex.live_tasks().is_empty() {
            ex.finish();
        }
    }
}

struct World {
    sim: Sim,
    agent: Shared<Agent>,
    launched: Shared<Vec<String>>,
    outcome: std::sync::Arc<std::sync::Mutex<Option<Outcome>>>,
}

impl World {
    fn new(checkpoint: bool, agent: Agent) -> World {
        World::with(checkpoint, agent, false)
    }

    fn with(checkpoint: bool, agent: Agent, finishes_when_idle: bool) -> World {
        let mut sim = Sim::new(SimConfig {
            seed: 1,
            link_timeout: Duration::from_secs(2),
            ..SimConfig::default()
        });
        let agent = Rc::new(RefCell::new(agent));
        let a = agent.clone();
        sim.add_node(agent_addr(), move |k| {
            let _ = k.spawn_actor("agent", AgentDouble(a.clone()));
        })
        .expect("a node");
        let launched: Shared<Vec<String>> = Shared::default();
        let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (l, o) = (launched.clone(), outcome.clone());
        sim.add_node(executor_addr(), move |k| {
            let mut cfg = ExecutorConfig::new(agent_pid(), fw(), "e1", "/sandbox");
            cfg.checkpoint = checkpoint;
            cfg.recovery_timeout = Duration::from_secs(30);
            let o = o.clone();
            let done = Box::new(move |outcome| {
                if let Ok(mut slot) = o.lock() {
                    *slot = Some(outcome);
                }
            });
            let worker = Worker {
                launched: l.clone(),
                finishes_when_idle,
            };
            let driver = ExecutorDriver::new(cfg, worker, done).expect("a valid config");
            let _ = k.spawn_actor(&actor_name("e1"), driver);
        })
        .expect("a node");
        World {
            sim,
            agent,
            launched,
            outcome,
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.sim.now() + d;
        self.sim.run_until(until);
    }

    fn outcome(&self) -> Option<Outcome> {
        self.outcome.lock().ok().and_then(|o| *o)
    }

    fn updates(&self) -> Vec<(String, TaskState)> {
        self.agent.borrow().updates.clone()
    }

    fn send_to_executor<M: corral_runtime::Message>(&mut self, m: M) {
        let to = Pid::new(&actor_name("e1"), executor_addr()).expect("a valid name");
        self.sim
            .send(agent_pid(), &to, m)
            .expect("the executor's node is up");
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn it_registers_until_answered_and_runs_a_resent_task_once() {
    let mut w = World::new(
        false,
        Agent {
            answer_after: 2,
            tasks: vec![task("t1")],
            auto_ack: true,
            ..Agent::default()
        },
    );
    w.run_for(secs(5));
    // Unanswered twice, answered the third time; the task comes again
    // with each later registration, and runs once.
    assert_eq!(w.agent.borrow().registrations, 3);
    w.send_to_executor(RunTask {
        framework_id: fw(),
        task: task("t1"),
    });
    w.run_for(secs(2));
    assert_eq!(*w.launched.borrow(), ["t1"]);
    let states: Vec<TaskState> = w.updates().into_iter().map(|(_, s)| s).collect();
    assert_eq!(states, [TaskState::Starting, TaskState::Running]);
}

#[test]
fn updates_are_resent_in_order_until_acknowledged() {
    let mut w = World::new(
        false,
        Agent {
            tasks: vec![task("t1")],
            ..Agent::default()
        },
    );
    w.run_for(Duration::from_millis(3500));
    // STARTING is resent every second; RUNNING waits behind it.
    let seen = w.updates();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        seen.iter().all(|(_, s)| *s == TaskState::Starting),
        "{seen:?}"
    );
    let (task_id, uuid) = w.agent.borrow().unacked[0].clone();
    w.send_to_executor(UpdateAck { task_id, uuid });
    w.run_for(Duration::from_millis(100));
    assert_eq!(
        w.updates().last().map(|(_, s)| *s),
        Some(TaskState::Running)
    );
}

/// Two tasks run; t1 is killed and its end acknowledged; then `end_t2`
/// ends t2 while the agent holds back acknowledgements. The executor must
/// not stop until the agent holds t2's end, and then stop with `outcome`.
fn stops_once_the_last_end_is_held(
    finishes_when_idle: bool,
    end_t2: impl FnOnce(&mut World),
    outcome: Outcome,
) {
    let mut w = World::with(
        false,
        Agent {
            tasks: vec![task("t1"), task("t2")],
            auto_ack: true,
            ..Agent::default()
        },
        finishes_when_idle,
    );
    w.run_for(secs(2));
    w.send_to_executor(KillTask {
        task_id: TaskId("t1".into()),
        grace: secs(1),
    });
    w.run_for(secs(1));
    assert_eq!(w.outcome(), None, "one task still runs");
    w.agent.borrow_mut().auto_ack = false;
    end_t2(&mut w);
    w.run_for(secs(3));
    assert_eq!(w.outcome(), None, "t2's KILLED is not acknowledged yet");
    let (task_id, uuid) = w.agent.borrow().unacked[0].clone();
    assert_eq!(task_id.0, "t2");
    w.send_to_executor(UpdateAck { task_id, uuid });
    w.run_for(secs(1));
    assert_eq!(w.outcome(), Some(outcome));
}

#[test]
fn a_shutdown_stops_the_executor_once_the_agent_holds_every_update() {
    let shutdown = |w: &mut World| w.send_to_executor(ShutdownExecutor { grace: secs(1) });
    stops_once_the_last_end_is_held(false, shutdown, Outcome::Shutdown);
}

#[test]
fn a_finished_executor_stops_once_its_last_end_is_held_and_not_before() {
    // The worker says its work is done once it has no task left.
    let kill_t2 = |w: &mut World| {
        w.send_to_executor(KillTask {
            task_id: TaskId("t2".into()),
            grace: secs(1),
        })
    };
    stops_once_the_last_end_is_held(true, kill_t2, Outcome::Finished);
}

#[test]
fn without_checkpointing_a_lost_agent_stops_the_tasks_and_the_executor() {
    let mut w = World::new(
        false,
        Agent {
            tasks: vec![task("t1")],
            auto_ack: true,
            ..Agent::default()
        },
    );
    w.run_for(secs(2));
    w.sim.crash(agent_addr()).expect("the agent was up");
    w.run_for(secs(5));
    assert_eq!(w.outcome(), Some(Outcome::AgentLost));
}

#[test]
fn with_checkpointing_it_is_taken_back_and_resends_what_was_not_acknowledged() {
    let mut w = World::new(
        true,
        Agent {
            tasks: vec![task("t1")],
            ..Agent::default()
        },
    );
    w.run_for(secs(2));
    // The agent crashes with STARTING unacknowledged and comes back.
    w.sim.crash(agent_addr()).expect("the agent was up");
    w.run_for(secs(5));
    assert_eq!(w.outcome(), None, "the executor waits for its agent");
    {
        let mut a = w.agent.borrow_mut();
        a.updates.clear();
        a.answer_reregistrations = true;
        a.auto_ack = true;
    }
    w.sim.restart(agent_addr()).expect("the agent was down");
    w.run_for(secs(3));
    assert!(w.agent.borrow().reregistrations >= 1);
    let states: Vec<TaskState> = w.updates().into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        states,
        [TaskState::Starting, TaskState::Running],
        "resent in order"
    );
    assert_eq!(w.outcome(), None, "the task still runs");
}

#[test]
fn framework_messages_come_from_the_agent_and_answers_go_to_it() {
    let mut w = World::new(
        false,
        Agent {
            tasks: vec![task("t1")],
            auto_ack: true,
            ..Agent::default()
        },
    );
    w.run_for(secs(2));
    let stranger = Pid::new("mallory", "10.6.6.6:5051".parse().expect("addr")).expect("pid");
    let to = Pid::new(&actor_name("e1"), executor_addr()).expect("a valid name");
    let ignored = FrameworkMessage {
        data: b"from a stranger".to_vec(),
    };
    let _ = w.sim.send(stranger, &to, ignored);
    w.send_to_executor(FrameworkMessage {
        data: b"ping".to_vec(),
    });
    w.run_for(secs(1));
    let got = w.agent.borrow().messages.clone();
    assert_eq!(got, [("fw-1".into(), "e1".into(), b"gnip".to_vec())]);
}
