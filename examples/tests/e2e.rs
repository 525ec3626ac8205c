//! End to end with real processes on loopback: a master, agents and
//! frameworks as QUIC nodes in this process, tasks run by the real
//! `corral-executor` binary in their sandboxes.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc::channel;
use std::time::Duration;

use common::{clock, cluster, launch, res, Call, ProbeHandle, Seen};
use corral_api::framework::{Decline, FrameworkInfo, Kill, Reconcile};
use corral_api::ids::{OfferId, TaskId};
use corral_api::task::TaskInfo;
use corral_api::task::{StatusReason, TaskState};
use corral_examples::batch::{Batch, BatchConfig, BatchEvent};
use corral_examples::local::start_framework;
use corral_examples::service::{Service, ServiceConfig, ServiceEvent};

fn task(id: &str, command: &str, resources: &str) -> TaskInfo {
    TaskInfo {
        task_id: TaskId(id.to_owned()),
        name: id.to_owned(),
        command: command.to_owned(),
        env: Vec::new(),
        resources: res(resources),
        container: None,
        executor: None,
    }
}

#[test]
fn fifty_tasks_over_three_agents_all_finish() {
    let c = cluster("fifty", 3, "cpus:1;mem:1024", |_| {});
    let (tx, rx) = channel();
    let info = FrameworkInfo::new("fifty", "*");
    let batch = BatchConfig::uniform(
        c.master().clone(),
        info,
        "t",
        50,
        "echo $INSTANCE done",
        res("cpus:0.1;mem:32"),
    );
    let (_node, _pid) = start_framework(
        Batch::new(
            batch,
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        )
        .into_framework(),
    )
    .expect("framework starts");
    let mut agents = BTreeSet::new();
    let done = loop {
        match rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the batch makes progress")
        {
            BatchEvent::Launched(_, agent) => {
                agents.insert(agent);
            }
            BatchEvent::Done(statuses) => break statuses,
            _ => {}
        }
    };
    assert_eq!(done.len(), 50);
    for s in done.values() {
        assert_eq!(s.state, TaskState::Finished, "{s:?}");
    }
    assert_eq!(agents.len(), 3, "tasks ran on every agent");
    let state = c
        .wait_for(Duration::from_secs(10), "resources to come back", |s| {
            s.agents.iter().all(|a| a.used.is_empty())
        })
        .expect("no task holds resources after the batch");
    assert_eq!(state.agents.len(), 3);
}

#[test]
fn a_tasks_stdout_and_stderr_hold_its_output_alone() {
    let test = "output";
    // The executors log all they do, into their own file.
    let c = cluster(test, 1, "cpus:1;mem:256", |cfg| {
        cfg.tune_agent = |a| a.executor_log = Some("debug".into());
    });
    let p = ProbeHandle::start(c.master());
    let fw = p.subscribe(FrameworkInfo::new(test, "*"));
    let offer = &p.next_offers()[0];
    p.call(launch(
        &offer.id,
        vec![task("o", "echo out; echo err >&2", "cpus:0.5;mem:64")],
    ));
    let end = p.updates_until_end("o").pop().expect("an update");
    assert_eq!(end.state, TaskState::Finished, "{end:?}");
    let sandbox = std::env::temp_dir()
        .join(format!("corral-e2e-{}-{test}", std::process::id()))
        .join("agent-0/frameworks")
        .join(&fw.0)
        .join("tasks/o");
    let read = |name: &str| std::fs::read_to_string(sandbox.join(name)).unwrap_or_default();
    assert_eq!(read("stdout"), "out\n");
    assert_eq!(read("stderr"), "err\n");
    assert!(
        !read("executor.log").is_empty(),
        "the executor's lines are in executor.log"
    );
}

#[test]
fn failing_command_reports_its_exit_code() {
    let c = cluster("failing", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("failing", "*"));
    let offer = &p.next_offers()[0];
    p.call(launch(
        &offer.id,
        vec![task("f", "echo before; exit 3", "cpus:0.5;mem:64")],
    ));
    let updates = p.updates_until_end("f");
    let states: Vec<_> = updates.iter().map(|u| u.state).collect();
    // It ran, then failed: the status is the command's, not a launch failure.
    assert_eq!(
        &states[states.len().saturating_sub(2)..],
        [TaskState::Running, TaskState::Failed],
        "{states:?}"
    );
    let end = updates.last().expect("a terminal update");
    assert_eq!(end.message, "Command exited with status 3", "{end:?}");
    assert_eq!(end.reason, Some(StatusReason::CommandExited), "{end:?}");
    p.call(Call::Reconcile(Reconcile {
        task_ids: vec![TaskId("f".into())],
    }));
    let r = p.update_of("f");
    assert_eq!(r.state, TaskState::Failed);
    assert_eq!(r.reason, Some(StatusReason::Reconciliation));
}

#[test]
fn failed_task_message_names_the_exit_code() {
    let c = cluster("exitcode", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("exitcode", "*"));
    let offer = &p.next_offers()[0];
    p.call(launch(
        &offer.id,
        vec![task("x", "exit 7", "cpus:0.5;mem:64")],
    ));
    let last = p.updates_until_end("x").pop().expect("an update");
    assert_eq!(last.state, TaskState::Failed);
    assert_eq!(last.message, "Command exited with status 7", "{last:?}");
}

#[test]
fn kill_gives_killed_and_the_resources_come_back() {
    let c = cluster("kill", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("kill", "*"));
    let offer = p.next_offers().remove(0);
    p.call(launch(
        &offer.id,
        vec![task("k", "sleep 60", "cpus:1;mem:256")],
    ));
    loop {
        if p.update_of("k").state == TaskState::Running {
            break;
        }
    }
    let killed_at = clock();
    p.call(Call::Kill(Kill {
        task_id: TaskId("k".into()),
    }));
    let end = p.updates_until_end("k").pop().expect("an update");
    assert_eq!(end.state, TaskState::Killed, "{end:?}");
    assert!(
        killed_at.elapsed() < Duration::from_secs(30),
        "killed, not left to finish"
    );
    // The whole agent is offered again.
    let back = p.next(|s| {
        matches!(s, Seen::Offers(o) if o.iter().any(|o| o.resources.cpus() >= 1.0 && o.resources.mem_mb() >= 256.0))
    });
    assert!(matches!(back, Seen::Offers(_)));
}

#[test]
fn decline_filter_keeps_the_agent_away_for_refuse_seconds() {
    let c = cluster("decline", 1, "cpus:1;mem:256", |_| {});
    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("decline", "*"));
    let offer = p.next_offers().remove(0);
    let refuse = Duration::from_secs(2);
    let declined_at = clock();
    p.call(Call::Decline(Decline {
        offer_ids: vec![offer.id],
        refuse: Some(refuse),
    }));
    p.next_offers();
    let waited = declined_at.elapsed();
    assert!(
        waited >= refuse,
        "offered again after {waited:?}, before the {refuse:?} filter ended"
    );
    assert!(
        waited < refuse + Duration::from_secs(3),
        "offered again only after {waited:?}"
    );
}

#[test]
fn weighted_roles_share_the_cluster_about_one_to_three() {
    // No agent until both frameworks are subscribed: one that started
    // first (the machine may be busy) would take what the other had to
    // share, and DRF shares only what both ask for.
    let mut c = cluster("weights", 0, "cpus:1;mem:1024", |cfg| {
        cfg.master.allocator.weights = vec![("light".into(), 1.0), ("heavy".into(), 3.0)];
    });
    let (tx, rx) = channel();
    let mut nodes = Vec::new();
    for role in ["light", "heavy"] {
        let tx = tx.clone();
        let cfg = ServiceConfig {
            master: c.master().clone(),
            info: FrameworkInfo::new(role, role),
            name: role.to_owned(),
            command: "sleep 120".to_owned(),
            resources: res("cpus:0.25;mem:32"),
            instances: 100,
            refuse: Duration::ZERO,
            tasks_per_offer: 1,
        };
        let fw = Service::new(
            cfg,
            Box::new(move |e| {
                let _ = tx.send((role, e));
            }),
        )
        .into_framework();
        nodes.push(start_framework(fw).expect("framework starts"));
    }
    let mut subscribed = BTreeSet::new();
    let mut early = Vec::new();
    while subscribed.len() < 2 {
        let (role, e) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("both frameworks subscribe");
        match e {
            ServiceEvent::Subscribed(_) => {
                subscribed.insert(role);
            }
            other => early.push((role, other)),
        }
    }
    assert!(early.is_empty(), "events before any agent: {early:?}");
    for _ in 0..4 {
        c.add_agent().expect("an agent joins");
    }
    let (mut light, mut heavy) = (0, 0);
    while light + heavy < 16 {
        let (role, e) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("both frameworks make progress");
        if let ServiceEvent::Status(s) = e {
            if s.state == TaskState::Running {
                if role == "light" {
                    light += 1
                } else {
                    heavy += 1
                }
            }
        }
    }
    assert_eq!(light + heavy, 16);
    assert!(
        (3..=6).contains(&light) && (10..=13).contains(&heavy),
        "light {light}, heavy {heavy}"
    );
}

#[test]
fn malformed_requests_are_rejected_and_the_cluster_goes_on() {
    let c = cluster("malformed", 1, "cpus:2;mem:512", |_| {});
    // Not subscribed: refused with an error.
    let stranger = ProbeHandle::start(c.master());
    stranger.call(Call::Kill(Kill {
        task_id: TaskId("x".into()),
    }));
    assert!(
        matches!(stranger.next(|s| matches!(s, Seen::Error(_))), Seen::Error(m) if m.contains("not subscribed"))
    );

    let p = ProbeHandle::start(c.master());
    p.subscribe(FrameworkInfo::new("malformed", "*"));
    let offer = p.next_offers().remove(0);
    // Unknown offer: the task is dropped (LOST: not partition-aware).
    p.call(launch(
        &OfferId("no-such-offer".into()),
        vec![task("u", "true", "cpus:0.1;mem:32")],
    ));
    assert_eq!(p.update_of("u").state, TaskState::Lost);
    // In one accept: too big, no resources, bad id, duplicate id, no command.
    p.call(launch(
        &offer.id,
        vec![
            task("big", "true", "cpus:64;mem:32"),
            task("empty", "true", ""),
            task("../escape", "true", "cpus:0.1;mem:32"),
            task("ok", "true", "cpus:0.1;mem:32"),
            task("ok", "true", "cpus:0.1;mem:32"),
            task("nocmd", "  ", "cpus:0.1;mem:32"),
        ],
    ));
    // Each bad task gets TASK_ERROR (the second "ok" too); the first "ok"
    // runs and finishes.
    let mut errors = Vec::new();
    let mut ok_finished = false;
    while errors.len() < 5 || !ok_finished {
        let Seen::Update(u) = p.next(|s| matches!(s, Seen::Update(_))) else {
            unreachable!()
        };
        match u.state {
            TaskState::Error => errors.push(u.task_id.0.clone()),
            TaskState::Finished if u.task_id.0 == "ok" => ok_finished = true,
            TaskState::Starting | TaskState::Running if u.task_id.0 == "ok" => {}
            other => panic!("unexpected {other:?} for {}: {}", u.task_id, u.message),
        }
    }
    errors.sort();
    assert_eq!(errors, ["../escape", "big", "empty", "nocmd", "ok"]);
    // The used offer again: dropped.
    p.call(launch(
        &offer.id,
        vec![task("again", "true", "cpus:0.1;mem:32")],
    ));
    assert_eq!(p.update_of("again").state, TaskState::Lost);
    // Kill of an unknown task: LOST.
    p.call(Call::Kill(Kill {
        task_id: TaskId("ghost".into()),
    }));
    assert_eq!(p.update_of("ghost").state, TaskState::Lost);
    // The cluster goes on: the whole agent is offered again, in one offer
    // or in several (what "ok" gave back may come apart from the rest; the
    // master never merges outstanding offers), and a task launched on them
    // all in one accept finishes.
    let mut held: Vec<OfferId> = Vec::new();
    let mut cpus = 0.0;
    let mut offers = p.take_passed_over_offers();
    loop {
        for o in offers {
            cpus += o.resources.cpus();
            held.push(o.id);
        }
        if cpus >= 2.0 - 1e-9 {
            break;
        }
        offers = p.next_offers();
    }
    assert!(cpus <= 2.0 + 1e-9, "offered {cpus} cpus of 2");
    let Call::Accept(mut accept) = launch(&held[0], vec![task("after", "true", "cpus:0.1;mem:32")])
    else {
        unreachable!()
    };
    accept.offer_ids = held;
    p.call(Call::Accept(accept));
    assert_eq!(
        p.updates_until_end("after").pop().map(|u| u.state),
        Some(TaskState::Finished)
    );
    let state = c
        .wait_for(Duration::from_secs(10), "no resources held", |s| {
            s.agents[0].used.is_empty()
        })
        .expect("nothing leaked");
    assert_eq!(state.agents[0].total.cpus(), 2.0);
}
