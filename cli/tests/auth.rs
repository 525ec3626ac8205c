//! Authentication with real processes and the README's defaults otherwise:
//! a master with `--credentials`, `--authenticate-frameworks` and
//! `--authenticate-agents`, agents and `corral execute` with and without a
//! `--credential`. Each process has a loopback address of its own,
//! 127.12.11.N, so default ports never clash between tests.

// Real processes run on real time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::procs::{
    corral_output, free_tcp_port, free_udp_port, log_has, log_of, test_dir, wait_for, Proc,
};
use common::state::{agents_of, answer_at, state_at};

/// Generous: the machine may be busy with other tests.
const START: Duration = Duration::from_secs(30);

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a credentials file");
    path.to_string_lossy().into_owned()
}

/// `corral agent` at 127.12.11.`n` with `--credential FILE` if given.
fn agent(dir: &Path, n: u8, credential: Option<&str>) -> Proc {
    let work = dir.join(format!("agent{n}")).to_string_lossy().into_owned();
    let ip = format!("127.12.11.{n}");
    let mut args = vec![
        "agent",
        "--master",
        "127.12.11.1:5050",
        "--ip",
        &ip,
        "--work-dir",
        &work,
    ];
    if let Some(c) = credential {
        args.extend(["--credential", c]);
    }
    Proc::spawn(&format!("agent{n}"), dir, &args)
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
    let work = dir.join("master").to_string_lossy().into_owned();
    let _master = Proc::spawn(
        "master",
        &dir,
        &[
            "master",
            "--ip",
            "127.12.11.1",
            "--work-dir",
            &work,
            "--credentials",
            &credentials,
            "--authenticate-frameworks",
            "--authenticate-agents",
        ],
    );
    let _good = agent(&dir, 2, Some(&good_agent));
    let _bad = agent(&dir, 3, Some(&bad_agent));
    let _none = agent(&dir, 4, None);
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
        state_at("127.12.11.1:5050")
            .map(|s| agents_of(&s))
            .filter(|n| *n >= 1)
    });
    assert_eq!(admitted, 1);

    let run = |extra: &[&str]| {
        let mut args = vec![
            "execute",
            "--master",
            "127.12.11.1:5050",
            "--command",
            "true",
        ];
        args.extend_from_slice(extra);
        corral_output(&args)
    };
    // A framework without a credential is refused in one sentence.
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "the master refused the framework: subscription refused: authentication required"
        ),
        "{stderr}"
    );
    // With its credential it runs to the end on the admitted agent.
    let out = run(&["--credential", &framework]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let work = dir.join("master").to_string_lossy().into_owned();
    // On every address, with free ports: open to the network, and warned.
    let (port, http) = (free_udp_port().to_string(), free_tcp_port().to_string());
    let open = [
        "master",
        "--ip",
        "0.0.0.0",
        "--port",
        &port,
        "--http-port",
        &http,
        "--work-dir",
        &work,
    ];
    let _open = Proc::spawn("open", &dir, &open);
    wait_for(START, "the warning", || {
        log_has(&dir, "open", "does not authenticate frameworks and agents").then_some(())
    });
    // On loopback only: no warning.
    let _master = Proc::spawn(
        "master",
        &dir,
        &["master", "--ip", "127.12.11.9", "--work-dir", &work],
    );
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
    let work = dir.join("master").to_string_lossy().into_owned();
    let _master = Proc::spawn(
        "master",
        &dir,
        &[
            "master",
            "--ip",
            "127.12.11.20",
            "--work-dir",
            &work,
            "--credentials",
            &credentials,
            "--authenticate-http-readonly",
            "--authenticate-http-readwrite",
        ],
    );
    let agent_work = dir.join("agent").to_string_lossy().into_owned();
    let _agent = Proc::spawn(
        "agent",
        &dir,
        &[
            "agent",
            "--master",
            "127.12.11.20:5050",
            "--ip",
            "127.12.11.21",
            "--work-dir",
            &agent_work,
            "--http-credentials",
            &credentials,
            "--authenticate-http-readonly",
        ],
    );
    let master = "127.12.11.20:5050";
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let work = dir.join("master").to_string_lossy().into_owned();
    let _master = Proc::spawn(
        "master",
        &dir,
        &[
            "master",
            "--ip",
            "127.12.11.30",
            "--work-dir",
            &work,
            "--credentials",
            &credentials,
            "--acls",
            &acls,
        ],
    );
    let _agent = agent_of(&dir, "127.12.11.30:5050", "127.12.11.31");
    wait_for(START, "an admitted agent", || {
        state_at("127.12.11.30:5050").filter(|s| agents_of(s) == 1)
    });
    let run = |extra: &[&str]| {
        let mut args = vec![
            "execute",
            "--master",
            "127.12.11.30:5050",
            "--command",
            "true",
        ];
        args.extend_from_slice(extra);
        corral_output(&args)
    };
    // Anyone may use the default role; only ops may use "web".
    assert!(run(&[]).status.success());
    let out = run(&["--role", "web"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "a framework without a principal may not register frameworks in role \"web\""
        ),
        "{stderr}"
    );
    let out = run(&["--role", "web", "--credential", &ops]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A bad file stops the master at once, saying where.
    let bad = write(&dir, "bad.json", r#"{"teardown_frameworks": []}"#);
    let out = corral_output(&["master", "--ip", "127.12.11.32", "--acls", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad --acls"), "{stderr}");
    assert!(
        stderr.contains("unknown field `teardown_frameworks`"),
        "{stderr}"
    );
}

/// `corral agent --master MASTER --ip IP` with its work dir under `dir`.
fn agent_of(dir: &Path, master: &str, ip: &str) -> Proc {
    let work = dir
        .join(format!("agent-{ip}"))
        .to_string_lossy()
        .into_owned();
    Proc::spawn(
        &format!("agent-{ip}"),
        dir,
        &["agent", "--master", master, "--ip", ip, "--work-dir", &work],
    )
}
