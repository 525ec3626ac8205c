//! The agent's HTTP API, on a thread beside the agent's node (the same
//! server as the master's, [`corral_http::HttpServer`]). GET, but for the v1 executor API:
//!
//! | path | answer |
//! |---|---|
//! | `/state` | the agent and its tasks as JSON ([`state_json::AgentStateJson`]) |
//! | `/metrics` | Prometheus text: tasks by state, pending status updates, resources, runtime counters |
//! | `/health` | 200 `ok` |
//! | `/files/browse?path=DIR` (and `/files/browse.json`) | the entries of a directory, Mesos's shape: `[{"path", "nlink", "size", "mtime", "mode", "uid", "gid"}]` |
//! | `/files/read?path=FILE&offset=N&length=M` (and `/files/read.json`) | `{"data": "...", "offset": N}`, at most 1 MiB; past the end, empty data; no `offset` (or `-1`): `{"data": "", "offset": SIZE}` |
//! | `/files/download?path=FILE` (and `/files/download.json`) | the file |
//! | `/files/read?path=/slave/log` (and download) | the agent's own log, with `--log-dir` |
//! | `POST /api/v1/executor` | Apache Mesos's v1 executor API: an executor's subscription stream and its updates (`executor_v1`) |
//! | `POST /api/v1` | Apache Mesos's v1 operator API of an agent, its read calls (`operator_v1`) |
//! | `/slave(1)/state`, `/metrics/snapshot`, `/slave(1)/health` | Apache Mesos's v0 views of an agent, Mesos's shapes (`mesos`, `docs/mesos-compatibility.md`) |
//! | `/flags`, `/slave(1)/flags` | `{"flags": {name: value}}`, the flags the agent runs with |
//! | `/monitor/statistics` (and `.json`) | what each running executor uses, Mesos's shape, measured from `/proc` (a Docker task's container by the Docker daemon) ([`monitor`]) |
//!
//! The files endpoints follow Mesos's `/files/*` (`src/files/files.cpp` in
//! apache/mesos), and answer the paths under them as libprocess does. A
//! path is either absolute inside the work directory (Mesos's form: the
//! `directory` `/slave(1)/state` gives an executor, and what is under it)
//! or relative to the work directory (Corral's: `frameworks/FW/tasks/T/stdout`,
//! as `/state`'s `sandbox` gives it; empty for the work directory itself).
//! An absolute path elsewhere is 404, as Mesos answers for what it has not
//! attached; `..` and NUL bytes get 400; paths that lead outside the work
//! directory through symlinks get 403. `length=-1` is no length, as Mesos's
//! web UI sends it; below -1, either number gets 400. `?jsonp=name` wraps
//! browse and read answers as Mesos's JSONP. A download in Mesos's form is
//! an attachment (`application/octet-stream`), in Corral's plain text for
//! the browser (the web UI links to it). Errors are JSON
//! `{"error": "..."}` as on the master.
//!
//! Who may read which sandbox is the `access_sandboxes` ACLs' to say
//! (`--acls`, [`corral_api::acls`]), by the principal the request proved
//! and the user the sandbox's framework runs as (its `user`, or the
//! agent's own user when it names none); the log, the
//! `access_mesos_logs` ACLs'. A refused read is 403 and reads nothing.
//! The agent knows a framework's user from the tasks it runs and those
//! it keeps as completed; the sandbox of a framework it no longer knows
//! of (its records collected), and the work directory above the
//! sandboxes, are decided as Mesos decides a sandbox whose framework it
//! has lost: only `ANY` and `NONE` rules match them. Without ACLs anyone
//! who can reach the port (and passes its authentication) can read every
//! sandbox, as with Mesos: bind it where only operators reach.

// The agent's HTTP API is an edge beside the node: it reads sandboxes from
// disk, which the agent's actor may not (clippy.toml).
#![allow(clippy::disallowed_methods)]

mod executor_v1;
pub mod files;
mod mesos;
mod metrics;
pub mod monitor;
mod operator_v1;
pub mod state_json;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use corral_api::acls::Acls;
use corral_http::access::request_principal;
use corral_http::ask::ask;
use corral_http::files::{attachment_name, FileBody, FilesQuery};
use corral_http::mesos::{answer, answer_jsonp, Query};
use corral_http::{get, get_tree, prometheus, ApiError, HttpConfig, HttpError, HttpServer};
use corral_runtime::{Node, Pid};

use self::files::{FileError, Owner, SandboxFiles};
use self::state_json::AgentStateJson;
use crate::state::{AgentSnapshot, GetAgentState};

/// Starts the agent's HTTP API on `cfg.listen`, asking `agent` (an actor on
/// `node`) for its state and serving files under `work_dir` (the agent's
/// [`AgentConfig::work_dir`](crate::AgentConfig::work_dir)). Returns once
/// the socket is bound; a bind failure comes back at once. Sandboxes and
/// the log are read under `acls` (see the module doc).
pub fn serve(
    cfg: HttpConfig,
    node: Arc<Node>,
    agent: Pid,
    work_dir: PathBuf,
    acls: Acls,
) -> Result<HttpServer, HttpError> {
    let routes = app_routes(&cfg, node, agent, work_dir, acls);
    HttpServer::start("agent", &cfg, routes)
}

/// The routes [`serve`] serves, for an app built with
/// [`corral_http::app`] and driven without a socket (`actix_web::test`),
/// as the `http_agent` fuzz target does.
pub fn app_routes(
    cfg: &HttpConfig,
    node: Arc<Node>,
    agent: Pid,
    work_dir: PathBuf,
    acls: Acls,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    let api = AgentApi {
        node,
        agent,
        files: SandboxFiles::new(work_dir).with_log(cfg.log_file.clone()),
        flags: Arc::new(cfg.flags.clone()),
        acls: Arc::new(acls),
        own_user: Arc::from(own_user()),
    };
    // One table of v1 executor subscriptions for all of the server's workers.
    let executors = executor_v1::Subscriptions::default();
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(api.clone()))
            .configure(|c| executor_v1::executor_routes(c, &executors))
            .configure(operator_v1::operator_routes)
            .service(get("/", index))
            .service(get("/state", state))
            .service(get("/metrics", metrics))
            .service(get("/health", health))
            .service(get_tree("/files/browse", browse))
            .service(get_tree("/files/browse.json", browse))
            .service(get_tree("/files/read", read))
            .service(get_tree("/files/read.json", read))
            .service(get_tree("/files/download", download))
            .service(get_tree("/files/download.json", download))
            .service(get_tree("/slave(1)/state", mesos_state))
            .service(get("/slave(1)/state.json", mesos_state))
            .service(get("/state.json", mesos_state))
            .service(get_tree("/slave(1)/health", mesos_health))
            .service(get_tree("/monitor/statistics", monitor_statistics))
            .service(get_tree("/monitor/statistics.json", monitor_statistics))
            .service(get_tree("/metrics/snapshot", mesos_snapshot))
            .service(get_tree("/flags", flags))
            .service(get_tree("/slave(1)/flags", flags));
    }
}

/// `GET /slave(1)/state`: the agent in Mesos's shape ([`mesos`]).
async fn mesos_state(api: web::Data<AgentApi>, query: Query) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    answer(&query, &mesos::agent_state(&snapshot))
}

/// `GET /flags`: the flags the agent runs with.
async fn flags(api: web::Data<AgentApi>, query: Query) -> Result<HttpResponse, ApiError> {
    answer(&query, &corral_http::mesos::flags_v0(&api.flags))
}

/// `GET /metrics/snapshot`: Mesos's `slave/*` keys.
async fn mesos_snapshot(api: web::Data<AgentApi>, query: Query) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    answer(&query, &mesos::snapshot(&snapshot))
}

/// `GET /monitor/statistics`: what each running executor uses
/// ([`monitor`]).
async fn monitor_statistics(
    api: web::Data<AgentApi>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    // /proc is read off the server's worker, as sandboxes are.
    let stats = web::block(move || monitor::statistics(&snapshot, now_secs))
        .await
        .map_err(|e| ApiError::internal(format!("cannot read /proc: {e}")))?;
    answer(&query, &stats)
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
    /// The agent's flags, for `/flags` and `GET_FLAGS`.
    flags: Arc<Vec<(String, String)>>,
    /// Who may read which sandboxes, and the log.
    acls: Arc<Acls>,
    /// The user the agent runs as: the owner of the sandboxes of
    /// frameworks that name no user.
    own_user: Arc<str>,
}

/// The name of the user this process runs as (its number, if it has no
/// name in `/etc/passwd`).
fn own_user() -> String {
    // SAFETY: geteuid(2) takes nothing and cannot fail.
    let uid = unsafe { libc::geteuid() };
    files::user_name(uid)
}

/// The user each framework `snapshot` knows of runs as, by framework
/// id: its `user`, or `own_user` (the agent's) when it names none.
fn framework_users(snapshot: &AgentSnapshot, own_user: &str) -> BTreeMap<String, String> {
    snapshot
        .tasks
        .iter()
        .chain(&snapshot.completed)
        .map(|t| {
            let user = match t.framework.user.as_str() {
                "" => own_user,
                named => named,
            };
            (t.framework_id.0.clone(), user.to_owned())
        })
        .collect()
}

/// What one reader may read: its principal under the ACLs, with each
/// known framework's user when the ACLs ask who owns a sandbox.
struct Reader {
    acls: Arc<Acls>,
    principal: Option<String>,
    /// The user of each framework the agent knows of, by id.
    users: BTreeMap<String, String>,
}

impl Reader {
    /// The reader of `req`. The agent is asked for its frameworks only if
    /// the ACLs may refuse a sandbox.
    async fn of(api: &AgentApi, req: &HttpRequest) -> Result<Reader, ApiError> {
        let mut users = BTreeMap::new();
        if api.acls.restricts_sandboxes() {
            let snapshot = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
            users = framework_users(&snapshot, &api.own_user);
        }
        Ok(Reader {
            acls: api.acls.clone(),
            principal: request_principal(req),
            users,
        })
    }

    /// Whether this reader may read what `owner` owns.
    fn may(&self, owner: Owner<'_>) -> bool {
        let principal = self.principal.as_deref();
        match owner {
            Owner::Log => self.acls.may_access_log(principal),
            Owner::Framework(id) => self
                .acls
                .may_access_sandbox(principal, self.users.get(id).map(String::as_str)),
            Owner::Agent => self.acls.may_access_sandbox(principal, None),
        }
    }
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
        "a sandbox directory's entries (JSON, Mesos's shape)",
    ),
    (
        "/files/read?path=FILE&offset=N&length=N",
        "part of a sandbox file (JSON, Mesos's shape; no offset: its size)",
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

/// What a files request without a path is told to give.
const PATH_HINT: &str = "a sandbox's absolute directory (as /slave(1)/state writes it) or a path \
relative to the agent's work directory";

/// A files error as an HTTP answer: as Mesos, 404 for what is not there
/// (or not served: an absolute path outside the work directory), 400 for
/// a request that cannot be served as asked.
fn file_error(e: FileError) -> ApiError {
    let status = match &e {
        FileError::ParentDir(_) | FileError::Nul => StatusCode::BAD_REQUEST,
        FileError::IsDir(_) | FileError::NotDir(_) => StatusCode::BAD_REQUEST,
        FileError::Escapes(_) | FileError::Private(_) | FileError::Denied(_) => {
            StatusCode::FORBIDDEN
        }
        FileError::NotFound(_) | FileError::Outside(_) => StatusCode::NOT_FOUND,
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

/// `GET /files/browse?path=DIR`.
async fn browse(
    api: web::Data<AgentApi>,
    q: web::Query<FilesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = q.path(PATH_HINT)?.to_owned();
    let reader = Reader::of(&api, &req).await?;
    let files = api.files.clone();
    let entries = on_disk(move || files.browse(&path, &|o| reader.may(o))).await?;
    answer_jsonp(q.jsonp.as_deref(), &entries)
}

/// `GET /files/read?path=FILE&offset=N&length=M`.
async fn read(
    api: web::Data<AgentApi>,
    q: web::Query<FilesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = q.path(PATH_HINT)?.to_owned();
    let span = q.span()?;
    let reader = Reader::of(&api, &req).await?;
    let files = api.files.clone();
    let chunk = on_disk(move || files.read(&path, span, &|o| reader.may(o))).await?;
    answer_jsonp(q.jsonp.as_deref(), &chunk)
}

/// `GET /files/download?path=FILE`: Mesos's form (an absolute path) as
/// Mesos answers it, an attachment; Corral's (relative, which the web UI
/// links to) as text to show in the browser.
async fn download(
    api: web::Data<AgentApi>,
    q: web::Query<FilesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let path = q.path(PATH_HINT)?.to_owned();
    let absolute = path.starts_with('/');
    let name = path.rsplit('/').next().unwrap_or_default().to_owned();
    let reader = Reader::of(&api, &req).await?;
    let files = api.files.clone();
    let (file, size) = on_disk(move || files.open(&path, &|o| reader.may(o))).await?;
    let mut response = HttpResponse::Ok();
    if absolute {
        response
            .content_type("application/octet-stream")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename={}", attachment_name(&name)),
            ));
    } else {
        response.content_type("text/plain; charset=utf-8");
    }
    Ok(response.body(FileBody::new(file, size)))
}

#[cfg(test)]
mod acl_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_map_to_statuses() {
        let cases = [
            (FileError::ParentDir("..".into()), StatusCode::BAD_REQUEST),
            (FileError::Outside("/etc".into()), StatusCode::NOT_FOUND),
            (FileError::Escapes("l".into()), StatusCode::FORBIDDEN),
            (FileError::NotFound("x".into()), StatusCode::NOT_FOUND),
        ];
        for (e, status) in cases {
            use actix_web::ResponseError;
            assert_eq!(file_error(e).status_code(), status);
        }
    }
}
