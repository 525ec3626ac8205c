//! The agent and its masters: registering, admissions, hints, elections,
//! pings and losing the master.

use corral_api::agent as master;
use corral_api::ids::{AgentId, TaskId};

use super::super::Timer;
use super::*;

#[test]
fn starting_registers_with_the_first_master() {
    let mut h = Harness::new(config());
    let no_store = Err(CheckpointError::Storage(StorageError::NotConfigured));
    let got = h.shown(|c, n| c.handle_start(n, me(), no_store));
    assert_eq!(
        got,
        [
            "link m1",
            "send m1 RegisterAgent(tasks 0)",
            "set Registration"
        ]
    );
}

#[test]
fn registration_inputs() {
    let cases: Vec<(&str, Given, Input, &[&str])> = vec![
        (
            "an admission stops the attempts, saves nothing without a store, arms the watchdog",
            started,
            Box::new(|c, n| c.handle_agent_registered(n, Some(&m1()), admission(1))),
            &[
                "cancel Registration",
                "set Watchdog",
                "Registered { agent_id: AgentId(\"a1\") }",
            ],
        ),
        (
            "an unanswered attempt moves on to the next master",
            started,
            Box::new(|c, n| c.handle_timer(n, Timer::Registration)),
            &[
                "unlink m1",
                "link m2",
                "send m2 RegisterAgent(tasks 0)",
                "set Registration",
            ],
        ),
        (
            "a hint naming the leader is tried at once",
            started,
            Box::new(|c, n| {
                c.handle_not_leader(n, Some(&m1()), master::NotLeader { leader: Some(m2()) })
            }),
            &["unlink m1", "link m2", "send m2 RegisterAgent(tasks 0)"],
        ),
        (
            "a hint outside the list waits for the next attempt",
            started,
            Box::new(|c, n| {
                c.handle_not_leader(
                    n,
                    Some(&m1()),
                    master::NotLeader {
                        leader: Some(stranger()),
                    },
                )
            }),
            &[],
        ),
        (
            "the master steps down: register with the leader it names",
            registered,
            Box::new(|c, n| {
                c.handle_not_leader(n, Some(&m1()), master::NotLeader { leader: Some(m2()) })
            }),
            &[
                "Disconnected",
                "unlink m1",
                "link m2",
                "send m2 RegisterAgent(tasks 0)",
                "set Registration",
            ],
        ),
        (
            "a new leader is elected: register with it",
            registered,
            Box::new(|c, n| {
                c.handle_leader_elected(
                    n,
                    Some(&m2()),
                    master::LeaderElected {
                        leader: m2(),
                        term: 2,
                    },
                )
            }),
            &[
                "Disconnected",
                "unlink m1",
                "link m2",
                "send m2 RegisterAgent(tasks 0)",
                "set Registration",
            ],
        ),
        (
            "the master's link broke: the next master",
            registered,
            Box::new(|c, n| c.handle_exited(n, &m1())),
            &[
                "Disconnected",
                "unlink m1",
                "link m2",
                "send m2 RegisterAgent(tasks 0)",
                "set Registration",
            ],
        ),
        (
            "a master the agent left is lost: nothing",
            registered,
            Box::new(|c, n| c.handle_exited(n, &m2())),
            &[],
        ),
        (
            "a ping from the master re-arms the watchdog",
            registered,
            Box::new(|c, _| c.handle_ping(Some(&m1()))),
            &["cancel Watchdog", "set Watchdog", "pong"],
        ),
        (
            "the master went silent: register again",
            registered,
            Box::new(|c, n| c.handle_timer(n, Timer::Watchdog)),
            &[
                "Disconnected",
                "link m1",
                "send m1 RegisterAgent(tasks 0)",
                "set Registration",
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
fn tasks_the_master_expects_but_never_sent_are_reported() {
    let mut h = started();
    let mut msg = admission(1);
    msg.tasks = vec![
        master::ExpectedTask {
            framework_id: fw(),
            task_id: TaskId::from("aware"),
            partition_aware: true,
        },
        master::ExpectedTask {
            framework_id: fw(),
            task_id: TaskId::from("old"),
            partition_aware: false,
        },
    ];
    let actions = h.input(|c, n| c.handle_agent_registered(n, Some(&m1()), msg));
    let states: Vec<(String, TaskState)> = queued(&actions)
        .into_iter()
        .map(|(id, state, _)| (id, state))
        .collect();
    assert_eq!(
        states,
        [
            ("aware".to_owned(), TaskState::Dropped),
            ("old".to_owned(), TaskState::Lost)
        ]
    );
    assert_eq!(h.core.agent_id(), Some(&AgentId::from("a1")));
}

#[test]
fn the_master_shutting_the_agent_down_stops_everything_and_starts_over() {
    let mut h = running();
    let got = h.shown(|c, n| {
        c.handle_shutdown_agent(
            n,
            Some(&m1()),
            master::ShutdownAgent {
                message: "removed".into(),
            },
        )
    });
    assert_eq!(
        got,
        [
            "set Orphan(LaunchId(0))",
            "ShutDown { message: \"removed\" }",
            "link m1",
            "send m1 RegisterAgent(tasks 0)",
            "set Registration",
        ]
    );
    assert_eq!(h.core.agent_id(), None);
    assert!(!h.core.is_registered());
}
