//! Apache Mesos's v1 operator API on an agent, `POST /api/v1` (and any
//! path under it but `/api/v1/executor`, as libprocess matches by longest
//! prefix): the read calls of an agent in `docs/operator-http-api.md` of
//! Mesos 1.x, in JSON, in the shapes of `agent.proto`'s `Response`.
//!
//! | call | answer |
//! |---|---|
//! | `GET_HEALTH` | `{"healthy": true}` |
//! | `GET_VERSION` | the version |
//! | `GET_FLAGS` | the flags the agent runs with, `{name, value}` |
//! | `GET_METRICS` | the keys of `/metrics/snapshot` as `{name, value}` |
//! | `GET_AGENT` | the agent's id, host, port, resources and attributes |
//! | `GET_FRAMEWORKS`, `GET_EXECUTORS`, `GET_TASKS`, `GET_STATE` | what runs here, grouped as `/slave(1)/state` groups it |
//! | `GET_CONTAINERS` | each running executor with what it uses (as `/monitor/statistics`) |
//!
//! Other calls get 400 naming them; 415 for a body that is not JSON, 406
//! for an `Accept` that does not allow JSON.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::mesos::{by_framework, snapshot, Executor};
use super::monitor;
use super::AgentApi;
use crate::core::TaskSummary;
use crate::state::{AgentSnapshot, GetAgentState};
use corral_api::task::task_state_name;
use corral_http::ask::ask;
use corral_http::mesos::port_of;
use corral_http::v1::convert::resources_out;
use corral_http::v1::media;
use corral_http::v1::shapes::OperatorCall;
use corral_http::{post_tree, read_body, ApiError};

/// Adds the operator API's routes (after the executor API's, which the
/// longer path keeps).
pub(super) fn operator_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(post_tree("/api/v1", call));
}

async fn call(
    api: web::Data<AgentApi>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, body).await?;
    let OperatorCall { kind } = media::json_call(req.headers(), &body)?;
    let answer = match kind.as_str() {
        "GET_HEALTH" => json!({"healthy": true}),
        "GET_VERSION" => json!({"version_info": {"version": env!("CARGO_PKG_VERSION")}}),
        "GET_FLAGS" => corral_http::mesos::flags_v1(&api.flags),
        "GET_METRICS" | "GET_AGENT" | "GET_FRAMEWORKS" | "GET_EXECUTORS" | "GET_TASKS"
        | "GET_STATE" | "GET_CONTAINERS" => {
            let s = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
            match kind.as_str() {
                "GET_METRICS" => metrics(&s),
                "GET_AGENT" => agent(&s),
                "GET_FRAMEWORKS" => frameworks(&s),
                "GET_EXECUTORS" => executors(&s),
                "GET_TASKS" => tasks(&s),
                "GET_STATE" => json!({
                    "get_tasks": tasks(&s),
                    "get_executors": executors(&s),
                    "get_frameworks": frameworks(&s),
                }),
                _ => containers(s).await?,
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "{} is not supported by Corral yet (docs/mesos-compatibility.md)",
                corral_http::echo(other)
            )))
        }
    };
    let field = kind.to_ascii_lowercase();
    Ok(HttpResponse::Ok().json(json!({ "type": kind, field: answer })))
}

fn id(value: &str) -> Value {
    json!({ "value": value })
}

fn metrics(s: &AgentSnapshot) -> Value {
    let metrics: Vec<Value> = snapshot(s)
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({ "metrics": metrics })
}

fn agent_id(s: &AgentSnapshot) -> &str {
    s.id.as_ref().map_or("", |a| a.0.as_str())
}

fn agent(s: &AgentSnapshot) -> Value {
    json!({
        "agent_info": {
            "id": id(agent_id(s)),
            "hostname": s.hostname,
            "port": port_of(&s.pid),
            "resources": resources_out(&s.resources, None),
            "attributes": corral_http::mesos::attributes(&s.attributes),
        }
    })
}

fn framework_info(t: &TaskSummary) -> Value {
    let f = &t.framework;
    json!({
        "framework_info": {
            "id": id(&t.framework_id.0),
            "name": f.name,
            "user": f.user,
            "failover_timeout": f.failover_timeout.as_secs_f64(),
            "checkpoint": f.checkpoint,
            "roles": f.roles,
        }
    })
}

fn frameworks(s: &AgentSnapshot) -> Value {
    let (mut live, mut done) = (Vec::new(), Vec::new());
    for (first, executors) in by_framework(s).values() {
        if executors.values().any(|e| !e.live.is_empty()) {
            live.push(framework_info(first));
        } else {
            done.push(framework_info(first));
        }
    }
    json!({ "frameworks": live, "completed_frameworks": done })
}

fn executor_info(framework_id: &str, executor_id: &str) -> Value {
    json!({
        "executor_info": {
            "executor_id": id(executor_id),
            "framework_id": id(framework_id),
            "name": executor_id,
        }
    })
}

fn executors(s: &AgentSnapshot) -> Value {
    let (mut live, mut done) = (Vec::new(), Vec::new());
    for (fw, (_, executors)) in &by_framework(s) {
        for (eid, e) in executors {
            let doc = executor_info(fw, eid);
            if e.live.is_empty() {
                done.push(doc);
            } else {
                live.push(doc);
            }
        }
    }
    json!({ "executors": live, "completed_executors": done })
}

/// A task, `mesos.v1.Task`'s shape. A command task names no executor, as
/// in Mesos.
fn task(t: &TaskSummary, agent_id: &str) -> Value {
    let role = t.framework.roles.first().map_or("*", String::as_str);
    let mut doc = json!({
        "name": t.name,
        "task_id": id(&t.task_id.0),
        "framework_id": id(&t.framework_id.0),
        "agent_id": id(agent_id),
        "state": task_state_name(t.state),
        "resources": resources_out(&t.resources, Some(role)),
        "statuses": [],
    });
    if t.executor_id != t.task_id.0 {
        doc["executor_id"] = id(&t.executor_id);
    }
    doc
}

/// `GET_TASKS`: live tasks are launched; ended ones are terminated while
/// their executor still runs others, completed once it runs none (as
/// Mesos files them by whether the executor is still there).
fn tasks(s: &AgentSnapshot) -> Value {
    let a = agent_id(s);
    let (mut launched, mut terminated, mut completed) = (Vec::new(), Vec::new(), Vec::new());
    for (_, executors) in by_framework(s).values() {
        for Executor { live, ended } in executors.values() {
            launched.extend(live.iter().map(|t| task(t, a)));
            let into = if live.is_empty() {
                &mut completed
            } else {
                &mut terminated
            };
            into.extend(ended.iter().map(|t| task(t, a)));
        }
    }
    json!({
        "pending_tasks": [],
        "queued_tasks": [],
        "launched_tasks": launched,
        "terminated_tasks": terminated,
        "completed_tasks": completed,
    })
}

/// `GET_CONTAINERS`: one per running executor. Corral names no
/// containers: an executor's container id is `FRAMEWORK.EXECUTOR`.
async fn containers(s: AgentSnapshot) -> Result<Value, ApiError> {
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    // /proc is read off the server's worker, as for /monitor/statistics.
    let stats = web::block(move || monitor::statistics(&s, now_secs))
        .await
        .map_err(|e| ApiError::internal(format!("cannot read /proc: {e}")))?;
    let containers: Vec<Value> = stats
        .into_iter()
        .map(|e| {
            json!({
                "framework_id": id(&e.framework_id),
                "executor_id": id(&e.executor_id),
                "executor_name": e.executor_name,
                "container_id": id(&format!("{}.{}", e.framework_id, e.executor_id)),
                "resource_statistics": e.statistics,
            })
        })
        .collect();
    Ok(json!({ "containers": containers }))
}
