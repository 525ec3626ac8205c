//! The master's endpoints. Reads of the cluster and its metrics are
//! served from the state the master last published ([`crate::board`]);
//! kills ask the master actor ([`OperatorKill`]). Each shapes its answer
//! off the master; none touches the master's state.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::api::{operator, MasterApi};
use super::assets;
use super::metrics::render;
use super::operator_v1::operator_routes;
use super::scheduler_v1::{scheduler_routes, Streams};
use super::state_json::{task as task_json, StateJson, TaskJson};
use crate::board::Published;
use crate::state::{KillOutcome, OperatorKill};
use corral_api::ids::{id_problem, FrameworkId, TaskId};
use corral_api::task::{task_state_name, TASK_STATES};
use corral_http::access::request_principal;
use corral_http::ask::ask;
use corral_http::prometheus;
use corral_http::v1::media;
use corral_http::ApiError;
use corral_http::{get, post, read_body};

/// Adds the master's routes and their shared data to an app.
pub(super) fn routes(api: MasterApi) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    // One table of v1 subscriptions for all of the server's workers.
    let streams = Streams::default();
    move |cfg| {
        cfg.app_data(web::Data::new(api.clone()))
            .service(get("/", ui))
            .service(get("/app.js", assets::app_js))
            .service(get("/style.css", assets::style_css))
            .service(get("/state", state))
            .service(get("/tasks", tasks))
            .service(get("/metrics", metrics))
            .service(get("/health", health))
            .service(post("/tasks/{framework_id}/{task_id}/kill", kill))
            .configure(super::mesos::mesos_routes)
            .configure(super::files::files_routes)
            .configure(|c| scheduler_routes(c, &streams))
            // After the scheduler's path, which it would otherwise cover.
            .configure(operator_routes);
    }
}

/// `GET /`: the web UI, on the leader. A standby sends the browser to the
/// leader's UI: the page's own requests could not follow a redirect to
/// another origin ("Failed to fetch"), a page load can.
async fn ui(api: web::Data<MasterApi>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(elsewhere) = api.redirect(&req).await? {
        return Ok(elsewhere);
    }
    Ok(assets::index().await)
}

/// `GET /state`: the cluster, as [`StateJson`]; `?tasks=false` leaves
/// the tasks out (`"tasks": []`), for views of a large cluster that need
/// only its agents, frameworks and totals.
async fn state(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: web::Query<StateQuery>,
) -> Result<HttpResponse, ApiError> {
    let p = match api.leader_state(&req).await? {
        Ok(p) => p,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let body = match query.tasks {
        true => api.rendered("state", p, render_state).await?,
        false => api.rendered("state?tasks=false", p, render_summary).await?,
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The parameters of `GET /state`.
#[derive(Deserialize)]
struct StateQuery {
    /// Whether to list tasks (default true).
    #[serde(default = "yes")]
    tasks: bool,
}

fn yes() -> bool {
    true
}

fn render_state(p: &Published) -> Result<Vec<u8>, ApiError> {
    let leader = p.state.pid.clone();
    to_json(&StateJson::new(&p.state, &leader))
}

fn render_summary(p: &Published) -> Result<Vec<u8>, ApiError> {
    let leader = p.state.pid.clone();
    to_json(&StateJson::without_tasks(&p.state, &leader))
}

fn to_json(doc: &impl Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(doc).map_err(|e| ApiError::internal(format!("cannot write JSON: {e}")))
}

/// How many tasks `GET /tasks` lists when not told.
const TASK_LIMIT: usize = 100;

/// The parameters of `GET /tasks`.
#[derive(Deserialize)]
struct TasksQuery {
    /// Only this framework's tasks.
    framework_id: Option<String>,
    /// Only tasks in this state (Mesos's name, `TASK_RUNNING`).
    state: Option<String>,
    /// How many matching tasks to skip.
    #[serde(default)]
    offset: usize,
    /// How many to list at most.
    #[serde(default = "task_limit")]
    limit: usize,
}

fn task_limit() -> usize {
    TASK_LIMIT
}

/// A page of `GET /tasks`.
#[derive(Serialize)]
struct TasksPage {
    /// The tasks, in `/state`'s order.
    tasks: Vec<TaskJson>,
    /// How many tasks match, over all pages.
    total: usize,
    offset: usize,
    limit: usize,
}

/// `GET /tasks?framework_id=&state=&offset=&limit=`: a page of the tasks
/// of `/state` (same shape and order), filtered by framework and state;
/// `total` counts the matching tasks over all pages. `limit` defaults to
/// 100; an unknown state is 400.
async fn tasks(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    query: web::Query<TasksQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let state = match &query.state {
        None => None,
        Some(name) => Some(
            TASK_STATES
                .into_iter()
                .find(|s| task_state_name(*s) == name)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown task state {} (use Mesos's names, such as TASK_RUNNING)",
                        corral_http::echo(name)
                    ))
                })?,
        ),
    };
    let p = match api.leader_state(&req).await? {
        Ok(p) => p,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let body = web::block(move || {
        let framework = query.framework_id.as_deref();
        let matching = p
            .state
            .tasks
            .iter()
            .filter(|t| framework.is_none_or(|f| t.framework_id.0 == f))
            .filter(|t| state.is_none_or(|s| t.state == s));
        let mut total = 0;
        let mut page = Vec::new();
        for (i, t) in matching.enumerate() {
            total += 1;
            if i >= query.offset && page.len() < query.limit {
                page.push(task_json(t));
            }
        }
        to_json(&TasksPage {
            tasks: page,
            total,
            offset: query.offset,
            limit: query.limit,
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("cannot render: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// `GET /metrics`: Prometheus text.
async fn metrics(api: web::Data<MasterApi>) -> Result<HttpResponse, ApiError> {
    let metrics = api.metrics().await?;
    let text = render(&metrics, &api.node.metrics());
    Ok(HttpResponse::Ok()
        .content_type(prometheus::CONTENT_TYPE)
        .body(text))
}

/// `GET /health`: the HTTP server answers (Mesos's `/health`).
async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The answer to an accepted kill.
#[derive(Serialize)]
struct KillAccepted<'a> {
    framework_id: &'a str,
    task_id: &'a str,
    message: &'static str,
}

/// `POST /tasks/{framework_id}/{task_id}/kill`: kill a task as an
/// operator. 202 once the kill is on its way to the task's agent (the task
/// ends as TASK_KILLED, seen in `/state`); 404 for an unknown framework or
/// task; 409 for a task that already ended; 400 for ids that cannot be ids.
async fn kill(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The endpoint takes no body, but one may come: it must fit the limit.
    read_body(&req, body).await?;
    if let Some(elsewhere) = api.redirect(&req).await? {
        return Ok(elsewhere);
    }
    let (framework_id, task_id) = path.into_inner();
    for (what, id) in [("framework id", &framework_id), ("task id", &task_id)] {
        if let Some(problem) = id_problem(id) {
            return Err(ApiError::bad_request(format!("bad {what}: {problem}")));
        }
    }
    // A page on another site can make a browser post a form here (no
    // preflight for form content types), never a JSON request: so a kill
    // must say it is JSON, and a cross-site form cannot kill tasks.
    if !media::body_is_json(req.headers()) {
        return Err(ApiError::unsupported_media_type(
            "send the kill with Content-Type: application/json (a guard against \
             cross-site forms); the body may be empty",
        ));
    }
    let principal = request_principal(&req);
    let msg = OperatorKill {
        framework_id: FrameworkId(framework_id.clone()),
        task_id: TaskId(task_id.clone()),
        principal: principal.clone(),
    };
    match ask(&api.node, &api.master, msg, "master").await? {
        KillOutcome::Accepted => Ok(
            HttpResponse::build(StatusCode::ACCEPTED).json(KillAccepted {
                framework_id: &framework_id,
                task_id: &task_id,
                message: "the kill is on its way to the task's agent",
            }),
        ),
        KillOutcome::UnknownFramework => {
            Err(ApiError::not_found(format!("no framework {framework_id}")))
        }
        KillOutcome::UnknownTask => Err(ApiError::not_found(format!(
            "framework {framework_id} has no task {task_id}"
        ))),
        KillOutcome::AlreadyEnded => Err(ApiError::conflict(format!(
            "task {task_id} of framework {framework_id} has already ended"
        ))),
        KillOutcome::NotLeader => Err(ApiError::unavailable(
            "this master stopped leading; ask the new leader",
        )),
        KillOutcome::Denied => Err(ApiError::forbidden(format!(
            "{} may not kill tasks of framework {framework_id} (kill_tasks ACLs)",
            operator(principal.as_deref())
        ))),
    }
}
