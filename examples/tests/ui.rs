//! The web UI in a real headless Chromium: a local cluster serving HTTP runs
//! a service (tasks that keep running) and a batch (tasks that finished);
//! the page the browser renders must show what the master's `/state` says,
//! and its sandbox links must fetch the tasks' output from their agents.
//! Screenshots of every page are kept under `target/ui-screenshots/`.
//!
//! Needs Debian's `chromium`: `scripts/install-test-deps.sh` installs it.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use common::{clock, cluster, http, res};
use corral_api::framework::FrameworkInfo;
use corral_api::task::TaskState;
use corral_examples::batch::{Batch, BatchConfig, BatchEvent};
use corral_examples::browser::Browser;
use corral_examples::local::start_framework;
use corral_examples::service::{Service, ServiceConfig, ServiceEvent};
use corral_runtime::{Node, Pid};
use serde_json::Value;

const SERVICE_INSTANCES: usize = 3;
const BATCH_TASKS: usize = 4;
const BATCH_OUTPUT: &str = "hello from the ui test";

#[test]
fn web_ui_shows_the_cluster_as_state_reports_it() {
    let browser = Browser::find(Path::new(env!("CARGO_TARGET_TMPDIR")));
    // The local cluster gives agent i the ports [31000+1000i, 31999+1000i];
    // both also offer [31000-31099], as two machines would.
    // Both agents also report one hostname, as two agents on one machine.
    let c = cluster("ui", 2, "cpus:2;mem:1024;ports:[31000-31099]", |cfg| {
        cfg.http = true;
        cfg.tune_agent = |a| a.hostname = "shared-host".into();
    });
    let url = c.http_url().expect("the cluster serves HTTP when asked to");
    let base = url.trim_end_matches('/');
    let agent_urls = c.agent_http_urls();

    let (_service_node, service) = start_service(c.master().clone());
    let (_batch_node, batch) = start_batch(c.master().clone());
    wait_for_running(&service, SERVICE_INSTANCES);
    wait_for_batch(&batch);
    let state = wait_for_state(
        base,
        "the service, and the batch completed, in /state",
        |s| {
            count_state(s, "TASK_RUNNING") >= SERVICE_INSTANCES
                && count_state(s, "TASK_FINISHED") >= BATCH_TASKS
                && items(s, "completed_frameworks").len() == 1
        },
    );

    let dom = browser.rendered_dom(&format!("{base}/#/tasks"));
    assert_eq!(
        attr_of(&dom, "<body", "data-loaded").as_deref(),
        Some("true")
    );
    assert_eq!(
        attr_of(&dom, "<body", "data-page").as_deref(),
        Some("tasks")
    );
    assert_overview_matches(&dom, &state);
    assert_tables_match(&dom, &state);
    assert_stdout_links_work(&dom, &state, &agent_urls);

    for page in ["overview", "agents", "frameworks", "tasks"] {
        let path = screenshot_dir().join(format!("{page}.png"));
        let _ = std::fs::remove_file(&path); // not last run's
        browser.screenshot(&format!("{base}/#/{page}"), &path);
        let png = std::fs::read(&path).expect("the screenshot was written");
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
    }
}

// ---------------------------------------------------------------------------
// What the page must show.

fn assert_overview_matches(dom: &str, state: &Value) {
    let count = |key: &str| items(state, key).len().to_string();
    assert_eq!(text_of_id(dom, "agent-count"), count("agents"));
    assert_eq!(text_of_id(dom, "framework-count"), count("frameworks"));
    assert_eq!(text_of_id(dom, "task-count"), count("tasks"));
    let running = count_state(state, "TASK_RUNNING").to_string();
    assert_eq!(text_of_id(dom, "running-count"), running);
    assert_eq!(text_of_id(dom, "leader"), str_at(state, "/leader"));
    // 1000 ports on agent 0, 1100 on agent 1: its own range and the
    // [31000-31099] both have, counted again since it is another machine's.
    assert_eq!(
        state.pointer("/totals/total/ports").and_then(Value::as_u64),
        Some(2100)
    );
    for kind in ["cpus", "mem", "ports"] {
        for which in ["total", "used"] {
            let shown = attr_of(dom, &format!("id=\"{kind}-{which}\""), "data-value")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("#{kind}-{which} has a numeric data-value"));
            let want = state
                .pointer(&format!("/totals/{which}/{kind}"))
                .and_then(Value::as_f64)
                .unwrap_or_else(|| panic!("/state has totals.{which}.{kind}"));
            assert!(
                (shown - want).abs() < 1e-6,
                "{kind} {which}: page {shown}, /state {want}"
            );
        }
    }
}

fn assert_tables_match(dom: &str, state: &Value) {
    let ids = |key: &str| -> BTreeSet<String> {
        items(state, key).iter().map(|x| str_at(x, "/id")).collect()
    };
    let agent_rows = rows(dom, "data-agent-id");
    let shown: BTreeSet<String> = agent_rows.keys().cloned().collect();
    assert_eq!(shown, ids("agents"), "agents table");
    for (id, row) in &agent_rows {
        assert_eq!(
            attr_of(row, "<tr", "data-reachable").as_deref(),
            Some("true"),
            "agent {id}"
        );
    }
    // Agents sharing a hostname are told apart by their addresses.
    for agent in &items(state, "agents") {
        let (id, pid) = (str_at(agent, "/id"), str_at(agent, "/pid"));
        let addr = pid.split_once('@').map_or(pid.as_str(), |(_, a)| a);
        let row = &agent_rows[&id];
        assert!(
            row.contains(&format!("shared-host ({addr})")),
            "agent {id}: {row}"
        );
    }
    let shown: BTreeSet<String> = rows(dom, "data-framework-id").into_keys().collect();
    assert_eq!(shown, ids("frameworks"), "frameworks table");
    let shown: BTreeSet<String> = rows(dom, "data-completed-framework-id")
        .into_keys()
        .collect();
    assert_eq!(
        shown,
        ids("completed_frameworks"),
        "completed frameworks table"
    );

    let want: BTreeMap<String, String> = items(state, "tasks")
        .iter()
        .map(|t| (str_at(t, "/id"), str_at(t, "/state")))
        .collect();
    let shown: BTreeMap<String, String> = rows(dom, "data-task-id")
        .into_iter()
        .map(|(id, row)| (id, attr_of(&row, "<tr", "data-state").unwrap_or_default()))
        .collect();
    assert_eq!(shown, want, "tasks table: ids and states");
}

/// Each finished batch task's stdout link names the HTTP address of the
/// agent it ran on, and fetches what the task printed.
fn assert_stdout_links_work(dom: &str, state: &Value, agent_urls: &[String]) {
    let agent_http: BTreeMap<String, String> = items(state, "agents")
        .iter()
        .map(|a| (str_at(a, "/id"), str_at(a, "/http")))
        .collect();
    let mut task_rows = rows(dom, "data-task-id");
    let finished = items(state, "tasks")
        .into_iter()
        .filter(|t| str_at(t, "/state") == "TASK_FINISHED");
    for task in finished {
        let (task_id, framework_id) = (str_at(&task, "/id"), str_at(&task, "/framework_id"));
        let agent_url = &agent_http[&str_at(&task, "/agent_id")];
        assert!(
            agent_urls.contains(agent_url),
            "{agent_url} is one of {agent_urls:?}"
        );
        let row = task_rows.remove(&task_id).expect("the task's row");
        let link = attr_of(&row, "data-file=\"stdout\"", "href").expect("a stdout link");
        let want = format!(
            "{agent_url}/files/download?path=frameworks/{framework_id}/tasks/{task_id}/stdout"
        );
        assert_eq!(link, want);
        let (status, body) = http_get(&link).expect("the agent answers");
        assert_eq!(status, 200, "GET {link}: {body}");
        assert!(body.contains(BATCH_OUTPUT), "GET {link} returned {body:?}");
    }
}

// ---------------------------------------------------------------------------
// The workload: a service that keeps tasks running and a finished batch.

fn start_service(master: Pid) -> (Node, Receiver<ServiceEvent>) {
    let (tx, rx) = channel();
    let cfg = ServiceConfig {
        master,
        info: FrameworkInfo::new("ui-web", "*"),
        name: "ui-web".to_owned(),
        command: "sleep 600".to_owned(),
        resources: res("cpus:0.25;mem:32"),
        instances: SERVICE_INSTANCES,
        refuse: Duration::from_secs(5),
        tasks_per_offer: 0,
    };
    let observe = Box::new(move |e| {
        let _ = tx.send(e);
    });
    let (node, _pid) =
        start_framework(Service::new(cfg, observe).into_framework()).expect("service starts");
    (node, rx)
}

fn start_batch(master: Pid) -> (Node, Receiver<BatchEvent>) {
    let (tx, rx) = channel();
    let info = FrameworkInfo::new("ui-batch", "*");
    let command = format!("echo {BATCH_OUTPUT}");
    // Torn down once done (the default): the page lists it among the
    // completed frameworks, and its tasks' output stays readable.
    let cfg = BatchConfig::uniform(
        master,
        info,
        "ui-echo",
        BATCH_TASKS,
        &command,
        res("cpus:0.1;mem:16"),
    );
    let observe = Box::new(move |e| {
        let _ = tx.send(e);
    });
    let (node, _pid) =
        start_framework(Batch::new(cfg, observe).into_framework()).expect("batch starts");
    (node, rx)
}

fn wait_for_running(events: &Receiver<ServiceEvent>, n: usize) {
    let mut running = BTreeSet::new();
    while running.len() < n {
        let e = events
            .recv_timeout(Duration::from_secs(60))
            .expect("the service's tasks start within 60 s");
        if let ServiceEvent::Status(s) = e {
            if s.state == TaskState::Running {
                running.insert(s.task_id);
            }
        }
    }
}

fn wait_for_batch(events: &Receiver<BatchEvent>) {
    loop {
        let e = events
            .recv_timeout(Duration::from_secs(60))
            .expect("the batch ends within 60 s");
        if let BatchEvent::Done(statuses) = e {
            for s in statuses.values() {
                assert_eq!(s.state, TaskState::Finished, "{s:?}");
            }
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// /state over HTTP.

fn state_of(base: &str) -> Result<Value, String> {
    let (status, body) = http_get(&format!("{base}/state")).map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("GET /state answered {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("/state is not JSON: {e}"))
}

/// Reads `/state` until `done` holds, for up to 30 s.
fn wait_for_state(base: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = clock() + Duration::from_secs(30);
    loop {
        match state_of(base) {
            Ok(s) if done(&s) => return s,
            last => assert!(
                clock() < deadline,
                "timed out waiting for {what}; last /state: {last:?}"
            ),
        }
        // Polling is the event here: /state has no push channel.
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn items(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("/state has an array {key:?}"))
}

fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is a string in {v}"))
        .to_owned()
}

fn count_state(state: &Value, name: &str) -> usize {
    items(state, "tasks")
        .iter()
        .filter(|t| t.pointer("/state").and_then(Value::as_str) == Some(name))
        .count()
}

/// A GET over a fresh connection: the status and the body as text.
fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let head = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close");
    let reply = http::try_raw(authority, &head, b"")?;
    Ok((reply.status, reply.text()))
}

// ---------------------------------------------------------------------------
// Reading the DOM Chromium serialized (small string scans; the page marks
// what tests read with ids and data-* attributes).

/// The text right inside the element with `id`.
fn text_of_id(dom: &str, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("the page has #{id}"));
    let start = at + dom[at..].find('>').expect("a closed tag") + 1;
    let end = start + dom[start..].find('<').expect("an end tag");
    unescape(&dom[start..end])
}

/// The attribute `name` of the first tag containing `marker`.
fn attr_of(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..=at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!(" {name}=\"");
    let value_start = tag.find(&key)? + key.len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(unescape(&tag[value_start..value_end]))
}

/// The table rows carrying `attr`, by its value, each as its HTML.
fn rows(dom: &str, attr: &str) -> BTreeMap<String, String> {
    let marker = format!("<tr {attr}=\"");
    let mut found = BTreeMap::new();
    for (at, _) in dom.match_indices(&marker) {
        let row = &dom[at..at + dom[at..].find("</tr>").expect("rows end")];
        let id = attr_of(row, "<tr", attr).expect("the row's attribute");
        found.insert(id, row.to_owned());
    }
    found
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// `target/ui-screenshots/` of the workspace (the parent of Cargo's
/// per-target scratch directory), where CI keeps artifacts.
fn screenshot_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory");
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}
