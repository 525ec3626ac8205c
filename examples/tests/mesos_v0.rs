//! Mesos's v0 read-only endpoints of a real local cluster, read as a Mesos
//! tool reads them: field names, types and units of `/master/state` and
//! its siblings, paging of `/master/tasks`, `/master/redirect`, `/version`,
//! `/metrics/snapshot` keys, and JSONP.

// Tests run real processes and read real files, not actor code
// (clippy.toml keeps those out of actor code).
#![allow(clippy::disallowed_methods)]

mod common;

use common::http::get;
use common::{batch, cluster, eventually, next_event};
use corral_examples::batch::BatchEvent;
use serde_json::Value;

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is a list: {v}"))
}

fn named<'a>(frameworks: &'a [Value], name: &str) -> &'a Value {
    frameworks
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no framework {name}"))
}

/// Whether `x` is a time in seconds since the epoch (not milliseconds).
fn seconds(x: &Value) -> bool {
    x.as_f64().is_some_and(|s| (1.5e9..1e10).contains(&s))
}

#[test]
fn mesos_tools_read_the_cluster_with_mesos_names() {
    let c = cluster(
        "mesos-v0",
        2,
        "cpus:1;mem:512;ports:[31000-31005,31010-31020]",
        |cfg| {
            cfg.http = true;
            cfg.master.allocator.weights = vec![("analytics".into(), 3.0)];
        },
    );
    let base = c.http_url().expect("the master serves HTTP");
    let (_stays, _, stays) = batch(&c, "stays", 3, "true", true);
    let (_leaves, _, leaves) = batch(&c, "leaves", 2, "true", false);
    for batch in [&stays, &leaves] {
        next_event(batch, |e| matches!(e, BatchEvent::Done(_)));
    }
    let state = eventually("both batches settled in /master/state", || {
        let s = get(&base, "/master/state").json();
        let kept = |key: &str| {
            s[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| f["completed_tasks"].as_array().map_or(0, Vec::len))
                .sum::<usize>()
        };
        (kept("frameworks") == 3 && kept("completed_frameworks") == 2).then_some(s)
    });

    // Top level.
    assert_eq!(state["version"], env!("CARGO_PKG_VERSION"));
    assert!(seconds(&state["start_time"]), "{}", state["start_time"]);
    assert!(seconds(&state["elected_time"]), "{}", state["elected_time"]);
    assert_eq!(state["activated_slaves"], 2.0);
    assert_eq!(state["leader"], state["pid"]);
    assert_eq!(list(&state, "orphan_tasks").len(), 0);
    // Agents.
    let slaves = list(&state, "slaves");
    assert_eq!(slaves.len(), 2);
    for s in slaves {
        assert!(s["port"].is_u64(), "{s}");
        assert!(seconds(&s["registered_time"]), "{s}");
        assert_eq!(s["resources"]["cpus"], 1.0, "{s}");
        assert_eq!(s["resources"]["gpus"], 0.0, "{s}");
        assert_eq!(s["resources"]["mem"], 512.0, "{s}");
        assert_eq!(s["active"], true);
    }
    // Ranges as Mesos writes them; the local cluster gives each agent a
    // range of its own beside the one given, so one has several.
    let ranges: Vec<&str> = slaves
        .iter()
        .filter_map(|s| s["resources"]["ports"].as_str())
        .collect();
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert!(ranges.iter().all(|r| r.starts_with('[')), "{ranges:?}");
    assert!(
        ranges.iter().any(|r| r.contains("-31005, 31010-")),
        "Mesos writes [a-b, c-d]: {ranges:?}"
    );
    let slave_ids: Vec<&str> = slaves.iter().filter_map(|s| s["id"].as_str()).collect();
    // Frameworks and their tasks.
    let stays_fw = named(list(&state, "frameworks"), "stays");
    assert_eq!(stays_fw["active"], true);
    assert_eq!(stays_fw["role"], "*");
    assert_eq!(stays_fw["unregistered_time"], 0.0);
    let tasks = list(stays_fw, "completed_tasks");
    assert_eq!(tasks.len(), 3);
    for t in tasks {
        assert_eq!(t["state"], "TASK_FINISHED", "{t}");
        assert_eq!(t["executor_id"], "");
        assert!(t.get("agent_id").is_none(), "v0 says slave_id: {t}");
        assert!(
            slave_ids.contains(&t["slave_id"].as_str().unwrap_or("")),
            "{t}"
        );
        let statuses = list(t, "statuses");
        assert_eq!(
            statuses.last().map(|s| &s["state"]),
            Some(&Value::from("TASK_FINISHED"))
        );
        assert!(statuses.iter().all(|s| seconds(&s["timestamp"])), "{t}");
    }
    let gone = named(list(&state, "completed_frameworks"), "leaves");
    assert_eq!(gone["active"], false);
    assert!(seconds(&gone["unregistered_time"]), "{gone}");
    assert_eq!(list(gone, "completed_tasks").len(), 2);
    let (stays_id, gone_id) = (
        stays_fw["id"].as_str().expect("an id"),
        gone["id"].as_str().expect("an id"),
    );

    // The older paths give the same document, and so do paths under it
    // (libprocess serves the longest known prefix); not under the
    // redirect, where Mesos answers 404 against loops.
    for path in [
        "/master/state.json",
        "/state.json",
        "/master/state/",
        "/master/state/anything?x=1",
    ] {
        let again = get(&base, path).json();
        assert_eq!(again["slaves"], state["slaves"], "{path}");
    }

    // The summary counts the subscribed frameworks' tasks.
    let summary = get(&base, "/master/state-summary").json();
    let finished: u64 = list(&summary, "slaves")
        .iter()
        .filter_map(|s| s["TASK_FINISHED"].as_u64())
        .sum();
    assert_eq!(finished, 3);
    let frameworks = list(&summary, "frameworks");
    assert_eq!(frameworks.len(), 1);
    assert_eq!(frameworks[0]["TASK_FINISHED"], 3);
    assert!(frameworks[0].get("tasks").is_none(), "no task lists");

    // Filters.
    let one = get(&base, &format!("/master/frameworks?framework_id={gone_id}")).json();
    assert_eq!(list(&one, "frameworks").len(), 0);
    assert_eq!(list(&one, "completed_frameworks").len(), 1);
    assert_eq!(
        list(&get(&base, "/master/slaves").json(), "slaves").len(),
        2
    );
    let path = format!("/master/slaves?slave_id={}", slave_ids[0]);
    assert_eq!(list(&get(&base, &path).json(), "slaves").len(), 1);

    // Tasks: every framework's, pages, order, filters.
    let all = get(&base, "/master/tasks").json();
    assert_eq!(list(&all, "tasks").len(), 5);
    assert_eq!(
        list(&get(&base, "/master/tasks?limit=2").json(), "tasks").len(),
        2
    );
    let rest = get(&base, "/master/tasks?offset=4").json();
    assert_eq!(list(&rest, "tasks").len(), 1);
    let first = |order: &str| {
        let v = get(&base, &format!("/master/tasks?order={order}")).json();
        list(&v, "tasks")[0]["statuses"][0]["timestamp"].as_f64()
    };
    assert!(first("asc") <= first("desc"), "newest first by default");
    let path = format!("/master/tasks?framework_id={stays_id}");
    assert_eq!(list(&get(&base, &path).json(), "tasks").len(), 3);
    let path = format!("/master/tasks?framework_id={gone_id}&task_id=leaves-1");
    let found = get(&base, &path).json();
    assert_eq!(list(&found, "tasks").len(), 1);
    assert_eq!(found["tasks"][0]["id"], "leaves-1");

    // Roles: the weighted one, and the one the subscribed batch is in.
    let roles = get(&base, "/master/roles").json();
    let roles = list(&roles, "roles");
    let names: Vec<&str> = roles.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["*", "analytics"]);
    assert_eq!(roles[1]["weight"], 3.0);
    assert_eq!(roles[1]["frameworks"], serde_json::json!([]));
    assert_eq!(roles[0]["weight"], 1.0);
    assert_eq!(roles[0]["frameworks"], serde_json::json!([stays_id]));
    assert_eq!(
        roles[0]["allocated"],
        serde_json::json!({}),
        "its tasks ended"
    );

    // Redirect, version, health.
    let r = get(&base, "/master/redirect");
    assert_eq!(r.status, 307);
    assert_eq!(get(&base, "/master/redirect/again").status, 404);
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    assert_eq!(r.header("location"), Some(format!("//{host}").as_str()));
    assert_eq!(
        get(&base, "/version").json()["version"],
        env!("CARGO_PKG_VERSION")
    );
    let health = get(&base, "/master/health");
    assert_eq!((health.status, health.text()), (200, String::new()));

    // Metrics, all numbers.
    let m = get(&base, "/metrics/snapshot").json();
    let m = m.as_object().expect("an object");
    assert!(m.values().all(Value::is_f64), "{m:?}");
    assert_eq!(m["master/elected"], 1.0);
    assert_eq!(m["master/slaves_connected"], 2.0);
    assert_eq!(m["master/cpus_total"], 2.0);
    assert_eq!(m["master/tasks_finished"], 3.0, "the subscribed batch's");
    assert_eq!(m["master/tasks_running"], 0.0);
    assert!(m["master/uptime_secs"].as_f64() > Some(0.0));

    // JSONP, and a callback that is not a name.
    let r = get(&base, "/version?jsonp=show");
    assert_eq!(r.header("content-type"), Some("text/javascript"));
    let text = r.text();
    assert!(
        text.starts_with("show({") && text.ends_with("});"),
        "{text}"
    );
    let r = get(&base, "/master/state?jsonp=alert(1)//");
    assert_eq!(r.status, 400, "{}", r.text());

    // Each agent, as a Mesos agent: a running task under its framework and
    // executor, the ended ones among completed frameworks and executors.
    let (_runs, _, _events) = batch(&c, "runs", 1, "sleep 60", true);
    let agent_of_task = eventually("the long task running", || {
        let s = get(&base, "/master/state").json();
        let runs = list(&s, "frameworks")
            .iter()
            .find(|f| f["name"] == "runs")?
            .clone();
        let t = runs["tasks"].as_array()?.first()?.clone();
        (t["state"] == "TASK_RUNNING").then(|| t["slave_id"].as_str().map(str::to_owned))?
    });
    let (mut finished, mut ended_tasks) = (0.0, 0);
    for agent in c.agent_http_urls() {
        let state = get(&agent, "/slave(1)/state").json();
        assert_eq!(get(&agent, "/slave(1)/state/x").json(), state);
        let m = get(&agent, "/metrics/snapshot").json();
        assert_eq!(m["slave/registered"], 1.0, "{m}");
        finished += m["slave/tasks_finished"].as_f64().unwrap_or(0.0);
        let ended: usize = list(&state, "completed_frameworks")
            .iter()
            .flat_map(|f| list(f, "completed_executors"))
            .map(|e| list(e, "completed_tasks").len())
            .sum();
        ended_tasks += ended;
        if state["id"] != agent_of_task.as_str() {
            assert_eq!(list(&state, "frameworks").len(), 0, "{state}");
            continue;
        }
        let fw = &list(&state, "frameworks")[0];
        assert_eq!(fw["name"], "runs");
        let executor = &list(fw, "executors")[0];
        assert_eq!(executor["id"], "runs-0");
        let directory = executor["directory"].as_str().unwrap_or("");
        assert!(directory.ends_with("/tasks/runs-0"), "{directory}");
        let t = &list(executor, "tasks")[0];
        assert_eq!(t["state"], "TASK_RUNNING");
        assert_eq!(t["executor_id"], "", "a command task's, as Mesos writes it");
        assert_eq!(t["slave_id"], state["id"]);
        assert_eq!(m["slave/tasks_running"], 1.0, "{m}");
        assert_eq!(m["slave/executors_running"], 1.0, "{m}");
        assert_eq!(m["slave/frameworks_active"], 1.0, "{m}");
        assert!(
            (m["slave/cpus_used"].as_f64().unwrap_or(0.0) - 0.1).abs() < 1e-9,
            "{m}"
        );
    }
    assert_eq!(finished, 5.0, "the two batches' tasks, over both agents");
    assert_eq!(
        ended_tasks, 5,
        "each under its completed framework and executor"
    );
}

/// The executor of the only task of framework `name` in an agent's
/// `/slave(1)/state`, once it is there.
fn executor_of(agent: &str, name: &str) -> Value {
    eventually("the executor in /slave(1)/state", || {
        let s = get(agent, "/slave(1)/state").json();
        let fw = s["frameworks"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == name)?
            .clone();
        fw["executors"].as_array()?.first().cloned()
    })
}

#[test]
fn mesos_tools_read_a_running_tasks_sandbox() {
    let c = cluster("mesos-v0-files", 1, "cpus:1;mem:512", |cfg| cfg.http = true);
    let agent = c.agent_http_urls().pop().expect("the agent serves HTTP");
    let (_prints, _, events) = batch(&c, "prints", 1, "echo hello-from-sandbox; sleep 60", true);
    next_event(
        &events,
        |e| matches!(e, BatchEvent::Status(s) if s.state == corral_api::task::TaskState::Running),
    );
    let executor = executor_of(&agent, "prints");
    let directory = executor["directory"]
        .as_str()
        .expect("a directory")
        .to_owned();
    assert!(
        directory.starts_with('/'),
        "absolute, as Mesos: {directory}"
    );
    let stdout = format!("{directory}/stdout");
    let read = |query: &str| get(&agent, &format!("/files/read?path={stdout}{query}"));

    // What the task printed, as Mesos's pailer reads it: the size first,
    // then the bytes.
    let data = eventually("the task's line in its stdout", || {
        let chunk = read("&offset=0").json();
        let data = chunk["data"].as_str()?.to_owned();
        data.contains("hello-from-sandbox").then_some(data)
    });
    assert_eq!(data, "hello-from-sandbox\n");
    let size = read("&offset=-1").json();
    assert_eq!(
        (size["data"].as_str(), size["offset"].as_u64()),
        (Some(""), Some(19))
    );
    assert_eq!(read("").json(), size, "no offset asks for the size");
    let part = get(
        &agent,
        &format!("/files/read.json?path={stdout}&offset=6&length=4"),
    )
    .json();
    assert_eq!(part, serde_json::json!({"data": "from", "offset": 6}));
    let past = read("&offset=100&length=-1").json();
    assert_eq!(past, serde_json::json!({"data": "", "offset": 100}));
    let wrapped = read("&offset=0&jsonp=show").text();
    assert!(
        wrapped.starts_with("show({") && wrapped.ends_with("});"),
        "{wrapped}"
    );
    // A path under the endpoint is the endpoint, as libprocess serves it.
    let under = get(&agent, &format!("/files/read/x?path={stdout}&offset=0"));
    assert_eq!(under.json()["data"], data);

    // The sandbox's listing, Mesos's fields.
    for endpoint in ["/files/browse", "/files/browse.json"] {
        let listing = get(&agent, &format!("{endpoint}?path={directory}")).json();
        let entry = listing
            .as_array()
            .and_then(|l| l.iter().find(|e| e["path"] == stdout.as_str()))
            .unwrap_or_else(|| panic!("stdout listed: {listing}"));
        assert_eq!(entry["size"], 19);
        assert_eq!(entry["nlink"], 1);
        assert!(seconds(&entry["mtime"]), "{entry}");
        let mode = entry["mode"].as_str().unwrap_or_default();
        assert!(mode.len() == 10 && mode.starts_with("-rw"), "{entry}");
        assert!(
            entry["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{entry}"
        );
        assert!(
            entry["gid"].as_str().is_some_and(|g| !g.is_empty()),
            "{entry}"
        );
    }

    // A download, as Mesos gives it.
    let download = get(&agent, &format!("/files/download?path={stdout}"));
    assert_eq!(download.status, 200);
    assert_eq!(
        download.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=stdout")
    );
    assert_eq!(download.text(), data);

    // Outside the work directory nothing is served.
    assert_eq!(
        get(&agent, "/files/read?path=/etc/passwd&offset=0").status,
        404
    );
    assert_eq!(get(&agent, "/files/browse?path=/").status, 404);
    let up = get(
        &agent,
        &format!("/files/read?path={directory}/../../../../x"),
    );
    assert_eq!(up.status, 400, "{}", up.text());
    assert_eq!(
        get(&agent, &format!("/files/read?path={directory}/nope")).status,
        404
    );
    assert_eq!(
        get(&agent, &format!("/files/read?path={directory}")).status,
        400
    );
    assert_eq!(read("&offset=-2").status, 400);
    assert_eq!(get(&agent, "/files/read").status, 400);
}

#[test]
fn mesos_tools_read_what_a_running_executor_uses() {
    let c = cluster("mesos-v0-monitor", 1, "cpus:1;mem:512", |cfg| {
        cfg.http = true
    });
    let agent = c.agent_http_urls().pop().expect("the agent serves HTTP");
    // CPU time spent in the task's own shell, a descendant of the executor.
    let busy = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo busy-done; sleep 60";
    let (_busy, _, events) = batch(&c, "busy", 1, busy, true);
    next_event(
        &events,
        |e| matches!(e, BatchEvent::Status(s) if s.state == corral_api::task::TaskState::Running),
    );
    let directory = executor_of(&agent, "busy")["directory"]
        .as_str()
        .expect("a directory")
        .to_owned();
    eventually("the task's loop done", || {
        let chunk = get(
            &agent,
            &format!("/files/read?path={directory}/stdout&offset=0"),
        )
        .json();
        chunk["data"].as_str()?.contains("busy-done").then_some(())
    });

    for endpoint in ["/monitor/statistics", "/monitor/statistics.json"] {
        let all = get(&agent, endpoint).json();
        let all = all.as_array().unwrap_or_else(|| panic!("a list: {all}"));
        assert_eq!(all.len(), 1, "{all:?}");
        let e = &all[0];
        assert_eq!(e["executor_id"], "busy-0");
        assert_eq!(e["executor_name"], "busy-0");
        assert!(
            e["framework_id"].as_str().is_some_and(|f| !f.is_empty()),
            "{e}"
        );
        assert_eq!(e["source"], "");
        let s = &e["statistics"];
        assert!(seconds(&s["timestamp"]), "{s}");
        assert_eq!(s["cpus_limit"], 0.1, "the task's cpus");
        assert_eq!(s["mem_limit_bytes"], 32 * 1024 * 1024, "the task's mem");
        assert!(s["mem_rss_bytes"].as_u64() > Some(0), "{s}");
        let cpu = s["cpus_user_time_secs"].as_f64().unwrap_or(0.0)
            + s["cpus_system_time_secs"].as_f64().unwrap_or(0.0);
        assert!(cpu > 0.0, "the loop's time is counted: {s}");
        // The executor, the task's shell and its sleep at least.
        assert!(s["processes"].as_u64() >= Some(2), "{s}");
        assert!(s["threads"].as_u64() >= s["processes"].as_u64(), "{s}");
        assert!(
            s.get("mem_total_bytes").is_none(),
            "not measured, not written"
        );
    }
    let r = get(&agent, "/monitor/statistics?jsonp=show");
    assert_eq!(r.header("content-type"), Some("text/javascript"));
}
