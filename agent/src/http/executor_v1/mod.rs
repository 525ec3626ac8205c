//! Apache Mesos's v1 executor API on the agent, `POST /api/v1/executor`
//! (`docs/executor-http-api.md` of Mesos 1.x), in JSON or protobuf (by
//! `Content-Type`; a stream's events as its `Accept` allows, JSON when
//! both are), so an executor
//! written against Mesos (pymesos's `MesosExecutorDriver`, or any language)
//! runs a framework's tasks on Corral. The agent tells each executor where
//! to call in `MESOS_AGENT_ENDPOINT`.
//!
//! A SUBSCRIBE is answered 200 with a chunked RecordIO stream and starts a
//! [`session`] actor that registers with the agent as that executor (or,
//! from an executor that subscribes again, hands its session the new
//! stream); the stream then carries SUBSCRIBED, LAUNCH, KILL, ACKNOWLEDGED
//! and SHUTDOWN, MESSAGE for the framework's messages, and a HEARTBEAT
//! every 30 minutes. An UPDATE (a
//! status with its uuid) is answered 202 and relayed to the agent, which
//! acknowledges it once it holds it; a MESSAGE (bytes for the framework)
//! is answered 202 and relayed, best effort.
//!
//! | answer | when |
//! |---|---|
//! | 200 + stream | SUBSCRIBE |
//! | 202 | UPDATE, MESSAGE, HEARTBEAT |
//! | 400 | malformed JSON or protobuf, a missing part, an update that is not a status Corral can take, a message whose data is not base64 or over 32 KiB |
//! | 403 | an UPDATE or MESSAGE from an executor with no subscription on this agent |
//! | 406 | a SUBSCRIBE whose `Accept` allows neither `application/json` nor `application/x-protobuf` |
//! | 415 | a `Content-Type` other than those two |
//! | 503 | the agent has not registered yet, or the executor's previous session is still ending |

mod session;
mod subscriptions;

use actix_web::{web, HttpRequest, HttpResponse};
use corral_api::executor::{ExecutorMessage, ExecutorUpdate};
use corral_api::ids::FrameworkId;
use corral_http::ask::ask;
use corral_http::v1::convert::{message_data, status_in};
use corral_http::v1::executor::{Call, CallType, Subscribe};
use corral_http::v1::media::{self, Format};
use corral_http::v1::protobuf;
use corral_http::v1::stream::{event_body, queue, Inbox, Poke};
use corral_http::{post, read_body, ApiError};
use corral_runtime::SpawnError;

use self::session::{session_name, Identity, Session};
pub(in crate::http) use self::subscriptions::Subscriptions;
use self::subscriptions::{Attach, FromExecutor, Joined, Subscription};
use super::AgentApi;
use crate::state::GetAgentState;

/// Adds the executor API's route, with the server's one table of
/// subscriptions.
pub(in crate::http) fn executor_routes(cfg: &mut web::ServiceConfig, subs: &Subscriptions) {
    cfg.app_data(web::Data::new(subs.clone()))
        .service(post("/api/v1/executor", call));
}

async fn call(
    api: web::Data<AgentApi>,
    subs: web::Data<Subscriptions>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, body).await?;
    let format = media::body_format(req.headers())?;
    let call: Call = media::read_call(format, protobuf::EXECUTOR_CALL, &body)?;
    let (fw, exec) = (
        call.framework_id.value.as_str(),
        call.executor_id.value.as_str(),
    );
    match call.kind {
        CallType::Subscribe => {
            let held = call.subscribe.clone().unwrap_or_default();
            let format = media::response_format(req.headers())?;
            subscribe(&api, &subs, fw, exec, held, format).await
        }
        CallType::Update => {
            let update = call
                .update
                .as_ref()
                .ok_or_else(|| ApiError::bad_request("Expecting 'update' to be present"))?;
            let sub = subscribed(&subs, fw, exec)?;
            let status =
                status_in(&update.status, fw, &sub.agent_id).map_err(ApiError::bad_request)?;
            Inbox::push(&sub.inbox, FromExecutor::Update(ExecutorUpdate { status }));
            api.node.send(&sub.session, Poke);
            Ok(HttpResponse::Accepted().finish())
        }
        CallType::Message => {
            let message = call
                .message
                .as_ref()
                .ok_or_else(|| ApiError::bad_request("Expecting 'message' to be present"))?;
            let data = message_data(&message.data).map_err(ApiError::bad_request)?;
            let sub = subscribed(&subs, fw, exec)?;
            let message = ExecutorMessage {
                framework_id: FrameworkId(fw.to_owned()),
                executor_id: exec.to_owned(),
                data,
            };
            Inbox::push(&sub.inbox, FromExecutor::Message(message));
            api.node.send(&sub.session, Poke);
            Ok(HttpResponse::Accepted().finish())
        }
        CallType::Heartbeat => Ok(HttpResponse::Accepted().finish()),
        CallType::Unknown => Err(ApiError::bad_request(
            "only SUBSCRIBE, UPDATE, MESSAGE and HEARTBEAT are served (docs/mesos-compatibility.md)",
        )),
    }
}

/// The subscription of executor `exec` of `fw`; 403 if it has none here.
fn subscribed(subs: &Subscriptions, fw: &str, exec: &str) -> Result<Subscription, ApiError> {
    subs.get(fw, exec).ok_or_else(|| {
        ApiError::forbidden(format!(
            "executor {exec} of framework {fw} is not subscribed on this agent"
        ))
    })
}

async fn subscribe(
    api: &AgentApi,
    subs: &Subscriptions,
    fw: &str,
    exec: &str,
    held: Subscribe,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let me = ask(&api.node, &api.agent, GetAgentState, "agent").await?;
    let agent_id = me
        .id
        .map(|id| id.0)
        .ok_or_else(|| ApiError::unavailable("this agent has not registered with a master yet"))?;
    let mut updates = Vec::with_capacity(held.unacknowledged_updates.len());
    for u in &held.unacknowledged_updates {
        let status = status_in(&u.status, fw, &agent_id).map_err(|e| {
            ApiError::bad_request(format!("an unacknowledged update is not a status: {e}"))
        })?;
        updates.push(ExecutorUpdate { status });
    }
    let (events, rx) = queue();
    let stream = next_stream();
    let attach = Attach {
        stream,
        events,
        format,
        tasks: held
            .unacknowledged_tasks
            .into_iter()
            .map(|t| t.task_id.value)
            .collect(),
        updates,
    };
    let name = session_name(fw, exec);
    let session = api
        .node
        .pid(&name)
        .map_err(|e| ApiError::internal(format!("cannot name the session: {e}")))?;
    let fresh = Subscription {
        session,
        inbox: Inbox::shared(),
        agent_id: agent_id.clone(),
    };
    let sub = match subs.join(fw, exec, attach, fresh) {
        Some(Joined::Session(sub)) => sub,
        Some(Joined::New(sub)) => {
            let session = || {
                let who = Identity {
                    framework_id: fw.to_owned(),
                    executor_id: exec.to_owned(),
                    agent_id: agent_id.clone(),
                    hostname: me.hostname.clone(),
                };
                Session::new(api.agent.clone(), who, sub.inbox.clone(), subs.clone())
            };
            start(api, &name, session).await.inspect_err(|_| {
                subs.remove(fw, exec, &sub.inbox);
                Inbox::close(&sub.inbox);
            })?;
            sub
        }
        None => return Err(ApiError::internal("the subscription table is unusable")),
    };
    api.node.send(&sub.session, Poke);
    let (node, pid, inbox) = (api.node.clone(), sub.session, sub.inbox);
    let hangup = move || {
        Inbox::push(&inbox, FromExecutor::Detach(stream));
        node.send(&pid, Poke);
    };
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .streaming(event_body(rx, hangup)))
}

/// Spawns a session (a new one from `session` each try) as `name`. Its
/// predecessor of that name may still be stopping (it left the table
/// first): waits for the name, a few times.
async fn start(api: &AgentApi, name: &str, session: impl Fn() -> Session) -> Result<(), ApiError> {
    for _ in 0..START_TRIES {
        let (node, n, actor) = (api.node.clone(), name.to_owned(), session());
        let spawned = web::block(move || match node.spawn(&n, actor) {
            Ok(_) => Ok(()),
            Err(SpawnError::NameTaken(_)) => Err(None),
            Err(e) => Err(Some(e)),
        })
        .await
        .map_err(|e| ApiError::internal(format!("cannot start the subscription: {e}")))?;
        match spawned {
            Ok(()) => return Ok(()),
            Err(Some(e)) => {
                return Err(ApiError::unavailable(format!(
                    "cannot start the subscription: {e}"
                )))
            }
            Err(None) => actix_web::rt::time::sleep(START_RETRY).await,
        }
    }
    Err(ApiError::unavailable(
        "the executor's previous subscription is still ending; subscribe again",
    ))
}

/// How often, and how long apart, a session's start waits for its
/// predecessor's name.
const START_TRIES: u32 = 20;
const START_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Tells each SUBSCRIBE's stream apart.
fn next_stream() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
