//! The lifecycle core alone: inputs in, actions and deadlines out.

use std::time::Duration;

use corral_api::container::ContainerInfo;
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_executor_sdk::AGENT_LOST_GRACE;

use super::*;

fn site() -> Site {
    Site {
        framework_id: "fw".into(),
        agent_id: Some("a1".into()),
        sandbox: "/sandbox/t1".into(),
        work_dir: None,
        tasks_dir: None,
        container_user: None,
    }
}

fn at_ms(ms: u64) -> Time {
    Time::ZERO + Duration::from_millis(ms)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn task(id: &str) -> TaskInfo {
    TaskInfo {
        task_id: id.into(),
        name: id.into(),
        command: "sleep 100".into(),
        env: vec![],
        resources: Resources::default(),
        container: None,
        executor: None,
    }
}

fn drain(l: &mut Lifecycle) -> Vec<Action> {
    std::iter::from_fn(|| l.poll_action()).collect()
}

/// The updates among `actions`: state, reason, message.
fn updates(actions: &[Action]) -> Vec<(TaskState, Option<StatusReason>, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Update {
                state,
                reason,
                message,
            } => Some((*state, *reason, message.clone())),
            _ => None,
        })
        .collect()
}

fn states(actions: &[Action]) -> Vec<TaskState> {
    updates(actions).iter().map(|u| u.0).collect()
}

/// A lifecycle whose command was launched at time 0.
fn running() -> Lifecycle {
    let mut l = Lifecycle::new(site());
    l.handle_launch(&task("t1"));
    drain(&mut l);
    l
}

#[test]
fn a_task_is_reported_starting_then_launched_in_its_sandbox_then_running() {
    let mut l = Lifecycle::new(site());
    assert_eq!(l.task_id(), None);
    l.handle_launch(&task("t1"));
    let actions = drain(&mut l);
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert_eq!(states(&actions), [TaskState::Starting, TaskState::Running]);
    let Action::Launch(spec) = &actions[1] else {
        panic!("expected the launch between STARTING and RUNNING: {actions:?}");
    };
    assert_eq!(spec.command, "sleep 100");
    assert_eq!(
        spec.cwd.as_deref(),
        Some(std::path::Path::new("/sandbox/t1"))
    );
    assert_eq!(l.task_id(), Some(&TaskId::from("t1")));
    assert_eq!(l.poll_timeout(), None);
    assert!(!l.has_ended());
}

#[test]
fn the_commands_exit_is_its_end() {
    for (status, state) in [
        (ExitStatus::Exited(0), TaskState::Finished),
        (ExitStatus::Exited(3), TaskState::Failed),
        (ExitStatus::Signaled(9), TaskState::Failed),
        (
            ExitStatus::FailedToStart("no shell".into()),
            TaskState::Failed,
        ),
    ] {
        let mut l = running();
        l.handle_process_exit(status.clone());
        let end = updates(&drain(&mut l));
        assert_eq!(end.len(), 1, "{status:?}");
        assert_eq!(end[0].0, state, "{status:?}");
        assert_eq!(end[0].1, Some(StatusReason::CommandExited));
        assert_eq!(end[0].2, format!("Command {status}"));
        assert!(l.has_ended());
    }
}

#[test]
fn a_kill_sends_sigterm_then_sigkill_after_the_grace() {
    let mut l = running();
    l.handle_kill(at_ms(500), secs(3), KillCause::Framework);
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Term)]);
    assert_eq!(l.poll_timeout(), Some(at_ms(3500)));
    // A second kill sends no second SIGTERM, but may shorten the grace;
    // a longer one does not lengthen it.
    l.handle_kill(at_ms(600), secs(1), KillCause::Shutdown);
    l.handle_kill(at_ms(700), secs(10), KillCause::Framework);
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.poll_timeout(), Some(at_ms(1600)));
    l.handle_timeout(at_ms(1599));
    assert!(drain(&mut l).is_empty(), "not due yet");
    l.handle_timeout(at_ms(1600));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Kill)]);
    assert_eq!(l.poll_timeout(), None);
    l.handle_process_exit(ExitStatus::Signaled(9));
    let end = updates(&drain(&mut l));
    assert_eq!(end.len(), 1);
    // The first cause names the kill.
    assert_eq!(
        (end[0].0, end[0].1),
        (TaskState::Killed, Some(StatusReason::KilledByFramework))
    );
    assert_eq!(
        end[0].2,
        "Command killed on request: it terminated by signal 9 (SIGKILL)"
    );
}

#[test]
fn a_command_that_obeys_sigterm_is_never_sigkilled() {
    let mut l = running();
    l.handle_kill(at_ms(0), secs(5), KillCause::Shutdown);
    drain(&mut l);
    l.handle_process_exit(ExitStatus::Signaled(15));
    let end = updates(&drain(&mut l));
    assert_eq!(end[0].0, TaskState::Killed);
    assert!(end[0].2.contains("executor was shut down"), "{}", end[0].2);
    assert_eq!(l.poll_timeout(), None, "no SIGKILL left armed");
    l.handle_timeout(at_ms(10_000));
    assert!(drain(&mut l).is_empty());
}

#[test]
fn input_out_of_place_is_ignored() {
    let mut l = Lifecycle::new(site());
    // Before any task: an exit, a kill, container reports, a timeout.
    l.handle_process_exit(ExitStatus::Exited(0));
    l.handle_kill(at_ms(1), secs(1), KillCause::Framework);
    l.handle_container_started("c");
    l.handle_container_exit(ContainerExit::failed("x"));
    l.handle_timeout(at_ms(2));
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.task_id(), None);
    // With a task: a second task.
    l.handle_launch(&task("t1"));
    assert_eq!(drain(&mut l).len(), 3);
    l.handle_launch(&task("t2"));
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.task_id(), Some(&TaskId::from("t1")));
    // After the end: nothing at all.
    l.handle_process_exit(ExitStatus::Exited(0));
    assert_eq!(states(&drain(&mut l)), [TaskState::Finished]);
    l.handle_process_exit(ExitStatus::Exited(1));
    l.handle_kill(at_ms(3), secs(1), KillCause::AgentLost);
    l.handle_launch(&task("t3"));
    l.handle_timeout(at_ms(100_000));
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.poll_timeout(), None);
}

// ---- container tasks ----

fn container_task(id: &str) -> TaskInfo {
    TaskInfo {
        container: Some(ContainerInfo::docker("corral/busybox:test")),
        ..task(id)
    }
}

fn exited(code: i64) -> ContainerExit {
    ContainerExit {
        code: Some(code),
        ..ContainerExit::default()
    }
}

/// A container task given at time 0, its start asked of the driver.
fn container_starting() -> Lifecycle {
    let mut l = Lifecycle::new(site());
    l.handle_launch(&container_task("t1"));
    drain(&mut l);
    l
}

#[test]
fn a_container_task_is_running_only_once_the_driver_says_so() {
    let mut l = Lifecycle::new(site());
    l.handle_launch(&container_task("t1"));
    let actions = drain(&mut l);
    assert_eq!(states(&actions), [TaskState::Starting]);
    let Some(Action::StartContainer(spec)) = actions.get(1) else {
        panic!("expected a container start after STARTING: {actions:?}");
    };
    assert_eq!(spec.image, "corral/busybox:test");
    assert_eq!(spec.command.as_deref(), Some("sleep 100"));
    l.handle_container_started("corral-t1-x");
    let running = updates(&drain(&mut l));
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].0, TaskState::Running);
    assert!(running[0].2.contains("corral-t1-x"), "{}", running[0].2);
    // A repeated report changes nothing.
    l.handle_container_started("corral-t1-x");
    assert!(updates(&drain(&mut l)).is_empty());
    l.handle_container_exit(exited(0));
    let end = updates(&drain(&mut l));
    assert_eq!(end.len(), 1);
    assert_eq!(end[0].0, TaskState::Finished);
    assert_eq!(end[0].2, "Container exited with status 0");
}

#[test]
fn a_kill_stops_the_container_with_the_grace_and_reports_killed() {
    let mut l = container_starting();
    l.handle_container_started("c");
    drain(&mut l);
    l.handle_kill(at_ms(100), secs(5), KillCause::Framework);
    assert_eq!(drain(&mut l), [Action::StopContainer { grace: secs(5) }]);
    // A later kill with a longer grace adds nothing; a shorter one is sent.
    l.handle_kill(at_ms(200), secs(10), KillCause::Framework);
    assert!(drain(&mut l).is_empty());
    l.handle_kill(at_ms(300), secs(1), KillCause::Framework);
    assert_eq!(drain(&mut l), [Action::StopContainer { grace: secs(1) }]);
    // Docker escalates itself: no SIGKILL timer of the lifecycle's own.
    assert_eq!(l.poll_timeout(), None);
    l.handle_container_exit(exited(137));
    let end = updates(&drain(&mut l));
    assert_eq!(end.len(), 1);
    assert_eq!(
        (end[0].0, end[0].1),
        (TaskState::Killed, Some(StatusReason::KilledByFramework))
    );
}

#[test]
fn a_kill_before_the_container_runs_never_reports_running() {
    let mut l = container_starting();
    l.handle_kill(at_ms(10), secs(2), KillCause::Framework);
    assert!(matches!(drain(&mut l)[..], [Action::StopContainer { .. }]));
    // The start raced the stop: still no RUNNING.
    l.handle_container_started("c");
    assert!(updates(&drain(&mut l)).is_empty());
    l.handle_container_exit(exited(143));
    assert_eq!(states(&drain(&mut l)), [TaskState::Killed]);
}

#[test]
fn oom_and_launch_failures_are_named() {
    let mut l = container_starting();
    l.handle_container_started("c");
    drain(&mut l);
    l.handle_container_exit(ContainerExit {
        oom_killed: true,
        ..exited(137)
    });
    let end = updates(&drain(&mut l));
    assert_eq!(end[0].0, TaskState::Failed);
    assert_eq!(end[0].1, Some(StatusReason::ContainerMemoryLimit));
    assert!(end[0].2.contains("OOM"), "{}", end[0].2);

    let mut l = container_starting();
    l.handle_container_exit(ContainerExit::failed("image 'x' is missing"));
    let end = updates(&drain(&mut l));
    assert_eq!(end[0].0, TaskState::Failed);
    assert_eq!(end[0].1, Some(StatusReason::ContainerLaunchFailed));
    assert_eq!(end[0].2, "Container failed to start: image 'x' is missing");
}

#[test]
fn a_container_that_cannot_be_described_fails_at_once() {
    let mut l = Lifecycle::new(site());
    let mut t = container_task("t1");
    if let Some(c) = t.container.as_mut() {
        c.parameters = vec![("privileged".into(), "true".into())];
    }
    l.handle_launch(&t);
    let actions = drain(&mut l);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::StartContainer(_))));
    let sent = updates(&actions);
    assert_eq!(
        sent.iter().map(|s| s.0).collect::<Vec<_>>(),
        [TaskState::Starting, TaskState::Failed]
    );
    assert!(sent[1].2.contains("privileged"), "{}", sent[1].2);
    assert!(l.has_ended());
}

#[test]
fn agent_loss_stops_the_container_with_its_grace() {
    let mut l = container_starting();
    l.handle_container_started("c");
    drain(&mut l);
    l.handle_kill(at_ms(100), AGENT_LOST_GRACE, KillCause::AgentLost);
    assert_eq!(
        drain(&mut l),
        [Action::StopContainer {
            grace: AGENT_LOST_GRACE
        }]
    );
    l.handle_container_exit(exited(143));
    let end = updates(&drain(&mut l));
    assert_eq!(
        (end[0].0, end[0].1),
        (TaskState::Killed, Some(StatusReason::ExecutorTerminated))
    );
}

#[test]
fn process_and_container_inputs_do_not_cross() {
    let mut l = container_starting();
    l.handle_process_exit(ExitStatus::Exited(0));
    assert!(drain(&mut l).is_empty());
    let mut l = running();
    l.handle_container_started("c");
    l.handle_container_exit(exited(0));
    assert!(drain(&mut l).is_empty());
}
