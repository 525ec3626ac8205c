//! The HTTP APIs of a real local cluster: the master's `/state`,
//! `/metrics`, operator kills and error answers, and each agent's
//! `/state`, `/metrics` and sandbox files, over real sockets with a
//! hand-written HTTP/1.1 client (so malformed requests can be sent too).

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use common::http::{get, raw, request};
use common::{batch, clock, cluster, eventually, next_event};
use corral_api::task::TaskState;
use corral_examples::batch::BatchEvent;
use corral_examples::local::LocalCluster;
use serde_json::Value;

/// Percent-encodes a query value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- Prometheus text ----

/// Parses an exposition: every sample line is `name{labels} value` and
/// every family has `# TYPE` first. Returns series (name with labels) to
/// values.
fn prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut typed = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let labels = &series[name.len()..];
        assert!(
            labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
            "{line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "no TYPE before {line}");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        samples.insert(series.to_owned(), value);
    }
    samples
}

fn metrics(base: &str) -> BTreeMap<String, f64> {
    let r = get(base, "/metrics");
    assert_eq!(r.status, 200, "{}", r.text());
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    prometheus(&r.text())
}

// ---- the cluster ----

/// A local cluster with HTTP; returns it and its work directory.
fn http_cluster(test: &str, agents: usize) -> (LocalCluster, PathBuf) {
    let mut work_dir = PathBuf::new();
    let c = cluster(test, agents, "cpus:1;mem:512", |cfg| {
        cfg.http = true;
        work_dir = cfg.work_dir.clone();
    });
    (c, work_dir)
}

fn task_state<'a>(state: &'a Value, id: &str) -> Option<&'a str> {
    state["tasks"].as_array()?.iter().find(|t| t["id"] == id)?["state"].as_str()
}

// ---- tests ----

#[test]
fn state_matches_the_cluster_and_metrics_move() {
    let (c, _) = http_cluster("state", 2);
    let master = c.http_url().expect("the master serves HTTP");
    let agent_urls: BTreeSet<String> = c.agent_http_urls().into_iter().collect();
    assert_eq!(agent_urls.len(), 2);

    let before = metrics(&master);
    let (_node, _pid, events) = batch(&c, "hello", 1, "echo hello-from-task", true);
    let done = next_event(&events, |e| matches!(e, BatchEvent::Done(_)));
    let BatchEvent::Done(statuses) = done else {
        unreachable!()
    };
    assert_eq!(statuses.len(), 1);
    assert!(statuses.values().all(|s| s.state == TaskState::Finished));

    // The master keeps the finished task once acknowledged; wait for that.
    let doc = eventually("the task to show as finished", || {
        let s = get(&master, "/state").json();
        (task_state(&s, "hello-0") == Some("TASK_FINISHED")).then_some(s)
    });
    let truth = c.state().expect("the master answers GetState");

    // /state says what GetState says.
    assert_eq!(doc["version"], truth.version);
    assert_eq!(doc["pid"], truth.pid);
    assert_eq!(doc["leader"], truth.pid);
    assert_eq!(doc["start_time_ms"], truth.start_time_ms);
    let agents = doc["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), truth.agents.len());
    for (json, a) in agents.iter().zip(&truth.agents) {
        assert_eq!(json["id"], a.id.0);
        assert_eq!(json["hostname"], a.hostname);
        assert_eq!(json["pid"], a.pid);
        assert_eq!(json["reachable"], a.reachable);
        assert_eq!(json["total"]["cpus"], a.total.cpus());
        assert_eq!(json["total"]["mem"], a.total.mem_mb());
        assert_eq!(json["total"]["ports"], a.total.ranges("ports").to_string());
        let http = json["http"]
            .as_str()
            .expect("agents announce their HTTP URL");
        assert_eq!(Some(http.to_owned()), a.http);
        assert!(agent_urls.contains(http), "{http}");
    }
    assert_eq!(doc["totals"]["total"]["cpus"], 2.0);
    assert_eq!(doc["totals"]["total"]["mem"], 1024.0);
    let frameworks = doc["frameworks"].as_array().expect("frameworks");
    assert_eq!(frameworks.len(), 1);
    assert_eq!(frameworks[0]["id"], truth.frameworks[0].id.0);
    assert_eq!(frameworks[0]["name"], "hello");
    assert_eq!(frameworks[0]["connected"], true);
    let tasks = doc["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), truth.tasks.len());
    let task = &tasks[0];
    let view = &truth.tasks[0];
    assert_eq!(task["id"], view.id.0);
    assert_eq!(task["framework_id"], view.framework_id.0);
    assert_eq!(task["agent_id"], view.agent_id.0);
    assert_eq!(task["resources"]["cpus"], 0.1);
    let history: Vec<&str> = task["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["state"].as_str().expect("a state name"))
        .collect();
    assert_eq!(history.first(), Some(&"TASK_STAGING"), "{history:?}");
    assert_eq!(history.last(), Some(&"TASK_FINISHED"), "{history:?}");
    assert_eq!(history.len(), view.history.len());
    let times: Vec<u64> = task["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["time_ms"].as_u64().expect("a time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // Counters moved.
    let after = metrics(&master);
    assert!(after["corral_offers_sent_total"] > before["corral_offers_sent_total"]);
    assert!(after["corral_tasks{state=\"TASK_FINISHED\"}"] >= 1.0);
    assert_eq!(after["corral_agents{status=\"connected\"}"], 2.0);
    assert_eq!(after["corral_frameworks_connected"], 1.0);
    assert!(after["corral_allocation_cycle_seconds_count"] > 0.0);
    assert_eq!(
        after["corral_allocation_cycle_seconds_count"],
        after["corral_allocation_cycle_seconds_bucket{le=\"+Inf\"}"]
    );
    assert!(
        after["corral_runtime_messages_delivered_total"]
            > before["corral_runtime_messages_delivered_total"]
    );

    // The agent that ran it shows it, and its sandbox has what it printed.
    let agent_url = agents
        .iter()
        .find(|a| a["id"] == task["agent_id"])
        .and_then(|a| a["http"].as_str())
        .expect("the task's agent")
        .to_owned();
    let agent_state = eventually("the agent to complete the task", || {
        let s = get(&agent_url, "/state").json();
        let done = s["completed_tasks"]
            .as_array()?
            .iter()
            .any(|t| t["task_id"] == "hello-0");
        done.then_some(s)
    });
    assert_eq!(agent_state["id"], task["agent_id"]);
    assert_eq!(agent_state["registered"], true);
    let completed = agent_state["completed_tasks"]
        .as_array()
        .expect("completed tasks")
        .iter()
        .find(|t| t["task_id"] == "hello-0")
        .expect("the task");
    assert_eq!(completed["state"], "TASK_FINISHED");
    let sandbox = completed["sandbox"].as_str().expect("a sandbox").to_owned();
    assert!(!sandbox.starts_with('/'), "{sandbox}");
    let stdout = format!("{sandbox}/stdout");

    let read = get(
        &agent_url,
        &format!("/files/read?path={}&offset=0", enc(&stdout)),
    );
    assert_eq!(read.status, 200, "{}", read.text());
    let chunk = read.json();
    assert_eq!(chunk["offset"], 0);
    let data = chunk["data"].as_str().expect("data").to_owned();
    assert!(data.contains("hello-from-task"), "{data:?}");
    let part = get(
        &agent_url,
        &format!("/files/read?path={}&offset=2&length=3", enc(&stdout)),
    )
    .json();
    assert_eq!(part["data"], data[2..5]);
    let past = get(
        &agent_url,
        &format!("/files/read?path={}&offset=999999", enc(&stdout)),
    )
    .json();
    assert_eq!(
        (past["data"].as_str(), past["offset"].as_u64()),
        (Some(""), Some(999_999))
    );

    let download = get(
        &agent_url,
        &format!("/files/download?path={}", enc(&stdout)),
    );
    assert_eq!(download.status, 200);
    assert!(download
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/plain"));
    assert_eq!(download.text(), data);

    // The agent's root (where the master's UI links) says what it serves.
    let index = get(&agent_url, "/");
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(
        index.json()["endpoints"]["/state"].is_string(),
        "{}",
        index.text()
    );

    let listing = get(&agent_url, &format!("/files/browse?path={}", enc(&sandbox))).json();
    let names: BTreeSet<&str> = listing
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["path"].as_str()?.rsplit('/').next())
        .collect();
    assert!(
        names.contains("stdout") && names.contains("stderr"),
        "{names:?}"
    );
    let entry = listing
        .as_array()
        .and_then(|l| l.iter().find(|e| e["path"] == stdout))
        .expect("stdout listed");
    assert!(entry["mode"].as_str().is_some_and(|m| m.starts_with('-')));
    assert_eq!(entry["size"].as_u64(), Some(data.len() as u64));
    assert_eq!(entry["path"], stdout);

    let agent_metrics = metrics(&agent_url);
    assert_eq!(agent_metrics["corral_agent_registered"], 1.0);
    assert!(agent_metrics["corral_agent_tasks_completed"] >= 1.0);
    assert_eq!(agent_metrics["corral_agent_status_updates_pending"], 0.0);
    assert!(agent_metrics["corral_runtime_messages_delivered_total"] > 0.0);
}

#[test]
fn operator_kill_ends_a_running_task() {
    let (c, _) = http_cluster("kill", 1);
    let master = c.http_url().expect("HTTP");
    let (_node, _pid, events) = batch(&c, "sleeper", 1, "sleep 60", true);
    let framework = match next_event(&events, |e| matches!(e, BatchEvent::Subscribed(_))) {
        BatchEvent::Subscribed(id) => id.0,
        _ => unreachable!(),
    };
    next_event(
        &events,
        |e| matches!(e, BatchEvent::Status(s) if s.state == TaskState::Running),
    );
    let kill_as = |content_type: &str, fw: &str, task: &str| {
        let head = format!(
            "POST /tasks/{fw}/{task}/kill HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Content-Type: {content_type}\r\nContent-Length: 0"
        );
        raw(&master, &head, b"")
    };
    let kill = |fw: &str, task: &str| kill_as("application/json", fw, task);

    // What a cross-site form could send is refused, and kills nothing.
    for form in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data",
    ] {
        let r = kill_as(form, &framework, "sleeper-0");
        assert_eq!(r.status, 415, "{form}: {}", r.text());
        assert!(r.error().contains("application/json"), "{}", r.text());
    }
    let r = request(
        &master,
        "POST",
        &format!("/tasks/{framework}/sleeper-0/kill"),
        b"",
    );
    assert_eq!(r.status, 415, "no content type: {}", r.text());
    // The master's own state, not `/state`, which may be a publication
    // older than the refused kills (docs/architecture.md, HTTP surfaces).
    let state = c.state().expect("the master answers");
    let running = state
        .tasks
        .iter()
        .any(|t| t.id.0 == "sleeper-0" && t.state == TaskState::Running);
    assert!(running, "the refused kills killed nothing");

    let r = kill(&framework, "sleeper-0");
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.json()["task_id"], "sleeper-0");
    let killed_at = clock();
    next_event(
        &events,
        |e| matches!(e, BatchEvent::Status(s) if s.state == TaskState::Killed),
    );
    assert!(
        killed_at.elapsed() < Duration::from_secs(30),
        "killed, not left to run"
    );
    eventually("the kill to show in /state", || {
        let s = get(&master, "/state").json();
        (task_state(&s, "sleeper-0") == Some("TASK_KILLED")).then_some(())
    });

    let again = kill(&framework, "sleeper-0");
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(again.error().contains("already ended"));
    let unknown_task = kill(&framework, "nope");
    assert_eq!(unknown_task.status, 404);
    assert!(unknown_task.error().contains("no task nope"));
    let unknown_framework = kill("nope", "sleeper-0");
    assert_eq!(unknown_framework.status, 404);
    assert!(unknown_framework.error().contains("no framework"));
}

#[test]
fn bad_requests_to_the_master_are_refused_and_it_goes_on() {
    let (c, _) = http_cluster("master-bad", 1);
    let m = c.http_url().expect("HTTP");
    let cases: [(&str, &str, u16); 8] = [
        ("GET", "/nope", 404),
        ("GET", "/state/x", 404),
        ("POST", "/state", 405),
        ("PUT", "/metrics", 405),
        ("DELETE", "/health", 405),
        ("GET", "/tasks/f/t/kill", 405),
        ("POST", "/tasks/%2E%2E/t/kill", 400),
        ("POST", "/tasks/f/a%20b/kill", 400),
    ];
    for (method, target, status) in cases {
        let r = request(&m, method, target, b"");
        assert_eq!(r.status, status, "{method} {target}: {}", r.text());
        let message = r.error();
        if status == 405 {
            assert!(r.header("allow").is_some(), "{method} {target}");
            assert!(message.contains("use "), "{message}");
        }
    }
    // A body over the limit, announced: refused before it is read.
    let head = "POST /tasks/f/t/kill HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760";
    let r = raw(&m, head, b"");
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.error().contains("limit"));
    // A body over the limit, sent.
    let r = request(&m, "POST", "/tasks/f/t/kill", &vec![b'x'; 64 * 1024 + 1]);
    assert_eq!(r.status, 413, "{}", r.text());
    // Not HTTP at all.
    let r = raw(&m, "NOT HTTP", b"");
    assert_eq!(r.status, 400);
    // HEAD where GET works: the headers, no body.
    let r = request(&m, "HEAD", "/state", b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "");
    // Still serving.
    assert_eq!(get(&m, "/health").text(), "ok");
    assert_eq!(
        get(&m, "/state").json()["agents"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn bad_file_requests_to_an_agent_are_refused_and_it_goes_on() {
    let (c, work_dir) = http_cluster("agent-bad", 1);
    let a = c.agent_http_urls().pop().expect("an agent URL");
    // The agent's work dir, with a planted link out of it.
    let agent_dir = work_dir.join("agent-0");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let outside = work_dir.join("outside-secret");
    std::fs::write(&outside, "secret").unwrap();
    std::os::unix::fs::symlink(&outside, agent_dir.join("escape")).unwrap();
    std::os::unix::fs::symlink(&work_dir, agent_dir.join("up")).unwrap();
    std::fs::write(agent_dir.join("fine"), "fine").unwrap();

    let abs = enc(&outside.display().to_string());
    let up_abs = format!("{}/../outside-secret", agent_dir.display());
    let cases: Vec<(String, u16)> = vec![
        ("/files/read".into(), 400),
        ("/files/browse".into(), 400),
        ("/files/download".into(), 400),
        ("/files/read?path=fine&offset=abc".into(), 400),
        ("/files/read?path=fine&length=-2".into(), 400),
        ("/files/read?path=fine&offset=-2".into(), 400),
        ("/files/read?path=fine&path=fine".into(), 400),
        ("/files/read?path=..%2Foutside-secret".into(), 400),
        ("/files/read?path=a%2F..%2F..%2Foutside-secret".into(), 400),
        (format!("/files/read?path={abs}"), 404),
        (format!("/files/download?path={abs}"), 404),
        ("/files/browse?path=%2F".into(), 404),
        ("/files/browse?path=%2Fetc".into(), 404),
        (format!("/files/read?path={}", enc(&up_abs)), 400),
        ("/files/read?path=escape".into(), 403),
        ("/files/download?path=escape".into(), 403),
        ("/files/read?path=up%2Foutside-secret".into(), 403),
        ("/files/browse?path=up".into(), 403),
        ("/files/read?path=missing".into(), 404),
        ("/files/browse?path=fine".into(), 400),
        ("/files/read?path=".into(), 400),
        ("/files/nope".into(), 404),
        ("/nope".into(), 404),
    ];
    for (target, status) in &cases {
        let r = get(&a, target);
        assert_eq!(r.status, *status, "{target}: {}", r.text());
        let message = r.error();
        assert!(!message.contains("secret\""), "{message}");
    }
    let r = request(&a, "POST", "/files/read?path=fine", b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = request(&a, "POST", "/state", &vec![b'x'; 64 * 1024 + 1]);
    assert_eq!(r.status, 413);
    let r = get(&a, "/files/read?path=offset%3Dabc");
    assert_eq!(r.status, 404, "a strange but relative name is just missing");
    // A malformed offset names itself.
    let r = get(&a, "/files/read?path=fine&offset=abc");
    assert!(r.error().contains("offset"), "{}", r.text());
    // Still serving, and the good requests work.
    assert_eq!(get(&a, "/health").text(), "ok");
    assert_eq!(
        get(&a, "/files/read?path=fine&offset=0").json()["data"],
        "fine"
    );
    assert_eq!(get(&a, "/files/read?path=fine").json()["offset"], 4);
    assert_eq!(
        get(&a, "/files/read?path=fine&offset=0&length=-1").json()["data"],
        "fine"
    );
    let listing = get(&a, "/files/browse?path=").json();
    let names: BTreeSet<&str> = listing
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(
        names.contains("escape") && names.contains("fine"),
        "{names:?}"
    );
    assert_eq!(get(&a, "/state").json()["registered"], true);
}
