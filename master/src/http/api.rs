//! What the master's handlers share ([`MasterApi`]): the node to ask
//! through, the master to ask, and the answer a standby gives instead of
//! the leader's views.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use corral_runtime::{Node, Pid};

use crate::state::GetLeadership;
use corral_http::ask::ask;
use corral_http::ApiError;

/// What the master's handlers share: the node to ask through and the
/// master to ask.
#[derive(Clone)]
pub(super) struct MasterApi {
    pub node: Arc<Node>,
    pub master: Pid,
}

impl MasterApi {
    /// `None` when this master leads; otherwise the answer to give instead
    /// of serving `req`: 307 to the same path on the leader's HTTP server,
    /// or 503 while no leader is known (as Mesos's non-leading masters).
    pub(super) async fn redirect(
        &self,
        req: &HttpRequest,
    ) -> Result<Option<HttpResponse>, ApiError> {
        let l = ask(&self.node, &self.master, GetLeadership, "master").await?;
        if l.leading {
            return Ok(None);
        }
        match l.leader_http {
            Some(base) => {
                let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
                let location = format!("{}{path}", base.trim_end_matches('/'));
                Ok(Some(
                    HttpResponse::TemporaryRedirect()
                        .insert_header((header::LOCATION, location))
                        .finish(),
                ))
            }
            None => Err(ApiError::unavailable(match l.leader {
                Some(leader) => format!(
                    "this master does not lead; {leader} does, with no HTTP address known yet"
                ),
                None => "this master does not lead, and no leader is known yet".to_owned(),
            })),
        }
    }
}

/// `//host:port` of a base URL such as `http://host:port/`: Mesos's
/// protocol-relative form of a leader's address in a 307.
pub(super) fn protocol_relative(base: &str) -> String {
    let host = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest)
        .trim_end_matches('/');
    format!("//{host}")
}
