//! Failover with real processes on loopback: three `corral master`
//! processes replicating their registry, two `corral agent` processes and a
//! `corral execute` framework, all OS processes. The leading master is
//! SIGKILLed while tasks run; another master must take the lead, get the
//! agents and the framework back, keep the tasks running, and offer again.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::masters::Masters;
use common::procs::{free_tcp_port, free_udp_port, log_has, wait_for, Proc};
use common::state::{agents_of, running_tasks, state_at, task_state};
use serde_json::Value;

/// Generous limits: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);
const FAILOVER: Duration = Duration::from_secs(30);

/// The `/state` of the master serving HTTP on 127.0.0.1:`port`, if it leads.
fn state_of(port: u16) -> Option<Value> {
    state_at(&format!("127.0.0.1:{port}"))
}

#[test]
fn killing_the_leading_master_keeps_tasks_running_and_a_new_leader_offers() {
    let dir = common::procs::test_dir("failover-leader");
    let mut masters = Masters::on_free_ports(3, &dir, &["--allocation-interval", "100ms"]);
    let first = wait_for(START, "a leader among 3 masters", || masters.leader());
    // A standby sends a browser (the UI page) and API clients to the leader.
    let standby = (first + 1) % 3;
    // So do the Mesos endpoints tools read; `/master/redirect` names the
    // leader protocol-relative, as Mesos does.
    for path in ["/", "/state", "/master/state", "/master/tasks?limit=1"] {
        let (status, location) = wait_for(START, "a standby to know the leader", || {
            let got = common::state::answer_at(&masters.http(standby), path)?;
            (got.0 == 307).then_some(got)
        });
        assert_eq!(status, 307);
        assert_eq!(
            location.as_deref(),
            Some(format!("http://{}{path}", masters.http(first)).as_str()),
            "{path} on a standby"
        );
    }
    let (status, location) = common::state::answer_at(&masters.http(standby), "/master/redirect")
        .expect("the standby answers");
    assert_eq!(status, 307);
    let leader = format!("//{}", masters.http(first));
    assert_eq!(location.as_deref(), Some(leader.as_str()));

    let group = masters.group();
    let agents: Vec<Proc> = (0..2)
        .map(|i| common::procs::agent(&dir, i, &group))
        .collect();
    wait_for(START, "2 agents registered with the leader", || {
        let s = masters.state(first)?;
        (agents_of(&s) == 2).then_some(())
    });
    // A browser pointed at a standby lands on the leader's UI, and the
    // page's own requests (to the leader's origin) render the cluster.
    let browser = corral_examples::browser::Browser::find(&dir);
    let dom = browser.rendered_dom(&format!("http://{}/#/agents", masters.http(standby)));
    assert!(dom.contains("2 registered, 2 reachable"), "{dom}");

    let mut framework = Proc::spawn(
        "execute-sleep",
        &dir,
        &[
            "execute",
            "--master",
            &group,
            "--command",
            "sleep 600",
            "--instances",
            "2",
            "--cpus",
            "0.5",
            "--mem",
            "64",
        ],
    );
    let before = wait_for(START, "2 tasks running", || {
        let s = masters.state(first)?;
        let running = running_tasks(&s);
        (running.len() == 2).then_some(running)
    });

    let killed_at = Instant::now();
    masters.kill(first);
    let next = wait_for(FAILOVER, "another master to lead", || masters.leader());
    assert_ne!(next, first);
    let after = wait_for(FAILOVER, "agents and tasks back on the new leader", || {
        let s = masters.state(next)?;
        let running = running_tasks(&s);
        (agents_of(&s) == 2 && running == before).then_some(running)
    });
    eprintln!(
        "failover: new leader master{next} has both agents and {} running tasks {:?} after the kill",
        after.len(),
        killed_at.elapsed()
    );
    assert!(
        framework.is_running(),
        "the framework survived the failover"
    );

    // The new leader offers: a second framework runs a task to the end.
    let out = common::procs::corral_output(&[
        "execute",
        "--master",
        &group,
        "--command",
        "true",
        "--cpus",
        "0.1",
        "--mem",
        "16",
    ]);
    assert!(out.status.success(), "{out:?}");

    // The surviving tasks can still be killed through the new leader.
    let http = masters.http_list();
    for (task, _) in &after {
        let out = common::procs::corral_output(&["kill", "--master", &http, task]);
        assert!(out.status.success(), "kill {task}: {out:?}");
    }
    wait_for(FAILOVER, "the killed tasks to end", || {
        let s = masters.state(next)?;
        running_tasks(&s).is_empty().then_some(())
    });
    // The first framework saw its tasks end (killed) and exits.
    let status = framework.wait_exit(FAILOVER);
    assert!(
        status.is_some(),
        "corral execute exited after its tasks ended"
    );
    drop(agents);
}

/// The pids of processes whose command line is exactly `cmd`.
fn pids_of(cmd: &str) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .args(["-x", "-f", cmd])
        .output()
        .expect("pgrep runs");
    let mut pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    pids.sort();
    pids
}

#[test]
fn an_agent_killed_and_restarted_keeps_its_task_and_a_stopped_agent_is_unreachable_then_back() {
    let dir = common::procs::test_dir("failover-agent");
    let (port, http) = (free_udp_port(), free_tcp_port());
    let master = format!("127.0.0.1:{port}");
    let http_arg = http.to_string();
    let port_arg = port.to_string();
    let work = dir.join("master").to_string_lossy().into_owned();
    // Fast pings, so that a stopped agent is noticed within about a second.
    let _master = Proc::spawn(
        "master",
        &dir,
        &[
            "master",
            "--port",
            &port_arg,
            "--http-port",
            &http_arg,
            "--work-dir",
            &work,
            "--allocation-interval",
            "100ms",
            "--agent-ping-timeout",
            "300ms",
            "--max-agent-ping-timeouts",
            "3",
            "--agent-removal-timeout",
            "10m",
        ],
    );
    let (aport, ahttp) = (free_udp_port(), free_tcp_port());
    let mut agent = common::procs::agent_on(&dir, 0, &master, aport, ahttp);
    wait_for(START, "the agent registered", || {
        (agents_of(&state_of(http)?) == 1).then_some(())
    });
    // `sleep 602.N`, N this test process's id, is this run's own: its
    // process is found by that line (a run that failed midway may have
    // left its task running).
    let cmd = &format!("sleep 602.{}", std::process::id());
    let mut framework = Proc::spawn(
        "execute",
        &dir,
        &[
            "execute",
            "--master",
            &master,
            "--command",
            cmd,
            "--cpus",
            "0.5",
            "--mem",
            "64",
            "--checkpoint",
            "--partition-aware",
        ],
    );
    let task = wait_for(START, "the task running", || {
        let s = state_of(http)?;
        running_tasks(&s).first().map(|(id, _)| id.clone())
    });
    let sleeping = wait_for(START, "the task's process", || {
        let p = pids_of(cmd);
        (!p.is_empty()).then_some(p)
    });

    // SIGKILL the agent and start it again on its address and work dir.
    agent.sigkill();
    drop(agent);
    let agent = common::procs::agent_on(&dir, 1, &master, aport, ahttp);
    // The restarted agent has its own log; same work dir as agent 0.
    wait_for(START, "the restarted agent to register", || {
        log_has(&dir, "agent1", "registered with the master").then_some(())
    });
    assert_eq!(
        pids_of(cmd),
        sleeping,
        "the task's process survived the agent"
    );
    let s = state_of(http).expect("state");
    assert_eq!(task_state(&s, &task).as_deref(), Some("TASK_RUNNING"));

    // Stop the agent: the master stops hearing it, and the task is
    // unreachable; let it go on: it re-registers and the task is back.
    agent.signal("STOP");
    wait_for(START, "TASK_UNREACHABLE", || {
        let s = state_of(http)?;
        (task_state(&s, &task).as_deref() == Some("TASK_UNREACHABLE")).then_some(())
    });
    agent.signal("CONT");
    wait_for(START, "TASK_RUNNING again", || {
        let s = state_of(http)?;
        (task_state(&s, &task).as_deref() == Some("TASK_RUNNING") && agents_of(&s) == 1)
            .then_some(())
    });
    assert_eq!(
        pids_of(cmd),
        sleeping,
        "the task's process ran on throughout"
    );

    let out = common::procs::corral_output(&[
        "kill",
        "--master",
        &format!("http://127.0.0.1:{http}"),
        &task,
    ]);
    assert!(out.status.success(), "{out:?}");
    // The framework hears TASK_KILLED, and exits (then it is torn down,
    // so the master's state forgets the task).
    assert!(framework.wait_exit(START).is_some(), "corral execute exits");
    assert!(
        log_has(&dir, "execute", "Killed"),
        "the framework saw the kill"
    );
    wait_for(START, "the task's process gone", || {
        pids_of(cmd).is_empty().then_some(())
    });
}
