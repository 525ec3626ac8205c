//! Apache Mesos's v1 executor API on the agent, `POST /api/v1/executor`
//! (`docs/executor-http-api.md` of Mesos 1.x), in JSON, so an executor
//! written against Mesos (pymesos's `MesosExecutorDriver`, or any language)
//! runs a framework's tasks on Corral. The agent tells each executor where
//! to call in `MESOS_AGENT_ENDPOINT`.
//!
//! A SUBSCRIBE is answered 200 with a chunked RecordIO stream and starts a
//! [`session`] actor that registers with the agent as that executor; the
//! stream then carries SUBSCRIBED, LAUNCH, KILL, ACKNOWLEDGED and
//! SHUTDOWN. An UPDATE (a status with its uuid) is answered 202 and
//! relayed to the agent, which acknowledges it once it holds it.
//!
//! | answer | when |
//! |---|---|
//! | 200 + stream | SUBSCRIBE |
//! | 202 | UPDATE, HEARTBEAT |
//! | 400 | malformed JSON, a missing part, an update that is not a status Corral can take, MESSAGE (not yet) |
//! | 403 | an UPDATE from an executor with no subscription on this agent |
//! | 415 | a `Content-Type` other than `application/json` |

mod session;
mod subscriptions;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use corral_api::executor::ExecutorUpdate;
use corral_http::ask::ask;
use corral_http::v1::convert::status_in;
use corral_http::v1::executor::{Call, CallType};
use corral_http::v1::stream::{event_body, queue, Inbox, Poke};
use corral_http::{only, read_body, ApiError};

use self::session::{Identity, Session};
use self::subscriptions::Subscription;
pub(in crate::http) use self::subscriptions::Subscriptions;
use super::AgentApi;
use crate::state::GetAgentState;

/// Adds the executor API's route, with the server's one table of
/// subscriptions.
pub(in crate::http) fn executor_routes(cfg: &mut web::ServiceConfig, subs: &Subscriptions) {
    cfg.app_data(web::Data::new(subs.clone())).service(
        web::resource("/api/v1/executor")
            .route(web::post().to(call))
            .default_service(only("POST")),
    );
}

async fn call(
    api: web::Data<AgentApi>,
    subs: web::Data<Subscriptions>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, body).await?;
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::unsupported_media_type(
            "Expecting 'Content-Type' of application/json (protobuf is not served yet)",
        ));
    }
    let call: Call = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Failed to parse body into a Call: {e}")))?;
    let (fw, exec) = (
        call.framework_id.value.as_str(),
        call.executor_id.value.as_str(),
    );
    match call.kind {
        CallType::Subscribe => subscribe(&api, &subs, fw, exec).await,
        CallType::Update => {
            let update = call
                .update
                .as_ref()
                .ok_or_else(|| ApiError::bad_request("Expecting 'update' to be present"))?;
            let sub = subs.get(fw, exec).ok_or_else(|| {
                ApiError::forbidden(format!(
                    "executor {exec} of framework {fw} is not subscribed on this agent"
                ))
            })?;
            let status =
                status_in(&update.status, fw, &sub.agent_id).map_err(ApiError::bad_request)?;
            Inbox::push(&sub.inbox, ExecutorUpdate { status });
            api.node.send(&sub.session, Poke);
            Ok(HttpResponse::Accepted().finish())
        }
        CallType::Heartbeat => Ok(HttpResponse::Accepted().finish()),
        CallType::Message | CallType::Unknown => Err(ApiError::bad_request(
            "only SUBSCRIBE, UPDATE and HEARTBEAT are served (docs/mesos-compatibility.md)",
        )),
    }
}

async fn subscribe(
    api: &AgentApi,
    subs: &Subscriptions,
    fw: &str,
    exec: &str,
) -> Result<HttpResponse, ApiError> {
    let me = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    let agent_id = me
        .id
        .map(|id| id.0)
        .ok_or_else(|| ApiError::unavailable("this agent has not registered with a master yet"))?;
    let (events, rx) = queue();
    let inbox = Inbox::shared();
    let who = Identity {
        framework_id: fw.to_owned(),
        executor_id: exec.to_owned(),
        agent_id: agent_id.clone(),
        hostname: me.hostname,
    };
    let session = Session::new(api.agent.clone(), who, events, inbox.clone(), subs.clone());
    let name = format!("v1-executor-{}", next_session());
    let node = api.node.clone();
    let pid = web::block(move || node.spawn(&name, session))
        .await
        .map_err(|e| ApiError::internal(format!("cannot start the subscription: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("cannot start the subscription: {e}")))?;
    let sub = Subscription {
        session: pid.clone(),
        inbox: inbox.clone(),
        agent_id,
    };
    subs.insert(fw, exec, sub);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(event_body(rx, api.node.clone(), pid, inbox)))
}

/// Session names on the node: each subscription's own.
fn next_session() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
