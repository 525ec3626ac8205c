//! Tasks from launch to forgetting: executors registering (or not), their
//! updates, kills with and without an executor, executor exits, and
//! acknowledgements.

use corral_api::agent as master;
use corral_api::ids::TaskId;
use corral_api::task::TaskState;
use corral_runtime::{ExitStatus, ProcessSpec};

use super::super::{LaunchId, Timer};
use super::*;
use crate::containerizer::Containerizer;

fn key(id: &str) -> (FrameworkId, TaskId) {
    (fw(), TaskId::from(id))
}

fn kill(id: &str) -> master::KillTask {
    master::KillTask {
        framework_id: fw(),
        task_id: TaskId::from(id),
    }
}

#[test]
fn a_launch_starts_an_executor_and_its_registration_deadline() {
    let mut h = registered();
    let actions = h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    let lines: Vec<String> = actions.iter().map(show).collect();
    assert_eq!(
        lines,
        [
            "launch 0",
            &format!("set {:?}", Timer::ExecutorRegistration(key("t1"), 0)),
            "launched t1 0",
        ]
    );
    let Some(Action::Launch { spec, .. }) = actions.first() else {
        panic!("no launch");
    };
    assert_eq!(spec.command, "corral-executor");
    assert_eq!(spec.cwd, Some(PathBuf::from("/w/frameworks/fw/tasks/t1")));
    assert!(spec
        .env
        .iter()
        .any(|(k, v)| k == "MESOS_AGENT_ID" && v == "a1"));
    assert_eq!(
        h.core.used_resources(),
        &Resources::parse("cpus:1;mem:64").expect("resources")
    );
}

#[test]
fn the_registered_executor_gets_its_task_and_its_deadline_stops() {
    let mut h = registered();
    h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    let got =
        h.shown(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    assert_eq!(
        got,
        [
            format!("cancel {:?}", Timer::ExecutorRegistration(key("t1"), 0)),
            "send exec RunTask(t1)".to_owned(),
            "executor registered t1".to_owned(),
        ]
    );
    assert!(h.core.tasks().all(|t| t.executor_connected));
}

#[test]
fn a_repeated_registration_relaunches_only_what_the_executor_has_not_reported() {
    // Its RunTask may have been lost: sent again.
    let mut h = running();
    let again =
        h.shown(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    assert_eq!(again, ["send exec RunTask(t1)"]);
    // It reported on the task, so it has it: a Mesos executor that
    // re-subscribes would run it twice. It hears it is taken.
    h.input(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 1))
    });
    let again =
        h.shown(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    assert_eq!(again, ["send exec ExecutorReregistered(t1)"]);
    // A kill asked meanwhile is passed on again either way.
    h.input(|c, n| c.handle_kill_task(n, Some(&m1()), kill("t1")));
    let again =
        h.shown(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    assert_eq!(
        again,
        [
            "send exec ExecutorReregistered(t1)",
            "send exec KillTask(t1)"
        ]
    );
}

/// What each way a task can end makes the agent do, from a given phase.
#[test]
fn task_ends_made_by_the_agent() {
    fn launched() -> Harness {
        let mut h = registered();
        h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
        h
    }
    fn killing() -> Harness {
        let mut h = running();
        h.input(|c, n| c.handle_kill_task(n, Some(&m1()), kill("t1")));
        h
    }
    let reg_deadline = format!("{:?}", Timer::ExecutorRegistration(key("t1"), 0));
    let kill_deadline = format!("{:?}", Timer::Kill(key("t1"), 0));
    let cases: Vec<(&str, Given, Input, Vec<String>)> = vec![
        (
            "killed before its executor registered: ended at once",
            launched,
            Box::new(|c, n| c.handle_kill_task(n, Some(&m1()), kill("t1"))),
            vec![
                "signal 0 Kill".into(),
                format!("cancel {reg_deadline}"),
                "queued t1 Killed".into(),
                "send m1 StatusUpdate(t1 Killed)".into(),
                "set Retry".into(),
            ],
        ),
        (
            "killed with its executor: the kill goes there, with a deadline",
            running,
            Box::new(|c, n| c.handle_kill_task(n, Some(&m1()), kill("t1"))),
            vec![
                "send exec KillTask(t1)".into(),
                format!("set {kill_deadline}"),
            ],
        ),
        (
            "the executor ignored the kill: SIGKILL and KILLED",
            killing,
            Box::new(|c, n| c.handle_timer(n, Timer::Kill(key("t1"), 0))),
            vec![
                "signal 0 Kill".into(),
                "queued t1 Killed".into(),
                "send m1 StatusUpdate(t1 Killed)".into(),
                "set Retry".into(),
            ],
        ),
        (
            "the executor never registered: SIGKILL and FAILED",
            launched,
            Box::new(|c, n| c.handle_timer(n, Timer::ExecutorRegistration(key("t1"), 0))),
            vec![
                "signal 0 Kill".into(),
                "queued t1 Failed".into(),
                "send m1 StatusUpdate(t1 Failed)".into(),
                "set Retry".into(),
            ],
        ),
        (
            "a registration deadline of an earlier launch does nothing",
            running,
            Box::new(|c, n| c.handle_timer(n, Timer::ExecutorRegistration(key("t1"), 7))),
            vec![],
        ),
        (
            "the executor exited before the task ended: FAILED",
            running,
            Box::new(|c, n| c.handle_process_exit(n, LaunchId(0), &ExitStatus::Exited(1))),
            vec![
                "queued t1 Failed".into(),
                "send m1 StatusUpdate(t1 Failed)".into(),
                "set Retry".into(),
            ],
        ),
        (
            "the executor exited after a kill: KILLED, the deadline stops",
            killing,
            Box::new(|c, n| c.handle_process_exit(n, LaunchId(0), &ExitStatus::Signaled(15))),
            vec![
                format!("cancel {kill_deadline}"),
                "queued t1 Killed".into(),
                "send m1 StatusUpdate(t1 Killed)".into(),
                "set Retry".into(),
            ],
        ),
        (
            "an exit of a process the agent does not know",
            running,
            Box::new(|c, n| c.handle_process_exit(n, LaunchId(9), &ExitStatus::Exited(0))),
            vec![],
        ),
    ];
    for (name, given, input, then) in cases {
        let mut h = given();
        let got = h.shown(|c, n| input(c, n));
        assert_eq!(got, then, "{name}");
    }
}

#[test]
fn an_executor_update_is_acknowledged_once_durable_and_forwarded() {
    // Without a store the acknowledgement goes at once.
    let mut h = running();
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 1))
    });
    assert_eq!(
        got,
        [
            "queued t1 Running",
            "send exec UpdateAck(t1)",
            "send m1 StatusUpdate(t1 Running)",
            "set Retry",
        ]
    );
    // With one, after the record is written.
    let mut h = started_checkpointing();
    admit(&mut h, 1);
    h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    h.input(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 1))
    });
    assert_eq!(
        got,
        [
            "queued t1 Running",
            "checkpoint [\"t1\"] then exec UpdateAck(t1)",
            "checkpoint []",
            "send m1 StatusUpdate(t1 Running)",
            "set Retry",
        ]
    );
    // A resend is acknowledged again and queued once.
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 1))
    });
    assert_eq!(got, ["send exec UpdateAck(t1)"]);
}

#[test]
fn a_terminal_update_frees_resources_and_the_last_ack_forgets_the_task() {
    let mut h = running();
    h.input(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Finished, 1))
    });
    assert_eq!(h.core.used_resources(), &Resources::empty());
    // Updates after the end are acknowledged and dropped.
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 2))
    });
    assert_eq!(got, ["send exec UpdateAck(t1)"]);
    let ack = master::StatusAck {
        framework_id: fw(),
        task_id: TaskId::from("t1"),
        uuid: [1; 16],
    };
    let got = h.shown(|c, n| c.handle_status_ack(n, Some(&m1()), ack));
    assert_eq!(
        got,
        [
            "set Orphan(LaunchId(0))",
            "completed t1 Finished",
            "cancel Retry",
        ]
    );
    assert_eq!(h.core.tasks().count(), 0);
    // The executor lingers: asked to shut down, then SIGKILLed.
    let got = h.shown(|c, n| c.handle_timer(n, Timer::Orphan(LaunchId(0))));
    assert_eq!(
        got,
        ["send exec ShutdownExecutor", "set Orphan(LaunchId(0))"]
    );
    let got = h.shown(|c, n| c.handle_timer(n, Timer::Orphan(LaunchId(0))));
    assert_eq!(got, ["signal 0 Kill"]);
}

#[test]
fn a_shut_down_frameworks_updates_are_dropped_but_its_task_ends_are_sent() {
    let mut h = running();
    h.input(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 1))
    });
    let got = h.shown(|c, n| {
        c.handle_shutdown_framework(
            n,
            Some(&m1()),
            master::ShutdownFramework { framework_id: fw() },
        )
    });
    assert_eq!(
        got,
        [
            "send exec KillTask(t1)",
            &format!("set {:?}", Timer::Kill(key("t1"), 0)),
            "cancel Retry",
        ]
    );
    // A non-terminal update of the shut-down framework is dropped...
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 2))
    });
    assert_eq!(got, ["queued t1 Running", "send exec UpdateAck(t1)"]);
    assert_eq!(h.core.pending_updates(), 0);
    // ...and its end is sent.
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Killed, 3))
    });
    assert_eq!(
        got,
        [
            "queued t1 Killed",
            &format!("cancel {:?}", Timer::Kill(key("t1"), 0)),
            "send exec UpdateAck(t1)",
            "send m1 StatusUpdate(t1 Killed)",
            "set Retry",
        ]
    );
}

pub(super) fn custom(id: &str, command: &str) -> corral_api::task::TaskInfo {
    let mut t = task(id);
    t.executor = Some(corral_api::task::ExecutorInfo {
        executor_id: "shared".into(),
        command: command.into(),
        env: vec![],
    });
    t
}

pub(super) fn run_custom(tasks: Vec<corral_api::task::TaskInfo>) -> master::RunTasks {
    master::RunTasks {
        framework_id: fw(),
        framework: framework(),
        tasks,
    }
}

/// A registered agent whose framework's own executor `shared` runs `c1`.
pub(super) fn custom_running() -> Harness {
    let mut h = registered();
    h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run_custom(vec![custom("c1", "exec-a")])));
    h.input(|c, _| c.handle_register_executor(Some(&executor()), register_executor("shared")));
    h
}

#[test]
fn tasks_of_a_frameworks_own_executor() {
    let cases: Vec<(&str, Given, Input, Vec<String>)> = vec![
        (
            "a second task joins the running executor",
            custom_running,
            Box::new(|c, n| {
                c.handle_run_tasks(n, Some(&m1()), run_custom(vec![custom("c2", "exec-a")]))
            }),
            vec!["send exec RunTask(c2)".into(), "launched c2 0".into()],
        ),
        (
            "the same executor id with another command is refused",
            custom_running,
            Box::new(|c, n| {
                c.handle_run_tasks(n, Some(&m1()), run_custom(vec![custom("c2", "exec-b")]))
            }),
            vec![
                "queued c2 Error".into(),
                "send m1 StatusUpdate(c2 Error)".into(),
                "set Retry".into(),
            ],
        ),
        (
            "a kill of one task before the shared executor registered spares the process",
            || {
                let mut h = registered();
                let both = run_custom(vec![custom("c1", "exec-a"), custom("c2", "exec-a")]);
                h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), both));
                h
            },
            Box::new(|c, n| c.handle_kill_task(n, Some(&m1()), kill("c1"))),
            vec![
                format!("cancel {:?}", Timer::ExecutorRegistration(key("c1"), 0)),
                "queued c1 Killed".into(),
                "send m1 StatusUpdate(c1 Killed)".into(),
                "set Retry".into(),
            ],
        ),
    ];
    for (name, given, input, then) in cases {
        let mut h = given();
        let got = h.shown(|c, n| input(c, n));
        assert_eq!(got, then, "{name}");
    }
}

#[test]
fn a_launch_for_a_framework_shut_down_here_brings_it_back() {
    let mut h = running();
    h.input(|c, n| {
        c.handle_shutdown_framework(
            n,
            Some(&m1()),
            master::ShutdownFramework { framework_id: fw() },
        )
    });
    let got = h.shown(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t2"])));
    assert_eq!(
        got,
        [
            "launch 1".to_owned(),
            format!("set {:?}", Timer::ExecutorRegistration(key("t2"), 1)),
            "launched t2 1".to_owned(),
        ]
    );
    // Its updates are forwarded again.
    let got = h.shown(|c, n| {
        c.handle_executor_update(n, Some(&executor()), update("t1", TaskState::Running, 5))
    });
    assert_eq!(
        got,
        [
            "queued t1 Running",
            "send exec UpdateAck(t1)",
            "send m1 StatusUpdate(t1 Running)",
            "set Retry",
        ]
    );
}

#[test]
fn an_executor_registering_after_its_tasks_ended_is_shut_down() {
    let mut h = registered();
    h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    h.input(|c, n| c.handle_timer(n, Timer::ExecutorRegistration(key("t1"), 0)));
    let got =
        h.shown(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    assert_eq!(got, ["send exec ShutdownExecutor"]);
}

#[test]
fn a_task_with_too_many_pending_updates_is_not_acknowledged() {
    let mut h = running();
    let limit = crate::updates::MAX_PENDING_PER_TASK;
    for i in 0..limit {
        let mut u = update("t1", TaskState::Running, 0);
        u.status.uuid = Some(u128::try_from(i).expect("small").to_be_bytes());
        h.input(|c, n| c.handle_executor_update(n, Some(&executor()), u));
    }
    let mut u = update("t1", TaskState::Running, 0);
    u.status.uuid = Some([0xff; 16]);
    let got = h.shown(|c, n| c.handle_executor_update(n, Some(&executor()), u));
    assert_eq!(got, Vec::<String>::new());
    assert_eq!(h.core.pending_updates(), limit);
}

#[test]
fn an_executor_that_cannot_start_fails_its_task_with_the_reason_alone() {
    let cases = [
        (
            ExitStatus::FailedToStart("no user \"x\" on this machine".into()),
            "executor failed to start: no user \"x\" on this machine",
        ),
        (
            ExitStatus::Exited(1),
            "executor exited with status 1 before its task ended (its log: executor.log in the sandbox)",
        ),
    ];
    for (status, message) in cases {
        let mut h = registered();
        h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
        let actions = h.input(|c, n| c.handle_process_exit(n, LaunchId(0), &status));
        assert_eq!(
            queued(&actions),
            [("t1".to_owned(), TaskState::Failed, message.to_owned())],
            "{status:?}"
        );
    }
}

#[test]
fn command_tasks_launched_together_share_one_executor() {
    let mut h = registered();
    let actions = h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1", "t2"])));
    let Some(Action::Launch { spec, .. }) = actions.first() else {
        panic!("no launch");
    };
    // It finds its tasks' sandboxes side by side.
    assert!(spec
        .env
        .iter()
        .any(|(k, v)| k == "CORRAL_TASKS_DIR" && v == "/w/frameworks/fw/tasks"));
    let launched: Vec<String> = actions.iter().map(show).collect();
    assert_eq!(
        launched,
        [
            "launch 0".to_owned(),
            format!("set {:?}", Timer::ExecutorRegistration(key("t1"), 0)),
            "launched t1 0".to_owned(),
            format!("set {:?}", Timer::ExecutorRegistration(key("t2"), 1)),
            "launched t2 0".to_owned(),
        ]
    );
    // Each task keeps its own sandbox; the executor is named for the first.
    let summaries: Vec<(String, String)> =
        h.core.tasks().map(|t| (t.executor_id, t.sandbox)).collect();
    assert_eq!(
        summaries,
        [
            ("t1".to_owned(), "/w/frameworks/fw/tasks/t1".to_owned()),
            ("t1".to_owned(), "/w/frameworks/fw/tasks/t2".to_owned()),
        ]
    );
    // Its registration gets it both tasks.
    let got =
        h.shown(|c, _| c.handle_register_executor(Some(&executor()), register_executor("t1")));
    assert_eq!(
        got,
        [
            format!("cancel {:?}", Timer::ExecutorRegistration(key("t1"), 0)),
            format!("cancel {:?}", Timer::ExecutorRegistration(key("t2"), 1)),
            "send exec RunTask(t1)".to_owned(),
            "send exec RunTask(t2)".to_owned(),
            "executor registered t1".to_owned(),
            "executor registered t2".to_owned(),
        ]
    );
    // A kill goes to the one task (the executor's process is killed only if
    // the task outlives the deadline).
    let killed = h.shown(|c, n| c.handle_kill_task(n, Some(&m1()), kill("t2")));
    assert_eq!(
        killed,
        [
            "send exec KillTask(t2)".to_owned(),
            format!("set {:?}", Timer::Kill(key("t2"), 1)),
        ]
    );
    // A task launched later gets an executor of its own.
    let later = h.shown(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t3"])));
    assert_eq!(later.first().map(String::as_str), Some("launch 1"));
}

/// A started and registered agent with `cfg` that runs Docker tasks too.
fn with_docker(mut cfg: AgentConfig) -> Harness {
    cfg.containerizers = vec![Containerizer::Docker, Containerizer::Process];
    let mut h = Harness::new(cfg);
    let no_store = Err(CheckpointError::Storage(StorageError::NotConfigured));
    h.input(|c, now| c.handle_start(now, me(), no_store));
    admit(&mut h, 1);
    h
}

#[test]
fn a_task_shares_no_executor_with_a_container_task_or_a_frameworks_own() {
    let mut h = with_docker(config());
    let mut boxed = task("c1");
    boxed.container = Some(corral_api::container::ContainerInfo::docker("busybox"));
    let mut msg = run(&[]);
    msg.tasks = vec![boxed, custom("e1", "my-executor"), task("t1"), task("t2")];
    let launches: Vec<String> = h
        .shown(|c, n| c.handle_run_tasks(n, Some(&m1()), msg))
        .into_iter()
        .filter(|l| l.starts_with("launch "))
        .collect();
    // The container task, the framework's executor, and t1 with t2.
    assert_eq!(launches, ["launch 0", "launch 1", "launch 2"]);
    let executors: Vec<String> = h.core.tasks().map(|t| t.executor_id).collect();
    assert_eq!(executors, ["c1", "shared", "t1", "t1"]);
}

#[test]
fn a_container_tasks_executor_keeps_the_agents_user_and_names_the_frameworks() {
    let mut cfg = config();
    cfg.switch_user = true;
    let mut h = with_docker(cfg);
    let mut boxed = task("c1");
    boxed.container = Some(corral_api::container::ContainerInfo::docker("busybox"));
    let mut msg = run(&[]);
    msg.framework.user = "nobody".into();
    msg.tasks = vec![boxed, task("t1")];
    let actions = h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), msg));
    let specs: Vec<&ProcessSpec> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Launch { spec, .. } => Some(spec),
            _ => None,
        })
        .collect();
    let [container, command] = specs.as_slice() else {
        panic!("two launches: {actions:?}");
    };
    // The container's executor may reach the Docker daemon; its container
    // is the framework user's.
    assert_eq!(container.user, None);
    let named = |s: &ProcessSpec| {
        s.env
            .iter()
            .find(|(k, _)| k == "CORRAL_CONTAINER_USER")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(named(container).as_deref(), Some("nobody"));
    // A command task's executor is the user's itself.
    assert_eq!(command.user.as_deref(), Some("nobody"));
    assert_eq!(named(command), None);
}
