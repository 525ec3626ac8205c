//! The operator API's calls that change the cluster: `TEARDOWN`.

use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::super::api::{operator, MasterApi};
use crate::state::{KillOutcome, OperatorTeardown};
use corral_api::ids::FrameworkId;
use corral_http::access::request_principal;
use corral_http::ask::ask;
use corral_http::v1::shapes::Id;
use corral_http::ApiError;

/// `{"type": "TEARDOWN", "teardown": {"framework_id": {"value": ...}}}`.
#[derive(Deserialize)]
struct Call {
    teardown: Option<Teardown>,
}

#[derive(Deserialize)]
struct Teardown {
    framework_id: Id,
}

/// `TEARDOWN`: the framework is torn down as if it had asked, if the
/// caller's principal may (`teardown_frameworks` ACLs). 200 with no body,
/// as Mesos answers.
pub(super) async fn teardown(
    api: &MasterApi,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let call: Call = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Failed to parse body into a Call: {e}")))?;
    let id = call
        .teardown
        .ok_or_else(|| ApiError::bad_request("Expecting 'teardown' to be present"))?
        .framework_id
        .value;
    let principal = request_principal(req);
    let msg = OperatorTeardown {
        framework_id: FrameworkId(id.clone()),
        principal: principal.clone(),
    };
    match ask(&api.node, &api.master, msg, "master").await? {
        KillOutcome::Accepted => Ok(HttpResponse::Ok().finish()),
        KillOutcome::UnknownFramework | KillOutcome::UnknownTask | KillOutcome::AlreadyEnded => {
            Err(ApiError::bad_request(format!(
                "No framework found with ID {}",
                corral_http::echo(&id)
            )))
        }
        KillOutcome::NotLeader => Err(ApiError::unavailable(
            "this master stopped leading; ask the new leader",
        )),
        KillOutcome::Denied => Err(ApiError::forbidden(format!(
            "{} may not tear down framework {} (teardown_frameworks ACLs)",
            operator(principal.as_deref()),
            corral_http::echo(&id)
        ))),
    }
}
