//! The lifecycle core alone: inputs in, actions and deadlines out.

use std::time::Duration;

use corral_api::container::ContainerInfo;
use corral_api::resources::Resources;
use corral_api::task::TaskInfo;
use corral_runtime::Pid;

use super::*;

fn cfg() -> CommandExecutorConfig {
    let agent = Pid::new("agent", ([10, 0, 0, 1], 5051).into()).unwrap();
    CommandExecutorConfig::new(agent, "fw".into(), "t1", "/sandbox/t1")
}

fn at_ms(ms: u64) -> Now {
    Now {
        time: Time::ZERO + Duration::from_millis(ms),
        unix_time_ms: 1_700_000_000_000 + ms,
    }
}

fn run_task(id: &str, framework: &str) -> RunTask {
    RunTask {
        framework_id: framework.into(),
        task: TaskInfo {
            task_id: id.into(),
            name: id.into(),
            command: "sleep 100".into(),
            env: vec![],
            resources: Resources::default(),
            container: None,
            executor: None,
        },
    }
}

fn drain(l: &mut Lifecycle) -> Vec<Action> {
    std::iter::from_fn(|| l.poll_action()).collect()
}

fn updates(actions: &[Action]) -> Vec<TaskStatus> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Update(u) => Some(u.status.clone()),
            _ => None,
        })
        .collect()
}

fn states(actions: &[Action]) -> Vec<TaskState> {
    updates(actions).iter().map(|s| s.state).collect()
}

fn ack(l: &mut Lifecycle, now: Now, status: &TaskStatus) {
    let uuid = status.uuid.expect("executor updates carry a uuid");
    l.handle_ack(
        now,
        UpdateAck {
            task_id: status.task_id.clone(),
            uuid,
        },
    );
}

/// A lifecycle that got its task at time 0 and had its updates acked.
fn running() -> Lifecycle {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 7);
    l.handle_run_task(at_ms(0), run_task("t1", "fw"));
    for s in updates(&drain(&mut l)) {
        ack(&mut l, at_ms(0), &s);
    }
    l
}

#[test]
fn registration_is_resent_every_interval_until_the_timeout() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    let mut actions = drain(&mut l);
    while let Some(t) = l.poll_timeout() {
        l.handle_timeout(at_ms(t.as_nanos() / 1_000_000));
        actions.extend(drain(&mut l));
    }
    let registers = actions
        .iter()
        .filter(|a| matches!(a, Action::Register(_)))
        .count();
    assert_eq!(registers, 60, "one at start, one per second until 60 s");
    assert_eq!(
        actions.last(),
        Some(&Action::Stop(Outcome::RegistrationTimedOut))
    );
    assert!(l.is_done());
}

#[test]
fn a_task_is_reported_starting_then_launched_then_running() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    l.handle_run_task(at_ms(300), run_task("t1", "fw"));
    let actions = drain(&mut l);
    assert_eq!(actions.len(), 3);
    assert!(matches!(actions[1], Action::Launch(ref spec) if spec.command == "sleep 100"));
    let sent = updates(&actions);
    assert_eq!(
        sent.iter().map(|s| s.state).collect::<Vec<_>>(),
        [TaskState::Starting, TaskState::Running]
    );
    for s in &sent {
        assert_eq!(s.task_id, "t1".into());
        assert_eq!(s.framework_id, "fw".into());
        assert_eq!(s.source, StatusSource::Executor);
        assert_eq!(s.timestamp_ms, 1_700_000_000_300);
    }
    assert_ne!(sent[0].uuid, sent[1].uuid);
    // Registration is over: the next deadline is the updates' resend.
    assert_eq!(l.poll_timeout(), Some(at_ms(1300).time));
}

#[test]
fn unacknowledged_updates_are_resent_in_order_until_acked() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    l.handle_run_task(at_ms(0), run_task("t1", "fw"));
    let first = updates(&drain(&mut l));
    l.handle_timeout(at_ms(1000));
    assert_eq!(updates(&drain(&mut l)), first, "both again, same order");
    // An ack for an unknown uuid changes nothing.
    l.handle_ack(
        at_ms(1100),
        UpdateAck {
            task_id: "t1".into(),
            uuid: [9; 16],
        },
    );
    ack(&mut l, at_ms(1200), &first[0]);
    l.handle_timeout(at_ms(2000));
    assert_eq!(updates(&drain(&mut l)), first[1..]);
    ack(&mut l, at_ms(2100), &first[1]);
    assert_eq!(l.poll_timeout(), None);
    assert!(drain(&mut l).is_empty());
}

#[test]
fn a_kill_sends_sigterm_then_sigkill_after_the_grace() {
    let mut l = running();
    let kill = |grace| KillTask {
        task_id: "t1".into(),
        grace: Duration::from_secs(grace),
    };
    l.handle_kill(at_ms(500), kill(3));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Term)]);
    // A second kill sends no second SIGTERM, but may shorten the grace.
    l.handle_kill(at_ms(600), kill(1));
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.poll_timeout(), Some(at_ms(1600).time));
    l.handle_timeout(at_ms(1600));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Kill)]);
    l.handle_process_exit(at_ms(1700), ExitStatus::Signaled(9));
    let end = updates(&drain(&mut l));
    assert_eq!(end.len(), 1);
    assert_eq!(end[0].state, TaskState::Killed);
    assert_eq!(end[0].reason, Some(StatusReason::KilledByFramework));
    assert!(end[0].message.contains("SIGKILL"), "{}", end[0].message);
    ack(&mut l, at_ms(1800), &end[0]);
    assert_eq!(
        drain(&mut l),
        [Action::Stop(Outcome::Finished(TaskState::Killed))]
    );
}

#[test]
fn a_kill_before_the_task_reports_it_killed_and_launches_nothing() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    l.handle_kill(
        at_ms(10),
        KillTask {
            task_id: "t1".into(),
            grace: Duration::from_secs(5),
        },
    );
    let killed = updates(&drain(&mut l));
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0].state, TaskState::Killed);
    l.handle_run_task(at_ms(20), run_task("t1", "fw"));
    assert!(drain(&mut l).is_empty(), "a killed task is not launched");
    ack(&mut l, at_ms(30), &killed[0]);
    assert_eq!(
        drain(&mut l),
        [Action::Stop(Outcome::Finished(TaskState::Killed))]
    );
}

#[test]
fn shutdown_without_a_task_stops_at_once() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    l.handle_shutdown(
        at_ms(10),
        ShutdownExecutor {
            grace: Duration::from_secs(5),
        },
    );
    assert_eq!(drain(&mut l), [Action::Stop(Outcome::Shutdown)]);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn shutdown_with_a_task_kills_it_and_reports_killed() {
    let mut l = running();
    l.handle_shutdown(
        at_ms(10),
        ShutdownExecutor {
            grace: Duration::from_secs(5),
        },
    );
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Term)]);
    l.handle_process_exit(at_ms(20), ExitStatus::Signaled(15));
    let end = updates(&drain(&mut l));
    assert_eq!(end[0].state, TaskState::Killed);
    assert!(end[0].message.contains("shut down"), "{}", end[0].message);
}

#[test]
fn agent_loss_kills_the_command_and_stops_once_it_exited() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    l.handle_run_task(at_ms(0), run_task("t1", "fw"));
    drain(&mut l);
    l.handle_agent_lost(at_ms(100));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Term)]);
    // The unacknowledged updates are dropped: nothing is resent.
    assert_eq!(l.poll_timeout(), Some(at_ms(5100).time));
    l.handle_timeout(at_ms(5100));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Kill)]);
    l.handle_process_exit(at_ms(5200), ExitStatus::Signaled(9));
    assert_eq!(drain(&mut l), [Action::Stop(Outcome::AgentLost)]);
}

#[test]
fn agent_loss_without_a_running_command_stops_at_once() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    l.handle_agent_lost(at_ms(1));
    assert_eq!(drain(&mut l), [Action::Stop(Outcome::AgentLost)]);

    // The command ended; its terminal update waits for an ack that will
    // never come.
    let mut l = running();
    l.handle_process_exit(at_ms(1), ExitStatus::Exited(0));
    assert_eq!(states(&drain(&mut l)), [TaskState::Finished]);
    l.handle_agent_lost(at_ms(2));
    assert_eq!(drain(&mut l), [Action::Stop(Outcome::AgentLost)]);
}

#[test]
fn input_out_of_place_is_ignored() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    // Before any task: an exit, an ack, another framework's task.
    l.handle_process_exit(at_ms(1), ExitStatus::Exited(0));
    l.handle_ack(
        at_ms(1),
        UpdateAck {
            task_id: "t1".into(),
            uuid: [0; 16],
        },
    );
    l.handle_run_task(at_ms(1), run_task("t1", "other-fw"));
    assert!(drain(&mut l).is_empty());
    // With a task: a second task, a kill for another task.
    l.handle_run_task(at_ms(2), run_task("t1", "fw"));
    assert_eq!(drain(&mut l).len(), 3);
    l.handle_run_task(at_ms(3), run_task("t2", "fw"));
    l.handle_kill(
        at_ms(3),
        KillTask {
            task_id: "t2".into(),
            grace: Duration::ZERO,
        },
    );
    assert!(drain(&mut l).is_empty());
    // After the stop: nothing at all.
    l.handle_agent_lost(at_ms(4));
    l.handle_process_exit(at_ms(5), ExitStatus::Exited(0));
    assert_eq!(
        drain(&mut l),
        [
            Action::Signal(Signal::Term),
            Action::Stop(Outcome::AgentLost)
        ]
    );
    l.handle_run_task(at_ms(6), run_task("t3", "fw"));
    l.handle_agent_lost(at_ms(6));
    l.handle_timeout(at_ms(100_000));
    assert!(drain(&mut l).is_empty());
    assert_eq!(l.poll_timeout(), None);
}

// ---- container tasks ----

fn container_task(id: &str) -> RunTask {
    let mut msg = run_task(id, "fw");
    msg.task.container = Some(ContainerInfo::docker("corral/busybox:test"));
    msg
}

fn exited(code: i64) -> ContainerExit {
    ContainerExit {
        code: Some(code),
        ..ContainerExit::default()
    }
}

/// A container task that got its task at time 0, with its STARTING acked.
fn container_starting() -> Lifecycle {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 7);
    l.handle_run_task(at_ms(0), container_task("t1"));
    for s in updates(&drain(&mut l)) {
        ack(&mut l, at_ms(0), &s);
    }
    l
}

#[test]
fn a_container_task_is_running_only_once_the_driver_says_so() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    l.handle_run_task(at_ms(5), container_task("t1"));
    let actions = drain(&mut l);
    assert_eq!(states(&actions), [TaskState::Starting]);
    let Some(Action::StartContainer(spec)) = actions.get(1) else {
        panic!("expected a container start after STARTING: {actions:?}");
    };
    assert_eq!(spec.image, "corral/busybox:test");
    assert_eq!(spec.command.as_deref(), Some("sleep 100"));
    l.handle_container_started(at_ms(900), "corral-t1-x");
    let running = updates(&drain(&mut l));
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].state, TaskState::Running);
    assert!(
        running[0].message.contains("corral-t1-x"),
        "{}",
        running[0].message
    );
    // A repeated report changes nothing.
    l.handle_container_started(at_ms(901), "corral-t1-x");
    assert!(updates(&drain(&mut l)).is_empty());
    l.handle_container_exit(at_ms(2000), exited(0));
    let end = updates(&drain(&mut l));
    assert_eq!(end.last().map(|s| s.state), Some(TaskState::Finished));
    assert_eq!(
        end.last().unwrap().message,
        "Container exited with status 0"
    );
}

#[test]
fn a_kill_stops_the_container_with_the_grace_and_reports_killed() {
    let mut l = container_starting();
    l.handle_container_started(at_ms(10), "c");
    drain(&mut l);
    let kill = |grace| KillTask {
        task_id: "t1".into(),
        grace: Duration::from_secs(grace),
    };
    l.handle_kill(at_ms(100), kill(5));
    assert_eq!(
        drain(&mut l),
        [Action::StopContainer {
            grace: Duration::from_secs(5)
        }]
    );
    // A later kill with a longer grace adds nothing; a shorter one is sent.
    l.handle_kill(at_ms(200), kill(10));
    assert!(drain(&mut l).is_empty());
    l.handle_kill(at_ms(300), kill(1));
    assert_eq!(
        drain(&mut l),
        [Action::StopContainer {
            grace: Duration::from_secs(1)
        }]
    );
    // Docker escalates itself: the lifecycle arms no SIGKILL timer of its own.
    assert_eq!(
        drain(&mut l)
            .iter()
            .filter(|a| matches!(a, Action::Signal(_)))
            .count(),
        0
    );
    l.handle_container_exit(at_ms(1300), exited(137));
    let end = updates(&drain(&mut l));
    assert_eq!(end.len(), 1);
    assert_eq!(end[0].state, TaskState::Killed);
    assert_eq!(end[0].reason, Some(StatusReason::KilledByFramework));
    ack(&mut l, at_ms(1400), &end[0]);
    assert_eq!(
        drain(&mut l),
        [Action::Stop(Outcome::Finished(TaskState::Killed))]
    );
}

#[test]
fn a_kill_before_the_container_runs_never_reports_running() {
    let mut l = container_starting();
    l.handle_kill(
        at_ms(10),
        KillTask {
            task_id: "t1".into(),
            grace: Duration::from_secs(2),
        },
    );
    assert!(matches!(drain(&mut l)[..], [Action::StopContainer { .. }]));
    // The start raced the stop: still no RUNNING.
    l.handle_container_started(at_ms(20), "c");
    assert!(updates(&drain(&mut l)).is_empty());
    l.handle_container_exit(at_ms(30), exited(143));
    assert_eq!(states(&drain(&mut l)), [TaskState::Killed]);
}

#[test]
fn oom_and_launch_failures_are_named() {
    let mut l = container_starting();
    l.handle_container_started(at_ms(10), "c");
    drain(&mut l);
    l.handle_container_exit(
        at_ms(20),
        ContainerExit {
            oom_killed: true,
            ..exited(137)
        },
    );
    let end = updates(&drain(&mut l));
    assert_eq!(end[0].state, TaskState::Failed);
    assert_eq!(end[0].reason, Some(StatusReason::ContainerMemoryLimit));
    assert!(end[0].message.contains("OOM"), "{}", end[0].message);

    let mut l = container_starting();
    l.handle_container_exit(at_ms(20), ContainerExit::failed("image 'x' is missing"));
    let end = updates(&drain(&mut l));
    assert_eq!(end[0].state, TaskState::Failed);
    assert_eq!(end[0].reason, Some(StatusReason::ContainerLaunchFailed));
    assert_eq!(
        end[0].message,
        "Container failed to start: image 'x' is missing"
    );
}

#[test]
fn a_container_that_cannot_be_described_fails_at_once() {
    let mut l = Lifecycle::new(cfg());
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    let mut msg = container_task("t1");
    if let Some(c) = msg.task.container.as_mut() {
        c.parameters = vec![("privileged".into(), "true".into())];
    }
    l.handle_run_task(at_ms(1), msg);
    let actions = drain(&mut l);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::StartContainer(_))));
    let sent = updates(&actions);
    assert_eq!(
        sent.iter().map(|s| s.state).collect::<Vec<_>>(),
        [TaskState::Starting, TaskState::Failed]
    );
    assert!(
        sent[1].message.contains("privileged"),
        "{}",
        sent[1].message
    );
}

#[test]
fn agent_loss_stops_the_container_and_stops_once_it_is_gone() {
    let mut l = container_starting();
    l.handle_container_started(at_ms(10), "c");
    drain(&mut l);
    l.handle_agent_lost(at_ms(100));
    assert_eq!(
        drain(&mut l),
        [Action::StopContainer {
            grace: AGENT_LOST_GRACE
        }]
    );
    assert_eq!(
        l.poll_timeout(),
        None,
        "nothing to resend, Docker escalates"
    );
    l.handle_container_exit(at_ms(200), exited(143));
    assert_eq!(drain(&mut l), [Action::Stop(Outcome::AgentLost)]);
}

#[test]
fn process_and_container_inputs_do_not_cross() {
    let mut l = container_starting();
    l.handle_process_exit(at_ms(1), ExitStatus::Exited(0));
    assert!(drain(&mut l).is_empty());
    let mut l = running();
    l.handle_container_started(at_ms(1), "c");
    l.handle_container_exit(at_ms(1), exited(0));
    assert!(drain(&mut l).is_empty());
}

/// A checkpointing lifecycle that got its task at time 0; its STARTING
/// update was acked, RUNNING was not.
fn running_checkpointed() -> (Lifecycle, TaskStatus) {
    let mut c = cfg();
    c.checkpoint = true;
    c.recovery_timeout = Duration::from_secs(10);
    let mut l = Lifecycle::new(c);
    l.handle_start(at_ms(0), 7);
    l.handle_run_task(at_ms(0), run_task("t1", "fw"));
    let sent = updates(&drain(&mut l));
    ack(&mut l, at_ms(0), &sent[0]);
    (l, sent[1].clone())
}

fn reregisters(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Reregister(r) if r.task_id == Some("t1".into())))
        .count()
}

#[test]
fn a_checkpointing_executor_keeps_its_task_and_reregisters_until_the_agent_is_back() {
    let (mut l, running_update) = running_checkpointed();
    l.handle_agent_lost(at_ms(100));
    let actions = drain(&mut l);
    assert_eq!(reregisters(&actions), 1, "{actions:?}");
    assert!(!actions.iter().any(|a| matches!(a, Action::Signal(_))));
    assert!(l.is_reconnecting());
    // A second link failure changes nothing.
    l.handle_agent_lost(at_ms(200));
    assert!(drain(&mut l).is_empty());
    // Every second it asks again (and resends its pending update).
    l.handle_timeout(at_ms(1100));
    let actions = drain(&mut l);
    assert_eq!(reregisters(&actions), 1, "{actions:?}");
    // The agent takes it back: the unacknowledged update goes out at once.
    l.handle_reregistered(
        at_ms(1500),
        ExecutorReregistered {
            executor_id: "t1".into(),
        },
    );
    assert_eq!(
        updates(&drain(&mut l)),
        std::slice::from_ref(&running_update)
    );
    assert!(!l.is_reconnecting());
    ack(&mut l, at_ms(1600), &running_update);
    // Nothing is due any more: no re-registration, no resend.
    assert_eq!(l.poll_timeout(), None);
    // The task still ends and reports normally.
    l.handle_process_exit(at_ms(2000), ExitStatus::Exited(0));
    assert_eq!(states(&drain(&mut l)), [TaskState::Finished]);
}

#[test]
fn a_checkpointing_executor_gives_up_after_the_recovery_timeout() {
    let (mut l, _) = running_checkpointed();
    l.handle_agent_lost(at_ms(0));
    drain(&mut l);
    for t in (1000..10_000).step_by(1000) {
        l.handle_timeout(at_ms(t));
        let actions = drain(&mut l);
        assert!(
            !actions.iter().any(|a| matches!(a, Action::Signal(_))),
            "{actions:?}"
        );
    }
    // At 10 s: killed as a non-checkpointing executor would be at once.
    l.handle_timeout(at_ms(10_000));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Term)]);
    l.handle_timeout(at_ms(15_000));
    assert_eq!(drain(&mut l), [Action::Signal(Signal::Kill)]);
    l.handle_process_exit(at_ms(15_100), ExitStatus::Signaled(9));
    assert_eq!(drain(&mut l), [Action::Stop(Outcome::AgentLost)]);
}

#[test]
fn a_checkpointing_executor_reports_an_end_that_happened_while_the_agent_was_away() {
    let (mut l, running_update) = running_checkpointed();
    l.handle_agent_lost(at_ms(0));
    drain(&mut l);
    l.handle_process_exit(at_ms(500), ExitStatus::Exited(1));
    assert_eq!(states(&drain(&mut l)), [TaskState::Failed]);
    l.handle_reregistered(
        at_ms(800),
        ExecutorReregistered {
            executor_id: "t1".into(),
        },
    );
    let resent = updates(&drain(&mut l));
    assert_eq!(resent.len(), 2);
    assert_eq!(resent[0], running_update);
    ack(&mut l, at_ms(900), &resent[0]);
    ack(&mut l, at_ms(900), &resent[1]);
    assert_eq!(
        drain(&mut l),
        [Action::Stop(Outcome::Finished(TaskState::Failed))]
    );
}

#[test]
fn a_checkpointing_executor_still_registering_keeps_registering() {
    let mut c = cfg();
    c.checkpoint = true;
    let mut l = Lifecycle::new(c);
    l.handle_start(at_ms(0), 1);
    drain(&mut l);
    l.handle_agent_lost(at_ms(10));
    assert!(drain(&mut l).is_empty());
    l.handle_timeout(at_ms(1000));
    assert!(matches!(drain(&mut l)[..], [Action::Register(_)]));
}

#[test]
fn a_stray_reregistered_is_ignored() {
    let mut l = running();
    l.handle_reregistered(
        at_ms(5),
        ExecutorReregistered {
            executor_id: "t1".into(),
        },
    );
    assert!(drain(&mut l).is_empty());
}
