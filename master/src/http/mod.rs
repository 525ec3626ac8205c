//! The master's HTTP API and web UI (docs/architecture.md, HTTP surfaces), on the
//! server `corral-http` shares with the agent's.
//!
//! [`serve`] starts actix-web on a thread of its own beside the master's
//! node. Endpoints (GET unless said):
//!
//! | path | answer |
//! |---|---|
//! | `/state` | the cluster as JSON, [`state_json::StateJson`] (the UI's and CLI's contract); `?tasks=false` without its tasks |
//! | `/tasks?framework_id=&state=&offset=&limit=` | a page of `/state`'s tasks, filtered: `{"tasks": [...], "total": n, "offset": o, "limit": l}` (100 by default) |
//! | `/metrics` | Prometheus text: allocation pass times, offers, tasks by state, agents, frameworks, the node's runtime counters |
//! | `/health` | 200 `ok` |
//! | `POST /tasks/{framework_id}/{task_id}/kill` | kill a task as an operator: 202, 404 unknown, 409 already ended |
//! | `/`, `/app.js`, `/style.css` | the web UI |
//! | `/master/state`, `/master/tasks`, `/metrics/snapshot`, ... | Apache Mesos's v0 read-only endpoints, Mesos's shapes (`mesos`, `docs/mesos-compatibility.md`) |
//! | `POST /api/v1/scheduler` | Apache Mesos's v1 scheduler API: a framework's subscription stream and calls (`scheduler_v1`) |
//! | `POST /api/v1` | Apache Mesos's v1 operator API: its read calls, TEARDOWN and SUBSCRIBE (`operator_v1`) |
//! | `/files/read?path=/master/log`, `/files/download`, `/files/browse` | the master's own log, with `--log-dir` (`files`) |
//!
//! Every error is JSON `{"error": "..."}`: 404 for an unknown path, 405 (with
//! `Allow`) for a wrong method, 413 for a body over
//! [`HttpConfig::max_body_bytes`], 400 for a malformed parameter, 503 when
//! the master does not answer within [`corral_http::ask::ASK_TIMEOUT`].
//!
//! Handlers never touch the master's state. Reads of the cluster (`/state`,
//! `/tasks`, the Mesos v0 views, the v1 operator API's reads) are served
//! from the state the master last published on its [`StateBoard`]
//! (`crate::board`): no request asks the master to build anything, so
//! polling a large cluster never stalls it. A publication is at most the
//! board's interval (100 ms by default) plus one publication's build
//! behind the master. `/state` and `/tasks` write their JSON off the
//! server's worker (a `/state` body once per publication however many
//! clients poll it), and the Mesos v0 views build theirs off it. The
//! metrics (`/metrics`, `/metrics/snapshot`, the v1 `GET_METRICS`) are
//! those published with the state, with the allocator's pass times asked
//! of the allocator. The rest (kills, leadership for writes) ask the
//! master actor through the node ([`corral_http::ask::ask`]), as any
//! other actor would. The server's threads run at a lower priority than
//! the master's (`priority`).
//!
//! The master leading when it published serves its views; otherwise it
//! answers 307 to the leader's same path (503 while no leader is known).

mod api;
mod assets;
mod files;
mod mesos;
mod metrics;
mod operator_v1;
mod priority;
mod routes;
mod scheduler_v1;
pub mod state_json;
#[cfg(test)]
mod tests;
mod visible;

use std::sync::Arc;

use actix_web::web;
use corral_runtime::{Node, Pid};

use crate::acls::Acls;
use crate::board::StateBoard;

pub use corral_http::{HttpAccess, HttpConfig, HttpError, HttpServer};

/// Starts the master's HTTP API and UI on `cfg.listen`, showing each
/// reader what `acls` let it view, reading the state
/// `master` (an actor on `node`) publishes on `board` (spawn it
/// [`publishing_to`](crate::master::Master::publishing_to) the same board)
/// and asking it the rest. Returns once the socket is bound; a bind
/// failure (port in use, address not on this machine) comes back at once
/// as [`HttpError::Bind`].
pub fn serve(
    cfg: HttpConfig,
    node: Arc<Node>,
    master: Pid,
    board: StateBoard,
    acls: Acls,
) -> Result<HttpServer, HttpError> {
    let api = api::MasterApi::new(node, master, board).with_node_info(
        cfg.flags.clone(),
        cfg.log_file.clone(),
        acls,
    );
    let routes = routes::routes(api);
    // Each worker builds its app on its own thread, before it serves:
    // the moment to make it (and the blocking threads it starts) yield
    // to the master (`priority`).
    HttpServer::start("master", &cfg, move |c: &mut web::ServiceConfig| {
        priority::yield_to_master();
        routes(c)
    })
}

/// The routes [`serve`] serves, for an app built with
/// [`corral_http::app`] and driven without a socket (`actix_web::test`),
/// as the tests and the `http_master` fuzz target do.
pub fn app_routes(
    node: Arc<Node>,
    master: Pid,
    board: StateBoard,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    routes::routes(api::MasterApi::new(node, master, board))
}
