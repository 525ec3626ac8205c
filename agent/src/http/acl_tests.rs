//! The `access_sandboxes` and `access_mesos_logs` ACLs on the agent's
//! files routes, through the real routes and the shared middleware (HTTP
//! Basic against the agent's credentials), with a real agent actor on a
//! real node behind them.

use std::path::{Path, PathBuf};

use actix_web::test::{call_service, init_service, read_body, TestRequest};
use base64::Engine;
use corral_api::acls::Acls;
use corral_api::auth::Credentials;
use corral_api::framework::FrameworkInfo;
use corral_api::ids::{FrameworkId, TaskId};
use corral_api::resources::Resources;
use corral_api::task::TaskState;
use corral_http::{app, HttpAccess, HttpConfig};
use corral_runtime::{Node, NodeConfig, Pid};

use super::*;
use crate::core::TaskSummary;
use crate::{Agent, AgentConfig};

/// What the sandbox's stdout holds; no refused answer may.
const TASK_OUTPUT: &str = "the task's private output";

/// What the agent's log holds; no refused answer may.
const LOG_LINE: &str = "the agent's private log line";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `base/work` with the sandbox of framework `fw` (which the agent does
/// not know of: no task of it runs), and `base/agent.log`.
fn fixture(test: &str) -> (PathBuf, PathBuf) {
    let base = std::env::temp_dir().join(format!("corral-acl-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    write(&base.join("work/frameworks/fw/tasks/t/stdout"), TASK_OUTPUT);
    write(&base.join("agent.log"), LOG_LINE);
    (base.join("work"), base.join("agent.log"))
}

fn basic(principal: &str, secret: &str) -> String {
    let pair = format!("{principal}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[actix_web::test]
async fn sandboxes_and_the_log_are_read_only_as_the_acls_allow() {
    let (work, log) = fixture("routes");
    // ops reads everything; dev no sandbox (NONE matches every owner);
    // alice only alice's sandboxes, so not one whose owner is unknown;
    // only ops reads the log.
    let acls = Acls::parse(
        r#"{"permissive": false,
            "access_sandboxes": [
              {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
              {"principals": {"values": ["dev"]}, "users": {"type": "NONE"}},
              {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}}],
            "access_mesos_logs": [
              {"principals": {"values": ["ops"]}, "logs": {"type": "ANY"}}]}"#,
    )
    .unwrap();
    let credentials = Credentials::parse(
        r#"{"credentials": [{"principal": "ops", "secret": "o"},
                            {"principal": "dev", "secret": "d"},
                            {"principal": "alice", "secret": "a"}]}"#,
    )
    .unwrap();
    let node = Arc::new(Node::start(NodeConfig::default()).unwrap());
    let nowhere = Pid::new("master", ([127, 0, 0, 1], 9).into()).unwrap();
    let resources = Resources::parse("cpus:1;mem:64").unwrap();
    let cfg = AgentConfig::new(nowhere, "h".into(), resources, work.clone(), "true".into());
    let agent = node.spawn(Agent::NAME, Agent::new(cfg)).unwrap();
    let http = HttpConfig {
        access: HttpAccess {
            credentials: Some(credentials),
            readonly: true,
            ..HttpAccess::default()
        },
        log_file: Some(log),
        ..HttpConfig::new(([127, 0, 0, 1], 0).into())
    };
    let routes = app_routes(&http, node, agent, work.clone(), acls);
    let svc = init_service(app(&http, routes)).await;

    let stdout = "frameworks%2Ffw%2Ftasks%2Ft%2Fstdout";
    let absolute = format!("{}/frameworks/fw/tasks/t/stdout", work.display());
    let cases = [
        // (principal, secret, target, status, what the body holds)
        (
            "ops",
            "o",
            format!("/files/read?path={stdout}&offset=0"),
            200,
            TASK_OUTPUT,
        ),
        (
            "ops",
            "o",
            format!("/files/download?path={stdout}"),
            200,
            TASK_OUTPUT,
        ),
        (
            "ops",
            "o",
            format!("/files/download?path={absolute}"),
            200,
            TASK_OUTPUT,
        ),
        (
            "ops",
            "o",
            "/files/browse?path=frameworks%2Ffw%2Ftasks%2Ft".into(),
            200,
            "stdout",
        ),
        (
            "ops",
            "o",
            "/files/read?path=%2Fslave%2Flog&offset=0".into(),
            200,
            LOG_LINE,
        ),
        (
            "dev",
            "d",
            format!("/files/read?path={stdout}&offset=0"),
            403,
            "access_sandboxes",
        ),
        (
            "dev",
            "d",
            format!("/files/download?path={stdout}"),
            403,
            "access_sandboxes",
        ),
        (
            "dev",
            "d",
            format!("/files/download?path={absolute}"),
            403,
            "access_sandboxes",
        ),
        (
            "dev",
            "d",
            "/files/browse?path=frameworks%2Ffw%2Ftasks%2Ft".into(),
            403,
            "access_sandboxes",
        ),
        // The work directory above the sandboxes names them: as unknown.
        (
            "dev",
            "d",
            "/files/browse?path=".into(),
            403,
            "access_sandboxes",
        ),
        // Refused before the disk is asked: what does not exist is not told.
        (
            "dev",
            "d",
            "/files/read?path=frameworks%2Fother%2Fx".into(),
            403,
            "access_sandboxes",
        ),
        (
            "dev",
            "d",
            "/files/read?path=%2Fslave%2Flog&offset=0".into(),
            403,
            "access_mesos_logs",
        ),
        // A sandbox whose owner the agent does not know matches only ANY
        // and NONE rules (Mesos's rule for a lost framework).
        (
            "alice",
            "a",
            format!("/files/read?path={stdout}&offset=0"),
            403,
            "access_sandboxes",
        ),
    ];
    for (principal, secret, target, status, holds) in cases {
        let req = TestRequest::get()
            .uri(&target)
            .insert_header(("Authorization", basic(principal, secret)))
            .to_request();
        let response = call_service(&svc, req).await;
        let got = response.status().as_u16();
        let body = read_body(response).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "{principal} {target}: {body}");
        assert!(body.contains(holds), "{principal} {target}: {body}");
        if status == 403 {
            let error: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(error["error"].is_string(), "{body}");
            assert!(!body.contains(TASK_OUTPUT) && !body.contains(LOG_LINE));
        }
    }
}

/// A task of framework `fw`, whose framework runs as `user`.
fn task_of(fw: &str, user: &str) -> TaskSummary {
    let mut framework = FrameworkInfo::new("f", "*");
    framework.user = user.into();
    TaskSummary {
        framework_id: FrameworkId(fw.into()),
        task_id: TaskId("t".into()),
        name: "t".into(),
        state: TaskState::Running,
        resources: Resources::empty(),
        sandbox: format!("frameworks/{fw}/tasks/t"),
        executor_connected: true,
        executor_id: "t".into(),
        framework,
        in_container: false,
    }
}

#[test]
fn a_sandbox_is_its_frameworks_user_or_the_agents_when_it_names_none() {
    let snapshot = AgentSnapshot {
        id: None,
        hostname: "h".into(),
        pid: "agent@127.0.0.1:1".into(),
        master: "master@127.0.0.1:2".into(),
        registered: true,
        resources: Resources::empty(),
        used: Resources::empty(),
        work_dir: "/w".into(),
        attributes: String::new(),
        tasks: vec![task_of("web", "alice")],
        completed: vec![task_of("batch", "")],
        pending_updates: 0,
    };
    let users = framework_users(&snapshot, "corral");
    assert_eq!(users.get("web").map(String::as_str), Some("alice"));
    assert_eq!(users.get("batch").map(String::as_str), Some("corral"));
    let acls = Acls::parse(
        r#"{"access_sandboxes": [
              {"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
              {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}"#,
    )
    .unwrap();
    let reader = |principal: &str| Reader {
        acls: Arc::new(acls.clone()),
        principal: Some(principal.into()),
        users: users.clone(),
    };
    assert!(reader("alice").may(Owner::Framework("web")));
    assert!(!reader("alice").may(Owner::Framework("batch")));
    assert!(!reader("alice").may(Owner::Framework("unknown")));
    assert!(!reader("bob").may(Owner::Framework("web")));
    // No log rules and permissive: the log is every reader's.
    assert!(reader("bob").may(Owner::Log));
}
