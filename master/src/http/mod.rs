//! The master's HTTP API and web UI (docs/architecture.md, HTTP surfaces), on the
//! server `corral-http` shares with the agent's.
//!
//! [`serve`] starts actix-web on a thread of its own beside the master's
//! node. Endpoints (GET unless said):
//!
//! | path | answer |
//! |---|---|
//! | `/state` | the cluster as JSON, [`state_json::StateJson`] (the UI's and CLI's contract) |
//! | `/metrics` | Prometheus text: allocation pass times, offers, tasks by state, agents, frameworks, the node's runtime counters |
//! | `/health` | 200 `ok` |
//! | `POST /tasks/{framework_id}/{task_id}/kill` | kill a task as an operator: 202, 404 unknown, 409 already ended |
//! | `/`, `/app.js`, `/style.css` | the web UI |
//! | `/master/state`, `/master/tasks`, `/metrics/snapshot`, ... | Apache Mesos's v0 read-only endpoints, Mesos's shapes (`mesos`, `docs/mesos-compatibility.md`) |
//! | `POST /api/v1/scheduler` | Apache Mesos's v1 scheduler API: a framework's subscription stream and calls (`scheduler_v1`) |
//! | `POST /api/v1` | Apache Mesos's v1 operator API, its read calls and TEARDOWN (`operator_v1`) |
//!
//! Every error is JSON `{"error": "..."}`: 404 for an unknown path, 405 (with
//! `Allow`) for a wrong method, 413 for a body over
//! [`HttpConfig::max_body_bytes`], 400 for a malformed parameter, 503 when
//! the master does not answer within [`corral_http::ask::ASK_TIMEOUT`].
//!
//! Handlers never touch the master's state: they ask the master actor
//! through the node ([`corral_http::ask::ask`]), as any other actor would, so a slow
//! request never stalls the master and the master never waits on a socket.
//!
//! Until masters replicate there is one master and it leads; `/state`
//! carries a `leader` field, and a non-leader will answer 307 to the leader
//! (see `routes.rs`).

mod api;
mod assets;
mod mesos;
mod metrics;
mod operator_v1;
mod routes;
mod scheduler_v1;
pub mod state_json;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use actix_web::web;
use corral_runtime::{Node, Pid};

pub use corral_http::{HttpAccess, HttpConfig, HttpError, HttpServer};

/// Starts the master's HTTP API and UI on `cfg.listen`, asking `master` (an
/// actor on `node`) for everything it serves. Returns once the socket is
/// bound; a bind failure (port in use, address not on this machine) comes
/// back at once as [`HttpError::Bind`].
pub fn serve(cfg: HttpConfig, node: Arc<Node>, master: Pid) -> Result<HttpServer, HttpError> {
    HttpServer::start("master", &cfg, app_routes(node, master))
}

/// The routes [`serve`] serves, asking `master` (an actor on `node`), for
/// an app built with [`corral_http::app`] and driven without a socket
/// (`actix_web::test`), as the tests and the `http_master` fuzz target do.
pub fn app_routes(
    node: Arc<Node>,
    master: Pid,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    routes::routes(api::MasterApi { node, master })
}
