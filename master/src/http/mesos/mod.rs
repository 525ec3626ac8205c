//! Apache Mesos's v0 read-only endpoints, for the monitoring checks,
//! dashboards and CLIs that read a Mesos master's JSON (issue: Mesos HTTP
//! APIs). Corral's own `/state`, `/metrics`, web UI and CLI are separate
//! and unchanged.
//!
//! | path | answer |
//! |---|---|
//! | `/master/state` (and `/master/state.json`, `/state.json`) | the cluster, Mesos's shape ([`json::master_state`]) |
//! | `/master/state-summary` | agents and frameworks with task counts |
//! | `/master/frameworks?framework_id=` | frameworks and completed frameworks with their tasks |
//! | `/master/slaves?slave_id=` | agents |
//! | `/master/tasks?limit=&offset=&order=&framework_id=&task_id=` | tasks, 100 by default, newest first |
//! | `/master/roles` | roles with their weights, frameworks, allocated and offered amounts |
//! | `/master/redirect`, `/redirect` | 307 to `//leader-host:port`, 503 `No leader elected` |
//! | `/master/health` | 200, empty |
//! | `/version` | `{"version": ...}` |
//! | `/flags` | `{"flags": {name: value}}`, the flags it runs with |
//! | `/metrics/snapshot` | Mesos's metric keys ([`snapshot::snapshot`]) |
//!
//! As in Mesos, the `master/*` views are the leader's: a standby answers
//! 307 to the same path on the leader (503 while none is known), and
//! `?jsonp=f` wraps any JSON answer as `f(...)` (`text/javascript`).
//! Mesos 1.7 dropped the `.json` paths; they are kept here for older tools.

mod json;
mod snapshot;

pub(super) use self::snapshot::snapshot as metrics_now;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::api::{protocol_relative, MasterApi};
use crate::state::{GetLeadership, MasterState, TaskView};
use corral_http::ask::ask;
use corral_http::mesos::{answer, Query};
use corral_http::{get, get_tree, ApiError};

/// How many tasks `/master/tasks` gives when not told (Mesos's).
const TASK_LIMIT: usize = 100;

/// Adds the Mesos routes.
pub(super) fn mesos_routes(cfg: &mut web::ServiceConfig) {
    // Longest-prefix paths as libprocess serves them (`/master/state/x` is
    // the state), but not under the redirect: Mesos answers 404 there so
    // that redirects cannot loop.
    cfg.service(get_tree("/master/state", state))
        .service(get("/master/state.json", state))
        .service(get("/state.json", state))
        .service(get_tree("/master/state-summary", state_summary))
        .service(get_tree("/master/frameworks", frameworks))
        .service(get_tree("/master/slaves", slaves))
        .service(get_tree("/master/tasks", tasks))
        .service(get_tree("/master/roles", roles))
        .service(get("/master/redirect", redirect))
        .service(get("/redirect", redirect))
        .service(get_tree("/master/health", health))
        .service(get_tree("/version", version))
        .service(get_tree("/flags", flags))
        .service(get_tree("/metrics/snapshot", metrics_snapshot));
}

/// A view of the leader's state: the state, the query, the leader's
/// actor address.
type View = fn(&MasterState, &Query, &str) -> Value;

/// Answers with `view` of the state the leader last published, made off
/// the server's worker, or with what a standby answers instead.
async fn leader_view(
    api: &MasterApi,
    req: &HttpRequest,
    query: &Query,
    view: View,
) -> Result<HttpResponse, ApiError> {
    let p = match api.leader_state(req).await? {
        Ok(p) => p,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let (q, leader) = (query.clone(), api.master.to_string());
    let value = web::block(move || view(&p.state, &q, &leader))
        .await
        .map_err(|e| ApiError::internal(format!("cannot render: {e}")))?;
    answer(query, &value)
}

async fn state(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    leader_view(&api, &req, &query, |s, _, leader| {
        json::master_state(s, leader)
    })
    .await
}

async fn state_summary(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    leader_view(&api, &req, &query, |s, _, _| json::state_summary(s)).await
}

async fn frameworks(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    leader_view(&api, &req, &query, frameworks_view).await
}

async fn slaves(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    leader_view(&api, &req, &query, slaves_view).await
}

async fn tasks(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    leader_view(&api, &req, &query, tasks_view).await
}

async fn roles(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    leader_view(&api, &req, &query, |s, _, _| json::roles(s)).await
}

fn frameworks_view(s: &MasterState, query: &Query, _: &str) -> Value {
    let only = query.get("framework_id").map(String::as_str);
    let (frameworks, completed) = json::frameworks(s, only);
    json!({
        "frameworks": frameworks,
        "completed_frameworks": completed,
        "unregistered_frameworks": [],
    })
}

fn slaves_view(s: &MasterState, query: &Query, _: &str) -> Value {
    let only = query.get("slave_id");
    let slaves: Vec<Value> = s
        .agents
        .iter()
        .filter(|a| only.is_none_or(|id| a.id.0 == *id))
        .map(Arc::as_ref)
        .map(json::slave)
        .collect();
    json!({"slaves": slaves, "recovered_slaves": []})
}

/// A count from the query, or `default` when absent or not a count (Mesos
/// falls back the same way).
fn count(query: &Query, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tasks_view(s: &MasterState, query: &Query, _: &str) -> Value {
    let (framework, task) = (query.get("framework_id"), query.get("task_id"));
    let roles = s.roles_by_framework();
    let mut found: Vec<&TaskView> = s
        .tasks
        .iter()
        .map(Arc::as_ref)
        .filter(|t| framework.is_none_or(|f| t.framework_id.0 == *f))
        .filter(|t| task.is_none_or(|id| t.id.0 == *id))
        .collect();
    // By the first status's time, as Mesos sorts; newest first unless
    // `order=asc`.
    found.sort_by_key(|t| t.history.first().map_or(0, |(_, ms)| *ms));
    if query.get("order").map(String::as_str) != Some("asc") {
        found.reverse();
    }
    let (limit, offset) = (count(query, "limit", TASK_LIMIT), count(query, "offset", 0));
    let page: Vec<Value> = found
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|t| {
            let role = roles.get(t.framework_id.0.as_str()).copied().unwrap_or("*");
            json::task(t, role)
        })
        .collect();
    json!({ "tasks": page })
}

/// `GET /master/redirect`: 307 to the leader's `//host:port` (from the
/// leader too, as Mesos), 503 while none is known.
async fn redirect(api: web::Data<MasterApi>) -> Result<HttpResponse, ApiError> {
    let l = ask(&api.node, &api.master, GetLeadership, "master").await?;
    let Some(base) = l.leader_http else {
        return Ok(HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("No leader elected"));
    };
    Ok(HttpResponse::TemporaryRedirect()
        .insert_header((header::LOCATION, protocol_relative(&base)))
        .finish())
}

/// `GET /master/health`: 200 with no body, on any master.
async fn health() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// `GET /version`. Corral records no build date, time or user.
async fn version(query: Query) -> Result<HttpResponse, ApiError> {
    let doc = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "build_date": "",
        "build_time": 0.0,
        "build_user": "",
    });
    answer(&query, &doc)
}

/// `GET /flags`, on any master: the flags it runs with.
async fn flags(api: web::Data<MasterApi>, query: Query) -> Result<HttpResponse, ApiError> {
    answer(&query, &corral_http::mesos::flags_v0(&api.flags))
}

/// `GET /metrics/snapshot`, on any master (`master/elected` says which
/// leads).
async fn metrics_snapshot(
    api: web::Data<MasterApi>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let m = api.metrics().await?;
    answer(&query, &snapshot::snapshot(&m, wall_clock_ms()))
}

/// The machine's clock, for the uptime: the HTTP server runs beside the
/// node, never in the simulator.
#[allow(clippy::disallowed_methods)]
pub(super) fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
