//! Table-driven tests of the master core: given this state and this input,
//! these actions. No simulator, no runtime: each test builds a core, feeds
//! it events with a hand-set clock and reads the actions it answers with.

use corral_runtime::{Pid, Time};

use super::config::MasterConfig;
use super::effects::Clock;
use super::MasterCore;

/// A pid for actor `name` on a host of its own.
pub(crate) fn pid(name: &str, port: u16) -> Pid {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    Pid::new(name, addr).expect("a valid test pid")
}

/// A lone master's core with `cfg`, not started.
pub(crate) fn new_core(cfg: MasterConfig) -> MasterCore {
    MasterCore::new(cfg, None, pid("master", 5050), [0xab, 0xcd, 0xef, 0x01])
}

/// The clock `ms` milliseconds after the start.
pub(crate) fn at(ms: u64) -> Clock {
    Clock {
        now: Time::ZERO + std::time::Duration::from_millis(ms),
        unix_ms: 1_700_000_000_000 + ms,
    }
}

use std::time::Duration;

use super::effects::{Action, Answer, Input, Outgoing, Question, Then, Timer, ToAllocator};
use crate::allocator::messages::{
    AddAgent, AddFramework, Allocations, Recover, RemoveAgent, RemoveFramework, ReviveOffers,
    SuppressOffers,
};
use crate::allocator::Allocation;
use crate::registrar::{AgentEntry, FrameworkEntry, LeaderInfo, Op, Proposed, RegistrySnapshot};
use crate::state::{KillOutcome, OperatorKill, OperatorTeardown};
use corral_api::agent::{
    AgentRegistered, AgentTask, RegisterAgent, RunTasks, ShutdownAgent, StatusAck, StatusUpdate,
};
use corral_api::framework::{
    Accept, Acknowledge, Decline, FrameworkError, FrameworkInfo, Kill, Offers, Operation,
    Reconcile, Revive, Subscribe, Subscribed, Suppress, Teardown, Update,
};
use corral_api::ids::{AgentId, FrameworkId, TaskId};
use corral_api::leader::{LeaderElected, NotLeader};
use corral_api::resources::Resources;
use corral_api::task::{StatusReason, StatusSource, TaskInfo, TaskState, TaskStatus};

fn res(text: &str) -> Resources {
    Resources::parse(text).expect("valid test resources")
}

/// A started lone master, leading, with Mesos's defaults.
fn lone() -> MasterCore {
    started(MasterConfig::default())
}

/// A started lone master with `cfg`, leading.
fn started(cfg: MasterConfig) -> MasterCore {
    let mut core = new_core(cfg);
    core.handle_started(at(0));
    core
}

fn registration(pid: &Pid) -> RegisterAgent {
    RegisterAgent::first("node-1", res("cpus:4;mem:1024"), pid.clone())
}

/// Feeds `msg` from `from` at `ms`.
fn send(
    core: &mut MasterCore,
    ms: u64,
    from: &Pid,
    msg: impl Into<super::effects::Incoming>,
) -> Vec<Action> {
    core.handle(at(ms), Some(from), Input::message(msg))
}

/// Admits an agent at `pid` and returns its id.
fn admit(core: &mut MasterCore, pid: &Pid) -> AgentId {
    let actions = send(core, 1, pid, registration(pid));
    registered_id(&actions).expect("the agent is admitted")
}

fn registered_id(actions: &[Action]) -> Option<AgentId> {
    actions.iter().find_map(|a| match a {
        Action::Send(_, Outgoing::AgentRegistered(r)) => Some(r.agent_id.clone()),
        _ => None,
    })
}

/// Subscribes a framework at `pid` and returns its id.
fn subscribe(core: &mut MasterCore, pid: &Pid, info: FrameworkInfo) -> FrameworkId {
    let actions = send(
        core,
        2,
        pid,
        Subscribe {
            credential: None,
            info,
        },
    );
    actions
        .iter()
        .find_map(|a| match a {
            Action::Send(_, Outgoing::Subscribed(s)) => Some(s.framework_id.clone()),
            _ => None,
        })
        .expect("the framework is subscribed")
}

/// The messages among `actions`, with their destinations.
fn sent(actions: &[Action]) -> Vec<(Pid, Outgoing)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(to, m) => Some((to.clone(), m.clone())),
            _ => None,
        })
        .collect()
}

/// The allocator messages among `actions`.
fn to_allocator(actions: &[Action]) -> Vec<ToAllocator> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Allocator(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn error_to(to: &Pid, message: &str) -> Action {
    let message = message.to_owned();
    Action::Send(
        to.clone(),
        Outgoing::FrameworkError(FrameworkError {
            message,
            removed: false,
        }),
    )
}

/// An agent and a framework with one offer of the agent's whole
/// resources outstanding.
struct Offered {
    core: MasterCore,
    agent_pid: Pid,
    agent: AgentId,
    fw_pid: Pid,
    fw: FrameworkId,
    offer: corral_api::framework::Offer,
}

fn offered() -> Offered {
    offered_with(MasterConfig::default(), FrameworkInfo::new("batch", "*"))
}

/// [`offered`] with the master's `cfg` and the framework's `info`.
fn offered_with(cfg: MasterConfig, info: FrameworkInfo) -> Offered {
    let mut core = started(cfg);
    let agent_pid = pid("agent", 5051);
    let agent = admit(&mut core, &agent_pid);
    let fw_pid = pid("scheduler", 6000);
    let fw = subscribe(&mut core, &fw_pid, info);
    let allocations = Allocations {
        allocations: vec![Allocation {
            framework: fw.clone(),
            agent: agent.clone(),
            resources: res("cpus:4;mem:1024"),
        }],
    };
    let actions = core.handle(at(3), None, Input::message(allocations));
    let offer = match sent(&actions).as_slice() {
        [(to, Outgoing::Offers(Offers { offers }))] if to == &fw_pid && offers.len() == 1 => {
            offers[0].clone()
        }
        other => panic!("expected one offer to the framework, got {other:?}"),
    };
    Offered {
        core,
        agent_pid,
        agent,
        fw_pid,
        fw,
        offer,
    }
}

/// `offered()` with task `t1` (1 cpu) launched from the offer.
fn launched() -> Offered {
    launched_with(MasterConfig::default(), FrameworkInfo::new("batch", "*"))
}

/// [`launched`] with the master's `cfg` and the framework's `info`.
fn launched_with(cfg: MasterConfig, info: FrameworkInfo) -> Offered {
    let mut o = offered_with(cfg, info);
    let task = TaskInfo::command(TaskId::from("t1"), "true", res("cpus:1;mem:128"));
    let accept = Accept {
        offer_ids: vec![o.offer.id.clone()],
        operations: vec![Operation::Launch(vec![task])],
        refuse: None,
    };
    send(&mut o.core, 4, &o.fw_pid.clone(), accept);
    o
}

fn status(o: &Offered, state: TaskState, uuid: u8) -> StatusUpdate {
    StatusUpdate {
        status: TaskStatus {
            task_id: TaskId::from("t1"),
            framework_id: o.fw.clone(),
            agent_id: Some(o.agent.clone()),
            state,
            source: StatusSource::Executor,
            reason: None,
            message: String::new(),
            timestamp_ms: 5,
            uuid: Some([uuid; 16]),
        },
    }
}

#[test]
fn a_lone_master_leads_at_once_and_sets_its_periodic_timers() {
    let mut core = new_core(MasterConfig::default());
    let actions = core.handle_started(at(0));
    let timers: Vec<(Duration, Timer)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::SetTimer { after, timer, .. } => Some((*after, timer.clone())),
            _ => None,
        })
        .collect();
    let fifteen = Duration::from_secs(15);
    assert_eq!(
        timers,
        [(fifteen, Timer::Heartbeat), (fifteen, Timer::PingAgents)]
    );
    assert!(core.leadership().leading);
    assert_eq!(core.leadership().leader, Some(pid("master", 5050)));
}

#[test]
fn bad_agent_registrations_are_dropped_without_a_trace() {
    let agent = pid("agent", 5051);
    let task = |fw: &str, id: &str| AgentTask {
        framework_id: FrameworkId::from(fw),
        task_id: TaskId::from(id),
        name: "t".into(),
        resources: res("cpus:1"),
        state: TaskState::Running,
    };
    type Spoil = Box<dyn Fn(&mut RegisterAgent)>;
    let cases: Vec<(&str, Spoil)> = vec![
        ("empty host name", Box::new(|r| r.hostname.clear())),
        ("long host name", Box::new(|r| r.hostname = "h".repeat(256))),
        (
            "no resources",
            Box::new(|r| r.resources = Resources::empty()),
        ),
        ("bad attributes", Box::new(|r| r.attributes = "rack".into())),
        (
            "bad agent id",
            Box::new(|r| r.id = Some(AgentId::from("a/b"))),
        ),
        ("bad URL", Box::new(|r| r.http = Some("ftp://x".into()))),
        (
            "bad reported task",
            Box::new(move |r| r.tasks = vec![task("fw", "")]),
        ),
        (
            "framework without id",
            Box::new(|r| r.frameworks = vec![FrameworkInfo::new("f", "*")]),
        ),
    ];
    for (what, spoil) in cases {
        let mut core = lone();
        let mut m = registration(&agent);
        spoil(&mut m);
        let actions = send(&mut core, 1, &agent, m);
        assert_eq!(actions, [], "{what}");
        assert!(core.snapshot().agents.is_empty(), "{what}");
    }
}

#[test]
fn an_agent_is_admitted_linked_given_to_the_allocator_and_answered() {
    let mut core = lone();
    let agent = pid("agent", 5051);
    let actions = send(&mut core, 1, &agent, registration(&agent));
    let id = registered_id(&actions).expect("answered");
    assert_eq!(id, AgentId::from("abcdef01-S1"));
    let add = AddAgent {
        agent: id.clone(),
        total: res("cpus:4;mem:1024"),
        used: Vec::new(),
        orphaned: Resources::empty(),
    };
    let answer = AgentRegistered {
        agent_id: id,
        ping_interval: Duration::from_secs(15),
        tasks: Vec::new(),
        term: 0,
    };
    assert_eq!(
        actions,
        [
            Action::Link(agent.clone()),
            Action::Allocator(add.into()),
            Action::Send(agent.clone(), answer.clone().into()),
        ]
    );
    // A retry from the same actor is answered again, not admitted twice.
    let again = send(&mut core, 2, &agent, registration(&agent));
    assert_eq!(again, [Action::Send(agent, answer.into())]);
    assert_eq!(core.snapshot().agents.len(), 1);
}

#[test]
fn a_removed_agent_that_comes_back_is_told_to_shut_down() {
    let mut o = launched();
    let (agent_pid, agent) = (o.agent_pid.clone(), o.agent.clone());
    // Five missed pings make it unreachable; the removal timer removes it.
    for _ in 0..5 {
        let then = Then::Ponged {
            id: agent.clone(),
            pid: agent_pid.clone(),
        };
        let missed = Answer::Pong(Err(corral_runtime::AskError::Timeout));
        o.core.handle(at(10), None, Input::Answer(then, missed));
    }
    let removal = Input::Timer(Timer::RemoveUnreachable(agent.clone()));
    let actions = o.core.handle(at(20), None, removal);
    let gone: Vec<TaskState> = sent(&actions)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Outgoing::Update(u) => Some(u.status.state),
            _ => None,
        })
        .collect();
    // Not partition-aware: it was told LOST already, and LOST is final
    // for it here (the task retired), so nothing more is said.
    assert_eq!(gone, []);
    let back = RegisterAgent {
        id: Some(agent.clone()),
        ..registration(&agent_pid)
    };
    let actions = send(&mut o.core, 30, &agent_pid, back);
    let message = format!("agent {agent} was removed after it became unreachable");
    assert_eq!(
        actions,
        [Action::Send(agent_pid, ShutdownAgent { message }.into())]
    );
}

#[test]
fn an_agent_that_misses_its_pings_becomes_unreachable_and_its_tasks_lost() {
    let mut o = launched();
    let ping = o
        .core
        .handle(at(15_000), None, Input::Timer(Timer::PingAgents));
    let then = Then::Ponged {
        id: o.agent.clone(),
        pid: o.agent_pid.clone(),
    };
    assert_eq!(
        ping[0],
        Action::Ask {
            to: o.agent_pid.clone(),
            question: Question::Ping,
            timeout: Duration::from_secs(15),
            then: then.clone(),
        }
    );
    let missed = || Answer::Pong(Err(corral_runtime::AskError::Timeout));
    for _ in 0..4 {
        let actions = o
            .core
            .handle(at(16_000), None, Input::Answer(then.clone(), missed()));
        assert_eq!(actions, [], "fewer than max_missed_pings change nothing");
    }
    let actions = o
        .core
        .handle(at(17_000), None, Input::Answer(then, missed()));
    assert_eq!(actions[0], Action::Unlink(o.agent_pid.clone()));
    assert!(to_allocator(&actions).contains(
        &RemoveAgent {
            agent: o.agent.clone()
        }
        .into()
    ));
    let lost: Vec<(TaskState, Option<StatusReason>)> = sent(&actions)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Outgoing::Update(u) if to == o.fw_pid => Some((u.status.state, u.status.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        lost,
        [(TaskState::Lost, Some(StatusReason::AgentUnreachable))]
    );
    assert!(matches!(
        actions.last(),
        Some(Action::SetTimer { timer: Timer::RemoveUnreachable(a), .. }) if a == &o.agent
    ));
    assert!(o.core.snapshot().agents.is_empty());
}

#[test]
fn bad_subscriptions_are_refused_in_words() {
    let fw = pid("scheduler", 6000);
    let cases: Vec<(FrameworkInfo, &str)> = vec![
        (
            FrameworkInfo::new(&"n".repeat(1025), "*"),
            "framework name is longer than 1024 bytes",
        ),
        (
            FrameworkInfo {
                roles: vec!["a".into(), "b".into()],
                ..FrameworkInfo::new("f", "a")
            },
            "a framework takes one role for now",
        ),
        (FrameworkInfo::new("f", "a/b"), "invalid role: "),
        (
            FrameworkInfo {
                id: Some(FrameworkId::from("")),
                ..FrameworkInfo::new("f", "*")
            },
            "invalid framework id: ",
        ),
    ];
    for (info, expected) in cases {
        let mut core = lone();
        let actions = send(
            &mut core,
            1,
            &fw,
            Subscribe {
                credential: None,
                info,
            },
        );
        match actions.as_slice() {
            [Action::Send(to, Outgoing::FrameworkError(e))] => {
                assert_eq!(to, &fw);
                assert!(e.message.starts_with(expected), "{}", e.message);
            }
            other => panic!("expected one error for {expected}, got {other:?}"),
        }
        assert!(core.snapshot().frameworks.is_empty());
    }
}

#[test]
fn a_framework_is_subscribed_linked_and_given_to_the_allocator() {
    let mut core = lone();
    let fw = pid("scheduler", 6000);
    let actions = send(
        &mut core,
        1,
        &fw,
        Subscribe {
            credential: None,
            info: FrameworkInfo::new("batch", "web"),
        },
    );
    let id = FrameworkId::from("abcdef01-0001");
    assert_eq!(
        actions,
        [
            Action::Link(fw.clone()),
            Action::Allocator(
                AddFramework {
                    framework: id.clone(),
                    role: "web".into()
                }
                .into()
            ),
            Action::Send(
                fw.clone(),
                Subscribed {
                    framework_id: id.clone(),
                    heartbeat_interval: Duration::from_secs(15),
                    term: 0,
                }
                .into()
            ),
        ]
    );
    // It may not change its role.
    let info = FrameworkInfo {
        id: Some(id.clone()),
        ..FrameworkInfo::new("batch", "other")
    };
    let actions = send(
        &mut core,
        2,
        &fw,
        Subscribe {
            credential: None,
            info,
        },
    );
    let message = format!("framework {id} cannot change its role from 'web'");
    assert_eq!(actions, [error_to(&fw, &message)]);
}

#[test]
fn calls_from_actors_that_did_not_subscribe_are_refused_in_words() {
    let stranger = pid("stranger", 7000);
    let uuid = [1; 16];
    let calls: Vec<(super::effects::Incoming, &str)> = vec![
        (
            Accept {
                offer_ids: Vec::new(),
                operations: Vec::new(),
                refuse: None,
            }
            .into(),
            "accept",
        ),
        (
            Decline {
                offer_ids: Vec::new(),
                refuse: None,
            }
            .into(),
            "decline",
        ),
        (Revive.into(), "revive"),
        (Suppress.into(), "suppress"),
        (
            Kill {
                task_id: TaskId::from("t"),
            }
            .into(),
            "kill",
        ),
        (
            Acknowledge {
                task_id: TaskId::from("t"),
                agent_id: AgentId::from("a"),
                uuid,
            }
            .into(),
            "acknowledge",
        ),
        (
            Reconcile {
                task_ids: Vec::new(),
            }
            .into(),
            "reconcile",
        ),
        (Teardown.into(), "teardown"),
    ];
    for (call, what) in calls {
        let mut core = lone();
        let actions = core.handle(at(1), Some(&stranger), Input::Message(call));
        let message = format!("{what} refused: not subscribed (send Subscribe first)");
        assert_eq!(actions, [error_to(&stranger, &message)], "{what}");
    }
}

#[test]
fn a_master_that_does_not_lead_names_the_leader_it_knows() {
    let registrar = pid("registrar", 5050);
    let mut core = MasterCore::new(
        MasterConfig::default(),
        Some(registrar.clone()),
        pid("master", 5050),
        [0; 4],
    );
    let actions = core.handle_started(at(0));
    assert!(actions.contains(&Action::Ask {
        to: registrar,
        question: Question::GetLeader,
        timeout: Duration::from_secs(1),
        then: Then::LeaderKnown,
    }));
    let fw = pid("scheduler", 6000);
    let subscribe = Subscribe {
        credential: None,
        info: FrameworkInfo::new("f", "*"),
    };
    let actions = send(&mut core, 1, &fw, subscribe);
    assert_eq!(
        actions,
        [Action::Send(fw, NotLeader { leader: None }.into())]
    );
    let kill = OperatorKill {
        framework_id: FrameworkId::from("f"),
        task_id: TaskId::from("t"),
        principal: None,
    };
    assert_eq!(
        core.handle_operator_kill(at(2), kill).0,
        KillOutcome::NotLeader
    );
}

#[test]
fn an_elected_master_commits_its_election_reads_the_registry_and_tells_everyone() {
    let registrar = pid("registrar", 5050);
    let me = pid("master", 5050);
    let mut core = MasterCore::new(
        MasterConfig::default(),
        Some(registrar.clone()),
        me.clone(),
        [0; 4],
    );
    core.handle_started(at(0));
    let info = LeaderInfo {
        term: 3,
        leader_id: Some(1),
        leader: Some(registrar.clone()),
        is_leader: true,
    };
    let actions = core.handle(
        at(1),
        None,
        Input::Answer(Then::LeaderKnown, Answer::Leader(Ok(info))),
    );
    let elected = Op::Elected {
        master: me.clone(),
        http: None,
    };
    assert!(actions.contains(&Action::Ask {
        to: registrar.clone(),
        question: Question::Propose(Box::new(elected)),
        timeout: Duration::from_secs(5),
        then: Then::ElectionCommitted {
            term: 3,
            registrar: registrar.clone()
        },
    }));
    assert!(
        !core.leadership().leading,
        "not before the registry is read"
    );
    let committed = Answer::Proposed(Ok(Proposed { result: Ok(7) }));
    let then = Then::ElectionCommitted {
        term: 3,
        registrar: registrar.clone(),
    };
    let actions = core.handle(at(2), None, Input::Answer(then, committed));
    assert_eq!(
        actions,
        [Action::Ask {
            to: registrar,
            question: Question::GetRegistry,
            timeout: Duration::from_secs(5),
            then: Then::RegistryRead { term: 3 },
        }]
    );
    let (agent, fw) = (pid("agent", 5051), pid("scheduler", 6000));
    let mut snapshot = RegistrySnapshot {
        applied: 7,
        registry: Default::default(),
    };
    snapshot.registry.agents.insert(
        AgentId::from("a1"),
        AgentEntry {
            hostname: "node-1".into(),
            pid: agent.clone(),
        },
    );
    snapshot.registry.frameworks.insert(
        FrameworkId::from("f1"),
        FrameworkEntry {
            info: FrameworkInfo::new("batch", "*"),
            pid: fw.clone(),
        },
    );
    let read = Answer::Registry(Ok(snapshot));
    let actions = core.handle(
        at(3),
        None,
        Input::Answer(Then::RegistryRead { term: 3 }, read),
    );
    let told: Vec<Pid> = sent(&actions)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Outgoing::LeaderElected(LeaderElected { leader, term: 3 }) if leader == me => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(told, [fw, agent]);
    assert!(core.leadership().leading);
    // The registry's framework waits, disconnected, for its failover.
    let frameworks = core.snapshot().frameworks;
    assert_eq!(frameworks.len(), 1);
    assert!(!frameworks[0].connected);
}

#[test]
fn an_accept_launches_on_the_agent_and_gives_the_rest_back_with_the_default_filter() {
    let mut o = offered();
    let task = TaskInfo::command(TaskId::from("t1"), "true", res("cpus:1;mem:128"));
    let accept = Accept {
        offer_ids: vec![o.offer.id.clone()],
        operations: vec![Operation::Launch(vec![task.clone()])],
        refuse: None,
    };
    let actions = send(&mut o.core, 4, &o.fw_pid.clone(), accept);
    let recover = Recover {
        framework: o.fw.clone(),
        agent: o.agent.clone(),
        resources: res("cpus:3;mem:896"),
        refuse: Some(Duration::from_secs(5)),
    };
    assert_eq!(to_allocator(&actions), [recover.into()]);
    match sent(&actions).as_slice() {
        [(
            to,
            Outgoing::RunTasks(RunTasks {
                framework_id,
                tasks,
                ..
            }),
        )] => {
            assert_eq!((to, framework_id), (&o.agent_pid, &o.fw));
            assert_eq!(tasks, &[task]);
        }
        other => panic!("expected one launch, got {other:?}"),
    }
    let t = &o.core.snapshot().tasks[0];
    assert_eq!((t.id.0.as_str(), t.state), ("t1", TaskState::Staging));
}

#[test]
fn an_accept_asking_for_more_than_offered_is_a_task_error_and_launches_nothing() {
    let mut o = offered();
    let task = TaskInfo::command(TaskId::from("big"), "true", res("cpus:8"));
    let accept = Accept {
        offer_ids: vec![o.offer.id.clone()],
        operations: vec![Operation::Launch(vec![task])],
        refuse: Some(Duration::from_secs(1)),
    };
    let actions = send(&mut o.core, 4, &o.fw_pid.clone(), accept);
    let recover = Recover {
        framework: o.fw.clone(),
        agent: o.agent.clone(),
        resources: res("cpus:4;mem:1024"),
        refuse: Some(Duration::from_secs(1)),
    };
    assert_eq!(to_allocator(&actions), [recover.into()]);
    match sent(&actions).as_slice() {
        [(to, Outgoing::Update(Update { status }))] => {
            assert_eq!(to, &o.fw_pid);
            assert_eq!(status.state, TaskState::Error);
        }
        other => panic!("expected one TASK_ERROR, got {other:?}"),
    }
    assert!(o.core.snapshot().tasks.is_empty());
}

#[test]
fn a_decline_gives_the_offer_back_with_its_filter_or_the_default() {
    for (refuse, applied) in [(None, 5), (Some(Duration::from_secs(60)), 60)] {
        let mut o = offered();
        let decline = Decline {
            offer_ids: vec![o.offer.id.clone()],
            refuse,
        };
        let actions = send(&mut o.core, 4, &o.fw_pid.clone(), decline);
        let recover = Recover {
            framework: o.fw.clone(),
            agent: o.agent.clone(),
            resources: res("cpus:4;mem:1024"),
            refuse: Some(Duration::from_secs(applied)),
        };
        assert_eq!(actions, [Action::Allocator(recover.into())]);
        // Declining it again names an offer that is gone: nothing happens.
        let again = Decline {
            offer_ids: vec![o.offer.id.clone()],
            refuse,
        };
        assert_eq!(send(&mut o.core, 5, &o.fw_pid.clone(), again), []);
    }
}

#[test]
fn revive_and_suppress_go_to_the_allocator() {
    let mut o = offered();
    let fw_pid = o.fw_pid.clone();
    let framework = o.fw.clone();
    assert_eq!(
        send(&mut o.core, 4, &fw_pid, Revive),
        [Action::Allocator(
            ReviveOffers {
                framework: framework.clone()
            }
            .into()
        )]
    );
    assert_eq!(
        send(&mut o.core, 5, &fw_pid, Suppress),
        [Action::Allocator(SuppressOffers { framework }.into())]
    );
}

#[test]
fn status_updates_are_forwarded_and_a_terminal_one_frees_the_task_until_acknowledged() {
    let mut o = launched();
    let agent_pid = o.agent_pid.clone();
    let running = status(&o, TaskState::Running, 1);
    let actions = send(&mut o.core, 5, &agent_pid, running.clone());
    assert_eq!(
        actions,
        [Action::Send(
            o.fw_pid.clone(),
            Update {
                status: running.status
            }
            .into()
        )]
    );
    let finished = status(&o, TaskState::Finished, 2);
    let actions = send(&mut o.core, 6, &agent_pid, finished.clone());
    let freed = Recover {
        framework: o.fw.clone(),
        agent: o.agent.clone(),
        resources: res("cpus:1;mem:128"),
        refuse: None,
    };
    assert_eq!(
        actions,
        [
            Action::Allocator(freed.into()),
            Action::Send(
                o.fw_pid.clone(),
                Update {
                    status: finished.status
                }
                .into()
            ),
        ]
    );
    let ack = Acknowledge {
        task_id: TaskId::from("t1"),
        agent_id: o.agent.clone(),
        uuid: [2; 16],
    };
    let actions = send(&mut o.core, 7, &o.fw_pid.clone(), ack);
    let to_agent = StatusAck {
        framework_id: o.fw.clone(),
        task_id: TaskId::from("t1"),
        uuid: [2; 16],
    };
    assert_eq!(actions, [Action::Send(agent_pid, to_agent.into())]);
    let snapshot = o.core.snapshot();
    assert_eq!(snapshot.tasks.len(), 1, "kept among the completed");
    assert_eq!(snapshot.tasks[0].state, TaskState::Finished);
}

#[test]
fn status_updates_the_master_cannot_take_are_dropped_or_acknowledged() {
    let mut o = launched();
    // From an actor that is not an admitted agent: dropped.
    let stranger = pid("stranger", 7000);
    let running = status(&o, TaskState::Running, 1);
    assert_eq!(send(&mut o.core, 5, &stranger, running), []);
    // Without a uuid: dropped.
    let mut no_uuid = status(&o, TaskState::Running, 1);
    no_uuid.status.uuid = None;
    assert_eq!(send(&mut o.core, 5, &o.agent_pid.clone(), no_uuid), []);
    // For a framework the master does not know: acknowledged so that the
    // agent stops retrying.
    let mut unknown = status(&o, TaskState::Running, 3);
    unknown.status.framework_id = FrameworkId::from("gone");
    let ack = StatusAck {
        framework_id: FrameworkId::from("gone"),
        task_id: TaskId::from("t1"),
        uuid: [3; 16],
    };
    assert_eq!(
        send(&mut o.core, 5, &o.agent_pid.clone(), unknown),
        [Action::Send(o.agent_pid.clone(), ack.into())]
    );
    assert_eq!(o.core.snapshot().tasks[0].state, TaskState::Staging);
}

#[test]
fn a_kill_goes_to_the_agent_and_an_unknown_task_is_answered_lost() {
    let mut o = launched();
    let fw_pid = o.fw_pid.clone();
    let actions = send(
        &mut o.core,
        5,
        &fw_pid,
        Kill {
            task_id: TaskId::from("t1"),
        },
    );
    let kill = corral_api::agent::KillTask {
        framework_id: o.fw.clone(),
        task_id: TaskId::from("t1"),
    };
    assert_eq!(actions, [Action::Send(o.agent_pid.clone(), kill.into())]);
    let actions = send(
        &mut o.core,
        6,
        &fw_pid,
        Kill {
            task_id: TaskId::from("nope"),
        },
    );
    match sent(&actions).as_slice() {
        [(to, Outgoing::Update(Update { status }))] => {
            assert_eq!(to, &fw_pid);
            assert_eq!(
                (status.state, status.reason),
                (TaskState::Lost, Some(StatusReason::Reconciliation))
            );
        }
        other => panic!("expected one update, got {other:?}"),
    }
    let operator = |fw: &FrameworkId, task: &str| OperatorKill {
        framework_id: fw.clone(),
        task_id: TaskId::from(task),
        principal: None,
    };
    let fw = o.fw.clone();
    let cases = [
        (operator(&fw, "t1"), KillOutcome::Accepted),
        (operator(&fw, "nope"), KillOutcome::UnknownTask),
        (
            operator(&FrameworkId::from("x"), "t1"),
            KillOutcome::UnknownFramework,
        ),
    ];
    for (kill, outcome) in cases {
        assert_eq!(o.core.handle_operator_kill(at(7), kill).0, outcome);
    }
}

#[test]
fn reconciling_an_unknown_task_waits_while_agents_may_still_come_back() {
    let mut o = launched();
    let fw_pid = o.fw_pid.clone();
    let ask = Reconcile {
        task_ids: vec![TaskId::from("t1"), TaskId::from("elsewhere")],
    };
    let actions = send(&mut o.core, 5, &fw_pid, ask);
    // The known task is answered now; the unknown one is held.
    let states: Vec<TaskState> = sent(&actions)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Outgoing::Update(u) => Some(u.status.state),
            _ => None,
        })
        .collect();
    assert_eq!(states, [TaskState::Staging]);
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::SetTimer {
            timer: Timer::DeferredReconciles,
            ..
        }
    )));
    // Still settling (a lone master waits 6 ping intervals): held again.
    let actions = o
        .core
        .handle(at(1_000), None, Input::Timer(Timer::DeferredReconciles));
    assert!(sent(&actions).is_empty());
    // Settled: answered LOST, as the framework is not partition-aware.
    let actions = o
        .core
        .handle(at(91_000), None, Input::Timer(Timer::DeferredReconciles));
    match sent(&actions).as_slice() {
        [(to, Outgoing::Update(Update { status }))] => {
            assert_eq!(to, &fw_pid);
            assert_eq!(
                (status.task_id.0.as_str(), status.state),
                ("elsewhere", TaskState::Lost)
            );
        }
        other => panic!("expected one answer, got {other:?}"),
    }
}

#[test]
fn a_framework_that_disconnects_is_removed_after_its_failover_timeout_unless_it_returns() {
    for returns in [false, true] {
        let mut o = launched();
        let fw_pid = o.fw_pid.clone();
        let actions = o.core.handle(at(5), None, Input::Exited(fw_pid.clone()));
        let suppress = SuppressOffers {
            framework: o.fw.clone(),
        };
        assert!(to_allocator(&actions).contains(&suppress.into()));
        let key = actions
            .iter()
            .find_map(|a| match a {
                Action::SetTimer {
                    key,
                    timer: Timer::FailoverTimeout(f),
                    ..
                } if f == &o.fw => Some(*key),
                _ => None,
            })
            .expect("a failover timer");
        if returns {
            let info = FrameworkInfo {
                id: Some(o.fw.clone()),
                ..FrameworkInfo::new("batch", "*")
            };
            let actions = send(
                &mut o.core,
                6,
                &fw_pid,
                Subscribe {
                    credential: None,
                    info,
                },
            );
            assert!(actions.contains(&Action::CancelTimer(key)));
        }
        let fired = Input::Timer(Timer::FailoverTimeout(o.fw.clone()));
        let actions = o.core.handle(at(7), None, fired);
        let removed = to_allocator(&actions).into_iter().any(|m| {
            matches!(m, ToAllocator::RemoveFramework(RemoveFramework { ref framework, .. }) if framework == &o.fw)
        });
        assert_eq!(removed, !returns, "returns: {returns}");
        let snapshot = o.core.snapshot();
        assert_eq!(snapshot.frameworks.len(), usize::from(returns));
        assert_eq!(snapshot.completed_frameworks.len(), usize::from(!returns));
    }
}

#[test]
fn operators_kill_and_tear_down_only_what_acls_allow_and_a_refusal_changes_nothing() {
    let acls = crate::acls::Acls::parse(
        r#"{"permissive": false,
            "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
            "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
            "kill_tasks": [{"principals": {"values": ["ops", "killer"]},
                            "framework_principals": {"values": ["batch"]}}],
            "teardown_frameworks": [{"principals": {"values": ["ops"]},
                                     "framework_principals": {"values": ["batch"]}}]}"#,
    )
    .expect("valid ACLs");
    let cfg = MasterConfig {
        acls,
        ..MasterConfig::default()
    };
    let info = FrameworkInfo {
        principal: Some("batch".into()),
        ..FrameworkInfo::new("batch", "*")
    };
    let mut o = launched_with(cfg, info);
    let kill = |principal: Option<&str>| OperatorKill {
        framework_id: o.fw.clone(),
        task_id: TaskId::from("t1"),
        principal: principal.map(str::to_owned),
    };
    let teardown = |principal: Option<&str>| OperatorTeardown {
        framework_id: o.fw.clone(),
        principal: principal.map(str::to_owned),
    };
    for who in [None, Some("dev")] {
        let (outcome, actions) = o.core.handle_operator_kill(at(5), kill(who));
        assert_eq!((outcome, actions), (KillOutcome::Denied, vec![]), "{who:?}");
    }
    for who in [None, Some("dev"), Some("killer")] {
        let (outcome, actions) = o.core.handle_operator_teardown(at(5), teardown(who));
        assert_eq!((outcome, actions), (KillOutcome::Denied, vec![]), "{who:?}");
    }
    assert_eq!(o.core.snapshot().frameworks.len(), 1);
    let (outcome, actions) = o.core.handle_operator_kill(at(6), kill(Some("killer")));
    assert_eq!(outcome, KillOutcome::Accepted);
    let sent_kill = corral_api::agent::KillTask {
        framework_id: o.fw.clone(),
        task_id: TaskId::from("t1"),
    };
    assert_eq!(
        actions,
        [Action::Send(o.agent_pid.clone(), sent_kill.into())]
    );
    // The framework hears why it is gone, then it is.
    let (outcome, actions) = o
        .core
        .handle_operator_teardown(at(7), teardown(Some("ops")));
    assert_eq!(outcome, KillOutcome::Accepted);
    let removal = FrameworkError {
        message: "Framework has been removed (torn down by an operator)".into(),
        removed: true,
    };
    assert_eq!(
        actions[0],
        Action::Send(o.fw_pid.clone(), Outgoing::FrameworkError(removal))
    );
    let shutdown = corral_api::agent::ShutdownFramework {
        framework_id: o.fw.clone(),
    };
    assert!(actions.contains(&Action::Send(o.agent_pid.clone(), shutdown.into())));
    assert!(o.core.snapshot().frameworks.is_empty());
    let (outcome, _) = o
        .core
        .handle_operator_teardown(at(8), teardown(Some("ops")));
    assert_eq!(outcome, KillOutcome::UnknownFramework);
}

#[test]
fn teardown_removes_the_framework_and_shuts_it_down_on_its_agents() {
    let mut o = launched();
    let fw_pid = o.fw_pid.clone();
    let actions = send(&mut o.core, 5, &fw_pid, Teardown);
    assert_eq!(actions[0], Action::Unlink(fw_pid));
    let shutdown = corral_api::agent::ShutdownFramework {
        framework_id: o.fw.clone(),
    };
    assert!(actions.contains(&Action::Send(o.agent_pid.clone(), shutdown.into())));
    let removal = RemoveFramework {
        framework: o.fw.clone(),
        still_running: vec![(o.agent.clone(), res("cpus:1;mem:128"))],
    };
    assert!(to_allocator(&actions).contains(&removal.into()));
}

#[test]
fn allocations_for_frameworks_or_agents_that_left_go_back() {
    let mut o = offered();
    o.core.handle(at(5), None, Input::Exited(o.fw_pid.clone()));
    let allocations = Allocations {
        allocations: vec![Allocation {
            framework: o.fw.clone(),
            agent: o.agent.clone(),
            resources: res("cpus:1"),
        }],
    };
    let actions = o.core.handle(at(6), None, Input::message(allocations));
    let back = Recover {
        framework: o.fw.clone(),
        agent: o.agent.clone(),
        resources: res("cpus:1"),
        refuse: None,
    };
    assert_eq!(actions, [Action::Allocator(back.into())]);
}

#[test]
fn an_answer_that_does_not_fit_its_question_changes_nothing() {
    let mut o = launched();
    let before = o.core.snapshot();
    let then = Then::Ponged {
        id: o.agent.clone(),
        pid: o.agent_pid.clone(),
    };
    let wrong = Answer::Proposed(Ok(Proposed { result: Ok(1) }));
    assert_eq!(o.core.handle(at(5), None, Input::Answer(then, wrong)), []);
    assert_eq!(o.core.snapshot(), before);
}

/// A started lone master with `ops` (secret `s3`) known, requiring
/// frameworks and agents to authenticate as `required` says.
fn authenticating(frameworks: bool, agents: bool) -> MasterCore {
    let credentials = corral_api::auth::Credentials::from_list(vec![credential("ops", "s3")])
        .expect("valid credentials");
    let cfg = MasterConfig {
        authentication: super::config::Authentication {
            credentials: Some(credentials),
            frameworks,
            agents,
            certificates: true,
        },
        ..MasterConfig::default()
    };
    started(cfg)
}

fn credential(principal: &str, secret: &str) -> corral_api::auth::Credential {
    corral_api::auth::Credential {
        principal: principal.into(),
        secret: corral_api::auth::Secret::new(secret),
    }
}

#[test]
fn frameworks_prove_their_principal_or_are_refused_in_words() {
    let fw = pid("scheduler", 6000);
    let named = |p: &str| FrameworkInfo {
        principal: Some(p.into()),
        ..FrameworkInfo::new("f", "*")
    };
    let refused = |why: &str| Err(format!("subscription refused: {why}"));
    const REQUIRED: &str = "authentication required: give a credential (principal and secret) \
                            or connect with a certificate from the cluster CA that names a principal";
    // Required?, the info, the credential, the principal the sender's
    // certificate proves, and the principal subscribed with or the error.
    type Case = (
        bool,
        FrameworkInfo,
        Option<corral_api::auth::Credential>,
        Option<&'static str>,
        Result<Option<String>, String>,
    );
    let cases: Vec<Case> = vec![
        // Required: none, a wrong secret, an unknown principal, or another
        // principal than the info names are refused.
        (
            true,
            FrameworkInfo::new("f", "*"),
            None,
            None,
            refused(REQUIRED),
        ),
        (
            true,
            FrameworkInfo::new("f", "*"),
            Some(credential("ops", "nope")),
            None,
            refused(
                "authentication failed for principal \"ops\": unknown principal or wrong secret",
            ),
        ),
        (
            true,
            FrameworkInfo::new("f", "*"),
            Some(credential("who", "s3")),
            None,
            refused(
                "authentication failed for principal \"who\": unknown principal or wrong secret",
            ),
        ),
        (
            true,
            named("web"),
            Some(credential("ops", "s3")),
            None,
            refused("the framework's principal \"web\" is not the authenticated \"ops\""),
        ),
        // Proved: the info takes the principal.
        (
            true,
            FrameworkInfo::new("f", "*"),
            Some(credential("ops", "s3")),
            None,
            Ok(Some("ops".into())),
        ),
        (
            true,
            named("ops"),
            Some(credential("ops", "s3")),
            None,
            Ok(Some("ops".into())),
        ),
        // Not required: none is fine, a wrong one is still refused.
        (false, FrameworkInfo::new("f", "*"), None, None, Ok(None)),
        (
            false,
            FrameworkInfo::new("f", "*"),
            Some(credential("ops", "nope")),
            None,
            refused(
                "authentication failed for principal \"ops\": unknown principal or wrong secret",
            ),
        ),
        // A certificate from the cluster CA proves its principal, which
        // need not be among the credentials; a credential beside it must
        // prove the same one, and the info may not name another.
        (
            true,
            FrameworkInfo::new("f", "*"),
            None,
            Some("web"),
            Ok(Some("web".into())),
        ),
        (
            true,
            named("web"),
            None,
            Some("web"),
            Ok(Some("web".into())),
        ),
        (
            true,
            named("ops"),
            None,
            Some("web"),
            refused("the framework's principal \"ops\" is not the authenticated \"web\""),
        ),
        (
            true,
            FrameworkInfo::new("f", "*"),
            Some(credential("ops", "s3")),
            Some("ops"),
            Ok(Some("ops".into())),
        ),
        (
            false,
            FrameworkInfo::new("f", "*"),
            Some(credential("ops", "s3")),
            Some("web"),
            refused(
                "the credential's principal \"ops\" is not \"web\", whom the certificate proves",
            ),
        ),
        (
            false,
            FrameworkInfo::new("f", "*"),
            None,
            Some("web"),
            Ok(Some("web".into())),
        ),
    ];
    for (required, info, credential, certified, expected) in cases {
        let mut core = authenticating(required, false);
        let input = Input::message(Subscribe { info, credential });
        let actions = core.handle_certified(at(1), Some(&fw), certified, input);
        let frameworks = core.snapshot().frameworks;
        match expected {
            Ok(principal) => {
                assert!(sent(&actions)
                    .iter()
                    .any(|(_, m)| matches!(m, Outgoing::Subscribed(_))));
                assert_eq!(frameworks[0].info.principal, principal);
            }
            Err(message) => {
                assert_eq!(actions, [error_to(&fw, &message)]);
                assert!(frameworks.is_empty(), "a refusal changes nothing");
            }
        }
    }
}

#[test]
fn agents_prove_their_principal_or_are_told_why_they_are_refused() {
    let agent = pid("agent", 5051);
    for (required, given, certified, admitted) in [
        (true, None, None, false),
        (true, Some(credential("ops", "bad")), None, false),
        (true, Some(credential("ops", "s3")), None, true),
        (false, None, None, true),
        (false, Some(credential("ops", "bad")), None, false),
        // An agent whose certificate names a principal proves it.
        (true, None, Some("node-7"), true),
        (true, Some(credential("ops", "s3")), Some("node-7"), false),
    ] {
        let mut core = authenticating(false, required);
        let m = RegisterAgent {
            credential: given.clone(),
            ..registration(&agent)
        };
        let input = Input::message(m);
        let actions = core.handle_certified(at(1), Some(&agent), certified, input);
        assert_eq!(registered_id(&actions).is_some(), admitted, "{given:?}");
        assert_eq!(core.snapshot().agents.len(), usize::from(admitted));
        if !admitted {
            match actions.as_slice() {
                [Action::Send(to, Outgoing::RegistrationRefused(r))] => {
                    assert_eq!(to, &agent);
                    assert!(
                        r.message
                            .starts_with("registration refused: authentication")
                            || r.message
                                .starts_with("registration refused: the credential"),
                        "{}",
                        r.message
                    );
                }
                other => panic!("expected one refusal, got {other:?}"),
            }
        }
    }
}

#[test]
fn requiring_authentication_without_credentials_is_a_config_error() {
    let cfg = MasterConfig {
        authentication: super::config::Authentication {
            credentials: None,
            frameworks: true,
            agents: false,
            certificates: false,
        },
        ..MasterConfig::default()
    };
    let e = cfg.validate().unwrap_err().to_string();
    assert_eq!(
        e,
        "--authenticate-frameworks and --authenticate-agents need --credentials, or mutual TLS \
         (--tls-ca) for certificates that name principals"
    );
}

#[test]
fn acls_decide_who_registers_in_which_role_and_a_refusal_changes_nothing() {
    let acls = crate::acls::Acls::parse(
        r#"{"permissive": false, "register_frameworks": [
             {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
             {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}]}"#,
    )
    .expect("valid ACLs");
    let fw = pid("scheduler", 6000);
    let claimed = |principal: Option<&str>, role: &str| FrameworkInfo {
        principal: principal.map(str::to_owned),
        ..FrameworkInfo::new("f", role)
    };
    let cases = [
        (claimed(Some("ops"), "web"), None),
        (claimed(None, "*"), None),
        (
            claimed(Some("dev"), "web"),
            Some("subscription refused: principal \"dev\" may not register frameworks in role \"web\""),
        ),
        (
            claimed(None, "web"),
            Some("subscription refused: a framework without a principal may not register frameworks in role \"web\""),
        ),
    ];
    for (info, refusal) in cases {
        let mut core = started(MasterConfig {
            acls: acls.clone(),
            ..MasterConfig::default()
        });
        let actions = send(
            &mut core,
            1,
            &fw,
            Subscribe {
                info,
                credential: None,
            },
        );
        match refusal {
            None => assert_eq!(core.snapshot().frameworks.len(), 1),
            Some(message) => {
                assert_eq!(actions, [error_to(&fw, message)]);
                assert!(core.snapshot().frameworks.is_empty());
            }
        }
    }
}

#[test]
fn an_accept_running_as_a_user_the_principal_may_not_use_launches_nothing() {
    let acls = crate::acls::Acls::parse(
        r#"{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}},
                          {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
    )
    .expect("valid ACLs");
    for (user, allowed) in [("nobody", true), ("root", false), ("", false)] {
        let cfg = MasterConfig {
            acls: acls.clone(),
            ..MasterConfig::default()
        };
        let info = FrameworkInfo {
            user: user.into(),
            ..FrameworkInfo::new("batch", "*")
        };
        let Offered {
            mut core,
            agent,
            fw_pid,
            fw,
            offer,
            ..
        } = offered_with(cfg, info);
        let task = TaskInfo::command(TaskId::from("t1"), "id", res("cpus:1;mem:128"));
        let accept = Accept {
            offer_ids: vec![offer.id],
            operations: vec![Operation::Launch(vec![task])],
            refuse: None,
        };
        let actions = send(&mut core, 4, &fw_pid, accept);
        let launched = sent(&actions)
            .iter()
            .any(|(_, m)| matches!(m, Outgoing::RunTasks(_)));
        assert_eq!(launched, allowed, "as {user:?}");
        if !allowed {
            let whole = Recover {
                framework: fw.clone(),
                agent: agent.clone(),
                resources: res("cpus:4;mem:1024"),
                refuse: Some(Duration::from_secs(5)),
            };
            assert_eq!(
                to_allocator(&actions),
                [whole.into()],
                "the offer goes back whole"
            );
            match sent(&actions).as_slice() {
                [(to, Outgoing::Update(Update { status }))] => {
                    assert_eq!(to, &fw_pid);
                    assert_eq!(
                        (status.state, status.reason),
                        (TaskState::Error, Some(StatusReason::TaskUnauthorized))
                    );
                    assert!(
                        status.message.contains("may not run tasks as"),
                        "{}",
                        status.message
                    );
                }
                other => panic!("expected one TASK_ERROR, got {other:?}"),
            }
            assert!(core.snapshot().tasks.is_empty());
        }
    }
}

/// A core with task `t1` launched.
fn launched_core() -> MasterCore {
    launched().core
}

/// Publishes `core`'s state from `cache` and checks it against a full
/// snapshot built afresh.
fn publish(core: &mut MasterCore, cache: &mut super::ViewCache) -> crate::state::MasterState {
    let published = core.publication(cache);
    assert_eq!(
        published,
        core.snapshot(),
        "the publication is the snapshot"
    );
    published
}

#[test]
fn a_publication_built_from_the_last_one_is_the_full_snapshot_and_shares_what_did_not_change() {
    use std::sync::Arc;
    let mut cache = super::ViewCache::default();
    let mut o = offered();
    let (agent_pid, fw_pid) = (o.agent_pid.clone(), o.fw_pid.clone());
    let first = publish(&mut o.core, &mut cache);
    assert_eq!(first.agents[0].offered, res("cpus:4;mem:1024"));

    let tasks = ["t1", "t2"]
        .map(|id| TaskInfo::command(TaskId::from(id), "true", res("cpus:1;mem:128")))
        .to_vec();
    let accept = Accept {
        offer_ids: vec![o.offer.id.clone()],
        operations: vec![Operation::Launch(tasks)],
        refuse: None,
    };
    send(&mut o.core, 4, &fw_pid, accept);
    let launched = publish(&mut o.core, &mut cache);
    assert_eq!(launched.agents[0].used, res("cpus:2;mem:256"));

    let update = status(&o, TaskState::Running, 1);
    send(&mut o.core, 5, &agent_pid, update);
    let running = publish(&mut o.core, &mut cache);
    assert!(
        !Arc::ptr_eq(&launched.tasks[0], &running.tasks[0]),
        "t1 changed"
    );
    assert!(
        Arc::ptr_eq(&launched.tasks[1], &running.tasks[1]),
        "t2 is shared"
    );
    assert!(Arc::ptr_eq(&launched.agents[0], &running.agents[0]));

    let update = status(&o, TaskState::Finished, 2);
    send(&mut o.core, 6, &agent_pid, update);
    let finished = publish(&mut o.core, &mut cache);
    assert_eq!(finished.agents[0].used, res("cpus:1;mem:128"));
    let ack = Acknowledge {
        task_id: TaskId::from("t1"),
        agent_id: o.agent.clone(),
        uuid: [2; 16],
    };
    send(&mut o.core, 7, &fw_pid, ack);
    publish(&mut o.core, &mut cache);

    admit(&mut o.core, &pid("agent-2", 5052));
    assert_eq!(publish(&mut o.core, &mut cache).agents.len(), 2);
    // The framework leaves: its live task is an orphan still using its
    // agent, shown killed among the completed framework's tasks.
    send(&mut o.core, 8, &fw_pid, Teardown);
    let gone = publish(&mut o.core, &mut cache);
    assert_eq!(gone.completed_frameworks.len(), 1);
    assert_eq!(gone.agents[0].used, res("cpus:1;mem:128"));

    // A cache kept from another state still gives the right one: the
    // walk lets go of every task that is not there.
    let mut other = super::ViewCache::default();
    publish(&mut launched_core(), &mut other);
    publish(&mut o.core, &mut other);
}

#[path = "messages_tests.rs"]
mod messages_tests;
