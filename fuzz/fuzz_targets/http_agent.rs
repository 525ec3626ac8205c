//! Every HTTP request the agent serves, through its real routes and the
//! shared middleware, in process with a real agent actor on a real node
//! behind them (registered with no master: the one it names is not
//! there), and a work directory holding a sandbox beside a secret that
//! must not leak.
//!
//! The input reads like a request, as `http_master`'s: a method line, a
//! target line, header lines `name: value`, an empty line, then the body.
//!
//! Holds: nothing panics; no answer is a 500; every error answer (but to
//! HEAD) is JSON `{"error": "..."}`; no answer holds the secret outside
//! the work directory.
#![no_main]
// A harness, not actor code: it builds a work directory on disk, and
// libfuzzer-sys's macro writes files, which clippy.toml bans in actors.
#![allow(clippy::disallowed_methods)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_http::Request;
use actix_rt::SystemRunner;
use actix_web::http::StatusCode;
use actix_web::test::{call_service, init_service};
use actix_web::web::Bytes;
use corral_agent::{Agent, AgentConfig};
use corral_api::acls::Acls;
use corral_api::resources::Resources;
use corral_http::{app, HttpConfig};
use corral_runtime::{Node, NodeConfig, Pid};
use libfuzzer_sys::fuzz_target;

/// Small, so the 413 path is reachable.
const MAX_BODY_BYTES: usize = 1024;

/// What the file outside the work directory holds; no answer may.
const SECRET: &str = "OUTSIDE-THE-AGENT-WORK-DIR";

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the fixture's directory");
    }
    std::fs::write(path, text).expect("the fixture's file");
}

/// `base/work` with a sandbox whose `up` leads out to `base/outside`.
fn work_dir() -> PathBuf {
    let base = std::env::temp_dir().join(format!("corral-fuzz-http-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    write(&base.join("outside/secret"), SECRET);
    let sandbox = base.join("work/frameworks/fw/tasks/t");
    write(&sandbox.join("stdout"), "hello from the task\n");
    std::os::unix::fs::symlink("../../../../../outside", sandbox.join("up"))
        .expect("the fixture's symlink");
    base.join("work")
}

/// Serves one request, answering its status and body.
type Serve = Rc<dyn Fn(Request) -> Answer>;

/// A status and body, on their way.
type Answer = Pin<Box<dyn Future<Output = (StatusCode, Bytes)>>>;

thread_local! {
    /// The actix system, the node with its agent, and the app, built once
    /// per process; leaked, as `http_master`'s (actix's thread locals go
    /// first at exit).
    static APP: &'static (SystemRunner, Serve) = Box::leak(Box::new({
        let system = actix_rt::System::new();
        let node = Arc::new(Node::start(NodeConfig::default()).expect("a node starts on loopback"));
        let work = work_dir();
        let nowhere = Pid::new("master", ([127, 0, 0, 1], 9).into()).expect("a pid");
        let resources = Resources::parse("cpus:2;mem:1024").expect("resources");
        let cfg = AgentConfig::new(nowhere, "fuzz".into(), resources, work.clone(), "true".into());
        let agent = node.spawn(Agent::NAME, Agent::new(cfg)).expect("the agent starts");
        let http = HttpConfig {
            max_body_bytes: MAX_BODY_BYTES,
            ..HttpConfig::new(([127, 0, 0, 1], 0).into())
        };
        let routes = corral_agent::http::app_routes(&http, node, agent, work, Acls::default());
        let svc = Rc::new(system.block_on(init_service(app(&http, routes))));
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
        corral_fuzz::http::assert_contract(&method, status, &body);
        // An answer may echo the request (a 400 quoting it); the fuzzer
        // learns the secret from this very check and sends it.
        let asked = String::from_utf8_lossy(data).contains(SECRET);
        assert!(
            asked || !String::from_utf8_lossy(&body).contains(SECRET),
            "leaked the secret: {status} {body:?}"
        );
    });
});
