//! Every input the agent refuses or ignores, and the little it does say:
//! messages from strangers, from masters of older terms, about unknown
//! tasks and executors, and launches it must not run.

use corral_api::agent as master;
use corral_api::executor as exec;
use corral_api::ids::{AgentId, TaskId};
use corral_api::task::TaskState;

use super::*;

struct Case {
    name: &'static str,
    given: fn() -> Harness,
    input: Input,
    then: &'static [&'static str],
}

fn case(
    name: &'static str,
    given: fn() -> Harness,
    input: impl Fn(&mut AgentCore, &mut Now<'_>) + 'static,
    then: &'static [&'static str],
) -> Case {
    Case {
        name,
        given,
        input: Box::new(input),
        then,
    }
}

fn check(cases: Vec<Case>) {
    for c in cases {
        let mut h = (c.given)();
        let got = h.shown(|core, now| (c.input)(core, now));
        assert_eq!(got, c.then, "{}", c.name);
    }
}

#[test]
fn messages_from_strangers_change_nothing() {
    let from = || Some(stranger());
    check(vec![
        case(
            "AgentRegistered",
            started,
            move |c, n| c.handle_agent_registered(n, from().as_ref(), admission(1)),
            &[],
        ),
        case(
            "RunTasks",
            registered,
            move |c, n| c.handle_run_tasks(n, from().as_ref(), run(&["t9"])),
            &[],
        ),
        case(
            "KillTask",
            running,
            move |c, n| {
                let kill = master::KillTask {
                    framework_id: fw(),
                    task_id: TaskId::from("t1"),
                };
                c.handle_kill_task(n, from().as_ref(), kill)
            },
            &[],
        ),
        case(
            "StatusAck",
            running,
            move |c, n| {
                let ack = master::StatusAck {
                    framework_id: fw(),
                    task_id: TaskId::from("t1"),
                    uuid: [1; 16],
                };
                c.handle_status_ack(n, from().as_ref(), ack)
            },
            &[],
        ),
        case(
            "ShutdownFramework",
            running,
            move |c, n| {
                c.handle_shutdown_framework(
                    n,
                    from().as_ref(),
                    master::ShutdownFramework { framework_id: fw() },
                )
            },
            &[],
        ),
        case(
            "ShutdownAgent",
            running,
            move |c, n| {
                c.handle_shutdown_agent(
                    n,
                    from().as_ref(),
                    master::ShutdownAgent {
                        message: "go".into(),
                    },
                )
            },
            &[],
        ),
        case(
            "NotLeader",
            registered,
            move |c, n| {
                c.handle_not_leader(n, from().as_ref(), master::NotLeader { leader: Some(m2()) })
            },
            &[],
        ),
        case(
            "LeaderElected",
            registered,
            move |c, n| {
                c.handle_leader_elected(
                    n,
                    from().as_ref(),
                    master::LeaderElected {
                        leader: m2(),
                        term: 9,
                    },
                )
            },
            &[],
        ),
        case(
            "a ping is answered but does not count as the master's",
            registered,
            move |c, _| c.handle_ping(from().as_ref()),
            &["pong"],
        ),
        case(
            "an executor update from another pid than the task's executor",
            running,
            move |c, n| {
                c.handle_executor_update(n, from().as_ref(), update("t1", TaskState::Running, 1))
            },
            &[],
        ),
        case(
            "a registration under a task's executor id from another pid",
            running,
            move |c, _| c.handle_register_executor(from().as_ref(), register_executor("t1")),
            &[],
        ),
        case(
            "a re-registration under a task's executor id from another pid",
            running,
            move |c, _| {
                let msg = exec::ReregisterExecutor {
                    framework_id: fw(),
                    executor_id: "t1".into(),
                    task_id: None,
                };
                c.handle_reregister_executor(from().as_ref(), msg)
            },
            &[],
        ),
        case(
            "a message without sender",
            running,
            move |c, _| c.handle_register_executor(None, register_executor("t1")),
            &[],
        ),
    ]);
}

#[test]
fn masters_of_older_terms_and_hints_outside_the_list_are_not_followed() {
    fn deposed() -> Harness {
        let mut h = started();
        admit(&mut h, 5);
        // The link breaks: the agent registers with the next master.
        h.input(|c, n| c.handle_exited(n, &m1()));
        h
    }
    check(vec![
        case(
            "an admission in an older term",
            deposed,
            |c, n| c.handle_agent_registered(n, Some(&m2()), admission(3)),
            &["IgnoredDeposedMaster { master: master@10.0.0.2:5050, term: 3, latest: 5 }"],
        ),
        case(
            "LeaderElected of an older term",
            deposed,
            |c, n| {
                c.handle_leader_elected(
                    n,
                    Some(&m2()),
                    master::LeaderElected {
                        leader: m2(),
                        term: 4,
                    },
                )
            },
            &["IgnoredDeposedMaster { master: master@10.0.0.2:5050, term: 4, latest: 5 }"],
        ),
        case(
            "LeaderElected naming a master outside the list",
            registered,
            |c, n| {
                c.handle_leader_elected(
                    n,
                    Some(&m2()),
                    master::LeaderElected {
                        leader: stranger(),
                        term: 9,
                    },
                )
            },
            &[],
        ),
        case(
            "NotLeader from a master the agent is not registered with",
            registered,
            |c, n| c.handle_not_leader(n, Some(&m2()), master::NotLeader { leader: None }),
            &[],
        ),
        case(
            "a repeated admission",
            registered,
            |c, n| c.handle_agent_registered(n, Some(&m1()), admission(1)),
            &[],
        ),
    ]);
}

#[test]
fn launches_are_ignored_unless_registered() {
    fn reregistering() -> Harness {
        let mut h = registered();
        h.input(|c, n| c.handle_exited(n, &m1()));
        h
    }
    fn unregistered_master_two() -> Harness {
        let mut h = started();
        h.input(|c, n| {
            c.handle_not_leader(n, Some(&m1()), master::NotLeader { leader: Some(m2()) })
        });
        h
    }
    check(vec![
        case(
            "before the first registration",
            started,
            |c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])),
            &[],
        ),
        case(
            "while registering again (maybe a deposed leader's)",
            reregistering,
            |c, n| c.handle_run_tasks(n, Some(&m2()), run(&["t1"])),
            &[],
        ),
        case(
            "from the master being tried, before any admission",
            unregistered_master_two,
            |c, n| c.handle_run_tasks(n, Some(&m2()), run(&["t1"])),
            &[],
        ),
    ]);
}

#[test]
fn unknown_tasks_and_executors() {
    fn shut_down() -> Harness {
        let mut h = running();
        h.input(|c, n| {
            c.handle_shutdown_framework(
                n,
                Some(&m1()),
                master::ShutdownFramework { framework_id: fw() },
            )
        });
        h
    }
    check(vec![
        case(
            "a kill of an unknown task is answered TASK_LOST",
            registered,
            |c, n| {
                let kill = master::KillTask {
                    framework_id: fw(),
                    task_id: TaskId::from("t9"),
                };
                c.handle_kill_task(n, Some(&m1()), kill)
            },
            &[
                "queued t9 Lost",
                "send m1 StatusUpdate(t9 Lost)",
                "set Retry",
            ],
        ),
        case(
            "a kill of a shut-down framework's unknown task says nothing",
            shut_down,
            |c, n| {
                let kill = master::KillTask {
                    framework_id: fw(),
                    task_id: TaskId::from("t9"),
                };
                c.handle_kill_task(n, Some(&m1()), kill)
            },
            &[],
        ),
        case(
            "a kill of a task being killed",
            shut_down,
            |c, n| {
                let kill = master::KillTask {
                    framework_id: fw(),
                    task_id: TaskId::from("t1"),
                };
                c.handle_kill_task(n, Some(&m1()), kill)
            },
            &[],
        ),
        case(
            "an acknowledgement of an unknown update",
            running,
            |c, n| {
                let ack = master::StatusAck {
                    framework_id: fw(),
                    task_id: TaskId::from("t1"),
                    uuid: [7; 16],
                };
                c.handle_status_ack(n, Some(&m1()), ack)
            },
            &[],
        ),
        case(
            "an update of an unknown task is acknowledged",
            registered,
            |c, n| {
                c.handle_executor_update(n, Some(&executor()), update("t9", TaskState::Running, 1))
            },
            &["send exec UpdateAck(t9)"],
        ),
        case(
            "an update without uuid",
            running,
            |c, n| {
                let mut u = update("t1", TaskState::Running, 1);
                u.status.uuid = None;
                c.handle_executor_update(n, Some(&executor()), u)
            },
            &[],
        ),
        case(
            "a registration of an unknown executor",
            registered,
            |c, _| c.handle_register_executor(Some(&executor()), register_executor("nobody")),
            &[],
        ),
        case(
            "a re-registration of an unknown executor is told to shut down",
            registered,
            |c, _| {
                let msg = exec::ReregisterExecutor {
                    framework_id: fw(),
                    executor_id: "nobody".into(),
                    task_id: None,
                };
                c.handle_reregister_executor(Some(&executor()), msg)
            },
            &["send exec ShutdownExecutor"],
        ),
    ]);
}

#[test]
fn launches_that_cannot_run_get_task_error() {
    fn with(tasks: Vec<corral_api::task::TaskInfo>) -> master::RunTasks {
        master::RunTasks {
            framework_id: fw(),
            framework: framework(),
            tasks,
        }
    }
    let unsafe_id = || task("../t");
    let docker = || {
        let mut t = task("t2");
        t.container = Some(corral_api::container::ContainerInfo::docker("busybox"));
        t
    };
    type Launch = Box<dyn Fn() -> master::RunTasks>;
    let cases: Vec<(&str, Launch, &str)> = vec![
        (
            "an unsafe id",
            Box::new(move || with(vec![unsafe_id()])),
            "not a safe name",
        ),
        (
            "a container without the docker containerizer",
            Box::new(move || with(vec![docker()])),
            "does not run Docker",
        ),
    ];
    for (name, msg, why) in cases {
        let mut h = running();
        let actions = h.input(|c, n| c.handle_run_tasks(n, Some(&m1()), msg()));
        let lines: Vec<String> = actions.iter().map(show).collect();
        let id = msg().tasks[0].task_id.0.clone();
        assert_eq!(
            lines,
            vec![
                format!("queued {id} Error"),
                format!("send m1 StatusUpdate({id} Error)"),
                "set Retry".to_owned(),
            ],
            "{name}"
        );
        let q = queued(&actions);
        assert!(q[0].2.contains(why), "{name}: {}", q[0].2);
    }
}

#[test]
fn a_reused_task_id_stops_the_live_task_and_gets_task_error() {
    let mut h = running();
    let got = h.shown(|c, n| c.handle_run_tasks(n, Some(&m1()), run(&["t1"])));
    assert_eq!(
        got,
        [
            "signal 0 Kill",
            "queued t1 Error",
            "send m1 StatusUpdate(t1 Error)",
            "set Retry",
        ]
    );
    assert_eq!(h.core.used_resources(), &Resources::empty());
    assert_eq!(h.core.agent_id(), Some(&AgentId::from("a1")));
}
