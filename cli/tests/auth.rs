//! Authentication with real processes and the README's defaults otherwise:
//! a master with `--credentials`, `--authenticate-frameworks` and
//! `--authenticate-agents`, agents and `corral execute` with and without a
//! `--credential`. Each process has a loopback address of its own,
//! 127.12.11.N, so default ports never clash between tests.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::procs::{
    agent_at, assert_succeeded, corral_output, free_tcp_port, free_udp_port, log_has, log_of,
    lone_master, test_dir, wait_for,
};
use common::state::{agents_of, answer_at, state_at};

/// Generous: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a credentials file");
    path.to_string_lossy().into_owned()
}

/// This file's loopback address number `n`.
fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 12, 11, n))
}

/// `corral execute --master MASTER --command true` with `flags` added, to
/// its end.
fn execute(master: &str, flags: &[&str]) -> Output {
    let mut args = vec!["execute", "--master", master, "--command", "true"];
    args.extend_from_slice(flags);
    corral_output(&args)
}

#[test]
fn an_authenticating_master_admits_only_frameworks_and_agents_that_prove_a_principal() {
    let dir = test_dir("auth");
    let credentials = write(
        &dir,
        "credentials.json",
        r#"{"credentials": [{"principal": "ops", "secret": "s3cret"},
                            {"principal": "node", "secret": "n0de"}]}"#,
    );
    let good_agent = write(&dir, "agent.txt", "node n0de\n");
    let bad_agent = write(&dir, "bad-agent.txt", "node wrong\n");
    let framework = write(
        &dir,
        "framework.toml",
        "principal = \"ops\"\nsecret = \"s3cret\"\n",
    );
    let flags = [
        "--credentials",
        &credentials,
        "--authenticate-frameworks",
        "--authenticate-agents",
    ];
    let _master = lone_master(&dir, "master", ip(1), &flags);
    let master = "127.12.11.1:5050";
    let _good = agent_at(
        &dir,
        "agent2",
        "agent2",
        master,
        ip(2),
        &["--credential", &good_agent],
    );
    let _bad = agent_at(
        &dir,
        "agent3",
        "agent3",
        master,
        ip(3),
        &["--credential", &bad_agent],
    );
    let _none = agent_at(&dir, "agent4", "agent4", master, ip(4), &[]);
    // Only the agent that proves a principal is admitted; the others say
    // why in their own logs, and keep trying.
    wait_for(START, "the refused agents to say why", || {
        let refused = "the master refuses to admit this agent";
        (log_has(&dir, "agent3", refused) && log_has(&dir, "agent4", refused)).then_some(())
    });
    assert!(log_has(
        &dir,
        "agent3",
        "authentication failed for principal \"node\""
    ));
    assert!(log_has(&dir, "agent4", "authentication required"));
    let admitted = wait_for(START, "one admitted agent", || {
        state_at(master).map(|s| agents_of(&s)).filter(|n| *n >= 1)
    });
    assert_eq!(admitted, 1);

    // A framework without a credential is refused in one sentence.
    let out = execute(master, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "the master refused the framework: subscription refused: authentication required"
        ),
        "{stderr}"
    );
    // With its credential it runs to the end on the admitted agent.
    let out = execute(master, &["--credential", &framework]);
    assert_succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 of 1"), "{stdout}");
    // The agent's refusal is not a crash: it still runs, trying again, and
    // says why once, not at every attempt.
    wait_for(START, "the refused agent to try again", || {
        let attempts = log_of(&dir, "master")
            .matches("registration refused pid=agent@127.12.11.3")
            .count();
        (attempts >= 2).then_some(())
    });
    let said = log_of(&dir, "agent3").matches("refuses to admit").count();
    assert_eq!(said, 1, "{}", log_of(&dir, "agent3"));
    assert!(
        state_at("127.12.11.3:5051").is_some(),
        "the refused agent still serves"
    );
}

#[test]
fn a_master_open_to_the_network_says_so_and_a_bad_credentials_file_is_one_sentence() {
    let dir = test_dir("auth-open");
    // On every address, with free ports: open to the network, and warned.
    let (port, http) = (free_udp_port().to_string(), free_tcp_port().to_string());
    let everywhere = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let _open = lone_master(
        &dir,
        "open",
        everywhere,
        &["--port", &port, "--http-port", &http],
    );
    wait_for(START, "the warning", || {
        log_has(&dir, "open", "does not authenticate frameworks and agents").then_some(())
    });
    // On loopback only: no warning.
    let _master = lone_master(&dir, "master", ip(9), &[]);
    wait_for(START, "the master to answer", || {
        state_at("127.12.11.9:5050")
    });
    assert!(!log_has(&dir, "master", "does not authenticate"));

    let bad = write(&dir, "bad.json", r#"{"credentials": []}"#);
    let out = corral_output(&["master", "--ip", "127.12.11.10", "--credentials", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad --credentials"), "{stderr}");
    assert!(stderr.contains("the file lists no credentials"), "{stderr}");
    let out = corral_output(&["master", "--ip", "127.12.11.10", "--authenticate-agents"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("need --credentials"), "{stderr}");
}

/// The status, `WWW-Authenticate` header and body of `METHOD path` at
/// `addr`, with `authorization` if given.
fn call(
    method: &str,
    addr: &str,
    path: &str,
    authorization: Option<&str>,
) -> (u16, String, String) {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(5))
        .build();
    let mut request = agent
        .request(method, &format!("http://{addr}{path}"))
        .set("Content-Type", "application/json");
    if let Some(a) = authorization {
        request = request.set("Authorization", a);
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    let challenge = response.header("www-authenticate").unwrap_or("").to_owned();
    (
        status,
        challenge,
        response.into_string().unwrap_or_default(),
    )
}

#[test]
fn http_calls_to_masters_and_agents_prove_a_principal_where_required() {
    let dir = test_dir("auth-http");
    let credentials = write(
        &dir,
        "credentials.toml",
        "[[credentials]]\nprincipal = \"ops\"\nsecret = \"s3cret\"\n",
    );
    let mine = write(&dir, "ops.txt", "ops s3cret\n");
    let wrong = write(&dir, "wrong.txt", "ops nope\n");
    let master = "127.12.11.20:5050";
    let flags = [
        "--credentials",
        &credentials,
        "--authenticate-http-readonly",
        "--authenticate-http-readwrite",
    ];
    let _master = lone_master(&dir, "master", ip(20), &flags);
    let flags = [
        "--http-credentials",
        &credentials,
        "--authenticate-http-readonly",
    ];
    let _agent = agent_at(&dir, "agent", "agent", master, ip(21), &flags);
    wait_for(START, "the master's health", || {
        answer_at(master, "/health").filter(|(status, _)| *status == 200)
    });
    wait_for(START, "the agent's health", || {
        answer_at("127.12.11.21:5051", "/health").filter(|(status, _)| *status == 200)
    });
    // Reads and writes without credentials, or with wrong ones, get 401
    // and the Basic challenge; the health check stays open.
    let good = "Basic b3BzOnMzY3JldA=="; // ops:s3cret
    let bad = "Basic b3BzOm5vcGU="; // ops:nope
    for (method, path) in [
        ("GET", "/state"),
        ("GET", "/master/state"),
        ("POST", "/tasks/f/t/kill"),
    ] {
        for authorization in [None, Some(bad)] {
            let (status, challenge, body) = call(method, master, path, authorization);
            assert_eq!(status, 401, "{method} {path} {authorization:?}: {body}");
            assert_eq!(challenge, "Basic realm=\"corral\", charset=\"UTF-8\"");
            assert!(body.contains("\"error\""), "{body}");
        }
    }
    assert_eq!(call("GET", master, "/state", Some(good)).0, 200);
    assert_eq!(
        call("POST", master, "/tasks/f/t/kill", Some(good)).0,
        404,
        "reached the route"
    );

    // The CLI proves the operator's credential to the master and to the
    // agent whose sandbox it reads.
    let out = corral_output(&["execute", "--master", master, "--command", "echo hello"]);
    assert_succeeded(&out);
    let out = corral_output(&["task", "log", "corral-execute-0", "--master", master]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("authentication required"), "{stderr}");
    let out = corral_output(&[
        "task",
        "log",
        "corral-execute-0",
        "--master",
        master,
        "--credential",
        &wrong,
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("authentication failed"));
    let out = corral_output(&[
        "task",
        "log",
        "corral-execute-0",
        "--master",
        master,
        "--credential",
        &mine,
    ]);
    assert_succeeded(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    // The agent alone requires it too.
    let (status, _, _) = call("GET", "127.12.11.21:5051", "/state", None);
    assert_eq!(status, 401);
    assert_eq!(
        call("GET", "127.12.11.21:5051", "/state", Some(good)).0,
        200
    );
}

#[test]
fn bearer_tokens_minted_by_corral_token_prove_their_principal_over_http() {
    let dir = test_dir("auth-token");
    let key = write(
        &dir,
        "jwt.key",
        "a key of at least thirty-two bytes, for HS256\n",
    );
    let other = write(
        &dir,
        "other.key",
        "another key, also thirty-two bytes or more\n",
    );
    let master = "127.12.11.40:5050";
    let flags = [
        "--jwt-secret-key",
        &key,
        "--authenticate-http-readonly",
        "--authenticate-http-readwrite",
    ];
    let _master = lone_master(&dir, "master", ip(40), &flags);
    wait_for(START, "the master's health", || {
        answer_at(master, "/health").filter(|(status, _)| *status == 200)
    });
    let mint = |key: &str| {
        let out = corral_output(&["token", "--jwt-secret-key", key, "--principal", "ops"]);
        assert_succeeded(&out);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let token = mint(&key);
    let good = format!("Bearer {token}");
    assert_eq!(call("GET", master, "/state", Some(&good)).0, 200);
    assert_eq!(
        call("POST", master, "/tasks/f/t/kill", Some(&good)).0,
        404,
        "reached the route"
    );
    // No token, another key's token, or a secret the master has no
    // credentials to check: 401, with both challenges.
    let forged = format!("Bearer {}", mint(&other));
    for authorization in [None, Some(forged.as_str()), Some("Basic b3BzOnMzY3JldA==")] {
        let (status, challenge, body) = call("POST", master, "/tasks/f/t/kill", authorization);
        assert_eq!(status, 401, "{authorization:?}: {body}");
        assert!(
            challenge.contains("Basic") || challenge.contains("Bearer"),
            "{challenge}"
        );
    }
    let (_, _, body) = call("GET", master, "/state", Some(&forged));
    assert!(body.contains("signature does not match"), "{body}");

    // The CLI sends it.
    let out = corral_output(&["state", "--master", master]);
    assert!(!out.status.success());
    let out = corral_output(&["state", "--master", master, "--token", &token]);
    assert_succeeded(&out);
    // A key too short to sign with is refused, in one sentence.
    let short = write(&dir, "short.key", "tiny\n");
    let out = corral_output(&["token", "--jwt-secret-key", &short, "--principal", "ops"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("needs at least 32"), "{stderr}");
}

#[test]
fn acls_keep_principals_out_of_roles_they_may_not_register_in() {
    let dir = test_dir("auth-acls");
    let credentials = write(
        &dir,
        "credentials.json",
        r#"{"credentials": [{"principal": "ops", "secret": "s3cret"}]}"#,
    );
    let acls = write(
        &dir,
        "acls.json",
        r#"{"permissive": false,
            "register_frameworks": [
              {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
              {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}],
            "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}"#,
    );
    let ops = write(&dir, "ops.txt", "ops s3cret\n");
    let master = "127.12.11.30:5050";
    let flags = ["--credentials", &credentials, "--acls", &acls];
    let _master = lone_master(&dir, "master", ip(30), &flags);
    let _agent = agent_at(&dir, "agent", "agent", master, ip(31), &[]);
    wait_for(START, "an admitted agent", || {
        state_at(master).filter(|s| agents_of(s) == 1)
    });
    // Anyone may use the default role; only ops may use "web".
    assert_succeeded(&execute(master, &[]));
    let out = execute(master, &["--role", "web"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "a framework without a principal may not register frameworks in role \"web\""
        ),
        "{stderr}"
    );
    assert_succeeded(&execute(master, &["--role", "web", "--credential", &ops]));
    // A bad file stops the master at once, saying where.
    let bad = write(&dir, "bad.json", r#"{"view_roles": []}"#);
    let out = corral_output(&["master", "--ip", "127.12.11.32", "--acls", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad --acls"), "{stderr}");
    assert!(stderr.contains("unknown field `view_roles`"), "{stderr}");
}

#[test]
fn acls_decide_which_operators_kill_and_tear_down_which_frameworks() {
    let dir = test_dir("auth-acls-operators");
    let credentials = write(
        &dir,
        "credentials.json",
        r#"{"credentials": [{"principal": "ops", "secret": "s3cret"},
                            {"principal": "dev", "secret": "d3v"},
                            {"principal": "batch", "secret": "b4tch"}]}"#,
    );
    let acls = write(
        &dir,
        "acls.json",
        r#"{"kill_tasks": [
              {"principals": {"values": ["ops"]}, "framework_principals": {"values": ["batch"]}},
              {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}],
            "teardown_frameworks": [
              {"principals": {"values": ["ops"]}, "framework_principals": {"values": ["batch"]}},
              {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]}"#,
    );
    let batch = write(&dir, "batch.txt", "batch b4tch\n");
    let master = "127.12.11.50:5050";
    let flags = [
        "--credentials",
        &credentials,
        "--acls",
        &acls,
        "--authenticate-http-readwrite",
    ];
    let _master = lone_master(&dir, "master", ip(50), &flags);
    let _agent = agent_at(&dir, "agent", "agent", master, ip(51), &[]);
    wait_for(START, "an admitted agent", || {
        state_at(master).filter(|s| agents_of(s) == 1)
    });
    let mut job = common::procs::Proc::spawn(
        "execute",
        &dir,
        &[
            "execute",
            "--master",
            master,
            "--command",
            "sleep 300",
            "--credential",
            &batch,
        ],
    );
    let (framework, task) = wait_for(START, "the job's task running", || {
        let s = state_at(master)?;
        let task = common::state::running_tasks(&s).into_iter().next()?.0;
        Some((s["frameworks"][0]["id"].as_str()?.to_owned(), task))
    });
    let dev = "Basic ZGV2OmQzdg=="; // dev:d3v
    let ops = "Basic b3BzOnMzY3JldA=="; // ops:s3cret
    let kill = format!("/tasks/{framework}/{task}/kill");
    let teardown = serde_json::json!({"type": "TEARDOWN",
        "teardown": {"framework_id": {"value": framework}}})
    .to_string();
    // dev may do neither: 403 saying which ACL, and the task runs on.
    let (status, _, body) = call("POST", master, &kill, Some(dev));
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("dev") && body.contains("may not kill tasks"),
        "{body}"
    );
    let (status, body) = post_json(master, "/api/v1", dev, &teardown);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("teardown_frameworks"), "{body}");
    let s = state_at(master).expect("state");
    assert_eq!(
        common::state::task_state(&s, &task).as_deref(),
        Some("TASK_RUNNING")
    );
    // ops may: the framework is torn down and its job hears why.
    let (status, body) = post_json(master, "/api/v1", ops, &teardown);
    assert_eq!(status, 200, "{body}");
    let exited = job
        .wait_exit(START)
        .expect("execute ends with its framework");
    assert!(!exited.success());
    assert!(
        log_has(&dir, "execute", "torn down by an operator"),
        "{}",
        log_of(&dir, "execute")
    );
    wait_for(START, "the framework gone from the state", || {
        (state_at(master)?["frameworks"].as_array()?.is_empty()).then_some(())
    });
}

/// `POST path` at `addr` with a JSON `body` as `authorization`: status
/// and body.
fn post_json(addr: &str, path: &str, authorization: &str, body: &str) -> (u16, String) {
    let response = match ureq::post(&format!("http://{addr}{path}"))
        .set("Content-Type", "application/json")
        .set("Authorization", authorization)
        .send_string(body)
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {path}: {e}"),
    };
    (
        response.status(),
        response.into_string().unwrap_or_default(),
    )
}

#[test]
fn view_acls_show_each_reader_only_the_frameworks_and_tasks_it_may_view() {
    let dir = test_dir("auth-acls-views");
    let credentials = write(
        &dir,
        "credentials.json",
        r#"{"credentials": [{"principal": "ops", "secret": "s3cret"},
                            {"principal": "alice", "secret": "al1ce"}]}"#,
    );
    let rules = r#"[
          {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
          {"principals": {"values": ["alice"]}, "users": {"values": ["root"]}},
          {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]"#;
    let acls = write(
        &dir,
        "acls.json",
        &format!(r#"{{"view_frameworks": {rules}, "view_tasks": {rules}}}"#),
    );
    let master = "127.12.11.60:5050";
    let flags = ["--credentials", &credentials, "--acls", &acls];
    let _master = lone_master(&dir, "master", ip(60), &flags);
    let _agent = agent_at(&dir, "agent", "agent", master, ip(61), &[]);
    let ops = "Basic b3BzOnMzY3JldA=="; // ops:s3cret
    let alice = "Basic YWxpY2U6YWwxY2U="; // alice:al1ce
    let as_reader = |path: &str, who: Option<&str>| -> serde_json::Value {
        let (status, _, body) = call("GET", master, path, who);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    };
    wait_for(START, "an admitted agent", || {
        state_at(master).filter(|s| agents_of(s) == 1)
    });
    // Two jobs, by two users; each ends and stays listed as completed.
    assert_succeeded(&execute(master, &["--user", "root"]));
    assert_succeeded(&execute(master, &["--user", "nobody"]));
    let users = |v: &serde_json::Value, list: &str| -> Vec<String> {
        let mut u: Vec<String> = v[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["user"].as_str().unwrap_or_default().to_owned())
            .collect();
        u.sort();
        u
    };
    let everything = wait_for(START, "both jobs' tasks in the state", || {
        let s = as_reader("/master/state", Some(ops));
        (s["completed_frameworks"].as_array()?.len() == 2).then_some(s)
    });
    assert_eq!(
        users(&everything, "completed_frameworks"),
        ["nobody", "root"]
    );
    let tasks = |v: &serde_json::Value| v["tasks"].as_array().map_or(0, Vec::len);
    let corral_state = as_reader("/state", Some(ops));
    assert_eq!(tasks(&corral_state), 2, "{corral_state}");

    // alice sees root's job only; someone unknown sees no job, but the
    // agents all the same.
    let mine = as_reader("/master/state", Some(alice));
    assert_eq!(users(&mine, "completed_frameworks"), ["root"], "{mine}");
    let corral_state = as_reader("/state", Some(alice));
    assert_eq!(tasks(&corral_state), 1, "{corral_state}");
    let nobody = as_reader("/state", None);
    assert_eq!(tasks(&nobody), 0, "{nobody}");
    assert_eq!(agents_of(&nobody), 1);
    let (status, _, body) = call("GET", master, "/master/tasks", None);
    assert_eq!(status, 200);
    assert!(!body.contains("\"id\""), "no task to show: {body}");
}

#[test]
fn sandbox_acls_let_each_operator_read_only_the_sandboxes_it_may() {
    let dir = test_dir("auth-acls-sandboxes");
    let credentials = write(
        &dir,
        "credentials.json",
        r#"{"credentials": [{"principal": "ops", "secret": "s3cret"},
                            {"principal": "dev", "secret": "d3v"},
                            {"principal": "alice", "secret": "al1ce"}]}"#,
    );
    let ops = write(&dir, "ops.txt", "ops s3cret\n");
    let dev = write(&dir, "dev.txt", "dev d3v\n");
    let alice = write(&dir, "alice.txt", "alice al1ce\n");
    // The job names no user, so its sandbox is the agent's user's: this
    // test's.
    let id = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un");
    let me = String::from_utf8_lossy(&id.stdout).trim().to_owned();
    // ops reads every sandbox; alice those of the agent's user; dev and
    // anyone else none. The master takes the same file (and, permissive,
    // shows every reader the task).
    let acls = write(
        &dir,
        "acls.json",
        &format!(
            r#"{{"access_sandboxes": [
              {{"principals": {{"values": ["ops"]}}, "users": {{"type": "ANY"}}}},
              {{"principals": {{"values": ["alice"]}}, "users": {{"values": ["{me}"]}}}},
              {{"principals": {{"values": ["dev"]}}, "users": {{"type": "NONE"}}}},
              {{"principals": {{"type": "ANY"}}, "users": {{"type": "NONE"}}}}]}}"#
        ),
    );
    let master = "127.12.11.70:5050";
    let _master = lone_master(&dir, "master", ip(70), &["--acls", &acls]);
    let flags = [
        "--http-credentials",
        &credentials,
        "--authenticate-http-readonly",
        "--acls",
        &acls,
    ];
    let _agent = agent_at(&dir, "agent", "agent", master, ip(71), &flags);
    wait_for(START, "an admitted agent", || {
        state_at(master).filter(|s| agents_of(s) == 1)
    });
    let out = corral_output(&["execute", "--master", master, "--command", "echo hello"]);
    assert_succeeded(&out);
    let log = |credential: &str| {
        corral_output(&[
            "task",
            "log",
            "corral-execute-0",
            "--master",
            master,
            "--credential",
            credential,
        ])
    };
    for reader in [&ops, &alice] {
        let out = log(reader);
        assert_succeeded(&out);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    }
    let out = log(&dev);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("access_sandboxes"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hello"));

    // An agent refuses at start a file naming an action it does not know.
    let bad = write(&dir, "bad.json", r#"{"view_roles": []}"#);
    let out = corral_output(&[
        "agent",
        "--master",
        master,
        "--ip",
        "127.12.11.72",
        "--acls",
        &bad,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad --acls"), "{stderr}");
    assert!(stderr.contains("unknown field `view_roles`"), "{stderr}");
}
