//! Apache Mesos's v0 read-only endpoints of an agent, for tools written
//! for Mesos agents (sandbox browsers, `ps`-like listings, monitoring):
//!
//! | path | answer |
//! |---|---|
//! | `/slave(1)/state` (and `/slave(1)/state.json`, `/state.json`) | the agent, its frameworks, their executors and tasks, Mesos's shape ([`agent_state`]) |
//! | `/slave(1)/health` | 200, empty |
//! | `/metrics/snapshot` | Mesos's `slave/*` keys ([`snapshot`]) |
//!
//! An executor's `directory` is absolute, as in Mesos, and `/files/*`
//! takes it as it is. `/state` stays Corral's own. What the agent does not keep is written
//! empty rather than invented: task `statuses` (the agent keeps only the
//! latest state), `queued_tasks`, reservations.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::core::TaskSummary;
use crate::state::AgentSnapshot;
use corral_api::resources::Resources;
use corral_api::task::{task_state_name, TaskState};
use corral_http::mesos::{attributes, host_of, resources, usage_gauges};

/// A task, Mesos's shape.
fn task(t: &TaskSummary, agent_id: &str) -> Value {
    json!({
        "id": t.task_id.0,
        "name": t.name,
        "framework_id": t.framework_id.0,
        // Mesos writes "" for a command task, whose executor has the
        // task's id.
        "executor_id": if t.executor_id == t.task_id.0 { "" } else { t.executor_id.as_str() },
        "slave_id": agent_id,
        "state": task_state_name(t.state),
        "resources": resources(&t.resources),
        "role": t.framework.roles.first().map_or("*", String::as_str),
        "statuses": [],
    })
}

/// Tasks of one executor: those it runs, those ended.
#[derive(Default)]
pub(super) struct Executor<'a> {
    pub live: Vec<&'a TaskSummary>,
    pub ended: Vec<&'a TaskSummary>,
}

/// The executors of one framework, by id.
pub(super) type Executors<'a> = BTreeMap<&'a str, Executor<'a>>;

/// Every task the agent knows, by framework (with one of its tasks, for
/// the framework's description) and executor. A task is live until it
/// ends or is lost.
pub(super) fn by_framework(s: &AgentSnapshot) -> BTreeMap<&str, (&TaskSummary, Executors<'_>)> {
    let mut frameworks: BTreeMap<&str, (&TaskSummary, Executors<'_>)> = BTreeMap::new();
    for (t, live) in s
        .tasks
        .iter()
        .map(|t| (t, !t.state.is_terminal() && t.state != TaskState::Lost))
        .chain(s.completed.iter().map(|t| (t, false)))
    {
        let (_, executors) = frameworks
            .entry(t.framework_id.0.as_str())
            .or_insert_with(|| (t, Executors::new()));
        let e = executors.entry(t.executor_id.as_str()).or_default();
        if live {
            e.live.push(t);
        } else {
            e.ended.push(t);
        }
    }
    frameworks
}

/// An executor, Mesos's shape. Its `directory` is the sandbox's absolute
/// path, which Mesos's tools pass to `/files/*` as it is.
fn executor(id: &str, e: &Executor<'_>, agent_id: &str) -> Value {
    let any = e.live.first().or(e.ended.first());
    let directory = any.map_or("", |t| t.sandbox.as_str());
    let mut used = Resources::empty();
    for t in &e.live {
        used = used.plus(&t.resources);
    }
    json!({
        "id": id,
        "name": id,
        "source": "",
        "container": "",
        "directory": directory,
        "resources": resources(&used),
        "tasks": e.live.iter().map(|t| task(t, agent_id)).collect::<Vec<_>>(),
        "queued_tasks": [],
        "completed_tasks": e.ended.iter().map(|t| task(t, agent_id)).collect::<Vec<_>>(),
    })
}

/// `GET /slave(1)/state`: frameworks with a live task among `frameworks`,
/// the others among `completed_frameworks`; in each, executors with a
/// live task among `executors`, the others among `completed_executors`.
pub(super) fn agent_state(s: &AgentSnapshot) -> Value {
    let agent_id = s.id.as_ref().map_or("", |id| id.0.as_str());
    let frameworks = by_framework(s);
    let (mut active, mut completed) = (Vec::new(), Vec::new());
    for (id, (first, executors)) in &frameworks {
        let (mut running, mut done) = (Vec::new(), Vec::new());
        for (eid, e) in executors {
            let doc = executor(eid, e, agent_id);
            if e.live.is_empty() {
                done.push(doc);
            } else {
                running.push(doc);
            }
        }
        let info = &first.framework;
        let doc = json!({
            "id": id,
            "name": info.name,
            "user": info.user,
            "failover_timeout": info.failover_timeout.as_secs_f64(),
            "checkpoint": info.checkpoint,
            "hostname": "",
            "role": info.roles.first().map_or("*", String::as_str),
            "executors": running,
            "completed_executors": done,
        });
        if executors.values().any(|e| !e.live.is_empty()) {
            active.push(doc);
        } else {
            completed.push(doc);
        }
    }
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "id": agent_id,
        "pid": s.pid,
        "hostname": s.hostname,
        "capabilities": [],
        "resources": resources(&s.resources),
        "reserved_resources": {},
        "unreserved_resources": resources(&s.resources),
        "unreserved_resources_allocated": resources(&s.used),
        "attributes": attributes(&s.attributes),
        "master_hostname": host_of(&s.master),
        "frameworks": active,
        "completed_frameworks": completed,
    })
}

/// `GET /metrics/snapshot`: Mesos's `slave/*` keys. Terminal task counts
/// are of the ended tasks the agent keeps (its last 1,000), not since it
/// started as in Mesos.
pub(super) fn snapshot(s: &AgentSnapshot) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut put = |key: &str, value: f64| {
        out.insert(format!("slave/{key}"), value);
    };
    put("registered", if s.registered { 1.0 } else { 0.0 });
    usage_gauges(|n| s.resources.get(n), |n| s.used.get(n), &mut put);
    let all = || s.tasks.iter().chain(&s.completed);
    for (state, key) in [
        (TaskState::Staging, "tasks_staging"),
        (TaskState::Starting, "tasks_starting"),
        (TaskState::Running, "tasks_running"),
        (TaskState::Killing, "tasks_killing"),
        (TaskState::Finished, "tasks_finished"),
        (TaskState::Failed, "tasks_failed"),
        (TaskState::Killed, "tasks_killed"),
        (TaskState::Lost, "tasks_lost"),
        (TaskState::Gone, "tasks_gone"),
    ] {
        put(key, all().filter(|t| t.state == state).count() as f64);
    }
    let live = || s.tasks.iter().filter(|t| !t.state.is_terminal());
    let frameworks: std::collections::BTreeSet<_> = live().map(|t| &t.framework_id).collect();
    let executors: std::collections::BTreeSet<_> =
        live().map(|t| (&t.framework_id, &t.executor_id)).collect();
    put("frameworks_active", frameworks.len() as f64);
    put("executors_running", executors.len() as f64);
    out
}
