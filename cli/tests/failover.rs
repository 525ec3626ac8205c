//! Failover with real processes on loopback: three `corral master`
//! processes replicating their registry, two `corral agent` processes and a
//! `corral execute` framework, all OS processes. The leading master is
//! SIGKILLed while tasks run; another master must take the lead, get the
//! agents and the framework back, keep the tasks running, and offer again.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::procs::{free_tcp_port, free_udp_port, wait_for, Proc};
use serde_json::Value;

/// Generous limits: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);
const FAILOVER: Duration = Duration::from_secs(30);

struct Masters {
    procs: Vec<Option<Proc>>,
    quic: Vec<u16>,
    http: Vec<u16>,
    dir: std::path::PathBuf,
}

impl Masters {
    fn start(n: usize, dir: &std::path::Path) -> Masters {
        let quic: Vec<u16> = (0..n).map(|_| free_udp_port()).collect();
        let http: Vec<u16> = (0..n).map(|_| free_tcp_port()).collect();
        let mut m = Masters {
            procs: Vec::new(),
            quic,
            http,
            dir: dir.to_owned(),
        };
        for i in 0..n {
            let p = m.spawn(i);
            m.procs.push(Some(p));
        }
        m
    }

    fn group(&self) -> String {
        let addrs: Vec<String> = self.quic.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        addrs.join(",")
    }

    fn http_list(&self) -> String {
        let urls: Vec<String> = self
            .http
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        urls.join(",")
    }

    fn spawn(&self, i: usize) -> Proc {
        let group = self.group();
        let work = self.dir.join(format!("master{i}"));
        let port = self.quic[i].to_string();
        let http = self.http[i].to_string();
        let work = work.to_string_lossy().into_owned();
        Proc::spawn(
            &format!("master{i}"),
            &self.dir,
            &[
                "master",
                "--port",
                &port,
                "--http-port",
                &http,
                "--masters",
                &group,
                "--work-dir",
                &work,
                "--allocation-interval",
                "100ms",
            ],
        )
    }

    /// The index of the master whose `/state` answers 200 (the leader).
    fn leader(&self) -> Option<usize> {
        (0..self.http.len()).find(|&i| self.procs[i].is_some() && state_of(self.http[i]).is_some())
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut p) = self.procs[i].take() {
            p.sigkill();
        }
    }
}

/// The leader's `/state`, if `port` is the leader's HTTP port (a
/// non-leader answers 307, which this deliberately does not follow).
fn state_of(port: u16) -> Option<Value> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(2))
        .build();
    let resp = agent
        .get(&format!("http://127.0.0.1:{port}/state"))
        .call()
        .ok()?;
    if resp.status() != 200 {
        return None;
    }
    resp.into_json().ok()
}

fn running_tasks(state: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = state["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["state"] == "TASK_RUNNING")
        .map(|t| {
            (
                t["id"].as_str().unwrap_or_default().to_owned(),
                t["agent_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn agents_of(state: &Value) -> usize {
    state["agents"].as_array().map_or(0, Vec::len)
}

#[test]
fn killing_the_leading_master_keeps_tasks_running_and_a_new_leader_offers() {
    let dir = common::procs::test_dir("failover-leader");
    let mut masters = Masters::start(3, &dir);
    let first = wait_for(START, "a leader among 3 masters", || masters.leader());

    let group = masters.group();
    let agents: Vec<Proc> = (0..2)
        .map(|i| common::procs::agent(&dir, i, &group))
        .collect();
    wait_for(START, "2 agents registered with the leader", || {
        let s = state_of(masters.http[first])?;
        (agents_of(&s) == 2).then_some(())
    });

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
        let s = state_of(masters.http[first])?;
        let running = running_tasks(&s);
        (running.len() == 2).then_some(running)
    });

    let killed_at = Instant::now();
    masters.kill(first);
    let next = wait_for(FAILOVER, "another master to lead", || masters.leader());
    assert_ne!(next, first);
    let after = wait_for(FAILOVER, "agents and tasks back on the new leader", || {
        let s = state_of(masters.http[next])?;
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
        let s = state_of(masters.http[next])?;
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
