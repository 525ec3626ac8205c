//! Mesos's files API on the master (`/files/browse`, `/files/read`,
//! `/files/download`, and their `.json` forms): the master's own log,
//! attached as `/master/log` when it writes one (`--log-dir`), as Mesos's
//! master attaches its log. Sandboxes are served by their agents. Any
//! master answers for itself (its log is its own), leading or not.
//!
//! As in Mesos, browsing the attached file lists nothing (it is not a
//! directory), and any other path is 404. Who may read the log is the
//! `access_mesos_logs` ACLs' to say, by the principal the request proved;
//! a refused reader gets 403 and reads nothing.

// An HTTP server's handlers run beside the node, not in it: reading the
// log file (off the server's worker) is theirs to do, not an actor's.
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::api::MasterApi;
use corral_http::access::request_principal;
use corral_http::files::{attachment_name, read_span, FileBody, FilesQuery};
use corral_http::mesos::answer_jsonp;
use corral_http::{get, ApiError};

/// Where the master's log is attached.
pub(super) const LOG_PATH: &str = "/master/log";

/// Adds the files routes.
pub(super) fn files_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get("/files/browse", browse))
        .service(get("/files/browse.json", browse))
        .service(get("/files/read", read))
        .service(get("/files/read.json", read))
        .service(get("/files/download", download))
        .service(get("/files/download.json", download));
}

/// The file `q` names: the log, if that is the path, it is attached, and
/// the ACLs let the reader of `req` read it.
fn attached(api: &MasterApi, q: &FilesQuery, req: &HttpRequest) -> Result<PathBuf, ApiError> {
    let path = q.path(LOG_PATH)?;
    match &api.log_file {
        Some(file) if path.trim_end_matches('/') == LOG_PATH => {
            if api.acls.may_access_log(request_principal(req).as_deref()) {
                Ok(file.clone())
            } else {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("the ACLs (access_mesos_logs) do not let this reader read {LOG_PATH}"),
                ))
            }
        }
        _ => Err(ApiError::not_found(format!(
            "no such file: '{}' (a master serves only {LOG_PATH}, when it runs with --log-dir)",
            corral_http::echo(path)
        ))),
    }
}

/// Opens `file` off the server's worker, with its size.
async fn open(file: PathBuf) -> Result<(File, u64), ApiError> {
    let opened = web::block(move || {
        let f = File::open(&file)?;
        let size = f.metadata()?.len();
        Ok::<_, std::io::Error>((f, size))
    })
    .await
    .map_err(|e| ApiError::internal(format!("cannot reach the disk: {e}")))?;
    opened.map_err(|e| ApiError::internal(format!("cannot open the log: {e}")))
}

/// `GET /files/browse?path=`: the attached log is a file, not a
/// directory, so it lists nothing.
async fn browse(
    api: web::Data<MasterApi>,
    q: web::Query<FilesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    attached(&api, &q, &req)?;
    answer_jsonp(q.jsonp.as_deref(), &serde_json::json!([]))
}

/// `GET /files/read?path=/master/log&offset=N&length=M`.
async fn read(
    api: web::Data<MasterApi>,
    q: web::Query<FilesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let file = attached(&api, &q, &req)?;
    let span = q.span()?;
    let (mut f, size) = open(file).await?;
    let chunk = web::block(move || read_span(&mut f, size, span))
        .await
        .map_err(|e| ApiError::internal(format!("cannot reach the disk: {e}")))?
        .map_err(|e| ApiError::internal(format!("cannot read the log: {e}")))?;
    answer_jsonp(q.jsonp.as_deref(), &chunk)
}

/// `GET /files/download?path=/master/log`: the log as it was when asked.
async fn download(
    api: web::Data<MasterApi>,
    q: web::Query<FilesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let file = attached(&api, &q, &req)?;
    let name = file
        .file_name()
        .map(|n| attachment_name(&n.to_string_lossy()))
        .unwrap_or_default();
    let (f, size) = open(file).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename={name}"),
        ))
        .body(FileBody::new(f, size)))
}
