//! Apache Mesos's v1 scheduler API on real `corral` processes: frameworks
//! written on two client libraries nobody here wrote, pymesos and
//! mesoshttp (from PyPI, unmodified, installed by
//! `scripts/install-mesos-clients.sh`), run tasks on the README's cluster,
//! and pymesos's follows a master failover; and our own checks of every
//! answer the API gives, bad calls changing nothing.

// Real processes run on real time: the waits here read the clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::masters::Masters;
use common::procs::{agent, agent_at, lone_master, test_dir, wait_for, Proc};
use corral_http::v1::protobuf;
use corral_http::v1::recordio::Records;
use corral_http::v1::scheduler::Call;
use serde_json::{json, Value};

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 15, 1, n))
}

/// The python of a virtualenv with pymesos and mesoshttp, installed once
/// per test run.
fn pymesos_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = Command::new("bash")
            .arg(root.join("scripts/install-mesos-clients.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs the installer");
        assert!(
            out.status.success(),
            "scripts/install-mesos-clients.sh failed"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(
            text.lines()
                .last()
                .expect("the installer names its python")
                .trim(),
        )
    })
}

/// The pymesos framework of `tests/mesos_clients/`, running `plan` against
/// `masters` (HOST:PORT list); its JSON lines come through `lines`.
struct PyFramework {
    child: std::process::Child,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl PyFramework {
    fn start(plan: &str, masters: &str, dir: &Path) -> PyFramework {
        PyFramework::start_with(plan, masters, dir, &[])
    }

    /// [`PyFramework::start`] with `env` added to its environment.
    fn start_with(plan: &str, masters: &str, dir: &Path, env: &[(&str, String)]) -> PyFramework {
        let args = [plan, masters, "90"];
        let log = format!("pymesos-{plan}.log");
        PyFramework::run("pymesos_framework.py", &args, &log, dir, env)
    }

    /// Script `script` of `tests/mesos_clients/` with `args`, its
    /// standard error in `log` under `dir`.
    fn run(
        script: &str,
        args: &[&str],
        log: &str,
        dir: &Path,
        env: &[(&str, String)],
    ) -> PyFramework {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/mesos_clients")
            .join(script);
        let log = std::fs::File::create(dir.join(log)).expect("log");
        let mut child = Command::new(pymesos_python())
            .arg(script)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python starts");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        PyFramework {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line, printed so far or within `within`, with every
    /// field of `want` (updates of several tasks come in any order);
    /// panics with what came instead.
    fn expect(&mut self, want: Value, within: Duration) -> Value {
        if let Some(line) = self.seen.iter().find(|line| fits(line, &want)) {
            return line.clone();
        }
        self.expect_new(want, within)
    }

    /// Like [`PyFramework::expect`], but only a line not yet printed.
    fn expect_new(&mut self, want: Value, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if fits(&line, &want) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the framework did not print {want} within {within:?}; it printed {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Asserts that it exits 0 within [`WAIT`] (its plan done), showing
    /// what it printed if not.
    fn expect_success(&mut self) {
        let code = self.exit_code(WAIT);
        assert_eq!(code, Some(0), "the framework exits 0: {:#?}", self.seen);
    }

    /// Its exit code, once it exits.
    fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// Whether `line` has every field of `want`.
fn fits(line: &Value, want: &Value) -> bool {
    want.as_object()
        .expect("an object")
        .iter()
        .all(|(k, v)| &line[k] == v)
}

impl Drop for PyFramework {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WAIT: Duration = Duration::from_secs(30);

/// Stops, when dropped, the pymesos executors whose sandboxes are under
/// its directory (each writes `executor.pid` there): once the test's
/// agent is gone, nothing else would.
struct Executors(PathBuf);

impl Drop for Executors {
    fn drop(&mut self) {
        fn visit(dir: &Path) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    visit(&path);
                } else if path.file_name().is_some_and(|n| n == "executor.pid") {
                    if let Ok(pid) = std::fs::read_to_string(&path) {
                        let _ = Command::new("kill").args(["-9", pid.trim()]).status();
                    }
                }
            }
        }
        visit(&self.0);
    }
}

/// A master on `ip(n)` and one agent on `ip(n + 1)`, default flags, once
/// the agent has registered; the master's HOST:PORT.
fn master_and_agent(dir: &Path, n: u8) -> (Proc, Proc, String) {
    let master = lone_master(dir, "master", ip(n), &[]);
    let m = format!("{}:5050", ip(n));
    let agent = agent_at(dir, "agent", "agent", &m, ip(n + 1), &[]);
    wait_for(WAIT, "the agent", || {
        common::state::state_at(&m).filter(|s| common::state::agents_of(s) == 1)
    });
    (master, agent, m)
}

#[test]
fn pymesos_launches_kills_and_reconciles_on_the_readme_cluster() {
    let dir = test_dir("mesos-v1-pymesos");
    // The README's cluster: one master and two agents, default flags.
    let _master = lone_master(&dir, "master", ip(1), &[]);
    let master = "127.15.1.1:5050";
    let _a = agent_at(&dir, "agent1", "agent1", master, ip(2), &[]);
    let _b = agent_at(&dir, "agent2", "agent2", master, ip(3), &[]);
    wait_for(WAIT, "two agents", || {
        common::state::state_at(master).filter(|s| common::state::agents_of(s) == 2)
    });

    let mut fw = PyFramework::start("basic", master, &dir);
    fw.expect(json!({"event": "registered"}), WAIT);
    for i in 0..3 {
        let task = format!("echo-{i}");
        fw.expect(
            json!({"event": "update", "task": task, "state": "TASK_FINISHED", "has_uuid": true}),
            WAIT,
        );
    }
    fw.expect(
        json!({"event": "update", "task": "sleeper", "state": "TASK_RUNNING"}),
        WAIT,
    );
    fw.expect(
        json!({"event": "update", "task": "sleeper", "state": "TASK_KILLED"}),
        WAIT,
    );
    // A reconciliation answer carries no uuid: nothing to acknowledge.
    fw.expect(
        json!({"event": "update", "task": "echo-0", "state": "TASK_FINISHED",
               "reason": "REASON_RECONCILIATION", "has_uuid": false}),
        WAIT,
    );
    fw.expect_success();
    // Every update pymesos acknowledged reached the agents: none pending.
    for agent in ["127.15.1.2:5051", "127.15.1.3:5051"] {
        wait_until_no_update_pending(agent);
    }
    // The framework tore itself down as it stopped (/state shows it within
    // the master's publication interval).
    wait_for(WAIT, "the framework gone from the master's state", || {
        let state = common::state::state_at(master)?;
        (common::state::frameworks_of(&state) == 0).then_some(())
    });
}

#[test]
fn mesoshttp_launches_kills_and_reconciles_on_the_readme_cluster() {
    let dir = test_dir("mesos-v1-mesoshttp");
    // The README's cluster: one master and two agents, default flags.
    let _master = lone_master(&dir, "master", ip(110), &[]);
    let m = "127.15.1.110:5050";
    let _a = agent_at(&dir, "agent1", "agent1", m, ip(111), &[]);
    let _b = agent_at(&dir, "agent2", "agent2", m, ip(112), &[]);
    let agent_ids = wait_for(WAIT, "two agents", || {
        let state = common::state::state_at(m)?;
        let agents = state["agents"].as_array()?;
        let ids: Vec<String> = agents
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect();
        (ids.len() == 2).then_some(ids)
    });
    // mesoshttp hands an event over only when the next record begins: one
    // before a quiet spell waits for the next heartbeat (15 s).
    let within = WAIT + Duration::from_secs(15);
    let mut fw = PyFramework::run(
        "mesoshttp_framework.py",
        &[m, "120"],
        "mesoshttp.log",
        &dir,
        &[],
    );
    let registered = fw.expect(json!({"event": "registered"}), within);
    let id = registered["framework_id"].as_str().expect("a framework id");
    assert!(!id.is_empty(), "{registered}");
    // The id is the one the master gave it.
    wait_for(WAIT, "the master's state showing the framework", || {
        let state = common::state::state_at(m)?;
        (state["frameworks"][0]["id"] == id).then_some(())
    });
    let launch = fw.expect(json!({"event": "launch"}), within);
    assert_eq!(launch["tasks"], json!(["echo-0", "echo-1", "sleeper"]));
    let agent_id = launch["agent"].as_str().expect("the offer's agent");
    assert!(agent_ids.iter().any(|a| a == agent_id), "{launch}");

    // Each task's updates, as mesoshttp handed them over, in order.
    let states = |fw: &PyFramework, task: &str| -> Vec<String> {
        fw.seen
            .iter()
            .filter(|l| {
                l["event"] == "update"
                    && l["task"] == task
                    && l["reason"] != "REASON_RECONCILIATION"
            })
            .map(|l| l["state"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    for echo in ["echo-0", "echo-1"] {
        let finished = fw.expect(
            json!({"event": "update", "task": echo, "state": "TASK_FINISHED", "has_uuid": true}),
            within,
        );
        assert_eq!(finished["agent_id"], agent_id, "{finished}");
        let seen = states(&fw, echo);
        let running = seen.iter().position(|s| s == "TASK_RUNNING");
        assert!(running.is_some(), "{echo} ran before finishing: {seen:?}");
        assert_eq!(seen.last().map(String::as_str), Some("TASK_FINISHED"));
    }
    let kill = fw.expect(json!({"event": "kill", "task": "sleeper"}), within);
    let kill_at = fw.seen.iter().position(|l| *l == kill).expect("seen");
    let killed = fw.expect(
        json!({"event": "update", "task": "sleeper", "state": "TASK_KILLED", "has_uuid": true}),
        within,
    );
    let killed_at = fw.seen.iter().position(|l| *l == killed).expect("seen");
    assert!(kill_at < killed_at, "killed after the kill: {:#?}", fw.seen);
    let seen = states(&fw, "sleeper");
    assert!(seen.contains(&"TASK_RUNNING".to_owned()), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("TASK_KILLED"));

    // Reconciliation answers every task it named, with its last state and
    // no uuid: nothing to acknowledge.
    for (task, state) in [
        ("echo-0", "TASK_FINISHED"),
        ("echo-1", "TASK_FINISHED"),
        ("sleeper", "TASK_KILLED"),
    ] {
        fw.expect(
            json!({"event": "update", "task": task, "state": state,
                   "reason": "REASON_RECONCILIATION", "has_uuid": false}),
            within,
        );
    }
    fw.expect(json!({"event": "teardown"}), within);
    fw.expect(json!({"event": "stream-ended", "ok": true}), within);
    fw.expect_success();
    assert!(
        !fw.seen
            .iter()
            .any(|l| l["event"] == "decline" && l["offer"] == launch["offer"]),
        "the launch's offer was not declined too: {:#?}",
        fw.seen
    );
    // The other agent was offered and declined, and its filter held: no
    // offer of it again within the 60 s the decline asked for.
    let other: Vec<f64> = fw
        .seen
        .iter()
        .filter(|l| l["event"] == "decline" && l["agent"] != agent_id)
        .filter_map(|l| l["at"].as_f64())
        .collect();
    assert!(!other.is_empty(), "the idle agent declined: {:#?}", fw.seen);
    for pair in other.windows(2) {
        assert!(pair[1] - pair[0] >= 59.0, "{other:?}: {:#?}", fw.seen);
    }

    // Every update mesoshttp acknowledged reached the agents: none pending.
    for n in [111, 112] {
        let agent = format!("{}:5051", ip(n));
        wait_until_no_update_pending(&agent);
    }
    // The teardown removed the framework: the master has it among the
    // completed ones only.
    wait_for(WAIT, "the framework gone from the master's state", || {
        let state = common::state::state_at(m)?;
        let completed = state["completed_frameworks"].as_array()?;
        let gone =
            common::state::frameworks_of(&state) == 0 && completed.iter().any(|f| f["id"] == id);
        gone.then_some(())
    });
}

#[test]
fn pymesos_follows_the_leader_through_a_master_failover() {
    let dir = test_dir("mesos-v1-failover");
    let mut masters = Masters::on_free_ports(3, &dir, &[]);
    let _agent = agent(&dir, 1, &masters.group());
    let leader = wait_for(WAIT, "a leader", || masters.leader());
    wait_for(WAIT, "the agent", || {
        masters
            .state(leader)
            .filter(|s| common::state::agents_of(s) == 1)
    });
    // A standby sends a framework to the leader, as Mesos does.
    let standby = (leader + 1) % 3;
    let (status, location, _) = post(
        &masters.http(standby),
        b"{}",
        &[("Content-Type", "application/json")],
    );
    assert_eq!(status, 307);
    assert_eq!(
        location.as_deref(),
        Some(format!("//{}/api/v1/scheduler", masters.http(leader)).as_str())
    );

    // pymesos starts at the standby, so it must follow the 307.
    let list: Vec<String> = (0..3).map(|i| masters.http((standby + i) % 3)).collect();
    let mut fw = PyFramework::start("failover", &list.join(","), &dir);
    let registered = fw.expect(json!({"event": "registered"}), WAIT);
    fw.expect(json!({"event": "running"}), WAIT);

    // Whoever leads now (a group may change leaders while it settles).
    let leader = wait_for(WAIT, "a leader", || masters.leader());
    masters.kill(leader);
    fw.expect_new(json!({"event": "disconnected"}), WAIT);
    let again = fw.expect_new(json!({"event": "reregistered"}), Duration::from_secs(60));
    assert_eq!(again["framework_id"], registered["framework_id"]);
    // The new leader still runs its task, and kills it when asked.
    fw.expect_new(
        json!({"event": "reconciled", "task": "sleeper", "state": "TASK_RUNNING"}),
        WAIT,
    );
    fw.expect_new(
        json!({"event": "update", "task": "sleeper", "state": "TASK_KILLED"}),
        WAIT,
    );
    fw.expect_success();
}

#[test]
fn a_pymesos_executor_runs_a_pymesos_frameworks_task() {
    let dir = test_dir("mesos-v1-executor");
    let _executors = Executors(dir.clone());
    let (_master, _agent, m) = master_and_agent(&dir, 40);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mesos_clients/pymesos_executor.py");
    let executor = format!(
        "exec '{}' '{}'",
        pymesos_python().display(),
        script.display()
    );
    let mut fw = PyFramework::start_with("executor", &m, &dir, &[("PYMESOS_EXECUTOR", executor)]);
    fw.expect(json!({"event": "registered"}), WAIT);
    fw.expect(
        json!({"event": "update", "task": "by-executor", "state": "TASK_RUNNING"}),
        WAIT,
    );
    fw.expect(
        json!({"event": "finished", "task": "by-executor", "message": "run by a pymesos executor"}),
        WAIT,
    );
    // A framework message went to the executor and its answer came back.
    fw.expect(
        json!({"event": "message", "executor": "pymesos-executor", "data": "echo hello"}),
        WAIT,
    );
    // The executor, shut down once its task ended, is a FAILURE.
    fw.expect(
        json!({"event": "executor_lost", "executor": "pymesos-executor"}),
        WAIT,
    );
    fw.expect_success();

    // Bad calls get a clear 4xx.
    let call = |content_type: &str, body: &str| {
        let (status, _, text) = post_to(
            "127.15.1.41:5051",
            "/api/v1/executor",
            body.as_bytes(),
            &[("Content-Type", content_type)],
        );
        (status, text)
    };
    let stranger = json!({"type": "UPDATE", "framework_id": {"value": "f"},
        "executor_id": {"value": "nobody"}, "update": {"status": {
            "task_id": {"value": "t"}, "state": "TASK_RUNNING", "uuid": "AAAAAAAAAAAAAAAAAAAAAA=="}}});
    let (s, t) = call("application/json", &stranger.to_string());
    assert_eq!((s, t.contains("not subscribed")), (403, true), "{t}");
    let message = |part: Value| {
        let mut m = json!({"type": "MESSAGE", "framework_id": {"value": "f"},
            "executor_id": {"value": "nobody"}});
        if !part.is_null() {
            m["message"] = part;
        }
        call("application/json", &m.to_string())
    };
    let (s, t) = message(Value::Null);
    assert_eq!((s, t.contains("Expecting 'message'")), (400, true), "{t}");
    let (s, t) = message(json!({"data": "!!"}));
    assert_eq!((s, t.contains("base64")), (400, true), "{t}");
    let (s, t) = message(json!({"data": "aGk="}));
    assert_eq!((s, t.contains("not subscribed")), (403, true), "{t}");
    let (s, t) = call("application/json", r#"{"type": "SUBSCRIBE"}"#);
    assert_eq!((s, t.contains("executor_id")), (400, true), "{t}");
    let (s, t) = call("text/plain", "{}");
    assert_eq!(s, 415, "{t}");
}

#[test]
fn a_pymesos_executor_keeps_its_task_through_an_agent_restart() {
    let dir = test_dir("mesos-v1-executor-restart");
    let _executors = Executors(dir.clone());
    let (_master, mut agent, m) = master_and_agent(&dir, 70);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mesos_clients/pymesos_executor.py");
    let executor = format!(
        "exec '{}' '{}'",
        pymesos_python().display(),
        script.display()
    );
    let mut fw = PyFramework::start_with(
        "executor-restart",
        &m,
        &dir,
        &[("PYMESOS_EXECUTOR", executor)],
    );
    let registered = fw.expect(json!({"event": "registered"}), WAIT);
    fw.expect(json!({"event": "running"}), WAIT);

    // The agent dies with its task running, and comes back where it was.
    agent.sigkill();
    let a = format!("{}:5051", ip(71));
    let _agent = agent_at(&dir, "agent-again", "agent", &m, ip(71), &[]);
    // pymesos subscribes again (it backs off up to 15 s between tries).
    wait_for(
        Duration::from_secs(60),
        "the executor subscribed to the restarted agent",
        || {
            let state = common::state::state_at(&a)?;
            let tasks = state["tasks"].as_array()?;
            tasks
                .iter()
                .any(|t| t["task_id"] == "sleeper" && t["executor_connected"] == true)
                .then_some(())
        },
    );

    // A kill now reaches the executor through its new subscription: the
    // TASK_KILLED is the executor's own.
    let framework = registered["framework_id"].as_str().expect("an id");
    let (status, _, text) = post_to(
        &m,
        &format!("/tasks/{framework}/sleeper/kill"),
        b"",
        &[JSON],
    );
    assert_eq!(status, 202, "{text}");
    fw.expect(
        json!({"event": "update", "task": "sleeper", "state": "TASK_KILLED",
            "message": "killed by a pymesos executor"}),
        WAIT,
    );
    fw.expect_success();
}

#[test]
fn pymesos_reads_the_cluster_through_the_operator_api() {
    let dir = test_dir("mesos-v1-operator");
    let (_master, _agent, m) = master_and_agent(&dir, 60);
    let m = m.as_str();
    let mut fw = PyFramework::start("failover", m, &dir);
    let registered = fw.expect(json!({"event": "registered"}), WAIT);
    fw.expect(json!({"event": "running"}), WAIT);
    // The master's reads show it once it publishes (at most 100 ms on).
    wait_for(WAIT, "the master's state showing the task running", || {
        let state = common::state::state_at(m)?;
        let running = common::state::running_tasks(&state);
        running.iter().any(|(id, _)| id == "sleeper").then_some(())
    });

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mesos_clients/pymesos_operator.py");
    let a = format!("{}:5051", ip(61));
    let out = Command::new(pymesos_python())
        .arg(script)
        .args([m, a.as_str()])
        .output()
        .expect("python runs");
    let answers: BTreeMap<String, Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| (v["call"].as_str().unwrap_or_default().to_owned(), v))
        .collect();
    let answer = |call: &str| -> &Value {
        let v = &answers[call];
        assert!(v.get("error").is_none(), "{call}: {v}");
        let kind = call.trim_start_matches("agent ");
        assert_eq!(v["answer"]["type"], kind);
        &v["answer"][kind.to_ascii_lowercase()]
    };
    // Health, version, and one running task in the metrics, of the master
    // and of the agent.
    for (daemon, running) in [
        ("", "master/tasks_running"),
        ("agent ", "slave/tasks_running"),
    ] {
        assert_eq!(answer(&format!("{daemon}GET_HEALTH"))["healthy"], true);
        let version = &answer(&format!("{daemon}GET_VERSION"))["version_info"]["version"];
        assert!(version.is_string());
        let metrics = answer(&format!("{daemon}GET_METRICS"))["metrics"]
            .as_array()
            .expect("metrics");
        let value = metrics.iter().find(|m| m["name"] == running);
        assert_eq!(value.map(|m| &m["value"]), Some(&json!(1.0)), "{metrics:?}");
    }
    assert_eq!(answer("GET_MASTER")["master_info"]["port"], 5050);
    let agents = &answer("GET_AGENTS")["agents"];
    assert_eq!(agents[0]["pid"], "agent@127.15.1.61:5051", "{agents}");
    assert_eq!(agents[0]["agent_info"]["port"], 5051);
    assert!(agents[0]["agent_info"]["resources"][0]
        .get("allocation_info")
        .is_none());
    let frameworks = &answer("GET_FRAMEWORKS")["frameworks"];
    assert_eq!(
        frameworks[0]["framework_info"]["id"]["value"],
        registered["framework_id"]
    );
    assert_eq!(frameworks[0]["connected"], true);
    let tasks = &answer("GET_TASKS")["tasks"];
    assert_eq!(tasks[0]["task_id"]["value"], "sleeper", "{tasks}");
    assert_eq!(tasks[0]["state"], "TASK_RUNNING");
    let roles = &answer("GET_ROLES")["roles"];
    assert_eq!(roles[0]["name"], "*", "{roles}");
    let state = answer("GET_STATE");
    assert_eq!(state["get_tasks"]["tasks"], *tasks);

    // What it cannot answer, it says.
    let operator = |content_type: &str, body: &str| {
        let (status, _, text) = post_to(
            m,
            "/api/v1",
            body.as_bytes(),
            &[("Content-Type", content_type)],
        );
        (status, text)
    };
    let (s, t) = operator("application/json", r#"{"type":"GET_QUOTA"}"#);
    assert_eq!(
        (s, t.contains("GET_QUOTA is not supported")),
        (400, true),
        "{t}"
    );
    let (s, t) = operator("text/plain", r#"{"type":"GET_HEALTH"}"#);
    assert_eq!(s, 415, "{t}");
    let (s, t) = operator("application/json", "{");
    assert_eq!(s, 400, "{t}");
    assert_eq!(
        state["get_agents"]["agents"][0]["agent_info"]["id"],
        agents[0]["agent_info"]["id"]
    );

    // The agent's own view: the same task, its executor and framework.
    let launched = &answer("agent GET_TASKS")["launched_tasks"];
    assert_eq!(launched[0]["task_id"]["value"], "sleeper", "{launched}");
    assert_eq!(launched[0]["state"], "TASK_RUNNING");
    assert_eq!(launched[0]["agent_id"], agents[0]["agent_info"]["id"]);
    let executors = &answer("agent GET_EXECUTORS")["executors"];
    assert_eq!(
        executors[0]["executor_info"]["executor_id"]["value"], "sleeper",
        "{executors}"
    );
    let frameworks = &answer("agent GET_FRAMEWORKS")["frameworks"];
    assert_eq!(
        frameworks[0]["framework_info"]["id"]["value"],
        registered["framework_id"]
    );
    let state = answer("agent GET_STATE");
    assert_eq!(state["get_tasks"]["launched_tasks"], *launched);
    assert_eq!(state["get_executors"]["executors"], *executors);
    let containers = &answer("agent GET_CONTAINERS")["containers"];
    assert_eq!(
        containers[0]["executor_id"]["value"], "sleeper",
        "{containers}"
    );
    assert!(
        containers[0]["resource_statistics"]["mem_rss_bytes"].as_f64() > Some(0.0),
        "{containers}"
    );

    // The flags each daemon runs with, given or defaulted, by name, in
    // the v1 list and in the v0 `/flags` object.
    for (daemon, addr, ip, port) in [("", m, ip(60), "5050"), ("agent ", &a, ip(61), "5051")] {
        let list = answer(&format!("{daemon}GET_FLAGS"))["flags"]
            .as_array()
            .expect("a list of flags")
            .clone();
        let flag = |name: &str| list.iter().find(|f| f["name"] == name).map(|f| &f["value"]);
        assert_eq!(flag("ip"), Some(&json!(ip.to_string())), "{list:?}");
        assert_eq!(flag("port"), Some(&json!(port)), "a default: {list:?}");
        let v0 = ureq::get(&format!("http://{addr}/flags"))
            .call()
            .expect("GET /flags")
            .into_json::<Value>()
            .expect("JSON");
        assert_eq!(v0["flags"]["ip"], json!(ip.to_string()), "{v0}");
        assert_eq!(v0["flags"].as_object().map(|o| o.len()), Some(list.len()));
    }
}

#[test]
fn pymesos_watches_the_cluster_through_an_operator_subscription() {
    let dir = test_dir("mesos-v1-operator-stream");
    let (_master, _agent, m) = master_and_agent(&dir, 80);
    let m = m.as_str();
    let mut watch = PyFramework::run("pymesos_operator_stream.py", &[m], "watch.log", &dir, &[]);
    let subscribed = watch.expect(json!({"event": "subscribed"}), WAIT);
    assert_eq!(subscribed["agents"], 1, "the state it starts from");
    assert_eq!(subscribed["heartbeat"], 15.0);

    // A framework's whole life: subscribed, three tasks that finish, one
    // killed, torn down.
    let mut fw = PyFramework::start("basic", m, &dir);
    let registered = fw.expect(json!({"event": "registered"}), WAIT);
    fw.expect_success();
    let id = &registered["framework_id"];
    let added = watch.expect(json!({"event": "frameworkAdded"}), WAIT);
    assert_eq!(
        added["data"]["framework_info"]["id"]["value"], *id,
        "{added}"
    );
    assert_eq!(added["data"]["framework_info"]["name"], "pymesos-basic");
    let removed = watch.expect(json!({"event": "frameworkRemoved"}), WAIT);
    assert_eq!(removed["data"]["id"]["value"], *id, "{removed}");
    let states = |v: &[&str]| -> Vec<String> { v.iter().map(|s| s.to_string()).collect() };
    let killed = states(&[
        "TASK_STAGING",
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLED",
    ]);
    let deadline = Instant::now() + WAIT;
    while task_history(&watch.seen, "sleeper", id) != killed {
        let left = deadline.saturating_duration_since(Instant::now());
        match watch.lines.recv_timeout(left) {
            Ok(line) => watch.seen.push(line),
            Err(_) => panic!(
                "the sleeper's end is not in the stream: {:?}",
                task_history(&watch.seen, "sleeper", id)
            ),
        }
    }
    let finished = states(&[
        "TASK_STAGING",
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_FINISHED",
    ]);
    for echo in ["echo-0", "echo-1", "echo-2"] {
        let seen = &watch.seen;
        assert_eq!(task_history(seen, echo, id), finished, "{echo}: {seen:#?}");
    }

    // An agent that joins is announced with its resources.
    let _second = agent_at(&dir, "agent2", "agent2", m, ip(82), &[]);
    let agent = watch.expect(json!({"event": "agentAdded"}), WAIT);
    assert_eq!(agent["data"]["pid"], "agent@127.15.1.82:5051", "{agent}");
    assert!(agent["data"]["agent_info"]["resources"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
}

#[test]
fn a_scheduler_whose_connection_closes_is_disconnected_at_once() {
    let dir = test_dir("mesos-v1-hangup");
    let (_master, _agent, m) = master_and_agent(&dir, 90);
    let body = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"","name":"gone","failover_timeout":600}}}"#;
    let mut sock = std::net::TcpStream::connect(&m).expect("connects");
    let request = format!(
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {m}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(request.as_bytes()).expect("sends");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("SUBSCRIBED") {
        let n = sock.read(&mut buf).expect("the stream's first event");
        assert!(
            n > 0,
            "the stream ended: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let connected = || {
        let v = common::state::json_at(&m, "/master/frameworks")?;
        v["frameworks"][0]["connected"].as_bool()
    };
    wait_for(WAIT, "the framework connected", || {
        connected().filter(|c| *c)
    });
    // Everything sent is read, so that closing sends a FIN (unread data
    // would make it a reset, which any server notices): the process is
    // gone, nothing more is written to it, and the master hears it
    // before the next heartbeat (15 s).
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    while let Ok(1..) = sock.read(&mut buf) {}
    drop(sock);
    let closed = Instant::now();
    wait_for(Duration::from_secs(5), "the framework disconnected", || {
        connected().filter(|c| !c)
    });
    eprintln!("disconnected {:?} after the close", closed.elapsed());
}

/// Waits until `agent` (HOST:PORT) holds no status update unacknowledged.
fn wait_until_no_update_pending(agent: &str) {
    wait_for(WAIT, "no update pending on the agents", || {
        let text = ureq::get(&format!("http://{agent}/metrics"))
            .call()
            .ok()?
            .into_string()
            .ok()?;
        text.lines()
            .any(|l| l.starts_with("corral_agent_status_updates_pending ") && l.ends_with(" 0"))
            .then_some(())
    });
}

/// The states an operator stream's `seen` lines show task `name` of
/// framework `id` in: added once, then each state it moved to, in order.
fn task_history(seen: &[Value], name: &str, id: &Value) -> Vec<String> {
    let mut states = Vec::new();
    for line in seen {
        let d = &line["data"];
        match line["event"].as_str() {
            Some("taskAdded") if d["name"] == name => {
                assert!(states.is_empty(), "{name} added twice: {seen:#?}");
                states.push(d["state"].as_str().unwrap_or_default().to_owned());
            }
            Some("taskUpdated") if d["status"]["task_id"]["value"] == name => {
                assert_eq!(d["framework_id"]["value"], *id);
                assert_eq!(d["state"], d["status"]["state"]);
                states.push(d["state"].as_str().unwrap_or_default().to_owned());
            }
            _ => {}
        }
    }
    states
}

/// `POST /api/v1/scheduler` at `addr` with `body` and `headers`: status,
/// `Location`, body; redirects not followed.
fn post(addr: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, Option<String>, String) {
    post_to(addr, "/api/v1/scheduler", body, headers)
}

/// `POST path` at `addr` with `body` and `headers`: status, `Location`,
/// body; redirects not followed.
fn post_to(
    addr: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(5))
        .build();
    let mut req = agent.post(&format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {path} to {addr}: {e}"),
    };
    let status = resp.status();
    let location = resp.header("location").map(str::to_owned);
    (status, location, resp.into_string().unwrap_or_default())
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

const PROTOBUF: &str = "application/x-protobuf";

/// A subscription made by hand: its stream id and framework id, and its
/// events as they come (as JSON, whichever encoding the stream has).
struct Subscription {
    addr: String,
    /// `application/json` or `application/x-protobuf`: of its calls and
    /// its stream.
    media: &'static str,
    stream_id: String,
    framework_id: String,
    events: mpsc::Receiver<Value>,
}

/// `call` (JSON) as a body of `media`: protobuf bytes are the encoding of
/// the same call.
fn body_of(call: &Value, media: &str) -> Vec<u8> {
    if media == PROTOBUF {
        let call: Call = serde_json::from_value(call.clone()).expect("a call");
        protobuf::encode_call(&call).expect("encodes")
    } else {
        call.to_string().into_bytes()
    }
}

/// A record of a stream of `media`, as JSON.
fn event_of(record: &[u8], media: &str) -> Value {
    if media == PROTOBUF {
        // Checked by hand first: field 1 (type) is a varint.
        assert_eq!(record.first(), Some(&0x08), "a protobuf Event: {record:?}");
        let event = protobuf::decode_event(record).expect("each record is an Event");
        serde_json::to_value(event).expect("JSON")
    } else {
        serde_json::from_slice(record).expect("each record is JSON")
    }
}

impl Subscription {
    fn open(addr: &str, name: &str) -> Subscription {
        Subscription::open_as(addr, name, "application/json")
    }

    /// A subscription whose calls and stream are `media`.
    fn open_as(addr: &str, name: &str, media: &'static str) -> Subscription {
        let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "", "name": name, "some_future_field": true}}});
        let resp = ureq::AgentBuilder::new()
            .timeout_read(Duration::from_secs(60))
            .build()
            .post(&format!("http://{addr}/api/v1/scheduler"))
            .set("Content-Type", media)
            .set("Accept", media)
            .send_bytes(&body_of(&body, media))
            .expect("SUBSCRIBE answers 200");
        assert_eq!(resp.content_type(), media);
        let stream_id = resp
            .header("Mesos-Stream-Id")
            .expect("a stream id")
            .to_owned();
        let (tx, events) = mpsc::channel();
        let mut reader = resp.into_reader();
        std::thread::spawn(move || {
            let mut records = Records::new();
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                let Ok(got) = records.push(&buf[..n]) else {
                    return;
                };
                for r in got {
                    if tx.send(event_of(&r, media)).is_err() {
                        return;
                    }
                }
            }
        });
        let mut s = Subscription {
            addr: addr.to_owned(),
            media,
            stream_id,
            framework_id: String::new(),
            events,
        };
        let first = s.next("SUBSCRIBED");
        assert_eq!(first["subscribed"]["heartbeat_interval_seconds"], 15.0);
        s.framework_id = first["subscribed"]["framework_id"]["value"]
            .as_str()
            .expect("id")
            .to_owned();
        s
    }

    /// The next event of `kind`, skipping heartbeats.
    fn next(&self, kind: &str) -> Value {
        loop {
            let e = self
                .events
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {kind} event"));
            if e["type"] == kind {
                return e;
            }
            assert_eq!(e["type"], "HEARTBEAT", "expected {kind}, got {e}");
        }
    }

    /// Whether the stream ended within `within`.
    fn ends(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
                Ok(_) => {}
            }
        }
    }

    /// Posts `call` (given its type-specific part) as this framework.
    fn call(&self, call: Value) -> (u16, String) {
        let mut call = call;
        call["framework_id"] = json!({"value": self.framework_id});
        let (status, _, body) = post(
            &self.addr,
            &body_of(&call, self.media),
            &[
                ("Content-Type", self.media),
                ("Mesos-Stream-Id", &self.stream_id),
            ],
        );
        (status, body)
    }
}

fn launch(offer: &Value, task: &str, command: &str) -> Value {
    json!({"type": "ACCEPT", "accept": {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": task, "task_id": {"value": task}, "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 16}}],
            "command": {"value": command}}]}}]}})
}

#[test]
fn every_answer_is_mesos_and_bad_calls_change_nothing() {
    let dir = test_dir("mesos-v1-answers");
    let (_master, _agent, m) = master_and_agent(&dir, 10);
    let m = m.as_str();
    let a = Subscription::open(m, "first");
    let offer = a.next("OFFERS")["offers"]["offers"][0].clone();
    assert_eq!(offer["framework_id"]["value"], a.framework_id.as_str());
    assert_eq!(offer["resources"][0]["type"], "SCALAR");
    let b = Subscription::open(m, "second");

    let subscribe =
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "", "name": "x"}}})
            .to_string();
    let sid = ("Mesos-Stream-Id", a.stream_id.as_str());
    let cases: Vec<Case> = vec![
        (
            "no content type",
            b"{}".to_vec(),
            vec![],
            400,
            "Content-Type",
        ),
        (
            "protobuf that is not a Call",
            b"x".to_vec(),
            vec![("Content-Type", PROTOBUF)],
            400,
            "Failed to parse body into a Call",
        ),
        (
            "protobuf without a type",
            b"\x0a\x03\x0a\x01f".to_vec(),
            vec![("Content-Type", PROTOBUF)],
            400,
            "missing field `type`",
        ),
        (
            "text",
            b"{}".to_vec(),
            vec![("Content-Type", "text/plain")],
            415,
            "application/x-protobuf",
        ),
        (
            "malformed JSON",
            b"{\"type\":".to_vec(),
            vec![JSON],
            400,
            "Failed to parse",
        ),
        (
            "unknown type",
            br#"{"type":"DANCE"}"#.to_vec(),
            vec![JSON],
            400,
            "DANCE",
        ),
        (
            "no framework id",
            br#"{"type":"REVIVE"}"#.to_vec(),
            vec![JSON, sid],
            400,
            "framework_id",
        ),
        (
            "unknown framework",
            br#"{"type":"REVIVE","framework_id":{"value":"nobody"}}"#.to_vec(),
            vec![JSON, sid],
            403,
            "not subscribed",
        ),
        (
            "subscribe with a stream id",
            subscribe.clone().into_bytes(),
            vec![JSON, sid],
            400,
            "Mesos-Stream-Id",
        ),
        (
            "subscribe accepting neither JSON nor protobuf",
            subscribe.into_bytes(),
            vec![JSON, ("Accept", "text/plain, application/json;q=0")],
            406,
            "Accept",
        ),
        ("oversized", vec![b' '; 70_000], vec![JSON], 413, "limit"),
    ];
    for (what, body, headers, status, says) in cases {
        let (got, _, text) = post(m, &body, &headers);
        assert_eq!(got, status, "{what}: {text}");
        assert!(text.contains(says), "{what}: {text}");
    }
    let (status, _, _) = {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        match agent.get(&format!("http://{m}/api/v1/scheduler")).call() {
            Err(ureq::Error::Status(s, r)) => (s, r.header("allow").map(str::to_owned), ()),
            other => panic!("GET answered {other:?}"),
        }
    };
    assert_eq!(status, 405);

    // The framework's own calls without, or with another's, stream id.
    let mine = json!({"type": "REVIVE", "framework_id": {"value": a.framework_id}}).to_string();
    let (s, _, t) = post(m, mine.as_bytes(), &[JSON]);
    assert_eq!((s, t.contains("Mesos-Stream-Id")), (400, true), "{t}");
    let (s, _, t) = post(
        m,
        mine.as_bytes(),
        &[JSON, ("Mesos-Stream-Id", &b.stream_id)],
    );
    assert_eq!(s, 403, "another framework's stream: {t}");
    let theirs = json!({"type": "TEARDOWN", "framework_id": {"value": b.framework_id}}).to_string();
    let (s, _, t) = post(m, theirs.as_bytes(), &[JSON, sid]);
    assert_eq!(s, 403, "tearing down another framework: {t}");

    // Calls Corral cannot do are refused by name, and leave the offer
    // outstanding: it can still be used.
    let mut reserve = launch(&offer, "t", "true");
    reserve["accept"]["operations"][0]["type"] = json!("RESERVE");
    let (s, t) = a.call(reserve);
    assert_eq!((s, t.contains("RESERVE")), (400, true), "{t}");
    let mut fetch = launch(&offer, "t", "true");
    fetch["accept"]["operations"][0]["launch"]["task_infos"][0]["command"]["uris"] =
        json!([{"value": "http://example.com/x"}]);
    let (s, t) = a.call(fetch);
    assert_eq!((s, t.contains("uris")), (400, true), "{t}");
    // Malformed framework messages are 400s; one for an agent the master
    // does not know is 202, dropped and counted, as in Mesos.
    let (s, t) = a.call(json!({"type": "MESSAGE"}));
    assert_eq!((s, t.contains("Expecting 'message'")), (400, true), "{t}");
    let (s, t) = a.call(json!({"type": "MESSAGE", "message": {}}));
    assert_eq!((s, t.contains("agent_id")), (400, true), "{t}");
    let message = |agent: &Value, executor: &str, data: &str| {
        json!({"type": "MESSAGE", "message": {"agent_id": agent,
            "executor_id": {"value": executor}, "data": data}})
    };
    let (s, t) = a.call(message(&offer["agent_id"], "sleeper", "!!"));
    assert_eq!((s, t.contains("base64")), (400, true), "{t}");
    let (s, t) = a.call(message(&json!({"value": "nowhere"}), "sleeper", "aGk="));
    assert_eq!(s, 202, "{t}");

    let (s, t) = a.call(launch(&offer, "sleeper", "sleep 300"));
    assert_eq!(s, 202, "{t}");
    let mut running = a.next("UPDATE");
    while running["update"]["status"]["state"] != "TASK_RUNNING" {
        ack(&a, &running);
        running = a.next("UPDATE");
    }
    assert_eq!(running["update"]["status"]["source"], "SOURCE_EXECUTOR");
    ack(&a, &running);
    // A message for the running task's executor is relayed (Corral's
    // command executor has no use for it).
    let (s, t) = a.call(message(&offer["agent_id"], "sleeper", "aGk="));
    assert_eq!(s, 202, "{t}");
    wait_for(WAIT, "the message counters", || {
        let v: Value = ureq::get(&format!("http://{m}/metrics/snapshot"))
            .call()
            .ok()?
            .into_json()
            .ok()?;
        let relayed = v["master/messages_framework_to_executor"] == 1.0;
        let dropped = v["master/invalid_framework_to_executor_messages"] == 1.0;
        (relayed && dropped).then_some(())
    });
    // A publication that shows the later task running also shows what the
    // refused calls made: nothing.
    let state = wait_for(WAIT, "the master's state showing the sleeper", || {
        let state = common::state::state_at(m)?;
        let running = common::state::task_state(&state, "sleeper")? == "TASK_RUNNING";
        running.then_some(state)
    });
    assert!(
        common::state::task_state(&state, "t").is_none(),
        "no task from refused calls"
    );
    let (s, _) = a.call(json!({"type": "KILL", "kill": {"task_id": {"value": "sleeper"}}}));
    assert_eq!(s, 202);
    let mut killed = a.next("UPDATE");
    while killed["update"]["status"]["state"] != "TASK_KILLED" {
        ack(&a, &killed);
        killed = a.next("UPDATE");
    }
    ack(&a, &killed);
    let (s, _) = a.call(
        json!({"type": "RECONCILE", "reconcile": {"tasks": [{"task_id": {"value": "sleeper"}}]}}),
    );
    assert_eq!(s, 202);
    let answer = a.next("UPDATE");
    assert_eq!(
        answer["update"]["status"]["reason"],
        "REASON_RECONCILIATION"
    );
    assert!(answer["update"]["status"].get("uuid").is_none(), "{answer}");

    // TEARDOWN ends the stream, and the master forgets the framework.
    let (s, _) = a.call(json!({"type": "TEARDOWN"}));
    assert_eq!(s, 202);
    assert!(a.ends(WAIT), "the stream ends after TEARDOWN");
    wait_for(WAIT, "the framework removed", || {
        let st = common::state::state_at(m)?;
        (common::state::frameworks_of(&st) == 1).then_some(())
    });
    // A hang-up is a disconnection: the master lets the framework go (its
    // failover timeout is 0).
    drop(b);
    wait_for(WAIT, "the hung-up framework removed", || {
        let st = common::state::state_at(m)?;
        (common::state::frameworks_of(&st) == 0).then_some(())
    });
}

/// A bad request: what it is, its body and headers, the status it gets
/// and words its answer has.
type Case<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>, u16, &'a str);

fn ack(s: &Subscription, update: &Value) {
    let status = &update["update"]["status"];
    if let Some(uuid) = status.get("uuid") {
        let (code, text) = s.call(json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": uuid}}));
        assert_eq!(code, 202, "{text}");
    }
}

#[test]
fn a_protobuf_framework_launches_kills_and_tears_down() {
    let dir = test_dir("mesos-v1-protobuf");
    let _master = lone_master(&dir, "master", ip(30), &[]);
    let m = "127.15.1.30:5050";
    let _agent = agent_at(&dir, "agent", "agent", m, ip(31), &[]);
    wait_for(WAIT, "the agent", || {
        common::state::state_at(m).filter(|s| common::state::agents_of(s) == 1)
    });
    let p = Subscription::open_as(m, "protobuf", PROTOBUF);
    let offer = p.next("OFFERS")["offers"]["offers"][0].clone();
    assert_eq!(offer["framework_id"]["value"], p.framework_id.as_str());
    assert_eq!(offer["resources"][0]["allocation_info"]["role"], "*");

    // A protobuf call missing its part is the JSON's 400, and bytes that
    // are not a Call say why; neither uses the offer up.
    let (s, t) = p.call(json!({"type": "ACCEPT"}));
    assert_eq!(
        (s, t.contains("Expecting 'accept' to be present")),
        (400, true),
        "{t}"
    );
    let (s, _, t) = post(
        m,
        &[0x12, 0x05, 0x0a],
        &[
            ("Content-Type", PROTOBUF),
            ("Mesos-Stream-Id", &p.stream_id),
        ],
    );
    assert_eq!((s, t.contains("not a protobuf")), (400, true), "{t}");
    let (s, t) = p.call(json!({"type": "MESSAGE"}));
    assert_eq!(
        (s, t.contains("Expecting 'message' to be present")),
        (400, true),
        "{t}"
    );
    let nobody = json!({"type": "REVIVE", "framework_id": {"value": "nobody"}});
    let (s, _, t) = post(
        m,
        &body_of(&nobody, PROTOBUF),
        &[
            ("Content-Type", PROTOBUF),
            ("Mesos-Stream-Id", &p.stream_id),
        ],
    );
    assert_eq!((s, t.contains("not subscribed")), (403, true), "{t}");

    let (s, t) = p.call(launch(&offer, "sleeper", "sleep 300"));
    assert_eq!(s, 202, "{t}");
    let mut running = p.next("UPDATE");
    while running["update"]["status"]["state"] != "TASK_RUNNING" {
        ack(&p, &running);
        running = p.next("UPDATE");
    }
    assert_eq!(running["update"]["status"]["task_id"]["value"], "sleeper");
    assert!(running["update"]["status"]["uuid"].is_string(), "{running}");
    ack(&p, &running);
    let message = json!({"type": "MESSAGE", "message": {"agent_id": offer["agent_id"],
        "executor_id": {"value": "sleeper"}, "data": "aGk="}});
    let (s, t) = p.call(message);
    assert_eq!(s, 202, "a protobuf MESSAGE: {t}");
    let (s, _) = p.call(json!({"type": "KILL", "kill": {"task_id": {"value": "sleeper"}}}));
    assert_eq!(s, 202);
    let mut killed = p.next("UPDATE");
    while killed["update"]["status"]["state"] != "TASK_KILLED" {
        ack(&p, &killed);
        killed = p.next("UPDATE");
    }
    ack(&p, &killed);

    let (s, _) = p.call(json!({"type": "TEARDOWN"}));
    assert_eq!(s, 202);
    assert!(p.ends(WAIT), "the stream ends after TEARDOWN");
    wait_for(WAIT, "the framework removed", || {
        let st = common::state::state_at(m)?;
        (common::state::frameworks_of(&st) == 0).then_some(())
    });
}

#[test]
fn a_subscription_hears_a_heartbeat_at_once() {
    let dir = test_dir("mesos-v1-first-heartbeat");
    // No agent: nothing but heartbeats follows SUBSCRIBED.
    let _master = lone_master(&dir, "master", ip(115), &[]);
    let m = "127.15.1.115:5050";
    wait_for(WAIT, "the master's state", || common::state::state_at(m));
    // The master's own beat comes 15 s after it started; the one each
    // subscription gets, as in Mesos, comes right after SUBSCRIBED.
    let s = Subscription::open(m, "first-beat");
    let started = Instant::now();
    let next = s
        .events
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("no event within 5 s of SUBSCRIBED"));
    assert_eq!(next["type"], "HEARTBEAT", "{next}");
    eprintln!("heartbeat {:?} after SUBSCRIBED", started.elapsed());
}

#[test]
fn a_master_with_no_leader_answers_503() {
    let dir = test_dir("mesos-v1-no-leader");
    // One member of a group of three, alone: no quorum, no leader.
    let group = "127.15.1.20:5050,127.15.1.21:5050,127.15.1.22:5050";
    let work = dir.join("m").to_string_lossy().into_owned();
    let _m = Proc::spawn(
        "master",
        &dir,
        &[
            "master",
            "--ip",
            "127.15.1.20",
            "--masters",
            group,
            "--work-dir",
            &work,
        ],
    );
    let call =
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "", "name": "x"}}});
    let (status, _, text) = wait_for(WAIT, "the master's HTTP", || {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build();
        match agent
            .post("http://127.15.1.20:5050/api/v1/scheduler")
            .set("Content-Type", "application/json")
            .send_bytes(call.to_string().as_bytes())
        {
            Err(ureq::Error::Status(s, r)) => Some((s, (), r.into_string().unwrap_or_default())),
            _ => None,
        }
    });
    assert_eq!(status, 503, "{text}");
}

/// An executor's subscription spoken in protobuf, as Mesos's own executor
/// libraries speak it: its events, decoded, as JSON values.
struct ProtobufExecutor {
    agent: String,
    framework_id: String,
    executor_id: String,
    events: mpsc::Receiver<Value>,
}

impl ProtobufExecutor {
    fn call(&self, mut call: Value) -> (u16, String) {
        call["framework_id"] = json!({"value": self.framework_id});
        call["executor_id"] = json!({"value": self.executor_id});
        let call: corral_http::v1::executor::Call =
            serde_json::from_value(call).expect("an executor call");
        let body = protobuf::encode(protobuf::EXECUTOR_CALL, &call).expect("encodes");
        let (status, _, text) = post_to(
            &self.agent,
            "/api/v1/executor",
            &body,
            &[("Content-Type", PROTOBUF)],
        );
        (status, text)
    }

    fn subscribe(agent: &str, framework_id: &str, executor_id: &str) -> ProtobufExecutor {
        let mut e = ProtobufExecutor {
            agent: agent.to_owned(),
            framework_id: framework_id.to_owned(),
            executor_id: executor_id.to_owned(),
            events: mpsc::channel().1,
        };
        let call = json!({"type": "SUBSCRIBE", "subscribe": {},
            "framework_id": {"value": framework_id}, "executor_id": {"value": executor_id}});
        let call: corral_http::v1::executor::Call =
            serde_json::from_value(call).expect("an executor call");
        let body = protobuf::encode(protobuf::EXECUTOR_CALL, &call).expect("encodes");
        let resp = ureq::AgentBuilder::new()
            .timeout_read(Duration::from_secs(60))
            .build()
            .post(&format!("http://{agent}/api/v1/executor"))
            .set("Content-Type", PROTOBUF)
            .set("Accept", PROTOBUF)
            .send_bytes(&body)
            .expect("SUBSCRIBE answers 200");
        assert_eq!(resp.content_type(), PROTOBUF);
        let (tx, events) = mpsc::channel();
        let mut reader = resp.into_reader();
        std::thread::spawn(move || {
            let mut records = Records::new();
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                let Ok(got) = records.push(&buf[..n]) else {
                    return;
                };
                for r in got {
                    let event: corral_http::v1::executor::Event =
                        protobuf::decode(protobuf::EXECUTOR_EVENT, &r).expect("an Event");
                    let event = serde_json::to_value(event).expect("JSON");
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        e.events = events;
        e
    }

    /// The next event of `kind`, skipping heartbeats.
    fn next(&self, kind: &str) -> Value {
        loop {
            let e = self
                .events
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {kind} event"));
            if e["type"] == kind {
                return e;
            }
            assert_eq!(e["type"], "HEARTBEAT", "expected {kind}, got {e}");
        }
    }

    /// Posts an UPDATE of `task` in `state` with `uuid` (base64 of 16
    /// bytes), answered 202, and waits for its acknowledgement.
    fn update(&self, task: &str, state: &str, uuid: &str) {
        let (s, t) = self.call(json!({"type": "UPDATE", "update": {"status": {
            "task_id": {"value": task}, "state": state, "source": "SOURCE_EXECUTOR",
            "uuid": uuid}}}));
        assert_eq!(s, 202, "{t}");
        let acked = self.next("ACKNOWLEDGED");
        assert_eq!(acked["acknowledged"]["uuid"], json!(uuid), "{acked}");
    }
}

/// The UPDATE of `task` in `state` a framework hears, acknowledging what
/// comes before it.
fn update_of(p: &Subscription, task: &str, state: &str) -> Value {
    loop {
        let u = p.next("UPDATE");
        ack(p, &u);
        let s = &u["update"]["status"];
        if s["task_id"]["value"] == task && s["state"] == state {
            return u;
        }
    }
}

#[test]
fn a_protobuf_executor_runs_its_task_through_the_agent() {
    let dir = test_dir("mesos-v1-protobuf-executor");
    let _executors = Executors(dir.clone());
    let (_master, _agent, m) = master_and_agent(&dir, 100);
    let a = format!("{}:5051", ip(101));
    let p = Subscription::open(&m, "custom");
    let offer = p.next("OFFERS")["offers"]["offers"][0].clone();
    // The agent starts the executor's process, which only waits; this test
    // speaks the executor API for it, in protobuf.
    let mut accept = launch(&offer, "pb-task", "unused");
    let task = &mut accept["accept"]["operations"][0]["launch"]["task_infos"][0];
    if let Some(t) = task.as_object_mut() {
        t.remove("command");
    }
    task["executor"] = json!({"executor_id": {"value": "pb-exec"},
        "command": {"value": "echo $$ > executor.pid; exec sleep 600"}});
    let (s, t) = p.call(accept);
    assert_eq!(s, 202, "{t}");
    wait_for(WAIT, "the executor's process", || {
        let state = common::state::json_at(&a, "/slave(1)/state")?;
        let executors = &state["frameworks"][0]["executors"];
        (executors[0]["id"] == "pb-exec").then_some(())
    });

    let e = ProtobufExecutor::subscribe(&a, &p.framework_id, "pb-exec");
    let subscribed = e.next("SUBSCRIBED");
    let info = &subscribed["subscribed"]["executor_info"];
    assert_eq!(info["executor_id"]["value"], "pb-exec", "{subscribed}");
    assert_eq!(
        subscribed["subscribed"]["framework_info"]["id"]["value"],
        p.framework_id.as_str()
    );
    let launched = e.next("LAUNCH");
    assert_eq!(launched["launch"]["task"]["task_id"]["value"], "pb-task");

    // Bytes that are not a Call are a 400 that says so, and change nothing.
    let (s, _, t) = post_to(
        &a,
        "/api/v1/executor",
        &[0x0a, 0x05, 0x0a],
        &[("Content-Type", PROTOBUF)],
    );
    assert_eq!((s, t.contains("not a protobuf")), (400, true), "{t}");

    e.update("pb-task", "TASK_RUNNING", "AQEBAQEBAQEBAQEBAQEBAQ==");
    let running = update_of(&p, "pb-task", "TASK_RUNNING");
    assert_eq!(running["update"]["status"]["source"], "SOURCE_EXECUTOR");
    let (s, _) = p.call(json!({"type": "KILL", "kill": {"task_id": {"value": "pb-task"}}}));
    assert_eq!(s, 202);
    let kill = e.next("KILL");
    assert_eq!(kill["kill"]["task_id"]["value"], "pb-task");
    e.update("pb-task", "TASK_KILLED", "AgICAgICAgICAgICAgICAg==");
    update_of(&p, "pb-task", "TASK_KILLED");
}

#[test]
fn each_node_serves_its_own_log_where_mesos_attaches_it() {
    let dir = test_dir("mesos-files-logs");
    let logs = dir.join("logs").to_string_lossy().into_owned();
    let _master = lone_master(&dir, "master", ip(120), &["--log-dir", &logs]);
    let m = format!("{}:5050", ip(120));
    let _agent = agent_at(&dir, "agent", "agent", &m, ip(121), &["--log-dir", &logs]);
    let a = format!("{}:5051", ip(121));
    for (addr, path, line) in [
        (&m, "/master/log", "agent registered"),
        (&a, "/slave/log", "registered with the master"),
    ] {
        let data = wait_for(WAIT, "the log line", || {
            let read = common::state::json_at(addr, &format!("/files/read?path={path}&offset=0"))?;
            let data = read["data"].as_str()?.to_owned();
            data.contains(line).then_some(data)
        });
        assert!(!data.contains('\u{1b}'), "no colour codes in a log file");
        let size = common::state::json_at(addr, &format!("/files/read.json?path={path}"))
            .and_then(|v| v["offset"].as_u64())
            .expect("the size");
        assert!(size >= data.len() as u64, "{size}");
        let download = ureq::get(&format!("http://{addr}/files/download?path={path}"))
            .call()
            .expect("a download");
        assert_eq!(download.content_type(), "application/octet-stream");
        let mut body = Vec::new();
        download
            .into_reader()
            .read_to_end(&mut body)
            .expect("the file");
        assert!(body.starts_with(&data.as_bytes()[..64]), "the same file");
    }
    // Nothing else is served as the master's.
    for path in ["/etc/passwd", "/slave/log", "/master/log/../../etc/passwd"] {
        let answer = common::state::answer_at(&m, &format!("/files/read?path={path}&offset=0"));
        assert_eq!(answer.map(|(s, _)| s), Some(404), "{path}");
    }
}
