//! Restarts: taking back an earlier run's checkpoint, executors coming
//! back (or not), and checkpoint writes that fail.

use corral_api::executor as exec;
use corral_api::ids::TaskId;

use super::super::Timer;
use super::*;
use crate::checkpoint::{TaskCheckpoint, TaskRecord};
use crate::config::RecoverMode;

fn record(id: &str, checkpoint: bool, executor: Option<Pid>, terminal: bool) -> TaskRecord {
    let mut framework = framework();
    framework.checkpoint = checkpoint;
    TaskRecord {
        framework_id: fw(),
        task_id: TaskId::from(id),
        task: Some(TaskCheckpoint {
            framework,
            info: task(id),
            executor,
            state: if terminal {
                TaskState::Finished
            } else {
                TaskState::Running
            },
            terminal,
            kill_requested: false,
            shared_executor: None,
        }),
        pending: vec![],
    }
}

fn checkpoint(tasks: Vec<TaskRecord>) -> Checkpoint {
    Checkpoint {
        agent_id: Some(AgentId::from("a1")),
        leader_term: Some(3),
        tasks,
    }
}

fn restarted(cfg: AgentConfig, found: Checkpoint) -> (Harness, Vec<String>) {
    let mut h = Harness::new(cfg);
    let got = h.shown(|c, n| c.handle_start(n, me(), Ok(found)));
    (h, got)
}

#[test]
fn what_a_restart_does_with_each_task() {
    let registration = [
        "link m1",
        "send m1 RegisterAgent(tasks 1)",
        "set Registration",
    ];
    let recovered = "Recovered { agent_id: Some(AgentId(\"a1\")), tasks: [TaskId(\"t1\")] }";
    let cases: Vec<(&str, RecoverMode, TaskRecord, Vec<&str>)> = vec![
        (
            "a checkpointing framework's task waits for its executor",
            RecoverMode::Reconnect,
            record("t1", true, Some(executor()), false),
            vec!["set Recovery", recovered],
        ),
        (
            "a task of a framework that does not checkpoint fails",
            RecoverMode::Reconnect,
            record("t1", false, Some(executor()), false),
            vec![
                "send exec ShutdownExecutor",
                "queued t1 Failed",
                "checkpoint [\"t1\"]",
                recovered,
            ],
        ),
        (
            "cleanup kills every task",
            RecoverMode::Cleanup,
            record("t1", true, Some(executor()), false),
            vec![
                "send exec ShutdownExecutor",
                "queued t1 Killed",
                "checkpoint [\"t1\"]",
                recovered,
            ],
        ),
        (
            "an ended task keeps nothing running",
            RecoverMode::Reconnect,
            record("t1", true, Some(executor()), true),
            vec![recovered],
        ),
    ];
    for (name, mode, rec, then) in cases {
        let mut cfg = config();
        cfg.recover = mode;
        let (_, got) = restarted(cfg, checkpoint(vec![rec]));
        let want: Vec<String> = then
            .iter()
            .chain(registration.iter())
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_recovered_executor_is_taken_back_only_from_its_pid() {
    let (mut h, _) = restarted(
        config(),
        checkpoint(vec![record("t1", true, Some(executor()), false)]),
    );
    let again = || exec::ReregisterExecutor {
        framework_id: fw(),
        executor_id: "t1".into(),
        task_id: None,
    };
    let got = h.shown(|c, _| c.handle_reregister_executor(Some(&stranger()), again()));
    assert_eq!(got, Vec::<String>::new());
    let got = h.shown(|c, _| c.handle_reregister_executor(Some(&executor()), again()));
    assert_eq!(
        got,
        [
            "link exec",
            "checkpoint [\"t1\"]",
            "send exec ExecutorReregistered(t1)",
            "executor registered t1",
        ]
    );
    // Back in time: the recovery timeout finds nothing to fail.
    let got = h.shown(|c, n| c.handle_timer(n, Timer::Recovery));
    assert_eq!(got, Vec::<String>::new());
    // Its loss (a link) fails the task.
    let got = h.shown(|c, n| c.handle_exited(n, &executor()));
    assert_eq!(got, ["queued t1 Failed", "checkpoint [\"t1\"]"]);
}

#[test]
fn executors_that_do_not_come_back_fail_their_tasks() {
    let (mut h, _) = restarted(
        config(),
        checkpoint(vec![record("t1", true, Some(executor()), false)]),
    );
    let got = h.shown(|c, n| c.handle_timer(n, Timer::Recovery));
    assert_eq!(
        got,
        [
            "send exec ShutdownExecutor",
            "queued t1 Failed",
            "checkpoint [\"t1\"]",
        ]
    );
    assert!(h.core.tasks().all(|t| t.state == TaskState::Failed));
}

#[test]
fn a_failed_checkpoint_is_written_again_with_the_next() {
    let mut h = started_checkpointing();
    admit(&mut h, 1);
    h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    // The write of t1's launch failed: the next checkpoint holds it again.
    h.core
        .handle_checkpoint_failed([(fw(), TaskId::from("t1"))]);
    let got = h.shown(|c, n| {
        c.handle_kill_task(
            n,
            Some(&m1()),
            corral_api::agent::KillTask {
                framework_id: fw(),
                task_id: TaskId::from("t2"),
            },
        )
    });
    assert_eq!(
        got,
        [
            "queued t2 Lost",
            "checkpoint [\"t1\", \"t2\"]",
            "send m1 StatusUpdate(t2 Lost)",
            "set Retry",
        ]
    );
}

#[test]
fn an_unreadable_checkpoint_starts_the_agent_without_it() {
    let mut h = Harness::new(config());
    let broken = Err(CheckpointError::Storage(StorageError::Io("disk".into())));
    let got = h.shown(|c, n| c.handle_start(n, me(), broken));
    assert_eq!(
        got,
        [
            "link m1",
            "send m1 RegisterAgent(tasks 0)",
            "set Registration"
        ]
    );
    assert_eq!(h.core.agent_id(), None);
}

#[test]
fn a_launching_executor_that_re_registers_leaves_its_deadline_to_fire() {
    let mut h = registered();
    h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    let again = exec::ReregisterExecutor {
        framework_id: fw(),
        executor_id: "t1".into(),
        task_id: None,
    };
    let got = h.shown(|c, _| c.handle_reregister_executor(Some(&executor()), again));
    assert_eq!(
        got,
        [
            "send exec ExecutorReregistered(t1)",
            "executor registered t1"
        ]
    );
    // The task ends before the deadline fired: the deadline stops with it.
    let key = (fw(), TaskId::from("t1"));
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Finished, 1))
    });
    assert_eq!(
        got,
        [
            "queued t1 Finished".to_owned(),
            format!("cancel {:?}", Timer::ExecutorRegistration(key, 0)),
            "send exec UpdateAck(t1)".to_owned(),
            "send m1 StatusUpdate(t1 Finished)".to_owned(),
            "set Retry".to_owned(),
        ]
    );
}

#[test]
fn a_task_ended_while_reconnecting_shows_its_executor_as_not_connected() {
    let (mut h, _) = restarted(
        config(),
        checkpoint(vec![record("t1", true, Some(executor()), false)]),
    );
    assert!(h.core.tasks().all(|t| !t.executor_connected));
    h.input(|c, n| c.handle_timer(n, Timer::Recovery));
    assert!(h
        .core
        .tasks()
        .all(|t| !t.executor_connected && t.state == TaskState::Failed));
}

#[test]
fn a_recovered_task_of_a_frameworks_own_executor_keeps_that_executors_sandbox() {
    let mut own = record("t1", true, Some(executor()), false);
    if let Some(t) = own.task.as_mut() {
        t.info.executor = Some(corral_api::task::ExecutorInfo {
            executor_id: "shared".into(),
            command: "my-executor".into(),
            env: vec![],
        });
    }
    let (h, _) = restarted(
        config(),
        checkpoint(vec![own, record("t2", true, None, false)]),
    );
    let sandboxes: Vec<String> = h.core.tasks().map(|t| t.sandbox).collect();
    assert_eq!(
        sandboxes,
        [
            "/w/frameworks/fw/executors/shared",
            "/w/frameworks/fw/tasks/t2"
        ]
    );
}

#[test]
fn a_recovered_frameworks_own_executor_that_is_lost_is_told_to_the_master() {
    let mut own = record("t1", true, Some(executor()), false);
    if let Some(t) = own.task.as_mut() {
        t.info.executor = Some(corral_api::task::ExecutorInfo {
            executor_id: "shared".into(),
            command: "my-executor".into(),
            env: vec![],
        });
    }
    let (mut h, _) = restarted(config(), checkpoint(vec![own]));
    // The term it followed before its restart.
    admit(&mut h, 3);
    let got = h.shown(|c, n| c.handle_exited(n, &executor()));
    let ends = got
        .iter()
        .position(|l| l == "send m1 StatusUpdate(t1 Failed)");
    let exit = got
        .iter()
        .position(|l| l == "send m1 ExitedExecutor(shared None)");
    assert!(
        matches!((ends, exit), (Some(e), Some(x)) if e < x),
        "{got:?}"
    );
}
