//! The user's path with real processes: `corral master`, `corral agent` and
//! `corral execute` run exactly as the README runs them, with default flags
//! (Mesos's ports 5050 and 5051, detected resources, a 1 s allocation
//! interval). Each process has a loopback address of its own (Linux routes
//! all of 127.0.0.0/8 to loopback), 127.12.6.N with N unique in this file,
//! so that default ports never clash between tests running side by side.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use common::masters::Masters;
use common::procs::{
    agent_at, corral_output, log_has, log_of, lone_master, test_dir, wait_for, Proc,
};
use common::state::{agents_of, frameworks_of, json_at, running_tasks, state_at, task_state};
use serde_json::Value;

/// Generous limits: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);

/// This file's loopback address number `n`.
fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 12, 6, n))
}

/// `corral execute ARGS`, logging to `DIR/NAME.log`.
/// A lone master at `m` and default agents at `agents` (named `agent0`,
/// `agent1`, ...), once every agent is registered; with the master's
/// `/state` at that moment.
fn lone_cluster(dir: &Path, m: IpAddr, agents: &[IpAddr]) -> (Proc, Vec<Proc>, Value) {
    let master = lone_master(dir, "master", m, &[]);
    let master_addr = format!("{m}:5050");
    let procs = agents
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let name = format!("agent{i}");
            agent_at(dir, &name, &name, &master_addr, *ip, &[])
        })
        .collect();
    let state = wait_for(START, "every agent registered", || {
        master_state(m).filter(|s| agents_of(s) == agents.len())
    });
    (master, procs, state)
}

fn execute(dir: &Path, name: &str, args: &[&str]) -> Proc {
    let mut all = vec!["execute"];
    all.extend_from_slice(args);
    Proc::spawn(name, dir, &all)
}

/// The exit status of `p`, which must exit within `within`.
fn exit_of(p: &mut Proc, within: Duration, what: &str, log: (&Path, &str)) -> ExitStatus {
    p.wait_exit(within).unwrap_or_else(|| {
        panic!(
            "timed out waiting for {what}; its log:\n{}",
            log_of(log.0, log.1)
        )
    })
}

/// A master's `/state` on `ip`'s default port.
fn master_state(ip: IpAddr) -> Option<Value> {
    state_at(&format!("{ip}:5050"))
}

/// An agent's `/state` on `ip`'s default port.
fn agent_state(ip: IpAddr) -> Option<Value> {
    state_at(&format!("{ip}:5051"))
}

/// The states of the tasks of framework `fw` an agent has completed.
fn completed_on(agent: &Value, fw: &str) -> Vec<String> {
    agent["completed_tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["framework_id"] == fw)
        .filter_map(|t| t["state"].as_str().map(str::to_owned))
        .collect()
}

/// The framework id of the first running task a master shows.
fn running_framework(state: &Value) -> Option<String> {
    state["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["state"] == "TASK_RUNNING")
        .and_then(|t| t["framework_id"].as_str())
        .map(str::to_owned)
}

/// Whether no agent in a master's state has anything used.
fn nothing_used(state: &Value) -> bool {
    let agents = state["agents"].as_array().into_iter().flatten();
    agents
        .into_iter()
        .all(|a| a["used"]["cpus"] == 0.0 && a["used"]["mem"] == 0.0)
}

#[test]
fn the_readme_cluster_runs_a_job_across_two_default_agents() {
    let dir = test_dir("user-readme");
    let (m, a, b) = (ip(11), ip(12), ip(13));
    let (mut master, _agents, _) = lone_cluster(&dir, m, &[a, b]);
    let master_addr = format!("{m}:5050");

    let mut job = execute(
        &dir,
        "execute",
        &[
            "--master",
            &master_addr,
            "--command",
            "echo hi",
            "--instances",
            "4",
        ],
    );
    let status = exit_of(&mut job, START, "corral execute to end", (&dir, "execute"));
    let out = log_of(&dir, "execute");
    assert!(status.success(), "corral execute failed: {out}");
    assert!(out.contains("4 of 4 tasks finished"), "{out}");
    assert!(master.is_running(), "the master survived the job");

    let state = master_state(m).expect("the master still serves /state");
    let agents = state["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), 2, "{state}");
    for agent in agents {
        assert_eq!(agent["total"]["ports"], "[31000-32000]", "{agent}");
    }
    // The same range on two agents is two sets of ports.
    assert_eq!(
        state["totals"]["total"]["ports"], 2002,
        "{}",
        state["totals"]
    );
    let fw = out
        .split_whitespace()
        .skip_while(|w| *w != "framework")
        .nth(1)
        .expect("execute names its framework")
        .to_owned();
    // Every instance ran to TASK_FINISHED on an agent (which counts a task
    // completed once its last update is acknowledged).
    wait_for(
        Duration::from_secs(10),
        "4 tasks FINISHED on the agents",
        || {
            let mut finished = 0;
            for ip in [a, b] {
                let s = agent_state(ip)?;
                finished += completed_on(&s, &fw)
                    .iter()
                    .filter(|st| *st == "TASK_FINISHED")
                    .count();
            }
            (finished == 4).then_some(())
        },
    );
    // The job's framework is gone; the master still shows it and its
    // tasks, and the tasks' output can still be read.
    let state = master_state(m).expect("the master still serves /state");
    let completed = state["completed_frameworks"].as_array().expect("a list");
    assert!(
        completed.iter().any(|f| f["id"] == fw.as_str()),
        "{completed:?}"
    );
    let ended: Vec<&Value> = state["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["framework_id"] == fw.as_str())
        .collect();
    assert_eq!(ended.len(), 4, "{ended:?}");
    assert!(
        ended.iter().all(|t| t["state"] == "TASK_FINISHED"),
        "{ended:?}"
    );
    let task = ended[0]["id"].as_str().expect("a task id").to_owned();
    let mut log = Proc::spawn(
        "task-log",
        &dir,
        &["task", "log", &task, "--master", &master_addr],
    );
    let status = exit_of(&mut log, START, "corral task log", (&dir, "task-log"));
    let printed = log_of(&dir, "task-log");
    assert!(status.success(), "{printed}");
    assert!(printed.contains("hi"), "{printed}");
    // The two agents share this machine's hostname: the tables tell them
    // apart by address (the tasks may all have run on one of them).
    let table = |view: &str| {
        let out = corral_output(&[view, "--master", &master_addr]);
        assert!(out.status.success(), "{view}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let names = |ip: IpAddr| format!(" ({ip}:5051)");
    let agents = table("agents");
    assert!(
        agents.contains(&names(a)) && agents.contains(&names(b)),
        "{agents}"
    );
    let tasks = table("tasks");
    assert!(
        tasks.contains(&names(a)) || tasks.contains(&names(b)),
        "{tasks}"
    );
}

#[test]
fn execute_finishes_its_job_through_a_failover_of_three_default_masters() {
    let dir = test_dir("user-failover");
    let mut masters = Masters::on_ips(&[ip(21), ip(22), ip(23)], &dir);
    let first = wait_for(START, "a leader among 3 masters", || masters.leader());
    let group = masters.group();
    let _agents = [
        agent_at(&dir, "agent0", "agent0", &group, ip(24), &[]),
        agent_at(&dir, "agent1", "agent1", &group, ip(25), &[]),
    ];
    wait_for(START, "2 agents registered with the leader", || {
        (agents_of(&masters.state(first)?) == 2).then_some(())
    });

    let mut job = execute(
        &dir,
        "execute",
        &[
            "--master",
            &group,
            "--command",
            "sleep 3",
            "--instances",
            "4",
        ],
    );
    wait_for(START, "4 tasks running", || {
        (running_tasks(&masters.state(first)?).len() == 4).then_some(())
    });
    masters.kill(first);
    let killed = Instant::now();

    let status = exit_of(&mut job, START, "corral execute to end", (&dir, "execute"));
    let out = log_of(&dir, "execute");
    assert!(status.success(), "corral execute failed: {out}");
    assert!(out.contains("4 of 4 tasks finished"), "{out}");
    eprintln!(
        "failover: the job ended {:?} after the leader was killed",
        killed.elapsed()
    );
}

/// Runs a job of 2 long tasks, sends `signal` to `corral execute` once
/// both run, and checks the framework is torn down at once.
fn interrupt(dir: &Path, name: &str, m: IpAddr, agent_ip: IpAddr, signal: &str, code: i32) {
    let mut job = execute(
        dir,
        name,
        &[
            "--master",
            &format!("{m}:5050"),
            "--command",
            "sleep 31",
            "--instances",
            "2",
        ],
    );
    let fw = wait_for(START, "2 tasks running", || {
        let s = master_state(m)?;
        (running_tasks(&s).len() == 2)
            .then(|| running_framework(&s))
            .flatten()
    });
    job.signal(signal);
    let sent = Instant::now();
    let status = exit_of(
        &mut job,
        Duration::from_secs(5),
        "execute to exit",
        (dir, name),
    );
    assert_eq!(status.code(), Some(code), "{}", log_of(dir, name));
    assert!(
        log_has(dir, name, "torn down"),
        "execute says it tore the framework down: {}",
        log_of(dir, name)
    );
    // The master removed the framework and freed what its tasks held
    // without waiting for the link to time out (10 s).
    wait_for(
        Duration::from_secs(2),
        "the framework gone and nothing used",
        || {
            let s = master_state(m)?;
            (frameworks_of(&s) == 0 && nothing_used(&s)).then_some(())
        },
    );
    eprintln!(
        "{signal}: resources free {:?} after the signal",
        sent.elapsed()
    );
    wait_for(
        Duration::from_secs(10),
        "both tasks KILLED on the agent",
        || {
            let done = completed_on(&agent_state(agent_ip)?, &fw);
            (done == ["TASK_KILLED", "TASK_KILLED"]).then_some(())
        },
    );
}

#[test]
fn an_interrupted_execute_tears_its_framework_down_at_once() {
    let dir = test_dir("user-interrupt");
    let (m, a) = (ip(31), ip(32));
    let _cluster = lone_cluster(&dir, m, &[a]);
    interrupt(&dir, "execute-int", m, a, "INT", 130);
    interrupt(&dir, "execute-term", m, a, "TERM", 143);
}

#[test]
fn execute_says_when_no_agent_can_hold_a_task_and_gives_up_at_its_timeout() {
    let dir = test_dir("user-nofit");
    let (m, a) = (ip(41), ip(42));
    let (_master, _agents, state) = lone_cluster(&dir, m, &[a]);
    let cpus = state["agents"][0]["total"]["cpus"]
        .as_f64()
        .expect("/state gives the agent's cpus");

    let started = Instant::now();
    let mut job = execute(
        &dir,
        "execute",
        &[
            "--master",
            &format!("{m}:5050"),
            "--command",
            "true",
            "--cpus",
            "4096",
            "--timeout",
            "8s",
        ],
    );
    let sentence = format!(
        "no agent offers enough for a task of cpus:4096: the largest offer had cpus:{cpus}"
    );
    // A few allocation intervals (1 s each), after subscribing.
    wait_for(Duration::from_secs(6), &format!("'{sentence}'"), || {
        log_has(&dir, "execute", &sentence).then_some(())
    });
    let status = exit_of(
        &mut job,
        Duration::from_secs(15),
        "execute to give up",
        (&dir, "execute"),
    );
    let waited = started.elapsed();
    let out = log_of(&dir, "execute");
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("--timeout passed"), "{out}");
    assert!(
        waited >= Duration::from_secs(8),
        "gave up after {waited:?}, before --timeout"
    );
    let s = master_state(m).expect("state");
    assert_eq!(frameworks_of(&s), 0, "the framework was torn down: {s}");
}

#[test]
fn execute_without_a_master_gives_up_after_its_connect_timeout() {
    let dir = test_dir("user-nomaster");
    let nobody = format!("{}:5050", ip(51));
    let started = Instant::now();
    let mut job = execute(
        &dir,
        "execute",
        &[
            "--master",
            &nobody,
            "--command",
            "true",
            "--connect-timeout",
            "1s",
        ],
    );
    let status = exit_of(
        &mut job,
        Duration::from_secs(10),
        "execute to give up",
        (&dir, "execute"),
    );
    let out = log_of(&dir, "execute");
    assert!(!status.success(), "{out}");
    let sentence = format!("cannot reach the master at {nobody}: no answer within 1s");
    assert!(out.contains(&sentence), "{out}");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[test]
fn execute_whose_only_master_dies_mid_job_gives_up_after_its_connect_timeout() {
    let dir = test_dir("user-masterdies");
    let (m, a) = (ip(52), ip(53));
    let (mut master, _agents, _) = lone_cluster(&dir, m, &[a]);
    let master_addr = format!("{m}:5050");
    let mut job = execute(
        &dir,
        "execute",
        &[
            "--master",
            &master_addr,
            "--command",
            "sleep 20",
            "--connect-timeout",
            "2s",
        ],
    );
    wait_for(START, "the task running", || {
        (running_tasks(&master_state(m)?).len() == 1).then_some(())
    });
    master.sigkill();
    let killed = Instant::now();
    // Silent for 2 s, the master is gone; then 2 s for it (or another) to
    // take the framework back.
    let status = exit_of(
        &mut job,
        Duration::from_secs(9),
        "execute to give up",
        (&dir, "execute"),
    );
    let gone = killed.elapsed();
    let out = log_of(&dir, "execute");
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(&format!("lost the master at {master_addr}")),
        "{out}"
    );
    assert!(gone >= Duration::from_secs(2), "gave up after {gone:?}");
    eprintln!("execute gave up {gone:?} after its master was killed");
}

/// A finished job's sandbox is removed once `--gc-delay` has passed (the
/// one flag this agent changes, with its sweep interval), while a running
/// task's sandbox, as old, stays.
#[test]
fn a_finished_tasks_sandbox_is_collected_after_the_gc_delay_and_a_live_one_is_not() {
    let dir = test_dir("user-gc");
    let (m, a) = (ip(61), ip(62));
    let _master = lone_master(&dir, "master", m, &[]);
    let master_addr = format!("{m}:5050");
    let work = dir.join("agent0");
    let _agent = Proc::spawn(
        "agent0",
        &dir,
        &[
            "agent",
            "--master",
            &master_addr,
            "--ip",
            &a.to_string(),
            "--work-dir",
            &work.to_string_lossy(),
            "--gc-delay",
            "2s",
            "--gc-disk-headroom",
            "0",
            "--disk-watch-interval",
            "200ms",
        ],
    );
    wait_for(START, "the agent registered", || {
        master_state(m).filter(|s| agents_of(s) == 1)
    });
    let mut service = execute(
        &dir,
        "service",
        &["--master", &master_addr, "--command", "sleep 60"],
    );
    let live = wait_for(START, "the long task running", || {
        running_framework(&master_state(m)?)
    });
    let mut job = execute(
        &dir,
        "job",
        &["--master", &master_addr, "--command", "echo hi"],
    );
    let status = exit_of(&mut job, START, "the job to end", (&dir, "job"));
    assert!(status.success(), "{}", log_of(&dir, "job"));
    let out = log_of(&dir, "job");
    let done = out
        .split_whitespace()
        .skip_while(|w| *w != "framework")
        .nth(1)
        .expect("execute names its framework");
    let sandbox = |fw: &str| work.join("frameworks").join(fw);
    assert!(
        sandbox(done).exists(),
        "the job's sandbox is there at first"
    );
    wait_for(
        Duration::from_secs(20),
        "the finished job's sandboxes removed",
        || (!sandbox(done).exists()).then_some(()),
    );
    // The long task's sandbox is older than the job's, which went: only
    // its being in use keeps it.
    let live_sandbox = sandbox(&live).join("tasks").join("corral-execute-0");
    assert!(
        live_sandbox.is_dir(),
        "{} was removed",
        live_sandbox.display()
    );
    service.signal("TERM");
    exit_of(
        &mut service,
        START,
        "the service to stop",
        (&dir, "service"),
    );
    let log = log_of(&dir, "agent0");
    assert!(log.contains("removed a finished task's sandbox"), "{log}");
    assert!(!log.contains("cannot remove"), "{log}");
}

/// The tasks of one launch share one executor on an agent, yet each has
/// its own sandbox and output, and a kill stops it alone.
#[test]
fn tasks_launched_together_share_an_executor_and_are_killed_one_at_a_time() {
    let dir = test_dir("user-shared");
    let (m, a) = (ip(71), ip(72));
    let _cluster = lone_cluster(&dir, m, &[a]);
    let master_addr = format!("{m}:5050");
    let mut job = execute(
        &dir,
        "execute",
        &[
            "--master",
            &master_addr,
            "--command",
            "echo I am $MESOS_TASK_ID; exec sleep 300",
            "--instances",
            "3",
        ],
    );
    let running = wait_for(START, "3 tasks running", || {
        let r = running_tasks(&master_state(m)?);
        (r.len() == 3).then_some(r)
    });
    let executors = wait_for(START, "the agent's Mesos view of its executors", || {
        let s = json_at(&format!("{a}:5051"), "/slave(1)/state")?;
        s["frameworks"][0]["executors"].as_array().cloned()
    });
    assert_eq!(executors.len(), 1, "one executor: {executors:?}");
    assert_eq!(executors[0]["tasks"].as_array().map(Vec::len), Some(3));
    for (id, _) in &running {
        let printed = wait_for(START, "the task's own output", || {
            let out = corral_output(&["task", "log", id, "--master", &master_addr]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains("I am").then_some(text)
        });
        assert_eq!(printed.trim(), format!("I am {id}"), "{id}'s stdout");
    }
    let (victim, _) = &running[1];
    let out = corral_output(&["kill", "--master", &master_addr, victim]);
    assert!(out.status.success(), "{out:?}");
    let s = wait_for(START, "the killed task ended", || {
        let s = master_state(m)?;
        (task_state(&s, victim).as_deref() == Some("TASK_KILLED")).then_some(s)
    });
    let still: Vec<String> = running_tasks(&s).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        still,
        [running[0].0.clone(), running[2].0.clone()],
        "the others run on"
    );
    job.signal("INT");
    exit_of(&mut job, START, "execute to exit", (&dir, "execute"));
}
