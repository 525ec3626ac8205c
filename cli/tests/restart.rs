//! Daemons SIGKILLed and restarted where they were, with tasks running:
//! their peers must notice the new process at once (the restarted node
//! answers the old connection with a QUIC stateless reset the peers
//! trust, since the key lives in its work dir), not after the 10 s link
//! timeout. Each process has a loopback address of its own, 127.12.9.N
//! with N unique in this file, so default ports never clash between tests.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use common::procs::{agent_at, log_of, lone_master, test_dir, wait_for, Proc};
use common::state::{agents_of, running_tasks, state_at};
use serde_json::Value;

/// Generous limits: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);

/// Well under the 10 s link timeout after which peers would notice anyway.
const NOTICED: Duration = Duration::from_secs(5);

/// This file's loopback address number `n`.
fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 12, 9, n))
}

/// `corral execute --master MASTER ARGS`, logging to `DIR/execute.log`.
fn execute(dir: &Path, master: &str, args: &[&str]) -> Proc {
    let mut all = vec!["execute", "--master", master];
    all.extend_from_slice(args);
    Proc::spawn("execute", dir, &all)
}

/// A `/state` on `ip`'s default port (5050 for a master, 5051 for an agent).
fn state(ip: IpAddr, port: u16) -> Option<Value> {
    state_at(&format!("{ip}:{port}"))
}

/// The ids of the frameworks a master's state shows, sorted.
fn framework_ids(state: &Value) -> Vec<String> {
    let mut ids: Vec<String> = state["frameworks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// The ids of the tasks an agent's state shows running with their
/// executor connected, sorted.
fn connected_tasks(agent: &Value) -> Vec<String> {
    let mut ids: Vec<String> = agent["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "TASK_RUNNING" && t["executor_connected"] == true)
        .filter_map(|t| t["task_id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// Interrupts `corral execute` and waits for it to tear its framework down.
fn interrupt(dir: &Path, job: &mut Proc) {
    job.signal("INT");
    let status = job.wait_exit(START).unwrap_or_else(|| {
        panic!(
            "timed out waiting for execute to exit on SIGINT; its log:\n{}",
            log_of(dir, "execute")
        )
    });
    assert_eq!(status.code(), Some(130), "{}", log_of(dir, "execute"));
}

#[test]
fn a_restarted_lone_master_has_its_agents_and_framework_back_at_once() {
    let dir = test_dir("restart-master");
    let (m, a, b) = (ip(11), ip(12), ip(13));
    let master_addr = format!("{m}:5050");
    let mut master = lone_master(&dir, "master", m, &[]);
    let _agents = [
        agent_at(&dir, "agent0", "agent0", &master_addr, a, &[]),
        agent_at(&dir, "agent1", "agent1", &master_addr, b, &[]),
    ];
    wait_for(START, "both agents registered", || {
        (agents_of(&state(m, 5050)?) == 2).then_some(())
    });
    let mut job = execute(
        &dir,
        &master_addr,
        &["--command", "sleep 30", "--instances", "2"],
    );
    let (fws, tasks) = wait_for(START, "2 tasks running", || {
        let s = state(m, 5050)?;
        let tasks = running_tasks(&s);
        (tasks.len() == 2).then(|| (framework_ids(&s), tasks))
    });
    assert_eq!(fws.len(), 1, "one framework: {fws:?}");

    master.sigkill();
    let _master = lone_master(&dir, "master-again", m, &[]);
    let restarted = Instant::now();
    // The new master knows nothing of the cluster: everything it shows,
    // the agents and their tasks and the framework came back to tell it.
    wait_for(
        Duration::from_secs(30),
        "both agents, the framework and both running tasks back on the restarted master",
        || {
            let s = state(m, 5050)?;
            (agents_of(&s) == 2 && framework_ids(&s) == fws && running_tasks(&s) == tasks)
                .then_some(())
        },
    );
    let took = restarted.elapsed();
    eprintln!("lone master restart: agents and framework back {took:?} after the restart");
    assert!(
        took < NOTICED,
        "agents and framework came back {took:?} after the master restarted"
    );
    assert!(
        job.is_running(),
        "execute kept its job: {}",
        log_of(&dir, "execute")
    );
    interrupt(&dir, &mut job);
}

#[test]
fn executors_are_back_with_a_restarted_agent_at_once() {
    let dir = test_dir("restart-agent");
    let (m, a) = (ip(21), ip(22));
    let master_addr = format!("{m}:5050");
    let _master = lone_master(&dir, "master", m, &[]);
    let mut first = agent_at(&dir, "agent", "agent-work", &master_addr, a, &[]);
    wait_for(START, "the agent registered", || {
        (agents_of(&state(m, 5050)?) == 1).then_some(())
    });
    let mut job = execute(
        &dir,
        &master_addr,
        &["--command", "sleep 30", "--checkpoint"],
    );
    let tasks = wait_for(START, "the task running with its executor", || {
        let tasks = connected_tasks(&state(a, 5051)?);
        (tasks.len() == 1).then_some(tasks)
    });

    first.sigkill();
    let _agent = agent_at(&dir, "agent-again", "agent-work", &master_addr, a, &[]);
    let restarted = Instant::now();
    wait_for(
        Duration::from_secs(30),
        "the executor re-registered with the restarted agent",
        || (connected_tasks(&state(a, 5051)?) == tasks).then_some(()),
    );
    let took = restarted.elapsed();
    eprintln!("agent restart: its executor back {took:?} after the restart");
    assert!(
        took < NOTICED,
        "the executor re-registered {took:?} after the agent restarted"
    );
    assert!(
        job.is_running(),
        "execute kept its job: {}",
        log_of(&dir, "execute")
    );
    interrupt(&dir, &mut job);
}
