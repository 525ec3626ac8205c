//! The master's state in the v1 operator API's shapes (`master.proto`'s
//! `Response` of Mesos 1.x, protobuf's JSON mapping): ids as
//! `{"value"}`, resources as lists of `Resource`, times as
//! `{"nanoseconds"}`.

use std::sync::Arc;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::state::{AgentState, FrameworkState, MasterState, TaskView};
use corral_api::resources::{Quantities, Resources};
use corral_api::task::task_state_name;
use corral_http::mesos::{host_of, port_of};
use corral_http::v1::convert::resources_out;

/// `{"nanoseconds": ...}` of a time in ms since the epoch.
fn time(ms: u64) -> Value {
    json!({ "nanoseconds": ms.saturating_mul(1_000_000) })
}

/// Resources as `Resource`s, unreserved, allocated to `role` if given.
fn listed(r: &Resources, role: Option<&str>) -> Value {
    json!(resources_out(r, role))
}

/// A sum over agents as scalar `Resource`s.
fn summed(q: &Quantities, role: Option<&str>) -> Value {
    let mut r = Resources::empty();
    for name in ["cpus", "gpus", "mem", "disk"] {
        if let Ok(more) = r.clone().with_scalar(name, q.get(name)) {
            r = more;
        }
    }
    listed(&r, role)
}

pub(super) fn agent(a: &AgentState) -> Value {
    json!({
        "agent_info": {
            "hostname": a.hostname,
            "id": {"value": a.id.0},
            "port": port_of(&a.pid),
            "resources": listed(&a.total, None),
        },
        "active": a.reachable,
        "deactivated": false,
        "version": env!("CARGO_PKG_VERSION"),
        "pid": a.pid,
        "registered_time": time(a.registered_ms),
        "total_resources": listed(&a.total, None),
        "allocated_resources": listed(&a.used, None),
        "offered_resources": listed(&a.offered, None),
        "capabilities": [],
    })
}

/// `GET_AGENTS`.
pub(super) fn agents(s: &MasterState) -> Value {
    let agents: Vec<Value> = s.agents.iter().map(Arc::as_ref).map(agent).collect();
    json!({ "agents": agents, "recovered_agents": [] })
}

/// A framework's `FrameworkInfo`.
pub(super) fn framework_info(f: &FrameworkState) -> Value {
    let info = &f.info;
    let mut framework_info = json!({
        "user": info.user,
        "name": f.name,
        "id": {"value": f.id.0},
        "failover_timeout": info.failover_timeout.as_secs_f64(),
        "checkpoint": info.checkpoint,
        "roles": [f.role],
        "capabilities": if info.partition_aware {
            json!([{"type": "PARTITION_AWARE"}, {"type": "MULTI_ROLE"}])
        } else {
            json!([{"type": "MULTI_ROLE"}])
        },
    });
    if let Some(p) = &info.principal {
        framework_info["principal"] = json!(p);
    }
    if let Some(pid) = &f.pid {
        framework_info["hostname"] = json!(host_of(pid));
    }
    framework_info
}

/// A `Framework`: subscribed (`active`) or removed.
pub(super) fn framework(f: &FrameworkState, active: bool) -> Value {
    json!({
        "framework_info": framework_info(f),
        "active": active && f.connected,
        "connected": active && f.connected,
        "recovered": false,
        "registered_time": time(f.registered_ms),
        "allocated_resources": summed(&f.used, Some(&f.role)),
        "offered_resources": summed(&f.offered, Some(&f.role)),
    })
}

/// `GET_FRAMEWORKS`.
pub(super) fn frameworks(s: &MasterState) -> Value {
    let live: Vec<Value> = s.frameworks.iter().map(|f| framework(f, true)).collect();
    let done: Vec<Value> = s
        .completed_frameworks
        .iter()
        .map(|f| framework(f, false))
        .collect();
    json!({ "frameworks": live, "completed_frameworks": done })
}

pub(super) fn task(t: &TaskView, role: &str) -> Value {
    let statuses: Vec<Value> = t
        .history
        .iter()
        .map(|(state, ms)| {
            json!({
                "task_id": {"value": t.id.0},
                "state": task_state_name(*state),
                "agent_id": {"value": t.agent_id.0},
                "timestamp": *ms as f64 / 1000.0,
            })
        })
        .collect();
    json!({
        "name": t.name,
        "task_id": {"value": t.id.0},
        "framework_id": {"value": t.framework_id.0},
        "agent_id": {"value": t.agent_id.0},
        "state": task_state_name(t.state),
        "resources": listed(&t.resources, Some(role)),
        "statuses": statuses,
    })
}

/// `GET_TASKS`: live tasks of subscribed frameworks under `tasks`, ended
/// ones (theirs and completed frameworks') under `completed_tasks`.
pub(super) fn tasks(s: &MasterState) -> Value {
    let roles = s.roles_by_framework();
    let (mut live, mut ended) = (Vec::new(), Vec::new());
    for t in &s.tasks {
        let role = roles.get(t.framework_id.0.as_str()).copied().unwrap_or("*");
        if t.state.is_terminal() {
            ended.push(task(t, role));
        } else {
            live.push(task(t, role));
        }
    }
    json!({
        "tasks": live,
        "completed_tasks": ended,
        "pending_tasks": [],
        "orphan_tasks": [],
        "unreachable_tasks": [],
    })
}

/// `GET_ROLES`.
pub(super) fn roles(s: &MasterState) -> Value {
    let mut roles: BTreeMap<&str, (f64, Vec<Value>, Quantities)> = BTreeMap::new();
    for (name, weight) in &s.role_weights {
        roles
            .entry(name)
            .or_insert((1.0, Vec::new(), Quantities::empty()))
            .0 = *weight;
    }
    for f in &s.frameworks {
        let r = roles
            .entry(&f.role)
            .or_insert((1.0, Vec::new(), Quantities::empty()));
        r.1.push(json!({"value": f.id.0}));
        r.2 = r.2.plus(&f.used);
    }
    let roles: Vec<Value> = roles
        .into_iter()
        .map(|(name, (weight, frameworks, used))| {
            json!({
                "name": name,
                "weight": weight,
                "frameworks": frameworks,
                "resources": summed(&used, Some(name)),
            })
        })
        .collect();
    json!({ "roles": roles })
}

/// `GET_MASTER`: who leads, since when.
pub(super) fn master(s: &MasterState) -> Value {
    let host = host_of(&s.pid);
    // Mesos's `ip` is the IPv4 address's bytes in network order, read as
    // the machine's (little-endian) uint32.
    let ip = host
        .parse::<std::net::Ipv4Addr>()
        .map_or(0, |a| u32::from_le_bytes(a.octets()));
    let mut out = json!({
        "master_info": {
            "id": s.pid,
            "ip": ip,
            "port": port_of(&s.pid),
            "pid": s.pid,
            "hostname": host,
            "version": s.version,
            "address": {"hostname": host, "ip": host, "port": port_of(&s.pid)},
        },
        "start_time": s.start_time_ms as f64 / 1000.0,
    });
    if let Some(ms) = s.elected_ms {
        out["elected_time"] = json!(ms as f64 / 1000.0);
    }
    out
}

/// `GET_STATE`: tasks, executors, frameworks and agents together.
pub(super) fn state(s: &MasterState) -> Value {
    json!({
        "get_tasks": tasks(s),
        "get_executors": {"executors": [], "orphan_executors": []},
        "get_frameworks": frameworks(s),
        "get_agents": agents(s),
    })
}
