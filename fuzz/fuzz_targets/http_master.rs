//! Every HTTP request the master serves, through its real routes and the
//! shared middleware (body limit, HTTP Basic authentication), in process
//! with a real master actor on a real node behind them.
//!
//! The input reads like a request: a method line, a target line (path and
//! query), header lines `name: value`, an empty line, then the body.
//! Inputs that no HTTP parser would turn into a request (a bad method,
//! target or header) are skipped: actix's parser refuses them first.
//!
//! Holds: nothing panics; no answer is a 500; every error answer (but to
//! HEAD, which has no body) is JSON `{"error": "..."}`, as the master's
//! HTTP doc promises, except Mesos's own plain `No leader elected` from
//! `/master/redirect` (Mesos's shape, `docs/mesos-compatibility.md`).
#![no_main]
// A harness, not actor code: libfuzzer-sys's macro writes files, which
// clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use actix_http::Request;
use actix_rt::SystemRunner;
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::web::Bytes;
use corral_api::auth::Credentials;
use corral_http::{app, HttpAccess, HttpConfig};
use corral_master::board::StateBoard;
use corral_master::master::Master;
use corral_master::master::MasterConfig;
use corral_runtime::{Node, NodeConfig, Pid};
use libfuzzer_sys::fuzz_target;

/// Small, so the 413 path is reachable.
const MAX_BODY_BYTES: usize = 1024;

/// One node with a master, shared by every input: starting them per input
/// would measure the node's start, not the HTTP surface.
fn master() -> &'static (Arc<Node>, Pid, StateBoard) {
    static MASTER: OnceLock<(Arc<Node>, Pid, StateBoard)> = OnceLock::new();
    MASTER.get_or_init(|| {
        let node = Node::start(NodeConfig::default()).expect("a node starts on loopback");
        let board = StateBoard::default();
        let master = Master::new(MasterConfig::default()).publishing_to(board.clone());
        let pid = node.spawn(Master::NAME, master).expect("the master spawns");
        (Arc::new(node), pid, board)
    })
}

/// Writes need `ops:s3cret` or a bearer token under the fixed key; reads
/// are open but check credentials and tokens sent.
fn config() -> HttpConfig {
    let credentials =
        Credentials::parse(r#"{"credentials": [{"principal": "ops", "secret": "s3cret"}]}"#)
            .expect("the fixed credentials read");
    HttpConfig {
        max_body_bytes: MAX_BODY_BYTES,
        access: HttpAccess {
            credentials: Some(credentials),
            readonly: false,
            readwrite: true,
            jwt: Some(
                corral_http::token::JwtKey::new(b"the fuzz target's fixed key, 32 bytes or more")
                    .expect("the fixed key is long enough"),
            ),
        },
        ..HttpConfig::new(([127, 0, 0, 1], 0).into())
    }
}

/// Serves one request, answering its status and body.
type Serve = Rc<dyn Fn(Request) -> Answer>;

/// A status and body, on their way.
type Answer = Pin<Box<dyn Future<Output = (StatusCode, Bytes)>>>;

thread_local! {
    /// The actix system and the app, built once per process: building the
    /// app (its routes' patterns) per input would measure that instead.
    /// Leaked: dropped at exit, after actix's own thread locals, the app
    /// would panic.
    static APP: &'static (SystemRunner, Serve) = Box::leak(Box::new({
        let system = actix_rt::System::new();
        let (node, pid, board) = master();
        let routes = corral_master::http::app_routes(node.clone(), pid.clone(), board.clone());
        let svc = Rc::new(system.block_on(init_service(app(&config(), routes))));
        let serve: Serve = Rc::new(move |req: Request| -> Answer {
            let svc = svc.clone();
            Box::pin(async move {
                corral_fuzz::http::answer(call_service(&*svc, req).await).await
            })
        });
        (system, serve)
    }));
}

fuzz_target!(|data: &[u8]| {
    let Some((method, req)) = corral_fuzz::http::request(data) else {
        return;
    };
    APP.with(|app| {
        let (system, serve) = *app;
        let (status, body) = system.block_on(serve(req.to_request()));
        let mesos_no_leader =
            status == StatusCode::SERVICE_UNAVAILABLE && body.as_ref() == b"No leader elected";
        if !mesos_no_leader {
            corral_fuzz::http::assert_contract(&method, status, &body);
        }
    });
});
