//! Mesos's v0 JSON of the master's view: agents ("slaves"), frameworks and
//! tasks with Mesos's field names, written from a [`MasterState`].
//!
//! Shapes follow Apache Mesos 1.11's `src/common/http.cpp` and
//! `src/master/readonly_handler.cpp`: times are seconds since the epoch as
//! numbers with a fraction, resource objects always carry `cpus`, `gpus`,
//! `mem` and `disk` (MB) and give ranges as `"[a-b, c-d]"`, tasks name
//! their agent `slave_id`, and each framework carries its tasks. What
//! Corral does not keep is written empty (`offers`, `executors`,
//! `hostname`, `webui_url`) rather than invented.

use std::sync::Arc;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::state::{AgentState, FrameworkState, MasterState, TaskView};
use corral_api::resources::Quantities;
use corral_api::task::{task_state_name, TaskState};
use corral_http::mesos::{attributes, host_of, port_of, resources, secs};

/// A sum over agents: its scalars (ranges and sets of different agents do
/// not add up to ranges and sets).
pub(super) fn quantities(q: &Quantities) -> Value {
    json!({
        "cpus": q.get("cpus"),
        "gpus": q.get("gpus"),
        "mem": q.get("mem"),
        "disk": q.get("disk"),
    })
}

/// An agent, as `slaves[]`.
pub(super) fn slave(a: &AgentState) -> Value {
    json!({
        "id": a.id.0,
        "hostname": a.hostname,
        "port": port_of(&a.pid),
        "attributes": attributes(&a.attributes),
        "pid": a.pid,
        "registered_time": secs(a.registered_ms),
        "resources": resources(&a.total),
        "used_resources": resources(&a.used),
        "offered_resources": resources(&a.offered),
        "reserved_resources": {},
        "unreserved_resources": resources(&a.total),
        "active": a.reachable,
        "deactivated": false,
        "version": env!("CARGO_PKG_VERSION"),
        "capabilities": [],
    })
}

/// A task, as in `tasks[]` and a framework's task lists.
pub(super) fn task(t: &TaskView, role: &str) -> Value {
    let statuses: Vec<Value> = t
        .history
        .iter()
        .map(|(state, ms)| json!({"state": task_state_name(*state), "timestamp": secs(*ms)}))
        .collect();
    json!({
        "id": t.id.0,
        "name": t.name,
        "framework_id": t.framework_id.0,
        "executor_id": "",
        "slave_id": t.agent_id.0,
        "state": task_state_name(t.state),
        "resources": resources(&t.resources),
        "role": role,
        "statuses": statuses,
    })
}

/// The framework fields `state-summary` shows too.
pub(super) fn framework_summary(f: &FrameworkState) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(f.id.0));
    m.insert("name".into(), json!(f.name));
    if let Some(pid) = &f.pid {
        m.insert("pid".into(), json!(pid));
    }
    m.insert("used_resources".into(), quantities(&f.used));
    m.insert("offered_resources".into(), quantities(&f.offered));
    let capabilities: Vec<&str> = if f.info.partition_aware {
        vec!["PARTITION_AWARE"]
    } else {
        Vec::new()
    };
    m.insert("capabilities".into(), json!(capabilities));
    m.insert("hostname".into(), json!(""));
    m.insert("webui_url".into(), json!(""));
    let active = f.removed_ms.is_none();
    m.insert("active".into(), json!(active));
    m.insert("connected".into(), json!(f.connected));
    m.insert("recovered".into(), json!(false));
    m
}

/// A framework with its tasks, as `frameworks[]` and
/// `completed_frameworks[]`.
pub(super) fn framework<'a>(
    f: &FrameworkState,
    tasks: impl Iterator<Item = &'a TaskView>,
) -> Value {
    let mut m = framework_summary(f);
    m.insert("user".into(), json!(f.info.user));
    m.insert(
        "failover_timeout".into(),
        json!(f.info.failover_timeout.as_secs_f64()),
    );
    m.insert("checkpoint".into(), json!(f.info.checkpoint));
    m.insert("registered_time".into(), json!(secs(f.registered_ms)));
    m.insert(
        "unregistered_time".into(),
        json!(f.removed_ms.map_or(0.0, secs)),
    );
    if let Some(principal) = &f.info.principal {
        m.insert("principal".into(), json!(principal));
    }
    m.insert("resources".into(), quantities(&f.used.plus(&f.offered)));
    m.insert("role".into(), json!(f.role));
    let (mut live, mut unreachable, mut completed) = (Vec::new(), Vec::new(), Vec::new());
    for t in tasks {
        let list = match t.state {
            TaskState::Unreachable => &mut unreachable,
            s if s.is_terminal() => &mut completed,
            _ => &mut live,
        };
        list.push(task(t, &f.role));
    }
    m.insert("tasks".into(), json!(live));
    m.insert("unreachable_tasks".into(), json!(unreachable));
    m.insert("completed_tasks".into(), json!(completed));
    m.insert("offers".into(), json!([]));
    m.insert("executors".into(), json!([]));
    Value::Object(m)
}

/// The tasks of framework `f` in `state`.
pub(super) fn tasks_of<'a>(
    state: &'a MasterState,
    f: &'a FrameworkState,
) -> impl Iterator<Item = &'a TaskView> {
    state
        .tasks
        .iter()
        .map(Arc::as_ref)
        .filter(move |t| t.framework_id == f.id)
}

/// `frameworks` and `completed_frameworks`, each with its tasks; only the
/// framework `only` names, if it names one.
pub(super) fn frameworks(state: &MasterState, only: Option<&str>) -> (Vec<Value>, Vec<Value>) {
    let keep = |f: &&FrameworkState| only.is_none_or(|id| f.id.0 == id);
    let write = |f: &FrameworkState| framework(f, tasks_of(state, f));
    (
        state.frameworks.iter().filter(keep).map(write).collect(),
        state
            .completed_frameworks
            .iter()
            .filter(keep)
            .map(write)
            .collect(),
    )
}

/// `GET /master/state`. `leader` is the leading master's actor address.
pub(super) fn master_state(state: &MasterState, leader: &str) -> Value {
    let (frameworks, completed) = frameworks(state, None);
    let active = state.agents.iter().filter(|a| a.reachable).count();
    let mut doc = json!({
        "version": state.version,
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
        "start_time": secs(state.start_time_ms),
        "id": state.pid,
        "pid": state.pid,
        "hostname": host_of(&state.pid),
        "capabilities": [],
        "activated_slaves": active as f64,
        "deactivated_slaves": 0.0,
        "unreachable_slaves": (state.agents.len() - active) as f64,
        "leader": leader,
        "leader_info": {
            "id": leader,
            "pid": leader,
            "port": port_of(leader),
            "hostname": host_of(leader),
        },
        "slaves": state.agents.iter().map(Arc::as_ref).map(slave).collect::<Vec<_>>(),
        "recovered_slaves": [],
        "frameworks": frameworks,
        "completed_frameworks": completed,
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    });
    if let (Some(ms), Value::Object(m)) = (state.elected_ms, &mut doc) {
        m.insert("elected_time".into(), json!(secs(ms)));
    }
    doc
}

/// Task counts by state, as `state-summary` writes them.
const SUMMARY_STATES: [TaskState; 10] = [
    TaskState::Staging,
    TaskState::Starting,
    TaskState::Running,
    TaskState::Killing,
    TaskState::Finished,
    TaskState::Killed,
    TaskState::Failed,
    TaskState::Lost,
    TaskState::Error,
    TaskState::Unreachable,
];

fn counts<'a>(tasks: impl Iterator<Item = &'a TaskView> + Clone) -> Map<String, Value> {
    let mut m = Map::new();
    for s in SUMMARY_STATES {
        let n = tasks.clone().filter(|t| t.state == s).count();
        m.insert(task_state_name(s).into(), json!(n));
    }
    m
}

/// A quantity object of `/master/roles`: only the scalars present.
fn present(q: &Quantities) -> Value {
    let mut m = Map::new();
    for name in ["cpus", "gpus", "mem", "disk"] {
        let amount = q.get(name);
        if amount > 0.0 {
            m.insert(name.into(), json!(amount));
        }
    }
    Value::Object(m)
}

/// One role of `/master/roles`, as summed from its frameworks.
struct Role<'a> {
    weight: f64,
    allocated: Quantities,
    offered: Quantities,
    frameworks: Vec<&'a str>,
}

impl Role<'_> {
    fn new() -> Self {
        Role {
            weight: 1.0,
            allocated: Quantities::empty(),
            offered: Quantities::empty(),
            frameworks: Vec::new(),
        }
    }
}

/// `GET /master/roles`: every role a subscribed framework is in or a
/// weight names, by name, with what its frameworks are allocated and
/// offered. No quotas or reservations exist yet: written empty.
pub(super) fn roles(state: &MasterState) -> Value {
    let mut roles: BTreeMap<&str, Role<'_>> = BTreeMap::new();
    for (name, weight) in &state.role_weights {
        roles.entry(name).or_insert_with(Role::new).weight = *weight;
    }
    for f in &state.frameworks {
        let r = roles.entry(&f.role).or_insert_with(Role::new);
        r.allocated = r.allocated.plus(&f.used);
        r.offered = r.offered.plus(&f.offered);
        r.frameworks.push(&f.id.0);
    }
    let roles: Vec<Value> = roles
        .into_iter()
        .map(|(name, r)| {
            json!({
                "name": name,
                "weight": r.weight,
                "quota": {"role": name, "guarantee": {}, "limit": {}, "consumed": present(&r.allocated)},
                "resources": present(&r.allocated.plus(&r.offered)),
                "allocated": present(&r.allocated),
                "offered": present(&r.offered),
                "reserved": {},
                "frameworks": r.frameworks,
            })
        })
        .collect();
    json!({ "roles": roles })
}

/// Each id once, in order.
fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let set: std::collections::BTreeSet<&str> = ids.collect();
    set.into_iter().collect()
}

/// `GET /master/state-summary`: agents and subscribed frameworks with
/// task counts, no task lists.
pub(super) fn state_summary(state: &MasterState) -> Value {
    let live: Vec<&TaskView> = state
        .tasks
        .iter()
        .map(Arc::as_ref)
        .filter(|t| state.frameworks.iter().any(|f| f.id == t.framework_id))
        .collect();
    let slaves: Vec<Value> = state
        .agents
        .iter()
        .map(|a| {
            let here = live.iter().copied().filter(|t| t.agent_id == a.id);
            let mut m = match slave(a) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            m.extend(counts(here.clone()));
            let ids = distinct(here.map(|t| t.framework_id.0.as_str()));
            m.insert("framework_ids".into(), json!(ids));
            Value::Object(m)
        })
        .collect();
    let frameworks: Vec<Value> = state
        .frameworks
        .iter()
        .map(|f| {
            let its = live.iter().copied().filter(|t| t.framework_id == f.id);
            let mut m = framework_summary(f);
            m.extend(counts(its.clone()));
            let ids = distinct(its.map(|t| t.agent_id.0.as_str()));
            m.insert("slave_ids".into(), json!(ids));
            Value::Object(m)
        })
        .collect();
    json!({
        "hostname": host_of(&state.pid),
        "slaves": slaves,
        "frameworks": frameworks,
    })
}
