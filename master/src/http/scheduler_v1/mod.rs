//! Apache Mesos's v1 scheduler API, `POST /api/v1/scheduler`
//! (`docs/scheduler-http-api.md` of Mesos 1.x), so frameworks written
//! against Mesos (pymesos, mesos-go, the Java `V1Mesos`) run unmodified.
//!
//! Calls come as JSON or protobuf (`mesos.v1.scheduler.Call`), by their
//! `Content-Type`; both are read into the same shapes ([`media`]), so
//! every check below is made once. A SUBSCRIBE is answered 200 with a
//! chunked RecordIO stream of events, JSON or protobuf as its `Accept`
//! allows (JSON when both are), and a `Mesos-Stream-Id` header, and
//! starts a [`session`] actor
//! that is the framework to the master. Every later call names its
//! framework and carries that stream id; it is checked, turned into
//! Corral's framework message and handed to the session, and answered
//! 202. The master decides what it means, as for an actor framework.
//!
//! | answer | when |
//! |---|---|
//! | 200 + stream | SUBSCRIBE |
//! | 202 | any other call that was understood |
//! | 400 | a body that is not a Call (malformed JSON or protobuf), a missing part, a missing `Mesos-Stream-Id`, a call or field Corral cannot do (named) |
//! | 403 | the framework has no subscription here, or the stream id is not its subscription's |
//! | 406 | SUBSCRIBE whose `Accept` allows neither `application/json` nor `application/x-protobuf` |
//! | 413 | a body over the server's limit |
//! | 415 | a `Content-Type` other than `application/json` or `application/x-protobuf` |
//! | 307 | from a master that does not lead: `Location: //leader:port/api/v1/scheduler` |
//! | 503 | no leader is known |

mod calls;
mod codec;
mod session;
mod streams;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use corral_api::framework::Subscribe;
use corral_http::access::request_credential;
use corral_http::ask::ask;
use corral_http::v1::convert;
use corral_http::v1::scheduler::{Call, CallType};
use corral_http::v1::STREAM_ID;
use corral_http::{post, read_body, ApiError};

use self::session::Session;
pub(in crate::http) use self::streams::Streams;
use super::api::{protocol_relative, MasterApi};
use crate::state::GetLeadership;
use corral_http::v1::media;
use corral_http::v1::stream::{close_inbox, event_body, queue, Inbox, Poke};

/// The path.
const PATH: &str = "/api/v1/scheduler";

/// Adds the scheduler API's route, with the server's one table of
/// subscriptions.
pub(in crate::http) fn scheduler_routes(cfg: &mut web::ServiceConfig, streams: &Streams) {
    cfg.app_data(web::Data::new(streams.clone()))
        .service(post(PATH, call));
}

async fn call(
    api: web::Data<MasterApi>,
    streams: web::Data<Streams>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if let Some(elsewhere) = to_leader(&api).await? {
        return Ok(elsewhere);
    }
    let body = read_body(&req, body).await?;
    let call = parse(&req, &body)?;
    if call.kind == CallType::Subscribe {
        return subscribe(&api, &streams, &req, call).await;
    }
    let fw = call
        .framework_id
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("Expecting 'framework_id' to be present"))?;
    let stream = streams.get(&fw.value).ok_or_else(|| {
        ApiError::forbidden(format!(
            "framework {} is not subscribed through this master's v1 API",
            fw.value
        ))
    })?;
    let given = req
        .headers()
        .get(STREAM_ID)
        .ok_or_else(|| {
            ApiError::bad_request(
                "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
            )
        })?
        .to_str()
        .unwrap_or("");
    if given != stream.stream_id {
        return Err(ApiError::forbidden(format!(
            "the stream id '{given}' is not framework {}'s subscription",
            fw.value
        )));
    }
    if let Some(relay) = calls::relay(call)? {
        Inbox::push(&stream.inbox, relay);
        api.node.send(&stream.session, Poke);
    }
    Ok(HttpResponse::Accepted().finish())
}

/// The call in the body, JSON or protobuf by its `Content-Type`.
fn parse(req: &HttpRequest, body: &[u8]) -> Result<Call, ApiError> {
    codec::call(media::body_format(req.headers())?, body)
}

/// None when this master leads; else a 307 to the leader's API (Mesos's
/// protocol-relative `//host:port/api/v1/scheduler`) or 503.
async fn to_leader(api: &MasterApi) -> Result<Option<HttpResponse>, ApiError> {
    let l = ask(&api.node, &api.master, GetLeadership, "master").await?;
    if l.leading {
        return Ok(None);
    }
    match l.leader_http {
        Some(base) => Ok(Some(
            HttpResponse::TemporaryRedirect()
                .insert_header((
                    header::LOCATION,
                    format!("{}{PATH}", protocol_relative(&base)),
                ))
                .finish(),
        )),
        None => Err(ApiError::unavailable("No leader elected")),
    }
}

async fn subscribe(
    api: &MasterApi,
    streams: &Streams,
    req: &HttpRequest,
    call: Call,
) -> Result<HttpResponse, ApiError> {
    if req.headers().contains_key(STREAM_ID) {
        return Err(ApiError::bad_request(
            "Subscribe calls should not include the 'Mesos-Stream-Id' header",
        ));
    }
    let format = media::response_format(req.headers())?;
    let sub = call
        .subscribe
        .ok_or_else(|| ApiError::bad_request("Expecting 'subscribe' to be present"))?;
    let mut info = convert::framework_info(&sub.framework_info).map_err(ApiError::bad_request)?;
    if let (Some(given), Some(id)) = (&call.framework_id, &info.id) {
        if given.value != id.0 {
            return Err(ApiError::bad_request(
                "'framework_id' differs from 'subscribe.framework_info.id'",
            ));
        }
    }
    let credential = request_credential(req);
    if info.principal.is_none() {
        // As Mesos: a framework that authenticated is its principal.
        info.principal = credential.as_ref().map(|c| c.principal.clone());
    }
    let suppressed = info.roles.iter().any(|r| sub.suppressed_roles.contains(r));
    let subscribe = Subscribe { info, credential };
    let (events, rx) = queue();
    let inbox = Inbox::shared();
    let stream_id = new_stream_id();
    let session = Session::new(
        api.master.clone(),
        subscribe,
        suppressed,
        stream_id.clone(),
        events,
        format,
        inbox.clone(),
        streams.clone(),
        "*",
    );
    let name = format!(
        "v1-scheduler-{}",
        NEXT_SESSION.fetch_add(1, Ordering::Relaxed)
    );
    let node = api.node.clone();
    let spawned = web::block(move || node.spawn(&name, session))
        .await
        .map_err(|e| ApiError::internal(format!("cannot start the subscription: {e}")))?;
    let pid = spawned
        .map_err(|e| ApiError::unavailable(format!("cannot start the subscription: {e}")))?;
    let events = event_body(rx, close_inbox(api.node.clone(), pid, inbox));
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .insert_header((STREAM_ID, stream_id))
        .streaming(events))
}

/// Session names on the node: each subscription's own.
static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// A fresh stream id, written as a UUID. It tells a subscription's calls
/// from a stale one's, as in Mesos; it is not a secret that authenticates
/// (HTTP authentication does). Its 128 bits come from std's randomly keyed
/// hasher, which needs no random-number crate in this edge code.
fn new_stream_id() -> String {
    let mut bits = [0u8; 16];
    for (i, half) in bits.chunks_mut(8).enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(NEXT_SESSION.load(Ordering::Relaxed));
        h.write_usize(i);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    let u = corral_api::task::uuid_v4(bits);
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
