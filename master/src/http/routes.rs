//! The master's endpoints. Each handler asks the master actor for what it
//! needs ([`GetState`], [`GetMetrics`], [`OperatorKill`]) and shapes the
//! answer; none touches the master's state.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::api::MasterApi;
use super::assets;
use super::metrics::render;
use super::operator_v1::operator_routes;
use super::scheduler_v1::{scheduler_routes, Streams};
use super::state_json::StateJson;
use crate::state::{GetMetrics, GetState, KillOutcome, OperatorKill};
use corral_api::ids::{id_problem, FrameworkId, TaskId};
use corral_http::access::request_principal;
use corral_http::ask::ask;
use corral_http::prometheus;
use corral_http::v1::media;
use corral_http::ApiError;
use corral_http::{get, only, read_body};

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
            .service(get("/metrics", metrics))
            .service(get("/health", health))
            .service(
                web::resource("/tasks/{framework_id}/{task_id}/kill")
                    .route(web::post().to(kill))
                    .default_service(only("POST")),
            )
            .configure(super::mesos::mesos_routes)
            .configure(|c| scheduler_routes(c, &streams))
            // After the scheduler's path, which it would otherwise cover.
            .configure(operator_routes);
    }
}

/// `GET /state`: the cluster, as [`StateJson`].
/// `GET /`: the web UI, on the leader. A standby sends the browser to the
/// leader's UI: the page's own requests could not follow a redirect to
/// another origin ("Failed to fetch"), a page load can.
async fn ui(api: web::Data<MasterApi>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(elsewhere) = api.redirect(&req).await? {
        return Ok(elsewhere);
    }
    Ok(assets::index().await)
}

async fn state(api: web::Data<MasterApi>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(elsewhere) = api.redirect(&req).await? {
        return Ok(elsewhere);
    }
    let state = ask(&api.node, &api.master, GetState, "master").await?;
    let doc = StateJson::new(&state, &api.master.to_string());
    Ok(HttpResponse::Ok().json(doc))
}

/// `GET /metrics`: Prometheus text.
async fn metrics(api: web::Data<MasterApi>) -> Result<HttpResponse, ApiError> {
    let metrics = ask(&api.node, &api.master, GetMetrics, "master").await?;
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

/// An operator as refusals name it.
pub(super) fn operator(principal: Option<&str>) -> String {
    match principal {
        Some(p) => format!("principal {p:?}"),
        None => "an operator who proved no principal".to_owned(),
    }
}
