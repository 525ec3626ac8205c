//! Table-driven tests of the agent core, without the simulator: given a
//! state and an input, these outputs. Outputs are compared as short lines
//! ([`show`]) so that each case reads as what the agent does.

mod masters;
mod messages;
mod refusals;
mod restarts;
mod tasks;

use std::path::PathBuf;
use std::time::Duration;

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::{StatusSource, TaskInfo, TaskState, TaskStatus};
use corral_runtime::{Pid, StorageError, Time};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{Action, AgentCore, Now, Outgoing};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::config::AgentConfig;
use crate::events::AgentEvent;

pub(super) fn pid(s: &str) -> Pid {
    s.parse().expect("a test pid")
}

pub(super) fn m1() -> Pid {
    pid("master@10.0.0.1:5050")
}

pub(super) fn m2() -> Pid {
    pid("master@10.0.0.2:5050")
}

pub(super) fn me() -> Pid {
    pid("agent@10.0.0.9:5051")
}

pub(super) fn executor() -> Pid {
    pid("executor@10.0.0.9:40000")
}

pub(super) fn stranger() -> Pid {
    pid("mallory@10.6.6.6:5050")
}

pub(super) fn config() -> AgentConfig {
    let mut cfg = AgentConfig::new(
        m1(),
        "host".into(),
        Resources::parse("cpus:4;mem:1024").expect("resources"),
        PathBuf::from("/w"),
        "corral-executor".into(),
    );
    cfg.masters = vec![m1(), m2()];
    cfg
}

pub(super) fn framework() -> FrameworkInfo {
    FrameworkInfo::new("fw", "*")
}

pub(super) fn task(id: &str) -> TaskInfo {
    TaskInfo {
        task_id: TaskId::from(id),
        name: format!("task {id}"),
        command: "true".into(),
        env: vec![],
        resources: Resources::parse("cpus:1;mem:64").expect("resources"),
        container: None,
        executor: None,
    }
}

pub(super) fn fw() -> FrameworkId {
    FrameworkId::from("fw")
}

/// An executor's update about task `id`.
pub(super) fn update(id: &str, state: TaskState, uuid: u8) -> exec::ExecutorUpdate {
    exec::ExecutorUpdate {
        status: TaskStatus {
            task_id: TaskId::from(id),
            framework_id: fw(),
            agent_id: None,
            state,
            source: StatusSource::Executor,
            reason: None,
            message: String::new(),
            timestamp_ms: 0,
            uuid: Some([uuid; 16]),
        },
    }
}

/// One input to a core, for tables of cases.
pub(super) type Input = Box<dyn Fn(&mut AgentCore, &mut Now<'_>)>;

/// A state to start a case from.
pub(super) type Given = fn() -> Harness;

/// A core with a clock and a seeded random source.
pub(super) struct Harness {
    pub(super) core: AgentCore,
    rng: StdRng,
    pub(super) time: Time,
}

impl Harness {
    pub(super) fn new(cfg: AgentConfig) -> Harness {
        Harness {
            core: AgentCore::new(cfg),
            rng: StdRng::seed_from_u64(1),
            time: Time::ZERO,
        }
    }

    /// Gives one input and returns what the core asked for.
    pub(super) fn input(&mut self, f: impl FnOnce(&mut AgentCore, &mut Now<'_>)) -> Vec<Action> {
        let mut now = Now {
            time: self.time,
            unix_ms: 1_700_000_000_000 + self.time.as_nanos() / 1_000_000,
            rng: &mut self.rng,
        };
        f(&mut self.core, &mut now);
        std::iter::from_fn(|| self.core.poll_action()).collect()
    }

    /// Like [`input`](Self::input), shown as lines.
    pub(super) fn shown(&mut self, f: impl FnOnce(&mut AgentCore, &mut Now<'_>)) -> Vec<String> {
        self.input(f).iter().map(show).collect()
    }
}

/// A started agent on a node without a store (so no checkpoint actions).
pub(super) fn started() -> Harness {
    let mut h = Harness::new(config());
    let no_store = Err(CheckpointError::Storage(StorageError::NotConfigured));
    h.input(|c, now| c.handle_start(now, me(), no_store));
    h
}

/// A started agent that checkpoints (an empty store).
pub(super) fn started_checkpointing() -> Harness {
    let mut h = Harness::new(config());
    h.input(|c, now| c.handle_start(now, me(), Ok(Checkpoint::default())));
    h
}

pub(super) fn admission(term: u64) -> master::AgentRegistered {
    master::AgentRegistered {
        agent_id: AgentId::from("a1"),
        ping_interval: Duration::from_secs(15),
        tasks: vec![],
        term,
    }
}

/// Admits `h` by the first master in `term`.
pub(super) fn admit(h: &mut Harness, term: u64) {
    h.input(|c, now| c.handle_agent_registered(now, Some(&m1()), admission(term)));
    assert!(h.core.is_registered());
}

/// A registered agent (no store).
pub(super) fn registered() -> Harness {
    let mut h = started();
    admit(&mut h, 1);
    h
}

pub(super) fn run(ids: &[&str]) -> master::RunTasks {
    master::RunTasks {
        framework_id: fw(),
        framework: framework(),
        tasks: ids.iter().map(|id| task(id)).collect(),
    }
}

/// A registered agent running task `t1`, its executor registered.
pub(super) fn running() -> Harness {
    let mut h = registered();
    h.input(|c, now| c.handle_run_tasks(now, Some(&m1()), run(&["t1"])));
    h.input(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    h
}

pub(super) fn register_executor(id: &str) -> exec::RegisterExecutor {
    exec::RegisterExecutor {
        framework_id: fw(),
        executor_id: id.into(),
    }
}

fn short(p: &Pid) -> String {
    if *p == m1() {
        "m1".into()
    } else if *p == m2() {
        "m2".into()
    } else if *p == executor() {
        "exec".into()
    } else {
        p.to_string()
    }
}

fn outgoing(msg: &Outgoing) -> String {
    match msg {
        Outgoing::RegisterAgent(m) => format!("RegisterAgent(tasks {})", m.tasks.len()),
        Outgoing::StatusUpdate(m) => {
            format!("StatusUpdate({} {:?})", m.status.task_id.0, m.status.state)
        }
        Outgoing::RunTask(m) => format!("RunTask({})", m.task.task_id.0),
        Outgoing::KillTask(m) => format!("KillTask({})", m.task_id.0),
        Outgoing::ShutdownExecutor(_) => "ShutdownExecutor".into(),
        Outgoing::ExecutorReregistered(m) => format!("ExecutorReregistered({})", m.executor_id),
        Outgoing::UpdateAck(m) => format!("UpdateAck({})", m.task_id.0),
        Outgoing::FrameworkMessage(m) => {
            format!("FrameworkMessage({})", String::from_utf8_lossy(&m.data))
        }
        Outgoing::ExecutorToFramework(m) => format!(
            "ExecutorToFramework({} {} {})",
            m.framework_id.0,
            m.executor_id,
            String::from_utf8_lossy(&m.data)
        ),
        Outgoing::ExitedExecutor(m) => {
            format!("ExitedExecutor({} {:?})", m.executor_id, m.status)
        }
    }
}

/// One action as a short line.
pub(super) fn show(action: &Action) -> String {
    match action {
        Action::Send { to, msg } => format!("send {} {}", short(to), outgoing(msg)),
        Action::Pong => "pong".into(),
        Action::Link(p) => format!("link {}", short(p)),
        Action::Unlink(p) => format!("unlink {}", short(p)),
        Action::SetTimer { timer, .. } => format!("set {timer:?}"),
        Action::CancelTimer(timer) => format!("cancel {timer:?}"),
        Action::Launch { launch, .. } => format!("launch {}", launch.0),
        Action::Signal { process, signal } => format!("signal {} {signal:?}", process.0),
        Action::Checkpoint { records, then } => {
            let keys: Vec<&str> = records.iter().map(|r| r.task_id.0.as_str()).collect();
            match then {
                Some((to, msg)) => {
                    format!("checkpoint {keys:?} then {} {}", short(to), outgoing(msg))
                }
                None => format!("checkpoint {keys:?}"),
            }
        }
        Action::SaveRegistration { agent_id, term } => {
            format!("save registration {} {term:?}", agent_id.0)
        }
        Action::ClearCheckpoint => "clear checkpoint".into(),
        Action::Notify(event) => match event {
            AgentEvent::StatusQueued(s) => format!("queued {} {:?}", s.task_id.0, s.state),
            AgentEvent::TaskCompleted { task_id, state, .. } => {
                format!("completed {} {state:?}", task_id.0)
            }
            AgentEvent::ExecutorRegistered { task_id, .. } => {
                format!("executor registered {}", task_id.0)
            }
            other => format!("{other:?}"),
        },
        Action::NotifyLaunched { key, launch } => format!("launched {} {}", key.1 .0, launch.0),
    }
}

/// The status updates queued in `actions` (what the agent tells the
/// master about tasks), with their reasons' messages.
pub(super) fn queued(actions: &[Action]) -> Vec<(String, TaskState, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(AgentEvent::StatusQueued(s)) => {
                Some((s.task_id.0.clone(), s.state, s.message.clone()))
            }
            _ => None,
        })
        .collect()
}
