//! The operator views (`corral state | agents | frameworks | tasks | task
//! log | kill`) against a real local cluster with its HTTP API, and the
//! configuration layers (flags over environment over `--config` file).

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use corral_api::framework::FrameworkInfo;
use corral_api::task::TaskState;
use corral_examples::local::{find_executor, start_framework, LocalCluster, LocalConfig};
use corral_examples::service::{Service, ServiceConfig, ServiceEvent};

fn corral(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(args)
        .env("CORRAL_LOG", "error")
        .env_remove("CORRAL_MASTER")
        .output()
        .expect("corral runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A cluster with HTTP, one service task printing a line then sleeping.
fn cluster_with_a_task(test: &str) -> (LocalCluster, corral_runtime::Node, String) {
    let executor = find_executor().expect("corral-executor is built (cargo test --workspace)");
    let dir = std::env::temp_dir().join(format!("corral-views-{}-{test}", std::process::id()));
    let resources = "cpus:1;mem:512".parse().expect("resources");
    let mut cfg = LocalConfig::new(2, resources, &dir, &executor);
    cfg.master_addr = "127.0.0.1:0".parse().expect("address");
    cfg.master.allocator.interval = Duration::from_millis(100);
    cfg.http = true;
    let c = LocalCluster::start(cfg).expect("cluster starts");
    let (tx, rx) = channel();
    let svc = ServiceConfig {
        master: c.master().clone(),
        info: FrameworkInfo::new("views", "*"),
        name: "web".to_owned(),
        command: "echo hello from $INSTANCE; echo oops >&2; sleep 600".to_owned(),
        resources: "cpus:0.1;mem:32".parse().expect("resources"),
        instances: 1,
        refuse: Duration::from_secs(5),
        tasks_per_offer: 0,
    };
    let (node, _) = start_framework(
        Service::new(
            svc,
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        )
        .into_framework(),
    )
    .expect("framework starts");
    let task = loop {
        match rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the task starts")
        {
            ServiceEvent::Status(s) if s.state == TaskState::Running => break s.task_id.0,
            _ => {}
        }
    };
    (c, node, task)
}

#[test]
fn views_show_the_cluster_and_kill_ends_a_task() {
    let (c, _fw, task) = cluster_with_a_task("views");
    let http = c.http_url().expect("the master serves HTTP");
    let master = http.trim_start_matches("http://").to_owned();

    // `/state` is the state the master last published, up to its
    // interval behind the update the framework saw: wait for it there.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let s = loop {
        let out = corral(&["state", "--master", &master]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        if s.contains("(1 running)") || std::time::Instant::now() > deadline {
            break s;
        }
        // Polling the endpoint is the event here: it has no push.
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(s.contains("agents      2"), "{s}");
    assert!(s.contains("(1 running)"), "{s}");

    let out = corral(&["agents", "--master", &master]);
    let s = text(&out.stdout);
    assert_eq!(s.lines().count(), 3, "a header and two agents: {s}");
    assert!(s.starts_with("ID"), "{s}");

    let out = corral(&["tasks", "--master", &master, "--state", "running"]);
    let s = text(&out.stdout);
    assert!(s.contains(&task) && s.contains("RUNNING"), "{s}");

    let out = corral(&["tasks", "--master", &master, "--json"]);
    let tasks: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");

    let out = corral(&["frameworks", "--master", &master]);
    assert!(text(&out.stdout).contains("views"), "{}", text(&out.stdout));

    // Written by the task before it sleeps: wait for it to be there.
    let mut log = String::new();
    for _ in 0..100 {
        log = text(&corral(&["task", "log", &task, "--master", &master]).stdout);
        if log.contains("hello from 0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(log.contains("hello from 0"), "{log}");
    let err = text(&corral(&["task", "log", &task, "--stderr", "--master", &master]).stdout);
    assert!(err.contains("oops"), "{err}");

    // A list whose first master is down: the client asks the next one.
    let down = refusing_addr();
    let list = format!("{down},{master}");
    let out = corral(&["state", "--masters", &list]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("agents      2"));
    let out = corral(&["kill", &task, "--master", &list]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    c.wait_for(Duration::from_secs(30), "the task to be killed", |s| {
        s.tasks
            .iter()
            .any(|t| t.id.0 == task && t.state == TaskState::Killed)
    })
    .expect("kill ends the task");

    let out = corral(&["kill", "no-such-task", "--master", &master]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no task 'no-such-task'"),
        "{}",
        text(&out.stderr)
    );
}

/// A loopback HOST:PORT where nothing listens (connections are refused).
fn refusing_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address");
    drop(listener);
    addr.to_string()
}

#[test]
fn every_master_failing_is_one_error_naming_each() {
    let (a, b) = (refusing_addr(), refusing_addr());
    let out = corral(&["state", "--master", &format!("{a},{b}")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no master answered"), "{stderr}");
    assert!(stderr.contains(&a) && stderr.contains(&b), "{stderr}");
    let out = corral(&["state", "--master", &format!("{a},")]);
    assert!(
        text(&out.stderr).contains("empty entry"),
        "{}",
        text(&out.stderr)
    );
}

/// Starts `corral master` with `args` and `env`, returns its first stdout
/// line (which states the settings it runs with), and stops it.
fn master_line(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_corral"));
    cmd.arg("master")
        .args(["--port", "0", "--http-port", "0"])
        .args(args)
        .env("CORRAL_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child: Child = cmd.spawn().expect("corral master starts");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn flags_win_over_environment_which_wins_over_the_config_file() {
    let dir = std::env::temp_dir().join(format!("corral-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("master.toml");
    std::fs::write(&file, "allocation-interval = \"3s\"\nweights = \"a=2\"\n")
        .expect("write config");
    let f = file.to_str().expect("utf-8 path");

    let line = master_line(&["--config", f], &[]);
    assert!(line.contains("allocation interval 3s"), "{line}");
    let line = master_line(&["--config", f], &[("CORRAL_ALLOCATION_INTERVAL", "2s")]);
    assert!(line.contains("allocation interval 2s"), "{line}");
    let line = master_line(
        &["--config", f, "--allocation-interval", "1500ms"],
        &[("CORRAL_ALLOCATION_INTERVAL", "2s")],
    );
    assert!(line.contains("allocation interval 1.5s"), "{line}");

    std::fs::write(&file, "allocation-intervall = \"3s\"\n").expect("write config");
    let out = corral(&["master", "--config", f]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown key 'allocation-intervall'"),
        "{stderr}"
    );
}
