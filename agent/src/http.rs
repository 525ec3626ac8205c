//! The agent's HTTP API, on a thread beside the agent's node (the same
//! server as the master's, [`corral_http::HttpServer`]). GET only:
//!
//! | path | answer |
//! |---|---|
//! | `/state` | the agent and its tasks as JSON ([`state_json::AgentStateJson`]) |
//! | `/metrics` | Prometheus text: tasks by state, pending status updates, resources, runtime counters |
//! | `/health` | 200 `ok` |
//! | `/files/browse?path=REL` | the entries of a directory: `[{"name", "path", "size", "is_dir", "mtime_ms"}]` |
//! | `/files/read?path=REL&offset=N&length=M` | `{"data": "...", "offset": N, "length": bytes}`, at most 1 MiB; past the end, empty data |
//! | `/files/download?path=REL` | the file, as `text/plain` |
//! | `/slave(1)/state`, `/metrics/snapshot`, `/slave(1)/health` | Apache Mesos's v0 views of an agent, Mesos's shapes (`mesos`, `docs/mesos-compatibility.md`) |
//!
//! REL is relative to the agent's work directory (`frameworks/FW/tasks/T/stdout`,
//! as `/state`'s `sandbox` gives it; empty for the work directory itself),
//! as in Mesos's files API. Absolute paths, `..` and NUL bytes get 400;
//! paths that lead outside the work directory through symlinks get 403.
//! Errors are JSON `{"error": "..."}` as on the master.
//!
//! Anyone who can reach the port can read every sandbox, as with Mesos
//! without authentication: bind it where only operators reach.

// The agent's HTTP API is an edge beside the node: it reads sandboxes from
// disk, which the agent's actor may not (clippy.toml).
#![allow(clippy::disallowed_methods)]

mod download;
pub mod files;
mod mesos;
mod metrics;
pub mod state_json;

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use corral_http::ask::ask;
use corral_http::mesos::{answer, Query};
use corral_http::{get, get_tree, prometheus, ApiError, HttpConfig, HttpError, HttpServer};
use corral_runtime::{Node, Pid};
use serde::Deserialize;

use self::download::FileBody;
use self::files::{FileError, SandboxFiles};
use self::state_json::AgentStateJson;
use crate::state::GetAgentState;

/// Starts the agent's HTTP API on `cfg.listen`, asking `agent` (an actor on
/// `node`) for its state and serving files under `work_dir` (the agent's
/// [`AgentConfig::work_dir`](crate::AgentConfig::work_dir)). Returns once
/// the socket is bound; a bind failure comes back at once.
pub fn serve(
    cfg: HttpConfig,
    node: Arc<Node>,
    agent: Pid,
    work_dir: PathBuf,
) -> Result<HttpServer, HttpError> {
    let api = AgentApi {
        node,
        agent,
        files: SandboxFiles::new(work_dir),
    };
    HttpServer::start("agent", &cfg, move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(api.clone()))
            .service(get("/", index))
            .service(get("/state", state))
            .service(get("/metrics", metrics))
            .service(get("/health", health))
            .service(get("/files/browse", browse))
            .service(get("/files/read", read))
            .service(get("/files/download", download))
            .service(get_tree("/slave(1)/state", mesos_state))
            .service(get("/slave(1)/state.json", mesos_state))
            .service(get("/state.json", mesos_state))
            .service(get_tree("/slave(1)/health", mesos_health))
            .service(get_tree("/metrics/snapshot", mesos_snapshot));
    })
}

/// `GET /slave(1)/state`: the agent in Mesos's shape ([`mesos`]).
async fn mesos_state(api: web::Data<AgentApi>, query: Query) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    answer(&query, &mesos::agent_state(&snapshot))
}

/// `GET /metrics/snapshot`: Mesos's `slave/*` keys.
async fn mesos_snapshot(api: web::Data<AgentApi>, query: Query) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    answer(&query, &mesos::snapshot(&snapshot))
}

/// `GET /slave(1)/health`: 200 with no body, as Mesos.
async fn mesos_health() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// What the handlers share.
#[derive(Clone)]
struct AgentApi {
    node: Arc<Node>,
    agent: Pid,
    files: SandboxFiles,
}

/// `GET /state`.
async fn state(api: web::Data<AgentApi>) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    Ok(HttpResponse::Ok().json(AgentStateJson::from(&snapshot)))
}

/// `GET /metrics`.
async fn metrics(api: web::Data<AgentApi>) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    let text = metrics::render(&snapshot, &api.node.metrics());
    Ok(HttpResponse::Ok()
        .content_type(prometheus::CONTENT_TYPE)
        .body(text))
}

/// What each endpoint serves, for `GET /`.
const ENDPOINTS: [(&str, &str); 6] = [
    (
        "/state",
        "the agent's tasks, resources and pending updates (JSON)",
    ),
    ("/metrics", "Prometheus metrics"),
    ("/health", "ok while the agent serves"),
    (
        "/files/browse?path=DIR",
        "a sandbox directory's entries (JSON)",
    ),
    (
        "/files/read?path=FILE&offset=N&length=N",
        "part of a sandbox file (JSON)",
    ),
    ("/files/download?path=FILE", "a sandbox file"),
];

/// The body of `GET /`.
#[derive(serde::Serialize)]
struct Index {
    agent: String,
    endpoints: std::collections::BTreeMap<&'static str, &'static str>,
}

/// `GET /`: what this agent serves (the master's web UI links here).
async fn index(api: web::Data<AgentApi>) -> HttpResponse {
    HttpResponse::Ok().json(Index {
        agent: api.agent.to_string(),
        endpoints: ENDPOINTS.into_iter().collect(),
    })
}

/// `GET /health`.
async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The query of the files endpoints, as text: numbers are parsed by hand
/// so a bad one gets a message naming it.
#[derive(Deserialize)]
struct FilesQuery {
    path: Option<String>,
    offset: Option<String>,
    length: Option<String>,
}

impl FilesQuery {
    fn path(&self) -> Result<&str, ApiError> {
        self.path.as_deref().ok_or_else(|| {
            ApiError::bad_request(
                "the path parameter is missing: give ?path=REL, relative to the agent's work directory",
            )
        })
    }
}

/// `name`'s value as a whole number of bytes, if given.
fn bytes_param(name: &str, value: Option<&str>) -> Result<Option<u64>, ApiError> {
    value
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "{name} must be a whole number of bytes, not '{}'",
                    corral_http::echo(v)
                ))
            })
        })
        .transpose()
}

/// A files error as an HTTP answer.
fn file_error(e: FileError) -> ApiError {
    let status = match &e {
        FileError::Absolute(_) | FileError::ParentDir(_) | FileError::Nul => {
            StatusCode::BAD_REQUEST
        }
        FileError::IsDir(_) | FileError::NotDir(_) => StatusCode::BAD_REQUEST,
        FileError::Escapes(_) | FileError::Private(_) => StatusCode::FORBIDDEN,
        FileError::NotFound(_) => StatusCode::NOT_FOUND,
        FileError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, e.to_string())
}

/// Runs a file-system call off the server's worker.
async fn on_disk<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f)
        .await
        .map_err(|e| ApiError::internal(format!("cannot reach the disk: {e}")))?
        .map_err(file_error)
}

/// `GET /files/browse?path=REL`.
async fn browse(
    api: web::Data<AgentApi>,
    q: web::Query<FilesQuery>,
) -> Result<HttpResponse, ApiError> {
    let rel = q.path()?.to_owned();
    let files = api.files.clone();
    let entries = on_disk(move || files.browse(&rel)).await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// `GET /files/read?path=REL&offset=N&length=M`.
async fn read(
    api: web::Data<AgentApi>,
    q: web::Query<FilesQuery>,
) -> Result<HttpResponse, ApiError> {
    let rel = q.path()?.to_owned();
    let offset = bytes_param("offset", q.offset.as_deref())?.unwrap_or(0);
    let length = bytes_param("length", q.length.as_deref())?;
    let files = api.files.clone();
    let chunk = on_disk(move || files.read(&rel, offset, length)).await?;
    Ok(HttpResponse::Ok().json(chunk))
}

/// `GET /files/download?path=REL`.
async fn download(
    api: web::Data<AgentApi>,
    q: web::Query<FilesQuery>,
) -> Result<HttpResponse, ApiError> {
    let rel = q.path()?.to_owned();
    let files = api.files.clone();
    let (file, size) = on_disk(move || files.open(&rel)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(FileBody::new(file, size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_parameters_name_what_is_wrong() {
        assert_eq!(bytes_param("offset", None).unwrap(), None);
        assert_eq!(bytes_param("offset", Some("12")).unwrap(), Some(12));
        for bad in ["abc", "-1", "1.5", "", "99999999999999999999999"] {
            let e = bytes_param("offset", Some(bad)).unwrap_err();
            assert!(e.message().starts_with("offset must be"), "{e}");
        }
    }

    #[test]
    fn file_errors_map_to_statuses() {
        let cases = [
            (FileError::ParentDir("..".into()), StatusCode::BAD_REQUEST),
            (FileError::Absolute("/etc".into()), StatusCode::BAD_REQUEST),
            (FileError::Escapes("l".into()), StatusCode::FORBIDDEN),
            (FileError::NotFound("x".into()), StatusCode::NOT_FOUND),
        ];
        for (e, status) in cases {
            use actix_web::ResponseError;
            assert_eq!(file_error(e).status_code(), status);
        }
    }
}
