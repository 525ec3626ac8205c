//! Framework messages through the agent, and executor exits told to the
//! master.

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::framework::MAX_MESSAGE_DATA_BYTES;
use corral_api::ids::FrameworkId;
use corral_runtime::ExitStatus;

use super::tasks::custom_running;
use super::*;
use crate::core::LaunchId;

fn to_executor(framework: &str, executor_id: &str, data: &[u8]) -> master::FrameworkToExecutor {
    master::FrameworkToExecutor {
        framework_id: FrameworkId::from(framework),
        executor_id: executor_id.into(),
        data: data.to_vec(),
    }
}

fn from_executor(executor_id: &str, data: &[u8]) -> exec::ExecutorMessage {
    exec::ExecutorMessage {
        framework_id: fw(),
        executor_id: executor_id.into(),
        data: data.to_vec(),
    }
}

#[test]
fn a_framework_message_reaches_only_its_frameworks_registered_executor() {
    let cases: Vec<(&str, Given, Pid, master::FrameworkToExecutor, Vec<&str>)> = vec![
        (
            "to the command executor of t1",
            running,
            m1(),
            to_executor("fw", "t1", b"hi"),
            vec!["send exec FrameworkMessage(hi)"],
        ),
        (
            "to a framework's own executor",
            custom_running,
            m1(),
            to_executor("fw", "shared", b"hi"),
            vec!["send exec FrameworkMessage(hi)"],
        ),
        (
            "not from the master",
            running,
            stranger(),
            to_executor("fw", "t1", b"hi"),
            vec![],
        ),
        (
            "for an executor not here",
            running,
            m1(),
            to_executor("fw", "t9", b"hi"),
            vec![],
        ),
        (
            "for the executor of another framework",
            running,
            m1(),
            to_executor("other", "t1", b"hi"),
            vec![],
        ),
        (
            "before the executor registered",
            launched,
            m1(),
            to_executor("fw", "t1", b"hi"),
            vec![],
        ),
    ];
    for (name, given, from, msg, then) in cases {
        let mut h = given();
        let got = h.shown(|c, _| c.handle_framework_to_executor(Some(&from), msg));
        assert_eq!(got, then, "{name}");
    }
}

/// A registered agent that launched `t1`, its executor not registered.
fn launched() -> Harness {
    let mut h = registered();
    h.input(|c, now| c.handle_run_tasks(now, Some(&m1()), run(&["t1"])));
    h
}

#[test]
fn an_executor_message_is_relayed_only_from_that_executor() {
    let big = vec![b'x'; MAX_MESSAGE_DATA_BYTES + 1];
    let cases: Vec<(&str, Pid, exec::ExecutorMessage, Vec<&str>)> = vec![
        (
            "from the executor",
            executor(),
            from_executor("t1", b"yo"),
            vec!["send m1 ExecutorToFramework(fw t1 yo)"],
        ),
        (
            "from another actor",
            stranger(),
            from_executor("t1", b"yo"),
            vec![],
        ),
        (
            "naming an executor it is not",
            executor(),
            from_executor("t9", b"yo"),
            vec![],
        ),
        (
            "over the limit",
            executor(),
            from_executor("t1", &big),
            vec![],
        ),
    ];
    for (name, from, msg, then) in cases {
        let mut h = running();
        let got = h.shown(|c, _| c.handle_executor_message(Some(&from), msg));
        assert_eq!(got, then, "{name}");
    }
}

#[test]
fn a_frameworks_own_executor_that_ends_is_told_to_the_master_after_its_tasks() {
    let mut h = custom_running();
    let got = h.shown(|c, n| c.handle_process_exit(n, LaunchId(0), &ExitStatus::Exited(2)));
    assert_eq!(
        got,
        [
            "queued c1 Failed",
            "send m1 StatusUpdate(c1 Failed)",
            "set Retry",
            "send m1 ExitedExecutor(shared Some(512))",
        ]
    );
    // Once: the process is gone.
    let again = h.shown(|c, n| c.handle_process_exit(n, LaunchId(0), &ExitStatus::Exited(2)));
    assert_eq!(again, Vec::<String>::new());
}

#[test]
fn a_command_executor_that_ends_is_not_told_to_the_master() {
    let mut h = running();
    let got = h.shown(|c, n| c.handle_process_exit(n, LaunchId(0), &ExitStatus::Signaled(9)));
    assert!(
        got.iter().all(|line| !line.contains("ExitedExecutor")),
        "{got:?}"
    );
}

#[test]
fn a_frameworks_own_executor_that_ends_after_its_tasks_is_told_to_the_master() {
    let mut h = custom_running();
    let finished = update("c1", TaskState::Finished, 3);
    h.input(|c, n| c.handle_executor_update(n, Some(&executor()), finished));
    let ack = master::StatusAck {
        framework_id: fw(),
        task_id: TaskId::from("c1"),
        uuid: [3; 16],
    };
    h.input(|c, n| c.handle_status_ack(n, Some(&m1()), ack));
    let got = h.shown(|c, n| c.handle_process_exit(n, LaunchId(0), &ExitStatus::Exited(0)));
    assert_eq!(
        got,
        [
            "cancel Orphan(LaunchId(0))",
            "send m1 ExitedExecutor(shared Some(0))"
        ]
    );
}
