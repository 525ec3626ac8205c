//! The HTTP server every Corral node runs beside its actors: actix-web on a
//! thread of its own, with the answers every endpoint shares — JSON 404 for
//! unknown paths, 405 with `Allow` for a wrong method, 413 for a body over
//! the limit, 400 for a path that does not parse.
//!
//! Why its own thread: the node's event loop runs the actors and must never
//! wait on a socket of a slow browser; HTTP handlers reach the actors only
//! by asking them, from actix-web's blocking pool (see [`ask`](crate::ask)).

// The HTTP server is an edge beside the node, on a thread of its own
// (clippy.toml keeps threads out of actor code).
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError, Route};

use corral_runtime::node::tls::{https_server_config, TlsConfig};

use crate::access::{self, HttpAccess};
use crate::errors::{echo, ApiError, HttpError};

/// Where and how an HTTP server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// TCP address to listen on; port 0 picks a free port (see
    /// [`HttpServer::addr`]).
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (64 KiB); larger ones get
    /// 413. No endpoint needs a large body.
    pub max_body_bytes: usize,
    /// Who must authenticate (default: nobody).
    pub access: HttpAccess,
    /// The daemon's flags as it runs with them, by name (`work_dir`),
    /// for `/flags` and the operator API's `GET_FLAGS` (default: none
    /// known).
    pub flags: Vec<(String, String)>,
    /// The file the daemon logs to, if any, which its `/files/*` serve
    /// (Mesos's `/master/log`, `/slave/log`).
    pub log_file: Option<std::path::PathBuf>,
    /// Serve HTTPS only, with this certificate, instead of plain HTTP
    /// (default: plain HTTP). No client certificate is asked for.
    pub https: Option<HttpsIdentity>,
}

/// The certificate an HTTPS server shows: the node's own (`--tls-cert`,
/// `--tls-key`), so that the CA that vouches for the node's QUIC links
/// vouches for its HTTP port too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsIdentity {
    /// The certificate chain (PEM, leaf first).
    pub cert_pem: PathBuf,
    /// Its private key (PEM).
    pub key_pem: PathBuf,
}

impl HttpsIdentity {
    /// The identity of a node's TLS config, if it names a certificate and
    /// its key (a node without one makes a throwaway self-signed one for
    /// QUIC, which no HTTP client could check, so its port stays plain).
    pub fn of(tls: &TlsConfig) -> Option<HttpsIdentity> {
        match (&tls.cert_pem, &tls.key_pem) {
            (Some(cert), Some(key)) => Some(HttpsIdentity {
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            }),
            _ => None,
        }
    }
}

impl HttpConfig {
    /// The default body limit: 64 KiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

    /// Listen on `listen` with the default limits.
    pub fn new(listen: SocketAddr) -> HttpConfig {
        HttpConfig {
            listen,
            max_body_bytes: HttpConfig::DEFAULT_MAX_BODY_BYTES,
            access: HttpAccess::default(),
            flags: Vec::new(),
            log_file: None,
            https: None,
        }
    }

    /// Refuses a zero body limit.
    pub fn validate(&self) -> Result<(), HttpError> {
        if self.max_body_bytes == 0 {
            return Err(HttpError::ZeroBodyLimit);
        }
        let access = &self.access;
        if (access.readonly || access.readwrite)
            && access.credentials.is_none()
            && access.jwt.is_none()
        {
            return Err(HttpError::NoCredentials);
        }
        Ok(())
    }
}

/// Most connections one server keeps open at once; more wait in the
/// listen backlog.
const MAX_CONNECTIONS: usize = 1024;

/// A running HTTP server. [`stop`](HttpServer::stop) it, or drop it, to
/// close its socket and end its thread.
pub struct HttpServer {
    addr: SocketAddr,
    /// `http` or `https`.
    scheme: &'static str,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

/// The request body limit, for the middleware that enforces it.
#[derive(Clone, Copy)]
struct BodyLimit(usize);

impl HttpServer {
    /// Starts a server on its own thread (`corral-http-{name}`), one
    /// worker, serving the routes `routes` adds plus the shared answers
    /// (JSON 404, body limit), over HTTPS if `cfg` names a certificate.
    /// Returns once the socket is bound, or with the reason it could not
    /// be.
    pub fn start<F>(name: &str, cfg: &HttpConfig, routes: F) -> Result<HttpServer, HttpError>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        cfg.validate()?;
        // Read here, so that a bad file is this call's error.
        let tls = match &cfg.https {
            Some(id) => Some(https_server_config(&id.cert_pem, &id.key_pem)?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let cfg = cfg.clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("corral-http-{name}"))
            .spawn(move || run(cfg, tls, routes, ready_tx))
            .map_err(|e| HttpError::Thread(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok((addr, handle))) => Ok(HttpServer {
                addr,
                scheme,
                handle,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(HttpError::Thread("it exited before it was ready".into()))
            }
        }
    }

    /// The address the server listens on (with the real port if it was
    /// asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's base URL, `http://ip:port` (`https://` when it
    /// serves HTTPS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Closes the socket, drops open connections and waits for the thread.
    pub fn stop(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        // Sent at once; the returned future only reports completion, which
        // joining the thread waits for instead.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

type Ready = mpsc::Sender<Result<(SocketAddr, ServerHandle), HttpError>>;

/// Thread body: bind (with TLS if `tls`), report, serve until stopped.
fn run<F>(cfg: HttpConfig, tls: Option<rustls::ServerConfig>, routes: F, ready: Ready)
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let shared = cfg.clone();
    let factory = move || app(&shared, routes.clone());
    actix_rt::System::new().block_on(async move {
        let server = actix_web::HttpServer::new(factory)
            .workers(1)
            .max_connections(MAX_CONNECTIONS)
            // Clients of Mesos's APIs (pymesos) keep one connection for
            // their calls and do not retry a call the server's idle close
            // broke; libprocess never closes an idle connection, so
            // neither does this server (actix's default closes at 5 s).
            // MAX_CONNECTIONS bounds what idle clients can hold.
            .keep_alive(actix_web::http::KeepAlive::Os)
            // A client's end of file is its going away, as libprocess
            // takes it: a subscriber whose process ended is disconnected
            // at once, not at the next heartbeat written to its dead
            // socket (a framework's failover timeout starts then). No
            // client of these APIs half-closes and then reads.
            .h1_allow_half_closed(false)
            // Event streams write many small records: without NODELAY
            // each waits on the client's delayed ACK (~40 ms a record).
            .tcp_nodelay(true)
            .disable_signals()
            .shutdown_timeout(1);
        let bound = match tls {
            Some(tls) => server.bind_rustls_0_23(cfg.listen, tls),
            None => server.bind(cfg.listen),
        };
        let server = match bound {
            Ok(server) => server,
            Err(source) => {
                let addr = cfg.listen;
                let _ = ready.send(Err(HttpError::Bind { addr, source }));
                return;
            }
        };
        let Some(addr) = server.addrs().first().copied() else {
            let _ = ready.send(Err(HttpError::Thread("no socket was bound".into())));
            return;
        };
        let server = server.run();
        let _ = ready.send(Ok((addr, server.handle())));
        if let Err(e) = server.await {
            tracing::error!(%addr, %e, "HTTP server failed");
        }
    });
}

/// The app every server runs: `routes` plus the shared answers (JSON 404,
/// 400 for bad path and query parameters, the body limit, authentication,
/// safety headers), as `cfg` says. Tests drive it with `actix_web::test`
/// without a socket.
pub fn app<F>(
    cfg: &HttpConfig,
    routes: F,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
>
where
    F: FnOnce(&mut web::ServiceConfig),
{
    App::new()
        .app_data(BodyLimit(cfg.max_body_bytes))
        .app_data(cfg.access.clone())
        .app_data(
            web::PathConfig::default().error_handler(|e, _| {
                ApiError::bad_request(format!("bad path parameter: {e}")).into()
            }),
        )
        .app_data(
            web::QueryConfig::default().error_handler(|e, _| {
                ApiError::bad_request(format!("bad query string: {e}")).into()
            }),
        )
        .configure(routes)
        .default_service(web::to(not_found))
        .wrap(from_fn(enforce_body_limit))
        // Before anything else reads the request.
        .wrap(from_fn(access::enforce))
        // Outermost, so every answer gets them, errors too: no content
        // sniffing of sandbox files as HTML, no stale cluster state.
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::CACHE_CONTROL, "no-store")),
        )
}

/// 413 for a request that announces a body over the limit, before any of
/// it is read. Bodies without a length (chunked) are bounded where they are
/// read (`web::Payload::to_bytes_limited`).
async fn enforce_body_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let max = req.app_data::<BodyLimit>().map_or(usize::MAX, |l| l.0);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        let mut response = ApiError::too_large(max).error_response();
        // The unread body makes the connection unusable for another request.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// 404 for every path no route claims.
async fn not_found(req: HttpRequest) -> HttpResponse {
    let message = format!("no such endpoint: {}", echo(req.path()));
    ApiError::not_found(message).error_response()
}

/// The default service of a path that takes only `allow` (e.g. `"GET"`):
/// 405 with an `Allow` header for any other method.
pub fn only(allow: &'static str) -> Route {
    web::to(move |req: HttpRequest| async move {
        ApiError::method_not_allowed(req.method().as_str(), req.path(), allow).error_response()
    })
}

/// A path answering GET with `handler`, HEAD likewise (the server sends
/// the headers only), and 405 (with `Allow: GET, HEAD`) to anything else:
/// monitoring checks and `curl -I` ask with HEAD.
pub fn get<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    get_only(web::resource(path), handler)
}

/// [`get`] of `path` and of every path under it (`path/...`), as Mesos's
/// libprocess serves an endpoint for the longest prefix of a path it knows.
pub fn get_tree<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let under = format!("{path}/{{tail:.*}}");
    get_only(web::resource(vec![path.to_owned(), under]), handler)
}

/// A path answering POST with `handler`, and 405 (with `Allow: POST`) to
/// anything else: the calls of Mesos's v1 APIs and Corral's kill.
pub fn post<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    post_only(web::resource(path), handler)
}

/// [`post`] of `path` and of every path under it, as [`get_tree`].
pub fn post_tree<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let under = format!("{path}/{{tail:.*}}");
    post_only(web::resource(vec![path.to_owned(), under]), handler)
}

fn post_only<F, Args>(resource: actix_web::Resource, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    resource
        .route(web::post().to(handler))
        .default_service(only("POST"))
}

fn get_only<F, Args>(resource: actix_web::Resource, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    resource
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
        .default_service(only("GET, HEAD"))
}

/// Reads a request's body, up to the server's limit: 413 past it, whether
/// the length was announced or not.
pub async fn read_body(req: &HttpRequest, body: web::Payload) -> Result<web::Bytes, ApiError> {
    let max = req
        .app_data::<BodyLimit>()
        .map_or(HttpConfig::DEFAULT_MAX_BODY_BYTES, |l| l.0);
    match body.to_bytes_limited(max).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(ApiError::bad_request(format!(
            "cannot read the request body: {e}"
        ))),
        Err(_) => Err(ApiError::too_large(max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_runtime::node::tls::{generate_ca, generate_node_cert};

    /// Writes a node certificate and its key, and a key of another node,
    /// under a fresh directory; returns (cert, key, other key).
    fn node_files(label: &str) -> (PathBuf, PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("corral-https-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca = generate_ca("test CA").expect("CA");
        let node = generate_node_cert(&ca, &[]).expect("node cert");
        let other = generate_node_cert(&ca, &[]).expect("node cert");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        (
            write("node.pem", &node.cert_pem),
            write("node-key.pem", &node.key_pem),
            write("other-key.pem", &other.key_pem),
        )
    }

    fn config(cert_pem: PathBuf, key_pem: PathBuf) -> HttpConfig {
        HttpConfig {
            https: Some(HttpsIdentity { cert_pem, key_pem }),
            ..HttpConfig::new(([127, 0, 0, 1], 0).into())
        }
    }

    #[test]
    fn a_server_with_a_certificate_names_its_url_https() {
        let (cert, key, _) = node_files("url");
        let server = HttpServer::start("test", &config(cert.clone(), key), |_| {}).expect("starts");
        assert_eq!(server.url(), format!("https://{}", server.addr()));
        let plain = HttpServer::start("test", &HttpConfig::new(([127, 0, 0, 1], 0).into()), |_| {})
            .expect("starts");
        assert_eq!(plain.url(), format!("http://{}", plain.addr()));
        remove_dir_of(&cert);
    }

    fn remove_dir_of(file: &std::path::Path) {
        if let Some(dir) = file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_key_that_does_not_fit_the_certificate_is_refused_at_start() {
        let (cert, _, other) = node_files("key");
        let err = HttpServer::start("test", &config(cert.clone(), other), |_| {})
            .err()
            .expect("refused");
        remove_dir_of(&cert);
        assert!(matches!(err, HttpError::Tls(_)), "{err}");
        assert!(err.to_string().contains("other-key.pem"), "{err}");
    }
}
