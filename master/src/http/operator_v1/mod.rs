//! Apache Mesos's v1 operator API on the master, `POST /api/v1` (and, by
//! libprocess's longest-prefix matching, any path under it, such as the
//! `/api/v1/operator` pymesos posts to): the read calls of
//! `docs/operator-http-api.md` of Mesos 1.x and TEARDOWN, in JSON.
//!
//! | call | answer |
//! |---|---|
//! | `GET_HEALTH` | `{"healthy": true}` |
//! | `GET_VERSION` | the version |
//! | `GET_FLAGS` | the flags the master runs with, `{name, value}` |
//! | `GET_METRICS` | the keys of `/metrics/snapshot` as `{name, value}` |
//! | `GET_MASTER` | the leader's address and times |
//! | `GET_AGENTS`, `GET_FRAMEWORKS`, `GET_TASKS`, `GET_ROLES`, `GET_STATE` | the leader's view ([`views`]) |
//! | `TEARDOWN` | 200: the framework is torn down, if the caller may ([`writes`]); 400 for an unknown one, 403 when ACLs refuse |
//! | `SUBSCRIBE` | 200: a stream of the state, then of each change ([`subscribe`]) |
//!
//! Other calls get 400 naming them. A standby answers 307 to the leader
//! (503 while none is known), as for the v0 views; 415 for a body that is
//! not JSON, 406 for an `Accept` that does not allow JSON.

mod subscribe;
mod views;
mod writes;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::api::MasterApi;
use super::mesos::{metrics_now, wall_clock_ms};
use corral_http::v1::media;
use corral_http::v1::shapes::OperatorCall;
use corral_http::{post_tree, read_body, ApiError};

/// Adds the operator API's routes.
pub(in crate::http) fn operator_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(post_tree("/api/v1", call));
}

async fn call(
    api: web::Data<MasterApi>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, body).await?;
    let call: OperatorCall = media::json_call(req.headers(), &body)?;
    // Subscribed before the state is read, so that every event after it
    // is kept (see `crate::events`).
    let rx = (call.kind == "SUBSCRIBE").then(|| api.board.subscribe());
    let p = match api.leader_state(&req).await? {
        Ok(p) => p,
        Err(elsewhere) => return Ok(elsewhere),
    };
    if let Some(rx) = rx {
        let viewer = subscribe::Viewer {
            acls: api.acls.clone(),
            principal: corral_http::access::request_principal(&req),
        };
        return Ok(subscribe::stream(api.board.clone(), rx, &p, viewer));
    }
    if call.kind == "TEARDOWN" {
        return writes::teardown(&api, &req, &body).await;
    }
    let answer = match call.kind.as_str() {
        "GET_HEALTH" => json!({"healthy": true}),
        "GET_VERSION" => json!({"version_info": {"version": env!("CARGO_PKG_VERSION")}}),
        "GET_FLAGS" => corral_http::mesos::flags_v1(&api.flags),
        "GET_METRICS" => {
            let m = api.metrics().await?;
            let metrics: Vec<Value> = metrics_now(&m, wall_clock_ms())
                .into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            json!({ "metrics": metrics })
        }
        kind => {
            let s = &p.state;
            match kind {
                "GET_MASTER" => views::master(s),
                "GET_AGENTS" => views::agents(s),
                "GET_FRAMEWORKS" => views::frameworks(s),
                "GET_TASKS" => views::tasks(s),
                "GET_ROLES" => views::roles(s),
                "GET_STATE" => views::state(s),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "{} is not supported by Corral yet (docs/mesos-compatibility.md)",
                        corral_http::echo(other)
                    )))
                }
            }
        }
    };
    let kind = call.kind.to_ascii_lowercase();
    Ok(HttpResponse::Ok().json(json!({ "type": call.kind, kind: answer })))
}
