//! What the master's handlers share ([`MasterApi`]): the node to ask
//! through, the master to ask, the board it publishes its state on, and
//! the answer a standby gives instead of the leader's views.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use corral_runtime::{Node, Pid};

use super::visible;
use crate::acls::Acls;
use crate::allocator::messages::GetCycleTimes;
use crate::board::{Published, StateBoard};
use crate::master::{ALLOCATOR_NAME, CYCLE_TIMES_TIMEOUT};
use crate::state::{GetLeadership, Leadership, MasterMetrics};
use corral_http::access::request_principal;
use corral_http::ask::{ask, ASK_TIMEOUT};
use corral_http::ApiError;

/// What the master's handlers share: the node to ask through, the
/// master to ask, and the board it publishes its state on.
#[derive(Clone)]
pub(super) struct MasterApi {
    pub node: Arc<Node>,
    pub master: Pid,
    pub board: StateBoard,
    /// Bodies rendered from one publication, shared by the requests that
    /// read it (see [`MasterApi::rendered`]).
    pub renders: Arc<Renders>,
    /// The master's flags, for `/flags` and `GET_FLAGS`.
    pub flags: Arc<Vec<(String, String)>>,
    /// The file the master logs to, if any, for `/files/*`.
    pub log_file: Option<std::path::PathBuf>,
    /// Who may view which frameworks and tasks (`super::visible`).
    pub acls: Acls,
}

/// The latest body of each kind rendered, with the publication it was
/// rendered from.
#[derive(Default)]
pub(super) struct Renders {
    slots: Mutex<Vec<(&'static str, u64, Bytes)>>,
}

impl MasterApi {
    /// The handlers' shared data for `master` on `node`, publishing on
    /// `board`.
    pub(super) fn new(node: Arc<Node>, master: Pid, board: StateBoard) -> MasterApi {
        MasterApi {
            node,
            master,
            board,
            renders: Arc::default(),
            flags: Arc::default(),
            log_file: None,
            acls: Acls::default(),
        }
    }

    /// These handlers' data, answering `flags` as the master's, serving
    /// `log_file` as its log, and showing each reader what `acls` let it
    /// view.
    pub(super) fn with_node_info(
        self,
        flags: Vec<(String, String)>,
        log_file: Option<std::path::PathBuf>,
        acls: Acls,
    ) -> MasterApi {
        MasterApi {
            flags: Arc::new(flags),
            log_file,
            acls,
            ..self
        }
    }

    /// The master's latest publication, waiting (off the server's worker)
    /// up to [`ASK_TIMEOUT`] for its first one.
    pub(super) async fn published(&self) -> Result<Arc<Published>, ApiError> {
        if let Some(p) = self.board.latest() {
            return Ok(p);
        }
        // Nothing yet: a master that is not running says so at once (the
        // same 503 as any ask), one just started publishes within moments.
        ask(&self.node, &self.master, GetLeadership, "master").await?;
        let board = self.board.clone();
        web::block(move || board.wait_past(0, ASK_TIMEOUT))
            .await
            .map_err(|e| ApiError::internal(format!("cannot wait for the master: {e}")))?
            .ok_or_else(|| {
                ApiError::unavailable(format!(
                    "the master has published no state within {} s",
                    ASK_TIMEOUT.as_secs()
                ))
            })
    }

    /// The master's metrics as last published (on a standby too), with
    /// the allocator's pass times asked of the allocator: nothing asks
    /// the master. Without the allocator's answer (in a long pass, or not
    /// started) they are left out, as the master leaves them out.
    pub(super) async fn metrics(&self) -> Result<MasterMetrics, ApiError> {
        let p = self.published().await?;
        let node = self.node.clone();
        let allocator = node
            .pid(ALLOCATOR_NAME)
            .map_err(|e| ApiError::internal(format!("no allocator address: {e}")))?;
        let cycles = web::block(move || node.ask(&allocator, GetCycleTimes, CYCLE_TIMES_TIMEOUT))
            .await
            .map_err(|e| ApiError::internal(format!("cannot wait for the allocator: {e}")))?
            .ok();
        Ok(MasterMetrics {
            allocation_cycles: cycles,
            ..p.metrics.clone()
        })
    }

    /// The leader's latest publication to serve `req` from, as far as its
    /// principal may view it (`super::visible`), or the answer a standby
    /// gives instead (by the publication's leadership, so the state served
    /// is always one its master published while leading).
    pub(super) async fn leader_state(
        &self,
        req: &HttpRequest,
    ) -> Result<Result<Arc<Published>, HttpResponse>, ApiError> {
        let p = self.published().await?;
        Ok(match elsewhere(&p.leadership, req)? {
            Some(answer) => Err(answer),
            None => Ok(visible::for_viewer(
                &p,
                &self.acls,
                request_principal(req).as_deref(),
            )),
        })
    }

    /// The body `render` makes of publication `p`, rendered (off the
    /// server's worker) once per publication and `kind` however many
    /// requests read it meanwhile. Where the view ACLs restrict readers,
    /// each `p` is a copy made for one (`super::visible`), rendered for it
    /// alone.
    pub(super) async fn rendered(
        &self,
        kind: &'static str,
        p: Arc<Published>,
        render: fn(&Published) -> Result<Vec<u8>, ApiError>,
    ) -> Result<Bytes, ApiError> {
        let renders = self.renders.clone();
        // Decided by the rules, not by whether `p` is still the latest:
        // the cache renders one body at a time, and a stale publication
        // rendered beside it would be one more 30 MB body on the cores the
        // master needs.
        let shared = !self.acls.restricts_views();
        web::block(move || match shared {
            true => renders.get(kind, &p, render),
            false => render(&p).map(Bytes::from),
        })
        .await
        .map_err(|e| ApiError::internal(format!("cannot render: {e}")))?
    }

    /// `None` when this master leads; otherwise the answer to give instead
    /// of serving `req`: 307 to the same path on the leader's HTTP server,
    /// or 503 while no leader is known (as Mesos's non-leading masters).
    /// Asks the master now, for writes and the UI's page.
    pub(super) async fn redirect(
        &self,
        req: &HttpRequest,
    ) -> Result<Option<HttpResponse>, ApiError> {
        let l = ask(&self.node, &self.master, GetLeadership, "master").await?;
        elsewhere(&l, req)
    }
}

impl Renders {
    /// The body of `kind` for `p`, rendering it if the slot holds an
    /// older one. The lock is held while rendering, so requests that
    /// arrive meanwhile wait for this render instead of making their own.
    fn get(
        &self,
        kind: &'static str,
        p: &Published,
        render: fn(&Published) -> Result<Vec<u8>, ApiError>,
    ) -> Result<Bytes, ApiError> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, body)) = slots.iter().find(|(k, seq, _)| *k == kind && *seq == p.seq) {
            return Ok(body.clone());
        }
        let body = Bytes::from(render(p)?);
        slots.retain(|(k, _, _)| *k != kind);
        slots.push((kind, p.seq, body.clone()));
        Ok(body)
    }
}

/// `None` when `l` says this master leads; otherwise the answer to give
/// instead of serving `req`.
fn elsewhere(l: &Leadership, req: &HttpRequest) -> Result<Option<HttpResponse>, ApiError> {
    if l.leading {
        return Ok(None);
    }
    match &l.leader_http {
        Some(base) => {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let location = format!("{}{path}", base.trim_end_matches('/'));
            Ok(Some(
                HttpResponse::TemporaryRedirect()
                    .insert_header((header::LOCATION, location))
                    .finish(),
            ))
        }
        None => Err(ApiError::unavailable(match &l.leader {
            Some(leader) => {
                format!("this master does not lead; {leader} does, with no HTTP address known yet")
            }
            None => "this master does not lead, and no leader is known yet".to_owned(),
        })),
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

/// An operator as refusals name it.
pub(super) fn operator(principal: Option<&str>) -> String {
    match principal {
        Some(p) => format!("principal {p:?}"),
        None => "an operator who proved no principal".to_owned(),
    }
}
