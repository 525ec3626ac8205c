//! The master's endpoints against a real master actor on a real node,
//! driven through `actix_web::test` (no socket) and, for binding and
//! stopping, through a real socket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use corral_runtime::{Node, NodeConfig};

use super::api::MasterApi;
use super::routes::routes;
use super::{serve, HttpConfig, HttpError};
use crate::board::StateBoard;
use crate::master::{Master, MasterConfig};
use corral_http::app;

const LIMIT: usize = 1024;

/// The app's settings in these tests: a small body limit, nobody asked
/// to authenticate.
pub(super) fn limits() -> corral_http::HttpConfig {
    corral_http::HttpConfig {
        max_body_bytes: LIMIT,
        ..corral_http::HttpConfig::new(([127, 0, 0, 1], 0).into())
    }
}

pub(super) fn master() -> MasterApi {
    let node = Node::start(NodeConfig::default()).expect("node starts");
    let board = StateBoard::default();
    let master = Master::new(MasterConfig::default()).publishing_to(board.clone());
    let master = node.spawn(Master::NAME, master).expect("master starts");
    MasterApi::new(Arc::new(node), master, board)
}

/// Runs `f` on an actix system, as the server's worker would.
pub(super) fn on_actix<F: std::future::Future<Output = ()>>(f: F) {
    actix_rt::System::new().block_on(f);
}

pub(super) fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("the body is JSON")
}

/// Every line is a comment or `name{labels} value`, and each family has
/// HELP and TYPE before its samples.
fn check_prometheus(text: &str) {
    let mut typed = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            let name = words.next().unwrap_or_default();
            let kind = words.next().unwrap_or_default();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "no TYPE before {line}");
        let ok = value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value);
        assert!(ok, "bad value in {line}");
    }
}

#[test]
fn state_health_and_metrics_answer() {
    let api = master();
    let pid = api.master.to_string();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let r = call_service(&svc, TestRequest::get().uri("/health").to_request()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(read_body(r).await, "ok");

        let r = call_service(&svc, TestRequest::get().uri("/state").to_request()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
        let v = json(&read_body(r).await);
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["pid"], pid.as_str());
        assert_eq!(v["leader"], pid.as_str());
        assert_eq!(v["agents"], serde_json::json!([]));
        assert_eq!(v["outstanding_offers"], 0);
        assert_eq!(v["totals"]["total"]["ports"], 0);

        let r = call_service(&svc, TestRequest::get().uri("/metrics").to_request()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        let body = read_body(r).await;
        let text = std::str::from_utf8(&body).unwrap();
        check_prometheus(text);
        for family in [
            "corral_allocation_cycle_seconds",
            "corral_offers_sent_total",
            "corral_offers_declined_total",
            "corral_offers_rescinded_total",
            "corral_tasks",
            "corral_agents",
            "corral_frameworks_connected",
            "corral_runtime_messages_delivered_total",
        ] {
            assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
        }
    });
}

#[test]
fn the_ui_is_served_with_its_content_types() {
    let api = master();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        for (path, ct) in [
            ("/", "text/html"),
            ("/app.js", "application/javascript"),
            ("/style.css", "text/css"),
        ] {
            let r = call_service(&svc, TestRequest::get().uri(path).to_request()).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let got = r
                .headers()
                .get(header::CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap();
            assert!(got.starts_with(ct), "{path}: {got}");
            assert_eq!(
                r.headers().get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
                "nosniff"
            );
        }
    });
}

#[test]
fn bad_requests_get_json_errors_and_the_server_goes_on() {
    let api = master();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let cases = [
            (TestRequest::get().uri("/nope"), StatusCode::NOT_FOUND),
            (
                TestRequest::get().uri("/state/extra"),
                StatusCode::NOT_FOUND,
            ),
            (
                TestRequest::post().uri("/state"),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                TestRequest::delete().uri("/metrics"),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                TestRequest::get().uri("/tasks/f/t/kill"),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                TestRequest::post()
                    .uri("/tasks/f/t/kill")
                    .insert_header((header::CONTENT_TYPE, "application/json")),
                StatusCode::NOT_FOUND,
            ),
            (
                TestRequest::post()
                    .uri("/tasks/f/t/kill")
                    .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded")),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                TestRequest::post().uri("/tasks/a%20b/t/kill"),
                StatusCode::BAD_REQUEST,
            ),
            (
                TestRequest::post().uri("/tasks/f/%2E%2E/kill"),
                StatusCode::BAD_REQUEST,
            ),
            (
                TestRequest::post().uri("/tasks/%FF/t/kill"),
                StatusCode::BAD_REQUEST,
            ),
            (
                TestRequest::post()
                    .uri("/tasks/f/t/kill")
                    .set_payload(vec![b'x'; LIMIT + 1]),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                TestRequest::post()
                    .uri("/tasks/f/t/kill")
                    .insert_header((header::CONTENT_LENGTH, "99999999999")),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
        ];
        for (req, status) in cases {
            let req = req.to_request();
            let what = format!("{} {}", req.method(), req.uri());
            let r = call_service(&svc, req).await;
            assert_eq!(r.status(), status, "{what}");
            let ct = r
                .headers()
                .get(header::CONTENT_TYPE)
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(ct, "application/json", "{what}");
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert!(r.headers().contains_key(header::ALLOW), "{what}");
            }
            let v = json(&read_body(r).await);
            let message = v["error"].as_str().expect("an error message");
            assert!(!message.is_empty(), "{what}");
        }
        // A body with no announced length is bounded where it is read.
        let mut req = TestRequest::post()
            .uri("/tasks/f/t/kill")
            .set_payload(vec![b'x'; LIMIT + 1])
            .to_request();
        req.headers_mut().remove(header::CONTENT_LENGTH);
        let r = call_service(&svc, req).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let r = call_service(&svc, TestRequest::get().uri("/health").to_request()).await;
        assert_eq!(r.status(), StatusCode::OK);
    });
}

#[test]
fn an_unknown_task_kill_names_what_is_unknown() {
    let api = master();
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let req = TestRequest::post()
            .uri("/tasks/fw-1/t-1/kill")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_request();
        let r = call_service(&svc, req).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let v = json(&read_body(r).await);
        assert_eq!(v["error"], "no framework fw-1");
    });
}

/// One request over a real socket, answered as raw text.
fn raw_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("an answer");
    out
}

#[test]
fn serve_binds_reports_a_taken_port_and_stops() {
    let api = master();
    let cfg = HttpConfig::new("127.0.0.1:0".parse().unwrap());
    let server = serve(
        cfg,
        api.node.clone(),
        api.master.clone(),
        api.board.clone(),
        Default::default(),
    )
    .expect("serves");
    let addr = server.addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(server.url(), format!("http://{addr}"));
    let answer = raw_get(addr, "/health");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");

    let again = serve(
        HttpConfig::new(addr),
        api.node.clone(),
        api.master.clone(),
        api.board.clone(),
        Default::default(),
    );
    let Err(err) = again else {
        panic!("a second server on {addr} must fail");
    };
    assert!(matches!(err, HttpError::Bind { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");

    server.stop();
    // The port is free again once stop returns.
    TcpListener::bind(addr).expect("the port was released");
}

#[test]
fn a_zero_body_limit_is_refused() {
    let api = master();
    let cfg = HttpConfig {
        max_body_bytes: 0,
        ..HttpConfig::new("127.0.0.1:0".parse().unwrap())
    };
    let err = serve(cfg, api.node, api.master, api.board, Default::default())
        .err()
        .expect("refused");
    assert!(matches!(err, HttpError::ZeroBodyLimit), "{err}");
}

#[test]
fn a_master_that_is_not_there_gets_503() {
    let api = master();
    let missing = MasterApi::new(
        api.node.clone(),
        api.node.pid("nobody").expect("a pid"),
        StateBoard::default(),
    );
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(missing))).await;
        for path in ["/state", "/metrics"] {
            let r = call_service(&svc, TestRequest::get().uri(path).to_request()).await;
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let v = json(&read_body(r).await);
            assert_eq!(v["error"], "the master is not running on this node (yet)");
        }
    });
}

/// A state with three tasks: two running (`t1` of `fw-a`, `t3` of
/// `fw-b`) and one finished (`t2` of `fw-a`).
pub(super) fn three_tasks() -> crate::state::MasterState {
    use crate::state::{AgentState, MasterState, TaskView};
    use corral_api::task::TaskState;
    let r = |text: &str| text.parse().expect("fixed resources");
    let task = |fw: &str, id: &str, state| {
        Arc::new(TaskView {
            id: id.into(),
            name: id.into(),
            framework_id: fw.into(),
            agent_id: "a1".into(),
            state,
            resources: r("cpus:1"),
            history: vec![(state, 10)],
        })
    };
    MasterState {
        version: "0.1.0".into(),
        start_time_ms: 1,
        elected_ms: Some(2),
        pid: "master@127.0.0.1:5050".into(),
        agents: vec![Arc::new(AgentState {
            id: "a1".into(),
            hostname: "node-1".into(),
            pid: "agent@127.0.0.1:5051".into(),
            total: r("cpus:4"),
            used: r("cpus:2"),
            offered: r(""),
            attributes: String::new(),
            reachable: true,
            http: None,
            registered_ms: 3,
        })],
        frameworks: Vec::new(),
        completed_frameworks: Vec::new(),
        tasks: vec![
            task("fw-a", "t1", TaskState::Running),
            task("fw-a", "t2", TaskState::Finished),
            task("fw-b", "t3", TaskState::Running),
        ]
        .into(),
        outstanding_offers: 0,
        role_weights: Vec::new(),
    }
}

/// `api`'s node and master, reading `state` published on a board of its
/// own, with `leadership`.
pub(super) fn published(
    api: &MasterApi,
    state: crate::state::MasterState,
    leadership: crate::state::Leadership,
) -> MasterApi {
    let board = StateBoard::default();
    board.publish(
        state,
        Default::default(),
        leadership,
        Duration::ZERO,
        Vec::new(),
    );
    MasterApi::new(api.node.clone(), api.master.clone(), board)
}

pub(super) fn leading() -> crate::state::Leadership {
    crate::state::Leadership {
        leading: true,
        leader: None,
        leader_http: None,
    }
}

#[test]
fn tasks_are_paged_and_filtered_and_state_can_leave_them_out() {
    let api = published(&master(), three_tasks(), leading());
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        let get = |uri: &str| TestRequest::get().uri(uri).to_request();
        let ids = |v: &serde_json::Value| -> Vec<String> {
            let tasks = v["tasks"].as_array().expect("a list of tasks");
            tasks.iter().map(|t| t["id"].to_string()).collect()
        };
        let v = json(&read_body(call_service(&svc, get("/tasks")).await).await);
        assert_eq!(ids(&v), [r#""t1""#, r#""t2""#, r#""t3""#]);
        assert_eq!(
            (v["total"].as_u64(), v["limit"].as_u64()),
            (Some(3), Some(100))
        );
        assert_eq!(v["tasks"][1]["state"], "TASK_FINISHED", "/state's shape");

        let uri = "/tasks?state=TASK_RUNNING&offset=1&limit=1";
        let v = json(&read_body(call_service(&svc, get(uri)).await).await);
        assert_eq!(ids(&v), [r#""t3""#]);
        assert_eq!(v["total"], 2, "counted over all pages");
        let v = json(&read_body(call_service(&svc, get("/tasks?framework_id=fw-a")).await).await);
        assert_eq!(ids(&v), [r#""t1""#, r#""t2""#]);

        let r = call_service(&svc, get("/tasks?state=running")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(json(&read_body(r).await)["error"]
            .as_str()
            .is_some_and(|e| e.contains("TASK_RUNNING")));

        let v = json(&read_body(call_service(&svc, get("/state?tasks=false")).await).await);
        assert_eq!(v["tasks"], serde_json::json!([]));
        assert_eq!(v["agents"][0]["hostname"], "node-1");
        assert_eq!(v["totals"]["used"]["cpus"], 2.0);
        let v = json(&read_body(call_service(&svc, get("/state")).await).await);
        assert_eq!(ids(&v).len(), 3);
    });
}

#[test]
fn a_master_that_published_as_a_standby_sends_readers_to_the_leader() {
    let standby = crate::state::Leadership {
        leading: false,
        leader: None,
        leader_http: Some("http://10.0.0.9:5050".into()),
    };
    let api = published(&master(), three_tasks(), standby);
    on_actix(async move {
        let svc = init_service(app(&limits(), routes(api))).await;
        for path in ["/state", "/tasks?limit=1", "/master/state", "/master/tasks"] {
            let r = call_service(&svc, TestRequest::get().uri(path).to_request()).await;
            assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
            let location = r.headers().get(header::LOCATION).expect("a location");
            assert_eq!(location, format!("http://10.0.0.9:5050{path}").as_str());
        }
    });
}

#[test]
// A test, not actor code: it writes the log the master would have.
#[allow(clippy::disallowed_methods)]
fn the_log_is_read_only_by_those_the_acls_allow() {
    let base = std::env::temp_dir().join(format!("corral-master-log-acl-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    let log = base.join("master.log");
    std::fs::write(&log, "a private log line").unwrap();
    let acls = crate::acls::Acls::parse(
        r#"{"permissive": false, "access_mesos_logs": [
              {"principals": {"values": ["ops"]}, "logs": {"type": "ANY"}},
              {"principals": {"values": ["dev"]}, "logs": {"type": "NONE"}}]}"#,
    )
    .unwrap();
    let api = master().with_node_info(Vec::new(), Some(log), acls);
    let credentials = corral_api::auth::Credentials::parse(
        r#"{"credentials": [{"principal": "ops", "secret": "o"},
                            {"principal": "dev", "secret": "d"}]}"#,
    )
    .unwrap();
    let http = corral_http::HttpConfig {
        access: corral_http::HttpAccess {
            credentials: Some(credentials),
            ..corral_http::HttpAccess::default()
        },
        ..limits()
    };
    on_actix(async move {
        let svc = init_service(app(&http, routes(api))).await;
        // ops:o, dev:d, and no principal at all.
        let cases = [
            (Some("Basic b3BzOm8="), StatusCode::OK),
            (Some("Basic ZGV2OmQ="), StatusCode::FORBIDDEN),
            (None, StatusCode::FORBIDDEN),
        ];
        for (authorization, status) in cases {
            for path in [
                "/files/read?path=%2Fmaster%2Flog&offset=0",
                "/files/download?path=%2Fmaster%2Flog",
                "/files/browse?path=%2Fmaster%2Flog",
            ] {
                let mut req = TestRequest::get().uri(path);
                if let Some(value) = authorization {
                    req = req.insert_header((header::AUTHORIZATION, value));
                }
                let r = call_service(&svc, req.to_request()).await;
                assert_eq!(r.status(), status, "{authorization:?} {path}");
                let body = read_body(r).await;
                let text = String::from_utf8_lossy(&body);
                if status == StatusCode::FORBIDDEN {
                    assert!(json(&body)["error"]
                        .as_str()
                        .is_some_and(|e| e.contains("access_mesos_logs")));
                } else if !path.contains("browse") {
                    assert!(text.contains("a private log line"), "{path}: {text}");
                }
                if status == StatusCode::FORBIDDEN {
                    assert!(!text.contains("private log line"), "{text}");
                }
            }
        }
        // Another path is still not there, for anyone.
        let r = call_service(
            &svc,
            TestRequest::get()
                .uri("/files/read?path=%2Fetc")
                .to_request(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    });
}
