//! Agent restarts with real processes: a checkpointing framework's tasks
//! survive `LocalCluster::restart_agent` (the agent recovers from its
//! checkpoint and its executors re-register), and `--recover=cleanup`
//! kills them instead.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::{cluster, launch, Call, ProbeHandle, Seen};
use corral_agent::state::AgentSnapshot;
use corral_api::framework::{FrameworkInfo, Kill};
use corral_api::ids::TaskId;
use corral_api::task::TaskInfo;
use corral_api::task::TaskState;
use corral_examples::local::{LocalCluster, RecoverMode};

fn task(id: &str) -> TaskInfo {
    TaskInfo {
        task_id: TaskId(id.to_owned()),
        name: id.to_owned(),
        command: "sleep 600".to_owned(),
        env: Vec::new(),
        resources: common::res("cpus:0.5;mem:64"),
        container: None,
        executor: None,
    }
}

/// A one-agent cluster running `a` and `b` (`sleep 600`) for a
/// checkpointing framework, both RUNNING.
fn two_running_tasks(test: &str) -> (LocalCluster, ProbeHandle) {
    // Executors left behind by a failed test give up 30 s after their
    // agent is gone for good.
    let c = cluster(test, 1, "cpus:2;mem:512", |cfg| {
        cfg.tune_agent = |a| a.recovery_timeout = Duration::from_secs(30);
    });
    let p = ProbeHandle::start(c.master());
    let mut info = FrameworkInfo::new(test, "*");
    info.checkpoint = true;
    p.subscribe(info);
    let offer = p.next_offers().remove(0);
    p.call(launch(&offer.id, vec![task("a"), task("b")]));
    let running = states_reached(&p, TaskState::Running);
    assert_eq!(running, [TaskState::Running, TaskState::Running]);
    (c, p)
}

/// Waits until both `a` and `b` reached `want` or a terminal state (updates
/// of both interleave, so they are read together); returns the states
/// reached, `a`'s first.
fn states_reached(p: &ProbeHandle, want: TaskState) -> Vec<TaskState> {
    let mut reached = [None, None];
    while reached.iter().any(Option::is_none) {
        let Seen::Update(u) = p.next(|s| matches!(s, Seen::Update(_))) else {
            unreachable!("next returns what it was asked for");
        };
        let i = match u.task_id.0.as_str() {
            "a" => 0,
            "b" => 1,
            _ => continue,
        };
        if reached[i].is_none() && (u.state == want || u.state.is_terminal()) {
            reached[i] = Some(u.state);
        }
    }
    reached.into_iter().flatten().collect()
}

/// Whether the agent runs each of `tasks` with its executor registered.
fn executors_connected(agent: &AgentSnapshot, tasks: &[&str]) -> bool {
    tasks.iter().all(|id| {
        agent
            .tasks
            .iter()
            .any(|t| t.task_id.0 == *id && t.state == TaskState::Running && t.executor_connected)
    })
}

fn running_in_master(c: &LocalCluster) -> Vec<String> {
    let state = c.state().expect("master state");
    state
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Running)
        .map(|t| t.id.0.clone())
        .collect()
}

fn kill(p: &ProbeHandle, id: &str) {
    p.call(Call::Kill(Kill {
        task_id: TaskId(id.into()),
    }));
}

#[test]
fn restarting_the_agent_keeps_checkpointed_tasks_running() {
    let (mut c, p) = two_running_tasks("recover-reconnect");
    c.restart_agent(0).expect("agent restarts");
    // The restarted agent took both tasks back: their executors (which
    // retry every second) re-registered well within the 30 s recovery
    // timeout, after which the agent would fail them.
    c.wait_for_agent(
        0,
        Duration::from_secs(20),
        "the executors of a and b to re-register with the restarted agent",
        |s| executors_connected(s, &["a", "b"]),
    )
    .expect("the restarted agent takes its tasks back");
    let ended: Vec<_> = p
        .seen
        .try_iter()
        .filter(|s| matches!(s, Seen::Update(u) if u.state.is_terminal()))
        .collect();
    assert_eq!(ended, [], "no task may end because the agent restarted");
    let mut running = running_in_master(&c);
    running.sort();
    assert_eq!(running, ["a", "b"]);
    // The restarted agent still commands the tasks it took back.
    kill(&p, "a");
    let end = p.updates_until_end("a").pop().expect("an update");
    assert_eq!(end.state, TaskState::Killed, "{end:?}");
    assert_eq!(running_in_master(&c), ["b"]);
    kill(&p, "b");
    let end = p.updates_until_end("b").pop().expect("an update");
    assert_eq!(end.state, TaskState::Killed, "{end:?}");
    c.shutdown();
}

#[test]
fn restarting_the_agent_in_cleanup_mode_kills_its_tasks() {
    let (mut c, p) = two_running_tasks("recover-cleanup");
    c.restart_agent_with(0, |a| a.recover = RecoverMode::Cleanup)
        .expect("agent restarts");
    let ends = states_reached(&p, TaskState::Killed);
    assert_eq!(ends, [TaskState::Killed, TaskState::Killed]);
    c.wait_for(Duration::from_secs(10), "no running tasks", |s| {
        s.tasks.iter().all(|t| t.state != TaskState::Running)
    })
    .expect("the master sees the tasks end");
    c.shutdown();
}
